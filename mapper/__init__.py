"""mapper: put a :class:`neurosim.ir.Network` on a many-core chip and estimate what it costs.

A pipeline of pure stages over frozen data:
``graph`` (the network as the mapper reads it) -> ``partition`` (neurons -> parts that fit a
core, under every per-core limit) -> ``place`` (parts -> cores on the mesh) -> ``route`` (spike
multicast trees, link loads) -> ``estimate`` (traffic, energy, latency) -> ``export``
(placement files, SANA-FE). Chips are data: :class:`ChipSpec` loaded from YAML by
:func:`load_chip`. :func:`map_network` runs the whole pipeline with :class:`MappingOptions`.

``mapper`` imports the core of ``neurosim`` (IR, activity, errors, io) only, never a backend.
"""
from __future__ import annotations

from mapper.api import MappingResult, Report, check_fits, evaluate_placement, map_network
from mapper.chipload import chip_from_dict, list_chips, load_chip
from mapper.chipspec import ChipSpec
from mapper.export import read_placement, write_placement
from mapper.options import MappingOptions
from mapper.partition import STRATEGIES
from mapper.place import PLACERS
from mapper.plots import FIGURES, save_mapping_figures
from mapper.quantize import quantize_network
from mapper.sanafe import write_sanafe, write_sanafe_arch

__all__ = ["load_chip", "list_chips", "chip_from_dict", "ChipSpec", "MappingOptions", "map_network", "check_fits",
           "evaluate_placement", "MappingResult", "Report", "read_placement", "write_placement", "quantize_network",
           "STRATEGIES", "PLACERS", "FIGURES", "save_mapping_figures", "write_sanafe",
           "write_sanafe_arch"]
