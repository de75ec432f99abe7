"""Lin & Tang's network: rate model fixed points, Theorem 3 identities, spiking model, IR layout."""
import numpy as np
import pytest

from neurosim.builders.dictnet import DictNetParams, DictNetRunner, build_dictnet, consistency, init_params, symmetry
from neurosim.builders.dictrules import FeedbackRule, FeedforwardRule, LateralRule, lin_tang_rules
from neurosim.data.planted import planted_nonneg
from neurosim.errors import NetworkError
from neurosim.learning import apply_rule, connection_stats
from neurosim.neurons import LIF, LCANeuron
from neurosim.solvers.dictnet_rate import rate_fixed_point, rate_phase_stats, solve_lcp
from neurosim.solvers.lasso import fista, kkt_residual

KAPPA, LAM = 0.7, 0.1


def problem(eps=0.0, batch=3, seed=0):
    """A planted non-negative problem (M=16, N=32); H = FB + eps * U[0,1] on FB's support."""
    pl = planted_nonneg(16, 32, batch, seed=seed, density=0.3, k=(3, 3))
    p = DictNetParams.from_dictionary(pl.D)
    if eps:
        rng = np.random.default_rng(seed + 1)
        p.H = p.H + eps * rng.random(p.H.shape) * (p.H > 0)
    return p, pl.X


class _GH(LateralRule):
    """Exposes g_H as computed by the lateral rule from local statistics only."""

    def update(self, ctx):
        return {"weight": ctx.batch_mean(self.g_h(ctx) + 0.0 * ctx["weight"])}


def g_h_local(stats, p, row=0):
    one = {ph: {pop: {k: v[row:row + 1] for k, v in s.items()} for pop, s in st.items()} for ph, st in stats.items()}
    post, pre = connection_stats(one, pre="coding", post="coding", weights=p.lateral)
    return apply_rule(_GH(kappa=KAPPA), weights=p.lateral, post_stats=post, pre_stats=pre,
                      post_params={"threshold": p.theta})["weight"][:, 0]


def rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ---------------------------------------------------------------------------------------------
def test_lcp_solver_matches_fista_on_the_nonneg_lasso():
    p, X = problem(batch=5)
    fp = rate_fixed_point(p, X, lam=LAM, gamma=0.0, tol=1e-10)
    ref = fista(p.B, X, LAM, nonneg=True, tol=1e-11)
    np.testing.assert_allclose(fp["a"], ref, atol=1e-7)
    assert np.all(kkt_residual(p.B, X, fp["a"], LAM * p.s, nonneg=True) < 1e-8)


def test_lcp_solver_on_asymmetric_matrix():
    rng = np.random.default_rng(3)
    G = rng.standard_normal((20, 20))
    M = G @ G.T / 20 + np.eye(20) + 0.2 * rng.standard_normal((20, 20))  # positive definite, not symmetric
    Q = rng.standard_normal((4, 20))
    A, E, _ = solve_lcp(M, Q, tol=1e-11)
    assert np.all(A >= 0) and np.all(E <= 1e-9)
    assert np.max(np.abs(A * E)) < 1e-9
    np.testing.assert_allclose(E, Q - A @ M.T, atol=1e-12)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_rate_network_agrees_with_fixed_point_solver(eps):
    p, X = problem(eps)
    fast = rate_phase_stats(p, X, lam=LAM, kappa=KAPPA, tol=1e-10)
    net = DictNetRunner(p, batch=len(X), lam=LAM, model="rate", kappa=KAPPA, dt_s=0.05, phase_time=600).phases(X)
    for phase in ("0", "kappa"):
        for pop in ("input", "coding"):
            for stat in ("rate", "mean_current"):
                np.testing.assert_allclose(net[phase][pop][stat], fast[phase][pop][stat], atol=1e-6,
                                           err_msg=f"{phase} {pop} {stat}")


def test_rate_model_code_independent_of_gamma_when_H_equals_FB():
    p, X = problem()
    ref = fista(p.B, X, LAM * p.s, nonneg=True, tol=1e-11)  # weighted non-negative LASSO, independent solver
    for gamma in (0.3, 0.7, 0.9):
        T = 300 if gamma < 0.9 else 900  # convergence slows like 1/(1 - gamma)
        runner = DictNetRunner(p, batch=len(X), lam=LAM, model="rate", kappa=gamma, dt_s=0.05, phase_time=T)
        st = runner.phases(X)
        np.testing.assert_allclose(st["0"]["coding"]["rate"], ref, atol=1e-6)
        np.testing.assert_allclose(st["kappa"]["coding"]["rate"], ref, atol=1e-6, err_msg=f"gamma={gamma}")
        fp = rate_fixed_point(p, X, lam=LAM, gamma=gamma, tol=1e-10)
        np.testing.assert_allclose(fp["a"], ref, atol=1e-7)


def test_a0_satisfies_weighted_lasso_kkt():
    p, X = problem()
    p.s = np.linspace(0.5, 1.5, p.shape[1])
    a0 = rate_fixed_point(p, X, lam=LAM, gamma=0.0, tol=1e-11)["a"]
    c = (X - a0 @ p.B.T) @ p.B  # residual correlation D^T (x - D a)
    on = a0 > 0
    np.testing.assert_allclose(c[on], (LAM * p.s * np.ones_like(a0))[on], atol=1e-9)
    assert np.all(c[~on] <= (LAM * p.s * np.ones_like(a0))[~on] + 1e-9)


