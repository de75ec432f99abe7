"""Annealing refinement (mapper.place.anneal, through the "anneal" placer): optimal layouts, seeds, phases."""
import numpy as np
import pytest

from mapper import MappingOptions
from mapper.nets import Nets
from mapper.place import place, placement_cost
from tests.mapper.place.helpers import chain_nets, mesh, random_nets


def test_anneal_finds_the_optimal_chain_layout():
    # a chain of 16 parts on a 4 x 4 mesh: optimum = 15 hops (a Hamiltonian path of unit steps)
    chip = mesh(4, 4)
    nets = chain_nets(16)
    start = np.random.default_rng(1).permutation(16)
    bad = placement_cost(nets, chip, start)["links"]
    opts = MappingOptions(placer="anneal", seed=0, time_budget_s=0,
                          place_options=dict(lam=0.0, pair_moves=20000, exact_moves=1000))
    p = place(nets, chip, opts)
    assert p.cost["links"] == pytest.approx(15.0)
    assert p.cost["links"] < bad
    assert p.cost["objective"] <= p.initial_cost["objective"]


def test_anneal_is_seeded_and_never_worse_than_hilbert():
    rng = np.random.default_rng(5)
    k = 20
    src = rng.integers(0, k, 60)
    dst = [sorted(set(rng.integers(0, k, rng.integers(1, 4)).tolist())) for _ in src]
    ptr = np.concatenate([[0], np.cumsum([len(d) for d in dst])])
    nets = Nets(src=src, ptr=ptr, dst=np.concatenate(dst), rate=rng.random(60), count=np.ones(60, int),
                neuron_net=np.zeros(0, int), n_parts=k)
    chip = mesh(4, 4, cpt=2)
    opts = MappingOptions(placer="anneal", seed=3, time_budget_s=0,
                          place_options=dict(pair_moves=3000, exact_moves=600, lam=2.0))
    a = place(nets, chip, opts)
    b = place(nets, chip, opts)
    h = place(nets, chip, MappingOptions(placer="hilbert"))
    assert np.array_equal(a.core, b.core)
    assert a.cost["objective"] <= placement_cost(nets, chip, h.core, lam=2.0)["objective"] + 1e-9
    assert a.initial_cost == placement_cost(nets, chip, h.core, lam=2.0)
    assert len(set(a.core.tolist())) == k


def test_anneal_reports_progress_per_phase_without_changing_the_result():
    chip = mesh(4, 4)
    nets = chain_nets(16)
    opts = MappingOptions(placer="anneal", seed=0, time_budget_s=0,
                          place_options=dict(lam=1.0, pair_moves=5000, exact_moves=2000))
    calls = []
    a = place(nets, chip, opts, progress=lambda stage, done, total: calls.append((stage, done, total)))
    b = place(nets, chip, opts)
    assert np.array_equal(a.core, b.core)  # reporting does not touch the random stream
    stages = [c[0] for c in calls]
    assert list(dict.fromkeys(stages)) == ["place: pairwise", "place: exact", "place: polish"]
    for stage, total in (("place: pairwise", 5000), ("place: exact", 2000), ("place: polish", 1000)):
        mine = [c for c in calls if c[0] == stage]
        assert all(t == total for _, _, t in mine)
        done = [d for _, d, _ in mine]
        assert done == sorted(done) and done[0] == 0 and done[-1] == total


def test_polish_phase_lowers_links_without_raising_the_busiest_link():
    nets, chip = random_nets(), mesh(4, 4, cpt=2)
    opts = MappingOptions(placer="anneal", seed=3, time_budget_s=0,
                          place_options=dict(pair_moves=3000, exact_moves=600, lam=2.0))
    plain = place(nets, chip, opts.replace(place_options={**opts.place_options, "polish_moves": 0}))
    polished = place(nets, chip, opts.replace(place_options={**opts.place_options, "polish_moves": 2000}))
    assert polished.cost["max_link_load"] <= plain.cost["max_link_load"] + 1e-9
    assert polished.cost["links"] <= plain.cost["links"] + 1e-9
    assert polished.cost["objective"] <= plain.cost["objective"] + 1e-9


