"""Where splitter relays go: relays per core, the items a split neuron's relays form, and their cores.

A neuron ``v`` whose targets lie on ``m`` cores of a chip with ``CoreLimits.max_out_axons_per_neuron
= L`` needs ``ceil(m / L)`` leaf relays (:mod:`mapper.partition.splitters`).

Packing
-------
One core holds at most ``cap = min(max_compartments, floor(max_out_axons / L), n_mem)`` relays
fed by one source, with ``n_mem`` the most synapses one input row may hold in the synapse memory
(:func:`mapper.resources.row_bits`). If ``ceil(m / L) <= cap`` the relays of ``v`` form one
*item* fed by ``v`` (one level). Otherwise they form ``g = ceil(ceil(m / L) / cap)`` items of at
most ``cap`` relays, each fed by one of ``g`` first-level relays (an item of its own fed by ``v``):
a two-level tree, two steps of latency.

The item of a one-level neuron goes, first, on an existing core with room under every per-core
limit, checked exactly against the partition's usage (:func:`mapper.resources.core_usage`), in
this order, none of which adds a packet: one of ``v``'s destination cores (its own core first,
then the one it sends most synapses to), where the row ``(v, h)`` grows by the relays and no
input axon is added, and which saves a relay and ``count(v)`` packets; else ``v``'s own core
(one new row; the feed does not leave the core), in a second pass so that it takes no room the
first could use. Other cores of the partition are not used: their place is set by their own
neurons, and on TrueNorth (``benchmarks/bench_splitters.py``, ``sheet(64)``) they saved at most
one core of 123 with hops -2 % to +5 %. Every other item (trees, and items these cores cannot
take) is packed first-fit decreasing onto new *splitter cores* (:func:`pack_items`); an item adds
its relays (compartments), one input axon (its feeder), its relays' destination cores (output
axons) and one row of ``n`` synapses (synapse memory) to its core.
"""
from __future__ import annotations

import numpy as np

from neurosim.errors import CapacityError

from ..chipspec import ChipSpec
from ..graph import CoreRows, NetGraph
from ..resources import core_usage, limits_of, payload_bits, row_bits

__all__ = ["relays_per_core", "relay_items", "pack_items", "host_items"]


