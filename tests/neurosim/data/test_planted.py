"""Planted problems and their recovery metrics (neurosim.data.planted): every generator's stated
construction (sparsity, magnitudes, signs, unit atoms, ``X = Z D^T``), seeding, argument errors,
and the metrics against hand values."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.data.planted import (
    best_cosines,
    channel_merge,
    channel_split,
    init_dictionary,
    make_planted,
    make_planted_dsc,
    normalize_columns,
    planted_nonneg,
    recovery,
    test_objective,
    unit_atoms,
)
from neurosim.errors import InputError, NetworkError
from neurosim.estimators.pudle import relative_error
from neurosim.solvers.lasso import fista, lasso_objective


# -- planted_nonneg (Lin & Tang) -----------------------------------------------------------------
def test_planted_data_properties():
    pl = planted_nonneg(20, 30, 500, seed=0, k=(3, 5))
    nnz = (pl.Z > 0).sum(axis=1)
    assert nnz.min() == 3 and nnz.max() == 5
    assert pl.D.min() >= 0 and pl.X.min() >= 0
    np.testing.assert_allclose(np.linalg.norm(pl.D, axis=0), 1.0)
    np.testing.assert_allclose(pl.X, pl.Z @ pl.D.T)
    assert pl.Z[pl.Z > 0].min() >= 1.0 and pl.Z.max() <= 2.0
    again = planted_nonneg(20, 30, 500, seed=0, k=(3, 5))
    np.testing.assert_array_equal(again.X, pl.X)


def test_planted_nonneg_seeds_differ():
    a, b = planted_nonneg(8, 10, 20, seed=0), planted_nonneg(8, 10, 20, seed=1)
    assert not np.array_equal(a.D, b.D) and not np.array_equal(a.X, b.X)


def test_every_atom_has_at_least_two_non_zeros_even_at_low_density():
    pl = planted_nonneg(30, 40, 5, density=0.01, seed=2)
    assert (pl.D > 0).sum(axis=0).min() >= 2
    np.testing.assert_allclose(np.linalg.norm(pl.D, axis=0), 1.0)


def test_full_density_atoms_are_dense_with_entries_in_range_before_scaling():
    pl = planted_nonneg(6, 4, 3, k=(1, 2), density=1.0, seed=3)
    assert np.all(pl.D > 0)
    # entries U[0.1, 1] then the column scaled to unit norm: ratios inside a column stay within 10x
    ratio = pl.D.max(axis=0) / pl.D.min(axis=0)
    assert np.all(ratio <= 10.0)


def test_a_fixed_k_and_amplitude():
    pl = planted_nonneg(10, 12, 50, k=(2, 2), amplitude=(1.5, 1.5), seed=4)
    assert np.all((pl.Z > 0).sum(axis=1) == 2)
    np.testing.assert_array_equal(pl.Z[pl.Z > 0], 1.5)


def test_a_given_dictionary_is_used_as_is():
    D = unit_atoms(np.random.default_rng(0).random((6, 9)))
    pl = planted_nonneg(6, 9, 40, D=D, seed=5)
    np.testing.assert_array_equal(pl.D, D)
    np.testing.assert_allclose(pl.X, pl.Z @ D.T)


def test_noise_is_added_then_clipped_at_zero():
    clean = planted_nonneg(10, 12, 2000, seed=6)
    noisy = planted_nonneg(10, 12, 2000, noise=0.5, seed=6)
    np.testing.assert_array_equal(noisy.Z, clean.Z)
    assert noisy.X.min() == 0.0
    assert np.any((noisy.X == 0) & (clean.X > 0))  # pushed below zero, then clipped
    far = clean.X > 2.5  # 5 sigma from zero: clipping never happens there
    assert np.std(noisy.X[far] - clean.X[far]) == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"M": 0}, r"parameter 'M': must be a positive integer \(got 0, expected >= 1\)"),
    ({"n": True}, r"parameter 'n': must be a positive integer \(got True"),
    ({"N": 2.0}, r"parameter 'N': must be a positive integer"),
    ({"k": (0, 2)}, r"parameter 'k': must be a range within \[1, N\] \(got \(0, 2\), expected 1 <= lo <= hi <= 8\)"),
    ({"k": (3, 2)}, r"parameter 'k': must be a range within \[1, N\]"),
    ({"k": (1, 9)}, r"parameter 'k': must be a range within \[1, N\]"),
    ({"density": 0.0}, r"parameter 'density': must lie in \(0, 1\] \(got 0.0\)"),
    ({"density": 1.5}, r"parameter 'density': must lie in \(0, 1\]"),
    ({"D": np.ones((3, 8))}, r"parameter 'D': wrong shape \(got \(3, 8\), expected \(4, 8\)\)"),
    ({"D": -np.ones((4, 8))}, r"parameter 'D': must be non-negative and finite \(got 32 negative"),
])
def test_planted_nonneg_argument_errors(kwargs, match):
    args = {"M": 4, "N": 8, "n": 5}
    args.update(kwargs)
    with pytest.raises(NetworkError, match=match):
        planted_nonneg(**args)


def test_a_negative_dictionary_is_reported_as_negative():
    with pytest.raises(NetworkError) as err:
        planted_nonneg(4, 8, 5, D=-np.ones((4, 8)))
    assert "got (4, 8), expected (4, 8)" not in str(err.value)


# -- channels ------------------------------------------------------------------------------------
def test_channel_split_roundtrip():
    X = np.array([[1.0, -2.0, 0.0]])
    S = channel_split(X)
    np.testing.assert_array_equal(S, [[1.0, 0.0, 0.0, 0.0, 2.0, 0.0]])
    np.testing.assert_array_equal(channel_merge(S.T).T, X)


def test_channel_split_is_non_negative_and_merge_undoes_it_for_atoms():
    D = np.random.default_rng(7).standard_normal((5, 4))
    S = channel_split(D.T).T  # atoms (2M, N)
    assert S.shape == (10, 4) and S.min() >= 0
    np.testing.assert_array_equal(channel_merge(S), D)


def test_channel_merge_needs_an_even_number_of_rows():
    with pytest.raises(NetworkError, match=r"parameter 'D': needs an even number of rows \(two channels\) "
                                           r"\(got \(3, 2\)\)"):
        channel_merge(np.ones((3, 2)))


# -- metrics -------------------------------------------------------------------------------------
def test_recovery_metric():
    rng = np.random.default_rng(0)
    D = unit_atoms(rng.random((10, 6)))
    perm = D[:, ::-1] * 3.0  # permuted and rescaled atoms are recovered
    assert recovery(D, perm) == 1.0
    noisy = D.copy()
    noisy[:, :3] = unit_atoms(rng.random((10, 3)))
    assert recovery(D, noisy, threshold=0.999) == pytest.approx(0.5, abs=1 / 6)
    assert np.all(best_cosines(D, perm) == pytest.approx(1.0))


def test_best_cosines_by_hand():
    D_true = np.array([[1.0, 0.0], [0.0, 1.0]])
    D = np.array([[np.cos(0.3), 0.0, -1.0], [np.sin(0.3), 0.0, 0.0]])  # a tilted atom, a zero atom, -e1
    # e1: max(|cos 0.3|, 0, |-1|) = 1; e2: max(sin 0.3, 0, 0)
    np.testing.assert_allclose(best_cosines(D_true, D), [1.0, np.sin(0.3)])
    # signs do not matter; the threshold is strict
    assert recovery(D_true, D, threshold=0.99) == 0.5
    assert recovery(D_true, np.eye(2), threshold=1.0) == 0.0


def test_unit_atoms_and_normalize_columns_leave_zero_columns_at_zero():
    D = np.array([[3.0, 0.0, 1.0], [4.0, 0.0, -1.0]])
    want = np.array([[0.6, 0.0, 1 / np.sqrt(2)], [0.8, 0.0, -1 / np.sqrt(2)]])
    for f in (unit_atoms, normalize_columns):
        got = f(D)
        np.testing.assert_allclose(got, want)
        assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(D, [[3.0, 0.0, 1.0], [4.0, 0.0, -1.0]])  # inputs untouched


def test_test_objective_matches_direct_lasso():
    pl = planted_nonneg(12, 16, 30, seed=12)
    D = 2.0 * pl.D  # scored with unit-norm atoms
    A = fista(pl.D, pl.X, 0.2, nonneg=True, tol=1e-10)
    direct = float(np.mean(lasso_objective(pl.D, pl.X, A, 0.2, nonneg=True)))
    assert test_objective(D, pl.X, 0.2, tol=1e-10) == pytest.approx(direct, rel=1e-8)


def test_test_objective_of_an_empty_dictionary_is_half_the_mean_energy():
    X = np.array([[3.0, 4.0], [1.0, 0.0]])
    assert test_objective(np.zeros((2, 3)), X, 0.1) == pytest.approx(0.5 * (25.0 + 1.0) / 2)


def test_test_objective_drops_zero_atoms():
    X = np.array([[2.0, 0.0]])
    # one unit atom e1: min_a 1/2 (2 - a)^2 + 0.5 a at a = 1.5: 0.125 + 0.75
    expect = 0.5 * 0.5**2 + 0.5 * 1.5
    assert test_objective(np.array([[1.0, 0.0], [0.0, 0.0]]), X, 0.5, tol=1e-12) == pytest.approx(expect)
    assert test_objective.__test__ is False  # not collected by pytest despite its name


# -- make_planted (PUDLE) ------------------------------------------------------------------------
def test_planted_protocol():
    prob = make_planted(m=50, p=100, s=5, n=400, seed=3)
    assert prob.D_true.shape == (50, 100) and prob.X.shape == (400, 50) and prob.Z_true.shape == (400, 100)
    np.testing.assert_allclose(np.linalg.norm(prob.D_true, axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(prob.D_init, axis=0), 1.0, rtol=1e-12)
    nz = prob.Z_true != 0
    assert np.all(nz.sum(axis=1) == 5)
    mags = np.abs(prob.Z_true[nz])
    assert mags.min() >= 1.0 and mags.max() <= 2.0
    # the authors' code: one sign per sample
    signs = np.where(nz, np.sign(prob.Z_true), 0)
    assert np.all(np.abs(signs.sum(axis=1)) == 5)
    np.testing.assert_allclose(prob.X, prob.Z_true @ prob.D_true.T, atol=1e-12)
    # init noise 0.1 on unit columns of length 50: E||noise||^2 = 0.5 per column
    assert 0.5 < relative_error(prob.D_init, prob.D_true) < 0.7
    per_entry = make_planted(n=400, sign="per_entry", seed=3)
    s = np.where(per_entry.Z_true != 0, np.sign(per_entry.Z_true), 0).sum(axis=1)
    assert np.any(np.abs(s) < 5)


def test_make_planted_is_seeded_and_zero_init_noise_starts_at_the_truth():
    a, b = make_planted(m=8, p=12, s=2, n=30, seed=1), make_planted(m=8, p=12, s=2, n=30, seed=1)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.D_init, b.D_init)
    exact = make_planted(m=8, p=12, s=2, n=30, init_noise=0.0, seed=1)
    np.testing.assert_allclose(exact.D_init, exact.D_true, atol=1e-15)


@pytest.mark.parametrize("kwargs, match", [
    ({"s": 0}, r"planted problem 's': need 0 < s <= p and m, n > 0 \(got \(5, 10, 0, 4\)\)"),
    ({"s": 11}, r"planted problem 's': need 0 < s <= p"),
    ({"n": 0}, r"planted problem 's': need 0 < s <= p and m, n > 0"),
    ({"c_min": 3.0}, r"planted problem 'c_min': need 0 <= c_min <= c_max \(got \(3.0, 2.0\)\)"),
    ({"c_min": -1.0}, r"planted problem 'c_min'"),
    ({"sign": "random"}, r"planted problem 'sign': unknown sign mode \(got random, expected 'per_sample' or 'per_"),
])
def test_make_planted_argument_errors(kwargs, match):
    args = {"m": 5, "p": 10, "s": 2, "n": 4}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        make_planted(**args)


def test_init_dictionary_is_the_normalised_noisy_truth():
    D = normalize_columns(np.random.default_rng(0).standard_normal((6, 4)))
    noise = np.random.default_rng(9).standard_normal(D.shape)
    got = init_dictionary(D, 0.2, np.random.default_rng(9))
    np.testing.assert_allclose(got, normalize_columns(D + 0.2 * noise), rtol=1e-12)


# -- make_planted_dsc (deep sparse coding) -------------------------------------------------------
def test_planted_model_is_consistent():
    p = make_planted_dsc((64, 128, 64), atom_nnz=3, sparsity=3, batch=20, seed=0)
    np.testing.assert_allclose(p.X, p.codes[0] @ p.dictionaries[0].T)
    np.testing.assert_allclose(p.codes[0], p.codes[1] @ p.dictionaries[1].T)
    assert np.all((p.codes[1] != 0).sum(axis=1) == 3) and np.all((p.codes[0] != 0).sum(axis=1) <= 9)


def test_deeper_dictionaries_are_sparse_signed_unit_atoms():
    p = make_planted_dsc((10, 12, 9, 6), atom_nnz=2, sparsity=2, batch=7, seed=1)
    assert [D.shape for D in p.dictionaries] == [(10, 12), (12, 9), (9, 6)]
    assert [G.shape for G in p.codes] == [(7, 12), (7, 9), (7, 6)]
    np.testing.assert_allclose(np.linalg.norm(p.dictionaries[0], axis=0), 1.0)
    for D in p.dictionaries[1:]:
        assert np.all((D != 0).sum(axis=0) == 2)
        np.testing.assert_allclose(np.abs(D[D != 0]), 1 / np.sqrt(2))
    deepest = p.codes[-1]
    assert np.all((deepest != 0).sum(axis=1) == 2)
    assert np.abs(deepest[deepest != 0]).min() >= 1.0 and np.abs(deepest).max() <= 2.0
    assert (deepest < 0).any() and (deepest > 0).any()


def test_dsc_noise_is_added_to_the_inputs_only():
    clean = make_planted_dsc((8, 10, 6), atom_nnz=2, sparsity=2, batch=5, seed=2)
    noisy = make_planted_dsc((8, 10, 6), atom_nnz=2, sparsity=2, batch=5, noise=0.1, seed=2)
    for a, b in zip(clean.codes, noisy.codes):
        np.testing.assert_array_equal(a, b)
    assert 0.02 < np.std(noisy.X - clean.X) < 0.3


@pytest.mark.parametrize("kwargs", [{"dims": (5,)}, {"dims": (6, 0)}, {"atom_nnz": 0}, {"atom_nnz": 7},
                                    {"sparsity": 5}])
def test_make_planted_dsc_argument_errors(kwargs):
    args = {"dims": (6, 8, 4), "atom_nnz": 2, "sparsity": 2}
    args.update(kwargs)
    with pytest.raises(NetworkError, match=r"parameter 'dims': invalid planted problem \(got "):
        make_planted_dsc(**args)
