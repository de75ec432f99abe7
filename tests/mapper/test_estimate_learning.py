"""Learning updates under the epoch and the event model, by hand (mapper.graph, route, estimate).

Network: P(2) -> Q(3) on the tiny chip (tests/conftest.py: learn_update 50 pJ, 50 ns).

* ``W`` plastic, synapses Q0<-P0, Q0<-P1, Q1<-P0, Q2<-P1 (4);
* ``V`` plastic, synapse Q2<-P0 (1; same populations as ``W``, so the graph merges both
  connections into one block of (pre, post) pairs);
* ``S`` static, synapse Q1<-P1.

Placement pinned with ``evaluate_placement``: part 0 = {P0, P1, Q0, Q1} on core 0, part 1 = {Q2}
on core 1. Plastic synapses of ``W`` per core: 3 (Q0: 2, Q1: 1) and 1 (Q2).
Run: 10 steps x batch 2 = R 20 executed steps; spikes P0 3, P1 2, Q none.

Epoch model, ``W`` 5 epochs: 4 x 5 = 20 updates (15 on core 0, 5 on core 1).
Event model (``V`` always; ``W`` without epochs): one update per spike arriving at a plastic
synapse: ``W`` 3 x 2 + 2 x 2 = 10 (core 0: P0 3 x 2 + P1 2 x 1 = 8, core 1: P1 2); ``V`` 3 (core 1).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import make_tiny_chip
from mapper.api import evaluate_placement
from mapper.graph import build_graph
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF

PJ, NS = 1e-12, 1e-9
PART = np.array([0, 0, 0, 0, 1])
CORES = np.array([0, 1])


class _Plastic:
    name = "test-plastic"


def make_net(*, with_v: bool = True) -> Network:
    net = Network(name="learn")
    net.add(Population("P", 2, LIF()))
    net.add(Population("Q", 3, LIF()))
    mask = np.array([[1, 1], [1, 0], [0, 1]], dtype=bool)
    net.add(Connection("P", "Q", np.where(mask, 0.5, 0.0), name="W", learning_rule=_Plastic(), synapses=mask))
    if with_v:
        net.add(Connection("P", "Q", np.array([[0.0, 0.0], [0.0, 0.0], [0.25, 0.0]]), name="V",
                           learning_rule=_Plastic()))
    net.add(Connection("P", "Q", np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), name="S"))
    return net


def run(net, counts, learn_epochs=None):
    act = ActivityProfile.from_counts(net, counts, steps=10, batch=2, dt_s=1e-3, source="simulated:test",
                                      learn_epochs=learn_epochs)
    return evaluate_placement(net, make_tiny_chip(), act, part=PART, part_core=CORES)


SILENT = {"P": np.zeros(2, int), "Q": np.zeros(3, int)}
SPIKES = {"P": np.array([3, 2]), "Q": np.zeros(3, int)}


def test_epoch_model_counts_every_plastic_synapse_per_epoch():
    res = run(make_net(with_v=False), SILENT, {"W": 5})
    est = res.estimate
    assert est.counts["learn_update"] == pytest.approx(20.0, rel=1e-12)
    assert est.energy_j["learn_update"] == pytest.approx(20 * 50 * PJ, rel=1e-12)
    assert list(res.routing.per_part["learn_updates"]) == pytest.approx([15 / 20, 5 / 20], rel=1e-12)
    # no spikes: T_core = compartments x 10 ns (all_mapped) + L_c x 50 ns
    assert list(est.core_time_s) == pytest.approx([4 * 10 * NS + 0.75 * 50 * NS, 1 * 10 * NS + 0.25 * 50 * NS],
                                                  rel=1e-12)
    assert est.core_s == pytest.approx(77.5 * NS, rel=1e-12) and est.slowest_core == 0
    # the epoch model does not depend on the spikes
    assert run(make_net(with_v=False), SPIKES, {"W": 5}).estimate.counts["learn_update"] == pytest.approx(20.0)


def test_event_model_unchanged_without_epochs():
    net = make_net(with_v=False)
    res = run(net, SPIKES)
    assert res.estimate.counts["learn_update"] == pytest.approx(10.0, rel=1e-12)
    assert list(res.routing.per_part["learn_updates"]) == pytest.approx([8 / 20, 2 / 20], rel=1e-12)
    assert run(net, SILENT).estimate.counts["learn_update"] == 0
    # zero epochs is the epoch model with no update, not the event model
    assert run(net, SPIKES, {"W": 0}).estimate.counts["learn_update"] == 0


def test_mixed_models_on_merged_pairs():
    """``W`` (epochs) and ``V`` (events) join the same populations: the graph merges their
    pairs, the learning charge is still per connection."""
    res = run(make_net(), SPIKES, {"W": 5})
    assert res.estimate.counts["learn_update"] == pytest.approx(20 + 3, rel=1e-12)
    assert list(res.routing.per_part["learn_updates"]) == pytest.approx([15 / 20, (5 + 3) / 20], rel=1e-12)
    assert res.estimate.energy_j["learn_update"] == pytest.approx(23 * 50 * PJ, rel=1e-12)
    g = build_graph(make_net(), ActivityProfile.from_counts(make_net(), SPIKES, steps=10, batch=2, dt_s=1e-3,
                                                            source="t", learn_epochs={"W": 5}))
    # per post neuron: Q0 2 x 5, Q1 1 x 5, Q2 1 x 5 epochs + 3 events of V, over R = 20
    assert list(g.learn_rate) == pytest.approx([0, 0, 10 / 20, 5 / 20, 8 / 20], rel=1e-12)
    assert g.learn_epochs == {"W": 5}


def test_report_names_the_learning_model_per_plastic_connection():
    d = run(make_net(), SPIKES, {"W": 5}).report.to_dict()
    assert d["network"]["plastic_connections"] == [
        {"name": "W", "learning_model": "epoch", "epochs": 5},
        {"name": "V", "learning_model": "event", "epochs": None}]
    assert d["totals"]["learn_updates"] == pytest.approx(23)


def test_learning_run_profile_charges_exactly():
    """A small Lin & Tang training run on the simulated rate network: its profile counts one
    epoch of F, B and H per mini-batch, so the mapping charges every plastic synapse per update."""
    from neurosim.estimators.dictlearn import LocalDictionaryLearning
    from neurosim.builders.dictnet import build_dictnet
    from neurosim.builders.dictrules import lin_tang_rules

    rng = np.random.default_rng(0)
    X = rng.random((5, 4))
    learner = LocalDictionaryLearning(3, model="rate", solver="network", batch_size=2, n_samples=5, eta_d=0.01,
                                      lambda2=0.0, dt_s=0.05, phase_time=1.0, seed=0).fit(X)
    act = learner.activity_
    assert act.learn_epochs == {"F": 3, "B": 3, "H": 3}  # mini-batches of 2, 2, 1
    # two simulators (batch 2: two updates; batch 1: one), 2 phases x 20 steps per update
    assert (act.steps, act.batch) == (2 * 2 * 20 * 2 + 1 * 2 * 20 * 1, 1)
    net = build_dictnet(learner.params_, X[:1], lam=learner.lam, rules=lin_tang_rules())
    g = build_graph(net, act)
    # F 3x4 + B 4x3 + H 3x3 off-diagonal = 30 plastic synapses, 3 updates each
    assert float(g.learn_rate.sum()) * act.steps * act.batch == pytest.approx(90.0, rel=1e-12)
    fixed = LocalDictionaryLearning(3, batch_size=2, n_samples=2, eta_d=0.01, lambda2=0.0).fit(X)
    assert fixed.activity_ is None  # fixed-point solver: nothing simulated, nothing to profile


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31 - 1), st.integers(0, 1000), st.booleans())
def test_graph_learning_totals_are_exact(n_pre, n_post, seed, epochs, epoch_model):
    """Either model's total over the run is exact: ``|P| * epochs``, or the synaptic events of
    the connection (the event model charges each event arriving at a plastic synapse)."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_post, n_pre)) < 0.6
    net = Network(name="prop")
    net.add(Population("P", n_pre, LIF()))
    net.add(Population("Q", n_post, LIF()))
    net.add(Connection("P", "Q", np.where(mask, 1.0, 0.0), name="W", learning_rule=_Plastic(), synapses=mask))
    counts = {"P": rng.integers(0, 50, n_pre), "Q": rng.integers(0, 50, n_post)}
    act = ActivityProfile.from_counts(net, counts, steps=int(rng.integers(50, 80)), batch=int(rng.integers(1, 4)),
                                      dt_s=1e-3, source="t", learn_epochs={"W": epochs} if epoch_model else None)
    g = build_graph(net, act)
    total = float(g.learn_rate.sum()) * act.steps * act.batch
    want = int(mask.sum()) * epochs if epoch_model else act.syn_events["W"]
    assert total == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert np.all(g.learn_rate[:n_pre] == 0)  # updates belong to the post-synaptic neurons' cores
