#!/usr/bin/env python
"""Generic 100k-LIF / 10M-synapse CUBA network: neurosim's numpy engine vs Brian2 cpp_standalone.

The recipe (``shared/reference/peers.md``, Brian2's classic CUBA example scaled up): 100,000 LIF
neurons, 80% excitatory / 20% inhibitory, every ordered pair connected with p = 0.001 (~10M
synapses, fan-out ~100), taum 20 ms, El -49 mV, Vt -50 mV, Vr -60 mV, 5 ms refractory,
excitatory jumps 1.62 mV decaying with taue 5 ms, inhibitory jumps -9 mV with taui 10 ms; 1 s of
model time at dt 0.1 ms (10,000 steps).

Expressing it in the neurosim IR
--------------------------------
A neurosim LIF neuron has ONE exponential synaptic current (one ``tau_s``), so the two currents
of CUBA (5 ms and 10 ms) cannot both be kept. The IR network uses ``tau_s = taue = 5 ms`` for
both and keeps each spike's total synaptic charge: a spike of weight ``w`` moves ``v`` by ``w``
in total, and CUBA's jump ``J`` with time constant ``tau`` moves it by ``J tau / taum``, so
``w_e = 1.62 * 5/20 = 0.405 mV`` and ``w_i = -9 * 10/20 = -4.5 mV``. Voltages are shifted by
``-Vr`` (threshold 10 mV, rest 11 mV, reset to 0) because neurosim thresholds are positive.
A refractory period of 5 ms is 49 frozen steps (Brian2 counts the spike step).

Runs, in one process:
1. neurosim numpy engine on the IR network;
2. Brian2 cpp_standalone on the SAME model (tau_i = 5 ms, gi jump -18 mV, forward Euler),
   written directly in Brian2, same connectivity and initial voltages: the head-to-head ratio;
3. Brian2 cpp_standalone on the original recipe (tau_i = 10 ms, exact integration), for the
   reference spike count and run time (skip with ``--no-original``).

Build time = everything before the first step (network objects, code generation, compilation);
run time = the time loop only (Brian2's own measurement of its main loop).
Prints a table and ratios, and appends them to ``benchmarks/RESULTS.md`` (``--no-append`` to
skip). Use ``--neurons 10000 --duration 0.1`` for a quick check.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # two BLAS threads are slower on 2 cores

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from neurosim import LIF, Connection, Network, Population  # noqa: E402
from neurosim.backends.brian2_backend import import_brian2  # noqa: E402
from neurosim.backends.numpy_engine import Simulator  # noqa: E402
from results_log import append_run  # noqa: E402  (the script's folder is on sys.path)

TAUM_MS, TAUE_MS, TAUI_MS = 20.0, 5.0, 10.0
EL_MV, VT_MV, VR_MV = -49.0, -50.0, -60.0
REFRACTORY_MS = 5.0
WE_MV, WI_MV = 1.62, -9.0
EXC_FRACTION = 0.8
HEADING = "## Generic 100k-LIF / 10M-synapse CUBA network (bench_lif_100k.py)"


def connectivity(n: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (pre, post) independently with probability ``p`` (no duplicates)."""
    total = int(rng.binomial(n * n, p))
    codes = np.sort(rng.integers(0, n * n, size=int(total * 1.01) + 100, dtype=np.int64))
    codes = codes[np.concatenate(([True], codes[1:] != codes[:-1]))]  # np.unique is ~100x slower here
    codes = np.sort(rng.permutation(codes)[:total])
    return codes // n, codes % n


