"""Sweep files: a base experiment, a base chip and the axes of a design-space exploration.

A sweep file is checked by the project's one schema mechanism (:mod:`neurosim.validation.schema`):
errors name the file, the key path, the line, what was expected and what was found, and unknown
keys (including axis keys) get a "did you mean"; :func:`sweep_json_schema` is its JSON Schema
(``examples/sweep.schema.json``)::

    name: loihi1-design-space
    experiment: {file: slca_small.yaml}    # a YAML experiment, relative to this file; or inline:
                                           # experiment: {network: {...}, simulation: {...}}
                                           # or a NIR graph: {nir: net.nir, dt_s: 1e-3, simulate: 500,
                                           #                  input_rate: 0.1, seed: 0}
    chip: loihi1                           # base chip: a name or a YAML path relative to this file
    mapping: {time_budget_s: 0}            # overrides of the experiment's mapping section
    quantize: true                         # score the quantised network too (once per weight precision)
    axes:
      noc.cores_per_tile: [1, 2, 4]                          # any chip key by its dotted path (chip. optional)
      core.max_compartments: {from: 128, to: 1024, num: 4, scale: log}      # a range
      core.weight_bits: {from: 3, to: 9, step: 2}
      experiment.network.lam: [0.5, 1.0]                    # experiment keys
      mapping.partitioner: [metis, sequential]               # mapping options
      "core.max_compartments, core.synapse_index_bits": [[256, 8], [1024, 10]]   # linked keys
      chip: [loihi1, loihi2]                                 # whole chips (names or paths)
    sample: {method: lhs, n: 20, seed: 0}  # grid (default: every combination) | random | lhs

An axis key is ``chip`` (whole chips), ``chip.<key>`` or a bare chip key (``core.weight_bits``:
the top-level chip sections ``core``, ``noc``, ``board``, ``energy``, ``timing``),
``experiment.<key>`` (``experiment.network.lam``, ``experiment.network.dictionary.atoms``,
``experiment.simulation.steps``, ``experiment.simulation.dt_s`` ...; with a NIR graph:
``experiment.dt_s``, ``experiment.simulate``, ``experiment.input_rate``, ``experiment.seed``) or
``mapping.<option>`` (the experiment's ``mapping`` fields). Values are a list, or a range ``{from, to, step}``
(``to`` included when hit), ``{from, to, num, scale: linear | log}``, or ``{from, to}`` (drawn
from the continuous interval; ``random`` and ``lhs`` only). Whole-number keys get whole numbers
(rounded, duplicates dropped). Each value is checked where it is used, per point: a chip variant
exactly like a chip file, an experiment variant like an experiment file; an invalid value makes
that point a recorded result, not an error of the sweep.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np

from mapper import MappingOptions, chipschema, load_chip
from mapper.chipload import load_chip_dict
from neurosim.app.experiment import FIELDS as EXPERIMENT_FIELDS
from neurosim.app.experiment import experiment_from_dict
from neurosim.app.mapping import INPUT_RATE, load_nir_graph
from neurosim.backends import BACKENDS, DEFAULT_BACKEND
from neurosim.errors import MAX_SEED, ChipSpecError, ExperimentError, MappingError, NeurosimError, SpecError
from neurosim.validation.schema import Ctx, Field, Variants, did_you_mean, json_schema, load_yaml, schema_markdown
from neurosim.validation.schema import section
from neurosim.validation.schema import validate as validate_value
from neurosim.validation.schema import validate_section

__all__ = ["SweepError", "SweepSpec", "Axis", "FIELDS", "NIR_FIELDS", "MAX_POINTS", "load_sweep", "sweep_from_dict",
           "sweep_json_schema", "sweep_schema_markdown", "CHIP_SECTIONS"]

#: most points a sweep may have (a guard against a typo in a range, not a limit of the method)
MAX_POINTS = 100_000
#: top-level chip sections an axis may name without the ``chip.`` prefix
CHIP_SECTIONS = ("core", "noc", "board", "energy", "timing")
SAMPLE_METHODS = ("grid", "random", "lhs")


class SweepError(SpecError):
    """A sweep file is invalid (see :class:`~neurosim.errors.SpecError`)."""

    kind = "sweep"


_RANGE_KEYS = ("from", "to", "step", "num", "scale")

#: a NIR graph as the base (``neurosim map --nir FILE --dt S [--simulate STEPS --input-rate R]``)
NIR_FIELDS: dict[str, Field] = {
    "nir": Field("str", "NIR graph file (.nir), relative to the sweep file"),
    "dt_s": Field("float", "time step the graph is read at", unit="s", minimum=0, exclusive_minimum=True),
    "simulate": Field("int", "steps to simulate with Poisson input to measure the activity (absent: rates "
                      "assumed, mapping.assumed_rate)", minimum=1, maximum=10**9, required=False, nullable=True),
    "input_rate": Field("float", "Poisson input events per step per input neuron", maximum=1.0, required=False,
                        default=INPUT_RATE),
    "seed": Field("int", "seed of the Poisson input", minimum=0, maximum=MAX_SEED, required=False, default=0),
    "backend": Field("choice", "simulation backend", choices=tuple(sorted(BACKENDS)), required=False,
                     default=DEFAULT_BACKEND),
}

#: the sweep file, as a schema tree (``axes`` is free-form here and checked by :func:`_axis`)
FIELDS: dict[str, Field] = {
    "name": Field("str", "sweep name, used in outputs (default: the file name)", required=False),
    "experiment": Field("variant", "the base experiment: {file: EXPERIMENT.yaml} (relative to the sweep file), "
                        "the experiment itself (an experiment file's keys), or a NIR graph {nir: FILE.nir, dt_s, ...}",
                        variants=Variants(
                            options={"file": {"file": Field("str", "experiment YAML, relative to the sweep file")},
                                     "nir": NIR_FIELDS, "inline": dict(EXPERIMENT_FIELDS)},
                            key="file", default="inline", present={"file": "file", "nir": "nir"})),
    "chip": Field("str", "base chip: a name (neurosim chips list) or a YAML path relative to the sweep file"),
    "mapping": section("mapping options applied on top of the experiment's mapping section",
                       EXPERIMENT_FIELDS["mapping"].fields or {}, required=False),
    "quantize": Field("bool", "also simulate the network quantised to each chip's weight precision and score it "
                      "(once per distinct precision)", required=False, default=True),
    "axes": Field("mapping", "axis key -> a list of values, or a range {from, to, step} or {from, to, num, "
                  "scale}; see docs/sweeps.md"),
    "sample": section("which points of the axes to run", {
        "method": Field("choice", "grid: every combination; random: n points drawn at random; lhs: n points of a "
                        "Latin hypercube", choices=SAMPLE_METHODS, required=False, default="grid"),
        "n": Field("int", "number of points (random and lhs)", minimum=1, maximum=MAX_POINTS, required=False),
        "seed": Field("int", "seed of the draw", minimum=0, maximum=MAX_SEED, required=False, default=0),
    }, required=False),
}


@dataclass(frozen=True)
class Axis:
    """One axis: one key (or several linked keys) and its levels, or a continuous interval.

    Attributes
    ----------
    name : str
        The key as written in the file (linked keys: ``"a, b"``).
    keys : tuple of str
        Canonical dotted keys: ``chip``, ``chip.<key>``, ``experiment.<key>`` or ``mapping.<key>``.
    levels : tuple of tuples, or None
        Discrete values, one tuple per level (one entry per key); ``None`` for a continuous interval.
    low, high : float
        The continuous interval (``levels is None``).
    log : bool
        Continuous interval drawn uniformly in log space.
    integer : bool
        Continuous values are rounded to whole numbers.
    """

    name: str
    keys: tuple[str, ...]
    levels: Optional[tuple[tuple[Any, ...], ...]] = None
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False

    def value(self, u: float) -> tuple[Any, ...]:
        """The value at ``u`` in [0, 1): level ``floor(u * levels)``, or the point of the interval."""
        if self.levels is not None:
            return self.levels[min(int(u * len(self.levels)), len(self.levels) - 1)]
        x = self.low * (self.high / self.low) ** u if self.log else self.low + (self.high - self.low) * u
        return (int(round(x)),) if self.integer else (float(x),)


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep.

    Attributes
    ----------
    name, source : str
        Sweep name and its file (``"<dict>"`` in memory).
    experiment : dict
        The base experiment as data (validated; variants change keys of a copy): an experiment,
        or for ``kind == "nir"`` the NIR settings (:data:`NIR_FIELDS`).
    experiment_source : str
        Its file (relative data files resolve against ``experiment_base_dir``).
    chip : dict
        The base chip as data (validated).
    chip_source : str
        Its file.
    mapping : dict
        Mapping options applied on top of the experiment's mapping section.
    quantize : bool
    axes : tuple of Axis
    method : {"grid", "random", "lhs"}
    n, seed : int
        Points drawn and the seed (random and lhs).
    base_dir : Path
        The sweep file's directory (whole-chip axis values resolve against it).
    kind : {"experiment", "nir"}
        What the base is: an experiment (LASSO problems, scored against FISTA) or a NIR graph
        (no solution quality; ``mapping`` and ``mapping.*`` axes are its mapping options).
    """

    name: str
    source: str
    experiment: dict
    experiment_source: str
    experiment_base_dir: Path
    chip: dict
    chip_source: str
    mapping: dict
    quantize: bool
    axes: tuple[Axis, ...]
    method: str = "grid"
    n: Optional[int] = None
    seed: int = 0
    base_dir: Path = Path(".")
    kind: str = "experiment"

    @property
    def columns(self) -> list[str]:
        """Every axis key, in file order (linked keys each get their own)."""
        return [k for a in self.axes for k in a.keys]

    def points(self) -> list[dict[str, Any]]:
        """The points of the sweep, each ``{key: value}`` over :attr:`columns` (duplicates dropped)."""
        if self.method == "grid":
            combos = itertools.product(*(a.levels for a in self.axes))
        else:
            rng = np.random.default_rng(self.seed)
            discrete = all(a.levels is not None for a in self.axes)
            size = math.prod(len(a.levels) for a in self.axes) if discrete else None
            if self.method == "random" and discrete:
                flat = rng.choice(size, size=self.n, replace=False)
                combos = (_decode(int(i), self.axes) for i in flat)
            elif self.method == "random":
                u = rng.random((self.n, len(self.axes)))
                combos = (tuple(a.value(x) for a, x in zip(self.axes, row)) for row in u)
            else:  # Latin hypercube: one point per stratum of every axis
                u = np.stack([(rng.permutation(self.n) + rng.random(self.n)) / self.n for _ in self.axes], axis=1)
                combos = (tuple(a.value(x) for a, x in zip(self.axes, row)) for row in u)
        out, seen = [], set()
        for combo in combos:
            point = {k: v for a, vals in zip(self.axes, combo) for k, v in zip(a.keys, vals)}
            ident = repr(sorted(point.items()))
            if ident not in seen:
                seen.add(ident)
                out.append(point)
        return out

    def describe(self) -> str:
        """One line: the axes and how points are chosen."""
        sizes = " x ".join(f"{a.name} ({len(a.levels)})" if a.levels is not None else f"{a.name} (interval)"
                           for a in self.axes)
        how = "full grid" if self.method == "grid" else f"{self.n} points by {self.method}, seed {self.seed}"
        return f"{sizes}: {how}"


