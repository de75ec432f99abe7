"""Results of a run (neurosim.result.SimResult): probe lookup with a named error, and rates from
count probes, checked against hand values and against an integrate-and-fire run whose spike
counts are known in closed form."""
from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns
from neurosim.activity import ActivityProfile
from neurosim.errors import NetworkError
from neurosim.result import SimResult


def _result(**probes) -> SimResult:
    act = ActivityProfile(steps=200, batch=2, dt_s=1e-3, counts={"A": np.array([3, 0, 6])})
    return SimResult(network="net", backend="numpy", steps=200, batch=2, dt_s=1e-3, probes=dict(probes),
                     activity=act)


def test_probes_by_name():
    counts = np.array([[1, 0, 2], [2, 0, 4]])
    r = _result(**{"A.count": counts})
    assert r["A.count"] is counts


def test_missing_probe_names_the_network_and_lists_the_probes():
    r = _result(**{"b.spikes": np.zeros((1, 2, 3)), "A.count": np.zeros((2, 3))})
    with pytest.raises(NetworkError) as err:
        r["A.spikes"]
    assert str(err.value) == "result 'net': no such probe (got 'A.spikes', expected ['A.count', 'b.spikes'])"


def test_rates_are_counts_per_window_time():
    r = _result(**{"A.count": np.array([[1, 0, 2], [2, 0, 4]])})
    # window 100 steps x 1 ms = 0.1 s
    np.testing.assert_allclose(r.rates("A.count", 100), [[10.0, 0.0, 20.0], [20.0, 0.0, 40.0]])
    np.testing.assert_allclose(r.rates("A.count", 200), [[5.0, 0.0, 10.0], [10.0, 0.0, 20.0]])
    with pytest.raises(NetworkError, match="no such probe"):
        r.rates("B.count", 100)


def test_defaults():
    r = _result()
    assert r.final_state == {} and r.wall_s == 0.0
    assert _result().final_state is not r.final_state  # no shared mutable default


def test_integrate_and_fire_rates_from_a_simulation():
    """IF, threshold 1, reset to zero, constant drive I: v grows by I dt per step, so over T seconds
    it fires floor(I T) times: I = 0.5, 2.5, 10.5 over 1 s give 0, 2, 10 spikes, i.e. rates 0, 2, 10
    per second over the whole run and over its second half."""
    net = ns.Network("if")
    net.add(ns.Population("A", 3, ns.IF()))
    net.add(ns.ConstantInput("A", np.array([0.5, 2.5, 10.5])))
    net.add(ns.Probe("A", "count"))
    net.add(ns.Probe("A", "count", start=500, name="late"))
    r = ns.simulate(net, steps=1000, dt_s=1e-3)
    assert isinstance(r, SimResult)
    assert (r.network, r.steps, r.batch, r.dt_s) == ("if", 1000, 1, 1e-3)
    np.testing.assert_array_equal(r["A.count"], [[0, 2, 10]])
    np.testing.assert_allclose(r.rates("A.count", 1000), [[0.0, 2.0, 10.0]])
    np.testing.assert_allclose(r.rates("late", 500), [[0.0, 2.0, 10.0]])
    np.testing.assert_array_equal(r.activity.counts["A"], [0, 2, 10])
    assert set(r.final_state["A"]) >= {"v"} and r.final_state["A"]["v"].shape == (1, 3)
