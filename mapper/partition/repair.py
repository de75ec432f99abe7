"""Make a partition feasible: move neurons out of over-full parts, checking every limit exactly.

Graph partitioners balance one additive weight within an imbalance factor, so parts overflow
(1054 neurons on a 1024-neuron core in mapping.md §6), and the axon limits are not additive at
all. :meth:`RepairState.run` fixes a partition by single-neuron moves:

* For an over-full part ``a`` its neurons are ranked by the gain of moving them to a neighbouring
  part ``b``: ``gain(v, b) = w(v, b) - w(v, a)`` with ``w(v, p)`` the rate-weighted traffic
  between ``v`` and the neurons of ``p`` (symmetrised graph).
* A move is applied only if it is *exactly* admissible: ``b`` stays within every limit, no other
  part gets worse (a move changes the output axons of the cores of ``v``'s sources), and the
  overload of ``a``, ``sum_r max(0, used_r - limit_r) / limit_r``, strictly decreases.
* If no neighbouring part takes a neuron, parts with free room are tried; then (only when
  ``allow_new``) ``a`` is bisected (METIS on its induced subgraph) and one side moves to a new
  core; the figures of every core this touches are recomputed exactly, and cores it pushes over
  a limit are repaired in the next round.

Exactness comes from per-core row tables ``rows[c][s]`` = synapse payload bits from source ``s``
into core ``c`` (built lazily for the cores a move touches): a move of ``v`` from ``a`` to ``b``
changes the rows ``(s, a)`` and ``(s, b)`` of its sources ``s`` only.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

import numpy as np
import scipy.sparse as sp

from ..chipspec import ChipSpec
from ..graph import NetGraph, core_rows, gather_ranges
from ..options import Progress
from ..resources import RESOURCES, core_usage, limits_of, payload_bits

__all__ = ["RepairState"]

log = logging.getLogger(__name__)

_BIG = 1 << 62


class RepairState:
    """Mutable working state of a repair (private to one :func:`mapper.partition.partition` call)."""

    def __init__(self, graph: NetGraph, chip: ChipSpec, part: np.ndarray, *, n_parts: int, sym: sp.csr_matrix,
                 rows=None, usage=None):
        self.g = graph
        self.core = chip.core
        lim = limits_of(chip.core)
        self.lim = {r: (_BIG if v is None else int(v)) for r, v in lim.items()}
        self.part = np.asarray(part, dtype=np.int64).copy()
        self.k = int(n_parts)
        self.sym = sym
        if rows is None:
            rows = core_rows(graph, self.part, self.k)
        if usage is None:
            usage = core_usage(graph, chip, self.part, n_parts=self.k, rows=rows)
        self.used = {r: [int(x) for x in usage.used[r]] for r in RESOURCES}
        self.ndest = np.bincount(rows.src, minlength=graph.n).astype(np.int64)
        del rows
        order = np.argsort(self.part, kind="stable")
        bounds = np.searchsorted(self.part[order], np.arange(self.k + 1))
        self._order, self._bounds, self._k0 = order, bounds, self.k
        self._moved_in: dict[int, list[int]] = {}
        self._rows: dict[int, dict[int, int]] = {}
        self._word = int(self.core.synapse_word_bits)
        self._hdr = int(self.core.synapse_row_overhead_bits)
        self._pay_in = payload_bits(self.core, graph.in_nsyn.astype(np.int64), graph.in_nplastic.astype(np.int64))
        self.moves = 0
        self.new_cores = 0
        self.deadline: Optional[float] = None
        self.timed_out = False

    # -- bookkeeping ---------------------------------------------------------------------------
    def _wc(self, payload: int) -> int:
        if payload <= 0:
            return 0
        w = self._word
        return ((payload + self._hdr + w - 1) // w) * w

    def members(self, c: int) -> np.ndarray:
        base = self._order[self._bounds[c]:self._bounds[c + 1]] if c < self._k0 else np.zeros(0, dtype=np.int64)
        extra = self._moved_in.get(c)
        if extra:
            base = np.unique(np.concatenate([base, np.asarray(extra, dtype=np.int64)]))
        return base[self.part[base] == c]

    def rows(self, c: int) -> dict[int, int]:
        r = self._rows.get(c)
        if r is None:
            m = self.members(c)
            idx = gather_ranges(self.g.in_ptr, m)
            src = self.g.in_idx[idx]
            u, inv = np.unique(src, return_inverse=True)
            pay = np.bincount(inv, weights=self._pay_in[idx], minlength=u.size).astype(np.int64)
            r = dict(zip(u.tolist(), pay.tolist()))
            self._rows[c] = r
        return r

    def score(self, c: int) -> float:
        """Overload of part ``c``: ``sum_r max(0, used_r - limit_r) / limit_r``."""
        return sum(max(0, self.used[r][c] - self.lim[r]) / max(self.lim[r], 1) for r in RESOURCES)

    def over(self) -> list[int]:
        return [c for c in range(self.k) if self.score(c) > 0]

    def new_core(self) -> int:
        for r in RESOURCES:
            self.used[r].append(0)
        self._rows[self.k] = {}
        self.k += 1
        self.new_cores += 1
        return self.k - 1

    # -- moves ---------------------------------------------------------------------------------
    def evaluate(self, v: int, b: int, *, strict: bool = True) -> Optional[tuple]:
        """Exact effect of moving neuron ``v`` to part ``b``; ``None`` if not admissible."""
        g = self.g
        a = int(self.part[v])
        if self.used["compartments"][b] + 1 > self.lim["compartments"]:
            return None  # cheap early exit: no room for one more neuron in b
        lo, hi = int(g.in_ptr[v]), int(g.in_ptr[v + 1])
        part = self.part
        olo, ohi = int(g.out_ptr[v]), int(g.out_ptr[v + 1])
        if ohi > olo:
            tg = g.out_idx[olo:ohi]
            dests = set(part[tg].tolist())
            if v in tg:  # a self-synapse moves with v
                dests = set(part[tg[tg != v]].tolist()) | {b}
            nd_new = len(dests)
        else:
            nd_new = 0
        # cheap exact pre-check: b's output axons grow by nd_new, less at most one for each of
        # v's sources on b (a source can lose its row into a)
        used_out_b = self.used["out_axons"][b]
        if used_out_b <= self.lim["out_axons"]:
            low = nd_new - int(np.count_nonzero(part[g.in_idx[lo:hi]] == b))
            if low > 0 and used_out_b + low > self.lim["out_axons"]:
                return None
        srcs = g.in_idx[lo:hi].tolist()
        pays = self._pay_in[lo:hi].tolist()
        ra, rb = self.rows(a), self.rows(b)
        din_a = din_b = dbits_a = dbits_b = 0
        outd: dict[int, int] = {}
        changes = []
        wc = self._wc
        for s, p in zip(srcs, pays):
            old = ra[s]
            ob = rb.get(s, 0)
            dbits_a += wc(old - p) - wc(old)
            dbits_b += wc(ob + p) - wc(ob)
            lose = old == p
            gain = ob == 0
            din_a -= lose
            din_b += gain
            if s != v and lose != gain:
                cs = int(part[s])
                outd[cs] = outd.get(cs, 0) + (gain - lose)
            changes.append((s, p, gain - lose))
        outd[a] = outd.get(a, 0) - int(self.ndest[v])
        outd[b] = outd.get(b, 0) + nd_new
        npl = int(g.in_nplastic[lo:hi].sum())
        delta = {a: {"compartments": -1, "in_axons": din_a, "synapse_bits": dbits_a, "plastic_synapses": -npl},
                 b: {"compartments": 1, "in_axons": din_b, "synapse_bits": dbits_b, "plastic_synapses": npl}}
        for c, d in outd.items():
            delta.setdefault(c, {})["out_axons"] = delta.get(c, {}).get("out_axons", 0) + d
        # admissibility
        for c, d in delta.items():
            if c == a:
                continue
            for r, x in d.items():
                if x <= 0:
                    continue
                new = self.used[r][c] + x
                if new > self.lim[r] and (c == b or x > 0):
                    return None
        sa_old = self.score(a)
        sa_new = sum(max(0, self.used[r][a] + delta[a].get(r, 0) - self.lim[r]) / max(self.lim[r], 1)
                     for r in RESOURCES)
        if sa_new > sa_old or (strict and sa_new >= sa_old):
            return None
        return (v, a, b, delta, changes, nd_new)

    def apply(self, move: tuple) -> None:
        v, a, b, delta, changes, nd_new = move
        ra, rb = self.rows(a), self.rows(b)
        for s, p, dd in changes:
            nv = ra[s] - p
            if nv:
                ra[s] = nv
            else:
                del ra[s]
            rb[s] = rb.get(s, 0) + p
            if s != v and dd:
                self.ndest[s] += dd
        self.ndest[v] = nd_new
        for c, d in delta.items():
            for r, x in d.items():
                self.used[r][c] += x
        self.part[v] = b
        self._moved_in.setdefault(b, []).append(v)
        self.moves += 1

    # -- candidates ----------------------------------------------------------------------------
    def affinity(self, a: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For the members of part ``a``: ``(members, w_in, pair_v, pair_part, pair_w)`` flattened:
        members, their traffic weight to ``a``, and (member, other part, weight) triples."""
        m = self.members(a)
        idx = gather_ranges(self.sym.indptr, m)
        loc = np.repeat(np.arange(m.size), np.diff(self.sym.indptr)[m])
        nb_part = self.part[self.sym.indices[idx]]
        key = loc * (self.k + 1) + nb_part
        u, inv = np.unique(key, return_inverse=True)
        w = np.bincount(inv, weights=self.sym.data[idx], minlength=u.size)
        pv, pp = u // (self.k + 1), u % (self.k + 1)
        w_in = np.zeros(m.size)
        inside = pp == a
        w_in[pv[inside]] = w[inside]
        out = ~inside
        return m, w_in, np.stack([pv[out], pp[out]]), w[out]

    def _late(self) -> bool:
        """Whether the repair's time budget is spent (sets :attr:`timed_out`)."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.timed_out = True
        return self.timed_out

    def fix(self, a: int, *, allow_new: bool, fallback_parts: int = 8, max_tries: int = 512) -> bool:
        """Move neurons out of part ``a`` until it fits. Returns whether it fits.

        Pass 1 tries the ``max_tries`` best (neuron, neighbouring part) pairs by traffic gain,
        pass 2 the weakest-bound neurons towards the parts with the most room, pass 3 (only with
        ``allow_new``) splits the part onto a new core.
        """
        guard = 0
        while self.score(a) > 0:
            guard += 1
            if guard > 4 * self.g.n + 16 or self._late():
                return False
            m, w_in, pairs, w = self.affinity(a)
            if m.size == 0:
                return False
            moved = False
            # pass 1: neighbouring parts, best traffic gain first
            gain = w - w_in[pairs[0]]
            for t, j in enumerate(np.argsort(-gain, kind="stable")[:max_tries]):
                if (t & 31) == 31 and self._late():
                    return False
                v, b = int(m[pairs[0, j]]), int(pairs[1, j])
                if self.part[v] != a or b == a:
                    continue
                mv = self.evaluate(v, b)
                if mv is not None:
                    self.apply(mv)
                    moved = True
                    if self.score(a) <= 0:
                        return True
            if moved:
                continue
            # pass 2: the parts with the most room (relative to the limit) in what ``a`` overfills,
            # weakest-bound neurons first
            targets = self._roomiest(a, fallback_parts)
            for i in np.argsort(w_in, kind="stable")[:64]:
                v = int(m[i])
                for b in targets:
                    mv = self.evaluate(v, b)
                    if mv is not None:
                        self.apply(mv)
                        moved = True
                        break
                if moved:
                    break
            if moved:
                continue
            if not allow_new:
                return False
            # pass 3: split the part in two (METIS bisection of its induced subgraph) onto a new core
            if m.size < 2 or not self.split(a, m):
                return False
        return True

    def _roomiest(self, a: int, n: int) -> list[int]:
        """Up to ``n + 1`` parts other than ``a`` with the most free room in the resources ``a`` overfills.

        Room of part ``c`` = ``min_r (limit_r - used_r[c]) / limit_r`` over those resources
        (compartments when ``a`` overfills none), so on a chip where input axons bind long before
        compartments the fallback targets are the parts with free axons, not merely free slots.
        """
        over_r = [r for r in RESOURCES if self.used[r][a] > self.lim[r]] or ["compartments"]
        room = np.full(self.k, np.inf)
        for r in over_r:
            lim = max(self.lim[r], 1)
            room = np.minimum(room, (lim - np.asarray(self.used[r][:self.k], dtype=float)) / lim)
        room[a] = -np.inf
        order = np.argsort(-room, kind="stable")[:n + 1]
        return [int(c) for c in order if c != a]

    def split(self, a: int, m: np.ndarray) -> bool:
        """Move about half of part ``a`` (one side of a bisection of its neurons) to a new core."""
        sub = self.sym[m][:, m].tocsr()
        side = None
        if sub.nnz:
            import pymetis
            try:
                w = np.maximum(1, np.round(sub.data / sub.data.max() * 1000)).astype(np.int64)
                _, parts = pymetis.part_graph(2, pymetis.CSRAdjacency(sub.indptr.astype(np.int64),
                                                                      sub.indices.astype(np.int64)),
                                              eweights=w, options=pymetis.Options(seed=0))
                side = np.asarray(parts) == 1
            except Exception:  # pragma: no cover - fall back to an index split below
                side = None
        if side is None or side.all() or not side.any():
            side = np.arange(m.size) >= m.size // 2
        b = self.new_core()
        self.move_group(m[side], a, b)
        return True

    def move_group(self, vs: np.ndarray, a: int, b: int) -> None:
        """Move neurons ``vs`` from part ``a`` to part ``b`` and update every figure exactly."""
        g = self.g
        vs = np.asarray(vs, dtype=np.int64)
        srcs = np.unique(np.concatenate([g.in_idx[gather_ranges(g.in_ptr, vs)].astype(np.int64), vs]))
        old_part_s = self.part[srcs].copy()
        old_nd = self.ndest[srcs].copy()
        self.part[vs] = b
        self._moved_in.setdefault(b, []).extend(vs.tolist())
        idx = gather_ranges(g.out_ptr, srcs)
        owner = np.repeat(np.arange(srcs.size), np.diff(g.out_ptr)[srcs])
        key = np.unique(owner * (self.k + 1) + self.part[g.out_idx[idx]])
        new_nd = np.bincount(key // (self.k + 1), minlength=srcs.size)
        self.ndest[srcs] = new_nd
        d_out = np.bincount(self.part[srcs], weights=new_nd, minlength=self.k) \
            - np.bincount(old_part_s, weights=old_nd, minlength=self.k)
        for c in np.flatnonzero(d_out):
            self.used["out_axons"][int(c)] += int(round(d_out[c]))
        for c in (a, b):
            self._rows.pop(c, None)
            rows = self.rows(c)
            mem = self.members(c)
            self.used["compartments"][c] = int(mem.size)
            self.used["in_axons"][c] = len(rows)
            self.used["synapse_bits"][c] = int(sum(self._wc(p) for p in rows.values()))
            self.used["plastic_synapses"][c] = int(g.in_nplastic[gather_ranges(g.in_ptr, mem)].sum())
        self.moves += int(vs.size)

    def run(self, *, allow_new: bool, max_rounds: int = 50, log_every_s: float = 10.0,
            budget_s: Optional[float] = None, progress: Optional[Progress] = None) -> bool:
        """Repair every over-full part. Returns whether the partition is feasible.

        A long repair logs its progress (``INFO``, at most every ``log_every_s`` seconds): the
        round, the over-full parts left in it, the moves and new cores so far. With ``budget_s``
        it gives up (returns ``False``, :attr:`timed_out` set) once that many seconds have passed.
        ``progress("partition: repair", settled, over_full)`` is called after each part of a round.
        """
        t0 = last = time.perf_counter()
        self.deadline = None if budget_s is None else t0 + float(budget_s)
        self.timed_out = False
        for rnd in range(max_rounds):
            over = self.over()
            if not over:
                return True
            moved = False
            for i, a in enumerate(sorted(over, key=self.score, reverse=True)):
                before = self.moves
                ok = self.fix(a, allow_new=allow_new)
                moved |= self.moves > before
                if self.timed_out or (not ok and not allow_new):
                    return False
                if progress is not None:
                    progress("partition: repair", i + 1, len(over))
                now = time.perf_counter()
                if now - last >= log_every_s:
                    log.info("repair round %d: %d of %d over-full parts left, %d moves, %d new cores, %.0f s",
                             rnd + 1, len(over) - i - 1, len(over), self.moves, self.new_cores, now - t0)
                    last = now
            if not moved:
                return not self.over()
        return not self.over()
