"""The splitter stage (mapper.partition.splitters): relay neurons for chips with a per-neuron
destination-core limit (TrueNorth), by hand, through the stage and the pipeline, and as property tests."""
import json

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper import MappingOptions, map_network
from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.graph import build_graph
from mapper.partition import partition
from mapper.partition.splitters import SPLITTER_POPULATION, add_splitters, insert_splitters, relays_per_core
from mapper.resources import core_usage
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF


def chip_with(grid=(4, 2), **core):
    lim = dict(max_compartments=4, max_in_axons=8, max_out_axons=8, synapse_mem_bits=1 << 12, synapse_word_bits=16,
               weight_bits=4, synapse_index_bits=2, synapse_row_overhead_bits=4, max_out_axons_per_neuron=1)
    lim.update(core)
    return ChipSpec(name="tn-test", core=CoreLimits(**lim), noc=NocSpec(tile_grid=grid, cores_per_tile=1),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12, spike_out=5e-12, packet=20e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def fan_net(n_targets=11, weight=2.0):
    """One source neuron A[0] projecting to every neuron of B (weight ``weight``, delay 2)."""
    net = Network(name="fan")
    net.add(Population("A", 1, LIF()))
    net.add(Population("B", n_targets, LIF()))
    net.add(Connection("A", "B", np.full((n_targets, 1), weight), delay_steps=2))
    return net


def dest_cores(graph, part):
    """Destination cores of every neuron."""
    return np.array([np.unique(part[graph.out_idx[graph.out_ptr[v]:graph.out_ptr[v + 1]]]).size
                     for v in range(graph.n)])


def test_one_source_on_three_cores_gets_three_relays_by_hand():
    # sequential fill, 4 compartments per core: {A0, B0-B2}, {B3-B6}, {B7-B10}: A0 targets 3 cores
    net, chip = fan_net(), chip_with()
    act = ActivityProfile.assumed(net, 0.1, steps=100)  # 10 events per neuron
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    assert p.n_parts == 3
    s = insert_splitters(net, act, g, chip, p, reuse_cores=True)
    assert (s.split_neurons, s.relays, s.cores, s.levels) == (1, 3, 1, 1)
    relays = s.network.population(SPLITTER_POPULATION)
    assert relays.size == 3 and s.graph.n == 15
    assert np.array_equal(s.partition.part, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3])
    assert dest_cores(s.graph, s.partition.part).max() <= 1
    assert core_usage(s.graph, chip, s.partition.part, n_parts=4).violations() == []
    # relay k targets exactly the neurons of part k with the original weight and delay
    rc = s.network.connection(f"{SPLITTER_POPULATION}:A->B")
    w = rc.csr().toarray()
    assert rc.delay_steps == 2 and set(np.unique(w)) == {0.0, 2.0}
    assert [list(np.flatnonzero(w[:, k])) for k in range(3)] == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9, 10]]
    feed = s.network.connection(f"A->{SPLITTER_POPULATION}")
    assert feed.delay_steps == 1 and np.array_equal(feed.csr().toarray(), np.ones((3, 1)))
    assert s.network.connection("A->B").n_synapses == 0
    assert np.array_equal(s.activity.counts[SPLITTER_POPULATION], [10, 10, 10])


