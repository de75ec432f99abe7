"""Checkpoints of a dictionary-learning run (what ``neurosim learn --checkpoint`` writes and
``--resume`` reads).

A checkpoint is one ``.npz`` (written atomically): the run's settings as JSON (``settings``) and
the arrays of :meth:`~neurosim.estimators.training.TrainState.to_arrays` (the weights, the sample
counter, the epoch order, the random generator's state, the history, and the scale an automatic
learning rate was halved to; checkpoints written before that entry existed read as 1).

:func:`load_checkpoint` trusts nothing in the file. Every entry is checked against a fresh state
of the same learner (same entries, dtypes and shapes), the counters against the run (``0 <=
samples_seen <= total``, ``position`` within the epoch order, the order a permutation of the
training samples), the weights for finite values and the generator's state by restoring it, so a
damaged file is refused naming the file and the entry before training resumes, never an
``EOFError``, ``BadZipFile``, ``JSONDecodeError`` or an ``IndexError`` in the middle of the run.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

import numpy as np

from neurosim.errors import InputError, NeurosimError, describe
from neurosim.estimators.dictlearn import TrainState
from neurosim.io.atomic import atomic_save_npz
from neurosim.io.jsontext import parse_json
from neurosim.io.network import open_npz

__all__ = ["save_checkpoint", "load_checkpoint", "require_checkpoint_file", "EXPECTED"]

EXPECTED = "a checkpoint written by 'neurosim learn --checkpoint'"
_COUNTERS = ("samples_seen", "epoch", "position")


def save_checkpoint(path: Union[str, Path], state: TrainState, settings: Mapping[str, Any]) -> Path:
    """Write ``state`` and the run's ``settings`` (JSON-ready) to ``path`` atomically."""
    return atomic_save_npz(path, settings=np.array(json.dumps(dict(settings))), **state.to_arrays())


class _Entries:
    """The arrays of a checkpoint, each read (and refused) by name."""

    def __init__(self, path: Union[str, Path], z: Any, expected: str = EXPECTED):
        self.path, self.z, self.expected = path, z, expected

    def err(self, key: str, what: str, *, got: Any = None, expected: Any = None) -> InputError:
        return InputError(describe("checkpoint", str(self.path), f"entry '{key}': {what}", got=got,
                                   expected=expected))

    def get(self, key: str) -> np.ndarray:
        if key not in self.z.files:
            raise InputError(describe("checkpoint", str(self.path), f"entry '{key}' is missing",
                                      expected=self.expected))
        return self.z[key]

    def whole(self, key: str, lo: int, hi: int) -> int:
        a = self.get(key)
        if a.shape != () or a.dtype.kind not in "iu":
            raise self.err(key, "must be one whole number", got=f"dtype {a.dtype}, shape {a.shape}",
                           expected="a scalar integer")
        if not lo <= int(a) <= hi:
            raise self.err(key, "out of range", got=int(a), expected=f"{lo} .. {hi}")
        return int(a)

    def text(self, key: str) -> str:
        a = self.get(key)
        if a.shape != () or a.dtype.kind != "U":
            raise self.err(key, "must be text", got=f"dtype {a.dtype}, shape {a.shape}", expected="a string")
        return str(a)

    def json(self, key: str) -> Any:
        return parse_json(self.text(key), f"checkpoint '{self.path}', entry '{key}'")

    def finite(self, key: str, shape: tuple, what: str) -> np.ndarray:
        """Entry ``key``: real numbers of ``shape``, all finite (``what`` names them in messages)."""
        a = self.get(key)
        if a.dtype.kind not in "iuf":
            raise self.err(key, "must be real numbers", got=f"dtype {a.dtype}", expected=f"floating-point {what}")
        if a.shape != tuple(shape):
            raise self.err(key, f"wrong shape for the run's {what}", got=a.shape, expected=tuple(shape))
        if not np.all(np.isfinite(a)):
            raise self.err(key, "not finite", got=f"{int(a.size - np.isfinite(a).sum())} NaN or inf values",
                           expected=f"finite {what}")
        return a


def _check_settings(e: _Entries, settings: Mapping[str, Any], keys: Sequence[str]) -> None:
    saved = e.json("settings")
    if not isinstance(saved, dict):
        raise e.err("settings", "must be a JSON object", got=type(saved).__name__, expected="{setting: value}")
    diff = {k: (saved.get(k), settings.get(k)) for k in keys if saved.get(k) != settings.get(k)}
    if diff:
        raise InputError(describe("checkpoint", str(e.path), "was written with other settings",
                                  got={k: v[0] for k, v in diff.items()}, expected={k: v[1] for k, v in diff.items()}))


