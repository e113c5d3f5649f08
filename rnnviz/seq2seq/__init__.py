"""Sequence-to-sequence with attention: human-readable dates -> ISO dates, and
reversing / copying strings of letters (where attention matters more).

One concept per module: ``dates`` (the date data set and vocabularies), ``strings``
(the string tasks), ``model`` (the encoder-decoder and its decodes), ``trainer`` (the
live trainer and the race on ``rnnviz.race.Race``), ``explain``
(does attention explain the output? accuracy by input length), ``checkpoint``
(safetensors + JSON card) and ``cli`` (``python -m rnnviz.seq2seq``). No Streamlit
anywhere: a page only calls these functions and draws ``rnnviz.plots.seq2seq``.
"""
