"""The ``"hypergraph"`` partitioner: Mt-KaHyPar on the spike hypergraph, with hard per-core capacities.

One net per neuron ``v`` with targets, pins ``{v} + targets(v)``, weight ``~ r_v``; the
connectivity objective ``sum_nets w (lambda - 1)`` is the rate-weighted count of inter-core spike
packets under per-core multicast (mapping.md §1.10). Vertex weights and capacities are additive
stand-ins for one core of the binding resource (:func:`_hypergraph_weights`); the repair of
:func:`mapper.partition.partition` settles the rest. :mod:`mapper.partition.steiner` maps the same
hypergraph onto the mesh of tiles.
"""
from __future__ import annotations

import math
import os
from typing import Optional

import numpy as np
import scipy.sparse as sp

from neurosim.errors import MappingError

from ..chipspec import ChipSpec
from ..graph import NetGraph, gather_ranges
from ..resources import (demand_lower_bounds, fanout_bound, limits_of, max_core_size, neuron_alone,
                        payload_bits)

__all__ = ["hypergraph"]


def _vertex_weights(graph: NetGraph, chip: ChipSpec, binding: str) -> np.ndarray:
    if binding in ("synapse_bits", "plastic_synapses"):
        d = neuron_alone(graph, chip)[binding].astype(np.float64)
        if d.max() > 0:
            return np.maximum(1, np.round(d / d.max() * 1000)).astype(np.int64)
    return np.ones(graph.n, dtype=np.int64)


_MTK: dict = {}

#: Mt-KaHyPar's imbalance factor, and the balance of the neuron-count capacity when axons bind.
EPSILON = 0.03


def _mtkahypar():
    """The Mt-KaHyPar module and its process-wide initializer (created once)."""
    try:
        import mtkahypar
    except ImportError as exc:
        raise MappingError("partitioner 'hypergraph' needs Mt-KaHyPar: pip install 'neurosim[hypergraph]' "
                           "(or use 'metis')") from exc
    if "init" not in _MTK:
        _MTK["init"] = mtkahypar.initialize(max(1, min(os.cpu_count() or 1, 4)), False)
    return mtkahypar, _MTK["init"]


