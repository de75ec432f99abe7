"""``neurosim map``: map a saved network onto a chip and write the report, placement and plots.

::

    neurosim map (--network NET.npz [--activity ACT.npz] | --nir FILE.nir --dt S [--spikes pulse|dirac]
                 [--threshold '>'|'>='] [--input-shape C,H,W] [--simulate STEPS] [--input-rate R]
                 | --sanafe-net FILE.yaml [--dt S] [--activity ACT.npz] [--remap])
                 --chip NAME|FILE --out DIR
                 [--partitioner metis|sequential|hypergraph|steiner] [--placer anneal|block|hilbert|identity]
                 [--seed N] [--time-budget S] [--repair-budget S] [--steiner-budget S] [--assumed-rate R] [--no-splitters] [--sanafe] [--nir-out FILE.nir]
                 [--max-memory SIZE] [--max-duration T] [--no-progress] [--force]

``--nir`` reads a NIR graph (snnTorch, Norse, Sinabs, Lava-DL ... exports) with
:func:`neurosim.nir.read.read_nir` at time step ``--dt`` seconds; ``report.json`` then has a
``nir`` section (populations, folded connections, approximations per node) and the summary lists
the approximations. ``--spikes`` is the exporter's spike convention (``pulse``, the default: a
one-step pulse of area ``dt``, snnTorch; ``dirac``: an impulse of area 1, Norse ``IAF``, Sinabs),
``--threshold`` forces the spike condition of every layer (default: NIR's ``>``, or what neurosim
recorded in the graph), ``--input-shape`` gives the Input's shape without a batch axis (a leading
axis of 1 is dropped with a note when the graph needs it dropped); the report's ``nir`` section
and the summary name them. With ``--simulate STEPS`` the network runs on the default backend with Poisson
spikes into its inputs (``--input-rate`` events per step per input neuron, seed ``--seed``) and
the measured activity is mapped instead of assumed rates (when no neuron but the input relays
fires, a warning goes to stderr and to the report's notes: the graph was probably read at the
wrong ``--dt`` or ``--spikes``); the graph's layers and the simulation
are estimated from their shapes first and refused beyond ``--max-memory`` / ``--max-duration``, and
a long simulation announces its estimated duration; its progress bar (with the time left) is drawn
on stderr when it is a terminal, like the mapping stages' bars, unless ``--no-progress``.

``--sanafe-net`` reads a SANA-FE 2.x network file (:func:`mapper.interchange.read_sanafe_network`,
its per-step ``leak_decay`` and ``bias`` at time step ``--dt``, default 1e-3 s); when its
``mappings`` section places every neuron, that placement is costed as given
(:func:`mapper.evaluate_placement`, every per-core limit re-checked) unless ``--remap`` asks for a
new mapping, and the strategy options (``--partitioner``, ``--placer``, budgets,
``--no-splitters``) are refused as having no effect; ``report.json`` then has a ``sanafe`` section
and the summary lists what did not translate exactly.

Writes ``DIR/report.json``, ``DIR/placement.json``, ``DIR/summary.txt``,
``DIR/core_utilisation.png``, ``DIR/link_traffic.png`` (and, with ``--sanafe``,
``DIR/sanafe_network.yaml`` and ``DIR/sanafe_arch.yaml``: the network with its placement and the
chip as a SANA-FE 2.x architecture; cross-check with ``arch =
sanafe.load_arch("sanafe_arch.yaml"); net = sanafe.load_net("sanafe_network.yaml", arch); hw =
sanafe.SpikingChip(arch); hw.load(net); hw.sim(STEPS)``; and the mapped network as a NIR graph with ``--nir-out FILE.nir``:
:func:`neurosim.nir.write.write_nir` at ``--dt`` (or the mapping's step), with the placement in
the graph's metadata, ``{"chip": name, "cores": {population: board core index per neuron}}``, the
same assignment as ``placement.json``); prints the summary. Existing files are kept unless ``--force``. Without
``--activity`` every neuron is assumed to emit ``--assumed-rate`` events per step, and the report
says so. Options that would have no effect are refused rather than ignored: ``--assumed-rate`` with
``--activity`` or ``--simulate`` (the measured activity is mapped), ``--input-rate`` without
``--simulate``, ``--dt``/``--simulate`` without ``--nir``, ``--steiner-budget`` unless
``--partitioner steiner``, ``--repair-budget`` with ``--partitioner sequential`` (it has no
repair), ``--time-budget`` unless ``--placer anneal`` (the others do not refine). Every output path (``--out`` and its
files, ``--nir-out``) is checked before any work (:mod:`neurosim.io.outpaths`): not empty, not
below a regular file, no two outputs the same file, no output one of the inputs. The files in
``DIR`` are bracketed by the run record ``DIR/.neurosim-run.json`` (:mod:`neurosim.io.runrecord`:
``"writing"`` before the first, ``"complete"`` with sizes and SHA-256 after the last); the files of
an interrupted run are replaced without ``--force``, and a ``--network``/``--activity`` from a
directory whose record says incomplete is refused. On a chip with a
per-neuron destination-core limit (TrueNorth) neurons whose targets span too many cores get splitter relays (:mod:`mapper.partition.splitters`) unless ``--no-splitters``.
"""
from __future__ import annotations

