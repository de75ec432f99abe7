"""Experiments: a YAML description of a network to build, simulate and map.

An experiment file has four sections; every key is checked by the project's one schema mechanism
(:mod:`neurosim.validation.schema`) and an error names the file, the key path, the line, what was
expected and what was found (``experiment 'e.yaml:network.lam': out of range (line 7) (got -1,
expected a number >= 0)``); the schema is also a JSON Schema (:func:`experiment_json_schema`)::

    name: slca-patches                 # used in output names
    network:
      builder: spiking_lca             # spiking_lca | analog_lca   (registry BUILDERS)
      dictionary: {kind: default, patch: 8, atoms: 512}    # or {file: D.npy}, path relative to the YAML
      inputs: {kind: patches, patch: 8, n: 16, seed: 0}    # or {kind: random, n, k, seed} or {file: X.npy}
      lam: 1.0                         # LASSO penalty (>= 0)
      nonneg: false                    # non-negative (N neurons) or signed (2N, sign split)
    simulation:
      steps: 5000
      dt_s: 0.1                        # <= tau_s = 1 of both builders (forward Euler)
      backend: compiled                # a key of neurosim.backends.BACKENDS (default: DEFAULT_BACKEND)
      seed: 0
      transient: 500                   # spiking_lca only: steps skipped before rates are counted
    mapping:                           # fields of mapper.MappingOptions; absent keys keep its defaults
      partitioner: hypergraph
      seed: 0

Everything that can be checked without building the network is checked by
:func:`experiment_from_dict` (so a run fails before it prints or simulates anything): a
``transient`` with ``analog_lca`` (whose codes are its final state) or a ``threshold`` with
``spiking_lca`` is refused rather than ignored.

:data:`DEFAULT_EXPERIMENT` is the built-in experiment: a signed spiking LCA (1024 IF neurons,
~0.9 M synapses) coding 16 patches of scikit-learn's bundled sample images with a fixed 8x
overcomplete DCT dictionary. It needs no file and no download, and on ``loihi1`` it spans
several tiles with real inter-tile traffic.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from mapper import PLACERS, STRATEGIES, MappingOptions
from neurosim.backends import BACKENDS, DEFAULT_BACKEND
from neurosim.builders.lca import auto_scale, build_analog_lca, build_spiking_lca, decode_spiking_lca
from neurosim.data.samples import default_dictionary, image_patches
from neurosim.errors import MAX_SEED, ExperimentError, InputError, NeurosimError, ResourceError
from neurosim.guard import MACS_PER_S, ResourceLimits, check_duration, check_memory, format_bytes
from neurosim.io.arrays import read_npy
from neurosim.io.npyformat import read_header
from neurosim.ir import Network
from neurosim.result import SimResult
from neurosim.validation.schema import Ctx, Field, Variants, json_schema, load_yaml, section, validate_section

__all__ = ["Experiment", "BuiltExperiment", "DEFAULT_EXPERIMENT", "FIELDS", "BUILDERS", "TAU_S", "load_experiment",
           "experiment_from_dict", "experiment_data", "build_experiment", "experiment_json_schema",
           "ExperimentEstimate", "estimate_experiment", "check_experiment_resources", "RASTER_STEPS"]

DEFAULT_EXPERIMENT: dict[str, Any] = {
    "name": "slca-patches",
    "network": {
        "builder": "spiking_lca",
        "dictionary": {"kind": "default", "patch": 8, "atoms": 512},
        "inputs": {"kind": "patches", "patch": 8, "n": 16, "seed": 0},
        "lam": 1.0,
        "nonneg": False,
    },
    "simulation": {"steps": 5000, "dt_s": 0.1, "seed": 0, "transient": 500},
}

#: synaptic time constant of both builders (seconds); ``simulation.dt_s`` may not exceed it
TAU_S = 1.0
#: largest size accepted for patch sides, atoms and inputs (a guard against typos, not a model limit;
#: what fits the machine is checked by :func:`check_experiment_resources`)
MAX_SIZE = 1 << 20
#: steps recorded for the raster of a run's ``activity.png`` (the pipeline's raster probe)
RASTER_STEPS = 1000
#: overhead of one simulated step of the numpy engine, seconds (estimates only)
STEP_OVERHEAD_S = 5e-4


def _int(doc: str, *, minimum: int = 1, maximum: Optional[int] = MAX_SIZE, required: bool = True,
         default: Any = None, nullable: bool = False) -> Field:
    return Field("int", doc, minimum=minimum, maximum=maximum, required=required, default=default, nullable=nullable)


_FILE = {"file": Field("str", "path to a .npy file, relative to the experiment file")}
_SEED = _int("seed of the random draw", minimum=0, maximum=MAX_SEED, required=False, default=0)
_DICTIONARY = Field("variant", "the dictionary D (M x N, atoms in columns)", variants=Variants(
    options={"file": _FILE,
             "default": {"kind": Field("choice", "the built-in overcomplete DCT", choices=("default",), required=False,
                                       default="default"),
                         "patch": _int("patch side (M = patch^2)", required=False, default=8),
                         "atoms": _int("number of atoms N", required=False, default=128)}},
    default="default", present={"file": "file"}))
_INPUTS = Field("variant", "the inputs X (batch x M), one problem per row", variants=Variants(
    options={"file": _FILE,
             "patches": {"kind": Field("choice", "patches of scikit-learn's sample images", choices=("patches",),
                                       required=False, default="patches"),
                         "patch": _int("patch side", required=False, default=8),
                         "n": _int("number of patches", required=False, default=16), "seed": _SEED},
             "random": {"kind": Field("choice", "planted k-sparse codes times D", choices=("random",)),
                        "n": _int("number of inputs", required=False, default=16),
                        "k": _int("non-zeros per planted code", required=False, default=5), "seed": _SEED}},
    default="patches", present={"file": "file"}))

#: the experiment file, as a schema tree
FIELDS: dict[str, Field] = {
    "name": Field("str", "experiment name, used in outputs (default: the file name)", required=False),
    "network": section("what to build", {
        "builder": Field("choice", "network builder (registry BUILDERS)", choices=("spiking_lca", "analog_lca"),
                         required=False, default="spiking_lca"),
        "dictionary": _DICTIONARY,
        "inputs": _INPUTS,
        "lam": Field("float", "LASSO penalty", required=False, default=0.1),
        "nonneg": Field("bool", "non-negative LASSO (N neurons) instead of signed (2N, sign split)", required=False,
                        default=False),
        "threshold": Field("choice", "analog_lca only: soft, nonneg or hard (default: soft, or nonneg with "
                           "nonneg: true)", choices=("soft", "nonneg", "hard"), required=False, nullable=True),
    }),
    "simulation": section("how to simulate", {
        "steps": _int("time steps", required=False, default=2000, maximum=10**9),
        "dt_s": Field("float", f"time step; forward Euler is unstable beyond the builders' tau_s = {TAU_S:g}",
                      unit="s", minimum=0, exclusive_minimum=True, maximum=TAU_S, required=False, default=0.1),
        "backend": Field("choice", "simulation backend", choices=tuple(sorted(BACKENDS)), required=False,
                         default=DEFAULT_BACKEND),
        "seed": _SEED,
        "transient": _int("spiking_lca only: steps skipped before rates are counted (default steps / 10)",
                          minimum=0, maximum=10**9, required=False, nullable=True),
    }, required=False),
    "mapping": section("how to map (fields of mapper.MappingOptions; absent keys keep its defaults)", {
        "partitioner": Field("choice", "partitioning strategy", choices=tuple(sorted(STRATEGIES)), required=False),
        "placer": Field("choice", "placement strategy", choices=tuple(sorted(PLACERS)), required=False),
        "seed": _int("mapping seed", minimum=0, maximum=MAX_SEED, required=False),
        "time_budget_s": Field("float", "wall-clock cap of the placement search (0: none; the search is a fixed "
                               "amount of work, reproducible unless the cap binds)", unit="s", required=False),
        "repair_budget_s": Field("float", "wall-clock cap of a graph partitioner's repair before sequential fill "
                                 "takes over", unit="s", required=False),
        "steiner_budget_s": Field("float", "wall-clock cap of the steiner partitioner before hypergraph takes over",
                                  unit="s", required=False),
        "assumed_rate": Field("float", "events per neuron per step assumed without activity", maximum=1.0,
                              required=False),
    }, required=False),
}


@dataclass(frozen=True)
class Experiment:
    """A validated experiment. ``base_dir`` resolves relative file paths."""

    name: str
    network: dict[str, Any]
    simulation: dict[str, Any]
    mapping: dict[str, Any]
    source: str = "<built-in>"
    base_dir: Path = Path(".")

    def input_files(self) -> list[tuple[str, Path]]:
        """The files the experiment reads, as ``(key, path)``: its own file (when it came from
        one) and the ``.npy`` files of ``network.dictionary.file`` / ``network.inputs.file``."""
        out = [("EXPERIMENT", Path(self.source))] if Path(self.source).is_file() else []
        for key in ("dictionary", "inputs"):
            spec = self.network.get(key)
            if isinstance(spec, dict) and spec.get("file") is not None:
                out.append((f"network.{key}.file", self.base_dir / str(spec["file"])))
        return out

    def mapping_options(self, **overrides: Any) -> MappingOptions:
        """The :class:`~mapper.MappingOptions` of the ``mapping`` section, with ``overrides``
        (non-``None`` values win); every absent key keeps the one default of ``MappingOptions``."""
        given = {k: v for k, v in self.mapping.items() if v is not None}
        given.update({k: v for k, v in overrides.items() if v is not None})
        return MappingOptions(**given)

    @property
    def transient(self) -> int:
        """Steps skipped before a spiking LCA's rates are counted."""
        t = self.simulation.get("transient")
        return int(self.simulation["steps"]) // 10 if t is None else int(t)


