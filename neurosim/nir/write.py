"""Write a :class:`~neurosim.ir.Network` as a NIR graph: the inverse of :func:`neurosim.nir.read.read_nir`.

:func:`to_nir` builds the ``nir.NIRGraph`` and :func:`write_nir` writes it (HDF5, atomically).
The convention is read_nir's, inverted exactly (spikes are unit pulses one step ``dt`` long,
forward Euler at ``dt``), with ``R`` chosen so that the weight factor of read_nir is 1 and the
NIR weights are neurosim's weights unchanged:

==========================================  ===================================================================
neurosim population (``LIF`` model)         NIR node
==========================================  ===================================================================
no incoming connection                      ``Input`` (its spikes come from outside; a non-relay is noted)
``tau_s = dt``, ``tau_m_s = inf``           ``IF(r = 1/dt, v_threshold = v_th, v_reset)``; ``I(r = 1/dt)`` if a readout
``tau_s = dt``, ``tau_m_s`` finite          ``LIF(tau = tau_m_s, r = tau/dt, v_leak = v_rest, ...)``; ``LI`` if a readout
``tau_s != dt``, ``tau_m_s`` finite         ``CubaLIF(tau_syn = tau_s, tau_mem = tau_m_s, r = tau_mem/dt, w_in = 1, ...)``;
                                            ``CubaLI`` if a readout
==========================================  ===================================================================

(a *readout* has ``v_th = NEVER_FIRES`` and no outgoing connection). With these ``R`` the
factors of read_nir (``dt R``, ``dt R / tau``, ``dt R w_in / tau_mem``) are 1, and the neuron's
``bias`` (v per second) becomes the NIR bias ``b = bias dt`` (``R b / tau = b / dt``, etc.),
carried by the ``Affine`` (or ``Conv2d``) node of one incoming connection.

A connection ``pre -> post`` becomes ``pre -> [Delay] -> [Flatten] -> W -> post``: ``W`` is a
``Conv2d`` when the weights are :class:`~neurosim.conv.ConvWeights` and both populations can keep
the convolution's tensor shapes (``(C, H, W)``), otherwise a dense ``Linear`` (``Affine`` with the
bias); ``Delay`` holds ``(delay_steps - 1) dt`` seconds per element (read_nir adds
``round(delay / dt)`` steps to its base delay of 1); ``Flatten`` flattens a tensor-shaped ``pre``
before a dense matrix. Populations that drive no other population (or the ``outputs`` given)
feed ``Output`` nodes.

Not representable, and refused with :class:`~neurosim.errors.NetworkError` naming the population
or connection: models other than ``LIF`` (e.g. the graded ``LCANeuron``), reset by subtraction and
refractory periods (NIR resets to ``v_reset``), a synaptic time constant without a leak
(``tau_s != dt`` with ``tau_m_s = inf``), a leak on some neurons of a population only, Euler steps
``dt`` above a time constant, run-time gains (:class:`~neurosim.ir.Gain`), a network without an
entry point (no population without incoming connections that feeds another: NIR graphs start at
``Input`` nodes). Dropped, and noted in the graph's metadata (``metadata["neurosim"]["notes"]``):
learning rules (the current weights are written), external inputs and probes (NIR inputs are the
``Input`` nodes). The metadata is non-essential, as NIR requires: the graph is executable
without it. Each neuron node's metadata records the population's spike condition
(``"neurosim.threshold"``: ``">="`` or ``">"``), bias onset (``"neurosim.bias_start"``, steps) and
where its bias enters (``"neurosim.bias_receptor"``: ``"v"`` or a receptor), which read_nir
honours, so a network round-trips exactly (without them read_nir uses NIR's ``>``, the layer's
input latency, and for ``CubaLIF`` the synaptic current).
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from neurosim.conv import ConvWeights
from neurosim.errors import InputError, NetworkError, describe
from neurosim.io.atomic import atomic_write_bytes
from neurosim.ir import Network, Population
from neurosim.neurons import LIF
from neurosim.nir.neurons import NEVER_FIRES
from neurosim.nir.neurons import BIAS_RECEPTOR_KEY, BIAS_START_KEY, THRESHOLD_KEY
from neurosim.nir.read import CONVENTION, _import_nir

__all__ = ['to_nir', 'write_nir', 'check_exportable']

log = logging.getLogger(__name__)


#: relative tolerance of ``tau_s == dt``
TAU_RTOL = 1e-9


_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def _kind(pop: Population, dt: float, *, has_in: bool, has_out: bool) -> str:
    """The NIR node type of ``pop`` ("Input", "IF", "I", "LIF", "LI", "CubaLIF", "CubaLI"), or raise."""
    m = pop.model
    if not isinstance(m, LIF):
        raise NetworkError(describe("population", pop.name, f"neuron model {type(m).__name__} has no NIR equivalent",
                                    got=type(m).__name__, expected="LIF / IF neurons"))
    if not has_in:
        return "Input"
    n = pop.size
    if m.reset != "zero":
        raise NetworkError(describe("population", pop.name, "reset by subtraction has no NIR equivalent",
                                    got=f"LIF.reset={m.reset!r}", expected="reset='zero' (NIR resets v to v_reset)"))
    if m.refractory_steps:
        raise NetworkError(describe("population", pop.name, "refractory period has no NIR equivalent",
                                    got=f"LIF.refractory_steps={m.refractory_steps}", expected="0"))
    if m.receptors:
        raise NetworkError(describe("population", pop.name, "several synaptic receptors have no NIR equivalent",
                                    got=f"LIF.receptors={sorted(m.receptors)}", expected="one synaptic current (tau_s)"))
    try:
        m.check_dt(pop.name, n, dt)
    except NetworkError as exc:
        raise NetworkError(f"{exc}; NIR export at this dt_s is not faithful") from exc
    tau_s, tau_m = m.param("tau_s", n), m.param("tau_m_s", n)
    leaky = np.isfinite(tau_m)
    if leaky.any() and not leaky.all():
        raise NetworkError(describe("population", pop.name, "leak on some neurons only has no single NIR node",
                                    got=f"{int(leaky.sum())} of {n} neurons with finite tau_m_s",
                                    expected="all or none finite"))
    one_step = bool(np.allclose(tau_s, dt, rtol=TAU_RTOL, atol=0.0))
    if not one_step and not leaky.all():
        raise NetworkError(describe("population", pop.name, "a synaptic time constant without leak has no NIR equivalent",
                                    got=f"tau_s={float(tau_s.max()):g}, tau_m_s=inf",
                                    expected=f"tau_s = dt_s ({dt:g}) or a finite tau_m_s (CubaLIF)"))
    readout = bool(np.all(m.param("v_th", n) >= NEVER_FIRES)) and not has_out
    base = ("LIF" if leaky.all() else "IF") if one_step else "CubaLIF"
    return {"LIF": "LI", "IF": "I", "CubaLIF": "CubaLI"}[base] if readout else base


def check_exportable(network: Network, *, dt_s: float, outputs: Optional[Sequence[str]] = None) -> None:
    """Raise :class:`NetworkError` if ``network`` has no faithful NIR form (the rules of the module
    docstring), or no output population (:func:`to_nir`'s ``outputs``)."""
    _check_dt(dt_s)
    has_in = {c.post for c in network.connections}
    has_out = {c.pre for c in network.connections}
    kinds = {pop.name: _kind(pop, float(dt_s), has_in=pop.name in has_in, has_out=pop.name in has_out)
             for pop in network.populations}
    if not any(p.name not in has_in and p.name in has_out for p in network.populations):
        # NIR graphs start from Input nodes with an outgoing edge (nir.NIRGraph's type inference)
        raise NetworkError(describe("network", network.name, "has no entry point for a NIR graph",
                                    got="no population without incoming connections that feeds another "
                                        "(driven by external inputs only, or no connections)",
                                    expected="an input population: it becomes the NIR Input node"))
    for c in network.connections:
        if c.gain is not None:
            raise NetworkError(describe("connection", c.name, "a run-time gain has no NIR equivalent",
                                        got=f"Gain({c.gain.signal!r})", expected="no gain"))
    _output_populations(network, kinds, outputs)


def _output_populations(network: Network, kinds: dict[str, str], outputs: Optional[Sequence[str]]) -> list[str]:
    """The populations that feed ``Output`` nodes (see :func:`to_nir`'s ``outputs``)."""
    if outputs is not None:
        names = {p.name for p in network.populations}
        bad = [o for o in outputs if o not in names or kinds[o] == "Input"]
        if bad or not outputs:
            raise InputError(describe("NIR export", "outputs", "must name populations of the network that are not "
                                      "inputs", got=list(outputs), expected=f"a non-empty subset of {sorted(names)}"))
        return list(dict.fromkeys(outputs))
    drives_other = {c.pre for c in network.connections if c.post != c.pre}
    sinks = [p.name for p in network.populations if p.name not in drives_other and kinds[p.name] != "Input"]
    if not sinks:
        raise NetworkError(describe("NIR export", network.name, "every population drives another one, so none "
                                    "is an output (NIR graphs end at Output nodes)",
                                    expected="outputs=[population, ...] naming the output layers"))
    return sinks


def _check_dt(dt_s: float) -> None:
    if isinstance(dt_s, bool) or not isinstance(dt_s, (int, float, np.floating)) or not np.isfinite(dt_s) or dt_s <= 0:
        raise InputError(describe("option", "dt_s", "must be a positive number of seconds", got=dt_s, expected="> 0"))


def _shapes(network: Network, bias_of: dict[str, np.ndarray]) -> tuple[dict[str, tuple], set[str]]:
    """Tensor shape per population and the names of connections written dense (see module docstring)."""
    pops = network.population_map()
    conv = [c for c in network.connections if isinstance(c.weights, ConvWeights)]
    dense = {c.name for c in network.connections if not isinstance(c.weights, ConvWeights)}
    for post, b in bias_of.items():  # a per-neuron bias on conv-only inputs needs a dense carrier
        ins = [c for c in network.connections if c.post == post]
        if ins and all(isinstance(c.weights, ConvWeights) for c in ins):
            out = ins[0].weights.out_shape
            if not np.all(b.reshape(out[0], -1) == b.reshape(out[0], -1)[:, :1]):
                dense.add(ins[0].name)
    while True:
        cand: dict[str, set] = {p: set() for p in pops}
        flat = {c.post for c in network.connections if c.name in dense}
        for c in conv:
            if c.name not in dense:
                cand[c.pre].add(tuple(c.weights.in_shape))
                cand[c.post].add(tuple(c.weights.out_shape))
        shape = {p: (next(iter(s)) if len(s) == 1 and p not in flat else (pops[p].size,)) for p, s in cand.items()}
        demote = {c.name for c in conv if c.name not in dense
                  and (shape[c.pre] != tuple(c.weights.in_shape) or shape[c.post] != tuple(c.weights.out_shape))}
        if not demote:
            return shape, dense
        dense |= demote


def _meta(value: Any, where: str) -> Any:
    """``value`` as something ``nir.write`` stores in HDF5 (nested dicts of str keys, strings, numbers, arrays)."""
    if isinstance(value, dict):
        return {str(k): _meta(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (str, bool, int, float, np.integer, np.floating, np.bool_)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            return arr
        if arr.dtype.kind == "U":
            return arr.astype(object).astype("S")
    raise InputError(describe("placement", where, "cannot be stored as NIR metadata", got=type(value).__name__,
                              expected="dicts of numbers, strings and numeric arrays"))


def to_nir(network: Network, *, dt_s: float, placement: Optional[dict] = None,
           outputs: Optional[Sequence[str]] = None):
    """The NIR graph of ``network`` (rules in the module docstring).

    Parameters
    ----------
    network : Network
        Populations of LIF/IF neurons and their connections.
    dt_s : float
        Time step, seconds (> 0), of the discretisation that :func:`~neurosim.nir.read.read_nir`
        will invert (read the file back with the same ``dt_s``).
    placement : dict, optional
        Non-essential placement information (e.g. ``{"chip": name, "cores": {population: core
        index per neuron}}``), stored as ``metadata["placement"]`` of the graph.
    outputs : sequence of str, optional
        Populations that feed ``Output`` nodes (e.g. the ones :func:`~neurosim.nir.read.read_nir`
        reported for the graph it read). Default: every population that drives no *other*
        population (a recurrent layer's connection to itself does not count).

    Returns
    -------
    nir.NIRGraph

    Raises
    ------
    NetworkError
        A population or connection without a faithful NIR form (naming it and its model).
    InputError
        Missing ``nir`` package, bad ``dt_s``, placement values HDF5 cannot store.
    """
    nir = _import_nir()
    check_exportable(network, dt_s=dt_s, outputs=outputs)
    dt = float(dt_s)
    has_in = {c.post for c in network.connections}
    has_out = {c.pre for c in network.connections}
    notes: list[str] = []
    kinds = {p.name: _kind(p, dt, has_in=p.name in has_in, has_out=p.name in has_out) for p in network.populations}
    bias_of = {p.name: p.model.param("bias", p.size) * dt for p in network.populations
               if kinds[p.name] != "Input" and np.any(p.model.param("bias", p.size))}
    shape, dense = _shapes(network, bias_of)
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    taken = {p.name for p in network.populations}
    for pop in network.populations:
        nodes[pop.name] = _neuron_node(nir, pop, kinds[pop.name], shape[pop.name], dt, notes)
        if kinds[pop.name] != "Input":  # read back by read_nir: the network's own spike condition and bias onset
            nodes[pop.name].metadata = {THRESHOLD_KEY: pop.model.threshold, BIAS_START_KEY: int(pop.model.bias_start),
                                        BIAS_RECEPTOR_KEY: pop.model.bias_receptor or "v"}
    carrier: dict[str, str] = {}  # the connection whose weight node carries the post's bias: a dense one if any
    for c in sorted(network.connections, key=lambda c: c.name not in dense):
        carrier.setdefault(c.post, c.name)
    for c in network.connections:
        base = _unique(_BAD_CHARS.sub("_", c.name.replace("->", "__")), taken)
        chain = []
        if c.delay_steps > 1:
            chain.append((base + ".delay", nir.Delay(np.full(shape[c.pre], (c.delay_steps - 1) * dt))))
        b = bias_of.get(c.post) if carrier.get(c.post) == c.name else None
        if c.name in dense:
            if len(shape[c.pre]) > 1:
                chain.append((base + ".flatten", nir.Flatten(input_type={"input": np.array(shape[c.pre])}, start_dim=0,
                                                             end_dim=-1)))
            w = c.csr().toarray()
            chain.append((base, nir.Linear(w) if b is None else nir.Affine(w, b)))
        else:
            cw = c.weights
            c_out = cw.out_shape[0]
            cb = np.zeros(c_out) if b is None else b.reshape(c_out, -1)[:, 0]
            chain.append((base, nir.Conv2d(input_shape=tuple(cw.in_shape[1:]), weight=np.asarray(cw.kernel, dtype=float),
                                           stride=int(cw.stride), padding=int(cw.padding), dilation=1, groups=1, bias=cb)))
        if c.learning_rule is not None:
            notes.append(f"connection '{c.name}': learning rule {type(c.learning_rule).__name__} dropped "
                         f"(current weights written)")
        prev = c.pre
        for name, node in chain:
            nodes[name] = node
            edges.append((prev, name))
            prev = name
        edges.append((prev, c.post))
    sinks = _output_populations(network, kinds, outputs)
    for p in sinks:
        name = _unique("output" if len(sinks) == 1 else f"output_{p}", taken)
        nodes[name] = nir.Output(output_type={"output": np.array(shape[p])})
        edges.append((p, name))
    if network.inputs or network.probes:
        notes.append(f"{len(network.inputs)} external inputs and {len(network.probes)} probes not written "
                     "(NIR inputs are the Input nodes)")
    for n in notes:
        log.info("NIR export of %s: %s", network.name, n)
    meta: dict[str, Any] = {"neurosim": {"network": network.name, "dt_s": dt, "convention": CONVENTION["pulse"],
                                         "notes": np.array(notes, dtype="S") if notes else "none"}}
    if placement is not None:
        if not isinstance(placement, dict):
            raise InputError(describe("placement", "placement", "must be a dict", got=type(placement).__name__,
                                      expected="a dict"))
        meta["placement"] = _meta(placement, "placement")
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def _unique(name: str, taken: set[str]) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name}_{k}", k + 1
    taken.add(out)
    return out


def _neuron_node(nir, pop: Population, kind: str, shape: tuple, dt: float, notes: list[str]):
    """The NIR node of ``pop`` (parameters broadcast to ``shape``)."""
    m, n = pop.model, pop.size

    def p(name: str) -> np.ndarray:
        return m.param(name, n).reshape(shape)

    if kind == "Input":
        relay = (np.allclose(p("tau_s"), dt, rtol=TAU_RTOL) and not np.any(p("bias")) and np.all(p("v_th") <= 1.0)
                 and m.reset == "zero" and not m.refractory_steps)
        if not relay:
            notes.append(f"population '{pop.name}': no incoming connection, written as an Input node "
                         "(its own dynamics, bias and external drive are not represented)")
        return nir.Input(input_type={"input": np.array(shape)})
    ones = np.ones(shape)
    if kind in ("IF", "I"):
        r = ones / dt
        return nir.I(r=r) if kind == "I" else nir.IF(r=r, v_threshold=p("v_th"), v_reset=p("v_reset"))
    if kind in ("LIF", "LI"):
        tau = p("tau_m_s")
        if kind == "LI":
            return nir.LI(tau=tau, r=tau / dt, v_leak=p("v_rest"))
        return nir.LIF(tau=tau, r=tau / dt, v_leak=p("v_rest"), v_threshold=p("v_th"), v_reset=p("v_reset"))
    tau_mem = p("tau_m_s")
    common = {"tau_syn": p("tau_s"), "tau_mem": tau_mem, "r": tau_mem / dt, "v_leak": p("v_rest"), "w_in": ones}
    if kind == "CubaLI":
        return nir.CubaLI(**common)
    return nir.CubaLIF(**common, v_threshold=p("v_th"), v_reset=p("v_reset"))


def write_nir(network: Network, path: Union[str, Path], *, dt_s: float, placement: Optional[dict] = None,
              outputs: Optional[Sequence[str]] = None) -> Path:
    """Write ``network`` as a NIR file (HDF5, gzip), atomically: the graph of :func:`to_nir`.

    The file is written to a temporary file in the same directory and renamed over ``path``;
    an existing ``path`` is replaced (callers that must not clobber check first, as the CLI does
    with :func:`neurosim.io.atomic.check_writable`). Returns ``path``.
    """
    graph = to_nir(network, dt_s=dt_s, placement=placement, outputs=outputs)
    nir = _import_nir()
    buf = io.BytesIO()
    nir.write(buf, graph)
    return atomic_write_bytes(path, buf.getvalue())

