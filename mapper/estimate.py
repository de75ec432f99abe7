r"""Estimate: energy, latency and NeuroBench counts of a routed mapping under an activity profile.

Notation: ``R = steps * batch`` executed steps; per-part (= per-core) rates are per step, so run
totals are ``rate * R`` (loihi.md Appendix B, SANA-FE's count x unit-cost model).

Events over the run and their unit costs (``chip.energy``):

=========================  =============================================================  =====================
event                      count                                                          unit
=========================  =============================================================  =====================
``syn_op``                 synapses receiving an event: ``sum_v count_v * fan_out_v``     ``syn_op``
``neuron_update_active``   ``all_mapped``: ``n * R``; ``spiking``: output events          ``neuron_update_active``
``neuron_update_inactive`` ``all_mapped``: 0; ``spiking``: ``n * R - events``             ``neuron_update_inactive``
``spike_out``              output events                                                  ``spike_out``
``packet``                 events x distinct destination cores                           ``packet``
``spike_within_tile``      packets whose destination core is on the source tile           ``spike_within_tile``
``hop_ew`` / ``hop_ns``    link traversals charged by the routing model                   ``hop_ew`` / ``hop_ns``
``hop_chip``               charged traversals of chip-boundary links                      ``hop_chip``
``learn_update``           plastic-synapse updates ``sum_c U_c`` (see below)              ``learn_update``
``barrier``                ``R``                                                          ``barrier``
=========================  =============================================================  =====================

Learning updates ``U_c`` of plastic connection ``c`` follow one of two models
(:mod:`mapper.graph`, ``learn_rate``):

* epoch model, ``c`` in ``ActivityProfile.learn_epochs`` (rules applied between runs, as
  :mod:`neurosim.learning` and Loihi's learning epochs: every plastic synapse once per epoch):
  ``U_c = |P_c| * epochs_c``, ``|P_c|`` the plastic synapses of ``c``;
* event model, otherwise (STDP-like rules): one update per event arriving at a plastic synapse,
  ``U_c = sum_j count_j * fan_out_c[j]``.

On core ``c`` the per-step mean ``L_c`` (latency below) counts the updates of the plastic synapses
whose post-synaptic neuron it holds: ``L_c = sum_conn |P_conn(c)| * epochs_conn / R`` under
the epoch model, ``sum_{(i, j) plastic, i on c} rate_j`` under the event model.

``E_dynamic = sum_event count * unit``; ``E_static = P_static * chips_used * T_wall`` with
``T_wall = R * T_step`` (unthrottled).

Latency of a mean step: ``T_step = max_c T_core(c) + T_noc + T_barrier`` with
``T_core(c) = A_c t_act + I_c t_inact + S_c t_syn + L_c t_learn + E_c t_spike_out + Po_c t_packet_out
+ Pi_c t_packet_in`` (per-step means on core ``c``), ``T_noc = t_within_tile + hx t_ew + hy t_ns + hc t_chip``
of the longest routed path carrying traffic (0 without traffic), raised to the bandwidth floor
``max_tile (messages through the tile) / tile_bandwidth_msgs_per_s`` when the chip gives one, and
``T_barrier = TimingModel.barrier_s(tiles in use, chips in use)`` (table lookup, linear or step,
clamped at the table's ends). A throttled chip's step is at least ``min_step_s``.
Per input (:func:`per_input_figures`): the run executed ``R = steps * batch`` steps for ``N``
inputs (``N = batch`` for a simulation of one batch; a training run that streamed ``N`` samples
through mini-batches of ``batch`` records ``N`` as the profile's ``inputs``,
:attr:`mapper.graph.NetGraph.n_inputs`), so each input took ``R / N`` steps and

.. math::

    E_{in} = E_{total} / N \;[\mathrm{J}], \qquad
    T_{in} = (R / N)\, T_{step} \;[\mathrm{s}], \qquad
    \mathrm{EDP} = E_{in}\, T_{in} \;[\mathrm{J\,s}]

(time to solution ``T_in``; the EDP is *per input*, not total energy x total wall time, see
:data:`EDP_BASIS`).

NeuroBench (Yik et al. 2025) per sample (per input, ``/ N``): Eff_ACs (events of binary-spike
neurons x non-zero fan-out), Eff_MACs (the same for graded neurons), Dense (``sum_c n_post n_pre``
x the ``R / N`` steps of one input), activation sparsity
``1 - events / (n * steps * batch)``, connection sparsity ``1 - synapses / sum_c n_post n_pre``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .chipspec import ChipSpec
from .graph import NetGraph
from .partition import Partition
from .route import Routing

__all__ = ["Estimate", "estimate", "EVENTS", "EDP_BASIS", "per_input_figures"]

#: what ``edp_js`` is: per input, not total energy x total wall time
EDP_BASIS = "per input: energy per input (J) x time to solution of one input (s)"

EVENTS = ("syn_op", "neuron_update_active", "neuron_update_inactive", "spike_out", "packet", "spike_within_tile",
          "hop_ew", "hop_ns", "hop_chip", "learn_update", "barrier")


@dataclass(frozen=True)
class Estimate:
    """Energy (J), latency (s) and event counts of a mapping over the profiled run.

    Attributes
    ----------
    counts : dict[str, float]
        Events over the run, keyed as :data:`EVENTS`.
    energy_j : dict[str, float]
        ``count * unit`` per event.
    dynamic_j, static_j, total_j, per_step_j, per_input_j : float
    step_s, core_s, noc_s, barrier_s : float
        Mean step latency and its three terms; ``slowest_core`` is the part that sets ``core_s``.
    slowest_core : int
    wall_s, time_to_solution_s, edp_js : float
        ``R * T_step``; ``T_in`` and ``E_in * T_in`` per input (:func:`per_input_figures`, ``N = batch``).
    neurobench : dict
    steps, batch : int
    chips_used, tiles_used : int
    """

    counts: dict
    energy_j: dict
    dynamic_j: float
    static_j: float
    total_j: float
    per_step_j: float
    per_input_j: float
    step_s: float
    core_s: float
    noc_s: float
    barrier_s: float
    slowest_core: int
    wall_s: float
    time_to_solution_s: float
    edp_js: float
    neurobench: dict
    steps: int
    batch: int
    chips_used: int
    tiles_used: int
    core_time_s: np.ndarray = None


def per_input_figures(total_j: float, step_s: float, *, steps: int, batch: int,
                      inputs: Optional[int] = None) -> dict[str, float]:
    r"""Energy, time to solution and EDP per input of a run of ``R = steps * batch`` steps.

    .. math::

        E_{in} = E_{total} / N, \qquad T_{in} = (R / N)\, T_{step}, \qquad \mathrm{EDP} = E_{in} T_{in}

    Parameters
    ----------
    total_j : float
        Energy of the whole run, J.
    step_s : float
        Latency of a mean step ``T_step``, s.
    steps, batch : int
        Steps of the profile and inputs simulated in parallel (``R = steps * batch``).
    inputs : int, optional
        Inputs ``N`` the run processed (default ``batch``): e.g. the samples of a training run
        that streamed them through mini-batches of ``batch``.

    Returns
    -------
    dict
        ``inputs`` (N), ``steps_per_input`` (``R / N``), ``energy_j`` (J), ``time_to_solution_s``
        (s) and ``edp_js`` (J s).

    Raises
    ------
    ValueError
        ``inputs < 1``.
    """
    n = int(batch if inputs is None else inputs)
    if n < 1:
        raise ValueError(f"estimate 'inputs': must be at least 1 (got {n}, expected an integer >= 1)")
    steps_per_input = float(steps) * float(batch) / n
    energy = float(total_j) / n
    tts = steps_per_input * float(step_s)
    return {"inputs": n, "steps_per_input": steps_per_input, "energy_j": energy, "time_to_solution_s": tts,
            "edp_js": energy * tts}


def _fan_out(graph: NetGraph) -> np.ndarray:
    """Synapses leaving every neuron."""
    return np.bincount(graph.out_src, weights=graph.out_nsyn, minlength=graph.n)


def estimate(graph: NetGraph, chip: ChipSpec, *, partition: Partition, routing: Routing) -> Estimate:
    """Energy, latency and NeuroBench counts (see module doc); graded neurons
    (``graph.graded``) count as Eff_MACs, binary-spike neurons as Eff_ACs."""
    e, t = chip.energy, chip.timing
    steps, batch = graph.steps, graph.batch
    runs = float(steps * batch)
    n = graph.n
    pp = routing.per_part
    events = float(graph.counts.sum())
    policy = e.active_policy
    if policy == "spiking":
        active, inactive = events, max(0.0, n * runs - events)
    else:
        active, inactive = n * runs, 0.0
    counts = {
        "syn_op": float(pp["syn_ops"].sum()) * runs,
        "neuron_update_active": float(active),
        "neuron_update_inactive": float(inactive),
        "spike_out": events,
        "packet": routing.packets * runs,
        "spike_within_tile": routing.packets_within_tile * runs,
        "hop_ew": routing.hops_ew * runs,
        "hop_ns": routing.hops_ns * runs,
        "hop_chip": routing.chip_crossings * runs,
        "learn_update": float(pp["learn_updates"].sum()) * runs,
        "barrier": runs,
    }
    energy = {k: counts[k] * float(getattr(e, k)) for k in EVENTS}
    dynamic = float(sum(energy.values()))
    # latency of a mean step
    n_c = partition.usage.used["compartments"].astype(np.float64)
    spk = pp["spikes"]
    if policy == "spiking":
        a_c, i_c = spk, np.maximum(0.0, n_c - spk)
    else:
        a_c, i_c = n_c, np.zeros_like(n_c)
    core_time = (a_c * t.neuron_update_active + i_c * t.neuron_update_inactive + pp["syn_ops"] * t.syn_op
                 + pp["learn_updates"] * t.learn_update + spk * t.spike_out + pp["packets_out"] * t.packet_out
                 + pp["packets_in"] * t.packet_in)
    slowest = int(np.argmax(core_time)) if core_time.size else 0
    core_s = float(core_time.max(initial=0.0))
    noc_s = (t.spike_within_tile + routing.noc_path_s) if routing.packets > 0 else 0.0
    if t.tile_bandwidth_msgs_per_s:
        noc_s = max(noc_s, routing.tile_traffic_max / float(t.tile_bandwidth_msgs_per_s))
    barrier_s = t.barrier_s(routing.tiles_used, routing.chips_used)
    step_s = max(core_s + noc_s + barrier_s, float(t.min_step_s))
    wall = runs * step_s
    static = float(e.static_power_w_per_chip) * routing.chips_used * wall
    total = dynamic + static
    per = per_input_figures(total, step_s, steps=steps, batch=batch, inputs=graph.n_inputs)
    per_input, tts = per["energy_j"], per["time_to_solution_s"]
    # NeuroBench
    fan = _fan_out(graph)
    g = graph.graded
    syn_per_src = graph.counts * fan
    dense = float(graph.dense_weights) * per["steps_per_input"]
    nb = {
        "synaptic_operations": {"Effective_ACs": float(syn_per_src[~g].sum()) / graph.n_inputs,
                                "Effective_MACs": float(syn_per_src[g].sum()) / graph.n_inputs,
                                "Dense": dense},
        "activation_sparsity": 1.0 - events / (n * runs) if n and runs else 1.0,
        "connection_sparsity": (1.0 - graph.n_synapses / graph.dense_weights) if graph.dense_weights else None,
        "note": "per sample (input); Dense counts every weight of every connection every step",
    }
    return Estimate(counts=counts, energy_j=energy, dynamic_j=dynamic, static_j=static, total_j=total,
                    per_step_j=total / runs, per_input_j=per_input, step_s=step_s, core_s=core_s, noc_s=noc_s,
                    barrier_s=barrier_s, slowest_core=slowest, wall_s=wall, time_to_solution_s=tts,
                    edp_js=per["edp_js"], neurobench=nb, steps=steps, batch=batch,
                    chips_used=routing.chips_used, tiles_used=routing.tiles_used, core_time_s=core_time)
