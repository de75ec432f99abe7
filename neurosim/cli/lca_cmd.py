"""``neurosim lca``: sparse-code inputs over a dictionary with FISTA, analog LCA or spiking LCA.

    neurosim lca --dictionary D.npy --inputs X.npy --lam LAM [--nonneg]
                 [--method fista|lca|slca] [--steps N] [--dt DT] [--backend numpy|brian2]
                 [--seed S] --out CODES.npy [--activity ACTIVITY.npz] [--force]

``D.npy`` holds the dictionary ``(M, N)`` (atoms in columns), ``X.npy`` the inputs ``(batch, M)``
or one input ``(M,)``. The codes ``(batch, N)`` are written atomically to ``--out``; the run's
activity profile (spikes / graded events per neuron, synaptic events per connection) to
``--activity``. Without ``--dictionary``/``--inputs`` the built-in example runs: 100 random
8x8 patches of scikit-learn's bundled sample images over the fixed overcomplete DCT dictionary
(64 x 256), ``lam = 1``. Nothing is written, and no existing file is replaced without
``--force``, unless every argument and input file is valid. The solving is
:class:`neurosim.estimators.SparseCoder`'s; this module parses, prints and writes.
"""
from __future__ import annotations

import argparse
import logging
import math
from typing import Optional

import numpy as np

from neurosim.backends import BACKENDS, DEFAULT_BACKEND
from neurosim.cli.common import seed_arg
from neurosim.cli.errors import UsageError
from neurosim.errors import describe
from neurosim.estimators.sparse_coder import DEFAULT_DT, DEFAULT_STEPS, METHODS, SparseCoder
from neurosim.io.arrays import read_npy
from neurosim.io.atomic import atomic_save_npy
from neurosim.io.outpaths import check_outputs
from neurosim.solvers.lasso import fista, lasso_objective
from neurosim.validation.checks import check_dictionary, check_inputs

log = logging.getLogger(__name__)

