"""SANA-FE network files read back (mapper.interchange.sanafe_read): the exporter's files exactly
(network, parameters, synapses, placement, energy), SANA-FE's other edge forms against its own
formulas, and bad files as house errors. No ``sanafe`` import: the files are written here."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mapper import evaluate_placement, map_network
from mapper.export.sanafe import sanafe_tile_core, write_sanafe
from mapper.interchange import SanafeFileError, read_sanafe_network, sanafe_core_index
from neurosim.activity import ActivityProfile
from neurosim.conv import ConvWeights
from neurosim.errors import CapacityError, InputError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip

DT = 1e-3


def _net() -> Network:
    """Two LIF populations with per-neuron parameters, a sparse and a dense (zero-weight synapses
    kept by a mask) connection; 'in.put' is not a SANA-FE group name (the exporter renames it)."""
    net = Network(name="rt")
    net.add(Population("in.put", 6, LIF(tau_s=DT, tau_m_s=np.array([np.inf, 0.02, 0.05, np.inf, 0.1, 0.3]),
                                        v_th=np.linspace(1.0, 2.0, 6), bias=np.linspace(300.0, 800.0, 6),
                                        v_reset=0.0, reset="subtract")))
    net.add(Population("hid", 5, LIF(tau_s=DT, tau_m_s=0.04, v_th=1.5, bias=0.0, v_reset=-0.25, reset="zero")))
    w = sp.random(5, 6, density=0.3, random_state=np.random.default_rng(1), data_rvs=lambda n: np.arange(1, n + 1) / 8)
    net.add(Connection("in.put", "hid", sp.csr_matrix(w)))
    lat = np.zeros((5, 5))
    lat[1, 0], lat[2, 1] = -0.5, 0.75
    mask = lat != 0
    mask[3, 2] = True  # a synapse at weight zero
    net.add(Connection("hid", "hid", lat, synapses=mask))
    return net


def _activity(net: Network) -> ActivityProfile:
    return ActivityProfile.from_counts(net, {"in.put": np.arange(6), "hid": np.array([3, 0, 2, 1, 4])}, steps=10,
                                       batch=1, dt_s=DT, source="synthetic")


def test_round_trip_of_the_exporter_is_exact(tmp_path):
    chip = make_tiny_chip(chip_grid=(2, 1), max_compartments=3, multicast=False)
    net, act = _net(), None
    act = _activity(net)
    res = map_network(net, chip, act, partitioner="sequential", placer="hilbert", time_budget_s=0)
    back = read_sanafe_network(write_sanafe(net, res, tmp_path / "net.yaml", dt_s=DT), dt_s=DT)
    got = back.network
    assert back.notes == () and back.mapped
    assert [(p.name, p.size) for p in got.populations] == [(p.name, p.size) for p in net.populations]
    for a, b in zip(net.populations, got.populations):
        ma, mb = a.model, b.model
        for k in ("v_th", "v_reset", "refractory_steps", "tau_s"):
            np.testing.assert_array_equal(np.broadcast_to(getattr(mb, k), (a.size,)),
                                          np.broadcast_to(getattr(ma, k), (a.size,)), err_msg=k)
        assert mb.reset == ma.reset
        for k in ("tau_m_s", "bias"):  # scaled by dt and back: equal up to rounding
            np.testing.assert_allclose(np.broadcast_to(getattr(mb, k), (a.size,)),
                                       np.broadcast_to(getattr(ma, k), (a.size,)), rtol=1e-12, err_msg=k)
    assert [(c.pre, c.post, c.delay_steps, c.n_synapses) for c in got.connections] == [
        (c.pre, c.post, c.delay_steps, c.n_synapses) for c in net.connections]
    for a, b in zip(net.connections, got.connections):
        np.testing.assert_array_equal(b.csr().toarray(), a.csr().toarray())
    np.testing.assert_array_equal(got.connections[1].structure(), net.connections[1].structure())
    # the same placement: every neuron on the same board core, the same energy for the same activity
    part, part_core = back.placement(chip)
    assert np.array_equal(part_core[part], res.placement.core[res.partition.part])
    again = evaluate_placement(got, chip, _activity(net).__class__.from_counts(
        got, {"in.put": np.arange(6), "hid": np.array([3, 0, 2, 1, 4])}, steps=10, batch=1, dt_s=DT,
        source="synthetic"), part=part, part_core=part_core)
    assert again.estimate.energy_j == pytest.approx(res.estimate.energy_j, rel=1e-12)
    assert again.estimate.total_j == pytest.approx(res.estimate.total_j, rel=1e-12)


def test_core_numbers_invert_the_exporter():
    chip = make_tiny_chip(chip_grid=(2, 2))
    for core in range(chip.n_cores):
        t, c = sanafe_tile_core(chip, core).split(".")
        assert sanafe_core_index(chip, int(t), int(c)) == core


HAND = """\
network:
  name: hand
  groups:
    - name: 0
      attributes: [threshold: 2.0, reset_mode: soft, log_spikes: true]
      neurons:
        - 0..7: {}
        - 8: [bias: 0.5, leak_decay: 0.75]
    - name: out
      attributes: {threshold: 3.0, soma: {reset: -1.0}, refractory_delay: 2}
      neurons: [0..7]
    - name: d
      attributes: {}
      neurons: [0, 1]
  edges:
    - 0 -> out: {type: conv2d, input_width: 3, input_height: 3, input_channels: 1, kernel_width: 2,
                 kernel_height: 2, kernel_count: 2, stride_width: 1, stride_height: 1,
                 w: [1, 2, 0, 4, 5, 6, 7, 8]}
    - out -> d: [type: dense, weight: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]]
    - d -> out: {type: sparse, source_target_pairs: [[0, 1], [1, 5]], weight: [0.5, -0.5]}
    - d.1 -> d.0: {synapse: {weight: 2.5}}
    - d.0 -> d.1: [w: -1]
