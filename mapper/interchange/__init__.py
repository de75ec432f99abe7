"""Interchange: other tools' network files read into a neurosim network and a given placement.

* :mod:`.sanafe_read` -- SANA-FE 2.x network files (``network:`` + ``mappings:``) as a
  :class:`~neurosim.ir.Network` and, when mapped, a core per neuron that
  :func:`mapper.evaluate_placement` costs as given (:func:`read_sanafe_network`).

The writers are the export stage (:mod:`mapper.export`: :func:`~mapper.export.write_sanafe` writes
what :func:`read_sanafe_network` reads back exactly, see :mod:`.sanafe_read`). NIR, which carries
no placement, lives in the core (:mod:`neurosim.nir`).
"""
from __future__ import annotations

from .sanafe_read import SanafeFileError, SanafeNetwork, read_sanafe_network, sanafe_core_index

__all__ = ["SanafeFileError", "SanafeNetwork", "read_sanafe_network", "sanafe_core_index"]
