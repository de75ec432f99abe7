"""Read NIR graphs (Neuromorphic Intermediate Representation) into a :class:`~neurosim.ir.Network`.

NIR (Pedersen et al., Nature Communications 15:8122, 2024; package ``nir`` 1.0.x) is the exchange
format of snnTorch, Norse, Sinabs, Lava-DL, Rockpool, Nengo, Spyx ... A graph holds nodes (neuron
layers, linear maps, inputs, outputs, nested graphs) and edges; a node receiving several edges sums
them. :func:`read_nir` turns it into neurosim populations and connections:

* **Neuron nodes** (``IF``, ``LIF``, ``CubaLIF``, ``LI``, ``CubaLI``, ``I``, ``Threshold``) become
  populations of :class:`~neurosim.neurons.LIF` neurons (parameters per neuron, broadcast to the
  layer's shape; the table of rules is in :mod:`neurosim.nir.neurons`).
* **Linear nodes** between two neuron nodes (``Affine``, ``Linear``, ``Scale``, ``Conv1d``,
  ``Conv2d``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``, ``Delay``, and the ``Input``/``Output``
  nodes of nested graphs) are composed into one matrix per (source, target, delay): one
  :class:`~neurosim.ir.Connection`, summed over parallel paths of equal delay. A single
  ``Conv2d`` between two layers stays a compact :class:`~neurosim.conv.ConvWeights` when its
  geometry allows; otherwise the composition is an explicit sparse matrix (``Conv1d`` is a
  ``Conv2d`` of height 1). Biases of linear nodes travel through the rest of the chain and become
  the target neurons' ``bias``. A chain of linear nodes that loops on itself (no neuron in the
  loop) has no discrete-time meaning and is refused.
* **Delay** (``y(t) = x(t - delay)``, seconds per element) adds ``floor(delay / dt_s + 1/2)`` steps to
  the connection's ``delay_steps`` (1 without delays: a spike of step ``n`` acts on ``v`` at step
  ``n + 1``; with ``D`` steps of Delay on the path, at step ``n + 1 + D``). Paths of different total
  delay, and the elements of one Delay with different values, become separate connections named
  ``<pre>-><post>@d<delay_steps>`` (the plain ``<pre>-><post>`` when the pair has one delay). A
  delay off the step grid by more than ``1e-6`` relative is rounded and noted.
* **Input nodes** become populations of spiking *relay* neurons: neurosim feeds external spikes
  through inputs attached to a population (:class:`~neurosim.ir.PoissonInput`, ``ArrayInput``),
  and a relay (``LIF(tau_s=dt_s, v_th=0.5, reset="zero")``, the splitter relay of the mapper)
  turns each input spike of weight 1 into exactly one spike on the next step. The linear chain
  after an ``Input`` is the relays' outgoing connection. The mapper costs relays as on-chip
  neurons, an over-estimate for chips whose input axons are fed from off-chip directly.
* **Output nodes** create nothing; ``info["outputs"]`` names the populations that feed them, and
  a Delay or a linear node between a population and an Output (not modelled) is noted.
* **Nested graphs** are flattened; their nodes are named ``<graph>.<node>``.

Discretisation
--------------
NIR's neuron equations are continuous-time ODEs; exporters that train in discrete time write a
spike either as a value ``s_n in {0, 1}`` held for one step ``dt`` (a *pulse* of height 1 and area
``dt``: snnTorch) or as an impulse of area 1 (a *Dirac*: ``v += W s`` per spike, Norse's ``IAF``,
Sinabs). :func:`read_nir` reads the graph with the user's ``dt_s``, forward Euler, and the spike
convention ``spikes`` (``"pulse"``, the default, or ``"dirac"``). For ``LIF`` (``tau dv/dt =
(v_leak - v) + R I``, ``I = W s + b``) with pulses::

    v_{n+1} = v_n + (dt / tau) (v_leak - v_n + R (W s_n + b))        spike when v > v_threshold, v <- v_reset

which is exactly neurosim's LIF (:class:`~neurosim.neurons.LIF`, ``v += dt (bias + i - (v -
v_rest)/tau)``) with ``tau_m_s = tau``, ``v_rest = v_leak``, ``v_th = v_threshold``,
``reset = "zero"``, ``v_reset = v_reset``, ``bias = R b / tau`` and a synaptic current lasting
one step (``tau_s = dt``: a spike of weight ``w'`` adds ``w'/dt`` to ``i`` and moves ``v`` by
``w'``), so the connection weights are the NIR weights times ``dt R / tau`` of the target neuron
(with Diracs, ``R / tau``: a spike moves ``v`` by ``R W / tau``). ``IF`` (``dv/dt = R I``) is the
same with ``tau_m_s = inf``, weights times ``dt R`` (Dirac: ``R``) and ``bias = R b``; ``I``
(integrator ``dv/dt = R I``) is that ``IF`` with an unreachable threshold. ``Threshold`` (``s =
H(x - threshold)``, memoryless) is a LIF whose state is wiped every step (``tau_s = tau_m_s =
dt``, reset to 0): ``v_{n+1} = W s_n + b``, a spike when ``v_{n+1} > threshold``, one step after
its input like every connection (weights unscaled, ``bias = b / dt``). ``CubaLIF`` (``tau_syn
dI/dt = -I + w_in S``, ``tau_mem dv/dt = (v_leak - v) + R I``) maps onto neurosim's one synaptic
current with ``tau_s = tau_syn``, ``tau_m_s = tau_mem`` and weights times ``dt R w_in /
tau_mem``: a pulse of weight ``w`` adds ``dt w_in w / tau_syn`` to ``I``, i.e. ``w' / tau_syn`` to
neurosim's ``i = R I / tau_mem``; ``I`` decays by ``1 - dt/tau_syn`` per step on both sides
(neurosim integrates ``v`` with the current before decaying it, the order Norse uses). Its bias
enters the synaptic current like a spike of weight ``b`` every step (``LIF.bias_receptor =
"syn"``: snnTorch's ``syn <- alpha syn + (W x + b)``). ``LI``, ``CubaLI`` and ``I`` (non-spiking
readouts) are the same neurons with an unreachable threshold (``v_th = 1e30``): the membrane is the
readout, and they emit no events.

Timing, thresholds, exactness. Input spikes pass through relays (an input spike at step ``t``
makes its relay spike at step ``t``, :func:`add_spike_input`), so a layer ``d`` connections
deep sees the exporter's step ``t`` at step ``t + d``; its bias switches on at that first step
(``LIF.bias_start``, ``info["bias_start"]``), as the layer's bias and first input arrive together
in the exporter. The spike condition is NIR's ``v > v_threshold`` (``LIF.threshold = ">"``) unless
``threshold=">="`` (Sinabs) is given or neurosim recorded its own in the node's metadata
(``info["threshold"]``). Parameters stored in float32 (exporters' tensors) give weight factors
rounded to float32 and time constants nudged so the decays are the float32 ``1 - dt/tau``: ratios
that are exact in the exporter (``r = tau/dt``: factor 1; ``beta``) stay exact, and so do ties.
Remaining differences from the ODE, reported per node in ``info["approximations"]``: state starts
at zero (not at ``v_leak``), delays are rounded to whole steps, the mapper costs the relays.

``dt_s`` must be the step the exporter assumed, with its spike convention. snnTorch, for
instance, writes ``Leaky(beta)`` as ``LIF(tau = dt/(1 - beta), r = tau/dt)`` and ``Synaptic(alpha,
beta)`` as ``CubaLIF(tau_syn = dt/(1 - alpha), tau_mem = dt/(1 - beta), r = tau_mem/dt, w_in =
tau_syn/dt)`` with ``dt = 1e-4``; read with ``dt_s=1e-4`` (pulses) the weights come out unscaled
and the recurrences ``syn <- alpha syn + x + b``, ``mem <- beta mem + syn`` are reproduced exactly
(``tests/neurosim/nir/test_read_exact.py``). An exporter of Dirac spikes (``IF(r=1)`` with ``v +=
W s``) read as pulses at its ``dt`` gets weights times ``dt``, and its network is silent: read it
with ``spikes="dirac"``.
"""
from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import scipy.sparse as sp

