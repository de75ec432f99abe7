#!/usr/bin/env python
"""Compile time and warm start-up of the compiled engine, each measured in a fresh process.

The compiled backend's kernels are compiled by numba on first use and cached on disk. This script
points numba at an empty cache directory (``NUMBA_CACHE_DIR``) and runs, in new Python processes:

1. **cold**: ``import neurosim``, then the first ``simulate`` of a small network of every kind
   the engine compiles for (spiking LIF with two receptors and a refractory period, delays, Poisson
   and array inputs, probes; analog LCA; a batched run on parallel rows; float64 and float32):
   every kernel is compiled and written to the cache;
2. **warm** (three times, best kept): the same in a new process with the cache filled.

Reported: the time of ``import neurosim`` and of the first call to ``simulate`` (compiling, or
loading from the cache), in each case. Target (issue 13): warm start-up <= 1 s, measured as the
first ``simulate`` call of a fresh process whose cache is warm (what a user waits for on top of
``import neurosim``). Prints a table, updates the summary table and appends the run to
``benchmarks/RESULTS.md`` (``--no-append``: neither).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from results_log import Target, append_run, machine, record_targets

HEADING = "## Compile time and warm start-up of the compiled engine (bench_startup.py)"
SCRIPT = "bench_startup.py"
ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, time
t0 = time.perf_counter()
import numpy as np
import neurosim as ns
t1 = time.perf_counter()
net = ns.Network("startup")
net.add(ns.Population("a", 50, ns.LIF(tau_m_s=0.02, tau_s=5e-3, receptors={"inh": 1e-2}, v_th=1.0, bias=60.0,
                                      refractory_steps=3)))
net.add(ns.Population("b", 20, ns.IF(tau_s=5e-3, v_th=0.5)))
net.add(ns.Connection("a", "b", np.random.default_rng(0).random((20, 50)) * 0.1, delay_steps=2))
net.add(ns.Connection("b", "a", -np.random.default_rng(1).random((50, 20)) * 0.1, receptor="inh"))
net.add(ns.PoissonInput("b", np.full(20, 100.0)))
net.add(ns.ArrayInput("a", np.ones((10, 50))))
net.add(ns.Probe("a", "spikes"))
net.add(ns.Probe("b", "v", every=5))
net.add(ns.Probe("b", "count"))
ns.simulate(net, steps=100, dt_s=1e-3)
t2 = time.perf_counter()
from neurosim.builders.lca import run_analog_lca, spiking_lca
D = np.linalg.qr(np.random.default_rng(2).standard_normal((16, 16)))[0][:, :12]
X = np.random.default_rng(3).standard_normal((4, 16))
run_analog_lca(D, X, 0.1, steps=50)
spiking_lca(D, X, 0.1, steps=50)
spiking_lca(D, X, 0.1, steps=50, dtype=np.float32)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_simulate_s": t2 - t1, "rest_s": t3 - t2}))
'''


def run_child(cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-append", action="store_true", help="do not record the run in benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="neurosim_numba_cache_") as cache:
        cold = run_child(cache)
        warm = min((run_child(cache) for _ in range(3)), key=lambda r: r["first_simulate_s"])
    rows = [("cold cache (compiles)", cold), ("warm cache (best of 3)", warm)]
    for name, r in rows:
        print(f"{name:26s} import neurosim {r['import_s']:6.2f} s  first simulate {r['first_simulate_s']:6.2f} s  "
              f"analog + spiking LCA, float32 {r['rest_s']:6.2f} s")
    compile_s = cold["first_simulate_s"] + cold["rest_s"]
    met = warm["first_simulate_s"] <= 1.0
    note = (f"first-call compile time {compile_s:.1f} s (every kernel these runs use); warm start-up: first simulate "
            f"{warm['first_simulate_s']:.2f} s (target <= 1 s: {'met' if met else 'MISSED'}), after import neurosim "
            f"{warm['import_s']:.2f} s")
    print(note)
    if not args.no_append:
        load = machine().split("load average")[1].strip()
        record_targets([Target("startup.warm_first_simulate", "compiled engine, first simulate of a fresh process, warm "
                               "disk cache", f"{warm['first_simulate_s']:.2f} s (import neurosim {warm['import_s']:.2f} s;"
                               f" cold compile {compile_s:.1f} s; load {load})", "<= 1 s", met, SCRIPT)])
        lines = [f"\n### {datetime.date.today().isoformat()}", f"- machine: {machine()}",
                 f"- command: `{' '.join(['python', SCRIPT] + sys.argv[1:])}`", "",
                 "| run | import neurosim s | first simulate s | analog + spiking LCA, float32 s |", "|---|---|---|---|"]
        lines += [f"| {name} | {r['import_s']:.2f} | {r['first_simulate_s']:.2f} | {r['rest_s']:.2f} |"
                  for name, r in rows]
        lines += ["", f"- {note}", ""]
        append_run(HEADING, "See the docstring of `benchmarks/bench_startup.py`.", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