import argparse
import sys

from mapper import PLACERS, STRATEGIES, MappingOptions, write_sanafe, write_sanafe_arch
from neurosim.app.mapping import (INPUT_RATE, load_network_file, load_nir_graph, load_sanafe_file, map_input,
                                  placement_metadata)
from neurosim.app.outputs import MAP_OUTPUTS, check_out_dir, interrupted_note, write_mapping
from neurosim.cli.common import (StageProgress, add_limit_options, announce, limits_of, note, rate_arg,
                                 refuse_unless, seconds_arg, seed_arg)
from neurosim.cli.errors import UsageError
from neurosim.io.runrecord import RunRecord, check_input_complete
from neurosim.nir.write import check_exportable, write_nir

__all__ = ["register", "cmd_map", "OUTPUTS"]

OUTPUTS = MAP_OUTPUTS
SANAFE_OUTPUTS = ("sanafe_network.yaml", "sanafe_arch.yaml")
_DEFAULTS = MappingOptions()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("map", help="map a saved network onto a chip: report, placement, plots",
                              description="Partition, place and route a saved network on a chip and estimate "
                                          "traffic, energy and latency.")
    p.add_argument("--network", metavar="NET.npz", help="network saved by neurosim.io.network.save_network")
    p.add_argument("--activity", metavar="ACT.npz", help="activity profile (ActivityProfile.save); default: assumed rates")
    p.add_argument("--nir", metavar="FILE.nir", help="a NIR graph instead of --network (needs --dt; pip install 'neurosim[nir]')")
    p.add_argument("--sanafe-net", metavar="FILE.yaml",
                   help="a SANA-FE 2.x network file instead of --network; its mappings section, when complete, is "
                        "costed as given")
    p.add_argument("--remap", action="store_true",
                   help="with --sanafe-net: map the network anew instead of costing the file's own placement")
    p.add_argument("--dt", type=float, metavar="S",
                   help="time step in seconds used to discretise the NIR graph (with --sanafe-net: to read the "
                        "per-step leak and bias at, default 1e-3)")
    p.add_argument("--spikes", choices=("pulse", "dirac"),
                   help="with --nir: spike convention of the exporter: 'pulse' (one step long, area dt: snnTorch; "
                        "the default) or 'dirac' (area 1: Norse IAF, Sinabs)")
    p.add_argument("--threshold", choices=(">", ">="),
                   help="with --nir: spike condition of every layer (default: NIR's '>', or the one neurosim "
                        "recorded in the graph; Sinabs fires on '>=')")
    p.add_argument("--input-shape", type=shape_arg, metavar="C,H,W",
                   help="with --nir: shape of the graph's Input without a batch axis, e.g. 2,34,34")
    p.add_argument("--simulate", type=int, metavar="STEPS",
                   help="with --nir: simulate STEPS steps with Poisson input and map the measured activity")
    p.add_argument("--input-rate", type=rate_arg, metavar="R",
                   help=f"with --simulate: input events per step per input neuron (default {INPUT_RATE})")
    p.add_argument("--chip", required=True, metavar="NAME|FILE", help="chip name (see 'neurosim chips list') or YAML file")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--partitioner", default=_DEFAULTS.partitioner, choices=sorted(STRATEGIES),
                   help=f"how neurons are split into cores (default {_DEFAULTS.partitioner})")
    p.add_argument("--placer", default=_DEFAULTS.placer, choices=sorted(PLACERS),
                   help=f"how cores are placed on the mesh (default {_DEFAULTS.placer})")
    p.add_argument("--seed", type=seed_arg, default=_DEFAULTS.seed, help=f"mapping seed (default {_DEFAULTS.seed})")
    # budgets default to None (the user did not give them) so that one without effect can be refused
    p.add_argument("--time-budget", type=seconds_arg, metavar="S",
                   help=f"wall-clock cap of the placement search of --placer anneal, seconds (default "
                        f"{_DEFAULTS.time_budget_s:g}; 0: no cap); the search does a fixed amount of work, so a seed "
                        "gives the same mapping on any machine unless the cap binds (the report then says so)")
    p.add_argument("--repair-budget", type=seconds_arg, metavar="S",
                   help="wall-clock cap of each repair of a graph partitioner (not sequential), seconds; past it "
                        f"sequential fill takes over and the report says so (default {_DEFAULTS.repair_budget_s:g}; "
                        "0 hands over at once)")
    p.add_argument("--steiner-budget", type=seconds_arg, metavar="S",
                   help="wall-clock cap of the 'steiner' partitioner's tile mapping, seconds; past it 'hypergraph' "
                        f"takes over and the report says so (default {_DEFAULTS.steiner_budget_s:g}; only with "
                        "--partitioner steiner)")
    p.add_argument("--assumed-rate", type=rate_arg, metavar="R",
                   help="events per neuron per step when no --activity or --simulate is given "
                        f"(default {_DEFAULTS.assumed_rate})")
    p.add_argument("--no-splitters", action="store_true",
                   help="fail instead of adding splitter relays when a neuron targets more cores than the chip allows")
    p.add_argument("--sanafe", action="store_true",
                   help="also write DIR/sanafe_network.yaml and DIR/sanafe_arch.yaml (SANA-FE 2.x network with its "
                        "placement, and the chip as an architecture) to cross-check with that simulator")
    p.add_argument("--nir-out", metavar="FILE.nir",
                   help="also write the mapped network as a NIR graph, placement in its metadata")
    add_limit_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    names = list(OUTPUTS) + (list(SANAFE_OUTPUTS) if args.sanafe else [])
    out = check_out_dir(args.out, names, force=args.force, option="--out", extra=[("--nir-out", args.nir_out)],
                        inputs=[("--network", args.network), ("--activity", args.activity), ("--nir", args.nir),
                                ("--sanafe-net", args.sanafe_net)])
    _check_options(args)
    note(args, interrupted_note(out))
    given = {k: v for k, v in (("time_budget_s", args.time_budget), ("repair_budget_s", args.repair_budget),
                               ("steiner_budget_s", args.steiner_budget), ("assumed_rate", args.assumed_rate))
             if v is not None}
    options = MappingOptions(partitioner=args.partitioner, placer=args.placer, seed=args.seed,
                             splitters=False if args.no_splitters else "auto", **given)
    if args.nir is not None:
        with StageProgress(enabled=not args.no_progress, prefix="map") as sim_progress:
            inp = load_nir_graph(args.nir, dt_s=args.dt, simulate_steps=args.simulate, seed=args.seed,
                                 input_rate=INPUT_RATE if args.input_rate is None else args.input_rate,
                                 spikes=args.spikes or "pulse", threshold=args.threshold,
                                 input_shape=args.input_shape, progress=sim_progress, limits=limits_of(args),
                                 announce=announce)
        for warning in inp.nir.get("warnings", []):
            print(f"warning: {warning}", file=sys.stderr)
    elif args.sanafe_net is not None:
        inp = load_sanafe_file(args.sanafe_net, dt_s=1e-3 if args.dt is None else args.dt, activity=args.activity,
                               remap=args.remap)
        if inp.given_placement:
            _check_given(args)
    else:
        inp = load_network_file(args.network, args.activity)
    if args.nir_out is not None:  # fail before mapping if the network has no faithful NIR form
        check_exportable(inp.network, dt_s=inp.dt_s, outputs=inp.nir_outputs)
    with StageProgress(enabled=not args.no_progress) as progress:
        mapped = map_input(inp, args.chip, options, progress=progress)
    result = mapped.result
    record = RunRecord(out, names, command=getattr(args, "command_line", None)).start()
    text, drawn = write_mapping(result, out, partitioner=args.partitioner, placer=args.placer, seed=args.seed,
                                report=mapped.report, extra_text=mapped.extra_text)
    if args.sanafe:
        write_sanafe(result.network, result, out / SANAFE_OUTPUTS[0], dt_s=result.graph.dt_s)
        write_sanafe_arch(result.chip, out / SANAFE_OUTPUTS[1])
    in_dir = [n for n in names if n in drawn or n not in MAP_OUTPUTS]
    written = [str(out / n) for n in in_dir]
    if args.nir_out is not None:
        written.append(str(write_nir(result.network, args.nir_out, dt_s=inp.dt_s,
                                     placement=placement_metadata(result), outputs=inp.nir_outputs)))
    record.complete(in_dir)  # the last write
    print(text, end="")
    print(f"wrote {', '.join(written)}")
    return 0


