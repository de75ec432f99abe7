"""Up-front output checks (neurosim.io.outpaths): one unit test per rule of the module docstring,
with the exact one-line :class:`InputError` wording. (The commands' use of them is tested in
``tests/neurosim/cli/test_output_paths.py``.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from neurosim.errors import InputError
from neurosim.io.outpaths import check_outputs, check_path


@pytest.fixture
def d(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    return tmp_path


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def refused(**kwargs) -> str:
    with pytest.raises(InputError) as err:
        check_outputs(**kwargs)
    assert "\n" not in str(err.value)
    return str(err.value)


# -- check_path ----------------------------------------------------------------------------------
def test_check_path_returns_a_path(d):
    assert check_path(str(d / "new" / "deeper" / "f.json"), "--out") == d / "new" / "deeper" / "f.json"
    assert check_path(d / "afile", "--out") == d / "afile"  # an existing file is checked later, by check_outputs
    assert _names(d) == ["adir", "afile"]  # nothing is created


@pytest.mark.parametrize("path", ["", "  "])
def test_check_path_empty(path):
    with pytest.raises(InputError) as err:
        check_path(path, "--out")
    assert str(err.value) == (f"option '--out': empty path (got {path!r}, "
                              "expected a file or directory path; is a shell variable unset?)")


def test_a_nul_character_is_refused(d):
    """Found by the fuzzer (``--out 'a\\x00'``): os.path.realpath raised "embedded null byte"."""
    with pytest.raises(InputError) as err:
        check_path("out\x00.json", "--out")
    assert str(err.value) == ("option '--out': path contains a NUL character (got 'out\\x00.json', "
                              "expected a file or directory path without NUL characters)")
    msg = refused(files=[("--out", d / "o.npz")], force=False, inputs=[("--dictionary", "D\x00.npy")])
    assert msg.startswith("option '--dictionary': path contains a NUL character")


@pytest.mark.parametrize("below", [("sub",), ("sub", "deeper", "f.json")])
def test_check_path_below_a_regular_file(d, below):
    p = (d / "afile").joinpath(*below)
    with pytest.raises(InputError) as err:
        check_path(p, "--nir-out")
    assert str(err.value) == (f"option '--nir-out': '{d / 'afile'}' is not a directory "
                              f"(got {p}, expected a path whose parent is a directory)")


# -- check_outputs: each rule --------------------------------------------------------------------
def test_nothing_to_complain_about(d):
    check_outputs([("--out", d / "new.npz"), ("--plot", d / "adir" / "p.png"), ("--activity", None)],
                  dirs=[("--map-out", d / "adir"), ("--plots", d / "newdir"), ("--extra", None)], force=False,
                  inputs=[("--dictionary", d / "afile"), ("--inputs", None), ("--x", "")])
    assert _names(d) == ["adir", "afile"]  # a check creates nothing


def test_options_not_given_are_skipped(d, monkeypatch):
    monkeypatch.chdir(d)
    (d / "None").write_text("x")  # were None taken as a path, this file would be in the way
    check_outputs([("--out", None)], dirs=[("--map-out", None)], inputs=[("--dictionary", None)], force=False)


def test_empty_file_or_directory_path(d):
    assert "option '--out': empty path" in refused(files=[("--out", "")], force=True)
    assert "option '--map-out': empty path" in refused(files=[], dirs=[("--map-out", " ")], force=True)


def test_file_below_a_regular_file(d):
    msg = refused(files=[("--out", d / "afile" / "x.npz")], force=True)
    assert msg.startswith(f"option '--out': '{d / 'afile'}' is not a directory")


def test_directory_that_is_an_existing_file(d):
    assert refused(files=[], dirs=[("--map-out", d / "afile")], force=True) == (
        f"option '--map-out': is not a directory (got {d / 'afile'}, expected a directory path)")


def test_two_outputs_that_are_the_same_file(d):
    msg = refused(files=[("--out", d / "r.json"), ("--nir-out", d / "r.json")], force=True)
    assert msg == (f"option '--nir-out': is the same file as --out (got {d / 'r.json'}, "
                   "expected a path no other output of this command uses)")


@pytest.mark.parametrize("spelling", ["adir/../r.json", "./r.json", "adir/./../adir/../r.json"])
def test_the_same_file_under_another_spelling(d, spelling):
    msg = refused(files=[("--out", d / "r.json"), ("--nir-out", f"{d}/{spelling}")], force=True)
    assert "option '--nir-out': is the same file as --out" in msg


def test_a_device_is_refused(d):
    (d / "null").symlink_to("/dev/null")
    msg = refused(files=[("--out", d / "null")], force=True)
    assert msg == (f"option '--out': is not a regular file (a device, pipe or socket) (got {d / 'null'}, "
                   "expected a file path)")


def test_the_same_file_through_a_symbolic_link(d):
    (d / "link").symlink_to(d / "adir")
    msg = refused(files=[("--out", d / "adir" / "r.json"), ("--nir-out", d / "link" / "r.json")], force=True)
    assert "option '--nir-out': is the same file as --out" in msg


def test_a_directory_that_is_an_output_file(d):
    msg = refused(files=[("--out", d / "o")], dirs=[("--map-out", d / "o")], force=True)
    assert msg == (f"option '--map-out': is the same path as the file --out (got {d / 'o'}, "
                   "expected a directory path no other output uses)")


@pytest.mark.parametrize("force", [False, True])
def test_an_output_that_is_an_input_even_with_force(d, force):
    msg = refused(files=[("--out", d / "afile")], inputs=[("--dictionary", d / "afile")], force=force)
    assert msg == (f"option '--out': is the input file --dictionary ('{d / 'afile'}') (got {d / 'afile'}, "
                   "expected an output path that is not one of the inputs)")


def test_an_output_reaching_an_input_through_a_link_names_both_paths(d):
    (d / "alias").symlink_to(d / "afile")
    msg = refused(files=[("--out", d / "afile")], inputs=[("--dictionary", d / "alias")], force=True)
    assert f"is the input file --dictionary ('{d / 'alias'}') (got {d / 'afile'}," in msg


def test_an_output_below_a_file_another_output_writes(d):
    msg = refused(files=[("--out", d / "o"), ("--nir-out", d / "o" / "x.nir")], force=True)
    assert msg == (f"option '--nir-out': is below the file --out writes (got {d / 'o' / 'x.nir'}, "
                   "expected a path outside every other output file)")
    msg = refused(files=[("--out", d / "o")], dirs=[("--plots", d / "o" / "plots")], force=True)
    assert msg.startswith("option '--plots': is below the file --out writes")


def test_a_file_path_that_is_an_existing_directory(d):
    assert refused(files=[("--out", d / "adir")], force=True) == (
        f"option '--out': is a directory (got {d / 'adir'}, expected a file path)")


def test_an_existing_file_needs_force(d):
    assert refused(files=[("--out", d / "afile")], force=False) == (
        f"option '--out': file exists (got {d / 'afile'}, expected a new path, or --force to replace it)")
    check_outputs([("--out", d / "afile")], force=True)
    assert (d / "afile").read_text() == "x"


def test_an_existing_directory_is_fine_without_force(d):
    check_outputs([("--out (report.json)", d / "adir" / "report.json")], dirs=[("--out", d / "adir")], force=False)


def test_keep_lets_a_resumed_file_exist_without_force(d):
    check_outputs([("--checkpoint", d / "afile")], keep={"--checkpoint"}, force=False)
    assert "option '--out': file exists" in refused(files=[("--out", d / "afile")], keep={"--checkpoint"},
                                                    force=False)


def test_a_kept_file_still_may_not_be_another_output(d):
    msg = refused(files=[("--out", d / "afile"), ("--checkpoint", d / "afile")], keep={"--checkpoint"}, force=True)
    assert "option '--checkpoint': is the same file as --out" in msg


def test_the_first_problem_is_reported(d):
    # the empty path is found first, then the same-file collision, then the existing file
    msg = refused(files=[("--out", d / "afile"), ("--plot", d / "afile"), ("--nir-out", "")], force=False)
    assert msg.startswith("option '--nir-out': empty path")
    msg = refused(files=[("--out", d / "afile"), ("--plot", d / "afile")], force=False)
    assert msg.startswith("option '--plot': is the same file as --out")
