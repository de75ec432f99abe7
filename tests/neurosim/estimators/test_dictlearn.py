"""The contrastive learning loop (Algorithm 1), its estimator and the SGD baseline."""
import numpy as np
import pytest

from neurosim.builders.dictnet import DictNetParams, consistency, init_params
from neurosim.builders.dictrules import lin_tang_rules
from neurosim.data.planted import planted_nonneg, recovery
from neurosim.errors import NetworkError, SimulationError
from neurosim.estimators.dictlearn import LocalDictionaryLearning, TrainState, lin_tang_update
from neurosim.estimators.sgd_dict import SGDDictionaryLearning
from neurosim.solvers.dictnet_rate import rate_phase_stats


def random_stats(M, N, batch, rng):
    """Arbitrary positive phase statistics (the update algebra does not depend on where they come from)."""
    def pop(n):
        return {"rate": rng.random((batch, n)), "mean_current": rng.standard_normal((batch, n))}
    return {ph: {"input": pop(M), "coding": pop(N)} for ph in ("0", "kappa")}


def test_symmetry_decays_by_exactly_one_minus_eta_lambda2():
    rng = np.random.default_rng(0)
    M, N = 10, 14
    p = init_params(M, N, rng=rng, init="asymmetric")
    p = DictNetParams(p.F + 5.0, p.B + 5.0, p.H + 5.0, p.s)  # far from 0: projection never active
    eta, l2 = 0.01, 0.3
    rules = lin_tang_rules(kappa=0.7, eta_d=eta, lambda2=l2)
    norms = [np.linalg.norm(p.F.T - p.B)]
    for _ in range(6):
        p = lin_tang_update(p, random_stats(M, N, 4, rng), rules, kappa=0.7)
        assert p.F.min() > 0 and p.B.min() > 0
        norms.append(np.linalg.norm(p.F.T - p.B))
    np.testing.assert_allclose(np.array(norms[1:]) / np.array(norms[:-1]), 1.0 - eta * l2, rtol=1e-12)


def test_symmetry_decay_in_training_without_projection():
    """Asymmetric start on planted data; with the projection off ||F^T - B|| follows alpha^p exactly."""
    pl = planted_nonneg(12, 16, 40, seed=1, density=0.4)
    est = LocalDictionaryLearning(16, lam=0.1, eta_d=0.002, lambda2=0.5, batch_size=4, n_samples=40, init="asymmetric",
                                  project=False, eta_h_ratio=1.0, seed=2)
    state = est.initial_state(pl.X)
    e0 = np.linalg.norm(state.params.F.T - state.params.B)
    est.fit(pl.X, state=state)
    assert est.state_.samples_seen == 40
    np.testing.assert_allclose(np.linalg.norm(est.params_.F.T - est.params_.B), e0 * (1 - 0.002 * 0.5) ** 10, rtol=1e-10)


def test_update_from_ideal_weights_moves_toward_reconstruction():
    """One F/B step is the (scaled) SGD step of eq. 7 and keeps F^T = B."""
    pl = planted_nonneg(16, 24, 8, seed=3, density=0.3)
    rng = np.random.default_rng(4)
    p = init_params(16, 24, rng=rng)
    st = rate_phase_stats(p, pl.X, lam=0.1, kappa=0.7, tol=1e-10)
    eta = 0.05
    new = lin_tang_update(p, st, lin_tang_rules(kappa=0.7, eta_d=eta, project=False), kappa=0.7)
    a = st["kappa"]["coding"]["rate"]
    sgd = p.B - eta * (a @ p.B.T - pl.X).T @ a / len(pl.X)
    np.testing.assert_allclose(new.B, sgd, atol=1e-9)
    np.testing.assert_allclose(new.F.T, new.B, atol=1e-12)
    np.testing.assert_allclose(new.s, np.diag(new.H))


def test_minibatch_update_is_the_mean_of_online_updates():
    """Averaging per synapse over a batch: a batch of copies of one input gives the online update,
    and a batch of two inputs gives the mean of their two online increments."""
    pl = planted_nonneg(12, 16, 2, seed=13, density=0.4)
    p = init_params(12, 16, rng=np.random.default_rng(1))
    p.H = p.H + 0.05  # H != FB so every term of the rule is exercised
    rules = lin_tang_rules(kappa=0.7, eta_d=0.05, lambda2=0.01, project=False)
    upd = {}
    for key, X in {"x0": pl.X[:1], "x1": pl.X[1:], "copies": np.repeat(pl.X[:1], 3, axis=0), "both": pl.X}.items():
        upd[key] = lin_tang_update(p, rate_phase_stats(p, X, lam=0.1, kappa=0.7, tol=1e-11), rules, kappa=0.7)
    for name in ("F", "B", "H"):
        np.testing.assert_allclose(getattr(upd["copies"], name), getattr(upd["x0"], name), atol=1e-12)
        mean = (getattr(upd["x0"], name) + getattr(upd["x1"], name)) / 2
        np.testing.assert_allclose(getattr(upd["both"], name), mean, atol=1e-12)


