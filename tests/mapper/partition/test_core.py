"""The partition stage (mapper.partition.core): attempts, retries, hand-overs and the errors that say why."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import scipy.sparse as sp

from mapper import MappingOptions
from mapper.graph import build_graph
from mapper.partition import STRATEGIES, partition
from mapper.place.placers import complete_start
from mapper.resources import core_usage, demand_lower_bounds, min_cores, synapse_bits_lower_bound, synapse_min_cores
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from tests.helpers import make_tiny_chip
from tests.mapper.partition.helpers import (MLP_CHIP, ROWS_CHIP, all_to_all, axon_chip, check_feasible, chip_with,
                                            clustered, dense_mlp, recording_metis, ring_with_random_targets)


def test_metis_overfill_is_repaired_or_cores_added():
    # 64 neurons exactly fill 4 cores of 16: any imbalance forces the repair to add a core
    net, _ = clustered(n_clusters=4, size=16, p_out=0.1)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_compartments=16)
    p = partition(g, chip, MappingOptions(partitioner="metis"), slack=0.0)
    check_feasible(g, chip, p)
    assert p.k_min == 4 and p.n_parts >= 4


def test_too_big_for_board_raises_with_cores_needed():
    net, _ = clustered(n_clusters=4, size=16)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(cores=(1, 2), max_compartments=16)  # 2 cores for 64 neurons
    for s in STRATEGIES:
        with pytest.raises(CapacityError) as err:
            partition(g, chip, MappingOptions(partitioner=s))
        assert "max_compartments" in str(err.value) and "at least 4 cores" in str(err.value)


def test_unknown_strategy():
    net, _ = clustered(n_clusters=2, size=4)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    with pytest.raises(MappingError, match="unknown strategy"):
        partition(g, chip_with(), MappingOptions(partitioner="kahypar-does-not-exist"))


def test_dest_cores_per_neuron_limit_is_checked():
    net, _ = clustered(n_clusters=4, size=16, p_out=0.2)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    with pytest.raises(CapacityError, match="max_out_axons_per_neuron"):
        partition(g, chip_with(max_compartments=16, max_out_axons_per_neuron=1),
                  MappingOptions(partitioner="sequential"))


def test_next_k_scales_over_full_parts_else_adds_three_percent_then_follows_the_secant():
    from mapper.partition.core import _next_k

    # over-full on average (f > 1): at least k f / (1 - slack) = 121.2 -> 122, not + 3 %
    assert _next_k([(100, 1.2)], slack=0.01, cap=1000) == 122
    # later: the secant through (100, 1.2) and (103, 1.1) reaches 0.99 at 106.3, below
    # 103 x 1.1 / 0.99 = 114.4 -> 115
    assert _next_k([(100, 1.2), (103, 1.1)], slack=0.01, cap=1000) == 115
    # f falls slowly (per-part overheads): the secant, 103 + 0.2 x 3 / 0.01 = 163, goes further
    assert _next_k([(100, 1.2), (103, 1.19)], slack=0.01, cap=1000) == 163
    # full but not over-full: the partitioner's imbalance; + 3 %
    assert _next_k([(100, 0.995)], slack=0.01, cap=1000) == 103
    # the secant capped by k f / (1 - slack) (at most 1 % more here): the step wins
    assert _next_k([(100, 1.0), (103, 0.995)], slack=0.01, cap=1000) == 107
    assert _next_k([(100, 1.5), (103, 1.0)], slack=0.01, cap=1000) == 107
    # never beyond the board
    assert _next_k([(100, 1.2), (103, 1.19)], slack=0.01, cap=110) == 110


def _layers_with_skip(seed=63, sizes=(6, 5, 4), density=0.3):
    """Random layers with a self-connection and a skip connection (a network sequential fill packs
    badly: it needs 5 of tiny's 4 cores, METIS fits 4)."""
    rng = np.random.default_rng(seed)
    net = Network(name=f"rand{seed}")
    names = [f"p{i}" for i in range(len(sizes))]
    for n, s in zip(names, sizes):
        net.add(Population(n, s, LIF(tau_s=1e-3, reset="zero")))
    for i in range(1, len(sizes)):
        W = sp.random(sizes[i], sizes[i - 1], density=density, random_state=rng.integers(1 << 30),
                      data_rvs=lambda k: rng.normal(0, 1, k))
        net.add(Connection(names[i - 1], names[i], W.tocsr() if rng.random() < 0.5 else W.toarray(),
                           delay_steps=int(rng.integers(1, 3))))
    W = sp.random(sizes[-1], sizes[-1], density=density, random_state=rng.integers(1 << 30))
    net.add(Connection(names[-1], names[-1], W.tocsr()))
    W = sp.random(sizes[2], sizes[0], density=density / 2, random_state=rng.integers(1 << 30))
    net.add(Connection(names[0], names[2], W.tocsr(), name="skip"))
    counts = {p.name: rng.integers(0, 20, p.size) for p in net.populations}
    return net, ActivityProfile.from_counts(net, counts, steps=100, batch=2, dt_s=1e-3, source="test")


def test_a_strategy_that_needs_more_cores_says_so_and_what_else_may_fit():
    """The error is one strategy's result, not the network's requirement: it names the strategy,
    the lower bound, and a partitioner not yet tried."""
    from mapper.chipload import load_chip

    chip = load_chip("tiny")
    net, act = _layers_with_skip()
    g = build_graph(net, act)
    assert partition(g, chip, MappingOptions(partitioner="metis")).n_parts <= chip.n_cores
    with pytest.raises(CapacityError, match=r"partition 'sequential' needs 5 cores .* no partition can use fewer "
                                            r"than 4 cores, so another partitioner may fit: try partitioner='metis' "
                                            r"or 'hypergraph'"):
        partition(g, chip, MappingOptions(partitioner="sequential"))


def test_graph_partitioner_without_a_feasible_result_falls_back_to_sequential_fill_and_says_so():
    net, act = dense_mlp()
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **MLP_CHIP)
    seq = partition(g, chip, MappingOptions(partitioner="sequential"))
    assert seq.fallback == "" and not seq.usage.violations()
    p = partition(g, chip, MappingOptions(partitioner="metis"))
    assert p.strategy == "sequential" and np.array_equal(p.part, seq.part)
    # metis mixes the dense layers on every core: more parts are no emptier, so it stops as soon as
    # two attempts show it instead of repairing a hopeless last one (the MLP of 784-4096-4096-10 on 3 x 3 loihi1
    # chips: 65 s instead of 139 s before the hand-over, the same 794 cores)
    m = re.match(r"'metis' found no feasible partition on the board in [23] attempt\(s\); its parts were over-full "
                 r"on average with (\d+) parts \((\d+) %\) and with (\d+) \((\d+) % of a core's max_\w+\): "
                 r"its demand grows with their number; sequential fill used$", p.fallback)
    assert m, p.fallback
    ka, fa, kb, fb = (int(v) for v in m.groups())
    assert kb > ka and 100 < fa <= fb
    from mapper import map_network

    calls = []
    rep = map_network(net, chip, act, placer="hilbert",
                      progress=lambda stage, done, total: calls.append(stage)).report.to_dict()
    # the stages a progress bar shows: the attempts, then the hand-over
    assert list(dict.fromkeys(calls))[:3] == ["partition", "partition: metis", "partition: sequential"]
    assert rep["partition"]["strategy"] == "sequential" and rep["partition"]["requested"] == "metis"
    assert rep["partition"]["fallback"].endswith("sequential fill used")
    assert any(n.startswith("partition: 'metis' found no feasible partition") for n in rep["notes"])
    assert rep["partition"]["cores_used"] == seq.n_parts
    from mapper.export import placement_dict

    result = map_network(net, chip, act, placer="hilbert")
    strategies = placement_dict(result, partitioner="metis", placer="hilbert")["strategies"]
    assert strategies["partitioner"] == "sequential" and strategies["requested_partitioner"] == "metis"


