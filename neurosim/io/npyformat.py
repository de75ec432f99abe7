"""Reading ``.npy`` arrays and ``.npz`` archives without trusting them.

numpy's own loader allocates whatever an array's header promises before it reads a byte, and lets
``zipfile``/``zlib`` errors (``BadZipFile``, ``zlib.error``, ``EOFError``) escape. Here every array
is read in three steps:

1. :func:`read_header` parses the header (magic, version, ``descr``, ``fortran_order``, ``shape``)
   itself: a shape must be a tuple of whole numbers >= 0, the dtype a numpy type that holds no
   Python objects
   (readers check the kind they need: numbers, text ...);
2. the bytes the header promises are compared with the bytes the file (or the archive member)
   holds, and with the memory limit (:mod:`neurosim.guard`), *before* anything is allocated;
3. the data are read into the allocated array; a short read, a bad CRC or broken compressed data
   is reported.

Every problem is one :class:`~neurosim.errors.InputError` naming the file (and the archive
member), what was found and what was expected; a header that promises more than the memory
limit is a :class:`~neurosim.errors.ResourceError` with the size. Pickles are never loaded.
"""
from __future__ import annotations

import ast
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Optional, Union

import numpy as np

from neurosim.errors import InputError, describe
from neurosim.guard import ResourceLimits, check_memory

__all__ = ["NpyHeader", "read_header", "read_array", "read_npy_file", "SafeNpz", "MAX_HEADER"]

MAGIC = b"\x93NUMPY"
#: largest header accepted, bytes (numpy writes headers of 64-128 bytes)
MAX_HEADER = 10_000
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class NpyHeader:
    """A parsed ``.npy`` header: ``dtype``, ``shape``, ``fortran_order`` and where the data start."""

    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int

    @property
    def count(self) -> int:
        """Number of elements (Python int: never overflows)."""
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        """Bytes of the data the header promises."""
        return self.count * self.dtype.itemsize


def _paren(got: Any, expected: Any) -> str:
    parts = ([f"got {got}"] if got is not None else []) + ([f"expected {expected}"] if expected is not None else [])
    return f" ({', '.join(parts)})" if parts else ""


def read_header(fh: BinaryIO, where: str) -> NpyHeader:
    """Parse the ``.npy`` header at the start of ``fh``.

    Parameters
    ----------
    fh : binary file object
        Positioned at the start of the array.
    where : str
        What the array is, for messages: ``"dictionary file 'D.npy'"`` or ``"network file 'n.npz',
        entry 'meta'"``.

    Raises
    ------
    InputError
        No numpy magic, an unknown version, an unreadable or oversized header, a shape that is not
        whole numbers >= 0, an object (pickled) or structured dtype.
    """
    try:
        magic = fh.read(8)
    except _READ_ERRORS as exc:
        raise InputError(f"{where}: cannot be read{_paren(_first(exc), 'a readable file')}") from None
    if len(magic) < 8 or magic[:6] != MAGIC:
        raise InputError(f"{where}: not a numpy array (no .npy header){_paren(repr(magic[:8]), 'a .npy array')}")
    major = magic[6]
    if major not in (1, 2, 3):
        raise InputError(f"{where}: unknown .npy format version{_paren(f'{major}.{magic[7]}', '1.0, 2.0 or 3.0')}")
    size = 2 if major == 1 else 4
    try:
        raw_len = fh.read(size)
        if len(raw_len) < size:
            raise EOFError("truncated")
        hlen = int.from_bytes(raw_len, "little")
        if hlen > MAX_HEADER:
            raise InputError(f"{where}: .npy header too large{_paren(f'{hlen} bytes', f'at most {MAX_HEADER}')}")
        text = fh.read(hlen)
    except InputError:
        raise
    except _READ_ERRORS as exc:
        raise InputError(f"{where}: truncated .npy header{_paren(_first(exc), 'a complete array')}") from None
    if len(text) < hlen:
        raise InputError(f"{where}: truncated .npy header{_paren(f'{len(text)} of {hlen} bytes', 'a complete array')}")
    try:
        d = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, RecursionError, MemoryError, TypeError):
        raise InputError(f"{where}: unreadable .npy header{_paren(repr(text[:40]), 'a numpy header dictionary')}") \
            from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise InputError(f"{where}: invalid .npy header{_paren(repr(text[:60]), 'keys descr, fortran_order, shape')}")
    shape = d["shape"]
    if not isinstance(shape, tuple) or len(shape) > 32 or not all(
            isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in shape):
        raise InputError(f"{where}: invalid array shape in the .npy header"
                         f"{_paren(repr(shape)[:60], 'a tuple of at most 32 whole numbers >= 0')}")
    if not isinstance(d["fortran_order"], bool):
        raise InputError(f"{where}: invalid fortran_order in the .npy header"
                         f"{_paren(repr(d['fortran_order'])[:40], 'True or False')}")
    descr = d["descr"]
    try:
        dtype = np.lib.format.descr_to_dtype(descr) if isinstance(descr, (str, list)) else None
    except (TypeError, ValueError, SyntaxError, KeyError, IndexError, RecursionError):
        dtype = None
    if dtype is None or dtype.hasobject or dtype.subdtype is not None:
        got = "pickled (object) data, which neurosim never loads" if dtype is not None and dtype.hasobject \
            else repr(descr)[:40]
        raise InputError(f"{where}: unsupported array type in the .npy header"
                         f"{_paren(got, 'a plain numpy type: numbers, booleans or text')}")
    return NpyHeader(dtype=dtype, shape=shape, fortran_order=d["fortran_order"], data_offset=8 + size + hlen)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0][:80] if text else type(exc).__name__)