def test_thresholds_follow_the_rule_and_consistency_stays_high():
    pl = planted_nonneg(16, 24, 400, seed=5, density=0.3)
    est = LocalDictionaryLearning(24, lam=0.1, eta_d=0.02, lambda2=0.002, batch_size=8, n_samples=400, seed=0)
    est.fit(pl.X)
    p = est.params_
    assert not np.allclose(np.diag(p.H), 1.0)  # thresholds were learned
    np.testing.assert_allclose(p.s, np.diag(p.H))
    assert consistency(p) > 0.9
    assert p.F.min() >= 0 and p.B.min() >= 0 and p.H.min() >= 0


@pytest.mark.parametrize("model,solver", [("rate", "fixed_point"), ("rate", "network"), ("spiking", "network")])
def test_estimator_api_and_history(model, solver):
    pl = planted_nonneg(12, 16, 60, seed=6, density=0.4)
    te = planted_nonneg(12, 16, 20, seed=7, D=pl.D)
    kw = dict(phase_time=10.0, dt_s=1 / 16) if model == "spiking" else dict(phase_time=60.0, dt_s=0.1)
    est = LocalDictionaryLearning(16, model=model, solver=solver, lam=0.1, eta_d=0.02, batch_size=6, n_samples=60,
                                  eval_every=30, lambda2=0.001, seed=0, **kw)
    assert est.fit(pl.X, X_test=te.X) is est
    assert est.components_.shape == (16, 12)
    assert est.history_["samples"] == [0.0, 30.0, 60.0]
    assert all(len(v) == 3 for v in est.history_.values())
    codes = est.transform(te.X)
    assert codes.shape == (20, 16) and codes.min() >= 0
    assert est.history_["test_objective"][-1] < est.history_["test_objective"][0]


def test_estimator_rejects_bad_input():
    with pytest.raises(NetworkError, match="non-negative"):
        LocalDictionaryLearning(4).fit(-np.ones((3, 5)))
    with pytest.raises(NetworkError, match="model"):
        LocalDictionaryLearning(4, model="analog").fit(np.ones((3, 5)))
    with pytest.raises(NetworkError, match="kappa"):
        LocalDictionaryLearning(4, kappa=1.0).fit(np.ones((3, 5)))


def test_resume_from_state_gives_identical_result():
    pl = planted_nonneg(12, 16, 50, seed=8, density=0.4)
    kw = dict(lam=0.1, eta_d=0.02, batch_size=4, n_epochs=2.0, lambda2=0.001, seed=3)
    full = LocalDictionaryLearning(16, **kw).fit(pl.X)
    part = LocalDictionaryLearning(16, **kw)
    part.fit(pl.X, callback=lambda s: s.samples_seen >= 64)  # stop mid-second-epoch
    arrays = part.state_.to_arrays()
    resumed = LocalDictionaryLearning(16, **kw).fit(pl.X, state=TrainState.from_arrays(arrays))
    np.testing.assert_array_equal(resumed.params_.B, full.params_.B)
    np.testing.assert_array_equal(resumed.params_.H, full.params_.H)