def _decode(flat: int, axes: tuple[Axis, ...]) -> tuple[tuple[Any, ...], ...]:
    """Mixed-radix index -> one level of each axis (the last axis varies fastest, as in a grid)."""
    out = []
    for a in reversed(axes):
        flat, i = divmod(flat, len(a.levels))
        out.append(a.levels[i])
    return tuple(reversed(out))


# -- axis keys ---------------------------------------------------------------------------------
def _field_at(fields: Mapping[str, Field], parts: list[str]) -> Optional[Field]:
    """The schema field at dotted ``parts`` (through sections and every option of variants)."""
    head, rest = parts[0], parts[1:]
    spec = fields.get(head)
    if spec is None:
        return None
    if not rest:
        return spec
    if spec.kind == "section" and spec.fields:
        return _field_at(spec.fields, rest)
    if spec.kind == "variant":
        for option in spec.variants.options.values():
            found = _field_at(option, rest)
            if found is not None:
                return found
    return None


def _all_keys(fields: Mapping[str, Field], prefix: str = "") -> list[str]:
    out = []
    for k, spec in fields.items():
        out.append(prefix + k)
        if spec.kind == "section" and spec.fields:
            out += _all_keys(spec.fields, f"{prefix}{k}.")
        elif spec.kind == "variant":
            for option in spec.variants.options.values():
                out += _all_keys(option, f"{prefix}{k}.")
    return out