#: built-in example
EXAMPLE_PATCHES = 100
EXAMPLE_LAM = 1.0
#: runs with at least this many steps show a progress bar (stderr)
PROGRESS_STEPS = 2000


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lca", help="sparse-code inputs over a dictionary (FISTA, analog LCA or spiking LCA)",
        description="Solve min_a 1/2||x - D a||^2 + lam ||a||_1 (a >= 0 with --nonneg) for every input row. "
                    "Without --dictionary/--inputs: the built-in example (patches of scikit-learn's sample "
                    "images, overcomplete DCT dictionary, lam 1).")
    p.add_argument("--dictionary", metavar="D.npy", help="dictionary (M, N), atoms in columns")
    p.add_argument("--inputs", metavar="X.npy", help="inputs (batch, M) or one input (M,)")
    p.add_argument("--lam", type=float, metavar="LAM", help="penalty >= 0 (built-in example: 1.0)")
    p.add_argument("--nonneg", action="store_true", help="non-negative LASSO (codes >= 0)")
    p.add_argument("--method", choices=list(METHODS), default="slca", help="solver (default: slca, spiking LCA)")
    p.add_argument("--steps", type=int, metavar="N",
                   help="time steps for lca/slca, iteration budget for fista "
                        f"(defaults: {', '.join(f'{k} {v}' for k, v in DEFAULT_STEPS.items())})")
    p.add_argument("--dt", type=float, metavar="DT", help="time step in units of tau for lca/slca (default 0.1)")
    p.add_argument("--backend", choices=sorted(BACKENDS), default=None,
                   help=f"simulator for lca/slca (default {DEFAULT_BACKEND})")
    p.add_argument("--seed", type=seed_arg, default=0, metavar="S",
                   help="seed of the run (and of the built-in patch sample; default 0)")
    p.add_argument("--out", required=True, metavar="CODES.npy", help="where to write the codes (batch, N)")
    p.add_argument("--activity", metavar="ACTIVITY.npz", help="also write the activity profile (lca/slca)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
def _number(flag: str, value: Optional[float], *, minimum: float, strict: bool) -> None:
    if value is None:
        return
    ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        raise UsageError(describe("argument", flag, "out of range", got=value,
                                  expected=f"a finite number {'>' if strict else '>='} {minimum:g}"))


def _check_args(args: argparse.Namespace) -> None:
    if (args.dictionary is None) != (args.inputs is None):
        given, missing = ("--dictionary", "--inputs") if args.inputs is None else ("--inputs", "--dictionary")
        raise UsageError(describe("argument", missing, f"is required with {given}",
                                  expected="both --dictionary and --inputs, or neither for the built-in example"))
    if args.dictionary is not None and args.lam is None:
        raise UsageError(describe("argument", "--lam", "is required with --dictionary/--inputs", expected="a number >= 0"))
    _number("--lam", args.lam, minimum=0.0, strict=False)
    _number("--dt", args.dt, minimum=0.0, strict=True)
    if args.steps is not None and args.steps < 1:
        raise UsageError(describe("argument", "--steps", "must be positive", got=args.steps, expected="an integer >= 1"))
    if args.method == "fista":
        for flag, value in (("--backend", args.backend), ("--dt", args.dt), ("--activity", args.activity)):
            if value is not None:
                raise UsageError(describe("argument", flag, "only applies to --method lca or slca",
                                          got="--method fista", expected=f"no {flag} with fista"))
    check_outputs([("--out", args.out), ("--activity", args.activity)], force=args.force,
                  inputs=[("--dictionary", args.dictionary), ("--inputs", args.inputs)])


def _problem(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, float, str]:
    if args.dictionary is None:
        from neurosim.data.samples import default_dictionary, image_patches

        D = default_dictionary()
        X = image_patches(8, EXAMPLE_PATCHES, seed=args.seed)
        lam = EXAMPLE_LAM if args.lam is None else args.lam
        return D, X, lam, f"built-in example: {EXAMPLE_PATCHES} 8x8 image patches, overcomplete DCT dictionary"
    D = check_dictionary(read_npy(args.dictionary, "dictionary"), name=args.dictionary)
    X, _ = check_inputs(read_npy(args.inputs, "inputs"), D.shape[0], name=args.inputs)
    return D, X, float(args.lam), f"{args.inputs} over {args.dictionary}"


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    D, X, lam, source = _problem(args)
    method, nonneg = args.method, bool(args.nonneg)
    steps = DEFAULT_STEPS[method] if args.steps is None else int(args.steps)
    batch, N = X.shape[0], D.shape[1]
    print(f"{source}: {batch} input(s) x {N} atoms (M = {D.shape[0]}), lam {lam:g}, "
          f"{'non-negative' if nonneg else 'signed'} LASSO")
    dt = DEFAULT_DT[method] if args.dt is None else float(args.dt)
    if method == "lca":  # forward Euler of du/dt = b - u - G a is stable for dt/tau < 2 / ||D||_2^2
        bound = 2.0 / float(np.linalg.norm(D, 2)) ** 2
        if dt >= bound:
            raise UsageError(describe("argument", "--dt", "too large for this dictionary: the analog LCA "
                                      "would diverge", got=dt, expected=f"< 2 / ||D||_2^2 = {bound:.3g} "
                                      "(or normalise the atoms)"))
    backend = args.backend or (DEFAULT_BACKEND if method != "fista" else None)
    coder = SparseCoder(D, lam=lam, method=method, nonneg=nonneg, steps=steps, dt_s=dt, backend=backend,
                        seed=args.seed, progress=method != "fista" and steps >= PROGRESS_STEPS).fit()
    codes = coder.transform(X)
    result = coder.last_result_
    if result is not None:
        print(f"method {method} ({result.backend}): {steps} steps of dt {coder.dt_used_:g} tau, {result.wall_s:.2f} s")
    else:
        print(f"method {method}: {steps} {'iterations' if method == 'fista' else 'steps'} at most")
    obj = lasso_objective(D, X, codes, lam, nonneg=nonneg)
    line = f"objective (mean): {obj.mean():.6g}"
    if method != "fista":
        ref = lasso_objective(D, X, fista(D, X, lam, nonneg=nonneg), lam, nonneg=nonneg)
        gap = (obj.sum() - ref.sum()) / ref.sum() if ref.sum() > 0 else obj.sum() - ref.sum()
        line += f"; FISTA optimum {ref.mean():.6g}, relative gap {gap:.3g}"
    print(line)
    nnz = np.count_nonzero(codes, axis=1)
    print(f"sparsity: {nnz.mean():.2f} non-zeros per code of {N} ({100.0 * (1 - nnz.mean() / N):.1f}% zeros)")
    if result is not None:
        kind = "spikes" if method == "slca" else "graded output events"
        act = result.activity
        print(f"{kind}: {act.total_events}, synaptic events: {act.total_syn_events}")
    atomic_save_npy(args.out, codes)
    print(f"wrote {args.out} ({batch}, {N})")
    if args.activity is not None:
        result.activity.save(args.activity)
        print(f"wrote {args.activity} (activity profile)")
    return 0
