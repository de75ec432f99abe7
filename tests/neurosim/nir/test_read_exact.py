"""Exact reproduction of discrete-time exporters' graphs (issue 15): bias onset, CubaLIF bias through the
synaptic filter, strict thresholds with exact ties (float32 parameters included), the Dirac spike
convention, and a leading batch axis on Input shapes.

Each reference is the exporter's own recurrence computed here in numpy (snnTorch ``Leaky``:
``mem <- beta mem + W x + b; spk = mem > thr``; ``Synaptic``: ``syn <- alpha syn + W x + b;
mem <- beta mem + syn``; Sinabs ``IAF``: ``v <- v + W x + b; spk = v >= thr``), with reset to
zero (NIR's ``v_reset``). neurosim's layer at depth ``d`` (relays at depth 0, fed so that they
spike at the input's own step) reproduces the reference's step ``t`` at step ``t + d``. Values
are dyadic (weights in quarters, ``beta = 0.75``), so ties with the threshold are exact.
"""
import numpy as np
import pytest

nir = pytest.importorskip("nir")

from neurosim import simulate  # noqa: E402
from neurosim.errors import InputError  # noqa: E402
from neurosim.ir import Probe  # noqa: E402
from neurosim.nir.read import add_spike_input, read_nir  # noqa: E402

DT = 2.0 ** -10  # dyadic: tau = dt / (1 - beta) and r = tau / dt are exact


def leaky(n, beta, dt=DT, thr=1.0, dtype=np.float64):
    """snnTorch's export of ``Leaky(beta)``: ``LIF(tau = dt/(1-beta), r = tau/dt)``, computed in ``dtype``."""
    b = np.full(n, beta, dtype=dtype)
    tau = dt / (1 - b)
    return nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(n, dtype), v_threshold=np.full(n, thr, dtype),
                   v_reset=np.zeros(n, dtype))


def quarters(rng, shape, lo=-2, hi=5):
    return rng.integers(lo, hi, size=shape) / 4.0


def leaky_ref(x, w, b, beta, thr=1.0, rec=None, strict=True):
    """``mem <- beta mem + W x_t + b [+ V s_{t-1}]``; ``s = mem > thr`` (``>=``); reset to zero."""
    mem = np.zeros(w.shape[0])
    s = np.zeros(w.shape[0], bool)
    out = []
    for t in range(len(x)):
        drive = w @ x[t] + b
        if rec is not None:
            drive = drive + rec @ s
        mem = beta * mem + drive
        s = mem > thr if strict else mem >= thr
        mem = np.where(s, 0.0, mem)
        out.append(s)
    return np.array(out)


def rasters(net, info, x, steps, backend="numpy", options=None):
    """Spike rasters ``{population: (steps, n)}`` with ``x`` (steps, n_in) fed to the relays."""
    sim = add_spike_input(net, info, x, dt_s=info["dt_s"])
    names = [p.name for p in net.populations]
    for p in names:
        sim.add(Probe(p, "spikes", name=f"s_{p}"))
    res = simulate(sim, steps=steps, dt_s=info["dt_s"], backend=backend, options=options)
    return {p: res[f"s_{p}"][:, 0, :] for p in names}


