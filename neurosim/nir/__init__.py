"""NIR interchange (https://neuroir.org): read a NIR graph as a :class:`neurosim.ir.Network`
(:func:`read_nir`, :mod:`~neurosim.nir.read`) and write a network as one (:func:`write_nir`,
:mod:`~neurosim.nir.write`); neuron and operator conversions in :mod:`~neurosim.nir.neurons` and
:mod:`~neurosim.nir.ops`. Needs the optional ``nir`` package (``pip install -e ".[nir]"``),
imported only when a graph is read or written.
"""
from __future__ import annotations

from neurosim.nir.read import read_nir
from neurosim.nir.write import write_nir

__all__ = ["read_nir", "write_nir"]
