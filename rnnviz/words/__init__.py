"""Word2vec from the ground up: words, training pairs, the two tricks, training, geometry.

One concept per module, in the order a lesson meets them:

* ``tokens``    - text to lower-case words and a vocabulary with counts,
* ``pairs``     - skip-gram (centre, context) pairs and CBOW windows; one-hot x W,
* ``subsample`` - dropping frequent words with the deck's P(keep) formula,
* ``negatives`` - the unigram^0.75 noise distribution and drawn negatives,
* ``model``     - the two embedding matrices and their hand-written update steps,
* ``trainer``   - ``Word2VecTrainer``, a ``rnnviz.protocol.LiveTrainer``,
* ``vectors``   - cosine neighbours, analogies and a PCA projection for any vectors,
* ``glove``     - pretrained GloVe 6B 50-d vectors, loaded lazily and memory-mapped,
* ``store``     - saving and loading vectors as safetensors + a JSON card.

Nothing here imports Streamlit; the Words pages and ``python -m rnnviz.word2vec``
call these functions.
"""
