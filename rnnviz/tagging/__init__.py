"""Bidirectional RNNs lab: character tagging where the answer may lie ahead.

A tag (0 or 1) for every character of real text (Shakespeare, cleaned), e.g. "is
this the last letter of its word?". A forward-only RNN has read only the
characters up to t when it answers at t; a bidirectional one also has a state
that read the text backwards, from the end down to t. The lab races the two on
the same batches and shows where (and why) the second one wins.

Modules: ``text`` (the cleaned corpus, its split, typed input), ``tasks`` (the
tag registry and word positions), ``model`` (the tagger), ``metrics`` (accuracy,
F1 of the rare tag, accuracy by position), ``race`` (the side-by-side trainer),
``cli`` (``python -m rnnviz.tagging``).
"""
