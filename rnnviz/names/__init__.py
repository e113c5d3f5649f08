"""The names lab: many-to-one classifiers (surname -> language, first name -> gender)
and a one-to-many generator (class -> name), trained live through the trainer
protocol. ``data`` builds the datasets, ``model`` the networks and their read-outs,
``metrics`` the held-out scores, ``baseline`` a character-bigram naive Bayes,
``trainer`` the live trainers, ``store`` checkpoints, ``shapes`` the map of RNN
shapes; ``python -m rnnviz.names`` is the command line."""
