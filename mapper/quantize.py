"""Quantise a network's weights to a chip's weight precision and report what it costs in accuracy.

Each connection gets one shared scale ``s`` (weight units per integer step, like Loihi's
per-synapse-group ``weight_exp``) and every stored weight becomes a signed integer mantissa::

    q_max = 2**(b - 1) - 1                      b = chip.core.weight_bits (sign included)
    s     = 2**ceil(log2(max|w| / q_max))       mode "pow2" (default): a power of two
    s     = max|w| / q_max                      mode "max": the exact range
    q     = clip(round(w / s), -q_max, q_max)   round half away from zero
    w_q   = q * s

With a scale chosen from the connection's own largest weight, ``|w / s| <= q_max`` and nothing
saturates; weights below ``s / 2`` become zero (the synapse disappears). A scale fixed by the
caller (``scales={name: s}``, e.g. one unit shared by all inputs of a population) can saturate:
weights with ``|round(w / s)| > q_max`` are clipped, which warns (:class:`SaturationWarning`) or,
with ``strict=True``, raises :class:`~neurosim.errors.NetworkError`.

Errors are reported per connection over its stored (non-zero) weights -- the synapses, or for a
convolution (:class:`~neurosim.conv.ConvWeights`) the kernel taps it shares: the largest and mean
relative error ``|w_q - w| / |w|`` (1.0 for a weight that became zero), the relative Frobenius
error ``||W_q - W||_F / ||W||_F``, and the number of weights that became zero or saturated.
In "pow2" mode one more bit halves the grid step and keeps the old grid points, so no weight's
error grows.

Chips with few weights per neuron (``chip.core.weight_levels_per_neuron = L``, TrueNorth: 4 axon
types, a crossbar bit selecting one of the neuron's four 9-bit weights) use the model
``"levels-per-neuron"`` instead of ``"per-synapse"``: the non-zero weights of every target neuron,
pooled over all connections into it, are replaced by at most ``L`` values chosen by 1-D k-means
(minimum squared error; exact dynamic programming over the sorted weights for up to
:data:`EXACT_KMEANS_MAX` weights, Lloyd's algorithm from quantile starts above), and those values
are rounded to signed ``b``-bit mantissas of one scale per target population (from the largest
value, so nothing saturates). It lets each neuron pick any of its ``L`` values per synapse, which
the chip allows only by giving an input up to ``L`` axons of different types (extra axons the
mapping does not count): an optimistic bound for the chip. Convolutions are expanded (each target
neuron sees its own taps) and come back as sparse matrices. :attr:`QuantizationReport.model` and
:attr:`QuantizationReport.description` say which model was used.

The result is a new :class:`~neurosim.ir.Network` with the de-quantised weights ``w_q`` (floats
on the chip's grid) that any backend can simulate, to measure what precision does to the
solution. Only :mod:`neurosim.ir` is used, never a backend.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvWeights
from neurosim.errors import ChipSpecError, NetworkError, describe
from neurosim.ir import Connection, Network

from .chipspec import ChipSpec

__all__ = ["quantize_network", "quantize_weights", "kmeans_1d", "levels_per_neuron", "QuantizationReport", "ConnectionQuantization",
           "SaturationWarning", "MODES", "MODELS", "EXACT_KMEANS_MAX"]

log = logging.getLogger(__name__)

MODES = ("pow2", "max")
MODELS = ("per-synapse", "levels-per-neuron")
EXACT_KMEANS_MAX = 512  # weights per neuron up to which k-means is solved exactly (time ~ k n^2)


class SaturationWarning(UserWarning):
    """Weights were clipped to the largest mantissa of the chip's weight precision."""


@dataclass(frozen=True)
class ConnectionQuantization:
    """What quantisation did to one connection (see the module docstring for the definitions)."""

    name: str
    n_synapses: int
    scale: float
    exponent: Optional[int]
    q_max: int
    max_abs_weight: float
    max_rel_error: float
    mean_rel_error: float
    rel_fro_error: float
    n_zeroed: int
    n_saturated: int


