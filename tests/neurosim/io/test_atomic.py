"""Atomic, non-clobbering output (neurosim.io.atomic): a file is complete or absent (or still the
old one), never half written; no temporary is left behind; paths that cannot be a file are refused
with a one-line :class:`InputError`; :func:`check_writable` keeps existing files unless asked."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from neurosim.errors import InputError
from neurosim.io.atomic import (
    atomic_save_npy,
    atomic_save_npz,
    atomic_write,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    check_writable,
    read_error,
)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- complete file or none -----------------------------------------------------------------------
def test_writes_the_bytes_and_returns_the_path(tmp_path):
    p = atomic_write_bytes(tmp_path / "f.bin", b"\x00\x01abc")
    assert p == tmp_path / "f.bin" and isinstance(p, Path)
    assert p.read_bytes() == b"\x00\x01abc"
    assert _names(tmp_path) == ["f.bin"]


def test_text_is_utf8(tmp_path):
    atomic_write_text(str(tmp_path / "t.txt"), "λ = 0.1\n")
    assert (tmp_path / "t.txt").read_bytes() == b"\xce\xbb = 0.1\n"  # U+03BB in UTF-8


def test_creates_missing_parent_directories(tmp_path):
    p = atomic_write_text(tmp_path / "a" / "b" / "c.txt", "x")
    assert p.read_text() == "x"


def test_readers_see_the_old_file_until_the_new_one_is_complete(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    seen = []

    def writer(fh):
        fh.write(b"new, part 1; ")
        seen.append(p.read_text())  # a reader during the write
        fh.write(b"part 2")

    atomic_write(p, writer)
    assert seen == ["old"]
    assert p.read_text() == "new, part 1; part 2"
    assert _names(tmp_path) == ["f.txt"]


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failing_writer_leaves_no_file_and_no_temporary(tmp_path, exc):
    def writer(fh):
        fh.write(b"half")
        raise exc

    with pytest.raises(type(exc)):
        atomic_write(tmp_path / "f.txt", writer)
    assert _names(tmp_path) == []


def test_a_failing_writer_keeps_the_existing_file(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("precious")

    def writer(fh):
        fh.write(b"half")
        raise OSError("no space left")

    with pytest.raises(OSError, match="no space left"):
        atomic_write(p, writer)
    assert p.read_text() == "precious"
    assert _names(tmp_path) == ["f.txt"]


def test_atomic_write_gives_normal_permissions(tmp_path):
    p = atomic_write_text(tmp_path / "f.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~mask)


# -- paths that cannot be a file -----------------------------------------------------------------
@pytest.mark.parametrize("path", ["", "   "])
def test_empty_path_is_refused(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        atomic_write_text(path, "x")
    assert str(err.value) == f"output {path!r}: empty path (expected a file path)"
    assert _names(tmp_path) == []


def test_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError) as err:
        atomic_write_text(tmp_path / "d", "x")
    assert str(err.value) == f"output '{tmp_path / 'd'}': is a directory (expected a file path)"
    assert _names(tmp_path / "d") == []


def test_a_device_or_pipe_is_refused(tmp_path):
    """``--out /dev/null --force`` (a fuzzer's value) replaced the device with a regular file."""
    import os

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "null").symlink_to("/dev/null")
    for target in (tmp_path / "pipe", tmp_path / "null"):
        with pytest.raises(InputError) as err:
            atomic_write_text(target, "x")
        assert str(err.value) == (f"output '{target}': is not a regular file "
                                  "(got a device, pipe or socket, expected a file path)")
    assert (tmp_path / "null").is_symlink() and not (tmp_path / "pipe").is_file()
    assert _names(tmp_path) == ["null", "pipe"]


@pytest.mark.parametrize("below", [("x.txt",), ("sub", "x.txt")])
def test_path_below_a_regular_file_is_refused(tmp_path, below):
    f = tmp_path / "afile"
    f.write_text("keep")
    target = f.joinpath(*below)
    with pytest.raises(InputError) as err:
        atomic_write_text(target, "x")
    assert str(err.value) == f"output '{target}': '{f}' is not a directory (expected a path whose parent is one)"
    assert f.read_text() == "keep" and _names(tmp_path) == ["afile"]


# -- check_writable ------------------------------------------------------------------------------
def test_check_writable_new_path(tmp_path):
    assert check_writable(str(tmp_path / "new.txt"), overwrite=False) == tmp_path / "new.txt"
    assert check_writable(tmp_path / "sub" / "new.txt", overwrite=False) == tmp_path / "sub" / "new.txt"
    assert _names(tmp_path) == []  # checking creates nothing