def experiment_from_dict(data: Any, *, source: str = "<dict>", base_dir: Path = Path("."),
                         ctx: Optional[Ctx] = None) -> Experiment:
    """Validate ``data`` (as loaded from YAML) and fill defaults.

    Raises
    ------
    ExperimentError
        Naming the file, the key path (and line, when read from a file), the value and what is
        allowed.
    """
    ctx = ctx or Ctx(source, {}, ExperimentError)
    top = validate_section(ctx, data, FIELDS, "")
    name = top["name"] or (Path(source).stem if source.endswith((".yaml", ".yml")) else "experiment")
    net, sim = top["network"], top["simulation"]
    if net["builder"] == "spiking_lca" and net["threshold"] is not None:
        raise ctx.error("network.threshold", "only used by builder analog_lca; spiking_lca codes the (non-negative) "
                        "LASSO by construction, so a threshold would be ignored", got=repr(net["threshold"]),
                        expected="no network.threshold with builder spiking_lca")
    if sim["transient"] is not None:
        if net["builder"] != "spiking_lca":
            raise ctx.error("simulation.transient", f"only used by builder spiking_lca; {net['builder']}'s codes are "
                            "its final state, so a transient would be ignored", got=sim["transient"],
                            expected=f"no simulation.transient with builder {net['builder']}")
        if sim["transient"] >= sim["steps"]:
            raise ctx.error("simulation.transient", "leaves no steps to count", got=sim["transient"],
                            expected=f"< steps = {sim['steps']}")
    try:
        MappingOptions(**{k: v for k, v in top["mapping"].items() if v is not None})
    except NeurosimError as exc:
        raise ctx.error("mapping", str(exc)) from None
    return Experiment(name=name, network=net, simulation=sim, mapping=top["mapping"], source=source,
                      base_dir=base_dir)


