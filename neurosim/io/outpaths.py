"""Up-front checks of every path a command will write, before it does any work.

A command collects its outputs (the files it writes and the directories it creates, each with the
option that named it) and calls :func:`check_outputs` before simulating or mapping anything. Every
problem is a one-line :class:`~neurosim.errors.InputError` (the CLI prints it and exits with code 2):

* an empty path (``--out ""``, typically an unset shell variable), which would otherwise mean the
  current directory, or one with a NUL character (no file has one);
* a path below an existing regular file (``--out afile/sub``): the directory cannot be created;
* two outputs that are the same file (``--nir-out DIR/report.json``), or one below a file another
  output writes: the later write would silently replace the earlier one;
* an output that is one of the command's input files (even with ``--force``);
* an existing file without ``--force``, or an existing directory where a file is to be written.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Collection, Optional, Sequence, Union

from neurosim.errors import InputError, describe

__all__ = ["check_path", "check_outputs"]

PathLike = Union[str, "os.PathLike[str]"]


def check_path(path: PathLike, option: str) -> Path:
    """``path`` as a Path, after checking it is non-empty and not below an existing regular file.

    Parameters
    ----------
    path : str or os.PathLike
        The value of the option.
    option : str
        The option that named it (``--out``), for the message.

    Raises
    ------
    InputError
        ``path`` is empty, or one of its parent directories exists and is not a directory.
    """
    if not str(path).strip():
        raise InputError(describe("option", option, "empty path", got=repr(str(path)),
                                  expected="a file or directory path; is a shell variable unset?"))
    _refuse_nul(path, option)
    p = Path(path)
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(describe("option", option, f"'{parent}' is not a directory", got=str(p),
                                          expected="a path whose parent is a directory"))
            break
    return p


def _refuse_nul(path: PathLike, option: str) -> None:
    """A path with a NUL character names no file (the operating system refuses it)."""
    if "\x00" in str(path):
        raise InputError(describe("option", option, "path contains a NUL character", got=repr(str(path))[:80],
                                  expected="a file or directory path without NUL characters"))


def _key(p: Path) -> str:
    return os.path.normcase(os.path.realpath(p))


def check_outputs(files: Sequence[tuple[str, Optional[PathLike]]], *, force: bool,
                  dirs: Sequence[tuple[str, Optional[PathLike]]] = (), keep: Collection[str] = (),
                  inputs: Sequence[tuple[str, Optional[PathLike]]] = ()) -> None:
    """Check every output of a command at once (see the module docstring).

    Parameters
    ----------
    files : sequence of (option, path)
        Files the command writes; ``option`` names where the path came from (``"--nir-out"``,
        ``"--out (report.json)"``). Entries with ``path=None`` (option not given) are skipped.
    force : bool
        Whether existing files may be replaced.
    dirs : sequence of (option, path)
        Directories the command creates (or writes into).
    keep : collection of str
        Options whose file may exist without ``force`` (a checkpoint that is resumed, then
        rewritten); they still may not coincide with another output.
    inputs : sequence of (option, path)
        Files the command reads; no output may replace one, ``--force`` or not.

    Raises
    ------
    InputError
        The first problem found, naming the option, the path and what was expected.
    """
    files = [(o, check_path(p, o)) for o, p in files if p is not None]
    dirs = [(o, check_path(p, o)) for o, p in dirs if p is not None]
    for option, d in dirs:
        if d.exists() and not d.is_dir():
            raise InputError(describe("option", option, "is not a directory", got=str(d), expected="a directory path"))
    seen: dict[str, str] = {}
    given: dict[str, Path] = {}  # the output path as the user gave it
    for option, f in files:
        k = _key(f)
        if k in seen:
            raise InputError(describe("option", option, f"is the same file as {seen[k]}", got=str(f),
                                      expected="a path no other output of this command uses"))
        seen[k], given[k] = option, f
    for option, d in dirs:
        if _key(d) in seen:
            raise InputError(describe("option", option, f"is the same path as the file {seen[_key(d)]}", got=str(d),
                                      expected="a directory path no other output uses"))
    for in_option, path in inputs:
        if path is not None and str(path).strip():
            _refuse_nul(path, in_option)
            k = _key(Path(path))
            other = seen.get(k)
            if other is not None:
                raise InputError(describe("option", other, f"is the input file {in_option} ('{path}')",
                                          got=str(given[k]), expected="an output path that is not one of the inputs"))
    for option, p in files + dirs:
        for parent in p.parents:
            other = seen.get(_key(parent))
            if other is not None:
                raise InputError(describe("option", option, f"is below the file {other} writes", got=str(p),
                                          expected="a path outside every other output file"))
    for option, f in files:
        if f.is_dir():
            raise InputError(describe("option", option, "is a directory", got=str(f), expected="a file path"))
        if f.exists() and not f.is_file():
            raise InputError(describe("option", option, "is not a regular file (a device, pipe or socket)",
                                      got=str(f), expected="a file path"))
        if f.exists() and not force and option not in keep:
            raise InputError(describe("option", option, "file exists", got=str(f),
                                      expected="a new path, or --force to replace it"))