def mlp(rng, beta=0.75, dt=DT, dtype=np.float64, bias=True):
    w1, w2 = quarters(rng, (6, 4)), quarters(rng, (3, 6))
    b1 = quarters(rng, 6, -1, 2) if bias else np.zeros(6)
    b2 = quarters(rng, 3, -1, 2) if bias else np.zeros(3)
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([4])), "fc1": nir.Affine(w1, b1), "lif1": leaky(6, beta, dt, dtype=dtype),
                            "fc2": nir.Affine(w2, b2), "lif2": leaky(3, beta, dt, dtype=dtype), "output": nir.Output(np.array([3]))},
                     edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")])
    return g, (w1, b1, w2, b2)


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_biases_switch_on_with_each_layers_input(backend):
    rng = np.random.default_rng(3)
    g, (w1, b1, w2, b2) = mlp(rng)
    T = 40
    x = (rng.random((T, 4)) < 0.4).astype(float)
    net, info = read_nir(g, dt_s=DT)
    r = rasters(net, info, x, T + 2, backend)
    s1 = leaky_ref(x, w1, b1, 0.75)
    s2 = leaky_ref(s1.astype(float), w2, b2, 0.75)
    assert s1.sum() > 10 and s2.sum() > 5
    np.testing.assert_array_equal(r["lif1"][1:T + 1], s1)
    np.testing.assert_array_equal(r["lif2"][2:T + 2], s2)
    assert not r["lif1"][0].any() and not r["lif2"][:2].any()
    assert [net.population(p).model.bias_start for p in ("lif1", "lif2")] == [1, 2] == list(info["bias_start"].values())


def test_recurrent_bias_of_an_rleaky_layer_starts_with_its_input():
    """snnTorch's RLeaky: mem <- beta mem + W x + b + V s_{t-1} + b_rec (the recurrent Linear's bias)."""
    rng = np.random.default_rng(5)
    w, v = quarters(rng, (5, 3)), quarters(rng, (5, 5), -3, 3)
    b, b_rec = quarters(rng, 5, -1, 2), quarters(rng, 5, -1, 2)
    g = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "fc": nir.Affine(w, b), "lif": leaky(5, 0.75),
                            "rec": nir.Affine(v, b_rec), "output": nir.Output(np.array([5]))},
                     edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])
    T = 40
    x = (rng.random((T, 3)) < 0.4).astype(float)
    net, info = read_nir(g, dt_s=DT)
    ref = leaky_ref(x, w, b + b_rec, 0.75, rec=v)
    assert ref.sum() > 10
    np.testing.assert_array_equal(rasters(net, info, x, T + 1)["lif"][1:], ref)


def test_cubalif_bias_passes_through_the_synaptic_filter():
    """snnTorch's Synaptic: syn <- alpha syn + (W x + b); mem <- beta mem + syn (CubaLIF with
    tau_syn = dt/(1-alpha), tau_mem = dt/(1-beta), r = tau_mem/dt, w_in = tau_syn/dt)."""
    rng = np.random.default_rng(7)
    alpha, beta, n = 0.5, 0.75, 5
    w, b = quarters(rng, (n, 3), -2, 3), quarters(rng, n, -1, 2)
    tau_syn, tau_mem = np.full(n, DT / (1 - alpha)), np.full(n, DT / (1 - beta))
    cuba = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / DT, w_in=tau_syn / DT, v_leak=np.zeros(n),
                       v_threshold=np.full(n, 1.0), v_reset=np.zeros(n))
    g = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Affine(w, b), cuba)
    T = 40
    x = (rng.random((T, 3)) < 0.4).astype(float)
    net, info = read_nir(g, dt_s=DT)
    syn, mem, ref = np.zeros(n), np.zeros(n), []
    for t in range(T):
        syn = alpha * syn + (w @ x[t] + b)
        mem = beta * mem + syn
        s = mem > 1.0
        mem = np.where(s, 0.0, mem)
        ref.append(s)
    ref = np.array(ref)
    assert ref.sum() > 10
    np.testing.assert_array_equal(rasters(net, info, x, T + 1)["cubalif"][1:], ref)
    assert net.population("cubalif").model.bias_receptor == "syn"
    assert not any("steady state" in note for note in info["approximations"].get("cubalif", []))


