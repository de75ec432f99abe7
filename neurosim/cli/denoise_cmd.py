"""``neurosim denoise``: sparse-code denoising of a bundled image with cold LCA, WARP-LCA and FISTA.

    neurosim denoise [--mode patch|conv|both] [--sigma S] [--steps K] [--n-train N] [--stride T]
                     [--predictor lista|mlp|linear] [--seed S] [--quick] [--out FIG.png] [--force]
                     [--no-progress]

Learns on the flower image, denoises a crop of the china image (``neurosim.studies.denoise``;
``conv`` mode: ``neurosim.studies.denoise_conv``) with every method at the same step budget,
and prints a PSNR table. ``--out`` writes a PNG (clean, noisy, denoised per method), atomically.
``--quick`` uses a 64 x 64 crop and fewer training patches (a smoke run). A progress bar per
phase (dictionary, targets, predictor epochs, denoising methods) with the estimated time left is
drawn on stderr when it is a terminal, unless ``--no-progress``.
"""
from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

from neurosim.cli.common import StageProgress, seed_arg
from neurosim.cli.errors import UsageError
from neurosim.io.outpaths import check_outputs
from neurosim.io.atomic import atomic_write_bytes
from neurosim.studies.denoise import (
    TEST_BOX,
    TRAIN_BOX,
    add_noise,
    compare_patch_methods,
    denoise_figure,
    prepare_patch_denoiser,
    psnr,
    sample_image,
)
from neurosim.studies.denoise_conv import compare_conv_methods, prepare_conv_denoiser

__all__ = ["register", "run"]

#: side of the patch pipeline's patches (pixels)
PATCH = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("denoise", help="denoise a bundled image: cold LCA vs WARP-LCA vs FISTA (PSNR)",
                              description="Patch-based and convolutional sparse-code denoising of a crop of "
                                          "scikit-learn's china image, learned on the flower image.")
    p.add_argument("--mode", choices=("patch", "conv", "both"), default="both", help="pipeline(s) (default both)")
    p.add_argument("--sigma", type=float, default=0.1, help="noise standard deviation, pixels in [0, 1] (default 0.1)")
    p.add_argument("--steps", type=int, default=100, help="equal step budget of every method (default 100)")
    p.add_argument("--n-train", type=int, default=20000, help="predictor training samples (default 20000)")
    p.add_argument("--stride", type=int, help="patch grid step of the patch pipeline (default 1)")
    p.add_argument("--predictor", choices=("lista", "mlp", "linear"), default="lista",
                   help="WARP predictor (default lista)")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the noise and of training (default 0)")
    p.add_argument("--quick", action="store_true", help="64x64 crop, 3000 training samples (smoke run)")
    p.add_argument("--out", metavar="FIG.png", help="write a figure of the results")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.sigma) and 0 < args.sigma < 1):
        raise UsageError(f"argument --sigma: out of range (got {args.sigma!r}, expected 0 < sigma < 1)")
    if args.stride is not None and args.mode == "conv":
        raise UsageError(f"argument --stride: the convolutional pipeline has no patch grid (got --stride "
                         f"{args.stride} with --mode conv, expected --mode patch or both)")
    args.stride = 1 if args.stride is None else args.stride
    for name in ("steps", "n_train", "stride"):
        v = getattr(args, name)
        if v < 1:
            raise UsageError(f"argument --{name.replace('_', '-')}: must be a positive integer (got {v}, expected >= 1)")
    if args.stride > PATCH:
        raise UsageError(f"argument --stride: larger than the {PATCH}x{PATCH} patches, it leaves pixels uncovered "
                         f"(got {args.stride}, expected 1 .. {PATCH})")
    check_outputs([("--out", args.out)], force=args.force)
    out = Path(args.out) if args.out is not None else None
    box, train_box, n_train = TEST_BOX, TRAIN_BOX, args.n_train
    if args.quick:
        box = (TEST_BOX[0], TEST_BOX[1] + 32, TEST_BOX[2] + 32, 64, 64)
        train_box = (TRAIN_BOX[0], TRAIN_BOX[1] + 64, TRAIN_BOX[2] + 64, 128, 128)
        n_train = min(n_train, 3000)
    clean = sample_image(box[0], box=box[1:])
    train = sample_image(train_box[0], box=train_box[1:])
    noisy = add_noise(clean, args.sigma, seed=args.seed)
    rows = {}
    print(f"image {box[0]} crop {box[1:]} ({clean.shape[0]}x{clean.shape[1]}), sigma {args.sigma:g}: "
          f"noisy PSNR {psnr(clean, noisy):.2f} dB; {args.steps} steps per method", flush=True)
    if args.mode in ("patch", "both"):
        print("patch pipeline: learning the dictionary and the WARP predictor ...", flush=True)
        with StageProgress(enabled=not args.no_progress, prefix="denoise patch") as progress:
            den = prepare_patch_denoiser(train, sigma=args.sigma, size=PATCH, n_train=n_train,
                                         predictor=args.predictor,
                                         n_atoms=64 if args.quick else 128, dl_iter=1 if args.quick else 5,
                                         n_dict=2000 if args.quick else 10000, seed=args.seed, progress=progress)
            rows["patch"] = compare_patch_methods(clean, noisy, den, steps=args.steps, stride=args.stride,
                                                  progress=progress)
    if args.mode in ("conv", "both"):
        print("convolutional pipeline: learning the filters and the WARP predictor ...", flush=True)
        with StageProgress(enabled=not args.no_progress, prefix="denoise conv") as progress:
            cden = prepare_conv_denoiser(train, sigma=args.sigma, n_train=n_train, predictor=args.predictor,
                                         n_filters=12 if args.quick else 24, n_dict=2000 if args.quick else 10000,
                                         seed=args.seed, progress=progress)
            rows["conv"] = compare_conv_methods(clean, noisy, cden, steps=args.steps, progress=progress)
    print(f"{'pipeline':9s} {'method':7s} {'PSNR dB':>8s} {'l0':>8s}")
    for label, results in rows.items():
        for r in results:
            print(f"{label:9s} {r.method:7s} {r.psnr:8.2f} {r.l0:8.3f}")
    if out is not None:
        fig = denoise_figure(clean, noisy, rows)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        atomic_write_bytes(out, buf.getvalue())
        print(f"wrote {out}")
    return 0
