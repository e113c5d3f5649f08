"""The trainer protocol: what the live-training machinery needs from any trainer.

Every lab trains through one machinery: ``rnnviz.live.BackgroundTrainer`` (a
per-session runner with pause / resume / single steps, a watchdog and the CPU
``SlotLimiter``) and ``rnnviz.worker`` (worker processes that run the steps outside
the web server's GIL and stream progress back). Neither knows what it trains: they
only use the members below. A new lab's trainer (word2vec, a names classifier, a
seq2seq model, a deep MLP) subclasses ``LiveTrainer``, fills in the class attributes
and implements ``step``; everything else has a sensible default.

How a trainer travels (``executor="process"``):

- the server keeps the trainer object the pages read;
- a job sends the worker the trainer's *dynamic* state (``__dict__`` minus
  ``STATIC`` and ``SERVER_ONLY``) plus, once per worker, the ``STATIC`` part (large
  read-only data, shared by every trainer with the same ``static_key()``);
- the job also carries the trainer's class, by reference (module and name: define
  it in an importable module, not in a script or a test function); the worker
  rebuilds the object with ``cls.rebuild(static, state)`` (``cls.__new__``, no
  ``__init__``), calls ``step(n)`` in chunks, and about twice a second sends
  ``progress()``: new points of each ``HISTORIES`` buffer, new items of each
  ``APPENDS`` list, the ``COUNTERS`` and ``weights()``; the server applies them with
  ``apply_progress``;
- at the end of a job the worker returns the full dynamic state (``apply_state``).

With ``executor="thread"`` the same object is stepped in the runner's thread and
nothing travels; a trainer that works with one executor works with the other.

What pages read: ``BackgroundTrainer.snapshot()`` copies every ``HISTORIES`` buffer,
every ``APPENDS`` list and the ``COUNTERS`` under the lock, adds ``summary()`` as
``extra`` and ``divergence_message()``; a page reads them by name (``snap.loss_hist``)
or by a short name from ``ALIASES`` (``snap.loss``). ``checkpoint(name)`` backs the
runner's ``checkpoint_copy`` and ``preview()`` the ``live.PeriodicSampler`` listener;
both are optional.

Histories are append-only sequences of tuples whose first item is the step number
(``collections.deque(maxlen=...)`` ring buffers are fine); that is how only new
points are streamed. Everything in the dynamic state must be picklable (it only
ever travels between the server and its own worker processes, never to or from
users: checkpoints are safetensors + JSON).
"""

from __future__ import annotations

from typing import Any, ClassVar