mappings:
  - 0: {core: 0.10}
  - 0.8: {core: 0.10}
  - out.0..3: {core: 1.0}
  - out.4..7: [core: 2.1]
  - d: {core: 3.0}
"""


def test_hand_written_file_with_every_edge_form(tmp_path):
    path = tmp_path / "hand.yaml"
    path.write_text(HAND)
    r = read_sanafe_network(path, dt_s=DT)
    net = r.network
    assert r.groups == {"0": "g_0", "out": "out", "d": "d"}
    g0, out = net.population("g_0").model, net.population("out").model
    assert g0.reset == "subtract" and g0.v_th == np.nextafter(2.0, 3.0) and out.reset == "zero" and out.v_reset == -1.0
    assert out.refractory_steps == 2 and out.v_th == np.nextafter(3.0, 4.0)  # SANA-FE fires when v > threshold
    np.testing.assert_array_equal(g0.bias, [0.0] * 8 + [0.5 / DT])
    np.testing.assert_allclose(g0.tau_m_s, [np.inf] * 8 + [DT / 0.25])
    conn = {c.name: c for c in net.connections}
    # conv2d: SANA-FE's loops (channels-first maps, kernel list in (kh, kw, c_in, c_out) order)
    cw = conn["g_0->out"].weights
    assert isinstance(cw, ConvWeights) and cw.zero_taps and cw.out_shape == (2, 2, 2)
    flat = np.array([1, 2, 0, 4, 5, 6, 7, 8], dtype=float)
    ref = np.zeros((8, 9))
    mask = np.zeros((8, 9), dtype=bool)
    for co in range(2):
        for y in range(2):
            for x in range(2):
                for fy in range(2):
                    for fx in range(2):
                        d, s = co * 4 + y * 2 + x, (y + fy) * 3 + (x + fx)
                        ref[d, s] = flat[fy * 2 * 2 + fx * 2 + co]
                        mask[d, s] = True
    np.testing.assert_array_equal(cw.to_csr().toarray(), ref)
    assert cw.nnz == cw.to_csr().nnz == mask.sum() == 32  # the zero tap is a synapse too
    dense = conn["out->d"]
    np.testing.assert_array_equal(dense.weights, np.arange(1, 17).reshape(8, 2).T % 16)
    assert dense.n_synapses == 16
    np.testing.assert_array_equal(conn["d->out"].csr().toarray()[[1, 5]][:, [0, 1]], [[0.5, 0], [0, -0.5]])
    np.testing.assert_array_equal(conn["d->d"].csr().toarray(), [[0, 2.5], [-1, 0]])
    np.testing.assert_array_equal(r.tile["g_0"], [0] * 9)
    np.testing.assert_array_equal(r.slot["g_0"], [10] * 9)  # 'core: 0.10' is core 10, not 0.1
    np.testing.assert_array_equal(r.tile["out"], [1] * 4 + [2] * 4)
    assert any("log_spikes" not in n and "group '0' is population 'g_0'" in n for n in r.notes)


def test_a_given_placement_is_checked_against_every_core_limit(tmp_path):
    path = tmp_path / "hand.yaml"
    path.write_text(HAND.replace("core: 0.10", "core: 0.0").replace("core: 2.1", "core: 2.0"))
    r = read_sanafe_network(path, dt_s=DT)
    chip = make_tiny_chip(max_compartments=8)  # 2 x 2 tiles of one core: 9 neurons on core 0.0 do not fit
    part, part_core = r.placement(chip)
    with pytest.raises(CapacityError) as e:
        evaluate_placement(r.network, chip, None, part=part, part_core=part_core)
    assert e.value.resource == "max_compartments" and e.value.used == 9 and e.value.limit == 8
    path.write_text(HAND)
    with pytest.raises(SanafeFileError, match=r"core 0\.10 is not on chip 'tiny-code' .*core 0 \.\. 0"):
        read_sanafe_network(path).placement(chip)


@pytest.mark.parametrize("old, new, key, what", [
    ("- 0 -> out:", "- 0 -> nope:", "network.edges[0]", "unknown group"),
    ("d.1 -> d.0", "d.1 -> d.5", "network.edges[3]", "neuron id beyond its group"),
    ("d.1 -> d.0", "d.0..1 -> d.0", "network.edges[3]", "one neuron to one neuron"),
    ("type: dense", "type: ring", "network.edges[1][0].type", "unknown hyperedge type"),  # list-form attributes
    ("input_width: 3", "input_width: 4", "network.edges[0]", "not the source group's size"),
    ("- 8: [bias", "- 9: [bias", "network.groups[0].neurons[1]", "beyond the group's size"),
    ("core: 1.0}", "core: one}", "mappings[2].core", "must read 'tile.core'"),
    ("- 0.8: {core", "- 0.18: {core", "mappings[1]", "neuron id beyond its group"),  # 0.18 is not 0.18 (a number)
    ("stride_width: 1,", "stride_width: 0,", "network.edges[0].stride_width", "must be a positive integer"),
    ("network:\n  name: hand", "netwerk:\n  name: hand", "network", "missing"),
])
def test_bad_files_are_input_errors_naming_file_and_key(tmp_path, old, new, key, what):
    path = tmp_path / "bad.yaml"
    path.write_text(HAND.replace(old, new, 1))
    with pytest.raises(InputError) as e:
        read_sanafe_network(path)
    assert isinstance(e.value, SanafeFileError)
    assert str(path) in str(e.value) and what in str(e.value)
    assert e.value.key.split(" ")[0] in (key, key.split("[0].type")[0] + ".type", key.split("[0].type")[0])


# the shape of what SANA-FE 2.2.9's own Network.save writes (groups in name order, flags as 0/1,
# one edge line per synapse with the layer API's 'w', block-style mappings)
SAVED = """\
network:
  name: ' '
  groups:
    - name: conv2d_0
      attributes:
        leak_decay: 0.5
        threshold: 2
        log_spikes: 0
        log_potential: 0
      neurons:
        - 0: {bias: 0.30000001192092896}
        - 1..2: {}
    - name: input_0
      attributes:
        threshold: 1
        log_spikes: 0
      neurons:
        - 0..3: {}
  edges:
    - conv2d_0.0 -> conv2d_0.1: {weight: 1}
    - input_0.0 -> conv2d_0.0: {w: 0}
    - input_0.3 -> conv2d_0.2: {w: 7}
