r"""The partition stage: split the neurons into parts that each fit one core, minimising spike traffic.

:func:`partition` runs a strategy (:data:`~mapper.partition.strategies.STRATEGIES`) and then the
exact repair (:class:`~mapper.partition.repair.RepairState`; an imbalance factor is not a
capacity). It starts from the fewest cores the lower bounds allow
(:func:`mapper.resources.min_cores`: total demands and the output-axon fixed point; for graph
partitioners also the synapse memory of one row per source and destination core,
:func:`mapper.resources.synapse_min_cores`), plus a small slack,

.. math:: k_0 = \max\left(k_{min}, \left\lceil \frac{D_b}{L_b (1 - \mathrm{slack})} \right\rceil\right)

(``D_b`` the total demand of the binding resource, ``L_b`` its per-core limit; for the slow
Mt-KaHyPar strategies with input axons binding, scaled by the fill of one METIS partition,
:func:`_probe_k`), re-partitions with more parts if the repair cannot fit every part (at least
``k f / (1 - slack)`` parts when the parts were over-full on average, :func:`_next_k`), and finally
spills into new cores. A graph partitioner that finds no feasible partition on the board hands
over to sequential fill, and ``"steiner"`` past its budget to ``"hypergraph"``
(:attr:`Partition.fallback` says why). Networks too large for the board, and single neurons too
large for a core, raise :class:`~neurosim.errors.CapacityError`.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import logging
import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from neurosim.errors import CapacityError, MappingError

from ..chipspec import ChipSpec
from ..graph import CoreRows, NetGraph, core_rows
from ..options import MappingOptions, Progress
from ..resources import (LIMIT_FIELD, RESOURCES, CoreUsage, check_board_fits, check_dest_cores, check_neurons_fit,
                         core_usage, demand_lower_bounds, limits_of, synapse_min_cores)
from .hypergraph import hypergraph
from .repair import RepairState
from .steiner import SteinerUnavailable
from .strategies import STRATEGIES, metis, traffic_graph

__all__ = ["Partition", "partition"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Partition:
    """Neurons grouped into parts, each fitting one core.

    Attributes
    ----------
    part : ndarray of int64, shape (n,)
        Part of every neuron; parts are ``0 .. n_parts - 1`` and none is empty.
    n_parts : int
    strategy : str
    usage : CoreUsage
        Exact resource use of every part (no limit exceeded).
    rows : CoreRows
        (source neuron, destination part) rows with their synapse counts.
    k_min : int
        Fewest cores the lower bounds allow (:func:`mapper.resources.min_cores`: total demands
        and the output-axon fixed point); ``binding`` names the resource.
    binding : str
    k_initial : int
        Parts requested from the strategy in the accepted attempt.
    repair_moves, new_cores, attempts : int
    fallback : str
        Empty, or why the requested strategy was replaced (a graph partitioner's attempts found no
        feasible partition on the board within the repair budget, or ``"steiner"`` ran out of its
        time budget).
    cores : ndarray of int64, shape (n_parts,), optional
        The board core the strategy chose for every part (``"steiner"``; -1 for parts the repair
        added), taken by the annealing placer as a start; ``None`` for other strategies.
    budget_bound : tuple of str
        The wall-clock caps that bound this partition: ``"partition: repair"`` (a repair stopped
        at ``repair_budget_s``), ``"partition: steiner"`` (the tile mapping stopped at
        ``steiner_budget_s``); empty when none did (the reproducible case).
    """

    part: np.ndarray
    n_parts: int
    strategy: str
    usage: CoreUsage
    rows: CoreRows
    k_min: int
    binding: str
    k_initial: int
    repair_moves: int
    new_cores: int
    attempts: int
    fallback: str = ""
    cores: Optional[np.ndarray] = None
    budget_bound: tuple = ()

    def members(self) -> list[np.ndarray]:
        """Neurons of every part (sorted)."""
        order = np.argsort(self.part, kind="stable")
        bounds = np.searchsorted(self.part[order], np.arange(self.n_parts + 1))
        return [order[bounds[i]:bounds[i + 1]] for i in range(self.n_parts)]



def _compact(part: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber parts ``0..m-1`` in order of first appearance of their smallest neuron."""
    used, first = np.unique(part, return_index=True)
    order = np.argsort(first, kind="stable")
    remap = np.empty(int(part.max()) + 1 if part.size else 0, dtype=np.int64)
    remap[used[order]] = np.arange(used.size)
    return remap[part], int(used.size)


