"""The one ``.npy`` reader (neurosim.io.arrays.read_npy): what it accepts, and the one-line
:class:`InputError` for every file it refuses, worded ``<what> file '<path>': <problem> (got ..., expected ...)``."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import InputError
from neurosim.io.arrays import read_npy


def _refused(path, what="dictionary") -> str:
    with pytest.raises(InputError) as err:
        read_npy(path, what)
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


# -- accepted ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arr", [
    np.array([[True, False], [False, True]]),
    np.arange(6, dtype=np.int8).reshape(2, 3),
    np.arange(6, dtype=np.uint16),
    np.array([-1, 2, 3], dtype=np.int64),
    np.linspace(-1, 1, 5, dtype=np.float16),
    np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32),
    np.random.default_rng(1).standard_normal((3, 2, 2)),
    np.array(2.5),
    np.zeros((0, 3)),
], ids=["bool", "int8", "uint16", "int64", "float16", "float32", "float64-3d", "0-d", "empty"])
def test_real_numeric_arrays_are_returned_unchanged(tmp_path, arr):
    np.save(tmp_path / "a.npy", arr)
    got = read_npy(tmp_path / "a.npy")
    assert got.dtype == arr.dtype and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)


def test_accepts_a_string_path(tmp_path):
    np.save(tmp_path / "a.npy", np.eye(2))
    np.testing.assert_array_equal(read_npy(str(tmp_path / "a.npy")), np.eye(2))


# -- refused: the file is not there or not a file ------------------------------------------------
def test_missing_file(tmp_path):
    p = tmp_path / "nope.npy"
    assert _refused(p) == f"dictionary file '{p}': not found (expected an existing .npy file)"


def test_default_name_is_array(tmp_path):
    with pytest.raises(InputError, match=r"^array file '.*nope.npy': not found"):
        read_npy(tmp_path / "nope.npy")


def test_directory(tmp_path):
    assert _refused(tmp_path, "inputs") == f"inputs file '{tmp_path}': is a directory (expected a .npy file)"


# -- refused: not a single .npy array ------------------------------------------------------------
@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_npz_archive(tmp_path, save):
    p = tmp_path / "a.npy"  # the name does not matter: the content does
    with open(p, "wb") as fh:
        save(fh, D=np.eye(3))
    assert _refused(p) == (f"dictionary file '{p}': holds several arrays (.npz) "
                           "(expected a single-array .npy file)")


@pytest.mark.parametrize("content", [b"", b"\x93NUM", b"1.0 2.0 3.0\n", b"\x93numpy\x01\x00", b"PNG\r\n"],
                         ids=["empty", "short", "text", "wrong-case-magic", "other-binary"])
def test_no_numpy_header(tmp_path, content):
    p = tmp_path / "a.npy"
    p.write_bytes(content)
    assert _refused(p) == (f"dictionary file '{p}': is not a .npy file (no numpy header) "
                           "(expected a single array written by numpy.save)")


@pytest.mark.parametrize("keep", [8, 20, 200, -8], ids=["magic+version", "part-header", "part-data", "last-bytes"])
def test_truncated_file(tmp_path, keep):
    np.save(tmp_path / "full.npy", np.arange(100.0))
    p = tmp_path / "a.npy"
    p.write_bytes((tmp_path / "full.npy").read_bytes()[:keep])
    msg = _refused(p)
    assert msg.startswith(f"dictionary file '{p}': cannot be read as a numeric array (got ")
    assert msg.endswith("expected a numeric array written by numpy.save)")


# -- refused: not real numbers -------------------------------------------------------------------
@pytest.mark.parametrize("arr, dtype", [
    (np.array([1 + 2j]), "complex128"),
    (np.array(["ab", "c"]), "<U2"),
    (np.array([b"x"]), "|S1"),
    (np.zeros(2, dtype=[("a", "f8")]), "[('a', '<f8')]"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64[D]"),
])
def test_non_real_dtypes(tmp_path, arr, dtype):
    p = tmp_path / "a.npy"
    np.save(p, arr)
    assert _refused(p) == (f"dictionary file '{p}': is not real numeric (got dtype {dtype}, "
                           "expected integer or floating-point values)")


class _Trap:
    """Unpickling this object writes a file: evidence that a pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (_spring, (self.marker,))


def _spring(marker):
    with open(marker, "w") as fh:
        fh.write("unpickled")
    return marker


def test_pickled_object_array_is_refused_without_being_loaded(tmp_path):
    marker = tmp_path / "unpickled"
    p = tmp_path / "obj.npy"
    np.save(p, np.array([_Trap(marker), 1], dtype=object), allow_pickle=True)
    np.load(p, allow_pickle=True)  # control: loading this pickle does leave the marker
    assert marker.exists()
    marker.unlink()
    msg = _refused(p)
    assert not marker.exists()
    assert msg.startswith(f"dictionary file '{p}': cannot be read as a numeric array")


def test_pickled_object_array_message_says_pickled_and_never_mentions_allow_pickle(tmp_path):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{}, 1], dtype=object), allow_pickle=True)
    msg = _refused(p)
    assert "pickled" in msg and "allow_pickle" not in msg
