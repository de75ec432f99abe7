"""Placers: callables of one signature that put every part (one core's worth of neurons) on a core.

``placer(nets, chip, *, seed, time_budget_s, **tuning) -> core`` returns the board core of every
part (distinct cores), chosen by name from :data:`PLACERS`; :func:`mapper.place.place` runs one.
``tuning`` are the place options (``lam``, ``chip_weight``, ``multicast``, ``start``, the move
counts, ``work``, ``links_slack``; :data:`mapper.options.PLACE_DEFAULTS`), ``deadline`` (the
wall-clock cap as a :func:`time.perf_counter` time, or ``None``), ``stats`` and ``progress``; the
placers that do not search ignore them, and ``seed`` and ``time_budget_s`` (the cap in seconds).

``"identity"``  part ``i`` on core ``i`` (what sequential tool chains do);
``"hilbert"``   parts in spectral order (Fiedler vector of the quotient traffic graph,
                :func:`spectral_order`) laid along a Hilbert curve over each chip's tiles, chip
                after chip (Jin et al., ASPLOS 2023; :func:`hilbert_start`);
``"block"``     parts in spectral order, row by row over the most compact rectangle of tiles
                (:func:`block_start`);
``"anneal"``    the better start (``"hilbert"`` or ``"block"``, :func:`best_start`, or the given
                ``start``) refined by simulated annealing (:func:`mapper.place.anneal.refine`)
                under the objective of :mod:`mapper.place.cost`. Seeded and reproducible: the
                number of moves is fixed by the sizes and the work budget ``work``; the
                wall-clock cap only cuts a run short (logged, ``stats["budget_bound"]``).

The spectral order sorts parts by the Fiedler vector ``f`` of the Laplacian ``D - T`` of the
part-to-part traffic ``T`` (:func:`mapper.nets.quotient`): ``f`` minimises
``sum_pq T_pq (f_p - f_q)^2`` over unit vectors orthogonal to the constant one, so heavy
partners get nearby positions along the curve.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError, describe

from ..chipspec import ChipSpec
from ..mesh import block_shape, grid_shape, tile_coords
from ..nets import Nets, quotient
from ..options import Progress
from .anneal import refine
from .cost import LinkCost, default_lam

__all__ = ["PLACERS", "Placer", "identity", "hilbert", "block", "anneal", "hilbert_d2xy", "core_order",
           "spectral_order", "hilbert_start", "block_start", "best_start", "complete_start"]

#: ``placer(nets, chip, *, seed, time_budget_s, **tuning) -> core``
Placer = Callable[..., np.ndarray]


def hilbert_d2xy(bits: int, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell ``(x, y)`` at distance ``d`` along the Hilbert curve filling a ``2^bits`` square."""
    d = np.asarray(d, dtype=np.int64)
    x = np.zeros_like(d)
    y = np.zeros_like(d)
    t = d.copy()
    s = 1
    while s < (1 << bits):
        rx = (t // 2) & 1
        ry = (t ^ rx) & 1
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x = x + s * rx
        y = y + s * ry
        t = t // 4
        s *= 2
    return x, y


def core_order(chip: ChipSpec) -> np.ndarray:
    """All board cores in curve order: chips in boustrophedon order, tiles of a chip along a
    Hilbert curve (cut to the chip's tile grid), the slots of a tile consecutively."""
    tx, ty = chip.noc.tile_grid
    cx, cy = chip.noc.chip_grid
    bits = max(1, math.ceil(math.log2(max(tx, ty))))
    hx, hy = hilbert_d2xy(bits, np.arange(1 << (2 * bits)))
    if tx >= ty:  # orient the curve so that it sweeps the long side first (no jump on a 2:1 grid)
        hx, hy = hy, hx
    keep = (hx < tx) & (hy < ty)
    tiles = (hy[keep] * tx + hx[keep])
    cpt = chip.noc.cores_per_tile
    local = (tiles[:, None] * cpt + np.arange(cpt)[None, :]).ravel()
    chips = []
    for j in range(cy):
        row = [j * cx + i for i in range(cx)]
        chips += row if j % 2 == 0 else row[::-1]
    return np.concatenate([c * chip.cores_per_chip + local for c in chips])


def spectral_order(nets: Nets) -> np.ndarray:
    """Parts sorted by the Fiedler vector of the quotient traffic Laplacian (ties: part id)."""
    k = nets.n_parts
    if k <= 2:
        return np.arange(k)
    q = quotient(nets)
    scale = float(q.data.mean()) if q.nnz else 1.0
    if k <= 2048:
        a = q.toarray() + 1e-6 * scale  # tiny all-to-all term keeps the graph connected
        np.fill_diagonal(a, 0.0)
        lap = np.diag(a.sum(axis=1)) - a
        _, vec = np.linalg.eigh(lap)
        f = vec[:, 1]
    else:
        from scipy.sparse.linalg import eigsh
        lap = sp.diags(np.asarray(q.sum(axis=1)).ravel()) - q
        lap = lap + 1e-6 * scale * sp.identity(k)
        _, vec = eigsh(lap.tocsc(), k=2, sigma=0.0, which="LM")
        f = vec[:, 1]
    f = np.round(f, 12)
    if f[np.argmax(np.abs(f))] < 0:
        f = -f  # fix the eigenvector's sign for reproducibility
    return np.lexsort((np.arange(k), f))

def hilbert_start(nets: Nets, chip: ChipSpec) -> np.ndarray:
    """Spectral order of the parts along the Hilbert core order (:func:`core_order`)."""
    order = spectral_order(nets)
    cores = core_order(chip)[:nets.n_parts]
    out = np.empty(nets.n_parts, dtype=np.int64)
    out[order] = cores
    return out


def block_start(nets: Nets, chip: ChipSpec) -> np.ndarray:
    """Spectral order of the parts, row by row (boustrophedon) over the most compact block of tiles.

    The block is the :func:`mapper.mesh.block_shape` rectangle at the board's origin; tiles are
    filled in snake order, ``cores_per_tile`` consecutive parts per tile. Falls back to
    :func:`hilbert_start` when the parts do not fit one block of the board-global grid.
    """
    k = nets.n_parts
    cpt = chip.noc.cores_per_tile
    gy, gx = grid_shape(chip)
    n_tiles = -(-k // cpt)
    w, h = block_shape(n_tiles, (gx, gy))
    if w * h < n_tiles:
        return hilbert_start(nets, chip)
    X, Y = tile_coords(chip)
    snake = np.where(Y % 2 == 0, X, w - 1 - X)
    inside = np.flatnonzero((X < w) & (Y < h))
    cores = inside[np.lexsort((inside, snake[inside], Y[inside]))][:k]
    out = np.empty(k, dtype=np.int64)
    out[spectral_order(nets)] = cores
    return out


def best_start(nets: Nets, chip: ChipSpec, *, multicast: bool, lam: Optional[float], chip_weight: float,
               extra: tuple = ()) -> np.ndarray:
    """The best of the :func:`hilbert_start` and :func:`block_start` placements and the ``extra``
    ones (e.g. a partitioner's own, :func:`complete_start`) under the exact objective
    (:class:`~mapper.place.cost.LinkCost`; ``lam`` ``None``: the tiles in use by the Hilbert start)."""
    starts = [hilbert_start(nets, chip), block_start(nets, chip), *extra]
    if nets.n_parts < 2:
        return starts[0]

    lm = default_lam(chip, starts[0]) if lam is None else float(lam)  # one weight for both starts

    def value(core: np.ndarray) -> float:
        return LinkCost(nets, chip, core, multicast=multicast, lam=lm, chip_weight=chip_weight).value()

    return min(starts, key=value)


def complete_start(chip: ChipSpec, cores: np.ndarray) -> np.ndarray:
    """``cores`` (board core per part, -1 where none was chosen) with every -1 replaced by a free
    core, nearest first (Manhattan distance of board-global tiles) to the chosen cores' centroid."""
    out = np.asarray(cores, dtype=np.int64).copy()
    have = out[out >= 0]
    if out.ndim != 1 or have.size and (have.max() >= chip.n_cores or np.unique(have).size != have.size):
        raise MappingError(describe("start placement", chip.name, "not one distinct board core (or -1) per part",
                                    got=out.tolist() if out.size <= 16 else f"{out.size} entries",
                                    expected=f"distinct cores in [0, {chip.n_cores - 1}]"))
    missing = np.flatnonzero(out < 0)
    if missing.size == 0:
        return out
    X, Y = tile_coords(chip)
    cx, cy = (float(X[have].mean()), float(Y[have].mean())) if have.size else (0.0, 0.0)
    free = np.setdiff1d(np.arange(chip.n_cores), have)
    if free.size < missing.size:
        raise MappingError(describe("start placement", chip.name, "more parts than cores", got=out.size,
                                    expected=f"<= {chip.n_cores}"))
    near = free[np.lexsort((free, np.abs(X[free] - cx) + np.abs(Y[free] - cy)))]
    out[missing] = near[:missing.size]
    return out


def identity(nets: Nets, chip: ChipSpec, *, seed: int, time_budget_s: float, **_) -> np.ndarray:
    """The ``"identity"`` placer: part ``i`` on core ``i``."""
    return np.arange(nets.n_parts, dtype=np.int64)


def hilbert(nets: Nets, chip: ChipSpec, *, seed: int, time_budget_s: float, **_) -> np.ndarray:
    """The ``"hilbert"`` placer: :func:`hilbert_start`."""
    return hilbert_start(nets, chip)


def block(nets: Nets, chip: ChipSpec, *, seed: int, time_budget_s: float, **_) -> np.ndarray:
    """The ``"block"`` placer: :func:`block_start`."""
    return block_start(nets, chip)


def anneal(nets: Nets, chip: ChipSpec, *, seed: int, time_budget_s: float, lam: Optional[float], chip_weight: float,
           multicast: bool, start: Optional[np.ndarray] = None, pair_moves: Optional[int] = None,
           exact_moves: Optional[int] = None, polish_moves: Optional[int] = None, links_slack: Optional[float] = None,
           work: Optional[float] = None, deadline: Optional[float] = None, stats: Optional[dict] = None,
           progress: Optional[Progress] = None, **_) -> np.ndarray:
    """The ``"anneal"`` placer: :func:`mapper.place.anneal.refine` from ``start``, or from
    :func:`best_start` when none is given."""
    if start is None:
        start = best_start(nets, chip, multicast=multicast, lam=lam, chip_weight=chip_weight)
    return refine(nets, chip, np.asarray(start, dtype=np.int64), seed=seed, time_budget_s=time_budget_s,
                  deadline=deadline, work=work, lam=lam, chip_weight=chip_weight, multicast=multicast,
                  pair_moves=pair_moves, exact_moves=exact_moves, polish_moves=polish_moves, links_slack=links_slack,
                  stats=stats, progress=progress)


PLACERS: dict[str, Placer] = {"identity": identity, "hilbert": hilbert, "block": block, "anneal": anneal}
