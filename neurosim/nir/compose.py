"""Linear chains of a NIR graph: the nodes between two neuron layers composed into one matrix.

A path of linear nodes (``Affine``, ``Linear``, ``Scale``, ``Conv1d``, ``Conv2d``, pools,
``Flatten``, ``Delay``, and the ``Input``/``Output`` nodes of nested graphs) from a neuron layer
to the next is a product of matrices ``W = M_k ... M_2 M_1`` (per input shape, cached), its
biases ``b = sum_j M_k ... M_{j+1} b_j`` carried to the target layer, and its delay the sum of
the ``Delay`` nodes' delays rounded to steps. :func:`walk` follows every path from a source,
:func:`conv_weights` keeps a single ``Conv2d`` compact (:class:`~neurosim.conv.ConvWeights`).
:func:`first_input_steps` gives each layer the first step its input can arrive (where its
bias switches on). Used by :func:`neurosim.nir.read.read_nir`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvWeights
from neurosim.errors import InputError, describe
from neurosim.guard import ResourceLimits
from neurosim.nir.ops import (affine_op, conv1d_op, conv2d_op, conv_padding, flatten_shape, pair, pool2d_op, scale_op,
                              whole)

__all__ = ["Node", "LinearChains", "channel_bias", "walk", "conv_weights", "first_input_steps", "DELAY_RTOL"]

#: a Delay that is not a whole number of steps within this relative tolerance is noted as rounded
DELAY_RTOL = 1e-6


@dataclass
class Node:
    name: str          # flattened, dotted
    kind: str          # "input", "output", "identity", "linear", "neuron"
    type: str          # NIR class name
    obj: Any


# -- the linear chains -------------------------------------------------------------------------
class LinearChains:
    """Matrices of linear nodes per input shape (cached)."""

    def __init__(self, nodes: dict[str, Node], dt: float, limits: Optional[ResourceLimits] = None):
        self.nodes = nodes
        self.dt = dt
        #: memory limit of the convolution matrices (:func:`~neurosim.nir.ops.conv2d_op`)
        self.limits = limits
        self.cache: dict[tuple[str, tuple], tuple] = {}
        #: approximation notes per node (rounded delays)
        self.notes: dict[str, list[str]] = {}

    def delays(self, name: str, shape: tuple[int, ...]) -> list[tuple[int, Optional[sp.csr_matrix]]]:
        """``[(steps, mask or None), ...]`` of Delay node ``name``: one entry per distinct delay in
        steps (``floor(delay / dt + 1/2)``: halves round up), the mask selecting the elements with that delay (``None``
        when all elements share it)."""
        key = ("delay", name, shape)
        if key not in self.cache:
            d = np.asarray(self.nodes[name].obj.delay, dtype=float)
            try:
                d = np.broadcast_to(d.reshape(shape) if d.size == int(np.prod(shape)) else d, shape).ravel()
            except ValueError as exc:
                raise InputError(describe("NIR node", name, "delay does not fit the input", got=d.shape,
                                          expected=f"broadcastable to {shape}")) from exc
            if not np.all(np.isfinite(d)) or np.any(d < 0):
                raise InputError(describe("NIR node", name, "delay must be finite and >= 0 seconds",
                                          got=float(np.min(d)), expected=">= 0"))
            x = d / self.dt
            # half a step rounds up (allowing for the quotient's rounding): distinct delays stay ordered
            steps = np.floor(x + 0.5 + DELAY_RTOL * np.maximum(x, 1.0)).astype(np.int64)
            off = np.abs(x - steps) > DELAY_RTOL * np.maximum(x, 1.0)
            if np.any(off):
                self.notes.setdefault(name, []).append(
                    f"delay rounded to the nearest whole step of dt_s (halves up): {int(off.sum())} of {d.size} "
                    f"elements off by up to "
                    f"{float(np.max(np.abs(x - steps))):.3g} steps")
            values = np.unique(steps)
            self.cache[key] = [(int(values[0]), None)] if values.size == 1 else \
                [(int(v), sp.diags((steps == v).astype(float), format="csr")) for v in values]
        return self.cache[key]

    def op(self, name: str, shape: tuple[int, ...]) -> tuple[Optional[sp.csr_matrix], Optional[np.ndarray], tuple]:
        """``(A or None for identity, bias or None, out_shape)`` of node ``name`` on ``shape``."""
        key = (name, shape)
        if key not in self.cache:
            self.cache[key] = self._build(self.nodes[name], shape, self.limits)
        return self.cache[key]

    @staticmethod
    def _build(node: Node, shape: tuple[int, ...], limits: Optional[ResourceLimits] = None):
        o, t = node.obj, node.type
        if node.kind == "identity":
            return None, None, shape
        if t == "Flatten":
            return None, None, flatten_shape(node.name, shape, o.start_dim, o.end_dim)
        if t in ("Affine", "Linear"):
            return affine_op(node.name, o.weight, getattr(o, "bias", None), shape)
        if t == "Scale":
            return scale_op(node.name, o.scale, shape), None, shape
        if t == "Delay":  # the delay itself is applied by walk
            return None, None, shape
        if t == "Conv1d":
            if len(shape) != 2 and getattr(o, "input_shape", None) is not None:
                length = whole(node.name, "input_shape", np.asarray(o.input_shape).ravel()[-1:])
                if int(np.prod(shape)) % length == 0:
                    shape = (int(np.prod(shape)) // length, length)
            a, out = conv1d_op(node.name, o.weight, shape, stride=o.stride, padding=o.padding, dilation=o.dilation,
                               groups=o.groups, limits=limits)
            return a, channel_bias(node, o, out), out
        if t == "Conv2d":
            a, out = conv2d_op(node.name, o.weight, shape, stride=o.stride, padding=o.padding, dilation=o.dilation,
                               groups=o.groups, limits=limits)
            return a, channel_bias(node, o, out), out
        kind = "sum" if t == "SumPool2d" else "avg"
        a, out = pool2d_op(node.name, kind, shape, kernel_size=o.kernel_size, stride=o.stride, padding=o.padding,
                           limits=limits)
        return a, None, out


def channel_bias(node: Node, o: Any, out: tuple[int, ...]) -> Optional[np.ndarray]:
    """A convolution's per-channel bias over its flattened output, or None if zero."""
    b = np.asarray(o.bias, dtype=float).ravel() if getattr(o, "bias", None) is not None else np.zeros(1)
    if b.size not in (1, out[0]):
        raise InputError(describe("NIR node", node.name, "bias does not match the output channels",
                                  got=b.shape, expected=f"({out[0]},)"))
    b = np.repeat(np.broadcast_to(b, (out[0],)), int(np.prod(out[1:])))
    return b if np.any(b) else None


