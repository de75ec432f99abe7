"""Output-axon-bound networks: the fixed-point core bound, sequential costs, capacity errors.

Hand-computed ground truth: an all-to-all layer of ``n`` neurons split into ``K`` parts gives
every neuron ``K`` destination cores (each part holds one of its targets), so a part of ``s``
neurons uses ``s K`` output axons; with ``max_out_axons = n`` only equal parts fit
(``max_s s K >= n`` with equality iff all parts are equal).
"""
import math

import re

import numpy as np
import pytest
import scipy.sparse as sp

from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.graph import build_graph, core_rows
from mapper.partition import partition, sequential
from mapper.resources import (check_board_fits, core_usage, demand_lower_bounds, fanout_bound, limits_of, min_cores, out_axon_lower_bound,
                              synapse_bits_lower_bound, synapse_min_cores)
from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF


def chip_with(cores=(4, 4), **core):
    lim = dict(max_compartments=16, max_in_axons=64, max_out_axons=64, synapse_mem_bits=1 << 20, synapse_word_bits=16,
               weight_bits=4, synapse_index_bits=4, synapse_row_overhead_bits=4)
    lim.update(core)
    return ChipSpec(name="t", core=CoreLimits(**lim), noc=NocSpec(tile_grid=cores, cores_per_tile=1),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def graph_of(w, name="net"):
    net = Network(name=name)
    net.add(Population("P", w.shape[0], LIF()))
    net.add(Connection("P", "P", w))
    return build_graph(net, ActivityProfile.assumed(net, 0.1))


def all_to_all(n):
    w = np.ones((n, n))
    np.fill_diagonal(w, 0.0)
    return graph_of(w, f"ata{n}")


def test_all_to_all_needs_equal_parts_and_the_bound_finds_them():
    # 24 neurons, 5 per core, 24 output axons: 5 cores (5,5,5,5,4) would need 5 * 5 = 25 output
    # axons on a full core, so the optimum is 6 cores of 4 (4 * 6 = 24); the demand bound says 5
    g = all_to_all(24)
    chip = chip_with(max_compartments=5, max_out_axons=24)
    assert min_cores(g, chip) == (6, "out_axons")
    for strategy in ("sequential", "metis"):
        p = partition(g, chip, strategy=strategy)
        u = core_usage(g, chip, p.part, n_parts=p.n_parts)
        assert u.violations() == []
        assert p.n_parts == 6 and p.k_min == 6 and p.binding == "out_axons", strategy
        assert np.bincount(p.part).tolist() == [4] * 6
        assert u.used["out_axons"].tolist() == [24] * 6


def test_fixed_point_iterates_from_the_demand_bound():
    # 64 neurons, 16 per core, 128 output axons: K=4 -> a core holds 128 / 4 = 32 (16 by compartments),
    # fine; with 64 output axons: 4 -> 64 / 4 = 16 -> 4 cores of 16 use 64 each: K = 4.
    # With 48: 4 -> 12 per core -> 6 cores -> 8 per core -> 8 cores -> 6 per core -> 11 -> 4 -> 16 -> 3
    # -> 22 -> 2 -> 32 -> 1 -> 64 (singletons): one neuron alone reaches 63 > 48 cores, so no partition fits.
    g = all_to_all(64)
    assert out_axon_lower_bound(g, chip_with(max_out_axons=64), 4)[0] == 4
    assert out_axon_lower_bound(g, chip_with(max_out_axons=48), 4)[0] == 64
    # 128 output axons and 8 compartments: 8 cores of 8 need 64 each
    assert min_cores(g, chip_with(max_compartments=8, max_out_axons=128)) == (8, "compartments")


@pytest.mark.parametrize("mem, exact", [(256, True), (400, True), (600, True), (900, False), (1500, True)])
def test_input_side_core_size_bounds_the_truth(mem, exact):
    # k_in is the most neurons a core can hold on the input side: never below the truth (the bound
    # stays valid). At 900 bits the truth is 8 (rows of 7 and 8 synapses: 8 x 64 + 4 x 80 = 832;
    # 9 neurons need 12 x 80 = 960) but the bound takes the cheapest row per synapse, 9 synapses in
    # 80 bits, for every synapse: 99 x 80 / 9 = 880 <= 900, so it allows 9
    n = 12
    g = all_to_all(n)
    chip = chip_with(synapse_mem_bits=mem, max_compartments=n)
    lims = limits_of(chip.core)
    fits = []
    for s in range(1, n + 1):
        part = np.where(np.arange(n) < s, 0, 1)
        u = core_usage(g, chip, part, n_parts=2)
        fits.append(u.used["synapse_bits"][0] <= lims["synapse_bits"] and u.used["in_axons"][0] <= lims["in_axons"])
    truth = max(s for s, ok in zip(range(1, n + 1), fits) if ok)
    k_in = fanout_bound(g, chip).k_in
    assert k_in == truth if exact else k_in == truth + 1


@pytest.mark.parametrize("seed", range(8))
def test_bound_never_exceeds_a_feasible_partition(seed):
    # dense random networks (some neurons silent, some with self-synapses); the output-axon fixed
    # point raises the bound above the demand bound for seeds 1, 5 and 6
    rng = np.random.default_rng(seed)
    n = 48
    w = (rng.random((n, n)) < rng.uniform(0.6, 0.95)).astype(float)
    w[:, rng.choice(n, 4, replace=False)] = 0.0  # neurons without targets
    g = graph_of(sp.csr_matrix(w))
    chip = chip_with(cores=(8, 8), max_compartments=12, max_out_axons=int(rng.integers(48, 120)),
                     max_in_axons=64, synapse_mem_bits=int(rng.integers(1200, 3000)))
    k_lb, _ = min_cores(g, chip)
    for strategy in ("sequential", "metis"):
        p = partition(g, chip, strategy=strategy)
        assert core_usage(g, chip, p.part, n_parts=p.n_parts).violations() == []
        assert k_lb <= p.n_parts, strategy


def test_sequential_starts_from_the_bound_costs():
    # the all-to-all costs d_v(K) = K are exact: one fill gives 6 equal cores without any refill
    g = all_to_all(24)
    chip = chip_with(max_compartments=5, max_out_axons=24)
    part = sequential(g, chip, k=6, max_iter=0)
    assert np.bincount(part).tolist() == [4] * 6


def test_sequential_refills_until_the_costs_hold():
    # started from too few cores (k=1 -> cost 1 per neuron), the costs are raised to the actual
    # destination cores until every core fits
    g = all_to_all(24)
    chip = chip_with(max_compartments=5, max_out_axons=24)
    part = sequential(g, chip, k=1)
    k = int(part.max()) + 1
    assert core_usage(g, chip, part, n_parts=k).violations() == []


def test_out_axon_bound_beyond_the_board_raises_with_cores_and_chips():
    # 6 cores needed, the board has 5 (the demand bound, 5, would fit)
    g = all_to_all(24)
    chip = chip_with(cores=(1, 5), max_compartments=5, max_out_axons=24)
    for strategy in ("sequential", "metis"):
        with pytest.raises(CapacityError) as err:
            partition(g, chip, strategy=strategy)
        e = err.value
        assert e.resource == "cores" and e.used == 6 and e.limit == 5
        msg = str(e)
        assert "max_out_axons" in msg and "at least 6 cores (2 chip(s) of 5 cores)" in msg
        assert "at most 4 neuron(s)" in msg
    with pytest.raises(CapacityError):
        check_board_fits(g, chip)


def test_sequential_takes_the_safe_fill_when_caps_do_not_settle():
    # a dense random layer (p = 0.5): nearly every core holds a target of every neuron, so a core
    # of s neurons on K cores needs about s K <= 200 output axons and every refill moves every
    # neuron's destinations; per-core caps chase each other, and the safe costs min(t_v, K) = K
    # settle on 20 cores of 10 (10 x 20 = 200), feasible by construction, without repair moves
    rng = np.random.default_rng(0)
    n = 200
    w = (rng.random((n, n)) < 0.5).astype(float)
    np.fill_diagonal(w, 0.0)
    g = graph_of(sp.csr_matrix(w))
    chip = chip_with(cores=(8, 8), max_compartments=16, max_out_axons=200, max_in_axons=200)
    p = partition(g, chip, strategy="sequential")
    u = core_usage(g, chip, p.part, n_parts=p.n_parts)
    assert u.violations() == [] and p.repair_moves == 0
    assert p.n_parts == 20 and np.bincount(p.part).tolist() == [10] * 20
    assert p.k_min <= p.n_parts


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


def test_graph_partitioner_without_a_feasible_result_falls_back_to_sequential_fill_and_says_so():
    net, act = dense_mlp()
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **MLP_CHIP)
    seq = partition(g, chip, strategy="sequential")
    assert seq.fallback == "" and not seq.usage.violations()
    p = partition(g, chip, strategy="metis")
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
    from mapper.api import map_network

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
    n_seq = partition(g, chip_with(cores=(8, 8), **MLP_CHIP), strategy="sequential").n_parts
    small = chip_with(cores=(4, 4), **MLP_CHIP)  # 16 cores < what sequential fill needs
    assert n_seq > 16
    with pytest.raises(CapacityError) as exc:
        partition(g, small, strategy="metis", repair_budget_s=5.0)
    msg = str(exc.value)
    assert "cores" in msg and "expected <= 16" in msg
    # the fewest cores either found is reported (metis alone needs several times more here)
    with pytest.raises(CapacityError) as seq_exc:
        partition(g, small, strategy="sequential")
    assert exc.value.resource == seq_exc.value.resource == "cores"
    assert exc.value.used <= seq_exc.value.used


