r"""Simulated-annealing refinement of a placement (the ``"anneal"`` placer, and twin exchange's refinements).

Three phases, each a seeded annealing run over moves "put part ``p`` on core ``c``" (swapping with
the part already there, if any):

1. **Pairwise phase** (cheap, many moves): the quadratic-assignment surrogate
   ``sum_{p<q} T_pq * d(core_p, core_q)`` with ``T`` the symmetric part-to-part traffic (packets per
   step) and ``d`` the XY hop distance plus ``chip_weight`` per chip boundary crossed. A move's
   change is ``O(degree)``.
2. **Exact phase** (the real objective): rate-weighted link traversals of the routed nets
   (multicast trees or unicast XY paths) plus ``lam`` times the busiest link,
   ``C = sum_l w_l load_l + lam * max_l load_l``. A move's change is computed from the nets that
   touch the two parts only (difference arrays on the link grid, :class:`~mapper.place.cost.LinkCost`). With
   ``links_slack`` set, moves that would take ``sum_l w_l load_l`` above ``(1 + links_slack)`` times
   its value at the start of the phase are refused (links first, then the busiest link).
3. **Polish phase** (lexicographic): ``sum_l w_l load_l`` alone, moves that would raise the busiest
   link above the level phase 2 reached refused; so neither figure gets worse.

Moves are proposed near the part's current tile (a window of the size of the used region) or near
the traffic-weighted centroid of its partners (the force-directed idea of Jin et al.). The
temperature falls geometrically from the mean positive change of 100 sampled moves to 1e-3 of
it. Each phase keeps the best placement it saw; the result is never worse than the start under the
exact objective.

Move budget (:func:`move_budget`). The number of moves of each phase is fixed by the sizes alone,
so a seed gives the same placement on any machine and under any load: a work budget ``W`` (work
units, about a microsecond each on the reference machine; the place option ``work``) is shared
25 % / 50 % / 25 % by the phases, and a phase runs

.. math:: m = \min\bigl(m_{max},\ \max(100, \lfloor f W / c \rfloor)\bigr)

moves, with ``m_max`` ``min(2000 k, 400000)`` (pairwise) or ``min(100 k, 40000)`` (exact; polish
half of it) for ``k`` parts, ``f`` the phase's share and ``c`` the modelled cost of one move
(:data:`MOVE_COST`): ``c = a + b d`` for the pairwise phase (``d`` the mean number of traffic
partners of a part) and ``c = a + b n + e s`` for the exact phases (``n`` the mean number of nets
touching a part, ``s`` the mean number of their pins), fitted on the reference machine (within
about 30 % on the benchmark networks of ``benchmarks/mapping_nets.py``; separate constants for
unicast paths, which cost more per pin).

Wall-clock cap. ``deadline`` (a :func:`time.perf_counter` time, from ``MappingOptions.time_budget_s``)
only stops a phase that is still running past it (checked every 256 moves), and skips the phases
after it; ``stats["budget_bound"]`` then names the phases it cut (a result that depends on the
machine).
"""
from __future__ import annotations

import logging
import math
import time
from typing import Optional

import numpy as np

from ..chipspec import ChipSpec
from ..mesh import grid_shape, tile_coords
from ..nets import Nets, quotient
from ..options import PLACE_DEFAULTS, Progress
from .cost import LinkCost, PairCost, default_lam

__all__ = ["refine", "move_budget", "MOVE_COST"]

log = logging.getLogger(__name__)

#: modelled work units (about microseconds on the reference machine) of one move:
#: ``"pair": (a, b)`` for ``a + b d`` and ``"exact"`` / ``"exact_unicast"``: ``(a, b, e)`` for
#: ``a + b n + e s`` (module doc; unicast paths cost more per pin than multicast trees)
MOVE_COST = {"pair": (45.0, 0.4), "exact": (125.0, 0.63, 0.032), "exact_unicast": (120.0, 0.124, 0.119)}
#: shares of the work budget of the pairwise, exact and polish phases
PHASE_SHARE = (0.25, 0.5, 0.25)


