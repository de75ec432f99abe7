"""Partition and place at once: Mt-KaHyPar's Steiner-tree mapping of the spike hypergraph onto the tiles.

Under XY multicast a spike of neuron ``v`` costs the links of one tree spanning the tiles of ``v``
and of its targets; cores of one tile share a router, so only the *tile* of every neuron matters
for link traffic. This strategy therefore maps neurons straight onto tiles, minimising

.. math:: \\sum_v r_v \\, \\mathrm{ST}_G(\\{\\mathrm{tile}(u) : u \\in \\{v\\} \\cup \\mathrm{targets}(v)\\})

(events per step times links; :math:`\\mathrm{ST}_G` the lightest Steiner tree in the mesh graph
``G`` of the tiles used, links weighing 1, a chip-boundary link 2: the annealer's default
``chip_weight`` of one extra link per crossing), with
Mt-KaHyPar's ``map_onto_graph`` (Heuer et al.; the process-mapping objective of mapping.md §2).
``G`` is the most compact block of tiles the cores need (:func:`mapper.mesh.block_shape`, its
first tiles in snake order); every tile may hold ``c_t`` cores' worth of the binding resource
(``cores_per_tile``, fewer in the last tile, ``k`` cores in all). Each tile's neurons are then
split into its ``c_t`` cores by a km1 partition (inter-core packets inside a tile cost no link),
and the repair of :func:`mapper.partition.partition` settles the non-additive limits. The result
carries the board core of every part (:attr:`mapper.partition.Partition.cores`), which the
``"anneal"`` placer takes as a start.

Cost. The mapping's run time grows steeply with tiles and pins (measured here: 65 k neurons on
16 tiles 8-31 s, on 24 tiles 55 s; 131 k neurons on 32 tiles over 900 s), so it runs in a child
program (:mod:`mapper.partition.steiner_child`, so it never re-runs the caller's script) with a
time limit (``budget_s``); past it, if the child fails, or without Mt-KaHyPar, :func:`steiner` raises
:class:`SteinerUnavailable` and :func:`mapper.partition.partition` uses another strategy. The
child uses one thread, so a seed gives one result.
"""
from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from neurosim.errors import MappingError

from ..chipspec import ChipSpec
from ..graph import NetGraph
from ..mesh import block_shape, grid_shape
from .hypergraph import _hypergraph_weights, _spike_nets

__all__ = ["tile_block", "steiner", "SteinerUnavailable", "MAX_TILES"]

log = logging.getLogger(__name__)

#: Mt-KaHyPar 1.x supports the Steiner-tree objective on hypergraphs for at most 64 blocks
#: ("currently only supported for k <= 64"); larger mappings hand over at once.
MAX_TILES = 64


def tile_block(chip: ChipSpec, n_tiles: int) -> tuple[np.ndarray, list[tuple[int, int]], list[int]]:
    """The ``n_tiles`` tiles of the most compact block at the board's origin, in snake order.

    Returns ``(first_core, edges, weights)``: the first board core of every tile, and the mesh
    links between them (index pairs into ``first_core``) with their weights (1, or 2 across a chip
    boundary). Raises :class:`MappingError` when no block of the board holds ``n_tiles`` tiles.
    """
    cpt = chip.noc.cores_per_tile
    gy, gx = grid_shape(chip)
    w, h = block_shape(n_tiles, (gx, gy))
    if w * h < n_tiles:
        raise MappingError(f"steiner: {n_tiles} tiles do not fit one block of the {gx} x {gy} tile board")
    first = np.arange(0, chip.n_cores, cpt)
    xy = np.array([chip.global_tile(int(c)) for c in first])
    snake = np.where(xy[:, 1] % 2 == 0, xy[:, 0], w - 1 - xy[:, 0])
    inside = np.flatnonzero((xy[:, 0] < w) & (xy[:, 1] < h))
    order = inside[np.lexsort((snake[inside], xy[inside, 1]))][:n_tiles]
    cores = first[order]
    pos = xy[order]
    chip_of = np.array([chip.address(int(c)).chip for c in cores])
    edges, weights = [], []
    for a in range(n_tiles):
        for b in range(a + 1, n_tiles):
            if np.abs(pos[a] - pos[b]).sum() == 1:
                edges.append((a, b))
                weights.append(1 if chip_of[a] == chip_of[b] else 2)
    return cores, edges, weights


