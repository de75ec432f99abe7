"""The network description: plain data that backends execute and the mapper reads.

A :class:`Network` holds populations, connections, inputs and probes. Objects check what they
can when they are built (shapes, signs, names); :meth:`Network.validate` checks the whole network
(references, batch sizes) and is called by every backend before a run and by the mapper before a
mapping. Nothing here knows how to simulate.

Conventions
-----------
* Weights are shaped ``(n_post, n_pre)`` (row = the receiving neuron, as stored on a core and as
  in NIR / PyTorch); dense ``numpy`` arrays or any ``scipy.sparse`` matrix (kept as CSR).
* Delays are integers in steps, ``>= 1``: an output emitted at step ``n`` reaches its targets'
  input at step ``n + delay``.
* Inputs add to the target's drive (the ``ext`` term of the neuron equations); a value shaped
  ``(batch, n)`` gives every independent input of a batched run its own drive.
* A :class:`Gain` scales a connection or an input by a global broadcast signal (e.g. Lin & Tang's
  feedback strength ``gamma``), which can change between runs without resetting state.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvWeights
from neurosim.errors import NetworkError, describe
from neurosim.neurons import NeuronModel

__all__ = ["Population", "Gain", "Connection", "ConstantInput", "ArrayInput", "PoissonInput",
           "Probe", "Network", "Input", "receptor_index"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

Weights = Union[np.ndarray, sp.spmatrix, sp.sparray, ConvWeights]


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise NetworkError(describe(kind, str(name), "invalid name", got=repr(name),
                                    expected="letters, digits, '_', '.', '-', not starting with a digit"))


@dataclass(frozen=True, eq=False)
class Population:
    """``size`` neurons of one model.

    Parameters
    ----------
    name : str
        Unique within the network.
    size : int
        Number of neurons (> 0).
    model : NeuronModel
        The neuron model with its per-neuron parameters.
    """

    name: str
    size: int
    model: NeuronModel

    def __post_init__(self) -> None:
        _check_name("population", self.name)
        if not isinstance(self.size, (int, np.integer)) or isinstance(self.size, bool) or self.size <= 0:
            raise NetworkError(describe("population", self.name, "size must be a positive integer",
                                        got=self.size, expected="int > 0"))
        if not isinstance(self.model, NeuronModel):
            raise NetworkError(describe("population", self.name, "model is not a neuron model",
                                        got=type(self.model).__name__, expected="LIF, IF or LCANeuron"))
        self.model.check(self.name, int(self.size))


@dataclass(frozen=True)
class Gain:
    """A scale factor driven by a global broadcast signal: ``offset + scale * signals[signal]``.

    Lin & Tang's input bias ``(1 - gamma) x`` is ``Gain("gamma", scale=-1, offset=1)`` and their
    feedback ``gamma B`` is ``Gain("gamma")``.
    """

    signal: str
    scale: float = 1.0
    offset: float = 0.0

    def value(self, signals: dict[str, float]) -> float:
        if self.signal not in signals:
            raise NetworkError(describe("gain", self.signal, "signal has no value",
                                        got=sorted(signals), expected=f"a value for '{self.signal}'"))
        return float(self.offset + self.scale * signals[self.signal])


@dataclass(frozen=True, eq=False)
class Connection:
    """Synapses from population ``pre`` to population ``post``.

    Parameters
    ----------
    pre, post : str
        Population names.
    weights : ndarray, scipy.sparse matrix or ConvWeights, shape (n_post, n_pre)
        Synaptic weights; zero entries are no synapse. :class:`~neurosim.conv.ConvWeights`
        keeps a convolution compact (expanded only by consumers that need explicit synapses).
    delay_steps : int
        Delay in steps (>= 1).
    gain : Gain, optional
        Global signal scaling the weights at run time.
    learning_rule : LearningRule, optional
        Local plasticity (see :mod:`neurosim.learning`).
    synapses : ndarray of bool (n_post, n_pre), optional
        Which entries of dense weights are stored synapses (default: the non-zero weights). A
        plastic connection whose weights may pass through zero sets it so the mapper counts the
        synapses the hardware keeps.
    name : str, optional
        Defaults to ``"<pre>-><post>"``.
    receptor : str, optional
        The synaptic current of a :class:`~neurosim.neurons.LIF` target this connection drives
        (a name of ``LIF.receptor_names``; default ``"syn"``, time constant ``tau_s``). Graded
        (:class:`~neurosim.neurons.LCANeuron`) targets have no receptors.
    """

    pre: str
    post: str
    weights: Weights
    delay_steps: int = 1
    gain: Optional[Gain] = None
    learning_rule: Optional[object] = None
    name: str = ""
    synapses: Optional[np.ndarray] = None
    receptor: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.pre}->{self.post}")
        if self.receptor is not None and not isinstance(self.receptor, str):
            raise NetworkError(describe("connection", self.name, "receptor must be a name", got=repr(self.receptor),
                                        expected="a receptor name of the target LIF model, or None"))
        if self.synapses is not None:
            mask = np.asarray(self.synapses, dtype=bool)
            if sp.issparse(self.weights) or isinstance(self.weights, ConvWeights) or mask.shape != np.shape(self.weights):
                raise NetworkError(describe("connection", self.name, "synapses mask must match dense weights",
                                            got=mask.shape, expected="a boolean mask shaped like the dense weights"))
            if np.any(np.asarray(self.weights)[~mask] != 0):
                raise NetworkError(describe("connection", self.name, "non-zero weight outside the synapses mask",
                                            expected="weights zero wherever synapses is False"))
            object.__setattr__(self, "synapses", mask)
        w = self.weights
        if isinstance(w, ConvWeights):
            if isinstance(self.delay_steps, bool) or not isinstance(self.delay_steps, (int, np.integer)) or self.delay_steps < 1:
                raise NetworkError(describe("connection", self.name, "delay_steps must be an integer >= 1",
                                            got=self.delay_steps, expected="int >= 1"))
            return
        if sp.issparse(w):
            w = sp.csr_matrix(w, dtype=float)
            w.sum_duplicates()
            w.eliminate_zeros()
            data = w.data
        else:
            try:
                w = np.asarray(w, dtype=float)
            except (TypeError, ValueError) as exc:
                raise NetworkError(describe("connection", self.name, "weights are not numeric",
                                            got=type(self.weights).__name__, expected="array or scipy.sparse matrix")) from exc
            data = w
        if w.ndim != 2:
            raise NetworkError(describe("connection", self.name, "weights must be 2-D (n_post, n_pre)",
                                        got=f"shape {w.shape}", expected="2-D"))
        if not np.all(np.isfinite(data)):
            raise NetworkError(describe("connection", self.name, "weights contain NaN or inf",
                                        got=int(np.size(data) - np.isfinite(data).sum()), expected="finite weights"))
        object.__setattr__(self, "weights", w)
        if isinstance(self.delay_steps, bool) or not isinstance(self.delay_steps, (int, np.integer)) or self.delay_steps < 1:
            raise NetworkError(describe("connection", self.name, "delay_steps must be an integer >= 1",
                                        got=self.delay_steps, expected="int >= 1"))
        if self.gain is not None and not isinstance(self.gain, Gain):
            raise NetworkError(describe("connection", self.name, "gain must be a Gain",
                                        got=type(self.gain).__name__, expected="Gain(signal, scale, offset)"))

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weights.shape)  # type: ignore[return-value]

    @property
    def is_sparse(self) -> bool:
        """True for scipy.sparse and convolutional weights (both are delivered as sparse)."""
        return sp.issparse(self.weights) or self.is_conv

    @property
    def is_conv(self) -> bool:
        return isinstance(self.weights, ConvWeights)

    def csr(self) -> sp.csr_matrix:
        """The weights as a CSR matrix (explicit zeros dropped; convolutions expanded)."""
        if self.is_conv:
            return self.weights.to_csr()
        if self.is_sparse:
            return self.weights  # type: ignore[return-value]
        m = sp.csr_matrix(self.weights)
        m.eliminate_zeros()
        return m

    def structure(self) -> np.ndarray:
        """Boolean mask ``(n_post, n_pre)`` of the stored synapses of a dense connection:
        :attr:`synapses` when given (a plastic weight that is zero now is still a synapse the
        hardware keeps), else the non-zero weights."""
        if self.is_sparse:
            raise NetworkError(describe("connection", self.name, "structure() is for dense weights; use csr()"))
        return self.weights != 0 if self.synapses is None else self.synapses

    def check_new_weights(self, weights: Any) -> None:
        """Refuse replacement weights that a running simulation cannot take: another shape or
        storage (dense vs sparse), NaN or inf, or (plastic dense connections) a non-zero weight
        outside :attr:`synapses`. Raises :class:`~neurosim.errors.NetworkError`."""
        w = weights
        if sp.issparse(w) != self.is_sparse or tuple(w.shape) != self.shape:
            raise NetworkError(describe("connection", self.name, "new weights must keep the shape and storage",
                                        got=f"{type(w).__name__} {tuple(w.shape)}",
                                        expected=f"{'sparse' if self.is_sparse else 'dense'} {self.shape}"))
        if not np.all(np.isfinite(w.data if sp.issparse(w) else w)):
            raise NetworkError(describe("connection", self.name, "new weights contain NaN or inf", expected="finite"))
        if self.plastic and not self.is_sparse and np.any(np.asarray(w)[~self.structure()] != 0):
            raise NetworkError(describe("connection", self.name, "non-zero weight outside the plastic synapses",
                                        expected="weights zero wherever Connection.synapses is False"))

    @property
    def n_synapses(self) -> int:
        """Number of stored synapses (see :meth:`structure`)."""
        return int(self.weights.nnz if self.is_sparse else np.count_nonzero(self.structure()))

    def fan_out(self) -> np.ndarray:
        """Stored synapses per pre-synaptic neuron, shape ``(n_pre,)``."""
        if self.is_sparse:
            return np.bincount(self.csr().indices, minlength=self.shape[1]).astype(np.int64)
        return np.count_nonzero(self.structure(), axis=0).astype(np.int64)

    @property
    def plastic(self) -> bool:
        return self.learning_rule is not None


def _check_receptor(kind: str, name: str, receptor: Optional[str], post: Population) -> None:
    """:class:`NetworkError` unless ``receptor`` (None = the default) is a receptor of ``post``'s model."""
    if receptor is None:
        return
    names = getattr(post.model, "receptor_names", ())
    if receptor not in names:
        raise NetworkError(describe(kind, name, f"unknown receptor of population '{post.name}'", got=repr(receptor),
                                    expected=list(names) or f"no receptor ({type(post.model).__name__} has none)"))


