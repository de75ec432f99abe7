"""The child program of the ``"steiner"`` partitioner: ``python -m mapper.partition.steiner_child IN OUT``.

:func:`mapper.partition.steiner.steiner` writes the spike hypergraph, the tiles and the per-core
capacity to ``IN`` (``.npz``) and starts this program with a time limit (Mt-KaHyPar cannot be
interrupted in-process, and a separate program, unlike ``multiprocessing``'s spawn, never re-runs
the caller's script). It maps the neurons onto the tiles with Mt-KaHyPar's Steiner-tree objective
(``map_onto_graph``: the lightest Steiner tree of every net's tiles, links weighing 1 or 2 across a
chip boundary), splits every tile into its cores by a km1 partition (inter-core packets inside a
tile cost no link) and writes the core label of every neuron to ``OUT`` (``.npy``). One thread, so
a seed gives one result.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["map_tiles", "main"]


def map_tiles(n: int, pins: np.ndarray, ptr: np.ndarray, ew: np.ndarray, vw: np.ndarray, cap: int,
              n_cores: np.ndarray, edges: list, weights: list, seed: int) -> np.ndarray:
    """Tile mapping, then the split of every tile; returns the tile-major core label
    ``sum(n_cores[:t]) + j`` of every neuron.

    ``n`` neurons; the spike hypergraph ``pins[ptr[i]:ptr[i + 1]]`` with net weights ``ew`` and
    vertex weights ``vw``; ``cap`` the weight one core holds; ``n_cores[t]`` the cores of tile
    ``t``; ``edges`` / ``weights`` the mesh links between the tiles (the target graph); ``seed``.
    """
    import mtkahypar

    mtk = mtkahypar.initialize(1, False)  # one thread: the seed fixes the result
    mtkahypar.set_seed(int(seed))
    m = int(n_cores.size)
    ctx = mtk.context_from_preset(mtkahypar.PresetType.DEFAULT)
    ctx.set_partitioning_parameters(m, 0.0, mtkahypar.Objective.KM1)
    tot = int(vw.sum())
    caps = [int(c) * cap for c in n_cores]
    if sum(caps) < tot:  # the additive stand-in cannot fit: spread the excess, the repair settles it
        caps = [c + -(-(tot - sum(caps)) // m) for c in caps]
    ctx.set_individual_target_block_weights(caps)
    ctx.logging = False
    nets = [pins[ptr[i]:ptr[i + 1]].tolist() for i in range(ptr.size - 1)]
    hg = mtk.create_hypergraph(ctx, n, len(nets), nets, vw.tolist(), ew.tolist())
    if m > 1:
        target = mtk.create_target_graph(ctx, m, len(edges), edges, weights)
        tile = np.asarray(hg.map_onto_graph(target, ctx).get_partition(), dtype=np.int64)
    else:
        tile = np.zeros(n, dtype=np.int64)
    label = np.empty(n, dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(n_cores)])
    # every net restricted to each tile it touches: pins grouped by (tile, net), in one sort
    owner = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    order = np.lexsort((owner, tile[pins]))
    pin_t, pin_net, pin_v = tile[pins][order], owner[order], pins[order]
    bounds = np.searchsorted(pin_t, np.arange(m + 1))
    loc = np.empty(n, dtype=np.int64)
    for t in range(m):
        memb = np.flatnonzero(tile == t)
        c = int(n_cores[t])
        if memb.size == 0:
            continue
        if c == 1 or memb.size == 1:
            label[memb] = base[t]
            continue
        loc[memb] = np.arange(memb.size)
        nets_t, first, size = np.unique(pin_net[bounds[t]:bounds[t + 1]], return_index=True, return_counts=True)
        keep = size > 1  # a net with one pin in this tile cuts nothing inside it
        local = loc[pin_v[bounds[t]:bounds[t + 1]]]
        sub_nets = [local[a:a + k].tolist() for a, k in zip(first[keep], size[keep])]
        sub_w = ew[nets_t[keep]].tolist()
        sctx = mtk.context_from_preset(mtkahypar.PresetType.DEFAULT)
        sctx.set_partitioning_parameters(c, 0.03, mtkahypar.Objective.KM1)
        sctx.set_individual_target_block_weights([max(cap, -(-int(vw[memb].sum()) // c))] * c)
        sctx.logging = False
        sh = mtk.create_hypergraph(sctx, int(memb.size), len(sub_nets), sub_nets, vw[memb].tolist(), sub_w)
        label[memb] = base[t] + np.asarray(sh.partition(sctx).get_partition(), dtype=np.int64)
    return label


def main(argv: list[str]) -> int:
    """Entry point of the child program: read the arguments of :func:`map_tiles` from ``argv[0]``
    (``.npz``), write its labels to ``argv[1]`` (``.npy``)."""
    with np.load(argv[0]) as z:
        a = {k: z[k] for k in z.files}
    label = map_tiles(int(a["n"]), a["pins"], a["ptr"], a["ew"], a["vw"], int(a["cap"]), a["n_cores"],
                   [tuple(e) for e in a["edges"].tolist()], a["weights"].tolist(), int(a["seed"]))
    np.save(argv[1], label)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
