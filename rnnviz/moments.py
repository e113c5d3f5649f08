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


# ---------------------------------------------------------------- hello (pages/learn_hello.py)


# ---------------------------------------------------------------- train (pages/train.py)


# ---------------------------------------------------------------- cells (pages/cells.py)


# ---------------------------------------------------------------- gates (pages/gates.py)


# ---------------------------------------------------------------- gradients (pages/gradients.py)


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