def test_threshold_ties_follow_nir_by_default_and_can_be_forced():
    """Quarter weights reach the threshold exactly: NIR (snnTorch, Norse) fires on v > thr, Sinabs on v >= thr."""
    rng = np.random.default_rng(11)
    g, (w1, b1, _, _) = mlp(rng, bias=False)
    T = 40
    x = (rng.random((T, 4)) < 0.5).astype(float)
    strict, loose = leaky_ref(x, w1, b1, 0.75), leaky_ref(x, w1, b1, 0.75, strict=False)
    assert (strict != loose).sum() > 3  # the graph has ties
    net, info = read_nir(g, dt_s=DT)
    np.testing.assert_array_equal(rasters(net, info, x, T + 1)["lif1"][1:], strict)
    assert info["threshold"]["lif1"] == ">" and net.population("lif1").model.threshold == ">"
    net, info = read_nir(g, dt_s=DT, threshold=">=")
    assert set(info["threshold"].values()) == {">="}
    np.testing.assert_array_equal(rasters(net, info, x, T + 1)["lif1"][1:], loose)
    with pytest.raises(InputError, match="threshold"):
        read_nir(g, dt_s=DT, threshold=">>")


def test_float32_snntorch_parameters_keep_exact_ratios_and_ties():
    """snnTorch writes tau and r in float32 at dt = 1e-4: dt r / tau is 1.00000003, 1 - dt/tau is
    0.74999999; read back, the weights are unscaled, the decay is beta, and ties stay ties."""
    rng = np.random.default_rng(11)
    dt = 1e-4
    g, (w1, b1, _, _) = mlp(rng, dt=dt, dtype=np.float32)
    T = 40
    x = (rng.random((T, 4)) < 0.5).astype(float)
    net, info = read_nir(g, dt_s=dt)
    ref = leaky_ref(x, w1, b1, 0.75)
    assert (ref != leaky_ref(x, w1, b1, 0.75, strict=False)).any()
    np.testing.assert_array_equal(rasters(net, info, x, T + 1)["lif1"][1:], ref)
    np.testing.assert_array_equal(net.connection("input->lif1").weights, w1)
    m = net.population("lif1").model
    assert 1.0 - dt * (1.0 / m.tau_m_s) == 0.75
    np.testing.assert_array_equal(dt * np.broadcast_to(np.asarray(m.bias), (6,)), b1)


def sinabs_iaf_graph(rng, dt):
    """Sinabs-style IAF (v <- v + W x + b per step, Dirac spikes) exported as IF(r=1) at ``dt``."""
    w = quarters(rng, (4, 3), -1, 5)
    g = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Affine(w, np.zeros(4)),
                               nir.IF(r=np.ones(4), v_threshold=np.ones(4), v_reset=np.zeros(4)))
    return g, w


@pytest.mark.parametrize("dt", [1e-3, 1.0])
def test_dirac_spikes_reproduce_an_impulse_exporter_at_its_own_dt(dt):
    rng = np.random.default_rng(2)
    g, w = sinabs_iaf_graph(rng, dt)
    T = 30
    x = (rng.random((T, 3)) < 0.5).astype(float)
    ref = leaky_ref(x, w, np.zeros(4), 1.0, strict=False)
    assert ref.sum() > 5
    net, info = read_nir(g, dt_s=dt, spikes="dirac", threshold=">=")
    assert info["spikes"] == "dirac"
    np.testing.assert_array_equal(rasters(net, info, x, T + 1)["if"][1:], ref)
    net, info = read_nir(g, dt_s=dt, threshold=">=")  # the pulse convention reads it at dt = 1 only
    assert info["spikes"] == "pulse"
    got = rasters(net, info, x, T + 1)["if"][1:]
    assert (got == ref).all() if dt == 1.0 else not got.any()
    with pytest.raises(InputError, match="spikes"):
        read_nir(g, dt_s=dt, spikes="impulse")


def conv_graph(shape):
    rng = np.random.default_rng(0)
    w = quarters(rng, (3, 2, 3, 3))
    nodes = {"input": nir.Input(np.array(shape)),
             "conv": nir.Conv2d(input_shape=(6, 6), weight=w, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(3)),
             "lif": leaky(3 * 6 * 6, 0.75)}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "conv"), ("conv", "lif")], type_check=False)  # as exporters write it


