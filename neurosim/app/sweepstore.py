"""The result store of a sweep: one JSON file per point, under a key derived from its full inputs.

A point's key is the SHA-256 (first 24 hex digits) of the canonical JSON of everything its
numbers depend on: the chip variant as data, the experiment (network, simulation, mapping), the
contents of the data files it reads, the mapping options (:meth:`mapper.MappingOptions.to_dict`),
whether the quantised network is scored, and the code version (:func:`code_version`: a digest of
the source of :mod:`neurosim` and :mod:`mapper`, so results of other code are never reused).

Each finished point is written as ``DIR/points/<key>.json`` atomically by the one process that
drives the sweep, as soon as it finishes: a sweep killed at any moment loses only the points in
flight, and ``--resume`` skips every point whose key has a file. A file that cannot be read (or
is of another format) counts as absent and the point is run again.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Iterable, Optional

import mapper
import neurosim
from neurosim.io.runrecord import file_digest as sha256_of_file
from neurosim.io.atomic import atomic_write_json

__all__ = ["PointStore", "code_version", "digest", "file_digest", "STORE_FORMAT", "STORE_VERSION"]

log = logging.getLogger(__name__)

STORE_FORMAT = "neurosim-sweep-point"
STORE_VERSION = 1
#: digits of a hex digest kept in keys (96 bits)
KEY_DIGITS = 24


def _canonical(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return obj.item()
    return obj


def digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``obj`` (sorted keys, tuples as lists), first 24 hex digits."""
    text = json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_DIGITS]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (first 24 hex digits)."""
    return sha256_of_file(path)[:KEY_DIGITS]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``<neurosim.__version__>+<digest>``: the version and a digest of every ``.py`` file of the
    :mod:`neurosim` and :mod:`mapper` packages but the command line (a changed source that can
    change a number gives new keys)."""
    h = hashlib.sha256()
    for pkg in (neurosim, mapper):
        root = Path(pkg.__file__).resolve().parent
        for f in sorted(root.rglob("*.py")):
            if f.relative_to(root).parts[0] == "cli":
                continue
            h.update(str(f.relative_to(root.parent)).encode())
            h.update(f.read_bytes())
    return f"{neurosim.__version__}+{h.hexdigest()[:12]}"


class PointStore:
    """The finished points of a sweep, one ``<key>.json`` per point in ``directory``."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> Optional[dict[str, Any]]:
        """The record of ``key``, or ``None`` when absent or unreadable (then it is run again)."""
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("sweep store: ignoring unreadable %s (%s); the point runs again", p, exc)
            return None
        if not isinstance(rec, dict) or rec.get("format") != STORE_FORMAT or rec.get("version") != STORE_VERSION \
                or rec.get("key") != key:
            log.warning("sweep store: ignoring %s (not a point record of this format); the point runs again", p)
            return None
        return rec

    def put(self, record: dict[str, Any]) -> Path:
        """Write ``record`` (with its ``key``) atomically."""
        rec = {"format": STORE_FORMAT, "version": STORE_VERSION, **record}
        return atomic_write_json(self.path(record["key"]), rec)

    def keys(self) -> set[str]:
        """Keys with a file (not checked for readability)."""
        if not self.directory.is_dir():
            return set()
        return {p.stem for p in self.directory.glob("*.json")}

    def clear(self, keys: Optional[Iterable[str]] = None) -> int:
        """Delete the records of ``keys`` (default: every record); return how many were deleted."""
        n = 0
        for key in (self.keys() if keys is None else keys):
            try:
                self.path(key).unlink()
                n += 1
            except FileNotFoundError:
                pass
        return n
