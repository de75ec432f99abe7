"""The mapping pipeline (mapper.pipeline): map_network end to end -- reproducible, refuses what cannot
fit, and (property tests over random networks and chips, hypothesis) never exceeds a per-core limit.

* A mapping never exceeds any per-core limit, checked by an independent brute-force count.
* Every neuron is placed exactly once, and every part sits on its own core of the board.
* A network that certainly cannot fit (too many neurons for the board, or one neuron whose own
  fan-in exceeds a core) always raises CapacityError; any other outcome is a valid mapping or a
  CapacityError, never another exception.
"""
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper import map_network
from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network


def test_seeded_runs_are_reproducible():
    net, act = make_tiny_network()
    a = map_network(net, make_tiny_chip(), act, seed=4, time_budget_s=0)
    b = map_network(net, make_tiny_chip(), act, seed=4, time_budget_s=0)
    assert np.array_equal(a.partition.part, b.partition.part) and np.array_equal(a.placement.core, b.placement.core)
    assert a.estimate.total_j == b.estimate.total_j


def test_unknown_names_and_mismatched_activity():
    net, act = make_tiny_network()
    with pytest.raises(MappingError):
        map_network(net, make_tiny_chip(), act, placer="quantum")
    from neurosim.errors import NetworkError
    from neurosim.ir import Population
    from neurosim.neurons import LIF
    net.add(Population("E", 2, LIF()))
    with pytest.raises(NetworkError):
        map_network(net, make_tiny_chip(), act)


def test_capacity_error_for_board():
    net, act = make_tiny_network()
    with pytest.raises(CapacityError, match="max_compartments"):
        map_network(net, make_tiny_chip(max_compartments=2), act)


class _Rule:
    name = "plastic"


