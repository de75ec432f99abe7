#!/usr/bin/env python
"""Generic 100k-LIF / 10M-synapse CUBA network, two receptors: neurosim's compiled engine vs Brian2
cpp_standalone (one thread, and OpenMP on all cores), spike-identical models, one run.

The recipe (``shared/reference/peers.md``, Brian2's classic CUBA example scaled up): 100,000 LIF
neurons, 80% excitatory / 20% inhibitory, every ordered pair connected with p = 0.001 (~10M
synapses, fan-out ~100), taum 20 ms, El -49 mV, Vt -50 mV, Vr -60 mV, 5 ms refractory,
excitatory jumps 1.62 mV decaying with taue 5 ms, inhibitory jumps -9 mV with taui 10 ms; 1 s of
model time at dt 0.1 ms (10,000 steps).

In the neurosim IR the neuron has two receptors (``LIF(tau_s=5e-3, receptors={"inh": 10e-3})``):
a jump ``J`` of ``g`` in ``taum dv/dt = ge + gi - (v - El)`` is a weight ``w = J tau_r / taum``
on receptor ``r`` (``w_e = 1.62 * 5/20``, ``w_i = -9 * 10/20`` mV), voltages shifted by ``-Vr``
(threshold 10 mV, rest 11 mV, reset to 0), 49 frozen steps (Brian2 counts the spike step). Brian2
runs the same model written directly (forward Euler, ``v >= Vt``), same connectivity and initial
voltages, so the spike counts are compared.

Reported, all in one run: build and loop time of each (neurosim's kernels are compiled, or loaded
from numba's disk cache, by a small warm-up run first, timed apart, so the loop is the loop); the loop ratios against Brian2's single
thread and against its OpenMP run on all cores; synaptic events/s and neuron updates/s of each
beside the machine's streaming bandwidth (a numpy triad over arrays far larger than the caches,
best of 3); the compiled engine's memory (its arrays) against the weight arrays plus the network
state. Prints a table and the ratios, updates the summary table (``record_targets``) and appends
the run to ``benchmarks/RESULTS.md`` (``--no-append``: neither). Quick check:
``--neurons 10000 --duration 0.1``.
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
import scipy.sparse as sp  # noqa: E402

from neurosim import LIF, Connection, Network, Population  # noqa: E402
from neurosim.backends.brian2_backend import import_brian2  # noqa: E402
from neurosim.backends.compiled import CompiledSimulator  # noqa: E402
from results_log import Target, append_run, machine, record_targets  # noqa: E402

TAUM_MS, TAUE_MS, TAUI_MS = 20.0, 5.0, 10.0
EL_MV, VT_MV, VR_MV = -49.0, -50.0, -60.0
REFRACTORY_MS = 5.0
WE_MV, WI_MV = 1.62, -9.0
EXC_FRACTION = 0.8
HEADING = "## Generic 100k-LIF / 10M-synapse CUBA network (bench_lif_100k.py)"
SCRIPT = "bench_lif_100k.py"


def connectivity(n: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (pre, post) independently with probability ``p`` (no duplicates)."""
    total = int(rng.binomial(n * n, p))
    codes = np.sort(rng.integers(0, n * n, size=int(total * 1.01) + 100, dtype=np.int64))
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]  # np.unique is ~100x slower here
    codes = np.sort(rng.permutation(codes)[:total])
    return codes // n, codes % n


def build_ir(n: int, pre: np.ndarray, post: np.ndarray, dt_ms: float) -> Network:
    """The two-receptor CUBA network (see the module notes)."""
    n_exc = int(EXC_FRACTION * n)
    ref_steps = int(round(REFRACTORY_MS / dt_ms)) - 1
    net = Network("cuba")
    net.add(Population("cuba", n, LIF(tau_s=TAUE_MS * 1e-3, tau_m_s=TAUM_MS * 1e-3, v_th=VT_MV - VR_MV,
                                      v_rest=EL_MV - VR_MV, v_reset=0.0, reset="zero", refractory_steps=ref_steps,
                                      receptors={"inh": TAUI_MS * 1e-3})))
    for name, sel, w, receptor in (("exc", pre < n_exc, WE_MV * TAUE_MS / TAUM_MS, None),
                                   ("inh", pre >= n_exc, WI_MV * TAUI_MS / TAUM_MS, "inh")):
        weights = sp.csr_matrix((np.full(int(sel.sum()), w), (post[sel], pre[sel])), shape=(n, n))
        net.add(Connection("cuba", "cuba", weights, delay_steps=1, name=name, receptor=receptor))
    return net


def streaming_bandwidth_gbs(n: int = 50_000_000) -> float:
    """Best of 3 numpy triads ``a = b + s c`` over float64 arrays of ``n`` (1.2 GB moved per pass)."""
    a, b, c = np.zeros(n), np.ones(n), np.ones(n)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        np.multiply(c, 2.0, out=a)
        np.add(a, b, out=a)
        best = min(best, time.perf_counter() - t0)
    return 5 * 8 * n / best / 1e9  # multiply: read c, write a; add: read a, b, write a