def test_sequential_grows_the_costs_of_dense_layers_to_their_measured_destinations(caplog):
    """Dense layers: a neuron of layer l reaches every core of layer l + 1, so after one fill its
    measured destination count is its cost; the fill settles in a few refills, exactly."""
    import logging

    net, act = dense_mlp((20, 60, 60, 4))
    g = build_graph(net, act)
    chip = chip_with(cores=(8, 8), **MLP_CHIP)
    with caplog.at_level(logging.INFO, logger="mapper.partition"):
        part = sequential(g, chip)
    k = int(part.max()) + 1
    u = core_usage(g, chip, part, n_parts=k)
    assert u.violations() == []
    refills = [r.message for r in caplog.records if r.message.startswith("sequential refill")]
    assert 1 <= len(refills) <= 3 and "reach more cores than costed" in refills[0]
    # every neuron of L1 reaches every core holding L2 (dense), and its core pays for each
    l1 = np.arange(20, 80)
    l2_cores = np.unique(part[80:140])
    rows = core_rows(g, part, k)
    ndest = np.bincount(rows.src, minlength=g.n)
    assert (ndest[l1] == l2_cores.size).all()


def test_a_repair_stopped_by_its_budget_says_so_and_sequential_fill_is_not_limited(monkeypatch):
    """A graph partitioner's repair that runs out of time has not run out of moves: the hand-over
    names the budget; sequential fill's own repair, the last resort, runs to the end."""
    import mapper.partition as mp

    g = all_to_all(40)
    chip = chip_with(max_compartments=16, max_out_axons=200)
    one_part = lambda graph, chip, *, k, seed=0, **kw: np.zeros(graph.n, np.int64)  # noqa: E731
    monkeypatch.setitem(mp.STRATEGIES, "metis", one_part)
    monkeypatch.setitem(mp.STRATEGIES, "sequential", one_part)  # everything on one core: the repair must split
    p = partition(g, chip, strategy="metis", repair_budget_s=0.0)
    assert p.strategy == "sequential" and "the repair stopped at its 0 s budget" in p.fallback
    assert p.n_parts == 3 and p.usage.violations() == []
    assert partition(g, chip, strategy="sequential", repair_budget_s=0.0).n_parts == 3


