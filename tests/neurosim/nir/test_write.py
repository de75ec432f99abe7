"""NIR export (neurosim.nir.write): read_nir(write_nir(net)) reproduces parameters, weights, delays
and simulated spikes; placement metadata; errors; ``neurosim map --nir-out``."""
import json

import numpy as np
import pytest
import scipy.sparse as sp

nir = pytest.importorskip("nir")

from neurosim import simulate  # noqa: E402
from neurosim.conv import ConvWeights  # noqa: E402
from neurosim.errors import NetworkError  # noqa: E402
from neurosim.ir import ArrayInput, Connection, Gain, Network, Population, Probe  # noqa: E402
from neurosim.neurons import LIF, LCANeuron  # noqa: E402
from neurosim.nir.neurons import NEVER_FIRES  # noqa: E402
from neurosim.nir.read import read_nir  # noqa: E402
from neurosim.nir.write import to_nir, write_nir  # noqa: E402

DT = 1e-3
PARAMS = ("tau_s", "tau_m_s", "v_th", "bias", "v_rest", "v_reset")


def relay(n):
    return LIF(tau_s=DT, v_th=0.5, reset="zero")


def recurrent_net(rng):
    net = Network("rec")
    net.add(Population("input", 3, relay(3)))
    net.add(Population("lif1", 5, LIF(tau_s=DT, tau_m_s=0.02, v_th=np.linspace(0.5, 1.0, 5), bias=rng.normal(size=5) * 20,
                                      v_rest=0.1, v_reset=-0.1, reset="zero", threshold=">", bias_start=3)))
    net.add(Population("cuba", 4, LIF(tau_s=0.005, tau_m_s=0.01, v_th=0.3, bias=5.0, reset="zero")))
    net.add(Population("ifs", 3, LIF(tau_s=DT, v_th=0.4, reset="zero")))
    net.add(Population("ro", 2, LIF(tau_s=DT, tau_m_s=0.05, v_th=NEVER_FIRES, reset="zero")))
    net.add(Connection("input", "lif1", rng.normal(size=(5, 3))))
    net.add(Connection("lif1", "lif1", rng.normal(size=(5, 5)) * 0.5, delay_steps=3))
    w = sp.random(4, 5, density=0.5, random_state=1, format="csr")
    net.add(Connection("lif1", "cuba", w))
    net.add(Connection("input", "ifs", rng.normal(size=(3, 3)), delay_steps=2))
    net.add(Connection("cuba", "ro", rng.normal(size=(2, 4))))
    net.add(Connection("ifs", "ro", rng.normal(size=(2, 3))))
    return net


def assert_same_network(a, b):
    assert {p.name: p.size for p in a.populations} == {p.name: p.size for p in b.populations}
    for p in a.populations:
        ma, mb = p.model, b.population(p.name).model
        assert (ma.reset, ma.refractory_steps) == (mb.reset, mb.refractory_steps)
        # the spike condition, bias onset and bias entry come back from the nodes' metadata
        assert (ma.threshold, ma.bias_start, ma.bias_receptor) == (mb.threshold, mb.bias_start, mb.bias_receptor), p.name
        for f in PARAMS:
            np.testing.assert_allclose(ma.param(f, p.size), mb.param(f, p.size), rtol=1e-12, atol=1e-12, err_msg=f"{p.name}.{f}")
    assert {c.name: c.delay_steps for c in a.connections} == {c.name: c.delay_steps for c in b.connections}
    for c in a.connections:
        d = b.connection(c.name)
        assert (c.pre, c.post) == (d.pre, d.post)
        np.testing.assert_allclose(d.csr().toarray(), c.csr().toarray(), rtol=1e-12, atol=1e-15, err_msg=c.name)
        assert isinstance(d.weights, ConvWeights) == isinstance(c.weights, ConvWeights), c.name


