"""The plan of a sweep (points with their keys and shared work) and the tasks that run it.

:func:`plan_sweep` turns each point of a :class:`~neurosim.app.sweepspec.SweepSpec` into a
:class:`PointPlan`: its experiment and chip variants, validated exactly like files (an invalid
variant makes the point ``invalid`` with the one-line error as reason), its mapping options and
three keys:

* ``sim_key`` -- the network and simulation settings (and data files): points equal in it share
  one float simulation (:func:`simulate_group`);
* ``quant_key`` -- ``sim_key`` and the chip's weight precision (``core.weight_bits``,
  ``core.weight_levels_per_neuron``, name): points equal in it share one quantised simulation
  (:func:`quantize_group`);
* ``key`` -- every input of the point (:mod:`neurosim.app.sweepstore`): its stored result.

The task functions are plain module-level functions of picklable data, so the same code runs
in-process or on Dask workers; :func:`run_point` is :func:`neurosim.app.pipeline.map_stage` on
the shared stages, so a point's numbers equal those of :func:`~neurosim.app.run_experiment`.
"""
from __future__ import annotations

import copy
import logging
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from mapper import ChipSpec, MappingOptions, chip_from_dict, check_fits
from mapper.chipload import load_chip_dict
from neurosim.app.experiment import Experiment, experiment_from_dict
from neurosim.app.pipeline import Simulated, map_stage, prepare_network, quantized_stage, simulate_stage
from neurosim.app.quality import QuantizedQuality
from neurosim.app.sweepspec import SweepSpec, _relative
from neurosim.app.sweepstore import code_version, digest, file_digest
from neurosim.errors import CapacityError, NeurosimError, SpecError
from neurosim.ir import Network

__all__ = ["PointPlan", "Failure", "plan_sweep", "simulate_group", "quantize_group", "run_point", "metrics_of",
           "METRICS", "STATUSES"]

log = logging.getLogger(__name__)

#: point statuses: ok; invalid (a variant fails validation); does-not-fit (CapacityError);
#: failed (another domain error while simulating or mapping); error (an unexpected exception:
#: a bug, not stored, so ``--resume`` runs the point again)
STATUSES = ("ok", "invalid", "does-not-fit", "failed", "error")

#: result columns after the axes: name -> (unit, meaning)
METRICS: dict[str, tuple[str, str]] = {
    "energy_per_input_j": ("J", "energy per input (total / inputs)"),
    "energy_dynamic_per_input_j": ("J", "dynamic (event) energy per input"),
    "energy_static_per_input_j": ("J", "static (leakage) energy per input"),
    "latency_per_step_s": ("s", "latency of one time step"),
    "time_to_solution_s": ("s", "time to solution of one input"),
    "edp_js": ("J s", "energy per input x time to solution"),
    "cores": ("", "cores used"),
    "chips": ("", "chips used"),
    "busiest_link": ("packets/step", "load of the busiest mesh link"),
    "packets": ("", "inter-core packets over the run"),
    "relative_gap": ("", "LASSO relative gap to FISTA, float weights"),
    "relative_gap_quantized": ("", "LASSO relative gap to FISTA, weights quantised to the chip"),
    "mapper_wall_s": ("s", "mapper wall time (machine-dependent)"),
}


@dataclass(frozen=True)
class Failure:
    """A shared stage that could not run: the status and one-line reason its points get."""

    status: str
    reason: str
    #: the built network, when the stage failed because it fits none of its chips (each point
    #: then reports its own chip's reason)
    network: Optional[Network] = None


@dataclass(frozen=True, eq=False)
class PointPlan:
    """One point: its axis values, inputs and keys (see the module docstring)."""

    index: int
    values: dict[str, Any]
    key: str
    inputs: dict[str, Any]
    status: Optional[str] = None
    reason: str = ""
    experiment: Optional[Experiment] = None
    chip: Optional[ChipSpec] = None
    options: Optional[MappingOptions] = None
    sim_key: str = ""
    quant_key: str = ""
    quantize: bool = True
    data: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.status is None