def test_check_writable_existing_file_needs_overwrite(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(InputError) as err:
        check_writable(p, overwrite=False)
    assert str(err.value) == f"output '{p}': file exists (got an existing file, expected a new path or --force)"
    assert check_writable(p, overwrite=True) == p
    assert p.read_text() == "old"


@pytest.mark.parametrize("overwrite", [False, True])
def test_check_writable_refuses_what_cannot_be_a_file_even_with_overwrite(tmp_path, overwrite):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="is a directory"):
        check_writable(tmp_path, overwrite=overwrite)
    with pytest.raises(InputError, match="is not a directory"):
        check_writable(tmp_path / "afile" / "x", overwrite=overwrite)
    with pytest.raises(InputError, match="empty path"):
        check_writable("", overwrite=overwrite)


# -- the typed writers ---------------------------------------------------------------------------
def test_json_converts_numpy_scalars_arrays_and_paths(tmp_path):
    obj = {"i": np.int64(3), "f": np.float32(0.5), "a": np.arange(3), "p": Path("x") / "y", "n": None}
    p = atomic_write_json(tmp_path / "r.json", obj)
    text = p.read_text()
    assert text.endswith("}\n")
    assert json.loads(text) == {"i": 3, "f": 0.5, "a": [0, 1, 2], "p": str(Path("x") / "y"), "n": None}
    assert list(json.loads(text)) == ["i", "f", "a", "p", "n"]  # key order kept


def test_json_of_an_unknown_type_fails_and_writes_nothing(tmp_path):
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        atomic_write_json(tmp_path / "r.json", {"x": object()})
    assert _names(tmp_path) == []


def test_npy_round_trip_and_no_pickles(tmp_path):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(np.load(atomic_save_npy(tmp_path / "a.npy", a)), a)
    with pytest.raises(ValueError):
        atomic_save_npy(tmp_path / "o.npy", np.array([{}, 1], dtype=object))
    assert _names(tmp_path) == ["a.npy"]


def test_npz_round_trip(tmp_path):
    with np.load(atomic_save_npz(tmp_path / "a.npz", x=np.eye(2), y=np.arange(3))) as f:
        assert sorted(f.files) == ["x", "y"]
        np.testing.assert_array_equal(f["x"], np.eye(2))
        np.testing.assert_array_equal(f["y"], np.arange(3))


# -- read_error ----------------------------------------------------------------------------------
def test_read_error_replaces_numpy_pickle_advice():
    exc = ValueError("Object arrays cannot be loaded when allow_pickle=False")
    assert read_error(exc) == "pickled (object) data, which neurosim never loads"


def test_read_error_is_the_first_line_cut_to_width():
    assert read_error(OSError("first line\nsecond line")) == "first line"
    assert read_error(ValueError("x" * 300)) == "x" * 100
    assert read_error(ValueError("abcdef"), width=3) == "abc"


def test_read_error_of_an_empty_message_is_the_exception_type():
    assert read_error(EOFError()) == "EOFError"
    assert read_error(ValueError("   ")) == "ValueError"


# -- stale temporaries ---------------------------------------------------------------------------
def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporary_names_carry_host_and_pid(tmp_path):
    from neurosim.io.atomic import TEMP_PATTERN, _host

    seen = []
    atomic_write(tmp_path / "f.bin", lambda fh: seen.extend(p.name for p in tmp_path.iterdir()))
    assert len(seen) == 1
    m = TEMP_PATTERN.match(seen[0])
    assert m is not None and seen[0].startswith(".f.bin.nsim-")
    assert m["host"] == _host() and int(m["pid"]) == os.getpid()


def test_stale_temporaries_of_dead_writers_are_removed_and_nothing_else(tmp_path):
    from neurosim.io.atomic import _host, clean_stale_temporaries

    host, dead, live = _host(), _dead_pid(), os.getppid()
    stale = [f".report.json.nsim-{host}-{dead}-abc123_x.tmp", f".codes.npy.nsim-{host}-{dead}-zz.tmp"]
    kept = [f".report.json.nsim-{host}-{live}-abc.tmp",      # its writer is alive
            f".report.json.nsim-otherhost-{dead}-abc.tmp",   # another machine's (shared file system)
            f"report.json.nsim-{host}-{dead}-abc.tmp",       # not hidden: not ours
            f".report.json.nsim-{host}-{dead}-abc.tmp.bak",  # another suffix
            ".report.json.abcdefgh.tmp", "notes.tmp", "report.json"]
    for name in stale + kept:
        (tmp_path / name).write_text("x")
    (tmp_path / f".d.nsim-{host}-{dead}-dir.tmp").mkdir()  # a directory of that name is not ours either
    removed = clean_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(stale)
    assert _names(tmp_path) == sorted(kept + [f".d.nsim-{host}-{dead}-dir.tmp"])


def test_the_first_write_into_a_directory_cleans_it(tmp_path):
    from neurosim.io.atomic import _host

    d = tmp_path / "fresh"  # a directory this process has not written into yet
    d.mkdir()
    (d / f".a.npy.nsim-{_host()}-{_dead_pid()}-q1.tmp").write_text("half")
    (d / "user.txt").write_text("mine")
    atomic_write_text(d / "b.txt", "new")
    assert _names(d) == ["b.txt", "user.txt"]
