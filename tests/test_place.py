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


def test_identity_and_errors():
    chip = mesh(2, 2)
    nets = chain_nets(4)
    assert place(nets, chip, strategy="identity").core.tolist() == [0, 1, 2, 3]
    with pytest.raises(MappingError, match="unknown strategy"):
        place(nets, chip, strategy="nope")
    with pytest.raises(CapacityError):
        place(chain_nets(5), chip, strategy="identity")
    assert set(PLACERS) == {"identity", "hilbert", "anneal"}
