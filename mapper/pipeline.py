"""The mapping pipeline: one call from a network and a chip to a mapping, its costs and a report.

:func:`map_network` runs the stages in order, each a pure function of the previous results:

1. :func:`mapper.graph.build_graph` -- the network as the mapper reads it;
2. :func:`mapper.partition.partition` -- neurons into parts that fit a core;
3. :func:`mapper.partition.add_splitters` -- on chips with a per-neuron destination limit, relay
   neurons; a new network, activity, graph and partition;
4. :func:`mapper.nets.build_nets`, :func:`mapper.place.place` -- parts onto cores;
5. :func:`mapper.place.exchange_twins` -- interchangeable neurons swapped between parts; a new
   partition and placement when that lowers the placement objective;
6. :func:`mapper.route.route` -- XY routes and link loads;
7. :func:`mapper.estimate.estimate` -- traffic, energy and latency;
8. :func:`mapper.report.build_report` -- the report;

and collects their results in a frozen :class:`MappingResult`. :func:`check_fits` is the cheap
check before anything is simulated. Every option comes from one :class:`MappingOptions`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from neurosim.activity import ActivityProfile
from neurosim.errors import MappingError
from neurosim.ir import Network

from .chipspec import ChipSpec
from .estimate import Estimate, estimate
from .graph import NetGraph, build_graph
from .nets import build_nets
from .options import MappingOptions, Progress
from .partition import Partition, Splitters, add_splitters, partition, partition_chip
from .place import Placement, exchange_twins, find_twins, place, twin_work
from .report import Report, build_report
from .resources import check_board_fits, check_neurons_fit
from .route import Routing, route

__all__ = ["map_network", "check_fits", "structure_graph", "MappingResult", "resolve_chip"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class MappingResult:
    """Everything a mapping produced: every stage's frozen output and the report.

    ``graph``, ``partition``, ``placement`` and ``routing`` are those of ``network``, the network
    that was placed (with splitter relays when the splitter stage added them, ``splitters``);
    ``activity`` is its activity.
    """

    chip: ChipSpec
    graph: NetGraph
    partition: Partition
    placement: Placement
    routing: Routing
    estimate: Estimate
    report: Report
    activity: ActivityProfile = field(repr=False, default=None)
    #: the network that was mapped: the input, or with splitter relays (:mod:`mapper.partition.splitters`)
    network: Optional[Network] = field(repr=False, default=None)
    splitters: Optional[Splitters] = field(repr=False, default=None)


def resolve_chip(chip: Union[ChipSpec, str]) -> ChipSpec:
    """``chip`` itself, or the chip of that name or YAML path (:func:`mapper.chipload.load_chip`)."""
    if isinstance(chip, ChipSpec):
        return chip
    try:
        from .chipload import load_chip
    except ImportError as exc:  # pragma: no cover - chipload ships with the package
        raise MappingError(f"chip '{chip}': mapper.chipload is not available ({exc})") from exc
    return load_chip(chip)


def structure_graph(network: Network) -> NetGraph:
    """The mapper's graph of ``network`` before any activity is known (rates zero): build it once,
    check the fit with it before simulating (:func:`check_fits`), then map with the measured
    activity (``map_network(..., graph=g)``, which only swaps the rates in)."""
    return build_graph(network, ActivityProfile.assumed(network, 0.0))


def check_fits(network: Network, chip: Union[ChipSpec, str], *, graph: Optional[NetGraph] = None) -> tuple[int, str]:
    """Fail early: raise :class:`CapacityError` if a neuron cannot fit a core on its own or the
    whole network cannot fit the board, before anything is simulated.

    Cheap (connectivity only, no partitioning; ``graph`` from :func:`structure_graph` saves
    building it). Returns ``(k, resource)``: the fewest cores the demand lower bounds allow and
    the binding resource.
    """
    chip = resolve_chip(chip)
    graph = structure_graph(network) if graph is None else graph
    check_neurons_fit(graph, chip)
    return check_board_fits(graph, chip)


def map_network(network: Network, chip: Union[ChipSpec, str], activity: Optional[ActivityProfile] = None,
                options: Optional[MappingOptions] = None, *, progress: Optional[Progress] = None,
                graph: Optional[NetGraph] = None, **overrides: Any) -> MappingResult:
    """Map ``network`` onto ``chip`` and estimate traffic, energy and latency.

    Parameters
    ----------
    network : Network
    chip : ChipSpec or str
        A spec, or a chip name / YAML path for :func:`mapper.chipload.load_chip`.
    activity : ActivityProfile, optional
        Measured output events per neuron. Without it every neuron is assumed to emit
        ``assumed_rate`` events per step over 1000 steps, and the report says so.
    options : MappingOptions, optional
        Strategies, seed and budgets (:class:`mapper.options.MappingOptions`, the one home of
        their defaults). Without activity every neuron is assumed to emit
        ``options.assumed_rate`` events per step over 1000 steps, and the report says so.
        ``splitters``: on a chip with ``core.max_out_axons_per_neuron = L``, every neuron whose
        targets the partition spreads over more than ``L`` cores gets relay ("splitter") neurons
        (the splitter stage, :func:`mapper.partition.add_splitters`), and place, route and
        estimate run on the augmented network; ``report["splitters"]`` counts them.
    **overrides
        Fields of :class:`~mapper.options.MappingOptions` to change, e.g. ``partitioner="hypergraph"``
        (applied to ``options``, or to the defaults).
    graph : NetGraph, optional
        The network's graph built earlier (:func:`structure_graph`, e.g. for :func:`check_fits`);
        only its rates are replaced by those of ``activity`` (the graph is built once).
    progress : callable, optional
        ``progress(stage, done, total)`` as the stages run (:data:`mapper.options.Progress`): the
        stages ``"partition"``, ``"splitters"`` (chips with ``max_out_axons_per_neuron``) and
        ``"route"`` report ``(0, 1)`` when they start and ``(1, 1)`` when they end; the partitioner
        reports its attempts and repair (:func:`mapper.partition.partition`), the ``"anneal"``
        placer its moves (stages ``"place: pairwise"``, ``"place: exact"``, ``"place: polish"``,
        ``"place: twin exchange"``; the other placers report nothing). For progress bars; it never
        changes the result.

    Raises
    ------
    CapacityError
        The network, or one of its neurons, does not fit (with splitters: the splitter cores do not
        fit the board either).
    MappingError
        Unknown strategy name or ``splitters`` value.
    NetworkError
        Invalid network or an activity profile that does not match it.
    """
    t_all = time.perf_counter()
    opts = options if options is not None else MappingOptions()
    if overrides:
        opts = opts.replace(**overrides)
    chip = resolve_chip(chip)
    wall = {}

    def stage(name: str, done: int) -> None:
        if progress is not None:
            progress(name, done, 1)

    if activity is None:
        activity = ActivityProfile.assumed(network, opts.assumed_rate)
    t = time.perf_counter()
    graph = build_graph(network, activity) if graph is None else graph.with_activity(network, activity)
    wall["graph"] = time.perf_counter() - t

    t = time.perf_counter()
    use_spl = opts.splitters is not False and chip.core.max_out_axons_per_neuron is not None
    stage("partition", 0)
    part = partition(graph, partition_chip(chip) if use_spl else chip, opts, enforce_dest_limit=not use_spl,
                     progress=progress)
    wall["partition"] = time.perf_counter() - t
    stage("partition", 1)

    spl = None
    if use_spl:
        t = time.perf_counter()
        stage("splitters", 0)
        spl = add_splitters(network, activity, graph, chip, part, opts)
        network, activity, graph, part = spl.network, spl.activity, spl.graph, spl.partition
        spl = spl if spl.relays else None
        wall["splitters"] = time.perf_counter() - t
        stage("splitters", 1)

    t = time.perf_counter()
    nets = build_nets(graph, part.part, part.rows)
    label = find_twins(graph, nets, opts)
    # with twins, the placement and the exchange's two refinements share the work budget (a third
    # each) and one wall-clock cap, from here
    popts = twin_work(opts) if label is not None else opts
    deadline = t + opts.time_budget_s if opts.time_budget_s else None
    pl = place(nets, chip, popts, cores=part.cores, deadline=deadline, progress=progress)
    ex = exchange_twins(graph, chip, part, pl, popts, nets=nets, label=label, deadline=deadline, progress=progress)
    bound = list(part.budget_bound) + list(pl.budget_bound) + list(ex.budget_bound)
    part, pl, nets = ex.partition, ex.placement, ex.nets
    wall["place"] = time.perf_counter() - t
    if bound:
        log.warning("mapping %s: the wall-clock caps cut %s short; this result depends on the machine's speed and "
                    "load and is not reproducible (time_budget_s=%g, repair_budget_s=%s, steiner_budget_s=%g)",
                    network.name, ", ".join(bound), opts.time_budget_s, opts.repair_budget_s, opts.steiner_budget_s)

    t = time.perf_counter()
    stage("route", 0)
    rt = route(graph, chip, part.part, rows=part.rows, part_core=pl.core, nets=nets)
    wall["route"] = time.perf_counter() - t
    stage("route", 1)

    t = time.perf_counter()
    est = estimate(graph, chip, partition=part, routing=rt)
    wall["estimate"] = time.perf_counter() - t
    wall["total"] = time.perf_counter() - t_all
    report = Report(build_report(network, chip, graph=graph, partition=part, placement=pl, routing=rt, estimate=est,
                                 wall=wall, seed=opts.seed, partitioner=opts.partitioner, placer=opts.placer,
                                 splitters=spl, splitters_enabled=use_spl, twins=ex.info, budget_bound=bound,
                                 caps={"time_budget_s": opts.time_budget_s, "repair_budget_s": opts.repair_budget_s,
                                       "steiner_budget_s": opts.steiner_budget_s}))
    log.info("mapped %s onto %s: %d cores, %.3g J, %.3g s/step in %.2f s", network.name, chip.name, part.n_parts,
             est.total_j, est.step_s, wall["total"])
    return MappingResult(chip=chip, graph=graph, partition=part, placement=pl, routing=rt, estimate=est,
                         report=report, activity=activity, network=network, splitters=spl)