def test_when_neither_fits_the_board_the_error_says_how_many_cores_it_would_take():
    net, act = dense_mlp()
    g = build_graph(net, act)
    n_seq = partition(g, chip_with(cores=(8, 8), **MLP_CHIP), MappingOptions(partitioner="sequential")).n_parts
    small = chip_with(cores=(4, 4), **MLP_CHIP)  # 16 cores < what sequential fill needs
    assert n_seq > 16
    with pytest.raises(CapacityError) as exc:
        partition(g, small, MappingOptions(partitioner="metis", repair_budget_s=5.0))
    msg = str(exc.value)
    assert "cores" in msg and "expected <= 16" in msg
    # the fewest cores either found is reported (metis alone needs several times more here)
    with pytest.raises(CapacityError) as seq_exc:
        partition(g, small, MappingOptions(partitioner="sequential"))
    assert exc.value.resource == seq_exc.value.resource == "cores"
    assert exc.value.used <= seq_exc.value.used


def test_a_repair_stopped_by_its_budget_says_so_and_sequential_fill_is_not_limited(monkeypatch):
    """A graph partitioner's repair that runs out of time has not run out of moves: the hand-over
    names the budget; sequential fill's own repair, the last resort, runs to the end."""
    import mapper.partition as mp

    g = all_to_all(40)
    chip = chip_with(cores=(4, 4), max_compartments=16, max_out_axons=200)
    one_part = lambda graph, chip, *, k, seed=0, **kw: np.zeros(graph.n, np.int64)  # noqa: E731
    monkeypatch.setitem(mp.STRATEGIES, "metis", one_part)
    monkeypatch.setitem(mp.STRATEGIES, "sequential", one_part)  # everything on one core: the repair must split
    p = partition(g, chip, MappingOptions(partitioner="metis", repair_budget_s=0.0))
    assert p.strategy == "sequential" and "the repair stopped at its 0 s budget" in p.fallback
    assert p.budget_bound == ("partition: repair",)  # a wall-clock cap bound it: not reproducible, reported
    assert p.n_parts == 3 and p.usage.violations() == []
    seq = partition(g, chip, MappingOptions(partitioner="sequential", repair_budget_s=0.0))
    assert seq.n_parts == 3 and seq.budget_bound == ()