_CHIP_AXIS = Field("str", "a whole chip: a name or a YAML path")


def _resolve_key(ctx: Ctx, where: str, key: str, nir: bool) -> tuple[str, Field]:
    """An axis key as ``(canonical key, its schema field)``; unknown keys get a did-you-mean."""
    key = key.strip()
    if key == "chip":
        return key, _CHIP_AXIS
    if key.split(".")[0] in CHIP_SECTIONS:
        key = "chip." + key
    head, _, rest = key.partition(".")
    trees = {"chip": chipschema.FIELDS, "experiment": NIR_FIELDS if nir else EXPERIMENT_FIELDS,
             "mapping": EXPERIMENT_FIELDS["mapping"].fields or {}}
    if head not in trees or not rest:
        raise ctx.error(where, "unknown axis key" + did_you_mean(head, list(trees) + list(CHIP_SECTIONS)),
                        got=repr(key), expected="chip, chip.<key>, <chip section>.<key>, experiment.<key> or "
                        "mapping.<option>")
    spec = _field_at(trees[head], rest.split("."))
    if spec is not None and spec.kind in ("section", "variant"):
        inner = [f"{head}.{k}" for k in _all_keys(trees[head]) if k.startswith(rest + ".")]
        raise ctx.error(where, "is a section, not a value: name one of its keys", got=repr(key),
                        expected=f"a key such as {inner[:3]}")
    leaves = [k for k in _all_keys(trees[head]) if (f := _field_at(trees[head], k.split("."))) is not None
              and f.kind not in ("section", "variant") and not (head == "chip" and k in ("schema_version", "name"))]
    if spec is None or rest not in leaves:
        raise ctx.error(where, f"unknown {head} key" + did_you_mean(rest, leaves, prefix=head + "."), got=repr(key),
                        expected=f"a {head} key (docs/{'chips' if head == 'chip' else 'experiments'}.md)")
    if head == "experiment" and nir and rest == "nir":
        raise ctx.error(where, "the graph file is not an axis (one sweep, one graph)", got=repr(key),
                        expected="dt_s, simulate, input_rate, seed or backend")
    if head == "experiment" and not nir and rest.startswith("mapping."):
        return "mapping." + rest[len("mapping."):], spec
    return key, spec


