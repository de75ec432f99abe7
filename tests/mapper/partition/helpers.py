"""Chips and networks shared by the partition tests."""
import numpy as np
import scipy.sparse as sp

from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.graph import build_graph
from mapper.resources import core_usage, limits_of
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF


def chip_with(cores=(8, 8), cpt=1, **core):
    lim = dict(max_compartments=16, max_in_axons=64, max_out_axons=64, synapse_mem_bits=1 << 20, synapse_word_bits=16,
               weight_bits=4, synapse_index_bits=4, synapse_row_overhead_bits=4)
    lim.update(core)
    return ChipSpec(name="t", core=CoreLimits(**lim), noc=NocSpec(tile_grid=cores, cores_per_tile=cpt),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def clustered(n_clusters=8, size=16, p_in=0.5, p_out=0.02, seed=0, shuffle=True):
    """Dense clusters, sparse between; neuron order shuffled so sequential fill cannot see them."""
    rng = np.random.default_rng(seed)
    n = n_clusters * size
    lab = np.repeat(np.arange(n_clusters), size)
    if shuffle:
        lab = rng.permutation(lab)
    same = lab[:, None] == lab[None, :]
    w = (rng.random((n, n)) < np.where(same, p_in, p_out)).astype(float)
    np.fill_diagonal(w, 0)
    net = Network(name="clustered")
    net.add(Population("P", n, LIF()))
    net.add(Connection("P", "P", sp.csr_matrix(w)))
    return net, lab


def check_feasible(g, chip, p):
    u = core_usage(g, chip, p.part, n_parts=p.n_parts)
    assert u.violations() == []
    assert np.bincount(p.part).min() > 0 and p.part.shape == (g.n,)
    return u


def graph_of(w, name="net"):
    net = Network(name=name)
    net.add(Population("P", w.shape[0], LIF()))
    net.add(Connection("P", "P", w))
    return build_graph(net, ActivityProfile.assumed(net, 0.1))


def all_to_all(n):
    w = np.ones((n, n))
    np.fill_diagonal(w, 0.0)
    return graph_of(w, f"ata{n}")


def dense_mlp(sizes=(20, 60, 60, 4), seed=0):
    """Dense feed-forward layers: every neuron of a layer reaches every core holding the next one,
    so a part mixing layers pays one output axon per core of the next layer for each of its
    neurons — the coupling single-neuron repair moves cannot undo."""
    rng = np.random.default_rng(seed)
    net = Network(name="mlp")
    for i, s in enumerate(sizes):
        net.add(Population(f"L{i}", s, LIF()))
    for i in range(len(sizes) - 1):
        net.add(Connection(f"L{i}", f"L{i + 1}", rng.normal(size=(sizes[i + 1], sizes[i]))))
    return net, ActivityProfile.assumed(net, 0.1)


MLP_CHIP = dict(max_compartments=16, max_out_axons=64, max_in_axons=64, synapse_mem_bits=4096)


# --- dense layers: synapse rows per (source, destination core), over-full attempts ---------------
ROWS_CHIP = dict(max_compartments=64, max_out_axons=4096, max_in_axons=4096, synapse_mem_bits=32768,
                 synapse_word_bits=64, synapse_row_overhead_bits=16)


def recording_metis(monkeypatch):
    """Wrap the metis strategy: every attempt's ``k`` and the mean fill of its raw parts."""
    from mapper.partition.core import _compact
    from mapper.partition.strategies import STRATEGIES, metis
    from mapper.resources import RESOURCES

    calls = []

    def rec(graph, chip, *, k, **kw):
        raw = metis(graph, chip, k=k, **kw)
        part, n = _compact(np.asarray(raw, dtype=np.int64))
        u = core_usage(graph, chip, part, n_parts=n)
        lims = limits_of(chip.core)
        calls.append((k, max(float(u.used[r].sum()) / (n * lims[r]) for r in RESOURCES if lims[r])))
        return raw

    monkeypatch.setitem(STRATEGIES, "metis", rec)
    return calls


def ring_with_random_targets(n: int = 512, seed: int = 0) -> Network:
    """A ring: each neuron drives its neighbours at distance 1 and 2 and one random neuron."""
    rng = np.random.default_rng(seed)
    src = np.repeat(np.arange(n), 5)
    off = np.tile([-2, -1, 1, 2, 0], n)
    tgt = (src + off) % n
    rand = off == 0
    tgt[rand] = rng.integers(0, n, int(rand.sum()))
    keep = tgt != src
    w = np.zeros((n, n))
    w[tgt[keep], src[keep]] = 1.0
    net = Network(name="ring")
    net.add(Population("x", n, LIF()))
    net.add(Connection("x", "x", w))
    return net


def axon_chip(in_axons: int) -> ChipSpec:
    return ChipSpec(name="c", core=CoreLimits(max_compartments=512, max_in_axons=in_axons, max_out_axons=512,
                                              synapse_mem_bits=1 << 20),
                    noc=NocSpec(tile_grid=(8, 8), cores_per_tile=1),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))
