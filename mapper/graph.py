"""The graph stage: the network as the mapper reads it, built once from a :class:`~neurosim.ir.Network`.

Populations are concatenated in :meth:`Network.offsets` order, so neuron ``g`` of the network is
neuron ``g - offsets[pop]`` of population ``pop``. Connections (weights ``(n_post, n_pre)``) become
one square ``n x n`` matrix in two CSR layouts:

* ``out`` (pre-major): row ``s`` lists the targets of source neuron ``s``;
* ``inn`` (post-major): row ``t`` lists the sources of target neuron ``t``.

An entry is a (pre, post) *pair*; ``nsyn`` counts the synapses of that pair (more than one when
two connections join the same neurons) and ``nplastic`` how many of them belong to a connection
with a learning rule. Zero weights of a dense matrix are not synapses.

Rates
-----
``rate[g]`` is the mean number of output events of neuron ``g`` per step and per input,
``counts[g] / (steps * batch)`` of the :class:`~neurosim.activity.ActivityProfile`.

Learning updates
----------------
``learn_rate[t]`` is the mean number of plastic-synapse updates per step and per input charged to
the core of neuron ``t`` (the post-synaptic neuron owns its synapses). Summed over the plastic
connections ``c`` into ``t``, with ``P_c(t)`` the synapses of ``c`` into ``t``:

* **event model** (``c`` not in ``activity.learn_epochs``; STDP-like rules): one update per event
  arriving at a plastic synapse, ``sum_{j in P_c(t)} rate[j]``;
* **epoch model** (``c`` in ``learn_epochs``; rules applied between runs, as neurosim's
  :mod:`neurosim.learning` and Loihi's learning epochs): every plastic synapse once per epoch,
  ``|P_c(t)| * learn_epochs[c] / (steps * batch)``.

Either way ``learn_rate * steps * batch`` summed over neurons is the exact count of the run.

Rows of a partition
-------------------
Given the part of every neuron, :func:`core_rows` groups the pairs by (source neuron, part of the
target): one input-axon row per pair, with its synapse counts, the unit of every per-core resource
(:mod:`mapper.resources`), of the multicast nets (:mod:`mapper.nets`) and of the estimate.
:func:`gather_ranges` is the CSR row gather every stage shares.
"""
from __future__ import annotations

import dataclasses

import logging
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from neurosim.activity import ActivityProfile
from neurosim.errors import NetworkError, describe
from neurosim.ir import Connection, Network

