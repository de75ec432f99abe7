"""The pipeline API: an experiment on a chip, end to end, in one call.

:func:`run_experiment` does what ``neurosim run`` does, and the command only calls it::

    estimate memory and duration from the sizes (refused beyond the limits, before anything is built)
      -> build (network with its probes, the problem D, X, lam)
      -> check the network can fit the chip (before anything is simulated)
      -> simulate once (codes, activity, the raster of the first RASTER_STEPS steps)
      -> score the codes against FISTA's optimum (neurosim.app.quality)
      -> quantise the weights to the chip's precision and simulate that network once
      -> map onto the chip with the measured activity (mapper.map_network, MappingOptions)
      -> compose the report (neurosim.app.report)

and returns a :class:`RunResult` holding every stage's output. Files are written by
:func:`neurosim.app.outputs.write_run`; nothing here prints (progress bars are opt-in).

The steps are also public **stages**, so that work shared by many configurations is done once
(design-space sweeps, :mod:`neurosim.app.sweep`) and every configuration's numbers are exactly
those of :func:`run_experiment`, which is nothing but the stages in order:

* :func:`prepare_network` -- build the network with its raster probe (no chip);
* :func:`simulate_stage` -- simulate the float network once and score it against FISTA
  (depends on the experiment's ``network`` and ``simulation`` sections only) -> :class:`Simulated`;
* :func:`quantized_stage` -- quantise to a chip's weight precision, simulate, score (depends
  only on the chip's ``core.weight_bits`` and ``core.weight_levels_per_neuron`` and its name);
* :func:`map_stage` -- map with the measured activity and compose the report -> :class:`RunResult`.

Example::

    from neurosim.app import run_experiment
    r = run_experiment(None, "loihi1")              # the built-in experiment
    r.energy_per_input_j, r.latency_per_step_s, r.quality.relative_gap
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

from mapper import (ChipSpec, MappingOptions, MappingResult, check_fits, load_chip, map_network, quantize_network,
                    structure_graph)
from mapper.graph import NetGraph
from neurosim.app.experiment import (RASTER_STEPS, BuiltExperiment, Experiment, build_experiment,
                                     check_experiment_resources, load_experiment)
from neurosim.app.quality import QuantizedQuality, SolutionQuality, lasso_reference, score_codes, score_quantized
from neurosim.app.report import compose_report
from neurosim.backends import simulate
from neurosim.guard import ResourceLimits
from neurosim.ir import Network, Probe
from neurosim.result import SimResult

__all__ = ["run_experiment", "RunResult", "Simulated", "prepare_network", "simulate_stage", "quantized_stage",
           "map_stage", "RASTER_STEPS", "RASTER_PROBE"]

#: the raster of ``activity.png`` is the probe ``RASTER_PROBE`` of the first ``RASTER_STEPS`` steps
#: (declared when the network is built)
RASTER_PROBE = "raster"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, eq=False)
class RunResult:
    """Everything one run produced.

    Attributes
    ----------
    experiment : Experiment
    chip : ChipSpec
    options : MappingOptions
        The mapping options used (the experiment's ``mapping`` section with overrides).
    built : BuiltExperiment
        The network as simulated (with its probes) and the problem ``D``, ``X``, ``lam``.
    simulation : SimResult
        The run of the float network (codes, activity, probes incl. ``"raster"``).
    codes, reference : ndarray (batch, N)
        Decoded codes, and FISTA's codes of the same problem.
    quality : SolutionQuality
        Objective, optimum, relative gap (and the quantised network's, unless skipped).
    mapping : MappingResult
        Partition, placement, routing and estimate on the chip.
    report : dict
        ``report.json``: the mapper's report with ``experiment`` and ``solution_quality``.
    """

    experiment: Experiment
    chip: ChipSpec
    options: MappingOptions
    built: BuiltExperiment
    simulation: SimResult
    codes: np.ndarray
    reference: np.ndarray
    quality: SolutionQuality
    mapping: MappingResult
    report: dict

    @property
    def network(self) -> Network:
        return self.built.network

    @property
    def energy_per_input_j(self) -> float:
        """Energy per input, joules (``report["energy_j"]["per_input"]``)."""
        return float(self.report["energy_j"]["per_input"])

    @property
    def latency_per_step_s(self) -> float:
        """Latency of one time step on the chip, seconds."""
        return float(self.report["latency_s"]["per_step"])

    @property
    def time_to_solution_s(self) -> float:
        """Time to solution of one input, seconds."""
        return float(self.report["latency_s"]["time_to_solution"])

    def summary_text(self) -> str:
        """The mapping summary followed by the solution quality (what ``neurosim run`` prints)."""
        from mapper import Report

        return Report(self.report).summary_text() + self.quality.text()


def _with_raster(network: Network) -> Network:
    """The raster probe of the first population (spikes, or graded outputs), first RASTER_STEPS steps."""
    pop = network.populations[0]
    var = "output" if pop.model.graded else "spikes"
    if RASTER_PROBE not in {p.name for p in network.probes}:
        network.add(Probe(pop.name, var, stop=RASTER_STEPS, name=RASTER_PROBE))
    return network




@dataclass(frozen=True, eq=False)
class Simulated:
    """The float network of an experiment, simulated once and scored: what every chip and mapping
    of one network and simulation setting shares.

    Attributes
    ----------
    experiment : Experiment
    built : BuiltExperiment
        The network (with its raster probe) and the problem ``D``, ``X``, ``lam``.
    simulation : SimResult
        The run (codes, activity, probes).
    codes, reference : ndarray (batch, N)
        Decoded codes, and FISTA's codes of the same problem.
    optimum : float
        FISTA's mean objective ``F*`` (the reference of every relative gap).
    quality : SolutionQuality
        The float network's score (no quantised part).
    """

    experiment: Experiment
    built: BuiltExperiment
    simulation: SimResult
    codes: np.ndarray
    reference: np.ndarray
    optimum: float
    quality: SolutionQuality

    def without_probes(self) -> "Simulated":
        """A copy whose simulation keeps its activity but no probe data or final state (what a
        mapping needs; small enough to ship to other processes)."""
        sim = dataclasses.replace(self.simulation, probes={}, final_state={})
        return dataclasses.replace(self, simulation=sim)


def prepare_network(experiment: Experiment) -> BuiltExperiment:
    """Build ``experiment``'s network with the raster probe of its first RASTER_STEPS steps."""
    built = build_experiment(experiment)
    _with_raster(built.network)
    return built


def simulate_stage(experiment: Experiment, built: BuiltExperiment, *, progress: bool = False) -> Simulated:
    """Simulate the float network once and score its codes against FISTA's optimum.

    Parameters
    ----------
    experiment : Experiment
        Supplies ``simulation`` (steps, dt_s in seconds, backend, seed).
    built : BuiltExperiment
        From :func:`prepare_network`.
    progress : bool
        Show the simulation's progress bar on stderr.
    """
    sim = experiment.simulation
    t0 = time.perf_counter()
    res = simulate(built.network, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"],
                   progress=progress)
    wall = time.perf_counter() - t0
    codes = built.decode(res)
    reference, optimum = lasso_reference(built.D, built.X, built.lam, nonneg=built.nonneg)
    quality = score_codes(built.D, built.X, codes, built.lam, nonneg=built.nonneg, optimum=optimum,
                          simulation_wall_s=wall)
    return Simulated(experiment=experiment, built=built, simulation=res, codes=codes, reference=reference,
                     optimum=optimum, quality=quality)


def quantized_stage(simulated: Simulated, chip: ChipSpec, *, progress: bool = False) -> QuantizedQuality:
    """Quantise the network's weights to ``chip``'s precision (:func:`mapper.quantize_network`),
    simulate that network once and score it against the float optimum.

    Only ``chip.name``, ``core.weight_bits`` and ``core.weight_levels_per_neuron`` matter: chips
    equal in those share the result.
    """
    built, sim = simulated.built, simulated.experiment.simulation
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qnet, qrep = quantize_network(built.network, chip)
    qnet.probes = [p for p in qnet.probes if p.name != RASTER_PROBE]  # only the codes are needed
    qres = simulate(qnet, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"],
                    progress=progress)
    return score_quantized(built.D, built.X, built.decode(qres), built.lam, nonneg=built.nonneg,
                           optimum=simulated.optimum, weight_bits=chip.core.weight_bits, weights=qrep.to_dict(),
                           warnings=[str(w.message) for w in caught])


def map_stage(simulated: Simulated, chip: ChipSpec, options: MappingOptions, *,
              quantized: Optional[QuantizedQuality] = None, progress: Optional[Progress] = None,
              graph: Optional[NetGraph] = None) -> RunResult:
    """Map the simulated network onto ``chip`` with its measured activity and compose the report.

    Parameters
    ----------
    simulated : Simulated
        From :func:`simulate_stage`.
    chip : ChipSpec
    options : MappingOptions
    quantized : QuantizedQuality, optional
        From :func:`quantized_stage` on this chip (or one equal in weight precision).
    progress : callable, optional
        ``progress(stage, done, total)`` of the mapping stages.
    graph : NetGraph, optional
        The network's structure graph (:func:`mapper.structure_graph`) when the caller already
        built it (the fit check); the measured rates are put in by :func:`mapper.map_network`.

    Raises
    ------
    CapacityError
        The network does not fit ``chip``.
    """
    exp = simulated.experiment
    quality = simulated.quality if quantized is None else dataclasses.replace(simulated.quality, quantized=quantized)
    mapping = map_network(simulated.built.network, chip, simulated.simulation.activity, options, progress=progress,
                          graph=graph)
    report = compose_report(mapping, experiment={"name": exp.name, "source": exp.source,
                                                 "simulation": dict(exp.simulation)}, quality=quality)
    return RunResult(experiment=exp, chip=chip, options=options, built=simulated.built,
                     simulation=simulated.simulation, codes=simulated.codes, reference=simulated.reference,
                     quality=quality, mapping=mapping, report=report)


def run_experiment(experiment: Union[Experiment, str, None], chip: Union[ChipSpec, str],
                   options: Optional[MappingOptions] = None, *, quantize: bool = True,
                   progress: Optional[Progress] = None, simulation_progress: bool = False,
                   limits: Optional[ResourceLimits] = None) -> RunResult:
    """Build, simulate, score, quantise and map ``experiment`` on ``chip``.

    The stages in order: :func:`prepare_network`, the fit check (:func:`mapper.check_fits`),
    :func:`simulate_stage`, :func:`quantized_stage` (unless ``quantize=False``), :func:`map_stage`.

    Parameters
    ----------
    experiment : Experiment, str or None
        A validated experiment, a YAML path (:func:`~neurosim.app.experiment.load_experiment`) or
        ``None`` for the built-in one.
    chip : ChipSpec or str
        A chip spec, a chip name or a YAML path (:func:`mapper.load_chip`).
    options : MappingOptions, optional
        Mapping options; default: the experiment's ``mapping`` section
        (:meth:`Experiment.mapping_options`).
    quantize : bool
        Re-simulate the network with weights quantised to the chip's precision
        (:func:`mapper.quantize_network`) and score it too.
    progress : callable, optional
        ``progress(stage, done, total)`` of the mapping stages (for progress bars).
    simulation_progress : bool
        Show the simulations' progress bars on stderr.
    limits : ResourceLimits, optional
        Most memory and time the run may be estimated to need
        (:func:`~neurosim.app.experiment.check_experiment_resources`); default: the machine's
        memory and one day.

    Raises
    ------
    ExperimentError, ChipSpecError
        Invalid experiment or chip (before any work).
    ResourceError
        The run would need more memory or time than ``limits`` allow (before anything is built).
    CapacityError
        The network cannot fit the chip (before anything is simulated).
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    chip = chip if isinstance(chip, ChipSpec) else load_chip(chip)
    opts = options if options is not None else exp.mapping_options()
    check_experiment_resources(exp, limits)  # before anything is allocated
    built = prepare_network(exp)
    graph = structure_graph(built.network)  # the mapper's graph, built once
    check_fits(built.network, chip, graph=graph)  # fail before simulating if it cannot fit the chip
    simulated = simulate_stage(exp, built, progress=simulation_progress)
    quantized = quantized_stage(simulated, chip, progress=simulation_progress) if quantize else None
    return map_stage(simulated, chip, opts, quantized=quantized, progress=progress, graph=graph)
