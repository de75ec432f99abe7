"""Twin exchange: move spike traffic between cores by swapping interchangeable neurons.

Partitioners group neurons by connectivity, so they cannot see *which* of several equivalent
neurons should sit on a core: in an all-to-all layer (spiking LCA's lateral inhibition, a dense
layer) every partition sends every spike to every core, and the only thing left to optimise is
where the busy neurons sit. This module finds such neurons and exchanges them between parts after
placement, under the placer's exact objective.

Twins. Neurons ``u`` and ``v`` of the same population are twins when the transposition
``sigma = (u v)`` maps the weighted pair graph onto itself:
``nsyn(s -> u) = nsyn(sigma(s) -> v)`` and ``nsyn(u -> t) = nsyn(v -> sigma(t))`` for all ``s, t``
(plastic counts likewise). Swapping the parts of twins then changes no core's resources (every
per-core figure of :mod:`mapper.resources` is invariant under the relabelling) and no other
neuron's destination-core set; it only exchanges which rate drives which multicast net.
Transpositions compose (``(u w) = (u r)(w r)(u r)``), so a class is checked against one
representative. Candidates are grouped by 64-bit hashes of the open (``N(u)``) and closed
(``N(u) + {u}``) neighbourhoods and then verified exactly.

Objective (per step, the placer's): with ``A_j`` the link incidence of net ``j``'s routed tree at
unit rate and ``R_j`` its rate, the link loads are ``L = sum_j R_j A_j`` and

    C = sum_l w_l L_l + lam * max_l L_l,

``w_l = 1 + chip_weight`` on chip-boundary links, 1 elsewhere. Swapping twins ``u`` (net ``a``)
and ``v`` (net ``b``) changes ``L`` by ``(r_v - r_u) (A_a - A_b)``. The refinement is greedy and
lexicographic: each round scores a batch of random twin pairs exactly and applies the best one
that lowers ``C``, or keeps ``C`` and lowers ``sum_l w_l L_l^2`` (spreading load off the busiest
links, which is what lets ``max_l L_l`` fall later); it stops after ``patience`` rounds without
such a pair.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .chipspec import ChipSpec
from .graph import NetGraph
from .route import DIRS, Nets, boundary_masks, grid_shape, link_loads, segments, tile_coords

if TYPE_CHECKING:  # pragma: no cover
    from .partition import Partition
    from .place import Placement

__all__ = ["twin_classes", "refine_twins", "TwinResult", "place_refined"]

log = logging.getLogger(__name__)

_MAX_NETS = 20_000  # nets whose link vectors are materialised (dense, nets x links)


def _neigh_hash(ptr: np.ndarray, idx: np.ndarray, rnd: np.ndarray) -> np.ndarray:
    n = ptr.size - 1
    h = np.zeros(n, dtype=np.uint64)
    if idx.size:
        lens = np.diff(ptr)
        nz = np.flatnonzero(lens > 0)
        h[nz] = np.add.reduceat(rnd[idx], ptr[nz])
    return h


def _groups(keys: list[np.ndarray], cand: np.ndarray) -> list[np.ndarray]:
    """Groups (size >= 2) of the neurons ``cand`` whose keys are all equal."""
    if cand.size < 2:
        return []
    order = np.lexsort(tuple(k[cand] for k in reversed(keys)))
    c = cand[order]
    same = np.ones(c.size - 1, dtype=bool)
    for k in keys:
        same &= k[c[1:]] == k[c[:-1]]
    starts = np.flatnonzero(np.concatenate([[True], ~same]))
    bounds = np.append(starts, c.size)
    return [c[bounds[i]:bounds[i + 1]] for i in range(starts.size) if bounds[i + 1] - bounds[i] >= 2]


def _swapped_list(ptr, idx, nsyn, npl, u: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour list of ``u`` with ``u`` and ``r`` exchanged, sorted by neighbour."""
    lo, hi = int(ptr[u]), int(ptr[u + 1])
    nb = idx[lo:hi].astype(np.int64)
    nb = np.where(nb == u, r, np.where(nb == r, u, nb))
    o = np.argsort(nb, kind="stable")
    return nb[o], nsyn[lo:hi][o], npl[lo:hi][o]


def _is_twin(g: NetGraph, u: int, r: int) -> bool:
    for ptr, idx, nsyn, npl in ((g.in_ptr, g.in_idx, g.in_nsyn, g.in_nplastic),
                                (g.out_ptr, g.out_idx, g.out_nsyn, g.out_nplastic)):
        a = _swapped_list(ptr, idx, nsyn, npl, u, r)
        lo, hi = int(ptr[r]), int(ptr[r + 1])
        if hi - lo != a[0].size:
            return False
        if not (np.array_equal(a[0], idx[lo:hi]) and np.array_equal(a[1], nsyn[lo:hi])
                and np.array_equal(a[2], npl[lo:hi])):
            return False
    return True


