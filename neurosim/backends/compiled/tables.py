"""Input, probe and learning tables of the compiled engine (plain numpy, built per network or run)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from neurosim.backends.compiled.delivery import Inputs, input_key
from neurosim.backends.compiled.layout import Layout
from neurosim.backends.compiled.loop import VAR_CODES, VAR_RECEPTOR, Probes
from neurosim.ir import ArrayInput, Network, PoissonInput, Probe, receptor_index

__all__ = ["build_inputs", "probe_code", "probe_tables", "records"]


def build_inputs(network: Network, layout: Layout, *, batch: int, seed: int) -> Inputs:
    """Array and Poisson input tables (gains of array inputs are set per run)."""
    dtype = layout.dtype
    arrays = [i for i in network.inputs if isinstance(i, ArrayInput)]
    pois = [i for i in network.inputs if isinstance(i, PoissonInput)]
    ar = {k: np.zeros(len(arrays), np.int64) for k in ("pop", "off", "steps", "rows")}
    vals, n_vals = [], 0
    for k, inp in enumerate(arrays):
        v = inp.values if inp.values.ndim == 3 else inp.values[:, None, :]
        ar["pop"][k], ar["off"][k], ar["steps"][k], ar["rows"][k] = layout.index(inp.target), n_vals, v.shape[0], v.shape[1]
        vals.append(np.ascontiguousarray(v, dtype=dtype).reshape(-1))
        n_vals += v.size
    po = {k: np.zeros(len(pois), np.int64) for k in ("pop", "slot", "batched", "off", "woff")}
    probs, weights, n_prob, n_w = [], [], 0, 0
    keys = np.zeros(len(pois), np.uint64)
    for k, inp in enumerate(pois):
        p = layout.index(inp.target)
        n = int(layout.pops.size[p])
        r = receptor_index(inp.receptor, network.population(inp.target).model)
        slot0 = layout.slot(inp.target, r)
        prob = np.minimum(np.asarray(inp.rate_hz, dtype=float) * layout.dt, 1.0)
        prob = np.broadcast_to(prob, (prob.shape[0] if prob.ndim == 2 else 1, n))
        po["pop"][k], po["slot"][k], po["batched"][k] = p, slot0, int(prob.shape[0] > 1)
        po["off"][k], po["woff"][k] = n_prob, n_w
        probs.append(np.ascontiguousarray(prob, dtype=np.float64).reshape(-1))
        scale = layout.params.input_scale[slot0:slot0 + n]
        graded = layout.pops.kind[p] == 1
        weights.append(np.full(n, inp.weight, dtype=dtype) if graded else (inp.weight * scale).astype(dtype))
        keys[k] = input_key(seed, k)
        n_prob += prob.size
        n_w += n

    def cat(parts, dt):
        return np.concatenate(parts).astype(dt, copy=False) if parts else np.zeros(0, dt)

    return Inputs(ar["pop"], ar["off"], ar["steps"], ar["rows"], np.ones(len(arrays), dtype), cat(vals, dtype),
                  po["pop"], po["slot"], po["batched"], po["off"], po["woff"], keys, cat(probs, np.float64),
                  cat(weights, dtype))


def probe_code(probe: Probe, network: Network) -> int:
    """The kernel code of a state probe's variable."""
    if probe.var.startswith("i_"):
        model = network.population(probe.target).model
        return VAR_RECEPTOR + receptor_index(probe.var[2:], model)
    return VAR_CODES[probe.var]


#: the end of a probe window without ``stop`` (beyond any run)
NO_STOP = np.iinfo(np.int64).max


def records(n0: int, steps: int, every: int, start: int = 0, stop: Optional[int] = None) -> tuple[int, int]:
    """First recorded absolute step and the number of records of a probe sampled every
    ``every`` steps inside its window ``start <= t < stop`` during steps ``n0 .. n0 + steps - 1``."""
    lo = max(n0, start)
    hi = n0 + steps if stop is None else min(n0 + steps, stop)
    first = -(-lo // every) * every
    count = (hi - 1) // every - (lo - 1) // every if hi > lo else 0
    return first, max(0, count)


def probe_tables(state_probes: list[Probe], codes: list[int], count_probes: list[Probe], count_buf: np.ndarray,
                 count_off: np.ndarray, layout: Layout, *, batch: int, n0: int, steps: int) -> tuple[Probes, list]:
    """Buffers of one run: returns the tables and, per state probe, ``(offset, records, n, spikes)``."""
    k = len(state_probes)
    pop, every, first, stop, off = (np.zeros(k, np.int64) for _ in range(5))
    nf = nb = 0
    where = []
    for i, pr in enumerate(state_probes):
        p = layout.index(pr.target)
        n = int(layout.pops.size[p])
        f, cnt = records(n0, steps, pr.every, pr.start, pr.stop)
        pop[i], every[i], first[i] = p, pr.every, f
        stop[i] = NO_STOP if pr.stop is None else pr.stop
        spikes = pr.var == "spikes"
        off[i] = nb if spikes else nf
        where.append((int(off[i]), cnt, n, spikes))
        if spikes:
            nb += cnt * batch * n
        else:
            nf += cnt * batch * n
    pc_pop = np.array([layout.index(p.target) for p in count_probes], np.int64)
    pc_start = np.array([p.start for p in count_probes], np.int64)
    pc_stop = np.array([NO_STOP if p.stop is None else p.stop for p in count_probes], np.int64)
    tables = Probes(pop, np.array(codes, np.int64), every, first, stop, off, np.zeros(nf, layout.dtype),
                    np.zeros(nb, np.uint8), pc_pop, pc_start, pc_stop, count_off, count_buf)
    return tables, where
