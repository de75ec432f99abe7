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
from pathlib import Path
from typing import Any, Optional, Union

from mapper import ChipSpec, MappingOptions, chip_from_dict, check_fits
from mapper.chipload import load_chip_dict
from neurosim.app.experiment import Experiment, check_experiment_resources, experiment_from_dict
from neurosim.app.mapping import MappingInput, load_nir_graph, map_input
from neurosim.app.pipeline import Simulated, map_stage, prepare_network, quantized_stage, simulate_stage
from neurosim.app.quality import QuantizedQuality
from neurosim.app.sweepspec import NIR_FIELDS, SweepError, SweepSpec, _relative
from neurosim.app.sweepstore import code_version, digest, file_digest
from neurosim.blas import one_thread
from neurosim.errors import CapacityError, NeurosimError, SpecError
from neurosim.guard import ResourceLimits
from neurosim.validation.schema import Ctx, validate_section
from neurosim.ir import Network

__all__ = ["PointPlan", "Failure", "plan_sweep", "simulate_group", "quantize_group", "run_point", "metrics_of",
           "METRICS", "STATUSES"]

log = logging.getLogger(__name__)

#: point statuses: ok; invalid (a variant fails validation, or its run would exceed the resource limits); does-not-fit (CapacityError);
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
    #: relative cost of mapping the point (neurons per core limit: the parts the placement moves;
    #: 0 when unknown before the network is built), the order in which a cluster starts points
    cost: float = 0.0

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


@dataclass(frozen=True)
class NirSetting:
    """A NIR graph read at ``dt_s`` seconds and, with ``simulate`` steps, driven by Poisson input
    (``input_rate`` events per step per input neuron, ``seed``) to measure its activity."""

    path: Path
    dt_s: float
    simulate: Optional[int]
    input_rate: float
    seed: int
    backend: str
    spikes: str = "pulse"
    threshold: Optional[str] = None


def _chip_variant(spec: SweepSpec, point: dict[str, Any], cache: dict) -> tuple[dict, str, str]:
    """The chip of a point as data, its source label and, if its whole-chip value is unusable, why."""
    chip_d, chip_src, bad = copy.deepcopy(spec.chip), spec.chip_source, ""
    if "chip" in point:
        name = str(point["chip"])
        if name not in cache:
            try:
                d, path = load_chip_dict(_relative(spec.base_dir, name))
                cache[name] = (d, str(path))
            except SpecError as exc:
                cache[name] = str(exc)
        if isinstance(cache[name], str):
            bad = cache[name]
        else:
            chip_d, chip_src = copy.deepcopy(cache[name][0]), cache[name][1]
    changed = []
    for key, v in point.items():
        head, _, rest = key.partition(".")
        if head == "chip" and rest:
            _set(chip_d, rest, v)
            changed.append(f"{rest}={v}")
    return chip_d, chip_src + (f" [{', '.join(changed)}]" if changed else ""), bad


def _overrides(point: dict[str, Any], head: str) -> dict[str, Any]:
    return {k.partition(".")[2]: v for k, v in point.items() if k.partition(".")[0] == head}


