"""``neurosim run``: build an experiment's network, simulate it, map it onto a chip, report.

::

    neurosim run [EXPERIMENT.yaml] --chip NAME|FILE --out DIR [--partitioner P] [--placer P]
                 [--seed N] [--time-budget S] [--no-quantize] [--no-splitters] [--max-memory SIZE]
                 [--max-duration T] [--no-progress] [--force]

Without ``EXPERIMENT.yaml`` the built-in experiment runs (a signed spiking LCA on patches of
scikit-learn's bundled sample images, :data:`neurosim.app.experiment.DEFAULT_EXPERIMENT`).

The command is a thin shell over :func:`neurosim.app.run_experiment` (parse -> options -> one
library call -> :func:`neurosim.app.outputs.write_run` -> print). It writes to ``DIR``:
``report.json`` (the mapper's report plus ``experiment`` and ``solution_quality``: the LASSO
objective of the decoded codes, FISTA's optimum and, unless ``--no-quantize``, the objective
after quantising the weights to the chip's precision and re-simulating), ``placement.json``,
``summary.txt``, ``core_utilisation.png``, ``link_traffic.png``, ``activity.png`` (raster),
``codes.npy``, ``activity.npz`` and ``network.npz``. Existing files are kept unless ``--force``.
The run record ``DIR/.neurosim-run.json`` says ``"writing"`` from before the first file until it
is rewritten as ``"complete"`` (with every file's size and SHA-256) after the last one; a rerun
into the directory of an interrupted run says so and replaces its files without ``--force``.
``--time-budget`` is refused unless the placer is ``anneal`` (the only one that refines).

Before anything is built, the run's memory and duration are estimated from the experiment's sizes
and refused beyond ``--max-memory`` (default: the machine's memory) or ``--max-duration``
(default one day), naming the key and the estimate; a run estimated to take longer than a few
seconds says so before it starts.
"""
from __future__ import annotations

import argparse

from mapper import PLACERS, STRATEGIES, MappingOptions
from neurosim.app.experiment import check_experiment_resources, load_experiment
from neurosim.app.outputs import RUN_OUTPUTS, check_out_dir, interrupted_note, write_run
from neurosim.app.pipeline import run_experiment
from neurosim.cli.common import (StageProgress, add_limit_options, announce, announce_compile, limits_of, note,
                                 refuse_unless, seconds_arg, seed_arg)

__all__ = ["register", "cmd_run", "OUTPUTS"]

OUTPUTS = RUN_OUTPUTS
_DEFAULTS = MappingOptions()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="simulate an experiment and map it onto a chip (the main job)",
                              description="Build the network an experiment YAML describes (or the built-in one), "
                                          "simulate it, map it onto a chip and report traffic, energy, latency "
                                          "and solution quality.")
    p.add_argument("experiment", nargs="?", metavar="EXPERIMENT.yaml", help="experiment file (default: built-in)")
    p.add_argument("--chip", required=True, metavar="NAME|FILE", help="chip name (see 'neurosim chips list') or YAML")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--partitioner", choices=sorted(STRATEGIES),
                   help=f"override the experiment's mapping.partitioner (default {_DEFAULTS.partitioner})")
    p.add_argument("--placer", choices=sorted(PLACERS),
                   help=f"override the experiment's mapping.placer (default {_DEFAULTS.placer})")
    p.add_argument("--seed", type=seed_arg, help=f"override the experiment's mapping.seed (default {_DEFAULTS.seed})")
    p.add_argument("--time-budget", type=seconds_arg, metavar="S",
                   help=f"wall-clock cap of the placement search, seconds (default {_DEFAULTS.time_budget_s:g}; 0: "
                        "no cap); the search does a fixed amount of work, so a seed gives the same mapping on any "
                        "machine unless the cap binds (the report then says so)")
    p.add_argument("--no-quantize", action="store_true", help="skip the quantised re-simulation")
    p.add_argument("--no-splitters", action="store_true",
                   help="fail instead of adding splitter relays when a neuron targets more cores than the chip allows")
    add_limit_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    out = check_out_dir(args.out, OUTPUTS, force=args.force, option="--out")
    note(args, interrupted_note(out))
    exp = load_experiment(args.experiment)
    # no output may replace a file the experiment reads, --force or not
    check_out_dir(out, OUTPUTS, force=args.force, option="--out", inputs=exp.input_files())
    options = exp.mapping_options(partitioner=args.partitioner, placer=args.placer, seed=args.seed,
                                  time_budget_s=args.time_budget, splitters=False if args.no_splitters else None)
    refuse_unless(args, "time_budget", options.placer == "anneal",
                  f"placer '{options.placer}' does not refine, so it has no time budget (expected --placer anneal)")
    limits = limits_of(args)
    est = check_experiment_resources(exp, limits)  # before anything is built
    sim = exp.simulation
    print(f"experiment '{exp.name}' ({exp.source}): {sim['steps']} steps of {sim['dt_s']} s on {sim['backend']}, "
          f"chip {args.chip}")
    announce(f"{2 if not args.no_quantize else 1} simulation(s) of {est.inputs} inputs x {est.neurons} neurons",
             est.seconds / (1 if not args.no_quantize else 2))
    announce_compile(sim["backend"])
    with StageProgress(enabled=not args.no_progress) as progress:
        result = run_experiment(exp, args.chip, options, quantize=not args.no_quantize, progress=progress,
                                simulation_progress=not args.no_progress, limits=limits)
    written = write_run(result, out, command=getattr(args, "command_line", None))
    print(result.summary_text(), end="")
    print(f"wrote {len(written)} files to {out}/: {', '.join(written)}")
    return 0