@pytest.mark.parametrize("strategy", ["metis", "hypergraph"])
def test_graph_partitioners_retry_at_the_bound_when_output_axons_overflow(strategy):
    """all-to-all 64, 16 per core, 64 output axons: only 4 x 16 or 8 x 8 fit (s K <= 64 with
    s K >= 64); the 1 % slack starts at 5 parts, which overflows, and more parts overflow more,
    so the retry goes to the bound (4), not up to 8."""
    if strategy == "hypergraph":
        pytest.importorskip("mtkahypar")
    g = all_to_all(64)
    chip = chip_with(cores=(8, 8), max_compartments=16, max_out_axons=64, max_in_axons=1024,
                     synapse_mem_bits=1 << 24)
    p = partition(g, chip, MappingOptions(partitioner=strategy))
    assert (p.n_parts, p.k_min, p.new_cores) == (4, 4, 0)
    assert p.usage.violations() == [] and np.bincount(p.part).tolist() == [16] * 4


def test_over_full_attempts_scale_k_and_metis_itself_finds_a_feasible_partition(monkeypatch):
    """Dense layers 64-128-128-16: every source reaches several cores of the next layer, each row
    with its own 16-bit header and 64-bit rounding, so even at the row bound (8 cores) metis's parts,
    mixing the layers, hold more than a core's synapse memory on average. No balance can fit
    that: the next attempt takes at least k f / (1 - slack) parts (not + 3 %), and metis (no
    fallback) ends feasible within its three attempts."""
    net, act = dense_mlp((64, 128, 128, 16))
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **ROWS_CHIP)
    k_min, binding = min_cores(g, chip)
    # the demand bound (one header per source) says 7; the row bound (min_cores includes it) 8
    assert (k_min, binding) == (8, "synapse_bits") and -(-demand_lower_bounds(g, chip)["synapse_bits"] // 32768) == 7
    calls = recording_metis(monkeypatch)
    p = partition(g, chip, MappingOptions(partitioner="metis"), n_parts=k_min)
    (k1, f1), (k2, _) = calls[0], calls[1]
    assert k1 == k_min and f1 > 1.05
    assert k2 >= math.ceil(k1 * f1 / 0.99) > k1 + max(1, math.ceil(0.03 * k1))
    assert p.strategy == "metis" and p.fallback == "" and p.attempts <= 3
    assert p.usage.violations() == [] and core_usage(g, chip, p.part, n_parts=p.n_parts).violations() == []
    assert (p.usage.utilisation()["synapse_bits"] <= 1.0).all()


def test_graph_partitioners_start_from_the_row_level_synapse_bound(monkeypatch):
    """Without ``n_parts`` metis starts from :func:`synapse_min_cores` (one header and rounding per
    row; ``min_cores`` includes it at fill 1), above the plain demand bound, and a lower bound of
    every feasible partition."""
    net, act = dense_mlp((64, 128, 128, 16))
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **ROWS_CHIP)
    k_syn = synapse_min_cores(g, chip, 1, fill=0.99)
    assert k_syn >= min_cores(g, chip)[0] > -(-demand_lower_bounds(g, chip)["synapse_bits"] // 32768)
    calls = recording_metis(monkeypatch)
    p = partition(g, chip, MappingOptions(partitioner="metis"))
    assert calls[0][0] == k_syn and p.fallback == "" and p.usage.violations() == []
    seq = partition(g, chip, MappingOptions(partitioner="sequential"))
    for q in (p, seq):
        assert synapse_min_cores(g, chip, 1) <= q.n_parts
        assert synapse_bits_lower_bound(g, chip, q.n_parts) <= int(q.usage.used["synapse_bits"].sum())


def test_output_axon_retry_at_the_bound_not_taken_when_another_resource_is_over_full(monkeypatch):
    """Round-robin parts of dense layers: every neuron reaches every part (output axons overflow)
    and every source has a row in every part (synapse memory over-full on average). Fewer parts
    cannot hold that synapse memory, so the retry goes up, not back to ``k_min``."""
    import mapper.partition as mp

    net, act = dense_mlp((64, 128, 128, 16))
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **dict(ROWS_CHIP, max_out_axons=200))
    k_min = min_cores(g, chip)[0]
    ks = []

    def round_robin(graph, chip, *, k, **kw):
        ks.append(k)
        return np.arange(graph.n) % k

    monkeypatch.setitem(mp.STRATEGIES, "metis", round_robin)
    # synapse memory 108 % full
    partition(g, chip, MappingOptions(partitioner="metis", repair_budget_s=0.5), n_parts=k_min + 1)
    assert ks[0] == k_min + 1 and all(b > a for a, b in zip(ks, ks[1:])), ks