def plan_sweep(spec: SweepSpec, limits: Optional[ResourceLimits] = None) -> list[PointPlan]:
    """The :class:`PointPlan` of every point of ``spec`` (cheap: nothing is built or simulated).

    Every experiment setting is checked against ``limits`` (memory and duration of its run,
    :func:`~neurosim.app.experiment.check_experiment_resources`; default: the machine's memory)
    before anything is built: a setting that would not fit is an ``invalid`` point whose reason
    gives the estimate, and no worker allocates it.
    """
    code = code_version()
    cache: dict[str, Union[tuple[dict, str], str]] = {}
    plans = []
    for i, point in enumerate(spec.points()):
        chip_d, chip_src, bad_chip = _chip_variant(spec, point, cache)
        base = dict(index=i, values=point, quantize=spec.quantize)
        raw = copy.deepcopy(spec.experiment)
        if spec.kind == "nir":
            raw.update(_overrides(point, "experiment"))
        else:
            raw["mapping"] = {**(raw.get("mapping") or {}), **spec.mapping}
            for key, v in _overrides(point, "experiment").items():
                _set(raw, key, v)
            for key, v in _overrides(point, "mapping").items():
                _set(raw, f"mapping.{key}", v)
        neurons = 0
        try:
            if spec.kind == "nir":
                setting, raw, options = _nir_point(spec, raw, _overrides(point, "mapping"))
            else:
                setting = experiment_from_dict(copy.deepcopy(raw), source=spec.experiment_source,
                                               base_dir=spec.experiment_base_dir)
                options = setting.mapping_options()
                neurons = check_experiment_resources(setting, limits).neurons
            if bad_chip:
                raise _Invalid(bad_chip)
            chip = chip_from_dict(copy.deepcopy(chip_d), source=chip_src)
        except (SpecError, NeurosimError, _Invalid) as exc:
            inputs = {"experiment": raw, "mapping": _overrides(point, "mapping"), "chip": chip_d,
                      "quantize": spec.quantize, "code": code}
            plans.append(PointPlan(key=digest(inputs), inputs=inputs, status="invalid", reason=str(exc), **base))
            continue
        if spec.kind == "nir":
            data = {"nir": file_digest(setting.path)}
            shared = {"nir": {k: v for k, v in raw.items() if k != "nir"}, "data": data, "code": code}
            described = {"nir": raw}
        else:
            data = _data_digests(setting)
            shared = {"network": setting.network, "simulation": setting.simulation, "data": data, "code": code}
            described = {"name": setting.name, "network": setting.network, "simulation": setting.simulation,
                         "mapping": setting.mapping}
        sim_key = digest(shared)
        quant_key = digest({"sim": sim_key, "chip": chip.name, "weight_bits": chip.core.weight_bits,
                            "levels": chip.core.weight_levels_per_neuron})
        inputs = {"experiment": described, "data": data, "chip": chip_d, "options": options.to_dict(),
                  "quantize": spec.quantize, "code": code}
        plans.append(PointPlan(key=digest(inputs), inputs=inputs, experiment=setting, chip=chip, options=options,
                               sim_key=sim_key, quant_key=quant_key, data=data,
                               cost=neurons / max(chip.core.max_compartments, 1), **base))
    return plans


def _nir_point(spec: SweepSpec, raw: dict[str, Any], mapping: dict[str, Any]) -> tuple[NirSetting, dict,
                                                                                    MappingOptions]:
    """The NIR setting (validated like the sweep file's own keys) and mapping options of a point."""
    ctx = Ctx(spec.source, {}, SweepError)
    v = validate_section(ctx, raw, NIR_FIELDS, "experiment")
    try:
        options = MappingOptions(**{**spec.mapping, **mapping})
    except NeurosimError as exc:
        raise ctx.error("mapping", str(exc)) from None
    setting = NirSetting(path=spec.experiment_base_dir / v["nir"], dt_s=v["dt_s"], simulate=v["simulate"],
                         input_rate=v["input_rate"], seed=v["seed"], backend=v["backend"], spikes=v["spikes"],
                         threshold=v["threshold"])
    return setting, v, options


class _Invalid(Exception):
    """A variant that failed validation before its chip could be built (the message is the reason)."""


# -- tasks (run in-process or on Dask workers; BLAS and OpenMP on one thread: one worker per core) --
def _unexpected(exc: BaseException) -> Failure:
    log.error("sweep task failed unexpectedly:\n%s", "".join(traceback.format_exception(exc)))
    return Failure("error", f"{type(exc).__name__}: {exc}".splitlines()[0])


def _first_fit(network: Network, chips: list[ChipSpec]) -> Optional[Failure]:
    """``None`` if ``network`` fits one of ``chips``, else the does-not-fit failure of the first."""
    first: Optional[CapacityError] = None
    for chip in chips:
        try:
            check_fits(network, chip)
            return None
        except CapacityError as exc:
            first = first or exc
    return Failure("does-not-fit", str(first), network=network)