def warm_up(dt_s: float, seed: int) -> float:
    """Compile (or load from numba's disk cache) the kernels the timed run uses: a 2,000-neuron copy
    of the model for 10 steps. Returns its wall time, reported apart from the loop."""
    rng = np.random.default_rng(seed)
    pre, post = connectivity(2000, 0.01, rng)
    t0 = time.perf_counter()
    sim = CompiledSimulator(build_ir(2000, pre, post, dt_s * 1e3), dt_s=dt_s,
                            initial_state={"cuba": {"v": rng.uniform(0.0, VT_MV - VR_MV, 2000)}})
    sim.run(10)
    return time.perf_counter() - t0


def run_neurosim(net: Network, v0: np.ndarray, steps: int, dt_s: float) -> dict:
    t0 = time.perf_counter()
    sim = CompiledSimulator(net, dt_s=dt_s, initial_state={"cuba": {"v": v0}})
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(steps)
    run = time.perf_counter() - t0
    res = sim.result()
    engine = sum(a.nbytes for tup in (sim.layout.pops, sim.layout.params, sim.state_arrays, sim.ring,
                                      sim.table.conns, sim.table.weights) for a in tup)
    weights = sum(c.weights.data.nbytes + c.weights.indices.nbytes + c.weights.indptr.nbytes for c in net.connections)
    state = (2 + len(net.populations[0].model.receptor_names)) * net.n_neurons * 8  # v, a spike flag, i_r
    return dict(name="neurosim compiled engine", build_s=build, run_s=run, spikes=int(res.activity.total_events),
                events=int(res.activity.total_syn_events), counts=res.activity.counts["cuba"], engine_bytes=engine,
                weight_bytes=weights, state_bytes=state)


