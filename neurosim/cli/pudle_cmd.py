"""``neurosim pudle``: learn a dictionary with the unrolled ISTA autoencoder (PUDLE).

    neurosim pudle [--data planted|digits|patches] [--n N] [--T T]
                   [--estimator g_dec|g_ae-ls|g_ae-lasso|g_noodl] [--threshold soft|nonneg|hard]
                   [--hard-threshold H] [--lam-decay] [--lam LAM] [--alpha A] [--atoms P]
                   [--epochs E] [--lr LR] [--batch-size B] [--init-noise S] [--seed S]
                   [--out DICT.npz] [--plot CURVE.png] [--force] [--no-progress]

``planted`` (default) is the paper's synthetic problem: ``D*`` 50 x 100 Gaussian unit-norm, 5-sparse
codes with magnitudes U[1, 2], n = 10,000, initial dictionary ``normalise(D* + 0.1 N(0, 1))``; the
recovery error ``||D - D*||_F / ||D*||_F`` and the max-column sine distance are tracked after every
step. ``digits`` uses scikit-learn's 1797 8x8 digits (values / 16, mean image removed, divided by the
pixel standard deviation); ``patches`` 8x8 patches of scikit-learn's sample images
(:func:`neurosim.data.samples.image_patches`); both start from a random unit-norm dictionary and track the
training loss. ``--out`` writes (atomically) an ``.npz`` with ``dictionary`` (m x p), ``loss_curve``
and, for planted data, ``D_true``, ``rel_error`` and ``max_sine``; ``--plot`` the error curve.
Nothing is replaced without ``--force``.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import sys
from typing import Optional

import numpy as np

from neurosim.cli.common import seed_arg
from neurosim.cli.errors import UsageError
from neurosim.io.outpaths import check_outputs
from neurosim.data.planted import make_planted
from neurosim.errors import describe
from neurosim.estimators.pudle import PUDLE, RecoveryCurve, max_sine_distance, relative_error
from neurosim.io.atomic import atomic_save_npz, atomic_write_bytes
from neurosim.solvers.pudle_grad import ESTIMATORS, THRESHOLDS

DATA = ("planted", "digits", "patches")
#: defaults per data set: samples, atoms
N_DIGITS = 1797  # images in scikit-learn's bundled digits
DEFAULT_N = {"planted": 10_000, "digits": N_DIGITS, "patches": 10_000}
DEFAULT_ATOMS = {"planted": 100, "digits": 100, "patches": 128}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pudle", help="learn a dictionary with the unrolled ISTA autoencoder (PUDLE)",
        description="Train the tied-weight unrolled ISTA autoencoder (Tolooshams & Ba 2022) with a chosen "
                    "gradient estimator on a planted problem or on bundled real data.")
    p.add_argument("--data", choices=DATA, default="planted", help="training data (default planted)")
    p.add_argument("--n", type=int, help="number of samples (defaults: planted 10000, digits 1797, patches 10000)")
    p.add_argument("--T", type=int, default=50, help="unrolled ISTA layers (default 50)")
    p.add_argument("--estimator", choices=ESTIMATORS, default="g_ae-ls", help="gradient estimator (default g_ae-ls)")
    p.add_argument("--threshold", choices=THRESHOLDS, default="soft", help="encoder threshold (default soft)")
    p.add_argument("--hard-threshold", type=float, help="threshold of --threshold hard (default 0.1)")
    p.add_argument("--lam-decay", action="store_true", help="multiply the threshold by 1 - 0.005 every 100 steps")
    p.add_argument("--lam", type=float, default=0.2, help="LASSO weight lambda (default 0.2)")
    p.add_argument("--alpha", type=float, default=0.2, help="ISTA step (default 0.2; needs alpha ||D||^2 < 2)")
    p.add_argument("--atoms", type=int, help="dictionary atoms p (defaults: planted 100, digits 100, patches 128)")
    p.add_argument("--epochs", type=int, default=600, help="passes over the data (default 600)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3 for Adam, 1.0 for g_noodl's plain step)")
    p.add_argument("--batch-size", type=int, help="mini-batch size (default: full batch)")
    p.add_argument("--init-noise", type=float, help="planted: initial dictionary noise (default 0.1)")
    p.add_argument("--seed", type=seed_arg, default=0,
                   help="seed of the data and of the initial dictionary (default 0)")
    p.add_argument("--out", metavar="DICT.npz", help="write the learned dictionary and curves")
    p.add_argument("--plot", metavar="CURVE.png", help="write a plot of the error (or loss) curve")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    for flag, value in (("--T", args.T), ("--epochs", args.epochs), ("--n", args.n), ("--atoms", args.atoms),
                        ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise UsageError(describe("argument", flag, "must be positive", got=value, expected="an integer >= 1"))
    for flag, value, strict in (("--lam", args.lam, False), ("--alpha", args.alpha, True), ("--lr", args.lr, True),
                                ("--init-noise", args.init_noise, False),
                                ("--hard-threshold", args.hard_threshold, False)):
        if value is not None and not (math.isfinite(value) and (value > 0 if strict else value >= 0)):
            raise UsageError(describe("argument", flag, "out of range", got=value,
                                      expected=f"a finite number {'>' if strict else '>='} 0"))
    if args.hard_threshold is not None and args.threshold != "hard":
        raise UsageError(describe("argument", "--hard-threshold", "has no effect without --threshold hard",
                                  got=f"--threshold {args.threshold}", expected="--threshold hard"))
    if args.init_noise is not None and args.data != "planted":
        raise UsageError(describe("argument", "--init-noise", "has no effect on real data (only the planted "
                                  "problem starts from a noisy true dictionary)", got=f"--data {args.data}",
                                  expected="--data planted"))
    if args.data == "digits" and args.n is not None and args.n > N_DIGITS:
        raise UsageError(describe("argument", "--n", f"scikit-learn's digits has only {N_DIGITS} images",
                                  got=args.n, expected=f"<= {N_DIGITS}"))
    args.hard_threshold = 0.1 if args.hard_threshold is None else args.hard_threshold
    args.init_noise = 0.1 if args.init_noise is None else args.init_noise
    check_outputs([("--out", args.out), ("--plot", args.plot)], force=args.force)


def load_data(args: argparse.Namespace):
    """``(X (n, m), D_init (m, p), D_true or None, description)`` for ``args.data``."""
    n = args.n or DEFAULT_N[args.data]
    p = args.atoms or DEFAULT_ATOMS[args.data]
    rng = np.random.default_rng(args.seed)
    if args.data == "planted":
        prob = make_planted(m=50, p=p, s=5, n=n, init_noise=args.init_noise, seed=args.seed)
        return prob.X, prob.D_init, prob.D_true, f"planted problem m=50, p={p}, s=5, n={n}"
    if args.data == "digits":
        from neurosim.data.samples import digits

        X, _ = digits()
        if n < X.shape[0]:
            X = X[rng.choice(X.shape[0], n, replace=False)]
        X = X - X.mean(axis=0)
        X /= X.std() or 1.0
        desc = f"scikit-learn digits: {X.shape[0]} images 8x8"
    else:
        from neurosim.data.samples import image_patches

        X = image_patches(8, n, seed=args.seed)
        desc = f"{n} 8x8 patches of scikit-learn's sample images"
    D0 = rng.standard_normal((X.shape[1], p))
    return X, D0 / np.linalg.norm(D0, axis=0), None, desc


def _plot(path: str, steps: np.ndarray, curves: dict, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, ys in curves.items():
        ax.semilogy(steps[:len(ys)], ys, label=label)
    ax.set_xlabel("step (mini-batch)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    X, D0, D_true, desc = load_data(args)
    lr = args.lr if args.lr is not None else (1.0 if args.estimator == "g_noodl" else 1e-3)
    optimizer = "sgd" if args.estimator == "g_noodl" else "adam"
    steps_per_epoch = 1 if args.batch_size is None else -(-X.shape[0] // min(args.batch_size, X.shape[0]))
    total = args.epochs * steps_per_epoch
    print(f"{desc}; {args.estimator}, T={args.T}, lam={args.lam:g}, alpha={args.alpha:g}, threshold {args.threshold}"
          f"{' with lambda decay' if args.lam_decay else ''}; {optimizer} lr {lr:g}, {total} steps")
    curve = RecoveryCurve(D_true) if D_true is not None else None
    losses: list[float] = []
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=f"pudle {args.estimator}", unit="step", file=sys.stderr, mininterval=0.5)

    def callback(step: int, est: PUDLE, info: dict) -> Optional[bool]:
        if curve is not None:
            curve(step, est, info)
        if step > 0:
            losses.append(info["loss_ls"])
            if bar is not None:
                bar.update(1)
                post = {"loss": f"{info['loss_ls']:.4g}"}
                if curve is not None:
                    post["err"] = f"{curve.rel_error[-1]:.4f}"
                bar.set_postfix(post, refresh=False)
        return None

    model = PUDLE(D0.shape[1], T=args.T, lam=args.lam, alpha=args.alpha, threshold=args.threshold,
                  hard_threshold=args.hard_threshold, estimator=args.estimator, optimizer=optimizer, lr=lr,
                  epochs=args.epochs, batch_size=args.batch_size, lam_decay=args.lam_decay, callback=callback,
                  random_state=args.seed)
    try:
        model.fit(X, D_init=D0)
    finally:
        if bar is not None:
            bar.close()
    D = model.dictionary_
    print(f"trained {model.n_steps_} steps in {model.fit_time_s_:.2f} s; final loss {losses[-1]:.6g}")
    arrays = {"dictionary": D, "loss_curve": np.asarray(losses),
              "settings": np.array(json.dumps({k: v for k, v in vars(args).items() if k != "func"}))}
    if curve is not None:
        print(f"relative error ||D - D*||/||D*||: {curve.rel_error[0]:.4f} -> {relative_error(D, D_true):.4f} "
              f"(min {min(curve.rel_error):.4f}); max sine distance {max_sine_distance(D, D_true):.4f}")
        arrays.update(D_true=D_true, rel_error=np.asarray(curve.rel_error), max_sine=np.asarray(curve.max_sine))
    if args.out:
        atomic_save_npz(args.out, **arrays)
        print(f"wrote {args.out}")
    if args.plot:
        if curve is not None:
            _plot(args.plot, np.asarray(curve.steps), {"relative error": curve.rel_error, "max sine": curve.max_sine},
                  title=f"PUDLE {args.estimator}, T={args.T}: recovery of D*")
        else:
            _plot(args.plot, np.arange(1, len(losses) + 1), {"loss 1/2||x - Dz||^2": losses},
                  title=f"PUDLE {args.estimator}, T={args.T}: training loss on {args.data}")
        print(f"wrote {args.plot}")
    return 0
