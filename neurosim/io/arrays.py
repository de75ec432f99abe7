"""Reading user arrays: the one ``.npy`` reader of the project.

Every problem is an :class:`~neurosim.errors.InputError` worded ``<what> file '<path>': <problem>
(got ..., expected ...)``: a missing path, a directory, an ``.npz`` archive where one array is
expected, a file without the numpy header, an unreadable or truncated file, a non-numeric
(or pickled object) array, a header that promises more data than the file holds or than memory
allows (read before anything is allocated, :mod:`neurosim.io.npyformat`). Pickles are never loaded.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from neurosim.errors import InputError, ResourceError, describe
from neurosim.guard import ResourceLimits
from neurosim.io.npyformat import read_npy_file

__all__ = ["read_npy"]


def read_npy(path: Union[str, Path], what: str = "array", *, limits: Optional[ResourceLimits] = None) -> np.ndarray:
    """Load a single-array ``.npy`` file of real numbers (integers, floats or booleans).

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the array is (``"dictionary"``, ``"inputs"``), for the message.
    limits : ResourceLimits, optional
        Memory limit of the array (default: the machine's memory).

    Raises
    ------
    InputError
        The file is missing, not a ``.npy`` file, unreadable, truncated, its header promises more
        data than it holds, or it is not real numeric.
    ResourceError
        The array would not fit the memory limit (read from its header, before allocating).
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
    where = f"{name} '{path}'"
    try:
        arr = read_npy_file(p, where, limits=limits)  # the header is checked before anything is allocated
    except ResourceError:
        raise
    except InputError as exc:
        raise InputError(describe(name, str(path), "cannot be read as a numeric array", got=str(exc)[len(where) + 2:],
                                  expected="a numeric array written by numpy.save")) from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool):
        raise InputError(describe(name, str(path), "is not real numeric", got=f"dtype {arr.dtype}",
                                  expected="integer or floating-point values"))
    return arr
