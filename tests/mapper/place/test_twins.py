"""Twin exchange (mapper.place.twins): exact twin detection, resource invariance, a hand-computed optimum,
the stage that returns its new partition, and the pipeline's use of it."""
import numpy as np
import pytest
import scipy.sparse as sp

from mapper import MappingOptions, map_network
from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.graph import build_graph, core_rows
from mapper.nets import build_nets
from mapper.partition import partition
from mapper.place import TwinExchange, exchange_twins, find_twins, place, placement_cost
from mapper.place.twins import refine_twins, twin_classes
from mapper.resources import core_usage
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF


def line_chip(tx: int, ty: int = 1, cpt: int = 1, comps: int = 8) -> ChipSpec:
    return ChipSpec(name="line", core=CoreLimits(max_compartments=comps, max_in_axons=64, max_out_axons=64,
                                                 synapse_mem_bits=1 << 16),
                    noc=NocSpec(tile_grid=(tx, ty), cores_per_tile=cpt),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def all_to_all(n: int, counts, steps: int = 10):
    w = np.ones((n, n)) - np.eye(n)
    net = Network(name="a2a")
    net.add(Population("x", n, LIF()))
    net.add(Connection("x", "x", w))
    act = ActivityProfile.from_counts(net, {"x": np.asarray(counts)}, steps=steps, batch=1, dt_s=1e-3,
                                      source="test")
    return net, act


def test_all_to_all_neurons_are_closed_twins_and_a_dense_layer_open_twins():
    net, act = all_to_all(5, [1, 2, 3, 4, 5])
    lab = twin_classes(build_graph(net, act))
    assert (lab >= 0).all() and np.unique(lab).size == 1
    # dense feed-forward layer: the 3 post neurons share their in-set, have no targets -> not candidates;
    # the 4 pre neurons share their out-set (open twins)
    ff = Network(name="ff")
    ff.add(Population("a", 4, LIF()))
    ff.add(Population("b", 3, LIF()))
    ff.add(Connection("a", "b", np.ones((3, 4))))
    g = build_graph(ff, ActivityProfile.assumed(ff, 0.1))
    lab = twin_classes(g)
    assert (lab[:4] >= 0).all() and np.unique(lab[:4]).size == 1 and (lab[4:] < 0).all()


def test_twins_are_verified_exactly_not_by_hash():
    # same neighbour sets, but neuron 0 gets two synapses from neuron 2 (two connections): not a twin of 1
    n = 3
    net = Network(name="near")
    net.add(Population("x", n, LIF()))
    w = np.ones((n, n)) - np.eye(n)
    net.add(Connection("x", "x", w, name="c1"))
    extra = np.zeros((n, n))
    extra[0, 2] = 1.0
    net.add(Connection("x", "x", sp.csr_matrix(extra), name="c2"))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    lab = twin_classes(g)
    assert lab[0] < 0 or lab[0] != lab[1]
    # a locally connected chain has no twins
    chain = Network(name="chain")
    chain.add(Population("x", 6, LIF()))
    chain.add(Connection("x", "x", sp.csr_matrix(np.eye(6, k=1))))
    assert (twin_classes(build_graph(chain, ActivityProfile.assumed(chain, 0.1))) < 0).all()


def test_hand_computed_line_optimum_and_resources_unchanged():
    """3 tiles in a row, one core each, 2 neurons per core, all-to-all; the two busy neurons (1 event
    per step) start together on the middle core. Every spike's multicast tree covers the 2 links of
    the line, so links = 2 x 2 = 4 whatever the placement; the busiest link carries 2 (both from
    the middle: E(1->2) and W(1->0) carry 2) and 1 with one busy neuron at each end."""
    chip = line_chip(3, comps=2)
    net, act = all_to_all(6, [0, 0, 10, 10, 0, 0])
    g = build_graph(net, act)
    part = np.array([0, 0, 1, 1, 2, 2])
    rows = core_rows(g, part, 3)
    nets = build_nets(g, part, rows)
    core = np.array([0, 1, 2])
    before = placement_cost(nets, chip, core, multicast=True, lam=1.0)
    assert before["links"] == pytest.approx(4.0) and before["max_link_load"] == pytest.approx(2.0)
    res = refine_twins(g, nets, chip, part, core, multicast=True, lam=1.0, chip_weight=0.0, seed=0)
    assert res.objective_before == pytest.approx(6.0) and res.objective_after == pytest.approx(5.0)
    assert res.swaps >= 1 and res.twins == 6
    busy = res.part[[2, 3]]
    assert sorted(busy.tolist()) == [0, 2]  # one busy neuron on each end core
    rows2 = core_rows(g, res.part, 3)
    after = placement_cost(build_nets(g, res.part, rows2), chip, core, multicast=True, lam=1.0)
    assert after["links"] == pytest.approx(4.0) and after["max_link_load"] == pytest.approx(1.0)
    u0 = core_usage(g, chip, part, n_parts=3, rows=rows).used
    u1 = core_usage(g, chip, res.part, n_parts=3, rows=rows2).used
    for r in u0:
        assert np.array_equal(u0[r], u1[r]), r


def test_map_network_exchanges_twins_of_an_all_to_all_layer():
    """All-to-all layer, busy neurons first in index order: the pipeline gathers them away from the
    middle of the block, lowering the busiest link without more link traversals, and every core's
    resources stay within limits."""
    chip = line_chip(4, 2, cpt=1, comps=4)
    counts = np.r_[np.full(4, 50), np.zeros(12, int)]
    net, act = all_to_all(16, counts, steps=100)
    plain = map_network(net, chip, act, seed=0, time_budget_s=0, place_options={"multicast": True},
                        partitioner="sequential")
    rep = plain.report.to_dict()
    assert rep["placement"]["twins"]["twins"] == 16
    assert not plain.partition.usage.violations()
    g = plain.graph
    seq_part = np.repeat(np.arange(4), 4)
    nets0 = build_nets(g, seq_part, core_rows(g, seq_part, 4))
    ident = placement_cost(nets0, chip, np.arange(4), multicast=True)
    got = plain.placement.cost
    assert got["links"] <= ident["links"] + 1e-9 and got["max_link_load"] < ident["max_link_load"]


def _random_net(data) -> tuple[Network, ActivityProfile]:
    from hypothesis import strategies as st

    net = Network(name="rand")
    sizes = data.draw(st.lists(st.integers(2, 6), min_size=1, max_size=3), label="sizes")
    for i, n in enumerate(sizes):
        net.add(Population(f"p{i}", n, LIF()))
    rng = np.random.default_rng(data.draw(st.integers(0, 10_000), label="seed"))
    for k in range(data.draw(st.integers(1, 2), label="n_conn")):
        a, b = rng.integers(len(sizes)), rng.integers(len(sizes))
        kind = rng.choice([0, 0, 0, 1, 2])  # mostly twin-rich blocks
        na, nb = sizes[a], sizes[b]
        if kind == 0:
            w = np.ones((nb, na))
            if a == b and rng.random() < 0.7:
                np.fill_diagonal(w, 0.0)
        elif kind == 1:
            w = (rng.random((nb, na)) < 0.4).astype(float)
        else:
            w = np.ones((nb, na)) * (rng.random(na) < 0.5)[None, :]
        if not w.any():
            continue
        net.add(Connection(f"p{a}", f"p{b}", w, name=f"c{k}"))
    if not net.connections:
        net.add(Connection("p0", "p0", np.ones((sizes[0], sizes[0])), name="c_all"))
    counts = {p.name: rng.integers(0, 20, p.size) for p in net.populations}
    return net, ActivityProfile.from_counts(net, counts, steps=20, batch=1, dt_s=1e-3, source="test")


def test_twin_exchange_property():
    """Random networks of dense / random / column-masked blocks on random small meshes: twin
    exchange never changes any core's resources or how many neurons a part holds, never raises the
    objective, and its incremental objective equals the one recomputed from scratch."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from mapper.partition import partition
    from mapper.place.cost import LinkCost

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def run(data):
        net, act = _random_net(data)
        tx, ty = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
        cpt = data.draw(st.integers(1, 2))
        chip = line_chip(tx, ty, cpt=cpt, comps=data.draw(st.integers(2, 6)))
        g = build_graph(net, act)
        try:
            p = partition(g, chip, MappingOptions(partitioner="sequential"))
        except Exception:  # too big for this small chip: not what is tested here
            return
        nets = build_nets(g, p.part, p.rows)
        core = np.random.default_rng(0).permutation(chip.n_cores)[:p.n_parts]
        lam = data.draw(st.sampled_from([0.0, 1.0, 3.0]))
        multicast = data.draw(st.booleans())
        res = refine_twins(g, nets, chip, p.part, core, multicast=multicast, lam=lam, chip_weight=0.5, seed=0)
        assert res.objective_after <= res.objective_before + 1e-9
        assert np.array_equal(np.bincount(res.part, minlength=p.n_parts), np.bincount(p.part, minlength=p.n_parts))
        rows2 = core_rows(g, res.part, p.n_parts)
        u0 = core_usage(g, chip, p.part, n_parts=p.n_parts, rows=p.rows).used
        u1 = core_usage(g, chip, res.part, n_parts=p.n_parts, rows=rows2).used
        for r in u0:
            assert np.array_equal(u0[r], u1[r]), r
        fresh = LinkCost(build_nets(g, res.part, rows2), chip, core, multicast=multicast, lam=lam, chip_weight=0.5)
        assert fresh.value() == pytest.approx(res.objective_after, rel=1e-9, abs=1e-9)

    run()


def test_the_stage_returns_a_new_partition_explicitly_and_the_inputs_when_nothing_is_gained():
    """The line of the hand-computed optimum through the stage: the plain placement cannot lower the
    busiest link (moving whole parts keeps both busy neurons together), the exchange can; it returns
    a new partition with its nets and placement, and leaves the given ones untouched."""
    chip = line_chip(3, comps=2)
    net, act = all_to_all(6, [0, 0, 10, 10, 0, 0])
    g = build_graph(net, act)
    opts = MappingOptions(partitioner="sequential", placer="anneal", seed=0, time_budget_s=0,
                          place_options={"multicast": True, "lam": 1.0, "chip_weight": 0.0})
    p = partition(g, chip, opts)
    assert p.part.tolist() == [0, 0, 1, 1, 2, 2]
    nets = build_nets(g, p.part, p.rows)
    label = find_twins(g, nets, opts)
    assert (label >= 0).sum() == 6
    pl = place(nets, chip, opts)
    assert pl.cost["max_link_load"] == pytest.approx(2.0)
    ex = exchange_twins(g, chip, p, pl, opts, nets=nets, label=label)
    assert isinstance(ex, TwinExchange) and ex.partition is not p and ex.info["twins"] == 6 and ex.info["swaps"] >= 1
    assert p.part.tolist() == [0, 0, 1, 1, 2, 2]  # the input partition is not changed
    busy_cores = ex.placement.core[ex.partition.part[[2, 3]]]
    assert busy_cores[0] != busy_cores[1] and ex.placement.cost["max_link_load"] == pytest.approx(1.0)
    fresh = build_nets(g, ex.partition.part, core_rows(g, ex.partition.part, 3))
    assert np.array_equal(ex.nets.neuron_net, fresh.neuron_net) and np.allclose(ex.nets.rate, fresh.rate)
    assert ex.placement.cost == placement_cost(fresh, chip, ex.placement.core, multicast=True, lam=1.0)
    for r, used in core_usage(g, chip, ex.partition.part, n_parts=3).used.items():
        assert np.array_equal(ex.partition.usage.used[r], used) and np.array_equal(used, p.usage.used[r]), r
    # nothing to exchange: the given partition, nets and placement come back as they are
    same = exchange_twins(g, chip, p, pl, opts, nets=nets, label=None)
    assert (same.partition, same.placement, same.nets, same.info) == (p, pl, nets, {"twins": 0, "swaps": 0})


def test_find_twins_applies_to_the_anneal_placer_with_twins_on_and_two_parts():
    chip = line_chip(3, comps=2)
    net, act = all_to_all(6, [0, 0, 10, 10, 0, 0])
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"))
    nets = build_nets(g, p.part, p.rows)
    assert find_twins(g, nets, MappingOptions()) is not None
    assert find_twins(g, nets, MappingOptions(placer="hilbert")) is None
    assert find_twins(g, nets, MappingOptions(place_options={"twins": False})) is None
    one = build_nets(g, np.zeros(6, dtype=np.int64), core_rows(g, np.zeros(6, dtype=np.int64), 1))
    assert find_twins(g, one, MappingOptions()) is None
