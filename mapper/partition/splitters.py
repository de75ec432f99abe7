"""The splitter stage: relay neurons that give every neuron at most ``L`` destination cores (TrueNorth).

A chip with ``CoreLimits.max_out_axons_per_neuron = L`` lets a neuron target axons on at most
``L`` cores (TrueNorth: ``L = 1``, one target axon per neuron; Merolla et al. 2014 sec. S4).
After partitioning, a neuron ``v`` whose targets lie on ``m > L`` cores ``p_1 < ... < p_m`` is
given relay ("splitter") neurons, each of which targets ``L`` of those cores with ``v``'s original
synapses there (weights, delay, gain and learning rule of each original connection). ``v`` itself
then targets only its relays, with weight 1 and delay 1, all of them on *one* core ``h`` (the
*host*), so it has a single destination core. When ``h`` is one of the ``p_i``, ``v`` keeps its
synapses there (same row of the host's synapse memory as the relays) and the relays cover the
other ``m - 1`` cores: ``ceil((m - 1) / L)`` relays; otherwise ``ceil(m / L)``.

A relay fires once per input event, one step later, so every relay level adds one step of
latency on the paths through it and each relay emits exactly as many events as ``v``:

    count(relay of v) = count(v),    syn_ops += count(v) * (relays fed by v),
    packets of v per event = 1 + (destination cores of its relays) = m + 1, or m when h is a p_i.

Relay neurons are :class:`~neurosim.neurons.LIF` neurons with ``tau_s = dt_s`` (the synaptic
current of a weight-1 input moves ``v`` by 1 within one step), ``v_th = 0.5`` and reset to zero,
so a simulated augmented network relays every binary spike exactly once, one step late. Relays
of graded neurons are costed as events; their graded values are not reproduced.

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
one core of 123 with hops -2 % to +5 %. Every other item (trees, and items these cores cannot take) is packed
first-fit decreasing onto new *splitter cores*; an item adds its relays
(compartments), one input axon (its feeder), its relays' destination cores (output axons) and
one row of ``n`` synapses (synapse memory) to its core.

The augmented network itself is built by :func:`mapper.partition.relays.augment_network`.

The stage
---------
:func:`add_splitters` is the stage the pipeline runs after :func:`mapper.partition.partition`
(on a chip with a per-neuron destination limit): :func:`insert_splitters` on the partition and,
when that needs relays, on alternative partitions, keeping the result with the fewest cores in
total, then the fewest relays. It returns the new network, activity, graph and partition as one
:class:`Splitters` value; the later stages place and route that.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError
from neurosim.ir import Network

from ..chipspec import ChipSpec
from ..graph import CoreRows, NetGraph, build_graph, core_rows
from ..options import MappingOptions
from ..resources import check_dest_cores, core_usage, limits_of, payload_bits, row_bits
from .core import Partition, partition
from .relays import SPLITTER_POPULATION, augment_network, relay_activity

__all__ = ["SPLITTER_POPULATION", "Splitters", "add_splitters", "needs_splitters", "relays_per_core", "partition_chip",
           "insert_splitters"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Splitters:
    """A network augmented with relay neurons, and its fixed partition.

    Attributes
    ----------
    network : Network
        The original populations and connections (split neurons' synapses moved to the relays),
        plus the population :data:`SPLITTER_POPULATION` and its connections.
    activity : ActivityProfile
        The original counts plus ``count(relay) = count(origin)``.
    graph : NetGraph
        :func:`mapper.graph.build_graph` of the two.
    partition : Partition
        Original neurons keep their parts; relays occupy parts with room or new parts ``n_parts_before ..``.
    split_neurons : int
        Neurons whose targets spanned more than ``dest_limit`` cores.
    relays : int
        Relay neurons added (both levels).
    cores : int
        Splitter cores added.
    levels : int
        Most relay levels between a neuron and its targets (1 or 2): the added latency in steps.
    two_level : int
        Split neurons that needed a two-level tree.
    dest_limit : int
        ``CoreLimits.max_out_axons_per_neuron``.
    relays_per_core : int
        Most relays one source can feed on one core (:func:`relays_per_core`).
    graded_sources : int
        Split neurons with graded outputs (relayed as events, values not reproduced).
    relays_on_existing : int
        Relays placed on cores of the partition (the others are on the ``cores`` new ones).
    hosted_on_destination : int
        Split neurons whose relays sit on one of their own destination cores, where their synapses
        stay direct (one relay and one packet per event fewer).
    """

    network: Network
    activity: ActivityProfile
    graph: NetGraph
    partition: Partition
    split_neurons: int
    relays: int
    cores: int
    levels: int
    two_level: int
    dest_limit: int
    relays_per_core: int
    graded_sources: int
    relays_on_existing: int = 0
    hosted_on_destination: int = 0

    def summary(self) -> dict:
        """JSON-ready counts for the report."""
        return {"population": SPLITTER_POPULATION, "split_neurons": self.split_neurons, "relays": self.relays,
                "cores_added": self.cores, "added_latency_steps": self.levels, "two_level_trees": self.two_level,
                "dest_limit": self.dest_limit, "relays_per_core": self.relays_per_core,
                "graded_sources": self.graded_sources, "relays_on_existing_cores": self.relays_on_existing,
                "hosted_on_destination": self.hosted_on_destination}


def needs_splitters(graph: NetGraph, chip: ChipSpec, rows: CoreRows) -> np.ndarray:
    """Neurons whose targets lie on more than ``CoreLimits.max_out_axons_per_neuron`` cores
    (sorted global indices; empty when the chip has no such limit)."""
    lim = chip.core.max_out_axons_per_neuron
    if lim is None:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.bincount(rows.src, minlength=graph.n) > int(lim)).astype(np.int64)


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


def partition_chip(chip: ChipSpec) -> ChipSpec:
    """The chip a partitioner should see when splitters will follow.

    After insertion a neuron uses ``min(m, L)`` output axons if it targets ``m <= L`` cores and
    one (its splitter core) otherwise, so a core of ``C`` neurons uses at most ``C L`` output
    axons. When ``max_out_axons >= C L`` (TrueNorth: 256 >= 256 x 1) that limit cannot bind and
    is lifted for partitioning (``max_out_axons = C * max(fan-out)`` is not needed: ``2**62``);
    otherwise the chip is returned unchanged (the pre-split count ``m`` is an upper bound of the
    post-split one, so the partition stays feasible, only conservative).
    """
    core = chip.core
    lim = core.max_out_axons_per_neuron
    if lim is None or int(core.max_out_axons) < int(core.max_compartments) * int(lim):
        return chip
    return dataclasses.replace(chip, core=dataclasses.replace(core, max_out_axons=1 << 62))


# ---------------------------------------------------------------------------------------------
def _items(m: np.ndarray, leaves: np.ndarray, groups: np.ndarray, cap: int, L: int):
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


def _pack(n_rel: np.ndarray, n_out: np.ndarray, chip: ChipSpec) -> tuple[np.ndarray, int]:
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


def _host_items(graph: NetGraph, chip: ChipSpec, part: np.ndarray, rows: CoreRows, split: np.ndarray,
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


def insert_splitters(network: Network, activity: ActivityProfile, graph: NetGraph, chip: ChipSpec,
                     part: Partition, *, reuse_cores: bool) -> Splitters:
    """Add relay neurons so that no neuron targets more than ``L`` cores (see the module doc).

    Parameters
    ----------
    network, activity : Network, ActivityProfile
        What ``graph`` was built from (:func:`mapper.graph.build_graph`).
    graph : NetGraph
    chip : ChipSpec
        Its ``core.max_out_axons_per_neuron`` is ``L`` (must not be ``None``).
    part : Partition
        A partition of ``graph`` feasible on :func:`partition_chip` of ``chip``; its parts are
        kept; relays go on existing parts with room or on new parts (see "Packing" above).
    reuse_cores : bool
        ``True``: relays may go on cores of ``part`` with room (``MappingOptions.splitters``
        ``"auto"``); ``False``: every relay goes on a new splitter core (``"new-cores"``; the
        cores of ``part`` are left as they are, as TrueNorth corelets keep their splitter cores apart).

    Returns
    -------
    Splitters
        With ``relays == 0`` and the inputs unchanged (usage re-checked on ``chip``) when no
        neuron needs relays.

    Raises
    ------
    CapacityError
        The partition plus the splitter cores exceed the board, or a neuron needs a relay tree
        deeper than two levels.
    MappingError
        The chip has no per-neuron destination limit, the network already has a population named
        :data:`SPLITTER_POPULATION`, or (internal) the augmented partition breaks a limit.
    """
    lim = chip.core.max_out_axons_per_neuron
    if lim is None:
        raise MappingError(f"chip '{chip.name}': no core.max_out_axons_per_neuron limit, so no splitters are needed")
    if SPLITTER_POPULATION in network.population_map():
        raise MappingError(f"network '{network.name}': population name '{SPLITTER_POPULATION}' is reserved for "
                           "splitter relays (got a population of that name, expected none)")
    L = int(lim)
    rows, K = part.rows, part.n_parts
    split = needs_splitters(graph, chip, rows)
    cap = relays_per_core(chip)
    if split.size == 0:  # usage re-checked against the real chip (the partition may have seen partition_chip)
        prt = _fixed_partition(graph, chip, part.part, K, part)
        return Splitters(network=network, activity=activity, graph=graph, partition=prt, split_neurons=0, relays=0,
                         cores=0, levels=0, two_level=0, dest_limit=L, relays_per_core=cap, graded_sources=0)
    ptr = rows.ptr(graph.n)
    m = (ptr[split + 1] - ptr[split]).astype(np.int64)  # destination cores of each split neuron
    leaves = -(-m // L)
    groups = np.where(leaves <= cap, 1, -(-leaves // cap))  # leaf items: more than one makes a two-level tree
    deep = np.flatnonzero(groups > cap)
    if deep.size:
        pop, i = graph.population_of(int(split[deep[0]]))
        raise CapacityError(f"{pop}[{i}]", "max_out_axons_per_neuron", int(m[deep[0]]), L * cap * cap,
                            hint=f"a two-level splitter tree reaches at most {L * cap * cap} cores "
                                 f"({cap} relays per core); deeper trees are not built")
    tree = groups > 1
    if reuse_cores:
        host, absorb = _host_items(graph, chip, part.part, rows, split, m, tree, L)
    else:
        host, absorb = np.full(split.size, -1, dtype=np.int64), np.zeros(split.size, dtype=bool)
    m_rel = m - absorb  # destination cores reached through relays (the host's synapses stay direct)
    leaves = -(-m_rel // L)  # leaf relays of each split neuron
    n_items, first_item, leaf_item, leaf_cap, item_rel, item_out = _items(m_rel, leaves, groups, cap, L)
    total = int(n_items.sum())
    item_core = np.full(total, -1, dtype=np.int64)
    hosted = host >= 0  # one-level neurons: their single item is first_item
    item_core[first_item[hosted]] = host[hosted]
    fresh = np.flatnonzero(item_core < 0)
    n_new = 0
    if fresh.size:
        packed, n_new = _pack(item_rel[fresh], item_out[fresh], chip)
        item_core[fresh] = K + packed
    if K + n_new > chip.n_cores:
        raise CapacityError(f"network '{graph.name}'", "cores", K + n_new, chip.n_cores,
                            hint=f"the partition uses {K} cores and {int(item_rel.sum())} splitter relays for "
                                 f"{split.size} neuron(s) need {n_new} more; '{chip.name}' has {chip.n_cores} core(s) "
                                 f"on {chip.n_chips} chip(s)")
    # relay ids: items ordered by core, so every core holds a contiguous range of relays
    order = np.lexsort((np.arange(total), item_core))
    base = np.empty(total, dtype=np.int64)
    base[order] = np.concatenate([[0], np.cumsum(item_rel[order])[:-1]])
    R = int(item_rel.sum())
    item_owner = np.repeat(np.arange(split.size), n_items)  # split neuron of every item
    relay_item = np.repeat(np.arange(total), item_rel)
    # relay index of every relay in item order: its item's base plus its slot in the item
    relay_id = np.repeat(base, item_rel) + (np.arange(R) - np.repeat(np.cumsum(item_rel) - item_rel, item_rel))
    relay_core = np.empty(R, dtype=np.int64)
    relay_core[relay_id] = item_core[relay_item]
    relay_origin = np.empty(R, dtype=np.int64)
    relay_origin[relay_id] = split[item_owner[relay_item]]
    # feeder of every relay: the split neuron, or (leaf items of a tree) the first-level relay
    n = graph.n
    relay_feeder = relay_origin.copy()
    for s in np.flatnonzero(tree):
        f = int(first_item[s])
        for gi in range(int(groups[s])):
            leaf = f + 1 + gi
            relay_feeder[base[leaf]:base[leaf] + item_rel[leaf]] = n + base[f] + gi
    # leaf relay of every relayed row (split neuron, destination part): chunk k = position // L
    srow = np.repeat(np.arange(split.size), m)
    ridx = np.repeat(ptr[split], m) + np.arange(int(m.sum())) - np.repeat(np.cumsum(m) - m, m)
    relayed = ~(absorb[srow] & (rows.part[ridx] == host[srow]))
    srow, ridx = srow[relayed], ridx[relayed]
    k = (np.arange(srow.size) - np.repeat(np.cumsum(m_rel) - m_rel, m_rel)) // L
    row_relay = base[leaf_item[srow] + k // leaf_cap[srow]] + k % leaf_cap[srow]
    row_key = split[srow] * K + rows.part[ridx]  # sorted: rows are by (src, part)
    net = augment_network(network, n=graph.n, part=part.part, row_key=row_key, row_relay=row_relay,
                          relay_feeder=relay_feeder, n_relays=R, n_parts=K, dt_s=activity.dt_s)
    act = relay_activity(net, activity)
    g2 = build_graph(net, act)
    new_part = np.concatenate([part.part, relay_core])
    prt = _fixed_partition(g2, chip, new_part, K + n_new, part)
    levels = 2 if tree.any() else 1
    on_existing = int(item_rel[item_core < K].sum())
    log.info("splitters: %d relays (%d on existing cores) on %d new cores for %d neurons (%d two-level trees)", R,
             on_existing, n_new, split.size, int(tree.sum()))
    return Splitters(network=net, activity=act, graph=g2, partition=prt, split_neurons=int(split.size), relays=R,
                     cores=int(n_new), levels=levels, two_level=int(tree.sum()), dest_limit=L, relays_per_core=cap,
                     graded_sources=int(np.count_nonzero(graph.graded[split])), relays_on_existing=on_existing,
                     hosted_on_destination=int(absorb.sum()))


def _fixed_partition(graph: NetGraph, chip: ChipSpec, part: np.ndarray, n_parts: int, before: Partition) -> Partition:
    """The :class:`Partition` of the augmented graph (every limit re-checked)."""
    rows = core_rows(graph, part, n_parts)
    usage = core_usage(graph, chip, part, n_parts=n_parts, rows=rows)
    viol = usage.violations()
    if viol:  # pragma: no cover - the packing checks exactly; this guards the bookkeeping
        c, r, u, lim = viol[0]
        raise MappingError(f"splitters: internal bookkeeping error, part {c} exceeds {r} ({u} > {lim})")
    check_dest_cores(graph, chip, rows)
    return Partition(part=part, n_parts=int(n_parts), strategy=before.strategy, usage=usage, rows=rows,
                     k_min=before.k_min, binding=before.binding, k_initial=before.k_initial,
                     repair_moves=before.repair_moves, new_cores=before.new_cores, attempts=before.attempts,
                     fallback=before.fallback)


def add_splitters(network: Network, activity: ActivityProfile, graph: NetGraph, chip: ChipSpec, part: Partition,
                  options: MappingOptions) -> Splitters:
    """The splitter stage: :func:`insert_splitters` on ``part`` and, when that needs relays, on
    alternative partitions, keeping the result with the fewest cores in total, then the fewest relays.

    A graph partitioner minimises synapses cut, but on a chip with a per-neuron destination limit
    what costs is every neuron whose targets span several cores (each needs relays). Alternatives
    (for ``options.partitioner`` other than ``"sequential"``): the re-partition from the fewest
    cores (``slack=0``, when the slack alone raised the parts above the lower bound: its extra
    part is what splits the neurons of a network that fills whole cores) and sequential fill
    (contiguous index ranges keep the targets of layered and locally connected networks together,
    as TrueNorth corelets do). Each costs about one more partition.

    Parameters
    ----------
    network, activity, graph
        What ``part`` partitions (``graph = build_graph(network, activity)``).
    chip : ChipSpec
        With ``core.max_out_axons_per_neuron`` set; ``part`` was made for :func:`partition_chip`
        of it.
    part : Partition
    options : MappingOptions
        ``splitters`` (``"new-cores"``: every relay on a new core, else relays may share cores of
        the partition), and ``partitioner``, ``seed``, ``repair_budget_s``, ``steiner_budget_s``
        for the alternative partitions.

    Returns
    -------
    Splitters
        The augmented network, activity, graph and partition; with ``relays == 0`` the inputs
        unchanged (the partition re-checked on ``chip``).

    Raises
    ------
    CapacityError, MappingError
        As :func:`insert_splitters`.
    """
    reuse_cores = options.splitters != "new-cores"
    best = insert_splitters(network, activity, graph, chip, part, reuse_cores=reuse_cores)
    if not best.relays or options.partitioner == "sequential":
        return best
    alts = []
    if part.attempts == 1 and not part.new_cores and part.k_initial > part.k_min:
        alts.append(("slack-0 re-partition", options, {"slack": 0.0}))
    alts.append(("sequential fill", options.replace(partitioner="sequential"), {}))
    for label, alt_options, kw in alts:
        try:
            alt_part = partition(graph, partition_chip(chip), alt_options, enforce_dest_limit=False, **kw)
            alt = insert_splitters(network, activity, graph, chip, alt_part, reuse_cores=reuse_cores)
        except CapacityError as exc:
            log.info("splitters: the %s does not fit (%s)", label, exc)
            continue
        if (alt.partition.n_parts, alt.relays) < (best.partition.n_parts, best.relays):
            log.info("splitters: %s uses %d cores and %d relays (instead of %d and %d)", label,
                     alt.partition.n_parts, alt.relays, best.partition.n_parts, best.relays)
            best = alt
    return best
