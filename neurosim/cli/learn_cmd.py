"""``neurosim learn``: learn a non-negative dictionary with Lin & Tang's local network or SGD.

    neurosim learn --data patches8|patches16|digits|planted [--atoms N]
                   [--method local-rate|local-spiking|sgd] [--epochs E | --samples N] [--batch B]
                   [--lam LAM] [--eta ETA] [--lambda2 L2] [--kappa K] [--eta-h-ratio R]
                   [--train N] [--test N] [--eval-every N] [--seed S] --out DICT.npz [--force]
                   [--checkpoint CK.npz] [--checkpoint-every N] [--resume] [--stop-after N]
                   [--plots DIR] [--no-progress]
                   [--chip NAME|FILE [--map-out DIR] [--activity-out ACT.npz] [--time-budget S]]

Data (all non-negative, nothing downloaded): random 8x8 / 16x16 patches of scikit-learn's sample
images (mean removed, one global scale, split into positive and negative channels), scikit-learn's
digits (scaled to [0, 1]), or a planted non-negative dictionary (64 x ATOMS, 3-5-sparse codes).
Held-out test inputs are drawn independently with another seed. ``DICT.npz`` holds ``D`` (M, N)
(atoms in columns), for the local methods also ``F``, ``H``, ``s``, the history (test objective,
consistency, symmetry, mean atom norm, per ``--eval-every`` samples), the run's settings as JSON
and ``convergence`` (JSON, :func:`neurosim.estimators.convergence.training_convergence`: converged
when the held-out objective changed by at most 1 % over the last quarter of the training; the
command prints the verdict in one line and, when not converged, what to do).

Checkpoints are written atomically every ``--checkpoint-every`` samples; ``--resume`` continues
from ``--checkpoint`` and reaches the same dictionary as an uninterrupted run with the same
arguments (the checkpoint stores the random generator's state and the epoch order).

With ``--chip`` (local methods) the learning network is checked against the chip before training
and, after it, mapped with the training run's activity: ``report.json``, ``placement.json``,
``summary.txt``, plots and ``network.npz`` in ``--map-out`` (default ``<out stem>_map``), and a
short cost summary (energy, learning-update share, latency per step, cores), every figure marked
*simulated* or *modelled*. The activity is simulated for ``local-spiking``; for ``local-rate`` it is
modelled from the rate model's fixed points with the spiking network's accounting (each neuron
firing at its fixed-point rate), so the two methods' figures are comparable. It covers the samples
of this invocation only (:mod:`neurosim.cli.learn_map`).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

from neurosim.app.checkpoint import load_checkpoint, save_checkpoint
from neurosim.cli import learn_map
from neurosim.cli.common import add_limit_options, announce, limits_of, seed_arg
from neurosim.cli.errors import UsageError
from neurosim.io.outpaths import check_outputs, check_path
from neurosim.data.planted import channel_split, planted_nonneg
from neurosim.errors import describe
from neurosim.guard import MACS_PER_S, check_duration, check_memory, format_bytes
from neurosim.estimators.convergence import training_convergence
from neurosim.estimators.dictlearn import LocalDictionaryLearning, TrainState
from neurosim.estimators.sgd_dict import SGDDictionaryLearning
from neurosim.io.atomic import atomic_save_npz, check_writable
from neurosim.io.runrecord import RECORD, replaceable

log = logging.getLogger(__name__)

DATA = ("patches8", "patches16", "digits", "planted")
METHODS = ("local-rate", "local-spiking", "sgd")
#: per data source: atoms, penalty, training / test samples, passes over the training set
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    "patches8": {"atoms": 128, "lam": 0.5, "train": 20000, "test": 1000, "epochs": 1.0},
    "patches16": {"atoms": 256, "lam": 1.0, "train": 20000, "test": 500, "epochs": 1.0},
    "digits": {"atoms": 64, "lam": 0.1, "train": 1500, "test": 297, "epochs": 1.0},
    "planted": {"atoms": 128, "lam": 0.1, "train": 20000, "test": 1000, "epochs": 3.0},
}
#: files ``--plots`` writes
PLOT_FILES = ("atoms.png", "training.png")
#: input dimension ``M`` of each data source
DIMENSION = {"patches8": 128, "patches16": 512, "digits": 64, "planted": 64}
#: multiply-adds per sample and per ``N^2 + M N`` of each method (measured, rounded up; estimates only)
MACS_PER_SAMPLE = {"local-rate": 150, "local-spiking": 700, "sgd": 120}
#: settings that must match between a checkpoint and a resumed run
RESUME_KEYS = ("data", "atoms", "method", "batch", "lam", "eta", "lambda2", "kappa", "eta_h_ratio", "train", "seed",
               "total", "init", "test")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "learn", help="learn a non-negative dictionary (Lin & Tang local network, or SGD)",
        description="Learn a non-negative dictionary with Lin & Tang's two-phase network and strictly local "
                    "plasticity (rate or spiking model), or with the non-local SGD baseline.")
    p.add_argument("--data", choices=DATA, default="planted", help="training data (default planted)")
    p.add_argument("--atoms", type=int, metavar="N", help="dictionary size (default per data: " +
                   ", ".join(f"{k} {v['atoms']}" for k, v in DATA_DEFAULTS.items()) + ")")
    p.add_argument("--method", choices=METHODS, default="local-rate", help="learner (default local-rate)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=float, metavar="E", help="passes over the training set (default per data: " +
                   ", ".join(f"{k} {v['epochs']:g}" for k, v in DATA_DEFAULTS.items()) + ")")
    g.add_argument("--samples", type=int, metavar="N", help="training samples in total")
    p.add_argument("--batch", type=int, default=16, metavar="B", help="inputs per update (default 16; 1 = online)")
    p.add_argument("--lam", type=float, metavar="LAM", help="sparsity penalty (default per data)")
    p.add_argument("--eta", type=float, metavar="ETA",
                   help="learning rate (eta_D of the local rule); auto: eta_H = 3/4 of the least-mean-squares "
                        "optimal step for typical codes and eta_D = eta_H / --eta-h-ratio, see "
                        "LocalDictionaryLearning.resolve_rates (default auto)")
    p.add_argument("--lambda2", type=float, metavar="L2",
                   help="weight decay of the local rule (default 'auto': lam x mean typical code, keeps atom norms "
                        "near 1)")
    p.add_argument("--kappa", type=float, default=0.7, help="feedback strength of phase 2 (default 0.7)")
    p.add_argument("--eta-h-ratio", type=float, default=15.0, metavar="R",
                   help="eta_H / eta_D: higher keeps H closer to FB; with --eta auto, eta_H is set by the data and "
                        "a lower ratio raises eta_D (default 15, the paper's)")
    p.add_argument("--init", choices=("random", "data", "asymmetric"), default="random",
                   help="initial weights (default random)")
    p.add_argument("--train", type=int, metavar="N", help="training set size (default per data)")
    p.add_argument("--test", type=int, metavar="N", help="held-out set size (default per data)")
    p.add_argument("--eval-every", type=int, metavar="N", help="history every N samples (default: 20 points)")
    p.add_argument("--seed", type=seed_arg, default=0,
                   help="seed of data, initial weights and sample order (default 0)")
    p.add_argument("--out", required=True, metavar="DICT.npz", help="where to write the learned dictionary")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--checkpoint", metavar="CK.npz", help="checkpoint file (written atomically)")
    p.add_argument("--checkpoint-every", type=int, metavar="N", help="samples between checkpoints (default: 10 per run)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--stop-after", type=int, metavar="N",
                   help="stop once N samples are done, leaving the checkpoint (like an interrupted run)")
    p.add_argument("--plots", metavar="DIR", help="write atoms.png and training.png into DIR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_limit_options(p)
    learn_map.add_options(p)
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
def load_data(name: str, *, train: int, test: int, atoms: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Training and held-out inputs (non-negative) and plotting metadata."""
    from neurosim.data.samples import digits, image_patches

    if name.startswith("patches"):
        size = int(name[len("patches"):])
        X = channel_split(image_patches(size, train, seed=seed))
        Xt = channel_split(image_patches(size, test, seed=seed + 7919))
        return X, Xt, {"shape": (size, size), "split": True}
    if name == "digits":
        X, _ = digits()
        order = np.random.default_rng(seed).permutation(len(X))
        if train + test > len(X):
            raise UsageError(describe("option", "--train/--test", "digits has only 1797 images", got=train + test,
                                      expected="<= 1797"))
        return X[order[:train]], X[order[train:train + test]], {"shape": (8, 8), "split": False}
    pl = planted_nonneg(64, atoms, train, seed=seed)
    te = planted_nonneg(64, atoms, test, seed=seed + 7919, D=pl.D)
    return pl.X, te.X, {"shape": (8, 8), "split": False, "D_true": pl.D}


