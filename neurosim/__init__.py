"""neurosim: spiking and analog sparse-coding networks, simulated and costed for many-core chips.

The public entry points:

* :mod:`neurosim.ir` -- the plain-data network description (:class:`Network`, ...);
* :mod:`neurosim.neurons` -- neuron models (:class:`LIF`, :func:`IF`, :class:`LCANeuron`);
* :func:`simulate` -- run a network on a backend (``"numpy"`` or ``"brian2"``);
* :class:`ActivityProfile` -- per-neuron event counts, the mapper's input;
* :func:`read_nir` -- a NIR graph (snnTorch, Norse, Sinabs ... exports) as a :class:`Network`,
  and :func:`write_nir` -- a network as a NIR graph (both need the optional ``nir`` package).
"""
from __future__ import annotations

from neurosim.activity import ActivityProfile
from neurosim.backends import BACKENDS, simulate
from neurosim.conv import ConvWeights
from neurosim.errors import (
    BackendUnavailableError,
    CapacityError,
    ChipSpecError,
    InputError,
    LocalityError,
    MappingError,
    NetworkError,
    NeurosimError,
    SimulationError,
)
from neurosim.estimators.sparse_coder import SparseCoder
from neurosim.ir import ArrayInput, Connection, ConstantInput, Gain, Network, PoissonInput, Population, Probe
from neurosim.neurons import IF, LIF, LCANeuron
from neurosim.nir.read import read_nir
from neurosim.nir.write import write_nir
from neurosim.result import SimResult

__version__ = "0.1.0"

__all__ = [
    "ActivityProfile", "BACKENDS", "simulate", "SimResult", "SparseCoder", "read_nir", "write_nir",
    "Network", "Population", "Connection", "ConstantInput", "ArrayInput", "PoissonInput", "Probe", "Gain",
    "LIF", "IF", "LCANeuron", "ConvWeights",
    "NeurosimError", "NetworkError", "LocalityError", "SimulationError", "BackendUnavailableError",
    "ChipSpecError", "CapacityError", "MappingError", "InputError",
]
