"""Evaluate a given placement: route and estimate it, with every limit re-checked (no search).

The import path beside re-evaluation: a placement read back from a file
(:func:`mapper.readback.read_placement`), or made elsewhere, as ``part[g]`` (the part of neuron
``g``) and ``part_core[i]`` (the board core of part ``i``), goes through the same route and
estimate stages as a mapping (:mod:`mapper.route`, :mod:`mapper.estimate`) and gives the same
:class:`~mapper.pipeline.MappingResult` and report (:func:`mapper.report.build_report`).
"""
from __future__ import annotations

import time
from typing import Optional, Union

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.errors import CapacityError, MappingError, describe
from neurosim.ir import Network

from .chipspec import ChipSpec
from .estimate import estimate
from .graph import build_graph, core_rows
from .nets import build_nets
from .options import MappingOptions
from .partition import Partition
from .partition.relays import SPLITTER_POPULATION, relay_activity
from .pipeline import MappingResult, resolve_chip
from .place import Placement
from .report import Report, build_report
from .resources import LIMIT_FIELD, check_dest_cores, core_usage, min_cores
from .route import route

__all__ = ["evaluate_placement"]


def _index_array(values, where: str, key: str) -> np.ndarray:
    """``values`` as a 1-D int64 array of indices; floats must be whole numbers (no truncation)."""
    a = np.asarray(values)
    if a.ndim != 1 or a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and not np.all(np.isfinite(a))):
        raise MappingError(describe(where, key, "must be a 1-D array of indices", got=f"{a.dtype} shape {a.shape}",
                                    expected="integers"))
    out = a.astype(np.int64)
    if a.dtype.kind == "f" and not np.array_equal(out, a):
        raise MappingError(describe(where, key, "indices must be whole numbers",
                                    got=float(a[out != a][0]), expected="integers"))
    return out


def evaluate_placement(network: Network, chip: Union[ChipSpec, str], activity: Optional[ActivityProfile], *,
                       part: np.ndarray, part_core: np.ndarray, assumed_rate: Optional[float] = None,
                       label: str = "given") -> MappingResult:
    """Route and estimate a *given* placement (no partitioning or placement search).

    ``part[g]`` is the part of neuron ``g`` (parts ``0..K-1``) and ``part_core[i]`` the board core
    of part ``i`` (e.g. from :func:`mapper.readback.read_placement`); parts that hold no neuron are
    dropped, so ``part = core index`` with ``part_core = arange(chip.n_cores)`` costs only the
    cores in use. Every limit is re-checked.
    A ``network`` with splitter relays (:attr:`MappingResult.network`,
    :attr:`mapper.readback.PlacementRecord.network`) may come with the ``activity`` of the original
    populations: the relays then repeat their origins' counts
    (:func:`mapper.partition.relays.relay_activity`). Without ``activity`` every neuron emits
    ``assumed_rate`` events per step (``None``: the default of
    :attr:`MappingOptions.assumed_rate <mapper.options.MappingOptions>`), and the report says so.

    Raises
    ------
    CapacityError
        A part exceeds a per-core limit, or a neuron's targets lie on more cores than
        ``core.max_out_axons_per_neuron`` allows (:func:`mapper.resources.check_dest_cores`; the
        placement of a network mapped with splitters must include the relays, see
        :attr:`MappingResult.network` and :func:`mapper.readback.read_placement`).
    MappingError
        Malformed ``part`` / ``part_core``.
    """
    t_all = time.perf_counter()
    chip = resolve_chip(chip)
    if activity is None:
        rate = MappingOptions().assumed_rate if assumed_rate is None else assumed_rate
        activity = ActivityProfile.assumed(network, rate)
    elif SPLITTER_POPULATION in network.population_map() and SPLITTER_POPULATION not in activity.counts:
        activity = relay_activity(network, activity)
    graph = build_graph(network, activity)
    part = _index_array(part, f"placement '{label}'", "part")
    core = _index_array(part_core, f"placement '{label}'", "part_core")
    k = core.size

    def bad(key: str, what: str, got, expected) -> MappingError:
        return MappingError(describe(f"placement '{label}'", key, what, got=got, expected=expected))

    if part.shape != (graph.n,):
        raise bad("part", "one part per neuron", f"shape {part.shape}", f"({graph.n},)")
    if part.size and (part.min() < 0 or part.max() >= k):
        i = int(np.flatnonzero((part < 0) | (part >= k))[0])
        raise bad("part", f"neuron {i} is on a part without a core", int(part[i]),
                  f"0 .. {k - 1} (len(part_core) = {k})")
    if k and (core.min() < 0 or core.max() >= chip.n_cores):
        i = int(np.flatnonzero((core < 0) | (core >= chip.n_cores))[0])
        raise bad("part_core", f"part {i}'s core is not on the board", int(core[i]), f"0 .. {chip.n_cores - 1}")
    if np.unique(core).size != k:
        values, counts = np.unique(core, return_counts=True)
        dup = int(values[counts > 1][0])
        raise bad("part_core", "two parts on one core", f"core {dup} twice", "one core per part")
    used = np.unique(part)
    if used.size < k:  # parts holding no neuron are no cores in use (e.g. part = core, part_core = all cores)
        part, core, k = np.searchsorted(used, part), core[used], int(used.size)
    rows = core_rows(graph, part, k)
    usage = core_usage(graph, chip, part, n_parts=k, rows=rows)
    for c, r, used, lim in usage.violations():
        raise CapacityError(f"part {c} (core {int(core[c])})", LIMIT_FIELD[r], used, lim, hint=f"placement '{label}'")
    check_dest_cores(graph, chip, rows, part_core=core, where=f"placement '{label}'")
    k_min, binding = min_cores(graph, chip)
    prt = Partition(part=part, n_parts=k, strategy=label, usage=usage, rows=rows, k_min=k_min, binding=binding,
                    k_initial=k, repair_moves=0, new_cores=0, attempts=0)
    nets = build_nets(graph, part, rows)
    pl = Placement(core=core, strategy=label, cost={}, initial_cost={}, moves_tried=0, moves_accepted=0, wall_s=0.0)
    rt = route(graph, chip, part, rows=rows, part_core=core, nets=nets)
    est = estimate(graph, chip, partition=prt, routing=rt)
    wall = {"total": time.perf_counter() - t_all}
    data = build_report(network, chip, graph=graph, partition=prt, placement=pl, routing=rt, estimate=est, wall=wall,
                        seed=0, partitioner=label, placer=label, given=True)
    return MappingResult(chip=chip, graph=graph, partition=prt, placement=pl, routing=rt, estimate=est,
                         report=Report(data), activity=activity, network=network)
