"""Load chip YAML files into :class:`~mapper.chipspec.ChipSpec`, validating every field.

A chip is found by short name (the file stem: ``load_chip("loihi1")``) or by path. Names are
looked up, in order, in the ``chips/`` directory next to the :mod:`mapper` package (a source
checkout or editable install) and in ``<prefix>/share/neurosim/chips`` (where a regular install
puts the shipped files; ``setup.cfg`` ``[options.data_files]``), for the interpreter prefix and
the user base.

The file format (``schema_version: 1``) is documented in the README ("Chip specification
files") and in :data:`SCHEMA`. Every problem raises :class:`~neurosim.errors.ChipSpecError`
naming the file, the dotted key path (``core.max_in_axons``), the line, what was expected and
what was found. Files are read with ``yaml.safe_load`` only.
"""
from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import site
import sys
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from neurosim.errors import ChipSpecError

from .chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from .chipschema import SCHEMA, SCHEMA_VERSION, Key

__all__ = ["load_chip", "list_chips", "chip_from_dict", "chip_dirs", "SCHEMA", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_SUFFIXES = (".yaml", ".yml")


# -- finding files ---------------------------------------------------------------------------
def chip_dirs() -> list[Path]:
    """Directories searched for chip files by name, in order (existing ones only)."""
    candidates = [Path(__file__).resolve().parent.parent / "chips",
                  Path(sys.prefix) / "share" / "neurosim" / "chips"]
    try:
        candidates.append(Path(site.getuserbase()) / "share" / "neurosim" / "chips")
    except Exception:  # pragma: no cover - site may be stubbed in embedded interpreters
        pass
    out: list[Path] = []
    for d in candidates:
        if d.is_dir() and d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return out


def _chip_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in chip_dirs():
        for f in sorted(d.iterdir()):
            if f.suffix in _SUFFIXES and f.stem not in found:
                found[f.stem] = f
    return found


def list_chips() -> list[tuple[str, Path, str]]:
    """Shipped and installed chips as ``(name, path, description)``, sorted by name.

    A name found in several directories is listed once (the first directory of
    :func:`chip_dirs` wins). A file that does not parse is listed with its error as description.
    """
    out = []
    for name, path in sorted(_chip_files().items()):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            desc = str(data.get("description", "")) if isinstance(data, dict) else "(not a mapping)"
        except (OSError, yaml.YAMLError) as exc:
            desc = f"(unreadable: {type(exc).__name__})"
        out.append((name, path, desc))
    return out


def _resolve(name_or_path: PathLike) -> Path:
    s = os.fspath(name_or_path)
    looks_like_path = (isinstance(name_or_path, os.PathLike) or os.sep in s or "/" in s
                       or s.endswith(_SUFFIXES))
    if looks_like_path or Path(s).is_file():
        p = Path(s)
        if p.is_dir():
            raise ChipSpecError(s, "(file)", "is a directory, not a chip file", got=s,
                                expected="a chip YAML file (e.g. DIR/NAME.yaml) or a chip name")
        if not p.is_file():
            raise ChipSpecError(s, "(file)", "no such file", got=s, expected="an existing chip YAML file")
        return p
    files = _chip_files()
    if s not in files:
        close = difflib.get_close_matches(s, list(files), n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ChipSpecError(s, "name", f"unknown chip name{hint}", got=repr(s),
                            expected=f"one of {sorted(files)} or a path to a .yaml file")
    return files[s]


# -- public entry points ---------------------------------------------------------------------
def load_chip(name_or_path: PathLike, *, chip_grid: Optional[tuple[int, int]] = None) -> ChipSpec:
    """Load and validate a chip by short name (``"loihi1"``) or by file path.

    Parameters
    ----------
    name_or_path
        A name listed by :func:`list_chips` or a path to a YAML file.
    chip_grid : (cx, cy), optional
        Build a board of ``cx * cy`` copies of the chip (overrides ``board.chip_grid``).

    Raises
    ------
    ChipSpecError
        Unknown name, unreadable file, YAML syntax error or any invalid field.
    """
    path = _resolve(name_or_path).resolve()  # absolute: reports record where the chip came from
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChipSpecError(str(path), "(file)", "cannot read file", got=type(exc).__name__ + ": " + str(exc)) from exc
    chip = _from_text(text, source=str(path), stem=path.stem)
    if chip_grid is not None:
        chip = _with_chip_grid(chip, chip_grid)
    log.debug("loaded chip %s from %s (%d cores)", chip.name, path, chip.n_cores)
    return chip


def chip_from_dict(d: dict, source: str = "<dict>") -> ChipSpec:
    """Validate an in-memory spec (same schema as the YAML files) and build a :class:`ChipSpec`."""
    return _build(d, source=source, lines={}, stem=None)


# -- parsing ---------------------------------------------------------------------------------
def _from_text(text: str, *, source: str, stem: Optional[str]) -> ChipSpec:
    try:
        data = yaml.safe_load(text)
        lines = _line_index(yaml.compose(text, Loader=yaml.SafeLoader), source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ChipSpecError(source, "(yaml)", f"YAML syntax error{where}: {problem}") from exc
    return _build(data, source=source, lines=lines, stem=stem)


def _line_index(node: Any, source: str, prefix: str = "", out: Optional[dict] = None) -> dict[str, int]:
    """Dotted key path -> 1-based line number, from a composed YAML node tree; rejects duplicate keys.

    List elements are indexed as ``key[i]`` with the line of the element itself (flow style
    ``[2, 0]`` and block style ``- 0`` alike)."""
    out = {} if out is None else out
    if isinstance(node, yaml.SequenceNode):
        base = prefix[:-1] if prefix.endswith(".") else prefix
        for i, item in enumerate(node.value):
            out[f"{base}[{i}]"] = item.start_mark.line + 1
            _line_index(item, source, f"{base}[{i}].", out)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for knode, vnode in node.value:
            key = f"{prefix}{knode.value}"
            if knode.value in seen:
                raise ChipSpecError(source, key, f"duplicate key (line {knode.start_mark.line + 1})",
                                    got=repr(knode.value), expected="each key once")
            seen.add(knode.value)
            out[key] = knode.start_mark.line + 1
            _line_index(vnode, source, key + ".", out)
    return out


class _Ctx:
    """Error factory carrying the source file and the line index."""

    def __init__(self, source: str, lines: dict[str, int]):
        self.source, self.lines = source, lines

    def error(self, key: str, what: str, *, got: Any = None, expected: Any = None) -> ChipSpecError:
        line = self.lines.get(key)
        if line is None and key.endswith("]") and "[" in key:  # an element not in the file: its list's line
            line = self.lines.get(key[:key.rindex("[")])
        if line is None and "." in key:
            line = self.lines.get(key.rsplit(".", 1)[0])
        if line is not None:
            what = f"{what} (line {line})"
        return ChipSpecError(self.source, key, what, got=got, expected=expected)


def _shown(v: Any) -> str:
    return f"{v!r} ({type(v).__name__})"


def _convert(ctx: _Ctx, key: str, spec: Key, v: Any) -> Any:
    """Check one value against its schema entry and return it converted."""
    if v is None:
        if spec.nullable:
            return None
        raise ctx.error(key, "value is required (null is not allowed here)", got="null", expected=spec.expected())
    kind = spec.kind
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            what = "must be a whole number" + (" (write it without a decimal point)"
                                               if isinstance(v, float) and float(v).is_integer() else "")
            raise ctx.error(key, what, got=_shown(v), expected=spec.expected())
        return _range(ctx, key, spec, v)
    if kind == "float":
        if isinstance(v, str) and _NUMBER.match(v.strip()):
            v = float(v)  # YAML 1.1 reads 1e-9 (no dot) as a string; accept YAML 1.2 numbers
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ctx.error(key, "must be a number", got=_shown(v), expected=spec.expected())
        v = float(v)
        if v != v or v in (float("inf"), float("-inf")):
            raise ctx.error(key, "must be finite", got=v, expected=spec.expected())
        return _range(ctx, key, spec, v)
    if kind in ("str", "choice"):
        if not isinstance(v, str) or not v.strip():
            raise ctx.error(key, "must be a non-empty string", got=_shown(v), expected=spec.expected())
        if kind == "choice" and v not in spec.choices:
            close = difflib.get_close_matches(v, spec.choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ctx.error(key, f"unknown value{hint}", got=repr(v), expected=spec.expected())
        return v
    if kind == "grid":
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ctx.error(key, "must be a list of two whole numbers [x, y]", got=_shown(v), expected=spec.expected())
        item = Key("int", minimum=1, doc=spec.doc)
        return tuple(_convert(ctx, f"{key}[{i}]", item, x) for i, x in enumerate(v))
    if kind == "table":
        if not isinstance(v, dict) or not v:
            raise ctx.error(key, "must be a non-empty mapping {count: seconds}", got=_shown(v), expected=spec.expected())
        out = []
        for k, x in v.items():
            if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                raise ctx.error(f"{key}.{k}", "table keys must be whole numbers >= 1", got=_shown(k), expected="int >= 1")
            out.append((k, _convert(ctx, f"{key}.{k}", Key("float", unit=spec.unit), x)))
        return tuple(sorted(out))
    if kind in ("mapping", "strmap"):
        if not isinstance(v, dict):
            raise ctx.error(key, "must be a mapping", got=_shown(v), expected=spec.expected())
        if kind == "strmap":
            for k, x in v.items():
                if not isinstance(k, str):
                    raise ctx.error(f"{key}.{k}", "keys must be text (YAML reads yes/no/on/off as booleans: quote them)",
                                    got=_shown(k), expected="a string")
                if not isinstance(x, str):
                    raise ctx.error(f"{key}.{k}", "values must be text", got=_shown(x), expected="a string")
        return dict(v)
    raise AssertionError(f"schema kind {kind!r}")  # pragma: no cover - schema bug, not user input


def _range(ctx: _Ctx, key: str, spec: Key, v: Any) -> Any:
    if v < spec.minimum or (spec.maximum is not None and v > spec.maximum):
        raise ctx.error(key, "out of range" if v >= 0 else "must not be negative", got=v, expected=spec.expected())
    return v


def _section(ctx: _Ctx, data: Any, schema: dict[str, Key], where: str) -> dict[str, Any]:
    """Validate one mapping against its schema: unknown keys, missing keys, each value."""
    name = where or "(top level)"
    if not isinstance(data, dict):
        raise ctx.error(name, "must be a mapping of key: value", got=_shown(data), expected="a YAML mapping")
    prefix = f"{where}." if where else ""
    for k in data:
        if k not in schema:
            close = difflib.get_close_matches(str(k), list(schema), n=1, cutoff=0.6)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            raise ctx.error(f"{prefix}{k}", f"unknown key{hint}", got=repr(k), expected=f"one of {list(schema)}")
    out: dict[str, Any] = {}
    for k, spec in schema.items():
        if k not in data:
            if spec.required:
                raise ctx.error(f"{prefix}{k}", "missing required key", expected=spec.expected())
            out[k] = spec.default
            continue
        out[k] = _convert(ctx, f"{prefix}{k}", spec, data[k])
    return out


def _build(data: Any, *, source: str, lines: dict[str, int], stem: Optional[str]) -> ChipSpec:
    ctx = _Ctx(source, lines)
    top = _section(ctx, data, SCHEMA[""], "")
    if top["schema_version"] != SCHEMA_VERSION:
        raise ctx.error("schema_version", "unsupported schema version", got=top["schema_version"],
                        expected=SCHEMA_VERSION)
    name = top["name"]
    if not _NAME.match(name):
        raise ctx.error("name", "invalid chip name", got=repr(name), expected="letters, digits, '_', '.', '-'")
    if stem is not None and name != stem:
        raise ctx.error("name", "must equal the file name without .yaml", got=repr(name), expected=repr(stem))
    sec = {s: _section(ctx, data.get(s, {}) if s == "board" else data[s], SCHEMA[s], s)
           for s in ("core", "noc", "board", "energy", "timing")}
    core, noc, board, energy, timing = (sec[s] for s in ("core", "noc", "board", "energy", "timing"))
    if core["synapse_word_bits"] > core["synapse_mem_bits"]:
        raise ctx.error("core.synapse_word_bits", "a memory word cannot exceed the synapse memory",
                        got=core["synapse_word_bits"], expected=f"<= core.synapse_mem_bits = {core['synapse_mem_bits']}")

    e_unpub = [k for k, v in energy.items() if v is None]
    t_unpub = [k for k, v in timing.items() if v is None]
    if board["hop_chip_energy_j"] is None:
        e_unpub.append("hop_chip")
    if board["hop_chip_latency_s"] is None:
        t_unpub.append("hop_chip")
    if board["barrier_by_chips_s"] is None:
        t_unpub.append("barrier_multichip")
    e_vals = {k: (0.0 if v is None else v) for k, v in energy.items()}
    t_vals = {k: (0.0 if v is None else v) for k, v in timing.items()}
    t_vals["barrier_by_tiles"] = timing["barrier_by_tiles"] or ()
    t_vals["tile_bandwidth_msgs_per_s"] = timing["tile_bandwidth_msgs_per_s"]

    meta = dict(top["meta"] or {})
    meta["sources"] = dict(top["sources"] or {})
    return ChipSpec(
        name=name,
        core=CoreLimits(**core),
        noc=NocSpec(tile_grid=noc["tile_grid"], cores_per_tile=noc["cores_per_tile"],
                    chip_grid=board["chip_grid"], routing=noc["routing"],
                    multicast=noc["packets"] == "multicast"),
        energy=EnergyModel(**e_vals, hop_chip=board["hop_chip_energy_j"] or 0.0, unpublished=tuple(e_unpub)),
        timing=TimingModel(**t_vals, hop_chip=board["hop_chip_latency_s"] or 0.0,
                           barrier_multichip=board["barrier_by_chips_s"] or (), unpublished=tuple(t_unpub)),
        source=source, cost_source=top["cost_source"], description=top["description"],
        meta=meta, cost_status=top["cost_status"],
    )


def _with_chip_grid(chip: ChipSpec, chip_grid: Any) -> ChipSpec:
    grid = _convert(_Ctx(chip.source, {}), "board.chip_grid", SCHEMA["board"]["chip_grid"], chip_grid)
    return dataclasses.replace(chip, noc=dataclasses.replace(chip.noc, chip_grid=grid))
