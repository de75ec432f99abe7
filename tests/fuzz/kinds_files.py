"""The fuzzer's kinds for files neurosim writes and later reads back: PUDLE checkpoints and run records.

* ``pudle-checkpoint``: the ``.npz`` a tiny real ``neurosim pudle --checkpoint`` wrote (two runs:
  Adam with ``g_ae-ls``, the plain step of ``g_noodl``), damaged like ``learn``'s checkpoint, then
  resumed (``neurosim pudle --checkpoint MUTANT --resume``, sometimes with the other run's
  settings: the file is refused).
* ``run-record``: the ``.neurosim-run.json`` a tiny real ``neurosim map`` wrote (``"complete"``),
  and the ``"writing"`` record of an interrupted one, damaged as JSON trees or text and nudged in
  the fields the readers use (status, host, pid, the file list). The directory holding the mutant
  also holds that run's outputs, the user's own files and a network file that is read as input;
  every reader of records runs on it (:func:`~neurosim.io.runrecord.read_record`,
  ``verify_record``, ``replaceable``, ``check_input_complete``, ``interrupted_note``,
  :func:`~neurosim.app.outputs.check_out_dir` with and without ``force``) and then, for some
  mutants, a real ``neurosim map`` writes into the directory. Besides accepting or refusing with
  the house error, the user's files in and beside the directory must survive byte for byte, and a
  map that succeeded must leave a complete, intact record.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import socket
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PUDLE_ARGS", "pudle_base", "pudle_mutant", "read_pudle", "record_base", "record_mutant", "read_record_kind"]

PUDLE_ARGS = ["pudle", "--data", "planted", "--n", "24", "--T", "3", "--atoms", "6", "--epochs", "2", "--batch-size",
              "8", "--no-progress", "--max-duration", "20"]
PUDLE_RUNS = {"adam": ["--estimator", "g_ae-ls"], "noodl": ["--estimator", "g_noodl", "--lr", "0.5"]}


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _quiet_main(argv: list[str]) -> tuple[int, str]:
    from neurosim.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


# -- PUDLE checkpoints ---------------------------------------------------------------------------------
def pudle_base(work: Path) -> dict:
    from tests.fuzz.kinds import _npz_arrays

    files, raw = {}, {}
    for run, opts in PUDLE_RUNS.items():
        ck = work / f"ck-{run}.npz"
        code, err = _quiet_main(PUDLE_ARGS + opts + ["--out", work / f"d-{run}.npz", "--checkpoint", ck,
                                                     "--stop-after", "3", "--force"])
        if code != 0:
            raise RuntimeError(f"the base PUDLE run failed: {err}")
        files[run], raw[run] = _npz_arrays(ck), ck.read_bytes()
    return {"files": files, "raw": raw, "work": work}


def pudle_mutant(rng: np.random.Generator, base: dict) -> bytes:
    """A damaged checkpoint of either run; it is resumed with its own run's settings, or (one in six)
    with the other's (the file must then be refused)."""
    from tests.fuzz.kinds import _npz_mutant

    data = _npz_mutant(rng, base)
    base["resume_as"] = _pick(rng, sorted(PUDLE_RUNS)) if rng.random() < 1 / 3 else None
    return data


def read_pudle(path: Path, base: dict) -> Any:
    from tests.fuzz.kinds import _cli_outcome

    run = base.get("resume_as") or base.get("current") or "adam"
    code, err = _quiet_main(PUDLE_ARGS + PUDLE_RUNS[run] + ["--out", base["work"] / "resumed.npz", "--checkpoint",
                                                            path, "--resume", "--force"])
    return _cli_outcome(code, err)


# -- run records --------------------------------------------------------------------------------------
#: the user's own files in the run directory (and one beside it): no reader or writer may touch them
USER_FILES = {"user.txt": b"my notes\n", "data.npz": None, "sub/keep.txt": b"keep me\n"}
MAP_ARGS = ["--chip", "tiny", "--partitioner", "sequential", "--placer", "hilbert", "--assumed-rate", "0.1",
            "--no-progress"]


