"""NIR's linear nodes as sparse matrices over C-order flattened tensors.

Every linear NIR node (``Affine``, ``Linear``, ``Scale``, ``Conv1d``, ``Conv2d``, ``SumPool2d``,
``AvgPool2d``, ``Flatten``) maps an input tensor of shape ``in_shape`` (no batch axis) to an
output tensor. Here each becomes a matrix ``A`` of shape ``(prod(out_shape), prod(in_shape))``
acting on the tensors flattened in C order (channel, row, column), plus a bias vector where the
node has one, so that a chain of linear nodes composes by matrix products
(:mod:`neurosim.nir.read`). Weight matrices follow NIR / PyTorch: ``(out, in)``, the same as
neurosim's ``(n_post, n_pre)``.

Convolution and pooling (PyTorch semantics, cross-correlation)::

    H_out = floor((H + p_top + p_bottom - d (kh - 1) - 1) / s) + 1        (likewise W_out)
    out[o, y, x] = sum_{c in group(o), dy, dx} w[o, c - c0(o), dy, dx] in[c, y s + dy d - p_top, x s + dx d - p_left]

(taps in the zero padding are no synapse). ``Conv1d`` (weight ``(C_out, C_in/groups, k)``, input
``(C, L)``) is the same with height 1: ``L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1``. ``SumPool2d`` is a per-channel convolution with a
kernel of ones; ``AvgPool2d`` with ``1 / (kh kw)`` (PyTorch's ``count_include_pad=True``).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from neurosim.errors import InputError, describe
from neurosim.guard import ResourceLimits, check_memory

__all__ = ['pair', 'affine_op', 'scale_op', 'conv1d_op', 'conv2d_op', 'pool2d_op', 'flatten_shape', 'conv_padding', 'as_shape']



Shape = tuple[int, ...]


def whole(node: str, what: str, value) -> int:
    """``value`` (a scalar or a one-element array) as an int; :class:`InputError` otherwise."""
    try:
        arr = np.asarray(value).ravel()
        if arr.size != 1 or not float(arr[0]).is_integer() or abs(float(arr[0])) > 2**62:
            raise ValueError
        return int(arr[0])
    except (TypeError, ValueError, OverflowError):
        raise InputError(describe("NIR node", node, f"{what} must be one whole number", got=str(value)[:40],
                                  expected="an integer")) from None


def pair(node: str, what: str, value) -> tuple[int, int]:
    """``value`` (int or 1- / 2-sequence) as a pair of ints, for stride, padding, kernel size."""
    arr = np.atleast_1d(np.asarray(value)).ravel()
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(np.equal(np.mod(arr, 1), 0)):
        raise InputError(describe("NIR node", node, f"{what} must be an integer or a pair of integers",
                                  got=value, expected="int or (int, int)"))
    return int(arr[0]), int(arr[1])


def affine_op(node: str, weight: np.ndarray, bias: Optional[np.ndarray],
              in_shape: Shape) -> tuple[sp.csr_matrix, Optional[np.ndarray], Shape]:
    """``y = W x + b`` for a 2-D ``weight`` of shape ``(out, in)``.

    The input is the whole tensor (``prod(in_shape) == in``) or, PyTorch-like, its last axis
    (``in_shape[-1] == in``: the same matrix applied to every leading index, a block-diagonal
    operator). Returns ``(A, bias or None, out_shape)``.
    """
    w = np.asarray(weight, dtype=float)
    if w.ndim != 2:
        raise InputError(describe("NIR node", node, "weight must be 2-D (out, in)", got=f"shape {w.shape}",
                                  expected="a 2-D matrix"))
    n_in = int(np.prod(in_shape))
    if n_in == w.shape[1]:
        a, out_shape, reps = sp.csr_matrix(w), (w.shape[0],), 1
    elif len(in_shape) > 1 and in_shape[-1] == w.shape[1]:
        reps = int(np.prod(in_shape[:-1]))
        a, out_shape = sp.kron(sp.eye(reps), sp.csr_matrix(w), format="csr"), tuple(in_shape[:-1]) + (w.shape[0],)
    else:
        raise InputError(describe("NIR node", node, "weight does not fit the input", got=f"weight {w.shape}, input {in_shape}",
                                  expected=f"weight (out, {n_in}) or (out, {in_shape[-1]})"))
    b = None
    if bias is not None:
        b = np.asarray(bias, dtype=float).ravel()
        if b.size not in (1, w.shape[0]):
            raise InputError(describe("NIR node", node, "bias does not match the weight", got=b.shape,
                                      expected=f"({w.shape[0]},)"))
        b = np.tile(np.broadcast_to(b, (w.shape[0],)), reps)
        if not np.any(b):
            b = None
    return a, b, out_shape


def scale_op(node: str, scale: np.ndarray, in_shape: Shape) -> sp.csr_matrix:
    """``y = s * x`` elementwise (``s`` broadcast to ``in_shape``): a diagonal matrix."""
    s = np.asarray(scale, dtype=float)
    try:
        d = np.broadcast_to(s, in_shape).ravel()
    except ValueError as exc:
        raise InputError(describe("NIR node", node, "scale does not broadcast to the input", got=s.shape,
                                  expected=f"broadcastable to {tuple(in_shape)}")) from exc
    return sp.diags(d, format="csr")


def conv_padding(node: str, padding, kernel: tuple[int, int], dilation: tuple[int, int],
                 stride: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` padding from NIR's int, pair, ``"valid"`` or ``"same"``."""
    if isinstance(padding, bytes):
        padding = padding.decode()
    if isinstance(padding, np.ndarray) and padding.dtype.kind in "SUO":
        padding = str(padding.item() if padding.ndim == 0 else padding)
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise InputError(describe("NIR node", node, "unknown padding", got=repr(padding),
                                      expected="'same', 'valid' or integers"))
        if stride != (1, 1):
            raise InputError(describe("NIR node", node, "padding 'same' needs stride 1", got=stride, expected="(1, 1)"))
        out = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            out += [total // 2, total - total // 2]
        return out[0], out[1], out[2], out[3]
    ph, pw = pair(node, "padding", padding)
    if ph < 0 or pw < 0:
        raise InputError(describe("NIR node", node, "padding must be non-negative", got=(ph, pw), expected=">= 0"))
    return ph, ph, pw, pw


def _conv_arrays(node: str, kind: str, weight, in_shape: Shape, w_dims: str, x_dims: str) -> np.ndarray:
    """The weight of a ``kind`` node as a float array, after checking its rank and the input's
    against the dimension names ``w_dims`` and ``x_dims`` (e.g. ``"(C, L)"``)."""
    w = np.asarray(weight, dtype=float)
    nd = x_dims.count(",") + 1
    if w.ndim != nd + 1:
        raise InputError(describe("NIR node", node, f"{kind} weight must be {nd + 1}-D {w_dims}", got=f"shape {w.shape}"))
    if len(in_shape) != nd:
        raise InputError(describe("NIR node", node, f"{kind} input must be {x_dims}", got=tuple(in_shape),
                                  expected=f"a {nd}-D shape"))
    return w


#: bytes per kernel tap and output position while a convolution's matrix is built (index, mask and value arrays)
BYTES_PER_TAP = 80


def conv2d_op(node: str, weight: np.ndarray, in_shape: Shape, *, stride, padding, dilation=1,
              groups: int = 1, limits: Optional[ResourceLimits] = None) -> tuple[sp.csr_matrix, Shape]:
    """The cross-correlation of the module docstring as a matrix; returns ``(A, (C_out, H_out, W_out))``.

    The matrix's memory (:data:`BYTES_PER_TAP` per non-zero tap and output position, 8 bytes per
    output row) is checked against ``limits`` (default: the machine's memory) before it is built:
    a huge padding or input is a :class:`~neurosim.errors.ResourceError`, not a ``MemoryError``."""
    w = _conv_arrays(node, "Conv2d", weight, in_shape, "(C_out, C_in/groups, kh, kw)", "(C, H, W)")
    c_in, h, wd = (int(v) for v in in_shape)
    c_out, c_in_g, kh, kw = w.shape
    g = whole(node, "groups", groups)
    if g < 1 or c_in != c_in_g * g or c_out % g:
        raise InputError(describe("NIR node", node, "channels do not match groups", got=f"C_in {c_in}, weight {w.shape}, groups {g}",
                                  expected=f"C_in = {c_in_g} * groups and C_out divisible by groups"))
    sh, sw = pair(node, "stride", stride)
    dh, dw = pair(node, "dilation", dilation)
    if min(sh, sw, dh, dw) < 1:
        raise InputError(describe("NIR node", node, "stride and dilation must be >= 1", got=(sh, sw, dh, dw)))
    pt, pb, pl, pr = conv_padding(node, padding, (kh, kw), (dh, dw), (sh, sw))
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        raise InputError(describe("NIR node", node, "kernel larger than the padded input", got=(kh, kw),
                                  expected=f"input {in_shape} with padding {(pt, pb, pl, pr)}"))
    taps = ho * wo * int(np.count_nonzero(w))
    check_memory(f"NIR node '{node}'", float(BYTES_PER_TAP * taps + 8 * (c_out * ho * wo + 1)), limits,
                 detail=f"a convolution of output {(c_out, ho, wo)} with {taps} taps")
    o, cl, ky, kx = np.nonzero(w)
    vals = w[o, cl, ky, kx]
    c = (o // (c_out // g)) * c_in_g + cl
    yy = np.arange(ho)[:, None, None] * sh + ky[None, None, :] * dh - pt  # (ho, 1, K)
    xx = np.arange(wo)[None, :, None] * sw + kx[None, None, :] * dw - pl  # (1, wo, K)
    shape3 = (ho, wo, o.size)
    ok = np.broadcast_to((yy >= 0) & (yy < h), shape3) & np.broadcast_to((xx >= 0) & (xx < wd), shape3)
    rows = np.broadcast_to((o[None, None, :] * ho + np.arange(ho)[:, None, None]) * wo + np.arange(wo)[None, :, None], shape3)
    cols = np.broadcast_to((c[None, None, :] * h + yy) * wd + xx, shape3)
    data = np.broadcast_to(vals[None, None, :], shape3)
    a = sp.csr_matrix((data[ok], (rows[ok], cols[ok])), shape=(c_out * ho * wo, c_in * h * wd))
    a.sum_duplicates()
    return a, (c_out, ho, wo)


def conv1d_op(node: str, weight: np.ndarray, in_shape: Shape, *, stride, padding, dilation=1,
              groups: int = 1, limits: Optional[ResourceLimits] = None) -> tuple[sp.csr_matrix, Shape]:
    """1-D cross-correlation on ``(C, L)`` as a matrix, via :func:`conv2d_op` with height 1;
    returns ``(A, (C_out, L_out))``."""
    w = _conv_arrays(node, "Conv1d", weight, in_shape, "(C_out, C_in/groups, k)", "(C, L)")

    def one(what: str, value) -> int:
        arr = np.atleast_1d(np.asarray(value)).ravel()
        if arr.size != 1 or arr.dtype.kind not in "iuf" or arr[0] % 1:
            raise InputError(describe("NIR node", node, f"{what} must be one integer", got=value, expected="int"))
        return int(arr[0])

    pad = padding
    if isinstance(pad, bytes):
        pad = pad.decode()
    if isinstance(pad, np.ndarray) and pad.dtype.kind in "SUO":
        pad = str(pad.item() if pad.ndim == 0 else pad)
    pad = pad if isinstance(pad, str) else (0, one("padding", pad))
    a, (c_out, _, l_out) = conv2d_op(node, w[:, :, None, :], (in_shape[0], 1, in_shape[1]), stride=(1, one("stride", stride)),
                                     padding=pad, dilation=(1, one("dilation", dilation)), groups=groups,
                                     limits=limits)
    return a, (c_out, l_out)


def pool2d_op(node: str, kind: str, in_shape: Shape, *, kernel_size, stride, padding,
              limits: Optional[ResourceLimits] = None) -> tuple[sp.csr_matrix, Shape]:
    """``SumPool2d`` (``kind="sum"``) or ``AvgPool2d`` (``"avg"``, divides by ``kh kw``) as a matrix."""
    if len(in_shape) != 3:
        raise InputError(describe("NIR node", node, "pooling input must be (C, H, W)", got=tuple(in_shape),
                                  expected="a 3-D shape"))
    kh, kw = pair(node, "kernel_size", kernel_size)
    if min(kh, kw) < 1:
        raise InputError(describe("NIR node", node, "kernel_size must be >= 1", got=(kh, kw), expected=">= 1"))
    c = int(in_shape[0])
    check_memory(f"NIR node '{node}'", 8.0 * c * kh * kw, limits, detail=f"a pooling kernel of {kh} x {kw}")
    value = 1.0 if kind == "sum" else 1.0 / (kh * kw)
    kernel = np.full((c, 1, kh, kw), value)
    return conv2d_op(node, kernel, in_shape, stride=stride, padding=padding, groups=c, limits=limits)


def flatten_shape(node: str, in_shape: Shape, start_dim: int, end_dim: int) -> Shape:
    """Output shape of ``Flatten`` (no batch axis: dims index ``in_shape``); the C-order element
    order is unchanged, so no matrix is needed."""
    nd = len(in_shape)
    s, e = whole(node, "start_dim", start_dim), whole(node, "end_dim", end_dim)
    s, e = (s + nd if s < 0 else s), (e + nd if e < 0 else e)
    if nd == 0 or not 0 <= s <= e < nd:
        # exporters that count a batch axis (start_dim=1 on an unbatched shape of one axis) flatten everything
        return (int(np.prod(in_shape)),)
    return tuple(in_shape[:s]) + (int(np.prod(in_shape[s:e + 1])),) + tuple(in_shape[e + 1:])


def as_shape(value: Union[Sequence[int], np.ndarray, int]) -> Shape:
    """A shape as a tuple of ints."""
    return tuple(int(v) for v in np.atleast_1d(np.asarray(value)).ravel())

