"""Atomic, non-clobbering file output.

Every file neurosim writes goes through :func:`atomic_write`: the content is written to a
temporary file in the destination directory, flushed to disk and renamed over the target in one
step, so a crash never leaves a half-written file and readers never see one.

A process killed mid-write (``SIGKILL``, a power cut) cannot remove its temporary. Temporaries are
named ``.<name>.nsim-<host>-<pid>-<random>.tmp`` (:data:`TEMP_PATTERN`), and the first write of a
process into a directory removes the ones whose writer is gone (same host, that pid no longer
alive; :func:`clean_stale_temporaries`). Nothing else is ever deleted: not a file of another name,
not a temporary of a live process or of another host (a shared file system).
"""
from __future__ import annotations

import io
import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any, Callable, Union

import numpy as np

from neurosim.errors import InputError

__all__ = ['atomic_write', 'atomic_write_bytes', 'atomic_write_text', 'atomic_save_npy', 'atomic_save_npz', 'atomic_write_json', 'check_writable', 'read_error',
           'TEMP_PATTERN', 'clean_stale_temporaries', 'pid_alive']

#: the name of a temporary of :func:`atomic_write`: ``.<target>.nsim-<host>-<pid>-<random>.tmp``
TEMP_PATTERN = re.compile(r"^\..+\.nsim-(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)-[A-Za-z0-9_]+\.tmp$")
_cleaned: set[str] = set()  # directories this process already cleaned



PathLike = Union[str, "os.PathLike[str]"]


def read_error(exc: BaseException, width: int = 100) -> str:
    """One short line about why a file could not be read (numpy's advice to unpickle an object
    array is replaced by a plain statement: neurosim never loads pickles)."""
    text = str(exc).strip()
    if "pickle" in text.lower():
        return "pickled (object) data, which neurosim never loads"
    return text.splitlines()[0][:width] if text else type(exc).__name__


def _check_target(path: PathLike) -> Path:
    """``path`` as a Path, after checking a file can be written there: not empty, not a
    directory, no parent that is a regular file (one-line :class:`InputError` otherwise)."""
    if not str(path).strip():
        raise InputError(f"output {str(path)!r}: empty path (expected a file path)")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"output '{p}': is a directory (expected a file path)")
    if p.exists() and not p.is_file():  # replacing a device or a pipe would destroy it (/dev/null as root)
        raise InputError(f"output '{p}': is not a regular file (got a device, pipe or socket, expected a file path)")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"output '{p}': '{parent}' is not a directory (expected a path whose parent is one)")
            break
    return p


def check_writable(path: PathLike, *, overwrite: bool) -> Path:
    """Return ``path`` as a Path; raise :class:`InputError` if it exists and ``overwrite`` is false
    (or cannot be a file: empty, a directory, below a regular file)."""
    p = _check_target(path)
    if p.exists() and not overwrite:
        raise InputError(f"output '{p}': file exists (got an existing file, expected a new path or --force)")
    return p


def atomic_write(path: PathLike, writer: Callable[[io.BufferedWriter], None]) -> Path:
    """Write a file atomically: ``writer(fh)`` fills a temporary file that replaces ``path``."""
    p = _check_target(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(p.parent)
    if key not in _cleaned:
        clean_stale_temporaries(p.parent)
        _cleaned.add(key)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.nsim-{_host()}-{os.getpid()}-", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return p


def _host() -> str:
    """This machine's name reduced to ``[A-Za-z0-9_]`` (it is part of a temporary's name)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (another user's counts)."""
    if pid <= 0:
        return True  # not a pid we wrote: never treat as gone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def clean_stale_temporaries(directory: PathLike) -> list[Path]:
    """Remove the temporaries of :func:`atomic_write` in ``directory`` whose writer is gone.

    A file is removed only if its name matches :data:`TEMP_PATTERN` with this machine's host name
    and a pid that is not alive (a writer killed before it could rename or remove it). Files of
    other names, of live processes and of other hosts are kept. Errors (a file removed meanwhile,
    no permission) are ignored.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed: list[Path] = []
    host = _host()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = TEMP_PATTERN.match(entry.name)
        if m is None or m["host"] != host or int(m["pid"]) == os.getpid() or pid_alive(int(m["pid"])):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def atomic_save_npy(path: PathLike, array: np.ndarray) -> Path:
    return atomic_write(path, lambda fh: np.save(fh, np.asarray(array), allow_pickle=False))


def atomic_save_npz(path: PathLike, **arrays: np.ndarray) -> Path:
    return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))

