"""``neurosim map``: map a saved network onto a chip and write the report, placement and plots.

::

    neurosim map (--network NET.npz [--activity ACT.npz] | --nir FILE.nir --dt S [--simulate STEPS]
                 [--input-rate R]) --chip NAME|FILE --out DIR
                 [--partitioner metis|sequential|hypergraph|steiner] [--placer anneal|block|hilbert|identity]
                 [--seed N] [--time-budget S] [--repair-budget S] [--steiner-budget S] [--assumed-rate R] [--no-splitters] [--sanafe] [--nir-out FILE.nir]
                 [--no-progress] [--force]

``--nir`` reads a NIR graph (snnTorch, Norse, Sinabs, Lava-DL ... exports) with
:func:`neurosim.nir.read.read_nir` at time step ``--dt`` seconds; ``report.json`` then has a
``nir`` section (populations, folded connections, approximations per node) and the summary lists
the approximations. With ``--simulate STEPS`` the network runs on the numpy backend with Poisson
spikes into its inputs (``--input-rate`` events per step per input neuron, seed ``--seed``) and
the measured activity is mapped instead of assumed rates.

Writes ``DIR/report.json``, ``DIR/placement.json``, ``DIR/summary.txt``,
``DIR/core_utilisation.png``, ``DIR/link_traffic.png`` (and, with ``--sanafe``,
``DIR/sanafe_network.yaml`` and ``DIR/sanafe_arch.yaml``: the network with its placement and the
chip as a SANA-FE 2.x architecture, :mod:`mapper.sanafe`; cross-check with ``arch =
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
per-neuron destination-core limit (TrueNorth) neurons whose targets span too many cores get splitter relays (:mod:`mapper.splitters`) unless ``--no-splitters``.
"""
from __future__ import annotations

import argparse
from typing import Optional

import numpy as np

from mapper import PLACERS, STRATEGIES, MappingResult, load_chip, map_network, write_sanafe, write_sanafe_arch
from neurosim.activity import ActivityProfile
from neurosim.backends import simulate
from neurosim.cli.common import StageProgress, seed_arg
from neurosim.cli.errors import UsageError
from neurosim.cli.mapout import MAP_OUTPUTS, check_out_dir, write_mapping
from neurosim.errors import NetworkError
from neurosim.io.network import load_network
from neurosim.ir import Network
from neurosim.nir.read import add_poisson_input, read_nir
from neurosim.nir.write import check_exportable, write_nir

__all__ = ["register", "cmd_map", "OUTPUTS"]

OUTPUTS = MAP_OUTPUTS
SANAFE_OUTPUTS = ("sanafe_network.yaml", "sanafe_arch.yaml")
ASSUMED_RATE = 0.01  # default --assumed-rate
INPUT_RATE = 0.1  # default --input-rate


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
    p.add_argument("--input-rate", type=float, metavar="R",
                   help=f"with --simulate: input events per step per input neuron (default {INPUT_RATE})")
    p.add_argument("--chip", required=True, metavar="NAME|FILE", help="chip name (see 'neurosim chips list') or YAML file")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--partitioner", default="metis", choices=sorted(STRATEGIES))
    p.add_argument("--placer", default="anneal", choices=sorted(PLACERS))
    p.add_argument("--seed", type=seed_arg, default=0)
    p.add_argument("--time-budget", type=float, default=30.0, metavar="S", help="placement refinement budget, seconds")
    p.add_argument("--repair-budget", type=float, default=60.0, metavar="S",
                   help="seconds each repair of a graph partitioner may take before sequential fill takes over "
                        "(default 60; 0 hands over at once)")
    p.add_argument("--steiner-budget", type=float, default=60.0, metavar="S",
                   help="seconds the 'steiner' partitioner's tile mapping may take before 'hypergraph' takes over")
    p.add_argument("--assumed-rate", type=float, metavar="R",
                   help=f"events per neuron per step when no --activity or --simulate is given "
                        f"(default {ASSUMED_RATE})")
    p.add_argument("--no-splitters", action="store_true",
                   help="fail instead of adding splitter relays when a neuron targets more cores than the chip allows")
    p.add_argument("--sanafe", action="store_true",
                   help="also write DIR/sanafe_network.yaml and DIR/sanafe_arch.yaml (SANA-FE 2.x network with its "
                        "placement, and the chip as an architecture) to cross-check with that simulator")
    p.add_argument("--nir-out", metavar="FILE.nir",
                   help="also write the mapped network as a NIR graph, placement in its metadata")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_map)


