"""Per-core resource use of a partition, checked against the chip's per-core limits.

Resources of a core ``c`` holding the neuron set ``N_c`` (``part[v] == c``):

* ``compartments``: ``|N_c|``.
* ``in_axons``: distinct source neurons with at least one synapse into ``N_c`` (one input-axon
  row per (source, core) pair; Davies 2018 constraint 4).
* ``out_axons``: ``sum_{v in N_c} |{part[t] : t in targets(v)}|``, one output axon per
  destination core of each neuron, its own core included (Davies 2018 constraint 3).
* ``synapse_bits``: over the rows ``(s, c)`` of the core,
  ``sum_rows W * ceil((n_syn * (w + i) + n_plastic * e + h) / W)`` with ``W`` the memory word,
  ``w`` the weight bits, ``i`` the index bits, ``e`` the extra bits of a plastic synapse and
  ``h`` the per-row header (loihi.md 4.2, nengo-loihi ``Synapse.bits``); ``w`` is the stored
  weight width (``CoreLimits.stored_weight_bits``).
* ``plastic_synapses``: synapses of plastic connections into ``N_c``.

The four "input-side" resources depend only on ``N_c``; ``out_axons`` also depends on where the
targets are, which is why a partition can only be checked after all neurons are assigned.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

from neurosim.errors import CapacityError

from .chipspec import ChipSpec, CoreLimits
from .graph import CoreRows, NetGraph, core_rows

__all__ = ["RESOURCES", "limits_of", "row_bits", "CoreUsage", "core_usage", "neuron_alone",
           "check_neurons_fit", "demand_lower_bounds", "min_cores", "FanoutBound", "fanout_bound",
           "out_axon_lower_bound", "max_core_size", "synapse_bits_lower_bound", "synapse_min_cores",
           "check_board_fits", "check_dest_cores", "payload_bits", "LIMIT_FIELD"]

RESOURCES = ("compartments", "in_axons", "out_axons", "synapse_bits", "plastic_synapses")

#: resource -> CoreLimits field (for messages)
LIMIT_FIELD = {"compartments": "max_compartments", "in_axons": "max_in_axons", "out_axons": "max_out_axons",
               "synapse_bits": "synapse_mem_bits", "plastic_synapses": "max_plastic_synapses"}


def limits_of(core: CoreLimits) -> dict[str, Optional[int]]:
    """Per-core limit of every resource (``None``: unlimited)."""
    return {"compartments": int(core.max_compartments), "in_axons": int(core.max_in_axons),
            "out_axons": int(core.max_out_axons), "synapse_bits": int(core.synapse_mem_bits),
            "plastic_synapses": None if core.max_plastic_synapses is None else int(core.max_plastic_synapses)}


def payload_bits(core: CoreLimits, nsyn: ArrayLike, nplastic: ArrayLike) -> ArrayLike:
    """Bits of the synapse entries of a row before header and rounding: ``n_syn (w + i) + n_plastic e``
    (``w`` = :attr:`CoreLimits.stored_weight_bits`)."""
    return nsyn * (core.stored_weight_bits + core.synapse_index_bits) + nplastic * core.plastic_synapse_extra_bits


def row_bits(core: CoreLimits, payload: ArrayLike) -> np.ndarray:
    """Memory of one input-axon row: ``W * ceil((payload + h) / W)``; 0 for an empty row."""
    w = int(core.synapse_word_bits)
    p = np.asarray(payload, dtype=np.int64)
    out = ((p + core.synapse_row_overhead_bits + w - 1) // w) * w
    return np.where(p > 0, out, 0)


@dataclass(frozen=True, eq=False)
class CoreUsage:
    """Resource table: ``used[r][c]`` for resource ``r`` on part/core ``c``, and ``limits[r]``."""

    used: dict[str, np.ndarray]
    limits: dict[str, Optional[int]]

    @property
    def n_parts(self) -> int:
        return int(self.used["compartments"].size)

    def violations(self) -> list[tuple[int, str, int, int]]:
        """``(part, resource, used, limit)`` for every exceeded limit."""
        out = []
        for r in RESOURCES:
            lim = self.limits[r]
            if lim is None:
                continue
            for c in np.flatnonzero(self.used[r] > lim):
                out.append((int(c), r, int(self.used[r][c]), int(lim)))
        return out

    def utilisation(self) -> dict[str, np.ndarray]:
        """``used / limit`` per resource (0 for unlimited resources)."""
        return {r: (self.used[r] / self.limits[r]) if self.limits[r] else np.zeros(self.n_parts)
                for r in RESOURCES}

    def rows(self) -> list[dict]:
        """One dict per part: ``{resource: [used, limit]}``."""
        return [{r: [int(self.used[r][c]), self.limits[r]] for r in RESOURCES} for c in range(self.n_parts)]


def core_usage(graph: NetGraph, chip: ChipSpec, part: np.ndarray, *, n_parts: int,
               rows: Optional[CoreRows] = None) -> CoreUsage:
    """Exact resource use of every part of ``part`` (vectorised, one grouping of all pairs)."""
    part = np.asarray(part, dtype=np.int64)
    if rows is None:
        rows = core_rows(graph, part, n_parts)
    k = int(n_parts)
    core = chip.core
    used = {
        "compartments": np.bincount(part, minlength=k).astype(np.int64),
        "in_axons": np.bincount(rows.part, minlength=k).astype(np.int64),
        "out_axons": np.bincount(part[rows.src], minlength=k).astype(np.int64),
        "synapse_bits": np.bincount(rows.part, weights=row_bits(core, payload_bits(core, rows.nsyn, rows.nplastic)),
                                    minlength=k).astype(np.int64),
        "plastic_synapses": np.bincount(rows.part, weights=rows.nplastic, minlength=k).astype(np.int64),
    }
    return CoreUsage(used=used, limits=limits_of(core))


def _row_sums(ptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values[ptr[i]:ptr[i+1]]`` for every row ``i`` (0 for empty rows)."""
    n = ptr.size - 1
    if values.size == 0:
        return np.zeros(n, dtype=np.int64)
    sums = np.add.reduceat(values, np.minimum(ptr[:-1], values.size - 1))
    return np.where(np.diff(ptr) > 0, sums, 0).astype(np.int64)


