#!/usr/bin/env python
"""Mapper scale: 1 M neurons / 10 M synapses partitioned, placed and routed (target < 2 min, < 8 GiB).

Network: the locally connected sheet of ``benchmarks/mapping_nets.py`` at 1024 x 1024 (1,048,576
neurons, ~10 M synapses, Poisson activity at 0.05 events per step). Chip: ``loihi1`` on a 4 x 2
board (8 chips, 1,024 cores: the network fills every compartment of the board, so the repair must
balance the parts exactly). Pipeline: ``map_network`` with METIS + annealing (its default fixed
work, with a wall-clock cap of ``--budget`` seconds on the placement), i.e. graph build, partition + repair, nets, placement, routing and the
estimate. Peak memory is the process's ``ru_maxrss`` (``resource.getrusage``), wall times per stage
come from the report.

The same run also tries sequential fill + identity placement (the default of other tool chains);
on this board it does not fit (sequential runs of a 1024-wide sheet bind on input axons and need
far more cores), which the run reports with the CapacityError's figures.

At ``--side 1024`` (the target's size) a run records the time and memory targets in the summary
table at the top of ``benchmarks/RESULTS.md`` (``results_log.record_targets``).

Run: ``python benchmarks/bench_mapping_scale.py [--side 1024] [--budget 300] [--no-append]``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapping_nets import append_results, sheet  # noqa: E402
from results_log import Target, record_targets  # noqa: E402

from mapper import map_network  # noqa: E402
from mapper.chipload import load_chip  # noqa: E402
from neurosim.errors import CapacityError  # noqa: E402
HEADING = "## Mapper scale: 1 M neurons / 10 M synapses (bench_mapping_scale.py)"
TIME_GOAL_S, MEM_GOAL_MIB = 120.0, 8192.0


def scale_targets(wall_s: float, rss_mib: float) -> list[Target]:
    """Summary-table rows: the 1 M-neuron mapping under 2 minutes and 8 GiB."""
    title = "Mapper scale, 1 M neurons / 10 M synapses on loihi1 (METIS + anneal)"
    return [Target("mapping.scale.time", f"{title}: wall time", f"{wall_s:.1f} s", f"< {TIME_GOAL_S:.0f} s",
                   wall_s < TIME_GOAL_S, "bench_mapping_scale.py"),
            Target("mapping.scale.memory", f"{title}: peak RSS", f"{rss_mib:.0f} MiB", "< 8 GiB (8192 MiB)",
                   rss_mib < MEM_GOAL_MIB, "bench_mapping_scale.py")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--side", type=int, default=1024, help="sheet side (1024 -> 1 M neurons)")
    ap.add_argument("--budget", type=float, default=300.0,
                    help="wall-clock cap of the placement, seconds (default 300, map_network's; 0: none)")
    ap.add_argument("--chips", default="4x2", help="board chip grid, e.g. 4x2")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    cx, cy = (int(v) for v in args.chips.split("x"))
    t = time.perf_counter()
    net, act = sheet(args.side)
    t_gen = time.perf_counter() - t
    chip = load_chip("loihi1", chip_grid=(cx, cy))
    rows, notes = [], []
    for label, part, placer in (("ours (metis+anneal)", "metis", "anneal"),
                                ("sequential+identity", "sequential", "identity")):
        t = time.perf_counter()
        try:
            res = map_network(net, chip, act, partitioner=part, placer=placer, time_budget_s=args.budget)
        except CapacityError as exc:  # the baseline may not fit the board at all
            notes.append(f"- {label}: does not fit ({exc}) after {time.perf_counter() - t:.1f} s")
            print(notes[-1], flush=True)
            continue
        wall = time.perf_counter() - t
        d = res.report.to_dict()
        rows.append((label, wall, d, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
        print(f"{label}: {wall:.1f} s, peak RSS so far {rows[-1][3]:.0f} MiB", flush=True)
    lines = [f"sheet {args.side}x{args.side}: {net.n_neurons} neurons, {net.n_synapses} synapses (generated in "
             f"{t_gen:.1f} s); chip loihi1 board {cx}x{cy} ({chip.n_cores} cores); placement cap {args.budget:g} s", "",
             "| method | cores | total s | graph | partition | place (incl. nets, twins) | route | estimate | peak RSS MiB "
             "(cumulative) | XY links/step | busiest link/step |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, wall, d, rss in rows:
        w = d["mapper"]["wall_s"]
        lines.append(f"| {label} | {d['partition']['cores_used']} | {wall:.1f} | {w['graph']:.1f} | {w['partition']:.1f} "
                     f"| {w['place']:.1f} | {w['route']:.1f} | {w['estimate']:.1f} | {rss:.0f} | "
                     f"{d['routing']['hops_ew_per_step'] + d['routing']['hops_ns_per_step']:.0f} | "
                     f"{d['routing']['busiest_link']['load']:.1f} |")
    ours = rows[0]
    lines += [""] + notes + ["", f"target: < 120 s and < 8192 MiB for ours: {ours[1]:.1f} s, {ours[3]:.0f} MiB "
              f"({'met' if ours[1] < TIME_GOAL_S and ours[3] < MEM_GOAL_MIB else 'NOT met'})"]
    table = "\n".join(lines)
    print(table)
    if not args.no_append:
        append_results(HEADING, "bench_mapping_scale.py", table)
        if args.side == 1024 and ours[0].startswith("ours"):  # the target's size (and ours fitted)
            record_targets(scale_targets(ours[1], ours[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