def receptor_index(receptor: Optional[str], model: NeuronModel) -> int:
    """Index of ``receptor`` in ``model.receptor_names`` (0, the default, for ``None``)."""
    return 0 if receptor is None else list(model.receptor_names).index(receptor)


def _as_batched(kind: str, name: str, value, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full((n,), float(arr))
    if arr.ndim not in (1, 2) or arr.shape[-1] != n:
        raise NetworkError(describe(kind, name, "value has the wrong shape", got=arr.shape,
                                    expected=f"a scalar, ({n},) or (batch, {n})"))
    if not np.all(np.isfinite(arr)):
        raise NetworkError(describe(kind, name, "value contains NaN or inf", expected="finite values"))
    return arr


@dataclass(frozen=True, eq=False)
class ConstantInput:
    """A constant drive added to ``ext`` of population ``target``.

    ``value`` is a scalar, ``(n,)`` or ``(batch, n)``; units of the target's ``bias``.
    """

    target: str
    value: np.ndarray
    gain: Optional[Gain] = None
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"const->{self.target}")

    def batch(self, n: int) -> int:
        v = _as_batched("input", self.name, self.value, n)
        return v.shape[0] if v.ndim == 2 else 1


@dataclass(frozen=True, eq=False)
class ArrayInput:
    """A per-step drive: ``values[k]`` is added to ``ext`` at step ``k`` (shape ``(steps, n)``
    or ``(steps, batch, n)``). After the last row the input is zero.
    """

    target: str
    values: np.ndarray
    gain: Optional[Gain] = None
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"array->{self.target}")
        arr = np.asarray(self.values, dtype=float)
        if arr.ndim not in (2, 3):
            raise NetworkError(describe("input", self.name, "values must be (steps, n) or (steps, batch, n)",
                                        got=arr.shape, expected="2-D or 3-D"))
        if not np.all(np.isfinite(arr)):
            raise NetworkError(describe("input", self.name, "values contain NaN or inf", expected="finite values"))
        object.__setattr__(self, "values", arr)

    def batch(self, n: int) -> int:
        if self.values.shape[-1] != n:
            raise NetworkError(describe("input", self.name, "last axis does not match the target size",
                                        got=self.values.shape, expected=f"(..., {n})"))
        return self.values.shape[1] if self.values.ndim == 3 else 1


