"""Placement: Hilbert order, spectral order, annealing refinement."""
import numpy as np
import pytest

from mapper.chipspec import ChipSpec, CoreLimits, EnergyModel, NocSpec, TimingModel
from mapper.place import PLACERS, core_order, hilbert_d2xy, place, placement_cost, spectral_order
from mapper.route import Nets, tile_coords
from neurosim.errors import CapacityError, MappingError


def mesh(tx, ty, cpt=1, chips=(1, 1)):
    return ChipSpec(name="m", core=CoreLimits(max_compartments=8, max_in_axons=8, max_out_axons=8,
                                              synapse_mem_bits=1024),
                    noc=NocSpec(tile_grid=(tx, ty), cores_per_tile=cpt, chip_grid=chips),
                    energy=EnergyModel(syn_op=1e-12, neuron_update_active=1e-12),
                    timing=TimingModel(syn_op=1e-9, neuron_update_active=1e-9))


def chain_nets(k, rate=1.0):
    """Part i sends to part i+1 (a path graph)."""
    src = np.arange(k - 1)
    return Nets(src=src, ptr=np.arange(k), dst=src + 1, rate=np.full(k - 1, rate), count=np.ones(k - 1, int),
                neuron_net=np.zeros(0, int), n_parts=k)


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_hilbert_curve_visits_every_cell_once_with_unit_steps(bits):
    n = 1 << (2 * bits)
    x, y = hilbert_d2xy(bits, np.arange(n))
    assert len(set(zip(x.tolist(), y.tolist()))) == n
    assert np.all(np.abs(np.diff(x)) + np.abs(np.diff(y)) == 1)


def test_core_order_is_a_permutation_and_chip_major():
    chip = mesh(8, 4, cpt=4, chips=(2, 2))
    order = core_order(chip)
    assert sorted(order.tolist()) == list(range(chip.n_cores))
    chips = order // chip.cores_per_chip
    assert len(np.flatnonzero(np.diff(chips))) == chip.n_chips - 1  # each chip one contiguous block
    X, Y = tile_coords(chip)
    tiles = (Y * 100 + X)[order]
    # the 4 slots of a tile are consecutive, and consecutive tiles inside a chip are mesh neighbours
    assert np.all(tiles[0::4] == tiles[3::4])
    first = order[: chip.cores_per_chip: 4]
    assert np.all(np.abs(np.diff(X[first])) + np.abs(np.diff(Y[first])) == 1)


def test_spectral_order_recovers_a_shuffled_chain():
    k = 12
    perm = np.random.default_rng(0).permutation(k)
    base = chain_nets(k)
    nets = Nets(src=perm[base.src], ptr=base.ptr, dst=perm[base.dst], rate=base.rate, count=base.count,
                neuron_net=base.neuron_net, n_parts=k)
    order = spectral_order(nets)
    seq = np.argsort(perm)[order]  # chain positions in spectral order
    assert seq.tolist() in (list(range(k)), list(range(k))[::-1])


def test_anneal_finds_the_optimal_chain_layout():
    # a chain of 16 parts on a 4 x 4 mesh: optimum = 15 hops (a Hamiltonian path of unit steps)
    chip = mesh(4, 4)
    nets = chain_nets(16)
    start = np.random.default_rng(1).permutation(16)
    bad = placement_cost(nets, chip, start)["links"]
    p = place(nets, chip, strategy="anneal", seed=0, time_budget_s=0, lam=0.0, pair_moves=20000, exact_moves=1000)
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
    kw = dict(seed=3, time_budget_s=0, pair_moves=3000, exact_moves=600, lam=2.0)
    a = place(nets, chip, strategy="anneal", **kw)
    b = place(nets, chip, strategy="anneal", **kw)
    h = place(nets, chip, strategy="hilbert")
    assert np.array_equal(a.core, b.core)
    assert a.cost["objective"] <= placement_cost(nets, chip, h.core, lam=2.0)["objective"] + 1e-9
    assert a.initial_cost == placement_cost(nets, chip, h.core, lam=2.0)
    assert len(set(a.core.tolist())) == k


