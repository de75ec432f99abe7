"""Mapping a saved network, a NIR graph or a SANA-FE network file onto a chip (what ``neurosim map`` does).

Two steps, so a caller can check the network (e.g. that it can be exported back to NIR) before
the mapping's work starts:

1. :func:`load_network_file` / :func:`load_nir_graph` / :func:`load_sanafe_file` read the network
   (and its activity: a saved :class:`~neurosim.activity.ActivityProfile`, or for a NIR graph an
   optional simulation with Poisson spikes into its inputs; a SANA-FE file may carry a placement)
   as a :class:`MappingInput`;
2. :func:`map_input` maps it (:func:`mapper.map_network`), or costs the SANA-FE file's placement as
   given (:func:`mapper.evaluate_placement`, every per-core limit re-checked), and composes the
   report (:mod:`neurosim.app.report`; a NIR graph adds its ``nir`` section, a SANA-FE file its
   ``sanafe`` section).

Without activity the mapper assumes ``MappingOptions.assumed_rate`` events per neuron per step and
the report says so.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from mapper import ChipSpec, MappingOptions, MappingResult, Report, evaluate_placement, map_network
from mapper.interchange import SanafeNetwork, read_sanafe_network
from mapper.pipeline import resolve_chip
from neurosim.activity import ActivityProfile
from neurosim.app.report import compose_report, nir_text
from neurosim.backends import DEFAULT_BACKEND, simulate
from neurosim.errors import InputError, NetworkError, describe
from neurosim.guard import ResourceLimits, check_run
from neurosim.io.network import load_network
from neurosim.ir import Network
from neurosim.nir.read import add_poisson_input, read_nir
from neurosim.progress import Progress

__all__ = ["MappingInput", "MappedNetwork", "load_network_file", "load_nir_graph", "load_sanafe_file", "map_input",
           "placement_metadata", "INPUT_RATE"]

log = logging.getLogger(__name__)

#: default Poisson input rate of a simulated NIR graph, events per step per input neuron
INPUT_RATE = 0.1

PathLike = Union[str, Path]


@dataclass(frozen=True, eq=False)
class MappingInput:
    """A network to map, its activity (``None``: assumed rates) and, for a NIR graph, what was read."""

    network: Network
    activity: Optional[ActivityProfile] = None
    nir: Optional[dict[str, Any]] = None
    #: a SANA-FE network file as read, with its placement (``None`` for other inputs)
    sanafe: Optional[SanafeNetwork] = None
    #: map a SANA-FE file's network anew instead of costing its ``mappings`` as given
    remap: bool = False

    @property
    def given_placement(self) -> bool:
        """The input carries a complete placement that :func:`map_input` costs as given."""
        return self.sanafe is not None and self.sanafe.mapped and not self.remap

    @property
    def nir_outputs(self) -> Optional[list[str]]:
        """The populations that fed the NIR graph's ``Output`` nodes (kept by a NIR export), or
        ``None`` to let the export choose (populations that drive no other one)."""
        if self.nir is None:
            return None
        driven = {c.post for c in self.network.connections}
        pops = [p for node in (self.nir.get("outputs") or {}).values() for p in node if p in driven]
        return list(dict.fromkeys(pops)) or None

    @property
    def dt_s(self) -> float:
        """The time step: the NIR graph's, the activity's, or the default of assumed activity."""
        if self.nir is not None:
            return float(self.nir["dt_s"])
        if self.sanafe is not None and self.activity is None:
            return self.sanafe.dt_s
        return float((self.activity or ActivityProfile.assumed(self.network, 0.0)).dt_s)


@dataclass(frozen=True, eq=False)
class MappedNetwork:
    """The mapping of a :class:`MappingInput` and its report (``report.json``)."""

    input: MappingInput
    result: MappingResult
    report: dict

    @property
    def extra_text(self) -> str:
        """Summary lines beyond the mapper's (what was read from a NIR graph or a SANA-FE file)."""
        if self.input.sanafe is not None:
            return sanafe_text(self.report["sanafe"])
        return nir_text(self.input.nir) if self.input.nir else ""

    def summary_text(self) -> str:
        return Report(self.report).summary_text() + self.extra_text