def twin_classes(graph: NetGraph, *, candidates: np.ndarray = None, max_checks: int = 200_000) -> np.ndarray:
    """Twin class of every neuron (``-1``: no twin), see the module doc.

    Parameters
    ----------
    graph : NetGraph
    candidates : ndarray of int, optional
        Only these neurons are considered (default: all neurons with outgoing traffic).
    max_checks : int
        Bound on exact verifications (each ``O(degree)``); classes beyond it are left out.
    """
    n = graph.n
    label = np.full(n, -1, dtype=np.int64)
    if candidates is None:
        candidates = np.flatnonzero(np.diff(graph.out_ptr) > 0)
    candidates = np.asarray(candidates, dtype=np.int64)
    if candidates.size < 2:
        return label
    rng = np.random.default_rng(0x7A1)
    rnd = rng.integers(1, 2**63, size=n, dtype=np.uint64)
    h_in = _neigh_hash(graph.in_ptr, graph.in_idx, rnd)
    h_out = _neigh_hash(graph.out_ptr, graph.out_idx, rnd)
    pop = graph.pop_index().astype(np.int64)
    deg_in, deg_out = np.diff(graph.in_ptr), np.diff(graph.out_ptr)
    me = rnd
    keys_open = [pop, h_in.view(np.int64), h_out.view(np.int64), deg_in, deg_out]
    keys_closed = [pop, (h_in + me).view(np.int64), (h_out + me).view(np.int64), deg_in, deg_out]
    checks = 0
    next_id = 0
    for keys in (keys_open, keys_closed):
        free = candidates[label[candidates] < 0]
        for grp in _groups(keys, free):
            if checks >= max_checks:
                log.info("twin search stopped after %d checks", checks)
                return label
            pending = grp
            while pending.size >= 2 and checks < max_checks:
                r = int(pending[0])
                ok = [r]
                rest = []
                for u in pending[1:].tolist():
                    checks += 1
                    (ok if _is_twin(graph, u, r) else rest).append(u)
                if len(ok) >= 2:
                    label[np.asarray(ok)] = next_id
                    next_id += 1
                pending = np.asarray(rest, dtype=np.int64)
    return label


@dataclass(frozen=True)
class TwinResult:
    """Outcome of :func:`refine_twins`.

    Attributes
    ----------
    part : ndarray
        Part of every neuron after the exchanges.
    swaps : int
        Exchanges applied.
    twins : int
        Neurons that have at least one twin on another part.
    objective_before, objective_after : float
        ``C`` of the module doc (per step).
    """

    part: np.ndarray
    swaps: int
    twins: int
    objective_before: float
    objective_after: float


def _net_vectors(nets: Nets, chip: ChipSpec, core: np.ndarray, sel: np.ndarray, multicast: bool) -> np.ndarray:
    """Link incidence (flattened E, W, N, S grids) of the nets ``sel`` at unit rate."""
    X, Y = tile_coords(chip)
    shape = grid_shape(chip)
    out = np.zeros((sel.size, 4 * shape[0] * shape[1]))
    px, py = X[core], Y[core]
    for i, j in enumerate(sel.tolist()):
        loads = link_loads(segments(nets, px, py, multicast=multicast, sel=np.array([j]), weight=np.ones(1)), shape)
        out[i] = np.concatenate([loads[d].ravel() for d in DIRS])
    return out