def run(net, inputs, steps):
    sim = Network(net.name, list(net.populations), list(net.connections))
    rng = np.random.default_rng(11)
    for pop in inputs:
        n = net.population(pop).size
        sim.add(ArrayInput(pop, (rng.random((steps, n)) < 0.3) / DT))
    for p in net.populations:
        sim.add(Probe(p.name, "count", name=f"{p.name}.count"))
        sim.add(Probe(p.name, "v", name=f"{p.name}.v"))
    return simulate(sim, steps=steps, dt_s=DT, seed=0)


def assert_same_dynamics(a, b, inputs, steps=120):
    ra, rb = run(a, inputs, steps), run(b, inputs, steps)
    for p in a.populations:
        np.testing.assert_array_equal(ra[f"{p.name}.count"], rb[f"{p.name}.count"], err_msg=p.name)
        np.testing.assert_allclose(ra[f"{p.name}.v"], rb[f"{p.name}.v"], rtol=1e-9, atol=1e-9, err_msg=p.name)


def test_recurrent_network_round_trips_exactly(tmp_path):
    net = recurrent_net(np.random.default_rng(0))
    path = write_nir(net, tmp_path / "rec.nir", dt_s=DT)
    g = nir.read(path)  # nir's own reader, with its type check
    types = {k: type(v).__name__ for k, v in g.nodes.items()}
    assert (types["input"], types["lif1"], types["cuba"], types["ifs"], types["ro"]) == ("Input", "LIF", "CubaLIF", "IF", "LI")
    assert types["lif1__lif1.delay"] == "Delay" and types["input__lif1"] == "Affine" and types["output"] == "Output"
    np.testing.assert_allclose(g.nodes["lif1__lif1.delay"].delay, np.full(5, 2 * DT))
    back, info = read_nir(path, dt_s=DT)
    assert_same_network(net, back)
    assert info["inputs"] == ["input"] and info["outputs"] == {"output": ["ro"]}
    counts = run(net, ["input"], 120)
    assert counts["lif1.count"].sum() > 0 and counts["cuba.count"].sum() > 0 and counts["ifs.count"].sum() > 0
    assert_same_dynamics(net, back, ["input"])


def graphs(rng):
    """The graphs of tests/test_nir_io.py (two-layer recurrent, conv chain, nested) and a conv-only CNN."""
    lif = lambda n, tau=0.02, r=1.0, v_leak=0.0, v_th=1.0: nir.LIF(  # noqa: E731
        tau=np.full(n, tau), r=np.full(n, r), v_leak=np.full(n, v_leak), v_threshold=np.full(n, v_th), v_reset=np.zeros(n))
    two = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "fc1": nir.Affine(rng.normal(size=(5, 3)), np.zeros(5)), "lif1": lif(5, r=20.0),
               "rec": nir.Linear(rng.normal(size=(5, 5))), "fc2": nir.Affine(rng.normal(size=(2, 5)), np.array([0.5, -0.25])),
               "lif2": lif(2, tau=0.05, r=2.0, v_leak=0.1, v_th=0.8), "output": nir.Output(np.array([2]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "rec"), ("rec", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
               ("lif2", "output")])
    chain = nir.NIRGraph.from_list(
        nir.Input(np.array([2, 6, 6])),
        nir.Conv2d(input_shape=(6, 6), weight=rng.normal(size=(3, 2, 3, 3)), stride=1, padding=1, dilation=1, groups=1,
                   bias=np.zeros(3)),
        nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0, end_dim=-1),
        nir.Affine(rng.normal(size=(4, 27)), np.zeros(4)), nir.IF(r=np.full(4, 1 / DT), v_threshold=np.ones(4)))
    inner = nir.NIRGraph(nodes={"input": nir.Input(np.array([4])), "lif": lif(4), "w_rec": nir.Linear(rng.normal(size=(4, 4))),
                                "output": nir.Output(np.array([4]))},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    nested = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "fc": nir.Linear(rng.normal(size=(4, 3)) * 30), "rnn": inner,
                                 "head": nir.Linear(rng.normal(size=(2, 4))),
                                 "li": nir.LI(tau=np.full(2, 0.03), r=np.ones(2), v_leak=np.zeros(2)),
                                 "output": nir.Output(np.array([2]))},
                          edges=[("input", "fc"), ("fc", "rnn"), ("rnn", "head"), ("head", "li"), ("li", "output")])
    if_ = lambda shape: nir.IF(r=np.full(shape, 1 / DT), v_threshold=np.full(shape, 0.5))  # noqa: E731
    cnn = nir.NIRGraph.from_list(
        nir.Input(np.array([1, 6, 6])),
        nir.Conv2d(input_shape=(6, 6), weight=rng.normal(size=(2, 1, 3, 3)), stride=1, padding=1, dilation=1, groups=1,
                   bias=np.array([0.1, -0.1])),
        if_((2, 6, 6)),
        nir.Conv2d(input_shape=(6, 6), weight=rng.normal(size=(3, 2, 3, 3)), stride=2, padding=0, dilation=1, groups=1,
                   bias=np.zeros(3)),
        if_((3, 2, 2)), nir.Flatten(input_type={"input": np.array([3, 2, 2])}, start_dim=0, end_dim=-1),
        nir.Linear(rng.normal(size=(2, 12))), if_(2))
    return {"two_layer": two, "conv_chain": chain, "nested": nested, "cnn": cnn}


