"""The place stage: put every part of a partition on its own core of the board.

:func:`place` runs the placer named by ``MappingOptions.placer`` (:data:`~mapper.place.placers.PLACERS`)
on the partition's multicast nets (:mod:`mapper.nets`) and returns a :class:`Placement`: the core
of every part and the objective of :mod:`mapper.place.cost` (per step),

.. math:: C = \\sum_l w_l L_l + \\lambda \\max_l L_l ,

before and after the ``"anneal"`` refinement (for the other placers, the plain link traversals
``sum_l L_l`` with ``lambda = 0``). A partition that chose its own cores (the ``"steiner"``
strategy, :attr:`mapper.partition.Partition.cores`) adds that placement as a third start of the
``"anneal"`` placer. Twin exchange, which may change the partition, is the next stage
(:func:`mapper.place.twins.exchange_twins`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from neurosim.errors import CapacityError, MappingError

from ..chipspec import ChipSpec
from ..nets import Nets
from ..options import MappingOptions, Progress
from .cost import objective_multicast, placement_cost
from .placers import PLACERS, best_start, complete_start

__all__ = ["Placement", "place"]


@dataclass(frozen=True, eq=False)
class Placement:
    """Core of every part, and the objective before and after refinement (per step).

    Attributes
    ----------
    core : ndarray of int64, shape (n_parts,)
        Board core of every part (distinct).
    strategy : str
        The placer.
    cost, initial_cost : dict
        ``{"links", "max_link_load", "objective"}`` (:func:`mapper.place.cost.placement_cost`)
        after and before the refinement.
    moves_tried, moves_accepted : int
        Annealing moves (0 for the placers that do not search).
    wall_s : float
        Seconds the placer took.
    budget_bound : tuple of str
        The refinement phases the wall-clock cap cut short or skipped (e.g. ``("place: exact",)``;
        empty when the fixed move budget ran to its end, the reproducible case).
    """

    core: np.ndarray
    strategy: str
    cost: dict
    initial_cost: dict
    moves_tried: int
    moves_accepted: int
    wall_s: float
    budget_bound: tuple = ()


def place(nets: Nets, chip: ChipSpec, options: MappingOptions, *, cores: Optional[np.ndarray] = None,
          deadline: Optional[float] = None, progress: Optional[Progress] = None) -> Placement:
    """Place the parts of ``nets`` on the cores of ``chip`` with the placer ``options.placer``.

    Parameters
    ----------
    nets : Nets
        The partition's multicast nets (:func:`mapper.nets.build_nets`).
    chip : ChipSpec
    options : MappingOptions
        ``placer``, ``seed``, ``time_budget_s`` (wall-clock cap of the ``"anneal"`` refinement,
        seconds from the call; 0: none) and the place options
        (:meth:`MappingOptions.place_settings`: ``lam``, ``chip_weight``, the move counts,
        ``work``, ``links_slack``, ``start``, ``multicast`` -- ``None``: the chip's routing model).
    cores : ndarray of int, optional
        The board core a partitioner chose for every part (-1: none), an extra start of
        ``"anneal"`` (:func:`~mapper.place.placers.complete_start`) unless ``start`` is given.
    deadline : float, optional
        The wall-clock cap as a :func:`time.perf_counter` time, shared with later stages (the
        pipeline's cap of the place stage); the earlier of it and ``time_budget_s`` applies.
    progress : callable, optional
        ``progress(stage, done, total)`` of the ``"anneal"`` phases.

    Raises
    ------
    MappingError
        Unknown placer, or a placer that put two parts on one core.
    CapacityError
        More parts than cores on the board.
    """
    strategy = options.placer
    if strategy not in PLACERS:
        raise MappingError(f"placer '{strategy}': unknown strategy (expected one of {sorted(PLACERS)})")
    if nets.n_parts > chip.n_cores:
        raise CapacityError(f"partition of {nets.n_parts} parts", "cores", nets.n_parts, chip.n_cores,
                            hint=f"'{chip.name}' has {chip.n_cores} cores")
    s = options.place_settings()
    multicast = objective_multicast(chip, s["multicast"])
    chip_weight = float(s["chip_weight"])
    start = s["start"]
    if strategy == "anneal" and cores is not None and start is None:
        start = best_start(nets, chip, multicast=multicast, lam=s["lam"], chip_weight=chip_weight,
                           extra=(complete_start(chip, cores),))
    t0 = time.perf_counter()
    stats: dict = {}
    core = PLACERS[strategy](nets, chip, seed=options.seed, time_budget_s=options.time_budget_s, lam=s["lam"],
                             chip_weight=chip_weight, multicast=multicast, start=start, pair_moves=s["pair_moves"],
                             exact_moves=s["exact_moves"], polish_moves=s["polish_moves"], work=s["work"],
                             links_slack=s["links_slack"], deadline=deadline, stats=stats, progress=progress)
    core = np.asarray(core, dtype=np.int64)
    if core.shape != (nets.n_parts,) or np.unique(core).size != core.size or core.min(initial=0) < 0 \
            or core.max(initial=0) >= chip.n_cores:
        raise MappingError(f"placer '{strategy}': invalid placement (each part needs its own core of the board)")
    wall = time.perf_counter() - t0
    lam = stats.get("lam", 0.0)
    final = stats.get("final") or placement_cost(nets, chip, core, multicast=multicast, lam=lam)
    init = stats.get("initial", final)
    return Placement(core=core, strategy=strategy, cost=final, initial_cost=init,
                     moves_tried=int(stats.get("tried", 0)), moves_accepted=int(stats.get("accepted", 0)), wall_s=wall,
                     budget_bound=tuple(stats.get("budget_bound", ())))
