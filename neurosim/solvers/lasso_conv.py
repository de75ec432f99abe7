"""The convolutional LASSO: a filter-bank dictionary over whole images, and a patch-free FISTA.

A :class:`ConvDictionary` holds ``K`` filters ``phi_k`` of ``C`` channels and size ``k x k``
(array ``(K, C, k, k)``) for images ``x`` of shape ``(C, H, W)``. Codes are ``K`` maps of the
"valid" size ``h = H - k + 1``, ``w = W - k + 1`` (every atom lies inside the image), and::

    synthesis  (D a)_c   = sum_k a_k * phi_{k,c}                   (full 2-D convolution, size H x W)
    analysis   (D^T x)_k = sum_c phi_{k,c} (star) x_c              (valid 2-D correlation, size h x w)
    problem    minimise_a  F(a) = 1/2 ||x - sum_k phi_k * a_k||^2 + sum_k lam_k ||a_k||_1   (a >= 0 if nonneg)

``D`` is exactly the sparse matrix ``ConvWeights(filters, (C, H, W)).to_csr().T`` (the analysis
is a :class:`~neurosim.conv.ConvWeights` cross-correlation), so this is the ordinary LASSO of
:mod:`neurosim.solvers.lasso` with a structured dictionary; no patches are extracted. With valid codes
the Gram matrix is exactly shift-invariant::

    (D^T D a)_o[y] = sum_{k, y'} g_{o,k}[y' - y + k - 1] a_k[y'],
    g_{o,k}[d] = sum_{c, t} phi_{o,c}[t] phi_{k,c}[t + k - 1 - d],    d in [0, 2k - 2]^2

(:meth:`ConvDictionary.gram_kernel`), a correlation with a ``(2k-1) x (2k-1)`` kernel and
padding ``k - 1``: the lateral connectivity of convolutional LCA.

Both operators run by FFT on the ``H x W`` grid: the full convolution of an ``h``-map with a
``k``-filter has exactly ``H`` samples, so circular convolution on that grid never wraps.
``L = max_f lambda_max(Phi(f)^H Phi(f))`` over the grid frequencies is the norm of the circular
operator, an upper bound of ``||D||_2^2`` (FISTA's step ``1/L``).
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np
import scipy.fft as sfft

from neurosim.conv import ConvWeights
from neurosim.errors import NetworkError, describe
from neurosim.neurons import threshold_function

__all__ = ['ConvDictionary', 'conv_lasso_objective', 'conv_kkt_residual', 'conv_fista', 'conv_threshold', 'conv_lam']

log = logging.getLogger(__name__)


class ConvDictionary:
    """Filters ``(K, C, k, k)`` over images ``(C, H, W)`` (module docstring).

    Parameters
    ----------
    filters : ndarray (K, C, k, k) or (K, k, k)
        The filter bank (a 3-D array means one channel).
    image_shape : (H, W) or (C, H, W)
        Image size.
    """

    def __init__(self, filters, image_shape) -> None:
        F = np.asarray(filters, dtype=np.float64)
        if F.ndim == 3:
            F = F[:, None]
        if F.ndim != 4 or F.shape[2] != F.shape[3] or 0 in F.shape:
            raise NetworkError(describe("conv dictionary", "filters", "must be (K, C, k, k) or (K, k, k), square",
                                        got=np.shape(filters), expected="(K, C, k, k)"))
        if not np.all(np.isfinite(F)) or np.any(np.sum(F * F, axis=(1, 2, 3)) == 0):
            raise NetworkError(describe("conv dictionary", "filters", "must be finite and non-zero", expected="finite, non-zero"))
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            shape = (F.shape[1],) + shape
        if len(shape) != 3 or shape[0] != F.shape[1] or min(shape[1:]) < F.shape[2]:
            raise NetworkError(describe("conv dictionary", "image_shape", "does not fit the filters",
                                        got=image_shape, expected=f"(C={F.shape[1]}, H >= {F.shape[2]}, W >= {F.shape[2]})"))
        self.filters = F
        self.image_shape: tuple[int, int, int] = shape
        K, C, k, _ = F.shape
        self.n_filters, self.n_channels, self.size = K, C, k
        self.code_shape: tuple[int, int, int] = (K, shape[1] - k + 1, shape[2] - k + 1)
        self._fhat = sfft.rfft2(F, s=shape[1:])  # (K, C, H, W//2+1)
        self._L: Optional[float] = None

    # -- sizes ------------------------------------------------------------------------------------
    @property
    def n_code(self) -> int:
        return int(np.prod(self.code_shape))

    @property
    def n_pixels(self) -> int:
        return int(np.prod(self.image_shape))

    def images(self, X) -> tuple[np.ndarray, bool]:
        """Inputs as ``(B, C, H, W)`` float64, and whether one image was given."""
        X = np.asarray(X, dtype=np.float64)
        C, H, W = self.image_shape
        if X.shape == (C, H, W) or (C == 1 and X.shape == (H, W)):
            return X.reshape(1, C, H, W), True
        if X.ndim == 4 and X.shape[1:] == (C, H, W):
            return X, False
        if C == 1 and X.ndim == 3 and X.shape[1:] == (H, W):
            return X[:, None], False
        if X.ndim == 2 and X.shape[1] == C * H * W:
            return X.reshape(-1, C, H, W), False
        raise NetworkError(describe("inputs", "X", "do not match the image shape", got=X.shape,
                                    expected=f"(C, H, W) = {self.image_shape}, a batch (B, C, H, W) or (B, {C * H * W})"))

    def codes(self, A) -> np.ndarray:
        """Codes as ``(B, K, h, w)`` (accepts ``(K, h, w)`` or flat ``(B, K h w)``)."""
        A = np.asarray(A, dtype=np.float64)
        if A.shape == self.code_shape:
            return A[None]
        if A.ndim == 2 and A.shape[1] == self.n_code:
            return A.reshape((-1,) + self.code_shape)
        if A.ndim == 4 and A.shape[1:] == self.code_shape:
            return A
        raise NetworkError(describe("codes", "A", "do not match the code shape", got=A.shape,
                                    expected=f"(B,) + {self.code_shape}"))

    # -- operators -----------------------------------------------------------------------------------
    def synthesize(self, A) -> np.ndarray:
        """``D a = sum_k a_k * phi_k``: images ``(B, C, H, W)``."""
        A = self.codes(A)
        H, W = self.image_shape[1:]
        Ahat = sfft.rfft2(A, s=(H, W))
        Xhat = np.einsum("kcf,bkf->bcf", self._fhat.reshape(*self._fhat.shape[:2], -1),
                         Ahat.reshape(*Ahat.shape[:2], -1))
        return sfft.irfft2(Xhat.reshape(Xhat.shape[:2] + self._fhat.shape[2:]), s=(H, W))

    def analyze(self, X) -> np.ndarray:
        """``D^T x``: valid correlations with every filter, ``(B, K, h, w)``."""
        X, _ = self.images(X)
        H, W = self.image_shape[1:]
        _, h, w = self.code_shape
        Xhat = sfft.rfft2(X)
        Chat = np.einsum("kcf,bcf->bkf", np.conj(self._fhat).reshape(*self._fhat.shape[:2], -1),
                         Xhat.reshape(*Xhat.shape[:2], -1))
        return sfft.irfft2(Chat.reshape(Chat.shape[:2] + self._fhat.shape[2:]), s=(H, W))[:, :, :h, :w]

    def gram_apply(self, A) -> np.ndarray:
        """``D^T D a`` ``(B, K, h, w)``."""
        return self.analyze(self.synthesize(A))

    def lipschitz(self) -> float:
        """``L``: the largest eigenvalue of ``Phi(f)^H Phi(f)`` over the grid frequencies (>= ``||D||_2^2``)."""
        if self._L is None:
            Fh = self._fhat.reshape(self.n_filters, self.n_channels, -1)
            if self.n_channels == 1:
                self._L = float(np.max(np.sum(np.abs(Fh[:, 0]) ** 2, axis=0)))
            else:
                M = np.einsum("kcf,kdf->fcd", np.conj(Fh), Fh)
                self._L = float(np.max(np.linalg.eigvalsh(M)))
        return self._L

    # -- explicit forms (networks, tests) ------------------------------------------------------------
    def analysis_weights(self) -> ConvWeights:
        """``D^T`` as a :class:`~neurosim.conv.ConvWeights` (pixels -> codes, no padding)."""
        return ConvWeights(self.filters, self.image_shape, stride=1, padding=0)

    def matrix(self):
        """``D`` as a sparse ``(n_pixels, n_code)`` matrix (for tests and small problems)."""
        return self.analysis_weights().to_csr().T.tocsr()

    def gram_kernel(self) -> np.ndarray:
        """``g`` of shape ``(K, K, 2k-1, 2k-1)`` with ``D^T D`` = correlation with ``g``, padding ``k-1``."""
        K, C, k, _ = self.filters.shape
        F = self.filters
        g = np.zeros((K, K, 2 * k - 1, 2 * k - 1))
        for dy in range(2 * k - 1):
            sy = k - 1 - dy  # phi_k is read at t + sy
            ty = slice(max(0, -sy), min(k, k - sy))
            uy = slice(max(0, sy), min(k, k + sy))
            for dx in range(2 * k - 1):
                sx = k - 1 - dx
                tx = slice(max(0, -sx), min(k, k - sx))
                ux = slice(max(0, sx), min(k, k + sx))
                g[:, :, dy, dx] = np.einsum("ocyx,kcyx->ok", F[:, :, ty, tx], F[:, :, uy, ux])
        return g

    def lateral_weights(self) -> ConvWeights:
        """``-(D^T D - I)`` as :class:`~neurosim.conv.ConvWeights` (analog LCA's lateral inhibition)."""
        g = -self.gram_kernel()
        k = self.size
        idx = np.arange(self.n_filters)
        g[idx, idx, k - 1, k - 1] += 1.0
        g[np.abs(g) < 1e-12] = 0.0
        return ConvWeights(g, self.code_shape, stride=1, padding=k - 1)


def conv_lam(cd: ConvDictionary, lam) -> np.ndarray:
    """The penalty as an array ``(1, K, 1, 1)`` (a scalar or one value per filter, ``>= 0``)."""
    arr = np.asarray(lam, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != cd.n_filters) or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise NetworkError(describe("parameter", "lam", "must be >= 0, a scalar or one value per filter",
                                    got=arr.shape if arr.ndim else float(arr), expected=f"() or ({cd.n_filters},)"))
    return np.broadcast_to(arr, (cd.n_filters,)).reshape(1, -1, 1, 1)


def conv_threshold(U: np.ndarray, lam: np.ndarray, threshold: str) -> np.ndarray:
    """``T_lam(u)`` on code maps (:func:`neurosim.neurons.threshold_function`)."""
    return threshold_function(U, lam, threshold)


def conv_lasso_objective(cd: ConvDictionary, X, A, lam, *, nonneg: bool = False) -> np.ndarray:
    """``F(a)`` of every image, shape ``(B,)`` (``inf`` for negative codes when ``nonneg``)."""
    X, _ = cd.images(X)
    A = cd.codes(A)
    lam = conv_lam(cd, lam)
    R = X - cd.synthesize(A)
    obj = 0.5 * np.sum(R * R, axis=(1, 2, 3)) + np.sum(np.abs(A) * lam, axis=(1, 2, 3))
    if nonneg:
        obj[np.any(A < 0, axis=(1, 2, 3))] = np.inf
    return obj


def _kkt(A: np.ndarray, grad: np.ndarray, lam: np.ndarray, nonneg: bool) -> np.ndarray:
    if nonneg:
        viol = np.where(A > 0, np.abs(grad + lam), np.maximum(-grad - lam, 0.0))
        viol = np.where(A < 0, np.inf, viol)
    else:
        viol = np.where(A != 0, np.abs(grad + lam * np.sign(A)), np.maximum(np.abs(grad) - lam, 0.0))
    return viol.reshape(A.shape[0], -1).max(axis=1)


def conv_kkt_residual(cd: ConvDictionary, X, A, lam, *, nonneg: bool = False) -> np.ndarray:
    """Largest violation of the LASSO optimality conditions per image (as :func:`neurosim.solvers.lasso.kkt_residual`)."""
    X, _ = cd.images(X)
    A = cd.codes(A)
    grad = cd.gram_apply(A) - cd.analyze(X)
    return _kkt(A, grad, conv_lam(cd, lam), nonneg)


def conv_fista(cd: ConvDictionary, X, lam, *, nonneg: bool = False, max_iter: int = 5000, tol: float = 1e-6,
               A0: Optional[np.ndarray] = None, restart: bool = True, return_info: bool = False):
    r"""Solve the convolutional LASSO of every image with FISTA, patch-free (FFT operators).

    Same iteration, adaptive restart and stopping rule as :func:`neurosim.solvers.lasso.fista`, with
    ``g(a) = D^T D a - D^T x`` applied by FFT and ``L = cd.lipschitz()``; the run stops when the
    KKT residual of every image is ``<= tol`` or after ``max_iter`` iterations.

    Returns
    -------
    codes : ndarray (B, K, h, w) (or (K, h, w) for one image), and with ``return_info`` a dict
    ``{"iterations": int, "kkt": (B,)}``.
    """
    Xb, single = cd.images(X)
    lamv = conv_lam(cd, lam)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise NetworkError(describe("parameter", "max_iter", "must be a positive integer", got=max_iter, expected=">= 1"))
    L = cd.lipschitz()
    Bc = cd.analyze(Xb)
    A = np.zeros(Bc.shape) if A0 is None else cd.codes(A0).copy()
    if nonneg:
        A = np.maximum(A, 0.0)
    gA = cd.gram_apply(A) - Bc
    A_prev, gA_prev = A, gA
    t, beta = np.ones(A.shape[0]), np.zeros(A.shape[0])
    res = _kkt(A, gA, lamv, nonneg)
    k = 0
    for k in range(1, max_iter + 1):
        b4 = beta[:, None, None, None]
        Y = A + b4 * (A - A_prev)
        gY = gA + b4 * (gA - gA_prev)
        V = Y - gY / L
        A_new = np.maximum(V - lamv / L, 0.0) if nonneg else np.sign(V) * np.maximum(np.abs(V) - lamv / L, 0.0)
        gA_new = cd.gram_apply(A_new) - Bc
        res = _kkt(A_new, gA_new, lamv, nonneg)
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        if restart:
            bad = np.einsum("bkyx,bkyx->b", Y - A_new, A_new - A) > 0
            t_new[bad] = 1.0
            beta[bad] = 0.0
        A_prev, gA_prev, A, gA, t = A, gA, A_new, gA_new, t_new
        if np.all(res <= tol):
            break
    if np.any(res > tol):
        log.warning("conv_fista: KKT residual %.3g > tol %.3g after %d iterations", float(res.max()), tol, k)
    codes = A[0] if single else A
    if return_info:
        return codes, {"iterations": k, "kkt": res}
    return codes

