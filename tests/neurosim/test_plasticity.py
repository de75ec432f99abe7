"""Learning inside the loop: rules compiled as scalar functions, local by construction; pair STDP
against a textbook reference and Brian2; exact update counts; Lin & Tang in the loop equals the
between-runs path."""
import numba
import numpy as np
import pytest

import neurosim as ns
from neurosim.backends.compiled import CompiledSimulator
from neurosim.errors import LocalityError, NetworkError, SimulationError
from neurosim.learning import LearningRule
from neurosim.plasticity import PairSTDP, Update, compile_update

DT = 1e-3
CAPTURED = np.random.default_rng(0).random((4, 3))  # e.g. the dictionary, or another connection's weights


def forced_spike_network(rule, *, steps=600, n_pre=5, n_post=3, seed=1, rate=0.04, batch=False):
    """Pre and post neurons driven to spike at random steps by array inputs (their spikes do not
    depend on the plastic weights), connected pre -> post through ``rule``."""
    rng = np.random.default_rng(seed)
    pre = np.where(rng.random((steps, n_pre)) < rate, 2.0 / DT, 0.0)  # v jumps by 2 > v_th: a spike that step
    post = np.where(rng.random((steps, n_post)) < rate, 2.0 / DT, 0.0)
    if batch:
        pre = np.stack([pre, pre], axis=1)
    net = ns.Network("stdp")
    net.add(ns.Population("pre", n_pre, ns.IF(tau_s=DT, v_th=1.0, reset="zero")))
    net.add(ns.Population("post", n_post, ns.IF(tau_s=DT, v_th=1.0, reset="zero")))
    net.add(ns.ArrayInput("pre", pre))
    net.add(ns.ArrayInput("post", post))
    w0 = np.random.default_rng(seed + 1).uniform(0.2, 0.8, (n_post, n_pre)) * 1e-3
    net.add(ns.Connection("pre", "post", w0, learning_rule=rule, synapses=np.ones((n_post, n_pre), bool), name="syn"))
    net.add(ns.Probe("pre", "spikes"))
    net.add(ns.Probe("post", "spikes"))
    return net, w0


def textbook_stdp(w0, pre_spikes, post_spikes, rule: PairSTDP):
    """All-to-all pair STDP with traces, in Brian2's event order (pre pathway, then post)."""
    w = w0.copy()
    x, y = np.zeros(w.shape[1]), np.zeros(w.shape[0])
    for s_pre, s_post in zip(pre_spikes, post_spikes):
        x *= np.exp(-DT / rule.tau_pre_s)
        y *= np.exp(-DT / rule.tau_post_s)
        for j in np.flatnonzero(s_pre):
            x[j] += 1.0
            w[:, j] = np.clip(w[:, j] - rule.a_minus * y, rule.w_min, rule.w_max)
        for i in np.flatnonzero(s_post):
            y[i] += 1.0
            w[i, :] = np.clip(w[i, :] + rule.a_plus * x, rule.w_min, rule.w_max)
    return w


RULE = PairSTDP(a_plus=2e-4, a_minus=2.2e-4, tau_pre_s=20e-3, tau_post_s=25e-3, w_min=0.0, w_max=1.5e-3)


def test_pair_stdp_matches_the_textbook_rule_and_counts_every_update():
    net, w0 = forced_spike_network(RULE)
    sim = CompiledSimulator(net, dt_s=DT)
    sim.run(600)
    res = sim.result()
    pre, post = res["pre.spikes"][:, 0], res["post.spikes"][:, 0]
    assert pre.sum() > 50 and post.sum() > 30
    expected = textbook_stdp(w0, pre, post, RULE)
    assert np.abs(expected - w0).max() > 1e-4  # the weights moved
    np.testing.assert_allclose(sim.weights("syn"), expected, rtol=0, atol=1e-15)
    # every update the engine applied, by trigger: one per pre event per synapse of its row, one per
    # post event per synapse of its column -- exactly what the counts give
    act = res.activity
    assert act.learn_triggers == {"syn": ("pre", "post")}
    assert act.learn_updates["syn"] == int(pre.sum()) * 3 + int(post.sum()) * 5
    assert act.learn_updates["syn"] == act.syn_events["syn"] + int(act.counts["post"].sum()) * 5
    assert "syn" not in act.learn_epochs


