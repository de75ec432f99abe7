"""Shared test helpers: the repository root and a hand-computable chip and network for the mapper tests.

The chip is built in code (not read from ``chips/tiny.yaml``) so the expected figures written in
the tests below cannot drift with the YAML file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF

#: the repository root (chips/, examples/, README.md)
ROOT = Path(__file__).resolve().parents[1]


def make_tiny_chip(*, chip_grid=(1, 1), multicast=True, **core_overrides) -> ChipSpec:
    """2 x 2 tiles, one core per tile; round-number costs in distinct decades."""
    core = dict(max_compartments=4, max_in_axons=8, max_out_axons=8, synapse_mem_bits=256, synapse_word_bits=16,
                weight_bits=4, synapse_index_bits=2, synapse_row_overhead_bits=4, max_plastic_synapses=16,
                plastic_synapse_extra_bits=2)
    core.update(core_overrides)
    return ChipSpec(
        name="tiny-code",
        core=CoreLimits(**core),
        noc=NocSpec(tile_grid=(2, 2), cores_per_tile=1, chip_grid=chip_grid, multicast=multicast),
        energy=EnergyModel(syn_op=1e-12, neuron_update_active=10e-12, neuron_update_inactive=2e-12, spike_out=5e-12,
                           packet=20e-12, spike_within_tile=3e-12, hop_ew=100e-12, hop_ns=200e-12, hop_chip=1e-9,
                           learn_update=50e-12, barrier=4e-12, static_power_w_per_chip=1e-3),
        timing=TimingModel(syn_op=1e-9, neuron_update_active=10e-9, neuron_update_inactive=2e-9, spike_out=5e-9,
                           packet_out=20e-9, packet_in=30e-9, spike_within_tile=3e-9, hop_ew=100e-9, hop_ns=200e-9,
                           hop_chip=1e-6, learn_update=50e-9, barrier_by_tiles=((1, 1e-6), (4, 4e-6)),
                           barrier_multichip=((2, 10e-6), (4, 20e-6))),
        source="<tests/conftest.py>", cost_source="made-up test costs")


class _Plastic:
    """Stand-in learning rule: the mapper only asks whether a connection is plastic."""

    name = "test-plastic"


def make_tiny_network():
    """A(4) B(4) C(4) D(1); see tests/test_estimate.py for the hand computation.

    Synapses: A0->B0, A0->B1, A1->B1, A0->C0, A0->D0, A2->A3 and the plastic B0->C3.
    Events over 10 steps: A0 3, A1 2, A2 1, B0 4.
    """
    net = Network(name="tiny")
    for name, n in (("A", 4), ("B", 4), ("C", 4), ("D", 1)):
        net.add(Population(name, n, LIF()))
    ab = np.zeros((4, 4)); ab[0, 0] = ab[1, 0] = ab[1, 1] = 1.0
    ac = np.zeros((4, 4)); ac[0, 0] = 1.0
    ad = np.zeros((1, 4)); ad[0, 0] = 1.0
    aa = np.zeros((4, 4)); aa[3, 2] = 1.0
    bc = np.zeros((4, 4)); bc[3, 0] = 0.5
    net.add(Connection("A", "B", ab))
    net.add(Connection("A", "C", ac))
    net.add(Connection("A", "D", ad))
    net.add(Connection("A", "A", aa))
    net.add(Connection("B", "C", bc, learning_rule=_Plastic()))
    counts = {"A": np.array([3, 2, 1, 0]), "B": np.array([4, 0, 0, 0]), "C": np.zeros(4, int), "D": np.zeros(1, int)}
    act = ActivityProfile.from_counts(net, counts, steps=10, batch=1, dt_s=1e-3, source="simulated:test")
    return net, act


def save_tiny_files(directory):
    """Write the tiny network (its plastic stand-in rule dropped: files hold weights, not rules) and
    its activity as ``directory/net.npz`` and ``directory/act.npz``; returns ``directory``."""
    from neurosim.io.network import save_network

    net, act = make_tiny_network()
    last = net.connections[-1]
    net.connections[-1] = type(last)(last.pre, last.post, last.weights, name="B->C")
    save_network(net, directory / "net.npz")
    act.save(directory / "act.npz")
    return directory


def splitter_relay_graph(relay_name="__splitters__"):
    """A NIR graph input -> lif1 -> lif2 with part of lif1's fan-out through a relay layer named
    ``relay_name``, as ``neurosim map --nir-out`` exports splitter relays (needs the ``nir`` package)."""
    import nir

    def lif(n):
        return nir.LIF(tau=np.full(n, 1e-2), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n))

    nodes = {"input": nir.Input(input_type=np.array([3])), "input__lif1": nir.Linear(weight=np.ones((4, 3))),
             "lif1": lif(4), "lif1__relay": nir.Linear(weight=np.eye(2, 4)), relay_name: lif(2),
             "relay__lif2": nir.Linear(weight=np.ones((2, 2))), "lif2": lif(2),
             "output": nir.Output(output_type=np.array([2]))}
    edges = [("input", "input__lif1"), ("input__lif1", "lif1"), ("lif1", "lif1__relay"), ("lif1__relay", relay_name),
             (relay_name, "relay__lif2"), ("relay__lif2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)
