"""What learning a dictionary costs on a chip (``neurosim learn --chip``), as library calls.

For the local methods, the network that learns (:meth:`LocalDictionaryLearning.network
<neurosim.estimators.dictlearn.LocalDictionaryLearning.network>`: input and coding populations,
plastic ``F``, ``B`` and ``H``, with the learned weights) is checked against the chip *before*
training (:func:`check_learning_fits`), then mapped with the activity of the training run
(:func:`cost_of_learning`). The mapper charges learning per epoch: each local update rewrites
every plastic synapse once, so

    learn_updates = sum_c |plastic synapses of c| x updates,   c in {F, B, H}.

Where the activity comes from is stated in the report (``learning``, ``notes``) and the summary:

* ``local-spiking`` -- simulated: every phase of every mini-batch, settling included
  (``LocalDictionaryLearning.activity_``, source ``simulated:<backend>``);
* ``local-rate`` -- *modelled*: this method finds the rate model's fixed points directly and
  simulates nothing. It is costed with the same accounting as ``local-spiking`` (the same spiking
  network, steps per phase, events and per-sample definition): each neuron fires at its
  fixed-point rate ``a`` (spikes per unit of model time, Theorem 1) for each spiking phase
  (``fixed_point_spikes_``, source ``fixed-point:spikes``; the transient from rest and the
  spike-count quantisation are not modelled). The rate network itself (graded outputs every step
  of a 6000-step phase) is not mapped: a binary-spike chip cannot run it, and its figures are not
  comparable with a spiking run's (issue 16: 137x per sample, almost all of it accounting).

Every figure of the summary says which it is: *simulated* (from the spike counts of a simulated
run) or *modelled* (from the fixed-point model); ``learning.figures`` in the report says the same.

Per-input figures (``energy_j.per_input``, ``latency_s.time_to_solution``, ``edp_js``, the
NeuroBench per-sample counts) count the ``N`` samples profiled, not the mini-batch width: the
profile records ``inputs = N`` (:attr:`neurosim.activity.ActivityProfile.inputs`). The profile
covers the samples processed by one call of ``fit`` only (after a resume it starts at the
checkpoint).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from mapper import ChipSpec, MappingOptions, MappingResult, check_fits, map_network
from neurosim.activity import ActivityProfile
from neurosim.app.report import compose_report
from neurosim.errors import InputError, describe
from neurosim.estimators.dictlearn import SPIKING_DT_S, SPIKING_PHASE_TIME, LocalDictionaryLearning, TrainState
from neurosim.ir import Network

__all__ = ["LearningCost", "check_learning_fits", "cost_of_learning"]


@dataclass(frozen=True, eq=False)
class LearningCost:
    """The mapping of a trained learning network with its training activity."""

    network: Network
    activity: ActivityProfile
    result: MappingResult
    report: dict

    def text(self) -> str:
        """The short cost summary (newline-terminated)."""
        return cost_text(self.report)


def check_learning_fits(learner: LocalDictionaryLearning, state: TrainState, chip: Union[ChipSpec, str], *,
                        total: int) -> tuple[int, str]:
    """Fail early, before training: :class:`~neurosim.errors.CapacityError` if the learning network
    cannot fit ``chip``, :class:`~neurosim.errors.InputError` if a resumed run has no samples
    left to profile. Returns ``(k, binding)``: the fewest cores the lower bounds allow and the
    binding resource."""
    if state.samples_seen >= total:
        raise InputError(describe("learning", "chip", "the checkpoint has finished training: no samples left to "
                                  "profile in this run", got=f"{state.samples_seen} of {total} samples done",
                                  expected="a checkpoint with samples left"))
    return check_fits(learner.network(state.params, batch=learner.batch_size), chip)


def cost_of_learning(learner: LocalDictionaryLearning, chip: Union[ChipSpec, str],
                     options: Optional[MappingOptions] = None, *, first_sample: int, settings: dict[str, Any],
                     progress: Optional[Callable[[str, int, int], None]] = None,
                     converged: Optional[dict] = None) -> LearningCost:
    """Map the trained network of ``learner`` with its training activity; the report gains
    ``learning``: method, where the activity comes from and whether the figures are simulated or
    modelled (``figures``), the samples and updates it covers, the energy of the learning updates
    (joules and share of the total) and, if given, ``converged`` (the training's convergence
    verdict, :func:`~neurosim.estimators.dictlearn.training_convergence`).

    ``settings`` holds ``method``, ``data``, ``atoms`` and ``batch`` as given to the learner.
    """
    simulated = learner.activity_ is not None
    activity = learner.activity_ if simulated else learner.fixed_point_spikes_
    if activity is None:
        raise InputError(describe("learning", settings["method"], "no update was made, nothing to map"))
    last = learner.state_.samples_seen  # the profile's inputs = last - first_sample (LocalDictionaryLearning.fit)
    # a modelled profile is the spiking network's (the same accounting as a simulated spiking run)
    network = learner.network(batch=activity.batch, model=None if simulated else "spiking")
    result = map_network(network, chip, activity, options, progress=progress)
    e = result.report.to_dict()["energy_j"]
    learn_j = float(e["by_event"].get("learn_update", 0.0))
    learning = {
        "method": settings["method"], "data": settings["data"], "atoms": settings["atoms"],
        "batch": settings["batch"],
        "activity": "simulated" if simulated else "fixed-point model",
        "figures": "simulated" if simulated else "modelled",
        "activity_source": activity.source,
        "first_sample": int(first_sample), "last_sample": int(last), "samples_profiled": int(last - first_sample),
        "updates": dict(activity.learn_epochs),
        "learn_update_j": learn_j,
        "learn_update_share": learn_j / e["total"] if e["total"] else None,
        "learn_update_share_of_dynamic": learn_j / e["dynamic"] if e["dynamic"] else None}
    steps = learner.steps_per_phase() if simulated else int(round(SPIKING_PHASE_TIME / SPIKING_DT_S))
    if converged is not None:
        learning["converged"] = converged
    report = compose_report(result, learning=learning,
                            notes=_notes(simulated, first_sample, last, steps_per_phase=steps))
    return LearningCost(network=network, activity=activity, result=result, report=report)


def _notes(simulated: bool, first: int, last: int, *, steps_per_phase: int) -> list[str]:
    notes = []
    if simulated:
        notes.append("learning activity SIMULATED: spike counts of both phases of every mini-batch of this run, "
                     "settling included")
    else:
        notes.append("learning activity MODELLED, not simulated: local-rate solves the rate model's fixed points "
                     "directly; the spiking network local-spiking simulates is costed with each neuron firing at its "
                     f"fixed-point rate for all {steps_per_phase} steps of each phase (the same network, steps and "
                     "events as a local-spiking run; the transient from rest and spike-count quantisation are not "
                     "modelled)")
    notes.append("learning updates charged per epoch: every plastic synapse of F, B and H once per local update")
    if first:
        notes.append(f"the activity covers only samples {first}..{last} processed by this invocation (resumed from a "
                     f"checkpoint at sample {first}), not the whole training")
    return notes


def cost_text(report: dict) -> str:
    """The short cost summary printed after training (newline-terminated): every figure that
    depends on the activity is marked *simulated* or *modelled* (``learning.figures``)."""
    ln, e, lat = report["learning"], report["energy_j"], report["latency_s"]
    kind = ln.get("figures", "simulated" if ln["activity"] == "simulated" else "modelled")
    how = ("from the spike counts of the simulated run" if kind == "simulated" else
           "from the rate model's fixed points, spiking-network accounting; not simulated")
    share = ln["learn_update_share"]
    dyn = ln["learn_update_share_of_dynamic"]
    return (f"cost of learning on chip '{report['chip']['name']}' ({kind.upper()} figures, {how}; samples "
            f"{ln['first_sample']}..{ln['last_sample']}, {ln['updates'].get('F', 0)} updates):\n"
            f"  energy {e['total']:.4g} J {kind} ({e['per_input']:.4g} J per sample, {kind}); learning updates "
            f"{ln['learn_update_j']:.4g} J = {_percent(share)} of the total"
            + ("" if dyn is None else f", {_percent(dyn)} of the dynamic energy") + f" ({kind})\n"
            f"  latency {lat['per_step']:.4g} s per step {kind}; {report['partition']['cores_used']} core(s)\n")


def _percent(share: Optional[float]) -> str:
    return "n/a" if share is None else f"{100.0 * share:.3g}%"
