"""Results of a simulation run."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.errors import NetworkError, describe

__all__ = ["SimResult"]


@dataclass
class SimResult:
    """What a backend returns from a run.

    Attributes
    ----------
    network : str
        Name of the simulated network.
    backend : str
        Backend that ran it (``"numpy"``, ``"brian2:cython"`` ...).
    steps, batch : int
        Steps simulated and independent inputs run in parallel.
    dt_s : float
        Time step in seconds of model time.
    probes : dict[str, ndarray]
        Recorded data by probe name (see :class:`neurosim.ir.Probe` for shapes).
    activity : ActivityProfile
        Output events per neuron and synaptic events per connection.
    final_state : dict[str, dict[str, ndarray]]
        State variables ``(batch, n)`` of each population after the last step.
    wall_s : float
        Wall time of the run, seconds (including any build step of the backend).
    row_steps : ndarray of int64 (batch,), optional
        Steps each batch row ran (the compiled backend; fewer than ``steps`` for a row of an
        analog network that settled, option ``settle_tol``). None: every row ran ``steps``.
    """

    network: str
    backend: str
    steps: int
    batch: int
    dt_s: float
    probes: dict[str, np.ndarray]
    activity: ActivityProfile
    final_state: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    wall_s: float = 0.0
    row_steps: Optional[np.ndarray] = None

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.probes:
            raise NetworkError(describe("result", self.network, "no such probe", got=repr(name), expected=sorted(self.probes)))
        return self.probes[name]

    def rates(self, probe: str, window_steps: int) -> np.ndarray:
        """Spike rate per unit model time from a ``count`` probe: ``count / (window_steps * dt_s)``."""
        return self[probe] / (window_steps * self.dt_s)