def load_network_file(network: PathLike, activity: Optional[PathLike] = None) -> MappingInput:
    """A network saved by :func:`neurosim.io.network.save_network` and, optionally, its activity.

    Raises
    ------
    InputError
        Unreadable files, or an activity profile that does not fit the network (naming both files).
    """
    net = load_network(network)
    act = None
    if activity is not None:
        act = ActivityProfile.load(activity)
        try:
            act.check_matches(net)
        except NetworkError as exc:
            raise InputError(f"activity file '{activity}': does not fit network file '{network}': {exc}") from None
    return MappingInput(network=net, activity=act)


def load_sanafe_file(path: PathLike, *, dt_s: float = 1e-3, activity: Optional[PathLike] = None,
                     remap: bool = False) -> MappingInput:
    """A SANA-FE 2.x network file (:func:`mapper.interchange.read_sanafe_network`, neuron
    parameters read at time step ``dt_s``) and, optionally, a saved activity of the read network.

    When the file maps every neuron, :func:`map_input` costs that placement as given unless
    ``remap``; a file without a complete ``mappings`` section is mapped.

    Raises
    ------
    InputError
        An unusable file (:class:`~mapper.interchange.SanafeFileError`: file, key, what was found
        and expected), or an activity that does not fit the read network.
    """
    read = read_sanafe_network(path, dt_s=dt_s)
    act = None
    if activity is not None:
        act = ActivityProfile.load(activity)
        try:
            act.check_matches(read.network)
        except NetworkError as exc:
            raise InputError(f"activity file '{activity}': does not fit SANA-FE network file '{path}': {exc}") from None
    return MappingInput(network=read.network, activity=act, sanafe=read, remap=bool(remap))


def sanafe_text(info: dict[str, Any]) -> str:
    """Summary lines of a SANA-FE import: the file, whether its placement was costed, the notes."""
    lines = [f"SANA-FE network {info['source']}: {info['groups']} groups, read at dt {info['dt_s']:g} s; "
             f"placement: {info['placement']}"]
    lines += [f"  not translated exactly: {n}" for n in info["notes"]]
    return "\n".join(lines) + "\n"


def load_nir_graph(path: PathLike, *, dt_s: float, simulate_steps: Optional[int] = None,
                   input_rate: float = INPUT_RATE, seed: int = 0, backend: str = DEFAULT_BACKEND,
                   spikes: str = "pulse", threshold: Optional[str] = None,
                   input_shape: Optional[tuple[int, ...]] = None,
                   progress: Union[bool, Progress] = False, limits: Optional[ResourceLimits] = None,
                   announce: Optional[Callable[[str, float], None]] = None) -> MappingInput:
    """A NIR graph read at ``dt_s`` (:func:`neurosim.nir.read.read_nir`, with its ``spikes``,
    ``threshold`` and ``input_shape`` options) and, with ``simulate_steps``, its activity measured
    with Poisson spikes (``input_rate`` events per step per input neuron, seed ``seed``) into its
    inputs.

    A simulation in which no neuron but the input relays fires (a graph read with the wrong ``dt_s``
    or spike convention is silent: see the README's table of exporters) adds a warning to
    ``info["warnings"]`` (the report's notes; the CLI prints it) and to the log.

    ``limits`` bound the memory of the graph's layers (checked from their shapes, before anything
    is built) and the memory and duration of the simulation (:func:`neurosim.guard.check_run`);
    ``announce(what, seconds)`` (if given) receives the simulation's estimated duration before it
    starts; ``progress`` shows the simulation's bar on stderr (``True``) or hears
    ``("simulating", steps done, steps)`` (a :data:`~neurosim.progress.Progress` callback).

    Raises
    ------
    InputError
        An unreadable graph, impossible shapes, bad options.
    ResourceError
        The graph or the simulation would need more memory or time than ``limits`` allow.
    """
    network, info = read_nir(path, dt_s=dt_s, limits=limits, spikes=spikes, threshold=threshold, input_shape=input_shape)
    if simulate_steps is None:
        return MappingInput(network=network, nir=info)
    if isinstance(simulate_steps, bool) or not isinstance(simulate_steps, (int, np.integer)) or simulate_steps < 1:
        raise InputError(describe("option", "simulate", "must be a positive number of steps", got=simulate_steps,
                                  expected="an integer >= 1"))
    if not 0.0 <= float(input_rate) <= 1.0:
        raise InputError(describe("option", "input_rate", "out of range", got=input_rate,
                                  expected="events per step in [0, 1]"))
    driven = add_poisson_input(network, info, rate_per_step=float(input_rate), dt_s=dt_s)
    _, seconds = check_run(driven, int(simulate_steps), limits, what=f"NIR graph '{path}' simulated")
    if announce is not None:
        announce(f"simulating {driven.n_neurons} neurons for {int(simulate_steps)} steps", seconds)
    res = simulate(driven, steps=int(simulate_steps), dt_s=dt_s, backend=backend, seed=seed, progress=progress)
    info["simulation"] = {"steps": int(simulate_steps), "backend": res.backend, "input": "poisson",
                          "input_rate_per_step": float(input_rate), "seed": seed}
    fired = {p: int(np.sum(c)) for p, c in res.activity.counts.items() if p not in info["inputs"]}
    if input_rate > 0 and not any(fired.values()):
        warning = (f"silent network: in {int(simulate_steps)} simulated steps no neuron fired but the input relays "
                   f"({sum(res.activity.counts[p].sum() for p in info['inputs'])} input spikes); the mapping costs "
                   f"only the inputs. Check --dt and --spikes (read at dt {dt_s:g} s as '{spikes}' spikes; an "
                   "exporter of Dirac impulses, e.g. Sinabs or Norse IAF, needs --spikes dirac)")
        log.warning("NIR graph %s: %s", path, warning)
        info["warnings"] = [warning]
    return MappingInput(network=network, activity=res.activity, nir=info)


