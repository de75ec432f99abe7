"""Reading NIR graphs (neurosim.nir.read): weights, parameters, dynamics against the Euler ODE, linear
chains against direct numpy, nested graphs, errors (a graph holding neurosim's splitter relays is
refused), and ``neurosim map --nir``."""
import json
import sys

import numpy as np
import pytest
import scipy.sparse as sp

nir = pytest.importorskip("nir")

from neurosim import simulate  # noqa: E402
from neurosim.conv import ConvWeights  # noqa: E402
from neurosim.errors import InputError  # noqa: E402
from neurosim.ir import Probe  # noqa: E402
from neurosim.nir.neurons import NEVER_FIRES  # noqa: E402
from neurosim.nir.ops import conv2d_op  # noqa: E402
from neurosim.nir.read import add_poisson_input, read_nir  # noqa: E402
from tests.helpers import splitter_relay_graph  # noqa: E402

DT = 1e-3


def lif(n, tau=0.02, r=1.0, v_leak=0.0, v_th=1.0, v_reset=0.0):
    f = lambda x: np.full(n, float(x))  # noqa: E731
    return nir.LIF(tau=f(tau), r=f(r), v_leak=f(v_leak), v_threshold=f(v_th), v_reset=f(v_reset))


def two_layer(rng, r1=1.0):
    w1, wr, w2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 5)), rng.normal(size=(2, 5))
    b2 = np.array([0.5, -0.25])
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])), "fc1": nir.Affine(w1, np.zeros(5)), "lif1": lif(5, tau=0.02, r=r1),
               "rec": nir.Linear(wr), "fc2": nir.Affine(w2, b2), "lif2": lif(2, tau=0.05, r=2.0, v_leak=0.1, v_th=0.8, v_reset=-0.2),
               "output": nir.Output(np.array([2]))},
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "rec"), ("rec", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
               ("lif2", "output")])
    return g, w1, wr, w2, b2


def test_round_trip_weights_and_parameters(tmp_path):
    rng = np.random.default_rng(0)
    g, w1, wr, w2, b2 = two_layer(rng, r1=0.02 / DT)  # r = tau/dt (snnTorch's export): weights unscaled
    nir.write(tmp_path / "net.nir", g)
    net, info = read_nir(tmp_path / "net.nir", dt_s=DT)
    assert [p.name for p in net.populations] == ["input", "lif1", "lif2"]
    assert [p.size for p in net.populations] == [3, 5, 2]
    np.testing.assert_allclose(net.connection("input->lif1").weights, w1)
    np.testing.assert_allclose(net.connection("lif1->lif1").weights, wr)
    # lif2: weights times dt R / tau = 1e-3 * 2 / 0.05
    np.testing.assert_allclose(net.connection("lif1->lif2").weights, w2 * (DT * 2.0 / 0.05))
    m2 = net.population("lif2").model
    assert (m2.tau_s, m2.tau_m_s, m2.v_th, m2.v_rest, m2.v_reset, m2.reset) == (DT, 0.05, 0.8, 0.1, -0.2, "zero")
    np.testing.assert_allclose(m2.bias, 2.0 * b2 / 0.05)  # R b / tau, units of v per second
    assert net.population("input").model.v_th == 0.5 and net.population("input").model.tau_s == DT
    assert all(c.delay_steps == 1 for c in net.connections)
    assert info["inputs"] == ["input"] and info["outputs"] == {"output": ["lif2"]}
    assert info["connections"]["input->lif1"]["folded"] == ["fc1"] and "input" in info["approximations"]


def euler_lif(s, *, w, b, tau, r, v_leak, steps, b_from=1):
    """NIR LIF by forward Euler with spikes as unit pulses: v += dt/tau (v_leak - v + R (w s + b)); the
    bias from step ``b_from`` on (the layer's first input can arrive at step 1, after the relays)."""
    v, out = 0.0, []
    for n in range(steps):
        v = v + DT / tau * (v_leak - v + r * (w * s[n] + (b if n >= b_from else 0.0)))
        out.append(v)
    return np.array(out)