def _range(ctx: Ctx, where: str, spec: Field, data: dict, method: str) -> Axis:
    for k in data:
        if k not in _RANGE_KEYS:
            raise ctx.error(f"{where}.{k}", "unknown range key" + did_you_mean(k, _RANGE_KEYS, prefix=f"{where}."),
                            got=repr(k), expected=f"one of {list(_RANGE_KEYS)}")
    if spec.kind not in ("int", "float"):
        raise ctx.error(where, "a range needs a numeric key", got=f"a {spec.kind} key",
                        expected="a list of values")
    num = Field("float", minimum=None)
    for k in ("from", "to"):
        if k not in data:
            raise ctx.error(f"{where}.{k}", "missing range key", expected="a number")
    lo, hi = (validate_value(ctx, f"{where}.{k}", num, data[k]) for k in ("from", "to"))
    if hi < lo:
        raise ctx.error(f"{where}.to", "range ends before it starts", got=hi, expected=f">= from = {lo:g}")
    scale = validate_value(ctx, f"{where}.scale", Field("choice", choices=("linear", "log")),
                           data.get("scale", "linear"))
    if scale == "log" and lo <= 0:
        raise ctx.error(f"{where}.from", "a log range must start above 0", got=lo, expected="> 0")
    integer = spec.kind == "int"
    if "step" in data and "num" in data:
        raise ctx.error(f"{where}.num", "give step or num, not both", expected="one of step, num")
    if "step" in data:
        if scale == "log":
            raise ctx.error(f"{where}.step", "a log range takes num, not step", expected="num")
        step = validate_value(ctx, f"{where}.step", Field("float", minimum=0, exclusive_minimum=True), data["step"])
        count = int(math.floor((hi - lo) / step + 1e-9)) + 1
        if count > MAX_POINTS:
            raise ctx.error(f"{where}.step", "too many values", got=count, expected=f"<= {MAX_POINTS}")
        values = [lo + i * step for i in range(count)]
    elif "num" in data:
        n = validate_value(ctx, f"{where}.num", Field("int", minimum=1, maximum=MAX_POINTS), data["num"])
        values = list(np.geomspace(lo, hi, n) if scale == "log" else np.linspace(lo, hi, n))
    else:
        if method == "grid":
            raise ctx.error(where, "a grid needs discrete values: give step or num (or sample with random or lhs)",
                            expected="{from, to, step} or {from, to, num}")
        return Axis(name="", keys=(), levels=None, low=lo, high=hi, log=scale == "log", integer=integer)
    values = [int(round(v)) if integer else float(v) for v in values]
    return Axis(name="", keys=(), levels=tuple((v,) for v in dict.fromkeys(values)))


