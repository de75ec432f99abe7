"""Synaptic delivery kernels of the numpy engine.

A compiled connection turns the pre-synaptic outputs of one step, ``out`` of shape
``(batch, n_pre)`` (booleans for spikes, floats for graded outputs), into the post-synaptic
contribution ``out @ W.T`` of shape ``(batch, n_post)``, each row already multiplied by the post
population's input scale (``dt / tau_s`` for spiking targets, whose engine state is ``dt * i``).

Two strategies, chosen per step from the number of events ``k`` (non-zero outputs):

* **event-driven** -- gather the weight rows of the ``k`` sources that fired and accumulate
  them per batch row (``O(k * fan_out)``), used when ``k`` is small;
* **dense** -- one BLAS / sparse matrix product (``O(batch * n_pre * n_post)`` dense,
  ``O(batch * nnz)`` sparse), used when many sources fire.

The switch point is ``event_fraction``: event-driven while ``k < event_fraction * batch * n_pre``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

try:  # C kernels behind scipy.sparse products and row indexing; private but stable for many releases
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
    from scipy.sparse._sparsetools import csr_row_index as _csr_row_index
except ImportError:  # pragma: no cover - depends on scipy internals
    _csr_matvecs = _csc_matvec = _csr_row_index = None

log = logging.getLogger(__name__)

__all__ = ["CompiledConnection", "compile_connection"]

#: event-driven delivery while events < EVENT_FRACTION * batch * n_pre (measured: gathers beat
#: BLAS below roughly 5-10 % activity on 1024x1024 float64 weights with one core)
EVENT_FRACTION_DENSE = 0.05
EVENT_FRACTION_SPARSE = 0.25


@dataclass
class CompiledConnection:
    """A connection prepared for delivery.

    Attributes
    ----------
    name, pre, post : str
    delay : int
        Delay in steps (>= 1).
    wt : ndarray (n_pre, n_post) or None
        Dense transposed weights, scaled by ``1/tau_s`` of the post neurons if spiking.
    wt_csr : csr_matrix (n_pre, n_post) or None
        Sparse transposed weights (rows = sources), same scaling.
    w_csr : csr_matrix (n_post, n_pre) or None
        Sparse weights for the dense-activity path.
    gain : Gain or None
    """

    name: str
    pre: str
    post: str
    delay: int
    n_pre: int
    n_post: int
    wt: Optional[np.ndarray]
    wt_csr: Optional[sp.csr_matrix]
    w_csr: Optional[sp.csr_matrix]
    gain: object
    event_fraction: float
    receptor: int = 0

    def deliver(self, out: np.ndarray, flat_events: np.ndarray, acc: np.ndarray, scale: float) -> None:
        """Add ``scale * out @ W.T`` into ``acc`` (batch, n_post).

        ``flat_events`` are the flat indices of the non-zero entries of ``out`` (row-major),
        computed once per step by the engine and shared by all connections from ``pre``.
        """
        k = flat_events.size
        if k == 0 or scale == 0.0:
            return
        batch = out.shape[0]
        graded = out.dtype != np.bool_
        if k < self.event_fraction * batch * self.n_pre:
            self._deliver_events(out, flat_events, acc, scale, graded)
        else:
            self._deliver_dense(out, acc, scale, graded)

    # -- strategies ---------------------------------------------------------------------------
    def _deliver_events(self, out, flat_events, acc, scale, graded) -> None:
        batch = out.shape[0]
        b, j = np.divmod(flat_events, self.n_pre)
        vals = out.ravel()[flat_events].astype(acc.dtype) if graded else None
        if self.wt is not None:
            if batch == 1:
                rows = self.wt[j]
                contrib = (vals @ rows) if graded else rows.sum(axis=0)
                if scale != 1.0:
                    contrib *= scale
                acc[0] += contrib
                return
            if _csr_matvecs is not None and self.wt.dtype == acc.dtype:
                indptr = np.searchsorted(b, np.arange(batch + 1))
                data = vals if graded else np.ones(j.size, dtype=acc.dtype)
                if scale != 1.0:
                    data = data * scale
                _csr_matvecs(batch, self.n_pre, self.n_post, indptr, j, data, self.wt.ravel(), acc.ravel())
                return
            rows = self.wt[j]
            if graded:
                rows = rows * vals[:, None]
            ub, starts = np.unique(b, return_index=True)
            acc[ub] += scale * np.add.reduceat(rows, starts, axis=0)
            return
        # sparse weights: gather the CSR rows of the sources that fired, then scatter-add them
        m = self.wt_csr
        lengths = m.indptr[j + 1] - m.indptr[j]
        if _csr_row_index is not None and m.data.dtype == acc.dtype:
            ptr = np.empty(j.size + 1, dtype=m.indptr.dtype)
            ptr[0] = 0
            np.cumsum(lengths, out=ptr[1:])
            total = int(ptr[-1])
            if total == 0:
                return
            cols = np.empty(total, dtype=m.indices.dtype)
            w = np.empty(total, dtype=m.data.dtype)
            _csr_row_index(j.size, j.astype(m.indices.dtype), m.indptr, m.indices, m.data, cols, w)
            if batch > 1:
                cols = cols.astype(np.int64) + np.repeat(b * self.n_post, lengths)
                ptr = ptr.astype(np.int64)
            x = vals * scale if graded else np.full(j.size, scale, dtype=acc.dtype)
            # column-compressed scatter: acc[cols[t]] += w[t] * x[source of t]
            _csc_matvec(batch * self.n_post, j.size, ptr, cols, w, x.astype(acc.dtype, copy=False), acc.reshape(-1))
            return
        total = int(lengths.sum())
        if total == 0:
            return
        lo = m.indptr[j]
        offsets = np.cumsum(lengths) - lengths
        pos = np.repeat(lo - offsets, lengths) + np.arange(total)
        targets = np.repeat(b * self.n_post, lengths) + m.indices[pos]
        w = m.data[pos]
        if graded:
            w = w * np.repeat(vals, lengths)
        if scale != 1.0:
            w = w * scale
        np.add.at(acc.reshape(-1), targets, w)

    def _deliver_dense(self, out, acc, scale, graded) -> None:
        x = out.astype(acc.dtype, copy=False) if graded else out.astype(acc.dtype)
        if self.wt is not None:
            contrib = x @ self.wt
        else:
            contrib = (self.w_csr @ x.T).T
        if scale != 1.0:
            contrib *= scale
        acc += contrib


def compile_connection(conn, *, n_pre: int, n_post: int, post_scale: Optional[np.ndarray], dtype: np.dtype,
                       event_fraction: Optional[float] = None) -> CompiledConnection:
    """Prepare ``conn`` (a :class:`neurosim.ir.Connection`) for delivery.

    ``post_scale`` (``(n_post,)``) multiplies each row of the weights: ``dt / tau_s`` for
    spiking targets (the engine keeps ``dt * i``, and a spike adds ``w / tau_s`` to ``i``), or
    ``None`` for graded targets (input delivered unscaled).
    """
    scale = post_scale
    if conn.is_sparse:
        w = conn.csr().astype(dtype)
        if scale is not None:
            w = sp.csr_matrix(sp.diags(scale.astype(dtype)) @ w)
        w.sort_indices()
        wt_csr = sp.csr_matrix(w.T)
        wt_csr.sort_indices()
        frac = EVENT_FRACTION_SPARSE if event_fraction is None else event_fraction
        return CompiledConnection(conn.name, conn.pre, conn.post, int(conn.delay_steps), n_pre, n_post,
                                  None, wt_csr, w, conn.gain, frac)
    w = np.asarray(conn.weights, dtype=dtype)
    if scale is not None:
        w = w * scale[:, None].astype(dtype)
    wt = np.ascontiguousarray(w.T)
    frac = EVENT_FRACTION_DENSE if event_fraction is None else event_fraction
    return CompiledConnection(conn.name, conn.pre, conn.post, int(conn.delay_steps), n_pre, n_post,
                              wt, None, None, conn.gain, frac)
