"""Streamlit-facing helpers: cached resources, session state, HTML renderers.

This is the only part of rnnviz that imports Streamlit (``html`` does not even
need it: it only builds strings, so it is unit-testable).
"""