def test_a_metis_probe_sizes_the_first_attempt_when_input_axons_bind(caplog):
    """The input-axon lower bound (11 cores here) is far below what the random targets need; one
    cheap METIS partition measures the fill (~2x) and Mt-KaHyPar starts near the right count
    instead of spending an attempt on 11 parts. METIS itself is not probed."""
    import logging

    pytest.importorskip("mtkahypar")
    net = ring_with_random_targets()
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    with caplog.at_level(logging.INFO, logger="mapper.partition"):
        p = partition(g, axon_chip(48), MappingOptions(partitioner="hypergraph"))
    m = re.search(r"a METIS probe with (\d+) parts fills (\d+)% of a core on average; starting with (\d+) parts",
                  caplog.text)
    assert m, caplog.text
    k0, fill, start = (int(v) for v in m.groups())
    assert k0 == p.k_min == 11 and fill > 150 and start >= math.ceil(k0 * fill / 100)
    assert "hypergraph k=11:" not in caplog.text  # no attempt was spent on the lower bound
    assert not p.usage.violations() and p.n_parts >= start
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mapper.partition"):
        partition(g, axon_chip(48), MappingOptions(partitioner="metis"))
    assert "METIS probe" not in caplog.text


def test_cores_follow_their_parts_through_compaction_and_the_repair(monkeypatch):
    """A strategy's labels are renumbered (first appearance) and the repair adds cores: every part
    keeps the core chosen for its label, added parts get -1, and the placement starts from them."""
    import mapper.partition as mp

    chip = make_tiny_chip(chip_grid=(2, 1))  # 8 one-core tiles of 4 compartments
    net = Network(name="line")
    net.add(Population("p", 16, LIF()))
    net.add(Connection("p", "p", np.eye(16, k=-1)))  # i -> i + 1: few axons, only compartments bind
    act = ActivityProfile.from_counts(net, {"p": np.ones(16, int)}, steps=10, batch=1, dt_s=1e-3, source="synthetic")
    g = build_graph(net, act)
    label_core = np.array([7, 6, 5, 4, 3], dtype=np.int64)  # label j -> core label_core[j]; label 4 unused
    lab = np.full(16, 3, dtype=np.int64)  # labels 3, 1, 0 in order of first appearance
    lab[8:12], lab[12:] = 1, 0  # label 3 holds 8 neurons on a 4-compartment core, the others are full

    def fake(graph, chip_, *, k, seed=0, **_):
        return lab.copy(), label_core

    monkeypatch.setitem(mp.STRATEGIES, "steiner", fake)
    p = partition(g, chip, MappingOptions(partitioner="steiner"), attempts=1)
    assert not p.usage.violations() and p.cores.shape == (p.n_parts,) and p.n_parts == 4
    for q in range(p.n_parts):
        kept = np.unique(lab[p.part == q])
        assert kept.size == 1  # the full parts had no room: the repair moved label 3's excess to a new core
        if p.cores[q] >= 0:
            assert p.cores[q] == label_core[kept[0]]
    assert sorted(p.cores.tolist()) == [-1, 4, 6, 7]  # labels 3, 1, 0 keep theirs; the new core has none
    start = complete_start(chip, p.cores)
    assert np.unique(start).size == 4 and {4, 6, 7} <= set(start.tolist())
