"""Chip capability keys (core.spike_payload, core.weight_levels_per_neuron), the graded-on-binary
mapping note, and notes that name unpublished costs by their YAML key paths."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import yaml

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper import map_network
from mapper.chipload import chip_from_dict, list_chips, load_chip
from mapper.chipschema import SCHEMA
from neurosim.errors import ChipSpecError
from neurosim.builders.lca import build_analog_lca
from tests.helpers import ROOT

CHIPS = ROOT / "chips"
TINY_DICT = yaml.safe_load((CHIPS / "tiny.yaml").read_text())


def test_spike_payload_default_is_binary_and_values_are_checked():
    d = copy.deepcopy(TINY_DICT)
    d["core"].pop("spike_payload", None)
    assert SCHEMA["core"]["spike_payload"].default == "binary"
    assert chip_from_dict(d).core.spike_payload == "binary" and not chip_from_dict(d).core.graded_spikes
    d["core"]["spike_payload"] = "graded"
    assert chip_from_dict(d).core.graded_spikes
    d["core"]["spike_payload"] = "analog"
    with pytest.raises(ChipSpecError) as exc:
        chip_from_dict(d)
    assert exc.value.key == "core.spike_payload"
    d["core"]["spike_payload"] = True  # YAML `true`
    with pytest.raises(ChipSpecError):
        chip_from_dict(d)


def test_weight_levels_default_none_and_checked():
    d = copy.deepcopy(TINY_DICT)
    d["core"].pop("weight_levels_per_neuron", None)
    assert chip_from_dict(d).core.weight_levels_per_neuron is None
    d["core"]["weight_levels_per_neuron"] = 0
    with pytest.raises(ChipSpecError) as exc:
        chip_from_dict(d)
    assert exc.value.key == "core.weight_levels_per_neuron"


@pytest.mark.parametrize("name", [n for n, _, _ in list_chips() if (CHIPS / f"{n}.yaml").is_file()])
def test_every_shipped_chip_states_its_capabilities_with_a_source(name):
    text = (CHIPS / f"{name}.yaml").read_text()
    for key in ("spike_payload", "weight_levels_per_neuron"):
        m = re.search(rf"^  {key}: *\S+ *#\s*\S", text, re.M)
        assert m, f"chips/{name}.yaml: core.{key} missing or without a source comment"


def test_shipped_chip_capabilities():
    assert load_chip("loihi2").core.graded_spikes
    for n in ("loihi1", "loihi1-calibrated", "truenorth"):
        assert not load_chip(n).core.graded_spikes, n
    assert load_chip("truenorth").core.weight_levels_per_neuron == 4
    assert load_chip("loihi1").core.weight_levels_per_neuron is None


def _analog_lca():
    rng = np.random.default_rng(0)
    D = rng.normal(size=(6, 4))
    D /= np.linalg.norm(D, axis=0)
    return build_analog_lca(D, rng.normal(size=(2, 6)), 0.1, name="alca")


def _graded_notes(report):
    return [n for n in report.to_dict()["notes"] if "GRADED" in n]


@pytest.mark.parametrize("chip", ["loihi1", "truenorth"])
def test_graded_network_on_binary_chip_gets_a_note(chip):
    res = map_network(_analog_lca(), chip, None, seed=0, time_budget_s=1.0)
    notes = _graded_notes(res.report)
    assert len(notes) == 1
    assert "'alca'" in notes[0] and f"chip '{chip}'" in notes[0] and "core.spike_payload: binary" in notes[0]


def test_no_graded_note_on_a_graded_chip_or_for_a_spiking_network():
    assert _graded_notes(map_network(_analog_lca(), "loihi2", None, seed=0, time_budget_s=1.0).report) == []
    net, act = make_tiny_network()
    assert _graded_notes(map_network(net, make_tiny_chip(), act, seed=0).report) == []
    assert _graded_notes(map_network(_analog_lca(), make_tiny_chip(spike_payload="graded"), None, seed=0).report) == []


def _yaml_has(d: dict, path: str) -> bool:
    section, key = path.split(".", 1)
    return isinstance(d.get(section), dict) and key in d[section]


@pytest.mark.parametrize("name", ["loihi1", "loihi2", "truenorth", "loihi1-calibrated"])
def test_unpublished_cost_notes_name_yaml_key_paths(name):
    chip = load_chip(name)
    raw = yaml.safe_load((CHIPS / f"{name}.yaml").read_text())
    keys = chip.energy.unpublished_keys + chip.timing.unpublished_keys
    assert keys and all(_yaml_has(raw, k) for k in keys), keys
    assert all(raw[k.split(".")[0]][k.split(".", 1)[1]] is None for k in keys)
    notes = " ".join(map_network(_analog_lca(), chip, None, seed=0, time_budget_s=1.0).report.to_dict()["notes"])
    for k in keys:
        assert k in notes
    assert "barrier_multichip" not in notes and not re.search(r"(?<![.\w])hop_chip(?![\w])", notes)


def test_unpublished_board_keys_map_to_board_paths():
    chip = load_chip("loihi2")
    assert {"board.hop_chip_energy_j"} <= set(chip.energy.unpublished_keys)
    assert {"board.hop_chip_latency_s", "board.barrier_by_chips_s"} <= set(chip.timing.unpublished_keys)
    assert "energy.spike_out" in chip.energy.unpublished_keys