@st.composite
def chips(draw):
    core = CoreLimits(
        max_compartments=draw(st.integers(1, 8)), max_in_axons=draw(st.integers(1, 16)),
        max_out_axons=draw(st.integers(1, 16)), synapse_mem_bits=draw(st.integers(16, 1024)),
        synapse_word_bits=draw(st.sampled_from([8, 16, 32])), weight_bits=draw(st.integers(1, 8)),
        synapse_index_bits=draw(st.integers(0, 4)), synapse_row_overhead_bits=draw(st.integers(0, 8)),
        max_plastic_synapses=draw(st.one_of(st.none(), st.integers(0, 20))),
        plastic_synapse_extra_bits=draw(st.integers(0, 4)))
    noc = NocSpec(tile_grid=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), cores_per_tile=draw(st.integers(1, 2)),
                  chip_grid=(draw(st.integers(1, 2)), 1), multicast=draw(st.booleans()))
    return ChipSpec(name="rand", core=core, noc=noc, energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


@st.composite
def networks(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    net = Network(name="rand")
    sizes = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
    for i, n in enumerate(sizes):
        net.add(Population(f"p{i}", n, LIF()))
    for j in range(draw(st.integers(0, 4))):
        a, b = rng.integers(len(sizes)), rng.integers(len(sizes))
        dens = draw(st.floats(0.0, 1.0))  # 1.0: a dense block (all-to-all, twins for the twin exchange)
        w = (rng.random((sizes[b], sizes[a])) < dens) * rng.normal(size=(sizes[b], sizes[a]))
        net.add(Connection(f"p{a}", f"p{b}", sp.csr_matrix(w), name=f"c{j}",
                           learning_rule=_Rule() if rng.random() < 0.3 else None))
    counts = {p.name: rng.integers(0, 5, p.size) for p in net.populations}
    act = ActivityProfile.from_counts(net, counts, steps=5, batch=1, dt_s=1e-3, source="test")
    return net, act


def brute_force_usage(net: Network, chip: ChipSpec, core_of: np.ndarray) -> dict:
    """Per-core resources counted synapse by synapse with plain Python (independent of mapper)."""
    off = net.offsets()
    syn = []  # (pre, post, plastic)
    for c in net.connections:
        m = c.csr().tocoo()
        for r, q in zip(m.row, m.col):
            syn.append((off[c.pre] + int(q), off[c.post] + int(r), c.learning_rule is not None))
    cl = chip.core
    used = {}
    for k in set(core_of.tolist()):
        members = {v for v in range(core_of.size) if core_of[v] == k}
        rows = {}
        for s, t, pl in syn:
            if t in members:
                n, p = rows.get(s, (0, 0))
                rows[s] = (n + 1, p + pl)
        bits = sum(math.ceil((n * (cl.stored_weight_bits + cl.synapse_index_bits) + p * cl.plastic_synapse_extra_bits
                              + cl.synapse_row_overhead_bits) / cl.synapse_word_bits) * cl.synapse_word_bits
                   for n, p in rows.values())
        dests = {}
        for s, t, _ in syn:
            if s in members:
                dests.setdefault(s, set()).add(int(core_of[t]))
        used[k] = {"compartments": len(members), "in_axons": len(rows),
                   "out_axons": sum(len(d) for d in dests.values()), "synapse_bits": bits,
                   "plastic_synapses": sum(p for _, p in rows.values())}
    return used


LIMITS = {"compartments": "max_compartments", "in_axons": "max_in_axons", "out_axons": "max_out_axons",
          "synapse_bits": "synapse_mem_bits", "plastic_synapses": "max_plastic_synapses"}


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(net_act=networks(), chip=chips(), partitioner=st.sampled_from(["sequential", "metis", "hypergraph"]),
       placer=st.sampled_from(["identity", "hilbert", "block", "anneal"]))
def test_mapping_respects_every_limit_or_raises_capacity_error(net_act, chip, partitioner, placer):
    net, act = net_act
    try:
        res = map_network(net, chip, act, partitioner=partitioner, placer=placer, time_budget_s=0,
                          place_options={"pair_moves": 200, "exact_moves": 40} if placer == "anneal" else None)
    except CapacityError:
        return
    part, core = res.partition.part, res.placement.core
    assert part.shape == (net.n_neurons,) and part.min() >= 0 and part.max() < res.partition.n_parts
    assert np.unique(part).size == res.partition.n_parts            # no empty part
    assert np.unique(core).size == core.size and core.max() < chip.n_cores
    core_of = core[part]                                             # each neuron on exactly one core
    for k, u in brute_force_usage(net, chip, core_of).items():
        for r, v in u.items():
            lim = getattr(chip.core, LIMITS[r])
            assert lim is None or v <= lim, (k, r, v, lim)
        i = int(np.flatnonzero(core == k)[0])
        assert {r: int(res.partition.usage.used[r][i]) for r in u} == u  # the mapper's own table agrees


@SETTINGS
@given(net_act=networks(), chip=chips(), partitioner=st.sampled_from(["sequential", "metis"]))
def test_certainly_unmappable_networks_raise(net_act, chip, partitioner):
    net, act = net_act
    n = net.n_neurons
    too_many = n > chip.n_cores * chip.core.max_compartments
    off = net.offsets()
    srcs = {}
    for c in net.connections:
        m = c.csr().tocoo()
        for r, q in zip(m.row, m.col):
            srcs.setdefault(off[c.post] + int(r), set()).add(off[c.pre] + int(q))
    big_fan_in = any(len(s) > chip.core.max_in_axons for s in srcs.values())
    if not (too_many or big_fan_in):
        return
    with pytest.raises(CapacityError):
        map_network(net, chip, act, partitioner=partitioner, placer="identity")


def test_a_graph_built_before_the_activity_maps_like_a_fresh_one(monkeypatch):
    """The fit check's graph is reused: only the rates change, the figures are those of a fresh build."""
    import mapper.pipeline as pipeline
    from mapper import MappingOptions, check_fits, map_network, structure_graph
    from tests.helpers import make_tiny_chip, make_tiny_network

    net, act = make_tiny_network()
    g = structure_graph(net)
    assert g.rate.sum() == 0
    check_fits(net, make_tiny_chip(), graph=g)
    fresh = map_network(net, make_tiny_chip(), act, MappingOptions(time_budget_s=0))
    calls = []
    monkeypatch.setattr(pipeline, "build_graph", lambda *a, **k: calls.append(1))
    reused = map_network(net, make_tiny_chip(), act, MappingOptions(time_budget_s=0), graph=g)
    assert not calls
    for key in ("energy_j", "latency_s", "totals", "routing", "partition"):
        assert reused.report.to_dict()[key] == fresh.report.to_dict()[key], key


def test_a_graph_of_another_network_is_refused():
    import pytest

    from mapper import structure_graph
    from neurosim.errors import NetworkError
    from neurosim.ir import Network, Population
    from neurosim.neurons import LIF
    from tests.helpers import make_tiny_network

    net, act = make_tiny_network()
    other = Network("other")
    other.add(Population("A", 2, LIF()))
    with pytest.raises(NetworkError, match=r"graph 'other': built from another network"):
        structure_graph(other).with_activity(net, act)
