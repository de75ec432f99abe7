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
Where the relays go (a destination core of the split neuron with room, else its own core, else
new splitter cores, first-fit decreasing; two-level trees when one core cannot hold a neuron's
relays) is :mod:`mapper.partition.packing`.

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
from ..resources import check_dest_cores, core_usage
from .core import Partition, partition
from .packing import host_items, pack_items, relay_items, relays_per_core
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
        Most relays one source can feed on one core (:func:`mapper.partition.packing.relays_per_core`).
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
        host, absorb = host_items(graph, chip, part.part, rows, split, m, tree, L)
    else:
        host, absorb = np.full(split.size, -1, dtype=np.int64), np.zeros(split.size, dtype=bool)
    m_rel = m - absorb  # destination cores reached through relays (the host's synapses stay direct)
    leaves = -(-m_rel // L)  # leaf relays of each split neuron
    n_items, first_item, leaf_item, leaf_cap, item_rel, item_out = relay_items(m_rel, leaves, groups, cap, L)
    total = int(n_items.sum())
    item_core = np.full(total, -1, dtype=np.int64)
    hosted = host >= 0  # one-level neurons: their single item is first_item
    item_core[first_item[hosted]] = host[hosted]
    fresh = np.flatnonzero(item_core < 0)
    n_new = 0
    if fresh.size:
        packed, n_new = pack_items(item_rel[fresh], item_out[fresh], chip)
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
                     fallback=before.fallback, budget_bound=before.budget_bound)


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
    bound = list(part.budget_bound)  # a cap that bound any candidate may change which one is kept
    for label, alt_options, kw in alts:
        try:
            alt_part = partition(graph, partition_chip(chip), alt_options, enforce_dest_limit=False, **kw)
            bound += [b for b in alt_part.budget_bound if b not in bound]
            alt = insert_splitters(network, activity, graph, chip, alt_part, reuse_cores=reuse_cores)
        except CapacityError as exc:
            log.info("splitters: the %s does not fit (%s)", label, exc)
            continue
        if (alt.partition.n_parts, alt.relays) < (best.partition.n_parts, best.relays):
            log.info("splitters: %s uses %d cores and %d relays (instead of %d and %d)", label,
                     alt.partition.n_parts, alt.relays, best.partition.n_parts, best.relays)
            best = alt
    if tuple(bound) != best.partition.budget_bound:
        best = dataclasses.replace(best, partition=dataclasses.replace(best.partition, budget_bound=tuple(bound)))
    return best
