"""``neurosim warp``: train a WARP-LCA initial-state predictor for a dictionary, and evaluate it.

    neurosim warp train [--dictionary D.npy] [--atoms N] [--lam LAM] [--predictor lista|mlp|linear|zero]
                        [--target code|state] [--n-train N] [--epochs E] [--seed S] --out MODEL.npz [--force]
                        [--no-progress]
    neurosim warp eval MODEL.npz [--n-test N] [--steps K] [--seed S] [--json OUT.json] [--force] [--no-progress]

``train`` samples patches of scikit-learn's bundled images (``neurosim.data.samples.image_patches``),
computes converged hard-threshold LCA states and fits the predictor; the model (dictionary,
``lam``, settings, predictor) goes to one ``.npz``, written atomically. Without ``--dictionary``
a dictionary of ``--atoms`` atoms is learned first (scikit-learn ``MiniBatchDictionaryLearning``).
``eval`` runs cold (``u = 0``) and warm (predicted ``u``) hard-threshold LCA on held-out
patches (seed ``S + 1``) for ``K`` steps and prints the final energy, l0 and the steps each start
needs to reach the cold start's final energy.

Both show a progress bar per phase on stderr when it is a terminal (dictionary, targets, predictor
epochs; cold and warm runs, patches done) with the estimated time left, unless ``--no-progress``.
"""
from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import numpy as np

from neurosim.cli.common import StageProgress, seed_arg
from neurosim.io.arrays import read_npy
from neurosim.cli.errors import UsageError
from neurosim.io.outpaths import check_outputs
from neurosim.data.samples import image_patches
from neurosim.estimators.warp import WarpLCA
from neurosim.estimators.warp_predictors import PREDICTORS
from neurosim.io.atomic import atomic_write_json
from neurosim.solvers.warp import steps_to_energy
from neurosim.studies.denoise import learn_dictionary
from neurosim.validation.checks import check_dictionary

