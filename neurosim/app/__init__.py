"""The application layer: experiments run end to end on top of the simulator and the mapper.

* :func:`run_experiment` -- build -> simulate -> score -> quantise -> map -> report, one call
  (:mod:`~neurosim.app.pipeline`), returning a :class:`RunResult`;
* :class:`Experiment`, :func:`load_experiment` -- experiment files (:mod:`~neurosim.app.experiment`);
* :func:`write_run`, :func:`write_mapping` -- the output files (:mod:`~neurosim.app.outputs`);
* :func:`run_sweep`, :func:`load_sweep` -- design-space sweeps over chips, experiments and
  mapping options, simulations shared, on Dask (:mod:`~neurosim.app.sweep`);
* :mod:`~neurosim.app.learning` -- what learning a dictionary costs on a chip;
* :mod:`~neurosim.app.mapping` -- mapping saved networks and NIR graphs.

Layers, bottom to top: core (``neurosim``) <- ``mapper`` <- ``neurosim.app`` <- ``neurosim.cli``.
"""
from __future__ import annotations

from mapper import MappingOptions
from neurosim.app.experiment import Experiment, build_experiment, experiment_from_dict, load_experiment
from neurosim.app.outputs import check_out_dir, write_mapping, write_run
from neurosim.app.pipeline import RunResult, run_experiment
from neurosim.app.quality import SolutionQuality
from neurosim.app.sweep import SweepResult, run_sweep
from neurosim.app.sweepspec import SweepSpec, load_sweep

__all__ = ["run_experiment", "RunResult", "Experiment", "load_experiment", "experiment_from_dict", "build_experiment",
           "SolutionQuality", "MappingOptions", "write_run", "write_mapping", "check_out_dir", "run_sweep",
           "SweepResult", "SweepSpec", "load_sweep"]
