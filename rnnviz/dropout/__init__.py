"""Stacked RNNs, dropout between layers and recurrent (variational) dropout.

``cell`` - a stacked RNN / LSTM / GRU computed step by step, with the three dropout
modes; ``data`` - a small Shakespeare slice that a model can overfit; ``race`` - the
side-by-side trainer (train vs validation loss per run), the masks a run used at a
training step, a sampler, and the command line (``python -m rnnviz.dropout``).
"""
