"""NIR's Delay, Conv1d, Threshold and I nodes on import (neurosim.nir.read / nir_neurons / nir_ops), against
hand computations and independent numpy recurrences."""
import numpy as np
import pytest

nir = pytest.importorskip("nir")

from neurosim import simulate  # noqa: E402
from neurosim.errors import InputError  # noqa: E402
from neurosim.ir import ArrayInput, Probe  # noqa: E402
from neurosim.nir.neurons import NEVER_FIRES  # noqa: E402
from neurosim.nir.ops import conv1d_op, conv2d_op, pool2d_op  # noqa: E402
from neurosim.nir.read import read_nir  # noqa: E402

DT = 1e-3


def if_(n, v_th=1e9):
    return nir.IF(r=np.full(n, 1 / DT), v_threshold=np.full(n, float(v_th)))  # dt R = 1: weights unscaled


def drive(net, pop, spikes, probes):
    """Run ``net`` with the relay ``pop`` fed ``spikes`` (steps, n): each input of weight 1 makes the relay
    spike on the same step."""
    net.add(ArrayInput(pop, spikes / DT))  # ext of 1/dt for one step moves v by 1 >= 0.5
    for target, var in probes:
        net.add(Probe(target, var, name=f"{target}.{var}"))
    return simulate(net, steps=spikes.shape[0], dt_s=DT, seed=0)


def test_uniform_delay_adds_steps_and_shifts_the_trace():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 3))
    plain = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Linear(w), if_(2))
    delayed = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Linear(w), nir.Delay(np.full(2, 3 * DT)), if_(2))
    net0, _ = read_nir(plain, dt_s=DT)
    net3, info = read_nir(delayed, dt_s=DT)
    (c,) = net3.connections
    assert c.delay_steps == 4 and info["connections"][c.name]["delay_steps"] == 4
    np.testing.assert_allclose(c.weights, w)
    assert "delay" not in info["approximations"]
    spikes = (rng.random((20, 3)) < 0.4).astype(float)
    v0 = drive(net0, "input", spikes, [("if", "v")])["if.v"][:, 0]
    v3 = drive(net3, "input", spikes, [("if", "v")])["if.v"][:, 0]
    np.testing.assert_allclose(v3[3:], v0[:-3], rtol=1e-12)
    assert np.all(v3[:3] == 0)


def test_per_element_delays_split_the_connection_by_value():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 2))
    # the Delay acts on the post side (after Linear): rows 0 and 2 by one step, row 1 by two steps
    g = nir.NIRGraph.from_list(nir.Input(np.array([2])), nir.Linear(w), nir.Delay(np.array([DT, 2 * DT, DT])), if_(3))
    net, info = read_nir(g, dt_s=DT)
    conns = {c.name: c for c in net.connections}
    assert sorted(conns) == ["input->if@d2", "input->if@d3"]
    assert conns["input->if@d2"].delay_steps == 2 and conns["input->if@d3"].delay_steps == 3
    np.testing.assert_allclose(conns["input->if@d2"].csr().toarray(), w * np.array([[1], [0], [1]]))
    np.testing.assert_allclose(conns["input->if@d3"].csr().toarray(), w * np.array([[0], [1], [0]]))
    # on the pre side (before Linear) the delay masks columns
    g = nir.NIRGraph.from_list(nir.Input(np.array([2])), nir.Delay(np.array([0.0, DT])), nir.Linear(w), if_(3))
    net, _ = read_nir(g, dt_s=DT)
    conns = {c.name: c for c in net.connections}
    np.testing.assert_allclose(conns["input->if@d1"].csr().toarray(), w * np.array([1, 0]))
    np.testing.assert_allclose(conns["input->if@d2"].csr().toarray(), w * np.array([0, 1]))


def test_parallel_paths_with_different_delays_and_rounded_delay():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([2])), "a": nir.Linear(a), "d": nir.Delay(np.full(2, 2.4 * DT)),
                            "b": nir.Linear(b), "if": if_(2), "output": nir.Output(np.array([2]))},
                     edges=[("input", "a"), ("a", "if"), ("input", "d"), ("d", "b"), ("b", "if"), ("if", "output")])
    net, info = read_nir(g, dt_s=DT)
    conns = {c.name: c for c in net.connections}
    assert sorted(conns) == ["input->if@d1", "input->if@d3"]
    np.testing.assert_allclose(conns["input->if@d1"].weights, a)
    np.testing.assert_allclose(conns["input->if@d3"].weights, b)
    assert "rounded" in info["approximations"]["d"][0] and "0.4" in info["approximations"]["d"][0]
    # the simulated membrane is the sum of the two delayed drives
    spikes = (rng.random((15, 2)) < 0.5).astype(float)
    v = drive(net, "input", spikes, [("if", "v")])["if.v"][:, 0]
    ref, acc = [], np.zeros(2)
    for n in range(15):
        # the relay spikes on the step of its input; a connection of delay d reaches v at step n + d
        s1 = spikes[n - 1] if n >= 1 else np.zeros(2)
        s3 = spikes[n - 3] if n >= 3 else np.zeros(2)
        acc = acc + a @ s1 + b @ s3
        ref.append(acc.copy())
    np.testing.assert_allclose(v, np.array(ref), rtol=1e-12, atol=1e-12)


