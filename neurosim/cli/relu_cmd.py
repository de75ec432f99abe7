"""``neurosim relu``: one-step ReLU coding vs iterated sparse coding (Bowren's ReLU view).

    neurosim relu [--dictionary D.npy --inputs X.npy] [--lam LAM] [--signed]
                  [--method ista|lca] [--iterations 1,5,20,100] [--out SUMMARY.json] [--force]

Prints the LASSO objective gap ``F(ReLU(X D - lam)) - F*`` of the one-step code (``soft`` with
``--signed``) against the FISTA optimum ``F*``, and the gap left after k steps of iterated coding
started from the one-step code. Without ``--dictionary``/``--inputs`` the built-in example runs:
100 8x8 patches of scikit-learn's sample images over the overcomplete DCT dictionary (64 x 256,
non-orthogonal) and, for contrast, over the orthonormal 2-D DCT basis (64 x 64, gap ~ 0).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from neurosim.cli.common import seed_arg
from neurosim.io.arrays import read_npy
from neurosim.cli.errors import UsageError
from neurosim.io.outpaths import check_outputs
from neurosim.errors import describe
from neurosim.io.atomic import atomic_write_json
from neurosim.studies.relu import OneStepComparison, compare_one_step_vs_iterated
from neurosim.validation.checks import check_dictionary, check_inputs

EXAMPLE_PATCHES = 100
EXAMPLE_LAM = 1.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "relu", help="one-step ReLU coding vs iterated (LASSO) coding: the objective gap",
        description="Compare the one-step code ReLU(D^T x - lam) with the (non-negative) LASSO solution and "
                    "with iterated coding started from it. Without --dictionary/--inputs: image patches over "
                    "an overcomplete DCT dictionary and over the orthonormal DCT basis.")
    p.add_argument("--dictionary", metavar="D.npy", help="dictionary (M, N), atoms in columns")
    p.add_argument("--inputs", metavar="X.npy", help="inputs (batch, M) or one input (M,)")
    p.add_argument("--lam", type=float, help=f"threshold / LASSO weight >= 0 (default {EXAMPLE_LAM:g})")
    p.add_argument("--signed", action="store_true", help="signed LASSO and soft threshold instead of ReLU")
    p.add_argument("--method", choices=("ista", "lca"), default="ista", help="iterated coding (default ista)")
    p.add_argument("--iterations", default="1,5,20,100,500",
                   help="iteration counts to report, comma separated (default 1,5,20,100,500)")
    p.add_argument("--seed", type=seed_arg, help="seed of the built-in patch sample (default 0)")
    p.add_argument("--out", metavar="SUMMARY.json", help="write the gaps as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.set_defaults(func=run)


def _iterations(text: str) -> list[int]:
    try:
        its = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        its = []
    if not its or min(its) < 1:
        raise UsageError(describe("argument", "--iterations", "must be positive integers", got=text,
                                  expected="e.g. 1,5,20,100"))
    return its


def _report(name: str, res: OneStepComparison) -> dict:
    s = res.summary()
    print(f"{name}: one-step gap {s['gap_mean']:.6g} (relative {s['relative_gap_mean']:.4g}), "
          f"F* mean {res.objective_opt.mean():.6g}")
    for k, g in s["iterated"].items():
        print(f"  after {k:>5d} {res.method} steps: gap {g:.4g}")
    return s


def run(args: argparse.Namespace) -> int:
    if args.seed is not None and args.dictionary is not None:
        raise UsageError(describe("argument", "--seed", "has no effect with --dictionary/--inputs (it seeds the "
                                  "built-in patch sample)", got=args.seed, expected="no --seed"))
    args.seed = 0 if args.seed is None else args.seed
    if (args.dictionary is None) != (args.inputs is None):
        raise UsageError(describe("argument", "--inputs" if args.inputs is None else "--dictionary",
                                  "is required with the other", expected="both --dictionary and --inputs, or neither"))
    lam = EXAMPLE_LAM if args.lam is None else args.lam
    if not (math.isfinite(lam) and lam >= 0):
        raise UsageError(describe("argument", "--lam", "out of range", got=lam, expected="a finite number >= 0"))
    its = _iterations(args.iterations)
    check_outputs([("--out", args.out)], force=args.force,
                  inputs=[("--dictionary", args.dictionary), ("--inputs", args.inputs)])
    nonneg = not args.signed
    cases = []
    if args.dictionary is None:
        from scipy.fft import dct

        from neurosim.data.samples import default_dictionary, image_patches

        X = image_patches(8, EXAMPLE_PATCHES, seed=args.seed)
        C = dct(np.eye(8), norm="ortho", axis=0)
        cases.append(("overcomplete DCT 64x256", default_dictionary()))
        cases.append(("orthonormal DCT 64x64", np.kron(C, C)))
        print(f"built-in example: {EXAMPLE_PATCHES} 8x8 image patches, lam {lam:g}, "
              f"{'non-negative' if nonneg else 'signed'} LASSO")
    else:
        D = check_dictionary(read_npy(args.dictionary, "dictionary"), name=args.dictionary)
        X, _ = check_inputs(read_npy(args.inputs, "inputs"), D.shape[0], name=args.inputs)
        cases.append((args.dictionary, D))
        print(f"{args.inputs} ({X.shape[0]} inputs) over {args.dictionary} {D.shape}, lam {lam:g}, "
              f"{'non-negative' if nonneg else 'signed'} LASSO")
    summary = {}
    for name, D in cases:
        res = compare_one_step_vs_iterated(D, X, lam, nonneg=nonneg, iterations=its, method=args.method)
        summary[name] = _report(name, res)
    if args.out:
        atomic_write_json(args.out, summary)
        print(f"wrote {args.out}")
    return 0