def test_out_axon_board_error_gives_the_numbers_that_bind():
    """Dense layers (424 neurons, at most 64 per core by compartments and output axons): the bound,
    17 cores, comes from the total -- 1080 destination cores at 64 output axons per core -- not from
    the neurons per core (424 / 64 -> 7); the message must say so (it said "a neuron reaches at
    least 0 destination core(s)", the output layer's, and only the per-core size)."""
    import re

    net, act = dense_mlp((20, 200, 200, 4))
    g = build_graph(net, act)
    chip = chip_with(cores=(2, 2), max_compartments=64, max_out_axons=64, max_in_axons=4096, synapse_mem_bits=1 << 24)
    with pytest.raises(CapacityError) as err:
        check_board_fits(g, chip)
    msg = str(err.value)
    total = int(re.search(r"at least (\d+) destination cores in all", msg).group(1))
    s_max = int(re.search(r"at most (\d+) neuron\(s\)", msg).group(1))
    k = err.value.used
    assert k == 17 and max(-(-total // 64), -(-g.n // s_max)) == k


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
    p = partition(g, chip, strategy=strategy)
    assert (p.n_parts, p.k_min, p.new_cores) == (4, 4, 0)
    assert p.usage.violations() == [] and np.bincount(p.part).tolist() == [16] * 4


# --- dense layers: synapse rows per (source, destination core), over-full attempts ---------------
ROWS_CHIP = dict(max_compartments=64, max_out_axons=4096, max_in_axons=4096, synapse_mem_bits=32768,
                 synapse_word_bits=64, synapse_row_overhead_bits=16)


def _recording_metis(monkeypatch):
    """Wrap the metis strategy: every attempt's ``k`` and the mean fill of its raw parts."""
    import mapper.partition as mp
    from mapper.resources import RESOURCES

    real, calls = mp.metis, []

    def rec(graph, chip, *, k, **kw):
        raw = real(graph, chip, k=k, **kw)
        part, n = mp._compact(np.asarray(raw, dtype=np.int64))
        u = core_usage(graph, chip, part, n_parts=n)
        lims = limits_of(chip.core)
        calls.append((k, max(float(u.used[r].sum()) / (n * lims[r]) for r in RESOURCES if lims[r])))
        return raw

    monkeypatch.setitem(mp.STRATEGIES, "metis", rec)
    return calls


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
    calls = _recording_metis(monkeypatch)
    p = partition(g, chip, strategy="metis", n_parts=k_min)
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
    calls = _recording_metis(monkeypatch)
    p = partition(g, chip, strategy="metis")
    assert calls[0][0] == k_syn and p.fallback == "" and p.usage.violations() == []
    seq = partition(g, chip, strategy="sequential")
    for q in (p, seq):
        assert synapse_min_cores(g, chip, 1) <= q.n_parts
        assert synapse_bits_lower_bound(g, chip, q.n_parts) <= int(q.usage.used["synapse_bits"].sum())


@pytest.mark.parametrize("seed", range(6))
def test_row_level_bounds_never_exceed_a_feasible_partition(seed):
    """Random layered networks (dense and sparse layers, multi-synapse pairs from two connections):
    every neuron reaches at least ``dest_lower`` cores (with the targets' payload spread), and the
    total synapse memory is at least :func:`synapse_bits_lower_bound` at the parts used."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(8, 60, size=4)
    net = Network(name="layers")
    for i, s in enumerate(sizes):
        net.add(Population(f"L{i}", int(s), LIF()))
    for i in range(3):
        w = rng.normal(size=(sizes[i + 1], sizes[i])) * (rng.random((sizes[i + 1], sizes[i])) < rng.uniform(0.2, 1))
        net.add(Connection(f"L{i}", f"L{i + 1}", sp.csr_matrix(w)))
    net.add(Connection("L0", "L1", rng.normal(size=(sizes[1], sizes[0])), name="L0->L1 twice"))  # 2 synapses a pair
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(cores=(8, 8), max_compartments=int(rng.integers(8, 40)), max_out_axons=4096, max_in_axons=4096,
                     synapse_mem_bits=int(rng.integers(4, 12)) * 1024, synapse_word_bits=int(rng.choice([16, 32, 64])),
                     synapse_row_overhead_bits=int(rng.integers(0, 20)))
    fb = fanout_bound(g, chip)
    for strategy in ("sequential", "metis"):
        p = partition(g, chip, strategy=strategy)
        assert p.usage.violations() == []
        ndest = np.bincount(p.rows.src, minlength=g.n)
        assert (fb.dest_lower(p.n_parts, shared=False) <= ndest).all(), strategy
        assert synapse_bits_lower_bound(g, chip, p.n_parts, fb=fb) <= int(p.usage.used["synapse_bits"].sum()), strategy
        assert synapse_min_cores(g, chip, 1, fb=fb) <= p.n_parts, strategy


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
    partition(g, chip, strategy="metis", n_parts=k_min + 1, repair_budget_s=0.5)  # synapse memory 108 % full
    assert ks[0] == k_min + 1 and all(b > a for a, b in zip(ks, ks[1:])), ks
