"""Sparse-code denoising of a bundled image: patch-based (overlapping patches, averaged).

Protocol (all learning on a *different* image than the one denoised):

1. ``clean`` is a grayscale crop of one of scikit-learn's bundled sample images (values in
   ``[0, 1]``); ``noisy = clean + sigma * N(0, 1)`` (:func:`add_noise`).
2. :func:`prepare_patch_denoiser` learns a dictionary on the mean-removed ``size x size`` patches
   of the *other* sample image (scaled by ``scale``, their pixel standard deviation; scikit-learn's
   ``MiniBatchDictionaryLearning``) and trains a WARP-LCA predictor
   (:class:`~neurosim.estimators.warp.WarpLCA`) on noisy patches of that training image.
3. :func:`denoise_patches` codes every overlapping patch of ``noisy`` (mean removed, divided by
   ``scale``; ``p~ = (p - mean) / scale``) with one method at a fixed step budget, reconstructs
   ``p^ = scale * D a + mean`` and averages the overlapping estimates per pixel.

Methods, all with the same budget of ``steps`` products with ``G`` (one LCA Euler step or one
FISTA iteration each):

* ``"cold"``: hard-threshold LCA from ``u = 0`` (``lam = kappa_hard * sigma / scale``);
* ``"warp"``: the same LCA from the predictor's initial state (plus the predictor's cost, reported
  separately as its multiply-accumulates);
* ``"fista"``: plain FISTA (fixed step ``1/L``, no support polishing, so exactly one product per
  iteration) on the soft-threshold LASSO (``lam = kappa_soft * sigma / scale``).

``PSNR = 10 log10(peak^2 / mean((clean - estimate)^2))`` with ``peak = 1``. The default
``kappa`` values are conventional choices (hard threshold ~ 2.5 sigma, soft ~ sigma), not tuned on
the test crop. A sweep on the (smoother) flower training crop preferred larger values (patch
pipeline at 300 steps: hard 2.5 -> 28.08 dB, 3.0 -> 28.51 dB; soft 1.0 -> 27.22 dB, 1.5 -> 27.94 dB),
which would over-smooth the detailed china crop.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from neurosim.errors import InputError, NetworkError, describe
from neurosim.estimators.warp import WarpLCA
from neurosim.solvers.lasso import fista
from neurosim.progress import Progress, report
from neurosim.solvers.lca import analog_lca

__all__ = ['sample_image', 'add_noise', 'psnr', 'extract_patches', 'merge_patches', 'learn_dictionary', 'PatchDenoiser', 'prepare_patch_denoiser', 'denoise_patches', 'MethodResult', 'compare_patch_methods', 'denoise_figure', 'METHODS', 'TEST_BOX', 'TRAIN_BOX']

log = logging.getLogger(__name__)


METHODS = ("cold", "warp", "fista")


#: default test crop: image 0 (china), rows 120.., cols 130.., 128 x 128 (pagoda and sky)
TEST_BOX = (0, 120, 130, 128, 128)


#: default training crop: image 1 (flower), 256 x 256 around the flower
TRAIN_BOX = (1, 100, 190, 256, 256)


def sample_image(index: int = 0, *, box: Optional[Sequence[int]] = None) -> np.ndarray:
    """Grayscale scikit-learn sample image ``index`` (0 china, 1 flower), values in ``[0, 1]``.

    ITU-R BT.601 luma ``(0.299 R + 0.587 G + 0.114 B) / 255``; ``box = (row, col, height, width)``
    crops it.
    """
    try:
        from sklearn.datasets import load_sample_images
        images = load_sample_images().images
    except ImportError as exc:
        raise InputError(f"sample images: cannot load scikit-learn's bundled images ({exc}); install scikit-learn "
                         "and pillow") from exc
    if not (isinstance(index, (int, np.integer)) and 0 <= index < len(images)):
        raise InputError(f"sample image: no image {index!r} (got {index!r}, expected 0..{len(images) - 1})")
    img = images[index][..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
    if box is None:
        return img
    r, c, h, w = (int(v) for v in box)
    if r < 0 or c < 0 or h < 1 or w < 1 or r + h > img.shape[0] or c + w > img.shape[1]:
        raise InputError(f"sample image {index}: crop {tuple(box)} does not fit (got {tuple(box)}, expected inside "
                         f"{img.shape})")
    return img[r:r + h, c:c + w].copy()


def add_noise(image: np.ndarray, sigma: float, *, seed: int = 0) -> np.ndarray:
    """``image + sigma * N(0, 1)`` (seeded)."""
    if not (np.isfinite(sigma) and sigma >= 0):
        raise InputError(f"noise: sigma must be >= 0 (got {sigma!r}, expected a finite value >= 0)")
    return image + sigma * np.random.default_rng(seed).standard_normal(image.shape)


def psnr(reference: np.ndarray, estimate: np.ndarray, *, peak: float = 1.0) -> float:
    """``10 log10(peak^2 / mean((reference - estimate)^2))`` in dB."""
    mse = float(np.mean((np.asarray(reference) - np.asarray(estimate)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def extract_patches(image: np.ndarray, size: int, stride: int = 1) -> np.ndarray:
    """All ``size x size`` patches on a grid of step ``stride`` (the last row/column always
    included), flattened row-major: ``(n, size^2)``."""
    ys, xs = _grid(image.shape, size, stride)
    win = np.lib.stride_tricks.sliding_window_view(image, (size, size))
    return win[ys[:, None], xs[None, :]].reshape(-1, size * size)


def _grid(shape, size: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    if size < 1 or stride < 1 or size > min(shape) or stride > size:
        raise NetworkError(describe("parameter", "size/stride", "invalid patch grid (a stride above the patch "
                                    "size leaves pixels uncovered)", got=(size, stride, shape),
                                    expected="1 <= size <= image side, 1 <= stride <= size"))
    ys = np.unique(np.r_[np.arange(0, shape[0] - size + 1, stride), shape[0] - size])
    xs = np.unique(np.r_[np.arange(0, shape[1] - size + 1, stride), shape[1] - size])
    return ys, xs


def merge_patches(patches: np.ndarray, shape: tuple[int, int], size: int, stride: int = 1) -> np.ndarray:
    """Average overlapping patches (from :func:`extract_patches`' grid) back into an image."""
    ys, xs = _grid(shape, size, stride)
    P = np.asarray(patches).reshape(ys.size, xs.size, size, size)
    out = np.zeros(shape)
    cnt = np.zeros(shape)
    for dy in range(size):
        for dx in range(size):
            np.add.at(out, (ys[:, None] + dy, xs[None, :] + dx), P[:, :, dy, dx])
            np.add.at(cnt, (ys[:, None] + dy, xs[None, :] + dx), 1.0)
    return out / cnt


def learn_dictionary(patches: np.ndarray, n_atoms: int, *, seed: int = 0, max_iter: int = 5,
                     progress: Optional[Progress] = None) -> np.ndarray:
    """Unit-norm dictionary ``(M, n_atoms)`` learned with scikit-learn's ``MiniBatchDictionaryLearning``
    (``progress("dictionary", 0 then 1, 1)`` around the fit, when given)."""
    from sklearn.decomposition import MiniBatchDictionaryLearning

    report(progress, "dictionary", 0, 1)
    dl = MiniBatchDictionaryLearning(n_components=int(n_atoms), alpha=1.0, batch_size=256, max_iter=int(max_iter),
                                     random_state=seed)
    D = dl.fit(np.asarray(patches, dtype=np.float64)).components_.T
    report(progress, "dictionary", 1, 1)
    return D / np.linalg.norm(D, axis=0)


@dataclass(frozen=True, eq=False)
class PatchDenoiser:
    """Everything learned on the training image.

    Attributes
    ----------
    dictionary : ndarray (size^2, N)
    scale : float
        Pixel standard deviation of the training image's mean-removed patches.
    size : int
        Patch side.
    sigma : float
        Noise level the predictor was trained for (pixel units).
    lam_hard, lam_soft : float
        Penalties in scaled units (``kappa * sigma / scale``).
    warp : WarpLCA
        Hard-threshold WARP model (dictionary, ``lam_hard``, predictor).
    """

    dictionary: np.ndarray
    scale: float
    size: int
    sigma: float
    lam_hard: float
    lam_soft: float
    warp: WarpLCA


def prepare_patch_denoiser(train_image: np.ndarray, *, sigma: float, size: int = 8, n_atoms: int = 128,
                           n_train: int = 20000, kappa_hard: float = 2.5, kappa_soft: float = 1.0,
                           predictor: str = "lista", predictor_options: Optional[dict] = None,
                           dictionary: Optional[np.ndarray] = None, dl_iter: int = 5, n_dict: int = 10000,
                           warp_options: Optional[dict] = None, seed: int = 0,
                           progress: Optional[Progress] = None) -> PatchDenoiser:
    """Learn the dictionary (unless given; on ``n_dict`` clean patches, ``dl_iter`` passes) and
    train the WARP predictor on ``n_train`` noisy patches of ``train_image`` (``warp_options``:
    further :class:`~neurosim.estimators.warp.WarpLCA` settings, e.g. ``target_steps``).
    ``progress(phase, done, total)`` hears ``"dictionary"``, ``"targets"`` and ``"predictor"``."""
    if not (np.isfinite(sigma) and sigma > 0):
        raise InputError(f"denoise: sigma must be positive (got {sigma!r}, expected > 0)")
    P = extract_patches(train_image, size, 1)
    P = P - P.mean(axis=1, keepdims=True)
    scale = float(P.std())
    rng = np.random.default_rng(seed)
    if dictionary is None:
        sel = rng.choice(P.shape[0], min(P.shape[0], n_dict), replace=False)
        dictionary = learn_dictionary(P[sel] / scale, n_atoms, seed=seed, max_iter=dl_iter, progress=progress)
    lam_h = kappa_hard * sigma / scale
    lam_s = kappa_soft * sigma / scale
    noisy = add_noise(train_image, sigma, seed=seed + 1)
    Pn = extract_patches(noisy, size, 1)
    Pn = Pn[rng.choice(Pn.shape[0], min(Pn.shape[0], n_train), replace=False)]
    Pn = (Pn - Pn.mean(axis=1, keepdims=True)) / scale
    warp = WarpLCA(dictionary, lam_h, predictor=predictor, predictor_options=predictor_options,
                   **(warp_options or {})).fit(Pn, progress=progress)
    return PatchDenoiser(dictionary=dictionary, scale=scale, size=size, sigma=float(sigma), lam_hard=lam_h,
                         lam_soft=lam_s, warp=warp)


@contextlib.contextmanager
def _quiet(logger: str):
    """Silence a logger's warnings (FISTA always 'fails' its tolerance at a fixed budget)."""
    lg = logging.getLogger(logger)
    level = lg.level
    lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lg.setLevel(level)


def _code(den: PatchDenoiser, Pn: np.ndarray, method: str, steps: int, dt_over_tau: float) -> np.ndarray:
    D = den.dictionary
    if method == "cold":
        return analog_lca(D, Pn, den.lam_hard, threshold="hard", steps=steps, dt_over_tau=dt_over_tau)
    if method == "warp":
        return analog_lca(D, Pn, den.lam_hard, threshold="hard", steps=steps, dt_over_tau=dt_over_tau,
                          u0=den.warp.initial_state(Pn))
    if method == "fista":
        with _quiet("neurosim.solvers.lasso"):
            return fista(D, Pn, den.lam_soft, max_iter=steps, tol=0.0, polish_every=0, adaptive=False)
    raise InputError(f"denoise: unknown method {method!r} (got {method!r}, expected one of {', '.join(METHODS)})")


def denoise_patches(noisy: np.ndarray, den: PatchDenoiser, *, method: str = "warp", steps: int = 100,
                    stride: int = 1, dt_over_tau: float = 0.1, return_codes: bool = False):
    """Denoise ``noisy`` patch by patch (module docstring); returns the image (and the codes)."""
    P = extract_patches(noisy, den.size, stride)
    mean = P.mean(axis=1, keepdims=True)
    A = _code(den, (P - mean) / den.scale, method, steps, dt_over_tau)
    est = merge_patches(den.scale * (A @ den.dictionary.T) + mean, noisy.shape, den.size, stride)
    return (est, A) if return_codes else est


@dataclass(frozen=True)
class MethodResult:
    """One method's denoising: ``image``, ``psnr`` (dB), mean ``l0`` per code, ``steps``."""

    method: str
    image: np.ndarray
    psnr: float
    l0: float
    steps: int


def compare_patch_methods(clean: np.ndarray, noisy: np.ndarray, den: PatchDenoiser, *, steps: int = 100,
                          methods: Sequence[str] = METHODS, stride: int = 1,
                          progress: Optional[Progress] = None) -> list[MethodResult]:
    """Run every method at the same step budget; PSNR against ``clean`` (``progress("denoising",
    methods done, methods)`` before the first and after every method, when given)."""
    out = []
    report(progress, "denoising", 0, len(methods))
    for m in methods:
        img, A = denoise_patches(noisy, den, method=m, steps=steps, stride=stride, return_codes=True)
        out.append(MethodResult(m, img, psnr(clean, img), float((A != 0).sum(axis=1).mean()), steps))
        log.info("patch denoising %s: PSNR %.2f dB", m, out[-1].psnr)
        report(progress, "denoising", len(out), len(methods))
    return out


def denoise_figure(clean: np.ndarray, noisy: np.ndarray, rows: dict[str, Sequence[MethodResult]]):
    """A matplotlib ``Figure`` (no pyplot state): clean and noisy images, then one row of
    denoised images per entry of ``rows`` (title: method and PSNR)."""
    from matplotlib.figure import Figure

    ncol = max(2, max((len(r) for r in rows.values()), default=0))
    fig = Figure(figsize=(3.0 * ncol, 3.1 * (1 + len(rows))), layout="constrained")
    axes = fig.subplots(1 + len(rows), ncol, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].imshow(clean, cmap="gray", vmin=0, vmax=1)
    axes[0, 0].set_title("clean")
    axes[0, 1].imshow(noisy, cmap="gray", vmin=0, vmax=1)
    axes[0, 1].set_title(f"noisy ({psnr(clean, noisy):.2f} dB)")
    for i, (label, results) in enumerate(rows.items(), start=1):
        for j, r in enumerate(results):
            axes[i, j].imshow(np.clip(r.image, 0, 1), cmap="gray", vmin=0, vmax=1)
            axes[i, j].set_title(f"{label} {r.method}: {r.psnr:.2f} dB ({r.steps} steps)", fontsize=9)
    return fig

