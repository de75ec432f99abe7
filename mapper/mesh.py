"""Mesh geometry every stage may use: tile coordinates of cores, XY paths and link indexing.

Cores and tiles
---------------
The board is ``chip_grid = (cx, cy)`` chips side by side, each a ``tile_grid = (tx, ty)`` mesh of
tiles with ``cores_per_tile`` cores (:class:`~mapper.chipspec.NocSpec`). Board core ``c`` is core
``c mod cores_per_chip`` of chip ``c div cores_per_chip`` (chips numbered row by row), and its
board-global tile is ``(X, Y) = (i tx + x, j ty + y)`` for chip ``(i, j)`` and chip-local tile
``(x, y)`` (:meth:`ChipSpec.global_tile` and :meth:`ChipSpec.address`, vectorised by
:func:`tile_coords`). The board is one ``GX x GY`` tile mesh with ``GX = tx cx``, ``GY = ty cy``
(:func:`grid_shape`); X runs east-west, Y north-south.

Links
-----
Link grids are arrays indexed ``[Y, X]``, one per direction (:data:`DIRS`):
``E[y, x]``: ``(x, y) -> (x + 1, y)``; ``W[y, x]``: ``(x + 1, y) -> (x, y)``;
``N[y, x]``: ``(x, y) -> (x, y + 1)``; ``S[y, x]``: ``(x, y + 1) -> (x, y)``.
A link crosses a chip boundary when ``(x + 1) mod tx = 0`` (E/W) or ``(y + 1) mod ty = 0`` (N/S)
(:func:`boundary_masks`); a path from ``a`` to ``b`` along one axis crosses
``hi div t - lo div t`` boundaries, ``lo, hi = min, max(a, b)`` (:func:`crossings`).

XY paths
--------
Dimension-order routing moves along X on the source row, then along Y on the destination
column. :func:`runs` turns messages into straight *runs* of links (``line, lo, hi, w``: links
``lo .. hi - 1`` of row or column ``line``, each traversed ``w`` times per step) under two models:

* multicast tree: the union of the XY paths from the source tile ``(x_s, y_s)`` to all
  destination tiles, shared links counted once: ``E = max(0, max_d x_d - x_s)``,
  ``W = max(0, x_s - min_d x_d)`` on the source row and, for every destination column ``x``,
  ``N = max(0, max y - y_s)``, ``S = max(0, y_s - min y)``;
* unicast: every packet on its own path, ``|x_d - x_s|`` E-W and ``|y_d - y_s|`` N-S hops.

:func:`link_loads` sums runs into the link grids (difference arrays and cumulative sums, so the
cost is linear in runs plus links, not in path lengths). :func:`block_shape` is the most compact
rectangle of tiles for a number of tiles (the ``"block"`` placer and the ``"steiner"``
partitioner use it).
"""
from __future__ import annotations

import numpy as np

from .chipspec import ChipSpec

__all__ = ["DIRS", "tile_coords", "grid_shape", "boundary_masks", "crossings", "block_shape", "runs", "link_loads"]

#: link directions, in the order of every link-grid dictionary
DIRS = ("E", "W", "N", "S")


def tile_coords(chip: ChipSpec) -> tuple[np.ndarray, np.ndarray]:
    """Board-global tile ``(X, Y)`` of every core of the board, vectorised :meth:`ChipSpec.global_tile`."""
    cores = np.arange(chip.n_cores)
    chip_i, local = np.divmod(cores, chip.cores_per_chip)
    tile = local // chip.noc.cores_per_tile
    tx, ty = chip.noc.tile_grid
    y, x = np.divmod(tile, tx)
    cy, cx = np.divmod(chip_i, chip.noc.chip_grid[0])
    return cx * tx + x, cy * ty + y


def grid_shape(chip: ChipSpec) -> tuple[int, int]:
    """``(GY, GX)`` of the board-global tile mesh (the shape of every link grid)."""
    return chip.noc.tile_grid[1] * chip.noc.chip_grid[1], chip.noc.tile_grid[0] * chip.noc.chip_grid[0]


def boundary_masks(chip: ChipSpec) -> dict[str, np.ndarray]:
    """Boolean ``[Y, X]`` masks of the links that cross a chip boundary, per direction."""
    gy, gx = grid_shape(chip)
    tx, ty = chip.noc.tile_grid
    ew = np.broadcast_to(((np.arange(gx) + 1) % tx == 0) & (np.arange(gx) < gx - 1), (gy, gx))
    ns = np.broadcast_to((((np.arange(gy) + 1) % ty == 0) & (np.arange(gy) < gy - 1))[:, None], (gy, gx))
    return {"E": ew, "W": ew, "N": ns, "S": ns}