def load_experiment(path: Optional[Union[str, Path]] = None) -> Experiment:
    """Load an experiment YAML file (``yaml.safe_load``), or the built-in default when ``path`` is None."""
    if path is None:
        return experiment_from_dict(copy.deepcopy(DEFAULT_EXPERIMENT), source="<built-in>")
    data, ctx = load_yaml(path, error=ExperimentError)
    p = Path(path)
    return experiment_from_dict(data, source=str(p), base_dir=p.parent, ctx=ctx)


def experiment_json_schema() -> dict[str, Any]:
    """The experiment schema as a JSON Schema document (draft 2020-12), for editors."""
    return json_schema(FIELDS, title="neurosim experiment", description="A network to build, simulate and map "
                       "(neurosim run EXPERIMENT.yaml --chip CHIP --out DIR).")


# -- data ---------------------------------------------------------------------------------------
def _load_array(exp: Experiment, key: str, spec: dict) -> np.ndarray:
    path = exp.base_dir / str(spec["file"])
    try:
        return read_npy(path, key)
    except ResourceError:
        raise
    except InputError as exc:
        raise ExperimentError(exp.source, f"network.{key}.file", str(exc)) from None


def experiment_data(exp: Experiment) -> tuple[np.ndarray, np.ndarray]:
    """The dictionary ``D`` (M, N) and inputs ``X`` (batch, M) an experiment describes."""
    dspec, xspec = exp.network["dictionary"], exp.network["inputs"]
    if "file" in dspec:
        D = _load_array(exp, "dictionary", dspec)
    else:
        try:
            D = default_dictionary(dspec["patch"], dspec["atoms"])
        except NeurosimError as exc:
            raise ExperimentError(exp.source, "network.dictionary", str(exc), got=dspec) from None
    if D.ndim != 2:
        raise ExperimentError(exp.source, "network.dictionary", "must be 2-D (M, N)", got=D.shape,
                              expected="a 2-D array (M, N)")
    if "file" in xspec:
        X = _load_array(exp, "inputs", xspec)
    elif xspec["kind"] == "patches":
        X = image_patches(xspec["patch"], xspec["n"], seed=xspec["seed"])
    else:
        rng = np.random.default_rng(xspec["seed"])
        Z = np.zeros((xspec["n"], D.shape[1]))
        for row in Z:
            idx = rng.choice(D.shape[1], min(xspec["k"], D.shape[1]), replace=False)
            row[idx] = rng.uniform(0.5, 1.5, idx.size)
        X = Z @ D.T
    X = np.atleast_2d(X)
    if X.ndim != 2 or X.shape[1] != D.shape[0]:
        raise ExperimentError(exp.source, "network.inputs", "shape does not match the dictionary", got=X.shape,
                              expected=f"(batch, {D.shape[0]})")
    return np.asarray(D, dtype=float), np.asarray(X, dtype=float)