def run_v(net, info, steps, rate):
    sim = add_poisson_input(net, info, rate_per_step=rate, dt_s=DT)
    sim.add(Probe(net.populations[-1].name, "v", name="v"))
    return simulate(sim, steps=steps, dt_s=DT, seed=1)["v"][:, 0, 0]


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_single_lif_membrane_matches_the_euler_ode(rate):
    tau, r, v_leak, w, b = 0.01, 3.0, 0.2, 0.7, 0.4
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Affine(np.array([[w]]), np.array([b])),
                               nir.LIF(tau=np.array([tau]), r=np.array([r]), v_leak=np.array([v_leak]),
                                       v_threshold=np.array([100.0]), v_reset=np.array([0.0])))
    net, info = read_nir(g, dt_s=DT)
    steps = 8
    v = run_v(net, info, steps, rate)
    # a rate of 1 makes the relay spike on every step from step 1 on; its spikes reach the LIF one step later
    s = np.zeros(steps) if rate == 0 else (np.arange(steps) >= 2).astype(float)
    np.testing.assert_allclose(v, euler_lif(s, w=w, b=b, tau=tau, r=r, v_leak=v_leak, steps=steps), rtol=1e-12)
    if rate == 0:  # and the analytic solution of the recurrence (the leak from step 0, the bias from step 1)
        a, k = 1 - DT / tau, np.arange(1, steps + 1)
        np.testing.assert_allclose(v, v_leak * (1 - a ** k) + r * b * (1 - a ** (k - 1)), rtol=1e-12)


def test_cubalif_matches_the_euler_ode_in_norse_order():
    tau_syn, tau_mem, r, w_in, w = 0.004, 0.01, 2.0, 1.5, 0.9
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.array([[w]])),
                               nir.CubaLIF(tau_syn=np.array([tau_syn]), tau_mem=np.array([tau_mem]), r=np.array([r]),
                                           v_leak=np.array([0.0]), v_threshold=np.array([100.0]), w_in=np.array([w_in])))
    net, info = read_nir(g, dt_s=DT)
    steps = 10
    v = run_v(net, info, steps, 1.0)
    # reference: the pulse adds dt w_in w / tau_syn to I; v integrates R I / tau_mem, then I decays
    s = (np.arange(steps) >= 2).astype(float)
    vr, i, ref = 0.0, 0.0, []
    for n in range(steps):
        i += DT / tau_syn * w_in * w * s[n]
        vr += DT / tau_mem * (-vr + r * i)
        i -= DT / tau_syn * i
        ref.append(vr)
    np.testing.assert_allclose(v, ref, rtol=1e-12)


def conv_direct(x, k, stride, pad):
    c_out, c_in, kh, kw = k.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    ho, wo = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    out = np.zeros((c_out, ho, wo))
    for o in range(c_out):
        for y in range(ho):
            for xx in range(wo):
                out[o, y, xx] = np.sum(k[o] * xp[:, y * stride:y * stride + kh, xx * stride:xx * stride + kw])
    return out


def test_conv_pool_flatten_affine_chain_matches_numpy():
    rng = np.random.default_rng(2)
    k, wa = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(4, 27))
    g = nir.NIRGraph.from_list(
        nir.Input(np.array([2, 6, 6])),
        nir.Conv2d(input_shape=(6, 6), weight=k, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(3)),
        nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        nir.Flatten(input_type={"input": np.array([3, 3, 3])}, start_dim=0, end_dim=-1),
        nir.Affine(wa, np.zeros(4)),
        nir.IF(r=np.full(4, 1 / DT), v_threshold=np.ones(4)))  # dt R = 1: weights unscaled
    net, info = read_nir(g, dt_s=DT)
    (conn,) = net.connections
    assert conn.pre == "input" and conn.shape == (4, 72)
    assert info["connections"][conn.name]["folded"] == ["affine", "conv2d", "flatten", "sumpool2d"]
    x = rng.normal(size=(2, 6, 6))
    pooled = conv_direct(x, k, 1, 1).reshape(3, 3, 2, 3, 2).sum(axis=(2, 4))
    np.testing.assert_allclose(conn.csr() @ x.ravel(), wa @ pooled.ravel(), rtol=1e-10)


