"""rnnviz: look inside recurrent neural networks.

The library flows one way: corpora -> models (fused training + exact step-by-step
``trace``) -> train / sample -> probes, gradients -> plots. Only ``rnnviz.ui``
imports Streamlit.
"""

__version__ = "0.1.0"