@pytest.mark.parametrize("learner", [LocalDictionaryLearning, SGDDictionaryLearning])
def test_training_runs_blas_on_one_thread_and_restores_it(learner):
    """Mini-batch products are too small to share: BLAS threads only cost time when another
    process holds a core (3x on the patches benchmark), so training limits BLAS to one thread
    while it runs and gives the caller's setting back."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return sorted({p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"})

    seen = []
    pl = planted_nonneg(12, 16, 40, seed=9, density=0.4)
    est = learner(16, lam=0.1, batch_size=8, n_samples=16, seed=0)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # the suite runs on one (conftest)
        before = blas_threads()
        est.fit(pl.X, callback=lambda s: seen.append(blas_threads()) and False)
        after = blas_threads()
    assert before == [2]
    assert seen and all(t == [1] for t in seen), seen
    assert after == before


def _backoff_run(monkeypatch, auto_eta_h, **fit):
    """A small planted run whose automatic rate is ``auto_eta_h / 0.75`` times the real one."""
    import neurosim.estimators.dictlearn as dl

    monkeypatch.setattr(dl, "AUTO_ETA_H", auto_eta_h)
    pl = planted_nonneg(12, 16, 200, seed=8, density=0.4)
    est = LocalDictionaryLearning(16, lam=0.1, batch_size=8, n_epochs=4.0, seed=3)
    return est, pl.X, est.fit(pl.X, **fit)


def test_an_automatic_rate_that_diverges_is_halved_and_the_epoch_rerun(monkeypatch, caplog):
    """8x the automatic rate diverges: the run goes back to the start of the epoch at half the
    rate (twice here), says so, and finishes; a run resumed after the back-offs equals it."""
    import logging

    with caplog.at_level(logging.WARNING, logger="neurosim.estimators.dictlearn"):
        est, X, _ = _backoff_run(monkeypatch, 6.0)
    eta_auto = est.resolve_rates(X)[0]
    assert est.state_.rate_scale == 0.25 and est.eta_d_ == pytest.approx(eta_auto * 0.25)
    assert est.state_.samples_seen == 800
    assert caplog.text.count("the automatic rate is halved") == 2
    assert np.all(np.isfinite(est.params_.B)) and est.fixed_point_activity_ is not None

    part, _, _ = _backoff_run(monkeypatch, 6.0, callback=lambda s: s.rate_scale == 0.25 and s.samples_seen >= 600)
    assert part.state_.samples_seen < 800
    resumed, _, _ = _backoff_run(monkeypatch, 6.0, state=TrainState.from_arrays(part.state_.to_arrays()))
    np.testing.assert_array_equal(resumed.params_.B, est.params_.B)
    np.testing.assert_array_equal(resumed.params_.H, est.params_.H)


def test_a_divergence_beyond_the_back_offs_or_at_a_given_rate_is_raised(monkeypatch):
    with pytest.raises(SimulationError, match="halved 4 times"):
        _backoff_run(monkeypatch, 48.0)
    pl = planted_nonneg(12, 16, 200, seed=8, density=0.4)
    with pytest.raises(SimulationError, match="diverge"):  # the user's own rate is not changed behind their back
        LocalDictionaryLearning(16, lam=0.1, batch_size=8, n_epochs=4.0, seed=3, eta_d=0.16).fit(pl.X)


def test_sgd_baseline_keeps_unit_nonneg_atoms_and_improves():
    pl = planted_nonneg(16, 24, 600, seed=9, density=0.3)
    te = planted_nonneg(16, 24, 100, seed=10, D=pl.D)
    sgd = SGDDictionaryLearning(24, lam=0.1, eta=0.1, batch_size=10, n_samples=600, eval_every=300, seed=0)
    sgd.fit(pl.X, X_test=te.X)
    D = sgd.components_.T
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0)
    assert D.min() >= 0
    h = sgd.history_["test_objective"]
    assert h[-1] < 0.8 * h[0]


def test_sgd_and_local_start_from_the_same_dictionary():
    pl = planted_nonneg(8, 10, 5, seed=11)
    local = LocalDictionaryLearning(10, seed=5).initial_state(pl.X).params.B
    sgd = SGDDictionaryLearning(10, seed=5, n_samples=0).fit(pl.X).components_.T
    np.testing.assert_array_equal(local, sgd)


# -- planted recovery (slow: minutes) ----------------------------------------------------------
@pytest.mark.slow
def test_planted_recovery_rate_model():
    """M=64, N=128, 3-5-sparse non-negative codes, 20k samples x 3 epochs, mini-batch 16."""
    pl = planted_nonneg(64, 128, 20000, seed=0)
    est = LocalDictionaryLearning(128, lam=0.1, eta_d=0.15, lambda2="auto", batch_size=16, n_epochs=3, tol=1e-4)
    est.fit(pl.X)
    assert recovery(pl.D, est.components_.T, threshold=0.99) >= 0.95


@pytest.mark.slow
def test_planted_recovery_spiking_model():
    """Same problem with the spiking network (T = 20 per phase, dt 1/32), mini-batch 16."""
    pl = planted_nonneg(64, 128, 20000, seed=0)
    est = LocalDictionaryLearning(128, model="spiking", lam=0.1, eta_d=0.15, lambda2="auto", batch_size=16,
                                  n_epochs=3, phase_time=20.0, dt_s=1 / 32)
    est.fit(pl.X)
    assert recovery(pl.D, est.components_.T, threshold=0.95) >= 0.90


def test_fixed_point_profile_models_the_simulated_rate_network():
    """The fixed-point solver's modelled profile (each phase held at its fixed point) against the
    rate network simulated on the numpy engine with the same weights: same steps, batch and
    learning epochs (mini-batches 4, 4, 3: mixed sizes count input-steps), events within the
    transient's share (input neurons are active from the first step, coding neurons ramp up)."""
    pl = planted_nonneg(64, 8, 11, seed=1)
    kw = dict(model="rate", batch_size=4, n_samples=11, lam=0.1, eta_d=0.001, lambda2=0.0, dt_s=0.05,
              phase_time=40.0, seed=0)
    fixed = LocalDictionaryLearning(8, solver="fixed_point", **kw).fit(pl.X)
    sim = LocalDictionaryLearning(8, solver="network", **kw).fit(pl.X)
    fa, sa = fixed.fixed_point_activity_, sim.activity_
    assert fixed.activity_ is None and sim.fixed_point_activity_ is None
    assert fa.source == "fixed-point:rates" and fixed.steps_per_phase() == 800
    assert (fa.steps, fa.batch) == (sa.steps, sa.batch) == (2 * 800 * 11, 1)
    assert fa.learn_epochs == sa.learn_epochs == {"F": 3, "B": 3, "H": 3}
    assert np.all(fa.counts["coding"] % 800 == 0)  # whole phases only
    assert fa.counts["input"].sum() == pytest.approx(sa.counts["input"].sum(), rel=1e-2)
    assert fa.counts["coding"].sum() == pytest.approx(sa.counts["coding"].sum(), rel=0.1)
    net = fixed.network(batch=fa.batch)
    fa.check_matches(net)
    assert [c.name for c in net.connections if c.plastic] == ["F", "B", "H"]


