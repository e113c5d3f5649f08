"""Ready-made lesson moments: links into a page in a prepared state.

Each ``Moment`` names a page, the query parameters that put the page in the state
worth showing (the page's URL-bound widget keys) and one line on what to point at.
``TOPICS`` orders them the way the lecture decks teach: embeddings first, then the
RNN itself, training, what its cells learn, gradients, and the shapes an RNN can
take. The Lessons page lists them; ``tests/test_moments.py`` opens every one and
checks that each parameter reached a widget.

Each page keeps its moments in its own section below; to add one, add an entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TOPICS = (
    ("words", "Words as vectors", "Word2vec, negative sampling, analogies and GloVe."),
    ("rnn", "A recurrent network, step by step", "One hidden state carried from character to character."),
    ("train", "Training a character model", "Loss, sampling temperature and what the model writes."),
    ("cells", "What single cells learn", "Cells that track quotes, indentation and line position."),
    ("gates", "Inside the LSTM", "Gates, the cell-state conveyor belt and saturation."),
    ("gradients", "Vanishing and exploding gradients", "Why a vanilla RNN forgets and how gates and clipping help."),
    ("depth", "Vanishing gradients through depth", "Sigmoid vs ReLU, initialisation and residual connections."),
    ("direction", "Reading both ways", "Bidirectional RNNs: tags that depend on what comes later."),
    ("regularise", "Stacked RNNs and dropout", "More layers, dropout between them and recurrent dropout."),
    ("memory", "How far back can it remember?", "Accuracy against distance for a vanilla RNN, an LSTM and a GRU."),
    ("series", "Time series: RNN vs 1D CNN", "Forecasting real temperatures against a naive baseline."),
    ("shapes", "RNN shapes", "One-to-many, many-to-one, many-to-many and encoder-decoder."),
    ("attention", "Sequence to sequence and attention", "An encoder, a decoder and where the decoder looks."),
)
TOPIC_KEYS = tuple(t[0] for t in TOPICS)


@dataclass(frozen=True)
class Moment:
    topic: str  # one of TOPIC_KEYS
    title: str
    page: str  # "pages/cells.py"
    params: dict = field(default_factory=dict)  # query parameters (str -> str)
    what: str = ""  # one line: what to show the class

    def __post_init__(self):
        if self.topic not in TOPIC_KEYS:
            raise ValueError(f"Unknown topic {self.topic!r} for moment {self.title!r}.")


def by_topic() -> list[tuple[tuple[str, str, str], list[Moment]]]:
    """(topic, moments) in teaching order, topics without moments left out."""
    return [(t, [m for m in MOMENTS if m.topic == t[0]]) for t in TOPICS if any(m.topic == t[0] for m in MOMENTS)]


MOMENTS: list[Moment] = []

# ---------------------------------------------------------------- words (pages/words*.py)

_W2V_PIPE, _W2V_LAB = "pages/words_pipeline.py", "pages/words_lab.py"
MOMENTS += [
    Moment("words", "The deck's sliding window", _W2V_PIPE, {"w2v_view": "Skip-gram pairs", "w2v_centre": "3"},
           "\u201cfox\u201d is the centre with a window of 2: its four training pairs, as on the slide. "
           "Press \u25b6 to slide the centre along."),
    Moment("words", "Why \u201cthe\u201d is thrown away", _W2V_PIPE, {"w2v_view": "Subsampling", "w2v_sample": "0.001"},
           "The keep curve with Shakespeare's most frequent words on it: \u201cthe\u201d survives only "
           "one time in five, and far fewer pairs are left to train on."),
    Moment("words", "A negative that is the true context", _W2V_PIPE,
           {"w2v_view": "Negative sampling", "w2v_k": "20", "w2v_draw": "5"},
           "Twenty negatives for the pair (king, the): one of them is \u201cthe\u201d itself (red). "
           "word2vec lets it happen."),
    Moment("words", "king \u2212 man + woman: the demo mistake", _W2V_LAB,
           {"w2v_lab": "Pretrained GloVe", "w2v_exclude": "false"},
           "With the question words left in, the nearest word to king \u2212 man + woman is king. "
           "Switch on Hide the query words and queen comes first."),
]


# ---------------------------------------------------------------- hello (pages/learn_hello.py)
HELLO_TRAINED = "adagrad:0.1:elementwise:5.0:100"  # 100 min-char-rnn steps: the word is learned
MOMENTS += [
    Moment("rnn", "Hello, RNN: one forward step on 'h'", "pages/learn_hello.py",
           {"hello_view": "Forward step", "hello_step": "1"},
           "The one-hot 'h' picks one column of W_xh; follow the numbers through tanh and softmax to the loss."),
    Moment("rnn", "Hello, RNN: 'l' then 'l' again, after training", "pages/learn_hello.py",
           {"hello_view": "Forward step", "hello_step": "4", "hello_train": HELLO_TRAINED},
           "Steps 3 and 4 both read 'l' but must predict 'l' and 'o': only the hidden state tells them apart."),
    Moment("gradients", "Hello, RNN: one backward step", "pages/learn_hello.py",
           {"hello_view": "Backward step", "hello_step": "2"},
           "dL/dh_2 is this step's output gradient plus what flows back from step 3 through W_hh."),
    Moment("gradients", "Hello, RNN: the truncated BPTT window", "pages/learn_hello.py",
           {"hello_view": "Truncated BPTT", "hello_gap": "6", "hello_diag_k": "short", "hello_loss_pos": "L8"},
           "With chunks of 4 the gradient of the '?' loss stops at the chunk border, before the letter it needs."),
]


# ---------------------------------------------------------------- train (pages/train.py)

MOMENTS += [
    Moment("train", "Temperature: playing safe", "pages/train.py",
           {"tr_sample_model": "shakespeare_lstm", "tr_prime": "ROMEO:", "tr_sample_temp": "0.2"},
           "At temperature 0.2 the trained model repeats its favourite words; move the slider to 1, then to 2, "
           "and watch it turn adventurous, then babble."),
    Moment("train", "Training that blows up", "pages/train.py",
           {"tr_corpus": "First names", "tr_cell": "Vanilla RNN", "tr_hidden": "64", "tr_lr": "10",
            "tr_clip": "false"},
           "Press Train: with a learning rate of 10 and no clipping the loss shoots up and training diverges. "
           "Turn clipping on, lower the rate, restore the last good weights and carry on."),
    Moment("train", "Vanilla RNN against LSTM", "pages/train.py",
           {"tr_corpus": "First names", "tr_cell": "Vanilla RNN", "tr_hidden": "64", "tr_stop": "1,000"},
           "Train 1,000 steps and note the validation loss; press Reset, pick LSTM and train again on the same "
           "text: which learns faster, and which gets lower?"),
]


# ---------------------------------------------------------------- cells (pages/cells.py)

_CELL = {"cx_order": "by cell number", "cx_signal": "cell state c"}
MOMENTS += [
    Moment("cells", "The indentation cell", "pages/cells.py",
           {**_CELL, "cx_hyp": "Indentation depth", "cx_layer": "layer 1", "cx_cell": "236", "cx_show_hyp": "true"},
           "Cell 236 of layer 1 steps with every indented block (r ≈ -0.83): nobody told the model about blocks."),
    Moment("cells", "The line-position cell", "pages/cells.py",
           {**_CELL, "cx_hyp": "Column (position in line)", "cx_layer": "layer 2", "cx_cell": "67",
            "cx_show_hyp": "true"},
           "Cell 67 of layer 2 ramps up along each line and drops at the newline: a counter for where lines end."),
    Moment("cells", "Which cell knows it is inside a string?", "pages/cells.py",
           {"cx_view": "Cell finder", "cx_hyp": "Inside a string literal"},
           "Every cell ranked against 'inside a string'; compare the best cell's r with the linear probe's R²."),
    Moment("cells", "Clamp the string cell while the model writes", "pages/cells.py",
           {**_CELL, "cx_view": "Intervene", "cx_hyp": "Inside a string literal", "cx_layer": "layer 1",
            "cx_cell": "149"},
           "Press the button: with this cell held, does the model still close the string it opened in the prime?"),
]


# ---------------------------------------------------------------- gates (pages/gates.py)
MOMENTS += [
    Moment("gates", "Forget gates that stay open", "pages/gates.py",
           {"gates_view": "Saturation", "gates_sat_chars": "5,000 characters"},
           "Shakespeare LSTM, forget gate: in layer 2 more than half of the units are open most of the time "
           "(long-term memory), in layer 1 fewer than one in five; compare with the GRU's update gate."),
    Moment("gates", "The conveyor belt of a docstring cell", "pages/gates.py",
           {"gates_view": "Conveyor belt", "gates_model": "python_lstm", "gates_len": "2000", "gates_layer": "layer 2",
            "gates_belt_cells": "14", "gates_width": "400", "gates_start": "880"},
           "Python LSTM, cell 14: its memory c climbs through the whole docstring while its forget gate stays "
           "near 1, and falls back once the code resumes."),
    Moment("gates", "A forget gate letting go", "pages/gates.py",
           {"gates_view": "Step inspector", "gates_layer": "layer 2", "gates_cell": "141", "gates_t": "401"},
           "Shakespeare LSTM, layer 2, cell 141: the forget gate is 0.08 here, so c_t keeps almost nothing of "
           "its old value (about 105) and drops to about 8.5; read the kept and written parts."),
]


# ---------------------------------------------------------------- gradients (pages/gradients.py)
# Bound widgets carry their on-screen labels in the URL ("Break it", "at initialisation"); defaults
# (the distance view, the vanilla RNN) are left out because they never appear in a link.
MOMENTS += [
    Moment("gradients", "Vanilla RNN vs LSTM: 150 steps back", "pages/gradients.py",
           {"grad_source": "Validation text", "grad_len": "150", "grad_kinds": "trained"},
           "Read the summaries under the chart: 50 steps back the vanilla RNN keeps about 1e-15 of its gradient, "
           "the LSTM and GRU keep many powers of ten more."),
    Moment("gradients", "Exploding: beta_W = 1.1", "pages/gradients.py",
           {"grad_view": "Break it", "grad_brk_act": "linear", "grad_brk_orth": "true", "grad_brk_sigma": "1.1"},
           "A linear RNN with every singular value at 1.1: the gradient grows by exactly x1.1 per step back, a "
           "straight line on the log axis. Drag beta_W to 0.9 to watch it vanish instead."),
    Moment("gradients", "Clipping on vs off", "pages/gradients.py",
           {"grad_view": "Clipping", "grad_clip_steps": "100"},
           "Press Run the demo: the same RNN from the same seed blows up within a few steps without clipping and "
           "keeps learning with it."),
    Moment("gradients", "How far back does a model look?", "pages/gradients.py",
           {"grad_view": "Connectivity", "grad_conn_pos": "230"},
           "The first letter of a line: compare how far back the colour reaches for the vanilla RNN, the LSTM "
           "and the GRU."),
]


# ---------------------------------------------------------------- deep nets (pages/deepnets.py)
MOMENTS += [
    Moment("depth", "Twenty sigmoid layers vs twenty ReLU layers", "pages/deepnets.py", {},
           "Before training: the first sigmoid layer gets a gradient orders of magnitude below the output "
           "layer's; with ReLU + He it is about the same."),
    Moment("depth", "Xavier rescues the sigmoid network", "pages/deepnets.py",
           {"dn_a_init": "Xavier (Glorot)", "dn_depth": "8", "dn_view": "Decision boundary"},
           "Train both: with Xavier initialisation an 8-layer sigmoid network learns the spirals too."),
    Moment("depth", "Residual connections keep a gradient path open", "pages/deepnets.py",
           {"dn_a_res": "true", "dn_depth": "30"},
           "Thirty sigmoid layers with residual connections: the gradient reaches the first layer."),
    Moment("depth", "Frozen layers: the update-to-weight ratio", "pages/deepnets.py", {"dn_view": "Update ratio"},
           "Train for 200 steps: network A's first layers change by a millionth of their size per step."),
]


# ---------------------------------------------------------------- names (pages/structures.py, pages/names.py)
MOMENTS += [
    Moment("shapes", "One model, five wirings", "pages/structures.py", {"nm_sname": "Kowalski"},
           "Same recurrent step every time: only where inputs go in and outputs come out changes."),
    Moment("shapes", "Walk through an encoder-decoder", "pages/structures.py",
           {"nm_sview": "Step through one", "nm_shape": "encoder-decoder", "nm_step": "9"},
           "The decoder starts only after the last letter, and all it gets is the encoder's answer."),
    Moment("shapes", "A classifier changes its mind", "pages/names.py",
           {"nm_view": "Type a name", "nm_name": "Nováková"},
           "Czech until -ová, then surer with every letter: many-to-one, read letter by letter."),
    Moment("shapes", "Names the census cannot decide", "pages/names.py",
           {"nm_data": "First name → gender", "nm_view": "Type a name", "nm_name": "Alva"},
           "Alva is in both lists: a soft label, and a model that honestly hesitates."),
]


# ---------------------------------------------------------------- seq2seq (pages/seq2seq.py)
MOMENTS += [
    Moment("attention", "The race: with and without attention", "pages/seq2seq.py",
           {"s2s_view": "Race"},
           "Press Train: the model with attention passes 90 % exact match in far fewer steps, "
           "and its attention map sharpens while you watch."),
    Moment("attention", "Reverse 20 letters: where one vector is not enough", "pages/seq2seq.py",
           {"s2s_task": "Reverse", "s2s_len": "20", "s2s_view": "Race"},
           "Press Train: the model with attention learns to read the string backwards along the anti-diagonal "
           "of its map, while the model without attention must squeeze twenty letters into one vector and "
           "falls far behind. Try 8 letters next: the gap shrinks."),
    Moment("attention", "An attention map for an American date", "pages/seq2seq.py",
           {"s2s_view": "Attention map", "s2s_text": "Thursday, December 31, 2009"},
           "The month comes first here: the rows for the month digits light up 'December', the year rows "
           "the four year digits."),
    Moment("attention", "Where the decoder looks for the month", "pages/seq2seq.py",
           {"s2s_view": "Step by step", "s2s_text": "mercredi 31 décembre 2008", "s2s_pos": "6"},
           "Character 6 is the month's second digit: the decoder looks at the French month name, and its "
           "top-5 shows how sure it is."),
    Moment("attention", "Does attention explain the output?", "pages/seq2seq.py",
           {"s2s_view": "Does attention explain it?", "s2s_n": "500"},
           "Blanking the most-attended character changes the output far more often than blanking a random "
           "one, except for the dashes, which never depend on the input."),
]


# ---------------------------------------------------------------- stacking & dropout (pages/dropout.py)
MOMENTS += [
    Moment("regularise", "Watch a model memorise Shakespeare", "pages/dropout.py", {},
           "Press Train: after about 150 steps the run without dropout keeps lowering its training loss while "
           "its validation loss turns up; the dropout runs keep a much smaller gap."),
    Moment("regularise", "Confetti and stripes: where the masks go", "pages/dropout.py", {"dr_view": "The masks"},
           "Between-layer dropout draws a new mask at every time step; recurrent dropout keeps one mask for the "
           "whole sequence and is the only one that touches h(t-1)."),
    Moment("regularise", "What an overfitted model writes", "pages/dropout.py", {"dr_view": "Samples"},
           "After 300 steps, compare the longest passage each run copies word for word from its training text."),
    Moment("regularise", "Deeper, with more dropout", "pages/dropout.py",
           {"dr_a_layers": "3", "dr_c_layers": "3", "dr_c_p": "0.5"},
           "Three layers without dropout overfit even sooner; recurrent dropout 0.5 holds the gap down but "
           "starts more slowly."),
]


# ---------------------------------------------------------------- forecasting (pages/forecast.py)
MOMENTS += [
    Moment("series", "Can a network beat yesterday?", "pages/forecast.py", {"ts_view": "The race"},
           "Press Train: both models pass persistence within a few hundred steps; the dashed line of "
           "the same hour yesterday is much harder to reach on this smooth, typical-year series."),
    Moment("series", "How far ahead persistence breaks down", "pages/forecast.py",
           {"ts_view": "Error by horizon", "ts_horizon": "24"},
           "Persistence climbs to its worst about 12 hours ahead and falls back at 24 hours; the "
           "seasonal guess stays flat. Where would you expect a learned model's curve to lie?"),
    Moment("series", "A week of winter, forecast six hours ahead", "pages/forecast.py",
           {"ts_view": "Forecast vs real", "ts_week": "3", "ts_lead": "6"},
           "Black is what happened. Persistence is the real curve shifted six hours late; the same hour yesterday "
           "follows the daily cycle, and so should the trained models."),
    Moment("series", "A week-long window for the CNN", "pages/forecast.py",
           {"ts_view": "The race", "ts_window": "168", "ts_city": "San Francisco"},
           "With 168 hours of history the CNN needs 7 dilated layers to see the whole window, and "
           "the GRU has to step through every hour: compare their training times."),
]


# ---------------------------------------------------------------- bidirectional (pages/bidirectional.py)
MOMENTS += [
    Moment("direction", "Where does this word end?", "pages/bidirectional.py",
           {"bi_view": "Race", "bi_task": "Last letter of each word"},
           "Press Step 1,000: the bidirectional tagger reaches an F1 near 1 while the forward-only one stalls, "
           "because the answer is the next character."),
    Moment("direction", "The backward states at the end of a word", "pages/bidirectional.py",
           {"bi_view": "Under each character", "bi_source": "Type your own", "bi_text": "the theme then there"},
           "After training, point at the last letter of each word: the backward rows have just read the space; "
           "the forward-only model hesitates between 'the' and 'then'."),
    Moment("direction", "A control: the first letter", "pages/bidirectional.py",
           {"bi_view": "By position in the word", "bi_task": "First letter of each word (control)"},
           "Train both: they tie, since the character before a word is already known. Reading backwards helps "
           "only when the answer lies ahead."),
    Moment("direction", "How long will this word be?", "pages/bidirectional.py",
           {"bi_view": "By position in the word", "bi_task": "Letters of long words", "bi_k": "6"},
           "After training, the forward model is worst on first letters (the length is still unknown), the "
           "bidirectional one is good everywhere."),
]


# ---- Long-range memory (pages/memory.py)
MOMENTS += [
    Moment("memory", "Vanishing gradients before any training", "pages/memory.py",
           {"mem_view": "Why: gradients", "mem_d": "30", "mem_extra": "0"},
           "At step 0 the gradient reaching the first symbol falls exponentially with the distance for all "
           "three cells, the vanilla RNN's fastest; train and watch the gated cells' lines flatten."),
    Moment("memory", "How far back can each cell remember?", "pages/memory.py",
           {"mem_view": "Accuracy vs distance", "mem_d": "20", "mem_extra": "20"},
           "Press Train and watch the three curves leave the chance line, the gated cells first; the grey "
           "band shows the training distances, beyond it is extrapolation."),
    Moment("memory", "Remembering among look-alikes", "pages/memory.py",
           {"mem_task": "Recall the marked symbol", "mem_d": "20", "mem_extra": "10"},
           "Here the tokens in between are symbols too: a cell must decide what to keep, which is what "
           "gates are for."),
]


# ---------------------------------------------------------------- cells: the lecture's kernel and prose cells (pages/cells.py)
# kernel_lstm and austen_lstm read their shipped held-out text (rnnviz/heldout/); cell numbers are their cards'.
_KERNEL = {**_CELL, "cx_model": "kernel_lstm"}
_AUSTEN = {**_CELL, "cx_model": "austen_lstm"}
MOMENTS += [
    Moment("cells", "The comment cell in kernel code", "pages/cells.py",
           {**_KERNEL, "cx_signal": "tanh(c)", "cx_hyp": "Inside a comment", "cx_cell": "87", "cx_offset": "3300",
            "cx_show_hyp": "true"},
           "Linux source the model never saw (audit_unpack_string): cell 87 sits near +1 in code and drops to -1 "
           "from /* to */ (r ≈ -0.93), like the lecture's slide; on the deck's four functions r ≈ -0.94."),
    Moment("cells", "Does any kernel cell know it is inside a string?", "pages/cells.py",
           {"cx_model": "kernel_lstm", "cx_view": "Cell finder", "cx_hyp": "Inside a string literal"},
           "Compare with the comment cell: this small model has no string cell yet (best r ≈ 0.17, 0.39 on the "
           "deck's functions). Kernel strings are short and rare; compare the best cell with the layer's probe."),
    Moment("cells", "The quote cell in a novel", "pages/cells.py",
           {**_AUSTEN, "cx_signal": "tanh(c)", "cx_hyp": "Inside double quotes", "cx_cell": "13", "cx_show_hyp": "true"},
           "The end of Pride and Prejudice, which the model never read: cell 13 flips at every opening quotation "
           "mark and flips back at the closing one (r ≈ -0.96), even when a speech runs over several lines."),
    Moment("cells", "A novel's line position: no single cell", "pages/cells.py",
           {**_AUSTEN, "cx_hyp": "Column (position in line)", "cx_cell": "116", "cx_show_hyp": "true"},
           "The best cell, 116, only loosely follows the position in the line (r ≈ 0.48), and the whole layer "
           "predicts it badly too (probe R² ≈ 0.39). Compare with the Python model's line-position cell."),
]
