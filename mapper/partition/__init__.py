"""The partition stage and its families: neurons -> parts that each fit one core.

* :func:`partition` (:mod:`.core`) -- run a strategy, repair the result exactly, hand over when it
  cannot fit; returns a :class:`Partition`.
* :data:`STRATEGIES` (:mod:`.strategies`) -- ``"sequential"``, ``"metis"``, ``"hypergraph"``
  (:mod:`.hypergraph`) and ``"steiner"`` (:mod:`.steiner`), plain callables of one signature.
* :mod:`.repair` -- the exact single-neuron repair every strategy's result goes through.
* :func:`add_splitters` (:mod:`.splitters`; :mod:`.packing` places the relays, :mod:`.relays`
  builds them) -- the splitter stage that follows on chips with a per-neuron destination limit:
  relay neurons, returned with the new network, activity, graph and partition as a
  :class:`Splitters` value.
"""
from __future__ import annotations

from .core import Partition, partition
from .splitters import SPLITTER_POPULATION, Splitters, add_splitters, insert_splitters, partition_chip
from .strategies import STRATEGIES, Strategy, traffic_graph

__all__ = ["Partition", "partition", "STRATEGIES", "Strategy", "traffic_graph", "Splitters", "add_splitters",
           "insert_splitters", "partition_chip", "SPLITTER_POPULATION"]
