"""The graph stage (mapper.graph): synapse pairs and their counts, the rows of a partition, learning rates."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper.graph import build_graph, core_rows, gather_ranges
from mapper.resources import RESOURCES, core_usage
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip, make_tiny_network

PART = np.repeat([0, 1, 2, 3], [4, 4, 4, 1])


def test_core_rows_groups_by_source_and_part():
    net, act = make_tiny_network()
    g = build_graph(net, act)
    rows = core_rows(g, PART, 4)
    got = sorted(zip(rows.src.tolist(), rows.part.tolist(), rows.nsyn.tolist(), rows.nplastic.tolist()))
    assert got == [(0, 1, 2, 0), (0, 2, 1, 0), (0, 3, 1, 0), (1, 1, 1, 0), (2, 0, 1, 0), (4, 2, 1, 1)]


def test_duplicate_pairs_across_connections_count_twice():
    from neurosim.activity import ActivityProfile
    from neurosim.ir import Connection, Network, Population
    from neurosim.neurons import LIF
    net = Network(name="dup")
    net.add(Population("P", 2, LIF()))
    net.add(Connection("P", "P", np.array([[0, 1.0], [0, 0]]), name="c1"))
    net.add(Connection("P", "P", np.array([[0, 2.0], [0, 0]]), name="c2"))
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    assert g.n_pairs == 1 and g.out_nsyn.tolist() == [2] and g.n_synapses == 2
    u = core_usage(g, make_tiny_chip(), np.array([0, 0]), n_parts=1)
    assert u.used["in_axons"].tolist() == [1]
    assert u.used["synapse_bits"].tolist() == [16]  # 2 x 6 + 4 = 16 bits: one word
    assert set(RESOURCES) == set(u.used)


class _Plastic:
    name = "test-plastic"


def test_learning_run_profile_charges_exactly():
    """A small Lin & Tang training run on the simulated rate network: its profile counts one
    epoch of F, B and H per mini-batch, so the mapping charges every plastic synapse per update."""
    from neurosim.builders.dictnet import build_dictnet
    from neurosim.builders.dictrules import lin_tang_rules
    from neurosim.estimators.dictlearn import LocalDictionaryLearning

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


def test_gather_ranges_concatenates_the_csr_rows_in_the_order_asked():
    ptr = np.array([0, 3, 3, 7, 8])
    want = lambda rows: [i for r in rows for i in range(ptr[r], ptr[r + 1])]  # noqa: E731
    for rows in ([2, 0], [1], [3, 3, 1, 0], []):
        assert gather_ranges(ptr, np.array(rows, dtype=int)).tolist() == want(rows)