mappings:
  - input_0.0:
      core: 0.0
  - input_0.1..3:
      core: 0.1
  - conv2d_0.0..2:
      core: 1.0
"""


def test_sanafe_own_saved_format(tmp_path):
    path = tmp_path / "saved.yaml"
    path.write_text(SAVED)
    r = read_sanafe_network(path, dt_s=DT)
    net = r.network
    assert net.name == "sanafe" and [(p.name, p.size) for p in net.populations] == [("conv2d_0", 3), ("input_0", 4)]
    m = net.population("conv2d_0").model
    np.testing.assert_allclose(m.tau_m_s, 2 * DT)  # leak_decay 0.5 = 1 - dt / tau_m
    np.testing.assert_array_equal(m.bias, [0.30000001192092896 / DT, 0.0, 0.0])
    c = {c.name: c for c in net.connections}
    assert c["input_0->conv2d_0"].n_synapses == 2  # the zero-weight synapse is kept
    np.testing.assert_array_equal(c["input_0->conv2d_0"].weights, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 7]])
    assert r.mapped and list(r.slot["input_0"]) == [0, 1, 1, 1] and list(r.tile["conv2d_0"]) == [1, 1, 1]
    chip = make_tiny_chip(max_compartments=4)  # one core per tile: 0.1 is not on it
    with pytest.raises(SanafeFileError, match=r"core 0\.1 is not on chip"):
        r.placement(chip)