def test_single_conv_stays_compact_and_avgpool_averages():
    rng = np.random.default_rng(3)
    k = rng.normal(size=(2, 1, 3, 3))
    if_ = lambda shape: nir.IF(r=np.full(shape, 1 / DT), v_threshold=np.ones(shape))  # noqa: E731
    g = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([1, 5, 5])), "a": if_((1, 5, 5)),
               "conv": nir.Conv2d(input_shape=(5, 5), weight=k, stride=2, padding=1, dilation=1, groups=1, bias=np.zeros(2)),
               "b": if_((2, 3, 3)),
               "pool": nir.AvgPool2d(kernel_size=np.array([3, 3]), stride=np.array([1, 1]), padding=np.array([0, 0])),
               "c": if_((2, 1, 1)), "out": nir.Output(np.array([2, 1, 1]))},
        edges=[("in", "a"), ("a", "conv"), ("conv", "b"), ("b", "pool"), ("pool", "c"), ("c", "out")])
    net, info = read_nir(g, dt_s=DT)
    conv = net.connection("a->b")
    assert isinstance(conv.weights, ConvWeights) and info["connections"]["a->b"]["form"] == "conv"
    generic, _ = conv2d_op("conv", k, (1, 5, 5), stride=2, padding=1)
    assert abs(conv.csr() - generic).max() < 1e-12
    x = rng.normal(size=(1, 5, 5))
    np.testing.assert_allclose(conv.csr() @ x.ravel(), conv_direct(x, k, 2, 1).ravel(), rtol=1e-10)
    y = rng.normal(size=(2, 3, 3))
    np.testing.assert_allclose(net.connection("b->c").csr() @ y.ravel(), y.mean(axis=(1, 2)), rtol=1e-12)
    assert sp.issparse(net.connection("in->a").weights) or np.array_equal(net.connection("in->a").weights, np.eye(25))


def test_nested_subgraphs_are_flattened(tmp_path):
    rng = np.random.default_rng(4)
    w_in, w_rec, w_out = rng.normal(size=(4, 3)), rng.normal(size=(4, 4)), rng.normal(size=(2, 4))
    inner = nir.NIRGraph(nodes={"input": nir.Input(np.array([4])), "lif": lif(4), "w_rec": nir.Linear(w_rec),
                                "output": nir.Output(np.array([4]))},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "fc": nir.Linear(w_in), "rnn": inner,
                            "head": nir.Linear(w_out), "li": nir.LI(tau=np.full(2, 0.03), r=np.ones(2), v_leak=np.zeros(2)),
                            "output": nir.Output(np.array([2]))},
                     edges=[("input", "fc"), ("fc", "rnn"), ("rnn", "head"), ("head", "li"), ("li", "output")])
    nir.write(tmp_path / "nested.nir", g)
    net, info = read_nir(tmp_path / "nested.nir", dt_s=DT)
    assert [p.name for p in net.populations] == ["input", "rnn.lif", "li"]
    assert sorted(c.name for c in net.connections) == ["input->rnn.lif", "rnn.lif->li", "rnn.lif->rnn.lif"]
    scale = DT / 0.02
    np.testing.assert_allclose(net.connection("input->rnn.lif").weights, w_in * scale)
    np.testing.assert_allclose(net.connection("rnn.lif->rnn.lif").weights, w_rec * scale)
    np.testing.assert_allclose(net.connection("rnn.lif->li").weights, w_out * DT / 0.03)
    assert net.population("li").model.v_th == NEVER_FIRES and "li" in info["approximations"]
    assert info["outputs"] == {"output": ["li"]}


