"""The run record (neurosim.io.runrecord): a directory is complete (record ``"complete"``, every
listed file with its size and SHA-256) or visibly incomplete (record ``"writing"``); which files a
later command may replace; inputs from an incomplete directory are refused."""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys

import pytest

from neurosim.errors import InputError
from neurosim.io.runrecord import (RECORD, RunRecord, check_input_complete, read_record, replaceable,
                                   verify_record)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_record_says_writing_first_then_complete_with_sizes_and_hashes(tmp_path):
    out = tmp_path / "out"
    rec = RunRecord(out, ["a.txt", "b.bin"], command="neurosim test").start()
    first = read_record(out)
    assert first["status"] == "writing" and first["files"] == ["a.txt", "b.bin"]
    assert first["pid"] == os.getpid() and first["command"] == "neurosim test"
    assert verify_record(out) == [f"{RECORD} says the run is incomplete (status 'writing')"]
    (out / "a.txt").write_text("hello")
    (out / "b.bin").write_bytes(b"\x00" * 10)
    rec.complete(["a.txt", "b.bin"])
    data = json.loads((out / RECORD).read_text())
    assert data["status"] == "complete"
    assert data["files"] == [
        {"name": "a.txt", "bytes": 5, "sha256": hashlib.sha256(b"hello").hexdigest()},
        {"name": "b.bin", "bytes": 10, "sha256": hashlib.sha256(b"\x00" * 10).hexdigest()}]
    assert verify_record(out) == []
    (out / "a.txt").write_text("HELLO")  # same size, other bytes
    (out / "b.bin").unlink()
    assert verify_record(out) == ["a.txt: size or SHA-256 differs from the record", "b.bin: missing"]


def test_no_record_and_an_unreadable_record(tmp_path):
    assert read_record(tmp_path) is None and verify_record(tmp_path) == [f"no {RECORD}"]
    (tmp_path / RECORD).write_text('{"status": "compl')  # cut short by hand: unreadable counts as incomplete
    assert read_record(tmp_path)["status"] == "writing"
    assert replaceable(tmp_path) == ({RECORD}, read_record(tmp_path))


@pytest.mark.parametrize("files", [None, "report.json", 7, [{"name": "a"}], [{"name": "../x", "bytes": 1, "sha256": ""}],
                                   [{"name": "/etc/hostname", "bytes": 1, "sha256": ""}], ["a.txt"],
                                   [{"name": "a", "bytes": True, "sha256": ""}]])
def test_a_complete_record_with_a_damaged_file_list_counts_as_unreadable(tmp_path, files):
    # each was an AttributeError / TypeError in verify_record or replaceable, or read a file outside the directory
    (tmp_path / RECORD).write_text(json.dumps({"status": "complete", "files": files}))
    assert read_record(tmp_path) == {"status": "writing", "files": [], "unreadable": True}
    assert verify_record(tmp_path) == [f"{RECORD} cannot be read as a run record"]
    assert replaceable(tmp_path)[0] == {RECORD}
    with pytest.raises(InputError, match=r"holds an interrupted run \(\.neurosim-run\.json cannot be read\)"):
        check_input_complete(tmp_path / "net.npz", "--network")


def test_only_an_interrupted_runs_own_files_are_replaceable(tmp_path):
    rec = RunRecord(tmp_path, ["report.json", "summary.txt"]).start()
    data = read_record(tmp_path)
    data["pid"] = _dead_pid()  # as if its writer had been killed
    (tmp_path / RECORD).write_text(json.dumps(data))
    free, record = replaceable(tmp_path)
    assert free == {"report.json", "summary.txt", RECORD} and record["pid"] == data["pid"]
    rec.complete([])
    assert replaceable(tmp_path) == (set(), None)  # a complete run: nothing without --force


def test_a_directory_another_live_process_is_writing_is_refused(tmp_path):
    RunRecord(tmp_path, ["report.json"]).start()
    data = read_record(tmp_path)
    data.update(pid=os.getppid(), host=socket.gethostname())  # alive, and not this process
    (tmp_path / RECORD).write_text(json.dumps(data))
    with pytest.raises(InputError, match=f"another neurosim process \\(pid {os.getppid()}\\) is writing"):
        replaceable(tmp_path, option="--out")


def test_inputs_from_an_incomplete_run_are_refused(tmp_path):
    rec = RunRecord(tmp_path, ["network.npz"]).start()
    (tmp_path / "network.npz").write_bytes(b"x")
    with pytest.raises(InputError, match="option '--network': '.*' holds an interrupted run"):
        check_input_complete(tmp_path / "network.npz", "--network")
    rec.complete(["network.npz"])
    check_input_complete(tmp_path / "network.npz", "--network")
    check_input_complete(tmp_path / "elsewhere" / "net.npz", "--network")  # no record: a plain file
    check_input_complete(None, "--activity")
