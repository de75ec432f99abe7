"""Mapping saved networks and NIR graphs (neurosim.app.mapping): files in, a mapped network and
its report out, with the activity checked against the network."""
import numpy as np
import pytest

from mapper import MappingOptions
from neurosim.activity import ActivityProfile
from neurosim.app.mapping import MappingInput, load_network_file, load_nir_graph, map_input, placement_metadata
from neurosim.errors import InputError
from neurosim.io.network import save_network
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network, save_tiny_files

FAST = MappingOptions(time_budget_s=0)


def test_saved_network_and_activity_map_like_the_objects(tmp_path):
    save_tiny_files(tmp_path)
    inp = load_network_file(tmp_path / "net.npz", tmp_path / "act.npz")
    mapped = map_input(inp, make_tiny_chip(), FAST)
    net, act = make_tiny_network()
    from mapper import map_network

    direct = map_network(inp.network, make_tiny_chip(), act, FAST)
    assert mapped.report["energy_j"] == direct.report.to_dict()["energy_j"]
    assert "nir" not in mapped.report and mapped.extra_text == ""
    assert inp.dt_s == act.dt_s


def test_activity_of_another_network_names_both_files(tmp_path):
    save_tiny_files(tmp_path)
    other = Network("other")
    other.add(Population("Z", 2, LIF()))
    ActivityProfile.assumed(other, 0.1).save(tmp_path / "other.npz")
    with pytest.raises(InputError, match=r"activity file '.*other.npz': does not fit network file '.*net.npz'"):
        load_network_file(tmp_path / "net.npz", tmp_path / "other.npz")


def test_without_activity_the_rate_is_assumed(tmp_path):
    save_tiny_files(tmp_path)
    mapped = map_input(load_network_file(tmp_path / "net.npz"), make_tiny_chip(), FAST.replace(assumed_rate=0.2))
    assert mapped.report["activity"]["assumed"] is True
    assert any("ASSUMED" in n for n in mapped.report["notes"])


def test_placement_metadata_gives_every_neuron_its_core():
    net, act = make_tiny_network()
    mapped = map_input(MappingInput(network=net, activity=act), make_tiny_chip(), FAST)
    meta = placement_metadata(mapped.result)
    res = mapped.result
    core = np.asarray(res.placement.core)[np.asarray(res.partition.part)]
    offset = 0
    for pop in net.populations:
        np.testing.assert_array_equal(meta["cores"][pop.name], core[offset:offset + pop.size])
        offset += pop.size
    assert meta["chip"] == "tiny-code" and meta["format"] == "neurosim-placement"


def _nir_graph(path):
    nir = pytest.importorskip("nir")
    w = np.eye(3)
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([3])), "fc": nir.Linear(weight=w),
               "lif": nir.LIF(tau=np.full(3, 1e-2), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.full(3, 0.5)),
               "out": nir.Output(output_type=np.array([3]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    nir.write(path, graph)
    return path


def test_nir_graph_simulated_and_mapped_with_its_section(tmp_path):
    path = _nir_graph(tmp_path / "g.nir")
    inp = load_nir_graph(path, dt_s=1e-3, simulate_steps=200, input_rate=0.5, seed=3)
    assert inp.activity is not None and inp.nir["simulation"]["steps"] == 200 and inp.dt_s == 1e-3
    assert inp.nir_outputs is not None
    mapped = map_input(inp, "loihi1", FAST)
    assert mapped.report["nir"]["source"] and "NIR graph" in mapped.extra_text
    assert mapped.report["activity"]["assumed"] is False
    with pytest.raises(InputError, match=r"option 'simulate': must be a positive number of steps"):
        load_nir_graph(path, dt_s=1e-3, simulate_steps=0)
    with pytest.raises(InputError, match=r"option 'input_rate': out of range"):
        load_nir_graph(path, dt_s=1e-3, simulate_steps=5, input_rate=2.0)


def test_network_saved_with_a_connection_round_trips(tmp_path):
    net = Network("n")
    net.add(Population("a", 2, LIF()))
    net.add(Population("b", 2, LIF()))
    net.add(Connection("a", "b", np.eye(2)))
    save_network(net, tmp_path / "n.npz")
    inp = load_network_file(tmp_path / "n.npz")
    assert inp.activity is None and [p.name for p in inp.network.populations] == ["a", "b"]