def refine_twins(graph: NetGraph, nets: Nets, chip: ChipSpec, part: np.ndarray, core: np.ndarray, *,
                 multicast: bool, lam: float, chip_weight: float = 1.0, seed: int = 0, batch: int = 256,
                 patience: int = 30, max_rounds: int = 20_000, label: np.ndarray = None) -> TwinResult:
    """Exchange twins between parts while the placement objective falls (module doc).

    Parameters
    ----------
    graph, nets : the mapping's pair graph and its nets for ``part``.
    part : ndarray, shape (n,)
    core : ndarray, shape (n_parts,)
        Core of every part (fixed here).
    multicast, lam, chip_weight
        The placer's routing model and objective weights.
    seed : int
    batch, patience, max_rounds : int
        Candidate pairs scored per round; rounds without improvement before stopping; cap.
    label : ndarray, optional
        :func:`twin_classes` of ``graph``, if already computed.
    """
    part = np.asarray(part, dtype=np.int64).copy()
    core = np.asarray(core, dtype=np.int64)
    masks = boundary_masks(chip)
    w = np.concatenate([(1.0 + chip_weight * masks[d]).ravel() for d in DIRS])
    nn = nets.neuron_net
    if label is None:
        cand = np.flatnonzero(nn >= 0)
        label = twin_classes(graph, candidates=cand) if cand.size else np.full(graph.n, -1, dtype=np.int64)
    label = np.where(nn >= 0, label, -1)
    tw = np.flatnonzero(label >= 0)
    # keep classes whose members span at least two nets and carry some traffic
    if tw.size:
        order = np.lexsort((nn[tw], label[tw]))
        tw = tw[order]
        lab = label[tw]
        starts = np.flatnonzero(np.concatenate([[True], lab[1:] != lab[:-1]]))
        bounds = np.append(starts, tw.size)
        keep = []
        for i in range(starts.size):
            m = tw[bounds[i]:bounds[i + 1]]
            if np.unique(nn[m]).size >= 2 and graph.rate[m].max() > graph.rate[m].min():
                keep.append(m)
        tw = np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
    X, Y = tile_coords(chip)
    base = link_loads(segments(nets, X[core], Y[core], multicast=multicast, sel=np.flatnonzero(nets.rate > 0)),
                      grid_shape(chip))
    L = np.concatenate([base[d].ravel() for d in DIRS])
    before = float(L @ w + lam * L.max(initial=0.0))
    if tw.size < 2:
        return TwinResult(part=part, swaps=0, twins=int(tw.size), objective_before=before, objective_after=before)
    used_nets, local = np.unique(nn[tw], return_inverse=True)
    if used_nets.size > _MAX_NETS:
        log.info("twin exchange skipped: %d nets exceed the %d-net bound", used_nets.size, _MAX_NETS)
        return TwinResult(part=part, swaps=0, twins=int(tw.size), objective_before=before, objective_after=before)
    A = _net_vectors(nets, chip, core, used_nets, multicast)
    slot = local.astype(np.int64)  # net (row of A) of every twin, in tw order
    lab = label[tw]
    r = graph.rate[tw].astype(np.float64).copy()
    cls_start = np.flatnonzero(np.concatenate([[True], lab[1:] != lab[:-1]]))
    cls_size = np.diff(np.append(cls_start, tw.size))
    p_cls = cls_size / cls_size.sum()
    rng = np.random.default_rng(seed)
    cur = before
    cur_sq = float((L * L) @ w)
    swaps = stale = 0
    for _ in range(max_rounds):
        c = rng.choice(cls_start.size, size=batch, p=p_cls)
        i = cls_start[c] + (rng.random(batch) * cls_size[c]).astype(np.int64)
        j = cls_start[c] + (rng.random(batch) * cls_size[c]).astype(np.int64)
        dr = r[j] - r[i]
        ok = (slot[i] != slot[j]) & (dr != 0)
        if not ok.any():
            stale += 1
            if stale >= patience:
                break
            continue
        i, j, dr = i[ok], j[ok], dr[ok]
        dL = dr[:, None] * (A[slot[i]] - A[slot[j]])
        newL = L[None, :] + dL
        val = newL @ w + lam * newL.max(axis=1)
        sq = (newL * newL) @ w
        tol = 1e-12 * max(1.0, abs(cur))
        better = (val < cur - tol) | ((val <= cur + tol) & (sq < cur_sq * (1.0 - 1e-12) - 1e-300))
        if better.any():
            b = int(np.flatnonzero(better)[np.lexsort((sq[better], val[better]))[0]])
            L = newL[b]
            cur, cur_sq = min(cur, float(val[b])), float(sq[b])
            ii, jj = int(i[b]), int(j[b])
            slot[ii], slot[jj] = slot[jj], slot[ii]
            u, v = int(tw[ii]), int(tw[jj])
            part[u], part[v] = part[v], part[u]
            swaps += 1
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    return TwinResult(part=part, swaps=swaps, twins=int(tw.size), objective_before=before, objective_after=cur)


