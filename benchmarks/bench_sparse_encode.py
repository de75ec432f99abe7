#!/usr/bin/env python
"""Batched sparse coding of 10,000 natural-image patches to a 1e-3 objective gap: neurosim vs
scikit-learn's ``sparse_encode(algorithm="lasso_cd")``.

Data: ``image_patches(8, 10000, seed=0)`` (8x8 grayscale patches of scikit-learn's two sample
images, mean removed, one global scale) over ``default_dictionary()`` (the fixed 4x overcomplete
DCT, 64 x 256, unit-norm atoms), signed LASSO ``1/2||x - D a||^2 + lam ||a||_1`` with
``lam = 1`` (``sparse_encode``'s ``alpha`` is the same penalty: it rescales by the patch size
internally).

The optimum ``F*`` of every patch comes from neurosim's FISTA run to a KKT residual of 1e-9
(not timed; checked against scikit-learn's own solution). The gap of a run is
``(sum F(a) - sum F*) / sum F*`` over the 10,000 patches; each solver runs with its cheapest
setting that reaches a gap <= 1e-3 (the row of each with the least CPU time within the gap is
compared, and neurosim is also compared with scikit-learn's default), timed as the best of
``--repeat`` runs. Wall and CPU time of this process are both reported; the verdict uses CPU
time because every solver here runs on one core and the machine is shared with other jobs,
which inflates wall times unevenly. Rows:

* scikit-learn ``sparse_encode``, lasso_cd, default ``max_iter=1000`` (what a user runs) and
  ``max_iter`` 100 and 50 (tuned down: fewer coordinate-descent sweeps for the hard patches);
* neurosim ``fista`` in float32 (KKT tolerance 0.01, 0.02, 0.03, in units of ``D^T x``, i.e.
  1-3% of ``lam``) and float64 (0.01): adaptive step, no support polishing (it pays off only
  for tight tolerances), stop test every 4 iterations;
* neurosim analog LCA (``analog_lca``): event-driven (the lateral inhibition reads only the active
  neurons' rows of ``G``), compiled, rows in parallel threads, each patch stopping once its
  fixed-point residual is at most ``tol`` (``--lca-tol`` values; dt/tau ``--lca-dt`` below the
  stability bound ``2 / ||D||^2 = 0.143``), float64 and float32 (``--no-lca`` skips it).

Targets: FISTA (issue 2) <= 0.5x scikit-learn's CPU time; analog LCA (issue 13) to a 1e-3 gap in
<= 1.0x scikit-learn's default time (wall time: the LCA uses the machine's cores, scikit-learn's
``sparse_encode`` its default ``n_jobs=None``, one). Prints a table and the ratios, updates the
summary table (``record_targets``) and appends the run to ``benchmarks/RESULTS.md``
(``--no-append``: neither).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # two BLAS threads are slower on 2 cores

import argparse  # noqa: E402
import datetime  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from neurosim.data.samples import default_dictionary, image_patches  # noqa: E402
from neurosim.solvers.lasso import fista, lasso_objective  # noqa: E402
from neurosim.solvers.lca import analog_lca  # noqa: E402
from results_log import Target, append_run, machine, record_targets  # noqa: E402  (the script's folder)

HEADING = "## Batched sparse coding of image patches vs scikit-learn sparse_encode (bench_sparse_encode.py)"
TARGET_GAP = 1e-3


def timed(fn, repeat: int):
    """Best wall time and best CPU time (this process) of ``repeat`` calls, and the last result."""
    wall, cpu, out = np.inf, np.inf, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return (wall, cpu), out


def sklearn_encode(X, D, lam, max_iter):
    from sklearn.decomposition import sparse_encode
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # per-patch warnings at max_iter
        return sparse_encode(X, D.T, algorithm="lasso_cd", alpha=lam, max_iter=max_iter, n_jobs=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of patches")
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per solver (best is kept)")
    ap.add_argument("--no-lca", action="store_true", help="skip the analog LCA row")
    ap.add_argument("--lca-steps", type=int, default=5000, help="analog LCA step cap per patch")
    ap.add_argument("--lca-dt", type=float, default=0.13, help="analog LCA dt/tau")
    ap.add_argument("--lca-tol", type=float, nargs="+", default=[0.02, 0.01], help="analog LCA settling tolerances")
    ap.add_argument("--no-append", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    D, X, lam = default_dictionary(), image_patches(8, args.n, seed=args.seed), args.lam
    t0 = time.perf_counter()
    ref = fista(D, X, lam, tol=1e-9)
    f_opt = lasso_objective(D, X, ref, lam)
    F = f_opt.sum()
    print(f"{args.n} patches 8x8, dictionary 64x256, lam {lam:g}; reference optimum in {time.perf_counter() - t0:.1f} s, "
          f"mean objective {f_opt.mean():.4f}, {np.count_nonzero(ref, axis=1).mean():.2f} non-zeros per code", flush=True)

    def gap(A):
        return float((lasso_objective(D, X, A, lam).sum() - F) / F)

    rows = []

    def add(name, seconds, A, note=""):
        rows.append(dict(name=name, s=seconds[0], cpu=seconds[1], gap=gap(A), note=note))
        r = rows[-1]
        print(f"{name:52s} wall {r['s']:7.3f} s  cpu {r['cpu']:7.3f} s  gap {r['gap']:.2e}  {note}", flush=True)

    for max_iter in (1000, 100, 50):
        s, A = timed(lambda: sklearn_encode(X, D, lam, max_iter), args.repeat)
        add(f"scikit-learn sparse_encode lasso_cd, max_iter {max_iter}", s, A,
            "default" if max_iter == 1000 else "tuned down")
    sk_default = rows[0]
    if sk_default["gap"] < -1e-9:
        print("warning: scikit-learn found a lower objective than the reference optimum", flush=True)
    for dtype in (np.float32, np.float64):
        for tol in (0.01, 0.02, 0.03):
            if dtype == np.float64 and tol != 0.01:
                continue
            s, A = timed(lambda: fista(D, X, lam, tol=tol, check_every=4, polish_every=0, dtype=dtype), args.repeat)
            add(f"neurosim fista {np.dtype(dtype).name}, KKT tol {tol:g}", s, A)
    if not args.no_lca:
        for dtype in (np.float64, np.float32):
            for tol in args.lca_tol:
                analog_lca(D, X[:64], lam, steps=20, dt_over_tau=args.lca_dt, tol=tol, dtype=dtype)  # load kernels
                s, A = timed(lambda: analog_lca(D, X, lam, threshold="soft", steps=args.lca_steps,
                                                dt_over_tau=args.lca_dt, tol=tol, dtype=dtype), args.repeat)
                add(f"neurosim analog LCA {np.dtype(dtype).name}, event-driven, tol {tol:g}", s, A,
                    f"dt/tau {args.lca_dt:g}, per-patch stop")

    def fastest(prefix, key="cpu"):
        ok = [r for r in rows if r["name"].startswith(prefix) and r["gap"] <= TARGET_GAP]
        return min(ok, key=lambda r: r[key]) if ok else None  # CPU time: less disturbed by other jobs

    ours, sk_best = fastest("neurosim fista"), fastest("scikit-learn")
    notes = []
    if ours is None:
        notes.append("no neurosim FISTA run reached the 1e-3 gap: target MISSED")
    else:
        for label, r in (("scikit-learn default", sk_default), ("fastest scikit-learn setting within 1e-3", sk_best)):
            if r is None or r["gap"] > TARGET_GAP:
                continue
            ratio, cpu_ratio = ours["s"] / r["s"], ours["cpu"] / r["cpu"]
            notes.append(f"fastest neurosim within 1e-3 ({ours['name']}) / {label} ({r['name']}): CPU-time ratio "
                         f"{cpu_ratio:.2f} (target <= 0.5: {'met' if cpu_ratio <= 0.5 else 'MISSED'}), wall-time "
                         f"ratio {ratio:.2f} ({'met' if ratio <= 0.5 else 'MISSED'})")
    targets = []
    if ours is not None and sk_default is not None and sk_default["gap"] <= TARGET_GAP:
        cpu_ratio = ours["cpu"] / sk_default["cpu"]
        targets.append(Target("sparse_encode.cpu_vs_sklearn_default", "Sparse coding of 10000 patches to a 1e-3 gap: "
                              "fastest neurosim vs scikit-learn sparse_encode (default), CPU time",
                              f"{cpu_ratio:.2f}x ({ours['name'].removeprefix('neurosim ')})", "<= 0.5x",
                              cpu_ratio <= 0.5, "bench_sparse_encode.py"))
    lca = fastest("neurosim analog LCA", key="s")
    if lca is not None:
        ratio = lca["s"] / sk_default["s"]
        notes.append(f"fastest analog LCA within 1e-3 ({lca['name']}, gap {lca['gap']:.1e}) / scikit-learn default: "
                     f"wall-time ratio {ratio:.2f} (target <= 1.0: {'met' if ratio <= 1.0 else 'MISSED'}); CPU-time "
                     f"ratio {lca['cpu'] / sk_default['cpu']:.2f}")
        targets.append(Target("sparse_encode.analog_lca_vs_sklearn_default", "analog LCA, 10k 8x8 patches to a 1e-3 gap vs scikit-learn "
                              "sparse_encode default (wall)", f"{ratio:.2f}x ({lca['s']:.2f} s vs {sk_default['s']:.2f} s, "
                              f"{lca['name'].split('LCA ')[1]}; load {machine().split('load average')[1].strip()})",
                              "<= 1.0x", ratio <= 1.0, "bench_sparse_encode.py"))
    elif not args.no_lca:
        notes.append("no analog LCA run reached the 1e-3 gap: target MISSED")
        targets.append(Target("sparse_encode.analog_lca_vs_sklearn_default", "analog LCA, 10k 8x8 patches to a 1e-3 gap vs scikit-learn "
                              "sparse_encode default (wall)", "no run within 1e-3", "<= 1.0x", False,
                              "bench_sparse_encode.py"))
    for n in notes:
        print(n)
    if not args.no_append:
        if targets:
            record_targets(targets)
        _append(args, rows, notes)
    return 0


def _append(args, rows: list[dict], notes: list[str]) -> None:
    out = [f"\n### {datetime.date.today().isoformat()} — {args.n} patches, lam {args.lam:g}, best of {args.repeat}",
           f"- machine: {machine()}",
           f"- command: `{' '.join(['python', 'benchmarks/bench_sparse_encode.py'] + sys.argv[1:])}`",
           "", "| solver | wall s | CPU s | relative objective gap |", "|---|---|---|---|"]
    out += [f"| {r['name']} | {r['s']:.3f} | {r['cpu']:.3f} | {r['gap']:.2e} |" for r in rows]
    out += [""] + [f"- {n}" for n in notes] + [""]
    append_run(HEADING, "See the docstring of `benchmarks/bench_sparse_encode.py`.", out)


if __name__ == "__main__":
    sys.exit(main())
