"""Data generators (neurosim.data.samples)."""
from __future__ import annotations

import numpy as np
import pytest

from neurosim.data.samples import (
    TOY_OBJECTIVE,
    TOY_SOLUTION,
    default_dictionary,
    digits,
    image_patches,
    overcomplete_dct,
    random_lasso_problem,
    split_sign,
    toy_problem,
)
from neurosim.errors import NetworkError
from neurosim.solvers.lasso import fista, lasso_objective


@pytest.mark.parametrize("nonneg", [False, True])
def test_random_lasso_problem_is_planted_as_documented(nonneg):
    p = random_lasso_problem(32, 64, 5, batch=7, nonneg=nonneg, seed=3)
    assert p.D.shape == (32, 64) and p.X.shape == (7, 32) and p.Z.shape == (7, 64)
    np.testing.assert_allclose(np.linalg.norm(p.D, axis=0), 1.0)
    assert np.all(np.count_nonzero(p.Z, axis=1) == 5)
    nz = p.Z[p.Z != 0]
    assert np.all((np.abs(nz) >= 1.0) & (np.abs(nz) <= 2.0))
    assert np.all(nz > 0) if nonneg else (np.any(nz < 0) and np.any(nz > 0))
    np.testing.assert_allclose(p.X, p.Z @ p.D.T)
    assert p.lam == 0.1


def test_random_lasso_problem_seeding_and_noise():
    a = random_lasso_problem(16, 32, 3, batch=2, seed=1)
    b = random_lasso_problem(16, 32, 3, batch=2, seed=1)
    c = random_lasso_problem(16, 32, 3, batch=2, seed=2)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.D, c.D)
    noisy = random_lasso_problem(64, 32, 3, batch=200, seed=1, noise=0.5)
    resid = noisy.X - noisy.Z @ noisy.D.T
    assert 0.45 < resid.std() < 0.55


@pytest.mark.parametrize("kwargs, match", [
    ({"M": 4, "N": 8, "k": 9}, "exceeds"),
    ({"M": 0, "N": 8, "k": 1}, "M"),
    ({"M": 4, "N": 8, "k": 1, "batch": 0}, "batch"),
    ({"M": 4, "N": 8, "k": 1, "noise": -1.0}, "noise"),
])
def test_random_lasso_problem_rejects_bad_sizes(kwargs, match):
    with pytest.raises(NetworkError, match=match):
        random_lasso_problem(**kwargs)


def test_toy_problem_has_the_published_solution():
    p = toy_problem()
    np.testing.assert_allclose(np.linalg.norm(p.D, axis=0), 1.0, atol=1e-4)
    a = fista(p.D, p.X, p.lam, nonneg=True, tol=1e-12)
    np.testing.assert_allclose(a[0], TOY_SOLUTION, atol=1e-4)
    assert lasso_objective(p.D, p.X, a, p.lam, nonneg=True)[0] == pytest.approx(TOY_OBJECTIVE, abs=1e-5)


def test_image_patches_normalised():
    X = image_patches(8, 5000, seed=0)
    assert X.shape == (5000, 64)
    np.testing.assert_allclose(X.mean(axis=1), 0.0, atol=1e-12)
    assert 0.9 < X.std() < 1.1  # one global scale: unit pixel variance on average
    np.testing.assert_array_equal(X, image_patches(8, 5000, seed=0))
    assert not np.array_equal(X[:10], image_patches(8, 10, seed=1))
    # the scale is global and fixed: a few patches are scaled like many
    raw = image_patches(8, 10, seed=4, normalize=False)
    norm = image_patches(8, 10, seed=4)
    centred = raw - raw.mean(axis=1, keepdims=True)
    ratio = norm[centred != 0] / centred[centred != 0]
    np.testing.assert_allclose(ratio, ratio[0])
    assert raw.min() >= 0 and raw.max() <= 1


def test_image_patches_sign_split():
    X = image_patches(4, 50, seed=2)
    S = image_patches(4, 50, seed=2, split=True)
    assert S.shape == (50, 32) and np.all(S >= 0)
    np.testing.assert_allclose(S[:, :16] - S[:, 16:], X)
    np.testing.assert_array_equal(split_sign(X), S)


def test_image_patches_rejects_oversized_patches():
    with pytest.raises(NetworkError, match="larger than the images"):
        image_patches(1000, 2)


def test_digits():
    X, y = digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_overcomplete_dct_dictionary():
    D = overcomplete_dct(8, 256)
    assert D.shape == (64, 256)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0)
    np.testing.assert_allclose(D[:, 0], 1 / 8)  # the DC atom
    assert np.linalg.matrix_rank(D) == 64
    # the non-DC atoms have zero mean (they code mean-removed patches)
    np.testing.assert_allclose(D[:, 1:].sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_array_equal(default_dictionary(), D)
    assert overcomplete_dct(8, 100).shape == (64, 100)


def test_overcomplete_dct_of_a_one_pixel_patch():
    """Found by the fuzzer (an experiment with ``dictionary: {patch: 1, atoms: 2}``): the second atom
    was 0 / 0, a NaN dictionary."""
    assert np.array_equal(overcomplete_dct(1, 1), [[1.0]])
    with pytest.raises(NetworkError, match=r"parameter 'n_atoms': a 1x1 patch has one DCT atom .*got 2"):
        overcomplete_dct(1, 2)
