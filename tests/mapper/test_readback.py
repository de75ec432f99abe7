"""Reading a placement file back (mapper.readback): inconsistent files are refused, naming the file and the key;
limits are re-checked against the chip (and the network); relays need their recorded wiring."""
import dataclasses
import json

import numpy as np
import pytest

from mapper import map_network
from mapper.export import write_placement
from mapper.readback import read_placement
from neurosim.errors import InputError
from tests.helpers import make_tiny_chip, make_tiny_network
from tests.mapper.partition.test_splitters import chip_with, fan_net


@pytest.fixture(scope="module")
def mapped():
    net, act = make_tiny_network()
    return net, map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="identity", time_budget_s=0)


@pytest.fixture(scope="module")
def annealed():
    net, act = make_tiny_network()
    return net, map_network(net, make_tiny_chip(), act, partitioner="metis", placer="anneal", time_budget_s=1)


def _edit(tmp_path, res, fn):
    p = write_placement(res, tmp_path / "placement.json")
    doc = json.loads(p.read_text())
    fn(doc)
    p.write_text(json.dumps(doc))
    return p


def _refused(p, chip, *, key, match, network=None, **kw):
    with pytest.raises(InputError, match=match) as err:
        read_placement(p, chip, network=network, **kw)
    msg = str(err.value)
    assert str(p) in msg and f": {key}:" in msg, msg
    return msg


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
def test_invalid_files_name_file_and_key(tmp_path, annealed, edit, key):
    net, res = annealed
    p = _edit(tmp_path, res, edit)
    with pytest.raises(InputError) as err:
        read_placement(p, res.chip, network=net)
    assert str(p) in str(err.value) and key in str(err.value)


def test_revalidation_against_a_smaller_chip(tmp_path, annealed):
    net, res = annealed
    p = write_placement(res, tmp_path / "placement.json")
    with pytest.raises(InputError, match="exceeds"):
        read_placement(p, make_tiny_chip(max_compartments=2), network=net)


def test_revalidation_checks_the_destination_core_limit(tmp_path):
    from mapper import evaluate_placement
    from neurosim.errors import CapacityError

    net, act = make_tiny_network()
    res = evaluate_placement(net, make_tiny_chip(), act, part=np.repeat([0, 1, 2, 3], [4, 4, 4, 1]),
                             part_core=np.array([1, 2, 0, 3]))
    p = write_placement(res, tmp_path / "placement.json")
    read_placement(p, make_tiny_chip(max_out_axons_per_neuron=3), network=net)
    with pytest.raises(CapacityError, match=r"'A\[0\]'.*got 3, expected <= 1") as err:
        read_placement(p, make_tiny_chip(max_out_axons_per_neuron=1), network=net)
    assert str(p) in str(err.value) and "splitters='auto'" in str(err.value)


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


def _relay_mapped(tmp_path):
    net = fan_net(9)
    res = map_network(net, chip_with(), None, partitioner="sequential", placer="identity", time_budget_s=0)
    return net, res, write_placement(res, tmp_path / "placement.json")


def test_file_without_wiring_says_what_is_needed(tmp_path):
    net, res, p = _relay_mapped(tmp_path)
    doc = json.loads(p.read_text())
    del doc["splitters"]
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"placement file '.*': splitters: missing.*MappingResult.network"):
        read_placement(p, res.chip, network=net)
    assert read_placement(p, res.chip, network=res.network).network is res.network
    assert read_placement(p, res.chip).network is None


@pytest.mark.parametrize("edit, key", [
    (lambda s: s.update(feeder=s["feeder"][:-1]), "splitters.feeder"),
    (lambda s: s.update(feeder=[99] * len(s["feeder"])), "feeder out of range"),
    (lambda s: s["dest_cores"][0].append(12345), "splitters.dest_cores[0]"),
    (lambda s: s["dest_cores"][0].__setitem__(0, True), "splitters.dest_cores[0]"),  # JSON true is not core 1
    (lambda s: s.update(dest_cores=[s["dest_cores"][0]] * 2), "both carry neuron 0"),
])
def test_bad_wiring_names_file_and_key(tmp_path, edit, key):
    net, res, p = _relay_mapped(tmp_path)
    doc = json.loads(p.read_text())
    edit(doc["splitters"])
    p.write_text(json.dumps(doc))
    with pytest.raises(InputError) as err:
        read_placement(p, res.chip, network=net)
    assert str(p) in str(err.value) and key in str(err.value)


# -- issue 16: hostile files are refused with the house error, never a traceback ------------------
@pytest.mark.parametrize("text, match", [
    (b"[" * 100_000 + b"]" * 100_000, r"nested too deeply \(got 100000 levels, expected at most 64"),
    (b'{"format": "neurosim-placement", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", r"nested too deeply"),
    (b'{"format": "neurosim-placement\xff\xfe"}', r"not UTF-8 text \(byte 30\)"),
    (b'{"format": NaN}', r"not valid JSON .*without NaN"),
    (b'{"format": ', r"not valid JSON at line 1, column 12"),
], ids=["deep-array", "deep-value", "not-utf8", "nan", "truncated"])
def test_nesting_bombs_and_bad_bytes_are_refused(tmp_path, text, match):
    """Family 1 and 2 of issue 16: a deeply nested placement file ended in RecursionError."""
    p = tmp_path / "placement.json"
    p.write_bytes(text)
    with pytest.raises(InputError, match=match) as err:
        read_placement(p, make_tiny_chip())
    assert f"placement file '{p}'" in str(err.value)