def map_input(inp: MappingInput, chip: Union[ChipSpec, str], options: Optional[MappingOptions] = None, *,
              progress: Optional[Callable[[str, int, int], None]] = None) -> MappedNetwork:
    """Map ``inp`` onto ``chip`` and compose its report (with the ``nir`` section for a NIR graph).

    A SANA-FE file with a complete placement (:attr:`MappingInput.given_placement`) is costed as
    given instead (:func:`mapper.evaluate_placement`; every per-core limit re-checked, a
    :class:`~neurosim.errors.CapacityError` names the limit, used and limit), and the report has a
    ``sanafe`` section (file, placement, notes).

    Raises
    ------
    CapacityError
        The network, or a given placement, does not fit.
    InputError
        A SANA-FE core that is not on ``chip``'s board.
    """
    opts = options if options is not None else MappingOptions()
    if inp.given_placement:
        chip = resolve_chip(chip)
        part, part_core = inp.sanafe.placement(chip)
        result = evaluate_placement(inp.network, chip, inp.activity, part=part, part_core=part_core,
                                    assumed_rate=opts.assumed_rate, label="SANA-FE mappings")
    else:
        result = map_network(inp.network, chip, inp.activity, opts, progress=progress)
    sanafe = None
    if inp.sanafe is not None:
        how = (f"as given by the file's mappings ({result.partition.n_parts} cores)" if inp.given_placement else
               "mapped anew (--remap)" if inp.remap and inp.sanafe.mapped else
               f"mapped ({inp.sanafe.n_unmapped} neuron(s) without a core in the file)")
        sanafe = {"source": inp.sanafe.path, "dt_s": inp.sanafe.dt_s, "groups": len(inp.sanafe.groups),
                  "group_populations": dict(inp.sanafe.groups), "placement": how, "given": inp.given_placement,
                  "notes": list(inp.sanafe.notes)}
    notes = list((inp.nir or {}).get("warnings", []))  # a silent simulated NIR graph
    report = compose_report(result, nir=inp.nir, notes=notes or None)
    if sanafe is not None:
        report["sanafe"] = sanafe
    return MappedNetwork(input=inp, result=result, report=report)


def placement_metadata(result: MappingResult) -> dict[str, Any]:
    """The placement as NIR metadata: chip name and, per population, the board core index of each neuron."""
    g = result.graph
    core = np.asarray(result.placement.core, dtype=np.int64)[np.asarray(result.partition.part, dtype=np.int64)]
    return {"format": "neurosim-placement", "chip": result.chip.name, "n_cores": int(result.chip.n_cores),
            "cores": {name: core[g.pop_offsets[i]:g.pop_offsets[i + 1]] for i, name in enumerate(g.pop_names)}}
