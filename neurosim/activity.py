"""Activity: the contract between simulation and hardware cost.

A backend counts output events (spikes, or non-zero graded outputs) per neuron over a run; the
mapper turns them into messages, synaptic operations, hops, joules and seconds. Synaptic events
per connection follow exactly from the counts and the connectivity:

    syn_events[c] = sum_j count[pre(c)]_j * fan_out_c[j]

so they are derived here rather than accumulated inside the time loop.

Learning epochs
---------------
neurosim's learning rules (:mod:`neurosim.learning`) act *between* runs, like Loihi's learning
epochs: one application of a connection's rule updates **every** plastic synapse of that
connection, whether or not events arrived. ``learn_epochs[c]`` counts those applications over the
profiled run (all inputs included), so the plastic-synapse updates of connection ``c`` are exactly

    learn_updates[c] = n_plastic_synapses[c] * learn_epochs[c]

A plastic connection not listed is costed by the mapper as event-driven (one update per event
arriving at a plastic synapse, the STDP-like model). Producers: the simulators record what their
caller reports through ``record_learning_epoch`` (rules applied between runs), the compiled
engine adds every phase-rule application it makes inside the loop (:mod:`neurosim.plasticity`,
``on="phase:<name>"``: all plastic synapses once), and
:class:`~neurosim.estimators.dictlearn.LocalDictionaryLearning` records every local update it
makes on a simulated network (its ``activity_``). A run that applies no rule leaves
``learn_epochs`` empty (the brian2 backend never applies one).

Updates applied inside the loop
-------------------------------
``learn_updates[c]`` is the exact number of synapse updates the engine applied to connection
``c`` inside its loop, and ``learn_triggers[c]`` what triggered them:

* ``"pre"`` -- one update per event arriving at a plastic synapse: ``sum_j count_j fan_out_c[j]``,
  exactly the mapper's event model;
* ``"post"`` -- one update per incoming plastic synapse of a post-synaptic neuron that emitted an
  event: ``sum_i count_i fan_in_c[i]`` (pair-based STDP's potentiation);
* ``"phase"`` -- every plastic synapse once per application (also counted in ``learn_epochs``).

so ``learn_updates[c]`` equals the sum of these terms over ``learn_triggers[c]`` (the counts give
each term exactly).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Union

import numpy as np

from neurosim.errors import InputError, NetworkError, describe
from neurosim.io.atomic import atomic_save_npz, read_error
from neurosim.ir import Network

__all__ = ["ActivityProfile"]

FORMAT_VERSION = 1
#: what can trigger a learning update inside the loop
TRIGGERS = ("pre", "post", "phase")


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
    learn_epochs : dict[str, int]
        Connection name -> number of times its learning rule updated all its plastic synapses
        over the run (all inputs included; see the module docstring). Empty (the default): every
        plastic connection is costed as event-driven.
    inputs : int, optional
        Inputs (samples) the run covers, when not one per batch lane: a training run streams ``N``
        samples through ``batch`` lanes, so figures per input divide by ``N``
        (:func:`mapper.estimate.per_input_figures`). ``None`` (the default): ``batch``.
    learn_updates : dict[str, int]
        Connection name -> synapse updates the engine applied inside its loop (see the module
        docstring); empty when no rule ran in the loop.
    learn_triggers : dict[str, tuple of str]
        Connection name -> what triggered those updates (``"pre"``, ``"post"``, ``"phase"``).
    """

    steps: int
    batch: int
    dt_s: float
    counts: dict[str, np.ndarray]
    syn_events: dict[str, int] = field(default_factory=dict)
    source: str = "simulated"
    learn_epochs: dict[str, int] = field(default_factory=dict)
    inputs: Optional[int] = None
    learn_updates: dict[str, int] = field(default_factory=dict)
    learn_triggers: dict[str, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "learn_epochs", _check_epoch_values(self.learn_epochs))
        object.__setattr__(self, "learn_updates", _check_epoch_values(self.learn_updates, what="learn_updates"))
        trig = {}
        for name, t in dict(self.learn_triggers).items():
            t = tuple(t)
            if not t or any(x not in TRIGGERS for x in t):
                raise NetworkError(describe("learn_triggers", name, "unknown trigger", got=t, expected=list(TRIGGERS)))
            trig[str(name)] = t
        object.__setattr__(self, "learn_triggers", trig)
        if self.inputs is not None:
            if isinstance(self.inputs, bool) or not isinstance(self.inputs, (int, np.integer)) or self.inputs < 1:
                raise NetworkError(describe("activity", "inputs", "must be a whole number >= 1 or None",
                                            got=self.inputs, expected="the samples the run covers"))
            object.__setattr__(self, "inputs", int(self.inputs))

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, network: Network, counts: dict[str, np.ndarray], *, steps: int, batch: int,
                    dt_s: float, source: str, learn_epochs: Optional[Mapping[str, int]] = None,
                    learn_updates: Optional[Mapping[str, tuple[int, tuple]]] = None) -> "ActivityProfile":
        """Build a profile from per-neuron counts, deriving synaptic events from connectivity.

        ``learn_epochs`` (connection -> rule applications over the run) must name plastic
        connections of ``network``; ``learn_updates`` maps connections to ``(updates, triggers)``
        applied inside the loop; see the module docstring.
        """
        counts = {k: _event_counts(k, v, int(steps) * int(batch)) for k, v in counts.items()}
        for p in network.populations:
            if p.name not in counts:
                counts[p.name] = np.zeros(p.size, dtype=np.int64)
            elif counts[p.name].shape != (p.size,):
                raise NetworkError(describe("activity", p.name, "counts have the wrong shape",
                                            got=counts[p.name].shape, expected=(p.size,)))
        syn = {c.name: int(counts[c.pre] @ c.fan_out()) for c in network.connections}
        epochs = _check_epoch_values(learn_epochs or {})
        _check_epoch_connections(network, epochs)
        upd = {k: int(v[0]) for k, v in (learn_updates or {}).items()}
        _check_epoch_connections(network, upd)
        return cls(steps=int(steps), batch=int(batch), dt_s=float(dt_s), counts=counts, syn_events=syn, source=source,
                   learn_epochs=epochs, learn_updates=upd,
                   learn_triggers={k: tuple(v[1]) for k, v in (learn_updates or {}).items()})

    @classmethod
    def assumed(cls, network: Network, rate_per_step: Union[float, dict[str, float]], *, steps: int = 1000,
                dt_s: float = 1e-3, learn_epochs: Optional[Mapping[str, int]] = None) -> "ActivityProfile":
        """A profile from assumed event rates (events per neuron per step), for mapping without a run.

        ``learn_epochs`` (connection -> rule applications over the ``steps``) as in :meth:`from_counts`.
        """
        counts = {}
        for p in network.populations:
            r = rate_per_step[p.name] if isinstance(rate_per_step, dict) else rate_per_step
            if not 0.0 <= float(r) <= 1.0 and not p.model.graded:
                raise NetworkError(describe("activity", p.name, "assumed spike rate per step out of range",
                                            got=r, expected="0 <= rate <= 1"))
            counts[p.name] = np.full(p.size, int(round(float(r) * steps)), dtype=np.int64)
        return cls.from_counts(network, counts, steps=steps, batch=1, dt_s=dt_s, source="assumed",
                               learn_epochs=learn_epochs)

    @classmethod
    def combine(cls, profiles: "list[ActivityProfile]") -> "ActivityProfile":
        """One profile of consecutive runs of the same network (e.g. several simulators of one
        network, each with its own batch size).

        Counts, synaptic events and learning epochs are summed. With one common batch size ``B``,
        ``steps = sum_k steps_k`` and ``batch = B``; otherwise ``steps = sum_k steps_k * batch_k``
        and ``batch = 1`` (input-steps), so rates per step per input and every run total stay
        exact. ``source`` is kept when all agree, else ``"combined"``. ``inputs``: when a profile
        sets it, the sum over profiles of ``inputs`` (or ``batch`` where unset); else unset.

        Raises
        ------
        NetworkError
            No profiles, different time steps or different populations.
        """
        profiles = list(profiles)
        if not profiles:
            raise NetworkError(describe("activity", "combine", "nothing to combine", got=0, expected=">= 1 profile"))
        first = profiles[0]
        for p in profiles[1:]:
            if p.dt_s != first.dt_s:
                raise NetworkError(describe("activity", "combine", "profiles have different time steps",
                                            got=p.dt_s, expected=first.dt_s))
            if {k: v.shape for k, v in p.counts.items()} != {k: v.shape for k, v in first.counts.items()}:
                raise NetworkError(describe("activity", "combine", "profiles are of different networks",
                                            got=sorted(p.counts), expected=sorted(first.counts)))
        batches = {p.batch for p in profiles}
        if len(batches) == 1:
            steps, batch = sum(p.steps for p in profiles), first.batch
        else:
            steps, batch = sum(p.steps * p.batch for p in profiles), 1
        counts = {k: np.sum([p.counts[k] for p in profiles], axis=0).astype(np.int64) for k in first.counts}
        syn: dict[str, int] = {}
        learn: dict[str, int] = {}
        upd: dict[str, int] = {}
        trig: dict[str, tuple] = {}
        for p in profiles:
            for k, v in p.syn_events.items():
                syn[k] = syn.get(k, 0) + int(v)
            for k, v in p.learn_epochs.items():
                learn[k] = learn.get(k, 0) + int(v)
            for k, v in p.learn_updates.items():
                upd[k] = upd.get(k, 0) + int(v)
            for k, v in p.learn_triggers.items():
                trig[k] = tuple(sorted(set(trig.get(k, ())) | set(v), key=TRIGGERS.index))
        sources = {p.source for p in profiles}
        # inputs: the samples of the runs that say how many they covered, each other run its batch
        inputs = (sum(p.batch if p.inputs is None else p.inputs for p in profiles)
                  if any(p.inputs is not None for p in profiles) else None)
        return cls(steps=int(steps), batch=int(batch), dt_s=first.dt_s, counts=counts, syn_events=syn,
                   source=first.source if len(sources) == 1 else "combined", learn_epochs=learn, inputs=inputs,
                   learn_updates=upd, learn_triggers=trig)

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
        """Raise :class:`NetworkError` unless every population of ``network`` has counts of its size
        and every connection in :attr:`learn_epochs` is a plastic connection of ``network``."""
        missing = [p.name for p in network.populations if p.name not in self.counts]
        if missing:
            names = [p.name for p in network.populations]
            what = f"do not match network '{network.name}'" + ("" if len(missing) == len(names)
                                                               else f" (no counts for {missing})")
            raise NetworkError(describe("activity", "populations", what, got=sorted(self.counts),
                                        expected=f"counts for the network's populations {names}"))
        for p in network.populations:
            c = self.counts[p.name]
            if c.shape != (p.size,):
                raise NetworkError(describe("activity", p.name, "counts do not match the population's size",
                                            got=f"shape {c.shape}", expected=f"shape {(p.size,)}"))
        _check_epoch_connections(network, self.learn_epochs)
        _check_epoch_connections(network, self.learn_updates)

    # ------------------------------------------------------------------------------------
    def save(self, path: Union[str, Path]) -> Path:
        """Save as ``.npz`` (atomically)."""
        arrays = {f"counts/{k}": v for k, v in self.counts.items()}
        arrays.update({f"syn/{k}": np.array(v, dtype=np.int64) for k, v in self.syn_events.items()})
        arrays.update({f"learn/{k}": np.array(v, dtype=np.int64) for k, v in self.learn_epochs.items()})
        arrays.update({f"lupd/{k}": np.array(v, dtype=np.int64) for k, v in self.learn_updates.items()})
        arrays.update({f"ltrig/{k}": np.array(list(v)) for k, v in self.learn_triggers.items()})
        arrays["meta"] = np.array([FORMAT_VERSION, self.steps, self.batch], dtype=np.int64)
        arrays["dt_s"] = np.array(self.dt_s)
        arrays["source"] = np.array(self.source)
        if self.inputs is not None:
            arrays["inputs"] = np.array(self.inputs, dtype=np.int64)
        return atomic_save_npz(path, **arrays)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "ActivityProfile":
        """Load a profile written by :meth:`save`; raises :class:`InputError` on a bad file.

        Files written before ``learn_epochs`` existed load with it empty (event-driven learning).
        """
        from neurosim.io.network import open_npz  # netio does not import this module

        expected = "a .npz activity profile written by ActivityProfile.save, such as neurosim run's activity.npz"
        try:
            with open_npz(path, kind="activity file", expected=expected) as z:
                meta = _meta_of(z, path, expected)
                if int(meta[0]) != FORMAT_VERSION:
                    raise InputError(f"activity file '{path}': unsupported version (got {int(meta[0])}, expected {FORMAT_VERSION})")
                steps, batch = int(meta[1]), int(meta[2])
                if steps < 1 or batch < 1:
                    raise InputError(f"activity file '{path}', entry 'meta': steps and batch must be whole numbers >= 1 "
                                     f"(got steps {steps}, batch {batch}, expected [version, steps >= 1, batch >= 1])")
                counts = {k[len("counts/"):]: _event_counts(k[len("counts/"):], z[k], steps * batch)
                          for k in z.files if k.startswith("counts/")}
                syn = {k[len("syn/"):]: _whole(z, k, path, minimum=0) for k in z.files if k.startswith("syn/")}
                learn = {k[len("learn/"):]: _whole(z, k, path, minimum=0) for k in z.files if k.startswith("learn/")}
                upd = {k[len("lupd/"):]: _whole(z, k, path, minimum=0) for k in z.files if k.startswith("lupd/")}
                trig = {k[len("ltrig/"):]: tuple(str(x) for x in np.asarray(z[k]).reshape(-1))
                        for k in z.files if k.startswith("ltrig/")}
                inputs = _whole(z, "inputs", path, minimum=1) if "inputs" in z.files else None
                return cls(steps=steps, batch=batch, dt_s=_seconds(z, path), counts=counts, syn_events=syn,
                           source=_text(z, "source", path), learn_epochs=learn, inputs=inputs,
                           learn_updates=upd, learn_triggers=trig)
        except InputError:
            raise
        except NetworkError as exc:
            raise InputError(f"activity file '{path}': invalid content ({exc})") from exc
        except (OSError, KeyError, ValueError, TypeError, OverflowError) as exc:
            raise InputError(f"activity file '{path}': cannot be read as an activity profile "
                             f"({read_error(exc)})") from None


