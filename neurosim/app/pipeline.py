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

Example::

    from neurosim.app import run_experiment
    r = run_experiment(None, "loihi1")              # the built-in experiment
    r.energy_per_input_j, r.latency_per_step_s, r.quality.relative_gap
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

import numpy as np

from mapper import (ChipSpec, MappingOptions, MappingResult, check_fits, load_chip, map_network, quantize_network,
                    structure_graph)
from neurosim.app.experiment import (RASTER_STEPS, BuiltExperiment, Experiment, build_experiment,
                                     check_experiment_resources, load_experiment)
from neurosim.app.quality import SolutionQuality, lasso_reference, score_codes, score_quantized
from neurosim.app.report import compose_report
from neurosim.backends import simulate
from neurosim.guard import ResourceLimits
from neurosim.ir import Network, Probe
from neurosim.result import SimResult

__all__ = ["run_experiment", "RunResult", "RASTER_STEPS", "RASTER_PROBE"]

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


def run_experiment(experiment: Union[Experiment, str, None], chip: Union[ChipSpec, str],
                   options: Optional[MappingOptions] = None, *, quantize: bool = True,
                   progress: Optional[Progress] = None, simulation_progress: bool = False,
                   limits: Optional[ResourceLimits] = None) -> RunResult:
    """Build, simulate, score, quantise and map ``experiment`` on ``chip``.

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
    built = build_experiment(exp)
    network = _with_raster(built.network)
    graph = structure_graph(network)  # the mapper's graph, built once
    check_fits(network, chip, graph=graph)  # fail before simulating if it cannot fit the chip
    sim = exp.simulation
    t0 = time.perf_counter()
    res = simulate(network, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"],
                   progress=simulation_progress)
    wall = time.perf_counter() - t0
    codes = built.decode(res)
    reference, optimum = lasso_reference(built.D, built.X, built.lam, nonneg=built.nonneg)
    quality = score_codes(built.D, built.X, codes, built.lam, nonneg=built.nonneg, optimum=optimum,
                          simulation_wall_s=wall)
    if quantize:
        quality = _with_quantized(quality, built, chip, sim, simulation_progress, optimum)
    mapping = map_network(network, chip, res.activity, opts, progress=progress, graph=graph)
    report = compose_report(mapping, experiment={"name": exp.name, "source": exp.source, "simulation": dict(sim)},
                            quality=quality)
    return RunResult(experiment=exp, chip=chip, options=opts, built=built, simulation=res, codes=codes,
                     reference=reference, quality=quality, mapping=mapping, report=report)


def _with_quantized(quality: SolutionQuality, built: BuiltExperiment, chip: ChipSpec, sim: dict[str, Any],
                    show: bool, optimum: float) -> SolutionQuality:
    """``quality`` with the quantised network's score (one more simulation)."""
    import dataclasses

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qnet, qrep = quantize_network(built.network, chip)
    qnet.probes = [p for p in qnet.probes if p.name != RASTER_PROBE]  # only the codes are needed
    qres = simulate(qnet, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"],
                    progress=show)
    q = score_quantized(built.D, built.X, built.decode(qres), built.lam, nonneg=built.nonneg, optimum=optimum,
                        weight_bits=chip.core.weight_bits, weights=qrep.to_dict(),
                        warnings=[str(w.message) for w in caught])
    return dataclasses.replace(quality, quantized=q)
