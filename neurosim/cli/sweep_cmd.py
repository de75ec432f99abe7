"""``neurosim sweep``: a design-space exploration over chips, experiments and mapping options.

::

    neurosim sweep SWEEP.yaml --out DIR [--workers N | --scheduler ADDRESS] [--resume] [--force]
                   [--max-memory SIZE] [--max-duration T] [--no-progress]

A thin shell over :func:`neurosim.app.sweep.run_sweep` (parse -> options -> one library call,
which writes its files as points finish -> print). The sweep file format is in
``docs/sweeps.md`` (:mod:`neurosim.app.sweepspec`). Writes to ``DIR``: ``results.csv`` (one row
per point), ``pareto.csv``, ``summary.txt``, ``sweep.json``, ``pareto.png``, one
``axis_<key>.png`` per axis key and the point store ``points/`` (what ``--resume`` continues).

By default a Dask local cluster with one worker process per core is started and stopped by the
command; ``--workers 1`` runs everything in this process; ``--scheduler tcp://HOST:PORT`` uses an
existing cluster. Every experiment setting is checked against ``--max-memory`` /
``--max-duration`` before anything is built (a setting beyond them is an ``invalid`` point with
the estimate as its reason). SIGTERM stops the sweep like Ctrl-C (the cluster is shut down; finished
points are kept).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Optional

from neurosim.app.sweep import run_sweep
from neurosim.app.sweepspec import load_sweep
from neurosim.cli.common import add_limit_options, limits_of

__all__ = ["register", "cmd_sweep"]


def _workers_arg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {v}")
    return v


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sweep", help="explore a design space: chips x experiments x mappings, on Dask",
                              description="Run every point of a sweep file (a base experiment and chip, and axes "
                                          "over chip keys, experiment keys and mapping options), sharing each "
                                          "simulation among the points that need it, and write the results table, "
                                          "the Pareto front of energy, time to solution and solution gap, plots "
                                          "and a summary.")
    p.add_argument("sweep", metavar="SWEEP.yaml", help="sweep file (format: docs/sweeps.md)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_workers_arg, metavar="N",
                       help="worker processes of the local Dask cluster (default: one per core); 1: no cluster, "
                            "run in this process")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="submit to an existing Dask scheduler, e.g. tcp://HOST:8786 (its workers need neurosim "
                            "and the experiment's data files)")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep stored in DIR: skip every point already finished")
    p.add_argument("--force", action="store_true", help="start over in a DIR that holds an earlier sweep")
    add_limit_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_sweep)


class _PointProgress:
    """Points done / failed / total as one bar on stderr (drawn only on a terminal)."""

    def __init__(self, *, enabled: bool):
        try:
            self.enabled = enabled and sys.stderr.isatty()
        except (AttributeError, ValueError):
            self.enabled = False
        self._bar: Any = None

    def __call__(self, done: int, failed: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="sweep", unit="point", file=sys.stderr, mininterval=0.5, leave=False)
        self._bar.set_postfix_str(f"failed {failed}", refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _interrupt(signum: int, frame: Optional[Any]) -> None:
    raise KeyboardInterrupt


def cmd_sweep(args: argparse.Namespace) -> int:
    spec = load_sweep(args.sweep)
    where = (f"scheduler {args.scheduler}" if args.scheduler else
             "in this process" if args.workers == 1 else
             f"local Dask cluster of {args.workers or os.cpu_count()} worker process(es)")
    print(f"sweep '{spec.name}' ({spec.source}): {len(spec.points())} points; {spec.describe()}; {where}")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    bar = _PointProgress(enabled=not args.no_progress)
    try:
        result = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                           force=args.force, progress=bar, limits=limits_of(args))
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)
    print(result.summary, end="")
    print(f"wrote {len(result.files)} files and the point store points/ to {result.out}/: {', '.join(result.files)}")
    errors = result.counts.get("error", 0)
    if errors:
        print(f"neurosim sweep: {errors} point(s) failed unexpectedly (status error, logged above); "
              "--resume runs them again", file=sys.stderr)
        return 1
    return 0