def read_array(fh: BinaryIO, where: str, *, available: Optional[int], limits: Optional[ResourceLimits] = None,
               header: Optional[NpyHeader] = None) -> np.ndarray:
    """Read one array from ``fh`` (at its header, or just after ``header``).

    Parameters
    ----------
    fh : binary file object
    where : str
        For messages (see :func:`read_header`).
    available : int or None
        Bytes the file holds after the header (a file's size, an archive member's uncompressed
        size); a header that promises more is refused before allocating. ``None``: unknown.
    limits : ResourceLimits, optional
        Memory limit of the array (default: the machine's memory).

    Raises
    ------
    InputError
        See :func:`read_header`; the data are shorter than the header says, or unreadable.
    ResourceError
        The array would not fit the memory limit.
    """
    h = header or read_header(fh, where)
    need = h.nbytes
    if available is not None and need > available:
        raise InputError(f"{where}: the header promises more data than the file holds"
                         f"{_paren(f'shape {h.shape} of {h.dtype} = {need} bytes, {available} present', 'a complete array')}")
    check_memory(where, need, limits, detail=f"an array of shape {h.shape} and type {h.dtype}")
    arr = np.empty(h.count, dtype=h.dtype)
    view = memoryview(arr.view(np.uint8)) if need else memoryview(bytearray())
    try:
        got = 0
        while got < need:
            n = fh.readinto(view[got:])
            if not n:
                break
            got += n
        if got == need:
            fh.read(1)  # reach the end of an archive member: zipfile checks its CRC there
    except _READ_ERRORS as exc:
        raise InputError(f"{where}: corrupt data{_paren(_first(exc), 'an intact array')}") from None
    if got < need:
        raise InputError(f"{where}: truncated data{_paren(f'{got} of {need} bytes', 'a complete array')}")
    if h.fortran_order:
        return arr.reshape(h.shape[::-1]).transpose()
    return arr.reshape(h.shape)


class SafeNpz:
    """An ``.npz`` archive read member by member with :func:`read_array` (the interface of
    ``numpy.lib.npyio.NpzFile`` that neurosim's readers use: ``files``, ``z[key]``, ``key in z``,
    a context manager).

    The arrays read from one archive may not exceed the memory limit together.

    Raises
    ------
    InputError
        The file is not a zip archive (on opening), or a member is missing or unreadable (on
        ``z[key]``); the message names the file and the entry.
    """

    def __init__(self, path: Union[str, Path], *, kind: str, expected: str,
                 limits: Optional[ResourceLimits] = None):
        self.path, self.kind, self.expected = str(path), kind, expected
        self.limits = limits or ResourceLimits()
        self._used = 0
        try:
            self._zip = zipfile.ZipFile(path)
            names = self._zip.namelist()
        except (zipfile.BadZipFile, *_READ_ERRORS) as exc:
            raise InputError(describe(kind, self.path, "cannot be read as a .npz archive", got=_first(exc),
                                      expected=expected)) from None
        self._members = {n[:-4]: n for n in names if n.endswith(".npy")}
        self.files = list(self._members)

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def __enter__(self) -> "SafeNpz":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def where(self, key: str) -> str:
        return f"{self.kind} '{self.path}', entry '{key}'"

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._members:
            raise KeyError(key)
        where = self.where(key)
        try:
            info = self._zip.getinfo(self._members[key])
            with self._zip.open(info) as fh:
                h = read_header(fh, where)
                left = ResourceLimits(max_memory_bytes=max(1, self.limits.memory - self._used))
                arr = read_array(fh, where, available=max(0, info.file_size - h.data_offset), limits=left, header=h)
        except InputError:
            raise
        except _READ_ERRORS as exc:
            raise InputError(f"{where}: corrupt entry{_paren(_first(exc), self.expected)}") from None
        self._used += arr.nbytes
        return arr


def read_npy_file(path: Union[str, Path], where: str, *, limits: Optional[ResourceLimits] = None) -> np.ndarray:
    """One array from a ``.npy`` file (header checked against the file's size and the memory limit)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            h = read_header(fh, where)
            return read_array(fh, where, available=max(0, p.stat().st_size - h.data_offset), limits=limits, header=h)
    except (OSError, io.UnsupportedOperation) as exc:
        raise InputError(f"{where}: cannot be read{_paren(_first(exc), 'a readable .npy file')}") from None
