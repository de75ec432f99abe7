"""Per-neuron capacity errors give a hint specific to the exceeded resource (tests/conftest.py tiny net)."""
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.graph import build_graph
from mapper.resources import check_neurons_fit
from neurosim.errors import CapacityError


def _error(**over) -> CapacityError:
    net, act = make_tiny_network()
    g = build_graph(net, act)
    with pytest.raises(CapacityError) as err:
        check_neurons_fit(g, make_tiny_chip(**over))
    return err.value


def test_in_axon_hint_says_fan_in_limit_not_precision():
    e = _error(max_in_axons=1)  # B1 receives from A0 and A1
    msg = str(e)
    assert e.resource == "max_in_axons"
    assert "fan-in to <= 1 source neurons" in msg and "core.max_in_axons" in msg
    assert "precision" not in msg and "weight" not in msg


def test_no_plastic_synapses_says_no_on_chip_learning():
    e = _error(max_plastic_synapses=0)  # C3 has the plastic synapse B0 -> C3
    msg = str(e)
    assert e.resource == "max_plastic_synapses"
    assert "no plastic synapses" in msg and "no on-chip learning" in msg and "core.max_plastic_synapses = 0" in msg
    assert "fan-in" not in msg and "precision" not in msg and "more than one core" not in msg


def test_synapse_memory_hint_says_how_many_inputs_fit():
    # one row of one synapse: 4 + 2 bits + 4-bit header -> one 16-bit word; 16 bits fit one row, B1 needs two
    e = _error(synapse_mem_bits=16)
    msg = str(e)
    assert e.resource == "synapse_mem_bits"
    assert "at most 1 single-synapse source neurons fit" in msg and "core.weight_bits" in msg


def test_out_axon_hint_says_fan_out_limit():
    # A0 targets B0, B1, C0 and D0; with 1 neuron per core that is 4 destination cores, 2 output axons per core
    e = _error(max_compartments=1, max_out_axons=2)
    msg = str(e)
    assert e.resource == "max_out_axons" and "fan-out to <= 2 target neurons" in msg and "precision" not in msg
