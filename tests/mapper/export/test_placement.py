"""The placement file (mapper.export.placement): its format, written and read back."""
import json

import numpy as np
import pytest

from mapper import map_network
from mapper.export import neuron_ranges, placement_dict, write_placement
from mapper.readback import read_placement
from tests.helpers import make_tiny_chip, make_tiny_network


@pytest.fixture(scope="module")
def annealed():
    net, act = make_tiny_network()
    return net, map_network(net, make_tiny_chip(), act, partitioner="metis", placer="anneal", time_budget_s=1)


def test_neuron_ranges_split_by_population_and_gaps():
    part = np.array([0, 0, 1, 0, 1, 1, 0])
    r = neuron_ranges(part, 2, pop_names=("A", "B"), pop_offsets=np.array([0, 4, 7]))
    assert r[0] == [{"population": "A", "ranges": [[0, 2], [3, 4]]}, {"population": "B", "ranges": [[2, 3]]}]
    assert r[1] == [{"population": "A", "ranges": [[2, 3]]}, {"population": "B", "ranges": [[0, 2]]}]


def test_round_trip(tmp_path, annealed):
    net, res = annealed
    p = write_placement(res, tmp_path / "placement.json")
    doc = json.loads(p.read_text())
    assert doc["format"] == "neurosim-placement" and doc["version"] == 1
    assert {"core", "chip", "x", "y", "slot", "neurons", "resources"} <= set(doc["cores"][0])
    rec = read_placement(p, res.chip, network=net)
    assert np.array_equal(res.placement.core[res.partition.part], rec.core[rec.part])  # same core per neuron
    assert rec.populations == (("A", 4), ("B", 4), ("C", 4), ("D", 1))


def test_strategies_default_to_what_the_report_says():
    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="hilbert", seed=7, time_budget_s=0)
    assert placement_dict(res)["strategies"] == {"partitioner": "sequential", "placer": "hilbert", "seed": 7}
    given = placement_dict(res, partitioner="metis", placer="x", seed=1)["strategies"]  # a hand-over is recorded
    assert given == {"partitioner": "sequential", "placer": "x", "seed": 1, "requested_partitioner": "metis"}