def test_unsupported_node_names_node_type_and_supported_types():
    from dataclasses import dataclass

    @dataclass(eq=False)
    class Mystery(nir.NIRNode):  # every serialisable NIR type is supported: a home-made one is not
        value: np.ndarray

    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "odd": Mystery(np.ones(2)), "lif": lif(2)},
                     edges=[("input", "odd"), ("odd", "lif")], type_check=False)
    with pytest.raises(InputError) as e:
        read_nir(g, dt_s=DT)
    msg = str(e.value)
    assert "'odd'" in msg and "Mystery" in msg and "CubaLIF" in msg and "Conv1d" in msg and "Threshold" in msg


def test_other_errors_are_clear(tmp_path, monkeypatch):
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.ones((1, 1))), lif(1, tau=5e-4))
    with pytest.raises(InputError, match="dt_s larger than tau"):
        read_nir(g, dt_s=DT)
    with pytest.raises(InputError, match="dt_s"):
        read_nir(g, dt_s=0.0)
    li = nir.LI(tau=np.ones(1), r=np.ones(1), v_leak=np.zeros(1))
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.ones((1, 1))), li, nir.Linear(np.ones((1, 1))), lif(1))
    with pytest.raises(InputError, match="graded output of a LI readout"):
        read_nir(g, dt_s=DT)
    with pytest.raises(InputError, match="not found"):
        read_nir(tmp_path / "missing.nir", dt_s=DT)
    (tmp_path / "junk.nir").write_text("not hdf5")
    with pytest.raises(InputError, match="cannot be read as NIR"):
        read_nir(tmp_path / "junk.nir", dt_s=DT)
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(InputError, match=r"pip install 'neurosim\[nir\]'"):
        read_nir(tmp_path / "junk.nir", dt_s=DT)


def test_linear_loop_without_neuron_is_refused():
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([1])), "a": nir.Linear(np.ones((1, 1))), "b": nir.Linear(np.ones((1, 1))),
                            "lif": lif(1)},
                     edges=[("input", "a"), ("a", "b"), ("b", "a"), ("b", "lif")], type_check=False)
    with pytest.raises(InputError, match="loop of linear nodes"):
        read_nir(g, dt_s=DT)


def test_cli_map_nir(tmp_path, capsys):
    from neurosim.cli import main

    g, *_ = two_layer(np.random.default_rng(5), r1=0.02 / DT)
    nir.write(tmp_path / "f.nir", g)
    base = ["map", "--nir", str(tmp_path / "f.nir"), "--dt", "1e-3", "--chip", "loihi1", "--time-budget", "0.2"]
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    assert rep["activity"]["assumed"] is True and rep["nir"]["inputs"] == ["input"]
    assert "relay" in capsys.readouterr().out
    assert main(base + ["--out", str(tmp_path / "b"), "--simulate", "50", "--input-rate", "0.5"]) == 0
    rep = json.loads((tmp_path / "b" / "report.json").read_text())
    assert rep["activity"]["source"].startswith("simulated") and rep["activity"]["steps"] == 50
    assert rep["nir"]["simulation"]["input_rate_per_step"] == 0.5
    # one-line usage errors
    assert main(["map", "--nir", str(tmp_path / "f.nir"), "--chip", "loihi1", "--out", str(tmp_path / "c")]) == 2
    assert "--dt" in capsys.readouterr().err
    assert main(["map", "--chip", "loihi1", "--out", str(tmp_path / "c")]) == 2


def test_scale_and_biases_fold_through_the_chain():
    rng = np.random.default_rng(6)
    w1, b1, s, w2 = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=4), rng.normal(size=(2, 4))
    g = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Affine(w1, b1), nir.Scale(s), nir.Linear(w2),
                               lif(2, tau=0.01, r=0.5))
    net, _ = read_nir(g, dt_s=DT)
    np.testing.assert_allclose(net.connection("input->lif").weights, (w2 * s) @ w1 * (DT * 0.5 / 0.01))
    np.testing.assert_allclose(net.population("lif").model.bias, 0.5 * (w2 @ (s * b1)) / 0.01)