def _too_big(graph: NetGraph, chip: ChipSpec, st: Optional[RepairState], usage: CoreUsage, budget_s: Optional[float],
             *, strategy: str, k_min: Optional[int], tried: tuple[str, ...]) -> CapacityError:
    """The error for a partition that needs more cores than the board has (or cannot be repaired,
    or whose repair ran out of its ``budget_s``). It names the strategy whose result it is and,
    when the lower bound ``k_min`` fits the board, says another partitioner may fit."""
    if st is not None:
        used, lim, k = st.used, st.lim, st.k
    else:
        used, k = {r: list(v) for r, v in usage.used.items()}, usage.n_parts
        lim = {r: (v if v is not None else 1 << 62) for r, v in usage.limits.items()}
    over = [c for c in range(k) if any(used[r][c] > lim[r] for r in used)]
    worst_c, worst_r, worst = 0, "compartments", -1.0
    for c in over or range(k):
        for r in used:
            frac = used[r][c] / max(lim[r], 1)
            if frac > worst:
                worst, worst_c, worst_r = frac, c, r
    chips = -(-k // chip.cores_per_chip)
    board = f"'{chip.name}' has {chip.n_cores} core(s) on {chip.n_chips} chip(s)"
    if not over:
        bound = "" if k_min is None else f"; no partition can use fewer than {k_min}"
        others = [f"'{x}'" for x in ("metis", "hypergraph") if x not in tried and x != strategy]
        if k_min is not None and k_min <= chip.n_cores and others:
            bound += f" cores, so another partitioner may fit: try partitioner={' or '.join(others)}"
        elif k_min is not None:
            bound += " cores"
        return CapacityError(f"network '{graph.name}'", "cores", k, chip.n_cores,
                             hint=f"partition '{strategy}' needs {k} cores ({chips} chip(s) of {chip.cores_per_chip}), "
                                  f"bound by {LIMIT_FIELD[worst_r]}{bound}; {board}")
    if st is not None and st.timed_out:
        why = (f"the repair stopped at its {budget_s:g} s time budget" if budget_s is not None
               else "the repair stopped at its time budget")
        return CapacityError(f"network '{graph.name}'", LIMIT_FIELD[worst_r], used[worst_r][worst_c], lim[worst_r],
                             hint=f"{why} with part {worst_c} still over its limit ({k} cores in use; "
                                  f"repair_budget_s=None: no limit); {board}")
    return CapacityError(f"network '{graph.name}'", LIMIT_FIELD[worst_r], used[worst_r][worst_c], lim[worst_r],
                         hint=f"no feasible move left for part {worst_c} with {k} cores in use; {board}")


def _next_k(tried: list[tuple[int, float]], *, slack: float, cap: int) -> int:
    r"""Parts for the next attempt after infeasible ones.

    ``tried`` holds ``(k, f)``: parts and the mean use of the fullest resource per part, relative
    to its limit. When the parts are over-full on average (``f > 1``) no balance of the
    partitioner can fit them, and the total demand ``f k L`` does not shrink with more parts
    (per-part overheads — a row header and word rounding per input axon of every part — make it
    grow with ``k``), so the next attempt needs at least

    .. math::

        k' \ge \left\lceil \frac{k f}{1 - \mathrm{slack}} \right\rceil .

    From the second over-full attempt on, ``f`` is also extrapolated to ``1 - slack`` along the
    secant of the last two attempts (when it fell), and the larger of the two is taken: with a
    demand ``D(k) = a + b k`` (``b``: the overhead per part), ``f = D / (k L)`` is convex and
    falling, so its secant beyond the last attempt lies below it and reaches ``1 - slack`` no
    later than ``f`` does. Otherwise (``f <= 1``: the partitioner's imbalance was the problem)
    the retry adds 3 %, or follows the secant capped by ``k f / (1 - slack)``. Always at least
    3 % more parts, at most ``cap``.
    """
    k, f = tried[-1]
    target = 1.0 - slack
    step = max(1, math.ceil(0.03 * k))
    want = float(k + step)
    secant = None
    if len(tried) >= 2:
        (k0, f0), (k1, f1) = tried[-2], tried[-1]
        if k1 != k0 and f1 < f0 and f1 > target:
            secant = k1 + (f1 - target) * (k1 - k0) / (f0 - f1)
    if f > 1.0:
        want = max(want, k * f / target, secant or 0.0)
    elif secant is not None:
        want = min(k * f / target, secant)
    return int(min(cap, max(k + step, math.ceil(want - 1e-9))))


def _probe_k(graph: NetGraph, chip: ChipSpec, k0: int, binding: str, sym: sp.csr_matrix, slack: float) -> int:
    """Parts to start a slow graph partitioner with when input axons bind.

    The input-axon lower bound counts every source once per core it must reach at least, which
    is far below what any partition needs when sources fan out widely (a sheet with random
    long-range targets needs ~2.3x it). One METIS partition into ``k0`` parts (seconds, against
    tens of seconds per Mt-KaHyPar attempt) measures the mean fill ``f`` of the fullest resource,
    and the slow partitioner starts at ``ceil(k0 f / (1 - slack))`` parts when ``f > 1``
    (:func:`_next_k`'s first step, taken without spending an attempt). Dense graphs (more than 64
    edges per neuron on average), on which METIS itself is slow, are not probed.
    """
    if k0 <= 1 or sym.nnz > 64 * max(1, graph.n):
        return k0
    lims = limits_of(chip.core)
    raw = metis(graph, chip, k=k0, seed=0, binding=binding, sym=sym)  # a probe of the fill: any seed
    part, n = _compact(raw)
    usage = core_usage(graph, chip, part, n_parts=n)
    fill = max(float(usage.used[r].sum()) / (n * lims[r]) for r in RESOURCES if lims[r])
    if fill <= 1.0:
        return k0
    k = min(chip.n_cores, graph.n, math.ceil(k0 * fill / (1.0 - slack) - 1e-9))
    log.info("partition: a METIS probe with %d parts fills %.0f%% of a core on average; starting with %d parts",
             k0, 100 * fill, k)
    return max(k0, k)


def partition(graph: NetGraph, chip: ChipSpec, options: MappingOptions, *, enforce_dest_limit: bool = True,
              n_parts: Optional[int] = None, slack: float = 0.01, attempts: int = 3,
              sym: Optional[sp.csr_matrix] = None, progress: Optional[Progress] = None,
              _tried: tuple[str, ...] = ()) -> Partition:
    """Partition ``graph`` into parts that each fit one core of ``chip``.

    Parameters
    ----------
    graph : NetGraph
    chip : ChipSpec
    options : MappingOptions
        ``partitioner`` (a key of :data:`~mapper.partition.strategies.STRATEGIES`), ``seed``,
        ``repair_budget_s`` and ``steiner_budget_s`` (below).
    enforce_dest_limit : bool
        Raise when a neuron's targets span more cores than ``CoreLimits.max_out_axons_per_neuron``
        (:func:`mapper.resources.check_dest_cores`); ``False`` leaves them to the splitter stage
        (:func:`mapper.partition.splitters.add_splitters`).
    slack : float
        Graph partitioners start from ``ceil(demand / (limit (1 - slack)))`` parts for the binding
        resource, and from at least the fewest parts whose synapse memory, filled to ``1 - slack``,
        holds the row-level synapse bound (one header and word rounding per row of every source
        and destination core, :func:`mapper.resources.synapse_min_cores`), so it keeps a little
        room for the repair.
    n_parts : int, optional
        Start a graph partitioner from this many parts instead (at least ``k_min``).
    attempts : int
        Re-partitions with more parts before spilling into new cores.
    sym : scipy.sparse.csr_matrix, optional
        A precomputed :func:`~mapper.partition.strategies.traffic_graph`.
    options.steiner_budget_s : float
        Seconds the ``"steiner"`` tile mappings of this call may take together; past it (or without
        Mt-KaHyPar, or if its process fails) the partition is ``"hypergraph"``'s (``"metis"``'s
        without Mt-KaHyPar) and :attr:`Partition.fallback` says why.
    options.repair_budget_s : float or None
        Seconds each repair of a graph partitioner's attempt may take (``None``: no limit);
        sequential fill's own repair, the last resort, is not limited. Networks whose output axons couple the
        cores (dense layers, where every neuron of a layer reaches every core of the next) can
        make single-neuron repair moves hopeless; when a graph partitioner's attempts end without
        a feasible partition that fits the board, sequential fill (which packs contiguous runs
        and caps the output axons directly) is tried, and used if it fits, with
        :attr:`Partition.fallback` saying so (``map_network`` adds a note to the report).
    progress : callable, optional
        ``progress(stage, done, total)`` per attempt (stage ``"partition: <strategy>"``) and
        per over-full part the repair has settled (``"partition: repair"``).

    Raises
    ------
    CapacityError
        A neuron alone exceeds a core, the network exceeds the board, or (``enforce_dest_limit``)
        a neuron targets too many cores.
    MappingError
        Unknown strategy.
    """
    strategy, seed = options.partitioner, options.seed
    repair_budget_s, steiner_budget_s = options.repair_budget_s, options.steiner_budget_s
    if strategy not in STRATEGIES:
        raise MappingError(f"partitioner '{strategy}': unknown strategy (expected one of {sorted(STRATEGIES)})")
    t0 = time.perf_counter()
    check_neurons_fit(graph, chip)
    k_min, binding = check_board_fits(graph, chip)
    cache = {"sym": sym}

    def get_sym() -> sp.csr_matrix:
        if cache["sym"] is None:
            cache["sym"] = traffic_graph(graph)
        return cache["sym"]

    fn = STRATEGIES[strategy]
    lims = limits_of(chip.core)
    if strategy == "sequential":
        k0, n_attempts = k_min, 1
    else:
        if n_parts is None:
            demand = demand_lower_bounds(graph, chip)[binding]
            k0 = max(k_min, math.ceil(demand / (lims[binding] * (1.0 - slack))))
            if lims["synapse_bits"]:  # sources fanning out over many cores: a row header per core
                k0 = synapse_min_cores(graph, chip, min(k0, chip.n_cores), fill=1.0 - slack)
        else:
            k0 = max(k_min, int(n_parts))
        k0 = min(chip.n_cores, graph.n, k0)
        if n_parts is None and fn is not metis and binding == "in_axons":
            k0 = _probe_k(graph, chip, k0, binding, get_sym(), slack)
        n_attempts = max(1, attempts)
    st = None
    feasible = False
    moves = new_cores = 0
    k, tried = k0, []  # tried: (k, mean use / limit of the fullest resource)
    measured, hopeless = [], ""  # (parts the attempt produced, mean use / limit of every resource)
    steiner_deadline = t0 + steiner_budget_s  # one budget for all of this call's attempts
    other_full = False  # an attempt over-full on average in a resource other than output axons
    repair_capped = False  # a repair stopped at its wall-clock cap (the result depends on the machine)
    for i in range(n_attempts):
        if progress is not None:
            progress(f"partition: {strategy}", i, n_attempts)
        kwargs = {"binding": binding, "sym": get_sym()} if fn is metis else {}
        if fn is hypergraph:
            kwargs = {"binding": binding}
        if strategy == "steiner":
            kwargs = {"binding": binding, "budget_s": steiner_deadline - time.perf_counter()}
        try:
            # the same k again (capped by the board): another seed, or the attempt repeats itself
            raw = fn(graph, chip, k=k, seed=seed + sum(kk == k for kk, _ in tried), **kwargs)
        except SteinerUnavailable as exc:
            alt = "hypergraph" if importlib.util.find_spec("mtkahypar") is not None else "metis"
            why = f"'steiner' gave no tile mapping of {k} cores ({exc}); '{alt}' used"
            log.warning("partition: %s", why)
            res = partition(graph, chip, options.replace(partitioner=alt), slack=slack, attempts=attempts, n_parts=k,
                            sym=sym, enforce_dest_limit=enforce_dest_limit, progress=progress)
            capped = ("partition: steiner",) if exc.timed_out else ()
            return dataclasses.replace(res, fallback=f"{why}; {res.fallback}" if res.fallback else why,
                                       budget_bound=capped + res.budget_bound)
        label_cores = None
        if isinstance(raw, tuple):  # a strategy that also chose the core of every label ("steiner")
            raw, label_cores = raw
            label_cores = np.asarray(label_cores, dtype=np.int64)
        raw = np.asarray(raw, dtype=np.int64)
        part, n_parts = _compact(raw)
        cores = None
        if label_cores is not None:
            cores = np.full(n_parts, -1, dtype=np.int64)
            cores[part] = label_cores[raw]
        rows = core_rows(graph, part, n_parts)
        usage = core_usage(graph, chip, part, n_parts=n_parts, rows=rows)
        if not usage.violations():
            feasible = True
            break
        st = RepairState(graph, chip, part, n_parts=n_parts, sym=get_sym(), rows=rows, usage=usage)
        last = i == n_attempts - 1
        fills = {r: float(usage.used[r].sum()) / (n_parts * lims[r]) for r in RESOURCES if lims[r]}
        fullest = max(fills, key=fills.get)
        fill = fills[fullest]
        measured.append((n_parts, fills))
        prev_n, prev = measured[-2] if len(measured) >= 2 else (n_parts, fills)
        r0 = max(prev, key=prev.get)  # the resource the previous attempt overfilled most
        if n_parts > prev_n and 1.0 < prev[r0] <= fills[r0]:
            # more parts, and no emptier on average in the same resource: its demand grows at least
            # as fast as the parts (dense layers mixed on every core), so further attempts cannot fit
            hopeless = (f"; its parts were over-full on average with {prev_n} parts ({100 * prev[r0]:.0f} %) "
                        f"and with {n_parts} ({100 * fills[r0]:.0f} % of a core's {LIMIT_FIELD[r0]}): its "
                        "demand grows with their number")
            log.info("partition %s: %s; handing over", strategy, hopeless[2:])
            break
        if not last and fill > 1.0:
            log.info("partition %s k=%d: the parts hold %.0f%% of a core's %s on average; re-partitioning",
                     strategy, k, 100 * fill, LIMIT_FIELD[fullest])
        else:
            feasible = st.run(allow_new=last, budget_s=None if strategy == "sequential" else repair_budget_s,
                              progress=progress)
            repair_capped = repair_capped or st.timed_out
            log.info("partition %s k=%d -> %d parts, feasible=%s after %d moves (%d new cores)%s",
                     strategy, k, st.k, feasible, st.moves, st.new_cores,
                     f"; repair stopped at its {repair_budget_s:g} s budget" if st.timed_out else "")
            if feasible:
                moves, new_cores = st.moves, st.new_cores
                old_n = n_parts
                part, n_parts = _compact(st.part)
                if cores is not None:  # a part keeps its core; the repair's new cores have none yet
                    moved = np.full(n_parts, -1, dtype=np.int64)
                    moved[part] = np.where(st.part < old_n, cores[np.minimum(st.part, old_n - 1)], -1)
                    cores = moved
                rows = core_rows(graph, part, n_parts)
                usage = core_usage(graph, chip, part, n_parts=n_parts, rows=rows)
                break
        tried.append((k, fill))
        out_over = any(r == "out_axons" for _, r, _, _ in usage.violations())
        # over-full on average in another resource, in this attempt or an earlier one: the mean
        # fill only falls with k, so k_min (no more parts than any attempt) is over-full too
        other_full = other_full or any(f > 1.0 for r, f in fills.items() if r != "out_axons")
        if out_over and not other_full and k > k_min and all(kk != k_min for kk, _ in tried):
            # output axons overflow: more parts give every neuron more destination cores, so on a
            # tightly coupled (e.g. all-to-all) layer the bound itself may be the only fit below 2 k_min
            k = k_min
        else:
            grow = tried if tried[-1][0] == max(kk for kk, _ in tried) else [max(tried)]
            k = _next_k(grow, slack=slack, cap=min(chip.n_cores, graph.n))
    if not feasible or n_parts > chip.n_cores:
        if strategy == "sequential":
            raise _too_big(graph, chip, st, usage, repair_budget_s, strategy=strategy, k_min=k_min, tried=_tried)
        why = (f"'{strategy}' found no feasible partition on the board in {i + 1} attempt(s)"
               + (f" (the repair stopped at its {repair_budget_s:g} s budget)" if st is not None and st.timed_out
                  else "") + hopeless + "; sequential fill used")
        log.warning("partition: %s", why)
        try:
            seq = partition(graph, chip, options.replace(partitioner="sequential"),
                            enforce_dest_limit=enforce_dest_limit, progress=progress, _tried=_tried + (strategy,))
        except CapacityError as exc:
            mine = _too_big(graph, chip, st, usage, repair_budget_s, strategy=strategy, k_min=k_min,
                            tried=_tried + (strategy,))
            # the smaller feasible core count of the two is the better estimate of what it takes
            if exc.resource == "cores" and (mine.resource != "cores" or exc.used <= mine.used):
                best = exc
            elif mine.resource == "cores" or st is None or not st.timed_out:
                best = mine
            else:
                best = exc
            # say that both were tried: the requested strategy first, then sequential fill
            raise CapacityError(best.obj, best.resource, best.used, best.limit,
                                hint=f"{why[:-len('; sequential fill used')]}; then {best.hint}") from exc
        return dataclasses.replace(seq, fallback=why,
                                   budget_bound=(("partition: repair",) if repair_capped else ()) + seq.budget_bound)
    if enforce_dest_limit:
        check_dest_cores(graph, chip, rows)
    viol = usage.violations()
    if viol:  # pragma: no cover - the repair checks exactly; this guards the bookkeeping
        c, r, u, lim = viol[0]
        raise MappingError(f"partition '{strategy}': internal bookkeeping error, part {c} exceeds {r} ({u} > {lim})")
    log.info("partition %s: %d parts in %.2f s", strategy, n_parts, time.perf_counter() - t0)
    return Partition(part=part, n_parts=n_parts, strategy=strategy, usage=usage, rows=rows, k_min=k_min,
                     binding=binding, k_initial=int(k), repair_moves=moves,
                     new_cores=new_cores, attempts=i + 1, cores=cores,
                     budget_bound=("partition: repair",) if repair_capped else ())