def test_pair_stdp_matches_brian2():
    """Brian2's classic STDP synapse on the same spike trains (SpikeGeneratorGroups)."""
    from neurosim.backends.brian2_backend import import_brian2

    net, w0 = forced_spike_network(RULE, steps=400)
    sim = CompiledSimulator(net, dt_s=DT)
    sim.run(400)
    res = sim.result()
    pre, post = res["pre.spikes"][:, 0], res["post.spikes"][:, 0]
    b2 = import_brian2()
    saved = b2.prefs["codegen.target"]
    try:
        b2.prefs["codegen.target"] = "numpy"
        t_pre, i_pre = np.nonzero(pre)
        t_post, i_post = np.nonzero(post)
        clock = b2.Clock(dt=DT * b2.second)
        g_pre = b2.SpikeGeneratorGroup(5, i_pre, t_pre * DT * b2.second, clock=clock)
        g_post = b2.SpikeGeneratorGroup(3, i_post, t_post * DT * b2.second, clock=clock)
        syn = b2.Synapses(g_pre, g_post, model="""w : 1
                                                  dapre/dt = -apre / taupre : 1 (event-driven)
                                                  dapost/dt = -apost / taupost : 1 (event-driven)""",
                          on_pre="apre += 1\nw = clip(w - a_minus * apost, wmin, wmax)",
                          on_post="apost += 1\nw = clip(w + a_plus * apre, wmin, wmax)", clock=clock,
                          namespace={"taupre": RULE.tau_pre_s * b2.second, "taupost": RULE.tau_post_s * b2.second,
                                     "a_minus": RULE.a_minus, "a_plus": RULE.a_plus, "wmin": RULE.w_min,
                                     "wmax": RULE.w_max})
        syn.connect()
        syn.w = w0[syn.j[:], syn.i[:]]
        b2.Network(g_pre, g_post, syn).run(400 * DT * b2.second, namespace={})
        w_b2 = np.zeros_like(w0)
        w_b2[syn.j[:], syn.i[:]] = syn.w[:]
    finally:
        b2.prefs["codegen.target"] = saved
    np.testing.assert_allclose(sim.weights("syn"), w_b2, rtol=0, atol=1e-14)


def test_event_rules_need_one_input_stream_and_the_compiled_backend():
    net, _ = forced_spike_network(RULE, batch=True)
    with pytest.raises(NetworkError, match="event-triggered learning needs one input stream.*batch 2"):
        CompiledSimulator(net, dt_s=DT)
    net, _ = forced_spike_network(RULE)
    for backend, opts in (("numpy", {}), ("brian2", {"target": "numpy"})):
        with pytest.raises(SimulationError, match=r"connection 'syn'.*learns on spike events.*backend='compiled'"):
            ns.simulate(net, steps=10, dt_s=DT, backend=backend, options=opts)
    # learning=False runs the stored weights unchanged
    sim = CompiledSimulator(net, dt_s=DT, learning=False)
    sim.run(100)
    assert sim.result().activity.learn_updates == {}


def test_stdp_rule_saves_and_loads(tmp_path):
    from neurosim.io.network import load_network, save_network

    net, _ = forced_spike_network(RULE)
    back = load_network(save_network(net, tmp_path / "stdp.npz"))
    rule = back.connection("syn").learning_rule
    assert isinstance(rule, PairSTDP) and rule.a_minus == RULE.a_minus and rule.tau_post_s == RULE.tau_post_s
    a, b = CompiledSimulator(net, dt_s=DT), CompiledSimulator(back, dt_s=DT)
    a.run(300)
    b.run(300)
    np.testing.assert_array_equal(a.weights("syn"), b.weights("syn"))


# -- locality by construction ---------------------------------------------------------------------
def _rule_with(fn, reads=("post.trace",), constants=()):
    class Custom(LearningRule):
        name = "custom"

        def trace_taus(self):
            return 0.02, 0.02

        def loop_updates(self):
            return [Update("pre", fn, reads, constants)]

    return Custom()


def uses_captured(w, post_trace):
    return w + CAPTURED[0, 1] * post_trace


def sums_captured(w, post_trace):
    return w + np.sum(CAPTURED) * post_trace


def builds_array(w, post_trace):
    row = np.zeros(3)
    row[0] = post_trace
    return w + row[0]


def object_mode(w, post_trace):
    with numba.objmode(total="float64"):
        total = float(CAPTURED.sum())
    return w + total


def python_callback(w, post_trace):
    f = np.frompyfunc(lambda a: a, 1, 1)
    return f(w)


def object_operand(w, post_trace):
    return w + np.array([CAPTURED], dtype=object)[0]


def make_closure():
    matrix = CAPTURED.copy()

    def closes_over_matrix(w, post_trace):
        return w + matrix[1, 2] * post_trace

    return closes_over_matrix


@pytest.mark.parametrize("fn", [uses_captured, sums_captured, builds_array, object_mode, python_callback,
                                object_operand, make_closure()], ids=lambda f: f.__name__)