def walk(start: str, m0, shape0: tuple, succ: dict, nodes: dict[str, Node], lin: LinearChains, sinks: list, biased: dict) -> None:
    """Depth-first from ``start`` through linear nodes; append ``(sink, M, shape, ops, path, delay)`` to ``sinks``.

    ``M`` maps ``start``'s output (or a bias vector) to the sink's input; ``ops`` lists the
    non-trivial linear nodes on the path; ``delay`` sums the ``Delay`` nodes on it, in steps (a
    Delay with several values splits the path, one masked branch per value). Linear nodes with a
    bias are recorded in ``biased`` with their input shape.
    """
    stack = [(nxt, m0, shape0, (start,), (), 0) for nxt in succ[start]]
    while stack:
        name, m, shape, path, ops, delay = stack.pop()
        node = nodes[name]
        if node.kind in ("neuron", "output"):
            sinks.append((name, m, shape, ops, path, delay))
            continue
        if node.kind == "input":
            raise InputError(describe("NIR edge", f"{path[-1]}->{name}", "an Input node cannot receive edges",
                                      expected="edges out of Input nodes only"))
        if name in path:
            raise InputError(describe("NIR node", name, "loop of linear nodes without a neuron",
                                      got=" -> ".join(path[path.index(name):] + (name,)),
                                      expected="a neuron node in every cycle"))
        a, b, out = lin.op(name, shape)
        if b is not None and name not in biased:
            biased[name] = shape
        m2 = m if a is None else a @ m
        if node.type == "Delay":
            branches = [(steps, m2 if mask is None else mask @ m2, ops + ((name,) if mask is not None else ()))
                        for steps, mask in lin.delays(name, shape)]
        else:
            branches = [(0, m2, ops + ((name,) if node.type != "Flatten" and node.kind != "identity" else ()))]
        for steps, mb, ops2 in branches:
            for nxt in succ[name]:
                stack.append((nxt, mb, out, path + (name,), ops2, delay + steps))


def conv_weights(nodes: dict[str, Node], ops: tuple, in_shape: tuple, factor: np.ndarray) -> Optional[ConvWeights]:
    """A compact ConvWeights for a path through exactly one plain Conv2d, else None."""
    if len(ops) != 1 or nodes[ops[0]].type != "Conv2d" or len(in_shape) != 3 or not np.all(factor == factor[0]):
        return None
    o = nodes[ops[0]].obj
    w = np.asarray(o.weight, dtype=float)
    name = ops[0]
    try:
        stride = pair(name, "stride", o.stride)
        dil = pair(name, "dilation", o.dilation)
        pad = conv_padding(name, o.padding, w.shape[2:], dil, stride)
    except InputError:
        return None
    if whole(name, "groups", o.groups) != 1 or dil != (1, 1) or stride[0] != stride[1] or len(set(pad)) != 1:
        return None
    return ConvWeights(w * float(factor[0]), in_shape, stride=stride[0], padding=pad[0])


def first_input_steps(inputs: list[str], contrib: list[tuple], nodes: dict[str, Node]) -> dict[str, int]:
    """The first step at which each neuron node can receive input: 0 for the relays (an input spike
    at step ``t`` makes its relay spike at step ``t``), plus each connection's ``1 + Delay steps``
    along the quickest path; a node no input reaches is absent (its bias acts from step 0)."""
    steps = {n: 0 for n in inputs}
    changed = True
    while changed:  # Bellman-Ford on positive delays: at most one pass per layer
        changed = False
        for src, sink, *_, delay in contrib:
            if src in steps and nodes[sink].kind == "neuron" and steps[src] + 1 + delay < steps.get(sink, 1 << 62):
                steps[sink] = steps[src] + 1 + delay
                changed = True
    return {n: k for n, k in steps.items() if n not in inputs}
