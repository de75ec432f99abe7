"""Figures for ``neurosim learn``: learned atoms as an image grid, training curves (matplotlib Agg)."""
from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from neurosim.data.planted import channel_merge
from neurosim.errors import InputError
from neurosim.io.atomic import atomic_write_bytes, check_writable

__all__ = ["plot_atoms", "plot_history"]


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, *, force: bool) -> Path:
    try:
        check_writable(path, overwrite=force)
    except InputError:
        _figure().close(fig)  # a refused plot leaves no open figure
        raise
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _figure().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_atoms(D: np.ndarray, path: Path, *, shape: tuple[int, int], split: bool, force: bool = False,
               max_atoms: int = 256) -> Path:
    """Grid of atoms (columns of ``D``), each reshaped to ``shape``; with ``split`` the positive
    and negative channels are merged first (positive minus negative). Atoms are sorted by norm."""
    plt = _figure()
    A = channel_merge(D) if split else np.asarray(D)
    order = np.argsort(-np.linalg.norm(D, axis=0))[:max_atoms]
    A = A[:, order]
    if A.shape[0] != shape[0] * shape[1]:
        side = int(math.ceil(math.sqrt(A.shape[0])))
        A = np.vstack([A, np.zeros((side * side - A.shape[0], A.shape[1]))])
        shape = (side, side)
    n = A.shape[1]
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    # at least 3.5 in wide so the title fits over a small grid
    fig, axes = plt.subplots(rows, cols, figsize=(max(cols * 0.6, 3.5), max(rows * 0.6, 1.2) + 0.4))
    for k, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.axis("off")
        if k < n:
            img = A[:, k].reshape(shape)
            lim = max(np.abs(img).max(), 1e-12)
            ax.imshow(img, cmap="gray" if not split else "RdBu_r", vmin=-lim if split else 0, vmax=lim)
    fig.suptitle(f"{n} learned atoms (sorted by norm)", fontsize=10)
    return _save(fig, path, force=force)


def plot_history(history: dict, path: Path, *, title: str = "", force: bool = False) -> Path:
    """Held-out objective, consistency ``1 - ||H - FB||/||H||`` and F/B symmetry over training."""
    plt = _figure()
    x = np.asarray(history["samples"])
    panels = [("test_objective", "held-out objective"), ("consistency", "consistency"), ("symmetry", "F/B symmetry")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, (key, label) in zip(axes, panels):
        y = np.asarray(history.get(key, []), dtype=float)
        if y.size and np.isfinite(y).any():
            ax.plot(x[:y.size], y, marker="o", ms=3)
        else:
            ax.text(0.5, 0.5, "n/a for this method", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("training samples")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path, force=force)
