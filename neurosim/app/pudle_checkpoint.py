"""Checkpoints of a PUDLE run (what ``neurosim pudle --checkpoint`` writes and ``--resume`` reads).

A checkpoint is one ``.npz`` (written atomically, like ``neurosim learn``'s,
:mod:`neurosim.app.checkpoint`): the run's settings as JSON (``settings``), the arrays of
:meth:`~neurosim.estimators.pudle.PUDLEState.to_arrays` (the dictionary, Adam's moments and
step counter, the random generator's state, the epoch's sample order and position, the
early-stopping counters, the loss curve) and the caller's curves (``curve_<name>``: 1-D arrays
such as the recovery error after every step).

:func:`load_pudle_checkpoint` trusts nothing in the file: the settings must equal the resumed
run's, every entry is checked against a fresh state of the same run (entries, dtypes, shapes,
finite values), the counters against the run (``0 <= steps <= total``, the position within the
epoch, the order a permutation of the samples, the loss curve one value per step) and the
generator's state by restoring it, so a damaged or mismatched file is refused with an
:class:`~neurosim.errors.InputError` naming the file and the entry before training resumes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import numpy as np

from neurosim.app.checkpoint import _check_rng, _check_settings, _Entries, require_checkpoint_file
from neurosim.errors import InputError, NeurosimError, describe
from neurosim.estimators.pudle import PUDLE, PUDLEState
from neurosim.io.atomic import atomic_save_npz
from neurosim.io.network import open_npz

__all__ = ["save_pudle_checkpoint", "load_pudle_checkpoint", "EXPECTED"]

EXPECTED = "a checkpoint written by 'neurosim pudle --checkpoint'"
_WEIGHTS = ("components", "adam_m", "adam_v")


def save_pudle_checkpoint(path: Union[str, Path], state: PUDLEState, settings: Mapping[str, Any], *,
                          curves: Optional[Mapping[str, Sequence[float]]] = None) -> Path:
    """Write ``state``, the run's ``settings`` (JSON-ready) and ``curves`` (saved as
    ``curve_<name>``) to ``path`` atomically."""
    extra = {f"curve_{k}": np.asarray(v, dtype=np.float64) for k, v in (curves or {}).items()}
    return atomic_save_npz(path, settings=np.array(json.dumps(dict(settings))), **state.to_arrays(), **extra)


def _real(e: _Entries, key: str, *, lo: float, hi: float, nan: bool = False) -> float:
    a = e.get(key)
    if a.shape != () or a.dtype.kind not in "iuf":
        raise e.err(key, "must be one number", got=f"dtype {a.dtype}, shape {a.shape}", expected="a scalar")
    v = float(a)
    if not ((nan and np.isnan(v)) or lo <= v <= hi):
        raise e.err(key, "out of range", got=v, expected=f"{lo} .. {hi}" + (" or nan" if nan else ""))
    return v


def _weights(e: _Entries, fresh: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for key in _WEIGHTS:
        a = e.finite(key, fresh[key].shape, "values")
        if key == "adam_v" and np.any(a < 0):  # Adam's second moment: a mean of squares (sqrt of it next)
            raise e.err(key, "negative second moment", got=f"{int((a < 0).sum())} negative values",
                        expected="values >= 0")
        out[key] = a.astype(np.float64)
    return out


def _curve(e: _Entries, key: str, length: int) -> np.ndarray:
    a = e.get(key)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iuf"):
        raise e.err(key, "must be a 1-D array of numbers", got=f"dtype {a.dtype}, shape {a.shape}",
                    expected="one value per step")
    if a.size != length:
        raise e.err(key, "wrong length for the steps done", got=a.size, expected=length)
    if not np.all(np.isfinite(a)):
        raise e.err(key, "not finite", got=f"{int(a.size - np.isfinite(a).sum())} NaN or inf values",
                    expected="finite values")
    return a.astype(np.float64)


def load_pudle_checkpoint(path: Union[str, Path], *, settings: Mapping[str, Any], keys: Sequence[str],
                          model: PUDLE, fresh: PUDLEState, curves: Optional[Mapping[str, int]] = None
                          ) -> tuple[PUDLEState, dict[str, np.ndarray]]:
    """Read a checkpoint and check it can resume the run of ``model`` described by ``settings``.

    Parameters
    ----------
    path : str or Path
        The checkpoint.
    settings : mapping
        The resumed run's settings; those named by ``keys`` must equal the checkpoint's.
    keys : sequence of str
        The settings that must match (data, sizes, estimator, rates, seed ...).
    model : PUDLE
        The resumed run's estimator (its epochs, batch size, optimiser and early stopping).
    fresh : PUDLEState
        ``model.initial_state(X)``: the template of the entries and shapes.
    curves : mapping of str to int
        Curves the caller saved (``curve_<name>``) and how many more values than steps each has
        (1 for a curve recorded at step 0 too).

    Returns
    -------
    state : PUDLEState
        The state to pass to ``model.fit(X, state=state)``.
    curves : dict of str to ndarray
        The saved curves, by name.

    Raises
    ------
    InputError
        Missing or unreadable file, other settings, or any entry missing, of the wrong type or
        shape, out of range or inconsistent; the message names the file and the entry.
    """
    require_checkpoint_file(path)
    n = fresh.order.size
    per_epoch = model.steps_per_epoch(n)
    total = int(model.epochs) * per_epoch
    with open_npz(path, kind="checkpoint", expected=EXPECTED) as z:
        e = _Entries(path, z, EXPECTED)
        try:
            _check_settings(e, settings, keys)
            arrays: dict[str, Any] = _weights(e, fresh.to_arrays())
            steps = e.whole("steps", 0, total)
            arrays["steps"] = steps
            arrays["epoch"] = e.whole("epoch", 0, int(model.epochs))
            arrays["position"] = e.whole("position", 0, n - 1 if arrays["epoch"] < int(model.epochs) else 0)
            if arrays["epoch"] * per_epoch + -(-arrays["position"] // model.batch_of(n)) != steps:
                raise e.err("steps", "does not match the epoch and the position in it", got=steps,
                            expected=f"epoch {arrays['epoch']} x {per_epoch} steps + the position's steps")
            arrays["no_change"] = e.whole("no_change", 0, int(model.n_iter_no_change))
            arrays["converged"] = e.whole("converged", 0, 1)
            arrays["adam_k"] = e.whole("adam_k", steps if model.optimizer == "adam" else 0,
                                       steps if model.optimizer == "adam" else 0)
            arrays["g0"] = _real(e, "g0", lo=0.0, hi=np.inf, nan=steps == 0)
            arrays["lam_factor"] = _real(e, "lam_factor", lo=0.0, hi=1.0)
            arrays["best_loss"] = _real(e, "best_loss", lo=0.0, hi=np.inf)
            arrays["epoch_loss"] = _real(e, "epoch_loss", lo=0.0, hi=np.finfo(float).max)
            order = e.get("order")
            if order.ndim != 1 or order.dtype.kind not in "iu" or not np.array_equal(np.sort(order), np.arange(n)):
                raise e.err("order", f"not a permutation of the {n} training samples",
                            got=f"dtype {order.dtype}, shape {order.shape}", expected=f"each of 0 .. {n - 1} once")
            arrays["order"] = order.astype(np.int64)
            arrays["rng_state"] = np.array(_check_rng(e))
            arrays["loss_curve"] = _curve(e, "loss_curve", steps)
            saved = {name: _curve(e, f"curve_{name}", steps + extra) for name, extra in (curves or {}).items()}
            state = PUDLEState.from_arrays(arrays, model.make_optimizer())
            return state, saved
        except InputError:
            raise
        except (NeurosimError, KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InputError(describe("checkpoint", str(path), "is not a neurosim pudle checkpoint",
                                      got=str(exc)[:80], expected=EXPECTED)) from None