class SteinerUnavailable(Exception):
    """:func:`steiner` has no mapping to offer; the message says why (the caller falls back).
    ``timed_out`` is true when its wall-clock cap (``budget_s``) was the reason."""

    def __init__(self, message: str, *, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


def _run_child(args: dict, budget_s: float) -> np.ndarray:
    """:func:`mapper.partition.steiner_child.map_tiles` in a fresh interpreter (``python -m
    mapper.partition.steiner_child IN OUT``): Mt-KaHyPar cannot be interrupted in-process, and a
    separate program (unlike ``multiprocessing``'s spawn) never re-runs the caller's script.
    Raises :class:`SteinerUnavailable` past ``budget_s`` seconds or when the child fails (its exit
    code and last line of output in the message)."""
    with tempfile.TemporaryDirectory(prefix="neurosim-steiner-") as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npy"
        np.savez(src, **args)
        try:
            done = subprocess.run([sys.executable, "-m", "mapper.partition.steiner_child", str(src), str(dst)],
                                  capture_output=True, text=True, timeout=max(0.0, float(budget_s)))
        except subprocess.TimeoutExpired:  # subprocess.run has killed the child
            raise SteinerUnavailable(f"the tile mapping took longer than its {budget_s:g} s budget",
                                     timed_out=True) from None
        if done.returncode != 0 or not dst.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
            raise SteinerUnavailable(f"the tile mapping process failed (exit code {done.returncode}: {last})")
        return np.load(dst)


def steiner(graph: NetGraph, chip: ChipSpec, *, k: int, seed: int, binding: str = "compartments",
            budget_s: float, **_) -> tuple[np.ndarray, np.ndarray]:
    """Map ``graph`` onto the tiles of ``k`` cores (module doc); returns ``(labels, cores)``.

    ``labels[v]`` is the part of neuron ``v`` and ``cores[p]`` the board core of part ``p``.

    Raises
    ------
    SteinerUnavailable
        Mt-KaHyPar is not installed, the network has no synapses, or the mapping fails or takes
        longer than ``budget_s`` seconds (the message says which).
    """
    import importlib.util

    if importlib.util.find_spec("mtkahypar") is None:
        raise SteinerUnavailable("Mt-KaHyPar is not installed (pip install 'neurosim[hypergraph]')")
    if budget_s <= 0:
        raise SteinerUnavailable("no time left in its budget", timed_out=True)
    cpt = chip.noc.cores_per_tile
    k = max(1, min(int(k), chip.n_cores))
    n_tiles = -(-k // cpt)
    if n_tiles > MAX_TILES:
        raise SteinerUnavailable(f"the mapping needs {n_tiles} tiles and Mt-KaHyPar's Steiner-tree objective "
                                 f"maps onto at most {MAX_TILES} blocks")
    first, edges, weights = tile_block(chip, n_tiles)
    n_cores = np.full(n_tiles, cpt, dtype=np.int64)
    n_cores[-1] = k - cpt * (n_tiles - 1)
    srcs = np.flatnonzero(np.diff(graph.out_ptr) > 0)
    pins, ptr, w = _spike_nets(graph, srcs) if srcs.size and graph.n > 1 else (None, np.zeros(1), None)
    if ptr.size < 2:
        raise SteinerUnavailable("the network has no synapse between two neurons: nothing to map by traffic")
    wmax = float(w.max())
    ew = np.maximum(1, np.round(w / wmax * 1000.0)).astype(np.int64) if wmax > 0 else np.ones(w.size, np.int64)
    vw, cap = _hypergraph_weights(graph, chip, binding, k)
    t0 = time.perf_counter()
    label = _run_child({"n": graph.n, "pins": pins, "ptr": ptr, "ew": ew, "vw": vw, "cap": int(cap),
                        "n_cores": n_cores, "edges": np.asarray(edges, dtype=np.int64).reshape(-1, 2),
                        "weights": np.asarray(weights, dtype=np.int64), "seed": int(seed)}, budget_s)
    if label.shape != (graph.n,) or label.min() < 0 or label.max() >= k:
        raise SteinerUnavailable(f"the tile mapping returned labels of shape {label.shape} in "
                                 f"[{label.min()}, {label.max()}], expected ({graph.n},) in [0, {k - 1}]")
    log.info("steiner: %d neurons onto %d tiles (%d cores) in %.1f s", graph.n, n_tiles, k, time.perf_counter() - t0)
    cores = np.concatenate([first[t] + np.arange(c) for t, c in enumerate(n_cores)]).astype(np.int64)
    return label, cores
