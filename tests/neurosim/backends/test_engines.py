"""Both engines (compiled, numpy reference) against hand-computable cases, and each engine's own
alternative code paths (the numpy engine's delivery strategies)."""
import numpy as np
import pytest
import scipy.sparse as sp

import neurosim as ns
from neurosim.backends.compiled import CompiledSimulator
from neurosim.backends.numpy_engine import Simulator

SIMULATORS = {"numpy": Simulator, "compiled": CompiledSimulator}


@pytest.fixture(params=sorted(SIMULATORS))
def engine(request) -> str:
    return request.param


def single(engine, model, bias_input=None, steps=100, dt=0.1, probes=("v",)):
    net = ns.Network("one")
    net.add(ns.Population("p", 1, model))
    if bias_input is not None:
        net.add(ns.ConstantInput("p", bias_input))
    for var in probes:
        net.add(ns.Probe("p", var))
    net.add(ns.Probe("p", "count", name="n"))
    return ns.simulate(net, steps=steps, dt_s=dt, backend=engine)


def test_if_constant_bias_spike_count_and_times_subtract(engine):
    # dv/dt = 0.3, theta 1, dt 0.1: v after step n is 0.03 (n+1) minus spikes so far
    r = single(engine, ns.IF(bias=0.3), steps=1000, dt=0.1, probes=("spikes",))
    assert int(r["n"][0, 0]) == int(np.floor(0.03 * 1000 + 1e-9))
    times = np.flatnonzero(r["p.spikes"][:, 0, 0])
    # k-th spike when 0.03 (n+1) >= k  ->  n = ceil(k/0.03) - 1
    expected = np.ceil(np.arange(1, len(times) + 1) / 0.03 - 1e-9).astype(int) - 1
    np.testing.assert_array_equal(times, expected)


def test_reset_to_zero_loses_overshoot(engine):
    r0 = single(engine, ns.IF(bias=0.75, reset="zero"), steps=100, dt=1.0, probes=())
    r1 = single(engine, ns.IF(bias=0.75, reset="subtract"), steps=100, dt=1.0, probes=())
    assert int(r0["n"][0, 0]) == 50  # v: 0.75, 1.5 -> spike -> 0 ... every 2nd step
    assert int(r1["n"][0, 0]) == 75


def test_leaky_neuron_matches_discrete_recursion(engine):
    tau_m, dt, bias = 0.5, 0.01, 3.0
    r = single(engine, ns.LIF(bias=bias, tau_m_s=tau_m, v_th=10.0, v_rest=0.2), steps=300, dt=dt)
    v, vs = 0.0, []
    for _ in range(300):
        v = v + dt * (bias - (v - 0.2) / tau_m)
        vs.append(v)
    np.testing.assert_allclose(r["p.v"][:, 0, 0], vs, rtol=1e-12)


def two_neuron_net(w, delay=1, sparse=False, tau_s=1.0):
    net = ns.Network("pair")
    net.add(ns.Population("a", 1, ns.IF(bias=0.0)))
    net.add(ns.Population("b", 1, ns.IF(v_th=1e9, tau_s=tau_s)))
    net.add(ns.ArrayInput("a", np.array([[2.0]])))  # one step of drive 2 -> spike at step 0 (dt 1)
    weights = sp.csr_matrix([[w]]) if sparse else np.array([[w]])
    net.add(ns.Connection("a", "b", weights, delay_steps=delay))
    net.add(ns.Probe("b", "v"))
    net.add(ns.Probe("b", "i"))
    return net


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_delay_and_unit_area_kernel(engine, delay):
    r = ns.simulate(two_neuron_net(0.8, delay=delay, tau_s=2.0), steps=400, dt_s=0.5, backend=engine)
    v = r["b.v"][:, 0, 0]
    i = r["b.i"][:, 0, 0]
    # spike of a at step 0 reaches b's current at the end of step delay-1, so v moves at step delay
    assert np.all(v[:delay] == 0.0) and v[delay] > 0
    assert i[delay - 1] == pytest.approx(0.8 / 2.0)
    # the exponential kernel has unit area: the total change of v is w
    assert v[-1] == pytest.approx(0.8, rel=1e-9)


def test_sparse_and_dense_weights_and_paths_agree(engine):
    rng = np.random.default_rng(1)
    n = 60
    w = rng.normal(0, 0.3, (n, n)) * (rng.random((n, n)) < 0.2)
    np.fill_diagonal(w, 0)
    bias = rng.uniform(0.1, 0.6, (3, n))
    results = []
    # numpy engine: 0 = always dense, > 1 = always event-driven; compiled: dense rows / CSR rows
    options = [{"event_fraction": 0.0}, {"event_fraction": 1.1}] if engine == "numpy" else [{}]
    for weights in (w, sp.csr_matrix(w)):
        for opts in options:
            net = ns.Network("rand")
            net.add(ns.Population("p", n, ns.IF()))
            net.add(ns.Connection("p", "p", weights, delay_steps=2))
            net.add(ns.ConstantInput("p", bias))
            net.add(ns.Probe("p", "count"))
            r = ns.simulate(net, steps=2000, dt_s=0.05, options=opts, backend=engine)
            results.append(r["p.count"])
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    assert results[0].sum() > 100


