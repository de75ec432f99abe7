"""ActivityProfile: learning epochs (validation, save/load, combine) and the numpy engine's record."""
import numpy as np
import pytest

from neurosim.activity import ActivityProfile
from neurosim.backends.numpy_engine import Simulator
from neurosim.errors import InputError, NetworkError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_network


class _Plastic:
    """Stand-in learning rule: only whether a connection is plastic matters here."""

    name = "test-plastic"


def make_net() -> Network:
    """P(2) -> Q(3): plastic 'W' (4 synapses), static 'S' (1 synapse)."""
    net = Network(name="learn")
    net.add(Population("P", 2, LIF()))
    net.add(Population("Q", 3, LIF()))
    mask = np.array([[1, 1], [1, 0], [0, 1]], dtype=bool)
    net.add(Connection("P", "Q", np.where(mask, 0.5, 0.0), name="W", learning_rule=_Plastic(), synapses=mask))
    net.add(Connection("P", "Q", np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]), name="S"))
    return net


COUNTS = {"P": np.array([3, 2]), "Q": np.zeros(3, int)}


def test_default_is_empty_and_from_counts_records_epochs():
    net = make_net()
    assert ActivityProfile.from_counts(net, COUNTS, steps=10, batch=2, dt_s=1e-3, source="t").learn_epochs == {}
    act = ActivityProfile.from_counts(net, COUNTS, steps=10, batch=2, dt_s=1e-3, source="t",
                                      learn_epochs={"W": np.int64(5)})
    assert act.learn_epochs == {"W": 5} and type(act.learn_epochs["W"]) is int
    assert ActivityProfile.assumed(net, 0.1, steps=100, learn_epochs={"W": 7}).learn_epochs == {"W": 7}


@pytest.mark.parametrize("bad", [-1, 2.5, True, "3", None])
def test_epochs_must_be_non_negative_integers(bad):
    net = make_net()
    with pytest.raises(NetworkError, match="learn_epochs 'W': must be a non-negative integer"):
        ActivityProfile.from_counts(net, COUNTS, steps=10, batch=1, dt_s=1e-3, source="t", learn_epochs={"W": bad})
    with pytest.raises(NetworkError, match="non-negative integer"):
        ActivityProfile(steps=10, batch=1, dt_s=1e-3, counts=dict(COUNTS), learn_epochs={"W": bad})


def test_epochs_must_name_a_plastic_connection():
    net = make_net()
    with pytest.raises(NetworkError, match="learn_epochs 'X': no such connection.*expected \\['S', 'W'\\]"):
        ActivityProfile.from_counts(net, COUNTS, steps=10, batch=1, dt_s=1e-3, source="t", learn_epochs={"X": 1})
    with pytest.raises(NetworkError, match="learn_epochs 'S': connection is not plastic.*expected \\['W'\\]"):
        ActivityProfile.assumed(net, 0.1, learn_epochs={"S": 1})
    # built without a network: checked against the network before a mapping (check_matches)
    act = ActivityProfile(steps=10, batch=1, dt_s=1e-3, counts={k: np.asarray(v) for k, v in COUNTS.items()},
                          learn_epochs={"S": 1})
    with pytest.raises(NetworkError, match="not plastic"):
        act.check_matches(net)
    with pytest.raises(NetworkError, match="must be a mapping"):
        ActivityProfile(steps=10, batch=1, dt_s=1e-3, counts={}, learn_epochs=[("W", 1)])


def test_save_load_round_trip(tmp_path):
    net = make_net()
    act = ActivityProfile.from_counts(net, COUNTS, steps=10, batch=2, dt_s=1e-3, source="simulated:t",
                                      learn_epochs={"W": 5})
    back = ActivityProfile.load(act.save(tmp_path / "a.npz"))
    assert back.learn_epochs == {"W": 5}
    assert back.steps == 10 and back.batch == 2 and back.syn_events == act.syn_events
    assert all(np.array_equal(back.counts[k], act.counts[k]) for k in act.counts)
    back.check_matches(net)