def shape_arg(text: str) -> tuple[int, ...]:
    """``"2,34,34"`` as ``(2, 34, 34)``: whole dimensions >= 1, comma-separated."""
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(","))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"invalid shape {text!r} (expected whole dimensions >= 1 separated by "
                                         "commas, e.g. 2,34,34)")
    return dims


def _check_options(args: argparse.Namespace) -> None:
    """Refuse options that would be silently ignored, before any work (values are checked by
    :class:`~mapper.MappingOptions` and the library)."""
    if sum(x is not None for x in (args.network, args.nir, args.sanafe_net)) != 1:
        raise UsageError("options: give exactly one of --network NET.npz, --nir FILE.nir and --sanafe-net FILE.yaml")
    if args.remap and args.sanafe_net is None:
        raise UsageError("option --remap: only with --sanafe-net (the other inputs carry no placement)")
    if args.nir is None:
        for opt in ("dt", "simulate", "spikes", "threshold", "input_shape"):
            if getattr(args, opt) is not None and not (opt == "dt" and args.sanafe_net is not None):
                also = " or --sanafe-net" if opt == "dt" else ""
                raise UsageError(f"option --{opt.replace('_', '-')}: only with --nir{also}")
    else:
        if args.activity is not None:
            raise UsageError("option --activity: not with --nir (use --simulate STEPS to measure activity)")
        if args.dt is None:
            raise UsageError("option --dt: required with --nir (time step in seconds, e.g. --dt 1e-3)")
    check_input_complete(args.network, "--network")
    check_input_complete(args.activity, "--activity")
    refuse_unless(args, "steiner_budget", args.partitioner == "steiner",
                  f"only with --partitioner steiner (got --partitioner {args.partitioner}, which has no tile "
                  "mapping to budget)")
    refuse_unless(args, "repair_budget", args.partitioner != "sequential",
                  "not with --partitioner sequential (sequential fill has no repair to budget)")
    refuse_unless(args, "time_budget", args.placer == "anneal",
                  f"only with --placer anneal (got --placer {args.placer}, which does not refine)")
    if args.input_rate is not None and args.simulate is None:
        raise UsageError("option --input-rate: only with --simulate (without it no input spikes are simulated)")
    if args.assumed_rate is not None and (args.activity is not None or args.simulate is not None):
        given = "--activity" if args.activity is not None else "--simulate"
        raise UsageError(f"option --assumed-rate: not with {given} (the measured activity is mapped, "
                         f"no rate is assumed)")


def _check_given(args: argparse.Namespace) -> None:
    """Refuse strategy options when the SANA-FE file's own placement is costed (they would do nothing)."""
    changed = [f"--{k.replace('_', '-')}" for k, default in (
        ("partitioner", _DEFAULTS.partitioner), ("placer", _DEFAULTS.placer), ("time_budget", None),
        ("repair_budget", None), ("steiner_budget", None), ("no_splitters", False))  # budgets: None unless given
        if getattr(args, k) != default]
    if changed:
        raise UsageError(f"option {changed[0]}: no effect, the SANA-FE file's own placement is costed as given "
                         "(add --remap to map the network anew)")
