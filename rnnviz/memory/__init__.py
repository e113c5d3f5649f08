"""Long-range memory: how far back can a vanilla RNN, an LSTM and a GRU remember?

The lecture decks explain vanishing gradients with a formula; this lab makes
them a measurement. A task shows one symbol, then ``n`` steps of something else,
then asks for the symbol: ``n`` is the *distance* the network has to remember
across. The three cell types train side by side on the same batches from the
same seed (``rnnviz.race.Race``), and every evaluation measures held-out
accuracy at every distance (how far back each cell remembers) and the size of
the gradient that reaches the symbol from the answer (why the vanilla RNN does
not).

Modules: ``tasks`` (the task registry and the data), ``model`` (one recurrent
network per cell type), ``trainer`` (the race, accuracy and gradient against
distance), ``cli`` (``python -m rnnviz.memory``).
"""