__all__ = ["NetGraph", "build_graph", "CoreRows", "core_rows", "gather_ranges"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class NetGraph:
    """Global adjacency of a network (read-only arrays).

    Attributes
    ----------
    name : str
        Network name.
    n : int
        Neurons.
    pop_names : tuple of str
    pop_offsets : ndarray, shape (P + 1,)
        Population ``p`` holds global neurons ``pop_offsets[p] : pop_offsets[p + 1]``.
    out_ptr, out_idx : ndarray
        Pre-major CSR: targets of source ``s`` are ``out_idx[out_ptr[s]:out_ptr[s + 1]]`` (sorted).
    out_nsyn, out_nplastic : ndarray of int32, aligned with ``out_idx``
        Synapses (and plastic synapses) of each (pre, post) pair.
    in_ptr, in_idx, in_nsyn, in_nplastic : ndarray
        The same pairs in post-major order.
    rate : ndarray of float64, shape (n,)
        Output events per neuron per step per input.
    counts : ndarray of float64, shape (n,)
        Output events per neuron over the whole run (``rate * steps * batch``).
    steps, batch : int
    inputs : int
        Inputs the run covers (:attr:`neurosim.activity.ActivityProfile.inputs`); 0 when unset,
        and :attr:`n_inputs` is then ``batch``.
    dt_s : float
    activity_source : str
        ``"simulated:..."`` or ``"assumed"``.
    n_synapses : int
    plastic_connections : tuple of str
    dense_weights : int
        Sum over connections of ``n_post * n_pre`` (for connection sparsity).
    graded : ndarray of bool, shape (n,)
        Neurons whose model emits graded outputs (an event = a non-zero output).
    learn_rate : ndarray of float64, shape (n,)
        Plastic-synapse updates per step per input owned by each (post-synaptic) neuron (see
        the module docstring).
    learn_epochs : dict[str, int]
        Plastic connections costed by the epoch model and their epochs; the other plastic
        connections are event-driven.
    """

    name: str
    n: int
    pop_names: tuple[str, ...]
    pop_offsets: np.ndarray
    out_ptr: np.ndarray
    out_idx: np.ndarray
    out_nsyn: np.ndarray
    out_nplastic: np.ndarray
    in_ptr: np.ndarray
    in_idx: np.ndarray
    in_nsyn: np.ndarray
    in_nplastic: np.ndarray
    rate: np.ndarray
    counts: np.ndarray
    steps: int
    batch: int
    dt_s: float
    activity_source: str
    n_synapses: int
    plastic_connections: tuple[str, ...]
    dense_weights: int
    graded: np.ndarray
    learn_rate: np.ndarray
    learn_epochs: dict
    inputs: int = 0  # inputs (samples) the run covers; 0 = unset, one per batch lane

    @property
    def n_inputs(self) -> int:
        """Inputs the figures per input divide by: ``inputs``, else ``batch``."""
        return self.inputs or self.batch

    @property
    def n_pairs(self) -> int:
        return int(self.out_idx.size)

    @property
    def out_src(self) -> np.ndarray:
        """Source neuron of every pre-major pair (expanded row index)."""
        return np.repeat(np.arange(self.n, dtype=self.out_idx.dtype), np.diff(self.out_ptr))

    def population_of(self, g: int) -> tuple[str, int]:
        """``(population name, local index)`` of global neuron ``g``."""
        p = int(np.searchsorted(self.pop_offsets, g, side="right") - 1)
        return self.pop_names[p], int(g - self.pop_offsets[p])

    def pop_index(self) -> np.ndarray:
        """Population index of every neuron, shape (n,)."""
        return np.repeat(np.arange(len(self.pop_names)), np.diff(self.pop_offsets))

    def with_activity(self, network: Network, activity: ActivityProfile) -> "NetGraph":
        """The same structure with the rates of ``activity`` (no rebuild of the pair graph:
        the graph of a network is built once, e.g. for the fit check before a simulation, and
        given its measured activity afterwards).

        Raises
        ------
        NetworkError
            ``network`` is not the network this graph was built from, or ``activity`` does not
            match it.
        """
        if (network.name, network.n_neurons, tuple(p.name for p in network.populations)) != \
                (self.name, self.n, self.pop_names):
            raise NetworkError(describe("graph", self.name, "built from another network",
                                        got=f"network '{network.name}' of {network.n_neurons} neurons",
                                        expected=f"'{self.name}' of {self.n} neurons, populations {list(self.pop_names)}"))
        return dataclasses.replace(self, **_activity_fields(network, activity))


def _structure(c, idx_dtype) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr, indices)`` of a connection's stored synapses (:meth:`Connection.structure`;
    new arrays, never the IR's)."""
    if not c.is_sparse:  # dense: np.nonzero is row-major, i.e. already sorted CSR order
        rows, cols = np.nonzero(c.structure())
        indptr = np.zeros(c.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=c.shape[0]), out=indptr[1:])
        return indptr, cols.astype(idx_dtype)
    m = c.csr()
    return m.indptr.astype(np.int64), m.indices.astype(idx_dtype)


