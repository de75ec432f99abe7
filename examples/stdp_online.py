"""Online STDP inside the compiled loop: one neuron, many Poisson inputs, weights become bimodal.

The setting of Song, Miller & Abbott (2000, "Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity"), current-based: ``n_inputs`` independent Poisson
trains at ``rate_hz`` drive one leaky integrate-and-fire neuron through plastic excitatory
synapses under pair-based STDP (:class:`neurosim.plasticity.PairSTDP`, depression slightly
stronger than potentiation, ``a_minus = 1.05 a_plus``). The inputs that happen to cause the
neuron to fire are potentiated, the others depressed; starting from uniform weights the
distribution splits towards ``0`` and ``w_max`` while the output rate settles.

Each input train is a relay neuron driven by a :class:`~neurosim.ir.PoissonInput` (one spike per
Poisson event, one step later), so that it is a population the plastic connection can start
from. The rule runs inside the engine's loop on every pre- and post-synaptic spike; the run's
activity profile counts every update it applied (``learn_updates``) for the mapper::

    python examples/stdp_online.py [--seconds 20] [--inputs 1000] [--rate 15] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import neurosim as ns
from neurosim.backends.compiled import CompiledSimulator
from neurosim.plasticity import PairSTDP

DT_S = 1e-4


def build_stdp_network(*, n_inputs: int = 1000, rate_hz: float = 15.0, w_max: float = 0.015, seed: int = 0,
                       a_plus: float = 0.02) -> ns.Network:
    """The network of the module docstring (weights in units of the output threshold)."""
    rng = np.random.default_rng(seed)
    net = ns.Network("stdp_online")
    net.add(ns.Population("inputs", n_inputs, ns.IF(tau_s=DT_S, v_th=0.5, reset="zero")))
    net.add(ns.Population("out", 1, ns.LIF(tau_m_s=10e-3, tau_s=5e-3, v_th=1.0, v_rest=0.0, reset="zero",
                                            refractory_steps=10)))
    net.add(ns.PoissonInput("inputs", np.full(n_inputs, rate_hz), weight=1.0))
    rule = PairSTDP(a_plus=a_plus * w_max, a_minus=1.05 * a_plus * w_max, tau_pre_s=20e-3, tau_post_s=20e-3,
                    w_min=0.0, w_max=w_max)
    w0 = rng.uniform(0.45, 0.55, (1, n_inputs)) * w_max
    net.add(ns.Connection("inputs", "out", w0, learning_rule=rule, name="plastic"))
    net.add(ns.Probe("out", "count"))
    return net


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="model time to learn (s)")
    ap.add_argument("--inputs", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=15.0, help="input rate (Hz)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    net = build_stdp_network(n_inputs=args.inputs, rate_hz=args.rate, seed=args.seed)
    sim = CompiledSimulator(net, dt_s=DT_S, seed=args.seed)
    w_max = net.connection("plastic").learning_rule.w_max
    print(f"{args.inputs} Poisson inputs at {args.rate:g} Hz -> 1 LIF neuron, pair STDP in the loop, "
          f"{args.seconds:g} s at dt {DT_S * 1e3:g} ms")
    steps_per_window = int(round(min(5.0, args.seconds) / DT_S))
    done, t0 = 0, time.perf_counter()
    total = int(round(args.seconds / DT_S))
    while done < total:
        k = min(steps_per_window, total - done)
        before = int(sim.result().activity.counts["out"].sum())
        sim.run(k)
        done += k
        w = np.asarray(sim.weights("plastic")).ravel() / w_max
        rate = (int(sim.result().activity.counts["out"].sum()) - before) / (k * DT_S)
        hist = np.histogram(w, bins=5, range=(0, 1))[0]
        print(f"t = {done * DT_S:5.1f} s  output {rate:6.1f} Hz  weights/w_max histogram (5 bins 0..1): {hist}")
    act = sim.result().activity
    print(f"wall {time.perf_counter() - t0:.1f} s; synapse updates applied in the loop: "
          f"{act.learn_updates['plastic']} (triggers {act.learn_triggers['plastic']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