def _entry(z, key: str, path) -> np.ndarray:
    if key not in z.files:
        raise InputError(f"activity file '{path}', entry '{key}' is missing (expected an entry '{key}', as "
                         "ActivityProfile.save writes)")
    return z[key]


def _whole(z, key: str, path, *, minimum: int) -> int:
    """Entry ``key`` as one whole number >= ``minimum`` (a 0-d integer array)."""
    a = _entry(z, key, path)
    if a.shape != () or a.dtype.kind not in "iu":
        got = f"shape {a.shape}" if a.shape != () else f"dtype {a.dtype}"
        raise InputError(f"activity file '{path}', entry '{key}': must be one whole number >= {minimum} "
                         f"(got {got}, expected a scalar integer)")
    if int(a) < minimum:
        raise InputError(f"activity file '{path}', entry '{key}': must be one whole number >= {minimum} "
                         f"(got {int(a)}, expected >= {minimum})")
    return int(a)


def _seconds(z, path) -> float:
    """Entry ``dt_s``: one finite number of seconds > 0."""
    a = _entry(z, "dt_s", path)
    if a.shape != () or a.dtype.kind not in "iuf" or not np.isfinite(a) or float(a) <= 0:
        got = f"shape {a.shape}" if a.shape != () else (f"dtype {a.dtype}" if a.dtype.kind not in "iuf" else float(a))
        raise InputError(f"activity file '{path}', entry 'dt_s': must be a finite number of seconds > 0 "
                         f"(got {got}, expected a scalar > 0)")
    return float(a)