def _learn_rate(c: Connection, indptr: np.ndarray, indices: np.ndarray, pre_rate: np.ndarray,
                epochs: Optional[int], denom: float) -> np.ndarray:
    """Learning updates per step per input of plastic connection ``c`` per post neuron, from its
    post-major CSR structure: ``|P_c(t)| * epochs / denom`` (epoch model) or
    ``sum_{j in P_c(t)} pre_rate[j]`` (event model, ``epochs is None``)."""
    per_post = np.diff(indptr).astype(np.float64)
    if epochs is not None:
        return per_post * (float(epochs) / denom)
    m = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=c.shape)
    return np.asarray(m @ pre_rate, dtype=np.float64).reshape(-1)


def _activity_fields(network: Network, activity: ActivityProfile) -> dict[str, Any]:
    """The activity-dependent fields of a :class:`NetGraph` (rates, counts, learning rates, run
    shape), read-only arrays; the structure of the network is not touched."""
    activity.check_matches(network)
    offsets = network.offsets()
    counts = np.concatenate([np.asarray(activity.counts[p.name], dtype=np.float64) for p in network.populations]) \
        if network.populations else np.zeros(0)
    denom = float(activity.steps * activity.batch)
    if denom <= 0:
        raise NetworkError(describe("activity", network.name, "steps * batch must be positive",
                                    got=denom, expected="> 0"))
    rate = counts / denom
    learn_rate = np.zeros(network.n_neurons, dtype=np.float64)
    idx_dtype = np.int32 if network.n_neurons < 2**31 - 1 else np.int64
    for c in network.connections:
        if c.plastic:
            indptr, indices = _structure(c, idx_dtype)
            lo, pre_lo = offsets[c.post], offsets[c.pre]
            learn_rate[lo:lo + c.shape[0]] += _learn_rate(c, indptr, indices, rate[pre_lo:pre_lo + c.shape[1]],
                                                          activity.learn_epochs.get(c.name), denom)
    for arr in (rate, counts, learn_rate):
        arr.setflags(write=False)
    return {"rate": rate, "counts": counts, "learn_rate": learn_rate, "steps": int(activity.steps),
            "batch": int(activity.batch), "dt_s": float(activity.dt_s), "activity_source": str(activity.source),
            "learn_epochs": dict(activity.learn_epochs), "inputs": int(activity.inputs or 0)}


