"""The twin-exchange stage: move spike traffic between cores by swapping interchangeable neurons.

Partitioners group neurons by connectivity, so they cannot see *which* of several equivalent
neurons should sit on a core: in an all-to-all layer (spiking LCA's lateral inhibition, a dense
layer) every partition sends every spike to every core, and the only thing left to optimise is
where the busy neurons sit. This stage runs after :func:`mapper.place.place`: it finds such
neurons (:func:`find_twins`, before placement, so that the placement and the exchange can share
the work budget and the wall-clock cap) and exchanges them between parts under the placer's exact objective
(:func:`exchange_twins`), returning the new partition, nets and placement as one
:class:`TwinExchange` value.

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

The stage (:func:`exchange_twins`, ``"anneal"`` placer only) exchanges twins at every start
placement (``"hilbert"``, ``"block"`` and a partitioner's own), keeps the best, refines it
(:func:`mapper.place.anneal.refine`), exchanges again and refines again; the result replaces the
plain placement only when its objective is lower. Exchanging first lets the annealer see parts
whose rates were already sorted (e.g. the busy neurons of an all-to-all layer gathered on the
block's edge rows, which halves the busiest link at no extra link cost).
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..chipspec import ChipSpec
from ..graph import NetGraph, core_rows
from ..mesh import DIRS, boundary_masks, grid_shape, link_loads, tile_coords
from ..nets import Nets, build_nets, segments
from ..options import MappingOptions, Progress
from ..partition import Partition
from ..resources import core_usage
from .anneal import refine
from .core import Placement
from .cost import LinkCost, default_lam, objective_multicast, placement_cost
from .placers import block_start, complete_start, hilbert_start

__all__ = ["twin_classes", "refine_twins", "TwinResult", "find_twins", "exchange_twins", "TwinExchange",
           "twin_work"]

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


def twin_classes(graph: NetGraph, *, candidates: Optional[np.ndarray] = None, max_checks: int = 200_000) -> np.ndarray:
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
                 multicast: bool, lam: float, chip_weight: float, seed: int, batch: int = 256,
                 patience: int = 30, max_rounds: int = 20_000, label: Optional[np.ndarray] = None) -> TwinResult:
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


@dataclass(frozen=True, eq=False)
class TwinExchange:
    """Outcome of the twin-exchange stage (:func:`exchange_twins`).

    Attributes
    ----------
    partition : Partition
        The partition after the exchanges (the input one when none was kept; resources re-checked).
    placement : Placement
        Its placement (the input one when no exchange was kept).
    nets : Nets
        The multicast nets of ``partition``.
    info : dict
        ``{"twins": neurons with a twin, "swaps": exchanges kept}`` (``report["placement"]["twins"]``).
    budget_bound : tuple of str
        The refinement phases the wall-clock cap cut short or skipped (empty: reproducible).
    """

    partition: Partition
    placement: Placement
    nets: Nets
    info: dict
    budget_bound: tuple = ()


def find_twins(graph: NetGraph, nets: Nets, options: MappingOptions) -> Optional[np.ndarray]:
    """Twin class of every neuron (:func:`twin_classes`) when the exchange applies, else ``None``.

    It applies with the ``"anneal"`` placer, the place option ``twins`` on (the default), at least
    two parts and at least one neuron with a twin. Called before placement: when it applies, the
    placement and the two refinements of :func:`exchange_twins` share the place option ``work``
    (a third each, :func:`twin_work`) and the wall-clock cap ``options.time_budget_s``.
    """
    if options.placer != "anneal" or not options.place_settings()["twins"] or nets.n_parts < 2:
        return None
    label = twin_classes(graph, candidates=np.flatnonzero(nets.neuron_net >= 0))
    return label if (label >= 0).any() else None


def twin_work(options: MappingOptions) -> MappingOptions:
    """``options`` with a third of the place option ``work``: what the placement and each of the two
    refinements of :func:`exchange_twins` get when twins apply (:func:`find_twins`), so that the
    three together do the work of one placement."""
    s = options.place_settings()
    return options.replace(place_options={**options.place_options, "work": float(s["work"]) / 3.0})


def exchange_twins(graph: NetGraph, chip: ChipSpec, partition: Partition, placement: Placement,
                   options: MappingOptions, *, nets: Nets, label: Optional[np.ndarray],
                   deadline: Optional[float] = None, progress: Optional[Progress] = None) -> TwinExchange:
    """The twin-exchange stage (module doc): a new partition and placement when exchanging twins
    lowers the placement objective, else the given ones.

    Parameters
    ----------
    graph, chip
    partition, placement : Partition, Placement
        The partition and its placement by :func:`mapper.place.place`.
    options : MappingOptions
        ``seed``, ``time_budget_s`` (wall-clock cap of each of the two refinements, seconds; 0:
        none) and the place options (``lam``, ``chip_weight``, ``multicast``, the move counts,
        ``work`` -- of each refinement, :func:`twin_work` --, ``links_slack``, ``start``).
    nets : Nets
        The multicast nets of ``partition``.
    label : ndarray or None
        :func:`find_twins` of ``graph`` (``None``: nothing to exchange; the inputs are returned).
    deadline : float, optional
        The wall-clock cap as a :func:`time.perf_counter` time (shared with the placement); past
        it the refinements stop and the result lists the phases cut (``budget_bound``).
    progress : callable, optional
        ``progress("place: twin exchange", done, starts)`` over the start placements, then the
        refinements' phases.
    """
    info = {"twins": 0 if label is None else int((label >= 0).sum()), "swaps": 0}
    unchanged = TwinExchange(partition=partition, placement=placement, nets=nets, info=info)
    if label is None:
        return unchanged
    s = options.place_settings()
    multicast = objective_multicast(chip, s["multicast"])
    cw = float(s["chip_weight"])
    seed = options.seed
    given = None  # the partitioner's own choice of cores ("steiner"), a third start
    if partition.cores is not None and s["start"] is None:
        given = complete_start(chip, partition.cores)
    starts = (hilbert_start(nets, chip), block_start(nets, chip)) + ((given,) if given is not None else ())
    lam = default_lam(chip, starts[0]) if s["lam"] is None else float(s["lam"])  # one weight for every start
    if progress is not None:
        progress("place: twin exchange", 0, len(starts))
    best = None
    for j, start in enumerate(starts):  # exchange at every start, keep the best
        res = refine_twins(graph, nets, chip, partition.part, start, multicast=multicast, lam=lam, chip_weight=cw,
                           seed=seed, label=label)
        if best is None or res.objective_after < best[0].objective_after:
            best = (res, start)
        if progress is not None:
            progress("place: twin exchange", j + 1, len(starts))
    res, core = best
    cur_part, swaps = res.part, res.swaps
    k = partition.n_parts
    bound: list[str] = []
    for i in range(2):
        cur_nets = build_nets(graph, cur_part, core_rows(graph, cur_part, k))
        stats: dict = {}
        core = refine(cur_nets, chip, core, seed=seed, time_budget_s=options.time_budget_s, deadline=deadline, lam=lam,
                      chip_weight=cw, multicast=multicast, pair_moves=s["pair_moves"], exact_moves=s["exact_moves"],
                      polish_moves=s["polish_moves"], work=s["work"], links_slack=s["links_slack"], stats=stats,
                      progress=progress)
        bound += [f"{b} (twin exchange {i + 1})" for b in stats.get("budget_bound", ())]
        if i == 1:
            break
        res = refine_twins(graph, cur_nets, chip, cur_part, core, multicast=multicast, lam=lam, chip_weight=cw,
                           seed=seed, label=label)
        if res.swaps == 0:
            break
        swaps += res.swaps
        cur_part = res.part
    plain = LinkCost(nets, chip, placement.core, multicast=multicast, lam=lam, chip_weight=cw).value()
    mine = LinkCost(cur_nets, chip, core, multicast=multicast, lam=lam, chip_weight=cw).value()
    if swaps == 0 or mine >= plain:
        return dataclasses.replace(unchanged, budget_bound=tuple(bound))
    rows = core_rows(graph, cur_part, k)
    usage = core_usage(graph, chip, cur_part, n_parts=k, rows=rows)
    if usage.violations():  # pragma: no cover - twins leave every core's resources unchanged
        log.warning("twin exchange changed a core's resources; kept the partition before it")
        return dataclasses.replace(unchanged, budget_bound=tuple(bound))
    cost = placement_cost(cur_nets, chip, core, multicast=multicast, lam=lam, chip_weight=cw)
    pl = dataclasses.replace(placement, core=core, cost=cost)
    return TwinExchange(partition=dataclasses.replace(partition, part=cur_part, rows=rows, usage=usage), placement=pl,
                        nets=cur_nets, info={**info, "swaps": swaps}, budget_bound=tuple(bound))
