"""Figures of a mapping (matplotlib, Agg backend): core utilisation and link traffic on the mesh.

Both draw the board-global tile mesh (X east-west, Y north-south, chips side by side; chip
boundaries dashed), cropped to the *used region*: the bounding box of the tiles holding a used
core and of the links carrying traffic, widened by :data:`MARGIN_TILES` tiles and clipped to the
mesh. Axis labels keep the board-global tile coordinates; the title says when the view is cropped.

Plot cost is bounded whatever the chip's size: the figure is at most :data:`MAX_FIGURE_IN`
inches a side (a tile gets ``min(CELL_IN, (MAX_FIGURE_IN - pad) / tiles)`` inches), so at the
110 dpi of :func:`neurosim.plots.save_png` an image has at most about ``(110 * 16)^2 ~ 3.1e6``
pixels; per-tile labels are drawn only while tiles are large enough to read (at most
:data:`MAX_LABELS` of them). The link segments are built with numpy over the cropped region only.
A figure that still cannot be drawn or saved is skipped: :func:`save_figure` logs a warning and
returns ``None``, and :func:`save_mapping_figures` returns a note for it. Files are written
atomically through :mod:`neurosim.io.atomic`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from neurosim.plots import save_png

from .resources import RESOURCES
from .mesh import DIRS, grid_shape, tile_coords

__all__ = ["utilisation_figure", "link_traffic_figure", "save_figure", "save_mapping_figures", "used_region",
           "MARGIN_TILES", "MAX_FIGURE_IN", "CELL_IN", "MAX_LABELS", "FIGURES"]

log = logging.getLogger(__name__)

#: tiles of context around the used region
MARGIN_TILES = 1
#: largest figure side, inches (at 110 dpi: 1760 px)
MAX_FIGURE_IN = 16.0
#: preferred side of one tile, inches (shrunk so the figure stays within MAX_FIGURE_IN)
CELL_IN = 0.6
#: most per-tile text labels drawn on the utilisation map
MAX_LABELS = 400
_PAD_IN = (2.0, 1.0)  # colour bar and axis labels (x, y)


@dataclass(frozen=True)
class Region:
    """The tiles shown: ``x0 <= X <= x1``, ``y0 <= Y <= y1`` (board-global), of a ``gx x gy`` mesh."""

    x0: int
    x1: int
    y0: int
    y1: int
    gx: int
    gy: int

    @property
    def nx(self) -> int:
        return self.x1 - self.x0 + 1

    @property
    def ny(self) -> int:
        return self.y1 - self.y0 + 1

    @property
    def cropped(self) -> bool:
        return (self.nx, self.ny) != (self.gx, self.gy)

    def label(self) -> str:
        """`` (tiles X a..b, Y c..d of the gx x gy mesh)`` when cropped, else ``""``."""
        if not self.cropped:
            return ""
        return f" (tiles X {self.x0}..{self.x1}, Y {self.y0}..{self.y1} of the {self.gx}x{self.gy} mesh)"


def used_region(result: Any, *, margin: int = MARGIN_TILES) -> Region:
    """Bounding box of the tiles of the used cores and of the loaded links, plus ``margin`` tiles.

    A link ``E``/``W`` at ``[y, x]`` joins tiles ``x`` and ``x + 1`` of row ``y``, ``N``/``S`` at
    ``[y, x]`` tiles ``y`` and ``y + 1`` of column ``x`` (:func:`mapper.mesh.link_loads`); both
    ends are included. Without any used core the whole mesh's first ``1 + margin`` tiles are shown.
    """
    chip = result.chip
    gy, gx = grid_shape(chip)
    X, Y = tile_coords(chip)
    core = np.asarray(result.placement.core, dtype=np.int64)
    xs, ys = [X[core]], [Y[core]]
    loads = getattr(result.routing, "link_load", None) or {}
    for d in DIRS:
        load = loads.get(d)
        if load is None:
            continue
        yy, xx = np.nonzero(np.asarray(load) > 0)
        if d in ("E", "W"):
            xs += [xx, np.minimum(xx + 1, gx - 1)]
            ys += [yy, yy]
        else:
            xs += [xx, xx]
            ys += [yy, np.minimum(yy + 1, gy - 1)]
    xs_all, ys_all = np.concatenate(xs), np.concatenate(ys)
    if xs_all.size == 0:
        return Region(0, min(gx - 1, margin), 0, min(gy - 1, margin), gx, gy)
    m = max(0, int(margin))
    return Region(max(0, int(xs_all.min()) - m), min(gx - 1, int(xs_all.max()) + m),
                  max(0, int(ys_all.min()) - m), min(gy - 1, int(ys_all.max()) + m), gx, gy)


def _cell_in(region: Region) -> float:
    """Inches per tile: :data:`CELL_IN`, shrunk so neither side exceeds :data:`MAX_FIGURE_IN`."""
    room = min(MAX_FIGURE_IN - _PAD_IN[0], MAX_FIGURE_IN - _PAD_IN[1])
    return min(CELL_IN, room / max(region.nx, region.ny))


def _figsize(region: Region, cell: float) -> tuple[float, float]:
    return (min(MAX_FIGURE_IN, max(4.0, region.nx * cell + _PAD_IN[0])),
            min(MAX_FIGURE_IN, max(3.0, region.ny * cell + _PAD_IN[1])))


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _chip_lines(ax: Any, chip: Any, region: Region) -> None:
    """Dashed chip boundaries inside ``region``, and integer tile ticks."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    tx, ty = chip.noc.tile_grid
    cx, cy = chip.noc.chip_grid
    for i in range(1, cx):
        if region.x0 < i * tx <= region.x1:
            ax.axvline(i * tx - 0.5, color="k", ls="--", lw=1)
    for j in range(1, cy):
        if region.y0 < j * ty <= region.y1:
            ax.axhline(j * ty - 0.5, color="k", ls="--", lw=1)


