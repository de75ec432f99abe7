"""Reading user arrays: the one ``.npy`` reader of the project.

Every problem is an :class:`~neurosim.errors.InputError` worded ``<what> file '<path>': <problem>
(got ..., expected ...)``: a missing path, a directory, an ``.npz`` archive where one array is
expected, a file without the numpy header, an unreadable or truncated file, a non-numeric
(or pickled object) array. Pickles are never loaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np

from neurosim.errors import InputError, describe
from neurosim.io.atomic import read_error

__all__ = ["read_npy"]


def read_npy(path: Union[str, Path], what: str = "array") -> np.ndarray:
    """Load a single-array ``.npy`` file of real numbers (integers, floats or booleans).

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the array is (``"dictionary"``, ``"inputs"``), for the message.

    Raises
    ------
    InputError
        The file is missing, not a ``.npy`` file, unreadable, or not real numeric.
    """
    p = Path(path)
    name = f"{what} file"
    if not p.exists():
        raise InputError(describe(name, str(path), "not found", expected="an existing .npy file"))
    if p.is_dir():
        raise InputError(describe(name, str(path), "is a directory", expected="a .npy file"))
    try:
        with open(p, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise InputError(describe(name, str(path), "cannot be opened", got=exc.strerror or type(exc).__name__,
                                  expected="a readable .npy file")) from None
    if magic[:2] == b"PK":
        raise InputError(describe(name, str(path), "holds several arrays (.npz)", expected="a single-array .npy file"))
    if magic != b"\x93NUMPY":
        raise InputError(describe(name, str(path), "is not a .npy file (no numpy header)",
                                  expected="a single array written by numpy.save"))
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(describe(name, str(path), "cannot be read as a numeric array", got=read_error(exc, 80),
                                  expected="a numeric array written by numpy.save")) from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool):
        raise InputError(describe(name, str(path), "is not real numeric", got=f"dtype {arr.dtype}",
                                  expected="integer or floating-point values"))
    return arr