def conv_general(x, k, stride, pad, dil, groups):
    c_out, c_g, kh, kw = k.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    ho = (xp.shape[1] - dil * (kh - 1) - 1) // stride + 1
    wo = (xp.shape[2] - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((c_out, ho, wo))
    for o in range(c_out):
        c0 = (o // (c_out // groups)) * c_g
        for y in range(ho):
            for xx in range(wo):
                patch = xp[c0:c0 + c_g, y * stride:y * stride + dil * (kh - 1) + 1:dil, xx * stride:xx * stride + dil * (kw - 1) + 1:dil]
                out[o, y, xx] = np.sum(k[o] * patch)
    return out


@pytest.mark.parametrize("stride,pad,dil,groups", [(1, 0, 2, 1), (2, 2, 1, 2), (1, 1, 2, 4)])
def test_conv2d_op_matches_direct_numpy_with_dilation_and_groups(stride, pad, dil, groups):
    rng = np.random.default_rng(7)
    k, x = rng.normal(size=(4, 4 // groups, 3, 2)), rng.normal(size=(4, 7, 6))
    a, out = conv2d_op("c", k, (4, 7, 6), stride=stride, padding=pad, dilation=dil, groups=groups)
    ref = conv_general(x, k, stride, pad, dil, groups)
    assert out == ref.shape
    np.testing.assert_allclose(a @ x.ravel(), ref.ravel(), rtol=1e-10)


def test_graph_failing_nirs_type_check_is_read_without_it(tmp_path):
    g, *_ = two_layer(np.random.default_rng(8))
    g.nodes["output"] = nir.Output(np.array([7]))  # wrong shape: nir.read's type check fails
    nir.write(tmp_path / "bad_types.nir", g)
    with pytest.raises(ValueError):
        nir.read(tmp_path / "bad_types.nir")
    net, info = read_nir(tmp_path / "bad_types.nir", dt_s=DT)
    assert net.n_neurons == 10 and "type_check=False" in info["approximations"]["<graph>"][0]


def test_snntorch_synaptic_export_is_reproduced_exactly():
    """snnTorch writes Synaptic(alpha, beta) as CubaLIF(tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta),
    r = tau_mem/dt, w_in = tau_syn/dt) with dt = 1e-4; read at that dt, the membrane follows
    snnTorch's own recurrence syn <- alpha syn + x, mem <- beta mem + syn."""
    dt, alpha, beta, w = 1e-4, 0.8, 0.9, 0.3
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.array([[w]])),
                               nir.CubaLIF(tau_syn=np.array([tau_syn]), tau_mem=np.array([tau_mem]), r=np.array([tau_mem / dt]),
                                           v_leak=np.array([0.0]), v_threshold=np.array([100.0]), w_in=np.array([tau_syn / dt])))
    net, info = read_nir(g, dt_s=dt)
    sim = add_poisson_input(net, info, rate_per_step=1.0, dt_s=dt)
    sim.add(Probe("cubalif", "v", name="v"))
    v = simulate(sim, steps=12, dt_s=dt, seed=0)["v"][:, 0, 0]
    syn = mem = 0.0
    ref = []
    for n in range(12):
        syn = alpha * syn + (w if n >= 2 else 0.0)  # relay latency: input spikes from step 2 on
        mem = beta * mem + syn
        ref.append(mem)
    np.testing.assert_allclose(v, ref, rtol=1e-10)


def test_snntorch_leaky_export_is_reproduced_exactly():
    """snnTorch's Leaky(beta) is LIF(tau = dt/(1-beta), r = tau/dt) at dt = 1e-4: mem <- beta mem + x."""
    dt, beta, w = 1e-4, 0.85, 0.4
    tau = dt / (1 - beta)
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.array([[w]])),
                               nir.LIF(tau=np.array([tau]), r=np.array([tau / dt]), v_leak=np.array([0.0]),
                                       v_threshold=np.array([100.0]), v_reset=np.array([0.0])))
    net, info = read_nir(g, dt_s=dt)
    assert net.connection("input->lif").weights[0, 0] == pytest.approx(w, rel=1e-12)
    sim = add_poisson_input(net, info, rate_per_step=1.0, dt_s=dt)
    sim.add(Probe("lif", "v", name="v"))
    v = simulate(sim, steps=10, dt_s=dt, seed=0)["v"][:, 0, 0]
    mem, ref = 0.0, []
    for n in range(10):
        mem = beta * mem + (w if n >= 2 else 0.0)
        ref.append(mem)
    np.testing.assert_allclose(v, ref, rtol=1e-10)