def test_negative_delay_is_refused():
    g = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Delay(np.array([-DT])), if_(1))
    with pytest.raises(InputError, match="delay must be finite and >= 0"):
        read_nir(g, dt_s=DT)


def conv1d_direct(x, k, stride, pad, dil, groups):
    c_out, c_g, kl = k.shape
    xp = np.pad(x, ((0, 0), (pad, pad)))
    lo = (xp.shape[1] - dil * (kl - 1) - 1) // stride + 1
    out = np.zeros((c_out, lo))
    for o in range(c_out):
        c0 = (o // (c_out // groups)) * c_g
        for t in range(lo):
            out[o, t] = np.sum(k[o] * xp[c0:c0 + c_g, t * stride:t * stride + dil * (kl - 1) + 1:dil])
    return out


@pytest.mark.parametrize("stride,pad,dil,groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 2), (3, 1, 2, 4)])
def test_conv1d_op_matches_direct_numpy(stride, pad, dil, groups):
    rng = np.random.default_rng(3)
    k, x = rng.normal(size=(4, 4 // groups, 3)), rng.normal(size=(4, 11))
    a, out = conv1d_op("c", k, (4, 11), stride=stride, padding=pad, dilation=dil, groups=groups)
    ref = conv1d_direct(x, k, stride, pad, dil, groups)
    assert out == ref.shape
    np.testing.assert_allclose(a @ x.ravel(), ref.ravel(), rtol=1e-10)


def test_conv1d_node_composes_with_its_bias():
    rng = np.random.default_rng(4)
    k, bias = rng.normal(size=(3, 2, 3)), np.array([0.5, -1.0, 0.25])
    conv = nir.Conv1d(input_shape=8, weight=k, stride=1, padding=1, dilation=1, groups=1, bias=bias)
    g = nir.NIRGraph.from_list(nir.Input(np.array([2, 8])), conv, if_((3, 8)))
    net, info = read_nir(g, dt_s=DT)
    (c,) = net.connections
    x = rng.normal(size=(2, 8))
    np.testing.assert_allclose(c.csr() @ x.ravel(), conv1d_direct(x, k, 1, 1, 1, 1).ravel(), rtol=1e-10)
    np.testing.assert_allclose(net.population("if").model.bias, np.repeat(bias, 8) / DT)  # R b with R = 1/dt
    assert info["connections"][c.name]["folded"] == ["conv1d"]


def test_threshold_is_a_memoryless_heaviside_one_step_later():
    rng = np.random.default_rng(5)
    w, b, theta = rng.normal(size=(6, 4)), rng.normal(scale=0.3, size=6), np.full(6, 0.4)
    g = nir.NIRGraph.from_list(nir.Input(np.array([4])), nir.Affine(w, b), nir.Threshold(theta))
    net, info = read_nir(g, dt_s=DT)
    m = net.population("threshold").model
    assert (m.tau_s, m.tau_m_s, m.reset) == (DT, DT, "zero")
    np.testing.assert_allclose(net.connection("input->threshold").weights, w)
    assert "x > threshold" in " ".join(info["approximations"]["threshold"]) and info["threshold"]["threshold"] == ">"
    spikes = (rng.random((40, 4)) < 0.5).astype(float)
    res = drive(net, "input", spikes, [("input", "spikes"), ("threshold", "spikes")])
    s_in, s_out = res["input.spikes"][:, 0].astype(float), res["threshold.spikes"][:, 0]
    np.testing.assert_array_equal(s_in, spikes)
    x = s_in @ w.T + b  # x_n = W s_n + b; H(x_n - theta) (NIR: x > theta) appears on step n + 1; the bias with the input
    expected = np.vstack([np.zeros((1, 6), bool), x[:-1] > theta])
    np.testing.assert_array_equal(s_out, expected)
    with pytest.raises(InputError, match="threshold must be positive"):
        read_nir(nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.ones((1, 1))), nir.Threshold(np.zeros(1))),
                 dt_s=DT)


def test_integrator_matches_euler_and_never_fires():
    rng = np.random.default_rng(6)
    w, b, r = rng.normal(size=(2, 3)), np.array([0.3, -0.2]), np.array([2.0, 5.0])
    g = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Affine(w, b), nir.I(r))
    net, info = read_nir(g, dt_s=DT)
    assert net.population("i").model.v_th == NEVER_FIRES and "i" in info["approximations"]
    spikes = (rng.random((25, 3)) < 0.5).astype(float)
    res = drive(net, "input", spikes, [("i", "v"), ("i", "count")])
    v = res["i.v"][:, 0]
    ref, acc = [], np.zeros(2)
    for n in range(25):  # dv/dt = R (W s + b), Euler; relay spikes reach the integrator one step later
        s = spikes[n - 1] if n >= 1 else np.zeros(3)
        acc = acc + DT * r * (w @ s + (b if n >= 1 else 0.0))  # the bias switches on with the input
        ref.append(acc.copy())
    np.testing.assert_allclose(v, np.array(ref), rtol=1e-10, atol=1e-14)
    assert res["i.count"].sum() == 0
    li = nir.NIRGraph.from_list(nir.Input(np.array([1])), nir.Linear(np.ones((1, 1))), nir.I(np.ones(1)),
                                nir.Linear(np.ones((1, 1))), if_(1))
    with pytest.raises(InputError, match="graded output of a I readout"):
        read_nir(li, dt_s=DT)


def test_delay_or_linear_before_an_output_is_noted():
    w = np.eye(2)
    g = nir.NIRGraph.from_list(nir.Input(np.array([2])), nir.Linear(w), if_(2), nir.Delay(np.full(2, 2 * DT)),
                               nir.Output(np.array([2])))
    _, info = read_nir(g, dt_s=DT)
    assert info["outputs"] == {"output": ["if"]}
    (note,) = info["approximations"]["output"]
    assert "2 step(s) of Delay" in note and "'if'" in note
    g = nir.NIRGraph.from_list(nir.Input(np.array([2])), nir.Linear(w), if_(2), nir.Linear(2 * w),
                               nir.Output(np.array([2])))
    _, info = read_nir(g, dt_s=DT)
    (note,) = info["approximations"]["output"]
    assert "'linear_1'" in note and "Delay" not in note
    g = nir.NIRGraph.from_list(nir.Input(np.array([2])), nir.Linear(w), if_(2), nir.Output(np.array([2])))
    _, info = read_nir(g, dt_s=DT)
    assert "output" not in info["approximations"]


@pytest.mark.parametrize("op, w, shape, msg", [
    (conv1d_op, np.zeros((2, 2)), (2, 5), r"Conv1d weight must be 3-D \(C_out, C_in/groups, k\)"),
    (conv1d_op, np.zeros((2, 2, 3)), (2, 5, 1), r"Conv1d input must be \(C, L\) \(got \(2, 5, 1\), expected a 2-D"),
    (conv2d_op, np.zeros((2, 2, 3)), (2, 5, 5), r"Conv2d weight must be 4-D \(C_out, C_in/groups, kh, kw\)"),
    (conv2d_op, np.zeros((2, 2, 3, 3)), (2, 5), r"Conv2d input must be \(C, H, W\)"),
])
def test_conv_shapes_are_checked_with_the_node_named(op, w, shape, msg):
    with pytest.raises(InputError, match=r"NIR node 'c': " + msg):
        op("c", w, shape, stride=1, padding=0)


@pytest.mark.parametrize("call, msg", [  # found by the fuzzer: a MemoryError, ZeroDivisionError or ValueError before
    (lambda lim: conv2d_op("c", np.ones((2, 1, 3, 3)), (1, 6, 6), stride=1, padding=100000, limits=lim),
     r"resources 'NIR node 'c'': needs .* of memory \(a convolution of output \(2, 200004, 200004\)"),
    (lambda lim: pool2d_op("c", "avg", (2, 6, 6), kernel_size=100000, stride=1, padding=0, limits=lim),
     r"resources 'NIR node 'c'': needs .* \(a pooling kernel of 100000 x 100000\)"),
    (lambda lim: pool2d_op("c", "avg", (2, 6, 6), kernel_size=0, stride=1, padding=0, limits=lim),
     r"NIR node 'c': kernel_size must be >= 1"),
    (lambda lim: pool2d_op("c", "sum", (2, 6, 6), kernel_size=(-1, 2), stride=1, padding=0, limits=lim),
     r"NIR node 'c': kernel_size must be >= 1")])
def test_huge_or_empty_convolutions_are_refused_before_memory_is_allocated(call, msg):
    from neurosim.guard import ResourceLimits

    with pytest.raises(InputError, match=msg):
        call(ResourceLimits(max_memory_bytes=2**30))
    a, shape = pool2d_op("c", "avg", (2, 6, 6), kernel_size=2, stride=2, padding=0)  # the default limit: the machine
    assert shape == (2, 3, 3) and a.shape == (18, 72) and np.allclose(a.sum(axis=1), 1.0)