def _text(z, key: str, path) -> str:
    a = _entry(z, key, path)
    if a.shape != () or a.dtype.kind != "U":
        raise InputError(f"activity file '{path}', entry '{key}': must be text (got dtype {a.dtype} and shape "
                         f"{a.shape}, expected a string)")
    return str(a)


def _event_counts(name: str, values, most: int) -> np.ndarray:
    """Per-neuron event counts as int64: whole numbers in ``0 .. steps * batch`` (a neuron emits
    at most one event per step and input, a spike or one graded value)."""
    raw = np.asarray(values)
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(np.isfinite(raw))):
        raise NetworkError(describe("activity", name, "counts must be finite numbers", got=str(raw.dtype),
                                    expected="whole numbers of events"))
    if raw.dtype.kind == "f" and raw.size and float(np.abs(raw.astype(np.float64)).max()) > 2.0**62:  # beyond int64
        raise NetworkError(describe("activity", name, "counts out of range (at most one event per step and input)",
                                    got=float(np.abs(raw.astype(np.float64)).max()),
                                    expected=f"0 .. steps x batch = {most}"))
    c = raw.astype(np.int64).reshape(-1)
    if raw.dtype.kind == "f" and not np.array_equal(c, raw.reshape(-1)):
        raise NetworkError(describe("activity", name, "counts must be whole numbers of events",
                                    got=f"e.g. {raw.reshape(-1)[c != raw.reshape(-1)][0]!r}", expected="integers"))
    if c.size and (c.min() < 0 or c.max() > most):
        bad = int(c.min()) if c.min() < 0 else int(c.max())
        raise NetworkError(describe("activity", name, "counts out of range (at most one event per step and input)",
                                    got=bad, expected=f"0 .. steps x batch = {most}"))
    return c


