"""The run record: an output directory is either complete or visibly incomplete.

Every file is written atomically (:mod:`neurosim.io.atomic`), but a command writes several, and a
process killed between two of them (``SIGKILL``, a power cut, an out-of-memory kill) would leave a
directory of new and old or missing files that looks finished. So a command that writes a
directory brackets its writes with a record, :data:`RECORD` (``.neurosim-run.json``):

1. before its first output file, :meth:`RunRecord.start` writes ``{"status": "writing", ...}``
   with the command line, host, pid, start time and the names it is about to write;
2. after its last output file, :meth:`RunRecord.complete` rewrites it as ``{"status":
   "complete", ...}`` listing every file written with its size in bytes and SHA-256. This is the
   last write of the command.

A directory whose record says ``"writing"`` is incomplete (:func:`read_record`,
:func:`verify_record`). A later command into it may replace the files that interrupted run was
writing without ``--force`` (they are known incomplete; :func:`replaceable`), but never other
files, nor those of a complete run. A command that reads a file of a run directory refuses an
incomplete one (:func:`check_input_complete`). While the writer of a record is still alive (same
host, pid alive), another command may not write into the directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from neurosim.errors import InputError, describe
from neurosim.io.atomic import atomic_write_json, clean_stale_temporaries, pid_alive

__all__ = ["RECORD", "RunRecord", "read_record", "replaceable", "verify_record", "check_input_complete",
           "file_digest"]

#: the record's file name in an output directory
RECORD = ".neurosim-run.json"

PathLike = Union[str, "os.PathLike[str]"]


def file_digest(path: PathLike) -> str:
    """SHA-256 of a file's bytes, hexadecimal."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _plain_name(name: Any) -> bool:
    """Whether ``name`` is a plain file name (no directory part, no NUL, not ``.`` or ``..``)."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
            and "\x00" not in name)


def _file_entry(entry: Any) -> bool:
    """Whether ``entry`` is a complete record's file entry: plain ``name``, whole ``bytes`` >= 0, ``sha256`` text."""
    return (isinstance(entry, dict) and _plain_name(entry.get("name")) and type(entry.get("bytes")) is int
            and entry["bytes"] >= 0 and isinstance(entry.get("sha256"), str))


def read_record(directory: PathLike) -> Optional[dict[str, Any]]:
    """The record of ``directory`` (``None`` without one). A record that cannot be read, has no
    ``status``, or whose ``files`` is not the list its status needs (names while writing; entries
    of a plain ``name``, ``bytes`` and ``sha256`` when complete) counts as ``{"status":
    "writing", "files": [], "unreadable": True}``: incomplete, of unknown files."""
    p = Path(directory) / RECORD
    if not p.is_file():
        return None
    unreadable = {"status": "writing", "files": [], "unreadable": True}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return unreadable
    if not isinstance(data, dict) or data.get("status") not in ("writing", "complete"):
        return unreadable
    files = data.get("files", [])
    if not isinstance(files, list) or (data["status"] == "complete" and not all(_file_entry(e) for e in files)):
        return unreadable
    return data


def _writer_alive(record: dict[str, Any]) -> bool:
    """Whether the process that wrote an incomplete record is still running (same host only)."""
    pid = record.get("pid")
    return (record.get("status") == "writing" and record.get("host") == socket.gethostname()
            and isinstance(pid, int) and pid > 0 and pid != os.getpid() and pid_alive(pid))


def replaceable(directory: PathLike, *, option: str = "output") -> tuple[set[str], Optional[dict[str, Any]]]:
    """The file names of ``directory`` a new command may replace without ``--force``, and the
    interrupted run's record (``None`` if the directory holds none).

    The names are those an interrupted run (record ``"writing"``) was writing, plus the record
    itself; a complete run gives none (its record too needs ``--force``).

    Raises
    ------
    InputError
        The record's writer is still running (another command is writing the directory).
    """
    record = read_record(directory)
    if record is None or record["status"] == "complete":
        return set(), None
    if _writer_alive(record):
        raise InputError(describe("option", option, f"another neurosim process (pid {record['pid']}) is writing "
                                  "this directory", got=str(directory),
                                  expected="another directory, or wait until it has finished"))
    names = {n for n in record.get("files", []) if _plain_name(n)}
    return names | {RECORD}, record


def verify_record(directory: PathLike) -> list[str]:
    """Problems of ``directory`` as a complete run (empty list: complete and intact).

    A missing or ``"writing"`` record, a listed file that is missing, or whose size or SHA-256
    differs from the record's, is one problem each.
    """
    d = Path(directory)
    record = read_record(d)
    if record is None:
        return [f"no {RECORD}"]
    if record.get("unreadable"):
        return [f"{RECORD} cannot be read as a run record"]
    if record["status"] != "complete":
        return [f"{RECORD} says the run is incomplete (status {record['status']!r})"]
    problems = []
    for entry in record.get("files", []):  # plain names (read_record): never a file outside ``d``
        f = d / entry["name"]
        if not f.is_file():
            problems.append(f"{entry['name']}: missing")
        elif f.stat().st_size != entry["bytes"] or file_digest(f) != entry["sha256"]:
            problems.append(f"{entry['name']}: size or SHA-256 differs from the record")
    return problems


def check_input_complete(path: Optional[PathLike], option: str) -> None:
    """Refuse an input file that lies in a run directory whose record says incomplete.

    Raises
    ------
    InputError
        ``path``'s directory holds an incomplete run's record (a file of a killed run may be from
        an older run than its neighbours).
    """
    if path is None or not str(path).strip():
        return
    d = Path(path).parent
    record = read_record(d)
    if record is not None and record["status"] != "complete":
        says = "cannot be read" if record.get("unreadable") else f"says {record['status']!r}"
        raise InputError(describe("option", option, f"'{d}' holds an interrupted run ({RECORD} {says})", got=str(path),
                                  expected="the file of a complete run; rerun the command that writes it"))


class RunRecord:
    """The record of one command writing ``directory`` (see the module docstring).

    Parameters
    ----------
    directory : path
        The output directory (created by :meth:`start` if needed).
    names : sequence of str
        The files the command is about to write into ``directory`` (plain names).
    command : str, optional
        The command, for the record (default: this process's ``sys.argv`` joined).
    """

    def __init__(self, directory: PathLike, names: Sequence[str], *, command: Optional[str] = None):
        self.directory = Path(directory)
        self.names = [str(n) for n in names]
        self.command = " ".join(sys.argv) if command is None else command
        self.started = time.time()

    def _base(self) -> dict[str, Any]:
        return {"command": self.command, "host": socket.gethostname(), "pid": os.getpid(),
                "started_unix_s": round(self.started, 3)}

    def start(self) -> "RunRecord":
        """Write the ``"writing"`` record (before any output file), after removing the directory's
        stale temporaries (:func:`~neurosim.io.atomic.clean_stale_temporaries`)."""
        if self.directory.is_dir():
            clean_stale_temporaries(self.directory)
        atomic_write_json(self.directory / RECORD, {"status": "writing", **self._base(), "files": self.names})
        return self

    def complete(self, written: Sequence[str]) -> dict[str, Any]:
        """Write the ``"complete"`` record listing ``written`` (names in the directory) with size and
        SHA-256; return it. Call it after the last output file."""
        files = []
        for name in written:
            f = self.directory / name
            files.append({"name": str(name), "bytes": f.stat().st_size, "sha256": file_digest(f)})
        record = {"status": "complete", **self._base(), "finished_unix_s": round(time.time(), 3), "files": files}
        atomic_write_json(self.directory / RECORD, record)
        return record
