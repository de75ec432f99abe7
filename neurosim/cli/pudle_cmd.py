"""``neurosim pudle``: learn a dictionary with the unrolled ISTA autoencoder (PUDLE).

    neurosim pudle [--data planted|digits|patches] [--n N] [--T T]
                   [--estimator g_dec|g_ae-ls|g_ae-lasso|g_noodl] [--threshold soft|nonneg|hard]
                   [--hard-threshold H] [--lam-decay] [--lam LAM] [--alpha A] [--atoms P]
                   [--epochs E] [--lr LR] [--batch-size B] [--tol TOL] [--n-iter-no-change K]
                   [--init-noise S] [--seed S] [--out DICT.npz] [--plot CURVE.png]
                   [--checkpoint CK.npz] [--checkpoint-every N] [--resume] [--stop-after N]
                   [--max-memory SIZE] [--max-duration T] [--force] [--no-progress]

``planted`` (default) is the paper's synthetic problem: ``D*`` 50 x 100 Gaussian unit-norm, 5-sparse
codes with magnitudes U[1, 2], n = 10,000, initial dictionary ``normalise(D* + 0.1 N(0, 1))``; the
recovery error ``||D - D*||_F / ||D*||_F`` and the max-column sine distance are tracked after every
step. ``digits`` uses scikit-learn's 1797 8x8 digits (values / 16, mean image removed, divided by the
pixel standard deviation); ``patches`` 8x8 patches of scikit-learn's sample images
(:func:`neurosim.data.samples.image_patches`); both start from a random unit-norm dictionary and track the
training loss. ``--out`` writes (atomically) an ``.npz`` with ``dictionary`` (m x p), ``loss_curve``
and, for planted data, ``D_true``, ``rel_error`` and ``max_sine``; ``--plot`` the error curve.
Nothing is replaced without ``--force``.

Defaults: Adam (lr 1e-3) on mini-batches of 500 samples, 600 steps at most (planted and patches:
30 epochs of 20 steps; digits: 150 epochs of 4), ending early once the epoch-mean loss has not
improved by 0.1 % (``--tol``) for 3 epochs (``--n-iter-no-change``). On the planted problem this
reaches a lower recovery error (0.016) than the paper's full-batch protocol (600 full-batch steps:
0.022), below g_dec's floor, in 4 % of the work (500 steps of 500 samples instead of 600 of 10,000:
about 25 s of one core instead of 11 min); ``--batch-size 10000 --epochs 600 --tol 0`` is that
protocol. The estimated duration is announced before a long run and a progress bar with the
time left is drawn on stderr (unless ``--no-progress``); a run estimated beyond ``--max-memory`` or
``--max-duration`` is refused before any data is made.

``--checkpoint CK.npz`` writes the training state atomically every ``--checkpoint-every`` steps
and at the end; ``--resume`` continues from it and reaches the same dictionary, bit for bit, as an
uninterrupted run with the same arguments (the checkpoint holds Adam's moments, the random
generator's state and the epoch's sample order). A damaged checkpoint, or one of a run with other
settings, is refused naming the file and the entry. ``--stop-after N`` stops after N steps,
leaving the checkpoint (like an interrupted run).
"""
from __future__ import annotations

import argparse
import io
import json
import math
import sys
from typing import Optional

import numpy as np

from neurosim.app.pudle_checkpoint import load_pudle_checkpoint, save_pudle_checkpoint
from neurosim.cli.common import add_limit_options, announce, limits_of, seed_arg
from neurosim.cli.errors import UsageError
from neurosim.io.outpaths import check_outputs
from neurosim.data.planted import make_planted
from neurosim.errors import describe
from neurosim.estimators.pudle import PUDLE, RecoveryCurve, max_sine_distance, relative_error
from neurosim.guard import GEMM_MACS_PER_S, check_duration, check_memory, estimate_seconds
from neurosim.io.atomic import atomic_save_npz, atomic_write_bytes
from neurosim.solvers.pudle_grad import ESTIMATORS, THRESHOLDS