@dataclass(frozen=True)
class QuantizationReport:
    """Per-connection quantisation results for one network and chip.

    ``model`` is ``"per-synapse"`` (any value per synapse) or ``"levels-per-neuron"`` (at most
    ``levels_per_neuron`` distinct non-zero values per target neuron; ``max_levels_used`` is the
    most any neuron got); :attr:`description` says it in words.
    """

    chip: str
    weight_bits: int
    mode: str
    connections: tuple[ConnectionQuantization, ...]
    model: str = "per-synapse"
    levels_per_neuron: Optional[int] = None
    max_levels_used: Optional[int] = None

    @property
    def description(self) -> str:
        """One line saying which weight model the quantised network follows (for reports and the CLI)."""
        if self.model == "per-synapse":
            return (f"{self.weight_bits}-bit signed weights, any value per synapse, one {self.mode} scale per "
                    "connection")
        return (f"{self.weight_bits}-bit signed weights, at most {self.levels_per_neuron} distinct values per "
                f"target neuron (chip core.weight_levels_per_neuron, e.g. TrueNorth axon types; 1-D k-means per "
                f"neuron, one {self.mode} scale per target population); optimistic: any of a neuron's "
                f"{self.levels_per_neuron} values may be used on any synapse (on the chip that needs up to "
                f"{self.levels_per_neuron} axons of different types per input, not counted by the mapping)")

    @property
    def n_synapses(self) -> int:
        return sum(c.n_synapses for c in self.connections)

    @property
    def n_zeroed(self) -> int:
        return sum(c.n_zeroed for c in self.connections)

    @property
    def n_saturated(self) -> int:
        return sum(c.n_saturated for c in self.connections)

    @property
    def max_rel_error(self) -> float:
        return max((c.max_rel_error for c in self.connections), default=0.0)

    def connection(self, name: str) -> ConnectionQuantization:
        for c in self.connections:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict:
        """Plain JSON-ready data."""
        return {"chip": self.chip, "weight_bits": self.weight_bits, "mode": self.mode,
                "model": self.model, "levels_per_neuron": self.levels_per_neuron,
                "max_levels_used": self.max_levels_used, "description": self.description,
                "n_synapses": self.n_synapses, "n_zeroed": self.n_zeroed, "n_saturated": self.n_saturated,
                "max_rel_error": self.max_rel_error,
                "connections": [dataclasses.asdict(c) for c in self.connections]}


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def quantize_weights(w: np.ndarray, weight_bits: int, *, mode: str = "pow2",
                     scale: Optional[float] = None) -> tuple[np.ndarray, float, Optional[int], int]:
    """Quantise a vector of (non-zero) weights to signed ``weight_bits``-bit mantissas.

    Parameters
    ----------
    w : ndarray
        Weights, any shape.
    weight_bits : int
        Bits including sign (>= 2); mantissas lie in ``[-q_max, q_max]``, ``q_max = 2**(b-1) - 1``.
    mode : {"pow2", "max"}
        How the scale is chosen when ``scale`` is not given (module docstring).
    scale : float, optional
        A fixed scale (weight units per mantissa step).

    Returns
    -------
    w_q, scale, exponent, n_saturated
        The de-quantised weights ``q * scale``, the scale, ``log2(scale)`` in "pow2" mode (else
        None), and how many weights were clipped at ``+-q_max``.
    """
    q_max = 2 ** (int(weight_bits) - 1) - 1
    w = np.asarray(w, dtype=float)
    m = float(np.max(np.abs(w))) if w.size else 0.0
    exponent = None
    if scale is None:
        if m == 0.0:
            return w.copy(), 1.0, 0 if mode == "pow2" else None, 0
        if mode == "pow2":
            exponent = int(math.ceil(math.log2(m / q_max)))
            # guard against log2 round-off putting max|w| one step past q_max
            while m / 2.0 ** exponent > q_max:
                exponent += 1
            scale = 2.0 ** exponent
        else:
            scale = m / q_max
    q = _round_half_away(w / scale)
    n_sat = int(np.count_nonzero(np.abs(q) > q_max))
    q = np.clip(q, -q_max, q_max)
    return q * scale, float(scale), exponent, n_sat