def test_a_dotted_node_name_clashing_with_a_subgraph_node_is_refused():
    """'s.l' at the top and node 'l' of subgraph 's' flatten to one name: two layers were silently
    merged (weights summed, one threshold lost)."""
    def lif(th):
        return nir.LIF(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.full(3, th),
                       v_reset=np.zeros(3))

    sub = nir.NIRGraph(nodes={"i": nir.Input(np.array([3])), "w": nir.Linear(np.eye(3)), "l": lif(1.0),
                              "o": nir.Output(np.array([3]))}, edges=[("i", "w"), ("w", "l"), ("l", "o")])
    g = nir.NIRGraph(nodes={"in": nir.Input(np.array([3])), "s": sub, "s.l": lif(2.0), "w": nir.Linear(5 * np.eye(3)),
                            "o": nir.Output(np.array([3])), "o2": nir.Output(np.array([3]))},
                     edges=[("in", "s"), ("s", "o"), ("in", "w"), ("w", "s.l"), ("s.l", "o2")], type_check=False)
    with pytest.raises(InputError, match=r"NIR node 's\.l': two nodes have this flattened name"):
        read_nir(g, dt_s=1e-3)


def test_half_step_delays_round_up_and_stay_distinct():
    """0.5, 1.5, 2.5 ms at dt 1 ms: 1, 2, 3 steps (numpy's rint rounded halves to even: 0, 2, 2)."""
    g = nir.NIRGraph(nodes={"in": nir.Input(np.array([3])), "d": nir.Delay(np.array([0.5e-3, 1.5e-3, 2.5e-3])),
                            "w": nir.Linear(np.eye(3)),
                            "l": nir.LIF(tau=np.full(3, 0.01), r=np.ones(3), v_leak=np.zeros(3),
                                         v_threshold=np.ones(3), v_reset=np.zeros(3)),
                            "o": nir.Output(np.array([3]))},
                     edges=[("in", "d"), ("d", "w"), ("w", "l"), ("l", "o")])
    net, info = read_nir(g, dt_s=1e-3)
    assert sorted(c.delay_steps for c in net.connections) == [2, 3, 4]


def test_file_handling_errors_name_the_path_and_the_option(tmp_path):
    from neurosim.nir.write import write_nir

    g = nir.NIRGraph(nodes={"in": nir.Input(np.array([2])), "w": nir.Linear(np.eye(2)),
                            "l": nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                                         v_threshold=np.ones(2), v_reset=np.zeros(2)),
                            "o": nir.Output(np.array([2]))},
                     edges=[("in", "w"), ("w", "l"), ("l", "o")])
    net, _ = read_nir(g, dt_s=1e-3)
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    for bad, what in ((tmp_path / "d", "is a directory"), (tmp_path / "f" / "x.nir", "is not a directory"),
                      ("", "empty path")):
        with pytest.raises(InputError, match=what):
            write_nir(net, bad, dt_s=1e-3)
    with pytest.raises(InputError, match="NIR file .*: is a directory"):
        read_nir(tmp_path / "d", dt_s=1e-3)
    with pytest.raises(InputError, match=r"input_shape': names no Input node of the graph: \['inn'\]"):
        read_nir(g, dt_s=1e-3, input_shape={"inn": (2,)})


