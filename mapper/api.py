"""One call from a network and a chip to a mapping, its costs and a report.

``map_network`` runs the pure stages in order — :func:`mapper.graph.build_graph`,
:func:`mapper.partition.partition`, :func:`mapper.route.build_nets`, :func:`mapper.place.place`,
:func:`mapper.route.route`, :func:`mapper.estimate.estimate` — and collects their results in a frozen
:class:`MappingResult` with a JSON-ready :class:`Report`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError, describe
from neurosim.ir import Network

from .anneal import Progress
from .chipspec import ChipSpec
from .options import MappingOptions
from .estimate import EDP_BASIS, EVENTS, Estimate, estimate
from .graph import NetGraph, build_graph
from .partition import Partition, partition
from .place import Placement
from .relays import SPLITTER_POPULATION, relay_activity, relay_origins
from .resources import RESOURCES, check_board_fits, check_neurons_fit
from .route import Routing, build_nets, route
from .splitters import Splitters, insert_splitters, partition_chip
from .twins import place_refined

__all__ = ["map_network", "evaluate_placement", "MappingResult", "Report", "REPORT_FORMAT", "REPORT_VERSION"]

log = logging.getLogger(__name__)

REPORT_FORMAT = "neurosim-mapping-report"
REPORT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Report:
    """The mapping report: plain JSON-ready data (see :meth:`to_dict` for the keys)."""

    data: dict

    def to_dict(self) -> dict:
        r"""A deep copy of the report.

        Keys: ``format``, ``version``, ``network`` (with ``plastic_connections``: per plastic
        connection ``{"name", "learning_model": "epoch" | "event", "epochs": int or None}``, how
        its ``learn_update`` events were counted, see :mod:`mapper.estimate`), ``chip`` (name, file, ``cost_source``),
        ``activity`` (source, assumed?, steps, batch), ``partition``, ``placement``, ``cores`` (per
        core: address and ``resources`` ``{name: [used, limit]}``), ``utilisation``, ``totals``
        (run totals of neuron spikes, synaptic events, packets, hops ...), ``routing`` (per step),
        ``energy_j`` (``by_event``, ``dynamic``, ``static``, ``total``, ``per_step``, ``per_input``),
        ``latency_s`` (``per_step`` and its terms, ``time_to_solution``, ``wall``), ``edp_js``
        (per input, see below), ``edp_basis`` (the sentence saying so; ``neurosim learn --chip``
        adds ``activity.inputs``, the samples profiled, when they differ from the batch),
        ``neurobench``, ``mapper`` (wall time per stage, peak RSS, seed), ``notes``, ``splitters``
        (relay neurons, their cores and the latency steps they add; :mod:`mapper.splitters`).

        Per-input figures (:func:`mapper.estimate.per_input_figures`): the run executed
        ``R = steps * batch`` steps for ``N`` inputs (``N = batch`` unless ``activity.inputs``
        says otherwise), and

        .. math::

            E_{in} = E_{total} / N \;[J], \qquad T_{in} = (R / N) T_{step} \;[s], \qquad
            \mathrm{EDP} = E_{in} T_{in} \;[J\,s]

        with ``energy_j.per_input`` = ``E_in``, ``latency_s.time_to_solution`` = ``T_in`` (one
        input) and ``edp_js`` = EDP: **per input**, energy per input x time to solution of one
        input, not ``energy_j.total`` x ``latency_s.wall``.
        """
        import copy

        return copy.deepcopy(self.data)

    def summary_text(self) -> str:
        """A short human-readable summary.

        Per-input figures are labelled as such: ``per input`` energy, ``time to solution per
        input`` and ``EDP per input`` (energy per input x time to solution per input, J s; see
        :meth:`to_dict`), with the number of inputs they divide by when it is not the batch.
        """
        d = self.data
        e, lat, tot = d["energy_j"], d["latency_s"], d["totals"]
        inputs = d["activity"].get("inputs")
        per_what = "" if inputs in (None, d["activity"]["batch"]) else f" ({inputs} inputs profiled)"
        lines = [
            f"network '{d['network']['name']}': {d['network']['neurons']} neurons, {d['network']['synapses']} synapses",
            f"chip '{d['chip']['name']}' ({d['chip']['file']}); costs: {d['chip']['cost_source'] or 'n/a'}",
            f"activity: {d['activity']['source']}" + (" (ASSUMED rates, not measured)" if d['activity']['assumed'] else "")
            + f", {d['activity']['steps']} steps x {d['activity']['batch']} input(s)",
            f"partition '{d['partition']['strategy']}': {d['partition']['cores_used']} cores "
            f"(lower bound {d['partition']['k_min']}, binding {d['partition']['binding_resource']}), "
            f"placement '{d['placement']['strategy']}' on {d['routing']['tiles_used']} tiles / "
            f"{d['routing']['chips_used']} chip(s)",
            "max utilisation: " + ", ".join(f"{r} {u['max']:.1%}" for r, u in d["utilisation"].items()
                                            if u["max"] is not None),
            f"totals: {tot['neuron_spikes']:.6g} spikes, {tot['synaptic_events']:.6g} synaptic events, "
            f"{tot['packets']:.6g} packets, {tot['hops_ew']:.6g} E-W + {tot['hops_ns']:.6g} N-S hops",
            f"busiest link: {d['routing']['busiest_link']['load']:.4g} packets/step",
            f"energy: total {e['total']:.4g} J (dynamic {e['dynamic']:.4g}, static {e['static']:.4g}); "
            f"per input {e['per_input']:.4g} J{per_what}",
            "  " + ", ".join(f"{k} {v:.3g}" for k, v in e["by_event"].items() if v),
            f"latency: {lat['per_step']:.4g} s/step (core {lat['slowest_core']:.3g} + network {lat['network']:.3g} "
            f"+ barrier {lat['barrier']:.3g}); time to solution per input {lat['time_to_solution']:.4g} s; "
            f"EDP per input {d['edp_js']:.4g} J s (energy per input x time to solution per input)",
            "mapper wall time: " + ", ".join(f"{k} {v:.2f} s" for k, v in d["mapper"]["wall_s"].items()),
        ]
        lines += [f"note: {n}" for n in d["notes"]]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True, eq=False)
class MappingResult:
    """Everything a mapping produced (all stages' frozen outputs and the report)."""

    chip: ChipSpec
    graph: NetGraph
    partition: Partition
    placement: Placement
    routing: Routing
    estimate: Estimate
    report: Report
    activity: ActivityProfile = field(repr=False, default=None)
    #: the network that was mapped: the input, or with splitter relays (:mod:`mapper.splitters`)
    network: Optional[Network] = field(repr=False, default=None)
    splitters: Optional[Splitters] = field(repr=False, default=None)


def _peak_rss_mib():
    """Peak resident memory of this process so far (MiB), or ``None`` where unavailable."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _resolve_chip(chip: Union[ChipSpec, str]) -> ChipSpec:
    if isinstance(chip, ChipSpec):
        return chip
    try:
        from .chipload import load_chip
    except ImportError as exc:  # pragma: no cover - chipload ships with the package
        raise MappingError(f"chip '{chip}': mapper.chipload is not available ({exc})") from exc
    return load_chip(chip)


def check_fits(network: Network, chip: Union[ChipSpec, str]) -> tuple[int, str]:
    """Fail early: raise :class:`CapacityError` if a neuron cannot fit a core on its own or the
    whole network cannot fit the board, before anything is simulated.

    Cheap (connectivity only, no partitioning). Returns ``(k, resource)``: the fewest cores the
    demand lower bounds allow and the binding resource.
    """
    chip = _resolve_chip(chip)
    graph = build_graph(network, ActivityProfile.assumed(network, 0.0))
    check_neurons_fit(graph, chip)
    return check_board_fits(graph, chip)


def map_network(network: Network, chip: Union[ChipSpec, str], activity: Optional[ActivityProfile] = None,
                options: Optional[MappingOptions] = None, *, progress: Optional[Progress] = None,
                **overrides: Any) -> MappingResult:
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
        (:func:`mapper.splitters.insert_splitters`), and place, route and estimate run on the
        augmented network; ``report["splitters"]`` counts them.
    **overrides
        Fields of :class:`~mapper.options.MappingOptions` to change, e.g. ``partitioner="hypergraph"``
        (applied to ``options``, or to the defaults).
    progress : callable, optional
        ``progress(stage, done, total)`` as the stages run (:data:`mapper.anneal.Progress`): the
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
    partitioner, placer, seed, splitters = opts.partitioner, opts.placer, opts.seed, opts.splitters
    repair_budget_s = opts.repair_budget_s
    chip = _resolve_chip(chip)
    wall = {}

    def stage(name: str, done: int) -> None:
        if progress is not None:
            progress(name, done, 1)

    if activity is None:
        activity = ActivityProfile.assumed(network, opts.assumed_rate)
    t = time.perf_counter()
    graph = build_graph(network, activity)
    wall["graph"] = time.perf_counter() - t
    t = time.perf_counter()
    use_spl = splitters is not False and chip.core.max_out_axons_per_neuron is not None
    stage("partition", 0)
    part = partition(graph, partition_chip(chip) if use_spl else chip, strategy=partitioner, seed=seed,
                     enforce_dest_limit=not use_spl, progress=progress, repair_budget_s=repair_budget_s,
                     steiner_budget_s=opts.steiner_budget_s)
    wall["partition"] = time.perf_counter() - t
    stage("partition", 1)
    spl, mapped = None, network
    if use_spl:
        t = time.perf_counter()
        stage("splitters", 0)
        spl = _with_splitters(network, activity, graph, chip, part, partitioner=partitioner, seed=seed,
                              reuse_cores=splitters != "new-cores", repair_budget_s=repair_budget_s)
        part = spl.partition
        if spl.relays:
            mapped, activity, graph = spl.network, spl.activity, spl.graph
        else:
            spl = None
        wall["splitters"] = time.perf_counter() - t
        stage("splitters", 1)
    t = time.perf_counter()
    popts = dict(opts.place_options)
    if progress is not None:
        popts.setdefault("progress", progress)
    part, nets, pl, twin_info = place_refined(graph, chip, part, placer=placer, seed=seed,
                                              time_budget_s=opts.time_budget_s, **popts)
    wall["place"] = time.perf_counter() - t
    t = time.perf_counter()
    stage("route", 0)
    rt = route(graph, chip, part.part, rows=part.rows, part_core=pl.core, nets=nets)
    wall["route"] = time.perf_counter() - t
    stage("route", 1)
    t = time.perf_counter()
    est = estimate(graph, chip, partition=part, routing=rt)
    wall["estimate"] = time.perf_counter() - t
    wall["total"] = time.perf_counter() - t_all
    data = _build_report(mapped, chip, graph=graph, part=part, pl=pl, rt=rt, est=est, wall=wall, seed=seed,
                         partitioner=partitioner, placer=placer)
    data["splitters"] = _splitter_entry(spl, enabled=use_spl)
    data["placement"]["twins"] = twin_info
    if spl is not None:
        data["notes"].append(
            f"{spl.relays} splitter relay neuron(s) ({spl.relays_on_existing} on cores of the partition, the others "
            f"on {spl.cores} extra core(s)) carry the spikes of "
            f"{spl.split_neurons} neuron(s) whose targets span more than {spl.dest_limit} core(s); "
            f"+{spl.levels} step(s) of latency on those paths (population '{data['splitters']['population']}')")
        if spl.partition.strategy != partitioner:
            data["notes"].append(f"partition: '{spl.partition.strategy}' kept instead of '{partitioner}' (fewer cores "
                                 f"in total once relays are counted)")
        if spl.graded_sources:
            data["notes"].append(f"{spl.graded_sources} split neuron(s) are graded: their relays are costed as events")
    if part.fallback:
        data["notes"].append(f"partition: {part.fallback}")
    report = Report(data)
    log.info("mapped %s onto %s: %d cores, %.3g J, %.3g s/step in %.2f s", network.name, chip.name, part.n_parts,
             est.total_j, est.step_s, wall["total"])
    return MappingResult(chip=chip, graph=graph, partition=part, placement=pl, routing=rt, estimate=est,
                         report=report, activity=activity, network=mapped, splitters=spl)


def _with_splitters(network: Network, activity: ActivityProfile, graph: NetGraph, chip: ChipSpec, part: Partition,
                    *, partitioner: str, seed: int, reuse_cores: bool = True,
                    repair_budget_s: Optional[float] = 60.0) -> Splitters:
    """:func:`insert_splitters` on ``part`` and, when that needs relays, on alternative partitions,
    keeping the result with the fewest cores in total, then the fewest relays.

    A graph partitioner minimises synapses cut, but on a chip with a per-neuron destination limit
    what costs is every neuron whose targets span several cores (each needs relays). Alternatives:
    the re-partition from the fewest cores (``slack=0``, when the slack alone raised the parts above
    the lower bound: its extra part is what splits the neurons of a network that fills whole cores)
    and sequential fill (contiguous index ranges keep the targets of layered and locally connected
    networks together, as TrueNorth corelets do). Each costs about one more partition."""
    best = insert_splitters(network, activity, graph, chip, part, reuse_cores=reuse_cores)
    if not best.relays or partitioner == "sequential":
        return best
    alts = []
    if part.attempts == 1 and not part.new_cores and part.k_initial > part.k_min:
        alts.append(("slack-0 re-partition", {"strategy": partitioner, "slack": 0.0}))
    alts.append(("sequential fill", {"strategy": "sequential"}))
    for label, kw in alts:
        try:
            alt_part = partition(graph, partition_chip(chip), seed=seed, enforce_dest_limit=False,
                                 repair_budget_s=repair_budget_s, **kw)
            alt = insert_splitters(network, activity, graph, chip, alt_part, reuse_cores=reuse_cores)
        except CapacityError as exc:
            log.info("splitters: the %s does not fit (%s)", label, exc)
            continue
        if (alt.partition.n_parts, alt.relays) < (best.partition.n_parts, best.relays):
            log.info("splitters: %s uses %d cores and %d relays (instead of %d and %d)", label,
                     alt.partition.n_parts, alt.relays, best.partition.n_parts, best.relays)
            best = alt
    return best


def _splitter_entry(spl: Optional[Splitters], *, enabled: bool) -> dict:
    """``report["splitters"]``: relay neurons, cores and latency steps added (zeros without relays)."""
    if spl is None:
        return {"enabled": bool(enabled), "population": None, "split_neurons": 0, "relays": 0, "cores_added": 0,
                "added_latency_steps": 0}
    return {"enabled": True, **spl.summary()}


def _index_array(values, where: str, key: str) -> np.ndarray:
    """``values`` as a 1-D int64 array of indices; floats must be whole numbers (no truncation)."""
    a = np.asarray(values)
    if a.ndim != 1 or a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.all(np.isfinite(a))):
        raise MappingError(describe(where, key, "must be a 1-D array of indices", got=f"{a.dtype} shape {a.shape}",
                                    expected="integers"))
    out = a.astype(np.int64)
    if a.dtype.kind == "f" and not np.array_equal(out, a):
        raise MappingError(describe(where, key, "indices must be whole numbers",
                                    got=float(a[out != a][0]), expected="integers"))
    return out


def evaluate_placement(network: Network, chip: Union[ChipSpec, str], activity: Optional[ActivityProfile], *,
                       part: np.ndarray, part_core: np.ndarray, assumed_rate: float = 0.01,
                       label: str = "given") -> MappingResult:
    """Route and estimate a *given* placement (no partitioning or placement search).

    ``part[g]`` is the part of neuron ``g`` (parts ``0..K-1``) and ``part_core[i]`` the board core
    of part ``i`` (e.g. from :func:`mapper.export.read_placement`); parts that hold no neuron are
    dropped, so ``part = core index`` with ``part_core = arange(chip.n_cores)`` costs only the
    cores in use. Every limit is re-checked.
    A ``network`` with splitter relays (:attr:`MappingResult.network`,
    :attr:`mapper.export.PlacementRecord.network`) may come with the ``activity`` of the original
    populations: the relays then repeat their origins' counts (:func:`mapper.relays.relay_activity`).

    Raises
    ------
    CapacityError
        A part exceeds a per-core limit, or a neuron's targets lie on more cores than
        ``core.max_out_axons_per_neuron`` allows (:func:`mapper.resources.check_dest_cores`; the
        placement of a network mapped with splitters must include the relays, see
        :attr:`MappingResult.network` and :func:`mapper.export.read_placement`).
    MappingError
        Malformed ``part`` / ``part_core``.
    """
    from .graph import core_rows
    from .resources import LIMIT_FIELD, check_dest_cores, core_usage

    t_all = time.perf_counter()
    chip = _resolve_chip(chip)
    if activity is None:
        activity = ActivityProfile.assumed(network, assumed_rate)
    elif SPLITTER_POPULATION in network.population_map() and SPLITTER_POPULATION not in activity.counts:
        activity = relay_activity(network, activity)
    graph = build_graph(network, activity)
    part = _index_array(part, f"placement '{label}'", "part")
    core = _index_array(part_core, f"placement '{label}'", "part_core")
    k = core.size

    def bad(key: str, what: str, got, expected) -> MappingError:
        return MappingError(describe(f"placement '{label}'", key, what, got=got, expected=expected))

    if part.shape != (graph.n,):
        raise bad("part", "one part per neuron", f"shape {part.shape}", f"({graph.n},)")
    if part.size and (part.min() < 0 or part.max() >= k):
        i = int(np.flatnonzero((part < 0) | (part >= k))[0])
        raise bad("part", f"neuron {i} is on a part without a core", int(part[i]),
                  f"0 .. {k - 1} (len(part_core) = {k})")
    if k and (core.min() < 0 or core.max() >= chip.n_cores):
        i = int(np.flatnonzero((core < 0) | (core >= chip.n_cores))[0])
        raise bad("part_core", f"part {i}'s core is not on the board", int(core[i]), f"0 .. {chip.n_cores - 1}")
    if np.unique(core).size != k:
        values, counts = np.unique(core, return_counts=True)
        dup = int(values[counts > 1][0])
        raise bad("part_core", "two parts on one core", f"core {dup} twice", "one core per part")
    used = np.unique(part)
    if used.size < k:  # parts holding no neuron are no cores in use (e.g. part = core, part_core = all cores)
        part, core, k = np.searchsorted(used, part), core[used], int(used.size)
    rows = core_rows(graph, part, k)
    usage = core_usage(graph, chip, part, n_parts=k, rows=rows)
    for c, r, used, lim in usage.violations():
        raise CapacityError(f"part {c} (core {int(core[c])})", LIMIT_FIELD[r], used, lim, hint=f"placement '{label}'")
    check_dest_cores(graph, chip, rows, part_core=core, where=f"placement '{label}'")
    from .resources import min_cores
    k_min, binding = min_cores(graph, chip)
    prt = Partition(part=part, n_parts=k, strategy=label, usage=usage, rows=rows, k_min=k_min, binding=binding,
                    k_initial=k, repair_moves=0, new_cores=0, attempts=0)
    nets = build_nets(graph, part, rows)
    pl = Placement(core=core, strategy=label, cost={}, initial_cost={}, moves_tried=0, moves_accepted=0, wall_s=0.0)
    rt = route(graph, chip, part, rows=rows, part_core=core, nets=nets)
    est = estimate(graph, chip, partition=prt, routing=rt)
    wall = {"total": time.perf_counter() - t_all}
    data = _build_report(network, chip, graph=graph, part=prt, pl=pl, rt=rt, est=est, wall=wall, seed=0,
                         partitioner=label, placer=label)
    data["splitters"] = _splitter_entry(None, enabled=False)  # a given placement is taken as it is
    if SPLITTER_POPULATION in network.population_map():
        two = any(c.pre == c.post == SPLITTER_POPULATION for c in network.connections)  # relays feeding relays
        data["splitters"].update(population=SPLITTER_POPULATION, relays=network.population(SPLITTER_POPULATION).size,
                                 split_neurons=int(np.unique(relay_origins(network)).size),
                                 added_latency_steps=2 if two else 1)
    return MappingResult(chip=chip, graph=graph, partition=prt, placement=pl, routing=rt, estimate=est,
                         report=Report(data), activity=activity, network=network)


def _build_report(network: Network, chip: ChipSpec, *, graph: NetGraph, part: Partition, pl: Placement,
                  rt: Routing, est: Estimate, wall: dict, seed: int, partitioner: str, placer: str) -> dict:
    """The JSON-ready report dictionary (see :meth:`Report.to_dict`)."""
    runs = float(graph.steps * graph.batch)
    usage = part.usage
    cores = []
    for i in range(part.n_parts):
        a = chip.address(int(pl.core[i]))
        cores.append({"part": i, "core": a.index, "chip": a.chip, "x": a.x, "y": a.y, "slot": a.slot,
                      "resources": {r: [int(usage.used[r][i]), usage.limits[r]] for r in RESOURCES},
                      "time_per_step_s": float(est.core_time_s[i])})
    util = {}
    for r in RESOURCES:
        lim = usage.limits[r]
        u = usage.used[r] / lim if lim else None
        util[r] = {"max": float(u.max()) if u is not None and u.size else None,
                   "mean": float(u.mean()) if u is not None and u.size else None, "limit": lim}
    assumed = graph.activity_source == "assumed"
    notes = []
    if assumed:
        notes.append("activity was ASSUMED (uniform rates), not measured: traffic, energy and latency are estimates "
                     "of that assumption")
    if chip.cost_status == "placeholder":
        notes.append(f"PROXY: chip '{chip.name}' has placeholder costs (no published per-event values); every energy "
                     "and latency figure here is a proxy, not an estimate of that chip")
    if chip.energy.unpublished:
        notes.append("unpublished energy costs counted as 0: " + ", ".join(chip.energy.unpublished_keys))
    if chip.timing.unpublished:
        notes.append("unpublished latency costs counted as 0: " + ", ".join(chip.timing.unpublished_keys))
    graded = [p.name for p in network.populations if p.model.graded]
    if graded and not chip.core.graded_spikes:
        notes.append(f"GRADED ON A BINARY CHIP: population(s) {', '.join(repr(g) for g in graded)} emit graded "
                     f"(real-valued) outputs, but chip '{chip.name}' carries binary spikes only "
                     f"(core.spike_payload: {chip.core.spike_payload}); the mapping costs each non-zero output as "
                     "one message carrying its value, which this chip cannot send: the network cannot run on it as "
                     "built (it would need spike or rate coding), and its traffic, energy and latency figures are "
                     "proxies")
    levels = chip.core.weight_levels_per_neuron
    if levels is not None:
        from .quantize import levels_per_neuron
        per_pop = levels_per_neuron(network)
        over = sum(int(np.count_nonzero(v > levels)) for v in per_pop.values())
        if over:
            notes.append(f"WEIGHTS: chip '{chip.name}' holds at most {levels} distinct weight values per neuron "
                         f"(core.weight_levels_per_neuron); {over} of {sum(v.size for v in per_pop.values())} target "
                         f"neurons receive more (up to {max(int(v.max()) for v in per_pop.values() if v.size)}): "
                         "the mapping does not check this, so these weights cannot be stored as given (the quantised "
                         "re-simulation of `neurosim run`, mapper.quantize, models this limit)")
    notes.append("hops are " + ("multicast-tree link traversals" if rt.multicast else "unicast XY hops per packet"))
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION,
        "network": {"name": network.name, "neurons": graph.n, "synapses": graph.n_synapses,
                    "populations": {p.name: p.size for p in network.populations},
                    "plastic_connections": [
                        {"name": c, "learning_model": "epoch" if c in graph.learn_epochs else "event",
                         "epochs": graph.learn_epochs.get(c)} for c in graph.plastic_connections]},
        "chip": {"name": chip.name, "file": chip.source, "cost_source": chip.cost_source,
                 "cost_status": chip.cost_status,
                 "cores_available": chip.n_cores, "chips_available": chip.n_chips,
                 "energy_active_policy": chip.energy.active_policy},
        "activity": {"source": graph.activity_source, "assumed": assumed, "steps": graph.steps, "batch": graph.batch,
                     "dt_s": graph.dt_s, **({"inputs": graph.inputs} if graph.inputs else {})},
        "partition": {"strategy": part.strategy, "requested": partitioner, "fallback": part.fallback or None,
                      "cores_used": part.n_parts, "k_min": part.k_min,
                      "binding_resource": part.binding, "k_requested": part.k_initial, "attempts": part.attempts,
                      "repair_moves": part.repair_moves, "cores_added_by_repair": part.new_cores},
        "placement": {"strategy": placer, "objective": pl.cost, "initial_objective": pl.initial_cost,
                      "moves_tried": pl.moves_tried, "moves_accepted": pl.moves_accepted, "seed": seed},
        "cores": cores,
        "utilisation": util,
        "totals": {"neuron_spikes": est.counts["spike_out"], "synaptic_events": est.counts["syn_op"],
                   "packets": est.counts["packet"], "packets_within_tile": est.counts["spike_within_tile"],
                   "hops_ew": est.counts["hop_ew"], "hops_ns": est.counts["hop_ns"],
                   "chip_crossings": est.counts["hop_chip"], "learn_updates": est.counts["learn_update"],
                   "neuron_updates_active": est.counts["neuron_update_active"],
                   "neuron_updates_inactive": est.counts["neuron_update_inactive"], "steps_executed": runs},
        "routing": rt.summary(),
        "energy_j": {"by_event": {k: est.energy_j[k] for k in EVENTS}, "dynamic": est.dynamic_j,
                     "static": est.static_j, "total": est.total_j, "per_step": est.per_step_j,
                     "per_input": est.per_input_j},
        "latency_s": {"per_step": est.step_s, "slowest_core": est.core_s, "slowest_core_part": est.slowest_core,
                      "network": est.noc_s, "barrier": est.barrier_s, "time_to_solution": est.time_to_solution_s,
                      "wall": est.wall_s},
        "edp_js": est.edp_js,
        "edp_basis": EDP_BASIS,
        "neurobench": est.neurobench,
        "mapper": {"wall_s": {k: float(v) for k, v in wall.items()}, "seed": seed,
                   "peak_rss_mib": _peak_rss_mib()},
        "notes": notes,
    }
