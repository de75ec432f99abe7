"""``neurosim chips``: list the shipped chip specifications, validate chip files, print schemas.

``neurosim chips list`` prints one row per chip found by name (see
:func:`mapper.chipload.list_chips`); ``neurosim chips validate FILE`` loads a file with every
check :func:`mapper.chipload.load_chip` makes, prints a summary and ``ok``, or prints the one-line
error and exits with code 2; ``neurosim chips schema [--experiment | --sweep] [--out FILE]``
prints (or writes atomically) the JSON Schema of chip files (or of experiment or sweep files),
which editors use to complete and check them (``chips/chip.schema.json``,
``examples/experiment.schema.json`` and ``examples/sweeps/sweep.schema.json`` are the shipped copies).
"""
from __future__ import annotations

import argparse

import json

from mapper import ChipSpec, list_chips, load_chip
from mapper.chipschema import chip_json_schema
from neurosim.app.experiment import experiment_json_schema
from neurosim.app.sweepspec import sweep_json_schema
from neurosim.io.atomic import atomic_write_text
from neurosim.io.outpaths import check_outputs

__all__ = ["register", "cmd_list", "cmd_validate", "cmd_schema", "summary", "schema_text"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("chips", help="list or validate chip specification files",
                              description="List the shipped chip specifications or validate a chip YAML file.")
    sub = p.add_subparsers(dest="chips_command", metavar="ACTION")
    sub.required = True
    pl = sub.add_parser("list", help="table of known chips: name, cores, chips, cost status and source")
    pl.set_defaults(func=cmd_list)
    pv = sub.add_parser("validate", help="check a chip YAML file (or a chip name) and print a summary")
    pv.add_argument("file", metavar="FILE", help="path to a chip YAML file, or a chip name")
    pv.set_defaults(func=cmd_validate)
    ps = sub.add_parser("schema", help="print the JSON Schema of chip files (or of experiment or sweep files)")
    which = ps.add_mutually_exclusive_group()
    which.add_argument("--experiment", action="store_true", help="the schema of experiment files instead")
    which.add_argument("--sweep", action="store_true", help="the schema of sweep files (neurosim sweep) instead")
    ps.add_argument("--out", metavar="FILE", help="write it to FILE instead of printing it")
    ps.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    ps.set_defaults(func=cmd_schema)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def cmd_list(args: argparse.Namespace) -> int:
    rows = [["name", "cores", "chips", "status", "cost source"]]
    for name, path, _desc in list_chips():
        try:
            chip = load_chip(path)
            rows.append([name, str(chip.n_cores), str(chip.n_chips), chip.cost_status, chip.cost_source])
        except Exception as exc:  # a broken file must not hide the others
            rows.append([name, "-", "-", "INVALID", str(exc)])
    print(_table(rows))
    return 0


def summary(chip: ChipSpec) -> str:
    """Human-readable multi-line summary of a chip (what ``chips validate`` prints)."""
    c, n, e, t = chip.core, chip.noc, chip.energy, chip.timing
    lines = [
        f"chip         {chip.name}: {chip.description}",
        f"file         {chip.source}",
        f"geometry     {n.tile_grid[0]}x{n.tile_grid[1]} tiles x {n.cores_per_tile} cores/tile = "
        f"{chip.cores_per_chip} cores/chip; board {n.chip_grid[0]}x{n.chip_grid[1]} chips = {chip.n_cores} cores; "
        f"routing {n.routing}",
        f"core limits  {c.max_compartments} compartments, {c.max_in_axons} in-axons, {c.max_out_axons} out-axons, "
        f"{c.synapse_mem_bits} synapse bits ({c.synapse_word_bits}-bit words), {c.weight_bits}-bit weights",
        f"energy       syn_op {e.syn_op * 1e12:g} pJ, neuron update {e.neuron_update_active * 1e12:g}/"
        f"{e.neuron_update_inactive * 1e12:g} pJ (active/inactive, policy {e.active_policy}), "
        f"hop {e.hop_ew * 1e12:g}/{e.hop_ns * 1e12:g} pJ (EW/NS), static {e.static_power_w_per_chip * 1e3:g} mW/chip",
        f"timing       syn_op {t.syn_op * 1e9:g} ns, neuron update {t.neuron_update_active * 1e9:g} ns, "
        f"barrier {t.barrier_s(1) * 1e9:g} ns (1 tile) .. {t.barrier_s(chip.noc.tile_grid[0] * chip.noc.tile_grid[1]) * 1e9:g} ns "
        f"(all tiles, {t.barrier_interp}), min step {t.min_step_s:g} s",
        f"cost source  {chip.cost_source} [{chip.cost_status}]",
        f"unpublished  energy: {', '.join(e.unpublished_keys) or '-'}; timing: {', '.join(t.unpublished_keys) or '-'}",
    ]
    return "\n".join(lines)


def cmd_validate(args: argparse.Namespace) -> int:
    chip = load_chip(args.file)
    print(summary(chip))
    print("ok")
    return 0


def schema_text(experiment: bool = False, sweep: bool = False) -> str:
    """The JSON Schema of chip (or experiment, or sweep) files, as indented JSON text."""
    schema = experiment_json_schema() if experiment else sweep_json_schema() if sweep else chip_json_schema()
    return json.dumps(schema, indent=1) + "\n"


def cmd_schema(args: argparse.Namespace) -> int:
    text = schema_text(args.experiment, args.sweep)
    if args.out is None:
        print(text, end="")
        return 0
    check_outputs([("--out", args.out)], force=args.force)
    atomic_write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0
