"""Parsing JSON documents from files without trusting them (placement files, the metadata inside
network files, checkpoints and models).

:func:`parse_json` decodes the bytes as UTF-8, bounds the size and the nesting depth *before*
parsing (Python's parser recurses once per level and ends in ``RecursionError`` on a few thousand
``[``), refuses the non-standard constants ``NaN`` and ``Infinity`` unless asked, and reports any
problem as one :class:`~neurosim.errors.InputError` naming the document, the line and column.
"""
from __future__ import annotations

import json
import re
from typing import Any, Union

import numpy as np

from neurosim.errors import InputError

__all__ = ["parse_json", "MAX_DEPTH", "MAX_BYTES"]

#: deepest nesting of objects and arrays accepted (neurosim's own documents need 6)
MAX_DEPTH = 64
#: largest document accepted, bytes
MAX_BYTES = 256 * 2**20
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def _depth(raw: bytes) -> int:
    """Deepest nesting of ``[`` / ``{`` outside strings (vectorised: no recursion, linear time)."""
    a = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    if a.size == 0:
        return 0
    step = ((a == ord("[")) | (a == ord("{"))).astype(np.int64) - ((a == ord("]")) | (a == ord("}")))
    return int(np.cumsum(step).max(initial=0))


def _refuse_constant(name: str) -> float:
    raise ValueError(f"non-standard constant {name}")


def parse_json(data: Union[bytes, str], where: str, *, allow_nan: bool = False, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON document in ``data``.

    Parameters
    ----------
    data : bytes or str
        The document (bytes are decoded as UTF-8).
    where : str
        What the document is, for messages: ``"placement file 'p.json'"``.
    allow_nan : bool
        Accept ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON, but Python writes them).
    max_depth : int
        Deepest nesting of objects and arrays.

    Raises
    ------
    InputError
        Too large, not UTF-8, nested too deeply, or not valid JSON (with line and column).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise InputError(f"{where}: too large for a JSON document (got {len(raw)} bytes, expected at most {MAX_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: not UTF-8 text (byte {exc.start}) (got {raw[exc.start:exc.start + 4]!r}, "
                         "expected a UTF-8 JSON document)") from None
    depth = _depth(raw)
    if depth > max_depth:
        raise InputError(f"{where}: nested too deeply (got {depth} levels, expected at most {max_depth} levels of "
                         "objects and arrays)")
    try:
        return json.loads(text, parse_constant=None if allow_nan else _refuse_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg} "
                         "(expected a JSON document)") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not valid JSON ({str(exc)[:80]}) (expected a JSON document without NaN or "
                         "Infinity)") from None
