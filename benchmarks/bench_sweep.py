"""Design-space sweep: 1 vs 2 Dask workers, and against a shell loop of ``neurosim run``.

The sweep is ``examples/sweeps/loihi1.yaml``: a signed spiking LCA (512 neurons, 16 patches) on 64
Loihi-1 variants (cores per tile x compartments per core with their synapse index bits x weight
bits x run length). It runs three ways on the same machine, one after the other:

1. ``run_sweep(..., workers=1)``: everything in one process (2 float + 8 quantised simulations,
   64 mappings);
2. ``run_sweep(..., workers=2)``: a Dask local cluster of two single-threaded worker processes
   (started and stopped inside the timing);
3. the peer: a shell loop of 64 ``neurosim run EXP.yaml --chip VARIANT.yaml`` invocations, one per
   point (each re-simulates its network twice: float and quantised, 128 simulations), the way
   points were explored before ``neurosim sweep``.

Every point's numbers are compared between the three (all metrics but the mapper's wall time must
be equal), and the wall times, ratios, simulations run and the load average are appended to
``benchmarks/RESULTS.md``. The machine has 2 cores and is shared: the load average is printed.

    python benchmarks/bench_sweep.py [--points N]     # N < 64: the first N points only (a smoke run)
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results_log import Target, append_run, machine, record_targets  # noqa: E402
from neurosim.app.sweep import run_sweep  # noqa: E402
from neurosim.app.sweepplan import METRICS, metrics_of  # noqa: E402
from neurosim.app.sweepspec import load_sweep  # noqa: E402

SWEEP = ROOT / "examples" / "sweeps" / "loihi1.yaml"
HEADING = "## Design-space sweep: 1 vs 2 Dask workers and a loop of neurosim run (bench_sweep.py)"
INTRO = ("`examples/sweeps/loihi1.yaml` (64 Loihi-1 variants of a 512-neuron spiking LCA) run by `neurosim.app."
         "run_sweep` in one process, on a 2-worker Dask local cluster, and as a shell loop of one `neurosim run` "
         "per point; every point's numbers must agree (mapper wall time aside).")


def _subset(spec, n):
    """The spec restricted to its first ``n`` points (for smoke runs)."""
    pts = spec.points()[:n]

    class Sub(type(spec)):
        def points(self):
            return [dict(p) for p in pts]

    return Sub(**{f: getattr(spec, f) for f in spec.__dataclass_fields__})


def _ratio(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def _metrics(rows):
    return {r["key"]: {m: r[m] for m in METRICS if m != "mapper_wall_s"} for r in rows}


def _loop(spec, rows, work: Path) -> tuple[float, list[dict]]:
    """Write one experiment and one chip file per point and run ``neurosim run`` on each, in a bash loop."""
    lines = ["set -e"]
    base_exp = yaml.safe_load((ROOT / "examples" / "slca_design.yaml").read_text())
    chip_text = (ROOT / "chips" / "loihi1.yaml").read_text()
    for r in rows:
        i = r["point"]
        exp = copy.deepcopy(base_exp)
        exp["simulation"]["steps"] = r["experiment.simulation.steps"]
        chip = yaml.safe_load(chip_text)
        chip["name"] = f"v{i}"
        chip["noc"]["cores_per_tile"] = r["chip.noc.cores_per_tile"]
        chip["core"].update(max_compartments=r["chip.core.max_compartments"],
                            synapse_index_bits=r["chip.core.synapse_index_bits"],
                            weight_bits=r["chip.core.weight_bits"])
        (work / f"exp{i}.yaml").write_text(yaml.safe_dump(exp))
        (work / f"v{i}.yaml").write_text(yaml.safe_dump(chip))
        lines.append(f"neurosim run exp{i}.yaml --chip v{i}.yaml --out run{i} --no-progress > /dev/null")
    (work / "loop.sh").write_text("\n".join(lines) + "\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    subprocess.run(["bash", "loop.sh"], cwd=work, env=env, check=True)
    wall = time.perf_counter() - t0
    reports = [json.loads((work / f"run{r['point']}" / "report.json").read_text()) for r in rows]
    return wall, reports


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=64, help="run only the first N points (default: all 64)")
    ap.add_argument("--no-record", action="store_true", help="print only; do not append to RESULTS.md")
    ap.add_argument("--no-loop", action="store_true", help="skip the shell loop (measure 1 vs 2 workers only)")
    args = ap.parse_args()
    spec = load_sweep(SWEEP)
    if args.points < len(spec.points()):
        spec = _subset(spec, args.points)
    n = len(spec.points())
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        tmp = Path(tmp)
        timings, results, busy = {}, {}, {}
        for workers in (1, 2):
            t0 = time.perf_counter()
            results[workers] = run_sweep(spec, tmp / f"w{workers}", workers=workers, plots=False)
            timings[workers] = time.perf_counter() - t0
            busy[workers] = sum(r["mapper_wall_s"] or 0.0 for r in results[workers].rows)
            print(f"sweep, {workers} worker(s): {timings[workers]:.1f} s (mapper wall time summed over the points "
                  f"{busy[workers]:.1f} s), {results[workers].work}", flush=True)
        if args.no_loop:
            loop_s, reports = float("nan"), None
        else:
            (tmp / "loop").mkdir()
            loop_s, reports = _loop(spec, results[1].rows, tmp / "loop")
            print(f"shell loop of {n} neurosim run: {loop_s:.1f} s", flush=True)
    one, two = _metrics(results[1].rows), _metrics(results[2].rows)
    loop = one if reports is None else {r["key"]: {m: v for m, v in metrics_of(rep).items() if m != "mapper_wall_s"}
                                        for r, rep in zip(results[1].rows, reports)}
    same_12 = one == two
    same_loop = one == loop
    mismatched = sorted(k for k in one if one[k] != loop.get(k))
    work = results[1].work
    load_after = os.getloadavg()[0]
    scaling = timings[1] / timings[2]
    vs_loop = loop_s / timings[2]
    vs_loop_1 = loop_s / timings[1]
    print(f"2 workers vs 1: {scaling:.2f}x; loop / sweep(2 workers) {vs_loop:.2f}x; loop / sweep(1 worker) "
          f"{vs_loop_1:.2f}x; equal numbers: 1 vs 2 workers {same_12}, sweep vs loop {same_loop}; load average "
          f"{load_before:.1f} before, {load_after:.1f} after")
    if args.no_record:
        return
    today = datetime.date.today().isoformat()
    lines = [f"### {today} — {n} points, {work['simulations']} float + {work['quantized_simulations']} quantised "
             f"simulations in the sweep (the loop: {2 * n})",
             f"- machine: {machine()}; load average {load_before:.1f} at the start",
             "- command: `python benchmarks/bench_sweep.py`" + (f" --points {n}" if n < 64 else "")
             + (" --no-loop" if args.no_loop else ""), "",
             "| run | wall s | simulations | x loop |", "|---|---|---|---|"]
    if not args.no_loop:
        lines.append(f"| shell loop of `neurosim run` (one process per point, writes every file of a run) | "
                     f"{loop_s:.1f} | {2 * n} | 1.00 |")
    lines += [
             f"| `neurosim sweep`, 1 worker (in-process) | {timings[1]:.1f} | "
             f"{work['simulations'] + work['quantized_simulations']} | {_ratio(vs_loop_1)} |",
             f"| `neurosim sweep`, 2 Dask worker processes (cluster start/stop included) | {timings[2]:.1f} | "
             f"{work['simulations'] + work['quantized_simulations']} | {_ratio(vs_loop)} |", "",
             f"- scaling 1 -> 2 workers: {scaling:.2f}x (target >= 1.5x on 2 cores)"
             + ("" if args.no_loop else f"; sweep (2 workers) vs loop: {vs_loop:.2f}x faster (target >= 2x)"),
             f"- mapper wall time summed over the 64 points: {busy[1]:.0f} s with 1 worker, {busy[2]:.0f} s with 2 "
             f"(the same work: a larger sum with 2 is what the worker processes cost each point, or a loaded machine)",
             f"- every point equal (mapper wall time aside): 1 vs 2 workers {same_12}"
             + ("" if args.no_loop else f"; sweep vs `neurosim run` {same_loop}")
             + (f" (differs: {mismatched[:5]})" if mismatched else ""), ""]
    append_run(HEADING, INTRO, lines)
    if n == 64:
        targets = [Target(id="sweep.scaling_2_workers", title="64-point sweep: 2 Dask workers vs 1",
                          figure=f"{scaling:.2f}x (load {load_before:.1f}-{load_after:.1f} on 2 cores)",
                          target=">= 1.5x", met=scaling >= 1.5, script="bench_sweep.py")]
        if not args.no_loop:
            targets.append(Target(id="sweep.vs_run_loop", title="64-point sweep vs a shell loop of `neurosim run`",
                                  figure=f"{vs_loop:.1f}x faster, same numbers: {same_loop}",
                                  target=">= 2x, identical numbers", met=vs_loop >= 2 and same_loop,
                                  script="bench_sweep.py"))
        record_targets(targets)


if __name__ == "__main__":
    main()