# -- resources ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExperimentEstimate:
    """What a run of an experiment needs, estimated from its sizes before anything is built.

    Attributes
    ----------
    dimension, atoms, inputs, neurons, steps : int
        ``M``, ``N``, the batch, the neurons of the network (``N``, or ``2N`` signed spiking) and
        the steps of one simulation.
    memory_bytes : float
        Peak memory of a run (an upper estimate): the network's weights and their copies (the
        quantised network, the mapper's graph, FISTA's Gram matrix), the dictionary, the inputs
        and the engine's state per input, the raster probe.
    seconds : float
        Duration of the two simulations of a run (float and quantised), at
        :data:`neurosim.guard.MACS_PER_S` for ``inputs x neurons^2`` multiply-adds per step plus
        a fixed overhead per step: a rough figure, usually above the real one.
    parts : dict
        Bytes of each part of ``memory_bytes``, for messages.
    """

    dimension: int
    atoms: int
    inputs: int
    neurons: int
    steps: int
    memory_bytes: float
    seconds: float
    parts: dict[str, float]


def _file_shape(exp: Experiment, key: str, spec: dict) -> tuple[int, ...]:
    """The shape of a ``.npy`` data file, from its header (nothing is loaded)."""
    path = exp.base_dir / str(spec["file"])
    try:
        with open(path, "rb") as fh:
            return read_header(fh, f"{key} file '{path}'").shape
    except InputError as exc:
        raise ExperimentError(exp.source, f"network.{key}.file", str(exc)) from None
    except OSError as exc:
        raise ExperimentError(exp.source, f"network.{key}.file", "cannot be read", got=str(path),
                              expected=f"a readable .npy file ({exc.strerror or type(exc).__name__})") from None


def estimate_experiment(exp: Experiment) -> ExperimentEstimate:
    """Estimate the memory and duration of a run of ``exp`` from its sizes (see :class:`ExperimentEstimate`).

    Raises
    ------
    ExperimentError
        A data file's header cannot be read.
    """
    dspec, xspec = exp.network["dictionary"], exp.network["inputs"]
    if "file" in dspec:
        shape = _file_shape(exp, "dictionary", dspec)
        M, N = (int(shape[0]), int(shape[1])) if len(shape) == 2 else (int(np.prod(shape)), 1)
    else:
        M, N = dspec["patch"] ** 2, dspec["atoms"]
    if "file" in xspec:
        shape = _file_shape(exp, "inputs", xspec)
        B = int(shape[0]) if len(shape) == 2 else 1
    else:
        B = xspec["n"]
    spiking = exp.network["builder"] == "spiking_lca"
    n = 2 * N if spiking and not exp.network["nonneg"] else N
    steps = int(exp.simulation["steps"])
    f = 8.0  # bytes per float64
    parts = {
        # the builder's Gram and weights with their temporaries, the quantised copy, the mapper's graph, FISTA's Gram
        "weights": 16 * f * n * n,
        "dictionary": 3 * f * M * (N + n),
        "inputs": f * B * (M + 12 * n + 4 * N),  # X, the drive, the engine's state, FISTA's iterates
        "raster": (2 if spiking else 2 * f) * min(steps, RASTER_STEPS) * B * n,  # spikes (bool) or outputs, stacked
    }
    seconds = 2 * steps * (STEP_OVERHEAD_S + B * float(n) * n / MACS_PER_S)
    return ExperimentEstimate(dimension=M, atoms=N, inputs=B, neurons=n, steps=steps,
                              memory_bytes=float(sum(parts.values())), seconds=seconds, parts=parts)


