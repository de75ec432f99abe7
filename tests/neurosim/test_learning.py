"""The locality check: rules see only declared local quantities and cannot compute non-locally."""
import numpy as np
import pytest

from neurosim.builders.dictrules import lin_tang_rules
from neurosim.errors import LocalityError, NetworkError
from neurosim.learning import LearningRule, LocalArray, apply_rule, connection_stats, parse_quantity

RNG = np.random.default_rng(0)
N_POST, N_PRE, BATCH = 5, 4, 3


def stats(n, phases=("0", "kappa"), batch=BATCH, seed=0):
    rng = np.random.default_rng(seed)
    return {p: {"rate": rng.random((batch, n)), "count": rng.integers(0, 9, (batch, n)),
                "mean_current": rng.standard_normal((batch, n)), "received": rng.standard_normal((batch, n))}
            for p in phases}


def run(rule, *, weights=None, **kw):
    W = RNG.random((N_POST, N_PRE)) if weights is None else weights
    return apply_rule(rule, weights=W, post_stats=kw.pop("post_stats", stats(N_POST)),
                      pre_stats=kw.pop("pre_stats", stats(N_PRE, seed=1)),
                      post_params={"threshold": np.full(N_POST, 1.5)}, signals={"gamma": 0.7}, **kw)


def make_rule(reads, fn, writes=("weight",)):
    class R(LearningRule):
        name = "probe"

        def update(self, ctx):
            return fn(ctx)

    R.reads = frozenset(reads)
    R.writes = frozenset(writes)
    return R()


def test_hebbian_rule_by_broadcasting_is_local_and_exact():
    post, pre = stats(N_POST), stats(N_PRE, seed=1)
    W = RNG.random((N_POST, N_PRE))
    rule = make_rule({"weight", "post.rate", "pre.rate"},
                     lambda c: {"weight": c["weight"] + 0.1 * c.batch_mean(c["post.rate"] * c["pre.rate"])})
    out = apply_rule(rule, weights=W, post_stats=post, pre_stats=pre)
    # "post.rate" is the latest window (last phase)
    expected = W + 0.1 * post["kappa"]["rate"].T @ pre["kappa"]["rate"] / BATCH
    np.testing.assert_allclose(out["weight"], expected, rtol=1e-12)
    fast = make_rule({"weight", "post.rate", "pre.rate"},
                     lambda c: {"weight": c["weight"] + 0.1 * c.batch_mean_product(c["post.rate"], c["pre.rate"])})
    np.testing.assert_allclose(apply_rule(fast, weights=W, post_stats=post, pre_stats=pre)["weight"], expected, rtol=1e-12)


def test_undeclared_quantity_is_refused_with_names():
    rule = make_rule({"weight"}, lambda c: {"weight": c["weight"] * c["post.rate"]})
    with pytest.raises(LocalityError, match=r"probe.*post\.rate.*declared reads \['weight'\]"):
        run(rule)


@pytest.mark.parametrize("quantity", ["weights", "pre.weight", "global_matrix", "post.other_neuron.rate",
                                      "other.F.weight", "pre.threshold", "post.phase.0.threshold", "D"])
def test_unknown_quantities_are_not_local(quantity):
    with pytest.raises(LocalityError, match="not a local quantity"):
        parse_quantity(quantity)
    rule = make_rule({"weight", quantity}, lambda c: {"weight": c["weight"]})
    with pytest.raises(LocalityError, match="non-local quantity"):
        run(rule)


def test_cannot_read_another_neurons_weights():
    """Row i of the weight matrix belongs to neuron i: a rule that moves rows (transpose, roll,
    indexing, reshape) or sums a column is refused."""
    attempts = {
        "transpose": lambda c: c["weight"].T,
        "np.transpose": lambda c: np.transpose(c["weight"]),
        "index another row": lambda c: c["weight"][1],
        "reverse rows": lambda c: c["weight"][::-1],
        "fancy index": lambda c: c["weight"][[1, 0, 2, 3, 4]],
        "roll": lambda c: np.roll(c["weight"], 1, axis=0),
        "reshape": lambda c: c["weight"].reshape(N_PRE, N_POST),
        "column sum": lambda c: c["weight"] + np.sum(c["weight"], axis=0),
        "convert": lambda c: c["weight"] + np.asarray(c["weight"]).sum(),
    }
    for fn in attempts.values():
        rule = make_rule({"weight"}, lambda c, fn=fn: {"weight": fn(c)})
        with pytest.raises(LocalityError):
            run(rule)