def _axis(ctx: Ctx, name: Any, data: Any, method: str, nir: bool) -> Axis:
    where = f"axes.{name}"
    if not isinstance(name, str) or not name.strip():
        raise ctx.error(where, "axis keys must be text", got=repr(name),
                        expected="a dotted key such as core.weight_bits")
    resolved = [_resolve_key(ctx, where, k, nir) for k in name.split(",")]
    keys = tuple(k for k, _ in resolved)
    if len(set(keys)) != len(keys):
        raise ctx.error(where, "a key is linked to itself", got=name, expected="distinct keys")
    if isinstance(data, dict):
        if len(keys) > 1:
            raise ctx.error(where, "linked keys take a list of value lists", got="a range",
                            expected=f"[[{', '.join(keys)}], ...]")
        axis = _range(ctx, where, resolved[0][1], data, method)
    elif isinstance(data, list) and data:
        levels = []
        for i, v in enumerate(data):
            if len(keys) > 1:
                if not isinstance(v, list) or len(v) != len(keys):
                    raise ctx.error(f"{where}[{i}]", f"each value of linked keys is a list of {len(keys)}",
                                    got=repr(v), expected=f"[{', '.join(keys)}]")
                levels.append(tuple(v))
            else:
                levels.append((v,))
        axis = Axis(name="", keys=(), levels=tuple(levels))
    else:
        raise ctx.error(where, "must be a non-empty list of values or a range", got=repr(data),
                        expected="[v1, v2, ...] or {from, to, step | num}")
    return Axis(name=name.strip(), keys=keys, levels=axis.levels, low=axis.low, high=axis.high, log=axis.log,
                integer=axis.integer)


