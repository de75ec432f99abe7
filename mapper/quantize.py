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

from neurosim.conv import ConvWeights
from neurosim.errors import ChipSpecError, NetworkError, describe
from neurosim.ir import Connection, Network

from .chipspec import ChipSpec

__all__ = ["quantize_network", "quantize_weights", "QuantizationReport", "ConnectionQuantization",
           "SaturationWarning", "MODES"]

log = logging.getLogger(__name__)

MODES = ("pow2", "max")


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
    """Per-connection quantisation results for one network and chip."""

    chip: str
    weight_bits: int
    mode: str
    connections: tuple[ConnectionQuantization, ...]

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
    err = np.abs(wq - w)
    rel = err / np.abs(w) if w.size else err
    norm = float(np.linalg.norm(w))
    stats = ConnectionQuantization(
        name=c.name, n_synapses=int(w.size), scale=s, exponent=e, q_max=2 ** (b - 1) - 1,
        max_abs_weight=float(np.max(np.abs(w))) if w.size else 0.0,
        max_rel_error=float(rel.max()) if w.size else 0.0,
        mean_rel_error=float(rel.mean()) if w.size else 0.0,
        rel_fro_error=float(np.linalg.norm(err) / norm) if norm > 0 else 0.0,
        n_zeroed=int(np.count_nonzero(wq == 0)), n_saturated=n_sat)
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


def quantize_network(network: Network, chip: ChipSpec, *, strict: bool = False, mode: str = "pow2",
                     scales: Optional[dict[str, float]] = None) -> tuple[Network, QuantizationReport]:
    """Round every connection's weights to ``chip.core.weight_bits`` (signed, shared scale).

    Parameters
    ----------
    network : Network
        Validated first; not modified.
    chip : ChipSpec
        Supplies ``core.weight_bits`` (>= 2).
    strict : bool
        Raise :class:`~neurosim.errors.NetworkError` on saturation instead of warning.
    mode : {"pow2", "max"}
        Scale choice: power of two (Loihi-like exponent, default) or exact ``max|w| / q_max``.
    scales : dict, optional
        Fixed scale per connection name (weight units per mantissa step); others use ``mode``.

    Returns
    -------
    (Network, QuantizationReport)
        A new network with de-quantised weights, and the per-connection report.
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
    new_conns, stats = [], []
    for c in network.connections:
        nc, st = _quantize_connection(c, b, mode, scales.get(c.name))
        new_conns.append(nc)
        stats.append(st)
        if st.n_saturated:
            msg = describe("connection", c.name, f"{st.n_saturated} of {st.n_synapses} weights saturated at "
                           f"+-{st.q_max} x {st.scale:g} ({b}-bit weights of chip {chip.name})",
                           got=f"max |w| = {st.max_abs_weight:g}", expected=f"<= {st.q_max * st.scale:g}")
            if strict:
                raise NetworkError(msg)
            warnings.warn(msg, SaturationWarning, stacklevel=2)
    report = QuantizationReport(chip=chip.name, weight_bits=b, mode=mode, connections=tuple(stats))
    log.info("quantised %d synapses of '%s' to %d bits: %d zeroed, %d saturated, max rel. error %.3g",
             report.n_synapses, network.name, b, report.n_zeroed, report.n_saturated, report.max_rel_error)
    out = Network(name=network.name, populations=list(network.populations), connections=new_conns,
                  inputs=list(network.inputs), probes=list(network.probes), signals=dict(network.signals))
    return out, report
