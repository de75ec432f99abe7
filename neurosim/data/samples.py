"""Data for sparse coding: planted LASSO problems, the 3x3 toy problem, image patches, digits,
and the fixed dictionary of the built-in example.

Nothing is downloaded: images and digits come from the files bundled with scikit-learn
(``load_sample_images`` needs pillow to decode the two JPEGs).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from neurosim.errors import InputError, NetworkError, describe

__all__ = ['LassoProblem', 'random_lasso_problem', 'toy_problem', 'TOY_SOLUTION', 'TOY_OBJECTIVE', 'image_patches', 'split_sign', 'digits', 'overcomplete_dct', 'default_dictionary']



class LassoProblem(NamedTuple):
    """A planted sparse-coding problem: inputs ``X = Z D^T + noise``.

    Attributes
    ----------
    D : ndarray (M, N)
        Dictionary with unit-norm columns.
    X : ndarray (batch, M)
        Inputs, one per row.
    Z : ndarray (batch, N)
        The planted sparse codes (not the LASSO solution, which is shrunk by ``lam``).
    lam : float
        A suggested penalty (``0.1``), or the toy problem's.
    """

    D: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    lam: float


def _positive_int(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise NetworkError(describe("parameter", name, f"must be an integer >= {minimum}", got=value,
                                    expected=f">= {minimum}"))
    return int(value)


def random_lasso_problem(M: int, N: int, k: int, *, batch: int = 1, nonneg: bool = False, seed: int = 0,
                         noise: float = 0.0, amplitude: tuple[float, float] = (1.0, 2.0),
                         lam: float = 0.1) -> LassoProblem:
    """A random problem with a Gaussian unit-norm dictionary and ``k``-sparse planted codes.

    ``D_mi ~ N(0, 1)``, then each column is scaled to unit norm. Each row of ``Z`` has ``k``
    non-zeros at distinct random atoms, magnitudes ``~ U[amplitude]``, random signs (all positive
    when ``nonneg``). ``X = Z D^T + noise * E`` with ``E_bm ~ N(0, 1)``.

    Parameters
    ----------
    M, N : int
        Input dimension and number of atoms.
    k : int
        Non-zeros per planted code, ``1 <= k <= N``.
    batch : int
        Number of inputs.
    nonneg : bool
        Non-negative planted codes.
    seed : int
        Seed of :func:`numpy.random.default_rng`; equal seeds give equal problems.
    noise : float
        Standard deviation of additive Gaussian noise on ``X``.
    amplitude : (float, float)
        Range of the non-zero magnitudes.
    lam : float
        Returned unchanged as the suggested penalty.
    """
    M, N, k, batch = (_positive_int(n, v) for n, v in (("M", M), ("N", N), ("k", k), ("batch", batch)))
    if k > N:
        raise NetworkError(describe("parameter", "k", "exceeds the number of atoms", got=k, expected=f"<= N = {N}"))
    if not (np.isfinite(noise) and noise >= 0):
        raise NetworkError(describe("parameter", "noise", "must be >= 0", got=noise, expected=">= 0"))
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((M, N))
    D /= np.linalg.norm(D, axis=0)
    Z = np.zeros((batch, N))
    lo, hi = amplitude
    for b in range(batch):
        idx = rng.choice(N, size=k, replace=False)
        mag = rng.uniform(lo, hi, size=k)
        sign = np.ones(k) if nonneg else rng.choice([-1.0, 1.0], size=k)
        Z[b, idx] = mag * sign
    X = Z @ D.T
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)
    return LassoProblem(D=D, X=X, Z=Z, lam=float(lam))


#: Non-negative LASSO optimum of the toy problem (algorithms.md 2(c), computed there, [C]).
TOY_SOLUTION = np.array([0.6830, 0.0, 1.2178])


#: Its objective value.
TOY_OBJECTIVE = 0.25405


def toy_problem() -> LassoProblem:
    """The 3x3 spiking-LCA toy problem (algorithms.md section 2(c)).

    ``D`` has the unit-norm columns ``(0.3313, 0.8835, 0.3313)``, ``(0.8148, 0.3621, 0.4527)``,
    ``(0.4364, 0.2182, 0.8729)``; one input ``x = (0.5, 1, 1.5)``; ``lam = 0.1``. Its
    non-negative LASSO optimum is :data:`TOY_SOLUTION` ``= (0.6830, 0, 1.2178)``. ``Z`` holds that
    optimum (there is no planted code).
    """
    D = np.array([[0.3313, 0.8148, 0.4364],
                  [0.8835, 0.3621, 0.2182],
                  [0.3313, 0.4527, 0.8729]])
    X = np.array([[0.5, 1.0, 1.5]])
    return LassoProblem(D=D, X=X, Z=TOY_SOLUTION[None, :].copy(), lam=0.1)


# ---------------------------------------------------------------------------------------------
def _gray_images() -> list[np.ndarray]:
    try:
        from sklearn.datasets import load_sample_images
        images = load_sample_images().images
    except ImportError as exc:  # pillow (or scikit-learn) missing
        raise InputError(f"built-in images: cannot load scikit-learn's sample images ({exc}); "
                         "install scikit-learn and pillow") from exc
    # ITU-R BT.601 luma, values in [0, 1]
    return [(img[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])) / 255.0 for img in images]


def _patch_scale(images: list[np.ndarray], size: int) -> float:
    """Pixel standard deviation of all non-overlapping mean-removed patches (a fixed global scale)."""
    tiles = []
    for img in images:
        h, w = (img.shape[0] // size) * size, (img.shape[1] // size) * size
        t = img[:h, :w].reshape(h // size, size, w // size, size).transpose(0, 2, 1, 3).reshape(-1, size * size)
        tiles.append(t - t.mean(axis=1, keepdims=True))
    scale = float(np.concatenate(tiles).std())
    return scale if scale > 0 else 1.0


def split_sign(X: np.ndarray) -> np.ndarray:
    """Positive/negative channel split: ``[max(X, 0), max(-X, 0)]`` along the last axis (``2M`` wide)."""
    X = np.asarray(X, dtype=np.float64)
    return np.concatenate([np.maximum(X, 0.0), np.maximum(-X, 0.0)], axis=-1)


def image_patches(size: int = 8, n: int = 10000, *, seed: int = 0, normalize: bool = True,
                  split: bool = False) -> np.ndarray:
    """Random ``size x size`` grayscale patches of scikit-learn's two bundled sample images.

    Each patch is drawn from one of the two images (chosen uniformly) at a uniform random
    position, flattened row-major. With ``normalize`` each patch has its mean (DC) removed and
    all patches are divided by one global scale, the standard deviation of all their pixels, so
    pixels have unit variance on average (``||x||^2`` averages about ``size**2``). The scale is
    the pixel standard deviation over all non-overlapping mean-removed tiles of both images, so it
    does not depend on ``n`` or ``seed``.

    Parameters
    ----------
    size : int
        Patch side in pixels (``>= 1``).
    n : int
        Number of patches.
    seed : int
        Seed of the patch positions.
    normalize : bool
        Remove each patch's mean and apply the global scale; otherwise raw luma in ``[0, 1]``.
    split : bool
        Return the positive/negative channel split (:func:`split_sign`), ``(n, 2 size^2)``.

    Returns
    -------
    ndarray (n, size*size) or (n, 2*size*size)
    """
    size = _positive_int("size", size)
    n = _positive_int("n", n)
    images = _gray_images()
    if any(size > min(img.shape) for img in images):
        raise NetworkError(describe("parameter", "size", "is larger than the images",
                                    got=size, expected=f"<= {min(min(i.shape) for i in images)}"))
    rng = np.random.default_rng(seed)
    which = rng.integers(0, len(images), size=n)
    out = np.empty((n, size * size))
    for i, img in enumerate(images):
        sel = np.flatnonzero(which == i)
        if sel.size == 0:
            continue
        r = rng.integers(0, img.shape[0] - size + 1, size=sel.size)
        c = rng.integers(0, img.shape[1] - size + 1, size=sel.size)
        win = np.lib.stride_tricks.sliding_window_view(img, (size, size))
        out[sel] = win[r, c].reshape(sel.size, -1)
    if normalize:
        out -= out.mean(axis=1, keepdims=True)
        out /= _patch_scale(images, size)
    return split_sign(out) if split else out


def digits(*, normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits: ``(X (1797, 64), y (1797,))``.

    With ``normalize`` pixel values (0..16) are scaled to ``[0, 1]``; the images are
    non-negative, ready for the non-negative network of Lin & Tang.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data.astype(np.float64)
    return (X / 16.0 if normalize else X), d.target.astype(np.int64)


def overcomplete_dct(size: int = 8, n_atoms: int = 256) -> np.ndarray:
    """Overcomplete separable 2-D DCT dictionary for ``size x size`` patches, unit-norm atoms.

    With ``K = ceil(sqrt(n_atoms))`` 1-D atoms ``c_k[t] = cos(pi k t / K)``, ``t = 0..size-1``,
    ``k = 0..K-1`` (mean removed for ``k > 0``, unit norm), the 2-D atoms are the ``K^2``
    Kronecker products ``c_k (x) c_l`` (row-major patches), normalised; the first ``n_atoms``
    are kept. Atom 0 is the constant (DC) atom.

    Returns
    -------
    ndarray (size*size, n_atoms)
    """
    size = _positive_int("size", size)
    n_atoms = _positive_int("n_atoms", n_atoms)
    if size == 1 and n_atoms > 1:  # every 1-D atom but the constant is zero once its mean is removed
        raise NetworkError(describe("parameter", "n_atoms", "a 1x1 patch has one DCT atom (the constant)",
                                    got=n_atoms, expected="1 when size is 1, or size >= 2"))
    K = int(math.ceil(math.sqrt(n_atoms)))
    t = np.arange(size)[:, None]
    C = np.cos(np.pi * t * np.arange(K)[None, :] / K)
    C[:, 1:] -= C[:, 1:].mean(axis=0)
    C /= np.linalg.norm(C, axis=0)
    D = np.kron(C, C)[:, :n_atoms]
    return D / np.linalg.norm(D, axis=0)


def default_dictionary(size: int = 8, n_atoms: int = 256) -> np.ndarray:
    """The fixed dictionary of the built-in example: :func:`overcomplete_dct` ``(size**2, n_atoms)``.

    Deterministic and download-free; 4x overcomplete for 8x8 patches by default.
    """
    return overcomplete_dct(size, n_atoms)

