"""The options of a mapping, in one frozen object: the only home of every mapping default.

``map_network(network, chip, activity, options=MappingOptions(...))`` takes them; the pipeline
API, the sweeps and every CLI verb build one of these and never repeat a default. Fields are
checked when the object is built (:class:`~neurosim.errors.MappingError` naming the option, the
value and what is allowed), so a bad option fails before any work.

Strategy names are checked against the registries when the mapping runs
(:data:`mapper.partition.STRATEGIES`, :data:`mapper.place.PLACERS`), which this module does not
import (it sits below every stage). The stages take a ``MappingOptions`` (or the values they need
from it, as keyword arguments without defaults), so no stage repeats a default.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Union

import numpy as np

from neurosim.errors import MAX_SEED, MappingError, describe
from neurosim.validation.schema import did_you_mean

__all__ = ["MappingOptions", "PLACE_DEFAULTS", "PLACE_OPTIONS", "SPLITTER_MODES", "Progress"]

#: the options of the ``"anneal"`` placer and of twin exchange (``MappingOptions.place_options``)
#: and their defaults; ``None`` is derived where it is used: ``lam`` the tiles in use by the start
#: placement, ``pair_moves`` / ``exact_moves`` / ``polish_moves`` from the number of parts and the
#: work budget ``work`` (:func:`mapper.place.anneal.move_budget`), ``links_slack`` no cap,
#: ``multicast`` the chip's ``noc.multicast``, ``start`` the better of the ``"hilbert"`` and
#: ``"block"`` placements. ``work`` is the work of one placement in work units (about a
#: microsecond each on the reference machine, :data:`mapper.place.anneal.MOVE_COST`): it fixes the
#: number of moves from the sizes alone, so a seed gives the same placement on any machine
PLACE_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "lam": None, "chip_weight": 1.0, "pair_moves": None, "exact_moves": None, "polish_moves": None,
    "links_slack": None, "multicast": None, "start": None, "twins": True, "work": 2.5e7})
PLACE_OPTIONS = tuple(PLACE_DEFAULTS)
#: values of ``MappingOptions.splitters``
SPLITTER_MODES = ("auto", "new-cores", False)

#: progress callback of the long mapping stages: ``progress(stage, done, total)`` (for progress
#: bars; it never changes a result)
Progress = Callable[[str, int, int], None]


def _budget(name: str, value: Any, *, none_ok: bool = False) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise MappingError(describe("option", name, "must be a finite number of seconds >= 0", got=repr(value),
                                    expected=">= 0" + (" or None" if none_ok else "")))


@dataclass(frozen=True)
class MappingOptions:
    """How to map: strategies, seed and budgets.

    Attributes
    ----------
    partitioner : str
        A key of :data:`mapper.partition.STRATEGIES` (``"sequential"``, ``"metis"``,
        ``"hypergraph"``, ``"steiner"``).
    placer : str
        A key of :data:`mapper.place.PLACERS` (``"identity"``, ``"hilbert"``, ``"block"``,
        ``"anneal"``).
    seed : int
        Seed of every random choice of the mapping, ``0 .. 2**31 - 1``.
    time_budget_s : float
        Wall-clock cap of the placement stage (refinement and twin exchange), seconds; ``0``: no
        cap. The refinement's moves are fixed by the sizes and the place option ``work`` (the same
        placement for a seed on any machine, under any load); the cap is a safety net, several
        times the expected time. When it binds, the phases it cut are listed in
        ``report["mapper"]["budget_bound"]``, the report notes it and a warning is logged: that
        result depends on the machine's speed and load.
    assumed_rate : float
        Events per neuron per step assumed when no activity is given (``0 .. 1``); the report
        says the activity was assumed.
    place_options : mapping
        Extra options of the ``"anneal"`` placer and of twin exchange (:data:`PLACE_OPTIONS`;
        defaults :data:`PLACE_DEFAULTS`, see :meth:`place_settings`).
    splitters : {"auto", "new-cores", False}
        Relay ("splitter") neurons for neurons whose targets span more cores than the chip's
        ``core.max_out_axons_per_neuron``: on cores with room (``"auto"``), always on new cores
        (``"new-cores"``), or none (``False``: such a neuron raises ``CapacityError``).
    repair_budget_s : float or None
        Wall-clock cap of each repair of a graph partitioner's attempt, seconds (``None``: no
        cap); past it the partition hands over to sequential fill. The repair's own work is
        bounded by counts (rounds, tries per part), so the cap is a safety net; when it binds,
        ``"partition: repair"`` is listed in ``report["mapper"]["budget_bound"]`` (the result is
        then not reproducible).
    steiner_budget_s : float
        Wall-clock cap of the ``"steiner"`` partitioner's tile mapping, seconds; past it
        ``"hypergraph"`` takes over and ``"partition: steiner"`` is listed in
        ``report["mapper"]["budget_bound"]``.
    """

    partitioner: str = "metis"
    placer: str = "anneal"
    seed: int = 0
    time_budget_s: float = 300.0
    assumed_rate: float = 0.01
    place_options: Mapping[str, Any] = field(default_factory=dict)
    splitters: Union[str, bool] = "auto"
    repair_budget_s: Optional[float] = 60.0
    steiner_budget_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("partitioner", "placer"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise MappingError(describe("option", name, "must be a strategy name", got=repr(value),
                                            expected="a non-empty string"))
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
            raise MappingError(describe("option", "seed", "not a valid seed", got=repr(seed),
                                        expected=f"an integer in 0 .. {MAX_SEED}"))
        object.__setattr__(self, "seed", int(seed))
        _budget("time_budget_s", self.time_budget_s)
        _budget("repair_budget_s", self.repair_budget_s, none_ok=True)
        _budget("steiner_budget_s", self.steiner_budget_s)
        rate = self.assumed_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) \
                or not 0.0 <= float(rate) <= 1.0:
            raise MappingError(describe("option", "assumed_rate", "must be events per neuron per step in [0, 1]",
                                        got=repr(rate), expected="0 <= assumed_rate <= 1"))
        splitters = "auto" if self.splitters is True else self.splitters
        if splitters not in SPLITTER_MODES:
            raise MappingError(describe("option", "splitters", "unknown value", got=repr(self.splitters),
                                        expected="'auto', 'new-cores' or False"))
        object.__setattr__(self, "splitters", splitters)
        if self.place_options is None:
            object.__setattr__(self, "place_options", {})
        if not isinstance(self.place_options, Mapping):
            raise MappingError(describe("option", "place_options", "must be a mapping of option names to values",
                                        got=type(self.place_options).__name__,
                                        expected=f"keys in {list(PLACE_OPTIONS)}"))
        for key in self.place_options:
            if key not in PLACE_OPTIONS:
                raise MappingError(describe("place option", str(key), "unknown" + did_you_mean(key, PLACE_OPTIONS),
                                            expected=f"one of {list(PLACE_OPTIONS)}"))
        tuning = [k for k in self.place_options if k not in ("multicast", "twins")]
        if tuning and self.placer != "anneal":
            raise MappingError(describe("place option", ", ".join(tuning), f"placer '{self.placer}' does not refine, "
                                        "so it takes no tuning options", expected="placer='anneal'"))
        work = self.place_options.get("work", PLACE_DEFAULTS["work"])
        if isinstance(work, bool) or not isinstance(work, (int, float, np.integer, np.floating)) \
                or not np.isfinite(work) or work <= 0:
            raise MappingError(describe("place option", "work", "must be a finite number of work units > 0",
                                        got=repr(work), expected="> 0 (default 2.5e7: about 25 s of refinement at most)"))
        object.__setattr__(self, "place_options", MappingProxyType(dict(self.place_options)))

    def replace(self, **changes: Any) -> "MappingOptions":
        """A copy with ``changes`` applied (checked like a new object); unknown names are refused."""
        names = {f.name for f in dataclasses.fields(self)}
        for key in changes:
            if key not in names:
                raise MappingError(describe("option", str(key), "unknown mapping option" + did_you_mean(key, names),
                                            expected=f"one of {sorted(names)}"))
        return dataclasses.replace(self, **changes)

    def place_settings(self) -> dict[str, Any]:
        """Every place option with its value: :data:`PLACE_DEFAULTS` updated by ``place_options``."""
        return {**PLACE_DEFAULTS, **self.place_options}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (for reports and sweep keys)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["place_options"] = dict(self.place_options)
        return out