@dataclass(frozen=True, eq=False)
class PoissonInput:
    """Poisson spike trains, one per target neuron, delivered like synaptic spikes.

    Each step neuron ``j`` receives a spike with probability ``rate_hz[j] * dt`` (clipped to 1);
    a spike delivers ``weight`` exactly as a synapse of that weight would (for an
    :class:`~neurosim.neurons.LIF` target it adds ``weight / tau_r`` to the current of
    ``receptor``, default ``"syn"`` with ``tau_s``; for an :class:`~neurosim.neurons.LCANeuron`
    it adds ``weight`` to the next step's input).
    """

    target: str
    rate_hz: np.ndarray
    weight: float = 1.0
    name: str = ""
    receptor: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"poisson->{self.target}")
        if not np.all(np.asarray(self.rate_hz, dtype=float) >= 0):
            raise NetworkError(describe("input", self.name, "rates must be non-negative", expected=">= 0 Hz"))
        if not np.isfinite(float(self.weight)):
            raise NetworkError(describe("input", self.name, "weight is not finite", got=self.weight))

    def batch(self, n: int) -> int:
        v = _as_batched("input", self.name, self.rate_hz, n)
        return v.shape[0] if v.ndim == 2 else 1


Input = Union[ConstantInput, ArrayInput, PoissonInput]