def _spike_nets(graph: NetGraph, srcs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct spike nets ``{v} + targets(v)`` of the sources ``srcs`` (single-pin nets dropped),
    identical pin sets merged with their rates summed: ``(pins, ptr, rate)`` in CSR form.

    Merging is exact (pin lists compared after a 64-bit hash groups candidates); it turns an
    all-to-all layer's ``n`` nets of ``n`` pins into one net, which km1 counts identically.
    """
    lens = np.diff(graph.out_ptr)[srcs]
    idx = gather_ranges(graph.out_ptr, srcs)
    tg = graph.out_idx[idx].astype(np.int64)
    owner = np.repeat(np.arange(srcs.size), lens)
    keep = tg != srcs[owner]
    tg, owner = tg[keep], owner[keep]
    # pins: the source first, then its targets (sorted within the source's row already)
    allp = np.concatenate([srcs, tg])
    allo = np.concatenate([np.arange(srcs.size), owner])
    order = np.lexsort((allp, allo))
    allp, allo = allp[order], allo[order]
    size = np.bincount(allo, minlength=srcs.size)
    ptr = np.concatenate([[0], np.cumsum(size)])
    ok = size > 1
    rnd = np.random.default_rng(0x4E7).integers(1, 2**62, size=graph.n, dtype=np.uint64)
    h = np.zeros(srcs.size, dtype=np.uint64)
    nz = np.flatnonzero(size > 0)
    h[nz] = np.add.reduceat(rnd[allp], ptr[nz])
    cand = np.flatnonzero(ok)
    cand = cand[np.lexsort((h[cand], size[cand]))]
    rate = graph.rate[srcs]
    rep_of = np.arange(srcs.size)
    for a, b in zip(cand[:-1].tolist(), cand[1:].tolist()):
        if size[a] == size[b] and h[a] == h[b]:
            ra = rep_of[a]
            if np.array_equal(allp[ptr[ra]:ptr[ra + 1]], allp[ptr[b]:ptr[b + 1]]):
                rep_of[b] = ra
    reps = np.unique(rep_of[cand])
    w = np.bincount(rep_of[cand], weights=rate[cand], minlength=srcs.size)[reps]
    out_ptr = np.concatenate([[0], np.cumsum(size[reps])]).astype(np.int64)
    return allp[gather_ranges(ptr, reps)], out_ptr, w


def _hypergraph_weights(graph: NetGraph, chip: ChipSpec, binding: str, k: int,
                        balance: float = EPSILON) -> tuple[np.ndarray, int]:
    """Vertex weights and the hard per-part capacity for :func:`hypergraph`.

    The capacity must be a real one, so the weights must be additive. For synapse memory a
    neuron weighs its synapses' payload ``p_v`` (weights + index + plastic tag bits; scaled to
    integers <= 1000); a core holding the set ``S`` needs ``sum_{v in S} p_v`` plus one row
    header and word rounding per input axon, which the weights cannot see, so the capacity is
    ``limit x P / D`` with ``P`` the total payload and ``D`` the lower bound of the total demand
    including one header per source (:func:`mapper.resources.demand_lower_bounds`). (A neuron's
    demand *alone on a core*, every synapse its own row, over-states a shared core's need several
    times on dense or convolutional layers, and a capacity derived from it is no capacity.) For
    the other resources every neuron weighs one and the capacity is ``max_compartments`` (when
    output axons bind, at most ``s_max(k)`` of :func:`mapper.resources.out_axon_lower_bound`:
    no core of a feasible ``k``-part partition holds more). When an axon limit binds, a part's
    axons grow with its neurons and ``k`` was sized for the axon demand, so the capacity is also
    at most ``ceil(n / k (1 + balance))`` neurons (``balance``: the partitioner's ``epsilon``).
    The repair settles the rest.
    """
    lims = limits_of(chip.core)
    lim = lims[binding]
    if binding == "synapse_bits" and lim:
        pay = payload_bits(chip.core, graph.in_nsyn.astype(np.int64), graph.in_nplastic.astype(np.int64))
        d = np.bincount(np.repeat(np.arange(graph.n), np.diff(graph.in_ptr)), weights=pay,
                        minlength=graph.n).astype(np.float64)
        if d.max() > 0:
            vw = np.maximum(1, np.round(d / d.max() * 1000)).astype(np.int64)
            frac = float(d.sum()) / max(1.0, float(demand_lower_bounds(graph, chip)["synapse_bits"]))
            cap = int(lim * frac / d.max() * 1000)
            return vw, max(cap, int(vw.max()), -(-int(vw.sum()) // k))
    vw = _vertex_weights(graph, chip, binding)
    if binding == "plastic_synapses" and lim and vw.max() > 1:
        d = neuron_alone(graph, chip)[binding].astype(np.float64)  # additive: one count per synapse
        cap = int(lim / d.max() * 1000)
    else:  # one per neuron: a core holds max_compartments of them, fewer when output axons bind
        cap = int(lims["compartments"])
        if binding == "out_axons" and lim:
            cap = min(cap, max_core_size(fanout_bound(graph, chip), k, int(lim)))
        if binding in ("in_axons", "out_axons") and lim:
            # axons bind, not slots: a part's axons grow with its neurons, so a part may hold little
            # more than its share (k was sized for the axon demand); without this cap km1 favours
            # a few parts of max_compartments neurons and 4x their axon limit
            cap = min(cap, math.ceil(graph.n / k * (1.0 + balance)))
    return vw, max(cap, int(vw.max()), -(-int(vw.sum()) // k))


def hypergraph(graph: NetGraph, chip: ChipSpec, *, k: int, seed: int, binding: str = "compartments",
               sym: Optional[sp.csr_matrix] = None, epsilon: float = EPSILON) -> np.ndarray:
    """Mt-KaHyPar (deterministic preset) km1 partition of the spike hypergraph into ``k`` parts.

    One net per neuron ``v`` with targets, pins ``{v} + targets(v)``, weight ``~ r_v`` (events per
    step, scaled to integers; silent neurons weigh 1/1000 of the busiest so their structure still
    counts). The connectivity objective ``sum_nets w (lambda - 1)`` (``lambda``: parts a net
    touches) is exactly the rate-weighted count of inter-core spike packets under per-core
    multicast (Ronzani & Silvano 2026; mapping.md §1.10). Vertex weights and the hard maximum
    weight of every part (``set_individual_target_block_weights``) are additive stand-ins for one
    core of the binding resource (:func:`_hypergraph_weights`: synapse payload for synapse memory,
    plastic synapses, else one per neuron against ``max_compartments`` and, when output axons
    bind, the most neurons a core can hold), raised only if the total cannot fit ``k`` parts; the
    repair then settles the non-additive limits.
    """
    if k <= 1 or graph.n <= 1:
        return np.zeros(graph.n, dtype=np.int64)
    k = min(int(k), graph.n)
    mtk_mod, mtk = _mtkahypar()
    deg = np.diff(graph.out_ptr)
    srcs = np.flatnonzero(deg > 0)
    if srcs.size == 0:
        return (np.arange(graph.n) * k // graph.n).astype(np.int64)
    pins, ptr, w = _spike_nets(graph, srcs)
    if ptr.size < 2:
        return (np.arange(graph.n) * k // graph.n).astype(np.int64)
    wmax = float(w.max())
    ew = np.maximum(1, np.round(w / wmax * 1000.0)).astype(np.int64) if wmax > 0 else np.ones(w.size, np.int64)
    nets = [pins[ptr[i]:ptr[i + 1]].tolist() for i in range(ptr.size - 1)]
    vw, cap = _hypergraph_weights(graph, chip, binding, k, balance=epsilon)
    mtk_mod.set_seed(int(seed))
    ctx = mtk.context_from_preset(mtk_mod.PresetType.DETERMINISTIC)
    ctx.set_partitioning_parameters(k, float(epsilon), mtk_mod.Objective.KM1)
    ctx.set_individual_target_block_weights([cap] * k)
    ctx.logging = False
    hg = mtk.create_hypergraph(ctx, graph.n, len(nets), nets, vw.tolist(), ew.tolist())
    return np.asarray(hg.partition(ctx).get_partition(), dtype=np.int64)
