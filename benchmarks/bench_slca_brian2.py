#!/usr/bin/env python
"""Spiking LCA, 256 x 512 signed LASSO (1024 neurons), 10,000 steps: neurosim vs Brian2.

The problem: ``random_lasso_problem(256, 512, 16, seed=0)`` (unit-norm Gaussian dictionary,
16-sparse signed codes), ``lam = 0.1``, sign split ``[D, -D]`` (1024 IF neurons, ~1M lateral
synapses), ``dt = 0.1``, ``tau_s = 1``, reset by subtraction (``shared/reference/peers.md``).

Runs, in one process:
1. neurosim (``spiking_lca`` on the compiled engine, the default backend) on input 0: build + run
   + decode, and the loop alone;
2. neurosim on a batch of 64 inputs (input 0 and 63 more of the same problem family), float64
   and float32 (rows in parallel threads);
3. Brian2 ``cpp_standalone`` on input 0, the same model written directly in Brian2 below: code
   generation + C++ build + run, and its own loop time (``device._last_run_time``);
4. with ``--cython``: Brian2 ``cython`` on input 0, cold (fresh Cython cache) and warm.

Spike counts of neurosim and Brian2 are compared neuron by neuron. Targets (issue 13): with a
batch of 64 inputs >= 10x cpp_standalone's loop throughput in inputs per second, in float64
(float32 reported); one input in <= 0.05 s (the loop). Prints a table and the ratios, updates the
summary table (``record_targets``) and appends the run to ``benchmarks/RESULTS.md``
(``--no-append``: neither). Quick check: ``--steps 1000 --batch 8``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # two BLAS threads are slower on 2 cores

import argparse  # noqa: E402
import datetime  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from neurosim.backends.brian2_backend import import_brian2  # noqa: E402
from neurosim.data.samples import random_lasso_problem  # noqa: E402
from neurosim.solvers.lasso import fista, lasso_objective  # noqa: E402
from neurosim.builders.lca import build_spiking_lca, spiking_lca  # noqa: E402
from results_log import Target, append_run, machine, record_targets  # noqa: E402  (the script's folder)

HEADING = "## Spiking LCA 256x512 signed vs Brian2 (bench_slca_brian2.py)"


def problem(batch: int, seed: int):
    return random_lasso_problem(256, 512, 16, batch=batch, nonneg=False, seed=seed)


def run_ours(p, steps: int, dt: float, *, dtype=np.float64) -> dict:
    spiking_lca(p.D, p.X, p.lam, nonneg=False, steps=2, dt_s=dt, dtype=dtype)  # load the kernels first
    t0 = time.perf_counter()
    codes, res = spiking_lca(p.D, p.X, p.lam, nonneg=False, steps=steps, dt_s=dt, transient=steps // 10, dtype=dtype)
    total = time.perf_counter() - t0
    f = lasso_objective(p.D, p.X, codes, p.lam)
    f_opt = lasso_objective(p.D, p.X, fista(p.D, p.X, p.lam, tol=1e-10), p.lam)
    batch = p.X.shape[0]
    name = f"neurosim compiled engine, batch {batch}" + (", float32" if dtype == np.float32 else "")
    return dict(name=name, inputs=batch, build_s=total - res.wall_s, loop_s=res.wall_s, total_s=total,
                spikes=int(res.activity.total_events), counts=res.activity.counts["slca"],
                gap=float(np.max((f - f_opt) / f_opt)))


def _brian2_network(b2, p, steps: int, dt: float):
    """The spiking LCA of input 0 written directly in Brian2 (same equations as neurosim)."""
    from brian2 import second

    net_ir = build_spiking_lca(p.D, p.X[:1], p.lam, nonneg=False)
    pop = net_ir.population("slca")
    W = net_ir.connection("slca.lateral").weights            # (post, pre)
    drive = np.asarray(net_ir.inputs[0].value)[0]
    eqs = """
    dv/dt = (b + I) / tau : 1
    dI/dt = -I / tau : 1
    b : 1 (constant)
    theta : 1 (constant)
    """
    clock = b2.Clock(dt=dt * second)
    group = b2.NeuronGroup(pop.size, eqs, threshold="v >= theta", reset="v -= theta", method="euler",
                           namespace={"tau": 1.0 * second}, clock=clock, name="slca")
    group.b = drive
    group.theta = np.asarray(pop.model.v_th, dtype=float)
    post, pre = np.nonzero(W)
    syn = b2.Synapses(group, group, "w : 1", on_pre="I_post += w", clock=clock,  # tau_s = 1: w / tau_s = w
                      name="slca_lateral")
    syn.connect(i=pre, j=post)
    syn.w = W[post, pre]
    mon = b2.SpikeMonitor(group, record=False, name="slca_count")
    return b2.Network(group, syn, mon), mon, steps * dt * second


def run_cython(p, steps: int, dt: float) -> list[dict]:
    b2 = import_brian2()
    cache = tempfile.mkdtemp(prefix="bench_slca_cython_")
    rows = []
    try:
        b2.prefs.codegen.target = "cython"
        b2.prefs.codegen.runtime.cython.cache_dir = cache
        # fixed object names: the second network generates the same code and hits the cache
        for label in ("cold cache, compile included", "warm cache"):
            t0 = time.perf_counter()
            net, mon, duration = _brian2_network(b2, p, steps, dt)
            t1 = time.perf_counter()
            net.run(duration, namespace={})
            t2 = time.perf_counter()
            counts = np.asarray(mon.count[:], dtype=np.int64)
            rows.append(dict(name=f"Brian2 cython, {label}", inputs=1, build_s=t1 - t0, loop_s=t2 - t1,
                             total_s=t2 - t0, spikes=int(counts.sum()), counts=counts))
        # the loop alone: a second run() of the same (compiled, initialised) network
        t0 = time.perf_counter()
        net.run(duration, namespace={})
        rows[-1]["loop_s"] = time.perf_counter() - t0
        rows[-1]["build_s"] = rows[-1]["total_s"] - rows[-1]["loop_s"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return rows


def run_cpp(p, steps: int, dt: float) -> dict:
    b2 = import_brian2()
    directory = tempfile.mkdtemp(prefix="bench_slca_cpp_")
    try:
        t0 = time.perf_counter()
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
        net, mon, duration = _brian2_network(b2, p, steps, dt)
        net.run(duration, namespace={})
        b2.device.build(directory=directory, compile=True, run=True, with_output=False)
        total = time.perf_counter() - t0
        loop = float(b2.device._last_run_time)
        counts = np.asarray(mon.count[:], dtype=np.int64)
        return dict(name="Brian2 cpp_standalone", inputs=1, build_s=total - loop, loop_s=loop, total_s=total,
                    spikes=int(counts.sum()), counts=counts)
    finally:
        from brian2.devices.device import device, reset_device

        device.reinit()
        reset_device()
        shutil.rmtree(directory, ignore_errors=True)


def _fmt(r: dict) -> str:
    gap = f"  max gap {r['gap']:.1e}" if "gap" in r else ""
    return (f"{r['name']:44s} build {r['build_s']:7.2f} s  loop {r['loop_s']:7.3f} s  total {r['total_s']:7.2f} s  "
            f"{r['inputs'] / r['loop_s']:8.1f} inputs/s (loop)  spikes {r['spikes']}{gap}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-brian2", action="store_true", help="only run neurosim (profiling)")
    ap.add_argument("--cython", action="store_true", help="also run Brian2's cython target (slow to compile)")
    ap.add_argument("--no-append", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    pb = problem(args.batch, args.seed)
    p1 = pb._replace(X=pb.X[:1], Z=pb.Z[:1])
    print(f"spiking LCA 256x512 signed (1024 neurons), {args.steps} steps of dt {args.dt}", flush=True)
    rows = [run_ours(p1, args.steps, args.dt)]
    print(_fmt(rows[-1]), flush=True)
    rows.append(run_ours(pb, args.steps, args.dt))
    print(_fmt(rows[-1]), flush=True)
    rows.append(run_ours(pb, args.steps, args.dt, dtype=np.float32))
    print(_fmt(rows[-1]), flush=True)
    if args.no_brian2:
        return 0
    rows.append(run_cpp(p1, args.steps, args.dt))
    print(_fmt(rows[-1]), flush=True)
    cpp = rows[-1]
    if args.cython:
        rows += run_cython(p1, args.steps, args.dt)
        for r in rows[-2:]:
            print(_fmt(r), flush=True)
    ours1, ours64, ours32 = rows[0], rows[1], rows[2]
    same = int(np.sum(cpp["counts"] != ours1["counts"][: cpp["counts"].size]))
    x64 = (ours64["inputs"] / ours64["loop_s"]) * cpp["loop_s"]
    x32 = (ours32["inputs"] / ours32["loop_s"]) * cpp["loop_s"]
    lines = [
        f"spike counts, neurons differing from neurosim (batch 1): Brian2 cpp_standalone: {same}",
        f"one input: loop {ours1['loop_s']:.3f} s (target <= 0.05 s: {'met' if ours1['loop_s'] <= 0.05 else 'MISSED'}); "
        f"vs Brian2 cpp_standalone loop {cpp['loop_s']:.3f} s: {cpp['loop_s'] / ours1['loop_s']:.2f}x; including its "
        f"build: {cpp['total_s'] / ours1['total_s']:.1f}x",
        f"throughput, batch {ours64['inputs']}, float64: {ours64['inputs'] / ours64['loop_s']:.1f} inputs/s vs "
        f"cpp_standalone loop {1 / cpp['loop_s']:.1f} inputs/s = {x64:.2f}x (target >= 10x: "
        f"{'met' if x64 >= 10 else 'MISSED'}); float32: {ours32['inputs'] / ours32['loop_s']:.1f} inputs/s = {x32:.2f}x",
        f"per input-step: {ours64['loop_s'] / args.steps / ours64['inputs'] * 1e6:.2f} us (float64, batch "
        f"{ours64['inputs']}), {ours1['loop_s'] / args.steps * 1e6:.2f} us (batch 1)",
    ]
    if not args.no_append:
        load = machine().split("load average")[1].strip()
        record_targets([
            Target("slca.batch64_vs_brian2_cpp", "spiking LCA 256x512, batch 64 throughput vs Brian2 cpp_standalone loop "
                   "(float64)", f"{x64:.2f}x ({ours64['inputs'] / ours64['loop_s']:.0f} vs {1 / cpp['loop_s']:.0f} "
                   f"inputs/s; float32 {x32:.2f}x; load {load})", ">= 10x", x64 >= 10, "bench_slca_brian2.py"),
            Target("slca.one_input_s", "spiking LCA 256x512, one input, 10k steps (loop)", f"{ours1['loop_s']:.3f} s",
                   "<= 0.05 s", ours1["loop_s"] <= 0.05, "bench_slca_brian2.py")])
    for line in lines:
        print(line)
    if not args.no_append:
        _append(args, rows, lines)
    return 0


def _append(args, rows: list[dict], notes: list[str]) -> None:
    out = [f"\n### {datetime.date.today().isoformat()} — {args.steps} steps, dt {args.dt}, batch {args.batch}",
           f"- machine: {machine()}",
           f"- command: `{' '.join(['python', 'benchmarks/bench_slca_brian2.py'] + sys.argv[1:])}`",
           "", "| run | inputs | build s | loop s | total s | inputs/s (loop) | spikes | max objective gap |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gap = f"{r['gap']:.1e}" if "gap" in r else "-"
        out.append(f"| {r['name']} | {r['inputs']} | {r['build_s']:.2f} | {r['loop_s']:.3f} | {r['total_s']:.2f} | "
                   f"{r['inputs'] / r['loop_s']:.1f} | {r['spikes']} | {gap} |")
    out += [""] + [f"- {n}" for n in notes] + [""]
    append_run(HEADING, "See the docstring of `benchmarks/bench_slca_brian2.py`.", out)


if __name__ == "__main__":
    sys.exit(main())