def _stats(name: str, w: np.ndarray, wq: np.ndarray, *, scale: float, exponent: Optional[int], q_max: int,
           n_saturated: int) -> ConnectionQuantization:
    """Error statistics of stored weights ``w`` quantised to ``wq`` (module docstring)."""
    err = np.abs(wq - w)
    rel = err / np.abs(w) if w.size else err
    norm = float(np.linalg.norm(w))
    return ConnectionQuantization(
        name=name, n_synapses=int(w.size), scale=scale, exponent=exponent, q_max=q_max,
        max_abs_weight=float(np.max(np.abs(w))) if w.size else 0.0,
        max_rel_error=float(rel.max()) if w.size else 0.0,
        mean_rel_error=float(rel.mean()) if w.size else 0.0,
        rel_fro_error=float(np.linalg.norm(err) / norm) if norm > 0 else 0.0,
        n_zeroed=int(np.count_nonzero(wq == 0)), n_saturated=n_saturated)


def _quantize_connection(c: Connection, b: int, mode: str, scale: Optional[float]):
    if c.is_conv:  # quantise the shared kernel, the weights a convolutional core stores
        kernel = np.array(c.weights.kernel, dtype=float)
        nz = kernel != 0
        w = kernel[nz]
    elif c.is_sparse:
        m = c.weights.copy()
        w = m.data
    else:
        dense = np.array(c.weights, dtype=float)
        nz = dense != 0
        w = dense[nz]
    wq, s, e, n_sat = quantize_weights(w, b, mode=mode, scale=scale)
    stats = _stats(c.name, w, wq, scale=s, exponent=e, q_max=2 ** (b - 1) - 1, n_saturated=n_sat)
    if c.is_conv:
        kernel[nz] = wq
        cw = c.weights  # a new object, not dataclasses.replace: that would share the expansion cache
        new_w = ConvWeights(kernel=kernel, in_shape=cw.in_shape, stride=cw.stride, padding=cw.padding)
    elif c.is_sparse:
        m.data = wq
        m.eliminate_zeros()
        new_w = m
    else:
        dense[nz] = wq
        new_w = dense
    return dataclasses.replace(c, weights=new_w), stats


