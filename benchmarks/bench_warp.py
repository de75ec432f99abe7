"""WARP-LCA steps-to-energy vs cold-start LCA, with scikit-learn OMP as the l0 peer, and denoising.

Protocol (``shared/reference/algorithms.md`` 3(c), CPU-reproducible analogue, not the paper's setup):

* dictionary: 128 atoms for 8x8 natural-image patches, learned with scikit-learn's
  ``MiniBatchDictionaryLearning`` on 10,000 patches (seed 0); hard threshold ``lam = 1``,
  ``dt/tau = 0.1``;
* predictors (zero = cold start, ridge-linear, one-hidden-layer MLP, LISTA regressing the code or
  the state) trained on 20,000 other patches; targets are hard-LCA fixed points reached from the
  soft LASSO solution at ``0.3 lam``;
* evaluation on 500 held-out patches, 1000 steps: the first step at which the mean energy
  ``1/2||x - Da||^2 + lam^2/2 ||a||_0`` reaches the cold start's final energy (strict) and within
  1 % of it; factor = cold steps / warm steps, also counting the predictor's multiply-adds as
  LCA steps (``N^2`` each);
* peer: scikit-learn's OMP (``orthogonal_mp``, full path up to 32 atoms), keeping per patch the
  path length of least energy under the same objective (a greedy l0 solver with the same
  least-squares codes on its support as a hard-threshold LCA fixed point);
* denoising: the patch pipeline of :mod:`neurosim.studies.denoise` and the convolutional one of
  :mod:`neurosim.studies.denoise_conv` (china crop, flower training), PSNR of cold / WARP / FISTA
  at equal budgets.

Results are appended to ``benchmarks/RESULTS.md`` and the target (the best warm start reaches the
cold final energy in >= 10x fewer steps) is recorded in its summary table. ``--quick`` shrinks
everything (smoke run, recorded nowhere).
"""
from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.linear_model import orthogonal_mp  # noqa: E402

from neurosim.data.samples import image_patches  # noqa: E402
from neurosim.studies.denoise import TEST_BOX, TRAIN_BOX, add_noise, compare_patch_methods, learn_dictionary, prepare_patch_denoiser, psnr, sample_image
from neurosim.studies.denoise_conv import compare_conv_methods, prepare_conv_denoiser  # noqa: E402
from neurosim.estimators.warp import WarpLCA
from neurosim.solvers.warp import converged_states, hard_energy, steps_to_energy  # noqa: E402

from results_log import Target, append_run, machine, record_targets  # noqa: E402  (the script's folder is on path)

HEADING = "## WARP-LCA steps-to-energy and denoising (bench_warp.py)"
INTRO = ("Hard-threshold LCA on 8x8 natural-image patches (learned 128-atom dictionary, lam 1, dt/tau 0.1): "
         "steps a warm start (learned initial state) needs to reach the cold start's final energy; peer: "
         "scikit-learn OMP (full path, best length per patch under the same energy). See the script's "
         "docstring for the protocol.")
STEPS_GOAL = 10.0  # the best warm start reaches the cold final energy in >= 10x fewer steps