def utilisation_figure(result: Any) -> Any:
    """Heat map per tile of the highest utilisation (used / limit, any resource) of its cores.

    A tile's value is ``max_{c on the tile} max_r used_r(c) / limit_r`` over the used cores ``c``
    and the limited resources ``r`` (dimensionless, 0..1 when the mapping is feasible); tiles
    without a used core are blank. Only the used region is drawn (:func:`used_region`).
    """
    plt = _plt()
    chip, part, pl = result.chip, result.partition, result.placement
    region = used_region(result)
    X, Y = tile_coords(chip)
    util = part.usage.utilisation()
    per_part = np.max(np.stack([util[r] for r in RESOURCES]), axis=0)
    grid = np.full((region.ny, region.nx), np.nan)
    cores = np.zeros((region.ny, region.nx), dtype=int)
    core = np.asarray(pl.core, dtype=np.int64)
    if core.size:
        yi, xi = Y[core] - region.y0, X[core] - region.x0
        np.fmax.at(grid, (yi, xi), per_part[: core.size])  # NaN (empty) loses to any value
        np.add.at(cores, (yi, xi), 1)
    cell = _cell_in(region)
    fig, ax = plt.subplots(figsize=_figsize(region, cell))
    im = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=1, interpolation="nearest",
                   extent=(region.x0 - 0.5, region.x1 + 0.5, region.y0 - 0.5, region.y1 + 0.5))
    used_y, used_x = np.nonzero(cores)
    if used_y.size <= MAX_LABELS and cell >= 0.35:
        for y, x in zip(used_y.tolist(), used_x.tolist()):
            ax.text(x + region.x0, y + region.y0, f"{grid[y, x]:.0%}\n{cores[y, x]}c", ha="center", va="center",
                    fontsize=7, color="k" if grid[y, x] > 0.6 else "w")  # readable on viridis' light end
    _chip_lines(ax, chip, region)
    ax.set_xlabel("tile X (east-west)")
    ax.set_ylabel("tile Y (north-south)")
    ax.set_title(f"{chip.name}: highest core utilisation per tile ({part.n_parts} cores used){region.label()}",
                 fontsize=10, wrap=True)
    fig.colorbar(im, ax=ax, label="used / limit (max over resources)")
    fig.tight_layout()
    return fig