def build_graph(network: Network, activity: ActivityProfile) -> NetGraph:
    """Concatenate the network's connections into one global pair graph with per-neuron rates.

    Parameters
    ----------
    network : Network
        Validated here.
    activity : ActivityProfile
        Must match the network (one count per neuron of every population).

    Returns
    -------
    NetGraph
    """
    network.validate()
    act = _activity_fields(network, activity)
    offsets = network.offsets()
    n = network.n_neurons
    idx_dtype = np.int32 if n < 2**31 - 1 else np.int64
    plastic_names = []
    dense = 0
    n_syn = 0
    blocks: dict[tuple[str, str], sp.csr_matrix] = {}
    for c in network.connections:
        dense += int(c.shape[0]) * int(c.shape[1])
        indptr, indices = _structure(c, idx_dtype)  # (n_post, n_pre): post-major
        n_syn += int(indices.size)
        # one code per synapse: low 32 bits count synapses of a pair, high bits count plastic ones
        code = sp.csr_matrix((np.full(indices.size, 1 + (int(bool(c.plastic)) << 32), dtype=np.int64),
                              indices, indptr), shape=c.shape)
        key = (c.post, c.pre)
        blocks[key] = code if key not in blocks else (blocks[key] + code).tocsr()
        if c.plastic:
            plastic_names.append(c.name)
    # block matrix, rows = post populations, columns = pre populations (no global sort needed)
    pops = network.populations
    rows = []
    for post in pops:
        row = [blocks.get((post.name, pre.name)) for pre in pops]
        if all(b is None for b in row):
            rows.append(sp.csr_matrix((post.size, n), dtype=np.int64))
        else:
            row = [b if b is not None else sp.csr_matrix((post.size, pre.size), dtype=np.int64)
                   for b, pre in zip(row, pops)]
            rows.append(row[0] if len(row) == 1 else sp.hstack(row, format="csr"))
    del blocks
    inn = rows[0] if len(rows) == 1 else sp.vstack(rows, format="csr")
    del rows
    inn = sp.csr_matrix(inn)
    inn.sum_duplicates()  # canonical already unless two connections shared a block (summed above)
    out = inn.tocsc()  # the CSC arrays of the post-major matrix are the pre-major CSR (sorted)
    in_code, out_code = inn.data, out.data
    pop_offsets = np.array([offsets[p.name] for p in network.populations] + [n], dtype=np.int64)
    g = NetGraph(
        name=network.name, n=n, pop_names=tuple(p.name for p in network.populations), pop_offsets=pop_offsets,
        out_ptr=out.indptr.astype(np.int64), out_idx=out.indices.astype(idx_dtype, copy=False),
        out_nsyn=(out_code & 0xFFFFFFFF).astype(np.int32), out_nplastic=(out_code >> 32).astype(np.int32),
        in_ptr=inn.indptr.astype(np.int64), in_idx=inn.indices.astype(idx_dtype, copy=False),
        in_nsyn=(in_code & 0xFFFFFFFF).astype(np.int32), in_nplastic=(in_code >> 32).astype(np.int32),
        n_synapses=n_syn, plastic_connections=tuple(plastic_names), dense_weights=dense,
        graded=np.repeat([bool(p.model.graded) for p in network.populations], [p.size for p in network.populations])
        .astype(bool), **act)
    for name in ("pop_offsets", "out_ptr", "out_idx", "out_nsyn", "out_nplastic", "in_ptr", "in_idx", "in_nsyn",
                 "in_nplastic", "graded"):
        getattr(g, name).setflags(write=False)  # frozen data: stages must not modify the graph
    log.debug("graph %s: %d neurons, %d synapses, %d pairs", network.name, n, n_syn, g.n_pairs)
    return g


@dataclass(frozen=True, eq=False)
class CoreRows:
    """Input-axon rows of a partition: one row per (source neuron, destination part) pair.

    Rows are sorted by ``src`` then ``part``. ``nsyn`` / ``nplastic`` count the synapses from
    ``src`` into neurons of ``part``.
    """

    src: np.ndarray
    part: np.ndarray
    nsyn: np.ndarray
    nplastic: np.ndarray
    n_parts: int

    def ptr(self, n: int) -> np.ndarray:
        """CSR pointer over source neurons: rows of ``s`` are ``ptr[s]:ptr[s + 1]``."""
        return np.concatenate([[0], np.cumsum(np.bincount(self.src, minlength=n))]).astype(np.int64)


def core_rows(graph: NetGraph, part: np.ndarray, n_parts: int) -> CoreRows:
    """Group the pairs of ``graph`` by (source neuron, part of the target).

    One sparse (source x part) matrix with duplicates summed; serves the resource table, the
    routing and the estimate.
    """
    part = np.asarray(part, dtype=np.int64)
    code = graph.out_nsyn.astype(np.int64) + (graph.out_nplastic.astype(np.int64) << 32)
    m = sp.csr_matrix((code, part[graph.out_idx], graph.out_ptr.copy()), shape=(graph.n, int(n_parts)))
    m.sum_duplicates()  # sorts each source's parts and merges repeats: O(pairs) plus short per-row sorts
    src = np.repeat(np.arange(graph.n, dtype=np.int64), np.diff(m.indptr))
    return CoreRows(src=src, part=m.indices.astype(np.int64), nsyn=m.data & 0xFFFFFFFF, nplastic=m.data >> 32,
                    n_parts=int(n_parts))


def gather_ranges(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices ``concat(arange(ptr[r], ptr[r + 1]) for r in rows)`` of a CSR layout, without a Python loop."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offs = np.cumsum(lens) - lens
    return np.repeat(starts - offs, lens) + np.arange(total, dtype=np.int64)