def test_files_without_learn_epochs_still_load(tmp_path):
    # the layout written before learn_epochs existed
    path = tmp_path / "old.npz"
    np.savez(path, **{"counts/P": np.array([3, 2]), "counts/Q": np.zeros(3, dtype=np.int64),
                      "syn/W": np.array(10), "meta": np.array([1, 10, 2]), "dt_s": np.array(1e-3),
                      "source": np.array("simulated:old")})
    act = ActivityProfile.load(path)
    assert act.learn_epochs == {} and act.syn_events == {"W": 10}


def test_load_rejects_a_bad_epoch_entry(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, **{"counts/P": np.array([3, 2]), "learn/W": np.array(-4), "meta": np.array([1, 10, 1]),
                      "dt_s": np.array(1e-3), "source": np.array("x")})
    with pytest.raises(InputError, match="bad.npz.*(non-negative integer|whole number >= 0)"):
        ActivityProfile.load(path)


def test_combine_sums_and_keeps_rates_per_input_step():
    net = make_net()
    a = ActivityProfile.from_counts(net, COUNTS, steps=10, batch=2, dt_s=1e-3, source="s", learn_epochs={"W": 2})
    b = ActivityProfile.from_counts(net, {"P": np.array([1, 0])}, steps=10, batch=2, dt_s=1e-3, source="s",
                                    learn_epochs={"W": 1})
    c = ActivityProfile.from_counts(net, {"P": np.array([0, 1])}, steps=5, batch=1, dt_s=1e-3, source="u")
    same = ActivityProfile.combine([a, b])
    assert (same.steps, same.batch, same.learn_epochs, same.source) == (20, 2, {"W": 3}, "s")
    assert list(same.counts["P"]) == [4, 2] and same.syn_events["W"] == a.syn_events["W"] + b.syn_events["W"]
    mixed = ActivityProfile.combine([a, b, c])
    assert (mixed.steps, mixed.batch, mixed.learn_epochs, mixed.source) == (10 * 2 + 10 * 2 + 5, 1, {"W": 3},
                                                                            "combined")
    with pytest.raises(NetworkError, match="different time steps"):
        ActivityProfile.combine([a, ActivityProfile.from_counts(net, COUNTS, steps=5, batch=1, dt_s=1.0, source="s")])
    with pytest.raises(NetworkError, match="nothing to combine"):
        ActivityProfile.combine([])


def test_simulator_records_learning_epochs():
    net = make_net()
    sim = Simulator(net, dt_s=1e-3)
    sim.run(4)
    sim.record_learning_epoch("W")
    sim.run(4)
    sim.record_learning_epoch("W", 2)
    act = sim.result().activity
    assert act.learn_epochs == {"W": 3} and act.steps == 8
    with pytest.raises(NetworkError, match="connection 'S': has no learning rule"):
        sim.record_learning_epoch("S")
    with pytest.raises(NetworkError, match="connection 'X': no such connection"):
        sim.record_learning_epoch("X")
    with pytest.raises(NetworkError, match="integer >= 0"):
        sim.record_learning_epoch("W", -1)
    # a plain run applies no rule: nothing recorded
    assert Simulator(net, dt_s=1e-3).result().activity.learn_epochs == {}


@pytest.mark.parametrize("counts, match", [
    ({"P": np.array([-5, 1])}, "out of range"),
    ({"P": np.array([50, 1])}, r"out of range .*got 50, expected 0 \.\. steps x batch = 20"),
    ({"P": np.array([1.5, 1.0])}, "whole numbers"),
    ({"P": np.array([np.nan, 1.0])}, "finite")])
