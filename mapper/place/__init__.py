"""The place stage and its families: parts -> cores of the board, then twin exchange.

* :func:`place` (:mod:`.core`) -- run a placer; returns a :class:`Placement`.
* :data:`PLACERS` (:mod:`.placers`) -- ``"identity"``, ``"hilbert"``, ``"block"``, ``"anneal"``,
  plain callables of one signature; their starts and orders.
* :mod:`.cost` -- the placement objective (exact, with incremental moves); :mod:`.anneal` -- the
  simulated-annealing refinement.
* :func:`exchange_twins` (:mod:`.twins`) -- the stage after placement that swaps interchangeable
  neurons between parts; returns the new partition and placement as a :class:`TwinExchange`.
"""
from __future__ import annotations

from .core import Placement, place
from .cost import placement_cost
from .placers import PLACERS, Placer
from .twins import TwinExchange, exchange_twins, find_twins, twin_work

__all__ = ["Placement", "place", "PLACERS", "Placer", "placement_cost", "TwinExchange", "exchange_twins",
           "find_twins", "twin_work"]
