"""Denoise a crop of scikit-learn's china image with sparse codes: cold LCA vs WARP-LCA vs FISTA.

Everything is learned on the *other* bundled image (flower): the patch dictionary, the
convolutional filters and both WARP predictors. Each method gets the same number of steps
(Gram-matrix products). Writes a PNG figure (clean / noisy / one row of denoised images per
pipeline) and prints a PSNR table::

    python examples/denoise.py --out denoise.png [--sigma 0.1] [--steps 30] [--quick] [--force]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small products: threads only contend

import argparse  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")

from neurosim.io.atomic import atomic_write_bytes, check_writable  # noqa: E402
from neurosim.studies.denoise import TEST_BOX, TRAIN_BOX, add_noise, compare_patch_methods, denoise_figure, prepare_patch_denoiser, psnr, sample_image
from neurosim.studies.denoise_conv import compare_conv_methods, prepare_conv_denoiser  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="denoise.png", help="PNG to write (default denoise.png)")
    ap.add_argument("--sigma", type=float, default=0.1, help="noise standard deviation (pixels in [0, 1])")
    ap.add_argument("--steps", type=int, default=30, help="equal step budget of every method")
    ap.add_argument("--quick", action="store_true", help="64x64 crop and small training sets")
    ap.add_argument("--force", action="store_true", help="overwrite --out")
    args = ap.parse_args(argv)
    try:
        out = check_writable(args.out, overwrite=args.force)
    except Exception as exc:
        print(f"denoise example: {exc}", file=sys.stderr)
        return 2
    box, train_box = TEST_BOX, TRAIN_BOX
    small = dict(n_train=3000, n_dict=2000) if args.quick else {}
    if args.quick:
        box = (box[0], box[1] + 32, box[2] + 32, 64, 64)
    clean = sample_image(box[0], box=box[1:])
    train = sample_image(train_box[0], box=train_box[1:])
    noisy = add_noise(clean, args.sigma, seed=0)
    print(f"noisy PSNR {psnr(clean, noisy):.2f} dB; learning on the flower image ...", flush=True)
    den = prepare_patch_denoiser(train, sigma=args.sigma, **small)
    cden = prepare_conv_denoiser(train, sigma=args.sigma, **small)
    rows = {"patch": compare_patch_methods(clean, noisy, den, steps=args.steps),
            "conv": compare_conv_methods(clean, noisy, cden, steps=args.steps)}
    for label, results in rows.items():
        for r in results:
            print(f"{label:6s} {r.method:6s} {r.psnr:6.2f} dB  ({r.steps} steps)")
    buf = io.BytesIO()
    denoise_figure(clean, noisy, rows).savefig(buf, format="png", dpi=100)
    atomic_write_bytes(out, buf.getvalue())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
