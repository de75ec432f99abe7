"""Simulated-annealing refinement of a placement (the ``"anneal"`` placer, and twin exchange's refinements).

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
exact objective. The number of moves is fixed by the sizes (reproducible for a seed); it is
reduced up front if a sample of moves says the time budget would be exceeded (logged).
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
from ..options import Progress
from .cost import LinkCost, PairCost, default_lam

__all__ = ["refine"]

log = logging.getLogger(__name__)


def _anneal(cost, propose, owner: np.ndarray, *, moves: int, rng: np.random.Generator, budget_s: float,
            t_scale: float = 1.0, progress: Optional[Progress] = None, label: str = "") -> tuple[np.ndarray, int, int]:
    """Seeded annealing loop over ``cost``; returns the best placement seen, moves tried and accepted.

    ``progress(label, done, total)`` (if given) is called every 1024 moves and once at the end.
    """
    samples = []
    t_s = time.perf_counter()
    n_sample = min(100, moves)
    for _ in range(n_sample):
        p, cq = propose()
        q = int(owner[cq])
        if q == p:
            continue
        dv, _ = cost.delta(p, q, int(cost.core[p]), cq)
        if 0 < dv < math.inf:
            samples.append(dv)
    per_move = (time.perf_counter() - t_s) / max(1, n_sample)
    if budget_s and moves * per_move > budget_s:
        fit = max(100, int(budget_s / max(per_move, 1e-9)))
        log.info("anneal: %d moves would take %.1f s; running %d within the %.1f s budget",
                 moves, moves * per_move, fit, budget_s)
        moves = min(moves, fit)
    t0 = (float(np.mean(samples)) if samples else 1.0) * t_scale
    alpha = 1e-3 ** (1.0 / max(moves, 1))
    temp = t0
    cur = 0.0
    best, best_core = 0.0, cost.core.copy()
    tried = accepted = 0
    start = time.perf_counter()
    for i in range(moves):
        if (i & 255) == 0:
            if budget_s and time.perf_counter() - start > 2.0 * budget_s:
                log.warning("anneal: time budget %.1f s exceeded after %d of %d moves", budget_s, i, moves)
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
    return best_core, tried, accepted


def refine(nets: Nets, chip: ChipSpec, start: np.ndarray, *, seed: int, time_budget_s: float, lam: Optional[float],
           chip_weight: float, multicast: bool, pair_moves: Optional[int] = None, exact_moves: Optional[int] = None,
           polish_moves: Optional[int] = None, links_slack: Optional[float] = None, stats: Optional[dict] = None,
           progress: Optional[Progress] = None) -> np.ndarray:
    """Refine placement ``start`` (core of every part) in the three phases of the module doc.

    Parameters
    ----------
    nets : Nets
    chip : ChipSpec
    start : ndarray of int, shape (n_parts,)
        Board core of every part to start from.
    seed : int
        Seed of the moves (the result is reproducible for a seed when ``time_budget_s`` does not
        cut a phase short).
    multicast : bool
        Routing model of the objective (multicast trees, else unicast XY paths).
    pair_moves, exact_moves, polish_moves : int, optional
        Moves of each phase; defaults ``min(2000 k, 400000)``, ``min(100 k, 40000)`` and half the
        exact moves, for ``k`` parts. The polish phase runs only when ``lam > 0``.
    links_slack : float, optional
        Cap the weighted link traversals of the exact phase at ``(1 + links_slack)`` times their
        value at its start (default: no cap); 0 puts links first and the busiest link second.
    lam : float or None
        Weight of the busiest link; ``None``: the number of tiles in use by ``start``.
    chip_weight : float
        Extra cost of a link that crosses a chip boundary (in link traversals).
    time_budget_s : float
        Seconds, shared by the phases (25 % pairwise, 50 % exact, 25 % polish); 0: every phase
        runs its number of moves.
    stats : dict, optional
        Filled with ``initial`` and ``final`` (:meth:`LinkCost.summary`), ``lam``, ``tried`` and
        ``accepted``.
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
        stats.update(initial=exact.summary(), lam=lam, tried=0, accepted=0)
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

    budget = float(time_budget_s or 0.0)
    pair_moves = int(min(2000 * k, 400_000)) if pair_moves is None else int(pair_moves)
    exact_moves = int(min(100 * k, 40_000)) if exact_moves is None else int(exact_moves)
    tried = accepted = 0
    # phase 1: pairwise surrogate
    if pair_moves > 0:
        pc = PairCost(traffic, chip, core, chip_weight=chip_weight)
        cand, t1, a1 = _anneal(pc, make_proposer(pc), owners(pc.core), moves=pair_moves, rng=rng,
                               budget_s=0.25 * budget, progress=progress, label="place: pairwise")
        tried, accepted = tried + t1, accepted + a1
        trial = LinkCost(nets, chip, cand, multicast=multicast, lam=lam, chip_weight=chip_weight)
        if trial.value() < exact.value():
            exact = trial
    # phase 2: exact objective, cooler start; link traversals kept within links_slack of the start's
    if exact_moves > 0:
        if links_slack is not None:
            exact.total_cap = exact.total * (1.0 + links_slack)
        cand, t2, a2 = _anneal(exact, make_proposer(exact), owners(exact.core), moves=exact_moves, rng=rng,
                               budget_s=0.5 * budget, t_scale=0.1, progress=progress, label="place: exact")
        tried, accepted = tried + t2, accepted + a2
        core = cand
    else:
        core = exact.core.copy()
    # phase 3: links only, the busiest link capped at the level phase 2 reached
    polish_moves = exact_moves // 2 if polish_moves is None else int(polish_moves)
    if polish_moves > 0 and lam > 0:
        pol = LinkCost(nets, chip, core, multicast=multicast, lam=0.0, chip_weight=chip_weight)
        pol.cap = pol.peak()
        core, t3, a3 = _anneal(pol, make_proposer(pol), owners(pol.core), moves=polish_moves, rng=rng,
                               budget_s=0.25 * budget, t_scale=0.1, progress=progress, label="place: polish")
        tried, accepted = tried + t3, accepted + a3
    if stats is not None:
        stats.update(tried=tried, accepted=accepted,
                     final=LinkCost(nets, chip, core, multicast=multicast, lam=lam, chip_weight=chip_weight).summary())
    return core
