#!/usr/bin/env python
"""Splitter relays on TrueNorth: relays on cores with room versus relays on new cores only.

TrueNorth lets a neuron target one core (``core.max_out_axons_per_neuron: 1``), so every neuron
whose targets the partition spreads over several cores gets relay ("splitter") neurons
(:mod:`mapper.partition.splitters`). Both methods run ``map_network`` with the same partitioner, placer,
seed and activity, in one process:

* ``new-cores`` — every relay on a new splitter core (``splitters="new-cores"``, the mapper's
  behaviour before relays could share cores);
* ``auto``      — a relay item goes on one of its source's destination cores when it fits every
  per-core limit exactly (the source keeps its synapses there: one relay and one packet per event
  fewer), else on its source's own core, else on new cores.

Networks (``benchmarks/mapping_nets.py`` and ``tests/mapper/partition/test_splitters.py``):
``layered(64)`` (4 x 64 x 64, 3x3 patches), ``sheet(64)`` (64 x 64 locally connected sheet, 10 %
random targets), the 1-D feed-forward ``ff1d`` (3 x 512, windows of 32) and the fan of one neuron
to 600. Printed per
network and method: split neurons, relays, relays on existing cores, new cores, total cores,
packets and hops (run totals), and the ratios ``auto / new-cores``.

Target: ``auto`` needs fewer cores and fewer hops than ``new-cores`` on every network; a run
(unless ``--no-append``) records both ratios per network in the summary table at the top of
``benchmarks/RESULTS.md`` (:func:`splitter_targets`, ``results_log.record_targets``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mapper import map_network  # noqa: E402
from neurosim.activity import ActivityProfile  # noqa: E402
from neurosim.ir import Connection, Network, Population  # noqa: E402
from neurosim.neurons import LIF  # noqa: E402

from mapping_nets import append_results, layered, sheet  # noqa: E402
from results_log import Target, record_targets  # noqa: E402


def fan(n: int = 600):
    net = Network(name=f"fan{n}")
    net.add(Population("A", 1, LIF()))
    net.add(Population("B", n, LIF()))
    net.add(Connection("A", "B", np.full((n, 1), 2.0), delay_steps=2))
    return net, ActivityProfile.assumed(net, 0.01)


def ff1d(n: int = 512, window: int = 32):
    net = Network(name="ff1d")
    for layer in range(3):
        net.add(Population(f"L{layer}", n, LIF()))
    r = np.repeat(np.arange(n), window)
    c = (r + np.tile(np.arange(-window // 2, window // 2), n)) % n
    for layer in range(2):
        net.add(Connection(f"L{layer}", f"L{layer + 1}", sp.csr_matrix((np.ones(r.size), (c, r)), shape=(n, n))))
    return net, ActivityProfile.assumed(net, 0.05)


NETS = {"layered(64)": lambda: layered(64), "sheet(64)": lambda: sheet(64), "ff1d": ff1d, "fan600": fan}
KEYS = {"layered(64)": "layered64", "sheet(64)": "sheet64", "ff1d": "ff1d", "fan600": "fan600"}  # target ids


def splitter_targets(name: str, partitioner: str, auto: dict, new: dict) -> list[Target]:
    """Summary-table rows of one network: ``auto`` needs fewer cores and fewer hops than relays on
    new cores only (``auto`` / ``new`` as :func:`run` measures them: ``cores``, ``hops``)."""
    head = f"Splitter relays on TrueNorth, {name} ({partitioner}): auto / new-cores"
    rc, rh = auto["cores"] / new["cores"], auto["hops"] / max(new["hops"], 1)
    return [Target(f"splitters.{KEYS[name]}.cores", f"{head}, cores",
                   f"{rc:.2f}x ({auto['cores']} vs {new['cores']} cores)", "< 1x", auto["cores"] < new["cores"],
                   "bench_splitters.py"),
            Target(f"splitters.{KEYS[name]}.hops", f"{head}, hops",
                   f"{rh:.2f}x ({auto['hops']:.4g} vs {new['hops']:.4g} hops)", "< 1x", auto["hops"] < new["hops"],
                   "bench_splitters.py")]


def run(name: str, partitioner: str, seed: int) -> tuple[list[str], dict]:
    net, act = NETS[name]()
    rows, figs = [], {}
    for method in ("new-cores", "auto"):
        t = time.perf_counter()
        res = map_network(net, "truenorth", act, partitioner=partitioner, time_budget_s=0, seed=seed,
                          splitters=method)
        rep = res.report.to_dict()
        s, tot = rep["splitters"], rep["totals"]
        f = {"split": s["split_neurons"], "relays": s["relays"], "on_existing": s.get("relays_on_existing_cores", 0),
             "new_cores": s["cores_added"], "cores": rep["partition"]["cores_used"], "packets": tot["packets"],
             "hops": tot["hops_ew"] + tot["hops_ns"]}
        figs[method] = f
        rows.append(f"| {name} | {partitioner} → {res.partition.strategy} | {method} | {f['split']} | "
                    f"{f['relays']} | {f['on_existing']} | {f['new_cores']} | {f['cores']} | {f['packets']:.4g} | "
                    f"{f['hops']:.4g} | {time.perf_counter() - t:.1f} |")
        print(rows[-1], flush=True)
    a, b = figs["auto"], figs["new-cores"]
    rows.append(f"| {name} | | auto / new-cores | | {a['relays'] / max(b['relays'], 1):.2f} | | | "
                f"{a['cores'] / b['cores']:.2f} | {a['packets'] / b['packets']:.2f} | "
                f"{a['hops'] / max(b['hops'], 1):.2f} | |")
    print(rows[-1], flush=True)
    return rows, figs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nets", nargs="*", default=list(NETS), choices=list(NETS))
    ap.add_argument("--partitioner", default="metis")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-append", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args()
    head = ["| network | partition (kept) | splitters | split neurons | relays | on existing cores | new cores | "
            "cores | packets | hops | wall s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    print("\n".join(head))
    rows, targets = [], []
    for name in args.nets:
        net_rows, figs = run(name, args.partitioner, args.seed)
        rows += net_rows
        targets += splitter_targets(name, args.partitioner, figs["auto"], figs["new-cores"])
    if not args.no_append:
        append_results("## Splitter relays on TrueNorth: cores with room vs new cores (bench_splitters.py)",
                       "bench_splitters.py", "\n".join(head + rows))
        record_targets(targets)


if __name__ == "__main__":
    main()
