"""The relay network (mapper.partition.relays): its wiring recorded in a placement file, rebuilt from the
original network, evaluated again."""
import json

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings

from mapper import evaluate_placement, map_network
from mapper.export import write_placement
from mapper.partition.relays import rebuild_relays, relay_wiring
from mapper.partition.splitters import SPLITTER_POPULATION
from mapper.readback import read_placement
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError
from tests.mapper.partition.test_splitters import chip_with, fan_net, limited_chips, random_nets


def _same_network(a, b):
    assert [(p.name, p.size) for p in a.populations] == [(p.name, p.size) for p in b.populations]
    assert [c.name for c in a.connections] == [c.name for c in b.connections]
    for c, d in zip(a.connections, b.connections):
        assert (c.pre, c.post, c.delay_steps) == (d.pre, d.post, d.delay_steps)
        assert (sp.csr_matrix(c.csr()) != sp.csr_matrix(d.csr())).nnz == 0


@pytest.mark.parametrize("n_targets, chip, levels", [
    (9, chip_with(), 1),                      # relays on a destination core with room
    (11, chip_with(), 1),                     # relays on a new core
    (5, chip_with(max_compartments=2), 2),    # two-level tree
])
def test_round_trip_with_the_original_network(tmp_path, n_targets, chip, levels):
    net = fan_net(n_targets)
    act = ActivityProfile.assumed(net, 0.1, steps=100)
    res = map_network(net, chip, act, partitioner="sequential", placer="anneal", time_budget_s=0)
    assert res.splitters.levels == levels
    p = write_placement(res, tmp_path / "placement.json")
    doc = json.loads(p.read_text())["splitters"]
    assert len(doc["feeder"]) == len(doc["dest_cores"]) == res.splitters.relays
    rec = read_placement(p, chip, network=net)
    _same_network(rec.network, res.network)
    again = evaluate_placement(rec.network, chip, act, part=rec.part, part_core=rec.core)
    assert again.estimate.counts == pytest.approx(res.estimate.counts)
    assert again.estimate.total_j == pytest.approx(res.estimate.total_j)
    assert np.array_equal(again.graph.counts, res.graph.counts)
    spl = again.report.to_dict()["splitters"]  # read off the relays, not zeros
    assert (spl["relays"], spl["split_neurons"], spl["added_latency_steps"]) == \
        (res.splitters.relays, res.splitters.split_neurons, levels)
    # the network with relays is accepted as before
    assert read_placement(p, chip, network=res.network).network is res.network


def test_round_trip_on_truenorth(tmp_path):
    net = fan_net(600)
    act = ActivityProfile.assumed(net, 0.02)
    res = map_network(net, "truenorth", act, partitioner="sequential", time_budget_s=0)
    rec = read_placement(write_placement(res, tmp_path / "p.json"), res.chip, network=net)
    again = evaluate_placement(rec.network, res.chip, act, part=rec.part, part_core=rec.core)
    assert again.estimate.counts == pytest.approx(res.estimate.counts)
    assert again.routing.hops_ew + again.routing.hops_ns == pytest.approx(res.routing.hops_ew + res.routing.hops_ns)
    assert again.report.to_dict()["splitters"]["relays"] == res.splitters.relays == 2
    with pytest.raises(CapacityError, match=r"'A\[0\]'.*max_out_axons_per_neuron.*splitters='auto'"):
        evaluate_placement(net, res.chip, act, part=rec.part[:601], part_core=rec.core)  # without its relays
    # a profile of another network is the user's mistake, named, not a KeyError from the relays' counts
    from neurosim.errors import NetworkError
    wrong = ActivityProfile.from_counts(net, {}, steps=1, batch=1, dt_s=act.dt_s, source="test")
    wrong.counts.pop(net.populations[-1].name)
    with pytest.raises(NetworkError, match=rf"activity '{net.populations[-1].name}': does not match the network"):
        evaluate_placement(rec.network, res.chip, wrong, part=rec.part, part_core=rec.core)


def test_wiring_of_a_network_without_relays_is_an_error():
    net = fan_net(3)
    res = map_network(net, chip_with(max_out_axons_per_neuron=None), None, partitioner="sequential",
                      placer="identity", time_budget_s=0)
    with pytest.raises(MappingError, match=SPLITTER_POPULATION):
        relay_wiring(res.graph, res.partition.part)
    with pytest.raises(MappingError, match="cycle"):
        rebuild_relays(net, np.zeros(6, dtype=int), n_parts=1, feeder=np.array([5, 4]),
                       dest_parts=[np.array([0]), np.array([0])], dt_s=1.0)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(chip=limited_chips(), na=random_nets())
def test_rebuilt_relays_equal_the_mapped_network(tmp_path, chip, na):
    net, act = na
    try:
        res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    except CapacityError:
        return
    if res.splitters is None:
        return
    rec = read_placement(write_placement(res, tmp_path / "p.json"), chip, network=net)
    _same_network(rec.network, res.network)
    assert np.array_equal(rec.core[rec.part], res.placement.core[res.partition.part])