from neurosim.errors import InputError, NetworkError, describe
from neurosim.guard import ResourceLimits, check_memory
from neurosim.ir import Connection, Network, PoissonInput, Population
from neurosim.neurons import LIF, SPIKE_CONDITIONS
from neurosim.nir.compose import LinearChains, Node, conv_weights, first_input_steps, walk
from neurosim.nir.neurons import NEURONS, READOUTS, neuron_model, param_shape, recorded_options

__all__ = ['read_nir', 'add_poisson_input', 'add_spike_input', 'SUPPORTED_NODES']

log = logging.getLogger(__name__)


LINEAR = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Delay")


#: every NIR node type :func:`read_nir` converts
SUPPORTED_NODES = ("Input", "Output", "NIRGraph") + LINEAR + NEURONS


#: density above which a composed connection is stored dense
DENSE_ABOVE = 0.25


#: spike conventions of :func:`read_nir` (option ``spikes``)
SPIKE_CONVENTIONS = ("pulse", "dirac")

_COMMON = ("forward Euler at dt_s; Affine/Conv outputs are input currents; biases switch on at the step the layer's "
           "first input can arrive (CubaLIF: through the synaptic current); spike when v > v_threshold (or >=, "
           "per population: info['threshold']), reset to v_reset; state starts at 0; "
           "delay 1 step per connection plus round(delay/dt_s) per Delay node")