def test_the_splitter_node_name_agrees_with_the_mapper():
    from mapper.partition.relays import SPLITTER_POPULATION
    from neurosim.nir.read import SPLITTER_NODE

    assert SPLITTER_NODE == SPLITTER_POPULATION


def test_read_nir_refuses_a_graph_with_splitter_relays():
    """A ``neurosim map --nir-out`` export holding splitter relays is refused on import, saying what it
    is and what to map instead (user-test defect 14)."""
    with pytest.raises(InputError, match=r"contains neurosim splitter relays.*'neurosim map --nir-out'.*"
                                         r"got node '__splitters__', expected the original network"):
        read_nir(splitter_relay_graph(), dt_s=1e-3)


def test_an_ordinary_layer_named_relay_still_reads():
    network, _ = read_nir(splitter_relay_graph("relay"), dt_s=1e-3)
    assert "relay" in [p.name for p in network.populations]


# -- issue 16, family 6: impossible shapes are refused before anything is allocated ---------------
def _graph_with_input(shape, rng=None):
    rng = rng or np.random.default_rng(0)
    g, *_ = two_layer(rng)
    g.nodes["input"] = nir.Input(np.array(shape))
    return g


@pytest.mark.parametrize("shape, match", [
    ([-1, 3], r"NIR node 'input': impossible shape \(got \(-1, 3\)"),
    ([0], r"NIR node 'input': impossible shape"),
    ([2**40], r"NIR node 'input': impossible shape"),
    ([1] * 9, r"NIR node 'input': impossible shape"),
    ([np.nan], r"NIR node 'input': impossible shape \(got \(nan,\)"),  # fuzz: a ValueError from int(nan)
    ([2.5, 3], r"NIR node 'input': impossible shape \(got \(2.5, 3.0\)"),
])
def test_impossible_shapes_are_refused(tmp_path, shape, match):
    nir.write(tmp_path / "g.nir", _graph_with_input(shape))
    with pytest.raises(InputError, match=match):
        read_nir(tmp_path / "g.nir", dt_s=DT)


def test_multi_gib_shapes_are_refused_with_the_estimate(tmp_path):
    """An Input of 100000 x 100000 neurons (a few bytes in the file) was allocated as an identity
    matrix of 10^10 rows before anything was checked."""
    from neurosim.errors import ResourceError
    from neurosim.guard import ResourceLimits

    nir.write(tmp_path / "g.nir", _graph_with_input([100000, 100000]))
    with pytest.raises(ResourceError, match=r"resources 'NIR graph '.*g.nir'': needs .* TiB of memory \(10000000"):
        read_nir(tmp_path / "g.nir", dt_s=DT)
    nir.write(tmp_path / "h.nir", _graph_with_input([3]))
    with pytest.raises(ResourceError, match=r"needs 5 KiB of memory"):
        read_nir(tmp_path / "h.nir", dt_s=DT, limits=ResourceLimits(max_memory_bytes=1024))


def test_overflowing_parameters_are_refused(tmp_path):
    g, *_ = two_layer(np.random.default_rng(0))
    g.nodes["lif2"] = lif(2, r=1e308, tau=1e-3)
    nir.write(tmp_path / "g.nir", g)
    with pytest.raises(InputError, match=r"NIR node 'lif2': .*non-finite"):
        read_nir(tmp_path / "g.nir", dt_s=DT)


def test_damaged_files_are_refused(tmp_path):
    g, *_ = two_layer(np.random.default_rng(0))
    nir.write(tmp_path / "g.nir", g)
    data = bytearray((tmp_path / "g.nir").read_bytes())
    data[2000:2060] = bytes(60)  # object headers of the graph's nodes
    (tmp_path / "g.nir").write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"NIR file '.*g.nir': cannot be read as NIR"):
        read_nir(tmp_path / "g.nir", dt_s=DT)
