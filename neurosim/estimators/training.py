"""The resumable training state and sample loop shared by the dictionary learners.

:class:`TrainState` holds the weights, the sample counter, the current epoch's order, the random
generator's state, the history and the learning-rate scale an automatic rate was backed off to
(:meth:`~neurosim.estimators.dictlearn.LocalDictionaryLearning.fit`); it round-trips through
:meth:`TrainState.to_arrays` / :meth:`TrainState.from_arrays` (an ``.npz`` checkpoint, read with
its checks by :mod:`neurosim.app.checkpoint`). :func:`train_loop` streams mini-batches of epochs
drawn from that generator, so a resumed run is bit-identical to an uninterrupted one.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import numpy as np

from neurosim.blas import one_thread
from neurosim.builders.dictnet import DictNetParams
from neurosim.errors import NetworkError, describe

__all__ = ["HISTORY_KEYS", "TrainState", "train_loop", "copy_state", "restore_state"]

HISTORY_KEYS = ("samples", "test_objective", "consistency", "symmetry", "mean_norm")


@dataclass
class TrainState:
    """Everything needed to continue a training run exactly where it stopped.

    ``params`` is a :class:`DictNetParams` (local rule) or a dictionary array ``D`` (SGD baseline).
    """

    params: Union[DictNetParams, np.ndarray]
    samples_seen: int = 0
    epoch: int = 0
    position: int = 0
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rng_state: str = ""
    history: dict = field(default_factory=lambda: {k: [] for k in HISTORY_KEYS})
    #: factor applied to an automatic learning rate after divergences (1: never backed off)
    rate_scale: float = 1.0

    def to_arrays(self) -> dict[str, np.ndarray]:
        p = self.params
        arrays = {"F": p.F, "B": p.B, "H": p.H, "s": p.s} if isinstance(p, DictNetParams) else {"D": np.asarray(p)}
        arrays.update({"samples_seen": np.int64(self.samples_seen), "epoch": np.int64(self.epoch),
                       "position": np.int64(self.position), "order": self.order, "rng_state": np.array(self.rng_state),
                       "rate_scale": np.float64(self.rate_scale)})
        for k in HISTORY_KEYS:
            arrays[f"history_{k}"] = np.asarray(self.history[k], dtype=np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, z) -> "TrainState":
        try:
            params = np.array(z["D"]) if "D" in z and "F" not in z else DictNetParams(z["F"], z["B"], z["H"], z["s"])
            hist = {k: [float(v) for v in z[f"history_{k}"]] for k in HISTORY_KEYS}
            scale = float(z["rate_scale"]) if "rate_scale" in z else 1.0  # absent before rate back-off
            return cls(params, int(z["samples_seen"]), int(z["epoch"]), int(z["position"]),
                       np.asarray(z["order"], dtype=np.int64), str(z["rng_state"]), hist, scale)
        except KeyError as exc:
            raise NetworkError(describe("checkpoint", "state", "is missing a field", got=str(exc),
                                        expected="a checkpoint written by neurosim's dictionary learners")) from exc


def copy_state(state: TrainState) -> TrainState:
    """An independent copy of ``state`` (weights, order and history copied)."""
    return TrainState.from_arrays({k: np.array(v, copy=True) for k, v in state.to_arrays().items()})


def restore_state(state: TrainState, saved: TrainState) -> None:
    """Put ``saved`` (a :func:`copy_state`) back into ``state`` in place."""
    for f in dataclasses.fields(TrainState):
        setattr(state, f.name, getattr(copy_state(saved), f.name))


def train_loop(state: TrainState, X: np.ndarray, *, total: int, batch_size: int,
               step: Callable[[TrainState, np.ndarray], None], record: Optional[Callable[[TrainState], None]] = None,
               eval_every: Optional[int] = None, callback: Optional[Callable[[TrainState], bool]] = None) -> TrainState:
    """The resumable sample loop shared by the local learner and the SGD baseline.

    Epochs are random permutations of the training rows drawn from the generator stored in
    ``state.rng_state`` (saved right after each draw, so a resumed run draws the same orders);
    ``step(state, X_batch)`` updates ``state.params``; ``record(state)`` appends to the history
    every ``eval_every`` samples (and at the start and the end); ``callback(state)`` runs after
    every update and may return ``True`` to stop (the state stays resumable). BLAS runs on one
    thread meanwhile (:mod:`neurosim.blas`: mini-batch products are too small to share).
    """
    with one_thread():
        return _train_loop(state, X, total=total, batch_size=batch_size, step=step, record=record,
                           eval_every=eval_every, callback=callback)


def _train_loop(state: TrainState, X: np.ndarray, *, total: int, batch_size: int,
                step: Callable[[TrainState, np.ndarray], None], record: Optional[Callable[[TrainState], None]],
                eval_every: Optional[int], callback: Optional[Callable[[TrainState], bool]]) -> TrainState:
    rng = np.random.default_rng()
    rng.bit_generator.state = json.loads(state.rng_state)
    if record is not None and eval_every and not state.history["samples"]:
        record(state)
    while state.samples_seen < total:
        if state.position >= len(state.order):
            state.order = rng.permutation(len(X))
            state.position = 0
            state.epoch += 1
            state.rng_state = json.dumps(rng.bit_generator.state)
        take = min(batch_size, len(state.order) - state.position, total - state.samples_seen)
        step(state, X[state.order[state.position:state.position + take]])
        before = state.samples_seen
        state.position += take
        state.samples_seen += take
        if record is not None and eval_every and (state.samples_seen // eval_every > before // eval_every
                                                  or state.samples_seen == total):
            record(state)
        if callback is not None and callback(state):
            break
    return state
