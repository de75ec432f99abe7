"""Sweep files: a base experiment, a base chip and the axes of a design-space exploration.

A sweep file is checked by the project's one schema mechanism (:mod:`neurosim.validation.schema`):
errors name the file, the key path, the line, what was expected and what was found, and unknown
keys (including axis keys) get a "did you mean"; :func:`sweep_json_schema` is its JSON Schema
(``examples/sweeps/sweep.schema.json``)::

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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from mapper import MappingOptions, load_chip
from mapper.chipload import load_chip_dict
from neurosim.app.experiment import FIELDS as EXPERIMENT_FIELDS
from neurosim.app.experiment import experiment_from_dict
from neurosim.app.mapping import INPUT_RATE, load_nir_graph
from neurosim.app.sweepaxes import CHIP_SECTIONS, MAX_POINTS, SAMPLE_METHODS, Axis, parse_axis, sample_points
from neurosim.backends import BACKENDS, DEFAULT_BACKEND
from neurosim.errors import MAX_SEED, ChipSpecError, ExperimentError, MappingError, NeurosimError, SpecError
from neurosim.validation.schema import Ctx, Field, Variants, json_schema, load_yaml, schema_markdown, section
from neurosim.validation.schema import validate_section

__all__ = ["SweepError", "SweepSpec", "Axis", "FIELDS", "NIR_FIELDS", "MAX_POINTS", "load_sweep", "sweep_from_dict",
           "sweep_json_schema", "sweep_schema_markdown", "CHIP_SECTIONS"]


class SweepError(SpecError):
    """A sweep file is invalid (see :class:`~neurosim.errors.SpecError`)."""

    kind = "sweep"



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
    "spikes": Field("choice", "spike convention of the exporter: 'pulse' (one step long, area dt: snnTorch) or "
                    "'dirac' (area 1: Norse IAF, Sinabs)", choices=("pulse", "dirac"), required=False, default="pulse"),
    "threshold": Field("choice", "spike condition of every layer (absent: NIR's '>', or the one neurosim recorded "
                       "in the graph)", choices=(">", ">="), required=False, nullable=True),
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
        """The points of the sweep, each ``{key: value}`` over :attr:`columns` (duplicates dropped;
        :func:`~neurosim.app.sweepaxes.sample_points`)."""
        return sample_points(self.axes, self.method, self.n, self.seed)

    def describe(self) -> str:
        """One line: the axes and how points are chosen."""
        sizes = " x ".join(f"{a.name} ({len(a.levels)})" if a.levels is not None else f"{a.name} (interval)"
                           for a in self.axes)
        how = "full grid" if self.method == "grid" else f"{self.n} points by {self.method}, seed {self.seed}"
        return f"{sizes}: {how}"


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
    axes = tuple(parse_axis(ctx, k, v, method, NIR_FIELDS if nir else EXPERIMENT_FIELDS)
                 for k, v in axes_data.items())
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
    load_nir_graph(path, dt_s=settings["dt_s"], spikes=settings["spikes"], threshold=settings["threshold"])
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