def test_a_rule_cannot_obtain_a_non_local_value(fn):
    """A rule receives scalars only; compiling it refuses any array it could read -- captured
    from a global or a closure, created, reached through object mode, a Python ufunc callback
    (the old bypass np.frompyfunc) or an object-dtype operand (the other old bypass)."""
    with pytest.raises(LocalityError, match=r"rule 'custom \(syn\)'"):
        CompiledSimulator(forced_spike_network(_rule_with(fn))[0], dt_s=DT)


def test_the_rule_function_sees_only_the_scalars_of_its_synapse():
    seen = []

    def spy(w, post_trace):  # runs as compiled code: it cannot even append to a Python list
        seen.append(w)
        return 0.0

    with pytest.raises(LocalityError, match="does not compile as a function of scalars"):
        CompiledSimulator(forced_spike_network(_rule_with(spy))[0], dt_s=DT)
    assert seen == []


def test_declarations_are_checked():
    with pytest.raises(LocalityError, match="'pre.weight' is not a local quantity of an event rule"):
        Update("pre", lambda w, x: 0.0, ("pre.weight",))
    with pytest.raises(LocalityError, match="not a local quantity"):
        Update("phase:kappa", lambda w, x: 0.0, ("post.other.rate",))
    with pytest.raises(LocalityError, match="threshold update cannot read 'pre.rate'"):
        Update("phase:kappa", lambda t, x: 0.0, ("pre.rate",), target="post.threshold")
    with pytest.raises(LocalityError, match="writes outside"):
        Update("phase:kappa", lambda t: 0.0, (), target="pre.threshold")
    with pytest.raises(NetworkError, match="unknown trigger"):
        Update("every step", lambda w: 0.0)
    with pytest.raises(NetworkError, match="wrong number of arguments.*got 2"):
        compile_update(Update("pre", lambda w, x: 0.0, ("post.trace", "post.v")), name="arity")


def test_a_legal_rule_compiles_to_the_engine_form():
    def hebb(w, pre_trace, post_v, eta):
        return eta * pre_trace * max(post_v, 0.0) - 1e-3 * w * np.exp(-abs(post_v))

    fn = compile_update(Update("post", hebb, ("pre.trace", "post.v"), (0.5,)), name="hebb")
    assert fn.address != 0


# -- Lin & Tang inside the loop ------------------------------------------------------------------
@pytest.mark.parametrize("model,dt,T", [("rate", 0.05, 30.0), ("spiking", 1 / 32, 20.0)])
def test_lin_tang_in_the_loop_equals_the_between_runs_update(model, dt, T):
    from neurosim.builders.dictnet import DictNetRunner, init_params
    from neurosim.builders.dictrules import lin_tang_rules
    from neurosim.estimators.dictlearn import lin_tang_update

    rng = np.random.default_rng(0)
    p0 = init_params(8, 12, rng=rng)
    X = rng.random((3, 8))
    rules = lin_tang_rules(kappa=0.7, eta_d=0.05, lambda2=0.01)
    between = DictNetRunner(p0, batch=3, lam=0.1, model=model, dt_s=dt, phase_time=T, rules=rules, backend="numpy")
    expected = lin_tang_update(p0, between.phases(X), rules, kappa=0.7)
    inside = DictNetRunner(p0, batch=3, lam=0.1, model=model, dt_s=dt, phase_time=T, rules=rules)
    assert inside.in_loop and not between.in_loop
    inside.phases(X)
    got = inside.learned_params()
    for name in ("F", "B", "H", "s"):
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=0, atol=1e-12)
    act = inside.sim.result().activity
    assert act.learn_epochs == {"F": 1, "B": 1, "H": 1}
    assert act.learn_updates == {"F": 96, "B": 96, "H": 132} and act.learn_triggers["H"] == ("phase",)


def test_the_online_stdp_example_learns_and_counts_its_updates():
    import importlib.util

    from tests.helpers import ROOT

    spec = importlib.util.spec_from_file_location("stdp_online", ROOT / "examples" / "stdp_online.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    net = example.build_stdp_network(n_inputs=200, rate_hz=20.0, w_max=0.05, seed=3)
    sim = CompiledSimulator(net, dt_s=example.DT_S, seed=3)
    w0 = np.asarray(sim.weights("plastic")).ravel().copy()
    sim.run(20000)
    w = np.asarray(sim.weights("plastic")).ravel()
    act = sim.result().activity
    assert act.counts["out"].sum() > 20
    assert np.all((w >= 0) & (w <= 0.05)) and w.std() > 3 * w0.std()  # competition spreads the weights
    assert act.learn_updates["plastic"] == act.syn_events["plastic"] + int(act.counts["out"].sum()) * 200