# -- the file ----------------------------------------------------------------------------------
class _Prefixed(Ctx):
    """The sweep file's context for a section validated by another schema (an inline experiment):
    its keys are reported below ``prefix`` with the sweep file's lines."""

    def __init__(self, ctx: Ctx, prefix: str):
        super().__init__(ctx.source, ctx.lines, ctx.error_cls)
        self.prefix = prefix

    def error(self, key: str, what: str, *, got: Any = None, expected: Any = None) -> SpecError:
        return super().error(f"{self.prefix}.{key}" if key else self.prefix, what, got=got, expected=expected)


def _relative(base_dir: Path, value: str) -> str:
    """A chip given by path resolves against the sweep file's directory; a name stays a name."""
    looks_like_path = "/" in value or value.endswith((".yaml", ".yml"))
    return str(base_dir / value) if looks_like_path and not Path(value).is_absolute() else value


def sweep_from_dict(data: Any, *, source: str = "<dict>", base_dir: Path = Path("."),
                    ctx: Optional[Ctx] = None) -> SweepSpec:
    """Validate a sweep (as loaded from YAML) and load its base experiment and chip.

    Raises
    ------
    SweepError
        Naming the file, key path and line; an inline experiment's errors are reported under
        ``experiment.``, a base experiment file's own errors as ``ExperimentError``, the base
        chip's as ``ChipSpecError``.
    """
    ctx = ctx or Ctx(source, {}, SweepError)
    top = validate_section(ctx, data, FIELDS, "")
    name = top["name"] or (Path(source).stem if source.endswith((".yaml", ".yml")) else "sweep")
    sample = top["sample"]
    method = sample["method"]
    if method == "grid" and sample["n"] is not None:
        raise ctx.error("sample.n", "a grid runs every combination; n is for random and lhs", got=sample["n"],
                        expected="no sample.n with method grid")
    if method != "grid" and sample["n"] is None:
        raise ctx.error("sample.n", f"method {method} needs the number of points", expected="a whole number >= 1")
    axes_data = top["axes"]
    if not axes_data:
        raise ctx.error("axes", "no axes", got="{}", expected="at least one axis")
    nir = "nir" in data["experiment"]
    axes = tuple(_axis(ctx, k, v, method, nir) for k, v in axes_data.items())
    seen: dict[str, str] = {}
    for a in axes:
        for k in a.keys:
            if k in seen:
                raise ctx.error(f"axes.{a.name}", f"key {k} is already an axis ({seen[k]!r})", got=a.name,
                                expected="each key on one axis (link keys that vary together)")
            seen[k] = a.name
    if method == "grid":
        size = math.prod(len(a.levels) for a in axes)
        if size > MAX_POINTS:
            raise ctx.error("axes", "too many points", got=size, expected=f"<= {MAX_POINTS} (or sample some)")
    elif method == "random" and all(a.levels is not None for a in axes):
        size = math.prod(len(a.levels) for a in axes)
        if sample["n"] > size:
            raise ctx.error("sample.n", "more points than the grid has", got=sample["n"],
                            expected=f"<= {size} (or method grid)")
    raw_exp = data["experiment"]
    mapping = {k: v for k, v in top["mapping"].items() if v is not None}
    if nir:
        return _nir_spec(ctx, top, name=name, source=source, base_dir=base_dir, axes=axes, mapping=mapping)
    if "file" in raw_exp:
        path = base_dir / str(raw_exp["file"])
        if not path.is_file():
            raise ctx.error("experiment.file", "no such file", got=str(path), expected="an experiment YAML file "
                            "(paths are relative to the sweep file)")
        exp_data, exp_ctx = load_yaml(path, error=ExperimentError)
        exp = experiment_from_dict(exp_data, source=str(path), base_dir=path.parent, ctx=exp_ctx)
    else:
        exp_data = raw_exp
        exp = experiment_from_dict(copy.deepcopy(raw_exp), source=f"{source}:experiment", base_dir=base_dir,
                                   ctx=_Prefixed(ctx, "experiment"))
    chip_data, chip_path = _base_chip(ctx, base_dir, top["chip"])
    try:
        exp.mapping_options(**mapping)
    except NeurosimError as exc:
        raise ctx.error("mapping", str(exc)) from None
    exp_dict = copy.deepcopy(exp_data)
    return SweepSpec(name=name, source=source, experiment=exp_dict, experiment_source=exp.source,
                     experiment_base_dir=exp.base_dir, chip=chip_data, chip_source=str(chip_path), mapping=mapping,
                     quantize=top["quantize"], axes=axes, method=method, n=sample["n"], seed=sample["seed"],
                     base_dir=base_dir)


