"""The relay network: build it, read its wiring off a mapping, rebuild it from a placement file.

:mod:`mapper.partition.splitters` decides *where* relay ("splitter") neurons go; this module builds *what*
they are. An augmented network is the original network plus the population
:data:`SPLITTER_POPULATION` (last), the feeder connections (each relay has one input: an original
neuron or a first-level relay, weight 1, delay 1) and, per original connection whose synapses
it relays, a connection ``__splitters__:<name>`` with those synapses (:func:`augment_network`).

The wiring recorded in a placement file (:func:`relay_wiring`) is what it takes to rebuild that
network from the original one (:func:`rebuild_relays`):

* ``feeder[j]``: global index of relay ``j``'s single input, an original neuron (``< n``) or a
  first-level relay (``n + i``), in the file's neuron order (original populations, then relays);
* ``dest_parts[j]``: the parts of relay ``j``'s targets among the original neurons (empty for a
  first-level relay, which feeds relays only).

A synapse ``t <- v`` of the original network then belongs to the leaf relay ``j`` with
``origin(j) = v`` and ``part[t]`` in ``dest_parts[j]``; synapses of no such relay stay direct
(the host core's, see "Packing" in :mod:`mapper.partition.splitters`). Rebuilding with the same parts
gives back the same connections in the same order.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from neurosim.activity import ActivityProfile
from neurosim.errors import MappingError, NetworkError, describe
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF

from ..graph import NetGraph

__all__ = ["SPLITTER_POPULATION", "augment_network", "trace_origins", "relay_origins", "relay_activity",
           "relay_wiring", "rebuild_relays"]

#: name of the population that holds every relay neuron of an augmented network
SPLITTER_POPULATION = "__splitters__"


def _entries(c: Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(post, pre, weight)`` of every stored synapse of ``c`` (zero-weight masked synapses too)."""
    if c.is_sparse:
        m = c.csr().tocoo()
        return m.row.astype(np.int64), m.col.astype(np.int64), m.data.astype(float)
    t, u = np.nonzero(c.structure())
    return t.astype(np.int64), u.astype(np.int64), np.asarray(c.weights, dtype=float)[t, u]


def _without_entries(c: Connection, t: np.ndarray, u: np.ndarray) -> Connection:
    """``c`` without its synapses ``(post t, pre u)`` (moved onto relays)."""
    if not c.is_sparse:
        w = np.array(c.weights, dtype=float, copy=True)
        w[t, u] = 0.0
        mask = None
        if c.synapses is not None:
            mask = np.array(c.synapses, dtype=bool, copy=True)
            mask[t, u] = False
        return dataclasses.replace(c, weights=w, synapses=mask)
    m = c.csr().tocoo()
    keep = ~np.isin(m.row.astype(np.int64) * c.shape[1] + m.col, t * c.shape[1] + u)
    w = sp.csr_matrix((m.data[keep], (m.row[keep], m.col[keep])), shape=c.shape)
    w.eliminate_zeros()
    return dataclasses.replace(c, weights=w)


def _relay_weights(c: Connection, t: np.ndarray, j: np.ndarray, w: np.ndarray, n_relays: int):
    """Weights ``(n_post, n_relays)`` of the relay connection taking over synapses ``(t, j, w)`` of
    ``c``; dense with a synapse mask when ``c`` has one (zero-weight synapses are kept)."""
    shape = (c.shape[0], int(n_relays))
    if c.synapses is not None:
        dense = np.zeros(shape)
        mask = np.zeros(shape, dtype=bool)
        dense[t, j] = w
        mask[t, j] = True
        return dense, mask
    return sp.csr_matrix((w, (t, j)), shape=shape), None


def trace_origins(feeder: np.ndarray, n: int) -> np.ndarray:
    """The original neuron (``< n``) at the root of every relay's feeder chain.

    ``feeder[j]`` is an original neuron's global index or ``n`` plus a relay's index.

    Raises
    ------
    MappingError
        A feeder out of range or a cycle of relays.
    """
    feeder = np.asarray(feeder, dtype=np.int64)
    r = feeder.size
    if r and (feeder.min() < 0 or feeder.max() >= n + r):
        j = int(np.flatnonzero((feeder < 0) | (feeder >= n + r))[0])
        raise MappingError(f"relay '{SPLITTER_POPULATION}[{j}]': feeder out of range (got {int(feeder[j])}, "
                           f"expected 0..{n + r - 1})")
    origin = feeder.copy()
    for _ in range(r + 1):
        up = origin >= n
        if not up.any():
            return origin
        origin[up] = feeder[origin[up] - n]
    j = int(np.flatnonzero(origin >= n)[0])
    raise MappingError(f"relay '{SPLITTER_POPULATION}[{j}]': its feeders form a cycle (got no original neuron, "
                       "expected a chain of relays ending at one)")


