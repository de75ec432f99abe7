r"""The mapping report: one JSON-ready dictionary built in one place (:func:`build_report`), and its summary.

:class:`Report` wraps the dictionary (:meth:`Report.to_dict` lists the keys and defines the
per-input figures) and prints a short summary (:meth:`Report.summary_text`). Energies are joules,
times seconds, traffic figures events per step per input unless a key says ``totals``; the
per-input figures divide the run (``R = steps * batch`` steps for ``N`` inputs) as

.. math::

    E_{in} = E_{total} / N \;[J], \qquad T_{in} = (R / N) T_{step} \;[s], \qquad
    \mathrm{EDP} = E_{in} T_{in} \;[J\,s].
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional

import numpy as np

from neurosim.ir import Network

from .chipspec import ChipSpec
from .estimate import EDP_BASIS, EVENTS, Estimate
from .graph import NetGraph
from .partition import Partition, Splitters
from .partition.relays import SPLITTER_POPULATION, relay_origins
from .place import Placement
from .quantize import levels_per_neuron
from .resources import RESOURCES
from .route import Routing

__all__ = ["Report", "build_report", "REPORT_FORMAT", "REPORT_VERSION"]

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
        ``neurobench``, ``mapper`` (wall time per stage, peak RSS, seed, ``budget_bound``: the
        search phases a wall-clock cap cut short, empty when the mapping is reproducible, and
        ``caps_s``: the caps), ``notes``, ``splitters``
        (relay neurons, their cores and the latency steps they add; :mod:`mapper.partition.splitters`).
        ``placement.twins`` (``{"twins", "swaps"}``, :mod:`mapper.place.twins`) is there for
        mappings, not for a given placement (:func:`mapper.evaluate.evaluate_placement`).

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
            f"activity: {d['activity']['source']}"
            + (" (ASSUMED rates, not measured)" if d['activity']['assumed'] else "")
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


def build_report(network: Network, chip: ChipSpec, *, graph: NetGraph, partition: Partition, placement: Placement,
                 routing: Routing, estimate: Estimate, wall: dict, seed: int, partitioner: str, placer: str,
                 splitters: Optional[Splitters] = None, splitters_enabled: bool = False, twins: Optional[dict] = None,
                 given: bool = False, budget_bound: Optional[list] = None, caps: Optional[dict] = None) -> dict:
    """The JSON-ready report dictionary (the keys: :meth:`Report.to_dict`): the one place every field is set.

    Parameters
    ----------
    network : Network
        The network that was placed (with splitter relays when the mapping added them).
    chip, graph, partition, placement, routing, estimate
        The stages' results.
    wall : dict
        Seconds per stage (``report["mapper"]["wall_s"]``).
    seed : int
    partitioner, placer : str
        The strategies asked for (the partition's own may differ after a hand-over).
    splitters : Splitters, optional
        The relays the splitter stage added (``None``: none).
    splitters_enabled : bool
        Whether the splitter stage ran.
    twins : dict, optional
        ``{"twins", "swaps"}`` of the twin-exchange stage (``report["placement"]["twins"]``).
    given : bool
        The placement was given, not searched (:func:`mapper.evaluate.evaluate_placement`): a
        network that already holds relays is reported as it is.
    budget_bound : list of str, optional
        The search phases a wall-clock cap cut short (``report["mapper"]["budget_bound"]``, e.g.
        ``["place: exact"]``; empty: every search ran its fixed amount of work, so the same seed
        gives the same mapping on any machine). A non-empty list adds a note.
    caps : dict, optional
        The wall-clock caps (``time_budget_s``, ``repair_budget_s``, ``steiner_budget_s``; seconds,
        ``report["mapper"]["caps_s"]``).
    """
    runs = float(graph.steps * graph.batch)
    part, pl, rt, est = partition, placement, routing, estimate
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
        per_pop = levels_per_neuron(network)
        over = sum(int(np.count_nonzero(v > levels)) for v in per_pop.values())
        if over:
            notes.append(f"WEIGHTS: chip '{chip.name}' holds at most {levels} distinct weight values per neuron "
                         f"(core.weight_levels_per_neuron); {over} of {sum(v.size for v in per_pop.values())} target "
                         f"neurons receive more (up to {max(int(v.max()) for v in per_pop.values() if v.size)}): "
                         "the mapping does not check this, so these weights cannot be stored as given (the quantised "
                         "re-simulation of `neurosim run`, mapper.quantize, models this limit)")
    notes.append("hops are " + ("multicast-tree link traversals" if rt.multicast else "unicast XY hops per packet"))
    spl_entry = _splitters_entry(network, splitters, enabled=splitters_enabled, given=given)
    if splitters is not None:
        notes.append(
            f"{splitters.relays} splitter relay neuron(s) ({splitters.relays_on_existing} on cores of the partition, "
            f"the others on {splitters.cores} extra core(s)) carry the spikes of {splitters.split_neurons} neuron(s) "
            f"whose targets span more than {splitters.dest_limit} core(s); +{splitters.levels} step(s) of latency on "
            f"those paths (population '{spl_entry['population']}')")
        if part.strategy != partitioner:
            notes.append(f"partition: '{part.strategy}' kept instead of '{partitioner}' (fewer cores in total once "
                         "relays are counted)")
        if splitters.graded_sources:
            notes.append(f"{splitters.graded_sources} split neuron(s) are graded: their relays are costed as events")
    if part.fallback:
        notes.append(f"partition: {part.fallback}")
    bound = list(budget_bound or [])
    if bound:
        notes.append("NOT REPRODUCIBLE: a wall-clock cap cut " + ", ".join(bound) + " short, so this mapping "
                     "depends on the machine's speed and load (the same seed may give another result); raise the "
                     "cap or remove it (time_budget_s / repair_budget_s / steiner_budget_s, 0 or None: no cap; "
                     "`--time-budget 0`) for a reproducible mapping")
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
                      "moves_tried": pl.moves_tried, "moves_accepted": pl.moves_accepted, "seed": seed,
                      **({"twins": dict(twins)} if twins is not None else {})},
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
                   "peak_rss_mib": _peak_rss_mib(), "budget_bound": bound,
                   **({"caps_s": dict(caps)} if caps is not None else {})},
        "notes": notes,
        "splitters": spl_entry,
    }


def _splitters_entry(network: Network, spl: Optional[Splitters], *, enabled: bool, given: bool) -> dict:
    """``report["splitters"]``: relay neurons, cores and latency steps added (zeros without relays);
    for a given placement, the relays its network already holds."""
    if spl is not None:
        return {"enabled": True, **spl.summary()}
    entry = {"enabled": bool(enabled), "population": None, "split_neurons": 0, "relays": 0, "cores_added": 0,
             "added_latency_steps": 0}
    if given and SPLITTER_POPULATION in network.population_map():  # a given placement is taken as it is
        two = any(c.pre == c.post == SPLITTER_POPULATION for c in network.connections)  # relays feeding relays
        entry.update(population=SPLITTER_POPULATION, relays=network.population(SPLITTER_POPULATION).size,
                     split_neurons=int(np.unique(relay_origins(network)).size), added_latency_steps=2 if two else 1)
    return entry


def _peak_rss_mib():
    """Peak resident memory of this process so far (MiB), or ``None`` where unavailable."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
