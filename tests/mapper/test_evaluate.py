"""Evaluating a given placement (mapper.evaluate): the same costs as the mapping, every limit re-checked."""
import numpy as np
import pytest

from mapper import map_network
from neurosim.errors import CapacityError, MappingError
from tests.helpers import make_tiny_chip, make_tiny_network


def test_evaluate_placement_reproduces_a_mapping_and_checks_limits(tmp_path):
    from mapper import evaluate_placement
    from mapper.export import write_placement
    from mapper.readback import read_placement
    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(), act, seed=1, time_budget_s=0)
    rec = read_placement(write_placement(res, tmp_path / "p.json"), res.chip, network=net)
    again = evaluate_placement(net, res.chip, act, part=rec.part, part_core=rec.core)
    assert again.estimate.total_j == pytest.approx(res.estimate.total_j)
    assert again.routing.hops_ew == pytest.approx(res.routing.hops_ew)
    with pytest.raises(CapacityError):
        evaluate_placement(net, make_tiny_chip(), act, part=np.zeros(13, dtype=int), part_core=np.array([0]))
    with pytest.raises(MappingError):
        evaluate_placement(net, make_tiny_chip(), act, part=np.zeros(13, dtype=int), part_core=np.array([0, 0]))


def test_evaluate_placement_checks_the_destination_core_limit():
    """A0 targets B0, B1, C0 and D0: parts 1, 2 and 3 on cores 2, 0 and 3 -- three destination cores."""
    from mapper import evaluate_placement
    net, act = make_tiny_network()
    part, cores = np.repeat([0, 1, 2, 3], [4, 4, 4, 1]), np.array([1, 2, 0, 3])
    assert evaluate_placement(net, make_tiny_chip(max_out_axons_per_neuron=3), act, part=part, part_core=cores)
    with pytest.raises(CapacityError, match=r"capacity 'A\[0\]': max_out_axons_per_neuron exceeded by 2 "
                                            r"\(got 3, expected <= 1\); placement 'given': .*3 cores \[0, 2, 3\].*"
                                            r"splitters='auto'") as err:
        evaluate_placement(net, make_tiny_chip(max_out_axons_per_neuron=1), act, part=part, part_core=cores)
    assert (err.value.obj, err.value.resource, err.value.used, err.value.limit) == \
        ("A[0]", "max_out_axons_per_neuron", 3, 1)


def test_evaluate_placement_ignores_parts_that_hold_no_neuron():
    """``part = core index`` with ``part_core`` = every core of the chip: the empty parts are no
    cores in use (they were counted: all tiles, the barrier and static energy of a full chip)."""
    from mapper import evaluate_placement

    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(chip_grid=(2, 2)), act, seed=1, time_budget_s=0)
    by_core = res.placement.core[res.partition.part]  # the board core of every neuron
    chip = res.chip
    assert res.partition.n_parts < chip.n_cores  # some cores hold nothing
    again = evaluate_placement(net, chip, act, part=by_core, part_core=np.arange(chip.n_cores))
    assert again.partition.n_parts == res.partition.n_parts
    assert again.estimate.total_j == pytest.approx(res.estimate.total_j)
    assert again.routing.tiles_used == res.routing.tiles_used