#: how the graph is read, per spike convention (recorded in ``info["convention"]``; details in the module docstring)
CONVENTION = {
    "pulse": "spikes are unit pulses one step long (area dt_s); connections scaled by dt R / tau (LIF, LI), dt R (IF, I), "
             "dt R w_in / tau_mem (CubaLIF, CubaLI), 1 (Threshold); " + _COMMON,
    "dirac": "spikes are impulses of area 1; connections scaled by R / tau (LIF, LI), R (IF, I), R w_in / tau_mem "
             "(CubaLIF, CubaLI), 1 (Threshold); " + _COMMON}

_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


#: name of the population of splitter relays the mapper adds (``mapper.partition.relays.SPLITTER_POPULATION``,
#: repeated here because neurosim never imports mapper; a test checks they agree)
SPLITTER_NODE = "__splitters__"


def _import_nir():
    try:
        import nir  # noqa: PLC0415 - optional dependency, imported on use
    except ImportError as exc:
        raise InputError("NIR support needs the 'nir' package (not installed): pip install 'neurosim[nir]'") from exc
    return nir


# -- flattening nested graphs ------------------------------------------------------------------
def _flatten(graph, prefix: str, nodes: dict[str, Node], edges: list[tuple[str, str]],
             top: bool) -> tuple[list[str], list[str]]:
    """Add ``graph``'s nodes (names prefixed) and edges; return its entry and exit node names."""
    local: dict[str, tuple[list[str], list[str]]] = {}
    for name, obj in graph.nodes.items():
        full = prefix + str(name)
        t = type(obj).__name__
        if t == "NIRGraph":
            local[str(name)] = _flatten(obj, full + ".", nodes, edges, top=False)
            continue
        if t in ("Input", "Output"):
            kind = t.lower() if top else "identity"
        elif t == "Identity":
            kind = "identity"
        elif t in LINEAR:
            kind = "linear"
        elif t in NEURONS:
            kind = "neuron"
        else:
            raise InputError(describe("NIR node", full, f"unsupported node type {t}", got=t,
                                      expected="one of " + ", ".join(SUPPORTED_NODES)))
        if full in nodes:  # e.g. a node named 's.l' beside subgraph 's' holding node 'l'
            raise InputError(describe("NIR node", full, "two nodes have this flattened name (a subgraph's nodes "
                                      "are named '<subgraph>.<node>')", got=f"{nodes[full].type} and {t}",
                                      expected="node names without a '.' that clashes with a subgraph's"))
        nodes[full] = Node(full, kind, t, obj)
        local[str(name)] = ([full], [full])

    def resolve(endpoint: str, end: int) -> list[str]:
        key = str(endpoint)
        if key in local:
            ends = local[key][end]
        elif prefix + key in nodes:
            ends = [prefix + key]
        else:
            raise InputError(describe("NIR edge", f"{prefix}{key}", "refers to no node of the graph", got=repr(key),
                                      expected=sorted(local)))
        if len(ends) != 1:
            raise InputError(describe("NIR edge", f"{prefix}{key}", "subgraph has no single Input (Output) node to connect",
                                      got=ends, expected="an edge to '<graph>.<input node>'"))
        return ends

    for a, b in graph.edges:
        for src in resolve(a, 1):
            for dst in resolve(b, 0):
                edges.append((src, dst))
    entries = [n for n in nodes if n.startswith(prefix) and n[len(prefix):] in local and nodes[n].type == "Input"]
    exits = [n for n in nodes if n.startswith(prefix) and n[len(prefix):] in local and nodes[n].type == "Output"]
    return entries, exits