class LiveTrainer:
    """Base class and documentation of the protocol (see the module docstring)."""

    #: Attributes holding append-only histories of ``(step, value, ...)`` tuples.
    HISTORIES: tuple[str, ...] = ()
    #: Plain lists that training only appends to (e.g. samples taken at milestones).
    APPENDS: tuple[str, ...] = ()
    #: Scalar attributes sent with every progress message (``steps`` always is).
    COUNTERS: tuple[str, ...] = ("steps",)
    #: Attributes the worker needs that never change while training (the data).
    STATIC: tuple[str, ...] = ()
    #: Attributes only the server keeps (large, or irrelevant to the optimisation).
    SERVER_ONLY: tuple[str, ...] = ()
    #: Short names pages use on a ``Snapshot`` for histories, append-lists, counters
    #: and ``summary()`` keys, e.g. ``{"loss": "loss_hist"}``.
    ALIASES: ClassVar[dict[str, str]] = {}

    steps: int = 0

    # ------------------------------------------------------------ required
    def step(self, n: int = 1) -> int:
        """Run up to ``n`` optimisation steps; return how many ran (fewer after divergence)."""
        raise NotImplementedError

    # ------------------------------------------------------------ optional
    @property
    def diverged(self) -> bool:
        """True once training has blown up (NaN / inf); the runner then stops. By
        default: the trainer's ``divergence`` attribute is set (None while all is well)."""
        return self.__dict__.get("divergence") is not None

    def divergence_message(self) -> str | None:
        """What went wrong and what to do, for the page (None while all is well). By
        default ``divergence`` itself (a sentence), or its ``message()``."""
        d = self.__dict__.get("divergence")
        if d is None:
            return None
        return d.message() if hasattr(d, "message") else str(d)

    def static_key(self) -> str:
        """Identifies the ``STATIC`` part, so trainers on the same data share one copy
        per worker. The default is private to this object."""
        return f"{type(self).__module__}.{type(self).__qualname__}:{id(self)}"

    def static_state(self) -> dict[str, Any]:
        return {k: self.__dict__[k] for k in self.STATIC}

    def dynamic_state(self) -> dict[str, Any]:
        """What a job carries: everything training changes."""
        skip = set(self.STATIC) | set(self.SERVER_ONLY)
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def modules(self) -> dict[str, Any]:
        """The ``torch.nn.Module`` objects whose weights are streamed (default: ``model``)."""
        model = self.__dict__.get("model")
        return {"model": model} if model is not None else {}

    def weights(self) -> dict[str, dict]:
        """A detached copy of every streamed module's ``state_dict``."""
        return {name: {k: v.detach().clone() for k, v in m.state_dict().items()}
                for name, m in self.modules().items()}

    def load_weights(self, weights: dict[str, dict]) -> None:
        mods = self.modules()
        for name, sd in weights.items():
            mods[name].load_state_dict(sd)

    def summary(self) -> dict[str, Any]:
        """Small page-facing numbers (plain Python values), copied into ``Snapshot.extra``."""
        return {}

    def checkpoint(self, name: str):
        """A private, frozen copy of the model for the pages (``rnnviz.checkpoint.Checkpoint``
        for character models); called under the runner's lock."""
        raise ValueError("This trainer's model cannot be copied into a checkpoint.")

    def preview(self, seed: int = 0, **options) -> Any:
        """A small example of what the model does now (a text sample, a word's nearest
        neighbours), taken by ``live.PeriodicSampler`` between chunks; None for none."""
        return None

    def restore_last_good(self) -> int:
        """Reload the last weights from before a divergence; return their step."""
        raise ValueError("This trainer keeps no earlier weights to restore.")

    def set_lr(self, lr: float) -> None:
        raise ValueError("This trainer's learning rate cannot be changed while it trains.")

    # ------------------------------------------------------------ streaming
    def history_marks(self) -> dict[str, int]:
        """The last step number of every history and the length of every append-list:
        the point from which ``progress`` reports what is new."""
        marks = {h: (getattr(self, h)[-1][0] if len(getattr(self, h)) else -1) for h in self.HISTORIES}
        marks.update({a: len(getattr(self, a)) for a in self.APPENDS})
        return marks

    def progress(self, marks: dict[str, int]) -> dict[str, Any]:
        """What changed since ``marks`` (updated in place): new history points and
        appended items, the counters, the weights and the trainer's divergence."""
        history = {}
        for h in self.HISTORIES:
            buf, last, pts = getattr(self, h), marks[h], []
            for item in reversed(buf):
                if item[0] <= last:
                    break
                pts.append(item)
            pts.reverse()
            history[h] = pts
            if pts:
                marks[h] = pts[-1][0]
        appends = {}
        for a in self.APPENDS:
            buf = getattr(self, a)
            appends[a] = list(buf[marks[a]:])
            marks[a] = len(buf)
        return {
            "history": history,
            "appends": appends,
            "counters": {c: getattr(self, c) for c in self.COUNTERS},
            "weights": self.weights(),
            "divergence": self.__dict__.get("divergence"),
        }

    def apply_progress(self, p: dict[str, Any]) -> None:
        """Server side: bring this copy up to date with a worker's ``progress``."""
        self.load_weights(p["weights"])
        for h, pts in p["history"].items():
            getattr(self, h).extend(pts)
        for a, items in p["appends"].items():
            getattr(self, a).extend(items)
        for c, v in p["counters"].items():
            setattr(self, c, v)
        if "divergence" in self.__dict__:
            self.divergence = p["divergence"]

    def apply_state(self, state: dict[str, Any]) -> None:
        """Server side: take over a worker's final dynamic state."""
        self.__dict__.update(state)

    @classmethod
    def rebuild(cls, static: dict[str, Any], state: dict[str, Any]) -> "LiveTrainer":
        """Worker side: a trainer from its static and dynamic parts (no ``__init__``)."""
        tr = cls.__new__(cls)
        tr.__dict__.update(static)
        tr.__dict__.update(state)
        return tr