@pytest.mark.parametrize("samples, model, solver", [(16, "spiking", "network"), (22, "spiking", "network"),
                                                    (22, "rate", "fixed_point")])
def test_the_learning_profile_counts_the_samples_it_streamed(samples, model, solver):
    """``activity_`` (and the rate model's fixed-point profile) record ``inputs`` = samples, so a
    mapping's figures per input divide by them: 16 samples in mini-batches of 8 are 16 inputs,
    not 8; 22 (a last batch of 6: input-steps, batch 1) are 22, not 1."""
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(0, 1, (samples, 16)))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    m = LocalDictionaryLearning(8, model=model, solver=solver, batch_size=8, n_samples=samples, seed=0).fit(X)
    act = m.activity_ if m.activity_ is not None else m.fixed_point_activity_
    assert act.inputs == samples


def test_fixed_point_spikes_model_the_simulated_spiking_network():
    """The rate learner's spiking-accounting profile (``fixed_point_spikes_``: each neuron fires at
    its fixed-point rate for each 20-unit phase) against the spiking network simulated on the
    numpy engine with (almost) the same weights: same network, steps, batch and learning epochs,
    spike totals within the transient's share."""
    pl = planted_nonneg(16, 8, 8, seed=1, density=0.4)
    kw = dict(batch_size=4, n_samples=8, lam=0.1, eta_d=1e-4, lambda2=0.0, seed=0)
    fixed = LocalDictionaryLearning(8, model="rate", **kw).fit(pl.X)
    spk = LocalDictionaryLearning(8, model="spiking", backend="numpy", **kw).fit(pl.X)
    fa, sa = fixed.fixed_point_spikes_, spk.activity_
    assert fa.source == "fixed-point:spikes" and fa.inputs == sa.inputs == 8
    assert (fa.steps, fa.batch, fa.dt_s) == (sa.steps, sa.batch, sa.dt_s) == (2 * 640 * 2, 4, 1 / 32)
    assert fa.learn_epochs == sa.learn_epochs == {"F": 2, "B": 2, "H": 2}
    net = fixed.network(batch=4, model="spiking")
    fa.check_matches(net)
    assert [type(p.model) for p in net.populations] == [type(p.model) for p in spk.network(batch=4).populations]
    # neurons ramp up from rest in phase 0 (and spikes quantise): the model counts 10-12 % more here
    for pop in ("input", "coding"):
        assert sa.counts[pop].sum() < fa.counts[pop].sum() < 1.2 * sa.counts[pop].sum(), pop