def _meta_of(z, path: Union[str, Path], expected: str) -> np.ndarray:
    """The ``meta`` entry ``[version, steps, batch]`` of an activity file; a one-line
    :class:`InputError` for any other ``.npz`` (a network file, a scalar or missing ``meta``)."""
    if "meta" not in z.files:
        raise InputError(describe("activity file", str(path), "not an activity profile",
                                  got=f"a .npz without 'meta' (entries {sorted(z.files)[:5]})", expected=expected))
    meta = z["meta"]
    if meta.dtype.kind == "U" and "neurosim-network" in str(meta):
        raise InputError(describe("activity file", str(path), "is a network file, not an activity profile",
                                  expected=expected))
    if meta.ndim != 1 or meta.size < 3 or meta.dtype.kind not in "iu":
        raise InputError(describe("activity file", str(path), "not an activity profile",
                                  got=f"'meta' of dtype {meta.dtype} and shape {meta.shape}",
                                  expected="'meta' holding the integers [version, steps, batch], as "
                                           "ActivityProfile.save writes"))
    return meta


def _check_epoch_values(learn_epochs: Mapping[str, int], what: str = "learn_epochs") -> dict[str, int]:
    """A copy of ``learn_epochs`` as ``{str: int}``; :class:`NetworkError` unless every value is an
    integer >= 0 (cheap checks, no network needed)."""
    if not isinstance(learn_epochs, Mapping):
        raise NetworkError(describe("activity", what, "must be a mapping connection -> count",
                                    got=type(learn_epochs).__name__, expected="dict[str, int]"))
    out = {}
    for name, v in learn_epochs.items():
        if not isinstance(name, str):
            raise NetworkError(describe("activity", what, "connection names must be strings",
                                        got=repr(name), expected="str"))
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
            raise NetworkError(describe(what, name, "must be a non-negative integer",
                                        got=repr(v), expected="int >= 0"))
        out[name] = int(v)
    return out


def _check_epoch_connections(network: Network, learn_epochs: Mapping[str, int]) -> None:
    """:class:`NetworkError` unless every key of ``learn_epochs`` is a plastic connection of ``network``."""
    conns = {c.name: c for c in network.connections}
    for name in learn_epochs:
        c = conns.get(name)
        if c is None:
            raise NetworkError(describe("learn_epochs", name, f"no such connection in network '{network.name}'",
                                        expected=sorted(conns) or "no connections"))
        if not c.plastic:
            raise NetworkError(describe("learn_epochs", name, "connection is not plastic (no learning_rule)",
                                        expected=sorted(k for k, cc in conns.items() if cc.plastic)
                                        or "no plastic connections"))