@pytest.mark.parametrize("source", ["fixed_point", "network"])
def test_theorem3_identities_rate_model(source):
    p, X = problem(eps=0.1)
    assert consistency(p) < 0.99  # H really differs from FB
    if source == "fixed_point":
        st = rate_phase_stats(p, X, lam=LAM, kappa=KAPPA, tol=1e-11)
        tol = 1e-8
    else:
        st = DictNetRunner(p, batch=len(X), lam=LAM, model="rate", kappa=KAPPA, dt_s=0.05, phase_time=600).phases(X)
        tol = 1e-6
    a_k = st["kappa"]["coding"]["rate"]
    g_d = st["kappa"]["input"]["rate"] - st["0"]["input"]["rate"]
    assert rel(g_d, KAPPA * (a_k @ p.B.T - X)) < tol
    for row in range(len(X)):
        target = KAPPA * (p.H - p.F @ p.B) @ a_k[row]
        assert rel(g_h_local(st, p, row), target) < tol


def spiking_identity_errors(T, *, eps=0.1, dt=1 / 32):
    p, X = problem(eps=eps, batch=1)
    st = DictNetRunner(p, batch=1, lam=LAM, model="spiking", kappa=KAPPA, dt_s=dt, phase_time=T,
                       settle_fraction=0.5).phases(X)
    a_k = st["kappa"]["coding"]["rate"]
    g_d = st["kappa"]["input"]["rate"] - st["0"]["input"]["rate"]
    e_d = rel(g_d, KAPPA * (a_k @ p.B.T - X))
    e_h = rel(g_h_local(st, p), KAPPA * (p.H - p.F @ p.B) @ a_k[0])
    ref = rate_phase_stats(p, X, lam=LAM, kappa=KAPPA, tol=1e-11)
    e_a = rel(a_k, ref["kappa"]["coding"]["rate"])
    return e_d, e_h, e_a


def test_spiking_identities_within_5_percent_and_shrinking():
    errs = [spiking_identity_errors(T) for T in (25, 200, 1600)]
    for k in range(3):
        curve = [e[k] for e in errs]
        assert curve[0] > curve[1] > curve[2], curve
    assert max(errs[-1]) < 0.05, errs[-1]


def test_spiking_model_ir_layout_and_plastic_synapses():
    p, X = problem()
    rules = lin_tang_rules()
    net = build_dictnet(p, X, lam=LAM, model="spiking", rules=rules)
    conns = {c.name: c for c in net.connections}
    assert set(conns) == {"F", "B", "H"}
    assert isinstance(conns["F"].learning_rule, FeedforwardRule)
    assert isinstance(conns["B"].learning_rule, FeedbackRule)
    assert isinstance(conns["H"].learning_rule, LateralRule)
    assert all(c.plastic for c in net.connections)
    assert conns["B"].gain.signal == "gamma" and conns["F"].gain is None
    np.testing.assert_array_equal(np.diag(conns["H"].weights), 0.0)
    np.testing.assert_allclose(conns["H"].weights, -(p.H - np.diag(np.diag(p.H))))
    cod = net.population("coding").model
    assert isinstance(cod, LIF) and cod.reset == "subtract" and not cod.leaky
    np.testing.assert_allclose(cod.v_th, p.theta)
    rate_net = build_dictnet(p, X, lam=LAM, model="rate")
    m = rate_net.population("coding").model
    assert isinstance(m, LCANeuron) and m.threshold == "nonneg" and m.lam == 0.0
    np.testing.assert_allclose(m.gain, p.theta)


def test_build_rejects_negative_inputs_and_bad_params():
    p, X = problem()
    with pytest.raises(NetworkError, match="non-negative"):
        build_dictnet(p, -X, lam=LAM)
    with pytest.raises(NetworkError, match="unknown model"):
        build_dictnet(p, X, lam=LAM, model="quantum")
    with pytest.raises(NetworkError, match="thresholds"):
        DictNetParams(p.F, p.B, p.H - np.diag(np.diag(p.H)), p.s)


def test_metrics_and_init():
    rng = np.random.default_rng(0)
    p = init_params(8, 12, rng=rng)
    assert consistency(p) == pytest.approx(1.0) and symmetry(p) == pytest.approx(1.0)
    np.testing.assert_allclose(np.linalg.norm(p.B, axis=0), 1.0)
    q = init_params(8, 12, rng=rng, init="asymmetric")
    assert symmetry(q) < 0.95 and consistency(q) < 0.9
    np.testing.assert_array_equal(np.diag(q.H), 1.5)


def test_mapper_counts_the_plastic_synapses():
    """The learned network's F, B and lateral H synapses reach the mapper as plastic synapses."""
    from mapper.graph import build_graph
    from neurosim.activity import ActivityProfile

    p = init_params(16, 24, rng=np.random.default_rng(0))
    net = build_dictnet(p, np.zeros(16), lam=LAM, model="spiking", rules=lin_tang_rules())
    graph = build_graph(net, ActivityProfile.assumed(net, 0.05))
    assert set(graph.plastic_connections) == {"F", "B", "H"}
    assert int(graph.out_nplastic.sum()) == 2 * 16 * 24 + 24 * 23 == net.n_synapses