DATA = ("planted", "digits", "patches")
#: defaults per data set: samples, atoms
N_DIGITS = 1797  # images in scikit-learn's bundled digits
DEFAULT_N = {"planted": 10_000, "digits": N_DIGITS, "patches": 10_000}
DEFAULT_ATOMS = {"planted": 100, "digits": 100, "patches": 128}
#: values per sample of each data set
DIMENSION = {"planted": 50, "digits": 64, "patches": 64}
#: default mini-batch, and epochs per data set: at most 600 steps of 500 samples
DEFAULT_BATCH = 500
DEFAULT_EPOCHS = {"planted": 30, "digits": 150, "patches": 30}
#: default early stopping: relative improvement of the epoch-mean loss, epochs without it
DEFAULT_TOL, DEFAULT_NO_CHANGE = 1e-3, 3
#: settings that must match between a checkpoint and a resumed run
RESUME_KEYS = ("data", "n", "atoms", "T", "estimator", "threshold", "hard_threshold", "lam_decay", "lam", "alpha",
               "epochs", "lr", "batch_size", "tol", "n_iter_no_change", "init_noise", "seed")


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
    p.add_argument("--epochs", type=int,
                   help="passes over the data, at most (defaults: planted 30, digits 150, patches 30)")
    p.add_argument("--lr", type=float, help="learning rate (default 1e-3 for Adam, 1.0 for g_noodl's plain step)")
    p.add_argument("--batch-size", type=int,
                   help=f"mini-batch size; at least --n is full batch (default {DEFAULT_BATCH})")
    p.add_argument("--tol", type=float, default=DEFAULT_TOL,
                   help="stop once the epoch-mean loss has not fallen by this fraction of its best for "
                        f"--n-iter-no-change epochs; 0 trains every epoch (default {DEFAULT_TOL:g})")
    p.add_argument("--n-iter-no-change", type=int, default=DEFAULT_NO_CHANGE, metavar="K",
                   help=f"epochs without improvement before stopping (default {DEFAULT_NO_CHANGE})")
    p.add_argument("--init-noise", type=float, help="planted: initial dictionary noise (default 0.1)")
    p.add_argument("--seed", type=seed_arg, default=0,
                   help="seed of the data and of the initial dictionary (default 0)")
    p.add_argument("--out", metavar="DICT.npz", help="write the learned dictionary and curves")
    p.add_argument("--plot", metavar="CURVE.png", help="write a plot of the error (or loss) curve")
    p.add_argument("--checkpoint", metavar="CK.npz", help="checkpoint file (written atomically)")
    p.add_argument("--checkpoint-every", type=int, metavar="N", help="steps between checkpoints (default: 10 per run)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="stop once N steps are done, leaving the checkpoint (like an interrupted run)")
    add_limit_options(p)
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    for flag, value in (("--T", args.T), ("--epochs", args.epochs), ("--n", args.n), ("--atoms", args.atoms),
                        ("--batch-size", args.batch_size), ("--n-iter-no-change", args.n_iter_no_change),
                        ("--checkpoint-every", args.checkpoint_every), ("--stop-after", args.stop_after)):
        if value is not None and value < 1:
            raise UsageError(describe("argument", flag, "must be positive", got=value, expected="an integer >= 1"))
    for flag, value, strict in (("--lam", args.lam, False), ("--alpha", args.alpha, True), ("--lr", args.lr, True),
                                ("--init-noise", args.init_noise, False),
                                ("--hard-threshold", args.hard_threshold, False)):
        if value is not None and not (math.isfinite(value) and (value > 0 if strict else value >= 0)):
            raise UsageError(describe("argument", flag, "out of range", got=value,
                                      expected=f"a finite number {'>' if strict else '>='} 0"))
    if not (math.isfinite(args.tol) and 0 <= args.tol < 1):
        raise UsageError(describe("argument", "--tol", "out of range", got=args.tol, expected="0 <= tol < 1"))
    if args.resume and not args.checkpoint:
        raise UsageError(describe("option", "--resume", "needs --checkpoint", expected="--checkpoint CK.npz"))
    for flag, value in (("--checkpoint-every", args.checkpoint_every), ("--stop-after", args.stop_after)):
        if value is not None and not args.checkpoint:
            raise UsageError(describe("option", flag, "has no effect without --checkpoint", got=value,
                                      expected="--checkpoint CK.npz"))
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
    check_outputs([("--out", args.out), ("--plot", args.plot), ("--checkpoint", args.checkpoint)], force=args.force,
                  keep=("--checkpoint",) if args.resume else ())


def settings(args: argparse.Namespace, n: int) -> dict:
    """The run's settings with every default resolved (what a checkpoint must match)."""
    return {"data": args.data, "n": n, "atoms": args.atoms or DEFAULT_ATOMS[args.data], "T": args.T,
            "estimator": args.estimator, "threshold": args.threshold, "hard_threshold": args.hard_threshold,
            "lam_decay": args.lam_decay, "lam": args.lam, "alpha": args.alpha,
            "epochs": args.epochs or DEFAULT_EPOCHS[args.data],
            "lr": args.lr if args.lr is not None else (1.0 if args.estimator == "g_noodl" else 1e-3),
            "batch_size": min(args.batch_size or DEFAULT_BATCH, n), "tol": args.tol,
            "n_iter_no_change": args.n_iter_no_change, "init_noise": args.init_noise, "seed": args.seed}


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
    n, m = args.n or DEFAULT_N[args.data], DIMENSION[args.data]
    s = settings(args, n)
    optimizer = "sgd" if args.estimator == "g_noodl" else "adam"
    model = PUDLE(s["atoms"], T=args.T, lam=args.lam, alpha=args.alpha, threshold=args.threshold,
                  hard_threshold=args.hard_threshold, estimator=args.estimator, optimizer=optimizer, lr=s["lr"],
                  epochs=s["epochs"], batch_size=s["batch_size"], tol=s["tol"] or None,
                  n_iter_no_change=s["n_iter_no_change"], lam_decay=args.lam_decay, random_state=args.seed)
    total = s["epochs"] * model.steps_per_epoch(n)
    seconds = estimate_seconds(total * model.step_macs(n, m), rate=GEMM_MACS_PER_S)
    limits = limits_of(args)  # before any data is made
    memory = 8.0 * (3 * n * m + (args.T + 8) * s["atoms"] * s["batch_size"] + 6 * m * s["atoms"])
    check_memory("--n/--T/--batch-size", memory, limits, detail=f"{n} samples of {m} values, {args.T} stored "
                 f"iterates of {s['atoms']} x {s['batch_size']}")
    check_duration("--epochs", seconds, limits, detail=f"{total} steps of {s['batch_size']} samples, "
                   f"T={args.T}, {s['atoms']} atoms")
    X, D0, D_true, desc = load_data(args)
    curve = RecoveryCurve(D_true) if D_true is not None else None
    state = model.initial_state(X, D_init=D0)
    ck = args.checkpoint
    if args.resume:  # every entry checked against a fresh state before training resumes
        state, saved = load_pudle_checkpoint(ck, settings=s, keys=RESUME_KEYS, model=model, fresh=state,
                                             curves={"steps": 1, "rel_error": 1, "max_sine": 1} if curve else {})
        if curve is not None:
            curve.steps = [int(k) for k in saved["steps"]]
            curve.rel_error, curve.max_sine = list(saved["rel_error"]), list(saved["max_sine"])
            curve.loss = [np.nan] + list(state.loss_curve)
    print(f"{desc}; {args.estimator}, T={args.T}, lam={args.lam:g}, alpha={args.alpha:g}, threshold {args.threshold}"
          f"{' with lambda decay' if args.lam_decay else ''}; {optimizer} lr {s['lr']:g}, batch {s['batch_size']}, "
          f"at most {total} steps" + (f" (early stop: tol {s['tol']:g}, {s['n_iter_no_change']} epochs)"
                                      if s["tol"] else "")
          + (f"; resuming at step {state.steps}" if args.resume else ""), flush=True)
    announce(f"{total - state.steps} PUDLE steps", seconds * (total - state.steps) / max(total, 1),
             bound=f"every epoch without early stopping, at a nominal {GEMM_MACS_PER_S / 1e9:g}e9 multiply-adds "
                   "per second")
    every = args.checkpoint_every or max(1, total // 10)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=state.steps, desc=f"pudle {args.estimator}", unit="step", file=sys.stderr,
                   mininterval=0.5)
    stopped = [False]

    def checkpoint(est: PUDLE) -> None:
        if ck is not None:
            save_pudle_checkpoint(ck, est.state_, s, curves={} if curve is None else
                                  {"steps": curve.steps, "rel_error": curve.rel_error, "max_sine": curve.max_sine})

    def callback(step: int, est: PUDLE, info: dict) -> Optional[bool]:
        if curve is not None:
            curve(step, est, info)
        if step == 0:
            return None
        if bar is not None:
            bar.update(step - bar.n)
            post = {"loss": f"{info['loss_ls']:.4g}"}
            if curve is not None:
                post["err"] = f"{curve.rel_error[-1]:.4f}"
            bar.set_postfix(post, refresh=False)
        if step % every == 0:
            checkpoint(est)
        if args.stop_after is not None and step >= args.stop_after and step < total and not est.state_.converged:
            checkpoint(est)
            stopped[0] = True
            return True
        return None

    model.callback = callback
    try:
        model.fit(X, state=state)
    finally:
        if bar is not None:
            bar.close()
    if stopped[0]:
        print(f"stopped after {model.n_steps_} of at most {total} steps; checkpoint {ck}")
        return 0
    checkpoint(model)
    D = model.dictionary_
    losses = model.loss_curve_
    how = (f"converged after {model.state_.epoch} epochs (epoch-mean loss no better by {s['tol']:g} for "
           f"{s['n_iter_no_change']} epochs)" if model.converged_ else f"all {s['epochs']} epochs")
    print(f"trained {model.n_steps_} steps in {model.fit_time_s_:.2f} s, {how}; final loss {losses[-1]:.6g}")
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
