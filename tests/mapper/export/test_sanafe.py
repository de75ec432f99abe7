"""SANA-FE export (mapper.export.sanafe): the chip as an architecture, board-global tile numbers, and (with ``sanafe``
installed) the same energy in SANA-FE and in our estimate, also across chips."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from mapper import evaluate_placement, map_network
from mapper.chipload import load_chip
from mapper.export.sanafe import (arch_gaps, board_mesh, sanafe_arch_dict, sanafe_dict_text, sanafe_tile_core,
                                  write_sanafe, write_sanafe_arch)
from neurosim.activity import ActivityProfile
from neurosim.errors import MappingError
from neurosim.ir import ArrayInput, Connection, ConstantInput, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network


def test_calibrated_loihi_arch_carries_sanafe_costs():
    chip = load_chip("loihi1-calibrated")
    a = sanafe_arch_dict(chip)["architecture"]
    assert a["attributes"]["width"] == 8 and a["attributes"]["height"] == 4
    assert a["attributes"]["sync_model"] == "table"
    assert a["attributes"]["latency_sync"] == {1: 0.6e-6, 2: 1.0e-6, 4: 1.4e-6, 29: 1.8e-6}
    tile = a["tile"][0]
    assert tile["name"] == "tile[0..31]"
    assert tile["attributes"]["energy_east_hop"] == 3.0e-12 and tile["attributes"]["energy_north_hop"] == 4.2e-12
    assert tile["attributes"]["latency_west_hop"] == 4.1e-9 and tile["attributes"]["latency_south_hop"] == 6.5e-9
    core = tile["core"][0]
    assert core["name"] == "core[0..3]" and core["attributes"]["max_neurons_supported"] == 1024
    soma = core["soma"][0]["attributes"]
    # the spec stores access + update as one cost and keeps the split in meta: the export restores it
    assert soma["energy_access_neuron"] == 51.2e-12 and soma["energy_update_neuron"] == 21.6e-12
    assert soma["latency_access_neuron"] == 6.0e-9 and soma["latency_update_neuron"] == 3.7e-9
    assert soma["energy_spike_out"] == 69.3e-12
    assert core["synapse"][0]["attributes"]["energy_process_spike"] == 35.5e-12
    assert core["axon_out"][0]["attributes"]["energy_message_out"] == 111.0e-12
    assert core["axon_in"][0]["attributes"]["latency_message_in"] == 16.0e-9


def test_arch_text_is_yaml_and_names_what_sanafe_leaves_out(tmp_path):
    chip = make_tiny_chip(chip_grid=(2, 1))
    path = write_sanafe_arch(chip, tmp_path / "arch.yaml")
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert doc == sanafe_arch_dict(chip)
    assert doc["architecture"]["attributes"]["width"] == 4 and doc["architecture"]["attributes"]["height"] == 2
    soma = doc["architecture"]["tile"][0]["core"][0]["soma"][0]["attributes"]
    assert soma["energy_access_neuron"] == 10e-12 and soma["energy_update_neuron"] == 0.0  # no split recorded
    gaps = arch_gaps(chip)
    for what in ("neuron_update_inactive", "spike_within_tile", "learn_update", "static_power_w_per_chip",
                 "2 chips flattened", "multicast routing"):
        assert any(what in g for g in gaps), what
    assert all(f"# not in SANA-FE: {g}" in text for g in gaps)
    assert [g.split(" = ")[0].split(" is ")[0] for g in arch_gaps(load_chip("loihi1-calibrated"))] == [
        "energy.learn_update", "energy.static_power_w_per_chip", "timing.learn_update",
        "timing.tile_bandwidth_msgs_per_s"]
    assert any("barrier_interp 'linear'" in g for g in gaps)  # the tiny chip interpolates, SANA-FE steps


def test_tile_numbers_are_board_global_column_major():
    chip = make_tiny_chip(chip_grid=(2, 2))  # 2 x 2 chips of 2 x 2 tiles, one core per tile: a 4 x 4 mesh
    assert board_mesh(chip) == (4, 4)
    for core in range(chip.n_cores):
        x, y = chip.global_tile(core)
        assert sanafe_tile_core(chip, core) == f"{x * 4 + y}.0"
    # core 0 of chip 3 (upper right) sits at global tile (2, 2): SANA-FE tile 2 * 4 + 2
    assert sanafe_tile_core(chip, 3 * chip.cores_per_chip) == "10.0"


def _chain(n: int = 12) -> tuple[Network, ActivityProfile]:
    """Two LIF layers, each neuron of ``a`` driving three of ``b``; ``a`` fires from its bias."""
    net = Network(name="chain")
    net.add(Population("a", n, LIF(v_th=1.0, v_reset=0.0, tau_m_s=np.inf, bias=np.linspace(300.0, 600.0, n))))
    net.add(Population("b", n, LIF(v_th=1e9, v_reset=0.0, tau_m_s=np.inf)))
    w = np.zeros((n, n))
    for i in range(n):
        w[[(i + d) % n for d in (0, 1, 5)], i] = 0.25
    net.add(Connection("a", "b", w))
    return net, ActivityProfile.from_counts(net, {"a": np.ones(n, int), "b": np.zeros(n, int)}, steps=1, batch=1,
                                            dt_s=1e-3, source="synthetic")


def test_network_file_uses_board_global_tiles():
    chip = make_tiny_chip(chip_grid=(2, 1), max_compartments=3)
    net, act = _chain(12)
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    text = sanafe_dict_text(net, res)
    assert "T = X * 2 + Y over the board's 4 x 2 tile mesh" in text
    maps = [ln for ln in text.splitlines() if ln.startswith("  - ") and "core:" in ln]
    assert len(maps) >= res.partition.n_parts
    cores_used = {sanafe_tile_core(chip, int(c)) for c in res.placement.core}
    assert {ln.split("core: ")[1].rstrip("}") for ln in maps} == cores_used
    assert any(c.split(".")[0] in {"4", "5", "6", "7"} for c in cores_used)  # the second chip is used


def _sanafe_counts(sanafe, arch_path, net_path, net: Network, steps: int, groups: dict = None):
    arch = sanafe.load_arch(str(arch_path))
    snn = sanafe.load_net(str(net_path), arch)
    hw = sanafe.SpikingChip(arch)
    hw.load(snn)
    out = hw.sim(steps, timing_model="simple", spike_trace=True, processing_threads=1)
    counts = {p.name: np.zeros(p.size, dtype=np.int64) for p in net.populations}
    for step in out["spike_trace"]:
        for addr in step:
            counts[(groups or {}).get(addr.group_name, addr.group_name)][addr.neuron_offset] += 1
    return out, counts


def test_exported_loihi_arch_reproduces_sanafe_bundled_loihi(tmp_path):
    sanafe = pytest.importorskip("sanafe")
    chip = dataclasses.replace(load_chip("loihi1-calibrated"),
                               core=dataclasses.replace(load_chip("loihi1-calibrated").core, max_compartments=4))
    net, act = _chain(12)
    res = map_network(net, chip, act, partitioner="sequential", placer="hilbert", time_budget_s=0)
    net_path = write_sanafe(net, res, tmp_path / "net.yaml")
    arch_path = write_sanafe_arch(load_chip("loihi1-calibrated"), tmp_path / "arch.yaml")
    mine, c1 = _sanafe_counts(sanafe, arch_path, net_path, net, 20)
    arch = sanafe.load_loihi()
    hw = sanafe.SpikingChip(arch)
    hw.load(sanafe.load_net(str(net_path), arch))
    theirs = hw.sim(20, timing_model="simple", spike_trace=False, processing_threads=1)
    assert c1["a"].sum() > 0
    for k in ("synapse", "soma", "network", "total"):
        assert mine["energy"][k] == pytest.approx(theirs["energy"][k], rel=1e-9)
    assert mine["sim_time"] == pytest.approx(theirs["sim_time"], rel=1e-9)


def test_sanafe_energy_equals_ours_across_chips(tmp_path):
    """Same network, same placement over two chips, SANA-FE's own spikes: the dynamic energy SANA-FE
    can express (synapses, somas, spikes, messages, hops of unicast packets) equals ours within 1 %."""
    sanafe = pytest.importorskip("sanafe")
    chip = make_tiny_chip(chip_grid=(2, 1), max_compartments=3, multicast=False)
    net, act = _chain(12)
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    assert {chip.address(int(c)).chip for c in res.placement.core} == {0, 1}
    steps = 30
    out, counts = _sanafe_counts(sanafe, write_sanafe_arch(chip, tmp_path / "arch.yaml"),
                                 write_sanafe(net, res, tmp_path / "net.yaml"), net, steps)
    assert counts["a"].sum() > steps
    measured = ActivityProfile.from_counts(net, counts, steps=steps, batch=1, dt_s=1e-3, source="simulated:sanafe")
    ours = evaluate_placement(net, chip, measured, part=res.partition.part, part_core=res.placement.core)
    e = ours.estimate.energy_j
    # category by category, exactly: a whole missing category would otherwise hide in a tolerance
    assert out["energy"]["synapse"] == pytest.approx(e["syn_op"], rel=1e-9)
    assert out["energy"]["soma"] == pytest.approx(e["neuron_update_active"] + e["spike_out"], rel=1e-9)
    # hops differ east-west (100 pJ) and north-south (200 pJ): a transposed tile numbering would not match
    assert out["energy"]["network"] == pytest.approx(e["packet"] + e["hop_ew"] + e["hop_ns"], rel=1e-9)
    assert e["hop_ew"] > 0 and e["hop_ns"] > 0
    assert e["hop_chip"] > 0  # what SANA-FE leaves out (the header says so)


def test_stored_zero_weights_dotted_names_and_the_wrong_network(tmp_path):
    """A plastic synapse at zero weight is still a synapse (the mapper counts it, so must SANA-FE);
    a population named 'g.a' becomes group 'g_a' (SANA-FE splits addresses at '.'); a network that
    is not the mapped one is refused."""
    net = Network(name="dots")
    net.add(Population("g.a", 4, LIF(v_th=1.0, v_reset=0.0, tau_m_s=np.inf, bias=500.0)))
    net.add(Population("g.b", 4, LIF(v_th=1e9, v_reset=0.0, tau_m_s=np.inf)))
    w = np.eye(4) * 0.5
    mask = np.eye(4, dtype=bool) | np.eye(4, k=1, dtype=bool)  # 7 synapses, 3 of them at zero weight
    net.add(Connection("g.a", "g.b", w, synapses=mask))
    act = ActivityProfile.from_counts(net, {"g.a": np.ones(4, int), "g.b": np.zeros(4, int)}, steps=1, batch=1,
                                      dt_s=1e-3, source="synthetic")
    chip = make_tiny_chip(multicast=False)
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    text = sanafe_dict_text(net, res)
    edges = [ln for ln in text.splitlines() if " -> " in ln]
    assert len(edges) == res.graph.out_nsyn.sum() == 7
    assert sum("weight: 0.0}" in ln for ln in edges) == 3
    assert "# group 'g_a' is population 'g.a'" in text and "- name: g_a" in text and "  - g_a.0" in text
    other = Network(name="other")
    other.add(Population("x", 8, LIF()))
    with pytest.raises(MappingError, match=r"the network is not the one mapped .*pass result.network"):
        sanafe_dict_text(other, res)
    sanafe = pytest.importorskip("sanafe")
    out, counts = _sanafe_counts(sanafe, write_sanafe_arch(chip, tmp_path / "arch.yaml"),
                                 write_sanafe(net, res, tmp_path / "net.yaml"), net, 10,
                                 groups={"g_a": "g.a", "g_b": "g.b"})
    measured = ActivityProfile.from_counts(net, counts, steps=10, batch=1, dt_s=1e-3, source="simulated:sanafe")
    ours = evaluate_placement(net, chip, measured, part=res.partition.part, part_core=res.placement.core)
    assert counts["g.a"].sum() > 0
    assert out["energy"]["synapse"] == pytest.approx(ours.estimate.energy_j["syn_op"], rel=1e-9)


def test_the_network_file_lists_what_it_leaves_out():
    chip = make_tiny_chip(chip_grid=(2, 1), max_compartments=3)
    base, _ = _chain(12)
    net = Network(name="chain")
    for p in base.populations:
        net.add(p)
    net.add(dataclasses.replace(base.connections[0], delay_steps=3))
    net.add(ArrayInput("a", np.ones((5, 12))))
    act = ActivityProfile.from_counts(net, {"a": np.ones(12, int), "b": np.zeros(12, int)}, steps=1, batch=1,
                                      dt_s=1e-3, source="synthetic")
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    head = [ln for ln in sanafe_dict_text(net, res).splitlines() if ln.startswith("# not in this file")]
    assert any("input(s) (array->a) are not exported" in ln and "biases alone" in ln for ln in head)
    assert any("delays other than one step are dropped: a->b" in ln for ln in head)


def test_a_constant_input_is_exported_as_bias_so_sanafe_sees_the_drive(tmp_path):
    """A constant drive (the spiking LCA's ``X D - lam``) adds to ``ext`` exactly as a bias does:
    the export folds input ``b`` of the batch into the bias. The file then equals the one of the
    same network with that drive as the neurons' own bias, and SANA-FE's run spikes (it ran on
    zero biases, and so never spiked, before)."""
    ref, act = _chain(12)
    drive = np.stack([np.linspace(300.0, 600.0, 12), np.zeros(12)])
    net = Network(name="chain")
    net.add(Population("a", 12, LIF(v_th=1.0, v_reset=0.0, tau_m_s=np.inf)))
    net.add(ref.populations[1])
    net.add(ref.connections[0])
    net.add(ConstantInput("a", drive, name="drive"))
    chip = make_tiny_chip(chip_grid=(2, 1), max_compartments=3, multicast=False)
    res = map_network(net, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    res_ref = map_network(ref, chip, act, partitioner="sequential", placer="identity", time_budget_s=0)
    body = [ln for ln in sanafe_dict_text(net, res, input_index=0).splitlines() if not ln.startswith("#")]
    assert body == [ln for ln in sanafe_dict_text(ref, res_ref).splitlines() if not ln.startswith("#")]
    text = sanafe_dict_text(net, res, input_index=1)
    assert "constant input(s) drive are folded into the neurons' bias for input 1 of 2" in text
    assert "biases alone" not in text
    with pytest.raises(MappingError, match="input index outside the batch"):
        sanafe_dict_text(net, res, input_index=2)
    sanafe = pytest.importorskip("sanafe")
    arch = write_sanafe_arch(chip, tmp_path / "arch.yaml")
    _, c0 = _sanafe_counts(sanafe, arch, write_sanafe(net, res, tmp_path / "n0.yaml", input_index=0), net, 20)
    _, c1 = _sanafe_counts(sanafe, arch, write_sanafe(net, res, tmp_path / "n1.yaml", input_index=1), net, 20)
    assert c0["a"].sum() > 20 and c1["a"].sum() == 0


@pytest.fixture(scope="module")
def annealed():
    net, act = make_tiny_network()
    return net, map_network(net, make_tiny_chip(), act, partitioner="metis", placer="anneal", time_budget_s=1)


def test_sanafe_export_loads_and_maps_in_sanafe(tmp_path, annealed):
    sanafe = pytest.importorskip("sanafe")
    net, res = annealed
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


def test_bias_onsets_are_listed_as_not_expressed_and_strict_thresholds_exported_as_they_are():
    from mapper.export.sanafe import network_gaps
    from neurosim.neurons import LIF

    net = Network(name="nirlike")
    net.add(Population("a", 2, LIF(tau_s=1e-3, v_th=0.5, reset="zero")))
    net.add(Population("b", 2, LIF(tau_s=1e-3, v_th=1.0, reset="zero", threshold=">", bias=3.0, bias_start=1)))
    net.add(Connection("a", "b", np.ones((2, 2))))
    gaps = [g for g in network_gaps(net) if "'b'" in g]
    assert len(gaps) == 1 and "bias_start" in gaps[0] and "bias_receptor" not in gaps[0] and "threshold" not in gaps[0]
    assert not [g for g in network_gaps(net) if "'a'" in g]
    from mapper.export.sanafe import _group_attrs

    # SANA-FE fires on v > threshold: a strict population keeps its v_th, a '>=' one the float below
    assert _group_attrs(net.population("b"), 1e-3)[0]["threshold"] == 1.0
    assert _group_attrs(net.population("a"), 1e-3)[0]["threshold"] == np.nextafter(0.5, 0)
