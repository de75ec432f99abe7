"""Benchmark networks for the mapper (shared by bench_mapping_quality.py and bench_mapping_scale.py).

* :func:`sheet` — the locally connected sheet of ``shared/reference/mapping.md`` §6: neurons on an
  ``N x N`` torus stored row-major; each draws ``k`` targets at a Gaussian offset (sigma grid
  units), a fraction ``p_rand`` of them replaced by uniform random targets; self-loops dropped,
  duplicates merged.
* :func:`layered` — a feed-forward stack of ``L`` maps of ``side x side`` neurons; each neuron of
  layer ``l + 1`` receives a ``3 x 3`` patch of layer ``l`` (zero padding); rates fall with depth.
* :func:`lca_like` — a spiking-LCA-like network: ``N`` neurons, all-to-all lateral inhibition
  (``N (N - 1)`` synapses); a sparse code (a few percent of neurons active) sets the rates.
* :func:`conv_lca` — a spiking *convolutional* LCA (:mod:`neurosim.builders.conv_lca`, non-negative,
  ``K`` DCT filters ``k x k``) on a ``side x side`` crop of scikit-learn's bundled sample image,
  with the activity of a real simulation: lateral inhibition only between overlapping receptive
  fields (``K (2k - 1)^2`` taps), the LCA of whole images.

Each returns ``(Network, ActivityProfile)``; activity is a synthetic but fixed (seeded) profile,
except for :func:`conv_lca` (simulated).
:func:`machine` and :func:`append_results` are the shared bookkeeping of the mapper benchmarks.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys

import numpy as np
import scipy.sparse as sp

from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF

STEPS = 1000


def machine() -> str:
    """``nproc``, ``free -g`` total and the load average (timings are only comparable within a run)."""
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return (f"nproc {nproc}, {mem[1].split()[1] if len(mem) > 1 else '?'} GiB RAM (free -g), "
            f"load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")


def append_results(heading: str, script: str, body: str) -> None:
    """Append a dated entry at the end of section ``heading`` of ``benchmarks/RESULTS.md`` (atomically)."""
    from results_log import append_run

    cmd = f"python benchmarks/{script} " + " ".join(sys.argv[1:])
    append_run(heading, f"See the docstring of `benchmarks/{script}`.",
               [f"\n### {datetime.date.today().isoformat()} — {machine()}", "", f"`{cmd}`", "", body, ""])


def sheet(side: int, *, k: int = 10, sigma: float = 3.0, p_rand: float = 0.1, rate: float = 0.05,
          seed: int = 0) -> tuple[Network, ActivityProfile]:
    rng = np.random.default_rng(seed)
    n = side * side
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    x, y = src % side, src // side
    dx = np.rint(rng.normal(0, sigma, src.size)).astype(np.int64)
    dy = np.rint(rng.normal(0, sigma, src.size)).astype(np.int64)
    tgt = ((y + dy) % side) * side + (x + dx) % side
    r = rng.random(src.size) < p_rand
    tgt[r] = rng.integers(0, n, int(r.sum()))
    keep = tgt != src
    w = sp.csr_matrix((np.ones(int(keep.sum())), (tgt[keep], src[keep])), shape=(n, n))
    w.sum_duplicates()
    w.data[:] = 1.0
    net = Network(name=f"sheet{side}")
    net.add(Population("sheet", n, LIF()))
    net.add(Connection("sheet", "sheet", w))
    counts = rng.poisson(rate * STEPS, n)
    return net, ActivityProfile.from_counts(net, {"sheet": counts}, steps=STEPS, batch=1, dt_s=1e-3,
                                            source="synthetic:poisson")


def layered(side: int = 128, layers: int = 4, *, rates=(0.1, 0.05, 0.03, 0.02), seed: int = 0):
    rng = np.random.default_rng(seed)
    n = side * side
    net = Network(name=f"layered{layers}x{side}")
    for l in range(layers):
        net.add(Population(f"L{l}", n, LIF()))
    yy, xx = np.divmod(np.arange(n), side)
    for l in range(layers - 1):
        rows, cols = [], []
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ok = (yy + dy >= 0) & (yy + dy < side) & (xx + dx >= 0) & (xx + dx < side)
                rows.append(np.flatnonzero(ok))
                cols.append((yy[ok] + dy) * side + xx[ok] + dx)
        r, c = np.concatenate(rows), np.concatenate(cols)
        w = sp.csr_matrix((rng.normal(size=r.size), (r, c)), shape=(n, n))
        net.add(Connection(f"L{l}", f"L{l + 1}", w))
    counts = {f"L{l}": rng.poisson(rates[min(l, len(rates) - 1)] * STEPS, n) for l in range(layers)}
    return net, ActivityProfile.from_counts(net, counts, steps=STEPS, batch=1, dt_s=1e-3, source="synthetic:poisson")


def lca_like(n: int = 2048, *, active: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n // 4, n))
    d /= np.linalg.norm(d, axis=0)
    w = -(d.T @ d)
    np.fill_diagonal(w, 0.0)
    net = Network(name=f"lca{n}")
    net.add(Population("lca", n, LIF()))
    net.add(Connection("lca", "lca", w))
    rate = np.where(rng.random(n) < active, rng.uniform(0.05, 0.3, n), rng.uniform(0.0, 0.002, n))
    counts = rng.poisson(rate * STEPS)
    return net, ActivityProfile.from_counts(net, {"lca": counts}, steps=STEPS, batch=1, dt_s=1e-3,
                                            source="synthetic:sparse-code")


def conv_lca(side: int = 64, *, k: int = 4, K: int = 4, lam: float = 0.5, steps: int = STEPS,
             dt_s: float = 0.1) -> tuple[Network, ActivityProfile]:
    from neurosim.backends import simulate
    from neurosim.data.samples import _gray_images, overcomplete_dct
    from neurosim.solvers.lasso_conv import ConvDictionary
    from neurosim.builders.conv_lca import build_spiking_conv_lca

    img = _gray_images()[0]
    x = img[100:100 + side, 200:200 + side].astype(np.float64)
    x = (x - x.mean()) / x.std()
    filters = overcomplete_dct(k, K).T.reshape(K, k, k)
    cd = ConvDictionary(filters, (side, side))
    net = build_spiking_conv_lca(cd, x[None], lam, nonneg=True, name="clca")
    net.name = f"conv-lca{K}x{side}"
    res = simulate(net, steps=steps, dt_s=dt_s, backend="numpy", seed=0)
    return net, res.activity
