"""One conformance suite over every backend (the ``backend`` fixture of ``tests/conftest.py``:
compiled engine, numpy engine, Brian2 numpy/cython/cpp_standalone).

Every network here is run on each backend and compared with ``reference_run``, a plain
step-by-step numpy loop written from the equations in the docstrings of
:mod:`neurosim.neurons` (not from any backend's code).

Tolerances (float64)
--------------------
* deterministic spiking networks: spike counts per neuron **equal** (the backends sum in
  different orders, so states differ by rounding, ~1e-14; a spike flips only at an exact tie);
* analog LCA: states within ``1e-9`` (absolute) and non-zero-output counts equal;
* Poisson inputs: Brian2's random stream is not numpy's, so only the totals are compared, with
  the binomial spread (5 standard deviations); Poisson at probability 1 is deterministic and
  compared exactly.
"""
from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import neurosim as ns
from neurosim import (
    IF,
    LIF,
    ArrayInput,
    BackendUnavailableError,
    Connection,
    ConstantInput,
    Gain,
    LCANeuron,
    Network,
    NetworkError,
    PoissonInput,
    Population,
    Probe,
    SimulationError,
    simulate,
)

STATE_ATOL = 1e-9


# -- the independent reference ---------------------------------------------------------------------
def _threshold(kind: str, u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    if kind == "soft":
        return np.sign(u) * np.maximum(np.abs(u) - lam, 0.0)
    if kind == "nonneg":
        return np.maximum(u - lam, 0.0)
    return u * (np.abs(u) > lam)


def reference_run(net: Network, steps: int, dt: float, signals: dict | None = None):
    """Step the network exactly as the neuron docstrings say.

    Returns ``(counts, state, outputs)``: events per neuron ``(batch, n)``, final state, and the
    outputs of every step ``(steps, batch, n)`` (spikes as 0/1) per population. A LIF neuron has
    one current per receptor (``i`` in the state is their sum).
    """
    net.validate()
    batch = net.batch
    sig = {**net.signals, **(signals or {})}
    st, counts, hist = {}, {}, {}
    for p in net.populations:
        m, n = p.model, p.size
        prm = {k: m.param(k, n) for k in m.per_neuron}
        if isinstance(m, LIF):
            names = m.receptor_names
            st[p.name] = dict(prm=prm, v=np.zeros((batch, n)), ir=[np.zeros((batch, n)) for _ in names],
                              tau=[m.receptor_tau(r, n) for r in names], names=names, ref=np.zeros((batch, n), int))
        else:
            st[p.name] = dict(prm=prm, u=np.zeros((batch, n)), a=np.zeros((batch, n)), inp=np.zeros((batch, n)))
        counts[p.name] = np.zeros((batch, n), dtype=np.int64)
        hist[p.name] = []
    const = {p.name: np.zeros((batch, p.size)) for p in net.populations}
    for inp in net.inputs:
        if isinstance(inp, ConstantInput):
            g = 1.0 if inp.gain is None else inp.gain.value(sig)
            const[inp.target] = const[inp.target] + g * np.asarray(inp.value, dtype=float)
    arrays = [a for a in net.inputs if isinstance(a, ArrayInput)]
    poisson = [a for a in net.inputs if isinstance(a, PoissonInput)]
    if any(np.any(np.asarray(a.rate_hz) * dt < 1.0) for a in poisson):
        raise ValueError("the reference runs Poisson inputs only at probability 1 (deterministic)")

    def rec(pop, receptor):
        return 0 if receptor is None else list(st[pop]["names"]).index(receptor)

    for step in range(steps):
        for p in net.populations:
            s, m = st[p.name], p.model
            ext = const[p.name].copy()
            for a in arrays:
                if a.target == p.name and step < a.values.shape[0]:
                    ext = ext + (1.0 if a.gain is None else a.gain.value(sig)) * a.values[step]
            prm = s["prm"]
            if isinstance(m, LIF):
                active = s["ref"] == 0
                i_tot = sum(s["ir"])
                v_new = s["v"] + dt * (prm["bias"] + ext + i_tot - (s["v"] - prm["v_rest"]) / prm["tau_m_s"])
                s["v"] = np.where(active, v_new, s["v"])
                s["ref"] = np.where(active, 0, s["ref"] - 1)
                s["ir"] = [(1.0 - dt / tau) * i for i, tau in zip(s["ir"], s["tau"])]
                spk = active & (s["v"] >= prm["v_th"])
                reset = s["v"] - prm["v_th"] if m.reset == "subtract" else np.broadcast_to(prm["v_reset"], s["v"].shape)
                s["v"] = np.where(spk, reset, s["v"])
                s["ref"] = np.where(spk, m.refractory_steps, s["ref"])
                out = spk.astype(float)
            else:
                s["u"] = s["u"] + (dt / prm["tau_s"]) * (prm["bias"] + ext + s["inp"] - s["u"])
                s["a"] = _threshold(m.threshold, s["u"], prm["lam"]) / prm["gain"]
                out = s["a"].copy()
            counts[p.name] += out != 0
            hist[p.name].append(out)
        for p in net.populations:  # deliver the outputs emitted d - 1 steps ago
            s = st[p.name]
            lif = isinstance(p.model, LIF)
            new_inp = [np.zeros((batch, p.size)) for _ in (s["ir"] if lif else [0])]
            for c in net.connections:
                if c.post != p.name or step - c.delay_steps + 1 < 0:
                    continue
                g = 1.0 if c.gain is None else c.gain.value(sig)
                x = hist[c.pre][step - c.delay_steps + 1]
                new_inp[rec(p.name, c.receptor) if lif else 0] += g * np.asarray((c.csr() @ x.T).T)
            for a in poisson:  # a spike every step, delivered like a synapse of weight a.weight
                if a.target == p.name:
                    new_inp[rec(p.name, a.receptor) if lif else 0] += a.weight
            if lif:
                s["ir"] = [i + x / tau for i, x, tau in zip(s["ir"], new_inp, s["tau"])]
            else:
                s["inp"] = new_inp[0]
    state = {}
    for name, s in st.items():
        if "ir" in s:
            state[name] = {"v": s["v"], "i": sum(s["ir"]), **{f"i_{r}": i for r, i in zip(s["names"], s["ir"])}}
        else:
            state[name] = {"u": s["u"], "a": s["a"]}
    return counts, state, {name: np.stack(h) for name, h in hist.items()}


# -- networks ------------------------------------------------------------------------------------------
def lif_network(*, reset: str = "subtract", seed: int = 0) -> Network:
    """Leaky, bias-driven E/I network: random sparse connections, refractory, delays 1 and 3."""
    rng = np.random.default_rng(seed)
    ne, ni = 64, 16
    v_reset = 0.0 if reset == "subtract" else -0.2
    net = Network("lif_ei")
    for name, n, ref in (("exc", ne, 3), ("inh", ni, 2)):
        net.add(Population(name, n, LIF(tau_s=rng.uniform(4e-3, 6e-3, n), tau_m_s=0.02, v_th=rng.uniform(0.9, 1.1, n),
                                        bias=rng.uniform(40.0, 70.0, n), v_rest=0.1, v_reset=v_reset, reset=reset,
                                        refractory_steps=ref)))

    def rand_sparse(n_post, n_pre, scale, sign, s):
        return sp.random(n_post, n_pre, density=0.15, random_state=s,
                         data_rvs=lambda k: sign * scale * rng.uniform(0.5, 1.5, k))

    net.add(Connection("exc", "exc", rand_sparse(ne, ne, 0.08, 1, 1), delay_steps=1))
    net.add(Connection("exc", "inh", rand_sparse(ni, ne, 0.10, 1, 2), delay_steps=3))
    net.add(Connection("inh", "exc", rand_sparse(ne, ni, 0.25, -1, 3).toarray(), delay_steps=1))  # dense weights
    net.add(Connection("inh", "inh", rand_sparse(ni, ni, 0.20, -1, 4), delay_steps=3))
    pulse = np.zeros((150, ne))
    pulse[50:, : ne // 2] = 30.0  # still on in the last row: the input must stop after it
    net.add(ArrayInput("exc", pulse))
    net.add(ConstantInput("inh", rng.uniform(0.0, 10.0, ni)))
    net.add(Probe("exc", "count", start=100, name="exc_late"))
    net.add(Probe("exc", "v", every=7))
    net.add(Probe("inh", "spikes", every=2))
    net.add(Probe("inh", "i", every=5))
    return net


def lca_problem(m: int = 8, n: int = 16, batch: int = 1, seed: int = 3):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(m, n))
    d /= np.linalg.norm(d, axis=0)
    codes = np.zeros((batch, n))
    for b in range(batch):
        codes[b, rng.choice(n, 3, replace=False)] = rng.uniform(0.5, 1.5, 3)
    x = codes @ d.T + 0.01 * rng.normal(size=(batch, m))
    return d, x


def spiking_lca_network(*, batch: int = 1, lam: float = 0.1, signed: bool = False) -> Network:
    """Spiking LCA: IF neurons, W = -(D^T D - diag), bias D^T x - lam, reset by subtraction."""
    d, x = lca_problem(batch=batch)
    if signed:
        d = np.hstack([d, -d])
    w = -(d.T @ d)
    np.fill_diagonal(w, 0.0)
    b = x @ d - lam
    net = Network("slca")
    net.add(Population("lca", d.shape[1], IF(tau_s=1.0, v_th=1.0, reset="subtract")))
    net.add(Connection("lca", "lca", w, delay_steps=1, gain=Gain("gamma"), name="inhibition"))
    net.signals["gamma"] = 1.0
    net.add(ConstantInput("lca", b if batch > 1 else b[0]))
    net.add(Probe("lca", "count"))
    return net


def analog_lca_network(threshold: str, *, delay: int = 1) -> Network:
    d, x = lca_problem(seed=5)
    w = -(d.T @ d)
    np.fill_diagonal(w, 0.0)
    net = Network("alca")
    net.add(Population("lca", d.shape[1], LCANeuron(tau_s=1.0, lam=0.15, threshold=threshold, gain=1.5)))
    net.add(Connection("lca", "lca", w, delay_steps=delay))
    net.add(ConstantInput("lca", (x @ d)[0]))
    net.add(Probe("lca", "output", every=3))
    net.add(Probe("lca", "count", start=10))
    return net


def _run(backend, net, steps, dt, **kw):
    name, options = backend
    return simulate(net, steps=steps, dt_s=dt, backend=name, options=dict(options), **kw)


# -- conformance ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_lif_network_matches_reference(backend, reset):
    net = lif_network(reset=reset)
    steps, dt = 800, 5e-4
    ref, ref_state, ref_out = reference_run(net, steps, dt)
    res = _run(backend, net, steps, dt)
    np.testing.assert_array_equal(res["inh.spikes"], ref_out["inh"][::2] > 0)
    assert ref["exc"].sum() > 200 and ref["inh"].sum() > 50  # the network is active
    for pop in ("exc", "inh"):
        np.testing.assert_array_equal(res.activity.counts[pop], ref[pop].sum(axis=0))
        for var in ("v", "i"):
            np.testing.assert_allclose(res.final_state[pop][var], ref_state[pop][var], atol=STATE_ATOL)
    assert res.activity.syn_events["exc->inh"] == int(ref["exc"][0] @ net.connection("exc->inh").fan_out())


def test_strict_threshold_bias_onset_and_receptor_bias_match_reference(backend):
    """LIF.threshold ">" (ties do not fire; reset subtracts v_th itself), bias_start and bias_receptor,
    against the equations of neurosim.neurons.LIF computed here (dyadic values: exact on every backend)."""
    bias_a = np.array([0.25, 0.5, 0.0])
    net = Network("opts")
    net.add(Population("a", 3, LIF(tau_s=1.0, v_th=1.0, reset="subtract", threshold=">", bias=bias_a, bias_start=2)))
    net.add(Population("b", 2, LIF(tau_s=4.0, tau_m_s=8.0, v_th=0.5, reset="zero", bias=0.5, bias_start=3,
                                   bias_receptor="syn")))
    net.add(Connection("a", "b", np.full((2, 3), 0.5)))
    for p in ("a", "b"):
        net.add(Probe(p, "v", name=f"{p}.v"))
        net.add(Probe(p, "spikes", name=f"{p}.spikes"))
    steps = 16
    res = _run(backend, net, steps, 1.0)
    va, vb, ib = np.zeros(3), np.zeros(2), np.zeros(2)
    ref = {k: [] for k in ("a.v", "a.spikes", "b.v", "b.spikes")}
    for n in range(steps):
        va = va + (bias_a if n >= 2 else 0.0)
        sa = va > 1.0
        va = np.where(sa, va - 1.0, va)
        if n >= 3:
            ib = ib + 0.25 * 0.5  # (dt / tau_s) bias into the synaptic current
        vb = vb * (1 - 1 / 8) + ib
        ib = ib * (1 - 1 / 4)
        sb = vb >= 0.5
        vb = np.where(sb, 0.0, vb)
        ib = ib + 0.25 * 0.5 * sa.sum()  # spikes of a: weight 0.5, scaled by dt / tau_s
        for k, x in (("a.v", va), ("a.spikes", sa), ("b.v", vb), ("b.spikes", sb)):
            ref[k].append(x.copy())
    assert np.array(ref["a.spikes"]).sum() >= 4 and np.array(ref["b.spikes"]).sum() >= 1
    assert np.any(np.array(ref["a.v"]) == 1.0)  # ties with the threshold that must not fire
    for k in ref:
        np.testing.assert_array_equal(res[k][:, 0], np.array(ref[k]), err_msg=k)


def test_probe_windows_record_only_their_steps(backend):
    """A probe records the steps ``start <= t < stop`` on its ``every`` grid (counts: every step of
    the window); checked against the full raster and state of the same run."""
    net = lif_network()
    steps, dt = 300, 5e-4
    _, _, ref_out = reference_run(net, steps, dt)
    net.add(Probe("exc", "spikes", start=50, stop=251, every=3, name="window"))
    net.add(Probe("exc", "count", start=20, stop=160, name="window.count"))
    net.add(Probe("exc", "v", every=2, name="v.all"))
    net.add(Probe("exc", "v", start=10, stop=51, every=2, name="v.window"))
    res = _run(backend, net, steps, dt)
    frames = [t for t in range(50, 251) if t % 3 == 0]
    np.testing.assert_array_equal(res["window"], ref_out["exc"][frames] > 0)
    np.testing.assert_array_equal(res["window.count"], (ref_out["exc"][20:160] > 0).sum(axis=0))
    np.testing.assert_array_equal(res["v.window"], res["v.all"][5:26])
    assert res["window"].any()


def test_probe_window_must_be_ordered():
    with pytest.raises(NetworkError, match=r"probe 'p.spikes': stop must be an integer >= 6"):
        Probe("p", "spikes", start=5, stop=5)


def test_probes_agree_with_numpy_engine(backend):
    net = lif_network()
    steps, dt = 300, 5e-4
    ref = simulate(net, steps=steps, dt_s=dt, backend="numpy")
    res = _run(backend, net, steps, dt)
    assert set(res.probes) == set(ref.probes)
    np.testing.assert_array_equal(res["exc_late"], ref["exc_late"])
    np.testing.assert_array_equal(res["inh.spikes"], ref["inh.spikes"])
    assert res["exc.v"].shape == ref["exc.v"].shape == (-(-steps // 7), 1, 64)
    np.testing.assert_allclose(res["exc.v"], ref["exc.v"], atol=STATE_ATOL)
    np.testing.assert_allclose(res["inh.i"], ref["inh.i"], atol=STATE_ATOL)
    assert res.activity.source.startswith("simulated:")


@pytest.mark.parametrize("signed", [False, True])
def test_spiking_lca_matches_reference(backend, signed):
    net = spiking_lca_network(signed=signed)
    steps, dt = 3000, 0.02
    net.add(Probe("lca", "spikes"))
    ref, _, ref_out = reference_run(net, steps, dt)
    res = _run(backend, net, steps, dt)
    assert 0 < np.count_nonzero(ref["lca"]) < net.populations[0].size  # a sparse code
    np.testing.assert_array_equal(res["lca.count"], ref["lca"])
    np.testing.assert_array_equal(res["lca.spikes"], ref_out["lca"] > 0)


def test_batched_spiking_lca_equals_separate_runs(backend):
    batch, steps, dt = 3, 1500, 0.02
    net = spiking_lca_network(batch=batch)
    res = _run(backend, net, steps, dt, signals={"gamma": 0.8})
    ref, _, _ = reference_run(net, steps, dt, signals={"gamma": 0.8})
    assert res.batch == batch and res["lca.count"].shape == (batch, 16)
    np.testing.assert_array_equal(res["lca.count"], ref["lca"])
    d, x = lca_problem(batch=batch)
    for b in range(batch):  # each copy is independent: batch row b == an unbatched run of input b
        single = spiking_lca_network(batch=1)
        single.inputs[0] = ConstantInput("lca", x[b] @ d - 0.1)
        one = _run(backend, single, steps, dt, signals={"gamma": 0.8})
        np.testing.assert_array_equal(one["lca.count"][0], res["lca.count"][b])


@pytest.mark.parametrize("threshold,delay", [("soft", 1), ("nonneg", 1), ("hard", 1), ("soft", 2)])
def test_analog_lca_matches_reference(backend, threshold, delay):
    net = analog_lca_network(threshold, delay=delay)
    steps, dt = 200, 0.1
    ref, ref_state, ref_out = reference_run(net, steps, dt)
    res = _run(backend, net, steps, dt)
    assert 0 < np.count_nonzero(ref_state["lca"]["a"]) < 16
    np.testing.assert_allclose(res.final_state["lca"]["u"], ref_state["lca"]["u"], atol=STATE_ATOL)
    np.testing.assert_allclose(res.final_state["lca"]["a"], ref_state["lca"]["a"], atol=STATE_ATOL)
    np.testing.assert_array_equal(res.activity.counts["lca"], ref["lca"][0])
    assert res["lca.output"].shape == (-(-steps // 3), 1, 16)
    np.testing.assert_allclose(res["lca.output"], ref_out["lca"][::3], atol=STATE_ATOL)


def test_spikes_into_analog_neurons_match_reference(backend):
    rng = np.random.default_rng(7)
    net = Network("mixed")
    net.add(Population("src", 6, IF(tau_s=0.05, v_th=1.0, bias=rng.uniform(5.0, 20.0, 6), refractory_steps=1)))
    net.add(Population("dst", 4, LCANeuron(tau_s=0.1, lam=0.2, threshold="nonneg")))
    net.add(Connection("src", "dst", rng.normal(0.0, 1.0, (4, 6)), delay_steps=1, name="fast"))
    net.add(Connection("src", "dst", rng.normal(0.0, 1.0, (4, 6)), delay_steps=2, name="slow"))
    net.add(Probe("dst", "u"))
    steps, dt = 300, 0.01
    ref, ref_state, _ = reference_run(net, steps, dt)
    res = _run(backend, net, steps, dt)
    assert ref["src"].sum() > 50 and ref["dst"].sum() > 0
    np.testing.assert_array_equal(res.activity.counts["src"], ref["src"][0])
    np.testing.assert_array_equal(res.activity.counts["dst"], ref["dst"][0])
    np.testing.assert_allclose(res.final_state["dst"]["u"], ref_state["dst"]["u"], atol=STATE_ATOL)


def test_convolutional_weights_match_reference(backend):
    from neurosim.conv import ConvWeights

    rng = np.random.default_rng(9)
    net = Network("conv")
    net.add(Population("img", 2 * 6 * 6, IF(tau_s=0.05, v_th=1.0, bias=rng.uniform(5.0, 25.0, 72))))
    net.add(Population("fmap", 3 * 4 * 4, LIF(tau_s=0.02, tau_m_s=0.1, v_th=0.5, reset="zero", refractory_steps=2)))
    net.add(Connection("img", "fmap", ConvWeights(rng.normal(0.3, 0.4, (3, 2, 3, 3)), (2, 6, 6)), delay_steps=2))
    steps, dt = 400, 0.005
    ref, _, _ = reference_run(net, steps, dt)
    res = _run(backend, net, steps, dt)
    assert ref["fmap"].sum() > 50
    np.testing.assert_array_equal(res.activity.counts["fmap"], ref["fmap"][0])


def test_plastic_connection_runs_with_its_current_weights(backend):
    """Learning rules act between runs (neurosim.learning), so a run uses the stored weights."""
    net, plastic = spiking_lca_network(), spiking_lca_network()
    c = plastic.connections[0]
    plastic.connections[0] = Connection(c.pre, c.post, c.weights, learning_rule=object(), name="plastic", gain=c.gain)
    ref, _, _ = reference_run(net, 500, 0.02)
    np.testing.assert_array_equal(_run(backend, plastic, 500, 0.02)["lca.count"], ref["lca"])


def _poisson_network(rate_hz: float, n: int = 200) -> Network:
    net = Network("poisson")
    net.add(Population("p", n, IF(tau_s=2e-3, v_th=0.5, reset="subtract")))
    net.add(PoissonInput("p", np.full(n, rate_hz), weight=0.5))
    net.add(Probe("p", "spikes"))
    return net


def test_poisson_at_probability_one_is_deterministic(backend):
    net = _poisson_network(rate_hz=5000.0, n=5)  # rate * dt = 5 -> a spike every step
    res = _run(backend, net, 40, 1e-3)
    _, _, ref_out = reference_run(net, 40, 1e-3)
    np.testing.assert_array_equal(res["p.spikes"][:, 0], ref_out["p"][:, 0] > 0)
    assert res.activity.counts["p"].sum() > 0


def test_poisson_totals_match_binomial(backend):
    n, steps, dt, rate = 200, 1000, 1e-3, 50.0
    res = _run(backend, _poisson_network(rate, n), steps, dt, seed=11)
    # each input spike moves v by exactly one threshold in total (unit-area kernel, reset by
    # subtraction), so output spikes = input spikes minus at most one per neuron still in flight
    p = rate * dt
    mean, sd = n * steps * p, np.sqrt(n * steps * p * (1 - p))
    total = res.activity.counts["p"].sum()
    assert mean - n - 5 * sd < total < mean + 5 * sd


# -- errors --------------------------------------------------------------------------------------------
def test_brian2_import_failure_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "brian2", None)
    with pytest.raises(BackendUnavailableError, match=r"brian2 cannot be imported.*pip install"):
        simulate(spiking_lca_network(), steps=5, dt_s=0.01, backend="brian2", options={"target": "numpy"})


def test_unavailable_cython_target_is_a_clear_error(monkeypatch):
    from neurosim.backends import brian2_backend

    monkeypatch.setattr(brian2_backend, "_cython_ok", (False, "a test compilation failed"))
    with pytest.raises(BackendUnavailableError, match=r"target 'cython' cannot run.*'target': 'numpy'"):
        simulate(spiking_lca_network(), steps=5, dt_s=0.01, backend="brian2")


def test_bad_options_and_unsupported_networks_raise():
    net = spiking_lca_network()
    with pytest.raises(NetworkError, match="unknown target"):
        simulate(net, steps=5, dt_s=0.01, backend="brian2", options={"target": "gpu"})
    with pytest.raises(NetworkError, match="unknown options"):
        simulate(net, steps=5, dt_s=0.01, backend="brian2", options={"target": "numpy", "threads": 2})
    with pytest.raises(NetworkError, match="unknown signals"):
        simulate(net, steps=5, dt_s=0.01, backend="brian2", options={"target": "numpy"}, signals={"beta": 1.0})
    mixed = Network("mixed")
    mixed.add(Population("a", 3, LCANeuron()))
    mixed.add(Population("s", 3, IF()))
    mixed.add(Connection("a", "s", np.eye(3)))
    with pytest.raises(SimulationError, match="connection 'a->s'.*graded outputs driving spiking"):
        simulate(mixed, steps=5, dt_s=0.01, backend="brian2", options={"target": "numpy"})


def test_brian2_does_not_take_over_logging_or_excepthook(capfd):
    hook = sys.excepthook
    simulate(spiking_lca_network(), steps=20, dt_s=0.02, backend="brian2", options={"target": "numpy"})
    brian_logger = logging.getLogger("brian2")
    assert sys.excepthook is hook
    assert brian_logger.handlers == [] and brian_logger.propagate
    assert capfd.readouterr().err == ""


@pytest.mark.slow
def test_repeated_cpp_standalone_runs_in_one_process():
    net = spiking_lca_network()
    first = simulate(net, steps=500, dt_s=0.02, backend="brian2", options={"target": "cpp_standalone"})
    second = simulate(net, steps=500, dt_s=0.02, backend="brian2", options={"target": "cpp_standalone"})
    after = simulate(net, steps=500, dt_s=0.02, backend="brian2", options={"target": "numpy"})
    np.testing.assert_array_equal(first["lca.count"], second["lca.count"])
    np.testing.assert_array_equal(first["lca.count"], after["lca.count"])


def test_graded_initial_state_agrees_across_backends():
    """An initial u0 of analog neurons: T(u0) counts as emitted at step -1 on every backend."""
    rng = np.random.default_rng(5)
    D = rng.standard_normal((6, 10))
    D /= np.linalg.norm(D, axis=0)
    x = rng.standard_normal(6)
    G = D.T @ D - np.eye(10)
    u0 = rng.standard_normal((2, 10))
    net = ns.Network("warm")
    net.add(ns.Population("u", 10, ns.LCANeuron(lam=0.3, threshold="hard")))
    net.add(ns.Connection("u", "u", -G, delay_steps=1, name="d1"))
    net.add(ns.Connection("u", "u", 0.1 * G, delay_steps=2, name="d2"))
    net.add(ns.ConstantInput("u", np.stack([D.T @ x, -D.T @ x])))
    kw = dict(steps=25, dt_s=0.1, initial_state={"u": {"u": u0}})
    r1 = ns.simulate(net, **kw)
    r2 = ns.simulate(net, backend="brian2", options={"target": "numpy"}, **kw)
    np.testing.assert_allclose(r1.final_state["u"]["u"], r2.final_state["u"]["u"], rtol=1e-9, atol=1e-12)
