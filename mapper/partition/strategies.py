r"""Partition strategies: plain callables of one signature, chosen by name from :data:`STRATEGIES`.

``strategy(graph, chip, *, k, seed, **kw) -> part`` returns the part label of every neuron (an
int array; labels may skip empty parts) for about ``k`` parts; :func:`mapper.partition.partition`
passes the binding resource (``binding``) and what a strategy needs besides, then repairs the
result to fit every limit exactly. ``"steiner"`` returns ``(part, cores)``: it also chooses the
board core of every label.

``"sequential"``
    Fill cores in neuron order, each as far as *all* limits allow (compartments, input axons,
    synapse memory, plastic synapses; output axons through per-neuron destination-core costs,
    per-core caps and re-fills, :func:`sequential`) — the default of nengo-loihi's block splitter
    and of SANA-FE's converters; ``k`` (the core-count lower bound) only sets the starting costs.
``"metis"``
    pymetis k-way partitioning of the symmetrised, rate-weighted traffic graph
    (:func:`traffic_graph`)

    .. math:: w(u, v) = r_u n(u \to v) + r_v n(v \to u)

    (``r`` events per step, ``n`` synapses), vertex weights = each neuron's demand of the binding
    resource.
``"hypergraph"``
    Mt-KaHyPar (optional extra ``neurosim[hypergraph]``) on the spike hypergraph, one net per
    neuron and its targets, connectivity objective = inter-core packets under multicast, hard
    per-core capacity (:func:`mapper.partition.hypergraph.hypergraph`). Slower than ``"metis"``,
    fewer packets.
``"steiner"``
    Mt-KaHyPar's Steiner-tree mapping of the same hypergraph onto the mesh of tiles, then a km1
    split of every tile into its cores (:mod:`mapper.partition.steiner`): minimises the XY
    multicast links directly and chooses the core of every part. Past its time budget it raises
    and ``"hypergraph"`` takes over. Fewest links on small boards (up to a few tens of tiles);
    cost grows steeply with tiles.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

import numpy as np
import scipy.sparse as sp

from ..chipspec import ChipSpec
from ..graph import NetGraph, core_rows
from ..resources import fanout_bound, limits_of, min_cores, payload_bits, row_bits
from .hypergraph import _vertex_weights, hypergraph
from .steiner import steiner

__all__ = ["STRATEGIES", "Strategy", "sequential", "metis", "hypergraph", "steiner", "traffic_graph"]

log = logging.getLogger(__name__)

#: ``strategy(graph, chip, *, k, seed, **kw) -> part`` (or ``(part, cores)``)
Strategy = Callable[..., np.ndarray]


def traffic_graph(graph: NetGraph) -> sp.csr_matrix:
    """Symmetric traffic graph without self loops: ``w(u, v) = r_u n(u->v) + r_v n(v->u) + eps``.

    ``eps`` (1e-3 of the mean pair traffic, or 1 when nothing spikes) keeps silent synapses as
    structure so a network without activity is still partitioned by its connectivity.
    """
    src = graph.out_src
    w = graph.rate[src] * graph.out_nsyn
    eps = 1e-3 * float(w.mean()) if w.size and w.mean() > 0 else 1.0
    w = w + eps * graph.out_nsyn
    w[src == graph.out_idx] = 0.0
    p = sp.csr_matrix((w, graph.out_idx.copy(), graph.out_ptr.copy()), shape=(graph.n, graph.n))
    p.eliminate_zeros()
    s = (p + p.T).tocsr()
    s.sort_indices()
    return s


def _prefix_fit(graph: NetGraph, chip: ChipSpec, lims: dict, a: int, hi: int,
                cost: Optional[np.ndarray] = None) -> int:
    """How many neurons ``a, a+1, ...`` (at most ``hi - a``) fit one core on the input-side limits
    (and, given per-neuron output-axon costs ``cost``, ``sum cost <= max_out_axons``).

    One vectorised pass: the fan-in entries of ``a .. hi-1`` are grouped by source (stable, so in
    neuron order); the ``c``-th synapse from a source adds ``row_bits(P_after) - row_bits(P_before)``
    synapse bits (``P`` = the row's payload) and the first one adds an input axon; cumulative sums
    over neurons give every prefix's demand, which only grows, so the answer is its first failure.
    """
    lo_e, hi_e = int(graph.in_ptr[a]), int(graph.in_ptr[hi])
    m = hi - a
    if cost is not None:
        m = min(m, int(np.searchsorted(np.cumsum(cost[a:hi]), lims["out_axons"], side="right")))
        hi = a + m
        hi_e = int(graph.in_ptr[hi])
    if hi_e == lo_e or m == 0:
        return m
    src = graph.in_idx[lo_e:hi_e]
    pay = payload_bits(chip.core, graph.in_nsyn[lo_e:hi_e].astype(np.int64),
                       graph.in_nplastic[lo_e:hi_e].astype(np.int64))
    owner = np.repeat(np.arange(m), np.diff(graph.in_ptr[a:hi + 1]))
    order = np.argsort(src, kind="stable")
    s_sorted, p_sorted = src[order], pay[order]
    first = np.empty(s_sorted.size, dtype=bool)
    first[0] = True
    first[1:] = s_sorted[1:] != s_sorted[:-1]
    cum = np.cumsum(p_sorted)
    before_all = cum - p_sorted
    base = np.maximum.accumulate(np.where(first, before_all, 0))
    before = before_all - base
    d_bits = np.empty_like(p_sorted)
    d_bits[order] = row_bits(chip.core, before + p_sorted) - row_bits(chip.core, before)
    d_in = np.empty(s_sorted.size, dtype=np.int64)
    d_in[order] = first
    fits = (np.cumsum(np.bincount(owner, weights=d_bits, minlength=m)) <= lims["synapse_bits"]) \
        & (np.cumsum(np.bincount(owner, weights=d_in, minlength=m)) <= lims["in_axons"])
    if lims["plastic_synapses"] is not None:
        npl = graph.in_nplastic[lo_e:hi_e]
        fits &= np.cumsum(np.bincount(owner, weights=npl, minlength=m)) <= lims["plastic_synapses"]
    return m if fits.all() else int(np.argmin(fits))


def _fill(graph: NetGraph, chip: ChipSpec, lims: dict, caps: dict[int, int],
          cost: Optional[np.ndarray] = None) -> np.ndarray:
    """Cores filled in neuron order, each with the longest run :func:`_prefix_fit` allows (core
    ``c`` at most ``caps[c]`` neurons)."""
    n = graph.n
    part = np.empty(n, dtype=np.int64)
    a, c = 0, 0
    window = 64
    while a < n:
        cap = min(lims["compartments"], caps.get(c, n), n - a)
        w = min(cap, window)
        while True:  # gallop: look at a window of neurons, widen it while all of them fit
            m = _prefix_fit(graph, chip, lims, a, a + w, cost)
            if m < w or w == cap:
                break
            w = min(cap, 2 * w)
        m = max(1, m)  # a single neuron fits (checked before)
        part[a:a + m] = c
        window = max(8, m + m // 4 + 2)  # the next core is usually about as large
        a, c = a + m, c + 1
    return part


def _safe_fill(graph: NetGraph, chip: ChipSpec, lims: dict, k: int, *, max_iter: int = 64) -> np.ndarray:
    """A fill whose output axons fit by construction: costs ``min(t_v, K)``, ``K`` iterated.

    A neuron with ``t_v`` targets reaches at most ``min(t_v, K)`` of ``K`` cores, so a fill with
    those costs that uses at most ``K`` cores fits every output-axon limit. Using more cores
    (``K' > K``) the fill is repeated with ``K'``; the core count only grows, so from a lower
    bound ``k`` this stops at the first self-consistent ``K`` (at most ``max_iter`` fills).
    """
    fan = np.diff(graph.out_ptr).astype(np.int64)
    big = max(1, int(k))
    for _ in range(max_iter):
        part = _fill(graph, chip, lims, {}, np.minimum(fan, big))
        used = int(part[-1]) + 1
        if used <= big:
            break
        big = used
    return part


def sequential(graph: NetGraph, chip: ChipSpec, *, k: int, seed: int, max_iter: int = 20,
               stall: int = 6, safe_ratio: float = 1.25) -> np.ndarray:
    r"""Fill cores in neuron order, each with the longest run of neurons that fits every limit.

    The input-side demand of a run only grows with its length; :func:`_prefix_fit` finds the
    longest run in one vectorised pass over its fan-in (``O(pairs log pairs)`` per fill). Output
    axons depend on where the targets land; every neuron ``v`` carries a cost ``c_v`` (destination
    cores it is assumed to reach) and a run must also keep ``sum c_v <= max_out_axons``:

    1. The costs start at the lower bound ``d_v(k)`` of :class:`mapper.resources.FanoutBound`
       for the ``k`` parts requested (``k``: :func:`mapper.resources.min_cores` when 0), which
       no feasible partition with at least ``k`` cores undercuts; on an all-to-all layer they
       are exact and one fill suffices.
    2. While a core's output axons overflow (at most ``max_iter`` refills, and until ``stall``
       refills in a row fail to reduce the overflowing cores below their fewest so far): if some
       neurons whose targets cannot share one core (``d_v >= 2``) reach more cores than their
       cost, their costs become ``max(c_v, measured destinations)`` (they only grow, so this
       settles; on dense layers in two or three fills, since the next layer's cores are what
       every neuron reaches; local neurons keep the caps below, which pack tighter); otherwise
       each overflowing core gets a neuron cap, the longest prefix of its neurons whose
       destination cores fit, minus one (enough for local networks, where a refill moves few
       destinations).
    3. If cores still overflow (dense networks: every refill changes every neuron's
       destinations), the costs become the safe ``min(t_v, K)`` (:func:`_safe_fill`): a fill of
       at most ``K`` cores with them fits by construction, and ``K`` is iterated up from ``k``.
       That fill is taken if it uses at most ``safe_ratio`` times the cores of the last capped
       fill (on sparse networks ``t_v`` overstates the destinations many times over); otherwise
       the capped fill is returned and :func:`partition`'s repair settles the overflow.
    """
    lims = limits_of(chip.core)
    n = graph.n
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    k_req = max(1, int(k) if k and k > 0 else min_cores(graph, chip)[0])
    cost = fanout_bound(graph, chip).dest_lower(k_req).astype(np.int64)
    caps: dict[int, int] = {}
    fan = np.diff(graph.out_ptr)
    part = _fill(graph, chip, lims, caps, cost)
    best = (n + 1, 0)  # fewest overflowing cores so far, and when
    for it in range(max_iter + 1):
        k_now = int(part[-1]) + 1
        bound = np.bincount(part, weights=np.minimum(fan, k_now), minlength=k_now)
        if bound.max(initial=0) <= lims["out_axons"]:
            return part  # even if every target sat on a different core, no core could overflow
        rows = core_rows(graph, part, k_now)
        ndest = np.bincount(rows.src, minlength=n)
        out = np.bincount(part, weights=ndest, minlength=k_now)
        over = np.flatnonzero(out > lims["out_axons"])
        if over.size == 0:
            return part
        if over.size < best[0]:
            best = (over.size, it)
        if it == max_iter or it - best[1] >= stall:
            break
        grown = (ndest > cost) & (cost >= 2)
        if grown.any():  # measured destinations: costs only grow, up to min(t_v, cores)
            log.info("sequential refill %d: %d cores, %d over max_out_axons; %d neurons reach more cores than "
                     "costed", it + 1, k_now, over.size, int(grown.sum()))
            cost = np.maximum(cost, ndest)
        else:
            log.info("sequential refill %d: %d cores, %d over max_out_axons; capping them", it + 1, k_now, over.size)
            for c in over:
                cum = np.cumsum(ndest[part == c])
                keep = int(np.searchsorted(cum, lims["out_axons"], side="right"))
                caps[int(c)] = max(1, min(caps.get(int(c), lims["compartments"]), keep) - 1)
        part = _fill(graph, chip, lims, caps, cost)
    safe = _safe_fill(graph, chip, lims, k_req)
    k_safe = int(safe[-1]) + 1
    use_safe = k_safe <= safe_ratio * k_now
    log.info("sequential: %d of %d cores still over max_out_axons after %d refills; the safe costs "
             "min(targets, cores) fill %d cores: %s", over.size, k_now, it, k_safe,
             "taking them" if use_safe else "leaving the overflow to the repair")
    return safe if use_safe else part


def metis(graph: NetGraph, chip: ChipSpec, *, k: int, seed: int, binding: str = "compartments",
          sym: Optional[sp.csr_matrix] = None, ufactor: int = 10) -> np.ndarray:
    """pymetis k-way partition of :func:`traffic_graph` into ``k`` parts (labels may skip empties)."""
    import pymetis

    if k <= 1 or graph.n <= 1:
        return np.zeros(graph.n, dtype=np.int64)
    k = min(int(k), graph.n)
    if sym is None:
        sym = traffic_graph(graph)
    data = sym.data
    if data.size == 0:
        return (np.arange(graph.n) * k // graph.n).astype(np.int64)
    # integer edge weights, total kept below 2**30 (METIS idx_t may be 32-bit)
    top = max(1.0, min(1000.0, float(2**30 // max(1, data.size))))
    ew = np.maximum(1, np.round(data / data.max() * top)).astype(np.int64)
    vw = _vertex_weights(graph, chip, binding)
    opts = pymetis.Options(seed=int(seed), ufactor=int(ufactor))
    adj = pymetis.CSRAdjacency(sym.indptr.astype(np.int64), sym.indices.astype(np.int64))
    _, parts = pymetis.part_graph(k, adj, vweights=vw, eweights=ew, options=opts)
    return np.asarray(parts, dtype=np.int64)


STRATEGIES: dict[str, Strategy] = {"sequential": sequential, "metis": metis, "hypergraph": hypergraph,
                                   "steiner": steiner}
