r"""Multicast nets: the spike traffic of a partitioned network, grouped by source part and destinations.

A spiking neuron ``v`` in part ``p`` sends one packet to every distinct part of its targets (its
own part included). Neurons with the same source part and the same destination-part set form one
*net*; every traffic figure the mapper computes (link loads, packets, the placement objective) is
linear in the rates, so a net carries the summed rate of its neurons,

.. math:: R_j = \sum_{v \in j} r_v \quad [\text{events per step per input}],

and placement and routing work on nets instead of neurons (an all-to-all layer of ``n`` neurons on
``k`` cores has ``k`` nets, not ``n``). :func:`build_nets` groups exactly; :func:`segments` lays
the nets of a placement on the mesh as XY link runs (:func:`mapper.mesh.runs`); :func:`quotient`
is the part-to-part traffic the placers order by.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from .graph import CoreRows, NetGraph, gather_ranges
from .mesh import runs

__all__ = ["Nets", "build_nets", "segments", "quotient"]


@dataclass(frozen=True, eq=False)
class Nets:
    """Multicast nets: neurons grouped by (source part, destination-part set).

    ``dst[ptr[j]:ptr[j + 1]]`` are the destination parts of net ``j`` (sorted, distinct); ``rate``
    the summed events per step of its ``count`` neurons; ``neuron_net[v]`` the net of neuron
    ``v`` (-1 for neurons without targets).
    """

    src: np.ndarray
    ptr: np.ndarray
    dst: np.ndarray
    rate: np.ndarray
    count: np.ndarray
    neuron_net: np.ndarray
    n_parts: int

    @property
    def n_nets(self) -> int:
        return int(self.src.size)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.ptr)


def build_nets(graph: NetGraph, part: np.ndarray, rows: CoreRows) -> Nets:
    """Group neurons by (source part, destination-part set), exactly.

    Candidates are sorted by (part, set size, 64-bit set hash); neighbours in that order are merged
    only after their destination lists compare equal element by element.
    """
    n, k = graph.n, rows.n_parts
    ptr = rows.ptr(n)
    lens = np.diff(ptr)
    nz = np.flatnonzero(lens > 0)
    rnd = (np.random.default_rng(0x5EED).integers(1, 2**62, size=max(k, 1), dtype=np.uint64) * np.uint64(2)
           + np.uint64(1))
    if nz.size == 0:
        return Nets(src=np.zeros(0, np.int64), ptr=np.zeros(1, np.int64), dst=np.zeros(0, np.int64),
                    rate=np.zeros(0), count=np.zeros(0, np.int64), neuron_net=np.full(n, -1, np.int64), n_parts=k)
    h = np.add.reduceat(rnd[rows.part], ptr[nz])
    sp_ = np.asarray(part, dtype=np.int64)[nz]
    order = np.lexsort((h, lens[nz], sp_))
    s_sorted = nz[order]
    sp_o, len_o, h_o = sp_[order], lens[s_sorted], h[order]
    same = (sp_o[1:] == sp_o[:-1]) & (len_o[1:] == len_o[:-1]) & (h_o[1:] == h_o[:-1])
    pos = np.flatnonzero(same)
    if pos.size:
        cur, prev = s_sorted[pos + 1], s_sorted[pos]
        eq = rows.part[gather_ranges(ptr, cur)] == rows.part[gather_ranges(ptr, prev)]
        seg = np.cumsum(lens[cur]) - lens[cur]
        same[pos] = np.logical_and.reduceat(eq, seg)
    new = np.concatenate([[True], ~same])
    gid = np.cumsum(new) - 1
    neuron_net = np.full(n, -1, dtype=np.int64)
    neuron_net[s_sorted] = gid
    reps = s_sorted[new]
    dptr = np.concatenate([[0], np.cumsum(lens[reps])]).astype(np.int64)
    return Nets(src=np.asarray(part, dtype=np.int64)[reps], ptr=dptr, dst=rows.part[gather_ranges(ptr, reps)],
                rate=np.bincount(gid, weights=graph.rate[s_sorted]), count=np.bincount(gid).astype(np.int64),
                neuron_net=neuron_net, n_parts=k)


def segments(nets: Nets, px: np.ndarray, py: np.ndarray, *, multicast: bool, sel: Optional[np.ndarray] = None,
             weight: Optional[np.ndarray] = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """XY link runs ``dir -> (line, lo, hi, w)`` of the selected nets (:func:`mapper.mesh.runs`).

    ``px, py``: board-global tile of every part; ``sel``: the nets (default all); ``weight``:
    traversals per step of each selected net (default its rate).
    """
    if sel is None:
        sel = np.arange(nets.n_nets)
    w_net = nets.rate[sel] if weight is None else weight
    lens = nets.ptr[sel + 1] - nets.ptr[sel]
    e = gather_ranges(nets.ptr, sel)
    src = nets.src[sel]
    return runs(px[src], py[src], dx=px[nets.dst[e]], dy=py[nets.dst[e]], lens=lens, w_net=w_net, multicast=multicast,
                gx=int(px.max(initial=0)) + 1)


def quotient(nets: Nets) -> sp.csr_matrix:
    """Symmetric part-to-part traffic ``T_pq`` (packets per step between parts ``p`` and ``q``, both
    directions summed; no diagonal) of the nets."""
    k = nets.n_parts
    e_net = np.repeat(np.arange(nets.n_nets), nets.sizes)
    q = sp.csr_matrix((nets.rate[e_net], (nets.src[e_net], nets.dst)), shape=(k, k))
    q = (q + q.T).tocsr()
    q.setdiag(0)
    q.eliminate_zeros()
    return q