PROBE_VARS_COMMON = ("spikes", "count", "output")


@dataclass(frozen=True, eq=False)
class Probe:
    """What to record from population ``target``.

    ``var`` is ``"spikes"`` (a boolean raster ``(frames, batch, n)``), ``"output"`` (the
    graded output of an LCANeuron, same shape), ``"count"`` (output events per neuron counted
    over the steps ``start <= t < stop``, ``(batch, n)``) or a state variable of the model
    (``"v"``, ``"i"``, ``"u"``, ``"a"``), ``(frames, batch, n)``. Frames are the steps ``t`` with
    ``t % every == 0`` and ``start <= t < stop`` (``stop=None``: to the end of the run), so a
    raster of the first 1000 steps is ``Probe(pop, "spikes", stop=1000)`` and costs no memory
    for the rest of a long run.
    """

    target: str
    var: str = "count"
    every: int = 1
    start: int = 0
    name: str = ""
    stop: Optional[int] = None

    def records(self, step: int) -> bool:
        """Whether step ``step`` is inside the probe's window (and, but for counts, on its grid)."""
        inside = self.start <= step and (self.stop is None or step < self.stop)
        return inside and (self.var == "count" or step % self.every == 0)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.target}.{self.var}")
        for attr in ("every", "start", "stop"):
            v = getattr(self, attr)
            if attr == "stop" and v is None:
                continue
            lo = 1 if attr == "every" else (self.start + 1 if attr == "stop" else 0)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise NetworkError(describe("probe", self.name, f"{attr} must be an integer >= {lo}", got=v, expected=f"int >= {lo}"))