def test_a_leading_batch_axis_of_one_is_dropped_with_a_note():
    net, info = read_nir(conv_graph((1, 2, 6, 6)), dt_s=DT)
    assert net.population("input").size == 72 and info["populations"]["input"]["shape"] == [2, 6, 6]
    assert any("batch axis" in note for note in info["approximations"]["input"])
    ref, _ = read_nir(conv_graph((2, 6, 6)), dt_s=DT)
    np.testing.assert_array_equal(net.connection("input->lif").csr().toarray(), ref.connection("input->lif").csr().toarray())
    net2, info2 = read_nir(conv_graph((1, 2, 6, 6)), dt_s=DT, input_shape=(2, 6, 6))
    assert net2.population("input").size == 72 and not any("batch" in n for n in info2["approximations"]["input"])


@pytest.mark.slow  # brian2 on these options is checked in the default run by tests/neurosim/backends/test_conformance.py
def test_brian2_reproduces_strict_ties_and_bias_onset():
    pytest.importorskip("brian2")
    rng = np.random.default_rng(3)
    g, (w1, b1, _, _) = mlp(rng)
    T = 12
    x = (rng.random((T, 4)) < 0.5).astype(float)
    net, info = read_nir(g, dt_s=DT)
    ref = rasters(net, info, x, T + 2)
    net, info = read_nir(g, dt_s=DT)
    got = rasters(net, info, x, T + 2, backend="brian2", options={"target": "numpy"})
    for p in ref:
        np.testing.assert_array_equal(got[p], ref[p])
    np.testing.assert_array_equal(ref["lif1"][1:T + 1], leaky_ref(x, w1, b1, 0.75))


def test_a_recorded_spike_condition_is_honoured_unless_forced_and_checked():
    g, _ = mlp(np.random.default_rng(1), bias=False)
    g.nodes["lif1"].metadata = {"neurosim.threshold": ">=", "neurosim.bias_start": 0}
    net, info = read_nir(g, dt_s=DT)
    assert info["threshold"] == {"lif1": ">=", "lif2": ">"} and info["bias_start"] == {"lif1": 0, "lif2": 2}
    assert read_nir(g, dt_s=DT, threshold=">")[1]["threshold"]["lif1"] == ">"
    g.nodes["lif1"].metadata = {"neurosim.threshold": ">>"}
    with pytest.raises(InputError, match="lif1.*neurosim.threshold"):
        read_nir(g, dt_s=DT)
    with pytest.raises(InputError, match="raster"):
        add_spike_input(*read_nir(g, dt_s=DT, threshold=">"), np.full((3, 4), 2.0), dt_s=DT)


@pytest.mark.parametrize("meta, what", [
    ({"neurosim.bias_start": np.inf}, "bias_start is not a step number"),  # was an OverflowError
    ({"neurosim.bias_start": 1e300}, "bias_start is out of range"),  # was an OverflowError in the engine
    ({"neurosim.bias_start": 2.5}, "bias_start is not a step number"),  # was read as 2
    ({"neurosim.bias_start": np.array([3, 4])}, "bias_start is not a step number"),
    ({"neurosim.threshold": np.array([">", ">="])}, "threshold is not a spike condition")])
def test_damaged_recorded_metadata_is_refused_naming_node_and_key(meta, what):
    g, _ = mlp(np.random.default_rng(1), bias=False)
    g.nodes["lif1"].metadata = meta
    with pytest.raises(InputError, match=f"NIR node 'lif1': metadata neurosim.{what}"):
        read_nir(g, dt_s=DT)
    g.nodes["lif1"].metadata = {"neurosim.bias_start": 3.0, "neurosim.bias_receptor": np.array(["v", "v"])}
    net, info = read_nir(g, dt_s=DT)  # an integral float is a step; an array is no receptor name (not a crash)
    assert info["bias_start"]["lif1"] == 3 == net.population("lif1").model.bias_start