def test_impossible_counts_are_refused(counts, match):
    """Negative counts gave negative energies; more events than steps x inputs, a negative sparsity."""
    with pytest.raises(NetworkError, match=match):
        ActivityProfile.from_counts(make_net(), counts, steps=10, batch=2, dt_s=1e-3, source="x")
    assert ActivityProfile.from_counts(make_net(), {"P": np.array([20.0, 0.0])}, steps=10, batch=2, dt_s=1e-3,
                                       source="x").counts["P"].tolist() == [20, 0]


def test_load_refuses_files_that_are_not_activity_profiles(tmp_path):
    np.savez(tmp_path / "zerometa.npz", meta=np.array(5))
    with pytest.raises(InputError, match="not an activity profile"):
        ActivityProfile.load(tmp_path / "zerometa.npz")
    with pytest.raises(InputError, match="not found"):
        ActivityProfile.load(tmp_path / "missing.npz")


def test_pickled_entries_are_never_suggested(tmp_path):
    np.savez(tmp_path / "obj.npz", meta=np.array([1, 2, 3]), dt_s=np.array(1.0), source=np.array([{}], dtype=object))
    with pytest.raises(InputError) as err:
        ActivityProfile.load(tmp_path / "obj.npz")
    assert "pickled" in str(err.value) and "allow_pickle" not in str(err.value)


def test_population_size_mismatch_reports_both_shapes():
    from tests.helpers import make_tiny_network

    net, act = make_tiny_network()
    counts = dict(act.counts)
    counts["A"] = np.zeros(counts["A"].size + 1, dtype=np.int64)
    bad = ActivityProfile(steps=act.steps, batch=act.batch, dt_s=act.dt_s, counts=counts, syn_events=act.syn_events)
    with pytest.raises(ValueError, match=r"activity 'A'.*got shape \(\d+,\), expected shape \(\d+,\)"):
        bad.check_matches(net)


# -- issue 16, family 5: a damaged activity file is refused naming the entry ----------------------
def _saved(tmp_path):
    net, act = make_tiny_network()
    return act.save(tmp_path / "act.npz")


def _with(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    for k, v in list(arrays.items()):
        if v is None:
            del arrays[k]
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("changes, match", [
    ({"syn/A->B": np.array([1, 2])}, r"entry 'syn/A->B': must be one whole number >= 0 \(got shape \(2,\)"),
    ({"syn/A->B": np.array(-4)}, r"entry 'syn/A->B': must be one whole number >= 0 \(got -4"),
    ({"syn/A->B": np.array(1 + 2j)}, r"entry 'syn/A->B': must be one whole number >= 0 \(got dtype complex128"),
    ({"dt_s": np.array(-1.0)}, r"entry 'dt_s': must be a finite number of seconds > 0 \(got -1.0"),
    ({"dt_s": np.array(np.nan)}, r"entry 'dt_s': must be a finite number of seconds > 0 \(got nan"),
    ({"dt_s": np.array([1e-3, 2e-3])}, r"entry 'dt_s': must be a finite number of seconds > 0 \(got shape"),
    ({"counts/A": np.array([np.inf, 0, 0, 0])}, r"counts must be finite numbers"),
    ({"counts/A": np.array([-3, 0, 0, 0])}, r"counts out of range"),
    ({"meta": np.array([1, -10, 1])}, r"entry 'meta': steps and batch must be whole numbers >= 1 \(got steps -10"),
    ({"source": np.array([1, 2])}, r"entry 'source': must be text"),
    ({"inputs": np.array("x")}, r"entry 'inputs': must be one whole number >= 1"),
    ({"learn/A->B": np.array(2.5)}, r"entry 'learn/A->B': must be one whole number >= 0"),
    ({"dt_s": None}, r"entry 'dt_s' is missing"),
], ids=lambda v: str(v)[:24])
def test_damaged_entries_are_refused(tmp_path, changes, match):
    """A wrong field type raised TypeError (``int()`` of an array); negative or non-finite values gave
    reports with negative or NaN figures."""
    p = _with(_saved(tmp_path), **changes)
    with pytest.raises(InputError, match=r"activity file '.*act.npz'.*" + match):
        ActivityProfile.load(p)
