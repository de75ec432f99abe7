"""Placers and their starts (mapper.place.placers): Hilbert order, spectral order, the block start, completed starts."""
from __future__ import annotations

import numpy as np
import pytest

from mapper.graph import build_graph, core_rows
from mapper.mesh import tile_coords
from mapper.nets import Nets, build_nets
from mapper.place.placers import block, block_start, complete_start, core_order, hilbert_d2xy, spectral_order
from tests.helpers import make_tiny_chip
from tests.mapper.place.helpers import chain_nets, mesh
from tests.mapper.place.test_twins import all_to_all, line_chip


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


def test_block_start_fills_whole_tiles_of_the_most_compact_rectangle():
    chip = line_chip(8, 4, cpt=4)
    net, act = all_to_all(80, np.arange(80), steps=80)
    g = build_graph(net, act)
    part = np.repeat(np.arange(20), 4)
    nets = build_nets(g, part, core_rows(g, part, 20))
    core = block_start(nets, chip)
    assert np.array_equal(block(nets, chip, seed=0, time_budget_s=0), core)  # the "block" placer
    X, Y = tile_coords(chip)
    assert np.unique(core).size == 20 and X[core].max() == 2 and Y[core].max() == 1  # 5 tiles -> 3 x 2 block
    assert np.bincount(core // 4).max() == 4  # whole tiles filled


def test_complete_start_fills_missing_cores_near_the_others():
    chip = make_tiny_chip(chip_grid=(2, 1))  # cores 0-3 on chip 0, 4-7 on chip 1
    out = complete_start(chip, np.array([0, -1, 1, -1]))
    assert out[0] == 0 and out[2] == 1 and len(set(out.tolist())) == 4
    # the centroid of cores 0 and 1 is tile (0.5, 0): the free tiles nearest to it are (0, 1) and (1, 1)
    assert {chip.global_tile(int(c)) for c in out[[1, 3]]} == {(0, 1), (1, 1)}


def test_complete_start_refuses_a_start_that_is_not_one_core_per_part():
    from neurosim.errors import MappingError

    chip = make_tiny_chip()
    for bad in ([0, 0, -1], [0, 9], [0, 1, 2, 3, -1]):
        with pytest.raises(MappingError, match=r"start placement 'tiny-code'"):
            complete_start(chip, np.array(bad))
