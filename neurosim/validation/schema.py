"""One schema mechanism for every YAML file a user writes (chips, experiments, sweeps).

A schema is a tree of :class:`Field` objects. :func:`load_yaml` reads a file safely
(``yaml.safe_load``) and indexes the line of every key; :func:`validate` checks a loaded value
against a :class:`Field` and returns it converted, with defaults filled in. Every problem raises
the file type's :class:`~neurosim.errors.SpecError` subclass naming the file, the dotted key path
(``core.max_in_axons``, ``noc.tile_grid[1]``), the line, what was expected and what was found;
an unknown key gets a "did you mean" when one is close.

The same tree renders as Markdown reference tables (:func:`schema_markdown`) and as a JSON
Schema (:func:`json_schema`, draft 2020-12) that editors use to complete and check a file (e.g.
``# yaml-language-server: $schema=chip.schema.json`` at the top of a chip YAML).

Field kinds
-----------
``int``, ``float`` (in ``[minimum, maximum]``; ``exclusive_minimum`` makes the lower bound
strict), ``bool``, ``str`` (non-empty), ``choice`` (one of ``choices``), ``grid`` (two whole
numbers >= 1, ``[x, y]``), ``table`` (``{count: value}``, ``1 <= count <= MAX_TABLE_KEY``), ``strmap`` (text -> text),
``mapping`` (free-form), ``section`` (known keys ``fields``), ``variant`` (one of several
sections, chosen by :class:`Variants`).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Type

import yaml

from neurosim.errors import SpecError

__all__ = ["Field", "Variants", "Ctx", "load_yaml", "validate", "validate_section", "schema_markdown", "json_schema",
           "section", "did_you_mean"]

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
#: deepest nesting of mappings and lists a file may have (the schemas need 4)
MAX_DEPTH = 64
#: most values a file may hold once its aliases are expanded (a guard against alias bombs)
MAX_NODES = 200_000
#: largest key of a ``table`` (a count of tiles, chips ...)
MAX_TABLE_KEY = 2**31 - 1
#: largest file read, bytes
MAX_BYTES = 16 * 1024 * 1024
_OPEN = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockSequenceStartToken,
         yaml.BlockMappingStartToken)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def did_you_mean(value: Any, choices: Any, *, prefix: str = "", cutoff: float = 0.6) -> str:
    """``"; did you mean '<prefix><closest>'?"`` when one of ``choices`` is close to ``value``, else ``""``."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=cutoff)
    return f"; did you mean '{prefix}{close[0]}'?" if close else ""