@dataclass(eq=False)
class Network:
    """A spiking (or analog) network: populations, connections, inputs, probes, signals.

    ``signals`` holds the default values of the global broadcast signals that :class:`Gain`
    objects refer to.
    """

    name: str = "network"
    populations: list[Population] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)

    # -- building ---------------------------------------------------------------------------
    def add(self, obj):
        """Add a population, connection, input or probe; returns it."""
        if isinstance(obj, Population):
            if obj.name in self.population_map():
                raise NetworkError(describe("population", obj.name, "name already used in network", got=obj.name,
                                            expected="a unique name"))
            self.populations.append(obj)
        elif isinstance(obj, Connection):
            if any(c.name == obj.name for c in self.connections):
                raise NetworkError(describe("connection", obj.name, "name already used in network",
                                            expected="a unique name (pass name=...)"))
            self.connections.append(obj)
        elif isinstance(obj, (ConstantInput, ArrayInput, PoissonInput)):
            taken = {i.name for i in self.inputs}
            if obj.name in taken:
                prefix = {ConstantInput: "const", ArrayInput: "array", PoissonInput: "poisson"}[type(obj)]
                if obj.name != f"{prefix}->{obj.target}":
                    raise NetworkError(describe("input", obj.name, "name already used in network",
                                                expected="a unique name"))
                k = 2
                while f"{obj.name}#{k}" in taken:
                    k += 1
                obj = dataclasses.replace(obj, name=f"{obj.name}#{k}")
            self.inputs.append(obj)
        elif isinstance(obj, Probe):
            self.probes.append(obj)
        else:
            raise NetworkError(describe("network", self.name, "cannot add this object", got=type(obj).__name__,
                                        expected="Population, Connection, an input or Probe"))
        return obj

    # -- queries ----------------------------------------------------------------------------
    def population_map(self) -> dict[str, Population]:
        return {p.name: p for p in self.populations}

    def population(self, name: str) -> Population:
        pops = self.population_map()
        if name not in pops:
            raise NetworkError(describe("network", self.name, "no such population", got=repr(name), expected=sorted(pops)))
        return pops[name]

    def connection(self, name: str) -> Connection:
        for c in self.connections:
            if c.name == name:
                return c
        raise NetworkError(describe("network", self.name, "no such connection", got=repr(name),
                                    expected=[c.name for c in self.connections]))

    def constant_input_value(self, name: str, value: Any) -> np.ndarray:
        """``value`` as the new value of ConstantInput ``name`` (shape ``(n,)`` or ``(batch, n)``,
        ``n`` its population's size), for a simulator's ``set_input``."""
        consts = [i for i in self.inputs if isinstance(i, ConstantInput)]
        for inp in consts:
            if inp.name == name:
                n = self.population(inp.target).size
                arr = np.asarray(value, dtype=float)
                if arr.shape[-1:] != (n,) or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[0] not in (1, self.batch)):
                    raise NetworkError(describe("input", name, "new value has the wrong shape", got=arr.shape,
                                                expected=f"({n},) or ({self.batch}, {n})"))
                return arr
        raise NetworkError(describe("input", name, "no such constant input", expected=[i.name for i in consts]))

    def learning_epochs(self, connection: str, epochs: Any) -> int:
        """``epochs`` as a count of learning epochs of ``connection`` (which must exist and have a
        learning rule; ``epochs`` an integer >= 0), for a simulator's ``record_learning_epoch``."""
        if not self.connection(connection).plastic:
            raise NetworkError(describe("connection", connection, "has no learning rule, so no learning epoch",
                                        expected=[c.name for c in self.connections if c.plastic]
                                        or "no plastic connections"))
        if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise NetworkError(describe("connection", connection, "learning epochs must be an integer >= 0",
                                        got=repr(epochs), expected="int >= 0"))
        return int(epochs)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations)

    @property
    def n_synapses(self) -> int:
        return sum(c.n_synapses for c in self.connections)

    def offsets(self) -> dict[str, int]:
        """Global index of each population's first neuron (populations in insertion order)."""
        out, k = {}, 0
        for p in self.populations:
            out[p.name] = k
            k += p.size
        return out

    @property
    def batch(self) -> int:
        """Batch size implied by the inputs (1 if no input is batched)."""
        return self._batch()

    # -- validation -------------------------------------------------------------------------
    def _batch(self) -> int:
        pops = self.population_map()
        sizes = {}
        names = [i.name for i in self.inputs]
        if len(set(names)) != len(names):
            raise NetworkError(describe("network", self.name, "duplicate input names",
                                        got=sorted({n for n in names if names.count(n) > 1}), expected="unique names"))
        for inp in self.inputs:
            if inp.target not in pops:
                raise NetworkError(describe("input", inp.name, "target population does not exist",
                                            got=repr(inp.target), expected=sorted(pops)))
            b = inp.batch(pops[inp.target].size)
            if b != 1:
                sizes[inp.name] = b
        distinct = set(sizes.values())
        if len(distinct) > 1:
            raise NetworkError(describe("network", self.name, "inputs disagree on the batch size",
                                        got=sizes, expected="one batch size for all batched inputs"))
        return distinct.pop() if distinct else 1

    def validate(self) -> "Network":
        """Check the whole network; raise :class:`NetworkError` naming the first problem."""
        _check_name("network", self.name)
        if not self.populations:
            raise NetworkError(describe("network", self.name, "has no populations", expected="at least one Population"))
        pops = self.population_map()
        if len(pops) != len(self.populations):
            raise NetworkError(describe("network", self.name, "duplicate population names"))
        names = [c.name for c in self.connections]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise NetworkError(describe("network", self.name, "duplicate connection names", got=dup, expected="unique names"))
        signals = set(self.signals)
        for c in self.connections:
            for end in ("pre", "post"):
                if getattr(c, end) not in pops:
                    raise NetworkError(describe("connection", c.name, f"{end} population does not exist",
                                                got=repr(getattr(c, end)), expected=sorted(pops)))
            want = (pops[c.post].size, pops[c.pre].size)
            if c.shape != want:
                raise NetworkError(describe("connection", c.name, "weights shape does not match (n_post, n_pre)",
                                            got=c.shape, expected=want))
            if c.gain is not None and c.gain.signal not in signals:
                raise NetworkError(describe("connection", c.name, "gain refers to an unknown signal",
                                            got=repr(c.gain.signal), expected=sorted(signals) or "a key of Network.signals"))
            _check_receptor("connection", c.name, c.receptor, pops[c.post])
        for inp in self.inputs:
            if isinstance(inp, PoissonInput) and inp.target in pops:
                _check_receptor("input", inp.name, inp.receptor, pops[inp.target])
            g = getattr(inp, "gain", None)
            if g is not None and g.signal not in signals:
                raise NetworkError(describe("input", inp.name, "gain refers to an unknown signal",
                                            got=repr(g.signal), expected=sorted(signals) or "a key of Network.signals"))
        self._batch()
        pnames = [p.name for p in self.probes]
        if len(set(pnames)) != len(pnames):
            raise NetworkError(describe("network", self.name, "duplicate probe names",
                                        got=sorted({n for n in pnames if pnames.count(n) > 1}), expected="unique names"))
        for pr in self.probes:
            if pr.target not in pops:
                raise NetworkError(describe("probe", pr.name, "target population does not exist",
                                            got=repr(pr.target), expected=sorted(pops)))
            model = pops[pr.target].model
            allowed = PROBE_VARS_COMMON + model.probe_vars
            if pr.var not in allowed:
                raise NetworkError(describe("probe", pr.name, "unknown variable", got=repr(pr.var), expected=allowed))
            if pr.var == "spikes" and model.graded:
                raise NetworkError(describe("probe", pr.name, "graded neurons emit 'output', not 'spikes'",
                                            got="spikes", expected="output"))
            if pr.var == "output" and not model.graded:
                raise NetworkError(describe("probe", pr.name, "spiking neurons emit 'spikes', not 'output'",
                                            got="output", expected="spikes"))
        return self
