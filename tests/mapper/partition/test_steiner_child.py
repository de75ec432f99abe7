"""The child program of the "steiner" partitioner (mapper.partition.steiner_child): its tile mapping by
hand, and a failing child reported with its exit code."""
from __future__ import annotations

import numpy as np
import pytest

from mapper.partition.steiner import SteinerUnavailable, _run_child


def test_map_tiles_puts_each_clique_on_a_tile_and_chain_neighbours_on_neighbouring_tiles():
    """Four cliques of four neurons joined in a chain (neuron 4g + 3 <-> 4g + 4), hyperedge per neuron
    {v} + its targets, four one-core tiles of four neurons each on a 2 x 2 block (links 0-1, 1-2,
    2-3, 3-0 in snake order). The only zero-waste mapping puts each clique on one tile and
    consecutive cliques on neighbouring tiles: the three chain synapses cost one link each."""
    pytest.importorskip("mtkahypar")
    from mapper.partition.steiner_child import map_tiles

    n = 16
    targets = {v: {4 * (v // 4) + j for j in range(4)} - {v} for v in range(n)}
    for g in range(3):
        targets[4 * g + 3].add(4 * g + 4)
        targets[4 * g + 4].add(4 * g + 3)
    nets = [sorted({v} | targets[v]) for v in range(n)]
    pins = np.array([p for net in nets for p in net], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(net) for net in nets])]).astype(np.int64)
    edges, weights = [(0, 1), (1, 2), (2, 3), (0, 3)], [1, 1, 1, 1]
    label = map_tiles(n, pins, ptr, np.ones(n, dtype=np.int64), np.ones(n, dtype=np.int64), 4,
                      np.ones(4, dtype=np.int64), edges, weights, 0)
    assert label.shape == (n,) and sorted(np.bincount(label, minlength=4).tolist()) == [4, 4, 4, 4]
    tile_of = [int(np.unique(label[4 * g:4 * g + 4]).item()) for g in range(4)]  # one tile per clique
    linked = {frozenset(e) for e in edges}
    assert all(frozenset((tile_of[g], tile_of[g + 1])) in linked for g in range(3))


def test_a_failing_child_is_reported_at_once_with_its_exit_code():
    # the child lacks its arrays: it fails (a time-out would say "took longer than its budget")
    with pytest.raises(SteinerUnavailable, match=r"process failed \(exit code 1: KeyError: 'pins'\)"):
        _run_child({"n": 3}, budget_s=60.0)