def relay_origins(network: Network) -> np.ndarray:
    """Global index of the original neuron whose spikes every relay of :data:`SPLITTER_POPULATION`
    (the last population of an augmented network) carries, read off the feeder connections."""
    offsets = network.offsets()
    n, r = offsets[SPLITTER_POPULATION], network.population(SPLITTER_POPULATION).size
    feeder = np.full(r, -1, dtype=np.int64)
    for c in network.connections:
        if c.post == SPLITTER_POPULATION:
            m = c.csr().tocoo()
            feeder[m.row] = offsets[c.pre] + m.col
    return trace_origins(feeder, n)


def relay_activity(network: Network, activity: ActivityProfile) -> ActivityProfile:
    """``activity`` of the original populations of an augmented ``network``, extended to its relays:
    ``count(relay) = count(origin)`` (an epoch-costed plastic connection's relay connection is
    costed the same way; measured per-connection synaptic events are not carried over).

    Raises
    ------
    NetworkError
        ``activity`` has no counts of the right size for an original population.
    """
    origin = relay_origins(network)
    base = [p for p in network.populations if p.name != SPLITTER_POPULATION]
    for p in base:  # the profile of the original network (a mismatch is the user's, not a KeyError)
        c = activity.counts.get(p.name)
        if c is None or np.shape(c) != (p.size,):
            raise NetworkError(describe("activity", p.name, "does not match the network",
                                        got=None if c is None else np.shape(c), expected=(p.size,)))
    counts = {p.name: np.asarray(activity.counts[p.name]) for p in base}
    flat = np.concatenate([counts[p.name].astype(np.int64) for p in base])
    counts[SPLITTER_POPULATION] = flat[origin]
    kw = {}
    epochs = {c: e for c, e in (getattr(activity, "learn_epochs", None) or {}).items()
              if not c.startswith(f"{SPLITTER_POPULATION}:")}
    if epochs:
        names = {c.name for c in network.connections}
        kw["learn_epochs"] = {**epochs, **{f"{SPLITTER_POPULATION}:{c}": e for c, e in epochs.items()
                                           if f"{SPLITTER_POPULATION}:{c}" in names}}
    return ActivityProfile.from_counts(network, counts, steps=activity.steps, batch=activity.batch,
                                       dt_s=activity.dt_s, source=activity.source, **kw)


