"""Place: assign every part (one core's worth of neurons) to a core of the board.

Objective (rate-weighted, per step): ``C = sum_links w_l * load_l + lam * max_l load_l`` where
``load_l`` is the traffic on link ``l`` under the routing model of :mod:`mapper.route`
(multicast tree or unicast XY), ``w_l = 1 + chip_weight`` for links that cross a chip boundary
(else 1), and ``lam`` weighs the busiest link (congestion).

Placers are callables ``placer(nets, chip, *, seed, time_budget_s, **options) -> core_of_part``
chosen by name from :data:`PLACERS`:

``"identity"``  part ``i`` on core ``i`` (what sequential tool chains do);
``"hilbert"``   parts in spectral order (Fiedler vector of the quotient traffic graph) laid along
                a Hilbert curve over each chip's tiles, chip after chip (Jin et al., ASPLOS 2023);
``"block"``     parts in spectral order, row by row over the most compact rectangle of tiles;
``"anneal"``    the better start (``"hilbert"`` or ``"block"``) refined by simulated annealing over swaps of two parts (or moves to a
                free core), with the cost change computed incrementally from the nets that touch
                the two parts (difference arrays on the link grid). Seeded and reproducible: the
                number of moves is fixed; ``time_budget_s`` only cuts a run short (logged).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp

from neurosim.errors import CapacityError, MappingError, describe

from .chipspec import ChipSpec
from .route import Nets

__all__ = ["Placement", "PLACERS", "place", "placement_cost", "hilbert_d2xy", "spectral_order", "best_start",
           "block_shape"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Placement:
    """Core of every part, and the objective before and after refinement (per step)."""

    core: np.ndarray
    strategy: str
    cost: dict
    initial_cost: dict
    moves_tried: int
    moves_accepted: int
    wall_s: float


# ---------------------------------------------------------------------------------------------
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


def quotient(nets: Nets) -> sp.csr_matrix:
    """Symmetric part-to-part traffic (packets per step) of the nets."""
    k = nets.n_parts
    e_net = np.repeat(np.arange(nets.n_nets), nets.sizes)
    q = sp.csr_matrix((nets.rate[e_net], (nets.src[e_net], nets.dst)), shape=(k, k))
    q = (q + q.T).tocsr()
    q.setdiag(0)
    q.eliminate_zeros()
    return q


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


# ---------------------------------------------------------------------------------------------
def identity(nets: Nets, chip: ChipSpec, *, seed: int = 0, time_budget_s: float = 0.0, **_) -> np.ndarray:
    """Part ``i`` on core ``i``."""
    return np.arange(nets.n_parts, dtype=np.int64)


def hilbert(nets: Nets, chip: ChipSpec, *, seed: int = 0, time_budget_s: float = 0.0, **_) -> np.ndarray:
    """Spectral order of the parts along the Hilbert core order."""
    order = spectral_order(nets)
    cores = core_order(chip)[:nets.n_parts]
    out = np.empty(nets.n_parts, dtype=np.int64)
    out[order] = cores
    return out


def block_shape(n_tiles: int, grid: tuple[int, int]) -> tuple[int, int]:
    """``(w, h)`` of the most compact rectangle of at least ``n_tiles`` tiles on a ``(gx, gy)`` grid.

    Minimises ``w + h`` (the mean XY distance between two tiles of a ``w x h`` block is
    ``(w^2 - 1) / (3 w) + (h^2 - 1) / (3 h)``, increasing in both), then the spare tiles ``w h - n``.
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