def _set(d: dict, dotted: str, value: Any) -> None:
    """``d[a][b][c] = value`` for ``dotted = "a.b.c"``, creating mappings on the way."""
    parts = dotted.split(".")
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = copy.deepcopy(value)


def _data_digests(exp: Experiment) -> dict[str, str]:
    """Digests of the data files an experiment reads (a missing file is left to the build to report)."""
    out = {}
    for key, path in exp.input_files():
        if key != "EXPERIMENT" and path.is_file():
            out[key] = file_digest(path)
    return out


def plan_sweep(spec: SweepSpec) -> list[PointPlan]:
    """The :class:`PointPlan` of every point of ``spec`` (cheap: nothing is built or simulated)."""
    code = code_version()
    chips: dict[str, Union[tuple[dict, str], str]] = {}
    plans = []
    for i, point in enumerate(spec.points()):
        exp_d = copy.deepcopy(spec.experiment)
        if spec.mapping:
            exp_d["mapping"] = {**(exp_d.get("mapping") or {}), **spec.mapping}
        chip_d, chip_src, bad_chip = copy.deepcopy(spec.chip), spec.chip_source, ""
        if "chip" in point:
            name = str(point["chip"])
            if name not in chips:
                try:
                    d, path = load_chip_dict(_relative(spec.base_dir, name))
                    chips[name] = (d, str(path))
                except SpecError as exc:
                    chips[name] = str(exc)
            if isinstance(chips[name], str):
                bad_chip = chips[name]
            else:
                chip_d, chip_src = copy.deepcopy(chips[name][0]), chips[name][1]
        changed = []
        for key, v in point.items():
            head, _, rest = key.partition(".")
            if head == "chip" and rest:
                _set(chip_d, rest, v)
                changed.append(f"{rest}={v}")
            elif head == "experiment":
                _set(exp_d, rest, v)
            elif head == "mapping":
                _set(exp_d, f"mapping.{rest}", v)
        inputs = {"experiment": exp_d, "chip": chip_d, "quantize": spec.quantize, "code": code}
        base = dict(index=i, values=point, quantize=spec.quantize)
        try:
            exp = experiment_from_dict(copy.deepcopy(exp_d), source=spec.experiment_source,
                                       base_dir=spec.experiment_base_dir)
            if bad_chip:
                raise _Invalid(bad_chip)
            chip = chip_from_dict(copy.deepcopy(chip_d), source=chip_src + (f" [{', '.join(changed)}]"
                                                                              if changed else ""))
            options = exp.mapping_options()
        except (SpecError, NeurosimError, _Invalid) as exc:
            plans.append(PointPlan(key=digest(inputs), inputs=inputs, status="invalid", reason=str(exc), **base))
            continue
        data = _data_digests(exp)
        sim_key = digest({"network": exp.network, "simulation": exp.simulation, "data": data, "code": code})
        quant_key = digest({"sim": sim_key, "chip": chip.name, "weight_bits": chip.core.weight_bits,
                            "levels": chip.core.weight_levels_per_neuron})
        inputs = {"experiment": {"name": exp.name, "network": exp.network, "simulation": exp.simulation,
                                 "mapping": exp.mapping}, "data": data, "chip": chip_d,
                  "options": options.to_dict(), "quantize": spec.quantize, "code": code}
        plans.append(PointPlan(key=digest(inputs), inputs=inputs, experiment=exp, chip=chip, options=options,
                               sim_key=sim_key, quant_key=quant_key, data=data, **base))
    return plans


class _Invalid(Exception):
    """A variant that failed validation before its chip could be built (the message is the reason)."""