def simulate_group(experiment: Union[Experiment, NirSetting],
                   chips: list[ChipSpec]) -> Union[Simulated, MappingInput, Failure]:
    """Build the network and, if it fits at least one of ``chips``, simulate and score it once.

    Returns the :class:`~neurosim.app.pipeline.Simulated` stage without probe data (what the
    points need) -- for a NIR graph the :class:`~neurosim.app.mapping.MappingInput` (with the
    measured activity when ``simulate`` is set) -- or a :class:`Failure` (its points report it).
    """
    with one_thread(None):
        try:
            if isinstance(experiment, NirSetting):
                e = experiment
                graph = load_nir_graph(e.path, dt_s=e.dt_s, spikes=e.spikes, threshold=e.threshold)
                return _first_fit(graph.network, chips) or (graph if e.simulate is None else load_nir_graph(
                    e.path, dt_s=e.dt_s, simulate_steps=e.simulate, input_rate=e.input_rate, seed=e.seed,
                    backend=e.backend, spikes=e.spikes, threshold=e.threshold))
            built = prepare_network(experiment)
            return _first_fit(built.network, chips) or simulate_stage(experiment, built).without_probes()
        except NeurosimError as exc:
            return Failure("failed", f"simulation: {exc}")
        except Exception as exc:  # a bug: recorded, logged with its traceback, retried on --resume
            return _unexpected(exc)


def quantize_group(simulated: Union[Simulated, Failure], chips: list[ChipSpec]) -> Union[QuantizedQuality, Failure]:
    """The quantised network's score on the weight precision that ``chips`` share (one more
    simulation), if the network fits at least one of them."""
    if isinstance(simulated, Failure):
        return simulated
    with one_thread(None):
        try:
            failure = _first_fit(simulated.built.network, chips)
            if failure is not None:
                return Failure(failure.status, failure.reason)
            return quantized_stage(simulated, chips[0])  # the chips share the weight precision
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


def run_point(simulated: Union[Simulated, MappingInput, Failure], quantized: Union[QuantizedQuality, Failure, None],
              chip: ChipSpec, options: MappingOptions) -> dict[str, Any]:
    """Map one point with the shared stages; ``{"status", "reason", "metrics", "wall_s"}``."""
    t0 = time.perf_counter()
    with one_thread(None):
        try:
            network = simulated.built.network if isinstance(simulated, Simulated) else simulated.network
            if network is not None:
                check_fits(network, chip)  # this chip's own reason when it does not fit
            for stage in (simulated, quantized):
                if isinstance(stage, Failure):
                    raise _Failed(stage)
            if isinstance(simulated, MappingInput):
                report = map_input(simulated, chip, options).report
            else:
                report = map_stage(simulated, chip, options, quantized=quantized).report
            out = {"status": "ok", "reason": "", "metrics": metrics_of(report),
                   "budget_bound": list(report["mapper"].get("budget_bound", []))}
        except _Failed as exc:
            out = {"status": exc.failure.status, "reason": exc.failure.reason, "metrics": {}}
        except CapacityError as exc:
            out = {"status": "does-not-fit", "reason": str(exc), "metrics": {}}
        except NeurosimError as exc:
            out = {"status": "failed", "reason": f"mapping: {exc}", "metrics": {}}
        except Exception as exc:
            f = _unexpected(exc)
            out = {"status": f.status, "reason": f.reason, "metrics": {}}
    out.setdefault("simulated", isinstance(simulated, Simulated) or (isinstance(simulated, MappingInput)
                                                                      and simulated.activity is not None))
    out.setdefault("quantized", quantized is not None and not isinstance(quantized, Failure))
    out["wall_s"] = time.perf_counter() - t0
    return out


class _Failed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.reason)
        self.failure = failure