def _pop_name(node: str, taken: set[str]) -> str:
    name = _BAD_CHARS.sub("_", node)
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "n" + name
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


# -- the reader --------------------------------------------------------------------------------
def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:100] if text else type(exc).__name__


def _load(path_or_graph, notes: list[str]) -> tuple[Any, str]:
    """The NIRGraph and a label of where it came from."""
    if not isinstance(path_or_graph, (str, Path)):
        if type(path_or_graph).__name__ != "NIRGraph":
            raise InputError(describe("NIR input", type(path_or_graph).__name__, "is neither a file path nor a NIRGraph",
                                      expected="a .nir file or a nir.NIRGraph"))
        return path_or_graph, "<NIRGraph>"
    path = Path(path_or_graph)
    if not path.is_file():
        raise InputError(describe("NIR file", str(path), "is a directory" if path.is_dir() else "not found",
                                  expected="an existing .nir (HDF5) file"))
    nir = _import_nir()
    try:
        return nir.read(path), str(path)
    except ValueError as first:
        # older or hand-made graphs can fail nir's type inference (NIR issue #135): retry without it
        try:
            graph = nir.read(path, type_check=False)
        except Exception as exc:  # noqa: BLE001 - any failure of the second attempt is a bad file
            raise InputError(describe("NIR file", str(path), "cannot be read as NIR", got=_first_line(first),
                                      expected="an HDF5 file written by nir.write")) from exc
        log.warning("NIR file %s fails nir's type check (%s); read without it", path, first)
        notes.append(f"nir's type check failed ({_first_line(first)}); read with type_check=False")
        return graph, str(path)
    except Exception as exc:  # noqa: BLE001 - h5py and nir raise anything on a damaged file: it is unreadable
        raise InputError(describe("NIR file", str(path), "cannot be read as NIR", got=_first_line(exc),
                                  expected="an HDF5 file written by nir.write")) from None


def _refuse_mapped(source: str, nodes: dict[str, Node]) -> None:
    """Refuse a graph holding the mapper's splitter relays (a ``neurosim map --nir-out`` export).

    Such a graph is a *mapped* network: its ``__splitters__`` layer is a set of relays the mapper
    added so that each neuron of the original network reaches at most the chip's limit of
    destination cores, with the partition they were made for. Read back as an ordinary layer, the
    relays lose that partition, and the mapper either refuses the reserved name or adds relays for
    relays (or fails the out-axon limit with ``--no-splitters``). Renaming the layer would import a
    network one step slower per relay level and larger than the user's, so its costs would not be
    those of the original: the original network is what to map, and the message says so.
    """
    found = [n for n in nodes if n == SPLITTER_NODE or n.endswith("." + SPLITTER_NODE)]
    if found:
        raise InputError(describe("NIR graph", source, "contains neurosim splitter relays: it is a mapped network "
                                  "written by 'neurosim map --nir-out'", got=f"node '{found[0]}'",
                                  expected="the original network; map the graph or network file that was mapped, "
                                           "not its export"))


