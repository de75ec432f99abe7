"""Figures of a run: spike raster (or graded output map) and decoded codes against a reference."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Optional, Union

import numpy as np

from neurosim.io.atomic import atomic_write_bytes

__all__ = ["activity_figure", "save_png"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def activity_figure(record: np.ndarray, *, dt_s: float, graded: bool, title: str,
                    codes: Optional[np.ndarray] = None, reference: Optional[np.ndarray] = None):
    """Raster of one input's run (``record`` shaped ``(steps, n)``: booleans for spikes, floats
    for graded outputs) and, when given, its decoded code against a reference code (e.g. FISTA's)."""
    plt = _plt()
    rows = 2 if codes is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(8, 3.2 * rows), squeeze=False)
    ax = axes[0, 0]
    t = np.arange(record.shape[0]) * dt_s
    if graded:
        im = ax.imshow(record.T, aspect="auto", origin="lower", cmap="coolwarm",
                       extent=(0, t[-1] + dt_s if t.size else 1, -0.5, record.shape[1] - 0.5))
        fig.colorbar(im, ax=ax, label="output a")
    else:
        steps, neurons = np.nonzero(record)
        ax.scatter(t[steps], neurons, s=1, c="k", marker="|")
        ax.set_xlim(0, t[-1] + dt_s if t.size else 1)
        ax.set_ylim(-0.5, record.shape[1] - 0.5)
    ax.set_xlabel("time (model seconds)")
    ax.set_ylabel("neuron")
    ax.set_title(title, fontsize=10)
    if codes is not None:
        ax2 = axes[1, 0]
        idx = np.arange(codes.size)
        if reference is not None:
            ax2.bar(idx, reference, width=1.0, color="0.75", label="reference (FISTA)")
        ax2.plot(idx, codes, "r.", ms=3, label="decoded")
        ax2.set_xlabel("atom")
        ax2.set_ylabel("code")
        ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_png(fig, path: Union[str, Path]) -> Path:
    """Save a figure as PNG atomically and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return atomic_write_bytes(path, buf.getvalue())
