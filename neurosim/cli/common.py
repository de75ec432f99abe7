"""Helpers shared by the CLI subcommands."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UsageError, describe

__all__ = ["load_npy"]


def load_npy(path: str, what: str) -> np.ndarray:
    """Load a single-array ``.npy`` file; every problem is a one-line :class:`UsageError`."""
    p = Path(path)
    if not p.exists():
        raise UsageError(describe(f"{what} file", path, "not found", expected="an existing .npy file"))
    if p.is_dir():
        raise UsageError(describe(f"{what} file", path, "is a directory", expected="a .npy file"))
    try:
        with open(p, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise UsageError(describe(f"{what} file", path, "cannot be opened", got=exc.strerror or type(exc).__name__,
                                  expected="a readable .npy file")) from exc
    if magic[:2] == b"PK":
        raise UsageError(describe(f"{what} file", path, "holds several arrays (.npz)", expected="a single-array .npy file"))
    if magic != b"\x93NUMPY":
        raise UsageError(describe(f"{what} file", path, "is not a .npy file (no numpy header)",
                                  expected="a .npy file written by numpy.save"))
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UsageError(describe(f"{what} file", path, "cannot be read as a numpy array",
                                  got=str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__,
                                  expected="a .npy file written by numpy.save")) from exc
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool):
        raise UsageError(describe(f"{what} file", path, "is not real numeric", got=f"dtype {arr.dtype}",
                                  expected="integer or floating point values"))
    return arr