def _base_chip(ctx: Ctx, base_dir: Path, chip: str) -> tuple[dict, Path]:
    try:
        chip_data, chip_path = load_chip_dict(_relative(base_dir, chip))
    except ChipSpecError as exc:
        raise ctx.error("chip", str(exc)) from None
    load_chip(chip_path)  # the base chip is validated as the file it is (with its lines)
    return chip_data, chip_path


def _nir_spec(ctx: Ctx, top: dict, *, name: str, source: str, base_dir: Path, axes: tuple[Axis, ...],
              mapping: dict) -> SweepSpec:
    """A sweep over a NIR graph: the graph is read once here (it must be readable at ``dt_s``)."""
    settings = top["experiment"]
    path = base_dir / settings["nir"]
    if not path.is_file():
        raise ctx.error("experiment.nir", "no such file", got=str(path),
                        expected="a NIR graph file (paths are relative to the sweep file)")
    load_nir_graph(path, dt_s=settings["dt_s"])
    chip_data, chip_path = _base_chip(ctx, base_dir, top["chip"])
    try:
        MappingOptions(**mapping)
    except MappingError as exc:
        raise ctx.error("mapping", str(exc)) from None
    sample = top["sample"]
    return SweepSpec(name=name, source=source, experiment=dict(settings), experiment_source=str(path),
                     experiment_base_dir=base_dir, chip=chip_data, chip_source=str(chip_path), mapping=mapping,
                     quantize=False, axes=axes, method=sample["method"], n=sample["n"], seed=sample["seed"],
                     base_dir=base_dir, kind="nir")


def load_sweep(path: Union[str, Path]) -> SweepSpec:
    """Load a sweep YAML file (``yaml.safe_load``) and validate it (:func:`sweep_from_dict`)."""
    data, ctx = load_yaml(path, error=SweepError)
    p = Path(path)
    return sweep_from_dict(data, source=str(p), base_dir=p.parent, ctx=ctx)


def sweep_schema_markdown() -> str:
    """The sweep file's keys as Markdown tables (an inline experiment's keys are those of an
    experiment file, documented in ``docs/experiments.md``)."""
    exp = FIELDS["experiment"]
    inline = {"...": Field("mapping", "every key of an experiment file (docs/experiments.md)")}
    short = dict(FIELDS, experiment=Field("variant", exp.doc, variants=Variants(
        options={"file": exp.variants.options["file"], "nir": NIR_FIELDS, "inline": inline}, key="file",
        default="inline", present={"file": "file", "nir": "nir"})))
    return schema_markdown(short)


def sweep_json_schema() -> dict[str, Any]:
    """The sweep schema as a JSON Schema document (draft 2020-12), for editors."""
    schema = json_schema(FIELDS, title="neurosim sweep", description="A design-space exploration: a base "
                         "experiment and chip, and the axes to vary (neurosim sweep SWEEP.yaml --out DIR).")
    value = {"description": "a list of values, or a range {from, to, step | num, scale}",
             "anyOf": [{"type": "array", "minItems": 1},
                       {"type": "object", "properties": {"from": {"type": "number"}, "to": {"type": "number"},
                                                         "step": {"type": "number", "exclusiveMinimum": 0},
                                                         "num": {"type": "integer", "minimum": 1},
                                                         "scale": {"enum": ["linear", "log"]}},
                        "required": ["from", "to"], "additionalProperties": False}]}
    schema["properties"]["axes"].update({"minProperties": 1, "additionalProperties": value})
    return schema