def crossings(a: np.ndarray, b: np.ndarray, period: int) -> np.ndarray:
    """Chip boundaries between tile coordinates ``a`` and ``b`` (either order) of one axis with
    ``period`` tiles per chip."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return hi // period - lo // period


def block_shape(n_tiles: int, grid: tuple[int, int]) -> tuple[int, int]:
    """``(w, h)`` of the most compact rectangle of at least ``n_tiles`` tiles on a ``(gx, gy)`` grid.

    Minimises ``w + h`` (the mean XY distance between two tiles of a ``w x h`` block is
    ``(w^2 - 1) / (3 w) + (h^2 - 1) / (3 h)``, increasing in both), then the spare tiles ``w h - n``.
    Returns the whole grid when no rectangle of it holds ``n_tiles``.
    """
    gx, gy = grid
    best = None
    for h in range(1, gy + 1):
        w = -(-n_tiles // h)
        if w > gx:
            continue
        key = (w + h, w * h - n_tiles, -w)
        if best is None or key < best[0]:
            best = (key, (w, h))
    return best[1] if best else (gx, gy)


def runs(sx: np.ndarray, sy: np.ndarray, *, dx: np.ndarray, dy: np.ndarray, lens: np.ndarray, w_net: np.ndarray,
         multicast: bool, gx: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Link runs ``dir -> (line, lo, hi, w)`` of messages under XY routing (module doc).

    Source tile ``(sx, sy)`` per message group ("net"), destination tiles ``(dx, dy)``
    concatenated net after net (``lens`` per net, all >= 1), weight ``w_net`` (traversals per step);
    ``gx`` bounds the X coordinates. A run covers the links ``lo .. hi - 1`` of row ``line`` (E/W;
    link ``i`` joins x = i and i + 1) or column ``line`` (N/S). Empty runs are dropped.
    """
    n = lens.size
    out = {}
    if n == 0:
        z = np.zeros(0, np.int64)
        return {d: (z, z, z, np.zeros(0)) for d in DIRS}
    e_net = np.repeat(np.arange(n), lens)
    if multicast:
        starts = np.cumsum(lens) - lens
        maxx, minx = np.maximum.reduceat(dx, starts), np.minimum.reduceat(dx, starts)
        out["E"] = (sy, sx, maxx, w_net)
        out["W"] = (sy, minx, sx, w_net)
        flat = e_net * gx + dx
        lo_inf, hi_inf = np.iinfo(np.int64).min, np.iinfo(np.int64).max
        maxy = np.full(n * gx, lo_inf, dtype=np.int64)
        miny = np.full(n * gx, hi_inf, dtype=np.int64)
        np.maximum.at(maxy, flat, dy)
        np.minimum.at(miny, flat, dy)
        u = np.flatnonzero(maxy != lo_inf)
        un, col = u // gx, u % gx
        out["N"] = (col, sy[un], maxy[u], w_net[un])
        out["S"] = (col, miny[u], sy[un], w_net[un])
    else:
        we = w_net[e_net]
        sxe, sye = sx[e_net], sy[e_net]
        out["E"] = (sye, sxe, dx, we)
        out["W"] = (sye, dx, sxe, we)
        out["N"] = (dx, sye, dy, we)
        out["S"] = (dx, dy, sye, we)
    for d, (line, lo, hi, w) in out.items():
        keep = hi > lo
        out[d] = (line[keep], lo[keep], hi[keep], w[keep])
    return out


def link_loads(segs: dict, shape: tuple[int, int], *, sign: float = 1.0, into: dict = None) -> dict[str, np.ndarray]:
    """Per-link loads ``[Y, X]`` (traversals per step) of the runs ``segs`` on a mesh of ``shape``
    ``(GY, GX)``: difference arrays along each line, then cumulative sums; added to ``into`` if given."""
    gy, gx = shape
    out = into if into is not None else {d: np.zeros((gy, gx)) for d in DIRS}
    for d in DIRS:
        line, lo, hi, w = segs[d]
        if line.size == 0:
            continue
        n_lines, n_len = (gy, gx) if d in ("E", "W") else (gx, gy)
        stride = n_len + 1
        diff = np.bincount(line * stride + lo, weights=sign * w, minlength=n_lines * stride)
        diff -= np.bincount(line * stride + hi, weights=sign * w, minlength=n_lines * stride)
        acc = np.cumsum(diff.reshape(n_lines, stride), axis=1)[:, :n_len]
        out[d] += acc if d in ("E", "W") else acc.T
    return out
