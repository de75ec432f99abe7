"""The plots of a sweep.

* ``pareto.png`` -- energy per input against time to solution (log-log), one dot per ok point
  coloured by its solution gap, the Pareto front (:func:`~neurosim.app.sweeptable.pareto_front`)
  circled and joined in order of time to solution;
* ``axis_<key>.png`` -- for each axis key, every metric of :data:`PLOTTED` against that key's
  values (categorical keys are placed at equal spacing in first-seen order), one panel per metric.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurosim.app.sweeptable import solution_gap
from neurosim.plots import _plt, save_png

__all__ = ["pareto_figure", "axis_figure", "axis_plot_name", "save_sweep_figures", "PLOTTED"]

#: metrics drawn against each axis: column -> label
PLOTTED = {"energy_per_input_j": "energy per input (J)", "time_to_solution_s": "time to solution (s)",
           "edp_js": "EDP per input (J s)", "solution_gap": "solution gap", "cores": "cores",
           "busiest_link": "busiest link (packets/step)", "packets": "packets", "mapper_wall_s": "mapper wall time (s)"}


def axis_plot_name(key: str) -> str:
    """File name of the plot of ``key`` (``axis_chip.core.weight_bits.png``)."""
    return "axis_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".png"


def _metric(row: dict[str, Any], m: str) -> float:
    v = solution_gap(row) if m == "solution_gap" else row.get(m)
    return float(v) if v is not None else math.nan


def pareto_figure(rows: Sequence[dict[str, Any]], front: Sequence[int], *, title: str):
    """The Pareto figure (see the module docstring); ``rows`` as from ``result_rows``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    # the best gaps drawn last: points that coincide in energy and time show their best gap
    ok = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: -np.nan_to_num(_metric(r, "solution_gap"),
                                                                                       nan=np.inf))
    x = np.array([_metric(r, "time_to_solution_s") for r in ok])
    y = np.array([_metric(r, "energy_per_input_j") for r in ok])
    gap = np.array([_metric(r, "solution_gap") for r in ok])
    if ok:
        finite = gap[np.isfinite(gap)]
        if finite.size:
            norm = None
            if finite.min() > 0 and finite.max() / finite.min() >= 100:
                from matplotlib.colors import LogNorm

                norm = LogNorm(vmin=finite.min(), vmax=finite.max())
            sc = ax.scatter(x, y, c=gap, cmap="viridis_r", norm=norm, s=36, zorder=2, edgecolors="none")
            fig.colorbar(sc, ax=ax, label="solution gap (relative to FISTA's LASSO optimum; lower is better)")
        else:  # no solution quality (a NIR graph): the front is of energy and time only
            ax.scatter(x, y, s=36, zorder=2, color="tab:blue")
        fr = sorted((rows[i] for i in front), key=lambda r: _metric(r, "time_to_solution_s"))
        fx = [_metric(r, "time_to_solution_s") for r in fr]
        fy = [_metric(r, "energy_per_input_j") for r in fr]
        ax.plot(fx, fy, "-", color="tab:red", lw=1, zorder=1)
        ax.scatter(fx, fy, s=150, facecolors="none", edgecolors="tab:red", lw=1.5, zorder=3,
                   label=f"Pareto front ({len(fr)} points: energy, time" + (", gap)" if finite.size else ")"))
        for r in fr:
            ax.annotate(str(r["point"]), (_metric(r, "time_to_solution_s"), _metric(r, "energy_per_input_j")),
                        textcoords="offset points", xytext=(6, 4), fontsize=7, color="tab:red")
        if np.all(x > 0) and np.all(y > 0):
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no point finished ok", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("time to solution per input (s)")
    ax.set_ylabel("energy per input (J)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    return fig


def _positions(values: Sequence[Any]) -> tuple[np.ndarray, list[str] | None]:
    """Numbers stay numbers; anything else becomes equally spaced categories (with tick labels)."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=float), None
    labels = list(dict.fromkeys(json.dumps(v) if isinstance(v, (list, dict)) else str(v) for v in values))
    pos = {s: i for i, s in enumerate(labels)}
    return np.array([pos[json.dumps(v) if isinstance(v, (list, dict)) else str(v)] for v in values], float), labels


def axis_figure(rows: Sequence[dict[str, Any]], key: str, *, title: str):
    """Every metric of :data:`PLOTTED` against axis ``key`` (ok points only)."""
    plt = _plt()
    ok = [r for r in rows if r["status"] == "ok"]
    n = len(PLOTTED)
    cols = 4
    fig, axes = plt.subplots(math.ceil(n / cols), cols, figsize=(4 * cols, 3.2 * math.ceil(n / cols)), squeeze=False)
    xs, labels = _positions([r[key] for r in ok]) if ok else (np.array([]), None)
    for ax, (m, label) in zip(axes.flat, PLOTTED.items()):
        y = np.array([_metric(r, m) for r in ok])
        ax.scatter(xs, y, s=14, alpha=0.7)
        if labels is not None:
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=30, fontsize=7)
        elif len(xs) and np.all(xs > 0) and xs.max() / xs.min() >= 16:
            ax.set_xscale("log")
        finite = y[np.isfinite(y)]
        if finite.size and finite.min() > 0 and finite.max() / finite.min() >= 100:
            ax.set_yscale("log")
        elif not finite.size:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        ax.set_xlabel(key, fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_sweep_figures(rows: Sequence[dict[str, Any]], front: Sequence[int], axis_keys: Sequence[str], out: Path,
                       *, name: str) -> list[str]:
    """Write ``pareto.png`` and one ``axis_<key>.png`` per axis key into ``out``; return the names."""
    written = []
    save_png(pareto_figure(rows, front, title=f"sweep '{name}': energy vs time to solution"), out / "pareto.png")
    written.append("pareto.png")
    for key in axis_keys:
        fname = axis_plot_name(key)
        save_png(axis_figure(rows, key, title=f"sweep '{name}': metrics against {key} (ok points)"), out / fname)
        written.append(fname)
    return written
