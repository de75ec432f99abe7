"""Convolutional sparse-code denoising of a whole image (no patches), cold LCA / WARP / FISTA.

The image is split into a smooth part and a detail part, ``noisy = s + r`` with
``s = gaussian_filter(noisy, lowpass)``; the detail ``r / scale`` is coded by the convolutional
LASSO / hard-threshold problem over a filter bank (:mod:`neurosim.solvers.lasso_conv`), and the estimate
is ``s + scale * sum_k phi_k * a_k``. ``scale`` is the pixel standard deviation of the training
image's detail part; penalties are ``kappa * sigma / scale``.

Methods at an equal budget of ``steps`` Gram products (one FFT synthesis + analysis each):
``"cold"`` (:func:`neurosim.solvers.conv_lca.conv_lca`, hard threshold, ``u = 0``), ``"warp"`` (the
same from a predicted initial state) and ``"fista"`` (:func:`neurosim.solvers.lasso_conv.conv_fista` on
the soft LASSO).

Convolutional WARP predictor ("WARP-CNN" in the paper, [S]; architecture [U]): one shared
per-position predictor (:mod:`neurosim.estimators.warp_predictors`) maps the ``(k + 2m)^2`` window of
the detail image around a code position (the atom's support plus a margin ``m``) to the ``K``
codes at that position, i.e. a fully convolutional network. Trained on the training image's
noisy detail image, regressing the codes of a converged hard-threshold convolutional LCA started
from the soft LASSO solution at ``soft_ratio * lam`` (as :func:`neurosim.models.warp.converged_states`).
The filters are the atoms of a patch dictionary learned on the training image (not a
convolutional dictionary learning; their shifted copies are coherent, so ``L`` is large and the
LCA step is ``dt/tau = 1/L``). Penalties use the same conventional ``kappa`` as the patch pipeline.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

from neurosim.errors import InputError
from neurosim.estimators.warp_predictors import Predictor, make_predictor
from neurosim.progress import Progress, report
from neurosim.solvers.conv_lca import conv_lca
from neurosim.solvers.lasso_conv import ConvDictionary, conv_fista
from neurosim.studies.denoise import METHODS, MethodResult, _quiet, add_noise, extract_patches, learn_dictionary, psnr

__all__ = ['ConvDenoiser', 'prepare_conv_denoiser', 'denoise_conv', 'compare_conv_methods', 'position_windows']

log = logging.getLogger(__name__)


def position_windows(image: np.ndarray, size: int, margin: int) -> np.ndarray:
    """The ``(size + 2 margin)^2`` window around every valid code position of ``image``
    (zero padding by ``margin``), ``(h w, (size + 2 margin)^2)`` row-major over positions."""
    padded = np.pad(image, margin)
    win = np.lib.stride_tricks.sliding_window_view(padded, (size + 2 * margin,) * 2)
    return win.reshape(-1, (size + 2 * margin) ** 2)


@dataclass(frozen=True, eq=False)
class ConvDenoiser:
    """Filters, scales, penalties and the per-position predictor learned on a training image."""

    filters: np.ndarray
    scale: float
    sigma: float
    lowpass: float
    lam_hard: float
    lam_soft: float
    margin: int
    predictor: Predictor

    def dictionary(self, shape: tuple[int, int]) -> ConvDictionary:
        return ConvDictionary(self.filters, shape)

    def initial_state(self, detail: np.ndarray) -> np.ndarray:
        """Predicted codes ``(K, h, w)`` for a scaled detail image."""
        k = self.filters.shape[-1]
        cd = self.dictionary(detail.shape)
        _, h, w = cd.code_shape
        U = self.predictor.predict(position_windows(detail, k, self.margin))
        return U.reshape(h, w, -1).transpose(2, 0, 1)


def _detail(image: np.ndarray, lowpass: float) -> tuple[np.ndarray, np.ndarray]:
    smooth = gaussian_filter(image, lowpass, mode="reflect")
    return smooth, image - smooth


def prepare_conv_denoiser(train_image: np.ndarray, *, sigma: float, n_filters: int = 24, size: int = 8,
                          lowpass: float = 2.0, kappa_hard: float = 2.5, kappa_soft: float = 1.0, margin: int = 2,
                          n_train: int = 20000, predictor: str = "lista", predictor_options: Optional[dict] = None,
                          target_steps: int = 300, soft_ratio: float = 0.3, filters: Optional[np.ndarray] = None,
                          n_dict: int = 10000, seed: int = 0, progress: Optional[Progress] = None) -> ConvDenoiser:
    """Learn filters (unless given) and train the convolutional WARP predictor on ``train_image``
    (``progress(phase, done, total)`` hears ``"dictionary"``, ``"targets"`` and ``"predictor"``)."""
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"denoise: sigma must be positive (got {sigma!r}, expected > 0)")
    _, detail = _detail(train_image, lowpass)
    scale = float(detail.std())
    rng = np.random.default_rng(seed)
    if filters is None:
        P = extract_patches(detail / scale, size, 2)
        P = P[rng.choice(P.shape[0], min(P.shape[0], n_dict), replace=False)]
        filters = learn_dictionary(P - P.mean(axis=1, keepdims=True), n_filters, seed=seed,
                                   progress=progress).T.reshape(-1, 1, size, size)
    filters = np.asarray(filters, dtype=np.float64)
    k = filters.shape[-1]
    lam_h, lam_s = kappa_hard * sigma / scale, kappa_soft * sigma / scale
    _, noisy_detail = _detail(add_noise(train_image, sigma, seed=seed + 1), lowpass)
    noisy_detail = noisy_detail / scale
    cd = ConvDictionary(filters, noisy_detail.shape)
    report(progress, "targets", 0, 1)
    with _quiet("neurosim.solvers.lasso_conv"):
        A_soft = conv_fista(cd, noisy_detail, soft_ratio * lam_h, max_iter=300, tol=1e-4)
    u0 = cd.analyze(noisy_detail)[0] - (cd.gram_apply(A_soft)[0] - A_soft)
    A = conv_lca(cd, noisy_detail, lam_h, threshold="hard", steps=target_steps, u0=u0, dt_over_tau=1.0 / cd.lipschitz())
    report(progress, "targets", 1, 1)
    Xw = position_windows(noisy_detail, k, margin)
    Y = A.reshape(A.shape[0], -1).T
    sel = rng.choice(Xw.shape[0], min(Xw.shape[0], n_train), replace=False)
    local = np.zeros((k + 2 * margin, k + 2 * margin, filters.shape[0]))
    local[margin:margin + k, margin:margin + k] = filters[:, 0].transpose(1, 2, 0)
    opts = dict(predictor_options or {})
    if predictor == "lista":
        opts.setdefault("lam_init", soft_ratio * lam_h)
    pred = make_predictor(predictor, **opts).fit(Xw[sel], Y[sel], dictionary=local.reshape(-1, filters.shape[0]),
                                                   progress=progress)
    return ConvDenoiser(filters=filters, scale=scale, sigma=float(sigma), lowpass=float(lowpass), lam_hard=lam_h,
                        lam_soft=lam_s, margin=int(margin), predictor=pred)


def denoise_conv(noisy: np.ndarray, den: ConvDenoiser, *, method: str = "warp", steps: int = 100,
                 dt_over_tau: Optional[float] = None, return_codes: bool = False):
    """Denoise a whole image by convolutional sparse coding (module docstring).

    ``dt_over_tau`` defaults to ``1 / L`` (``L = cd.lipschitz()``, FISTA's step): filter banks
    over every shift are coherent, so ``L`` is large and LCA is stable only for ``dt/tau < 2/L``.
    """
    smooth, detail = _detail(noisy, den.lowpass)
    detail = detail / den.scale
    cd = den.dictionary(noisy.shape)
    if dt_over_tau is None:
        dt_over_tau = 1.0 / cd.lipschitz()
    if method == "cold":
        A = conv_lca(cd, detail, den.lam_hard, threshold="hard", steps=steps, dt_over_tau=dt_over_tau)
    elif method == "warp":
        A = conv_lca(cd, detail, den.lam_hard, threshold="hard", steps=steps, dt_over_tau=dt_over_tau,
                     u0=den.initial_state(detail))
    elif method == "fista":
        with _quiet("neurosim.solvers.lasso_conv"):
            A = conv_fista(cd, detail, den.lam_soft, max_iter=steps, tol=0.0)
    else:
        raise InputError(f"denoise: unknown method {method!r} (got {method!r}, expected one of {', '.join(METHODS)})")
    est = smooth + den.scale * cd.synthesize(A)[0, 0]
    return (est, A) if return_codes else est


def compare_conv_methods(clean: np.ndarray, noisy: np.ndarray, den: ConvDenoiser, *, steps: int = 100,
                         methods: Sequence[str] = METHODS, progress: Optional[Progress] = None) -> list[MethodResult]:
    """Every method at the same budget; ``l0`` is the mean number of non-zero codes per pixel
    (``progress("denoising", methods done, methods)`` as in :func:`~neurosim.studies.denoise.compare_patch_methods`)."""
    out = []
    report(progress, "denoising", 0, len(methods))
    for m in methods:
        img, A = denoise_conv(noisy, den, method=m, steps=steps, return_codes=True)
        out.append(MethodResult(m, img, psnr(clean, img), float(np.count_nonzero(A) / clean.size), steps))
        log.info("convolutional denoising %s: PSNR %.2f dB", m, out[-1].psnr)
        report(progress, "denoising", len(out), len(methods))
    return out