def test_links_slack_zero_gives_the_lexicographic_optimum_found_by_enumeration():
    # 5 all-to-all parts (rates 1..5) on a 3 x 3 mesh: enumerate all 15,120 placements; with a heavy
    # busiest-link weight the optimum spends links, and links_slack=0 from a links-optimal start must
    # instead reach the best objective among the links-optimal placements
    import itertools

    from mapper.place.anneal import refine

    k, lam = 5, 50.0
    src = np.arange(k)
    dst = np.concatenate([[j for j in range(k) if j != i] for i in src])
    nets = Nets(src=src, ptr=np.arange(0, k * (k - 1) + 1, k - 1), dst=dst, rate=np.arange(1.0, k + 1),
                count=np.ones(k, int), neuron_net=np.zeros(0, int), n_parts=k)
    chip = mesh(3, 3)
    every = [(np.array(c), placement_cost(nets, chip, np.array(c), lam=lam))
             for c in itertools.permutations(range(9), k)]
    least = min(c["links"] for _, c in every)
    best = min(c["objective"] for _, c in every)
    best_at_least = min(c["objective"] for _, c in every if c["links"] <= least + 1e-9)
    assert best < best_at_least  # the two objectives do conflict here
    start = next(p for p, c in every if c["links"] <= least + 1e-9)
    kw = dict(seed=0, time_budget_s=0, pair_moves=0, exact_moves=2000, polish_moves=0, lam=lam, multicast=True,
              chip_weight=1.0)
    loose = placement_cost(nets, chip, refine(nets, chip, start, **kw), lam=lam)
    tight = placement_cost(nets, chip, refine(nets, chip, start, links_slack=0.0, **kw), lam=lam)
    assert loose["objective"] == pytest.approx(best) and loose["links"] > least
    assert tight["links"] == pytest.approx(least) and tight["objective"] == pytest.approx(best_at_least)


def test_move_budget_is_a_pure_function_of_the_sizes_and_the_work():
    """The default moves come from the sizes and the work budget alone (no clock): the caps
    2000 k / 100 k / 50 k for a large budget, the floor of 100 moves for a tiny one, monotone
    between, and the same for equal inputs."""
    from mapper.nets import quotient
    from mapper.place.anneal import MOVE_COST, move_budget
    from mapper.place.cost import LinkCost

    k = 20
    nets = random_nets(k, 200, seed=2)
    chip = mesh(5, 4)
    cost = LinkCost(nets, chip, np.arange(k), multicast=True, lam=1.0, chip_weight=1.0)
    T = quotient(nets)
    assert move_budget(nets, T, cost, work=1e12) == (2000 * k, 100 * k, 50 * k)
    assert move_budget(nets, T, cost, work=1.0) == (100, 100, 100)
    mid = move_budget(nets, T, cost, work=2e5)
    assert mid == move_budget(nets, T, cost, work=2e5)
    a, b = MOVE_COST["pair"]
    assert mid[0] == int(0.25 * 2e5 // (a + b * T.nnz / k))  # share / modelled cost of a pairwise move
    assert all(100 <= m for m in mid) and mid < move_budget(nets, T, cost, work=4e5)


def test_a_passed_deadline_skips_every_phase_and_says_so():
    import time

    from mapper.place.anneal import refine

    nets = random_nets(12, 80, seed=1)
    chip = mesh(4, 4)
    start = np.arange(12)
    stats = {}
    core = refine(nets, chip, start, seed=0, lam=None, chip_weight=1.0, multicast=True,
                  deadline=time.perf_counter() - 1.0, stats=stats)
    assert np.array_equal(core, start) and stats["tried"] == 0
    assert stats["budget_bound"] == ["place: pairwise", "place: exact", "place: polish"]
    free = {}
    refine(nets, chip, start, seed=0, lam=None, chip_weight=1.0, multicast=True, work=1e5, stats=free)
    assert free["budget_bound"] == [] and free["tried"] > 0