def _positive(name: str, value, *, allow_zero: bool = False) -> None:
    if value is None:
        return
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        raise UsageError(describe("option", name, "must be " + (">= 0" if allow_zero else "> 0"), got=value))


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """Resolve defaults; validate every option before anything runs."""
    d = DATA_DEFAULTS[args.data]
    for name in ("atoms", "samples", "batch", "train", "test", "eval_every", "checkpoint_every", "stop_after"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    for name in ("epochs", "eta", "lam", "eta_h_ratio"):
        _positive("--" + name.replace("_", "-"), getattr(args, name), allow_zero=name == "lam")
    _positive("--lambda2", args.lambda2, allow_zero=True)
    if not 0 < args.kappa < 1:
        raise UsageError(describe("option", "--kappa", "must lie in (0, 1)", got=args.kappa))
    if args.checkpoint_every is not None and not args.checkpoint:
        raise UsageError(describe("option", "--checkpoint-every", "needs --checkpoint (without it no checkpoint "
                                  "is written)", expected="--checkpoint CK.npz"))
    if args.resume and not args.checkpoint:
        raise UsageError(describe("option", "--resume", "needs --checkpoint", expected="--checkpoint CK.npz"))
    s = {"data": args.data, "method": args.method, "atoms": args.atoms or d["atoms"], "batch": args.batch,
         "lam": d["lam"] if args.lam is None else args.lam, "lambda2": "auto" if args.lambda2 is None else args.lambda2,
         "kappa": args.kappa, "eta_h_ratio": args.eta_h_ratio, "train": args.train or d["train"],
         "test": args.test or d["test"], "seed": args.seed, "init": args.init}
    s["eta"] = args.eta or "auto"
    s["total"] = args.samples or int(round((args.epochs or d["epochs"]) * s["train"]))
    if s["total"] < 1:
        raise UsageError(describe("option", "--epochs", "gives no training sample", got=args.epochs,
                                  expected=f">= 1 / {s['train']} (the training set), or --samples N"))
    if s["method"] == "sgd" and s["init"] == "asymmetric":
        raise UsageError(describe("option", "--init", "'asymmetric' draws the local networks' feedforward, "
                                  "feedback and lateral weights independently; sgd has one dictionary",
                                  got="asymmetric", expected="random or data with sgd"))
    s["eval_every"] = args.eval_every or max(1, s["total"] // 20)
    s["checkpoint_every"] = args.checkpoint_every or max(1, s["total"] // 10)
    return s


def estimate(s: dict[str, Any]) -> tuple[float, float]:
    """Memory (bytes) and duration (seconds) of a training run with settings ``s``: the data, the
    weights with their updates, and ``MACS_PER_SAMPLE`` multiply-adds per ``N^2 + M N`` per sample
    (a rough figure at :data:`neurosim.guard.MACS_PER_S`)."""
    M, N = DIMENSION[s["data"]], s["atoms"]
    unit = float(N) * N + float(M) * N
    memory = 8.0 * (3.0 * (s["train"] + s["test"]) * M + 16.0 * unit + 8.0 * s["batch"] * (M + N))
    seconds = (s["total"] * MACS_PER_SAMPLE[s["method"]] * unit + 200.0 * (s["train"] + s["test"]) * M * N) / MACS_PER_S
    return memory, seconds


def make_learner(s: dict[str, Any]):
    if s["method"] == "sgd":
        return SGDDictionaryLearning(s["atoms"], lam=s["lam"], eta=s["eta"], lambda2=0.0, batch_size=s["batch"],
                                     n_samples=s["total"], init=s["init"] if s["init"] != "asymmetric" else "random",
                                     eval_every=s["eval_every"], seed=s["seed"])
    return LocalDictionaryLearning(s["atoms"], model="rate" if s["method"] == "local-rate" else "spiking",
                                   lam=s["lam"], kappa=s["kappa"], eta_d=s["eta"], eta_h_ratio=s["eta_h_ratio"],
                                   lambda2=s["lambda2"], batch_size=s["batch"], n_samples=s["total"], init=s["init"],
                                   eval_every=s["eval_every"], seed=s["seed"])


def _check_outputs(args: argparse.Namespace, out: Path, ck: Optional[Path],
                   plan: Optional[learn_map.ChipPlan]) -> None:
    """Refuse, before training, two outputs that are the same file (one would replace the other),
    and existing plot files without ``--force``. A resumed checkpoint may exist (it is read, then
    rewritten)."""
    files: list[tuple[str, Optional[Path]]] = [("--out", out)]
    dirs: list[tuple[str, Optional[Path]]] = []
    if args.plots:
        dirs.append(("--plots", Path(args.plots)))
        files += [(f"--plots ({n})", Path(args.plots) / n) for n in PLOT_FILES]
    keep = ["--checkpoint"]
    if plan is not None:
        dirs.append(("--map-out", plan.out))
        names = list(learn_map.OUTPUTS) + [RECORD]
        files += [(f"--map-out ({n})", plan.out / n) for n in names]
        files.append(("--activity-out", plan.activity_out))
        if plan.out.is_dir():  # the files of an interrupted mapping are replaced without --force
            free, _ = replaceable(plan.out, option="--map-out")
            keep += [f"--map-out ({n})" for n in names if n in free]
    check_outputs(files + [("--checkpoint", ck)], dirs=dirs, force=args.force, keep=keep)


def run(args: argparse.Namespace) -> int:
    s = settings(args)
    for opt in ("out", "checkpoint", "plots", "map_out", "activity_out"):  # empty, or below a regular file
        if getattr(args, opt, None) is not None:
            check_path(getattr(args, opt), "--" + opt.replace("_", "-"))
    out = check_writable(args.out, overwrite=args.force)
    ck = Path(args.checkpoint) if args.checkpoint else None
    if ck is not None and not args.resume:
        check_writable(ck, overwrite=args.force)
    if args.plots and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise UsageError(describe("option", "--plots", "is not a directory", got=args.plots))
    plan = learn_map.plan_mapping(args, s, out)
    _check_outputs(args, out, ck, plan)
    memory, seconds = estimate(s)
    limits = limits_of(args)
    check_memory("--train/--test/--atoms", memory, limits,
                 detail=f"{s['train'] + s['test']} samples of {DIMENSION[s['data']]} values, {s['atoms']} atoms: "
                        f"{format_bytes(memory)}")
    check_duration("--samples/--epochs", seconds, limits,
                   detail=f"{s['total']} samples of {s['method']} with {s['atoms']} atoms")
    announce(f"learning {s['atoms']} atoms from {s['total']} samples ({s['method']})", seconds)
    X, Xt, meta = load_data(s["data"], train=s["train"], test=s["test"], atoms=s["atoms"], seed=s["seed"])
    learner = make_learner(s)
    state = learner.initial_state(X)
    if args.resume:  # every entry checked against a fresh state before training resumes
        state = load_checkpoint(ck, settings=s, keys=RESUME_KEYS, fresh=state, n_train=len(X), total=s["total"])
    if plan is not None:  # fail before training if the network cannot fit the chip
        learn_map.check_before_training(plan, learner, state, total=s["total"])
    first_sample = state.samples_seen
    settings_json = json.dumps(s)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=s["total"], initial=state.samples_seen, desc=f"learn {s['method']}", unit="sample",
                   file=sys.stderr, mininterval=0.5)
    last_ck = [state.samples_seen]
    stopped = [False]

    def checkpoint(st: TrainState) -> None:
        if ck is not None:
            save_checkpoint(ck, st, s)

    def callback(st: TrainState) -> bool:
        if bar is not None:
            bar.update(st.samples_seen - bar.n)
            if st.history["test_objective"]:
                bar.set_postfix(test_obj=f"{st.history['test_objective'][-1]:.4f}", refresh=False)
        if st.samples_seen - last_ck[0] >= s["checkpoint_every"]:
            checkpoint(st)
            last_ck[0] = st.samples_seen
        if args.stop_after is not None and st.samples_seen >= args.stop_after and st.samples_seen < s["total"]:
            checkpoint(st)
            stopped[0] = True
            return True
        return False

    try:
        learner.fit(X, X_test=Xt, state=state, callback=callback)
    finally:
        if bar is not None:
            bar.close()
    st = learner.state_
    if stopped[0]:
        print(f"stopped after {st.samples_seen} of {s['total']} samples; checkpoint {ck}"
              + ("" if ck else " (none: pass --checkpoint to resume)"))
        if plan is not None:
            print("not mapped: the run stopped early; a resumed run maps the samples it processes")
        return 0
    checkpoint(st)
    arrays = st.to_arrays()
    D = arrays.pop("D") if "D" in arrays else arrays["B"]
    hist = {k: v for k, v in arrays.items() if k.startswith("history_")}
    extra = {k: arrays[k] for k in ("F", "H", "s") if k in arrays}
    h = st.history
    conv = training_convergence(h)
    atomic_save_npz(out, D=D, settings=np.array(settings_json), convergence=np.array(json.dumps(conv.to_dict())),
                    **extra, **hist)
    obj = h["test_objective"][-1] if h["test_objective"] else float("nan")
    print(f"learned {D.shape[1]} atoms of dimension {D.shape[0]} from {st.samples_seen} samples "
          f"({s['method']}, {s['data']}); held-out objective {obj:.5g}; wrote {out}")
    print(conv.line())
    if "D_true" in meta:
        from neurosim.data.planted import recovery

        print(f"planted atoms recovered: {recovery(meta['D_true'], D, threshold=0.99):.1%} (|cos| > 0.99), "
              f"{recovery(meta['D_true'], D, threshold=0.95):.1%} (|cos| > 0.95)")
    if args.plots:
        from neurosim.cli.learn_plots import plot_atoms, plot_history

        d = Path(args.plots)
        for path in (plot_atoms(D, d / PLOT_FILES[0], shape=meta["shape"], split=meta["split"], force=args.force),
                     plot_history(h, d / PLOT_FILES[1], title=f"{s['method']} on {s['data']}", force=args.force)):
            print(f"wrote {path}")
    if plan is not None:
        learn_map.map_learning(plan, learner, first_sample=first_sample, settings=s, converged=conv.to_dict())
    return 0