def test_batched_run_equals_separate_runs(engine):
    rng = np.random.default_rng(2)
    n = 20
    w = -np.abs(rng.normal(0, 0.2, (n, n)))
    np.fill_diagonal(w, 0)
    bias = rng.uniform(0, 1, (4, n))

    def make(b):
        net = ns.Network("b")
        net.add(ns.Population("p", n, ns.IF()))
        net.add(ns.Connection("p", "p", w))
        net.add(ns.ConstantInput("p", b))
        net.add(ns.Probe("p", "count"))
        return net

    batched = ns.simulate(make(bias), steps=500, dt_s=0.1, backend=engine)["p.count"]
    for k in range(4):
        single_run = ns.simulate(make(bias[k]), steps=500, dt_s=0.1, backend=engine)["p.count"]
        np.testing.assert_array_equal(batched[k], single_run[0])


def test_float32_close_to_float64(engine):
    net = ns.Network("f")
    net.add(ns.Population("p", 5, ns.IF(bias=np.linspace(0.1, 0.9, 5))))
    net.add(ns.Probe("p", "count"))
    c64 = ns.simulate(net, steps=5000, dt_s=0.01, backend=engine)["p.count"]
    c32 = ns.simulate(net, steps=5000, dt_s=0.01, dtype=np.float32, backend=engine)["p.count"]
    assert np.abs(c64 - c32).max() <= 1


def test_refractory_freezes_neuron(engine):
    r = single(engine, ns.IF(bias=1.0, refractory_steps=3), steps=100, dt=1.0, probes=("spikes",))
    times = np.flatnonzero(r["p.spikes"][:, 0, 0])
    np.testing.assert_array_equal(np.diff(times), 4)


