"""``neurosim learn --chip``: the options of the cost of learning on a chip, and its outputs.

::

    neurosim learn ... --chip NAME|FILE [--map-out DIR] [--activity-out ACT.npz] [--time-budget S]
                       [--partitioner metis|sequential|hypergraph|steiner] [--placer anneal|block|hilbert|identity]

The library does the work (:mod:`neurosim.app.learning`: the fit check before training, then the
mapping of the trained network with the training run's activity); this module parses the options
(checked before any work), writes the mapping files (:func:`neurosim.app.outputs.write_mapping`
and ``network.npz``, for ``neurosim map``) into ``--map-out`` (default ``<out stem>_map`` beside
``--out``; bracketed by the run record ``.neurosim-run.json``, :mod:`neurosim.io.runrecord`), saves
the profile with ``--activity-out``, and prints. ``--time-budget`` is refused unless the placer is
``anneal`` (the only one that refines).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mapper import PLACERS, STRATEGIES, ChipSpec, MappingOptions, load_chip
from neurosim.app.learning import check_learning_fits, cost_of_learning
from neurosim.app.outputs import MAP_OUTPUTS, check_out_dir, interrupted_note, write_mapping
from neurosim.cli.common import StageProgress, note, refuse_unless, seconds_arg
from neurosim.cli.errors import UsageError
from neurosim.errors import describe
from neurosim.estimators.dictlearn import LocalDictionaryLearning, TrainState
from neurosim.io.atomic import check_writable
from neurosim.io.network import save_network
from neurosim.io.runrecord import RunRecord

__all__ = ["add_options", "ChipPlan", "plan_mapping", "check_before_training", "map_learning", "OUTPUTS"]

#: files written into the mapping directory
OUTPUTS = MAP_OUTPUTS + ("network.npz",)
_DEFAULTS = MappingOptions()


def add_options(p: argparse.ArgumentParser) -> None:
    """Add ``--chip``, ``--map-out``, ``--activity-out``, ``--time-budget``, ``--partitioner`` and
    ``--placer`` to ``neurosim learn``."""
    g = p.add_argument_group("cost on a chip (local methods)")
    g.add_argument("--chip", metavar="NAME|FILE",
                   help="map the learning network onto this chip (name, see 'neurosim chips list', or YAML) and "
                        "report the cost of the training run; the fit is checked before training")
    g.add_argument("--map-out", metavar="DIR", help="mapping outputs (default: <out stem>_map beside --out)")
    g.add_argument("--activity-out", metavar="ACT.npz", help="save the training run's activity profile")
    g.add_argument("--time-budget", type=seconds_arg, metavar="S",
                   help=f"wall-clock cap of the placement search, seconds (default {_DEFAULTS.time_budget_s:g}; 0: "
                        "no cap; the search itself is a fixed amount of work)")
    g.add_argument("--partitioner", choices=sorted(STRATEGIES),
                   help=f"how neurons are split into cores (default {_DEFAULTS.partitioner}; 'hypergraph' needs "
                        "neurosim[hypergraph])")
    g.add_argument("--placer", choices=sorted(PLACERS),
                   help=f"how cores are placed on the mesh (default {_DEFAULTS.placer})")


@dataclass(frozen=True)
class ChipPlan:
    """What ``--chip`` asks for, validated before any work."""

    chip: ChipSpec
    out: Path
    activity_out: Optional[Path]
    options: MappingOptions
    progress: bool = True
    command: Optional[str] = None


def plan_mapping(args: argparse.Namespace, s: dict[str, Any], dict_out: Path) -> Optional[ChipPlan]:
    """Validate the chip options (``None`` without ``--chip``) and every output path.

    Raises
    ------
    UsageError
        A mapping option without ``--chip``, ``--chip`` with ``--method sgd``, a bad time budget,
        ``--partitioner hypergraph`` without its module, or an existing output without ``--force``.
    ChipSpecError
        Unknown chip or invalid chip file.
    """
    if args.chip is None:
        for opt in ("map_out", "activity_out", "time_budget", "partitioner", "placer"):
            if getattr(args, opt) is not None:
                raise UsageError(describe("option", "--" + opt.replace("_", "-"), "needs --chip",
                                          expected="--chip NAME|FILE"))
        return None
    if s["method"] == "sgd":
        raise UsageError(describe("option", "--chip", "needs a network, and the sgd baseline has none",
                                  got="--method sgd", expected="--method local-rate or local-spiking"))
    options = MappingOptions(**{k: v for k, v in (("partitioner", args.partitioner), ("placer", args.placer),
                                                  ("time_budget_s", args.time_budget), ("seed", int(s["seed"])))
                                if v is not None})
    refuse_unless(args, "time_budget", options.placer == "anneal",
                  f"only with placer anneal (got placer {options.placer}, which does not refine)")
    if args.partitioner == "hypergraph":  # its optional module, checked before training rather than after
        from importlib.util import find_spec

        if find_spec("mtkahypar") is None:
            raise UsageError(describe("option", "--partitioner", "'hypergraph' needs Mt-KaHyPar",
                                      got="no module mtkahypar", expected="pip install 'neurosim[hypergraph]', "
                                                                         "or --partitioner metis"))
    out = Path(args.map_out) if args.map_out else dict_out.with_name(dict_out.stem + "_map")
    check_out_dir(out, OUTPUTS, force=args.force, option="--map-out")
    note(args, interrupted_note(out))
    act = check_writable(args.activity_out, overwrite=args.force) if args.activity_out else None
    return ChipPlan(chip=load_chip(args.chip), out=out, activity_out=act, options=options,
                    progress=not getattr(args, "no_progress", False), command=getattr(args, "command_line", None))


def check_before_training(plan: ChipPlan, learner: LocalDictionaryLearning, state: TrainState, *,
                          total: int) -> None:
    """Fail early: the learning network must fit the chip, and a resumed run must have samples left."""
    k, binding = check_learning_fits(learner, state, plan.chip, total=total)
    print(f"the learning network fits chip '{plan.chip.name}' (at least {k} core(s), binding {binding})")


def map_learning(plan: ChipPlan, learner: LocalDictionaryLearning, *, first_sample: int,
                 settings: dict[str, Any], converged: Optional[dict] = None) -> dict:
    """Map the trained network with this run's activity; write the outputs; return the report
    (with the training's convergence verdict ``converged`` in ``learning``, if given)."""
    with StageProgress(enabled=plan.progress) as progress:
        cost = cost_of_learning(learner, plan.chip, plan.options, first_sample=first_sample, settings=settings,
                                progress=progress, converged=converged)
    record = RunRecord(plan.out, OUTPUTS, command=plan.command).start()
    text, drawn = write_mapping(cost.result, plan.out, partitioner=plan.options.partitioner,
                                placer=plan.options.placer, seed=plan.options.seed, report=cost.report,
                                extra_text=cost.text())
    save_network(cost.network, plan.out / "network.npz")
    if plan.activity_out is not None:
        cost.activity.save(plan.activity_out)
    written = [n for n in OUTPUTS if n in drawn or n not in MAP_OUTPUTS]
    record.complete(written)  # the last write
    print(text, end="")
    print(f"wrote {', '.join(written)} to {plan.out}/" + (f"; activity to {plan.activity_out}" if plan.activity_out
                                                          else ""))
    return cost.report