def test_anneal_reports_progress_per_phase_without_changing_the_result():
    chip = mesh(4, 4)
    nets = chain_nets(16)
    kw = dict(strategy="anneal", seed=0, time_budget_s=0, lam=1.0, pair_moves=5000, exact_moves=2000)
    calls = []
    a = place(nets, chip, progress=lambda stage, done, total: calls.append((stage, done, total)), **kw)
    b = place(nets, chip, **kw)
    assert np.array_equal(a.core, b.core)  # reporting does not touch the random stream
    stages = [c[0] for c in calls]
    assert list(dict.fromkeys(stages)) == ["place: pairwise", "place: exact", "place: polish"]
    for stage, total in (("place: pairwise", 5000), ("place: exact", 2000), ("place: polish", 1000)):
        mine = [c for c in calls if c[0] == stage]
        assert all(t == total for _, _, t in mine)
        done = [d for _, d, _ in mine]
        assert done == sorted(done) and done[0] == 0 and done[-1] == total


def test_identity_and_errors():
    chip = mesh(2, 2)
    nets = chain_nets(4)
    assert place(nets, chip, strategy="identity").core.tolist() == [0, 1, 2, 3]
    with pytest.raises(MappingError, match="unknown strategy"):
        place(nets, chip, strategy="nope")
    with pytest.raises(CapacityError):
        place(chain_nets(5), chip, strategy="identity")
    assert set(PLACERS) == {"identity", "hilbert", "block", "anneal"}


def random_nets(k=20, n=60, seed=5):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, k, n)
    dst = [sorted(set(rng.integers(0, k, rng.integers(1, 4)).tolist())) for _ in src]
    ptr = np.concatenate([[0], np.cumsum([len(d) for d in dst])])
    return Nets(src=src, ptr=ptr, dst=np.concatenate(dst), rate=rng.random(n), count=np.ones(n, int),
                neuron_net=np.zeros(0, int), n_parts=k)


def test_link_cost_ceilings_refuse_exactly_the_moves_that_exceed_them():
    from mapper.anneal import LinkCost

    nets, chip = random_nets(k=12), mesh(4, 4)
    core = np.arange(12)
    base = placement_cost(nets, chip, core)
    free = LinkCost(nets, chip, core, multicast=True, lam=0.0, chip_weight=0.0)
    capped = LinkCost(nets, chip, core, multicast=True, lam=0.0, chip_weight=0.0)
    capped.cap, capped.total_cap = base["max_link_load"], base["links"] + 0.5
    refused = 0
    for p in range(12):
        for cq in range(16):
            if cq == p:
                continue
            q = cq if cq < 12 else -1
            moved = core.copy()
            moved[p] = cq
            if q >= 0:
                moved[q] = p
            truth = placement_cost(nets, chip, moved)  # recomputed from scratch
            over = truth["max_link_load"] > base["max_link_load"] + 1e-9 or truth["links"] > base["links"] + 0.5
            dv, _ = capped.delta(p, q, p, cq)
            if over:
                refused += 1
                assert dv == np.inf
            else:
                assert dv == pytest.approx(free.delta(p, q, p, cq)[0])
                assert dv == pytest.approx(truth["links"] - base["links"])
    assert refused > 0


def test_polish_phase_lowers_links_without_raising_the_busiest_link():
    nets, chip = random_nets(), mesh(4, 4, cpt=2)
    kw = dict(seed=3, time_budget_s=0, pair_moves=3000, exact_moves=600, lam=2.0)
    plain = place(nets, chip, strategy="anneal", polish_moves=0, **kw)
    polished = place(nets, chip, strategy="anneal", polish_moves=2000, **kw)
    assert polished.cost["max_link_load"] <= plain.cost["max_link_load"] + 1e-9
    assert polished.cost["links"] <= plain.cost["links"] + 1e-9
    assert polished.cost["objective"] <= plain.cost["objective"] + 1e-9


def test_links_slack_zero_gives_the_lexicographic_optimum_found_by_enumeration():
    # 5 all-to-all parts (rates 1..5) on a 3 x 3 mesh: enumerate all 15,120 placements; with a heavy
    # busiest-link weight the optimum spends links, and links_slack=0 from a links-optimal start must
    # instead reach the best objective among the links-optimal placements
    import itertools

    from mapper.anneal import refine

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
    kw = dict(seed=0, time_budget_s=0, pair_moves=0, exact_moves=2000, polish_moves=0, lam=lam, multicast=True)
    loose = placement_cost(nets, chip, refine(nets, chip, start, **kw), lam=lam)
    tight = placement_cost(nets, chip, refine(nets, chip, start, links_slack=0.0, **kw), lam=lam)
    assert loose["objective"] == pytest.approx(best) and loose["links"] > least
    assert tight["links"] == pytest.approx(least) and tight["objective"] == pytest.approx(best_at_least)
