r"""The placement objective, exactly and incrementally: what every placer and the twin exchange minimise.

A placement puts part ``p`` on board core ``core[p]`` (tile ``(X, Y)``, :mod:`mapper.mesh`). Its
nets (:mod:`mapper.nets`) are routed XY (multicast trees or unicast paths, :func:`mapper.mesh.runs`),
giving the load ``L_l`` of every link ``l`` (traversals per step). The objective, per step, is

.. math:: C = \sum_l w_l L_l + \lambda \max_l L_l, \qquad w_l = 1 + \mathrm{chip\_weight}
   \text{ on chip-boundary links, else } 1

(``lambda`` weighs the busiest link, congestion; by default the number of tiles in use,
:func:`default_lam`). :class:`LinkCost` keeps ``C`` for a placement and computes the change of a
move ("part ``p`` to core ``c``", swapping with the part there) from the nets that touch the two
parts only, as difference arrays on the link grid. :class:`PairCost` is the cheap
quadratic-assignment surrogate ``sum_{p<q} T_pq d(core_p, core_q)`` (``T`` the part-to-part
traffic, :func:`mapper.nets.quotient`; ``d`` the XY hop distance plus ``chip_weight`` per chip
boundary crossed). :func:`placement_cost` reports ``{"links", "max_link_load", "objective"}``.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..chipspec import ChipSpec
from ..graph import gather_ranges
from ..mesh import DIRS, boundary_masks, grid_shape, link_loads, runs, tile_coords
from ..nets import Nets, segments

__all__ = ["LinkCost", "PairCost", "default_lam", "placement_cost", "objective_multicast"]


class LinkCost:
    """Exact objective of a placement with incremental updates for moves."""

    def __init__(self, nets: Nets, chip: ChipSpec, core: np.ndarray, *, multicast: bool, lam: float,
                 chip_weight: float):
        keep = np.flatnonzero(nets.rate > 0)
        self.nets = nets
        self.X, self.Y = tile_coords(chip)
        self.gx = int(self.X.max()) + 1
        self.shape = grid_shape(chip)
        self.multicast = multicast
        self.lam = lam
        self.cap = math.inf  # busiest-link ceiling: moves that raise the busiest link above it are refused
        self.total_cap = math.inf  # ceiling of the weighted link traversals, likewise
        masks = boundary_masks(chip)
        self.lw = {d: 1.0 + chip_weight * masks[d] for d in DIRS}
        self.core = np.asarray(core, dtype=np.int64).copy()
        m = max(nets.n_nets, 1)
        e_net = np.repeat(np.arange(nets.n_nets), nets.sizes)
        act = nets.rate[e_net] > 0
        key = np.unique(np.concatenate([nets.src[keep] * m + keep, nets.dst[act] * m + e_net[act]]))
        p, j = key // m, key % m
        self.inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(p, minlength=nets.n_parts))]).astype(np.int64)
        self.inc = j
        self._stamp = np.zeros(nets.n_nets, dtype=np.int64)
        self._tick = 0
        self.loads = link_loads(segments(nets, self.X[self.core], self.Y[self.core], multicast=multicast, sel=keep),
                                self.shape)
        self.total = self._weighted(self.loads)

    def _weighted(self, loads: dict) -> float:
        return float(sum((loads[d] * self.lw[d]).sum() for d in DIRS))

    def peak(self) -> float:
        return float(max(self.loads[d].max(initial=0.0) for d in DIRS))

    def value(self) -> float:
        return self.total + self.lam * self.peak()

    def summary(self) -> dict:
        return {"links": float(sum(self.loads[d].sum() for d in DIRS)), "max_link_load": self.peak(),
                "objective": self.value()}

    def _nets_of(self, p: int, q: int) -> np.ndarray:
        a = self.inc[self.inc_ptr[p]:self.inc_ptr[p + 1]]
        if q < 0:
            return a
        b = self.inc[self.inc_ptr[q]:self.inc_ptr[q + 1]]
        self._tick += 1
        self._stamp[a] = self._tick
        return np.concatenate([a, b[self._stamp[b] != self._tick]])

    def delta(self, p: int, q: int, cp: int, cq: int) -> tuple[float, Optional[tuple]]:
        """Change of the objective when part ``p`` goes to core ``cq`` and part ``q`` (-1: none) to ``cp``."""
        sel = self._nets_of(p, q)
        if sel.size == 0:
            return 0.0, None
        nets = self.nets
        new = self.core.copy()
        new[p] = cq
        if q >= 0:
            new[q] = cp
        lens = nets.ptr[sel + 1] - nets.ptr[sel]
        e = gather_ranges(nets.ptr, sel)
        src, dst = nets.src[sel], nets.dst[e]
        co, X, Y = self.core, self.X, self.Y
        w = nets.rate[sel]
        segs = runs(np.concatenate([X[co[src]], X[new[src]]]), np.concatenate([Y[co[src]], Y[new[src]]]),
                    dx=np.concatenate([X[co[dst]], X[new[dst]]]), dy=np.concatenate([Y[co[dst]], Y[new[dst]]]),
                    lens=np.concatenate([lens, lens]), w_net=np.concatenate([-w, w]), multicast=self.multicast,
                    gx=self.gx)
        d = link_loads(segs, self.shape)
        dtot = self._weighted(d)
        if self.total + dtot > self.total_cap + 1e-9 * abs(self.total_cap):
            return math.inf, None
        new_peak = float(max((self.loads[dd] + d[dd]).max() for dd in DIRS))
        if new_peak > self.cap + 1e-9 * abs(self.cap):
            return math.inf, None
        return dtot + self.lam * (new_peak - self.peak()), (d, dtot)

    def apply(self, p: int, q: int, cp: int, cq: int, info: Optional[tuple]) -> None:
        self.core[p] = cq
        if q >= 0:
            self.core[q] = cp
        if info is not None:
            d, dtot = info
            for dd in DIRS:
                self.loads[dd] += d[dd]
            self.total += dtot


class PairCost:
    """Quadratic-assignment surrogate ``sum_{p<q} T_pq d(core_p, core_q)`` with O(degree) moves."""

    def __init__(self, traffic: sp.csr_matrix, chip: ChipSpec, core: np.ndarray, *, chip_weight: float):
        self.T = traffic
        self.X, self.Y = tile_coords(chip)
        self.tx, self.ty = chip.noc.tile_grid
        self.cw = float(chip_weight)
        self.core = np.asarray(core, dtype=np.int64).copy()

    def dist(self, c: int, cs: np.ndarray) -> np.ndarray:
        X, Y = self.X, self.Y
        d = np.abs(X[c] - X[cs]) + np.abs(Y[c] - Y[cs])
        if self.cw:
            d = d + self.cw * (np.abs(X[c] // self.tx - X[cs] // self.tx) + np.abs(Y[c] // self.ty - Y[cs] // self.ty))
        return d

    def value(self) -> float:
        t = self.T.tocoo()
        return 0.5 * float(np.sum(t.data * self.dist(self.core[t.row], self.core[t.col])))

    def _side(self, p: int, other: int, c_old: int, c_new: int) -> float:
        lo, hi = self.T.indptr[p], self.T.indptr[p + 1]
        idx, w = self.T.indices[lo:hi], self.T.data[lo:hi]
        if other >= 0:
            keep = idx != other
            idx, w = idx[keep], w[keep]
        cr = self.core[idx]
        return float(np.dot(w, self.dist(c_new, cr) - self.dist(c_old, cr)))

    def delta(self, p: int, q: int, cp: int, cq: int) -> tuple[float, None]:
        """Change of the surrogate when part ``p`` goes to core ``cq`` and part ``q`` (-1: none) to ``cp``."""
        d = self._side(p, q, cp, cq)
        if q >= 0:
            d += self._side(q, p, cq, cp)
        return d, None

    def apply(self, p: int, q: int, cp: int, cq: int, info: Optional[tuple]) -> None:
        self.core[p] = cq
        if q >= 0:
            self.core[q] = cp


def default_lam(chip: ChipSpec, core: np.ndarray) -> float:
    """Default busiest-link weight: the number of tiles in use by the placement ``core``."""
    X, Y = tile_coords(chip)
    core = np.asarray(core, dtype=np.int64)
    return float(np.unique(Y[core] * (X.max() + 1) + X[core]).size)


def placement_cost(nets: Nets, chip: ChipSpec, core: np.ndarray, *, multicast: bool = True,
                   lam: float = 0.0, chip_weight: float = 0.0) -> dict:
    """``{"links", "max_link_load", "objective"}`` of a placement (per step); ``links`` is the
    unweighted sum of the link loads, ``objective`` ``C`` of the module doc with ``lam`` and
    ``chip_weight`` (by default none: the plain link traversals)."""
    c = LinkCost(nets, chip, np.asarray(core, dtype=np.int64), multicast=multicast, lam=lam, chip_weight=chip_weight)
    return c.summary()


def objective_multicast(chip: ChipSpec, multicast: Optional[bool]) -> bool:
    """The routing model the objective optimises: the place option ``multicast``, or (``None``)
    the chip's ``noc.multicast``."""
    return bool(getattr(chip.noc, "multicast", True) if multicast is None else multicast)
