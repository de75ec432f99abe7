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

from .activity import ActivityProfile
from .backends import BACKENDS, simulate
from .conv import ConvWeights
from .errors import (BackendUnavailableError, CapacityError, ChipSpecError, LocalityError, MappingError,
                     NetworkError, NeurosimError, SimulationError, UsageError)
from .ir import ArrayInput, Connection, ConstantInput, Gain, Network, PoissonInput, Population, Probe
from .neurons import IF, LIF, LCANeuron
from .nir_export import write_nir
from .nir_io import read_nir
from .result import SimResult
from .sparse_coder import SparseCoder

__version__ = "0.1.0"

__all__ = [
    "ActivityProfile", "BACKENDS", "simulate", "SimResult", "SparseCoder", "read_nir", "write_nir",
    "Network", "Population", "Connection", "ConstantInput", "ArrayInput", "PoissonInput", "Probe", "Gain",
    "LIF", "IF", "LCANeuron", "ConvWeights",
    "NeurosimError", "NetworkError", "LocalityError", "SimulationError", "BackendUnavailableError",
    "ChipSpecError", "CapacityError", "MappingError", "UsageError",
]