def test_relays_go_on_a_destination_core_with_room_whose_synapses_stay_direct():
    # {A0, B0-B2}, {B3-B6}, {B7, B8}: the third core has room for the 2 relays of cores 0 and 1
    net, chip = fan_net(n_targets=9), chip_with()
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    s = insert_splitters(net, act, g, chip, p, reuse_cores=True)
    assert (s.relays, s.cores, s.relays_on_existing, s.hosted_on_destination) == (2, 0, 2, 1)
    assert np.array_equal(s.partition.part, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    assert dest_cores(s.graph, s.partition.part).max() == 1
    assert s.network.connection("A->B").csr().toarray().ravel().tolist() == [0.0] * 7 + [2.0, 2.0]  # direct
    rc = s.network.connection(f"{SPLITTER_POPULATION}:A->B").csr().toarray()
    assert [list(np.flatnonzero(rc[:, k])) for k in range(2)] == [[0, 1, 2], [3, 4, 5, 6]]
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    # packets: A0 reaches core 2 once, each relay one core (40 with relays on a new core)
    assert res.estimate.counts["packet"] == pytest.approx(10 * 1 + 2 * 10)
    assert res.estimate.counts["syn_op"] == pytest.approx(10 * (9 + 2))


def test_relays_go_on_the_source_core_when_its_destinations_are_full():
    # {B0-B3}, {B4-B7}, {A0}: A0 does not target its own core, which has room for both relays
    net = Network(name="back")
    net.add(Population("B", 8, LIF()))
    net.add(Population("A", 1, LIF()))
    net.add(Connection("A", "B", np.ones((8, 1))))
    chip = chip_with()
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    s = insert_splitters(net, act, g, chip, p, reuse_cores=True)
    assert (s.relays, s.cores, s.relays_on_existing, s.hosted_on_destination) == (2, 0, 2, 0)
    assert np.array_equal(s.partition.part, [0] * 4 + [1] * 4 + [2, 2, 2])
    assert s.network.connection("A->B").n_synapses == 0 and dest_cores(s.graph, s.partition.part).max() == 1
    assert core_usage(s.graph, chip, s.partition.part, n_parts=3).violations() == []


def test_energy_and_packets_with_splitters_by_hand():
    net, chip = fan_net(), chip_with()
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    c = res.estimate.counts
    # A0: 10 events to 3 relays; 3 relays x 10 events to 11 targets
    assert c["syn_op"] == pytest.approx(10 * 3 + 10 * 11)
    assert c["spike_out"] == pytest.approx(10 * (1 + 11 + 3))  # every neuron emits 10 events
    assert c["packet"] == pytest.approx(10 * 1 + 3 * 10 * 1)  # A0 and each relay reach one core; B has no targets
    assert c["neuron_update_active"] == pytest.approx(15 * 100)
    pj = 1e-12 * (140 * 1 + 1500 * 1 + 150 * 5 + 40 * 20)
    assert res.estimate.energy_j["syn_op"] + res.estimate.energy_j["neuron_update_active"] \
        + res.estimate.energy_j["spike_out"] + res.estimate.energy_j["packet"] == pytest.approx(pj)
    rep = json.loads(json.dumps(res.report.to_dict()))
    assert rep["splitters"] == {"enabled": True, "population": SPLITTER_POPULATION, "split_neurons": 1, "relays": 3,
                                "cores_added": 1, "added_latency_steps": 1, "two_level_trees": 0, "dest_limit": 1,
                                "relays_per_core": 4, "graded_sources": 0, "relays_on_existing_cores": 0,
                                "hosted_on_destination": 0}
    assert rep["partition"]["cores_used"] == 4 and rep["network"]["populations"][SPLITTER_POPULATION] == 3
    assert any("splitter relay" in n for n in rep["notes"])
    assert res.network.population(SPLITTER_POPULATION).size == 3


def test_without_a_limit_nothing_is_split():
    net = fan_net()
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    res = map_network(net, chip_with(max_out_axons_per_neuron=None), act, partitioner="sequential", placer="identity",
                      time_budget_s=0)
    assert res.report.to_dict()["splitters"]["relays"] == 0 and res.splitters is None
    assert res.estimate.counts["syn_op"] == pytest.approx(110) and res.estimate.counts["packet"] == pytest.approx(30)


def test_the_stage_returns_the_new_network_activity_graph_and_partition():
    """add_splitters is the visible stage: its value holds everything the later stages read, the
    inputs are left as they were, and "new-cores" puts every relay on a new core."""
    net, chip = fan_net(n_targets=9), chip_with()
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    s = add_splitters(net, act, g, chip, p, MappingOptions(partitioner="sequential"))
    assert (s.relays, s.cores, s.relays_on_existing) == (2, 0, 2)
    assert s.network is not net and SPLITTER_POPULATION not in net.population_map()  # the input network unchanged
    assert s.graph.n == g.n + s.relays and np.array_equal(build_graph(s.network, s.activity).out_idx, s.graph.out_idx)
    assert s.partition.part.size == s.graph.n and p.part.size == g.n
    assert core_usage(s.graph, chip, s.partition.part, n_parts=s.partition.n_parts).violations() == []
    apart = add_splitters(net, act, g, chip, p, MappingOptions(partitioner="sequential", splitters="new-cores"))
    assert (apart.relays, apart.cores, apart.relays_on_existing) == (3, 1, 0)
    # no neuron to split: the inputs come back, the partition re-checked on the chip itself
    few = fan_net(n_targets=3)
    act3 = ActivityProfile.assumed(few, 0.1, steps=100)
    g3 = build_graph(few, act3)
    p3 = partition(g3, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    none = add_splitters(few, act3, g3, chip, p3, MappingOptions(partitioner="metis"))
    assert none.relays == 0 and (none.network, none.activity, none.graph) == (few, act3, g3)
    assert np.array_equal(none.partition.part, p3.part)


def test_auto_versus_false():
    net, chip = fan_net(), chip_with()
    with pytest.raises(CapacityError, match="max_out_axons_per_neuron.*splitters='auto'"):
        map_network(net, chip, None, partitioner="sequential", placer="identity", splitters=False)
    res = map_network(net, chip, None, partitioner="sequential", placer="identity", time_budget_s=0)
    assert res.splitters.relays == 3
    with pytest.raises(MappingError, match="splitters"):
        map_network(net, chip, None, splitters="always")
    # {A0, B0-B2}, {B3-B6}, {B7, B8}: relays on the third core, or all of them on a new one
    kw = dict(partitioner="sequential", placer="identity", time_budget_s=0)
    auto = map_network(fan_net(n_targets=9), chip, None, **kw).splitters
    apart = map_network(fan_net(n_targets=9), chip, None, splitters="new-cores", **kw).splitters
    assert (auto.relays, auto.cores, apart.relays, apart.cores, apart.relays_on_existing) == (2, 0, 3, 1, 0)


def test_two_level_tree_when_the_relays_exceed_a_core():
    # 2 compartments per core: A0's 3 leaf relays exceed one core -> 2 first-level + 3 leaf relays
    net = fan_net(n_targets=5)  # {A0, B0}, {B1, B2}, {B3, B4}
    chip = chip_with(max_compartments=2)
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    assert relays_per_core(chip) == 2 and p.n_parts == 3
    s = insert_splitters(net, act, g, chip, p, reuse_cores=True)
    assert (s.relays, s.cores, s.levels, s.two_level) == (5, 3, 2, 1)
    assert dest_cores(s.graph, s.partition.part).max() <= 1
    assert core_usage(s.graph, chip, s.partition.part, n_parts=s.partition.n_parts).violations() == []
    # every target still receives exactly one path from A0, of weight 2
    rc = s.network.connection(f"{SPLITTER_POPULATION}:A->B").csr().toarray()
    assert np.array_equal((rc != 0).sum(axis=1), np.ones(5)) and np.all(rc[rc != 0] == 2.0)
    assert s.network.connection(f"{SPLITTER_POPULATION}->{SPLITTER_POPULATION}").n_synapses == 3


def test_board_too_small_for_the_splitter_cores():
    net = fan_net()
    chip = chip_with(grid=(3, 1))  # the partition takes all 3 cores
    with pytest.raises(CapacityError, match=r"cores.*got 4.*splitter relays") as e:
        map_network(net, chip, None, partitioner="sequential", placer="identity")
    assert e.value.used == 4 and e.value.limit == 3


def test_relays_share_splitter_cores_under_every_limit():
    # 6 sources {A0-A5} on core 0, each projecting into both halves of B: {B0-B5}, {B6-B11}
    rng = np.random.default_rng(0)
    net = Network(name="many")
    net.add(Population("A", 6, LIF()))
    net.add(Population("B", 12, LIF()))
    w = (rng.random((12, 6)) < 0.5).astype(float)
    w[[0, 6], :] = 1.0
    net.add(Connection("A", "B", sp.csr_matrix(w)))
    # before splitting core 0 would need 6 x 2 = 12 > 8 output axons; after it, 6
    chip = chip_with(max_compartments=6, max_in_axons=8, max_out_axons=8)
    act = ActivityProfile.assumed(net, 0.05, steps=200)
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    g, part = res.graph, res.partition.part
    assert dest_cores(g, part).max() <= 1
    u = core_usage(g, chip, part, n_parts=res.partition.n_parts)
    assert u.violations() == [] and u.used["out_axons"][0] == 6
    # 12 relays, 6 per splitter core (2 per source, 3 sources per core)
    assert (res.splitters.relays, res.splitters.cores, res.partition.n_parts) == (12, 2, 5)
    assert np.array_equal(u.used["compartments"][3:], [6, 6]) and np.array_equal(u.used["in_axons"][3:], [3, 3])
    assert np.all(g.counts[18:] == 10)  # every relay repeats its source's 10 events


def test_simulated_relays_fire_once_per_spike_one_step_late():
    from neurosim.backends import simulate

    net = Network(name="sim")
    net.add(Population("A", 2, LIF(bias=np.array([0.35, 0.2]))))
    net.add(Population("B", 10, LIF(v_th=100.0)))
    net.add(Connection("A", "B", np.ones((10, 2))))
    chip = chip_with()
    res = simulate(net, steps=200, dt_s=1.0)
    act = res.activity
    g = build_graph(net, act)
    p = partition(g, chip, MappingOptions(partitioner="sequential"), enforce_dest_limit=False)
    s = insert_splitters(net, act, g, chip, p, reuse_cores=True)
    assert s.relays > 0
    out = simulate(s.network, steps=200, dt_s=1.0).activity
    assert np.array_equal(out.counts["A"], act.counts["A"])
    relay_of = s.graph.in_idx[s.graph.in_ptr[g.n:g.n + s.relays]]  # each relay's single feeder
    assert np.all(np.abs(out.counts[SPLITTER_POPULATION] - act.counts["A"][relay_of]) <= 1)


def test_cli_map_on_truenorth_with_and_without_splitters(tmp_path, capsys):
    from neurosim.cli import main
    from neurosim.io.network import save_network

    save_network(fan_net(n_targets=600), tmp_path / "net.npz")  # sequential: 256 + 256 + 89 neurons
    out = tmp_path / "out"
    args = ["map", "--network", str(tmp_path / "net.npz"), "--chip", "truenorth", "--partitioner", "sequential",
            "--placer", "identity"]
    assert main(args + ["--out", str(out), "--sanafe"]) == 0
    rep = json.loads((out / "report.json").read_text())
    # the third core has room: A0 feeds it directly (its 89 targets there) plus 2 relays for cores 0 and 1
    assert rep["splitters"]["relays"] == 2 and rep["splitters"]["cores_added"] == 0
    assert rep["splitters"]["relays_on_existing_cores"] == 2 and rep["splitters"]["hosted_on_destination"] == 1
    assert rep["partition"]["cores_used"] == 3 and rep["totals"]["synaptic_events"] == pytest.approx(10 * 602)
    placed = json.loads((out / "placement.json").read_text())
    assert placed["network"]["populations"][-1] == {"name": SPLITTER_POPULATION, "size": 2}
    assert f"{SPLITTER_POPULATION}.0..1" in (out / "sanafe_network.yaml").read_text()
    assert "splitter relay" in capsys.readouterr().out
    assert main(args + ["--out", str(tmp_path / "o2"), "--no-splitters"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max_out_axons_per_neuron" in err[0] and "splitters" in err[0]


def test_cli_run_on_truenorth_smoke(tmp_path):
    from neurosim.cli import main

    exp = tmp_path / "exp.yaml"
    exp.write_text("name: tn\nnetwork:\n  builder: spiking_lca\n  dictionary: {kind: default, patch: 8, atoms: 96}\n"
                   "  inputs: {kind: patches, patch: 8, n: 2, seed: 0}\n  lam: 1.0\n"
                   "simulation: {steps: 300, dt_s: 0.1, transient: 30}\n"
                   "mapping: {partitioner: metis, placer: hilbert}\n")
    out = tmp_path / "out"
    assert main(["run", str(exp), "--chip", "truenorth", "--out", str(out), "--no-quantize"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["chip"]["name"] == "truenorth" and rep["splitters"]["enabled"] is True
    assert rep["partition"]["cores_used"] == 1 + rep["splitters"]["cores_added"]


@st.composite
def limited_chips(draw):
    core = CoreLimits(
        max_compartments=draw(st.integers(1, 4)), max_in_axons=draw(st.integers(6, 24)),
        max_out_axons=draw(st.integers(2, 12)), synapse_mem_bits=draw(st.integers(128, 1024)),
        synapse_word_bits=draw(st.sampled_from([8, 16])), weight_bits=draw(st.integers(1, 8)),
        synapse_index_bits=draw(st.integers(0, 3)), synapse_row_overhead_bits=draw(st.integers(0, 4)),
        max_out_axons_per_neuron=draw(st.sampled_from([1, 1, 2])))
    noc = NocSpec(tile_grid=(draw(st.integers(2, 8)), draw(st.integers(2, 8))), cores_per_tile=1)
    return ChipSpec(name="rand-tn", core=core, noc=noc, energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


@st.composite
def random_nets(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    net = Network(name="rand")
    sizes = draw(st.lists(st.integers(1, 10), min_size=1, max_size=3))
    for i, n in enumerate(sizes):
        net.add(Population(f"p{i}", n, LIF()))
    for j in range(draw(st.integers(1, 3))):
        a, b = rng.integers(len(sizes)), rng.integers(len(sizes))
        w = (rng.random((sizes[b], sizes[a])) < draw(st.floats(0.1, 0.6))) * rng.normal(size=(sizes[b], sizes[a]))
        net.add(Connection(f"p{a}", f"p{b}", sp.csr_matrix(w) if rng.random() < 0.5 else w,
                           delay_steps=int(rng.integers(1, 4)), name=f"c{j}"))
    counts = {p.name: rng.integers(0, 5, p.size) for p in net.populations}
    return net, ActivityProfile.from_counts(net, counts, steps=5, batch=1, dt_s=1e-3, source="test")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chip=limited_chips(), na=random_nets())
def test_splitters_keep_every_limit_and_every_synapse(chip, na):
    net, act = na
    try:
        res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    except CapacityError:
        return
    g, part, L = res.graph, res.partition.part, chip.core.max_out_axons_per_neuron
    assert core_usage(g, chip, part, n_parts=res.partition.n_parts).violations() == []
    assert dest_cores(g, part).max(initial=0) <= L
    if res.splitters is None:
        return
    # every original synapse (t <- v, weight w, delay d) is now exactly one synapse t <- relay of v
    n0, aug = sum(p.size for p in net.populations), res.network
    off = net.offsets()
    feeder = {}  # relay -> the original neuron whose spikes it carries
    for c in aug.connections:
        if c.post == SPLITTER_POPULATION:
            m = c.csr().tocoo()
            for j, u in zip(m.row, m.col):
                feeder[int(j)] = int(u) + (off[c.pre] if c.pre != SPLITTER_POPULATION else n0)
    while any(v >= n0 for v in feeder.values()):
        feeder = {j: (feeder[v - n0] if v >= n0 else v) for j, v in feeder.items()}
    for c in net.connections:
        orig = sp.coo_matrix(c.csr())
        kept = sp.csr_matrix(aug.connection(c.name).csr())
        got = {(int(t), int(u), float(w)) for t, u, w in zip(*sp.find(kept))}
        if f"{SPLITTER_POPULATION}:{c.name}" in {x.name for x in aug.connections}:
            rc = aug.connection(f"{SPLITTER_POPULATION}:{c.name}")
            assert rc.delay_steps == c.delay_steps
            for t, j, w in zip(*sp.find(rc.csr())):
                got.add((int(t), feeder[int(j)] - off[c.pre], float(w)))
        assert got == {(int(t), int(u), float(w)) for t, u, w in zip(orig.row, orig.col, orig.data)}
    flat = np.concatenate([act.counts[p.name] for p in net.populations])
    relay_counts = res.activity.counts[SPLITTER_POPULATION]
    assert all(relay_counts[j] == flat[v] for j, v in feeder.items())


def test_metis_request_keeps_the_partition_with_fewest_cores_after_relays():
    """Layered net with 1-D local windows on the TrueNorth spec: a graph partitioner cuts synapses,
    not split neurons, so the mapper also tries sequential fill and keeps the one needing fewer cores
    once relays are counted; the report says which partition it kept."""
    from neurosim.activity import ActivityProfile
    from neurosim.ir import Connection, Network, Population
    from neurosim.neurons import LIF

    n = 512
    net = Network(name="ff1d")
    for layer in range(3):
        net.add(Population(f"L{layer}", n, LIF()))
    r = np.repeat(np.arange(n), 32)
    c = (r + np.tile(np.arange(-16, 16), n)) % n
    for layer in range(2):
        net.add(Connection(f"L{layer}", f"L{layer + 1}", sp.csr_matrix((np.ones(r.size), (c, r)), shape=(n, n))))
    act = ActivityProfile.assumed(net, 0.05)
    seq = map_network(net, "truenorth", act, partitioner="sequential", time_budget_s=0)
    met = map_network(net, "truenorth", act, partitioner="metis", time_budget_s=0)
    assert met.partition.n_parts <= seq.partition.n_parts
    rep = met.report.to_dict()
    if met.partition.strategy != "metis":
        assert any("kept instead of 'metis'" in note for note in rep["notes"])
    assert not met.partition.usage.violations()
