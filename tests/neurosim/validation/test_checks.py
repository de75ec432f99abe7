"""Shared input checks (neurosim.validation.checks): what each check returns (float64, the expected
shape) and the exact wording of each :class:`NetworkError` (``<kind> '<name>': <what> (got ...,
expected ...)``). The solvers' use of them is tested beside each solver (e.g. ``fista`` in
``tests/neurosim/solvers/test_lasso.py``)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.errors import NetworkError
from neurosim.validation import check_codes, check_dictionary, check_inputs, check_lam


def refused(fn, *args, **kwargs) -> str:
    with pytest.raises(NetworkError) as err:
        fn(*args, **kwargs)
    return str(err.value)


# -- the numeric guard shared by every check -----------------------------------------------------
@pytest.mark.parametrize("value, dtype", [
    (np.array([["a", "b"]]), "<U1"),
    (np.array([[1 + 1j, 2]]), "complex128"),
    (np.array([[None, 1.0]], dtype=object), "object"),
    (np.array([["2020-01-01"]], dtype="datetime64[D]"), "datetime64[D]"),
])
def test_non_real_values(value, dtype):
    assert refused(check_dictionary, value, name="D.npy") == (
        f"dictionary 'D.npy': is not real-valued numeric (got dtype {dtype}, expected integer or floating point values)")


def test_ragged_lists_are_not_arrays():
    assert refused(check_inputs, [[1.0, 2.0], [3.0]], 2) == (
        "inputs 'X': is not an array (got list, expected a numeric array)")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_counted(bad):
    D = np.ones((3, 2))
    D[0, 0] = D[2, 1] = bad
    assert refused(check_dictionary, D) == (
        "dictionary 'D': contains NaN or inf (got 2 non-finite values, expected finite values)")


# -- check_dictionary ----------------------------------------------------------------------------
@pytest.mark.parametrize("D", [np.eye(3, dtype=int), np.eye(3, dtype=bool), np.eye(3, dtype=np.float32),
                               [[1, 0, 0], [0, 1, 0], [0, 0, 1]]])
def test_dictionary_returned_as_float64(D):
    out = check_dictionary(D)
    assert out.dtype == np.float64 and out.shape == (3, 3)
    np.testing.assert_array_equal(out, np.eye(3))


def test_dictionary_is_a_copy_when_converted():
    D = np.eye(2, dtype=np.float32)
    check_dictionary(D)[0, 0] = 5.0
    assert D[0, 0] == 1.0


@pytest.mark.parametrize("shape", [(5,), (0, 3), (3, 0), (2, 2, 2)])
def test_dictionary_must_be_non_empty_2d(shape):
    assert refused(check_dictionary, np.ones(shape)) == (
        f"dictionary 'D': must be a non-empty 2-D array (M, N), atoms in columns (got shape {shape}, expected (M, N))")


def test_zero_atoms_are_named_first_five():
    D = np.ones((4, 9))
    D[:, [1, 2, 4, 5, 7, 8]] = 0.0
    assert refused(check_dictionary, D, name="dict") == (
        "dictionary 'dict': has all-zero atoms (columns) (got [1, 2, 4, 5, 7], expected non-zero columns)")


# -- check_inputs --------------------------------------------------------------------------------
def test_inputs_batch_and_single_vector():
    X, single = check_inputs(np.ones((4, 3), dtype=int), 3)
    assert X.dtype == np.float64 and X.shape == (4, 3) and single is False
    x, single = check_inputs([1, 2, 3], 3)
    assert x.shape == (1, 3) and single is True
    np.testing.assert_array_equal(x, [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("shape", [(4, 2), (2,), (0, 3), (2, 3, 1), ()])
def test_inputs_of_the_wrong_shape(shape):
    assert refused(check_inputs, np.ones(shape), 3, name="X.npy") == (
        f"inputs 'X.npy': must be (batch, M) or (M,) with M the dictionary's row count "
        f"(got shape {(1,) + shape if len(shape) == 1 else shape}, expected (batch, 3) or (3,))")


# -- check_lam -----------------------------------------------------------------------------------
def test_lam_scalar_is_broadcast_to_every_atom():
    lam = check_lam(0.25, 4)
    assert lam.dtype == np.float64 and lam.shape == (4,)
    np.testing.assert_array_equal(lam, [0.25] * 4)
    lam[0] = 9.0  # a writable array of its own, not a read-only broadcast view
    np.testing.assert_array_equal(check_lam(0.25, 4), [0.25] * 4)


def test_lam_per_atom_and_zero():
    np.testing.assert_array_equal(check_lam([0.0, 1, 2], 3), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(check_lam(0, 2), [0.0, 0.0])


@pytest.mark.parametrize("lam, shape", [(np.ones(2), (2,)), (np.ones((3, 1)), (3, 1)), (np.ones(4), (4,))])
def test_lam_of_the_wrong_shape(lam, shape):
    assert refused(check_lam, lam, 3) == (
        f"parameter 'lam': must be a scalar or one value per atom (got shape {shape}, expected () or (3,))")


def test_negative_lam_reports_the_smallest_value():
    assert refused(check_lam, [0.1, -0.5, -0.2], 3, name="lam1") == (
        "parameter 'lam1': must be non-negative (got -0.5, expected >= 0)")


def test_lam_nan_is_refused_as_non_finite():
    assert "contains NaN or inf" in refused(check_lam, np.nan, 3)


# -- check_codes ---------------------------------------------------------------------------------
def test_codes():
    A = check_codes(np.zeros((2, 5), dtype=np.float32), 2, 5)
    assert A.dtype == np.float64 and A.shape == (2, 5)
    assert check_codes(np.zeros(5), 1, 5).shape == (1, 5)


@pytest.mark.parametrize("shape, batch", [((5,), 2), ((2, 4), 2), ((3, 5), 2), ((2, 5, 1), 2)])
def test_codes_of_the_wrong_shape(shape, batch):
    got = (1,) + shape if len(shape) == 1 else shape
    assert refused(check_codes, np.zeros(shape), batch, 5, name="A0") == (
        f"codes 'A0': have the wrong shape (got shape {got}, expected ({batch}, 5))")


# -- properties ----------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(M=st.integers(1, 6), N=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_a_finite_dictionary_without_zero_atoms_passes_unchanged(M, N, seed):
    D = np.random.default_rng(seed).standard_normal((M, N))
    D[0] += 1e-3 * np.sign(D[0]) + (D[0] == 0)  # no zero column
    np.testing.assert_array_equal(check_dictionary(D), D)


def test_a_dictionary_whose_norms_overflow_is_refused():
    """Issue 16: atoms of 1e300 passed the check and overflowed later (inf norms, RuntimeWarning)."""
    with pytest.raises(NetworkError, match=r"dictionary 'D': has atoms too large to represent"):
        check_dictionary(np.full((4, 3), 1e300))