def read_nir(path_or_graph: Union[str, Path, Any], *, dt_s: float,
             input_shape: Optional[Union[tuple[int, ...], dict[str, tuple[int, ...]]]] = None,
             spikes: str = "pulse", threshold: Optional[str] = None,
             name: Optional[str] = None, limits: Optional[ResourceLimits] = None) -> tuple[Network, dict]:
    """Convert a NIR graph into a neurosim :class:`~neurosim.ir.Network` (rules in the module docstring).

    Parameters
    ----------
    path_or_graph : str, Path or nir.NIRGraph
        A ``.nir`` file (HDF5, read with ``nir.read``) or a graph in memory.
    dt_s : float
        Time step, seconds (> 0), with which the NIR ODEs are discretised (forward Euler); time
        constants in the graph are read in seconds.
    input_shape : tuple or dict, optional
        Shape of the (only) ``Input`` node, or ``{input node name: shape}``, overriding the shape
        stored in the graph. Without it, a leading axis of size 1 (a batch axis, e.g. snnTorch's
        and Norse's ``(1, C, H, W)``) is dropped, with a note, when the graph cannot be read with
        it and can without it.
    spikes : {"pulse", "dirac"}
        Spike convention: ``"pulse"`` (default; snnTorch) reads a spike as a pulse one step long of
        area ``dt_s``; ``"dirac"`` (Norse ``IAF``, Sinabs) as an impulse of area 1 (``v += R W s /
        tau`` for LIF, ``R W s`` for IF): the weight factors of the module docstring divided by
        ``dt_s``. Either reproduces its exporter at the exporter's own ``dt``.
    threshold : {None, ">", ">="}
        Spike condition. ``None`` (default): per node, the ``"neurosim.threshold"`` recorded in the
        node's metadata by :func:`~neurosim.nir.write_nir`, else NIR's definition ``">"``
        (snnTorch, Norse). A string forces every node (``">="``: Sinabs).
    name : str, optional
        Network name (default: the file stem, or ``"nir"``).
    limits : ResourceLimits, optional
        Most memory the layers may need (:mod:`neurosim.guard`; default: the machine's memory),
        checked from their shapes before anything is built.

    Returns
    -------
    network : Network
        Populations (input relays first, then neuron layers in graph order) and connections;
        no inputs or probes (see :func:`add_poisson_input`).
    info : dict
        ``dt_s``, ``source``, ``convention`` (one line), ``spikes`` (the convention used),
        ``threshold`` ({population: ">" or ">="}), ``bias_start`` ({population: first step of its
        bias, the step its first input can arrive}), ``populations`` ({population: {node, type, shape, size}}),
        ``inputs`` (relay populations), ``outputs`` ({Output node: [populations]}),
        ``connections`` ({connection: {from, to, folded (linear nodes on its paths), form, synapses,
        delay_steps}}) and ``approximations``
        ({NIR node: [notes]}, plus ``"<graph>"`` for whole-graph notes).

    Raises
    ------
    InputError
        Missing ``nir`` package, unreadable file, unsupported node (naming it, its type and the
        supported types), shapes that do not fit, unstable ``dt_s``, negative delays, loops of linear
        nodes, or a graph holding the mapper's splitter relays (a mapped network exported by
        ``neurosim map --nir-out`` on a chip with a destination-core limit, see :func:`_refuse_mapped`),
        impossible shapes (a dimension below 1 or above 2^31, more than 8 dimensions).
    ResourceError
        The layers would need more memory than ``limits`` allow.
    """
    if isinstance(dt_s, bool) or not isinstance(dt_s, (int, float, np.floating)) or not np.isfinite(dt_s) or dt_s <= 0:
        raise InputError(describe("option", "dt_s", "must be a positive number of seconds", got=dt_s, expected="> 0"))
    if spikes not in SPIKE_CONVENTIONS:
        raise InputError(describe("option", "spikes", "unknown spike convention", got=repr(spikes),
                                  expected=" or ".join(map(repr, SPIKE_CONVENTIONS))))
    if threshold is not None and threshold not in SPIKE_CONDITIONS:
        raise InputError(describe("option", "threshold", "unknown spike condition", got=repr(threshold),
                                  expected="None, " + " or ".join(map(repr, SPIKE_CONDITIONS))))
    graph_notes: list[str] = []
    graph, source = _load(path_or_graph, graph_notes)
    opts = dict(dt=float(dt_s), input_shape=input_shape, name=name, limits=limits, spikes=spikes, threshold=threshold)
    try:
        return _read(graph, source, list(graph_notes), drop=(), **opts)
    except InputError as first:
        drop = _batched_inputs(graph, input_shape)
        if not drop:
            raise
        try:
            net, info = _read(graph, source, list(graph_notes), drop=drop, **opts)
        except InputError:
            raise first from None
    for n in drop:
        info["approximations"].setdefault(n, []).append(
            "leading batch axis of size 1 dropped from the Input shape (the graph's layers fit the shape without it)")
    return net, info


def _batched_inputs(graph: Any, input_shape: Any) -> tuple[str, ...]:
    """Top-level Input nodes whose stored shape has a leading axis of size 1 and no shape given."""
    if input_shape is not None and not isinstance(input_shape, dict):
        return ()
    out = []
    for n, obj in graph.nodes.items():
        shape = obj.input_type.get("input") if type(obj).__name__ == "Input" and isinstance(obj.input_type, dict) else None
        shape = None if shape is None else np.atleast_1d(np.asarray(shape)).ravel()
        if shape is not None and shape.size >= 2 and shape[0] == 1 and str(n) not in (input_shape or {}):
            out.append(str(n))
    return tuple(out)