def _n(x: float) -> str:
    """A bound as text: whole numbers in full (2147483647), others in %g."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


@dataclass(frozen=True)
class Variants:
    """How a ``variant`` field picks its section.

    ``present`` maps a key to a variant chosen whenever that key is in the data (``{"file":
    "file"}``); otherwise the value of ``key`` (default ``default``) names the variant.
    """

    options: Mapping[str, Mapping[str, "Field"]]
    key: str = "kind"
    default: Optional[str] = None
    present: Mapping[str, str] = field(default_factory=dict)

    def choose(self, data: Mapping[str, Any]) -> Any:
        for k, name in self.present.items():
            if k in data:
                return name
        return data.get(self.key, self.default)


@dataclass(frozen=True)
class Field:
    """One entry of a schema (see the module docstring for the kinds)."""

    kind: str
    doc: str = ""
    unit: str = ""
    required: bool = True
    nullable: bool = False
    minimum: Optional[float] = 0
    maximum: Optional[float] = None
    exclusive_minimum: bool = False
    choices: tuple[Any, ...] = ()
    default: Any = None
    fields: Optional[Mapping[str, "Field"]] = None
    variants: Optional[Variants] = None

    def expected(self) -> str:
        """The constraint as text, for error messages."""
        lo = "" if self.minimum is None else (f"> {_n(self.minimum)}" if self.exclusive_minimum else f">= {_n(self.minimum)}")
        hi = "" if self.maximum is None else f"<= {_n(self.maximum)}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        if self.kind == "int":
            base = "a whole number" + (f" {bounds}" if bounds else "")
        elif self.kind == "float":
            base = "a number" + (f" {bounds}" if bounds else "")
        elif self.kind == "bool":
            base = "true or false"
        elif self.kind == "choice":
            base = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "grid":
            base = "[x, y], whole numbers >= 1" + (f" and <= {_n(self.maximum)}" if self.maximum is not None else "")
        elif self.kind == "table":
            base = "{count: value, ...}, count >= 1, value >= 0"
        elif self.kind == "strmap":
            base = "a mapping of text to text"
        elif self.kind in ("mapping", "section"):
            base = "a mapping" + (f" with keys {list(self.fields)}" if self.fields else "")
        elif self.kind == "variant":
            base = "a mapping: " + " | ".join(f"{{{', '.join(f)}}}" for f in self.variants.options.values())
        else:
            base = "a non-empty string"
        if self.unit:
            base += f" ({self.unit})"
        if self.nullable:
            base += " or null"
        return base


def section(doc: str, fields: Mapping[str, Field], *, required: bool = True, nullable: bool = False) -> Field:
    """A ``section`` field (a mapping with known keys)."""
    return Field("section", doc, required=required, nullable=nullable, fields=dict(fields), default=None)


class Ctx:
    """Where a value comes from: the file, its line index and its error class."""

    def __init__(self, source: str, lines: Optional[dict[str, int]] = None, error: Type[SpecError] = SpecError):
        self.source, self.lines, self.error_cls = str(source), dict(lines or {}), error

    def line_of(self, key: str) -> Optional[int]:
        line = self.lines.get(key)
        if line is None and key.endswith("]") and "[" in key:  # an element not in the file: its list's line
            line = self.lines.get(key[:key.rindex("[")])
        while line is None and "." in key:
            key = key.rsplit(".", 1)[0]
            line = self.lines.get(key)
        return line

    def error(self, key: str, what: str, *, got: Any = None, expected: Any = None) -> SpecError:
        line = self.line_of(key)
        if line is not None:
            what = f"{what} (line {line})"
        return self.error_cls(self.source, key or "(top level)", what, got=got, expected=expected)


# -- reading -------------------------------------------------------------------------------------
def load_yaml(path: Path | str, *, error: Type[SpecError], text: Optional[str] = None,
              fast: bool = False) -> tuple[Any, Ctx]:
    """Read a YAML file with ``yaml.safe_load``; return the data and a :class:`Ctx` whose line
    index maps every dotted key path to its 1-based line. Duplicate keys are refused.

    ``fast`` (for data files such as network descriptions): scan and compose with libyaml's
    ``CSafeLoader`` when PyYAML has it, and build the data from the composed nodes instead of a
    second parse; the same bounds and checks, several times faster.

    Raises
    ------
    SpecError (the ``error`` subclass)
        The file cannot be read, is not UTF-8, or is not valid YAML (with line and column).
    """
    source = str(path)
    if text is None:
        p = Path(path)
        if p.is_file() and p.stat().st_size > MAX_BYTES:
            raise error(source, "(file)", "too large for a specification file", got=f"{p.stat().st_size} bytes",
                        expected=f"at most {MAX_BYTES} bytes")
        if p.is_dir():
            raise error(source, "(file)", "is a directory", got=source, expected="a YAML file")
        if not p.is_file():
            raise error(source, "(file)", "file not found", got=source, expected="an existing YAML file")
        try:
            text = p.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(source, "(file)", f"not UTF-8 text (byte {exc.start})", got=repr(exc.object[exc.start:exc.start + 4]),
                        expected="a UTF-8 YAML file") from None
        except OSError as exc:
            raise error(source, "(file)", "cannot be read", got=f"{type(exc).__name__}: {exc.strerror or exc}",
                        expected="a readable YAML file") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader) if fast else yaml.SafeLoader
    try:
        _check_depth(text, source, error, loader)  # before composing: the composer recurses once per level
        node = yaml.compose(text, Loader=loader)
        _check_size(node, source, error)
        data = yaml.safe_load(text) if not fast else (
            None if node is None else yaml.constructor.SafeConstructor().construct_document(node))
        ctx = Ctx(source, {}, error)
        _line_index(node, ctx, "", ctx.lines)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(source, "(yaml)", f"YAML syntax error{where}: {problem}") from None
    return data, ctx


def _check_depth(text: str, source: str, error: Type[SpecError], loader: type = yaml.SafeLoader) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, scanning tokens (no recursion)."""
    depth = 0
    for token in yaml.scan(text, Loader=loader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                line = token.start_mark.line + 1
                raise error(source, "(yaml)", f"nested too deeply (line {line})", got=f"more than {MAX_DEPTH} levels",
                            expected=f"at most {MAX_DEPTH} levels of mappings and lists")
        elif isinstance(token, _CLOSE):
            depth -= 1


def _check_size(root: Any, source: str, error: Type[SpecError]) -> None:
    """Refuse a document whose aliases expand to more than :data:`MAX_NODES` values, or that
    refers to itself (a node is counted once per path that reaches it; shared nodes are sized once)."""
    size: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, done = stack.pop()
        if node is None or id(node) in size:
            continue
        children = ([v for kv in node.value for v in kv] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if done:
            open_.discard(id(node))
            size[id(node)] = 1 + sum(size[id(c)] for c in children)
            if size[id(node)] > MAX_NODES:
                raise error(source, "(yaml)", f"aliases expand to more than {MAX_NODES} values (line "
                            f"{node.start_mark.line + 1})", got="an alias bomb or a huge document",
                            expected=f"at most {MAX_NODES} values")
            continue
        if id(node) in open_:
            raise error(source, "(yaml)", f"an alias refers to a node that contains it (line {node.start_mark.line + 1})",
                        got="a recursive structure", expected="a tree of values")
        open_.add(id(node))
        stack.append((node, True))
        for c in children:
            if id(c) in open_:
                raise error(source, "(yaml)", f"an alias refers to a node that contains it (line "
                            f"{c.start_mark.line + 1})", got="a recursive structure", expected="a tree of values")
            stack.append((c, False))


def _line_index(node: Any, ctx: Ctx, prefix: str, out: dict[str, int]) -> None:
    """Dotted key path -> 1-based line, from a composed YAML node tree; list elements are
    ``key[i]`` with the element's own line. Duplicate keys raise."""
    if isinstance(node, yaml.SequenceNode):
        base = prefix[:-1] if prefix.endswith(".") else prefix
        for i, item in enumerate(node.value):
            out[f"{base}[{i}]"] = item.start_mark.line + 1
            _line_index(item, ctx, f"{base}[{i}].", out)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for knode, vnode in node.value:
            key = f"{prefix}{knode.value}"
            if knode.value in seen:
                raise ctx.error_cls(ctx.source, key, f"duplicate key (line {knode.start_mark.line + 1})",
                                    got=repr(knode.value), expected="each key once")
            seen.add(knode.value)
            out[key] = knode.start_mark.line + 1
            _line_index(vnode, ctx, key + ".", out)


# -- validating ----------------------------------------------------------------------------------
def _shown(v: Any) -> str:
    return f"{v!r} ({type(v).__name__})"


def _number(ctx: Ctx, key: str, spec: Field, v: Any) -> Any:
    if spec.kind == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            what = "must be a whole number" + (" (write it without a decimal point)"
                                               if isinstance(v, float) and float(v).is_integer() else "")
            raise ctx.error(key, what, got=_shown(v), expected=spec.expected())
    else:
        if isinstance(v, str) and _NUMBER.match(v.strip()):
            v = float(v)  # YAML 1.1 reads 1e-9 (no dot) as a string; accept YAML 1.2 numbers
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ctx.error(key, "must be a number", got=_shown(v), expected=spec.expected())
        try:
            v = float(v)
        except OverflowError:
            raise ctx.error(key, "out of range", got=f"an integer of {len(str(v))} digits",
                            expected=spec.expected()) from None
        if v != v or v in (float("inf"), float("-inf")):
            raise ctx.error(key, "must be finite", got=v, expected=spec.expected())
    low = spec.minimum is not None and (v <= spec.minimum if spec.exclusive_minimum else v < spec.minimum)
    if low or (spec.maximum is not None and v > spec.maximum):
        raise ctx.error(key, "out of range" if v >= 0 else "must not be negative", got=v, expected=spec.expected())
    return v


def validate(ctx: Ctx, key: str, spec: Field, v: Any) -> Any:
    """Check ``v`` (found at dotted path ``key``) against ``spec``; return it converted."""
    if v is None:
        if spec.nullable:
            return None
        raise ctx.error(key, "value is required (null is not allowed here)", got="null", expected=spec.expected())
    kind = spec.kind
    if kind in ("int", "float"):
        return _number(ctx, key, spec, v)
    if kind == "bool":
        if not isinstance(v, bool):
            raise ctx.error(key, "must be true or false", got=_shown(v), expected=spec.expected())
        return v
    if kind in ("str", "choice"):
        if not isinstance(v, str) or not v.strip():
            raise ctx.error(key, "must be a non-empty string", got=_shown(v), expected=spec.expected())
        if kind == "choice" and v not in spec.choices:
            raise ctx.error(key, f"unknown value{did_you_mean(v, spec.choices)}", got=repr(v), expected=spec.expected())
        return v
    if kind == "grid":
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ctx.error(key, "must be a list of two whole numbers [x, y]", got=_shown(v), expected=spec.expected())
        item = Field("int", minimum=1, maximum=spec.maximum, doc=spec.doc)
        return tuple(validate(ctx, f"{key}[{i}]", item, x) for i, x in enumerate(v))
    if kind == "table":
        if not isinstance(v, dict) or not v:
            raise ctx.error(key, "must be a non-empty mapping {count: value}", got=_shown(v), expected=spec.expected())
        out = []
        for k, x in v.items():
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_TABLE_KEY:
                raise ctx.error(f"{key}.{k}", f"table keys must be whole numbers >= 1 and <= {MAX_TABLE_KEY}",
                                got=_shown(k), expected=f"1 <= int <= {MAX_TABLE_KEY}")
            out.append((k, validate(ctx, f"{key}.{k}", Field("float", unit=spec.unit, maximum=spec.maximum), x)))
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
    if kind == "section":
        return validate_section(ctx, v, spec.fields or {}, key)
    if kind == "variant":
        if not isinstance(v, dict):
            raise ctx.error(key, "must be a mapping", got=_shown(v), expected=spec.expected())
        name = spec.variants.choose(v)
        if not isinstance(name, str) or name not in spec.variants.options:
            where = f"{key}.{spec.variants.key}" if key else spec.variants.key
            choices = [n for n in spec.variants.options if n not in spec.variants.present.values()]
            raise ctx.error(where, "unknown kind" + did_you_mean(name, choices), got=repr(name),
                            expected=f"one of {choices}" + (f" (or give {', '.join(spec.variants.present)})"
                                                            if spec.variants.present else ""))
        return validate_section(ctx, v, spec.variants.options[name], key)
    raise TypeError(f"schema field kind {kind!r}")  # a schema bug, never user input


def validate_section(ctx: Ctx, data: Any, fields: Mapping[str, Field], where: str) -> dict[str, Any]:
    """Validate one mapping: unknown keys (with a did-you-mean), missing keys, each value;
    defaults fill the optional keys that are absent."""
    if not isinstance(data, dict):
        raise ctx.error(where or "(top level)", "must be a mapping of key: value", got=_shown(data),
                        expected="a YAML mapping")
    prefix = f"{where}." if where else ""
    for k in data:
        if k not in fields:
            raise ctx.error(f"{prefix}{k}", f"unknown key{did_you_mean(k, fields, prefix=prefix)}", got=repr(k),
                            expected=f"one of {list(fields)}")
    given = {k: validate(ctx, f"{prefix}{k}", spec, data[k]) for k, spec in fields.items() if k in data}
    out: dict[str, Any] = {}
    for k, spec in fields.items():  # the values given are checked first, then what is missing
        if k in given:
            out[k] = given[k]
        elif spec.required:
            raise ctx.error(f"{prefix}{k}", "missing required key", expected=spec.expected())
        elif spec.kind == "section" and spec.default is None and not spec.nullable:
            out[k] = validate_section(ctx, {}, spec.fields or {}, f"{prefix}{k}")
        else:
            out[k] = spec.default
    return out


# -- rendering -----------------------------------------------------------------------------------
def _type_text(spec: Field) -> str:
    typ = {"choice": " \\| ".join(str(c) for c in spec.choices), "section": "mapping",
           "variant": "mapping (one of several forms)"}.get(spec.kind, spec.kind)
    return typ + (" or null" if spec.nullable else "")


def schema_markdown(fields: Mapping[str, Field], *, title: str = "top level") -> str:
    """Markdown tables, one per section (nested sections follow their parent)."""
    out: list[str] = []

    def table(name: str, flds: Mapping[str, Field]) -> None:
        out.append(f"**`{name}`**\n")
        out.append("| key | type | unit | required | meaning |")
        out.append("|---|---|---|---|---|")
        nested = []
        for k, spec in flds.items():
            if spec.required:
                req = "yes"
            else:
                req = f"no (default {spec.default!r})" if spec.default is not None else "no"
            out.append(f"| `{k}` | {_type_text(spec)} | {spec.unit} | {req} | {spec.doc} |")
            if spec.kind == "section" and spec.fields:
                nested.append((k if name == title else f"{name}.{k}", spec.fields))
            if spec.kind == "variant":
                for vname, vf in spec.variants.options.items():
                    nested.append((f"{k if name == title else f'{name}.{k}'} ({vname})", vf))
        out.append("")
        for n, f in nested:
            table(n, f)

    table(title, fields)
    return "\n".join(out)


def _json(spec: Field) -> dict[str, Any]:
    doc = spec.doc + (f" [{spec.unit}]" if spec.unit else "")
    s: dict[str, Any]
    if spec.kind in ("int", "float"):
        s = {"type": "integer" if spec.kind == "int" else "number"}
        if spec.minimum is not None:
            s["exclusiveMinimum" if spec.exclusive_minimum else "minimum"] = spec.minimum
        if spec.maximum is not None:
            s["maximum"] = spec.maximum
    elif spec.kind == "bool":
        s = {"type": "boolean"}
    elif spec.kind == "str":
        s = {"type": "string", "minLength": 1}
    elif spec.kind == "choice":
        s = {"enum": list(spec.choices)}
    elif spec.kind == "grid":
        item: dict[str, Any] = {"type": "integer", "minimum": 1}
        if spec.maximum is not None:
            item["maximum"] = spec.maximum
        s = {"type": "array", "items": item, "minItems": 2, "maxItems": 2}
    elif spec.kind == "table":
        s = {"type": "object", "minProperties": 1, "patternProperties": {"^[1-9][0-9]*$": {"type": "number", "minimum": 0}},
             "additionalProperties": False}
    elif spec.kind == "strmap":
        s = {"type": "object", "additionalProperties": {"type": "string"}}
    elif spec.kind == "mapping":
        s = {"type": "object"}
    elif spec.kind == "section":
        s = _object(spec.fields or {})
    elif spec.kind == "variant":
        s = {"oneOf": [_object(f) for f in spec.variants.options.values()]}
    else:  # pragma: no cover - schema bug
        raise TypeError(spec.kind)
    if spec.nullable:
        s = {"anyOf": [s, {"type": "null"}]}
    if doc:
        s["description"] = doc
    if spec.default is not None and spec.kind not in ("section", "variant"):
        s["default"] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
    return s


def _object(fields: Mapping[str, Field]) -> dict[str, Any]:
    return {"type": "object", "properties": {k: _json(f) for k, f in fields.items()},
            "required": [k for k, f in fields.items() if f.required], "additionalProperties": False}


def json_schema(fields: Mapping[str, Field], *, title: str, description: str = "", schema_id: str = "") -> dict:
    """The schema as a JSON Schema (draft 2020-12) document."""
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title}
    if schema_id:
        out["$id"] = schema_id
    if description:
        out["description"] = description
    out.update(_object(fields))
    return out