def record_base(work: Path) -> dict:
    from neurosim.app.outputs import MAP_OUTPUTS
    from neurosim.io.runrecord import RECORD, RunRecord
    from tests.helpers import save_tiny_files

    save_tiny_files(work)
    run = work / "run"
    code, err = _quiet_main(["map", "--network", work / "net.npz", "--out", run, "--force"] + MAP_ARGS)
    if code != 0:
        raise RuntimeError(f"the base map failed: {err}")
    outputs = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != RECORD}
    texts = {"complete": (run / RECORD).read_bytes()}
    RunRecord(work / "w", MAP_OUTPUTS, command="neurosim map --out w").start()
    texts["writing"] = (work / "w" / RECORD).read_bytes()
    return {"texts": texts, "outputs": outputs, "network": (work / "net.npz").read_bytes(), "map": False}


def _record_choices() -> dict[str, tuple]:
    """Values the nudged records choose from, per field (this process's pid and its parent's, alive)."""
    return {"status": ("writing", "complete", "done", None, 1, ["complete"]),
            "host": (socket.gethostname(), "elsewhere", None, 7, ""),
            "pid": (os.getpid(), os.getppid(), 1, 0, -1, 2**31, 2**70, 10**400, 99999999, None, "12", 1.5, True),
            "command": ("neurosim map", None, 3, ["a"], "\x00\udc80"),
            "files": ([], None, "report.json", {"name": "x"}, ["user.txt", "data.npz", "sub", "sub/keep.txt", "..",
                                                               "../outside.txt", "/etc/hostname", "report.json"],
                      [3, None, [], {}], list(range(5)))}


_NAMES = ("report.json", "user.txt", "data.npz", "sub", "sub/keep.txt", "../outside.txt", "/etc/hostname", "..",
          ".", "", ".neurosim-run.json", "summary.txt\x00", "nope.png", 7, None, ["report.json"])
_ENTRY_VALUES = ("name", "bytes", "sha256")


def _nudge_record(rng: np.random.Generator, tree: Any) -> Any:
    """One targeted change to a record's fields (status, host, pid, command, the file list)."""
    if not isinstance(tree, dict):
        return tree
    choices = _record_choices()
    field = _pick(rng, sorted(choices) + ["entry", "entry"])
    if field != "entry":
        if rng.random() < 0.1:
            tree.pop(field, None)
        else:
            tree[field] = _pick(rng, choices[field])
        return tree
    files = tree.get("files")
    if not isinstance(files, list):
        return tree
    i = int(rng.integers(len(files) + 1))
    if tree.get("status") == "writing" or rng.random() < 0.3:  # a plain name, or the other form of entry
        new = _pick(rng, _NAMES) if rng.random() < 0.7 else {"name": _pick(rng, _NAMES), "bytes": 3,
                                                               "sha256": "0" * 64}
    else:
        new = dict(files[i]) if i < len(files) and isinstance(files[i], dict) else {"name": "report.json"}
        key = _pick(rng, _ENTRY_VALUES)
        new[key] = _pick(rng, {"name": _NAMES, "bytes": (0, -1, 2**70, 1.5, None, "3", True, 10**400),
                               "sha256": ("", "0" * 64, None, 5, "zz", ["a"])}[key])
    if i < len(files) and rng.random() < 0.7:
        files[i] = new
    else:
        files.append(new)
    return tree


def record_mutant(rng: np.random.Generator, base: dict) -> bytes:
    from tests.fuzz.mutate import mutate_text, mutate_tree

    name = _pick(rng, sorted(base["texts"]))
    base["current"] = name
    base["map"] = rng.random() < 0.35
    base["force"] = rng.random() < 0.5
    text = base["texts"][name]
    r = rng.random()
    if r < 0.2:
        return mutate_text(rng, text, yaml_text=False)
    tree = json.loads(text)
    for _ in range(int(rng.integers(1, 4))):
        tree = _nudge_record(rng, tree) if r < 0.75 else mutate_tree(rng, tree)
    return json.dumps(tree, allow_nan=True).encode("utf-8", "surrogatepass")


