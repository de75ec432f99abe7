"""Figures of a mapping (matplotlib, Agg backend): core utilisation and link traffic on the mesh.

Both draw the board-global tile mesh (X east-west, Y north-south, chips side by side; chip
boundaries dashed). Files are written atomically through :mod:`neurosim.io`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np

from neurosim.plots import save_png

from .resources import RESOURCES
from .route import DIRS, grid_shape, tile_coords

__all__ = ["utilisation_figure", "link_traffic_figure", "save_figure"]


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _chip_lines(ax, chip) -> None:
    tx, ty = chip.noc.tile_grid
    cx, cy = chip.noc.chip_grid
    for i in range(1, cx):
        ax.axvline(i * tx - 0.5, color="k", ls="--", lw=1)
    for j in range(1, cy):
        ax.axhline(j * ty - 0.5, color="k", ls="--", lw=1)


def utilisation_figure(result):
    """Heat map per tile of the highest utilisation (used / limit, any resource) of its cores."""
    plt = _plt()
    chip, part, pl = result.chip, result.partition, result.placement
    gy, gx = grid_shape(chip)
    X, Y = tile_coords(chip)
    util = part.usage.utilisation()
    per_part = np.max(np.stack([util[r] for r in RESOURCES]), axis=0)
    grid = np.full((gy, gx), np.nan)
    cores = np.zeros((gy, gx), dtype=int)
    for i, c in enumerate(pl.core):
        x, y = X[c], Y[c]
        grid[y, x] = max(np.nan_to_num(grid[y, x], nan=0.0), per_part[i])
        cores[y, x] += 1
    fig, ax = plt.subplots(figsize=(max(4, gx * 0.6 + 2), max(3, gy * 0.6 + 1)))
    im = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=1)
    for y in range(gy):
        for x in range(gx):
            if cores[y, x]:
                ax.text(x, y, f"{grid[y, x]:.0%}\n{cores[y, x]}c", ha="center", va="center", fontsize=7,
                        color="k" if grid[y, x] > 0.6 else "w")  # readable on viridis' light end
    _chip_lines(ax, chip)
    ax.set_xlabel("tile X (east-west)")
    ax.set_ylabel("tile Y (north-south)")
    ax.set_title(f"{chip.name}: highest core utilisation per tile ({part.n_parts} cores used)", fontsize=10)
    fig.colorbar(im, ax=ax, label="used / limit (max over resources)")
    fig.tight_layout()
    return fig


def link_traffic_figure(result):
    """Every mesh link drawn as a short arrow coloured by its load (packets per step)."""
    plt = _plt()
    from matplotlib.collections import LineCollection

    chip, rt = result.chip, result.routing
    gy, gx = grid_shape(chip)
    segs, vals = [], []
    off = 0.12
    for d in DIRS:
        load = rt.link_load[d]
        for y in range(gy):
            for x in range(gx):
                if d in ("E", "W") and x >= gx - 1 or d in ("N", "S") and y >= gy - 1:
                    continue
                if d == "E":
                    seg = [(x + 0.15, y + off), (x + 0.85, y + off)]
                elif d == "W":
                    seg = [(x + 0.85, y - off), (x + 0.15, y - off)]
                elif d == "N":
                    seg = [(x - off, y + 0.15), (x - off, y + 0.85)]
                else:
                    seg = [(x + off, y + 0.85), (x + off, y + 0.15)]
                segs.append(seg)
                vals.append(load[y, x])
    fig, ax = plt.subplots(figsize=(max(4, gx * 0.7 + 2), max(3, gy * 0.7 + 1)))
    vals = np.asarray(vals, dtype=float)
    lc = LineCollection(segs, array=vals, cmap="inferno_r", linewidths=3)
    lc.set_clim(0.0, float(vals.max()) if vals.size and vals.max() > 0 else 1.0)  # no traffic: all links light
    ax.add_collection(lc)
    ax.scatter(*np.meshgrid(np.arange(gx), np.arange(gy)), s=30, c="0.6", zorder=3)
    _chip_lines(ax, chip)
    ax.set_xlim(-0.5, gx - 0.5)
    ax.set_ylim(-0.5, gy - 0.5)
    ax.set_aspect("equal")
    b = rt.busiest
    ax.set_title(f"link load (packets/step); busiest {b['dir']} at ({b['x']},{b['y']}): {b['load']:.3g}", fontsize=10)
    ax.set_xlabel("tile X (east-west)")
    ax.set_ylabel("tile Y (north-south)")
    fig.colorbar(lc, ax=ax, label="packets per step")
    fig.tight_layout()
    return fig


def save_figure(fig, path: Union[str, Path]) -> Path:
    """Save a figure as PNG atomically and close it (:func:`neurosim.plots.save_png`)."""
    return save_png(fig, path)