def neuron_alone(graph: NetGraph, chip: ChipSpec) -> dict[str, np.ndarray]:
    """Input-side resources each neuron needs on a core of its own, shape (n,) per resource."""
    core = chip.core
    bits = row_bits(core, payload_bits(core, graph.in_nsyn.astype(np.int64), graph.in_nplastic.astype(np.int64)))
    return {
        "compartments": np.ones(graph.n, dtype=np.int64),
        "in_axons": np.diff(graph.in_ptr).astype(np.int64),
        "synapse_bits": _row_sums(graph.in_ptr, bits),
        "plastic_synapses": _row_sums(graph.in_ptr, graph.in_nplastic.astype(np.int64)),
        # at least ceil(distinct targets / compartments per core) destination cores
        "out_axons": -(-np.diff(graph.out_ptr) // int(core.max_compartments)),
    }


def check_neurons_fit(graph: NetGraph, chip: ChipSpec) -> dict[str, np.ndarray]:
    """Raise :class:`CapacityError` naming the population and neuron whose own demand exceeds a core.

    Returns the per-neuron demands (:func:`neuron_alone`).
    """
    alone = neuron_alone(graph, chip)
    lims = limits_of(chip.core)
    for r, d in alone.items():
        lim = lims[r]
        if lim is None or d.size == 0:
            continue
        bad = np.flatnonzero(d > lim)
        if bad.size:
            g = int(bad[np.argmax(d[bad])])
            pop, i = graph.population_of(g)
            if lim == 0:  # no core can hold any of it: not a matter of splitting
                head = f"neuron {i} of population '{pop}' needs {int(d[g])} and no core has any "
            else:
                head = f"neuron {i} of population '{pop}' needs more than one core on its own "
            raise CapacityError(f"{pop}[{i}]", LIMIT_FIELD[r], int(d[g]), int(lim),
                                hint=head + f"({bad.size} neuron(s) affected); "
                                     + _alone_hint(graph, chip, r, g, int(d[g]), int(lim)))
    return alone


def _alone_hint(graph: NetGraph, chip: ChipSpec, resource: str, g: int, used: int, lim: int) -> str:
    """What would fit when neuron ``g`` alone needs ``used`` > ``lim`` of ``resource`` (one
    resource-specific sentence for :func:`check_neurons_fit`)."""
    core = chip.core
    key = f"core.{LIMIT_FIELD[resource]}"
    if resource == "in_axons":
        return (f"it receives synapses from {used} distinct source neurons and a core has {lim} input axons "
                f"({key} of chip '{chip.name}'): reduce its fan-in to <= {lim} source neurons")
    if resource == "plastic_synapses":
        if lim == 0:
            return (f"chip '{chip.name}' has no plastic synapses ({key} = 0: no on-chip learning), so no "
                    f"plastic connection fits; map the network without its learning rule (the learned weights "
                    f"as fixed synapses) or use a chip with on-chip learning")
        return (f"it has {used} plastic input synapses and a core holds {lim} ({key} of chip '{chip.name}'): "
                f"reduce its plastic fan-in to <= {lim} synapses")
    if resource == "synapse_bits":
        plastic = int(_row_sums(graph.in_ptr, graph.in_nplastic.astype(np.int64))[g]) > 0
        one = int(row_bits(core, payload_bits(core, 1, 1 if plastic else 0)))
        fit = lim // one if one else 0
        w, i = int(core.stored_weight_bits), int(core.synapse_index_bits)
        per = f"{w}-bit weight + {i}-bit index" + (f" + {core.plastic_synapse_extra_bits} plastic bits"
                                                    if plastic else "")
        return (f"its fan-in takes {used} bits of synapse memory and a core has {lim} ({key} of chip "
                f"'{chip.name}'); one input row of one synapse ({per}, {core.synapse_row_overhead_bits}-bit "
                f"header, {core.synapse_word_bits}-bit words) takes {one} bits, so at most {fit} single-synapse "
                f"source neurons fit: reduce its fan-in to <= {fit} source neurons, or use a chip storing fewer "
                f"bits per weight (core.weight_bits / core.weight_storage_bits)")
    if resource == "out_axons":
        targets = int(graph.out_ptr[g + 1] - graph.out_ptr[g])
        comp = int(core.max_compartments)
        return (f"its {targets} distinct targets span at least {used} cores of {comp} neurons and a core has "
                f"{lim} output axons ({key} of chip '{chip.name}'): reduce its fan-out to <= {lim * comp} "
                f"target neurons")
    return f"a core of chip '{chip.name}' holds {lim} ({key}) and this neuron alone needs {used}"


def demand_lower_bounds(graph: NetGraph, chip: ChipSpec) -> dict[str, int]:
    """Lower bounds of the total demand of every resource over all cores.

    Every source neuron with a target needs at least one row (one input and one output axon and
    one row header), so ``synapse_bits >= sum payload + n_src * h`` and
    ``in_axons, out_axons >= n_src``.
    """
    core = chip.core
    n_src = int(np.count_nonzero(np.diff(graph.out_ptr)))
    payload = int(payload_bits(core, int(graph.out_nsyn.sum()), int(graph.out_nplastic.sum())))
    return {"compartments": int(graph.n), "in_axons": n_src, "out_axons": n_src,
            "synapse_bits": payload + n_src * int(core.synapse_row_overhead_bits) if n_src else 0,
            "plastic_synapses": int(graph.out_nplastic.sum())}


def _demand_min_cores(graph: NetGraph, chip: ChipSpec) -> tuple[int, str]:
    """``(k, resource)`` from the total demands alone: ``max_r ceil(demand_r / limit_r)``."""
    lb = demand_lower_bounds(graph, chip)
    lims = limits_of(chip.core)
    best, res = 1, "compartments"
    for r, d in lb.items():
        if lims[r] is None:
            continue
        k = -(-d // lims[r]) if lims[r] > 0 else (0 if d == 0 else 10**18)
        if k > best:
            best, res = int(k), r
    return best, res


@dataclass(frozen=True, eq=False)
class FanoutBound:
    """Per-neuron quantities behind the output-axon lower bound (:func:`out_axon_lower_bound`).

    Attributes
    ----------
    targets : ndarray of int64, shape (n,)
        ``t_v``: distinct targets of every neuron (itself included if it has a self-synapse).
    others : ndarray of int64, shape (n,)
        ``m_v = n - 1 - |targets(v) \\ {v}|``: the neurons other than ``v`` it does not target.
    k_in : int
        Most neurons any core can hold on the input side (compartments, synapse memory with row
        headers, plastic synapses); see :func:`out_axon_lower_bound`.
    spread : ndarray of int64, shape (n,)
        ``e_v``: fewest cores the targets of every neuron fit on, whatever ``k``:
        ``max(ceil(t_v / k_in), ceil(sum_{u in targets(v)} p_u / synapse_mem_bits),
        ceil(sum_{u in targets(v)} q_u / max_plastic_synapses))`` with ``p_u`` the synapse payload
        of ``u``'s whole fan-in (headers and rounding left out, :func:`payload_bits`) and ``q_u``
        its plastic synapses: a core holds at most a limit's worth of them.
    """

    targets: np.ndarray
    others: np.ndarray
    k_in: int
    spread: np.ndarray

    def dest_lower(self, k: int, *, shared: bool = True) -> np.ndarray:
        """Lower bound of every neuron's destination cores in any feasible ``k``-part partition.

        ``max(e_v, k - m_v)`` if the neuron shares its core with another neuron (``shared``),
        ``max(e_v, k - 1 - m_v)`` otherwise; at most ``min(t_v, k)`` (``e_v``: :attr:`spread`).
        """
        full = np.int64(k) - self.others - (0 if shared else 1)
        return np.minimum(np.maximum(self.spread, full), np.minimum(self.targets, k))


def fanout_bound(graph: NetGraph, chip: ChipSpec) -> FanoutBound:
    """The per-neuron data of :func:`out_axon_lower_bound` (one pass over the pairs)."""
    n = graph.n
    core = chip.core
    lims = limits_of(core)
    deg = np.diff(graph.out_ptr).astype(np.int64)
    self_pair = graph.out_src == graph.out_idx
    has_self = np.bincount(graph.out_src[self_pair], minlength=n).astype(np.int64) if self_pair.any() \
        else np.zeros(n, dtype=np.int64)
    others = n - 1 - (deg - has_self)
    k_in = min(int(core.max_compartments), n) if n else 1
    spread = np.zeros(n, dtype=np.int64)
    if n:
        pay = _row_sums(graph.in_ptr, payload_bits(core, graph.in_nsyn.astype(np.int64),
                                                   graph.in_nplastic.astype(np.int64)))
        indeg = np.diff(graph.in_ptr).astype(np.int64)
        nsyn = np.sort(_row_sums(graph.in_ptr, graph.in_nsyn.astype(np.int64)))[:k_in]
        size = np.arange(1, k_in + 1)
        # a core of s neurons has at least max(indeg) rows: bits >= sum payload + h rows, and
        # a row of c synapses takes at least row_bits(c (w + i)) >= c rho(c_max) bits
        by_payload = np.cumsum(np.sort(pay)[:k_in]) + int(core.synapse_row_overhead_bits) * int(indeg.min())
        per_pair = max(1, int(graph.in_nsyn.max(initial=1)))  # synapses of one (pre, post) pair
        by_words = np.cumsum(nsyn) * _row_bits_per_synapse(core, k_in * per_pair)[size * per_pair - 1]
        ok = (by_payload <= lims["synapse_bits"]) & (by_words <= lims["synapse_bits"])
        k_in = int(size[ok].max()) if ok.any() else 1
        if lims["plastic_synapses"] is not None:
            npl = np.sort(_row_sums(graph.in_ptr, graph.in_nplastic.astype(np.int64)))[:k_in]
            k_in = min(k_in, max(1, int(np.searchsorted(np.cumsum(npl), lims["plastic_synapses"], side="right"))))
        spread = -(-deg // int(k_in))
        if lims["synapse_bits"]:  # the targets' fan-in payloads, a core's synapse memory at most per core
            need = _row_sums(graph.out_ptr, pay[graph.out_idx])
            spread = np.maximum(spread, -(-need // int(lims["synapse_bits"])))
        if lims["plastic_synapses"]:
            plastic = _row_sums(graph.in_ptr, graph.in_nplastic.astype(np.int64))
            need = _row_sums(graph.out_ptr, plastic[graph.out_idx])
            spread = np.maximum(spread, -(-need // int(lims["plastic_synapses"])))
    return FanoutBound(targets=deg, others=others, k_in=int(k_in), spread=np.minimum(spread, deg).astype(np.int64))


def _row_bits_per_synapse(core: CoreLimits, c_max: int) -> np.ndarray:
    """``rho(s) = min_{1 <= c <= s} row_bits(c (w + i)) / c`` for ``s = 1 .. c_max``: the fewest
    synapse-memory bits per synapse of a row of at most ``s`` synapses (header and words included)."""
    c = np.arange(1, c_max + 1, dtype=np.int64)
    per = row_bits(core, c * (core.stored_weight_bits + core.synapse_index_bits)) / c
    return np.minimum.accumulate(per)


def max_core_size(fb: FanoutBound, k: int, out_limit: int) -> int:
    """Most neurons one core of a feasible ``k``-part partition can hold (at least 1)."""
    lb = fb.dest_lower(k)
    top = min(fb.k_in, lb.size)
    if top <= 1:
        return 1
    smallest = np.sort(np.partition(lb, top - 1)[:top]) if top < lb.size else np.sort(lb)
    m = int(np.searchsorted(np.cumsum(smallest), out_limit, side="right"))
    return max(1, min(top, m))


def out_axon_lower_bound(graph: NetGraph, chip: ChipSpec, k_start: int = 1, *, fb: Optional[FanoutBound] = None,
                         max_iter: int = 1000) -> tuple[int, FanoutBound]:
    r"""Fewest cores any feasible partition can have, counting output axons (a fixed point).

    In a partition into ``k`` parts a neuron ``v`` with ``t_v`` targets reaches at least

    .. math::

        d_v(k) = \max\left(e_v,\; k - m_v\right), \qquad
        e_v \ge \lceil t_v / k_{in} \rceil

    destination cores: every core holds at most ``k_in`` neurons, and at most a core's synapse
    memory (plastic synapses) of its targets' fan-in payload (``e_v``, :attr:`FanoutBound.spread`);
    at most ``m_v`` of the other
    ``k - 1`` parts can be free of its targets (each holds one of the ``m_v`` neurons it does not
    target), and when its own part holds a second neuron, either that neuron is a target (its own
    part is a destination) or it is one of the ``m_v`` (one fewer target-free part elsewhere), so
    ``d_v >= k - m_v``; ``d^{(1)}_v = d_v - 1`` covers a part of one neuron. Both are at most
    ``min(t_v, k)``. ``k_in`` is the most neurons a core holds on the input side: at most
    ``max_compartments`` and, taking the neurons with the smallest demands, synapse memory
    ``sum payload + h * min(indegree) <= synapse_mem_bits`` (every row has a header ``h``) and
    ``sum synapses * rho <= synapse_mem_bits`` (``rho``: the fewest bits per synapse of any row
    of at most ``s`` pairs, header and word rounding included), and the plastic-synapse limit.
    A core of ``s >= 2`` neurons needs ``sum_{v in core} d_v(k) <= max_out_axons``, so no core
    holds more than ``s_max(k)`` neurons (the longest run of the smallest ``d_v(k)`` within the
    limit), and

    .. math::

        n \le k\, s_{max}(k), \qquad \sum_v d^{(1)}_v(k) \le k \cdot \text{max\_out\_axons}.

    ``s_max`` falls and ``sum d`` grows with ``k``, so from any lower bound ``k`` the next
    candidate is ``max(ceil(n / s_max(k)), ceil(sum d / max_out_axons))`` until ``k`` passes
    both (the fixed point): every ``k`` skipped admits no feasible partition, so the result is
    a lower bound for every network. For an all-to-all layer of ``n`` neurons (``m_v = 0``)
    it is the smallest ``k`` (from the start) with ``k * min(k_in, floor(max_out / k)) >= n``;
    for sparse networks (``m_v`` close to ``n``) it reduces to ``ceil(t_v / k_in)``.

    Returns
    -------
    (k, FanoutBound)
    """
    if fb is None:
        fb = fanout_bound(graph, chip)
    n = graph.n
    k = max(1, int(k_start))
    if n == 0:
        return k, fb
    out_limit = int(chip.core.max_out_axons)
    for _ in range(max_iter):
        s_max = max_core_size(fb, k, out_limit)
        total = int(fb.dest_lower(k, shared=False).sum())
        nxt = max(-(-n // s_max), -(-total // out_limit) if out_limit > 0 else k)
        if nxt <= k:
            return k, fb
        if nxt >= n:
            return n, fb  # even one neuron per part: nothing further to learn from the bound
        k = nxt
    return k, fb


@dataclass(frozen=True, eq=False)
class _SourceRows:
    """Per-source terms of :func:`synapse_bits_lower_bound` (sources with at least one target)."""

    src: np.ndarray      # source neurons
    payload: np.ndarray  # P_s: payload bits of all their synapses
    by_words: np.ndarray  # n_s rho(c_s): their synapses at the fewest bits per synapse of a row


def _source_rows(graph: NetGraph, chip: ChipSpec, fb: FanoutBound) -> _SourceRows:
    core = chip.core
    lim = int(core.synapse_mem_bits)
    deg = np.diff(graph.out_ptr).astype(np.int64)
    src = np.flatnonzero(deg > 0)
    if src.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return _SourceRows(src=z, payload=z, by_words=z)
    nsyn = graph.out_nsyn.astype(np.int64)
    payload = _row_sums(graph.out_ptr, payload_bits(core, nsyn, graph.out_nplastic.astype(np.int64)))[src]
    n_s = _row_sums(graph.out_ptr, nsyn)[src]
    # c_s: most synapses of s in one row = (targets of s one core can hold) x (synapses per pair)
    fan_in = _row_sums(graph.in_ptr, payload_bits(core, graph.in_nsyn.astype(np.int64),
                                                  graph.in_nplastic.astype(np.int64)))
    starts = graph.out_ptr[:-1][src]
    min_pay = np.minimum.reduceat(fan_in[graph.out_idx], starts)
    per_pair = np.maximum.reduceat(nsyn, starts)
    per_core = np.minimum(np.minimum(deg[src], fb.k_in), lim // np.maximum(min_pay, 1))
    c_s = np.maximum(1, per_core) * np.maximum(per_pair, 1)
    rho = _row_bits_per_synapse(core, int(c_s.max()))
    by_words = np.ceil(n_s * rho[c_s - 1] - 1e-6).astype(np.int64)  # integer bits; no float round-up
    return _SourceRows(src=src, payload=payload, by_words=by_words)


def _rows_bound(core: CoreLimits, sr: _SourceRows, dest: np.ndarray) -> int:
    w = int(core.synapse_word_bits)
    by_headers = -(-(sr.payload + dest * int(core.synapse_row_overhead_bits)) // w) * w
    return int(np.maximum(sr.by_words, by_headers).sum())


def synapse_bits_lower_bound(graph: NetGraph, chip: ChipSpec, k: int, *, fb: Optional[FanoutBound] = None) -> int:
    r"""Lower bound of the total synapse memory of any feasible ``k``-part partition.

    A source ``s`` has one row per destination core, at least ``d_s(k)`` of them
    (:meth:`FanoutBound.dest_lower`, one-neuron parts allowed, which counts the cores its targets
    need), each with a header ``h`` and rounded up to words of ``W`` bits; and a row holds at most
    ``c_s`` synapses (the targets of ``s`` one core can hold: at most ``k_in``, and at most
    ``synapse_mem_bits / min_u p_u`` with ``p_u`` a target's fan-in payload, times the most
    synapses of one pair), so each of its ``n_s`` synapses takes at least ``rho(c_s)`` bits
    (the fewest bits per synapse of a row of at most ``c_s``, header and rounding included):

    .. math::

        \text{bits} \ge \sum_s \max\left(W \left\lceil \frac{P_s + d_s(k)\, h}{W} \right\rceil,\;
        n_s\, \rho(c_s)\right)

    (``P_s``: the payload of its synapses, :func:`payload_bits`). It grows with ``k`` and is at
    least ``demand_lower_bounds()["synapse_bits"]``; on dense layers, whose sources reach many
    cores with short rows, it is well above it.
    """
    if fb is None:
        fb = fanout_bound(graph, chip)
    sr = _source_rows(graph, chip, fb)
    if sr.src.size == 0:
        return 0
    return _rows_bound(chip.core, sr, fb.dest_lower(int(k), shared=False)[sr.src])


def synapse_min_cores(graph: NetGraph, chip: ChipSpec, k_start: int = 1, *, fill: float = 1.0,
                      fb: Optional[FanoutBound] = None, max_iter: int = 1000) -> int:
    r"""Fewest parts ``k >= k_start`` whose synapse memory can hold :func:`synapse_bits_lower_bound`.

    The smallest ``k`` with ``B(k) <= fill * k * synapse_mem_bits``; ``B`` only grows with ``k``,
    so from ``k_start`` the next candidate is ``ceil(B(k) / (fill * synapse_mem_bits))`` until it
    stops growing (every ``k`` skipped has ``B(k) >= B(k_prev) > fill * k * limit``). With
    ``fill = 1`` and ``k_start`` a lower bound the result is a lower bound of the cores of any
    feasible partition; :func:`mapper.partition.partition` starts graph partitioners from it
    with ``fill = 1 - slack``.
    """
    k = max(1, int(k_start))
    lim = float(chip.core.synapse_mem_bits) * float(fill)
    if graph.n == 0 or lim <= 0:
        return k
    if fb is None:
        fb = fanout_bound(graph, chip)
    sr = _source_rows(graph, chip, fb)
    if sr.src.size == 0:
        return k
    for _ in range(max_iter):
        nxt = math.ceil(_rows_bound(chip.core, sr, fb.dest_lower(k, shared=False)[sr.src]) / lim)
        if nxt <= k:
            return k
        if nxt >= graph.n:
            return int(graph.n)
        k = nxt
    return k


def min_cores(graph: NetGraph, chip: ChipSpec) -> tuple[int, str]:
    """``(k, resource)``: the fewest cores the lower bounds allow, and the binding resource.

    The largest of the total-demand bound (:func:`demand_lower_bounds`), the output-axon fixed
    point :func:`out_axon_lower_bound` started from it, and the synapse-memory row bound
    :func:`synapse_min_cores` (a header and word rounding per row of every source and destination
    core) started from that; ``resource`` is ``"out_axons"`` or ``"synapse_bits"`` when one of the
    latter raises the count.
    """
    k, res = _demand_min_cores(graph, chip)
    k_out, fb = out_axon_lower_bound(graph, chip, k)
    if k_out > k:
        k, res = int(k_out), "out_axons"
    if chip.core.synapse_mem_bits:
        k_syn = synapse_min_cores(graph, chip, k, fb=fb)
        if k_syn > k:
            k, res = int(k_syn), "synapse_bits"
    return k, res


def check_dest_cores(graph: NetGraph, chip: ChipSpec, rows: CoreRows, *, part_core: Optional[np.ndarray] = None,
                     where: str = "") -> None:
    """Raise :class:`CapacityError` if a neuron targets more cores than
    ``CoreLimits.max_out_axons_per_neuron`` allows (e.g. TrueNorth: one).

    A neuron ``v`` needs ``|{part[t] : t in targets(v)}|`` destination cores (its rows in ``rows``).

    Parameters
    ----------
    graph, chip, rows
        The graph, the chip and the rows of a partition of ``graph`` (:func:`mapper.graph.core_rows`).
    part_core : ndarray, optional
        Board core of every part: the message then lists the neuron's board cores, else its parts.
    where : str
        What is being checked (e.g. ``"placement file 'p.json'"``), added to the message.
    """
    lim = chip.core.max_out_axons_per_neuron
    if lim is None:
        return
    ndest = np.bincount(rows.src, minlength=graph.n)
    bad = np.flatnonzero(ndest > lim)
    if bad.size:
        g = int(bad[np.argmax(ndest[bad])])
        pop, i = graph.population_of(g)
        lo = int(np.searchsorted(rows.src, g))
        dest = rows.part[lo:lo + int(ndest[g])]
        kind = "parts"
        if part_core is not None:
            dest, kind = np.sort(np.asarray(part_core, dtype=np.int64)[dest]), "cores"
        shown = ", ".join(str(int(d)) for d in dest[:8]) + (", ..." if dest.size > 8 else "")
        raise CapacityError(f"{pop}[{i}]", "max_out_axons_per_neuron", int(ndest[g]), int(lim),
                            hint=(f"{where}: " if where else "")
                            + f"neuron {i} of population '{pop}' targets {int(ndest[g])} {kind} [{shown}] "
                              f"({bad.size} neuron(s) affected); relay its spikes through splitter neurons, one per "
                              f"destination core: map_network(..., splitters='auto'), the default unless --no-splitters")


def check_board_fits(graph: NetGraph, chip: ChipSpec) -> tuple[int, str]:
    """Raise :class:`CapacityError` if the lower bounds of :func:`min_cores` exceed the whole board.

    The message names the binding limit and how many cores (and chips) the network needs at
    least; when output axons bind it reports ``cores`` (used = the bound, limit = the board).

    Returns :func:`min_cores`.
    """
    k, res = min_cores(graph, chip)
    if k > chip.n_cores and res == "out_axons":
        fb = fanout_bound(graph, chip)
        s_max = max_core_size(fb, k, int(chip.core.max_out_axons))
        chips = -(-k // chip.cores_per_chip)
        d_one = fb.dest_lower(k, shared=False)
        raise CapacityError(f"network '{graph.name}'", "cores", k, chip.n_cores,
                            hint=f"bound by max_out_axons ({chip.core.max_out_axons}): spread over {k} cores, its "
                                 f"neurons reach at least {int(d_one.sum())} destination cores in all (up to "
                                 f"{int(fb.dest_lower(k).max())} each), {chip.core.max_out_axons} per core at most, "
                                 f"and a core holds at most {s_max} neuron(s), so {graph.n} neurons need at least "
                                 f"{k} cores ({chips} chip(s) of {chip.cores_per_chip} cores); "
                                 f"'{chip.name}' has {chip.n_cores} core(s) on {chip.n_chips} chip(s)")
    if k > chip.n_cores:
        lb = demand_lower_bounds(graph, chip)[res]
        lim = limits_of(chip.core)[res]
        rows = ""
        if res == "synapse_bits":  # the row bound on the whole board: a header and rounding per destination core
            lb = max(lb, synapse_bits_lower_bound(graph, chip, chip.n_cores))
            rows = "one row header and word rounding per source and destination core counted; "
        chips = -(-k // chip.cores_per_chip)
        raise CapacityError(f"network '{graph.name}'", LIMIT_FIELD[res], lb, lim * chip.n_cores,
                            hint=f"{rows}needs at least {k} cores ({chips} chip(s) of {chip.cores_per_chip} cores); "
                                 f"'{chip.name}' has {chip.n_cores} core(s) on {chip.n_chips} chip(s)")
    return k, res
