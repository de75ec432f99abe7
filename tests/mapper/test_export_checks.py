"""read_placement: inconsistent placement files are refused, naming the file and the key."""
import dataclasses

import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.api import map_network
from mapper.export import read_placement, write_placement
from neurosim.errors import InputError
from tests.mapper.test_export import _edit  # write the mapping's placement, edit it, save it


@pytest.fixture(scope="module")
def mapped():
    net, act = make_tiny_network()
    return net, map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="identity", time_budget_s=0)


def _refused(p, chip, *, key, match, network=None, **kw):
    with pytest.raises(InputError, match=match) as err:
        read_placement(p, chip, network=network, **kw)
    msg = str(err.value)
    assert str(p) in msg and f": {key}:" in msg, msg
    return msg


def test_negative_population_size_is_a_clear_error(tmp_path, mapped):
    net, res = mapped
    p = _edit(tmp_path, res, lambda d: d["network"]["populations"][0].update(size=-5))
    _refused(p, res.chip, key="network.populations[0].size", match=r"at least one neuron \(got -5")


def test_duplicate_population_name_is_named(tmp_path, mapped):
    net, res = mapped
    p = _edit(tmp_path, res, lambda d: d["network"]["populations"][1].update(name="A"))
    _refused(p, res.chip, key="network.populations[1].name", match="duplicate population name")


def test_neuron_count_must_be_the_sum_of_the_populations(tmp_path, mapped):
    net, res = mapped
    p = _edit(tmp_path, res, lambda d: d["network"].update(neurons=7))
    _refused(p, res.chip, key="network.neurons", match=r"sum of the population sizes \(got 7, expected 13\)")


def test_huge_population_is_refused_before_allocating(tmp_path, mapped):
    net, res = mapped
    p = _edit(tmp_path, res, lambda d: (d["network"]["populations"][0].update(size=10**15),
                                        d["network"].update(neurons=10**15 + 9)))
    _refused(p, res.chip, key="network.neurons", match="can hold")


def test_placement_for_another_chip_is_refused(tmp_path, mapped):
    net, res = mapped
    p = write_placement(res, tmp_path / "placement.json")
    other = dataclasses.replace(make_tiny_chip(), name="other-chip")
    msg = _refused(p, other, key="chip.name", match="made for chip 'tiny-code', not for chip 'other-chip'")
    assert "other_chip=True" in msg
    assert read_placement(p, other, other_chip=True).chip_name == "tiny-code"  # explicit opt-in


def test_recorded_limits_of_another_chip_version_are_refused(tmp_path, mapped):
    net, res = mapped
    p = write_placement(res, tmp_path / "placement.json")
    bigger = make_tiny_chip(max_in_axons=16)  # same name and mesh, another per-core limit
    _refused(p, bigger, key="cores[0].resources.in_axons", match=r"recorded limit differs.*got 8, expected 16")
    read_placement(p, bigger, network=net, other_chip=True)


def test_mesh_mismatch_is_refused_even_with_other_chip(tmp_path, mapped):
    net, res = mapped
    p = write_placement(res, tmp_path / "placement.json")
    board = make_tiny_chip(chip_grid=(2, 1))
    _refused(p, board, key="chip.cores", match="mesh differs", other_chip=True)


def test_recorded_use_is_checked_against_the_recomputation(tmp_path, mapped):
    net, res = mapped
    p = _edit(tmp_path, res, lambda d: d["cores"][0]["resources"].update(synapse_bits=[1, 256]))
    read_placement(p, res.chip)  # without the network only the limits can be checked
    _refused(p, res.chip, network=net, key="cores[0].resources.synapse_bits",
             match="recorded use differs from its recomputation")


def test_malformed_resource_pair_is_refused(tmp_path, mapped):
    net, res = mapped
    p = _edit(tmp_path, res, lambda d: d["cores"][0]["resources"].update(compartments=[True, 4]))
    _refused(p, res.chip, key="cores[0].resources.compartments", match=r"expected \[used, limit\]")


def test_top_level_not_an_object(tmp_path, mapped):
    p = tmp_path / "p.json"
    p.write_text("[1, 2]")
    _refused(p, mapped[1].chip, key="<file>", match="not a placement file")


def test_untampered_file_still_reads(tmp_path, mapped):
    net, res = mapped
    rec = read_placement(write_placement(res, tmp_path / "placement.json"), res.chip, network=net)
    assert rec.chip_name == "tiny-code" and rec.populations == (("A", 4), ("B", 4), ("C", 4), ("D", 1))
