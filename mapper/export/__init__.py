"""The export stage: a mapping written to files, atomically.

* :mod:`.placement` -- ``placement.json`` (:func:`write_placement`, :func:`placement_dict`), the
  format :func:`mapper.readback.read_placement` reads back;
* :mod:`.sanafe` -- SANA-FE 2.x files: the network with its placement (:func:`write_sanafe`) and
  the chip as an architecture (:func:`write_sanafe_arch`).
"""
from __future__ import annotations

from .placement import PLACEMENT_FORMAT, PLACEMENT_VERSION, neuron_ranges, placement_dict, write_placement
from .sanafe import sanafe_arch_text, sanafe_dict_text, write_sanafe, write_sanafe_arch

__all__ = ["PLACEMENT_FORMAT", "PLACEMENT_VERSION", "neuron_ranges", "placement_dict", "write_placement",
           "sanafe_dict_text", "sanafe_arch_text", "write_sanafe", "write_sanafe_arch"]