def augment_network(network: Network, *, n: int, part: np.ndarray, row_key: np.ndarray, row_relay: np.ndarray,
                    relay_feeder: np.ndarray, n_relays: int, n_parts: int, dt_s: float) -> Network:
    """The network with the relay population, the relayed synapses moved onto their leaf relays
    (one relay connection per original connection) and the feeder connections.

    Parameters
    ----------
    network : Network
        The original network (``n`` neurons).
    part : ndarray, shape (n,)
        Part of every original neuron (``n_parts`` parts).
    row_key, row_relay : ndarray
        A synapse ``t <- v`` moves onto relay ``row_relay[i]`` when
        ``row_key[i] = v * n_parts + part[t]`` (``row_key`` sorted, unique); the synapses of the
        other rows stay where they are.
    relay_feeder : ndarray, shape (n_relays,)
        Global index of every relay's feeder: an original neuron (``< n``), or ``n`` plus the index
        of a first-level relay.
    dt_s : float
        Time step: the relays are ``LIF(tau_s=dt_s, v_th=0.5, reset="zero")``.
    """
    offsets = network.offsets()
    is_split = np.zeros(n, dtype=bool)
    is_split[row_key // n_parts] = True
    conns: list[Connection] = []
    relay_conns: list[Connection] = []
    for c in network.connections:
        o_pre, o_post = offsets[c.pre], offsets[c.post]
        if not is_split[o_pre:o_pre + c.shape[1]].any():
            conns.append(c)
            continue
        t, u, w = _entries(c)
        key = (o_pre + u) * n_parts + part[o_post + t]
        at = np.minimum(np.searchsorted(row_key, key), max(row_key.size - 1, 0))
        moved = np.flatnonzero(row_key[at] == key) if row_key.size else at[:0]
        if not moved.size:
            conns.append(c)
            continue
        weights, mask = _relay_weights(c, t[moved], row_relay[at[moved]], w[moved], n_relays)
        conns.append(_without_entries(c, t[moved], u[moved]))
        relay_conns.append(Connection(SPLITTER_POPULATION, c.post, weights, delay_steps=c.delay_steps, gain=c.gain,
                                      learning_rule=c.learning_rule, synapses=mask,
                                      name=f"{SPLITTER_POPULATION}:{c.name}"))
    feeds: list[Connection] = []
    pop_of = np.repeat(np.arange(len(network.populations)), [p.size for p in network.populations])
    from_relay = relay_feeder >= n
    for pi, p in enumerate(network.populations):
        sel = np.flatnonzero(~from_relay & (pop_of[np.minimum(relay_feeder, n - 1)] == pi))
        if sel.size:
            w = sp.csr_matrix((np.ones(sel.size), (sel, relay_feeder[sel] - offsets[p.name])), shape=(n_relays, p.size))
            feeds.append(Connection(p.name, SPLITTER_POPULATION, w, delay_steps=1,
                                    name=f"{p.name}->{SPLITTER_POPULATION}"))
    sel = np.flatnonzero(from_relay)
    if sel.size:
        w = sp.csr_matrix((np.ones(sel.size), (sel, relay_feeder[sel] - n)), shape=(n_relays, n_relays))
        feeds.append(Connection(SPLITTER_POPULATION, SPLITTER_POPULATION, w, delay_steps=1,
                                name=f"{SPLITTER_POPULATION}->{SPLITTER_POPULATION}"))
    relays = Population(SPLITTER_POPULATION, int(n_relays), LIF(tau_s=float(dt_s), v_th=0.5, reset="zero"))
    return Network(network.name, list(network.populations) + [relays], conns + feeds + relay_conns,
                   list(network.inputs), list(network.probes), dict(network.signals))


def relay_wiring(graph: NetGraph, part: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(feeder, dest_parts)`` of the relays of an augmented ``graph`` under partition ``part``.

    Raises
    ------
    MappingError
        ``graph`` has no relay population, or a relay has other than one input.
    """
    if SPLITTER_POPULATION not in graph.pop_names:
        raise MappingError(f"network '{graph.name}': no population '{SPLITTER_POPULATION}' (no splitter relays)")
    i = graph.pop_names.index(SPLITTER_POPULATION)
    lo, hi = int(graph.pop_offsets[i]), int(graph.pop_offsets[i + 1])
    n_in = np.diff(graph.in_ptr[lo:hi + 1])
    if np.any(n_in != 1):
        j = int(np.flatnonzero(n_in != 1)[0])
        raise MappingError(f"relay '{SPLITTER_POPULATION}[{j}]': not a relay (got {int(n_in[j])} inputs, expected 1)")
    feeder = graph.in_idx[graph.in_ptr[lo:hi]].astype(np.int64)
    part = np.asarray(part, dtype=np.int64)
    dest = []
    for v in range(lo, hi):
        t = graph.out_idx[graph.out_ptr[v]:graph.out_ptr[v + 1]]
        dest.append(np.unique(part[t[t < lo]]))
    return feeder, dest


def rebuild_relays(network: Network, part: np.ndarray, *, n_parts: int, feeder: np.ndarray,
                   dest_parts: list[np.ndarray], dt_s: float) -> Network:
    """The augmented network of ``network`` (the original, ``n`` neurons) and the relay wiring.

    Parameters
    ----------
    network : Network
        The original network.
    part : ndarray, shape (>= n,)
        Part of every neuron; the first ``n`` (the original neurons) are used.
    n_parts : int
    feeder, dest_parts
        The wiring (:func:`relay_wiring`).
    dt_s : float
        Time step of the relay neurons (``tau_s``).

    Raises
    ------
    MappingError
        A feeder out of range, a cycle, a part out of range, or two relays of one neuron that
        claim the same part.
    """
    n = sum(p.size for p in network.populations)
    feeder = np.asarray(feeder, dtype=np.int64)
    r = feeder.size
    if len(dest_parts) != r:
        raise MappingError(f"relays '{SPLITTER_POPULATION}': wiring of unequal length (got {r} feeders and "
                           f"{len(dest_parts)} destination lists, expected one of each per relay)")
    origin = trace_origins(feeder, n)
    sizes = np.array([len(d) for d in dest_parts], dtype=np.int64)
    dests = np.concatenate([np.asarray(d, dtype=np.int64) for d in dest_parts]) if r else np.zeros(0, np.int64)
    if dests.size and (dests.min() < 0 or dests.max() >= n_parts):
        raise MappingError(f"relays '{SPLITTER_POPULATION}': destination part out of range "
                           f"(got {int(dests.min())}..{int(dests.max())}, expected 0..{n_parts - 1})")
    relay = np.repeat(np.arange(r, dtype=np.int64), sizes)
    key = origin[relay] * int(n_parts) + dests
    order = np.argsort(key, kind="stable")
    key, relay = key[order], relay[order]
    if key.size > 1 and np.any(np.diff(key) == 0):
        d = int(np.flatnonzero(np.diff(key) == 0)[0])
        raise MappingError(f"relays '{SPLITTER_POPULATION}[{int(relay[d])}]' and '[{int(relay[d + 1])}]': both carry "
                           f"neuron {int(key[d] // n_parts)} to part {int(key[d] % n_parts)} (got two, expected one)")
    return augment_network(network, n=n, part=np.asarray(part, dtype=np.int64)[:n], row_key=key, row_relay=relay,
                           relay_feeder=feeder, n_relays=r, n_parts=int(n_parts), dt_s=float(dt_s))