def test_poisson_is_seeded_and_has_the_right_rate(engine):
    def run(seed):
        net = ns.Network("pois")
        net.add(ns.Population("p", 200, ns.IF(v_th=1e9)))
        # tau_s = dt: the current lasts one step, so each input spike moves v by exactly 1
        net.add(ns.Population("q", 200, ns.IF(v_th=0.5, tau_s=1e-3, reset="zero")))
        net.add(ns.PoissonInput("q", rate_hz=np.full(200, 50.0), weight=1.0))
        net.add(ns.Probe("q", "count"))
        return ns.simulate(net, steps=2000, dt_s=1e-3, seed=seed, backend=engine)["q.count"]

    a, b, c = run(1), run(1), run(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # each Poisson spike gives exactly one spike of q one step later: mean = 50 Hz * 2 s
    assert a.mean() == pytest.approx(100, rel=0.05)


def test_nan_stops_run_naming_population_and_neuron(engine):
    net = ns.Network("boom")
    net.add(ns.Population("p", 3, ns.IF(v_th=1e300)))
    net.add(ns.ConstantInput("p", np.array([0.0, 1e308, 0.0])))
    with pytest.raises(ns.SimulationError, match=r"population 'p'.*neuron 1"):
        ns.simulate(net, steps=100, dt_s=1.0, backend=engine)


def _overflowing_net(j):
    """150 IF neurons, the first 64 at v = 1e308 (a block whose sum overflows, every value finite);
    neuron ``j`` (if any) pushed to -inf at step 1."""
    n = 150
    push = np.zeros(n)
    if j is not None:
        push[j] = -1e308
    net = ns.Network("blocks")
    net.add(ns.Population("p", n, ns.IF(v_th=1.7e308)))
    net.add(ns.ConstantInput("p", push))
    big = np.zeros(n)
    big[:64] = 1e308
    return net, {"p": {"v": big}}


def test_compiled_non_finite_check_is_exact_per_block():
    # the compiled pass checks one sum per block of neurons: finite values whose sum overflows
    # (block 0) are no error; -inf (never above threshold) in a full block (neuron 100) and in the
    # tail (neuron 140) is one, at the step it appears, naming the neuron
    net, init = _overflowing_net(None)
    ok = CompiledSimulator(net, dt_s=1.0, initial_state=init)
    ok.run(3)
    np.testing.assert_array_equal(ok.state["p"]["v"][0], init["p"]["v"])
    for j in (100, 140):
        net, init = _overflowing_net(j)
        with pytest.raises(ns.SimulationError, match=rf"by step 1 .*neuron {j}\b"):
            CompiledSimulator(net, dt_s=1.0, initial_state=init).run(5)


def test_numpy_non_finite_check_tells_an_overflowing_sum_from_a_non_finite_state():
    # the reference engine tests the sum of each state array first, then the elements
    net, init = _overflowing_net(None)
    ns.simulate(net, steps=3, dt_s=1.0, backend="numpy", initial_state=init)
    net, init = _overflowing_net(140)
    with pytest.raises(ns.SimulationError, match=r"neuron 140\b"):
        ns.simulate(net, steps=3, dt_s=1.0, backend="numpy", initial_state=init)


def test_gain_signal_switch_keeps_state(engine):
    net = ns.Network("g", signals={"gamma": 0.0})
    net.add(ns.Population("p", 1, ns.IF(v_th=1e9)))
    net.add(ns.ConstantInput("p", 1.0, gain=ns.Gain("gamma", scale=-1.0, offset=1.0)))
    sim = SIMULATORS[engine](net, dt_s=1.0)
    sim.run(10)
    assert sim.state["p"]["v"][0, 0] == pytest.approx(10.0)
    sim.set_signal("gamma", 0.75)
    sim.run(10)
    assert sim.state["p"]["v"][0, 0] == pytest.approx(12.5)
    with pytest.raises(ns.NetworkError, match="unknown signal"):
        sim.set_signal("beta", 1.0)


def test_window_statistics(engine):
    net = ns.Network("w")
    net.add(ns.Population("p", 2, ns.IF(bias=np.array([0.5, 0.25]))))
    sim = SIMULATORS[engine](net, dt_s=0.1, track_window=True)
    sim.run(1000)
    sim.reset_window()
    sim.run(2000)
    win = sim.window()["p"]
    assert win["steps"] == 2000
    np.testing.assert_allclose(win["rate"][0], [0.5, 0.25], atol=1 / 200)
    np.testing.assert_allclose(win["mean_current"][0], [0.5, 0.25])


def test_activity_profile_counts_and_synaptic_events(engine, tmp_path):
    net = ns.Network("act")
    net.add(ns.Population("a", 3, ns.IF(bias=np.array([1.0, 0.5, 0.0]))))
    net.add(ns.Population("b", 2, ns.IF(v_th=1e9)))
    w = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])  # fan-out of a: 2, 1, 1
    net.add(ns.Connection("a", "b", w))
    r = ns.simulate(net, steps=80, dt_s=0.125, backend=engine)
    counts = r.activity.counts["a"]
    np.testing.assert_array_equal(counts, [10, 5, 0])
    assert r.activity.syn_events["a->b"] == 10 * 2 + 5 * 1
    path = r.activity.save(tmp_path / "act.npz")
    back = ns.ActivityProfile.load(path)
    np.testing.assert_array_equal(back.counts["a"], counts)
    assert back.syn_events == r.activity.syn_events and back.steps == 80


def test_analog_lca_neuron_matches_euler(engine):
    rng = np.random.default_rng(3)
    D = rng.standard_normal((8, 12))
    D /= np.linalg.norm(D, axis=0)
    x = rng.standard_normal(8)
    G = D.T @ D - np.eye(12)
    net = ns.Network("alca")
    net.add(ns.Population("u", 12, ns.LCANeuron(lam=0.2, threshold="soft")))
    net.add(ns.Connection("u", "u", -G))
    net.add(ns.ConstantInput("u", D.T @ x))
    net.add(ns.Probe("u", "a", every=50))
    r = ns.simulate(net, steps=200, dt_s=0.1, backend=engine)
    u = np.zeros(12)
    for _ in range(200):
        a = np.sign(u) * np.maximum(np.abs(u) - 0.2, 0)
        u = u + 0.1 * (D.T @ x - u - G @ a)
    np.testing.assert_allclose(r.final_state["u"]["u"][0], u, rtol=1e-10, atol=1e-12)
    assert r["u.a"].shape == (4, 1, 12)


def test_initial_state_and_bad_initial_state(engine):
    net = ns.Network("init")
    net.add(ns.Population("p", 2, ns.IF(v_th=1e9)))
    r = ns.simulate(net, steps=1, dt_s=1.0, initial_state={"p": {"v": np.array([1.0, 2.0])}}, backend=engine)
    np.testing.assert_allclose(r.final_state["p"]["v"][0], [1.0, 2.0])
    with pytest.raises(ns.NetworkError, match="wrong shape"):
        ns.simulate(net, steps=1, dt_s=1.0, initial_state={"p": {"v": np.zeros(3)}}, backend=engine)
    with pytest.raises(ns.NetworkError, match="unknown variable"):
        ns.simulate(net, steps=1, dt_s=1.0, initial_state={"p": {"w": np.zeros(2)}}, backend=engine)