def _link_segments(rt: Any, region: Region) -> tuple[np.ndarray, np.ndarray]:
    """Arrow segments ``(m, 2, 2)`` and loads ``(m,)`` of the links inside ``region`` (vectorised)."""
    off = 0.12
    ys, xs = np.mgrid[region.y0:region.y1 + 1, region.x0:region.x1 + 1]
    segs, vals = [], []
    for d in DIRS:
        keep = (xs < region.x1) if d in ("E", "W") else (ys < region.y1)  # the link's far end is shown too
        x, y = xs[keep].astype(float), ys[keep].astype(float)
        load = np.asarray(rt.link_load[d])[ys[keep], xs[keep]] if d in rt.link_load else np.zeros(x.size)
        if d == "E":
            a, b = np.stack([x + 0.15, y + off], -1), np.stack([x + 0.85, y + off], -1)
        elif d == "W":
            a, b = np.stack([x + 0.85, y - off], -1), np.stack([x + 0.15, y - off], -1)
        elif d == "N":
            a, b = np.stack([x - off, y + 0.15], -1), np.stack([x - off, y + 0.85], -1)
        else:
            a, b = np.stack([x + off, y + 0.85], -1), np.stack([x + off, y + 0.15], -1)
        segs.append(np.stack([a, b], 1))
        vals.append(load.astype(float))
    return np.concatenate(segs) if segs else np.zeros((0, 2, 2)), np.concatenate(vals) if vals else np.zeros(0)


def link_traffic_figure(result: Any) -> Any:
    """Every mesh link of the used region drawn as a short arrow coloured by its load.

    The load of a link is the packets crossing it per mean step (``Routing.link_load``, packets
    per step); the colour scale runs from 0 to the busiest link.
    """
    plt = _plt()
    from matplotlib.collections import LineCollection

    chip, rt = result.chip, result.routing
    region = used_region(result)
    segs, vals = _link_segments(rt, region)
    cell = _cell_in(region)
    fig, ax = plt.subplots(figsize=_figsize(region, cell))
    lc = LineCollection(segs, array=vals, cmap="inferno_r", linewidths=max(0.3, 3.0 * cell / CELL_IN))
    lc.set_clim(0.0, float(vals.max()) if vals.size and vals.max() > 0 else 1.0)  # no traffic: all links light
    ax.add_collection(lc)
    gxs, gys = np.meshgrid(np.arange(region.x0, region.x1 + 1), np.arange(region.y0, region.y1 + 1))
    ax.scatter(gxs.ravel(), gys.ravel(), s=max(1.0, 30.0 * (cell / CELL_IN) ** 2), c="0.6", zorder=3)
    _chip_lines(ax, chip, region)
    ax.set_xlim(region.x0 - 0.5, region.x1 + 0.5)
    ax.set_ylim(region.y0 - 0.5, region.y1 + 0.5)
    ax.set_aspect("equal")
    b = rt.busiest
    ax.set_title(f"link load (packets/step); busiest {b['dir']} at ({b['x']},{b['y']}): {b['load']:.3g}"
                 f"{region.label()}", fontsize=10, wrap=True)
    ax.set_xlabel("tile X (east-west)")
    ax.set_ylabel("tile Y (north-south)")
    fig.colorbar(lc, ax=ax, label="packets per step")
    fig.tight_layout()
    return fig


#: the figures of a mapping: file name -> drawing function
FIGURES: dict[str, Callable[[Any], Any]] = {"core_utilisation.png": utilisation_figure,
                                            "link_traffic.png": link_traffic_figure}

_DRAW_ERRORS = (MemoryError, ValueError, RuntimeError, OverflowError)


def save_figure(fig: Any, path: Union[str, Path]) -> Optional[Path]:
    """Save a figure as PNG atomically and close it (:func:`neurosim.plots.save_png`).

    Returns the path, or ``None`` (a warning logged, nothing written) when the image cannot be
    rendered (out of memory, an image too large for the backend).
    """
    try:
        return save_png(fig, path)
    except _DRAW_ERRORS as exc:
        _plt().close(fig)
        log.warning("plot %s skipped: cannot be drawn (%s: %s)", path, type(exc).__name__, exc)
        return None


def save_mapping_figures(result: Any, out: Union[str, Path]) -> tuple[list[Path], list[str]]:
    """Draw and save every figure of :data:`FIGURES` into directory ``out``.

    Returns
    -------
    (written, notes)
        The files written, and one note per figure skipped because it could not be drawn.
    """
    written, notes = [], []
    for name, draw in FIGURES.items():
        path = Path(out) / name
        try:
            fig = draw(result)
        except _DRAW_ERRORS as exc:
            fig = None
            why = f"{type(exc).__name__}: {exc}"
        saved = save_figure(fig, path) if fig is not None else None
        if saved is None:
            if fig is not None:
                why = "rendering failed (see the log)"
            notes.append(f"plot {name} skipped: it could not be drawn ({why})")
        else:
            written.append(saved)
    return written, notes