def cmd_map(args: argparse.Namespace) -> int:
    names = list(OUTPUTS) + (list(SANAFE_OUTPUTS) if args.sanafe else [])
    out = check_out_dir(args.out, names, force=args.force, option="--out", extra=[("--nir-out", args.nir_out)],
                        inputs=[("--network", args.network), ("--activity", args.activity), ("--nir", args.nir)])
    _check_options(args)
    report, extra = None, ""
    if args.nir is not None:
        network, activity, info = _read_nir(args)
    else:
        network = load_network(args.network)
        activity = None
        if args.activity is not None:
            activity = ActivityProfile.load(args.activity)
            try:
                activity.check_matches(network)
            except NetworkError as exc:
                raise UsageError(f"activity file '{args.activity}': does not fit network file "
                                 f"'{args.network}': {exc}") from None
    nir_outputs = _nir_outputs(network, info) if args.nir is not None else None
    if args.nir_out is not None:  # fail before mapping if the network has no faithful NIR form
        check_exportable(network, dt_s=_export_dt(args, network, activity), outputs=nir_outputs)
    chip = load_chip(args.chip)
    with StageProgress(enabled=not args.no_progress) as progress:
        result = map_network(network, chip, activity, partitioner=args.partitioner, placer=args.placer,
                             seed=args.seed, time_budget_s=args.time_budget,
                             assumed_rate=ASSUMED_RATE if args.assumed_rate is None else args.assumed_rate,
                             splitters=False if args.no_splitters else "auto", progress=progress,
                             repair_budget_s=args.repair_budget, steiner_budget_s=args.steiner_budget)
    if args.nir is not None:
        report = result.report.to_dict()
        report["nir"] = info
        extra = _nir_text(info)
    text, drawn = write_mapping(result, out, partitioner=args.partitioner, placer=args.placer, seed=args.seed,
                                report=report, extra_text=extra)
    if args.sanafe:
        write_sanafe(result.network, result, out / SANAFE_OUTPUTS[0], dt_s=result.graph.dt_s)
        write_sanafe_arch(result.chip, out / SANAFE_OUTPUTS[1])
    written = [str(out / n) for n in names if n in drawn or n not in MAP_OUTPUTS]
    if args.nir_out is not None:
        written.append(str(write_nir(result.network, args.nir_out, dt_s=_export_dt(args, network, activity),
                                     placement=placement_metadata(result), outputs=nir_outputs)))
    print(text, end="")
    print(f"wrote {', '.join(written)}")
    return 0


def _nir_outputs(network, info: dict) -> Optional[list[str]]:
    """The populations that fed the read graph's ``Output`` nodes (kept by ``--nir-out``), or
    ``None`` to let the export choose (populations that drive no other one)."""
    driven = {c.post for c in network.connections}
    pops = [p for node in (info.get("outputs") or {}).values() for p in node if p in driven]
    return list(dict.fromkeys(pops)) or None


def _check_options(args: argparse.Namespace) -> None:
    """Refuse bad option values, and options that would be silently ignored, before any work."""
    if min(args.time_budget, args.repair_budget, args.steiner_budget) < 0:
        raise UsageError(f"options: --time-budget, --repair-budget and --steiner-budget must be >= 0 "
                         f"(got {args.time_budget}, {args.repair_budget}, {args.steiner_budget})")
    if args.assumed_rate is not None and not 0.0 <= args.assumed_rate <= 1.0:
        raise UsageError(f"option --assumed-rate: out of range (got {args.assumed_rate}, expected a rate in [0, 1])")
    if (args.network is None) == (args.nir is None):
        raise UsageError("options: give exactly one of --network NET.npz and --nir FILE.nir")
    if args.nir is None:
        for opt in ("dt", "simulate"):
            if getattr(args, opt) is not None:
                raise UsageError(f"option --{opt}: only with --nir")
    elif args.activity is not None:
        raise UsageError("option --activity: not with --nir (use --simulate STEPS to measure activity)")
    if args.input_rate is not None and args.simulate is None:
        raise UsageError("option --input-rate: only with --simulate (without it no input spikes are simulated)")
    if args.assumed_rate is not None and (args.activity is not None or args.simulate is not None):
        given = "--activity" if args.activity is not None else "--simulate"
        raise UsageError(f"option --assumed-rate: not with {given} (the measured activity is mapped, "
                         f"no rate is assumed)")


def _export_dt(args: argparse.Namespace, network: Network, activity: Optional[ActivityProfile]) -> float:
    """The step of ``--nir-out``: ``--dt`` with ``--nir``, else the step of the activity that was mapped."""
    if args.dt is not None:
        return float(args.dt)
    return float((activity if activity is not None else ActivityProfile.assumed(network, 0.0)).dt_s)


def placement_metadata(result: MappingResult) -> dict:
    """The placement as NIR metadata: chip name and, per population, the board core index of each neuron."""
    g = result.graph
    core = np.asarray(result.placement.core, dtype=np.int64)[np.asarray(result.partition.part, dtype=np.int64)]
    return {"format": "neurosim-placement", "chip": result.chip.name, "n_cores": int(result.chip.n_cores),
            "cores": {name: core[g.pop_offsets[i]:g.pop_offsets[i + 1]] for i, name in enumerate(g.pop_names)}}


def _read_nir(args: argparse.Namespace) -> tuple[Network, Optional[ActivityProfile], dict]:
    """The network of ``--nir`` and, with ``--simulate``, its measured activity."""
    if args.dt is None:
        raise UsageError("option --dt: required with --nir (time step in seconds, e.g. --dt 1e-3)")
    network, info = read_nir(args.nir, dt_s=args.dt)
    if args.simulate is None:
        return network, None, info
    if args.simulate < 1:
        raise UsageError(f"option --simulate: must be a positive number of steps (got {args.simulate})")
    rate = INPUT_RATE if args.input_rate is None else args.input_rate
    driven = add_poisson_input(network, info, rate_per_step=rate, dt_s=args.dt)
    res = simulate(driven, steps=args.simulate, dt_s=args.dt, backend="numpy", seed=args.seed)
    info["simulation"] = {"steps": args.simulate, "backend": "numpy", "input": "poisson",
                          "input_rate_per_step": rate, "seed": args.seed}
    return network, res.activity, info


def _nir_text(info: dict) -> str:
    """Summary lines: what was read and the approximations made, per NIR node."""
    lines = [f"NIR graph {info['source']}: {len(info['populations'])} populations, "
             f"{len(info['connections'])} connections at dt {info['dt_s']:g} s",
             f"  convention: {info['convention']}"]
    if "simulation" in info:
        sim = info["simulation"]
        lines.append(f"  activity simulated: {sim['steps']} steps, Poisson input {sim['input_rate_per_step']:g} "
                     f"events/step per input neuron")
    for node, notes in info["approximations"].items():
        lines += [f"  approximation, node '{node}': {note}" for note in notes]
    return "\n".join(lines) + "\n"
