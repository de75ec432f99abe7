"""Activity: the contract between simulation and hardware cost.

A backend counts output events (spikes, or non-zero graded outputs) per neuron over a run; the
mapper turns them into messages, synaptic operations, hops, joules and seconds. Synaptic events
per connection follow exactly from the counts and the connectivity:

    syn_events[c] = sum_j count[pre(c)]_j * fan_out_c[j]

so they are derived here rather than accumulated inside the time loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from .errors import NetworkError, UsageError, describe
from .io import atomic_save_npz
from .ir import Network

__all__ = ["ActivityProfile"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ActivityProfile:
    """Output events per neuron over a run.

    Attributes
    ----------
    steps : int
        Time steps simulated.
    batch : int
        Independent inputs simulated in parallel (counts are summed over the batch).
    dt_s : float
        Time step, seconds of model time.
    counts : dict[str, ndarray of int64, shape (n,)]
        Output events per neuron of each population, summed over steps and batch.
    syn_events : dict[str, int]
        Synaptic events per connection (an event = one synapse receiving one output event).
    source : str
        ``"simulated:<backend>"`` or ``"assumed"`` (rates were assumed, not measured).
    """

    steps: int
    batch: int
    dt_s: float
    counts: dict[str, np.ndarray]
    syn_events: dict[str, int] = field(default_factory=dict)
    source: str = "simulated"

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, network: Network, counts: dict[str, np.ndarray], *, steps: int, batch: int,
                    dt_s: float, source: str) -> "ActivityProfile":
        """Build a profile from per-neuron counts, deriving synaptic events from connectivity."""
        counts = {k: np.asarray(v, dtype=np.int64).reshape(-1) for k, v in counts.items()}
        for p in network.populations:
            if p.name not in counts:
                counts[p.name] = np.zeros(p.size, dtype=np.int64)
            elif counts[p.name].shape != (p.size,):
                raise NetworkError(describe("activity", p.name, "counts have the wrong shape",
                                            got=counts[p.name].shape, expected=(p.size,)))
        syn = {c.name: int(counts[c.pre] @ c.fan_out()) for c in network.connections}
        return cls(steps=int(steps), batch=int(batch), dt_s=float(dt_s), counts=counts, syn_events=syn, source=source)

    @classmethod
    def assumed(cls, network: Network, rate_per_step: Union[float, dict[str, float]], *, steps: int = 1000,
                dt_s: float = 1e-3) -> "ActivityProfile":
        """A profile from assumed event rates (events per neuron per step), for mapping without a run."""
        counts = {}
        for p in network.populations:
            r = rate_per_step[p.name] if isinstance(rate_per_step, dict) else rate_per_step
            if not 0.0 <= float(r) <= 1.0 and not p.model.graded:
                raise NetworkError(describe("activity", p.name, "assumed spike rate per step out of range",
                                            got=r, expected="0 <= rate <= 1"))
            counts[p.name] = np.full(p.size, int(round(float(r) * steps)), dtype=np.int64)
        return cls.from_counts(network, counts, steps=steps, batch=1, dt_s=dt_s, source="assumed")

    # ------------------------------------------------------------------------------------
    def rate_per_step(self, population: str) -> np.ndarray:
        """Mean output events per neuron per step per input, shape ``(n,)``."""
        return self.counts[population] / float(self.steps * self.batch)

    @property
    def total_events(self) -> int:
        return int(sum(int(v.sum()) for v in self.counts.values()))

    @property
    def total_syn_events(self) -> int:
        return int(sum(self.syn_events.values()))

    def check_matches(self, network: Network) -> None:
        """Raise :class:`NetworkError` unless every population of ``network`` has counts of its size."""
        for p in network.populations:
            c = self.counts.get(p.name)
            if c is None or c.shape != (p.size,):
                raise NetworkError(describe("activity", p.name, "does not match the network",
                                            got=None if c is None else c.shape, expected=(p.size,)))

    # ------------------------------------------------------------------------------------
    def save(self, path: Union[str, Path]) -> Path:
        """Save as ``.npz`` (atomically)."""
        arrays = {f"counts/{k}": v for k, v in self.counts.items()}
        arrays.update({f"syn/{k}": np.array(v, dtype=np.int64) for k, v in self.syn_events.items()})
        arrays["meta"] = np.array([FORMAT_VERSION, self.steps, self.batch], dtype=np.int64)
        arrays["dt_s"] = np.array(self.dt_s)
        arrays["source"] = np.array(self.source)
        return atomic_save_npz(path, **arrays)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "ActivityProfile":
        """Load a profile written by :meth:`save`; raises :class:`UsageError` on a bad file."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = z["meta"]
                if int(meta[0]) != FORMAT_VERSION:
                    raise UsageError(f"activity file '{path}': unsupported version (got {int(meta[0])}, expected {FORMAT_VERSION})")
                counts = {k[len("counts/"):]: z[k].astype(np.int64) for k in z.files if k.startswith("counts/")}
                syn = {k[len("syn/"):]: int(z[k]) for k in z.files if k.startswith("syn/")}
                return cls(steps=int(meta[1]), batch=int(meta[2]), dt_s=float(z["dt_s"]), counts=counts,
                           syn_events=syn, source=str(z["source"]))
        except UsageError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise UsageError(f"activity file '{path}': cannot be read as an activity profile ({exc})") from exc