@pytest.mark.parametrize("which", ["two_layer", "conv_chain", "nested", "cnn"])
def test_networks_read_from_nir_graphs_round_trip(tmp_path, which):
    g = graphs(np.random.default_rng(1))[which]
    net, info = read_nir(g, dt_s=DT)
    path = write_nir(net, tmp_path / f"{which}.nir", dt_s=DT)
    back, info2 = read_nir(path, dt_s=DT)
    assert "<graph>" not in info2["approximations"]  # nir's type check passed
    assert_same_network(net, back)
    assert_same_dynamics(net, back, info["inputs"])
    if which == "cnn":  # convolutions between tensor-shaped layers stay Conv2d nodes
        types = [type(v).__name__ for v in nir.read(path).nodes.values()]
        assert types.count("Conv2d") == 2 and types.count("Flatten") == 1


def test_placement_metadata_is_stored_and_non_essential(tmp_path):
    net = recurrent_net(np.random.default_rng(2))
    placement = {"chip": "loihi1", "cores": {p.name: np.arange(p.size) % 3 for p in net.populations}}
    path = write_nir(net, tmp_path / "p.nir", dt_s=DT, placement=placement)
    g = nir.read(path)
    assert g.metadata["placement"]["chip"] == "loihi1"
    np.testing.assert_array_equal(g.metadata["placement"]["cores"]["lif1"], np.arange(5) % 3)
    assert float(g.metadata["neurosim"]["dt_s"]) == DT
    g.metadata = {}  # executable without it
    back, _ = read_nir(g, dt_s=DT)
    assert_same_network(net, back)
    # atomic replace: writing again leaves one file and no temporaries
    write_nir(net, path, dt_s=DT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.nir"]
    assert "placement" not in nir.read(path).metadata


def test_unfaithful_models_are_refused_naming_population_and_model(tmp_path):
    net = Network("bad")
    net.add(Population("src", 2, relay(2)))
    net.add(Population("lca", 2, LCANeuron(tau_s=0.01, lam=0.1)))
    net.add(Connection("src", "lca", np.eye(2)))
    with pytest.raises(NetworkError, match=r"population 'lca': neuron model LCANeuron has no NIR equivalent"):
        write_nir(net, tmp_path / "x.nir", dt_s=DT)
    assert not (tmp_path / "x.nir").exists()
    cases = [(LIF(tau_s=DT, v_th=1.0), "reset by subtraction"),
             (LIF(tau_s=DT, v_th=1.0, reset="zero", refractory_steps=2), "refractory"),
             (LIF(tau_s=0.01, v_th=1.0, reset="zero"), "a synaptic time constant without leak"),
             (LIF(tau_s=DT, tau_m_s=np.array([0.01, np.inf]), reset="zero"), "leak on some neurons")]
    for model, msg in cases:
        net = Network("bad")
        net.add(Population("src", 2, relay(2)))
        net.add(Population("p", 2, model))
        net.add(Connection("src", "p", np.eye(2)))
        with pytest.raises(NetworkError, match=f"population 'p': {msg}"):
            to_nir(net, dt_s=DT)
    net = Network("bad")
    net.add(Population("src", 2, relay(2)))
    net.add(Population("p", 2, LIF(tau_s=DT, reset="zero")))
    net.add(Connection("src", "p", np.eye(2), gain=Gain("gamma")))
    with pytest.raises(NetworkError, match=r"connection 'src->p': a run-time gain"):
        to_nir(net, dt_s=DT)
    # NIR graphs start at Input nodes: without a population that feeds the graph from outside (no
    # connections, or a recurrent layer driven by external inputs only) nir.NIRGraph raised a bare ValueError
    for conns in ([], [("p", "p")]):
        net = Network("noentry")
        net.add(Population("p", 2, LIF(tau_s=DT, reset="zero")))
        for pre, post in conns:
            net.add(Connection(pre, post, np.eye(2)))
        with pytest.raises(NetworkError, match=r"network 'noentry': has no entry point for a NIR graph"):
            write_nir(net, tmp_path / "y.nir", dt_s=DT)


def test_cli_map_nir_out_writes_placement_metadata(tmp_path, capsys):
    from neurosim.cli import main

    g = graphs(np.random.default_rng(3))["two_layer"]
    nir.write(tmp_path / "f.nir", g)
    out = tmp_path / "a" / "mapped.nir"
    base = ["map", "--nir", str(tmp_path / "f.nir"), "--dt", "1e-3", "--chip", "loihi1", "--time-budget", "0.2"]
    assert main(base + ["--out", str(tmp_path / "a"), "--nir-out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    graph = nir.read(out)
    meta = graph.metadata["placement"]
    placement = json.loads((tmp_path / "a" / "placement.json").read_text())
    assert meta["chip"] == placement["chip"]["name"] == "loihi1"
    for core in placement["cores"]:
        for entry in core["neurons"]:
            for lo, hi in entry["ranges"]:
                assert np.all(meta["cores"][entry["population"]][lo:hi] == core["core"])
    sizes = {p["name"]: p["size"] for p in placement["network"]["populations"]}
    assert {k: len(v) for k, v in meta["cores"].items()} == sizes
    back, _ = read_nir(out, dt_s=DT)
    net, _ = read_nir(tmp_path / "f.nir", dt_s=DT)
    assert_same_network(net, back)
    # an existing --nir-out is kept unless --force, checked before any work
    assert main(base + ["--out", str(tmp_path / "b"), "--nir-out", str(out)]) == 2
    assert "file exists" in capsys.readouterr().err and not (tmp_path / "b").exists()
    assert main(base + ["--out", str(tmp_path / "b"), "--nir-out", str(out), "--force"]) == 0


def test_cli_nir_out_refuses_an_unfaithful_network_before_mapping(tmp_path, capsys):
    from neurosim.cli import main
    from neurosim.io.network import save_network

    net = Network("sub")
    net.add(Population("src", 2, relay(2)))
    net.add(Population("p", 2, LIF(tau_s=DT, v_th=1.0)))  # reset by subtraction, neurosim's default
    net.add(Connection("src", "p", np.eye(2)))
    save_network(net, tmp_path / "net.npz")
    code = main(["map", "--network", str(tmp_path / "net.npz"), "--chip", "loihi1", "--out", str(tmp_path / "o"),
                 "--nir-out", str(tmp_path / "o.nir")])
    assert code == 2 and "population 'p': reset by subtraction" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.nir").exists()


def _recurrent_graph(rng):
    """Input -> Linear -> LIF 'l' with a Linear self-loop -> Output, and a hidden-layer output:
    'l' -> Linear -> LIF 'l2' -> Output 'outB', 'l' -> Output 'outA'."""
    lif = lambda n: nir.LIF(tau=np.full(n, 0.01), r=np.full(n, 7.0), v_leak=np.zeros(n),  # noqa: E731
                            v_threshold=np.ones(n), v_reset=np.zeros(n))
    return nir.NIRGraph(nodes={"in": nir.Input(np.array([4])), "w": nir.Linear(rng.uniform(0, 2, (6, 4))), "l": lif(6),
                               "rec": nir.Linear(rng.normal(0, 0.8, (6, 6))), "w2": nir.Linear(rng.uniform(0, 2, (3, 6))),
                               "l2": lif(3), "outA": nir.Output(np.array([6])), "outB": nir.Output(np.array([3]))},
                        edges=[("in", "w"), ("w", "l"), ("l", "rec"), ("rec", "l"), ("l", "w2"), ("w2", "l2"),
                               ("l", "outA"), ("l2", "outB")])


def test_a_recurrent_output_layer_exports_and_outputs_survive_the_round_trip(tmp_path):
    """A self-connection is not an outgoing edge to another layer: a recurrent output layer still
    feeds an Output node (the export used to build a graph without Outputs, which NIR refuses),
    and ``outputs=`` keeps every Output of the graph that was read."""
    rng = np.random.default_rng(5)
    g = _recurrent_graph(rng)
    g.nodes.pop("w2"), g.nodes.pop("l2"), g.nodes.pop("outB")
    g = nir.NIRGraph(nodes=g.nodes, edges=[e for e in g.edges if "w2" not in e and "l2" not in e])
    net, info = read_nir(g, dt_s=1e-3)
    assert info["outputs"] == {"outA": ["l"]} and any(c.pre == c.post == "l" for c in net.connections)
    back, info2 = read_nir(write_nir(net, tmp_path / "rec.nir", dt_s=1e-3), dt_s=1e-3)
    assert list(info2["outputs"].values()) == [["l"]]
    net2, info = read_nir(_recurrent_graph(np.random.default_rng(5)), dt_s=1e-3)
    assert info["outputs"] == {"outA": ["l"], "outB": ["l2"]}
    _, lost = read_nir(write_nir(net2, tmp_path / "a.nir", dt_s=1e-3), dt_s=1e-3)
    assert sorted(p for v in lost["outputs"].values() for p in v) == ["l2"]  # default: layers driving no other
    _, kept = read_nir(write_nir(net2, tmp_path / "b.nir", dt_s=1e-3, outputs=["l", "l2"]), dt_s=1e-3)
    assert sorted(p for v in kept["outputs"].values() for p in v) == ["l", "l2"]


def test_a_network_where_every_layer_drives_another_names_the_missing_outputs():
    net = Network(name="ring")
    for name in "abc":
        net.add(Population(name, 2, LIF(tau_s=DT, v_th=0.5, reset="zero")))
    net.add(Connection("a", "b", np.eye(2)))
    net.add(Connection("b", "c", np.eye(2)))
    net.add(Connection("c", "b", np.eye(2)))
    with pytest.raises(NetworkError, match="none is an output.*outputs="):
        to_nir(net, dt_s=DT)
    assert to_nir(net, dt_s=DT, outputs=["c"]) is not None


def test_map_nir_out_keeps_the_outputs_of_the_graph_it_read(tmp_path):
    from neurosim.cli import main

    src = tmp_path / "rec.nir"
    nir.write(str(src), _recurrent_graph(np.random.default_rng(5)))
    out = tmp_path / "mapped.nir"
    assert main(["map", "--nir", str(src), "--dt", "1e-3", "--chip", "loihi1", "--out", str(tmp_path / "o"),
                 "--nir-out", str(out), "--no-progress", "--time-budget", "0"]) == 0
    _, info = read_nir(out, dt_s=1e-3)
    assert sorted(p for v in info["outputs"].values() for p in v) == ["l", "l2"]