__all__ = ["register", "cmd_train", "cmd_eval"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("warp", help="train / evaluate a WARP-LCA initial-state predictor",
                              description="WARP-LCA: hard-threshold LCA warm-started by a learned predictor.")
    sub = p.add_subparsers(dest="warp_command", metavar="ACTION")
    sub.required = True
    t = sub.add_parser("train", help="train a predictor on image patches and save the model (.npz)")
    t.add_argument("--dictionary", metavar="D.npy", help="dictionary (size^2, N), atoms in columns (default: learn one)")
    t.add_argument("--atoms", type=int, default=128, help="atoms of the learned dictionary (default 128)")
    t.add_argument("--size", type=int, help="patch side when learning a dictionary (default 8)")
    t.add_argument("--lam", type=float, default=1.0, help="hard threshold lam > 0 (default 1.0)")
    t.add_argument("--predictor", choices=sorted(PREDICTORS), default="lista", help="predictor (default lista)")
    t.add_argument("--target", choices=("code", "state"), default="code", help="regress codes or states (default code)")
    t.add_argument("--n-train", type=int, default=20000, help="training patches (default 20000)")
    t.add_argument("--epochs", type=int, default=None, help="training epochs of mlp/lista (defaults: mlp 30, lista 40)")
    t.add_argument("--seed", type=seed_arg, default=0, help="seed of the patch sample and training (default 0)")
    t.add_argument("--out", required=True, metavar="MODEL.npz", help="where to write the model")
    t.add_argument("--force", action="store_true", help="overwrite an existing output file")
    t.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("eval", help="steps-to-energy of warm vs cold starts on held-out patches")
    e.add_argument("model", metavar="MODEL.npz", help="a model written by 'neurosim warp train'")
    e.add_argument("--n-test", type=int, default=300, help="held-out patches (default 300)")
    e.add_argument("--steps", type=int, default=1000, help="LCA steps of both runs (default 1000)")
    e.add_argument("--seed", type=seed_arg, default=None,
                   help="seed of the held-out patches (default: the model's training seed + 1; the training "
                        "seed itself is refused)")
    e.add_argument("--json", metavar="OUT.json", help="also write the figures as JSON")
    e.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    e.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    e.set_defaults(func=cmd_eval)


def _positive(name: str, value, kind=int) -> None:
    if value is None:
        return
    ok = (kind is int and isinstance(value, int) and value >= 1) or \
         (kind is float and math.isfinite(value) and value > 0)
    if not ok:
        raise UsageError(f"argument --{name}: must be a positive {'integer' if kind is int else 'number'} "
                         f"(got {value!r}, expected > 0)")


def _load_dictionary(path: str) -> np.ndarray:
    D = read_npy(path, "dictionary")
    if not isinstance(D, np.ndarray) or D.ndim != 2 or not np.issubdtype(D.dtype, np.number):
        raise UsageError(f"dictionary file '{path}': not a 2-D numeric array (got {getattr(D, 'shape', type(D))}, "
                         "expected (size^2, N))")
    size = int(round(math.sqrt(D.shape[0])))
    if size * size != D.shape[0]:
        raise UsageError(f"dictionary file '{path}': rows are not a square patch (got {D.shape[0]} rows, "
                         "expected size^2)")
    D = check_dictionary(D.astype(np.float64), name=path)
    bound = 2.0 / float(np.linalg.norm(D, 2)) ** 2  # the LCA's Euler step dt/tau = 0.1 must stay below it
    if bound <= 0.1:
        raise UsageError(f"dictionary file '{path}': atoms too large for the LCA's step dt/tau = 0.1 (got "
                         f"2 / ||D||_2^2 = {bound:.3g}, expected > 0.1: normalise the atoms' columns)")
    return D


def cmd_train(args: argparse.Namespace) -> int:
    for name in ("atoms", "size", "n_train", "epochs"):
        _positive(name.replace("_", "-"), getattr(args, name))
    if args.size is not None and args.dictionary:
        raise UsageError(f"argument --size: has no effect with --dictionary (its rows set the patch size) "
                         f"(got --size {args.size}, expected no --size)")
    if args.epochs is not None and args.predictor not in ("mlp", "lista"):
        raise UsageError(f"argument --epochs: predictor '{args.predictor}' is not trained by epochs "
                         f"(got --epochs {args.epochs}, expected --predictor mlp or lista)")
    args.size = 8 if args.size is None else args.size
    _positive("lam", args.lam, float)
    check_outputs([("--out", args.out)], force=args.force, inputs=[("--dictionary", args.dictionary)])
    out = Path(args.out)
    with StageProgress(enabled=not args.no_progress, prefix="warp train") as progress:
        if args.dictionary:
            D = _load_dictionary(args.dictionary)
            size = int(round(math.sqrt(D.shape[0])))
        else:
            size = args.size
            print(f"learning a {args.atoms}-atom dictionary for {size}x{size} patches ...", flush=True)
            D = learn_dictionary(image_patches(size, 10000, seed=args.seed + 7), args.atoms, seed=args.seed,
                                 progress=progress)
        opts = {"seed": args.seed} if args.predictor in ("mlp", "lista") else {}
        if args.epochs is not None:
            opts["epochs"] = args.epochs
        model = WarpLCA(D, args.lam, predictor=args.predictor, predictor_options=opts, target=args.target)
        model.train_seed_ = args.seed  # eval draws its held-out patches with another seed
        X = image_patches(size, args.n_train, seed=args.seed)
        print(f"training predictor '{args.predictor}' on {args.n_train} patches ...", flush=True)
        model.fit(X, progress=progress)
    model.save(out, overwrite=args.force)
    te = "n/a" if model.train_energy_ is None else f"{model.train_energy_:.4g}"
    print(f"wrote {out}: dictionary {D.shape[0]}x{D.shape[1]}, lam {args.lam:g}, predictor {args.predictor} "
          f"({model.predictor_.macs()} MACs per input), mean target energy {te}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    _positive("n-test", args.n_test)
    _positive("steps", args.steps)
    check_outputs([("--json", args.json)], force=args.force, inputs=[("model", args.model)])
    json_out = Path(args.json) if args.json is not None else None
    model = WarpLCA.load(args.model)
    size = int(round(math.sqrt(model.dictionary.shape[0])))
    if size * size != model.dictionary.shape[0]:
        raise UsageError(f"WARP model '{args.model}': dictionary rows are not a square patch "
                         f"(got {model.dictionary.shape[0]}, expected size^2)")
    trained = model.train_seed_
    seed = args.seed if args.seed is not None else (0 if trained is None else trained) + 1
    if trained is not None and seed in (trained, trained + 7):
        raise UsageError(f"option --seed: the model was trained on the patches of seed {trained} (its dictionary "
                         f"on seed {trained + 7}): they are not held out (got {seed}, expected another seed)")
    X = image_patches(size, args.n_test, seed=seed)
    with StageProgress(enabled=not args.no_progress, prefix="warp eval") as progress:
        cold, a_cold = model.trace(X, warm=False, steps=args.steps, progress=progress)
        warm, a_warm = model.trace(X, steps=args.steps, progress=progress)
    target = float(cold[-1])
    k_cold, k_warm = steps_to_energy(cold, target), steps_to_energy(warm, target)
    step_macs = model.dictionary.shape[1] ** 2
    pred_steps = model.predictor_.macs() / step_macs
    rows = {"cold": (cold, a_cold, k_cold), "warm": (warm, a_warm, k_warm)}
    print(f"{args.n_test} held-out {size}x{size} patches, {args.steps} steps, lam {float(model.lam.mean()):g}, "
          f"predictor {model.predictor_.kind} (= {pred_steps:.2f} LCA steps of multiply-adds)")
    print(f"{'start':6s} {'final energy':>13s} {'l0':>7s} {'steps to cold final':>20s}")
    result = {"n_test": args.n_test, "steps": args.steps, "predictor": model.predictor_.kind,
              "predictor_step_equivalents": pred_steps, "target_energy": target}
    for name, (trace, codes, k) in rows.items():
        l0 = float((codes != 0).sum(axis=1).mean())
        print(f"{name:6s} {trace[-1]:13.5f} {l0:7.3f} {('never' if k is None else str(k)):>20s}")
        result[name] = {"final_energy": float(trace[-1]), "l0": l0, "steps_to_target": k}
    if k_warm:
        factor = (k_cold or args.steps) / k_warm
        factor_cost = (k_cold or args.steps) / (k_warm + pred_steps)
        print(f"factor {factor:.1f}x fewer steps ({factor_cost:.1f}x counting the predictor)")
        result.update(factor=factor, factor_with_predictor=factor_cost)
    elif k_warm == 0:
        print("the warm start is at or below the cold start's final energy from step 0")
        result.update(factor=None, warm_at_step0=True)
    if json_out is not None:
        atomic_write_json(json_out, result)
    return 0