def test_cannot_use_a_global_matrix():
    D = RNG.random((N_POST, N_PRE))  # e.g. the dictionary, captured by the rule
    for fn in (lambda c: c["weight"] + D, lambda c: c["weight"] * D, lambda c: D @ c["pre.rate"],
               lambda c: np.maximum(c["weight"], D), lambda c: c["weight"] @ D.T):
        rule = make_rule({"weight", "pre.rate"}, lambda c, fn=fn: {"weight": c.batch_mean(fn(c))})
        with pytest.raises(LocalityError):
            run(rule)
    # a plain (non-LocalArray) result is refused too
    with pytest.raises(LocalityError, match="plain ndarray"):
        run(make_rule({"weight"}, lambda c: {"weight": D}))


def test_cannot_sum_across_neurons():
    for fn in (lambda c: c["post.rate"].sum(), lambda c: np.sum(c["pre.rate"]), lambda c: np.mean(c["pre.rate"]),
               lambda c: np.add.reduce(c["pre.rate"], axis=2), lambda c: c["pre.rate"].max(),
               lambda c: np.cumsum(c["pre.rate"]), lambda c: np.linalg.norm(c["pre.rate"]),
               lambda c: c["post.rate"] @ c["pre.rate"], lambda c: np.einsum("bij->b", c["pre.rate"]),
               lambda c: np.dot(c["post.rate"], c["pre.rate"]), lambda c: sum(c["pre.rate"])):
        rule = make_rule({"weight", "post.rate", "pre.rate"}, lambda c, fn=fn: {"weight": c["weight"] + fn(c)})
        with pytest.raises(LocalityError):
            run(rule)


def test_elementwise_operations_are_allowed():
    rule = make_rule({"weight", "post.rate", "pre.phase.0.rate", "global.gamma", "post.threshold"},
                     lambda c: {"weight": c.batch_mean(np.where(c["pre.phase.0.rate"] > 0.5,
                                                                np.exp(-c["weight"]) * c["global.gamma"],
                                                                np.clip(c["post.rate"] / c["post.threshold"], 0, 1)))})
    out = run(rule)["weight"]
    assert out.shape == (N_POST, N_PRE) and np.all(np.isfinite(out))


def test_writes_and_shapes_are_checked():
    with pytest.raises(LocalityError, match="undeclared 'post.threshold'"):
        run(make_rule({"weight"}, lambda c: {"weight": c["weight"], "post.threshold": c["weight"]}))
    with pytest.raises(LocalityError, match="writes outside"):
        run(make_rule({"weight"}, lambda c: {}, writes=("weight", "pre.threshold")))
    with pytest.raises(NetworkError, match="batch_mean"):
        run(make_rule({"weight", "post.rate", "pre.rate"}, lambda c: {"weight": c["post.rate"] * c["pre.rate"]}))
    with pytest.raises(LocalityError, match="not recorded"):
        run(make_rule({"weight", "pre.phase.missing.rate"}, lambda c: {"weight": c["weight"]}))


def test_local_array_blocks_escape_hatches():
    x = LocalArray(np.ones((2, 3, 1)))
    for fn in (lambda: np.asarray(x), lambda: np.array(x), lambda: list(x), lambda: len(x), lambda: float(x),
               lambda: bool(x), lambda: x.view(np.ndarray), lambda: x.tolist(), lambda: np.multiply.outer(x, x)):
        with pytest.raises(LocalityError):
            fn()
    mask = x > 0.5
    x[mask] = 3.0  # same-shape boolean mask assignment is elementwise
    assert isinstance(x * 2, LocalArray) and (x * 2).shape == (2, 3, 1)


def test_mask_keeps_non_synapses():
    mask = RNG.random((N_POST, N_PRE)) < 0.5
    W = RNG.random((N_POST, N_PRE)) * mask
    rule = make_rule({"weight"}, lambda c: {"weight": c["weight"] + 1.0})
    out = run(rule, weights=W, mask=mask)["weight"]
    np.testing.assert_array_equal(out[~mask], 0.0)
    np.testing.assert_allclose(out[mask], W[mask] + 1.0)