def warp_target(ratio: float | None, label: str) -> Target:
    """The summary-table row: steps-to-energy of the best warm start vs the cold start (``ratio``
    None when no warm start reached the cold final energy)."""
    figure = "never reached" if ratio is None else f"{ratio:.1f}x fewer steps ({label})"
    return Target("warp.steps_to_energy", "WARP-LCA, 8x8 patches: steps to the cold start's final energy, "
                  "best warm start vs cold", figure, ">= 10x fewer", ratio is not None and ratio >= STEPS_GOAL,
                  "bench_warp.py")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run); not appended to RESULTS.md")
    args = ap.parse_args(argv)
    q = args.quick
    n_dict, n_train, n_test, steps = (3000, 3000, 100, 400) if q else (10000, 20000, 500, 1000)
    t0 = time.perf_counter()
    D = learn_dictionary(image_patches(8, n_dict, seed=0), 128, seed=0, max_iter=2 if q else 5)
    lam = 1.0
    Xtr, Xte = image_patches(8, n_train, seed=1), image_patches(8, n_test, seed=2)
    t = time.perf_counter()
    U, A = converged_states(D, Xtr, lam)
    t_targets = time.perf_counter() - t
    configs = [("cold (zero)", "zero", "code", {}), ("linear ridge", "linear", "state", {}),
               ("MLP 256", "mlp", "state", {"hidden": 256, "epochs": 10 if q else 30}),
               ("LISTA-2 state", "lista", "state", {"layers": 2, "epochs": 10 if q else 40}),
               ("LISTA-2 code", "lista", "code", {"layers": 2, "epochs": 10 if q else 40}),
               ("LISTA-3 code", "lista", "code", {"layers": 3, "epochs": 10 if q else 40})]
    rows, cold = [], None
    for label, kind, target, opts in configs:
        t = time.perf_counter()
        model = WarpLCA(D, lam, predictor=kind, predictor_options=opts, target=target, steps=steps)
        if kind != "zero":
            model.fit_targets(Xtr, U, A)
        fit_s = time.perf_counter() - t
        trace, codes = model.trace(Xte, warm=kind != "zero", steps=steps)
        if cold is None:
            cold = (trace, codes)
        goal = cold[0][-1]
        k = steps_to_energy(trace, goal)
        k1 = steps_to_energy(trace, goal, rtol=0.01)
        pred = model.predictor_.macs() / D.shape[1] ** 2
        rows.append(dict(label=label, fit_s=fit_s, final=trace[-1], l0=float((codes != 0).sum(1).mean()), k=k, k1=k1,
                         pred=pred))
        print(f"{label:14s} fit {fit_s:6.1f} s  final E {trace[-1]:.4f}  l0 {rows[-1]['l0']:.3f}  k {k}  k1% {k1}",
              flush=True)
    kc, kc1 = rows[0]["k"], rows[0]["k1"]
    best = min(rows[1:], key=lambda r: r["k"] if r["k"] is not None else np.inf)
    t = time.perf_counter()
    path = orthogonal_mp(D, Xte.T, n_nonzero_coefs=32, return_path=True)  # (N, batch, 32)
    energies = np.stack([hard_energy(D, Xte, path[:, :, j].T, lam) for j in range(path.shape[2])])
    pick = energies.argmin(axis=0)
    A_omp = path[:, np.arange(Xte.shape[0]), pick].T
    omp_s = time.perf_counter() - t
    e_omp = float(energies.min(axis=0).mean())
    l0_omp = float((A_omp != 0).sum(axis=1).mean())
    print(f"OMP path: energy {e_omp:.4f}, l0 {l0_omp:.3f} in {omp_s:.2f} s", flush=True)

    # denoising at equal budgets
    clean = sample_image(TEST_BOX[0], box=TEST_BOX[1:])
    if q:
        clean = clean[32:96, 32:96]
    train = sample_image(TRAIN_BOX[0], box=TRAIN_BOX[1:])
    noisy = add_noise(clean, 0.1, seed=0)
    den = prepare_patch_denoiser(train, sigma=0.1, n_train=3000 if q else 20000, n_dict=2000 if q else 10000)
    budgets = (10, 30) if q else (10, 30, 100)
    den_rows = {("patch", s): compare_patch_methods(clean, noisy, den, steps=s) for s in budgets}
    cden = prepare_conv_denoiser(train, sigma=0.1, n_train=3000 if q else 20000, n_dict=2000 if q else 10000)
    den_rows.update({("conv", s): compare_conv_methods(clean, noisy, cden, steps=s) for s in budgets})
    total_s = time.perf_counter() - t0

    def fmt(k):
        return "never" if k is None else str(k)

    lines = [f"\n### {time.strftime('%Y-%m-%d')} — {machine()}",
             f"- command: `python benchmarks/bench_warp.py{' --quick' if q else ''}` ({total_s:.0f} s total)",
             f"- {n_train} training / {n_test} held-out patches, {steps} steps; targets computed in {t_targets:.0f} s",
             "", "| start | fit s | final energy | l0 | steps to cold final | factor | factor incl. predictor "
                 "| steps within 1 % | factor 1 % |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = (kc / r["k"]) if r["k"] else None
        fp = (kc / (r["k"] + r["pred"])) if r["k"] is not None else None
        f1 = (kc1 / r["k1"]) if r["k1"] else None
        lines.append(f"| {r['label']} | {r['fit_s']:.1f} | {r['final']:.4f} | {r['l0']:.3f} | {fmt(r['k'])} | "
                     f"{'-' if f is None else f'{f:.1f}x'} | {'-' if fp is None else f'{fp:.1f}x'} | {fmt(r['k1'])} | "
                     f"{'-' if f1 is None else f'{f1:.1f}x'} |")
    lines.append(f"| peer: sklearn OMP path, best length per patch ({omp_s:.1f} s) | - | {e_omp:.4f} | {l0_omp:.3f} "
                 "| - | - | - | - | - |")
    lines += ["", f"- denoising (china crop {clean.shape[0]}x{clean.shape[1]}, sigma 0.1, noisy "
                  f"{psnr(clean, noisy):.2f} dB), PSNR dB at equal step budgets:", "",
              "| pipeline | steps | cold LCA | WARP (LISTA) | FISTA |", "|---|---|---|---|---|"]
    for (pipeline, s), res in den_rows.items():
        r = {x.method: x.psnr for x in res}
        lines.append(f"| {pipeline} | {s} | {r['cold']:.2f} | {r['warp']:.2f} | {r['fista']:.2f} |")
    ratio = None if best["k"] is None else (kc / best["k"] if best["k"] else float("inf"))
    shown = "never reached" if ratio is None else f"{ratio:.1f}x fewer steps than cold"
    lines.append(f"\n- best warm start: {best['label']}, {shown} to the cold final energy "
                 f"(target >= 10x: {'MET' if ratio is not None and ratio >= STEPS_GOAL else 'MISSED'}); "
                 f"final energy warm/cold "
                 f"{best['final'] / rows[0]['final']:.4f}, l0 warm/cold {best['l0'] / rows[0]['l0']:.3f}; "
                 f"OMP/warm energy {e_omp / best['final']:.3f}")
    print("\n".join(lines))
    if not q:
        append_run(HEADING, INTRO, lines)
        record_targets([warp_target(ratio, best["label"])])
    return 0


if __name__ == "__main__":
    sys.exit(main())