def _read(graph: Any, source: str, graph_notes: list[str], *, dt: float, input_shape, name, limits, spikes: str,
          threshold: Optional[str], drop: tuple[str, ...]) -> tuple[Network, dict]:
    """:func:`read_nir` on a loaded graph; the Input nodes in ``drop`` lose their leading axis."""
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    _flatten(graph, "", nodes, edges, top=True)
    _refuse_mapped(source, nodes)
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in dict.fromkeys(edges):
        succ[a].append(b)
    inputs = [n for n, v in nodes.items() if v.kind == "input"]
    neurons = [n for n, v in nodes.items() if v.kind == "neuron"]
    if not neurons:
        raise InputError(describe("NIR graph", source, "has no neuron node", expected="at least one of " + ", ".join(NEURONS)))

    if isinstance(input_shape, dict):
        unknown = sorted(set(map(str, input_shape)) - set(inputs))
        if unknown:
            raise InputError(describe("option", "input_shape", f"names no Input node of the graph: {unknown}",
                                      got=sorted(map(str, input_shape)), expected=f"keys among {sorted(inputs)}"))
    shapes: dict[str, tuple] = {}
    for n in inputs:
        given = input_shape.get(n) if isinstance(input_shape, dict) else input_shape
        if given is None:
            given = nodes[n].obj.input_type.get("input") if isinstance(nodes[n].obj.input_type, dict) else None
            if given is not None and n in drop:
                given = np.atleast_1d(np.asarray(given)).ravel()[1:]
        if given is None:
            raise InputError(describe("NIR node", n, "Input has no shape", expected="a shape in the graph or input_shape=..."))
        # checked as given: a NaN or fractional dimension is refused, not converted
        shapes[n] = _checked_shape(n, tuple(np.atleast_1d(np.asarray(given)).ravel().tolist()))
    declared = {n: param_shape(n, nodes[n].type, nodes[n].obj) for n in neurons}
    declared = {n: None if v is None else _checked_shape(n, v) for n, v in declared.items()}
    _check_memory(source, shapes, declared, limits)
    # breadth-first from the inputs (populations in that order); layers no input reaches come last
    queue = list(inputs)
    later = [n for n in neurons if declared[n] is not None]
    for n in neurons:
        if declared[n] is not None:
            shapes[n] = declared[n]
    lin = LinearChains(nodes, dt, limits)
    contrib: list[tuple] = []  # (source, sink, M, shape, ops, path, delay steps)
    biased: dict[str, tuple] = {}
    done: dict[str, None] = {}
    while queue or later:
        src = queue.pop(0) if queue else later.pop(0)
        if src in done:
            continue
        done[src] = None
        n_src = int(np.prod(shapes[src]))
        sinks: list = []
        walk(src, sp.identity(n_src, format="csr"), shapes[src], succ, nodes, lin, sinks, biased)
        for sink, m, shape, ops, path, delay in sinks:
            if nodes[src].type in READOUTS and nodes[sink].kind == "neuron":
                raise InputError(describe("NIR node", src,
                                          f"the graded output of a {nodes[src].type} readout feeds neuron node '{sink}'",
                                          expected="LI / CubaLI feeding Output nodes only (neurosim models them as non-spiking)"))
            if nodes[sink].kind == "neuron":
                _check_size(sink, shape, shapes)
                if sink not in shapes:
                    shapes[sink] = _checked_shape(sink, shape)
                    _check_memory(source, shapes, {}, limits)
                if sink not in done:
                    queue.append(sink)
            contrib.append((src, sink, m, shape, ops, path, delay))
    missing = [n for n in neurons if n not in shapes]
    if missing:
        raise InputError(describe("NIR node", missing[0], "size cannot be inferred (no input path, scalar parameters)",
                                  expected="per-neuron parameter arrays or an edge from an Input"))

    bias = {n: np.zeros(int(np.prod(shapes[n]))) for n in neurons}
    for lname, in_shape in list(biased.items()):
        _, b, out = lin.op(lname, in_shape)
        sinks = []
        walk(lname, sp.csr_matrix(b.reshape(-1, 1)), out, succ, nodes, lin, sinks, {})
        for sink, m, *_ in sinks:
            if nodes[sink].kind == "neuron":
                bias[sink] += np.asarray(m.toarray()).ravel()

    start = first_input_steps(inputs, contrib, nodes)
    net = Network(name=_pop_name(name or (Path(source).stem if source != "<NIRGraph>" else "nir"), set()))
    info: dict = {"dt_s": dt, "source": source, "convention": CONVENTION[spikes], "spikes": spikes, "threshold": {},
                  "bias_start": {}, "populations": {}, "inputs": [], "outputs": {}, "connections": {},
                  "approximations": {"<graph>": graph_notes} if graph_notes else {}}
    taken: set[str] = set()
    pop_of: dict[str, str] = {}
    factors: dict[str, np.ndarray] = {}
    for n in inputs:
        pop_of[n] = _pop_name(n, taken)
        net.add(Population(pop_of[n], int(np.prod(shapes[n])), LIF(tau_s=dt, v_th=0.5, reset="zero")))
        info["inputs"].append(pop_of[n])
        info["approximations"][n] = ["spikes enter through relay neurons: one extra step of latency; "
                                     "the mapper costs the relays as on-chip neurons"]
    for n in [n for n in done if nodes[n].kind == "neuron"]:
        pop_of[n] = _pop_name(n, taken)
        cond, onset, direct = recorded_options(n, nodes[n].obj, threshold)
        onset = start.get(n, 0) if onset is None else onset
        model, factors[n], notes = neuron_model(n, nodes[n].type, nodes[n].obj, shapes[n], bias[n], dt, threshold=cond,
                                                spikes=spikes, bias_start=onset, direct_bias=direct)
        info["threshold"][pop_of[n]], info["bias_start"][pop_of[n]] = cond, onset
        try:
            net.add(Population(pop_of[n], int(np.prod(shapes[n])), model))
        except NetworkError as exc:
            raise InputError(describe("NIR node", n, f"cannot be converted ({exc})")) from exc
        if notes:
            info["approximations"][n] = notes
    for n, p in pop_of.items():
        info["populations"][p] = {"node": n, "type": nodes[n].type, "shape": list(shapes[n]), "size": int(np.prod(shapes[n]))}

    for n, notes in lin.notes.items():
        info["approximations"].setdefault(n, []).extend(notes)
    grouped: dict[tuple[str, str, int], list] = defaultdict(list)
    for src, sink, m, shape, ops, path, delay in contrib:
        if nodes[sink].kind == "output":
            info["outputs"].setdefault(sink, [])
            if pop_of[src] not in info["outputs"][sink]:
                info["outputs"][sink].append(pop_of[src])
            if delay or ops:  # nothing is built for an Output: what lies on the way to it is not modelled
                what = ([f"{delay} step(s) of Delay"] if delay else []) + [f"'{o}'" for o in ops
                                                                         if nodes[o].type != "Delay"]
                info["approximations"].setdefault(sink, []).append(
                    f"not modelled between '{pop_of[src]}' and this Output: {', '.join(what)} "
                    "(the output reads the population's spikes directly)")
        else:
            grouped[(src, sink, delay)].append((m, ops, path))
    n_delays = defaultdict(int)
    for src, sink, _ in grouped:
        n_delays[(src, sink)] += 1
    for (src, sink, delay), parts in grouped.items():
        f = factors[sink]
        w = conv_weights(nodes, parts[0][1], shapes[src], f) if len(parts) == 1 else None
        form = "conv"
        if w is None:
            total = parts[0][0] if len(parts) == 1 else sum((p[0] for p in parts[1:]), parts[0][0])
            total = sp.csr_matrix(sp.diags(f) @ total)
            total.eliminate_zeros()
            if total.nnz > DENSE_ABOVE * total.shape[0] * total.shape[1]:
                w, form = total.toarray(), "dense"
            else:
                w, form = total, "sparse"
        cname = f"{pop_of[src]}->{pop_of[sink]}" + (f"@d{1 + delay}" if n_delays[(src, sink)] > 1 else "")
        conn = net.add(Connection(pop_of[src], pop_of[sink], w, delay_steps=1 + delay, name=cname))
        folded = sorted({x for p in parts for x in p[2][1:]})
        info["connections"][conn.name] = {"from": src, "to": sink, "folded": folded, "form": form,
                                          "synapses": conn.n_synapses, "delay_steps": conn.delay_steps}
    net.validate()
    return net, info