def test_connection_stats_received_is_weighted_pre_rate():
    win = {"0": {"a": {"rate": RNG.random((2, N_PRE))}, "b": {"rate": RNG.random((2, N_POST))}}}
    W = RNG.random((N_POST, N_PRE))
    post, pre = connection_stats(win, pre="a", post="b", weights=W, gain={"0": 0.5})
    np.testing.assert_allclose(post["0"]["received"], 0.5 * win["0"]["a"]["rate"] @ W.T)
    np.testing.assert_array_equal(pre["0"]["rate"], win["0"]["a"]["rate"])


def test_lin_tang_rules_pass_the_audit():
    """The three rules run through apply_rule (which enforces the declarations) and declare only
    what the locality table of the reference allows."""
    rules = lin_tang_rules(kappa=0.7, eta_d=0.01, lambda2=0.01)
    allowed = {
        "F": {"weight", "post.phase.kappa.rate", "pre.phase.kappa.rate", "pre.phase.0.rate"},
        "B": {"weight", "post.phase.kappa.rate", "post.phase.0.rate", "pre.phase.kappa.rate"},
        "H": {"weight", "post.threshold", "pre.phase.kappa.rate", "post.phase.0.rate", "post.phase.kappa.rate",
              "post.phase.0.mean_current", "post.phase.kappa.mean_current", "post.phase.0.received",
              "post.phase.kappa.received"},
    }
    for name, rule in rules.items():
        assert set(rule.reads) == allowed[name]
        assert all(parse_quantity(q)[0] in ("weight", "post", "pre") for q in rule.reads)
        n_post, n_pre = (N_POST, N_PRE) if name != "H" else (N_POST, N_POST)
        out = apply_rule(rule, weights=-RNG.random((n_post, n_pre)) if name == "H" else RNG.random((n_post, n_pre)),
                         post_stats=stats(n_post), pre_stats=stats(n_pre, seed=2),
                         post_params={"threshold": np.full(n_post, 1.2)})
        assert out["weight"].shape == (n_post, n_pre)


def test_spiking_window_current_is_bias_plus_received_input():
    """The engine's window ``mean_current`` is the current the membrane integrates, so for a
    spiking neuron it equals bias + W r_pre (unit-area synaptic kernel) -- what ``received`` and
    the lateral rule's g_H rely on."""
    import neurosim as ns
    from neurosim.backends.numpy_engine import Simulator

    net = ns.Network("pair")
    net.add(ns.Population("a", 1, ns.IF(bias=0.3)))
    net.add(ns.Population("b", 1, ns.IF(bias=-0.2, v_th=1e9)))
    net.add(ns.Connection("a", "b", np.array([[0.8]])))
    sim = Simulator(net, dt_s=0.1, track_window=True)
    sim.run(200)
    sim.reset_window()
    sim.run(10000)
    win = sim.window()
    post, _ = connection_stats({"w": win}, pre="a", post="b", weights=np.array([[0.8]]))
    assert win["a"]["rate"][0, 0] == pytest.approx(0.3, rel=1e-3)
    assert win["b"]["mean_current"][0, 0] == pytest.approx(-0.2 + post["w"]["received"][0, 0], abs=1e-3)


def test_python_callbacks_and_object_operands_cannot_see_the_weights():
    """The two old bypasses of the between-runs path: a ufunc made by np.frompyfunc and an
    object-dtype operand both hand numpy's per-element Python calls every element of the weight
    matrix. Both are refused now."""
    seen = []

    class Spy:
        def __radd__(self, other):
            seen.append(other)
            return other

    def record(x):
        seen.append(x)
        return x

    attempts = [lambda c: np.frompyfunc(record, 1, 1)(c["weight"]),
                lambda c: np.vectorize(record)(c["weight"]),
                lambda c: c["weight"] + np.array(Spy(), dtype=object),
                lambda c: c["weight"] + Spy(),
                lambda c: c["weight"].astype(object) + 0.0]
    for fn in attempts:
        with pytest.raises(LocalityError):
            run(make_rule({"weight"}, lambda c, fn=fn: {"weight": fn(c)}))
    assert seen == []
