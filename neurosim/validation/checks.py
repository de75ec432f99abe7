"""Input checks shared by every solver, builder and estimator: one home, one message shape.

Each check returns the value as a float array of the expected shape, or raises
:class:`~neurosim.errors.NetworkError` worded ``<kind> '<name>': <what> (got ..., expected ...)``:
a dictionary ``D`` (``M x N``, finite, no zero atom), inputs ``X`` (``batch x M``), a penalty
``lam`` (scalar or per atom, ``>= 0``) and codes ``A`` (``batch x N``).
"""
from __future__ import annotations

import numpy as np

from neurosim.errors import NetworkError, describe

__all__ = ['check_dictionary', 'check_inputs', 'check_lam', 'check_codes']



# ---------------------------------------------------------------------------------------------
# validation shared by the LCA family (raises NetworkError naming the argument)
def _numeric(name: str, value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise NetworkError(describe(what, name, "is not an array", got=type(value).__name__,
                                    expected="a numeric array")) from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise NetworkError(describe(what, name, "is not real-valued numeric", got=f"dtype {arr.dtype}",
                                    expected="integer or floating point values"))
    arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        raise NetworkError(describe(what, name, "contains NaN or inf",
                                    got=f"{int(arr.size - np.isfinite(arr).sum())} non-finite values",
                                    expected="finite values"))
    return arr


def check_dictionary(D, *, name: str = "D") -> np.ndarray:
    """Validate a dictionary: a finite real 2-D array ``(M, N)`` without zero atoms; returns float64."""
    D = _numeric(name, D, "dictionary")
    if D.ndim != 2 or 0 in D.shape:
        raise NetworkError(describe("dictionary", name, "must be a non-empty 2-D array (M, N), atoms in columns",
                                    got=f"shape {D.shape}", expected="(M, N)"))
    with np.errstate(over="ignore"):
        norms = np.linalg.norm(D, axis=0)
    if not np.all(np.isfinite(norms)):
        raise NetworkError(describe("dictionary", name, "has atoms too large to represent (their norm overflows)",
                                    got=np.flatnonzero(~np.isfinite(norms))[:5].tolist(),
                                    expected="atoms of norm below 1e150"))
    if np.any(norms == 0):
        raise NetworkError(describe("dictionary", name, "has all-zero atoms (columns)",
                                    got=np.flatnonzero(norms == 0)[:5].tolist(), expected="non-zero columns"))
    return D


def check_inputs(X, M: int, *, name: str = "X") -> tuple[np.ndarray, bool]:
    """Validate inputs ``(batch, M)`` or one input ``(M,)``.

    Returns the inputs as a float64 ``(batch, M)`` array and whether a single vector was given.
    """
    X = _numeric(name, X, "inputs")
    single = X.ndim == 1
    if single:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != M or X.shape[0] == 0:
        raise NetworkError(describe("inputs", name, "must be (batch, M) or (M,) with M the dictionary's row count",
                                    got=f"shape {X.shape}", expected=f"(batch, {M}) or ({M},)"))
    return X, single


def check_lam(lam, N: int, *, name: str = "lam") -> np.ndarray:
    """Validate the penalty: a scalar or ``(N,)`` of finite values ``>= 0``; returns it broadcast to ``(N,)``."""
    arr = _numeric(name, lam, "parameter")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != N):
        raise NetworkError(describe("parameter", name, "must be a scalar or one value per atom",
                                    got=f"shape {arr.shape}", expected=f"() or ({N},)"))
    if np.any(arr < 0):
        raise NetworkError(describe("parameter", name, "must be non-negative", got=float(arr.min()), expected=">= 0"))
    return np.broadcast_to(arr, (N,)).astype(np.float64)


def check_codes(A, batch: int, N: int, *, name: str = "A") -> np.ndarray:
    """Validate codes ``(batch, N)`` (or ``(N,)`` when ``batch == 1``)."""
    A = _numeric(name, A, "codes")
    if A.ndim == 1:
        A = A[None, :]
    if A.shape != (batch, N):
        raise NetworkError(describe("codes", name, "have the wrong shape", got=f"shape {A.shape}",
                                    expected=f"({batch}, {N})"))
    return A

