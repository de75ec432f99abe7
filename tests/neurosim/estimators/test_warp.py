"""WARP-LCA: zero predictor = plain LCA bit for bit, warm-start networks, predictors (finite
differences, closed forms), persistence, spiking warm starts, and the steps-to-energy claim."""
import numpy as np
import pytest

import neurosim as ns
from neurosim.builders.lca import build_analog_lca, build_spiking_lca, decode_spiking_lca, threshold_function
from neurosim.builders.warp import build_warp_lca, build_warp_spiking_lca, spiking_initial_state
from neurosim.data.samples import image_patches, overcomplete_dct
from neurosim.estimators.warp import WarpLCA
from neurosim.estimators.warp_predictors import (
    LinearPredictor,
    LISTAPredictor,
    MLPPredictor,
    make_predictor,
    predictor_from_arrays,
)
from neurosim.solvers.lasso import fista
from neurosim.solvers.lca import analog_lca
from neurosim.solvers.warp import converged_states, energy_trace, equilibrium_state, hard_energy, steps_to_energy


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """The machine is shared: multi-threaded BLAS on small products only thrashes."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 32))
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((12, 16))
    return D, X, 0.6


def test_hard_energy_definition(small):
    D, X, lam = small
    A = np.zeros((X.shape[0], D.shape[1]))
    A[:, 3] = 1.5
    want = 0.5 * np.sum((X - A @ D.T) ** 2, axis=1) + 0.5 * lam ** 2
    np.testing.assert_allclose(hard_energy(D, X, A, lam), want, rtol=1e-13)


def test_zero_predictor_is_plain_lca_bit_for_bit(small):
    D, X, lam = small
    model = WarpLCA(D, lam, predictor="zero", steps=300).fit(X)
    plain = analog_lca(D, X, lam, threshold="hard", steps=300)
    assert np.array_equal(model.transform(X), plain)
    assert np.array_equal(model.transform(X, warm=False), plain)
    tw, aw = model.trace(X)
    tc, ac = energy_trace(D, X, lam, steps=300)
    assert np.array_equal(tw, tc) and np.array_equal(aw, plain)
    # as a network: a zero start adds nothing, the run is the plain analog-LCA network's
    net, init = model.build_network(X, name="lca")
    assert init == {} and [i.name for i in net.inputs] == ["lca.drive"]
    ref = ns.simulate(build_analog_lca(D, X, lam, threshold="hard"), steps=200, dt_s=0.1)
    got = ns.simulate(net, steps=200, dt_s=0.1, initial_state=init)
    assert np.array_equal(got.final_state["lca"]["u"], ref.final_state["lca"]["u"])


@pytest.mark.parametrize("mode", ["state", "pulse"])
def test_warm_network_follows_direct_solver(small, mode):
    D, X, lam = small
    u0 = np.random.default_rng(3).normal(0.0, 1.0, (X.shape[0], D.shape[1]))
    net, init = build_warp_lca(D, X, lam, u0, mode=mode, dt_over_tau=0.1)
    assert (init != {}) == (mode == "state")
    res = ns.simulate(net, steps=150, dt_s=0.1, initial_state=init)
    ref = analog_lca(D, X, lam, threshold="hard", steps=150, u0=u0)
    np.testing.assert_allclose(res.final_state["warp"]["a"], ref, atol=1e-10)


def test_any_start_converges_to_a_fixed_point():
    rng = np.random.default_rng(7)
    D = rng.standard_normal((24, 32))
    D /= np.linalg.norm(D, axis=0)
    X, lam = rng.standard_normal((12, 24)), 1.0
    for seed in range(4):
        u0 = np.random.default_rng(seed).normal(0.0, 2.0, (X.shape[0], D.shape[1]))
        A = analog_lca(D, X, lam, threshold="hard", steps=3000, u0=u0)
        U = equilibrium_state(D, X, A)  # at a fixed point u = b - G a and a = H(u)
        np.testing.assert_allclose(threshold_function(U, np.full(D.shape[1], lam), "hard"), A, atol=1e-7)


def test_converged_states_are_fixed_points_and_soft_start_is_lower(small):
    D, X, lam = small
    Uc, Ac = converged_states(D, X, lam, init="cold", steps=3000)
    Us, As = converged_states(D, X, lam, init="soft", steps=3000)
    for U, A in ((Uc, Ac), (Us, As)):
        np.testing.assert_allclose(threshold_function(U, np.full(D.shape[1], lam), "hard"), A, atol=1e-8)
    assert hard_energy(D, X, As, lam).mean() <= hard_energy(D, X, Ac, lam).mean() + 1e-12


def test_linear_predictor_recovers_a_linear_map():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 6))
    W, c = rng.standard_normal((6, 4)), rng.standard_normal(4)
    p = LinearPredictor(reg=0.0).fit(X, X @ W + c)
    np.testing.assert_allclose(p.W, W, atol=1e-10)
    np.testing.assert_allclose(p.c, c, atol=1e-10)


@pytest.mark.parametrize("kind", ["mlp", "lista"])
def test_backprop_matches_finite_differences(kind):
    rng = np.random.default_rng(2)
    D = rng.standard_normal((5, 7))
    D /= np.linalg.norm(D, axis=0)
    X, Y = rng.standard_normal((9, 5)), rng.standard_normal((9, 7))
    p = MLPPredictor(hidden=6, epochs=1) if kind == "mlp" else LISTAPredictor(layers=2, lam_init=0.1, epochs=1)
    p.fit(X, Y, dictionary=D)  # initialises (and slightly trains) the parameters
    _, grads = p.loss_grad(X, Y)
    eps = 1e-6
    for q, g in zip(p.p, grads):
        for idx in list(np.ndindex(q.shape))[:: max(1, q.size // 12)]:
            old = q[idx]
            q[idx] = old + eps
            lp, _ = p.loss_grad(X, Y)
            q[idx] = old - eps
            lm, _ = p.loss_grad(X, Y)
            q[idx] = old
            assert abs((lp - lm) / (2 * eps) - g[idx]) < 1e-6 * max(1.0, abs(g[idx]))


def test_lista_learns_lasso_codes():
    rng = np.random.default_rng(5)
    D = rng.standard_normal((20, 40))
    D /= np.linalg.norm(D, axis=0)
    Z = np.zeros((3000, 40))
    for z in Z:
        z[rng.choice(40, 3, replace=False)] = rng.uniform(1, 2, 3) * rng.choice([-1, 1], 3)
    X = Z @ D.T
    A = fista(D, X, 0.1, tol=1e-8)
    p = LISTAPredictor(layers=2, lam_init=0.1, epochs=15).fit(X[:2500], A[:2500], dictionary=D)
    init = LISTAPredictor(layers=2, lam_init=0.1, epochs=1, lr=1e-12).fit(X[:2500], A[:2500], dictionary=D)
    err = np.mean((p.predict(X[2500:]) - A[2500:]) ** 2)
    assert err < 0.5 * np.mean((init.predict(X[2500:]) - A[2500:]) ** 2)


def test_predictor_errors_and_registry():
    with pytest.raises(ns.NetworkError, match="unknown predictor"):
        make_predictor("cnn")
    with pytest.raises(ns.NetworkError, match="needs the dictionary"):
        LISTAPredictor().fit(np.ones((4, 3)), np.ones((4, 5)))
    with pytest.raises(ns.NetworkError, match="not fitted"):
        LinearPredictor().predict(np.ones((2, 3)))
    p = LinearPredictor().fit(np.eye(3), np.ones((3, 2)))
    with pytest.raises(ns.NetworkError, match="wrong width"):
        p.predict(np.ones((2, 4)))
    q = predictor_from_arrays(p.to_arrays())
    np.testing.assert_array_equal(q.predict(np.eye(3)), p.predict(np.eye(3)))


def test_save_load_roundtrip_and_errors(tmp_path, small):
    D, X, lam = small
    model = WarpLCA(D, lam, predictor="mlp", predictor_options=dict(hidden=8, epochs=2), target_steps=100).fit(X)
    path = tmp_path / "warp.npz"
    model.save(path)
    back = WarpLCA.load(path)
    assert np.array_equal(back.initial_state(X), model.initial_state(X))
    assert np.array_equal(back.transform(X, steps=50), model.transform(X, steps=50))
    assert back.config() == model.config()
    with pytest.raises(ns.InputError, match="file exists"):
        model.save(path)
    model.save(path, overwrite=True)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ns.InputError, match="not a .npz archive"):
        WarpLCA.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ns.InputError, match="not a WARP-LCA model"):
        WarpLCA.load(tmp_path / "other.npz")
    with pytest.raises(ns.InputError, match="no such file"):
        WarpLCA.load(tmp_path / "missing.npz")


def test_spiking_warm_start():
    rng = np.random.default_rng(6)
    D = rng.standard_normal((12, 20))
    D /= np.linalg.norm(D, axis=0)
    X = np.abs(rng.standard_normal((6, 12)))
    lam = 0.2
    A = fista(D, X, lam, nonneg=True, tol=1e-10)
    # zero codes: the plain spiking LCA, bit for bit
    net0, init0 = build_warp_spiking_lca(D, X, lam, np.zeros_like(A))
    assert init0 == {}
    plain = ns.simulate(build_spiking_lca(D, X, lam), steps=300, dt_s=0.1)
    assert np.array_equal(ns.simulate(net0, steps=300, dt_s=0.1)["slca.count"], plain["slca.count"])
    # the warm state is the steady current of the predicted rates
    st = spiking_initial_state(D, A)
    W = -(D.T @ D)
    np.fill_diagonal(W, 0.0)
    np.testing.assert_allclose(st["i"], A @ W.T)
    # over a short window with no transient skipped, the warm start decodes far better
    errs = []
    for codes in (np.zeros_like(A), A):
        net, init = build_warp_spiking_lca(D, X, lam, codes)
        res = ns.simulate(net, steps=400, dt_s=0.1, initial_state=init)
        errs.append(np.abs(decode_spiking_lca(res, n_atoms=20, nonneg=True) - A).mean())
    assert errs[1] < 0.5 * errs[0]


def test_warm_start_is_faster_on_patches_quick():
    """Quick version of the must-show on natural-image patches (fixed DCT dictionary)."""
    D = overcomplete_dct(8, 128)
    Xtr, Xte = image_patches(8, 3000, seed=1), image_patches(8, 100, seed=2)
    model = WarpLCA(D, 1.0, predictor="lista", predictor_options=dict(epochs=10), target_steps=200).fit(Xtr)
    cold, a_cold = model.trace(Xte, warm=False, steps=400)
    warm, a_warm = model.trace(Xte, steps=400)
    k = steps_to_energy(warm, cold[-1])
    assert k is not None and k <= 400 / 2
    assert warm[-1] <= cold[-1]


@pytest.mark.slow
def test_warp_must_show_learned_dictionary():
    """>= 10x fewer steps to the cold start's final energy, energy and l0 no worse (held-out patches,
    dictionary learned with scikit-learn)."""
    from sklearn.decomposition import MiniBatchDictionaryLearning

    dl = MiniBatchDictionaryLearning(n_components=128, alpha=1.0, batch_size=256, max_iter=5, random_state=0)
    D = dl.fit(image_patches(8, 10000, seed=0)).components_.T
    D /= np.linalg.norm(D, axis=0)
    model = WarpLCA(D, 1.0, predictor="lista").fit(image_patches(8, 20000, seed=1))
    Xte = image_patches(8, 300, seed=2)
    cold, a_cold = model.trace(Xte, warm=False, steps=1000)
    warm, a_warm = model.trace(Xte, steps=1000)
    k = steps_to_energy(warm, cold[-1])
    assert k is not None and 1000 / k >= 10
    assert warm[-1] <= cold[-1]
    assert (a_warm != 0).sum(axis=1).mean() <= (a_cold != 0).sum(axis=1).mean()


# -- issue 16, family 5: a damaged model is refused naming the file and the entry -----------------
@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    rng = np.random.default_rng(0)
    D = np.linalg.qr(rng.normal(size=(16, 16)))[0][:, :12]
    X = rng.normal(size=(40, 16))
    out = {}
    for kind, opts in (("lista", {"epochs": 2, "layers": 1}), ("linear", {}), ("mlp", {"epochs": 2, "hidden": 8})):
        m = WarpLCA(D, 0.5, predictor=kind, predictor_options=opts).fit(X)
        out[kind] = m.save(tmp_path_factory.mktemp(kind) / "m.npz")
    return out


def _damaged(src, dst, **changes):
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(dst, **arrays)
    return dst


@pytest.mark.parametrize("kind, changes, match", [
    ("lista", {"predictor.p0": None}, r"predictor parameters: expected 3 arrays p0..p2"),
    ("lista", {"predictor.p0": np.zeros((3, 3))}, r"predictor parameter p0 has shape \(3, 3\), expected \(16, 12\)"),
    ("lista", {"predictor.p1": np.zeros(())}, r"predictor parameter p1 has shape \(\), expected \(12, 12\)"),
    ("mlp", {"predictor.p3": np.array([np.nan] * 12)}, r"predictor parameter p3 is not finite"),
    ("mlp", {"predictor.p4": np.zeros(3)}, r"predictor parameters: expected 4 arrays"),
    ("linear", {"predictor.p1": np.zeros(0)}, r"predictor parameter p1 has shape \(0,\), expected \(12,\)"),
    ("linear", {"predictor.hyper": np.array("[]")}, r"predictor hyper-parameters must be a JSON object"),
    ("mlp", {"predictor.hyper": np.array('{"hidden": "x"}')}, r"hidden must be a positive integer"),
    ("mlp", {"predictor.hyper": np.array('{"lr": "x"}')}, r"invalid options"),
    ("mlp", {"predictor.hyper": np.array('{"hidden": 8, "epochs": Infinity}')}, r"without NaN or Infinity"),
    ("linear", {"predictor.kind": np.array(["linear"])}, r"entry 'predictor.kind': must be text"),
    ("linear", {"predictor.shape": np.array([16])}, r"entry 'predictor.shape': must be two whole numbers"),
    ("linear", {"version": np.array("[]")}, r"entry 'version': must be one whole number"),
    ("linear", {"version": np.array(np.nan)}, r"entry 'version': must be one whole number"),
    ("linear", {"config": np.array("{")}, r"entry 'config': not valid JSON"),
    ("linear", {"config": np.array('{"steps": -3}')}, r"invalid settings"),
    ("linear", {"config": np.array('{"bogus": 1}')}, r"entry 'config': unknown setting 'bogus'"),
    ("linear", {"dictionary": np.zeros((16, 12))}, r"entry 'dictionary'.*all-zero atoms"),
    ("linear", {"lam": np.array([1 + 1j])}, r"entry 'lam'"),
], ids=lambda v: str(v)[:30])
def test_damaged_models_are_refused(saved_models, tmp_path, kind, changes, match):
    """A damaged model raised KeyError 'p0', unpack errors or matmul shape errors, at load or at use."""
    p = _damaged(saved_models[kind], tmp_path / "bad.npz", **changes)
    with pytest.raises(ns.InputError, match=r"WARP model '.*bad.npz'.*" + match):
        WarpLCA.load(p)


def test_a_loaded_model_predicts(saved_models):
    for p in saved_models.values():
        m = WarpLCA.load(p)
        assert m.transform(np.ones((2, 16)), steps=3).shape == (2, 12)
