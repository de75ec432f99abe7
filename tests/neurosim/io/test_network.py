"""Saved network format: round trip of every part of the IR, and clear errors."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

from neurosim.builders.dictrules import FeedforwardRule
from neurosim.conv import ConvWeights
from neurosim.errors import InputError
from neurosim.io.network import load_network, save_network
from neurosim.ir import ArrayInput, Connection, ConstantInput, Gain, Network, PoissonInput, Population, Probe
from neurosim.neurons import LIF, LCANeuron


def full_network():
    rng = np.random.default_rng(0)
    net = Network(name="all-parts", signals={"gamma": 0.5})
    net.add(Population("x", 8, LIF(v_th=rng.random(8) + 0.5, tau_m_s=0.02, reset="zero", refractory_steps=2)))
    net.add(Population("a", 6, LCANeuron(lam=0.1, threshold="nonneg", gain=np.linspace(1, 2, 6))))
    net.add(Population("img", 2 * 4 * 4, LIF()))
    net.add(Population("fm", 3 * 3 * 3, LIF(tau_s=0.004, tau_m_s=0.01, bias=2.0, threshold=">", bias_start=3,
                                            bias_receptor="syn")))
    net.add(Connection("x", "a", rng.random((6, 8)), delay_steps=2, gain=Gain("gamma", scale=-1.0, offset=1.0),
                       learning_rule=FeedforwardRule(kappa=0.6, eta_d=0.02)))
    net.add(Connection("a", "a", sp.random(6, 6, density=0.4, random_state=1, format="csr")))
    net.add(Connection("img", "fm", ConvWeights(rng.random((3, 2, 2, 2)), (2, 4, 4), stride=1, padding=0)))
    net.add(ConstantInput("x", rng.random((3, 8)), gain=Gain("gamma")))
    net.add(ArrayInput("a", rng.random((5, 3, 6))))
    net.add(PoissonInput("img", np.full(32, 20.0), weight=0.5))
    net.add(Probe("a", "output", every=2, start=1))
    net.add(Probe("x", "v"))
    return net


def test_round_trip_every_part(tmp_path):
    net = full_network()
    path = save_network(net, tmp_path / "net.npz")
    back = load_network(path)
    assert back.name == net.name and back.signals == net.signals
    for p, q in zip(net.populations, back.populations):
        assert (p.name, p.size, type(p.model)) == (q.name, q.size, type(q.model))
        for k, v in p.model.as_dict().items():
            np.testing.assert_array_equal(np.asarray(v), np.asarray(q.model.as_dict()[k]))
    fm = back.population("fm").model
    assert (fm.threshold, fm.bias_start, fm.bias_receptor) == (">", 3, "syn")
    for c, d in zip(net.connections, back.connections):
        assert (c.name, c.pre, c.post, c.delay_steps, c.gain) == (d.name, d.pre, d.post, d.delay_steps, d.gain)
        assert (c.csr() != d.csr()).nnz == 0 and c.is_conv == d.is_conv and c.is_sparse == d.is_sparse
    rule = back.connections[0].learning_rule
    assert isinstance(rule, FeedforwardRule) and rule.kappa == 0.6 and rule.eta_d == 0.02
    for i, j in zip(net.inputs, back.inputs):
        assert type(i) is type(j) and i.name == j.name and i.target == j.target
    np.testing.assert_array_equal(net.inputs[1].values, back.inputs[1].values)
    assert [(p.target, p.var, p.every, p.start) for p in back.probes] == [("a", "output", 2, 1), ("x", "v", 1, 0)]


def _rewrite_meta(path, fn):
    z = dict(np.load(path, allow_pickle=False))
    meta = json.loads(str(z["meta"]))
    fn(meta, z)
    z["meta"] = np.array(json.dumps(meta))
    np.savez(path, **z)


@pytest.mark.parametrize("edit, key", [
    (lambda m, z: m.update(version=7), "version"),
    (lambda m, z: m.update(format="other"), "format"),
    (lambda m, z: m["populations"][0].update(model="Izhikevich"), "populations[0].model"),
    (lambda m, z: m["connections"][1].pop("pre"), "connections[1].pre"),
    (lambda m, z: z.pop("conn/1/data"), "conn/1/data"),
    (lambda m, z: m["connections"][0]["learning_rule"].update({"class": "os:system"}), "learning_rule.class"),
])
def test_errors_name_file_and_key(tmp_path, edit, key):
    path = save_network(full_network(), tmp_path / "net.npz")
    _rewrite_meta(path, edit)
    with pytest.raises(InputError) as err:
        load_network(path)
    assert str(path) in str(err.value) and key in str(err.value)


def test_not_a_network_file(tmp_path):
    p = tmp_path / "x.npz"
    np.savez(p, a=np.zeros(2))
    with pytest.raises(InputError, match="meta"):
        load_network(p)
    with pytest.raises(InputError, match="not found"):
        load_network(tmp_path / "missing.npz")


def test_synapses_mask_round_trips(tmp_path):
    import numpy as np

    from neurosim import IF, Connection, Network, Population
    from neurosim.io.network import load_network, save_network

    net = Network("m")
    net.add(Population("a", 3, IF()))
    mask = ~np.eye(3, dtype=bool)
    net.add(Connection("a", "a", np.array([[0, 1.0, 0], [0, 0, 0], [0, 0, 0]]), synapses=mask))
    back = load_network(save_network(net, tmp_path / "n.npz"))
    np.testing.assert_array_equal(back.connections[0].synapses, mask)
    assert back.connections[0].n_synapses == 6


def test_a_single_npy_array_is_not_a_network_file(tmp_path):
    np.save(tmp_path / "codes.npy", np.zeros((2, 3)))
    with pytest.raises(InputError, match="not a .npz archive"):
        load_network(tmp_path / "codes.npy")


def test_deeply_nested_metadata_is_refused(tmp_path):
    """Family 1 of issue 16: a network file whose JSON metadata nests 100k levels ended in RecursionError."""
    p = tmp_path / "net.npz"
    np.savez(p, meta=np.array("[" * 100_000 + "]" * 100_000))
    with pytest.raises(InputError, match=r"network file '.*net.npz': meta: nested too deeply \(got 100000 levels"):
        load_network(p)


@pytest.mark.parametrize("damage", ["crc", "truncate", "inflate"])
def test_damaged_archives_are_refused(tmp_path, damage):
    """Family 5 of issue 16: a damaged network.npz ended in BadZipFile, zlib.error or EOFError."""
    p = save_network(full_network(), tmp_path / "net.npz")
    data = bytearray(p.read_bytes())
    if damage == "crc":  # one byte inside the largest member's data flipped: its CRC check fails
        import zipfile

        with zipfile.ZipFile(p) as z:
            info = max(z.infolist(), key=lambda i: i.compress_size)
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)  # past the local header
        data[start + info.compress_size // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:  # the compressed stream of the first member broken
        data[60:80] = bytes(20)
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"network file '.*net.npz'"):
        load_network(p)


def test_complex_weights_are_refused_not_truncated(tmp_path):
    """A network file whose weights became complex was read with the imaginary parts silently dropped."""
    p = save_network(full_network(), tmp_path / "net.npz")
    with np.load(p) as z:
        arrays = {k: z[k] for k in z.files}
    key = next(k for k in arrays if k.endswith("/weights"))
    arrays[key] = arrays[key].astype(complex)
    np.savez(p, **arrays)
    with pytest.raises(InputError, match=rf"array '{key}' is not real numeric \(got dtype complex128"):
        load_network(p)
