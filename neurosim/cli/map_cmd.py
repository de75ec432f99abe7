"""``neurosim map``: map a saved network onto a chip and write the report, placement and plots.

::

    neurosim map (--network NET.npz [--activity ACT.npz] | --nir FILE.nir --dt S [--simulate STEPS]
                 [--input-rate R]) --chip NAME|FILE --out DIR
                 [--partitioner metis|sequential|hypergraph|steiner] [--placer anneal|block|hilbert|identity]
                 [--seed N] [--time-budget S] [--repair-budget S] [--steiner-budget S] [--assumed-rate R] [--no-splitters] [--sanafe] [--nir-out FILE.nir]
                 [--max-memory SIZE] [--max-duration T] [--no-progress] [--force]

``--nir`` reads a NIR graph (snnTorch, Norse, Sinabs, Lava-DL ... exports) with
:func:`neurosim.nir.read.read_nir` at time step ``--dt`` seconds; ``report.json`` then has a
``nir`` section (populations, folded connections, approximations per node) and the summary lists
the approximations. With ``--simulate STEPS`` the network runs on the default backend with Poisson
spikes into its inputs (``--input-rate`` events per step per input neuron, seed ``--seed``) and
the measured activity is mapped instead of assumed rates; the graph's layers and the simulation
are estimated from their shapes first and refused beyond ``--max-memory`` / ``--max-duration``, and
a long simulation announces its estimated duration and shows a progress bar.

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
``--simulate``, ``--dt``/``--simulate`` without ``--nir``. Every output path (``--out`` and its
files, ``--nir-out``) is checked before any work (:mod:`neurosim.io.outpaths`): not empty, not
below a regular file, no two outputs the same file, no output one of the inputs. On a chip with a
per-neuron destination-core limit (TrueNorth) neurons whose targets span too many cores get splitter relays (:mod:`mapper.partition.splitters`) unless ``--no-splitters``.
"""
from __future__ import annotations

import argparse

from mapper import PLACERS, STRATEGIES, MappingOptions, write_sanafe, write_sanafe_arch
from neurosim.app.mapping import INPUT_RATE, load_network_file, load_nir_graph, map_input, placement_metadata
from neurosim.app.outputs import MAP_OUTPUTS, check_out_dir, write_mapping
from neurosim.cli.common import (StageProgress, add_limit_options, announce, limits_of, rate_arg, seconds_arg,
                                 seed_arg)
from neurosim.cli.errors import UsageError
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
    p.add_argument("--dt", type=float, metavar="S", help="time step in seconds used to discretise the NIR graph")
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
    p.add_argument("--time-budget", type=seconds_arg, default=_DEFAULTS.time_budget_s, metavar="S",
                   help=f"wall-clock cap of the placement search, seconds (default {_DEFAULTS.time_budget_s:g}; 0: "
                        "no cap); the search does a fixed amount of work, so a seed gives the same mapping on any "
                        "machine unless the cap binds (the report then says so)")
    p.add_argument("--repair-budget", type=seconds_arg, default=_DEFAULTS.repair_budget_s, metavar="S",
                   help="wall-clock cap of each repair of a graph partitioner, seconds; past it sequential fill "
                        f"takes over and the report says so (default {_DEFAULTS.repair_budget_s:g}; 0 hands over at "
                        "once)")
    p.add_argument("--steiner-budget", type=seconds_arg, default=_DEFAULTS.steiner_budget_s, metavar="S",
                   help="wall-clock cap of the 'steiner' partitioner's tile mapping, seconds; past it 'hypergraph' "
                        f"takes over and the report says so (default {_DEFAULTS.steiner_budget_s:g})")
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
                        inputs=[("--network", args.network), ("--activity", args.activity), ("--nir", args.nir)])
    _check_options(args)
    options = MappingOptions(partitioner=args.partitioner, placer=args.placer, seed=args.seed,
                             time_budget_s=args.time_budget, repair_budget_s=args.repair_budget,
                             steiner_budget_s=args.steiner_budget, splitters=False if args.no_splitters else "auto",
                             **({} if args.assumed_rate is None else {"assumed_rate": args.assumed_rate}))
    if args.nir is not None:
        inp = load_nir_graph(args.nir, dt_s=args.dt, simulate_steps=args.simulate, seed=args.seed,
                             input_rate=INPUT_RATE if args.input_rate is None else args.input_rate,
                             progress=not args.no_progress, limits=limits_of(args), announce=announce)
    else:
        inp = load_network_file(args.network, args.activity)
    if args.nir_out is not None:  # fail before mapping if the network has no faithful NIR form
        check_exportable(inp.network, dt_s=inp.dt_s, outputs=inp.nir_outputs)
    with StageProgress(enabled=not args.no_progress) as progress:
        mapped = map_input(inp, args.chip, options, progress=progress)
    result = mapped.result
    text, drawn = write_mapping(result, out, partitioner=args.partitioner, placer=args.placer, seed=args.seed,
                                report=mapped.report, extra_text=mapped.extra_text)
    if args.sanafe:
        write_sanafe(result.network, result, out / SANAFE_OUTPUTS[0], dt_s=result.graph.dt_s)
        write_sanafe_arch(result.chip, out / SANAFE_OUTPUTS[1])
    written = [str(out / n) for n in names if n in drawn or n not in MAP_OUTPUTS]
    if args.nir_out is not None:
        written.append(str(write_nir(result.network, args.nir_out, dt_s=inp.dt_s,
                                     placement=placement_metadata(result), outputs=inp.nir_outputs)))
    print(text, end="")
    print(f"wrote {', '.join(written)}")
    return 0


def _check_options(args: argparse.Namespace) -> None:
    """Refuse options that would be silently ignored, before any work (values are checked by
    :class:`~mapper.MappingOptions` and the library)."""
    if (args.network is None) == (args.nir is None):
        raise UsageError("options: give exactly one of --network NET.npz and --nir FILE.nir")
    if args.nir is None:
        for opt in ("dt", "simulate"):
            if getattr(args, opt) is not None:
                raise UsageError(f"option --{opt}: only with --nir")
    else:
        if args.activity is not None:
            raise UsageError("option --activity: not with --nir (use --simulate STEPS to measure activity)")
        if args.dt is None:
            raise UsageError("option --dt: required with --nir (time step in seconds, e.g. --dt 1e-3)")
    if args.input_rate is not None and args.simulate is None:
        raise UsageError("option --input-rate: only with --simulate (without it no input spikes are simulated)")
    if args.assumed_rate is not None and (args.activity is not None or args.simulate is not None):
        given = "--activity" if args.activity is not None else "--simulate"
        raise UsageError(f"option --assumed-rate: not with {given} (the measured activity is mapped, "
                         f"no rate is assumed)")
