"""Convolutional connectivity stored compactly.

:class:`ConvWeights` describes a 2-D multi-channel cross-correlation between neuron maps. It is
what a convolutional sparse-coding layer's feedforward and lateral connections look like, and it
is stored as its kernel; :meth:`ConvWeights.to_csr` expands it into explicit synapses only where
a consumer needs them (a backend compiling it, or the mapper counting one fragment's synapses).

Pre neurons are the input map ``(C_in, H, W)`` flattened in C order (channel, row, column);
post neurons the output map ``(C_out, H_out, W_out)`` likewise, with

    H_out = (H + 2 p - kh) // stride + 1,   W_out = (W + 2 p - kw) // stride + 1
    post[o, y, x] receives  sum_{c, dy, dx} kernel[o, c, dy, dx] * pre[c, y*stride + dy - p, x*stride + dx - p]

(taps that fall outside the input, i.e. into the zero padding, are no synapse). A zero tap is
no synapse either, unless ``zero_taps`` is set: hardware that stores the whole kernel (SANA-FE's
``conv2d`` edges) keeps, and charges, a synapse for every tap inside the input whatever its weight.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import scipy.sparse as sp

from neurosim.errors import NetworkError, describe

__all__ = ["ConvWeights"]


@dataclass(frozen=True, eq=False)
class ConvWeights:
    """A 2-D cross-correlation as a weight matrix of shape ``(n_post, n_pre)``.

    Parameters
    ----------
    kernel : ndarray, shape (C_out, C_in, kh, kw)
        Weights; zero taps are no synapse.
    in_shape : tuple (C_in, H, W)
        Shape of the pre-synaptic neuron map.
    stride : int
        Step of the output grid over the input (>= 1).
    padding : int
        Zero padding on each side (>= 0).
    zero_taps : bool
        Zero taps are synapses too (stored with weight 0; the mapper counts them).
    """

    kernel: np.ndarray
    in_shape: tuple[int, int, int]
    stride: int = 1
    padding: int = 0
    zero_taps: bool = False
    _csr: list = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        k = np.asarray(self.kernel, dtype=float)
        if k.ndim != 4:
            raise NetworkError(describe("conv weights", "kernel", "must be 4-D (C_out, C_in, kh, kw)", got=k.shape))
        if not np.all(np.isfinite(k)):
            raise NetworkError(describe("conv weights", "kernel", "contains NaN or inf", expected="finite"))
        object.__setattr__(self, "kernel", k)
        shape = tuple(int(v) for v in self.in_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise NetworkError(describe("conv weights", "in_shape", "must be (C_in, H, W) positive", got=self.in_shape))
        object.__setattr__(self, "in_shape", shape)
        if shape[0] != k.shape[1]:
            raise NetworkError(describe("conv weights", "kernel", "input channels do not match in_shape",
                                        got=k.shape[1], expected=shape[0]))
        if int(self.stride) < 1 or int(self.padding) < 0:
            raise NetworkError(describe("conv weights", "stride/padding", "invalid", got=(self.stride, self.padding),
                                        expected="stride >= 1, padding >= 0"))
        h_out, w_out = self.out_shape[1:]
        if h_out < 1 or w_out < 1:
            raise NetworkError(describe("conv weights", "kernel", "larger than the padded input",
                                        got=k.shape[2:], expected=f"<= {(shape[1] + 2 * self.padding, shape[2] + 2 * self.padding)}"))

    # -- geometry ------------------------------------------------------------------------------
    @property
    def out_shape(self) -> tuple[int, int, int]:
        c_out, _, kh, kw = self.kernel.shape
        _, h, w = self.in_shape
        p, s = int(self.padding), int(self.stride)
        return c_out, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1

    @property
    def shape(self) -> tuple[int, int]:
        return int(np.prod(self.out_shape)), int(np.prod(self.in_shape))

    @property
    def ndim(self) -> int:
        return 2

    # -- expansion -----------------------------------------------------------------------------
    def to_csr(self, rows: Optional[np.ndarray] = None) -> sp.csr_matrix:
        """Explicit synapses ``(n_post, n_pre)``; with ``rows`` only those post neurons (the
        result then has ``len(rows)`` rows). The full matrix is cached."""
        if rows is None and self._csr:
            return self._csr[0]
        c_out, c_in, kh, kw = self.kernel.shape
        _, h, w = self.in_shape
        _, h_out, w_out = self.out_shape
        post = np.arange(self.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        o, rem = np.divmod(post, h_out * w_out)
        y, x = np.divmod(rem, w_out)
        s, p = int(self.stride), int(self.padding)
        taps_c, taps_dy, taps_dx = np.nonzero(np.any(self.kernel != 0, axis=0) | bool(self.zero_taps))
        # every (post, tap) pair; kernel values depend on the post's output channel
        yy = y[:, None] * s + taps_dy[None, :] - p
        xx = x[:, None] * s + taps_dx[None, :] - p
        vals = self.kernel[o[:, None], taps_c[None, :], taps_dy[None, :], taps_dx[None, :]]
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w) & ((vals != 0) | bool(self.zero_taps))
        cols = (taps_c[None, :] * h + yy) * w + xx
        r = np.broadcast_to(np.arange(post.size)[:, None], ok.shape)
        m = sp.csr_matrix((vals[ok], (r[ok], cols[ok])), shape=(post.size, self.shape[1]))
        m.sum_duplicates()
        if rows is None:
            self._csr.append(m)
        return m

    @property
    def nnz(self) -> int:
        """Number of synapses (non-zero taps, or all taps with ``zero_taps``, inside the input),
        without expanding the matrix."""
        c_out, c_in, kh, kw = self.kernel.shape
        _, h, w = self.in_shape
        _, h_out, w_out = self.out_shape
        s, p = int(self.stride), int(self.padding)
        # valid[dy, y] = tap row dy of output row y falls inside the input
        vy = (np.arange(h_out)[None, :] * s + np.arange(kh)[:, None] - p)
        vx = (np.arange(w_out)[None, :] * s + np.arange(kw)[:, None] - p)
        ny = ((vy >= 0) & (vy < h)).sum(axis=1)  # (kh,) output rows using tap row dy
        nx = ((vx >= 0) & (vx < w)).sum(axis=1)  # (kw,)
        nonzero = ((self.kernel != 0) | bool(self.zero_taps)).astype(np.int64)  # (C_out, C_in, kh, kw)
        return int(np.einsum("ocyx,y,x->", nonzero, ny, nx))
