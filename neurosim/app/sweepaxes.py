"""Axes of a sweep: keys resolved against the chip and experiment schemas, values as lists or
ranges, and the points they span (full grid, random draw, Latin hypercube).

See :mod:`neurosim.app.sweepspec` for the file format; everything here raises through the sweep
file's :class:`~neurosim.validation.schema.Ctx` (file, key path, line, did-you-mean).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from mapper import chipschema
from neurosim.app.experiment import FIELDS as EXPERIMENT_FIELDS
from neurosim.validation.schema import Ctx, Field, did_you_mean
from neurosim.validation.schema import validate as validate_value

__all__ = ["Axis", "parse_axis", "sample_points", "MAX_POINTS", "CHIP_SECTIONS", "SAMPLE_METHODS"]

#: most points a sweep may have (a guard against a typo in a range, not a limit of the method)
MAX_POINTS = 100_000
#: top-level chip sections an axis may name without the ``chip.`` prefix
CHIP_SECTIONS = ("core", "noc", "board", "energy", "timing")
#: how the points of the axes are chosen
SAMPLE_METHODS = ("grid", "random", "lhs")
_RANGE_KEYS = ("from", "to", "step", "num", "scale")


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


def sample_points(axes: tuple[Axis, ...], method: str, n: Optional[int], seed: int) -> list[dict[str, Any]]:
    """The points ``{key: value}`` the axes span: every combination (``grid``, the last axis
    fastest), ``n`` distinct grid points or independent draws (``random``), or ``n`` points of a
    Latin hypercube (``lhs``: each axis cut into ``n`` strata, one point in each); duplicates dropped."""
    if method == "grid":
        combos = itertools.product(*(a.levels for a in axes))
    else:
        rng = np.random.default_rng(seed)
        discrete = all(a.levels is not None for a in axes)
        size = math.prod(len(a.levels) for a in axes) if discrete else None
        if method == "random" and discrete:
            flat = rng.choice(size, size=n, replace=False)
            combos = (_decode(int(i), axes) for i in flat)
        elif method == "random":
            u = rng.random((n, len(axes)))
            combos = (tuple(a.value(x) for a, x in zip(axes, row)) for row in u)
        else:  # Latin hypercube: one point per stratum of every axis
            u = np.stack([(rng.permutation(n) + rng.random(n)) / n for _ in axes], axis=1)
            combos = (tuple(a.value(x) for a, x in zip(axes, row)) for row in u)
    out, seen = [], set()
    for combo in combos:
        point = {k: v for a, vals in zip(axes, combo) for k, v in zip(a.keys, vals)}
        ident = repr(sorted(point.items()))
        if ident not in seen:
            seen.add(ident)
            out.append(point)
    return out


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


def _resolve_key(ctx: Ctx, where: str, key: str, experiment: Mapping[str, Field]) -> tuple[str, Field]:
    """An axis key as ``(canonical key, its schema field)``; unknown keys get a did-you-mean."""
    key = key.strip()
    if key == "chip":
        return key, _CHIP_AXIS
    if key.split(".")[0] in CHIP_SECTIONS:
        key = "chip." + key
    head, _, rest = key.partition(".")
    nir = "nir" in experiment  # a NIR graph's settings, not an experiment
    trees = {"chip": chipschema.FIELDS, "experiment": experiment,
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


def parse_axis(ctx: Ctx, name: Any, data: Any, method: str, experiment: Mapping[str, Field]) -> Axis:
    """The axis ``name: data`` of a sweep file (``axes.<name>``): its keys resolved against the chip
    schema, ``experiment`` (an experiment's fields, or a NIR graph's settings) and the mapping
    options, and its values (a list, or a range expanded to levels or kept as an interval)."""
    where = f"axes.{name}"
    if not isinstance(name, str) or not name.strip():
        raise ctx.error(where, "axis keys must be text", got=repr(name),
                        expected="a dotted key such as core.weight_bits")
    resolved = [_resolve_key(ctx, where, k, experiment) for k in name.split(",")]
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