def build_ir(n: int, pre: np.ndarray, post: np.ndarray, dt_ms: float) -> Network:
    """The CUBA network with one 5 ms current (see the module notes)."""
    n_exc = int(EXC_FRACTION * n)
    ref_steps = int(round(REFRACTORY_MS / dt_ms)) - 1
    net = Network("cuba")
    net.add(Population("cuba", n, LIF(tau_s=TAUE_MS * 1e-3, tau_m_s=TAUM_MS * 1e-3, v_th=VT_MV - VR_MV,
                                      v_rest=EL_MV - VR_MV, v_reset=0.0, reset="zero", refractory_steps=ref_steps)))
    for name, sel, w in (("exc", pre < n_exc, WE_MV * TAUE_MS / TAUM_MS), ("inh", pre >= n_exc, WI_MV * TAUI_MS / TAUM_MS)):
        weights = sp.csr_matrix((np.full(int(sel.sum()), w), (post[sel], pre[sel])), shape=(n, n))
        net.add(Connection("cuba", "cuba", weights, delay_steps=1, name=name))
    return net


def run_neurosim(net: Network, v0: np.ndarray, steps: int, dt_s: float) -> dict:
    t0 = time.perf_counter()
    sim = Simulator(net, dt_s=dt_s, initial_state={"cuba": {"v": v0}})
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run(steps)
    run = time.perf_counter() - t0
    res = sim.result()
    return dict(name="neurosim numpy engine", build_s=build, run_s=run, spikes=int(res.activity.total_events),
                events=int(res.activity.total_syn_events))


def run_brian2(n: int, pre: np.ndarray, post: np.ndarray, v0_mv: np.ndarray, steps: int, dt_s: float, *,
               same_model: bool, fan_out: np.ndarray) -> dict:
    """Brian2 cpp_standalone, written directly from the recipe (``same_model``: tau_i = 5 ms, Euler)."""
    b2 = import_brian2()
    from brian2 import ms, mV, second

    directory = tempfile.mkdtemp(prefix="bench_cuba_")
    n_exc = int(EXC_FRACTION * n)
    taui = TAUE_MS if same_model else TAUI_MS
    wi = WI_MV * TAUI_MS / TAUE_MS if same_model else WI_MV  # same total charge with the shorter kernel
    try:
        t0 = time.perf_counter()
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
        ns = dict(taum=TAUM_MS * ms, taue=TAUE_MS * ms, taui=taui * ms, El=EL_MV * mV, Vt=VT_MV * mV, Vr=VR_MV * mV)
        eqs = """
        dv/dt = (ge + gi - (v - El)) / taum : volt (unless refractory)
        dge/dt = -ge / taue : volt
        dgi/dt = -gi / taui : volt
        """
        clock = b2.Clock(dt=dt_s * second)
        group = b2.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr", refractory=REFRACTORY_MS * ms,
                               method="euler" if same_model else "exact", namespace=ns, clock=clock)
        group.v = (VR_MV + v0_mv) * mV
        exc = b2.Synapses(group, group, on_pre="ge += we", namespace={"we": WE_MV * mV}, clock=clock)
        inh = b2.Synapses(group, group, on_pre="gi += wi", namespace={"wi": wi * mV}, clock=clock)
        sel = pre < n_exc
        exc.connect(i=pre[sel], j=post[sel])
        inh.connect(i=pre[~sel], j=post[~sel])
        mon = b2.SpikeMonitor(group, record=False)
        net = b2.Network(group, exc, inh, mon)
        net.run(steps * dt_s * second, namespace={})
        t1 = time.perf_counter()
        b2.device.build(directory=directory, compile=True, run=True, with_output=False)
        total = time.perf_counter() - t0
        run = float(b2.device._last_run_time)
        counts = np.asarray(mon.count[:], dtype=np.int64)
        label = "Brian2 cpp_standalone, same model" if same_model else "Brian2 cpp_standalone, original recipe"
        return dict(name=label, build_s=total - run, run_s=run, spikes=int(counts.sum()),
                    events=int(counts @ fan_out), python_s=t1 - t0)
    finally:
        from brian2.devices.device import device, reset_device

        device.reinit()
        reset_device()
        shutil.rmtree(directory, ignore_errors=True)


