"""Reading arrays without trusting them (neurosim.io.npyformat): headers are parsed and their promises
checked against the file and the memory limit before anything is allocated."""
import io
import zipfile

import numpy as np
import pytest

from neurosim.errors import InputError, ResourceError
from neurosim.guard import ResourceLimits
from neurosim.io.npyformat import SafeNpz, read_npy_file


def npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def with_header(header: str, body: bytes = b"\0" * 64) -> bytes:
    text = header.encode("latin1")
    text += b" " * ((-(10 + len(text) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body


@pytest.mark.parametrize("arr", [np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6).reshape(2, 3)),
                                 np.array("text"), np.zeros((0, 4)), np.array([True, False]), np.float32(3)])
def test_round_trip(tmp_path, arr):
    (tmp_path / "a.npy").write_bytes(npy(arr))
    back = read_npy_file(tmp_path / "a.npy", "array file")
    np.testing.assert_array_equal(back, arr)
    assert back.dtype == arr.dtype and back.shape == arr.shape


@pytest.mark.parametrize("header, match", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,)}", r"unreadable .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,)}", r"promises more data than the file holds"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 4)}", r"invalid array shape"),
    ("{'descr': '|O', 'fortran_order': False, 'shape': (2,)}", r"pickled \(object\) data, which neurosim never loads"),
    ("{'descr': '(2,)<f8', 'fortran_order': False, 'shape': (2,)}", r"unsupported array type"),
    ("{'descr': '<f8', 'fortran_order': 'yes', 'shape': (2,)}", r"invalid fortran_order"),
    ("{'descr': '<f8', 'shape': (2,)}", r"invalid .npy header"),
    ("[1, 2]", r"invalid .npy header"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 200 + ")" * 200 + "}", r"invalid array shape|unread"),
])
def test_lying_headers_are_refused_before_allocating(tmp_path, header, match):
    """Family 5 of issue 16: a .npy whose header promises GiBs was allocated before it was read."""
    (tmp_path / "a.npy").write_bytes(with_header(header))
    with pytest.raises(InputError, match=match) as err:
        read_npy_file(tmp_path / "a.npy", f"array file '{tmp_path / 'a.npy'}'")
    assert "a.npy'" in str(err.value)


def test_arrays_beyond_the_memory_limit_are_refused(tmp_path):
    (tmp_path / "a.npy").write_bytes(npy(np.zeros(1000)))
    with pytest.raises(ResourceError, match=r"needs 7.81 KiB of memory \(an array of shape \(1000,\)"):
        read_npy_file(tmp_path / "a.npy", "array", limits=ResourceLimits(max_memory_bytes=4096))


@pytest.mark.parametrize("data, match", [(b"", "no .npy header"), (b"\x93NUMPY\x09\x00", "unknown .npy format version"),
                                         (npy(np.arange(10))[:-8], "promises more data"),
                                         (npy(np.arange(10))[:12], "truncated .npy header")])
def test_damaged_files(tmp_path, data, match):
    (tmp_path / "a.npy").write_bytes(data)
    with pytest.raises(InputError, match=match):
        read_npy_file(tmp_path / "a.npy", "array")


def test_npz_members_are_checked(tmp_path):
    p = tmp_path / "a.npz"
    np.savez_compressed(p, a=np.arange(1000), b=np.arange(1000))
    with SafeNpz(p, kind="test file", expected="x") as z:
        assert z.files == ["a", "b"] and "a" in z and "c" not in z
        np.testing.assert_array_equal(z["a"], np.arange(1000))
        with pytest.raises(KeyError):
            z["c"]
    with SafeNpz(p, kind="test file", expected="x", limits=ResourceLimits(max_memory_bytes=10000)) as z:
        z["a"]  # 8000 bytes
        with pytest.raises(ResourceError, match=r"test file '.*a.npz', entry 'b'"):
            z["b"]  # the two together exceed the limit


def test_npz_with_a_lying_member_header(tmp_path):
    p = tmp_path / "a.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("a.npy", with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,)}"))
        zf.writestr("b.npy", npy(np.arange(3))[:-4])
    with SafeNpz(p, kind="test file", expected="x") as z:
        with pytest.raises(InputError, match=r"entry 'a': the header promises more data than the file holds"):
            z["a"]
        with pytest.raises(InputError, match=r"entry 'b': the header promises more data"):
            z["b"]


def test_not_an_archive(tmp_path):
    (tmp_path / "a.npz").write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(InputError, match=r"test file '.*a.npz': cannot be read as a .npz archive"):
        SafeNpz(tmp_path / "a.npz", kind="test file", expected="x")