def block(nets: Nets, chip: ChipSpec, *, seed: int = 0, time_budget_s: float = 0.0, **_) -> np.ndarray:
    """Spectral order of the parts, row by row (boustrophedon) over the most compact block of tiles.

    The block is the :func:`block_shape` rectangle at the board's origin; tiles are filled in snake
    order, ``cores_per_tile`` consecutive parts per tile. Falls back to :func:`hilbert` when the
    parts do not fit one block of the board-global grid.
    """
    from .route import grid_shape, tile_coords

    k = nets.n_parts
    cpt = chip.noc.cores_per_tile
    gy, gx = grid_shape(chip)
    n_tiles = -(-k // cpt)
    w, h = block_shape(n_tiles, (gx, gy))
    if w * h < n_tiles:
        return hilbert(nets, chip)
    X, Y = tile_coords(chip)
    snake = np.where(Y % 2 == 0, X, w - 1 - X)
    inside = np.flatnonzero((X < w) & (Y < h))
    cores = inside[np.lexsort((inside, snake[inside], Y[inside]))][:k]
    out = np.empty(k, dtype=np.int64)
    out[spectral_order(nets)] = cores
    return out


def best_start(nets: Nets, chip: ChipSpec, *, multicast: bool = True, lam: float = None,
               chip_weight: float = 1.0, extra: tuple = ()) -> np.ndarray:
    """The best of the :func:`hilbert` and :func:`block` placements and the ``extra`` ones (e.g. a
    partitioner's own, :func:`complete_start`) under the exact objective (``lam`` default: tiles
    in use by the Hilbert start)."""
    from .anneal import LinkCost, default_lam

    starts = [hilbert(nets, chip), block(nets, chip), *extra]
    if nets.n_parts < 2:
        return starts[0]

    lm = default_lam(chip, starts[0]) if lam is None else float(lam)  # one weight for both starts

    def value(core: np.ndarray) -> float:
        return LinkCost(nets, chip, core, multicast=multicast, lam=lm, chip_weight=chip_weight).value()

    return min(starts, key=value)


def complete_start(chip: ChipSpec, cores: np.ndarray) -> np.ndarray:
    """``cores`` (board core per part, -1 where none was chosen) with every -1 replaced by a free
    core, nearest first (Manhattan distance of board-global tiles) to the chosen cores' centroid."""
    from .route import tile_coords

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


def anneal(nets: Nets, chip: ChipSpec, *, seed: int = 0, time_budget_s: float = 10.0, **options) -> np.ndarray:
    """:func:`mapper.anneal.refine` (see there) from :func:`best_start`, or from ``options["start"]``."""
    from .anneal import refine

    start = options.pop("start", None)
    if start is None:
        start = best_start(nets, chip, multicast=bool(options.get("multicast", True)), lam=options.get("lam"),
                           chip_weight=float(options.get("chip_weight", 1.0)))
    return refine(nets, chip, np.asarray(start, dtype=np.int64), seed=seed, time_budget_s=time_budget_s, **options)


PLACERS: dict[str, Callable[..., np.ndarray]] = {"identity": identity, "hilbert": hilbert, "block": block,
                                                 "anneal": anneal}


def placement_cost(nets: Nets, chip: ChipSpec, core: np.ndarray, *, multicast: bool = True,
                   lam: float = 0.0, chip_weight: float = 0.0) -> dict:
    """``{"links", "max_link_load", "objective"}`` of a placement (per step)."""
    from .anneal import LinkCost

    c = LinkCost(nets, chip, np.asarray(core, dtype=np.int64), multicast=multicast, lam=lam, chip_weight=chip_weight)
    return c.summary()


def place(nets: Nets, chip: ChipSpec, *, strategy: str = "anneal", seed: int = 0, time_budget_s: float = 10.0,
          **options) -> Placement:
    """Place the parts of ``nets`` on the cores of ``chip`` with the named placer.

    ``time_budget_s`` bounds the ``"anneal"`` refinement (0: its default fixed number of moves);
    ``options`` go to the placer (``lam``, ``chip_weight``, ``pair_moves``, ``exact_moves``,
    ``polish_moves``, ``links_slack``, ``multicast`` — by default the chip's routing model).

    Raises
    ------
    MappingError
        Unknown placer, or a placer that put two parts on one core.
    CapacityError
        More parts than cores on the board.
    """
    if strategy not in PLACERS:
        raise MappingError(f"placer '{strategy}': unknown strategy (expected one of {sorted(PLACERS)})")
    if nets.n_parts > chip.n_cores:
        raise CapacityError(f"partition of {nets.n_parts} parts", "cores", nets.n_parts, chip.n_cores,
                            hint=f"'{chip.name}' has {chip.n_cores} cores")
    multicast = bool(options.pop("multicast", getattr(chip.noc, "multicast", True)))
    t0 = time.perf_counter()
    stats: dict = {}
    kw = dict(options, multicast=multicast, stats=stats) if strategy == "anneal" else dict(options)
    core = np.asarray(PLACERS[strategy](nets, chip, seed=seed, time_budget_s=time_budget_s, **kw), dtype=np.int64)
    if core.shape != (nets.n_parts,) or np.unique(core).size != core.size or core.min(initial=0) < 0 \
            or core.max(initial=0) >= chip.n_cores:
        raise MappingError(f"placer '{strategy}': invalid placement (each part needs its own core of the board)")
    wall = time.perf_counter() - t0
    lam = stats.get("lam", 0.0)
    final = stats.get("final") or placement_cost(nets, chip, core, multicast=multicast, lam=lam)
    init = stats.get("initial", final)
    return Placement(core=core, strategy=strategy, cost=final, initial_cost=init,
                     moves_tried=int(stats.get("tried", 0)), moves_accepted=int(stats.get("accepted", 0)), wall_s=wall)
