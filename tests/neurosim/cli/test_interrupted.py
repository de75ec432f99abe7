"""Interrupted runs are visible (issue 16): a command killed while it writes its output directory
leaves it complete or marked incomplete by its run record (neurosim.io.runrecord), never a
directory that looks finished; a rerun replaces the interrupted run's files without ``--force``,
cleans the dead writer's temporaries and completes; a complete run's files, and files the run did
not write, still need ``--force`` or are never touched; inputs from an incomplete run are refused.

The kill-during-write test starts the real CLI (``python -m neurosim map``, a 13-neuron network
on the ``tiny`` chip) and SIGKILLs it when its first output file appears; a wider variant killing
it at the appearance of each file and each temporary of the write phase is marked slow.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from neurosim.cli import main
from neurosim.io.atomic import TEMP_PATTERN
from neurosim.io.runrecord import RECORD, RunRecord, read_record, verify_record
from tests.helpers import ROOT, save_tiny_files

#: the map command's files in its output directory (with --sanafe)
MAP_FILES = ("report.json", "placement.json", "summary.txt", "core_utilisation.png", "link_traffic.png",
             "sanafe_network.yaml", "sanafe_arch.yaml")


@pytest.fixture
def files(tmp_path):
    return save_tiny_files(tmp_path)


def _argv(files, out, *extra):
    return ["map", "--network", str(files / "net.npz"), "--activity", str(files / "act.npz"), "--chip", "tiny",
            "--out", str(out), "--partitioner", "sequential", "--placer", "identity", "--sanafe", "--no-progress",
            *extra]


def _kill_while_writing(files, out, trigger: str) -> str:
    """Run the CLI in a subprocess and SIGKILL it as soon as a file named ``trigger`` appears in
    ``out`` (``".name."``: a temporary of ``name``); return the record's status then
    (``"complete"`` if the command had already finished)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "neurosim", *_argv(files, out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None:
            names = os.listdir(out) if out.is_dir() else []
            if any(n == trigger or (trigger.startswith(".") and n.startswith(trigger)) for n in names):
                proc.send_signal(signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the command never wrote " + trigger
            time.sleep(0.0005)
    finally:
        proc.wait()
        err = proc.stderr.read().decode()
        proc.stderr.close()
    assert proc.returncode in (0, -signal.SIGKILL), err
    return _check_invariant(out)


def _check_invariant(out) -> str:
    """The directory is complete (every listed file present with its size and SHA-256) or its
    record says it is incomplete; output files never exist without a record."""
    record = read_record(out)
    names = {p.name for p in out.iterdir() if not TEMP_PATTERN.match(p.name)}
    assert record is not None or not (names & set(MAP_FILES)), f"outputs without a run record: {sorted(names)}"
    if record["status"] == "complete":
        assert verify_record(out) == []
        assert sorted(f["name"] for f in record["files"]) == sorted(MAP_FILES)
    else:
        assert record["status"] == "writing" and sorted(record["files"]) == sorted(MAP_FILES)
    return record["status"]


def _rerun_completes(files, out, capsys, status, *, others=()):
    """A rerun without --force completes, says so if the run was interrupted, leaves no temporaries
    (and the ``others``, files that were there before, untouched)."""
    capsys.readouterr()
    rc = main(_argv(files, out))
    err = capsys.readouterr().err
    if status == "complete":  # the kill came too late: a complete run is kept without --force
        assert rc == 2 and "file exists" in err
        return
    assert rc == 0, err
    assert f"'{out}' holds the files of an interrupted run ('neurosim map" in err
    assert verify_record(out) == [] and read_record(out)["status"] == "complete"
    assert sorted(p.name for p in out.iterdir()) == sorted(MAP_FILES + (RECORD,) + tuple(others))  # no temporaries


def test_kill_during_write_leaves_a_marked_directory_and_a_rerun_completes(files, capsys):
    out = files / "out"
    (files / "out").mkdir()
    (out / "my-notes.txt").write_text("mine")  # a user's file: never touched, never blocks the rerun
    status = _kill_while_writing(files, out, "core_utilisation.png")  # the first output file
    _rerun_completes(files, out, capsys, status, others=["my-notes.txt"])
    assert (out / "my-notes.txt").read_text() == "mine"


@pytest.mark.slow
@pytest.mark.parametrize("trigger", [RECORD] + [f".{n}." for n in MAP_FILES] + list(MAP_FILES[1:]))
def test_kill_at_every_file_of_the_write_phase(files, capsys, trigger):
    """Killed as soon as each file, or its temporary, appears (a temporary lives for milliseconds,
    so some kills land a little later); a temporary left behind is removed by the rerun."""
    out = files / "out"
    status = _kill_while_writing(files, out, trigger)
    _rerun_completes(files, out, capsys, status)


def _interrupt(out, files, names=MAP_FILES):
    """Make ``out`` look like the directory of a killed ``neurosim map``: its record back to
    ``"writing"`` with the pid of a process that is gone, and a stale temporary beside it."""
    from neurosim.io.atomic import _host

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record = read_record(out)
    record.update(status="writing", pid=dead.pid, files=list(names))
    (out / RECORD).write_text(json.dumps(record))
    (out / f".report.json.nsim-{_host()}-{dead.pid}-xy.tmp").write_text("half")


def test_a_complete_run_needs_force_and_an_interrupted_one_does_not(files, capsys):
    out = files / "out"
    assert main(_argv(files, out)) == 0
    first = read_record(out)
    assert first["status"] == "complete" and first["command"].startswith("neurosim map --network ")
    assert main(_argv(files, out)) == 2
    assert "'--out (report.json)': file exists" in capsys.readouterr().err
    _interrupt(out, files, names=["something_else.npy"])  # an interrupted command that wrote other files
    assert main(_argv(files, out)) == 2
    assert "'--out (report.json)': file exists" in capsys.readouterr().err
    _interrupt(out, files)
    assert main(_argv(files, out)) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds the files of an interrupted run" in err
    assert verify_record(out) == [] and not [p for p in out.iterdir() if TEMP_PATTERN.match(p.name)]


def test_map_refuses_a_network_from_an_interrupted_run(files, capsys):
    run_dir = files / "run"
    RunRecord(run_dir, ["net.npz"]).start()  # a run killed after writing its network
    (run_dir / "net.npz").write_bytes((files / "net.npz").read_bytes())
    rc = main(["map", "--network", str(run_dir / "net.npz"), "--chip", "tiny", "--out", str(files / "o2")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "option '--network'" in err and "holds an interrupted run" in err
    assert not (files / "o2").exists()