def place_refined(graph: NetGraph, chip: ChipSpec, part: "Partition", *, placer: str = "anneal", seed: int = 0,
                  time_budget_s: float = 10.0, twins: bool = True,
                  **options) -> tuple["Partition", Nets, "Placement", dict]:
    """Place ``part`` (a :class:`mapper.partition.Partition`) with ``placer``; for ``"anneal"`` on a
    network with twins, also try exchanging twins at the start placement (:func:`refine_twins`,
    then :func:`mapper.anneal.refine`, then twins again) and keep whichever result has the lower
    objective. Exchanging first lets the annealer see parts whose rates were already sorted (e.g.
    the busy neurons of an all-to-all layer gathered on the block's edge rows, which halves the
    busiest link at no extra link cost). A partition that chose its own cores
    (:attr:`~mapper.partition.Partition.cores`, the ``"steiner"`` strategy) adds that placement as
    a start: annealing begins from the better of it and :func:`mapper.place.best_start`.

    With twins, the plain annealing and the two refinements of the twin path each get a third of
    ``time_budget_s`` (0: each runs its fixed number of moves, so placement costs about three
    times as long). Returns ``(partition, nets, placement, info)``; ``partition`` is a new
    :class:`~mapper.partition.Partition` when twins were exchanged (its resources re-checked), and
    ``info`` holds ``{"twins", "swaps"}`` (neurons with a twin; exchanges kept).
    """
    import dataclasses

    from .anneal import LinkCost, default_lam, refine
    from .graph import core_rows
    from .place import Placement, best_start, block, complete_start, hilbert, place, placement_cost
    from .resources import core_usage
    from .route import build_nets

    nets = build_nets(graph, part.part, part.rows)
    info = {"twins": 0, "swaps": 0}
    try_twins = placer == "anneal" and twins and part.n_parts >= 2
    if try_twins:
        label = twin_classes(graph, candidates=np.flatnonzero(nets.neuron_net >= 0))
        info["twins"] = int((label >= 0).sum())
        try_twins = info["twins"] > 0
    if try_twins and time_budget_s:
        time_budget_s = time_budget_s / 3.0  # three refinements share the budget (plain, then two with twins)
    given = None  # the partitioner's own choice of cores ("steiner"), a third start for annealing
    if placer == "anneal" and part.cores is not None and "start" not in options:
        given = complete_start(chip, part.cores)
        options = {**options, "start": best_start(
            nets, chip, multicast=bool(options.get("multicast", getattr(chip.noc, "multicast", True))),
            lam=options.get("lam"), chip_weight=float(options.get("chip_weight", 1.0)), extra=(given,))}
    pl = place(nets, chip, strategy=placer, seed=seed, time_budget_s=time_budget_s, **dict(options))
    if not try_twins:
        return part, nets, pl, info
    multicast = bool(options.get("multicast", getattr(chip.noc, "multicast", True)))
    cw = float(options.get("chip_weight", 1.0))
    lam_opt = options.get("lam")
    opts = {k: v for k, v in options.items() if k not in ("multicast", "lam", "chip_weight", "start")}
    best = None
    starts = (hilbert(nets, chip), block(nets, chip)) + ((given,) if given is not None else ())
    lm = default_lam(chip, starts[0]) if lam_opt is None else float(lam_opt)  # one weight for both starts
    prog = options.get("progress")
    if prog is not None:
        prog("place: twin exchange", 0, len(starts))
    for j, start in enumerate(starts):  # exchange at every start, keep the best
        res = refine_twins(graph, nets, chip, part.part, start, multicast=multicast, lam=lm, chip_weight=cw,
                           seed=seed, label=label)
        if best is None or res.objective_after < best[0].objective_after:
            best = (res, start, lm)
        if prog is not None:
            prog("place: twin exchange", j + 1, len(starts))
    res, core, lam = best
    cur_part, swaps = res.part, res.swaps
    for i in range(2):
        cur_nets = build_nets(graph, cur_part, core_rows(graph, cur_part, part.n_parts))
        core = refine(cur_nets, chip, core, seed=seed, time_budget_s=time_budget_s, multicast=multicast, lam=lam,
                      chip_weight=cw, **opts)
        if i == 1:
            break
        res = refine_twins(graph, cur_nets, chip, cur_part, core, multicast=multicast, lam=lam, chip_weight=cw,
                           seed=seed, label=label)
        if res.swaps == 0:
            break
        swaps += res.swaps
        cur_part = res.part
    plain = LinkCost(nets, chip, pl.core, multicast=multicast, lam=lam, chip_weight=cw).value()
    mine = LinkCost(cur_nets, chip, core, multicast=multicast, lam=lam, chip_weight=cw).value()
    if swaps == 0 or mine >= plain:
        return part, nets, pl, info
    rows = core_rows(graph, cur_part, part.n_parts)
    usage = core_usage(graph, chip, cur_part, n_parts=part.n_parts, rows=rows)
    if usage.violations():  # pragma: no cover - twins leave every core's resources unchanged
        log.warning("twin exchange changed a core's resources; kept the partition before it")
        return part, nets, pl, info
    info["swaps"] = swaps
    part2 = dataclasses.replace(part, part=cur_part, rows=rows, usage=usage)
    cost = placement_cost(cur_nets, chip, core, multicast=multicast, lam=lam, chip_weight=cw)
    pl2 = Placement(core=core, strategy=pl.strategy, cost=cost, initial_cost=pl.initial_cost,
                    moves_tried=pl.moves_tried, moves_accepted=pl.moves_accepted, wall_s=pl.wall_s)
    return part2, cur_nets, pl2, info