def run_brian2(n: int, pre: np.ndarray, post: np.ndarray, v0_mv: np.ndarray, steps: int, dt_s: float, *,
               threads: int, fan_out: np.ndarray) -> dict:
    """Brian2 cpp_standalone on the same model (``threads`` 0: its default single thread)."""
    b2 = import_brian2()
    from brian2 import ms, mV, second

    directory = tempfile.mkdtemp(prefix="bench_cuba_")
    n_exc = int(EXC_FRACTION * n)
    try:
        t0 = time.perf_counter()
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = threads
        ns = dict(taum=TAUM_MS * ms, taue=TAUE_MS * ms, taui=TAUI_MS * ms, El=EL_MV * mV, Vt=VT_MV * mV, Vr=VR_MV * mV)
        eqs = """
        dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
        dge/dt = -ge / taue : volt
        dgi/dt = -gi / taui : volt
        """
        clock = b2.Clock(dt=dt_s * second)
        group = b2.NeuronGroup(n, eqs, threshold="v >= Vt", reset="v = Vr", refractory=REFRACTORY_MS * ms,
                               method="euler", namespace=ns, clock=clock)
        group.v = (VR_MV + v0_mv) * mV
        exc = b2.Synapses(group, group, on_pre="ge += we", namespace={"we": WE_MV * mV}, clock=clock)
        inh = b2.Synapses(group, group, on_pre="gi += wi", namespace={"wi": WI_MV * mV}, clock=clock)
        sel = pre < n_exc
        exc.connect(i=pre[sel], j=post[sel])
        inh.connect(i=pre[~sel], j=post[~sel])
        mon = b2.SpikeMonitor(group, record=False)
        b2.Network(group, exc, inh, mon).run(steps * dt_s * second, namespace={})
        b2.device.build(directory=directory, compile=True, run=True, with_output=False)
        total = time.perf_counter() - t0
        run = float(b2.device._last_run_time)
        counts = np.asarray(mon.count[:], dtype=np.int64)
        label = "Brian2 cpp_standalone, 1 thread" if threads == 0 else f"Brian2 cpp_standalone, OpenMP {threads} threads"
        return dict(name=label, build_s=total - run, run_s=run, spikes=int(counts.sum()), events=int(counts @ fan_out),
                    counts=counts)
    finally:
        from brian2.devices.device import device, reset_device

        device.reinit()
        reset_device()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--p", type=float, default=0.001)
    ap.add_argument("--duration", type=float, default=1.0, help="model time, s")
    ap.add_argument("--dt", type=float, default=1e-4, help="step, s")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-openmp", action="store_true", help="skip Brian2 with OpenMP")
    ap.add_argument("--no-append", action="store_true", help="do not record the run in benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    steps = int(round(args.duration / args.dt))
    rng = np.random.default_rng(args.seed)
    pre, post = connectivity(args.neurons, args.p, rng)
    v0 = rng.uniform(0.0, VT_MV - VR_MV, args.neurons)
    fan_out = np.bincount(pre, minlength=args.neurons)
    t0 = time.perf_counter()
    net = build_ir(args.neurons, pre, post, args.dt * 1e3)
    ir_s = time.perf_counter() - t0
    bandwidth = streaming_bandwidth_gbs()
    print(f"{args.neurons} neurons, {pre.size} synapses, {steps} steps of {args.dt * 1e3:g} ms; streaming bandwidth "
          f"{bandwidth:.1f} GB/s (numpy triad)", flush=True)
    warm = warm_up(args.dt, args.seed)
    print(f"neurosim warm-up (compile or load the kernels, 2,000 neurons x 10 steps): {warm:.2f} s", flush=True)
    ours = run_neurosim(net, v0, steps, args.dt)
    ours["build_s"] += ir_s
    rows = [ours]
    print(_fmt(ours, args.neurons, steps), flush=True)
    for threads in ([0] if args.no_openmp else [0, os.cpu_count() or 1]):
        rows.append(run_brian2(args.neurons, pre, post, v0, steps, args.dt, threads=threads, fan_out=fan_out))
        print(_fmt(rows[-1], args.neurons, steps), flush=True)
    one = rows[1]
    omp = rows[2] if len(rows) > 2 else None
    r1 = ours["run_s"] / one["run_s"]
    memory = ours["engine_bytes"] / (ours["weight_bytes"] + ours["state_bytes"])
    differ = int(np.sum(ours["counts"] != one["counts"]))
    notes = [f"loop neurosim / Brian2 1 thread = {r1:.2f} (target <= 0.33: {'met' if r1 <= 0.33 else 'MISSED'})"]
    if omp is not None:
        ro = ours["run_s"] / omp["run_s"]
        notes.append(f"loop neurosim / Brian2 OpenMP {os.cpu_count()} threads = {ro:.2f} "
                     f"(target <= 0.7: {'met' if ro <= 0.7 else 'MISSED'})")
    notes += [f"spikes neurosim {ours['spikes']} vs Brian2 {one['spikes']}; neurons whose spike count differs: {differ}",
              f"memory: engine arrays {ours['engine_bytes'] / 1e6:.0f} MB = {memory:.2f}x (weight arrays "
              f"{ours['weight_bytes'] / 1e6:.0f} MB + state {ours['state_bytes'] / 1e6:.1f} MB) (target <= 1.5: "
              f"{'met' if memory <= 1.5 else 'MISSED'})",
              f"streaming bandwidth {bandwidth:.1f} GB/s; neurosim moves the equivalent of "
              f"{bandwidth * 1e9 * ours['run_s'] / (args.neurons * steps):.0f} bytes of bandwidth per neuron update"]
    for line in notes:
        print(line)
    if not args.no_append:
        load = machine()
        targets = [Target("lif100k.loop_vs_brian2_1thread", "100k LIF CUBA loop vs Brian2 cpp_standalone (1 thread)",
                          f"{r1:.2f}x ({ours['run_s']:.2f} s vs {one['run_s']:.2f} s; {load.split('load average')[1]})",
                          "<= 0.33x", r1 <= 0.33, SCRIPT),
                   Target("lif100k.memory", "100k LIF engine memory / (weights + state)", f"{memory:.2f}x", "<= 1.5x",
                          memory <= 1.5, SCRIPT)]
        if omp is not None:
            targets.append(Target("lif100k.loop_vs_brian2_openmp", "100k LIF CUBA loop vs Brian2 OpenMP (all cores)",
                                  f"{ro:.2f}x ({ours['run_s']:.2f} s vs {omp['run_s']:.2f} s)", "<= 0.7x", ro <= 0.7,
                                  SCRIPT))
        record_targets(targets)
        _append(args, steps, pre.size, rows, notes, bandwidth)
    return 0


def _fmt(r: dict, n: int, steps: int) -> str:
    return (f"{r['name']:40s} build {r['build_s']:7.2f} s  loop {r['run_s']:7.2f} s  spikes {r['spikes']:9d}  "
            f"{r['events'] / r['run_s'] / 1e6:6.1f} M syn events/s  {n * steps / r['run_s'] / 1e6:7.1f} M neuron updates/s")


def _append(args, steps: int, n_syn: int, rows: list[dict], notes: list[str], bandwidth: float) -> None:
    lines = [f"\n### {datetime.date.today().isoformat()} — {args.neurons} neurons, {n_syn} synapses, {steps} steps, "
             "two receptors",
             f"- machine: {machine()}; streaming bandwidth {bandwidth:.1f} GB/s",
             f"- command: `{' '.join(['python', SCRIPT] + sys.argv[1:])}`",
             "", "| run | build s | loop s | spikes | synaptic events | M syn events/s | M neuron updates/s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['build_s']:.2f} | {r['run_s']:.2f} | {r['spikes']} | {r['events']} | "
                     f"{r['events'] / r['run_s'] / 1e6:.1f} | {args.neurons * steps / r['run_s'] / 1e6:.0f} |")
    lines += [""] + [f"- {n}" for n in notes] + [""]
    append_run(HEADING, "See the docstring of `benchmarks/bench_lif_100k.py`.", lines)


if __name__ == "__main__":
    sys.exit(main())