def _check_rng(e: _Entries) -> str:
    text = e.text("rng_state")
    state = parse_json(text, f"checkpoint '{e.path}', entry 'rng_state'")
    try:
        np.random.default_rng().bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise e.err("rng_state", "not the state of a PCG64 random generator", got=str(exc)[:60],
                    expected="the generator state neurosim learn saved") from None
    return text


def _check_arrays(e: _Entries, fresh: dict[str, np.ndarray], n_train: int) -> dict[str, np.ndarray]:
    """The weight and history arrays, checked against a fresh state's."""
    out: dict[str, np.ndarray] = {}
    for key, want in fresh.items():
        if key in _COUNTERS or key in ("order", "rng_state", "rate_scale"):
            continue
        a = e.get(key)
        if key.startswith("history_"):
            if a.ndim != 1 or a.dtype.kind not in "iuf":
                raise e.err(key, "must be a 1-D array of numbers", got=f"dtype {a.dtype}, shape {a.shape}",
                            expected="the run's history")
            out[key] = a.astype(np.float64)
            continue
        out[key] = e.finite(key, want.shape, "weights").astype(want.dtype)
    lengths = {len(v) for k, v in out.items() if k.startswith("history_")}
    if len(lengths) > 1:
        raise e.err("history_*", "entries of different lengths", got=sorted(lengths), expected="one length")
    order = e.get("order")
    if order.ndim != 1 or (order.size and order.dtype.kind not in "iu"):
        raise e.err("order", "must be whole numbers", got=f"dtype {order.dtype}, shape {order.shape}",
                    expected="the epoch's permutation of the training samples")
    if order.size and (order.size != n_train or not np.array_equal(np.sort(order), np.arange(n_train))):
        raise e.err("order", f"not a permutation of the {n_train} training samples",
                    got=f"{order.size} entries", expected=f"each of 0 .. {n_train - 1} once")
    out["order"] = order.astype(np.int64)
    if "rate_scale" in e.z.files:  # absent in checkpoints from before the automatic rate's back-off
        scale = float(e.finite("rate_scale", (), "learning-rate scale"))
        if not 0 < scale <= 1:
            raise e.err("rate_scale", "out of range", got=scale, expected="0 < rate_scale <= 1 (a halved automatic rate)")
        out["rate_scale"] = np.float64(scale)
    return out



def require_checkpoint_file(path: Union[str, Path]) -> None:
    """Raise :class:`InputError` unless ``path`` is an existing file (a checkpoint to resume from)."""
    if not Path(path).is_file():
        raise InputError(describe("checkpoint", str(path), "not found" if not Path(path).exists() else "not a file",
                                  expected="a checkpoint from an earlier run"))


def load_checkpoint(path: Union[str, Path], *, settings: Mapping[str, Any], keys: Sequence[str], fresh: TrainState,
                    n_train: int, total: int) -> TrainState:
    """Read a checkpoint and check it can resume the run described by ``settings``.

    Parameters
    ----------
    path : str or Path
        The checkpoint.
    settings : mapping
        The resumed run's settings; those named by ``keys`` must equal the checkpoint's.
    keys : sequence of str
        The settings that must match (data, sizes, method, rates, seed ...).
    fresh : TrainState
        A new state of the run's learner (``learner.initial_state(X)``): the template of the
        entries, dtypes and weight shapes.
    n_train : int
        Training samples (the epoch order is a permutation of them).
    total : int
        Samples the run trains on in all.

    Raises
    ------
    InputError
        Missing or unreadable file, other settings, or any entry missing, of the wrong type or
        shape, out of range or inconsistent; the message names the file and the entry.
    """
    require_checkpoint_file(path)
    with open_npz(path, kind="checkpoint", expected=EXPECTED) as z:
        e = _Entries(path, z)
        try:
            _check_settings(e, settings, keys)
            arrays = _check_arrays(e, fresh.to_arrays(), n_train)
            seen = e.whole("samples_seen", 0, total)
            arrays["samples_seen"] = np.int64(seen)
            arrays["epoch"] = np.int64(e.whole("epoch", 0, max(seen, 1)))
            arrays["position"] = np.int64(e.whole("position", 0, arrays["order"].size))
            arrays["rng_state"] = np.array(_check_rng(e))
            return TrainState.from_arrays(arrays)
        except InputError:
            raise
        except (NeurosimError, KeyError, TypeError, ValueError) as exc:
            raise InputError(describe("checkpoint", str(path), "is not a neurosim learn checkpoint",
                                      got=str(exc)[:80], expected=EXPECTED)) from None