def test_run_argument_errors(engine):
    net = ns.Network("e")
    net.add(ns.Population("p", 2, ns.IF(tau_s=0.5)))
    with pytest.raises(ns.NetworkError, match="steps must be a positive integer"):
        ns.simulate(net, steps=0, dt_s=0.1, backend=engine)
    with pytest.raises(ns.NetworkError, match="dt_s must be a positive number"):
        ns.simulate(net, steps=10, dt_s=-1.0, backend=engine)
    with pytest.raises(ns.NetworkError, match="dt_s larger than tau_s"):
        ns.simulate(net, steps=10, dt_s=1.0, backend=engine)
    with pytest.raises(ns.NetworkError, match="unknown backend"):
        ns.simulate(net, steps=10, dt_s=0.1, backend="nest")
    with pytest.raises(ns.NetworkError, match="unsupported dtype"):
        ns.simulate(net, steps=10, dt_s=0.1, dtype=np.int32, backend=engine)


def test_probe_every_and_start(engine):
    net = ns.Network("pr")
    net.add(ns.Population("p", 1, ns.IF(bias=0.5)))
    net.add(ns.Probe("p", "v", every=10))
    net.add(ns.Probe("p", "count", start=50, name="late"))
    r = ns.simulate(net, steps=100, dt_s=0.2, backend=engine)
    assert r["p.v"].shape == (10, 1, 1)
    assert int(r["late"][0, 0]) == 5  # 0.1 per step from step 50: 5 spikes in 50 steps


def test_set_weights_param_input_and_reset_state(engine):
    net = ns.Network("mut")
    net.add(ns.Population("a", 2, ns.IF(bias=np.array([0.5, 0.0]))))
    net.add(ns.Population("b", 2, ns.IF(v_th=1e9)))
    net.add(ns.Connection("a", "b", np.zeros((2, 2))))
    net.add(ns.ConstantInput("a", np.zeros(2), name="x"))
    sim = SIMULATORS[engine](net, dt_s=0.5)
    sim.set_weights("a->b", np.array([[1.0, 0.0], [0.0, 2.0]]))
    sim.set_input("x", np.array([0.0, 1.0]))
    sim.set_param("a", "v_th", np.array([1.0, 2.0]))
    sim.run(400)
    # a0 fires 0.5*200/1 = 100 times, a1 1.0*200/2 = 100 times; b integrates w per spike
    np.testing.assert_array_equal(sim.result().activity.counts["a"], [100, 100])
    np.testing.assert_allclose(sim.state["b"]["v"][0], [100.0, 200.0], rtol=2e-2)
    np.testing.assert_array_equal(sim.weights("a->b"), [[1.0, 0.0], [0.0, 2.0]])
    sim.reset_state()
    assert not sim.state["b"]["v"].any()
    with pytest.raises(ns.NetworkError, match="must keep the shape"):
        sim.set_weights("a->b", np.zeros((3, 2)))
    with pytest.raises(ns.NetworkError, match="cannot be changed"):
        sim.set_param("a", "tau_s", 1.0)
    with pytest.raises(ns.NetworkError, match="no such constant input"):
        sim.set_input("y", np.zeros(2))


def test_analog_initial_state_equals_euler_from_u0(engine):
    rng = np.random.default_rng(5)
    D = rng.standard_normal((6, 10))
    D /= np.linalg.norm(D, axis=0)
    x = rng.standard_normal(6)
    G = D.T @ D - np.eye(10)
    u0 = rng.standard_normal(10)
    net = ns.Network("warm")
    net.add(ns.Population("u", 10, ns.LCANeuron(lam=0.3, threshold="hard")))
    net.add(ns.Connection("u", "u", -G))
    net.add(ns.ConstantInput("u", D.T @ x))
    r = ns.simulate(net, steps=30, dt_s=0.1, initial_state={"u": {"u": u0}}, backend=engine)
    u = u0.copy()
    for _ in range(30):
        a = np.where(np.abs(u) > 0.3, u, 0.0)
        u = u + 0.1 * (D.T @ x - u - G @ a)
    np.testing.assert_allclose(r.final_state["u"]["u"][0], u, rtol=1e-12, atol=1e-12)


def test_progress_callback_hears_every_step_and_changes_nothing(engine):
    # the same network and settings as test_reset_to_zero_loses_overshoot (no new kernel specialisation)
    calls = []
    net = ns.Network("one")
    net.add(ns.Population("p", 1, ns.IF(bias=0.75, reset="zero")))
    net.add(ns.Probe("p", "count", name="n"))
    r = ns.simulate(net, steps=100, dt_s=1.0, backend=engine, progress=lambda *a: calls.append(a))
    assert int(r["n"][0, 0]) == 50
    done = [c[1] for c in calls]
    assert {c[0] for c in calls} == {"simulating"} and {c[2] for c in calls} == {100}
    assert done == sorted(done) and done[-1] == 100