def _user_files(d: Path, base: dict) -> dict[Path, bytes]:
    """Write the run's outputs and the user's files into ``d`` (and one beside it); return the user's."""
    for name, data in base["outputs"].items():
        (d / name).write_bytes(data)
    mine = {}
    for name, data in USER_FILES.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(base["network"] if data is None else data)
        mine[p] = p.read_bytes()
    outside = d.parent / "outside.txt"
    outside.write_bytes(b"not yours\n")
    mine[outside] = outside.read_bytes()
    return mine


def _owned(text: bytes) -> set[str]:
    """The names a record lets a new command replace without ``--force``, worked out independently of
    :mod:`neurosim.io.runrecord`: the plain names listed by a readable ``"writing"`` record."""
    try:
        rec = json.loads(text.decode("utf-8"))
    except (ValueError, RecursionError):
        return set()
    if not isinstance(rec, dict) or rec.get("status") != "writing" or not isinstance(rec.get("files"), list):
        return set()
    return {n for n in rec["files"] if isinstance(n, str) and n and "/" not in n and n not in (".", "..")}


class Trespass(AssertionError):
    """A reader or writer of run records changed a file the record does not own (a crash, not a refusal)."""


def read_record_kind(path: Path, base: dict) -> Any:
    """Every reader of run records on the mutant's directory, then (some mutants) a real map into it."""
    from neurosim.app.outputs import MAP_OUTPUTS, check_out_dir, interrupted_note
    from neurosim.errors import NeurosimError
    from neurosim.io.runrecord import check_input_complete, read_record, replaceable, verify_record
    from tests.fuzz.kinds import _cli_outcome

    d = path.parent
    base["mutant"] = path.read_bytes()
    mine = _user_files(d, base)
    force = bool(base.get("force"))
    steps = [lambda: read_record(d), lambda: interrupted_note(d), lambda: replaceable(d, option="--out"),
             lambda: check_input_complete(d / "data.npz", "--network"),
             lambda: check_out_dir(d, MAP_OUTPUTS, force=not force, option="--out")]
    for step in steps:  # refusals here are the readers' business; only another exception is a failure
        try:
            step()
        except NeurosimError:
            pass
    refused: list[NeurosimError] = []
    try:  # the outcome: whether a command may write its outputs into the directory
        check_out_dir(d, MAP_OUTPUTS, force=force, option="--out")
    except NeurosimError as exc:
        refused.append(exc)
    problems = verify_record(d)
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        raise TypeError(f"verify_record returned {problems!r}")
    ran = False
    if base.get("map"):
        code, err = _quiet_main(["map", "--network", d / "data.npz", "--out", d] + MAP_ARGS
                                + (["--force"] if force else []))
        try:
            _cli_outcome(code, err)
            ran = True
            if verify_record(d):
                raise Trespass(f"map succeeded but left an incomplete record: {verify_record(d)}")
        except NeurosimError as exc:
            refused.append(exc)
    for p, data in mine.items():
        if not p.is_file() or p.read_bytes() != data:
            raise Trespass(f"the user's file {p.name} was {'changed' if p.is_file() else 'removed'}")
    if ran and not force:  # without --force only the files an interrupted run listed may be replaced
        stolen = sorted(set(base["outputs"]) - _owned(base["mutant"]))
        if stolen:
            raise Trespass(f"map replaced {stolen} of an earlier run without --force")
    for name, data in base["outputs"].items():  # readers and a refused command change nothing
        if not ran and (not (d / name).is_file() or (d / name).read_bytes() != data):
            raise Trespass(f"{name} changed although no command wrote the directory")
    if refused:
        raise refused[0]
    return problems