#: largest dimension of a layer, and most dimensions
MAX_DIM = 2**31
MAX_NDIM = 8
#: bytes per neuron of a layer: its parameters, the engine's state, the mapper's arrays (estimates only)
BYTES_PER_NEURON = 512


def _checked_shape(node: str, shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of ints, refused unless every dimension is in ``1 .. MAX_DIM``."""
    try:
        dims = tuple(shape)
        ok = 0 < len(dims) <= MAX_NDIM and all(float(d) == int(d) and 1 <= int(d) <= MAX_DIM for d in dims)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(describe("NIR node", node, "impossible shape", got=str(shape)[:60],
                                  expected=f"1 to {MAX_NDIM} whole dimensions, each 1 .. {MAX_DIM}"))
    return tuple(int(d) for d in dims)


def _check_memory(source: str, shapes: dict, declared: dict, limits: Optional[ResourceLimits]) -> None:
    """Refuse layers whose neurons would not fit the memory limit (before anything is built)."""
    sizes = {n: math.prod(s) for n, s in {**shapes, **{k: v for k, v in declared.items() if v is not None}}.items()}
    total = sum(sizes.values())
    big = max(sizes, key=sizes.get) if sizes else "?"
    check_memory(f"NIR graph '{source}'", float(total) * BYTES_PER_NEURON, limits,
                 detail=f"{total} neurons, the largest layer '{big}' of shape {shapes.get(big, declared.get(big))}")


def _check_size(sink: str, shape: tuple, shapes: dict) -> None:
    want = shapes.get(sink)
    if want is not None and int(np.prod(want)) != int(np.prod(shape)):
        raise InputError(describe("NIR node", sink, "input size does not match the layer", got=f"input {shape}",
                                  expected=f"{want} ({int(np.prod(want))} neurons, from its parameters or another input)"))


def add_poisson_input(network: Network, info: dict, *, rate_per_step: float, dt_s: float) -> Network:
    """A copy of ``network`` whose input relays receive Poisson spikes.

    Each relay neuron receives a spike (weight 1) with probability ``rate_per_step`` per step,
    i.e. ``rate_hz = rate_per_step / dt_s``; the relay re-emits it on the next step.
    """
    if not 0.0 <= rate_per_step <= 1.0:
        raise InputError(describe("option", "input-rate", "must be a probability per step", got=rate_per_step,
                                  expected="in [0, 1]"))
    out = Network(network.name, list(network.populations), list(network.connections), list(network.inputs),
                  list(network.probes), dict(network.signals))
    for pop in info["inputs"]:
        n = network.population(pop).size
        out.add(PoissonInput(pop, np.full(n, rate_per_step / dt_s), weight=1.0, name=f"poisson->{pop}"))
    return out



def add_spike_input(network: Network, info: dict, spikes: Union[np.ndarray, dict[str, np.ndarray]], *,
                    dt_s: float) -> Network:
    """A copy of ``network`` whose input relays spike at the given steps.

    ``spikes`` is a raster ``(steps, n)`` (or ``(steps, batch, n)``) of 0/1 for the graph's only
    Input, or ``{relay population: raster}``. A relay spikes at step ``t`` exactly when
    ``spikes[t]`` is 1 (an :class:`~neurosim.ir.ArrayInput` of ``spikes / dt_s`` moves its ``v`` by
    1 against its threshold of 0.5), so a layer at depth ``d`` (``d`` connections of delay 1 from
    the relays) sees the exporter's time step ``t`` at neurosim's step ``t + d``: its bias starts
    at step ``d`` (``LIF.bias_start``).
    """
    from neurosim.ir import ArrayInput  # noqa: PLC0415 - beside PoissonInput, only here

    given = spikes if isinstance(spikes, dict) else ({info["inputs"][0]: spikes} if len(info["inputs"]) == 1 else None)
    if given is None or set(given) - set(info["inputs"]):
        raise InputError(describe("option", "spikes", "names no input relay population (or the graph has several inputs)",
                                  got=sorted(given) if given else type(spikes).__name__, expected=info["inputs"]))
    out = Network(network.name, list(network.populations), list(network.connections), list(network.inputs),
                  list(network.probes), dict(network.signals))
    for pop, raster in given.items():
        arr = np.asarray(raster, dtype=float)
        if arr.ndim not in (2, 3) or not np.all((arr == 0) | (arr == 1)):
            raise InputError(describe("input", pop, "spikes must be a 0/1 raster (steps, n) or (steps, batch, n)",
                                      got=f"shape {arr.shape}", expected="values 0 or 1"))
        out.add(ArrayInput(pop, arr / float(dt_s), name=f"spikes->{pop}"))
    return out