def relays_per_core(chip: ChipSpec) -> int:
    """Most relays one source can feed on one empty core of ``chip``.

    ``min(max_compartments, floor(max_out_axons / L), n_mem)`` where a row of ``n`` synapses
    fits the synapse memory ``M`` (word ``W``, header ``h``, ``b`` bits per synapse) iff
    ``n b + h <= W floor(M / W)``, so ``n_mem = floor((W floor(M / W) - h) / b)``.

    Raises
    ------
    CapacityError
        Not even one relay fits a core.
    """
    core = chip.core
    lim = int(core.max_out_axons_per_neuron or 1)
    cap = min(int(core.max_compartments), int(core.max_out_axons) // lim)
    b = int(payload_bits(core, 1, 0))
    if b > 0:
        w = int(core.synapse_word_bits)
        cap = min(cap, (w * (int(core.synapse_mem_bits) // w) - int(core.synapse_row_overhead_bits)) // b)
    if cap < 1 or int(core.max_in_axons) < 1:
        raise CapacityError(f"chip '{chip.name}'", "relays_per_core", 0, 1,
                            hint="a splitter core cannot hold a single relay neuron (check max_compartments, "
                                 "max_in_axons, max_out_axons and synapse_mem_bits)")
    return int(cap)



def relay_items(m: np.ndarray, leaves: np.ndarray, groups: np.ndarray, cap: int, L: int) -> tuple[np.ndarray, ...]:
    """Packing items of the split neurons (``m`` destination cores, ``leaves = ceil(m / L)`` leaf
    relays, ``groups`` leaf items each).

    A one-level neuron has one item of ``leaves`` relays fed by itself; a tree neuron has a
    first-level item of ``groups`` relays, then ``groups`` leaf items of at most ``cap`` relays,
    in that order. Returns ``(n_items, first_item, leaf_item, leaf_cap, item_rel, item_out)``
    per neuron (items, index of its first item, of its first leaf item, leaf relays per leaf
    item) and per item (relays, output axons).
    """
    tree = groups > 1
    n_items = np.where(tree, groups + 1, 1)
    first_item = np.concatenate([[0], np.cumsum(n_items)[:-1]]).astype(np.int64)
    total = int(n_items.sum())
    item_rel = np.empty(total, dtype=np.int64)
    item_out = np.empty(total, dtype=np.int64)
    item_rel[first_item[~tree]] = leaves[~tree]
    item_out[first_item[~tree]] = m[~tree]
    leaf_item = np.where(tree, first_item + 1, first_item)
    leaf_cap = np.where(tree, cap, np.maximum(leaves, 1))
    for s in np.flatnonzero(tree):  # few: only neurons with more than cap * L destination cores
        f, g = int(first_item[s]), int(groups[s])
        item_rel[f] = item_out[f] = g  # each first-level relay targets one leaf item's core
        sizes = np.full(g, cap, dtype=np.int64)
        sizes[-1] = int(leaves[s]) - cap * (g - 1)
        item_rel[f + 1:f + 1 + g] = sizes
        chunk_dests = np.minimum(L, int(m[s]) - L * np.arange(int(leaves[s])))  # cores of each leaf relay
        item_out[f + 1:f + 1 + g] = np.add.reduceat(chunk_dests, np.arange(g) * cap)
    return n_items, first_item, leaf_item, leaf_cap, item_rel, item_out


def pack_items(n_rel: np.ndarray, n_out: np.ndarray, chip: ChipSpec) -> tuple[np.ndarray, int]:
    """First-fit decreasing of items (``n_rel`` relays, ``n_out`` output axons, one input axon and
    one row of ``n_rel`` synapses each) onto new cores; returns ``(core of every item, cores)``."""
    lims = limits_of(chip.core)
    bits = row_bits(chip.core, payload_bits(chip.core, n_rel.astype(np.int64), 0)).astype(np.int64)
    m = n_rel.size
    comp = np.zeros(m, dtype=np.int64)
    inax = np.zeros(m, dtype=np.int64)
    outax = np.zeros(m, dtype=np.int64)
    mem = np.zeros(m, dtype=np.int64)
    core_of = np.empty(m, dtype=np.int64)
    small = (int(n_rel.min()), int(n_out.min()), int(bits.min())) if m else (0, 0, 0)
    k = lo = 0  # cores lo..k-1 are open; cores before lo cannot take even the smallest item
    for i in np.argsort(-n_rel, kind="stable"):
        n, o, b = int(n_rel[i]), int(n_out[i]), int(bits[i])
        fits = np.flatnonzero((comp[lo:k] + n <= lims["compartments"]) & (inax[lo:k] < lims["in_axons"])
                              & (outax[lo:k] + o <= lims["out_axons"]) & (mem[lo:k] + b <= lims["synapse_bits"]))
        c = lo + int(fits[0]) if fits.size else k
        k = max(k, c + 1)
        comp[c] += n
        inax[c] += 1
        outax[c] += o
        mem[c] += b
        core_of[i] = c
        while lo < k and (comp[lo] + small[0] > lims["compartments"] or inax[lo] >= lims["in_axons"]
                          or outax[lo] + small[1] > lims["out_axons"] or mem[lo] + small[2] > lims["synapse_bits"]):
            lo += 1
    return core_of, k


def host_items(graph: NetGraph, chip: ChipSpec, part: np.ndarray, rows: CoreRows, split: np.ndarray,
               m: np.ndarray, tree: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Existing core of the relay item of every one-level split neuron (``-1``: a new core), and
    whether that core is one of the neuron's destination cores (see "Packing" in the module doc).

    Two greedy passes, neurons with more destination cores first, each check exact: (1) a
    destination core ``d`` takes ``k = ceil((m - 1) / L)`` relays (compartments), their ``m - 1``
    destination cores (output axons) and ``k`` more synapses in the existing row ``(v, d)``
    (synapse memory grows by ``row_bits(n + k) - row_bits(n)``, no input axon); (2) the neuron's
    own core, when not a destination, takes ``k = ceil(m / L)`` relays, ``m`` output axons, one
    input axon and one new row of ``k`` synapses. The first pass saves packets, the second only
    cores, so it runs after the first and takes no room the first could use. Every split neuron
    keeps one output axon (its ``m - 1`` others are freed first).
    """
    core = chip.core
    lims = limits_of(core)
    used = core_usage(graph, chip, part, n_parts=rows.n_parts, rows=rows).used
    comp, inax, mem = used["compartments"].copy(), used["in_axons"].copy(), used["synapse_bits"].copy()
    outax = used["out_axons"].copy()
    np.subtract.at(outax, part[split], m - 1)
    ptr = rows.ptr(graph.n)
    host = np.full(split.size, -1, dtype=np.int64)
    absorb = np.zeros(split.size, dtype=bool)
    order = [int(s) for s in np.argsort(-m, kind="stable") if not tree[s]]
    for s in order:  # (1) one of its destination cores
        v, ms = int(split[s]), int(m[s])
        dp, ns, npl = (a[ptr[v]:ptr[v + 1]].astype(np.int64) for a in (rows.part, rows.nsyn, rows.nplastic))
        k = -(-(ms - 1) // L)
        grow = row_bits(core, payload_bits(core, ns + k, npl)) - row_bits(core, payload_bits(core, ns, npl))
        ok = np.flatnonzero((comp[dp] + k <= lims["compartments"]) & (outax[dp] + ms - 1 <= lims["out_axons"])
                            & (mem[dp] + grow <= lims["synapse_bits"]))
        if ok.size:  # prefer its own core (no hop to the relays), then the core it sends most synapses to
            i = int(ok[np.lexsort((-ns[ok], dp[ok] != int(part[v])))[0]])
            d = int(dp[i])
            comp[d] += k
            outax[d] += ms - 1
            mem[d] += int(grow[i])
            host[s], absorb[s] = d, True
    for s in order:  # (2) its own core when that is not a destination core
        h, v, ms = int(part[split[s]]), int(split[s]), int(m[s])
        if host[s] >= 0 or h in rows.part[ptr[v]:ptr[v + 1]]:
            continue
        k = -(-ms // L)
        b = int(row_bits(core, payload_bits(core, k, 0)))
        if comp[h] + k <= lims["compartments"] and inax[h] < lims["in_axons"] and outax[h] + ms <= lims["out_axons"] \
                and mem[h] + b <= lims["synapse_bits"]:
            comp[h] += k
            inax[h] += 1
            outax[h] += ms
            mem[h] += b
            host[s] = h
    return host, absorb
