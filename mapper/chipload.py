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
import logging
import os
import re
import site
import sys
from pathlib import Path
from typing import Any, Optional, Union

import yaml

from neurosim.errors import ChipSpecError
from neurosim.validation.schema import Ctx, did_you_mean, load_yaml, validate, validate_section

from .chipschema import FIELDS, MAX_BOARD_CORES, MAX_BOARD_TILES, SCHEMA, SCHEMA_VERSION
from .chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel

__all__ = ["load_chip", "list_chips", "chip_from_dict", "load_chip_dict", "chip_dirs", "SCHEMA", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]
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
        hint = did_you_mean(s, files, cutoff=0.5)
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
    data, ctx = load_yaml(path, error=ChipSpecError)
    chip = _build(data, ctx=ctx, stem=path.stem)
    if chip_grid is not None:
        chip = _with_chip_grid(chip, chip_grid)
    log.debug("loaded chip %s from %s (%d cores)", chip.name, path, chip.n_cores)
    return chip


def chip_from_dict(d: dict, source: str = "<dict>") -> ChipSpec:
    """Validate an in-memory spec (same schema as the YAML files) and build a :class:`ChipSpec`."""
    return _build(d, ctx=Ctx(source, {}, ChipSpecError), stem=None)


def load_chip_dict(name_or_path: PathLike) -> tuple[dict, Path]:
    """A chip file as plain data (``yaml.safe_load``, not validated) and its resolved path.

    For variants of a chip (design-space sweeps): change keys of the dict, then validate it with
    :func:`chip_from_dict` exactly like a file.

    Raises
    ------
    ChipSpecError
        Unknown name, unreadable file, YAML syntax error, or a file that is not a mapping.
    """
    path = _resolve(name_or_path).resolve()
    data, ctx = load_yaml(path, error=ChipSpecError)
    if not isinstance(data, dict):
        raise ctx.error("", "must be a mapping of key: value", got=type(data).__name__, expected="a YAML mapping")
    return data, path


# -- parsing ---------------------------------------------------------------------------------
def _from_text(text: str, *, source: str, stem: Optional[str]) -> ChipSpec:
    data, ctx = load_yaml(source, error=ChipSpecError, text=text)
    return _build(data, ctx=ctx, stem=stem)


def _build(data: Any, *, ctx: Ctx, stem: Optional[str]) -> ChipSpec:
    source = ctx.source
    top = validate_section(ctx, data, FIELDS, "")
    if top["schema_version"] != SCHEMA_VERSION:
        raise ctx.error("schema_version", "unsupported schema version", got=top["schema_version"],
                        expected=SCHEMA_VERSION)
    name = top["name"]
    if not _NAME.match(name):
        raise ctx.error("name", "invalid chip name", got=repr(name), expected="letters, digits, '_', '.', '-'")
    if stem is not None and name != stem:
        raise ctx.error("name", "must equal the file name without .yaml", got=repr(name), expected=repr(stem))
    core, noc, board, energy, timing = (top[s] for s in ("core", "noc", "board", "energy", "timing"))
    _check_board(ctx, noc["tile_grid"], noc["cores_per_tile"], board["chip_grid"], key="noc.tile_grid")
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


def _check_board(ctx: Ctx, tile_grid: tuple[int, int], cores_per_tile: int, chip_grid: tuple[int, int], *,
                 key: str) -> None:
    """Refuse a board with more tiles or cores than the mapper's arrays are sized for."""
    tiles = tile_grid[0] * tile_grid[1] * chip_grid[0] * chip_grid[1]
    cores = tiles * cores_per_tile
    shape = (f"chip_grid {list(chip_grid)} x tile_grid {list(tile_grid)} x cores_per_tile {cores_per_tile}")
    if tiles > MAX_BOARD_TILES:
        raise ctx.error(key, f"the board would have {tiles} tiles ({shape})", got=tiles,
                        expected=f"at most {MAX_BOARD_TILES} tiles")
    if cores > MAX_BOARD_CORES:
        raise ctx.error(key, f"the board would have {cores} cores ({shape})", got=cores,
                        expected=f"at most {MAX_BOARD_CORES} cores")


def _with_chip_grid(chip: ChipSpec, chip_grid: Any) -> ChipSpec:
    ctx = Ctx(chip.source, {}, ChipSpecError)
    grid = validate(ctx, "board.chip_grid", SCHEMA["board"]["chip_grid"], chip_grid)
    _check_board(ctx, chip.noc.tile_grid, chip.noc.cores_per_tile, grid, key="board.chip_grid")
    return dataclasses.replace(chip, noc=dataclasses.replace(chip.noc, chip_grid=grid))
