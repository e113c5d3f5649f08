"""The map of RNN shapes, each driven by a real forward pass of the names lab's models.

For every shape - one-to-one, many-to-one, one-to-many, many-to-many (aligned) and
encoder-decoder - ``shapes_map`` runs the bundled (or any) classifier and generator
and records, step by step, which input is fed, the size of the hidden state h_t
(its Euclidean norm) and which output is read. Inactive slots are None, so a plot
can draw them faded: that *is* the difference between the shapes.

* one-to-one: the classifier reads one letter; one state, one output.
* many-to-one: the classifier reads the whole name; only the last step has an output.
* one-to-many: the generator gets a class once and writes letters, feeding each back.
* many-to-many (aligned): the generator reads a name and predicts the next letter at
  every step (how it is trained, and what the character model of the Train page does).
* encoder-decoder: the classifier reads the name (many-to-one), its predicted class is
  handed to the generator, which writes a new name (one-to-many). Here the message
  between the two halves is a class; a real sequence-to-sequence model hands over a
  state vector (the seq2seq lab), but the wiring is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .data import BOUNDARY, encode
from .model import generate, hidden_states, letter_probs

LABS = {"one_to_one": "names-classifier", "many_to_one": "names-classifier", "one_to_many": "names-generator",
        "many_to_many": "train", "encoder_decoder": "seq2seq"}
TITLES = {"one_to_one": "one-to-one", "many_to_one": "many-to-one", "one_to_many": "one-to-many",
          "many_to_many": "many-to-many (aligned)", "encoder_decoder": "encoder-decoder"}


@dataclass
class Step:
    input: str | None  # what is fed at this step (a letter, or a class for the generator)
    state: float  # ||h_t||
    output: str | None  # what is read out at this step
    output_p: float | None = None  # its probability
    part: str = ""  # "encoder" / "decoder" for the encoder-decoder


@dataclass
class Shape:
    key: str
    title: str
    lab: str  # the lab that trains this shape
    steps: list[Step]


def _norms(states: np.ndarray) -> list[float]:
    return [float(x) for x in np.linalg.norm(states, axis=1)]


def _gen_states(gen, cls_index: int, letters: list[str]) -> np.ndarray:
    ids = torch.tensor([[0] + [gen.vocab.stoi[c] for c in letters[:-1]]]) if letters else torch.tensor([[0]])
    with torch.inference_mode():
        return gen.model.states(ids, torch.tensor([cls_index]))[0][0].numpy()


def shapes_map(clf, gen, name: str = "Rossi", seed: int = 0, temperature: float = 0.8) -> list[Shape]:
    """``clf`` and ``gen`` are ``store.NamesCheckpoint`` objects over the same classes."""
    if tuple(clf.classes) != tuple(gen.classes):
        raise ValueError("The classifier and the generator must share their classes.")
    lp = letter_probs(clf.model, clf.vocab, clf.classes, name)
    letters = lp.letters
    h = hidden_states(clf.model, clf.vocab, name)
    norms = _norms(h)
    k = int(lp.probs[-1].argmax())
    cls = clf.classes[k]

    first = letter_probs(clf.model, clf.vocab, clf.classes, letters[0])
    k1 = int(first.probs[0].argmax())
    one_to_one = [Step(letters[0], norms[0], clf.classes[k1], float(first.probs[0, k1]))]

    many_to_one = [Step(c, n, None) for c, n in zip(letters, norms)]
    many_to_one[-1].output, many_to_one[-1].output_p = cls, float(lp.probs[-1, k])

    g = generate(gen.model, gen.vocab, gen.classes, cls, temperature, seed=seed)
    gs = _norms(_gen_states(gen, k, g.letters))
    one_to_many = [Step(cls if t == 0 else None, gs[t], _show(c), p) for t, (c, p) in
                   enumerate(zip(g.letters, g.chosen_p))]

    ids = torch.as_tensor(np.concatenate([[0], encode(gen.vocab, name)]))[None]
    with torch.inference_mode():
        out, _ = gen.model.states(ids, torch.tensor([k]))
        probs = torch.softmax(gen.model.head(out[0]), -1).numpy()
    aligned = [Step(_show(c), float(np.linalg.norm(o)), _show(gen.vocab.chars[int(p.argmax())]), float(p.max()))
               for c, o, p in zip([BOUNDARY] + letters, out[0].numpy(), probs)]

    enc = [Step(c, n, None, part="encoder") for c, n in zip(letters, norms)]
    enc[-1].output, enc[-1].output_p = cls, float(lp.probs[-1, k])  # handed to the decoder as its input
    dec = [Step(cls if t == 0 else None, s.state, s.output, s.output_p, part="decoder")
           for t, s in enumerate(one_to_many)]
    shapes = {"one_to_one": one_to_one, "many_to_one": many_to_one, "one_to_many": one_to_many,
              "many_to_many": aligned, "encoder_decoder": enc + dec}
    return [Shape(key, TITLES[key], LABS[key], steps) for key, steps in shapes.items()]


def _show(ch: str) -> str:
    return "⏎" if ch == BOUNDARY else ch
