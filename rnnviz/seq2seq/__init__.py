"""Sequence-to-sequence with attention: human-readable dates -> ISO dates.

One concept per module: ``dates`` (the data set and vocabularies), ``model`` (the
encoder-decoder and its decodes), ``trainer`` (the live trainer), ``explain``
(does attention explain the output? accuracy by input length), ``checkpoint``
(safetensors + JSON card) and ``cli`` (``python -m rnnviz.seq2seq``). No Streamlit
anywhere: a page only calls these functions and draws ``rnnviz.plots.seq2seq``.
"""