def machine() -> str:
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    total = mem[1].split()[1] if len(mem) > 1 else "?"
    return f"{os.cpu_count()} cores (nproc {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}), " \
           f"{total} GiB RAM, {platform.processor() or platform.machine()}, Python {platform.python_version()}, " \
           f"load average {os.getloadavg()[0]:.1f} at the end (machine shared with other jobs)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--p", type=float, default=0.001)
    ap.add_argument("--duration", type=float, default=1.0, help="model time, s")
    ap.add_argument("--dt", type=float, default=1e-4, help="step, s")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-original", action="store_true", help="skip Brian2 on the original two-current recipe")
    ap.add_argument("--no-append", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    steps = int(round(args.duration / args.dt))
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    pre, post = connectivity(args.neurons, args.p, rng)
    v0 = rng.uniform(0.0, VT_MV - VR_MV, args.neurons)
    fan_out = np.bincount(pre, minlength=args.neurons)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = build_ir(args.neurons, pre, post, args.dt * 1e3)
    ir_s = time.perf_counter() - t0
    print(f"{args.neurons} neurons, {pre.size} synapses, {steps} steps of {args.dt * 1e3:g} ms "
          f"(connectivity drawn in {gen_s:.1f} s, IR built in {ir_s:.1f} s)", flush=True)

    rows = [run_neurosim(net, v0, steps, args.dt)]
    rows[0]["build_s"] += ir_s
    print(_fmt(rows[0]), flush=True)
    rows.append(run_brian2(args.neurons, pre, post, v0, steps, args.dt, same_model=True, fan_out=fan_out))
    print(_fmt(rows[-1]), flush=True)
    if not args.no_original:
        rows.append(run_brian2(args.neurons, pre, post, v0, steps, args.dt, same_model=False, fan_out=fan_out))
        print(_fmt(rows[-1]), flush=True)

    ours, peer = rows[0], rows[1]
    ratios = (f"run time neurosim / Brian2 = {ours['run_s'] / peer['run_s']:.2f} "
              f"(target <= 1.00: {'met' if ours['run_s'] <= peer['run_s'] else 'MISSED'}); "
              f"build time ratio {ours['build_s'] / peer['build_s']:.2f}; "
              f"total ratio {(ours['build_s'] + ours['run_s']) / (peer['build_s'] + peer['run_s']):.2f}; "
              f"spikes ratio {ours['spikes'] / max(peer['spikes'], 1):.3f}; "
              f"events/s ratio {(ours['events'] / ours['run_s']) / (peer['events'] / peer['run_s']):.2f}")
    print(ratios)
    if not args.no_append:
        _append(args, steps, pre.size, rows, ratios)
    return 0


def _fmt(r: dict) -> str:
    return (f"{r['name']:42s} build {r['build_s']:7.2f} s  run {r['run_s']:7.2f} s  spikes {r['spikes']:9d}  "
            f"syn events {r['events']:11d}  {r['events'] / r['run_s'] / 1e6:6.1f} M events/s")


def _append(args, steps: int, n_syn: int, rows: list[dict], ratios: str) -> None:
    lines = [f"\n### {datetime.date.today().isoformat()} — {args.neurons} neurons, {n_syn} synapses, {steps} steps",
             f"- machine: {machine()}",
             f"- command: `{' '.join(['python', 'benchmarks/bench_lif_100k.py'] + sys.argv[1:])}`",
             "", "| run | build s | run s | spikes | synaptic events | M events/s |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['build_s']:.2f} | {r['run_s']:.2f} | {r['spikes']} | {r['events']} | "
                     f"{r['events'] / r['run_s'] / 1e6:.1f} |")
    lines += ["", f"- {ratios}", ""]
    append_run(HEADING, "See the docstring of `benchmarks/bench_lif_100k.py` for how the two-current CUBA model "
               "is expressed with one synaptic current per neuron.", lines)


if __name__ == "__main__":
    sys.exit(main())