def kmeans_1d(x: np.ndarray, k: int, *, free_zero: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Approximate the values ``x`` by at most ``k`` values (centers), minimising the squared error.

    The cells of 1-D k-means are runs of the sorted values, so up to :data:`EXACT_KMEANS_MAX`
    values the optimum is found by dynamic programming over the sorted values (cost of a run from
    prefix sums: ``sum x^2 - (sum x)^2 / count``); above, Lloyd's algorithm runs from the
    ``(2i+1)/2k`` quantiles (a local optimum).

    Parameters
    ----------
    x : ndarray, shape (n,)
    k : int
        Largest number of free centers (>= 1). With at most ``k`` distinct values each is its own center.
    free_zero : bool
        Also offer the center 0, which does not count against ``k`` (a weight approximated by 0
        is no synapse: on a crossbar chip it costs no weight level). A run assigned to it costs
        ``sum x^2``.

    Returns
    -------
    centers, labels
        ``centers`` (ascending; at most ``k`` free ones plus, with ``free_zero``, possibly 0.0)
        and ``labels`` with ``x`` approximated by ``centers[labels]``.
    """
    x = np.asarray(x, dtype=float).ravel()
    if k < 1:
        raise ValueError(f"kmeans_1d: k must be >= 1 (got {k})")
    uniq, inv = np.unique(x, return_inverse=True)
    if uniq.size <= k:
        return uniq, inv.reshape(-1)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    n = xs.size
    zero_run = np.zeros(n, dtype=bool)  # per sorted value: assigned to the fixed center 0
    if n <= EXACT_KMEANS_MAX:
        runs, zero_runs = _kmeans_dp(xs, k, free_zero)
        lab_sorted = np.empty(n, dtype=np.int64)
        for r, (q, p) in enumerate(runs):
            lab_sorted[q:p] = r
        for q, p in zero_runs:
            zero_run[q:p] = True
            lab_sorted[q:p] = -1
    else:
        c = np.unique(xs[((2 * np.arange(k) + 1) * n) // (2 * k)])
        lab_sorted = None
        for _ in range(100):
            cc = np.concatenate((c, [0.0])) if free_zero else c
            srt = np.argsort(cc, kind="stable")
            near = srt[np.searchsorted((cc[srt][1:] + cc[srt][:-1]) / 2.0, xs, side="right")]
            new = np.where(near == c.size, -1, near)
            if lab_sorted is not None and np.array_equal(new, lab_sorted):
                break
            lab_sorted = new
            ok = lab_sorted >= 0
            sums = np.bincount(lab_sorted[ok], weights=xs[ok], minlength=c.size)
            cnts = np.bincount(lab_sorted[ok], minlength=c.size)
            c = np.where(cnts > 0, sums / np.maximum(cnts, 1), c)
        zero_run = lab_sorted < 0
    free = ~zero_run
    _, lab_free = np.unique(lab_sorted[free], return_inverse=True)  # drop empty clusters
    centers = np.bincount(lab_free, weights=xs[free]) / np.bincount(lab_free) if lab_free.size else np.zeros(0)
    approx = np.zeros(n)
    approx[free] = centers[lab_free]
    centers, lab_sorted = np.unique(approx, return_inverse=True)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = lab_sorted.reshape(-1)
    return centers, labels


def _kmeans_dp(xs: np.ndarray, k: int, free_zero: bool) -> tuple[list, list]:
    """Optimal runs of the sorted values ``xs``: (start, stop) of each free cluster and of each run
    assigned to the fixed center 0 (at most one). ``D0[m][p]``: least error of the first ``p``
    values with ``m`` free clusters and no zero run; ``D1``: with the zero run among them."""
    n = xs.size
    s1 = np.concatenate(([0.0], np.cumsum(xs)))
    s2 = np.concatenate(([0.0], np.cumsum(xs * xs)))
    q = np.arange(n + 1)[:, None]
    p = np.arange(n + 1)[None, :]
    valid = p > q
    cnt = np.where(valid, p - q, 1)
    seg = s1[p] - s1[q]
    sq = s2[p] - s2[q]
    cost = np.where(valid, np.maximum(sq - seg * seg / cnt, 0.0), np.inf)  # run q..p-1 around its mean
    zcost = np.where(valid, np.maximum(sq, 0.0), np.inf)                 # run q..p-1 set to 0
    cols = np.arange(n + 1)
    inf = np.full(n + 1, np.inf)
    d0 = [np.where(cols == 0, 0.0, np.inf)]
    d1 = [inf.copy()]
    a0, a1, b1, use_reg = [None], [None], [None], [None]
    if free_zero:
        cand = d0[0][:, None] + zcost
        b1[0] = np.argmin(cand, axis=0)
        d1[0] = cand[b1[0], cols]
        use_reg[0] = np.zeros(n + 1, dtype=bool)
    for m in range(1, k + 1):
        cand = d0[m - 1][:, None] + cost
        a0.append(np.argmin(cand, axis=0))
        d0.append(cand[a0[m], cols])
        if free_zero:
            cr = d1[m - 1][:, None] + cost
            a1.append(np.argmin(cr, axis=0))
            vr = cr[a1[m], cols]
            cz = d0[m][:, None] + zcost
            b1.append(np.argmin(cz, axis=0))
            vz = cz[b1[m], cols]
            use_reg.append(vr <= vz)
            d1.append(np.minimum(vr, vz))
        else:
            a1.append(None), b1.append(None), use_reg.append(None)
            d1.append(inf)
    best = min(((d0[m][n], m, 0) for m in range(k + 1)), key=lambda t: t[0])
    if free_zero:
        best = min(best, min(((d1[m][n], m, 1) for m in range(k + 1)), key=lambda t: t[0]), key=lambda t: t[0])
    _, m, z = best
    runs, zero_runs, end = [], [], n
    while end > 0:
        if z == 0:
            start = int(a0[m][end])
            runs.append((start, end))
            m -= 1
        elif m > 0 and use_reg[m][end]:
            start = int(a1[m][end])
            runs.append((start, end))
            m -= 1
        else:
            start = int(b1[m][end])
            zero_runs.append((start, end))
            z = 0
        end = start
    return runs[::-1], zero_runs


def levels_per_neuron(network: Network) -> dict[str, np.ndarray]:
    """Distinct non-zero weight values each neuron receives over all its incoming connections.

    Returns ``{population: counts}`` (``counts`` of shape ``(size,)``) for every population that
    is the target of a connection; compare with ``chip.core.weight_levels_per_neuron``.
    """
    out = {}
    for post in dict.fromkeys(c.post for c in network.connections):
        a = sp.csr_matrix(sp.hstack([c.csr() for c in network.connections if c.post == post], format="csr"),
                          dtype=float, copy=True)
        a.sum_duplicates()
        a.eliminate_zeros()
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        order = np.lexsort((a.data, rows))
        r, v = rows[order], a.data[order]
        first = np.ones(r.size, dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (v[1:] != v[:-1])
        out[post] = np.bincount(r[first], minlength=a.shape[0])
    return out


def _scale_for(m: float, q_max: int, mode: str) -> tuple[float, Optional[int]]:
    """The scale :func:`quantize_weights` chooses for largest magnitude ``m`` (> 0)."""
    if mode == "pow2":
        e = int(math.ceil(math.log2(m / q_max)))
        while m / 2.0 ** e > q_max:
            e += 1
        return 2.0 ** e, e
    return m / q_max, None


def _quantize_levels(network: Network, b: int, levels: int, mode: str, scales: dict[str, float]):
    """The "levels-per-neuron" model (module docstring): per target population, pool the non-zero
    weights of each target neuron over its incoming connections, keep at most ``levels`` values
    (1-D k-means), round them to ``b``-bit mantissas of one population scale.

    Returns the new connections by name, their stats by name, and the largest number of distinct
    non-zero quantised values any neuron receives."""
    q_max = 2 ** (b - 1) - 1
    new_w, stats, most = {}, {}, 0
    for post in dict.fromkeys(c.post for c in network.connections):
        conns = [c for c in network.connections if c.post == post]
        fixed = {scales[c.name] for c in conns if c.name in scales}
        if fixed and (len(fixed) > 1 or len([c for c in conns if c.name in scales]) != len(conns)):
            raise NetworkError(describe("population", post, "connections into one population share one scale when "
                                        "the chip limits weights per neuron: give the same scale for all of them or "
                                        "none", got={c.name: scales.get(c.name) for c in conns},
                                        expected="one scale for all or none"))
        mats = [c.csr() for c in conns]  # read only (a sparse connection's own matrix)
        a = sp.csr_matrix(sp.hstack(mats, format="csr"), dtype=float, copy=True)
        a.sum_duplicates()
        a.eliminate_zeros()
        raw_c = np.zeros(a.nnz)       # the k-means value of every synapse, before rounding
        for r in range(a.shape[0]):
            lo, hi = a.indptr[r], a.indptr[r + 1]
            if hi > lo:
                cen, lab = kmeans_1d(a.data[lo:hi], levels, free_zero=True)
                raw_c[lo:hi] = cen[lab]
        peak = float(np.max(np.abs(raw_c))) if raw_c.size else 0.0
        if fixed:
            scale, expo = float(next(iter(fixed))), None
        elif peak > 0.0:
            scale, expo = _scale_for(peak, q_max, mode)
        else:
            scale, expo = 1.0, (0 if mode == "pow2" else None)
        qv = _round_half_away(raw_c / scale)
        sat = np.abs(qv) > q_max
        centers_q = np.clip(qv, -q_max, q_max) * scale
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        for r in range(a.shape[0]):  # distinct non-zero values per target neuron after rounding
            v = centers_q[a.indptr[r]:a.indptr[r + 1]]
            v = v[v != 0]
            if v.size:
                most = max(most, int(np.unique(v).size))
        off = 0
        for c, m in zip(conns, mats):
            mask = (a.indices >= off) & (a.indices < off + m.shape[1])
            w, wqd = a.data[mask], centers_q[mask]
            stats[c.name] = _stats(c.name, w, wqd, scale=float(scale), exponent=expo, q_max=q_max,
                                   n_saturated=int(np.count_nonzero(sat[mask])))
            keep = wqd != 0
            wq = sp.csr_matrix((wqd[keep], (rows[mask][keep], a.indices[mask][keep] - off)), shape=m.shape)
            # sparse stays sparse; a convolution comes back expanded (each neuron has its own values)
            new_w[c.name] = wq if c.is_sparse else wq.toarray()
            off += m.shape[1]
    return new_w, stats, most


def quantize_network(network: Network, chip: ChipSpec, *, strict: bool = False, mode: str = "pow2",
                     scales: Optional[dict[str, float]] = None) -> tuple[Network, QuantizationReport]:
    """Round every connection's weights to ``chip.core.weight_bits`` (signed, shared scale).

    On a chip with ``core.weight_levels_per_neuron`` (TrueNorth) the "levels-per-neuron" model
    applies (module docstring): each target neuron keeps at most that many distinct non-zero
    values over all its inputs, and all connections into a population share one scale.

    Parameters
    ----------
    network : Network
        Validated first; not modified.
    chip : ChipSpec
        Supplies ``core.weight_bits`` (>= 2) and ``core.weight_levels_per_neuron``.
    strict : bool
        Raise :class:`~neurosim.errors.NetworkError` on saturation instead of warning.
    mode : {"pow2", "max"}
        Scale choice: power of two (Loihi-like exponent, default) or exact ``max|w| / q_max``.
    scales : dict, optional
        Fixed scale per connection name (weight units per mantissa step); others use ``mode``.
        Under "levels-per-neuron", all connections into one population need the same scale or none.

    Returns
    -------
    (Network, QuantizationReport)
        A new network with de-quantised weights, and the per-connection report
        (:attr:`QuantizationReport.model` and :attr:`~QuantizationReport.description` name the model).
    """
    network.validate()
    b = chip.core.weight_bits
    if b < 2:
        raise ChipSpecError(chip.source, "core.weight_bits", "signed quantisation needs a sign bit and a magnitude bit",
                            got=b, expected=">= 2")
    if mode not in MODES:
        raise NetworkError(describe("quantize", network.name, "unknown mode", got=repr(mode), expected=MODES))
    scales = dict(scales or {})
    names = {c.name for c in network.connections}
    for name, s in scales.items():
        if name not in names:
            raise NetworkError(describe("quantize", network.name, "scale given for an unknown connection",
                                        got=repr(name), expected=sorted(names)))
        if isinstance(s, bool) or not isinstance(s, (int, float, np.floating)) or not (math.isfinite(s) and s > 0):
            raise NetworkError(describe("quantize", name, "scale must be a finite number > 0", got=s, expected="> 0"))
    levels = chip.core.weight_levels_per_neuron
    model = "per-synapse" if levels is None else "levels-per-neuron"
    if levels is not None:
        lw, lstats, most = _quantize_levels(network, b, int(levels), mode, scales)
    new_conns, stats = [], []
    for c in network.connections:
        if levels is None:
            nc, st = _quantize_connection(c, b, mode, scales.get(c.name))
        else:
            nc, st = dataclasses.replace(c, weights=lw[c.name]), lstats[c.name]
        new_conns.append(nc)
        stats.append(st)
        if st.n_saturated:
            msg = describe("connection", c.name, f"{st.n_saturated} of {st.n_synapses} weights saturated at "
                           f"+-{st.q_max} x {st.scale:g} ({b}-bit weights of chip {chip.name})",
                           got=f"max |w| = {st.max_abs_weight:g}", expected=f"<= {st.q_max * st.scale:g}")
            if strict:
                raise NetworkError(msg)
            warnings.warn(msg, SaturationWarning, stacklevel=2)
    report = QuantizationReport(chip=chip.name, weight_bits=b, mode=mode, connections=tuple(stats), model=model,
                                levels_per_neuron=levels, max_levels_used=None if levels is None else most)
    log.info("quantised %d synapses of '%s' (%s): %d zeroed, %d saturated, max rel. error %.3g",
             report.n_synapses, network.name, report.description, report.n_zeroed, report.n_saturated,
             report.max_rel_error)
    out = Network(name=network.name, populations=list(network.populations), connections=new_conns,
                  inputs=list(network.inputs), probes=list(network.probes), signals=dict(network.signals))
    return out, report