def move_budget(nets: Nets, traffic, cost: LinkCost, *, work: float) -> tuple[int, int, int]:
    """Moves of the pairwise, exact and polish phases for a work budget of ``work`` units (module doc).

    A pure function of the sizes (``traffic`` the part-to-part matrix, :func:`mapper.nets.quotient`;
    ``cost`` the exact objective's incidence of nets on parts): the same on any machine.
    """
    k = max(nets.n_parts, 1)
    a, b = MOVE_COST["pair"]
    c_pair = a + b * traffic.nnz / k
    a, b, e = MOVE_COST["exact" if cost.multicast else "exact_unicast"]
    inc = cost.inc
    pins = float((nets.sizes[inc] + 1).sum()) if inc.size else 0.0
    c_exact = a + b * inc.size / k + e * pins / k
    w = float(work)

    def fit(cap: int, share: float, c: float) -> int:
        return int(min(cap, max(100, math.floor(share * w / c))))

    pair = fit(min(2000 * k, 400_000), PHASE_SHARE[0], c_pair)
    exact = fit(min(100 * k, 40_000), PHASE_SHARE[1], c_exact)
    polish = fit(min(100 * k, 40_000) // 2, PHASE_SHARE[2], c_exact)
    return pair, exact, polish


def _anneal(cost, propose, owner: np.ndarray, *, moves: int, rng: np.random.Generator, deadline: Optional[float],
            t_scale: float = 1.0, progress: Optional[Progress] = None,
            label: str = "") -> tuple[np.ndarray, int, int, bool]:
    """Seeded annealing loop over ``cost``; returns the best placement seen, moves tried and
    accepted, and whether ``deadline`` (a :func:`time.perf_counter` time) cut it short.

    ``progress(label, done, total)`` (if given) is called every 1024 moves and once at the end.
    """
    samples = []
    n_sample = min(100, moves)
    for _ in range(n_sample):
        p, cq = propose()
        q = int(owner[cq])
        if q == p:
            continue
        dv, _ = cost.delta(p, q, int(cost.core[p]), cq)
        if 0 < dv < math.inf:
            samples.append(dv)
    t0 = (float(np.mean(samples)) if samples else 1.0) * t_scale
    alpha = 1e-3 ** (1.0 / max(moves, 1))
    temp = t0
    cur = 0.0
    best, best_core = 0.0, cost.core.copy()
    tried = accepted = 0
    cut = False
    for i in range(moves):
        if (i & 255) == 0:
            if deadline is not None and time.perf_counter() > deadline:
                log.warning("%s: wall-clock cap reached after %d of %d moves; the result depends on the "
                            "machine's speed and load", label or "anneal", i, moves)
                cut = True
                break
            if progress is not None and (i & 1023) == 0:
                progress(label, i, moves)
        temp *= alpha
        p, cq = propose()
        q = int(owner[cq])
        if q == p:
            continue
        cp = int(cost.core[p])
        tried += 1
        dv, info = cost.delta(p, q, cp, cq)
        if dv <= 0 or rng.random() < math.exp(-dv / max(temp, 1e-300)):
            cost.apply(p, q, cp, cq, info)
            owner[cq], owner[cp] = p, q
            accepted += 1
            cur += dv
            if cur < best - 1e-12 * max(1.0, abs(best)):
                best, best_core = cur, cost.core.copy()
    if progress is not None:
        progress(label, moves, moves)
    return best_core, tried, accepted, cut


def refine(nets: Nets, chip: ChipSpec, start: np.ndarray, *, seed: int, lam: Optional[float], chip_weight: float,
           multicast: bool, time_budget_s: float = 0.0, deadline: Optional[float] = None, work: Optional[float] = None,
           pair_moves: Optional[int] = None, exact_moves: Optional[int] = None, polish_moves: Optional[int] = None,
           links_slack: Optional[float] = None, stats: Optional[dict] = None,
           progress: Optional[Progress] = None) -> np.ndarray:
    """Refine placement ``start`` (core of every part) in the three phases of the module doc.

    Parameters
    ----------
    nets : Nets
    chip : ChipSpec
    start : ndarray of int, shape (n_parts,)
        Board core of every part to start from.
    seed : int
        Seed of the moves: the same placement on any machine, unless the wall-clock cap cuts a
        phase short (``stats["budget_bound"]``).
    multicast : bool
        Routing model of the objective (multicast trees, else unicast XY paths).
    pair_moves, exact_moves, polish_moves : int, optional
        Moves of each phase; defaults :func:`move_budget` of ``work`` (at most ``min(2000 k,
        400000)``, ``min(100 k, 40000)`` and half of that, for ``k`` parts). The polish phase runs
        only when ``lam > 0``.
    work : float, optional
        Work budget of the default move counts, work units (module doc; default the place option
        ``work`` of :data:`mapper.options.PLACE_DEFAULTS`).
    links_slack : float, optional
        Cap the weighted link traversals of the exact phase at ``(1 + links_slack)`` times their
        value at its start (default: no cap); 0 puts links first and the busiest link second.
    lam : float or None
        Weight of the busiest link; ``None``: the number of tiles in use by ``start``.
    chip_weight : float
        Extra cost of a link that crosses a chip boundary (in link traversals).
    time_budget_s : float
        Wall-clock cap from the call, seconds (0: none); a safety net that stops a running phase
        and skips the next ones (module doc).
    deadline : float, optional
        The cap as a :func:`time.perf_counter` time (shared with other stages); the earlier of the
        two applies.
    stats : dict, optional
        Filled with ``initial`` and ``final`` (:meth:`LinkCost.summary`), ``lam``, ``tried``,
        ``accepted``, ``moves`` (the planned moves of each phase) and ``budget_bound`` (the
        phases the cap cut short or skipped, e.g. ``["place: exact", "place: polish"]``).
    progress : callable, optional
        ``progress(phase, moves_done, moves_total)``, called as each phase runs (phases
        ``"place: pairwise"``, ``"place: exact"``, ``"place: polish"``).
    """
    k = nets.n_parts
    core = np.asarray(start, dtype=np.int64).copy()
    X, Y = tile_coords(chip)
    if lam is None:
        lam = default_lam(chip, core)
    exact = LinkCost(nets, chip, core, multicast=multicast, lam=lam, chip_weight=chip_weight)
    if stats is not None:
        stats.update(initial=exact.summary(), lam=lam, tried=0, accepted=0, moves=[0, 0, 0], budget_bound=[])
    if k <= 1 or not (nets.rate > 0).any():
        return core
    rng = np.random.default_rng(seed)
    traffic = quotient(nets)
    gy, gx = grid_shape(chip)
    radius = max(1, int(math.ceil(math.sqrt(k / max(chip.noc.cores_per_tile, 1)) / 2)))
    tile_cores: dict[tuple[int, int], list[int]] = {}
    for c in range(chip.n_cores):
        tile_cores.setdefault((int(X[c]), int(Y[c])), []).append(c)
    tiles = {t: np.asarray(v) for t, v in tile_cores.items()}

    def make_proposer(cost):
        def propose() -> tuple[int, int]:
            p = int(rng.integers(k))
            cp = int(cost.core[p])
            lo, hi = traffic.indptr[p], traffic.indptr[p + 1]
            if hi > lo and rng.random() < 0.5:  # toward the partners' centroid
                w = traffic.data[lo:hi]
                cs = cost.core[traffic.indices[lo:hi]]
                cx, cy = float(np.dot(w, X[cs]) / w.sum()), float(np.dot(w, Y[cs]) / w.sum())
                x = int(np.clip(round(cx) + rng.integers(-1, 2), 0, gx - 1))
                y = int(np.clip(round(cy) + rng.integers(-1, 2), 0, gy - 1))
            else:
                x = int(np.clip(X[cp] + rng.integers(-radius, radius + 1), 0, gx - 1))
                y = int(np.clip(Y[cp] + rng.integers(-radius, radius + 1), 0, gy - 1))
            c = tiles[(x, y)]
            return p, int(c[rng.integers(c.size)])
        return propose

    def owners(core_):
        o = np.full(chip.n_cores, -1, dtype=np.int64)
        o[core_] = np.arange(k)
        return o

    if time_budget_s:
        own = time.perf_counter() + float(time_budget_s)
        deadline = own if deadline is None else min(deadline, own)
    auto = move_budget(nets, traffic, exact, work=PLACE_DEFAULTS["work"] if work is None else work)
    if polish_moves is None:  # half the exact phase's moves when those are given
        polish_moves = auto[2] if exact_moves is None else int(exact_moves) // 2
    pair_moves = auto[0] if pair_moves is None else int(pair_moves)
    exact_moves = auto[1] if exact_moves is None else int(exact_moves)
    polish_moves = int(polish_moves)
    tried = accepted = 0
    bound: list[str] = []

    def run(cost, moves: int, t_scale: float, label: str) -> np.ndarray:
        nonlocal tried, accepted
        if deadline is not None and time.perf_counter() > deadline:  # skipped: the cap has passed
            log.warning("%s: skipped, the wall-clock cap has passed; the result depends on the machine's speed "
                        "and load", label)
            bound.append(label)
            return cost.core.copy()
        cand, t, a, cut = _anneal(cost, make_proposer(cost), owners(cost.core), moves=moves, rng=rng,
                                  deadline=deadline, t_scale=t_scale, progress=progress, label=label)
        tried, accepted = tried + t, accepted + a
        if cut:
            bound.append(label)
        return cand

    # phase 1: pairwise surrogate
    if pair_moves > 0:
        cand = run(PairCost(traffic, chip, core, chip_weight=chip_weight), pair_moves, 1.0, "place: pairwise")
        trial = LinkCost(nets, chip, cand, multicast=multicast, lam=lam, chip_weight=chip_weight)
        if trial.value() < exact.value():
            exact = trial
    # phase 2: exact objective, cooler start; link traversals kept within links_slack of the start's
    if exact_moves > 0:
        if links_slack is not None:
            exact.total_cap = exact.total * (1.0 + links_slack)
        core = run(exact, exact_moves, 0.1, "place: exact")
    else:
        core = exact.core.copy()
    # phase 3: links only, the busiest link capped at the level phase 2 reached
    if polish_moves > 0 and lam > 0:
        pol = LinkCost(nets, chip, core, multicast=multicast, lam=0.0, chip_weight=chip_weight)
        pol.cap = pol.peak()
        core = run(pol, polish_moves, 0.1, "place: polish")
    if stats is not None:
        stats.update(tried=tried, accepted=accepted, moves=[pair_moves, exact_moves, polish_moves], budget_bound=bound,
                     final=LinkCost(nets, chip, core, multicast=multicast, lam=lam, chip_weight=chip_weight).summary())
    return core
