"""mapper: put a :class:`neurosim.ir.Network` on a many-core chip and estimate what it costs.

A pipeline of pure stages over frozen data, one module or package each, in order:

* :mod:`mapper.graph` -- the network as the mapper reads it (:class:`~mapper.graph.NetGraph`);
* :mod:`mapper.partition` -- neurons -> parts that fit a core, under every per-core limit
  (strategies, repair, hypergraph and Steiner-tree partitioners), then the splitter stage (relay
  neurons on chips with a per-neuron destination limit);
* :mod:`mapper.place` -- parts -> cores on the mesh (placers, annealing), then twin exchange;
* :mod:`mapper.route` -- spike multicast trees and link loads;
* :mod:`mapper.estimate` -- traffic, energy and latency;
* :mod:`mapper.export` -- placement files and SANA-FE files;
* :mod:`mapper.interchange` -- SANA-FE network files read back: a network and a given placement
  (:func:`read_sanafe_network`);

with :mod:`mapper.mesh` (tile geometry, XY paths, link indexing) and :mod:`mapper.nets` (multicast
nets) shared by the stages, :mod:`mapper.resources` (per-core resource accounting), the report
(:mod:`mapper.report`) and the pipeline (:func:`map_network`, :mod:`mapper.pipeline`). Beside
them, the import path: :func:`read_placement` (:mod:`mapper.readback`) and
:func:`evaluate_placement` (:mod:`mapper.evaluate`). Chips are data: :class:`ChipSpec` loaded from
YAML by :func:`load_chip`. :class:`MappingOptions` is the one home of every mapping default.

``mapper`` imports the core of ``neurosim`` (IR, activity, errors, io) only, never a backend.
"""
from __future__ import annotations

from mapper.chipload import chip_from_dict, list_chips, load_chip
from mapper.chipspec import ChipSpec
from mapper.evaluate import evaluate_placement
from mapper.export import write_placement, write_sanafe, write_sanafe_arch
from mapper.interchange import read_sanafe_network
from mapper.options import MappingOptions
from mapper.partition import STRATEGIES
from mapper.pipeline import MappingResult, check_fits, map_network, structure_graph
from mapper.place import PLACERS
from mapper.plots import FIGURES, save_mapping_figures
from mapper.quantize import quantize_network
from mapper.readback import PlacementRecord, read_placement
from mapper.report import Report

__all__ = ["load_chip", "list_chips", "chip_from_dict", "ChipSpec", "MappingOptions", "map_network", "check_fits",
           "structure_graph", "evaluate_placement", "MappingResult", "Report", "read_placement", "PlacementRecord",
           "write_placement", "quantize_network", "STRATEGIES", "PLACERS", "FIGURES", "save_mapping_figures",
           "write_sanafe", "write_sanafe_arch", "read_sanafe_network"]
