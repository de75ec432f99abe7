"""Validation of the network description: clear errors naming object, attribute, value, constraint."""
import numpy as np
import pytest
import scipy.sparse as sp

import neurosim as ns


def net_with(*objs, signals=None):
    net = ns.Network("n", signals=signals or {})
    net.add(ns.Population("p", 3, ns.IF()))
    for o in objs:
        net.add(o)
    return net


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=0), r"population 'x': size must be a positive integer \(got 0"),
    (dict(size=2.5), "size must be a positive integer"),
    (dict(model=ns.IF(v_th=-1.0)), r"LIF.v_th must be positive"),
    (dict(model=ns.IF(reset="soft")), r"unknown LIF.reset \(got 'soft', expected zero or subtract\)"),
    (dict(model=ns.IF(v_th=np.ones(4))), r"parameter LIF.v_th has the wrong shape \(got \(4,\), expected a scalar or shape \(3,\)\)"),
    (dict(model=ns.LIF(tau_m_s=-2.0)), "tau_m_s must be positive"),
    (dict(model=ns.IF(refractory_steps=-1)), "refractory_steps"),
    (dict(model=ns.LCANeuron(threshold="relu")), "unknown LCANeuron.threshold"),
    (dict(model=ns.LCANeuron(lam=-0.1)), "lam must be non-negative"),
    (dict(model="lif"), "model is not a neuron model"),
    (dict(name="1abc"), "invalid name"),
])
def test_population_errors(kwargs, match):
    args = dict(name="x", size=3, model=ns.IF())
    args.update(kwargs)
    with pytest.raises(ns.NetworkError, match=match):
        ns.Population(**args)


def test_connection_errors():
    with pytest.raises(ns.NetworkError, match=r"weights must be 2-D"):
        ns.Connection("p", "p", np.ones(3))
    with pytest.raises(ns.NetworkError, match="NaN or inf"):
        ns.Connection("p", "p", np.full((3, 3), np.nan))
    with pytest.raises(ns.NetworkError, match="delay_steps must be an integer >= 1"):
        ns.Connection("p", "p", np.ones((3, 3)), delay_steps=0)
    with pytest.raises(ns.NetworkError, match="not numeric"):
        ns.Connection("p", "p", [["a", "b"]])
    net = net_with(ns.Connection("p", "p", np.ones((2, 3))))
    with pytest.raises(ns.NetworkError, match=r"connection 'p->p': weights shape does not match \(n_post, n_pre\) \(got \(2, 3\), expected \(3, 3\)\)"):
        net.validate()
    net = net_with(ns.Connection("p", "q", np.ones((3, 3))))
    with pytest.raises(ns.NetworkError, match="post population does not exist"):
        net.validate()
    net = net_with(ns.Connection("p", "p", np.ones((3, 3)), gain=ns.Gain("gamma")))
    with pytest.raises(ns.NetworkError, match="unknown signal"):
        net.validate()


def test_duplicate_names_rejected():
    net = net_with()
    with pytest.raises(ns.NetworkError, match="name already used"):
        net.add(ns.Population("p", 2, ns.IF()))
    net.add(ns.Connection("p", "p", np.eye(3)))
    with pytest.raises(ns.NetworkError, match="name already used"):
        net.add(ns.Connection("p", "p", np.eye(3)))


def test_inputs_and_batch():
    net = net_with(ns.ConstantInput("p", np.ones((4, 3))), ns.ArrayInput("p", np.ones((10, 4, 3))))
    assert net.validate().batch == 4
    net = net_with(ns.ConstantInput("p", np.ones((4, 3))), ns.ConstantInput("p", np.ones((5, 3))))
    with pytest.raises(ns.NetworkError, match="inputs disagree on the batch size"):
        net.validate()
    net = net_with(ns.ConstantInput("p", np.ones(5)))
    with pytest.raises(ns.NetworkError, match=r"value has the wrong shape \(got \(5,\)"):
        net.validate()
    net = net_with(ns.ConstantInput("zz", 1.0))
    with pytest.raises(ns.NetworkError, match="target population does not exist"):
        net.validate()
    with pytest.raises(ns.NetworkError, match="rates must be non-negative"):
        ns.PoissonInput("p", rate_hz=-np.ones(3))
    with pytest.raises(ns.NetworkError, match="NaN or inf"):
        ns.ArrayInput("p", np.full((2, 3), np.inf))


def test_probe_errors():
    with pytest.raises(ns.NetworkError, match="every must be an integer >= 1"):
        ns.Probe("p", "v", every=0)
    net = net_with(ns.Probe("p", "u"))
    with pytest.raises(ns.NetworkError, match=r"probe 'p.u': unknown variable"):
        net.validate()
    net = net_with(ns.Probe("p", "output"))
    with pytest.raises(ns.NetworkError, match="spiking neurons emit 'spikes'"):
        net.validate()
    net = net_with(ns.Probe("zz", "v"))
    with pytest.raises(ns.NetworkError, match="target population does not exist"):
        net.validate()


def test_errors_are_builtin_compatible():
    with pytest.raises(ValueError):
        ns.Population("x", -1, ns.IF())


def test_connection_helpers():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    c = ns.Connection("a", "b", w)
    assert c.n_synapses == 3
    np.testing.assert_array_equal(c.fan_out(), [1, 0, 2])
    cs = ns.Connection("a", "b", sp.coo_matrix(w))
    assert cs.is_sparse and cs.n_synapses == 3
    np.testing.assert_array_equal(cs.fan_out(), [1, 0, 2])
    assert c.name == "a->b"


def test_network_queries():
    net = ns.Network("q")
    net.add(ns.Population("a", 3, ns.IF()))
    net.add(ns.Population("b", 2, ns.IF()))
    assert net.offsets() == {"a": 0, "b": 3}
    assert net.n_neurons == 5
    with pytest.raises(ns.NetworkError, match="no such population"):
        net.population("c")


def test_synapses_mask_counts_zero_weights_as_stored():
    w = np.array([[0.0, 0.5, 0.0], [0.2, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert ns.Connection("a", "a", w).n_synapses == 2
    mask = ~np.eye(3, dtype=bool)
    c = ns.Connection("a", "a", w, synapses=mask)
    assert c.n_synapses == 6
    np.testing.assert_array_equal(c.fan_out(), [2, 2, 2])
    with pytest.raises(ns.NetworkError, match="non-zero weight outside the synapses mask"):
        ns.Connection("a", "a", w, synapses=np.zeros((3, 3), dtype=bool))
    with pytest.raises(ns.NetworkError, match="synapses mask must match"):
        ns.Connection("a", "a", w, synapses=np.ones((2, 3), dtype=bool))


def test_learning_epochs_are_counted_only_for_plastic_connections():
    from neurosim import IF, Connection, Network, NetworkError, Population

    net = Network("e")
    net.add(Population("a", 2, IF()))
    net.add(Connection("a", "a", np.zeros((2, 2)), name="fixed"))
    with pytest.raises(NetworkError, match="has no learning rule, so no learning epoch"):
        net.learning_epochs("fixed", 1)
    with pytest.raises(NetworkError, match="no such connection"):
        net.learning_epochs("missing", 1)
