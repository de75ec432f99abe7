"""placement.json round trip and validation; SANA-FE export loads in SANA-FE."""
import json

import numpy as np
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.api import map_network
from mapper.export import neuron_ranges, read_placement, write_placement
from mapper.sanafe import sanafe_dict_text, write_sanafe
from neurosim.errors import InputError


@pytest.fixture(scope="module")
def mapped():
    net, act = make_tiny_network()
    return net, map_network(net, make_tiny_chip(), act, partitioner="metis", placer="anneal", time_budget_s=1)


def test_neuron_ranges_split_by_population_and_gaps():
    part = np.array([0, 0, 1, 0, 1, 1, 0])
    r = neuron_ranges(part, 2, pop_names=("A", "B"), pop_offsets=np.array([0, 4, 7]))
    assert r[0] == [{"population": "A", "ranges": [[0, 2], [3, 4]]}, {"population": "B", "ranges": [[2, 3]]}]
    assert r[1] == [{"population": "A", "ranges": [[2, 3]]}, {"population": "B", "ranges": [[0, 2]]}]


def test_round_trip(tmp_path, mapped):
    net, res = mapped
    p = write_placement(res, tmp_path / "placement.json")
    doc = json.loads(p.read_text())
    assert doc["format"] == "neurosim-placement" and doc["version"] == 1
    assert {"core", "chip", "x", "y", "slot", "neurons", "resources"} <= set(doc["cores"][0])
    rec = read_placement(p, res.chip, network=net)
    assert np.array_equal(res.placement.core[res.partition.part], rec.core[rec.part])  # same core per neuron
    assert rec.populations == (("A", 4), ("B", 4), ("C", 4), ("D", 1))


def _edit(tmp_path, res, fn):
    p = write_placement(res, tmp_path / "placement.json")
    doc = json.loads(p.read_text())
    fn(doc)
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize("edit, key", [
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(format="x"), "format"),
    (lambda d: d["cores"][0].update(core=999), "cores[0].core"),
    (lambda d: d["cores"][0].update(x=d["cores"][0]["x"] + 1), "cores[0].x"),
    (lambda d: d["cores"][0]["neurons"][0]["ranges"].append([0, 1]), "ranges"),
    (lambda d: d["cores"][0]["resources"].update(compartments=[999, 4]), "cores[0].resources.compartments"),
    (lambda d: d["cores"][0].pop("neurons"), "cores[0].neurons"),
    (lambda d: d["cores"].pop(), "neuron not placed"),
])
def test_invalid_files_name_file_and_key(tmp_path, mapped, edit, key):
    net, res = mapped
    p = _edit(tmp_path, res, edit)
    with pytest.raises(InputError) as err:
        read_placement(p, res.chip, network=net)
    assert str(p) in str(err.value) and key in str(err.value)


def test_revalidation_against_a_smaller_chip(tmp_path, mapped):
    net, res = mapped
    p = write_placement(res, tmp_path / "placement.json")
    with pytest.raises(InputError, match="exceeds"):
        read_placement(p, make_tiny_chip(max_compartments=2), network=net)


def test_sanafe_export_loads_and_maps_in_sanafe(tmp_path, mapped):
    sanafe = pytest.importorskip("sanafe")
    net, res = mapped
    path = write_sanafe(net, res, tmp_path / "net.yaml")
    text = path.read_text()
    assert "mappings:" in text and "A.0 -> B.0" in text
    arch = sanafe.load_loihi()
    snn = sanafe.load_net(str(path), arch)
    chip = sanafe.SpikingChip(arch)
    chip.load(snn)
    out = chip.sim(2, timing_model="simple", processing_threads=1)
    assert out["timesteps_executed"] == 2


def test_sanafe_tile_numbering_is_column_major(tmp_path):
    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="identity")
    text = sanafe_dict_text(net, res)
    # core 1 = tile (1, 0) -> SANA-FE tile 1 * 2 + 0 = 2; core 2 = tile (0, 1) -> tile 1
    assert "B.0..3: {core: 2.0}" in text and "C.0..3: {core: 1.0}" in text and "D.0: {core: 3.0}" in text


def test_revalidation_checks_the_destination_core_limit(tmp_path):
    from mapper.api import evaluate_placement
    from neurosim.errors import CapacityError

    net, act = make_tiny_network()
    res = evaluate_placement(net, make_tiny_chip(), act, part=np.repeat([0, 1, 2, 3], [4, 4, 4, 1]),
                             part_core=np.array([1, 2, 0, 3]))
    p = write_placement(res, tmp_path / "placement.json")
    read_placement(p, make_tiny_chip(max_out_axons_per_neuron=3), network=net)
    with pytest.raises(CapacityError, match=r"'A\[0\]'.*got 3, expected <= 1") as err:
        read_placement(p, make_tiny_chip(max_out_axons_per_neuron=1), network=net)
    assert str(p) in str(err.value) and "splitters='auto'" in str(err.value)