# -- tasks (run in-process or on Dask workers) ----------------------------------------------------
def _one_thread():
    """BLAS limited to one thread: the sweep's parallelism is one worker per core."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _unexpected(exc: BaseException) -> Failure:
    log.error("sweep task failed unexpectedly:\n%s", "".join(traceback.format_exception(exc)))
    return Failure("error", f"{type(exc).__name__}: {exc}".splitlines()[0])


def simulate_group(experiment: Experiment, chips: list[ChipSpec]) -> Union[Simulated, Failure]:
    """Build the network and, if it fits at least one of ``chips``, simulate and score it once.

    Returns the :class:`~neurosim.app.pipeline.Simulated` stage without probe data (what the
    points need), or a :class:`Failure` (its points report it).
    """
    with _one_thread():
        try:
            built = prepare_network(experiment)
            first: Optional[CapacityError] = None
            for chip in chips:
                try:
                    check_fits(built.network, chip)
                    break
                except CapacityError as exc:
                    first = first or exc
            else:
                return Failure("does-not-fit", str(first), network=built.network)
            return simulate_stage(experiment, built).without_probes()
        except NeurosimError as exc:
            return Failure("failed", f"simulation: {exc}")
        except Exception as exc:  # a bug: recorded, logged with its traceback, retried on --resume
            return _unexpected(exc)


def quantize_group(simulated: Union[Simulated, Failure], chips: list[ChipSpec]) -> Union[QuantizedQuality, Failure]:
    """The quantised network's score on the weight precision that ``chips`` share (one more
    simulation), if the network fits at least one of them."""
    if isinstance(simulated, Failure):
        return simulated
    with _one_thread():
        try:
            fits = None
            for chip in chips:
                try:
                    check_fits(simulated.built.network, chip)
                    fits = chip
                    break
                except CapacityError as exc:
                    first = exc
            if fits is None:
                return Failure("does-not-fit", str(first))
            return quantized_stage(simulated, fits)
        except NeurosimError as exc:
            return Failure("failed", f"quantised simulation: {exc}")
        except Exception as exc:
            return _unexpected(exc)


def metrics_of(report: dict[str, Any]) -> dict[str, Optional[float]]:
    """The :data:`METRICS` of a run's ``report.json`` (per-input energies divide by the inputs ``N``)."""
    e, lat, act = report["energy_j"], report["latency_s"], report["activity"]
    n = act.get("inputs") or act["batch"]
    q = report.get("solution_quality", {})
    return {
        "energy_per_input_j": e["per_input"],
        "energy_dynamic_per_input_j": e["dynamic"] / n,
        "energy_static_per_input_j": e["static"] / n,
        "latency_per_step_s": lat["per_step"],
        "time_to_solution_s": lat["time_to_solution"],
        "edp_js": report["edp_js"],
        "cores": report["partition"]["cores_used"],
        "chips": report["routing"]["chips_used"],
        "busiest_link": report["routing"]["busiest_link"]["load"],
        "packets": report["totals"]["packets"],
        "relative_gap": q.get("relative_gap"),
        "relative_gap_quantized": (q.get("quantized") or {}).get("relative_gap"),
        "mapper_wall_s": report["mapper"]["wall_s"]["total"],
    }


def run_point(simulated: Union[Simulated, Failure], quantized: Union[QuantizedQuality, Failure, None],
              chip: ChipSpec, options: MappingOptions) -> dict[str, Any]:
    """Map one point with the shared stages; ``{"status", "reason", "metrics", "wall_s"}``."""
    t0 = time.perf_counter()
    with _one_thread():
        try:
            network = simulated.network if isinstance(simulated, Failure) else simulated.built.network
            if network is not None:
                check_fits(network, chip)  # this chip's own reason when it does not fit
            for stage in (simulated, quantized):
                if isinstance(stage, Failure):
                    raise _Failed(stage)
            run = map_stage(simulated, chip, options, quantized=quantized)
            out = {"status": "ok", "reason": "", "metrics": metrics_of(run.report)}
            out["simulated"], out["quantized"] = True, quantized is not None
        except _Failed as exc:
            out = {"status": exc.failure.status, "reason": exc.failure.reason, "metrics": {}}
        except CapacityError as exc:
            out = {"status": "does-not-fit", "reason": str(exc), "metrics": {}}
        except NeurosimError as exc:
            out = {"status": "failed", "reason": f"mapping: {exc}", "metrics": {}}
        except Exception as exc:
            f = _unexpected(exc)
            out = {"status": f.status, "reason": f.reason, "metrics": {}}
    out.setdefault("simulated", isinstance(simulated, Simulated))
    out.setdefault("quantized", quantized is not None and not isinstance(quantized, Failure))
    out["wall_s"] = time.perf_counter() - t0
    return out


class _Failed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.reason)
        self.failure = failure
