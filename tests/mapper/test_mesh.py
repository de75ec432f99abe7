"""Mesh geometry (mapper.mesh): XY paths and link loads against brute force, tile coordinates, chip
boundaries and the most compact block of tiles."""
import numpy as np
import pytest

from mapper.mesh import DIRS, block_shape, boundary_masks, crossings, grid_shape, link_loads, tile_coords
from mapper.nets import segments
from tests.helpers import make_tiny_chip


def test_link_loads_difference_arrays_match_brute_force():
    rng = np.random.default_rng(3)
    shape = (5, 7)
    segs = {}
    brute = {d: np.zeros(shape) for d in "EWNS"}
    for d in "EWNS":
        m = 20
        n_lines, n_len = (5, 7) if d in "EW" else (7, 5)
        line = rng.integers(0, n_lines, m)
        a, b = rng.integers(0, n_len, m), rng.integers(0, n_len, m)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        w = rng.random(m)
        segs[d] = (line, lo, hi, w)
        for l_, lo_, hi_, w_ in zip(line, lo, hi, w):
            for i in range(lo_, hi_):
                if d in "EW":
                    brute[d][l_, i] += w_
                else:
                    brute[d][i, l_] += w_
    got = link_loads(segs, shape)
    for d in "EWNS":
        np.testing.assert_allclose(got[d], brute[d], atol=1e-12)


def _xy_path_links(s, d):
    """Directed links of the XY path from tile s to tile d (x first)."""
    (x, y), (xd, yd) = s, d
    out = []
    while x != xd:
        nx = x + (1 if xd > x else -1)
        out.append(((x, y), (nx, y)))
        x = nx
    while y != yd:
        ny = y + (1 if yd > y else -1)
        out.append(((x, y), (x, ny)))
        y = ny
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multicast_tree_equals_union_of_xy_paths(seed):
    """Independent ground truth: explicit sets of links of every XY path, union per net."""
    from mapper.mesh import DIRS
    from mapper.nets import Nets
    rng = np.random.default_rng(seed)
    k, gx, gy = 9, 4, 3
    px, py = rng.integers(0, gx, k), rng.integers(0, gy, k)
    srcs, ptr, dst, rate = [], [0], [], []
    for _ in range(30):
        s = int(rng.integers(k))
        ds = sorted(set(rng.integers(0, k, rng.integers(1, 5)).tolist()))
        srcs.append(s); dst += ds; ptr.append(len(dst)); rate.append(float(rng.random()))
    nets = Nets(src=np.array(srcs), ptr=np.array(ptr), dst=np.array(dst), rate=np.array(rate),
                count=np.ones(len(srcs), int), neuron_net=np.zeros(0, int), n_parts=k)
    for multicast in (True, False):
        loads = link_loads(segments(nets, px, py, multicast=multicast), (gy, gx))
        brute = {d: np.zeros((gy, gx)) for d in DIRS}
        for j, s in enumerate(srcs):
            per = [_xy_path_links((px[s], py[s]), (px[d], py[d])) for d in dst[ptr[j]:ptr[j + 1]]]
            used = set(l for p in per for l in p) if multicast else [l for p in per for l in p]
            for (a, b) in used:
                (x0, y0), (x1, y1) = a, b
                if x1 > x0:
                    brute["E"][y0, x0] += rate[j]
                elif x1 < x0:
                    brute["W"][y0, x1] += rate[j]
                elif y1 > y0:
                    brute["N"][y0, x0] += rate[j]
                else:
                    brute["S"][y1, x0] += rate[j]
        for d in DIRS:
            np.testing.assert_allclose(loads[d], brute[d], atol=1e-12)


@pytest.mark.parametrize("chip_grid, cpt", [((1, 1), 1), ((2, 1), 1), ((3, 2), 1), ((2, 2), 4)])
def test_tile_coords_and_grid_shape_agree_with_the_chip_spec_core_by_core(chip_grid, cpt):
    import dataclasses

    chip = make_tiny_chip(chip_grid=chip_grid)
    chip = dataclasses.replace(chip, noc=dataclasses.replace(chip.noc, cores_per_tile=cpt))
    X, Y = tile_coords(chip)
    assert [(int(x), int(y)) for x, y in zip(X, Y)] == [chip.global_tile(c) for c in range(chip.n_cores)]
    gy, gx = grid_shape(chip)
    assert (gx, gy) == (X.max() + 1, Y.max() + 1) == (2 * chip_grid[0], 2 * chip_grid[1])


def test_boundary_links_are_the_ones_whose_ends_lie_on_two_chips():
    chip = make_tiny_chip(chip_grid=(3, 2))  # chips of 2 x 2 tiles: a 6 x 4 mesh
    masks = boundary_masks(chip)
    gy, gx = grid_shape(chip)
    tx, ty = chip.noc.tile_grid
    for y in range(gy):
        for x in range(gx):
            ew = x + 1 < gx and crossings(np.array([x]), np.array([x + 1]), tx)[0] == 1
            ns = y + 1 < gy and crossings(np.array([y]), np.array([y + 1]), ty)[0] == 1
            assert masks["E"][y, x] == masks["W"][y, x] == ew and masks["N"][y, x] == masks["S"][y, x] == ns
    # a path from x = 0 to x = 5 crosses the boundaries at 1|2 and 3|4, in either direction
    assert crossings(np.array([0, 5, 2]), np.array([5, 0, 3]), 2).tolist() == [2, 2, 0]
    assert set(masks) == set(DIRS)


def test_block_shape_is_the_most_compact_rectangle():
    assert block_shape(20, (8, 4)) == (5, 4)
    assert block_shape(4, (8, 4)) == (2, 2)
    assert block_shape(8, (8, 4)) == (4, 2)
    assert block_shape(5, (8, 4)) == (3, 2)
    assert block_shape(40, (8, 4)) == (8, 4)  # more tiles than the grid holds: the whole grid
