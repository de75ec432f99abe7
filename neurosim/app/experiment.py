"""Experiments: a YAML description of a network to build and simulate (and, in the CLI, to map).

An experiment file has three sections; every key is checked and an error names the file, the
key path, what was expected and what was found::

    name: slca-patches                 # used in output names
    network:
      builder: spiking_lca             # spiking_lca | analog_lca   (registry BUILDERS)
      dictionary: {kind: default, patch: 8, atoms: 256}    # or {file: D.npy}, path relative to the YAML
      inputs: {kind: patches, patch: 8, n: 16, seed: 0}    # or {kind: random, ...} or {file: X.npy}
      lam: 1.0                         # LASSO penalty (>= 0)
      nonneg: false                    # non-negative (N neurons) or signed (2N, sign split)
    simulation:
      steps: 5000
      dt_s: 0.1                        # <= tau_s = 1 of both builders (forward Euler)
      backend: numpy                   # numpy | brian2   (registry neurosim.backends.BACKENDS)
      seed: 0
      transient: 500                   # spiking_lca only: steps skipped before rates are counted
    mapping:                           # read by `neurosim run` (the mapper), ignored here
      partitioner: metis
      placer: anneal
      seed: 0

Everything that can be checked without building the network is checked by
:func:`experiment_from_dict` (so ``neurosim run`` fails before it prints or simulates anything): a
``transient`` with ``analog_lca`` (whose codes are its final state) is refused rather than ignored.

:data:`DEFAULT_EXPERIMENT` is the built-in experiment (spiking LCA on patches of scikit-learn's
bundled sample images with a fixed overcomplete DCT dictionary): it needs no file and no download.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import yaml

from neurosim.backends import BACKENDS, DEFAULT_BACKEND
from neurosim.builders.lca import auto_scale, build_analog_lca, build_spiking_lca, decode_spiking_lca
from neurosim.data.samples import default_dictionary, image_patches
from neurosim.errors import MAX_SEED, InputError, NeurosimError
from neurosim.io.atomic import read_error
from neurosim.ir import Network
from neurosim.result import SimResult
from neurosim.solvers.lasso import fista, lasso_objective

__all__ = ['Experiment', 'DEFAULT_EXPERIMENT', 'load_experiment', 'experiment_from_dict', 'BUILDERS', 'ExperimentRun', 'run_experiment']



DEFAULT_EXPERIMENT: dict[str, Any] = {
    "name": "slca-patches",
    "network": {
        "builder": "spiking_lca",
        "dictionary": {"kind": "default", "patch": 8, "atoms": 256},
        "inputs": {"kind": "patches", "patch": 8, "n": 16, "seed": 0},
        "lam": 1.0,
        "nonneg": False,
    },
    "simulation": {"steps": 5000, "dt_s": 0.1, "backend": DEFAULT_BACKEND, "seed": 0, "transient": 500},
    "mapping": {"partitioner": "metis", "placer": "anneal", "seed": 0},
}


#: synaptic time constant of both builders (seconds); ``simulation.dt_s`` may not exceed it
TAU_S = 1.0


# section -> key -> (type check, description, default)
_SCHEMA: dict[str, dict[str, tuple[Callable[[Any], bool], str, Any]]] = {
    "network": {
        "builder": (lambda v: isinstance(v, str), "a builder name", "spiking_lca"),
        "dictionary": (lambda v: isinstance(v, dict), "a mapping {kind: default, ...} or {file: ...}", None),
        "inputs": (lambda v: isinstance(v, dict), "a mapping {kind: patches|random, ...} or {file: ...}", None),
        "lam": (lambda v: _num(v) and v >= 0, "a number >= 0", 0.1),
        "nonneg": (lambda v: isinstance(v, bool), "true or false", False),
        "threshold": (lambda v: v in ("soft", "nonneg", "hard"), "soft, nonneg or hard", None),
    },
    "simulation": {
        "steps": (lambda v: _int(v) and v >= 1, "an integer >= 1", 2000),
        "dt_s": (lambda v: _num(v) and 0 < v <= TAU_S, f"a number in (0, {TAU_S:g}]: the builders' tau_s is "
                                                         f"{TAU_S:g} s and forward Euler is unstable beyond", 0.1),
        "backend": (lambda v: isinstance(v, str) and v in BACKENDS, " or ".join(sorted(BACKENDS)), DEFAULT_BACKEND),
        "seed": (lambda v: _int(v) and 0 <= v <= MAX_SEED, f"an integer in 0 .. {MAX_SEED}", 0),
        "transient": (lambda v: _int(v) and v >= 0, "an integer >= 0", None),
    },
    "mapping": {
        "partitioner": (lambda v: isinstance(v, str), "a partitioner name", "metis"),
        "placer": (lambda v: isinstance(v, str), "a placer name", "anneal"),
        "seed": (lambda v: _int(v) and 0 <= v <= MAX_SEED, f"an integer in 0 .. {MAX_SEED}", 0),
        "time_budget_s": (lambda v: _num(v) and v > 0, "a number > 0", None),
    },
}


_TOP = {"name", "network", "simulation", "mapping"}


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


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


_UNSET = object()


def _err(source: str, key: str, what: str, got: Any = _UNSET, expected: Any = None) -> InputError:
    """``experiment '<file>': key '<key>': <what> (got <got>, expected <expected>)``; a part that
    is not given is left out (``got=None`` shows as ``None``: the YAML value was null)."""
    msg = f"experiment '{source}': key '{key}': {what}"
    parts = ([] if got is _UNSET else [f"got {got!r}"]) + ([] if expected is None else [f"expected {expected}"])
    if parts:
        msg += " (" + ", ".join(parts) + ")"
    return InputError(msg)


def experiment_from_dict(data: Any, *, source: str = "<dict>", base_dir: Path = Path(".")) -> Experiment:
    """Validate ``data`` (as loaded from YAML) and fill defaults."""
    if not isinstance(data, dict):
        raise _err(source, "<top>", "must be a mapping", got=type(data).__name__, expected="name/network/simulation/mapping")
    for key in data:
        if key not in _TOP:
            close = difflib.get_close_matches(str(key), sorted(_TOP), n=1)
            raise _err(source, str(key), "unknown key", expected=f"one of {sorted(_TOP)}" + (f"; did you mean '{close[0]}'?" if close else ""))
    name = data.get("name", Path(source).stem if source.endswith((".yaml", ".yml")) else "experiment")
    if not isinstance(name, str) or not name:
        raise _err(source, "name", "must be a non-empty string", got=name)
    sections = {}
    for section, schema in _SCHEMA.items():
        raw = data.get(section, {}) or {}
        if not isinstance(raw, dict):
            raise _err(source, section, "must be a mapping", got=type(raw).__name__)
        out = {}
        for key, value in raw.items():
            if key not in schema:
                close = difflib.get_close_matches(str(key), sorted(schema), n=1)
                raise _err(source, f"{section}.{key}", "unknown key",
                           expected=f"one of {sorted(schema)}" + (f"; did you mean '{close[0]}'?" if close else ""))
            check, desc, _ = schema[key]
            if not check(value):
                raise _err(source, f"{section}.{key}", "invalid value", got=value, expected=desc)
            out[key] = value
        for key, (_, _, default) in schema.items():
            out.setdefault(key, default)
        sections[section] = out
    net, sim = sections["network"], sections["simulation"]
    if net["builder"] not in BUILDERS:
        raise _err(source, "network.builder", "unknown builder", got=net["builder"], expected=sorted(BUILDERS))
    for key in ("dictionary", "inputs"):
        if net[key] is None:
            raise _err(source, f"network.{key}", "is required", expected=_SCHEMA["network"][key][1])
        _check_data_spec(source, key, net[key])
    if sim["transient"] is not None:
        if net["builder"] != "spiking_lca":
            raise _err(source, "simulation.transient", f"only used by builder spiking_lca; {net['builder']}'s codes are its "
                       "final state, so a transient would be ignored", got=sim["transient"],
                       expected=f"no simulation.transient with builder {net['builder']}")
        if sim["transient"] >= sim["steps"]:
            raise _err(source, "simulation.transient", "leaves no steps to count", got=sim["transient"],
                       expected=f"< steps = {sim['steps']}")
    return Experiment(name=name, network=net, simulation=sections["simulation"], mapping=sections["mapping"],
                      source=source, base_dir=base_dir)


def load_experiment(path: Optional[str] = None) -> Experiment:
    """Load an experiment YAML file (``yaml.safe_load``), or the built-in default when ``path`` is None."""
    if path is None:
        return experiment_from_dict(copy.deepcopy(DEFAULT_EXPERIMENT), source="<built-in>")
    p = Path(path)
    if not p.is_file():
        raise InputError(f"experiment '{p}': file not found (expected a YAML experiment file)")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"experiment '{p}': not valid YAML{where} ({getattr(exc, 'problem', exc)})") from exc
    return experiment_from_dict(data, source=str(p), base_dir=p.parent)


# -- data ---------------------------------------------------------------------------------------
def _load_array(exp: Experiment, key: str, spec: dict) -> np.ndarray:
    """The ``.npy`` array ``spec["file"]`` names (relative to the experiment file), or a one-line
    error naming the experiment, the key and what was found."""
    path = exp.base_dir / str(spec["file"])
    where = f"network.{key}.file"
    if not path.exists():
        raise _err(exp.source, where, "file not found", got=str(path), expected="an existing .npy file, relative to "
                   "the experiment file")
    if path.is_dir():
        raise _err(exp.source, where, "is a directory", got=str(path), expected="a .npy file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise _err(exp.source, where, "cannot be opened", got=f"{path}: {exc.strerror}", expected="a readable .npy file") from None
    if magic != b"\x93NUMPY":
        raise _err(exp.source, where, "is not a .npy file (no numpy header)", got=str(path),
                   expected="a single array written by numpy.save")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _err(exp.source, where, "cannot be read as a numeric array", got=f"{path}: {read_error(exc, 80)}",
                   expected="a numeric array written by numpy.save") from None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise _err(exp.source, where, "is not real numeric", got=f"{path}: dtype {arr.dtype}",
                   expected="integer or floating-point values")
    return arr


def _pos(v: Any) -> bool:
    return _int(v) and v >= 1


def _seed(v: Any) -> bool:
    return _int(v) and v >= 0


_FILE = {"file": (lambda v: isinstance(v, str) and bool(v), "a path to a .npy file, relative to the experiment file")}


#: (section key, variant) -> spec key -> (check, description)
_DATA_SPECS: dict[tuple[str, str], dict[str, tuple[Callable[[Any], bool], str]]] = {
    ("dictionary", "file"): _FILE,
    ("dictionary", "default"): {"kind": (lambda v: v == "default", "'default' (or give only file: D.npy)"),
                                "patch": (_pos, "an integer >= 1"), "atoms": (_pos, "an integer >= 1")},
    ("inputs", "file"): _FILE,
    ("inputs", "patches"): {"kind": (lambda v: v == "patches", "patches"), "patch": (_pos, "an integer >= 1"),
                            "n": (_pos, "an integer >= 1"), "seed": (_seed, "an integer >= 0")},
    ("inputs", "random"): {"kind": (lambda v: v == "random", "random"), "n": (_pos, "an integer >= 1"),
                           "k": (_pos, "an integer >= 1"), "seed": (_seed, "an integer >= 0")},
}


def _check_data_spec(source: str, key: str, spec: dict) -> str:
    """Validate ``network.<key>`` (dictionary or inputs) and return its variant (``file``,
    ``default``, ``patches``, ``random``); every error names the key, the value and what is allowed."""
    if "file" in spec:
        variant = "file"
    elif key == "dictionary":
        variant = "default"
    else:
        variant = spec.get("kind", "patches")
        if not isinstance(variant, str) or (key, variant) not in _DATA_SPECS:
            raise _err(source, f"network.{key}.kind", "unknown input kind", got=variant,
                       expected="patches or random (or give only file: X.npy)")
    allowed = _DATA_SPECS[(key, variant)]
    for k, v in spec.items():
        if k not in allowed:
            close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
            raise _err(source, f"network.{key}.{k}", "unknown key", expected=f"one of {sorted(allowed)}"
                       + (f"; did you mean '{close[0]}'?" if close else ""))
        check, desc = allowed[k]
        if not check(v):
            raise _err(source, f"network.{key}.{k}", "invalid value", got=v, expected=desc)
    return variant


def experiment_data(exp: Experiment) -> tuple[np.ndarray, np.ndarray]:
    """The dictionary ``D`` (M, N) and inputs ``X`` (batch, M) an experiment describes."""
    net = exp.network
    dspec, xspec = net["dictionary"], net["inputs"]
    if _check_data_spec(exp.source, "dictionary", dspec) == "file":
        D = _load_array(exp, "dictionary", dspec)
    else:
        D = default_dictionary(dspec.get("patch", 8), dspec.get("atoms", 128))
    kind = _check_data_spec(exp.source, "inputs", xspec)
    if kind == "file":
        X = _load_array(exp, "inputs", xspec)
    else:
        if kind == "patches":
            X = image_patches(xspec.get("patch", 8), xspec.get("n", 16), seed=xspec.get("seed", 0))
        else:
            rng = np.random.default_rng(xspec.get("seed", 0))
            Z = np.zeros((xspec.get("n", 16), D.shape[1]))
            for row in Z:
                idx = rng.choice(D.shape[1], min(xspec.get("k", 5), D.shape[1]), replace=False)
                row[idx] = rng.uniform(0.5, 1.5, idx.size)
            X = Z @ D.T
    if D.ndim != 2:
        raise _err(exp.source, "network.dictionary", "must be 2-D (M, N)", got=D.shape, expected="a 2-D array (M, N)")
    X = np.atleast_2d(X)
    if X.ndim != 2 or X.shape[1] != D.shape[0]:
        raise _err(exp.source, "network.inputs", "shape does not match the dictionary", got=X.shape,
                   expected=f"(batch, {D.shape[0]})")
    return np.asarray(D, dtype=float), np.asarray(X, dtype=float)


# -- builders -----------------------------------------------------------------------------------
def _build_spiking(exp: Experiment, D: np.ndarray, X: np.ndarray) -> tuple[Network, Callable[[SimResult], np.ndarray]]:
    net_cfg, sim = exp.network, exp.simulation
    transient = sim["transient"] if sim["transient"] is not None else sim["steps"] // 10
    scale = auto_scale(D, X, dt_s=sim["dt_s"])
    network = build_spiking_lca(D, X, net_cfg["lam"], nonneg=net_cfg["nonneg"], name="slca", start=transient, scale=scale,
                                tau_s=TAU_S)

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


@dataclass(frozen=True)
class ExperimentRun:
    """What :func:`run_experiment` produced: the network, the run, the codes and their quality."""

    experiment: Experiment
    network: Network
    result: SimResult
    codes: np.ndarray
    objective: float
    optimum: float

    @property
    def relative_gap(self) -> float:
        return (self.objective - self.optimum) / max(abs(self.optimum), 1e-300)


def build_experiment(exp: Experiment) -> tuple[Network, Callable[[SimResult], np.ndarray], np.ndarray, np.ndarray]:
    """Build the network of ``exp``; returns (network, decode, D, X)."""
    D, X = experiment_data(exp)
    try:
        network, decode = BUILDERS[exp.network["builder"]](exp, D, X)
    except NeurosimError as exc:
        if isinstance(exc, InputError):
            raise
        raise _err(exp.source, "network", str(exc)) from exc
    for pop in network.populations:  # the run's step against the built time constants, before any run
        try:
            pop.model.check_dt(pop.name, pop.size, float(exp.simulation["dt_s"]))
        except NeurosimError as exc:
            raise _err(exp.source, "simulation.dt_s", f"unstable for the network ({exc})",
                       got=exp.simulation["dt_s"]) from None
    return network, decode, D, X


def run_experiment(exp: Experiment, *, progress: bool = False) -> ExperimentRun:
    """Build and simulate ``exp``; measure the codes' LASSO objective against FISTA's optimum."""
    from neurosim.backends import simulate

    network, decode, D, X = build_experiment(exp)
    sim = exp.simulation
    res = simulate(network, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"],
                   progress=progress)
    codes = decode(res)
    nonneg = bool(exp.network["nonneg"])
    lam = exp.network["lam"]
    obj = float(np.mean(lasso_objective(D, X, codes, lam, nonneg=nonneg)))
    ref = fista(D, X, lam, nonneg=nonneg)
    opt = float(np.mean(lasso_objective(D, X, ref, lam, nonneg=nonneg)))
    return ExperimentRun(experiment=exp, network=network, result=res, codes=codes, objective=obj, optimum=opt)

