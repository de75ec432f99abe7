"""``neurosim learn --chip``: what learning the dictionary costs on a chip.

::

    neurosim learn ... --chip NAME|FILE [--map-out DIR] [--activity-out ACT.npz] [--time-budget S]
                       [--partitioner metis|sequential|hypergraph|steiner] [--placer anneal|block|hilbert|identity]

For the local methods, the network that learns (:meth:`LocalDictionaryLearning.network
<neurosim.estimators.dictlearn.LocalDictionaryLearning.network>`: input and coding populations,
plastic ``F``, ``B`` and ``H``, with the learned weights) is checked against the chip *before*
training (:func:`mapper.api.check_fits`), then mapped with the activity of the training run
(:func:`mapper.api.map_network`). The mapper charges learning per epoch: each local update
rewrites every plastic synapse once, so

    learn_updates = sum_c |plastic synapses of c| x updates,   c in {F, B, H}.

Where the activity comes from, stated in ``report.json`` (``learning``, ``notes``) and the summary:

* ``local-spiking`` -- simulated: every phase of every mini-batch on the numpy engine, settling
  included (``LocalDictionaryLearning.activity_``, source ``simulated:numpy``);
* ``local-rate`` -- *modelled*: this method finds the rate model's fixed points directly and
  simulates nothing, so the events are those the rate network would emit if each phase sat at its
  fixed point for all its steps (``fixed_point_activity_``, source ``fixed-point:rates``; the
  transient from rest is not counted -- on small problems the simulated rate network emits a few
  per cent more coding events).

Per-input figures (``energy_j.per_input``, ``latency_s.time_to_solution``, ``edp_js``, the
NeuroBench per-sample counts) count the ``N`` samples profiled, not the mini-batch width: the
profile records ``inputs = N`` (:attr:`neurosim.activity.ActivityProfile.inputs`, also in the
``--activity-out`` file, so ``neurosim map`` of it gives the same figures), so the summary's
"per input" and the cost's "per sample" agree.

The profile covers the samples processed by *this* invocation only: after ``--resume`` it starts
at the checkpoint; a run stopped by ``--stop-after`` maps nothing. ``DIR`` (default
``<out stem>_map`` beside ``--out``) receives the files of :mod:`neurosim.cli.mapout` and
``network.npz`` (for ``neurosim map``); ``--activity-out`` saves the profile
(:meth:`ActivityProfile.save <neurosim.activity.ActivityProfile.save>`).
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mapper import PLACERS, STRATEGIES, ChipSpec, check_fits, load_chip, map_network
from neurosim.activity import ActivityProfile
from neurosim.cli.common import StageProgress
from neurosim.cli.errors import UsageError
from neurosim.cli.mapout import MAP_OUTPUTS, check_out_dir, write_mapping
from neurosim.errors import describe
from neurosim.estimators.dictlearn import LocalDictionaryLearning, TrainState
from neurosim.io.atomic import check_writable
from neurosim.io.network import save_network

__all__ = ["add_options", "ChipPlan", "plan_mapping", "check_before_training", "map_learning", "OUTPUTS"]

#: files written into the mapping directory
OUTPUTS = MAP_OUTPUTS + ("network.npz",)
#: defaults of ``--partitioner`` and ``--placer`` (those of ``neurosim map``)
PARTITIONER, PLACER = "metis", "anneal"
DEFAULT_TIME_BUDGET_S = 20.0


def add_options(p: argparse.ArgumentParser) -> None:
    """Add ``--chip``, ``--map-out``, ``--activity-out``, ``--time-budget``, ``--partitioner`` and
    ``--placer`` to ``neurosim learn``."""
    g = p.add_argument_group("cost on a chip (local methods)")
    g.add_argument("--chip", metavar="NAME|FILE",
                   help="map the learning network onto this chip (name, see 'neurosim chips list', or YAML) and "
                        "report the cost of the training run; the fit is checked before training")
    g.add_argument("--map-out", metavar="DIR", help="mapping outputs (default: <out stem>_map beside --out)")
    g.add_argument("--activity-out", metavar="ACT.npz", help="save the training run's activity profile")
    g.add_argument("--time-budget", type=float, metavar="S",
                   help=f"placement refinement budget, seconds (default {DEFAULT_TIME_BUDGET_S:g}; 0: fixed move count)")
    g.add_argument("--partitioner", choices=sorted(STRATEGIES),
                   help=f"how neurons are split into cores (default {PARTITIONER}; 'hypergraph' needs "
                        "neurosim[hypergraph])")
    g.add_argument("--placer", choices=sorted(PLACERS), help=f"how cores are placed on the mesh (default {PLACER})")


@dataclass(frozen=True)
class ChipPlan:
    """What ``--chip`` asks for, validated before any work."""

    chip: ChipSpec
    out: Path
    activity_out: Optional[Path]
    time_budget_s: float
    seed: int
    partitioner: str = PARTITIONER
    placer: str = PLACER
    progress: bool = True


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
    budget = DEFAULT_TIME_BUDGET_S if args.time_budget is None else args.time_budget
    if not (math.isfinite(budget) and budget >= 0):
        raise UsageError(describe("option", "--time-budget", "must be >= 0", got=budget))
    if args.partitioner == "hypergraph":  # its optional module, checked before training rather than after
        from importlib.util import find_spec

        if find_spec("mtkahypar") is None:
            raise UsageError(describe("option", "--partitioner", "'hypergraph' needs Mt-KaHyPar",
                                      got="no module mtkahypar", expected="pip install 'neurosim[hypergraph]', "
                                                                         "or --partitioner metis"))
    out = Path(args.map_out) if args.map_out else dict_out.with_name(dict_out.stem + "_map")
    check_out_dir(out, OUTPUTS, force=args.force, option="--map-out")
    act = check_writable(args.activity_out, overwrite=args.force) if args.activity_out else None
    return ChipPlan(chip=load_chip(args.chip), out=out, activity_out=act, time_budget_s=float(budget),
                    seed=int(s["seed"]), partitioner=args.partitioner or PARTITIONER, placer=args.placer or PLACER,
                    progress=not getattr(args, "no_progress", False))


def check_before_training(plan: ChipPlan, learner: LocalDictionaryLearning, state: TrainState, *,
                          total: int) -> None:
    """Fail early: :class:`~neurosim.errors.CapacityError` if the learning network cannot fit
    the chip, :class:`UsageError` if a resumed run has no samples left to profile."""
    if state.samples_seen >= total:
        raise UsageError(describe("option", "--chip", "the checkpoint has finished training: no samples left to "
                                  "profile in this run", got=f"{state.samples_seen} of {total} samples done",
                                  expected="a checkpoint with samples left"))
    k, binding = check_fits(learner.network(state.params, batch=learner.batch_size), plan.chip)
    print(f"the learning network fits chip '{plan.chip.name}' (at least {k} core(s), binding {binding})")


def map_learning(plan: ChipPlan, learner: LocalDictionaryLearning, *, first_sample: int,
                 settings: dict[str, Any]) -> dict:
    """Map the trained network with this run's activity; write the outputs; return the report.

    The report gains ``learning``: method, where the activity comes from, the samples and
    updates it covers and the energy of the learning updates (joules and share of the total).
    """
    simulated = learner.activity_ is not None
    activity: ActivityProfile = learner.activity_ if simulated else learner.fixed_point_activity_
    if activity is None:  # pragma: no cover - check_before_training guarantees an update
        raise UsageError(describe("learn", settings["method"], "no update was made, nothing to map"))
    last = learner.state_.samples_seen  # the profile's inputs = last - first_sample (LocalDictionaryLearning.fit)
    network = learner.network(batch=activity.batch)
    with StageProgress(enabled=plan.progress) as progress:
        result = map_network(network, plan.chip, activity, partitioner=plan.partitioner, placer=plan.placer,
                             seed=plan.seed, time_budget_s=plan.time_budget_s, progress=progress)
    report = result.report.to_dict()
    e = report["energy_j"]
    learn_j = float(e["by_event"].get("learn_update", 0.0))
    report["learning"] = {
        "method": settings["method"], "data": settings["data"], "atoms": settings["atoms"],
        "batch": settings["batch"],
        "activity": "simulated" if simulated else "fixed-point model",
        "activity_source": activity.source,
        "first_sample": int(first_sample), "last_sample": int(last), "samples_profiled": int(last - first_sample),
        "updates": dict(activity.learn_epochs),
        "learn_update_j": learn_j,
        "learn_update_share": learn_j / e["total"] if e["total"] else None,
        "learn_update_share_of_dynamic": learn_j / e["dynamic"] if e["dynamic"] else None}
    report["notes"] += _notes(simulated, first_sample, last, steps_per_phase=learner.steps_per_phase())
    text, drawn = write_mapping(result, plan.out, partitioner=plan.partitioner, placer=plan.placer, seed=plan.seed,
                                report=report, extra_text=cost_text(report))
    save_network(network, plan.out / "network.npz")
    if plan.activity_out is not None:
        activity.save(plan.activity_out)
    print(text, end="")
    written = [n for n in OUTPUTS if n in drawn or n not in MAP_OUTPUTS]
    print(f"wrote {', '.join(written)} to {plan.out}/" + (f"; activity to {plan.activity_out}" if plan.activity_out
                                                          else ""))
    return report


def _notes(simulated: bool, first: int, last: int, *, steps_per_phase: int) -> list[str]:
    notes = []
    if simulated:
        notes.append("learning activity SIMULATED: both phases of every mini-batch of this run on the numpy engine, "
                     "settling included")
    else:
        notes.append("learning activity MODELLED, not simulated: local-rate solves the rate model's fixed points "
                     f"directly; events are those the rate network would emit holding each phase's fixed point for "
                     f"all {steps_per_phase} steps of the phase (the transient from rest is not counted)")
    notes.append("learning updates charged per epoch: every plastic synapse of F, B and H once per local update")
    if first:
        notes.append(f"the activity covers only samples {first}..{last} processed by this invocation (resumed from a "
                     f"checkpoint at sample {first}), not the whole training")
    return notes


def cost_text(report: dict) -> str:
    """The short cost summary printed after training (newline-terminated)."""
    ln, e, lat = report["learning"], report["energy_j"], report["latency_s"]
    share = ln["learn_update_share"]
    dyn = ln["learn_update_share_of_dynamic"]
    return (f"cost of learning on chip '{report['chip']['name']}' ({ln['activity']} activity, samples "
            f"{ln['first_sample']}..{ln['last_sample']}, {ln['updates'].get('F', 0)} updates):\n"
            f"  energy {e['total']:.4g} J ({e['per_input']:.4g} J per sample); learning updates "
            f"{ln['learn_update_j']:.4g} J = {_percent(share)} of the total"
            + ("" if dyn is None else f", {_percent(dyn)} of the dynamic energy") + "\n"
            f"  latency {lat['per_step']:.4g} s per step; {report['partition']['cores_used']} core(s)\n")


def _percent(share: Optional[float]) -> str:
    return "n/a" if share is None else f"{100.0 * share:.3g}%"
