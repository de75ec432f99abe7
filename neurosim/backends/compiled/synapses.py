"""Connection tables of the compiled engine: the weight rows of every source neuron, flat arrays.

A connection delivers the events of its pre-synaptic population into the receptor slots of its
post-synaptic population. Its weights are stored **by source** (rows of ``W^T``) so that an event
of neuron ``j`` reads exactly the synapses of ``j``:

* sparse (``scipy.sparse``, convolutions, and every plastic connection) -- CSR of ``W^T``: row
  ``j`` holds the post indices ``indices[indptr[j]:indptr[j+1]]`` and weights ``data[...]``;
* dense -- the dense row ``W^T[j]`` (``n_post`` values) read contiguously (the graded outputs of
  analog LCA are delivered this way: few active rows, each one dense row).

Weights are pre-scaled by the post slot's input scale (``dt / tau_r`` for a LIF receptor, 1 for a
graded target: the engine state holds ``dt * i_r``), in the run's dtype. All connections are
concatenated into one set of flat arrays; ``ptr_off[c]`` / ``dense_off[c]`` locate a connection's
part. A plastic connection keeps its structure (every stored synapse, zero or not) and, beside
the scaled copy, its unscaled model weights (``model``, from ``model_off[c]``: what a learning rule
reads and writes) and a post-major index (``post_ptr`` from ``post_off[c]``; entry ``k`` names the
flat position ``post_syn[k]`` and the source ``post_pre[k]`` of a synapse of post neuron ``i``).
"""
from __future__ import annotations

import dataclasses
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurosim.backends.compiled.layout import Layout
from neurosim.errors import NetworkError, describe
from neurosim.ir import Connection, Network, receptor_index

__all__ = ["KIND_DENSE", "KIND_SPARSE", "Conns", "SynapseTable", "Weights", "build_synapses"]

KIND_SPARSE, KIND_DENSE = 0, 1

#: per-connection integers (length C) and the run-time gains (float64)
Conns = namedtuple("Conns", "pre post delay kind rbase n_pre n_post ptr_off dense_off plastic model_off post_off gain")
#: flat weight storage shared by all connections
Weights = namedtuple("Weights", "indptr indices data dense model post_ptr post_syn post_pre")


@dataclass
class SynapseTable:
    """The connection tables of a network (see the module docstring)."""

    conns: Conns
    weights: Weights
    names: list[str]
    max_delay: int

    def nnz(self, c: int) -> tuple[int, int]:
        """Flat range ``(lo, hi)`` of sparse connection ``c``'s synapses."""
        lo = int(self.conns.ptr_off[c])
        n_pre = int(self.conns.n_pre[c])
        return int(self.weights.indptr[lo]), int(self.weights.indptr[lo + n_pre])


def _source_rows(conn: Connection) -> sp.csr_matrix:
    """``W^T`` (rows = sources) as CSR with sorted indices; a plastic connection keeps every stored
    synapse, zero or not."""
    if conn.plastic and not conn.is_sparse:
        rows, cols = np.nonzero(conn.structure())
        w = sp.csr_matrix((np.asarray(conn.weights, dtype=np.float64)[rows, cols], (rows, cols)), shape=conn.shape)
    elif conn.plastic:
        w = sp.csr_matrix(conn.csr(), dtype=np.float64, copy=True)
    else:
        w = conn.csr()
    wt = sp.csr_matrix(w.T)
    wt.sort_indices()
    return wt


def build_synapses(network: Network, layout: Layout, *,
                   weights_override: dict[str, object] | None = None) -> SynapseTable:
    """Tables of every connection of ``network``; ``weights_override`` maps connection names to
    weights replacing the IR's (as :meth:`CompiledSimulator.set_weights` passes them)."""
    dtype = layout.dtype
    pops = layout.pops
    C = len(network.connections)
    ints = {k: np.zeros(C, np.int64) for k in Conns._fields if k != "gain"}
    indptr, indices, data, dense, model, post_ptr, post_syn, post_pre = ([] for _ in range(8))
    n_ptr = n_nnz = n_dense = n_model = n_post_ptr = 0
    for c, conn in enumerate(network.connections):
        if weights_override and conn.name in weights_override:
            conn = dataclasses.replace(conn, weights=weights_override[conn.name])
        pre, post = layout.index(conn.pre), layout.index(conn.post)
        n_pre, n_post = int(pops.size[pre]), int(pops.size[post])
        r = receptor_index(conn.receptor, network.population(conn.post).model)
        slot0 = int(pops.roff[post] + r * n_post)
        scale = layout.params.input_scale[slot0:slot0 + n_post]
        for key, value in (("pre", pre), ("post", post), ("delay", conn.delay_steps), ("rbase", slot0),
                           ("n_pre", n_pre), ("n_post", n_post), ("plastic", int(conn.plastic))):
            ints[key][c] = int(value)
        if conn.is_sparse or conn.plastic:
            wt = _source_rows(conn)
            if n_post >= 2 ** 31:
                raise NetworkError(describe("connection", conn.name, "too many post-synaptic neurons", got=n_post,
                                            expected="< 2**31"))
            ints["kind"][c], ints["ptr_off"][c] = KIND_SPARSE, n_ptr
            indptr.append(wt.indptr.astype(np.int64) + n_nnz)
            indices.append(wt.indices.astype(np.int32))
            w_model = wt.data.astype(dtype)
            data.append((w_model * scale[wt.indices]).astype(dtype))
            if conn.plastic:
                ints["model_off"][c] = n_model
                model.append(w_model)
                n_model += wt.nnz
                by_post = sp.csr_matrix((np.arange(1, wt.nnz + 1, dtype=np.float64), wt.indices, wt.indptr),
                                        shape=wt.shape).T.tocsr()
                by_post.sort_indices()
                ints["post_off"][c] = n_post_ptr
                post_ptr.append(by_post.indptr.astype(np.int64) + sum(len(x) for x in post_syn))
                post_syn.append(by_post.data.astype(np.int64) - 1 + n_nnz)
                post_pre.append(by_post.indices.astype(np.int32))
                n_post_ptr += n_post + 1
            n_ptr += n_pre + 1
            n_nnz += wt.nnz
        else:
            w = np.asarray(conn.weights, dtype=dtype)
            wts = np.ascontiguousarray((w * scale[:, None].astype(dtype)).T)
            ints["kind"][c], ints["dense_off"][c] = KIND_DENSE, n_dense
            dense.append(wts.reshape(-1))
            n_dense += wts.size

    def cat(parts, dt):
        return np.concatenate(parts).astype(dt, copy=False) if parts else np.zeros(0, dt)

    weights = Weights(cat(indptr, np.int64), cat(indices, np.int32), cat(data, dtype), cat(dense, dtype),
                      cat(model, dtype), cat(post_ptr, np.int64), cat(post_syn, np.int64), cat(post_pre, np.int32))
    conns = Conns(**ints, gain=np.ones(C))
    max_delay = int(ints["delay"].max()) if C else 1
    return SynapseTable(conns, weights, [c.name for c in network.connections], max(max_delay, 1))