def check_experiment_resources(exp: Experiment, limits: Optional[ResourceLimits] = None) -> ExperimentEstimate:
    """Refuse a run of ``exp`` that would need more memory or time than ``limits`` allow.

    Returns
    -------
    ExperimentEstimate

    Raises
    ------
    ResourceError
        Naming the experiment's key that sets the largest part (``network.dictionary``,
        ``network.inputs.n``, ``simulation.steps``) and the estimate.
    """
    est = estimate_experiment(exp)
    dspec, xspec = exp.network["dictionary"], exp.network["inputs"]
    big = max(est.parts, key=lambda k: est.parts[k])
    if big in ("weights", "dictionary"):
        key = "network.dictionary" + (".file" if "file" in dspec else "")
    else:
        key = "network.inputs" + (".file" if "file" in xspec else ".n")
    detail = (f"{est.dimension} x {est.atoms} atoms, {est.inputs} inputs, {est.neurons} neurons: "
              + ", ".join(f"{k} {format_bytes(v)}" for k, v in est.parts.items()))
    check_memory(f"{exp.source}:{key}", est.memory_bytes, limits, detail=detail)
    check_duration(f"{exp.source}:simulation.steps", est.seconds, limits,
                   detail=f"2 simulations of {est.steps} steps, {est.inputs} inputs x {est.neurons} neurons")
    return est


# -- builders -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BuiltExperiment:
    """An experiment's network and its problem: ``decode(result)`` gives codes ``(batch, N)``
    of the LASSO ``min_a 1/2 ||x - D a||^2 + lam ||a||_1`` (``a >= 0`` when ``nonneg``)."""

    network: Network
    decode: Callable[[SimResult], np.ndarray]
    D: np.ndarray
    X: np.ndarray
    lam: float
    nonneg: bool


def _build_spiking(exp: Experiment, D: np.ndarray, X: np.ndarray) -> tuple[Network, Callable[[SimResult], np.ndarray]]:
    net_cfg, transient = exp.network, exp.transient
    scale = auto_scale(D, X, dt_s=exp.simulation["dt_s"])
    network = build_spiking_lca(D, X, net_cfg["lam"], nonneg=net_cfg["nonneg"], name="slca", start=transient,
                                scale=scale, tau_s=TAU_S)

    def decode(res: SimResult) -> np.ndarray:
        return decode_spiking_lca(res, n_atoms=D.shape[1], nonneg=net_cfg["nonneg"], name="slca", start=transient,
                                  scale=scale)

    return network, decode


def _build_analog(exp: Experiment, D: np.ndarray, X: np.ndarray) -> tuple[Network, Callable[[SimResult], np.ndarray]]:
    net_cfg = exp.network
    threshold = net_cfg["threshold"] or ("nonneg" if net_cfg["nonneg"] else "soft")
    network = build_analog_lca(D, X, net_cfg["lam"], threshold=threshold, name="lca", tau_s=TAU_S)

    def decode(res: SimResult) -> np.ndarray:
        return res.final_state["lca"]["a"]

    return network, decode


#: builder name -> function(experiment, D, X) -> (network, decode(result) -> codes)
BUILDERS: dict[str, Callable[..., tuple[Network, Callable[[SimResult], np.ndarray]]]] = {
    "spiking_lca": _build_spiking,
    "analog_lca": _build_analog,
}


def build_experiment(exp: Experiment) -> BuiltExperiment:
    """Build the network of ``exp`` (and check the run's step against its time constants)."""
    D, X = experiment_data(exp)
    try:
        network, decode = BUILDERS[exp.network["builder"]](exp, D, X)
    except ExperimentError:
        raise
    except NeurosimError as exc:
        raise ExperimentError(exp.source, "network", str(exc)) from None
    for pop in network.populations:  # the run's step against the built time constants, before any run
        try:
            pop.model.check_dt(pop.name, pop.size, float(exp.simulation["dt_s"]))
        except NeurosimError as exc:
            raise ExperimentError(exp.source, "simulation.dt_s", f"unstable for the network ({exc})",
                                  got=exp.simulation["dt_s"]) from None
    return BuiltExperiment(network=network, decode=decode, D=D, X=X, lam=float(exp.network["lam"]),
                           nonneg=bool(exp.network["nonneg"]))
