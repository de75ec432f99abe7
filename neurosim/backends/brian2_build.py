"""Translate a :class:`neurosim.ir.Network` into Brian2 objects (used by :mod:`.brian2_backend`).

Every population becomes one ``NeuronGroup`` holding ``batch`` independent copies of it
(neuron ``j`` of copy ``b`` is index ``b * n + j``); every connection one ``Synapses`` object,
block-diagonal over the copies. The groups implement exactly the discrete-time equations
documented in :mod:`neurosim.neurons`, using Brian2's default schedule
(``start, groups, thresholds, synapses, resets, end``) for the event order:

LIF / IF (``i`` is called ``isyn``: ``i`` is the neuron index in Brian2; receptor ``r`` other than
the default ``"syn"`` has its own current ``isyn_r`` with time constant ``tau_r``, and ``itot`` is
their sum)::

    before_groups  isyn_b += (dt/tau_b) bias   (a bias entering receptor b, ``LIF.bias_receptor``)
    groups      v += dt (bias + ext + isyn [+ isyn_r ...] - (v - v_rest)/tau_m)  (forward Euler,
                isyn += -dt isyn / tau_s ; isyn_r += -dt isyn_r / tau_r      frozen when refractory),
                                                                             same old values
    thresholds  s = v >= v_th  or  v > v_th  (``LIF.threshold``; refractory neurons cannot spike)
    synapses    isyn_r += W / tau_r  for spikes emitted d - 1 steps ago (Brian2 delay (d-1) dt)
    resets      v -= v_th  or  v = v_reset

so a spike at step n reaches ``v`` at step ``n + d``. A bias acts from step ``LIF.bias_start`` on
(``bias * int(t_in_timesteps >= bias_start)``). A refractory period of ``R`` steps is
Brian2's ``refractory = (R + 1) dt``: Brian2 counts the spike step itself.

LCANeuron (``a`` is a state variable, ``in`` the graded input of the previous step)::

    start        history shift  ah_k <- ah_{k-1}, ah_1 <- a        (only for delays >= 2)
    groups - 1   g_c = W_c a^pre_{n-d_c}  (summed variables, one per graded connection)
    groups       u += dt (bias + ext + sum_c g_c + spk_in - u) / tau
    after_groups a = T(u) / gain ; spk_in = 0
    (an initial state u0 sets a = T(u0)/gain too: the initial output counts as emitted at step -1)
    synapses     spk_in += W  (spikes from spiking populations, delay (d-1) dt)

Graded outputs driving spiking (LIF) neurons are not supported here (no model needs them);
such a connection raises :class:`~neurosim.errors.SimulationError`. A connection's learning rule
does not act inside a run (rules are applied between runs by :mod:`neurosim.learning`, as with
the numpy engine): a run uses the connection's current weights.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from neurosim.errors import NetworkError, SimulationError, describe
from neurosim.ir import ArrayInput, Connection, ConstantInput, Network, PoissonInput, Population
from neurosim.neurons import DEFAULT_RECEPTOR, LIF, LCANeuron, threshold_function

log = logging.getLogger(__name__)

__all__ = ["Built", "build_network", "STATE_NAMES", "state_names", "receptor_var"]

#: neurosim state-variable name -> Brian2 variable name, per model (one-receptor LIF)
STATE_NAMES: dict[type, dict[str, str]] = {LIF: {"v": "v", "i": "isyn"}, LCANeuron: {"u": "u", "a": "a"}}


def receptor_var(model: LIF, receptor: Optional[str]) -> str:
    """The Brian2 variable of a LIF receptor's current: ``isyn`` (default) or ``isyn_<name>``."""
    return "isyn" if receptor is None or receptor == DEFAULT_RECEPTOR else f"isyn_{receptor}"


def state_names(model: Any, *, probes: bool = False) -> dict[str, str]:
    """neurosim variable -> Brian2 variable of ``model``'s final state (``probes``: every
    probe-able state variable, e.g. ``i_syn`` of a one-receptor LIF)."""
    if not isinstance(model, LIF):
        return dict(STATE_NAMES[type(model)])
    if len(model.receptor_names) == 1:
        return {"v": "v", "i": "isyn", **({"i_syn": "isyn"} if probes else {})}
    return {"v": "v", "i": "itot", **{f"i_{r}": receptor_var(model, r) for r in model.receptor_names}}

_THRESHOLDS = {  # LCANeuron threshold function T(u), Brian2 syntax
    "soft": "sign(u) * clip(abs(u) - lam, 0, inf)",
    "nonneg": "clip(u - lam, 0, inf)",
    "hard": "u * int(abs(u) > lam)",
}


@dataclass
class GroupPlan:
    """Everything needed to create the ``NeuronGroup`` of one population."""

    pop: Population
    gname: str
    batch: int
    graded: bool
    params: dict[str, tuple[np.ndarray, str]] = field(default_factory=dict)  # name -> (values, unit)
    drive_terms: list[str] = field(default_factory=list)  # array inputs and graded inputs
    extra_vars: list[str] = field(default_factory=list)  # equation lines
    namespace: dict[str, Any] = field(default_factory=dict)
    history: int = 1  # longest delay of a graded connection leaving this population
    spk_in: bool = False  # LCA target of spikes or Poisson input
    counters: dict[str, tuple] = field(default_factory=dict)  # probe name -> (start, stop) steps
    regular: list[tuple[str, str]] = field(default_factory=list)  # (code, when)

    @property
    def size(self) -> int:
        return self.pop.size * self.batch


@dataclass
class Built:
    """The Brian2 objects of one network and where to read the results."""

    objects: list
    groups: dict[str, Any]
    plans: dict[str, GroupPlan]
    spike_monitors: dict[str, Any]
    state_monitors: dict[str, tuple[Any, str]]  # probe name -> (StateMonitor, brian2 var)


def _tile(value: Any, n: int, batch: int, what: str) -> np.ndarray:
    """A scalar, ``(n,)`` or ``(batch, n)`` value as a flat ``(batch * n,)`` array."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 2 and arr.shape[0] != batch:
        raise NetworkError(describe("input", what, "batch size does not match the network",
                                    got=arr.shape[0], expected=batch))
    return np.broadcast_to(arr, (batch, n)).reshape(-1).copy()


# -- populations -------------------------------------------------------------------------------
def plan_lif(pop: Population, gname: str, batch: int, dt: float) -> GroupPlan:
    m: LIF = pop.model  # type: ignore[assignment]
    plan = GroupPlan(pop, gname, batch, graded=False)
    n = pop.size
    m.check_dt(pop.name, n, dt)
    for name, unit in (("tau_s", "second"), ("v_th", "1"), ("bias", "Hz"), ("v_reset", "1")):
        plan.params[name] = (np.tile(m.param(name, n), batch), unit)
    plan.params["ext"] = (np.zeros(n * batch), "Hz")
    if m.leaky:
        plan.params["tau_m"] = (np.tile(m.param("tau_m_s", n), batch), "second")
        plan.params["v_rest"] = (np.tile(m.param("v_rest", n), batch), "1")
    for r in m.receptors:
        plan.params[f"tau_{r}"] = (np.tile(m.receptor_tau(r, n), batch), "second")
    return plan


def plan_lca(pop: Population, gname: str, batch: int, dt: float) -> GroupPlan:
    m: LCANeuron = pop.model  # type: ignore[assignment]
    plan = GroupPlan(pop, gname, batch, graded=True)
    n = pop.size
    m.check_dt(pop.name, n, dt)
    for name, unit in (("tau_s", "second"), ("lam", "1"), ("gain", "1"), ("bias", "1")):
        plan.params[name] = (np.tile(m.param(name, n), batch), unit)
    plan.params["ext"] = (np.zeros(n * batch), "1")
    return plan


PLANNERS = {LIF: plan_lif, LCANeuron: plan_lca}


def _equations(plan: GroupPlan) -> str:
    """The Brian2 model string of a population."""
    params = [f"{k} : {u} (constant)" for k, (_, u) in plan.params.items()]
    counters = ["cnt : integer"] + [f"pc{k} : integer" for k in range(len(plan.counters))]
    extra = plan.extra_vars + (["spk_in : 1"] if plan.spk_in else [])
    drive = "".join(f" + {t}" for t in plan.drive_terms)
    if not plan.graded:
        leak = " - (v - v_rest)/tau_m" if "tau_m" in plan.params else ""
        extra_r = list(plan.pop.model.receptors)  # type: ignore[attr-defined]
        currents = "".join(f" + isyn_{r}" for r in extra_r)
        m: LIF = plan.pop.model  # type: ignore[assignment]
        gate = f" * int(t_in_timesteps >= {int(m.bias_start)})" if m.bias_start else ""
        bias = "" if m.bias_receptor is not None else f"bias{gate} + "
        core = [f"dv/dt = {bias}ext{drive} + isyn{currents}{leak} : 1 (unless refractory)",
                "disyn/dt = -isyn/tau_s : Hz"] + [f"disyn_{r}/dt = -isyn_{r}/tau_{r} : Hz" for r in extra_r]
        if extra_r:
            core.append(f"itot = isyn{currents} : Hz")
    else:
        spk = " + spk_in" if plan.spk_in else ""
        hist = [f"ah{k} : 1" for k in range(1, plan.history + 1)] if plan.history >= 2 else []
        core = [f"du/dt = (bias + ext{drive}{spk} - u)/tau_s : 1", "a : 1"] + hist
    return "\n".join(core + params + counters + extra)


def _make_group(b2, plan: GroupPlan, clock) -> Any:
    pop = plan.pop
    counts = "; ".join(["cnt += 1"] + [f"pc{k} += int(t_in_timesteps >= {start})" if stop is None else
                                       f"pc{k} += int(t_in_timesteps >= {start} and t_in_timesteps < {stop})"
                                       for k, (start, stop) in enumerate(plan.counters.values())])
    kw: dict[str, Any] = dict(model=_equations(plan), method="euler", clock=clock, name=plan.gname,
                              namespace=plan.namespace)
    if plan.graded:
        kw["events"] = {"emit": "a != 0"}
    else:
        m: LIF = pop.model  # type: ignore[assignment]
        reset = "v = v - v_th" if m.reset == "subtract" else "v = v_reset"
        kw.update(threshold=f"v {m.threshold} v_th", reset=f"{reset}; {counts}",
                  refractory=(int(m.refractory_steps) + 1) * clock.dt)
    group = b2.NeuronGroup(plan.size, **kw)
    for name, (values, unit) in plan.params.items():
        setattr(group, name, values * (1 if unit == "1" else getattr(b2, unit)))
    if plan.graded:
        m2: LCANeuron = pop.model  # type: ignore[assignment]
        code = f"a = {_THRESHOLDS[m2.threshold]} / gain" + ("\nspk_in = 0" if plan.spk_in else "")
        group.run_regularly(code, when="after_groups", name=f"{plan.gname}_output")
        group.run_on_event("emit", counts)
        if plan.history >= 2:
            shift = [f"ah{k} = ah{k - 1}" for k in range(plan.history, 1, -1)] + ["ah1 = a"]
            group.run_regularly("\n".join(shift), when="start", name=f"{plan.gname}_history")
    if not plan.graded and pop.model.bias_receptor is not None:  # type: ignore[attr-defined]
        m3: LIF = pop.model  # type: ignore[assignment]
        var = receptor_var(m3, m3.bias_receptor)
        tau = "tau_s" if var == "isyn" else f"tau_{m3.bias_receptor}"
        gate = f" * int(t_in_timesteps >= {int(m3.bias_start)})" if m3.bias_start else ""
        group.run_regularly(f"{var} += (dt / {tau}) * bias{gate}", when="before_groups", name=f"{plan.gname}_bias")
    for k, (code, when) in enumerate(plan.regular):
        group.run_regularly(code, when=when, name=f"{plan.gname}_input{k}")
    return group


# -- connections -------------------------------------------------------------------------------
def _synapse_indices(conn: Connection, batch: int, n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pre indices, post indices and weights of the block-diagonal batched connection."""
    coo = conn.csr().tocoo()
    rows, cols, data = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    if batch == 1:
        return cols, rows, data
    off = np.arange(batch, dtype=np.int64)[:, None]
    return ((off * n_pre + cols).ravel(), (off * n_post + rows).ravel(), np.tile(data, batch))


def plan_connection(conn: Connection, k: int, plans: dict[str, GroupPlan]) -> None:
    """Record what connection ``k`` needs from its pre and post groups."""
    if conn.learning_rule is not None:  # as in the numpy engine: rules act between runs, not in the loop
        log.debug("connection %s has a learning rule; applied between runs (neurosim.learning), not inside the loop",
                  conn.name)
    pre, post = plans[conn.pre], plans[conn.post]
    if pre.graded and not post.graded:
        raise SimulationError(describe("connection", conn.name,
                                       "graded outputs driving spiking neurons are not supported by the brian2 backend",
                                       got="LCANeuron -> LIF", expected="spikes -> LIF or any -> LCANeuron"))
    if pre.graded:
        post.extra_vars.append(f"g{k} : 1")
        post.drive_terms.append(f"g{k}")
        pre.history = max(pre.history, int(conn.delay_steps))
    elif post.graded:
        post.spk_in = True


def make_synapses(b2, conn: Connection, k: int, plans: dict[str, GroupPlan], groups: dict, gain: float,
                  clock) -> Optional[Any]:
    """The ``Synapses`` object of connection ``k`` (``None`` if it has no synapse)."""
    pre, post = plans[conn.pre], plans[conn.post]
    src, dst, w = _synapse_indices(conn, pre.batch, pre.pop.size, post.pop.size)
    if src.size == 0:
        return None
    d = int(conn.delay_steps)
    name = f"syn{k}"
    if pre.graded:
        out = "a" if d == 1 else f"ah{d}"
        syn = b2.Synapses(groups[conn.pre], groups[conn.post], model=f"w : 1\ng{k}_post = w * {out}_pre : 1 (summed)",
                          clock=clock, name=name, namespace={})
        values = w * gain
    elif post.graded:
        syn = b2.Synapses(groups[conn.pre], groups[conn.post], model="w : 1", on_pre="spk_in_post += w",
                          delay=(d - 1) * clock.dt, clock=clock, name=name, namespace={})
        values = w * gain
    else:
        var = receptor_var(post.pop.model, conn.receptor)
        syn = b2.Synapses(groups[conn.pre], groups[conn.post], model="w : Hz", on_pre=f"{var}_post += w",
                          delay=(d - 1) * clock.dt, clock=clock, name=name, namespace={})
        inv_tau = 1.0 / post.params["tau_s" if var == "isyn" else f"tau_{conn.receptor}"][0]
        values = (w * inv_tau[dst]) * gain * b2.Hz
    syn.connect(i=src, j=dst)
    syn.w = values
    return syn


# -- inputs ------------------------------------------------------------------------------------
def add_constant(b2, inp: ConstantInput, k: int, plan: GroupPlan, signals: dict, dt: float) -> None:
    g = 1.0 if inp.gain is None else inp.gain.value(signals)
    values, unit = plan.params["ext"]
    plan.params["ext"] = (values + g * _tile(inp.value, plan.pop.size, plan.batch, inp.name), unit)


def add_array(b2, inp: ArrayInput, k: int, plan: GroupPlan, signals: dict, dt: float) -> None:
    g = 1.0 if inp.gain is None else inp.gain.value(signals)
    vals = inp.values if inp.values.ndim == 3 else inp.values[:, None, :]
    vals = np.broadcast_to(vals, (vals.shape[0], plan.batch, plan.pop.size)).reshape(vals.shape[0], -1)
    vals = np.concatenate([vals * g, np.zeros((1, vals.shape[1]))])  # zero after the last row
    unit = 1 if plan.graded else b2.Hz
    name = f"ta{k}"
    plan.namespace[name] = b2.TimedArray(vals * unit, dt=dt * b2.second, name=f"{plan.gname}_{name}")
    plan.drive_terms.append(f"{name}(t, i)")


def add_poisson(b2, inp: PoissonInput, k: int, plan: GroupPlan, signals: dict, dt: float) -> None:
    rate = _tile(inp.rate_hz, plan.pop.size, plan.batch, inp.name)
    if plan.graded:
        plan.spk_in = True
        weight, unit, var = np.full(plan.size, float(inp.weight)), "1", "spk_in"
    else:
        var = receptor_var(plan.pop.model, inp.receptor)
        tau = plan.params["tau_s" if var == "isyn" else f"tau_{inp.receptor}"][0]
        weight, unit = float(inp.weight) / tau, "Hz"
    plan.params[f"prate{k}"] = (rate, "Hz")
    plan.params[f"pw{k}"] = (weight, unit)
    plan.regular.append((f"{var} += pw{k} * int(rand() < prate{k} * dt)", "synapses"))


INPUT_BUILDERS = {ConstantInput: add_constant, ArrayInput: add_array, PoissonInput: add_poisson}


# -- the whole network -------------------------------------------------------------------------
def build_network(b2, network: Network, *, dt: float, batch: int, signals: dict[str, float],
                  initial_state: Optional[dict[str, dict[str, np.ndarray]]] = None) -> Built:
    """Create the Brian2 objects of ``network`` (inside the currently active Brian2 device)."""
    clock = b2.Clock(dt=dt * b2.second, name="neurosim_clock")
    plans: dict[str, GroupPlan] = {}
    for idx, pop in enumerate(network.populations):
        planner = PLANNERS.get(type(pop.model))
        if planner is None:
            raise SimulationError(describe("population", pop.name, "the brian2 backend has no rule for this neuron model",
                                           got=type(pop.model).__name__, expected=[c.__name__ for c in PLANNERS]))
        plans[pop.name] = planner(pop, f"pop{idx}", batch, dt)
    gains = [1.0 if c.gain is None else c.gain.value(signals) for c in network.connections]
    for k, conn in enumerate(network.connections):
        plan_connection(conn, k, plans)
    for k, inp in enumerate(network.inputs):
        INPUT_BUILDERS[type(inp)](b2, inp, k, plans[inp.target], signals, dt)
    for pr in network.probes:
        if pr.var == "count":
            plans[pr.target].counters[pr.name] = (int(pr.start), None if pr.stop is None else int(pr.stop))

    groups = {name: _make_group(b2, plan, clock) for name, plan in plans.items()}
    _set_initial_state(groups, plans, initial_state or {})
    objects: list = list(groups.values())
    for k, conn in enumerate(network.connections):
        syn = make_synapses(b2, conn, k, plans, groups, gains[k], clock)
        if syn is not None:
            objects.append(syn)

    spike_monitors: dict[str, Any] = {}
    state_monitors: dict[str, tuple[Any, str]] = {}
    for k, pr in enumerate(network.probes):
        if pr.var == "count":
            continue
        if pr.var == "spikes":
            if pr.target not in spike_monitors:
                spike_monitors[pr.target] = b2.SpikeMonitor(groups[pr.target], name=f"spikemon_{plans[pr.target].gname}")
                objects.append(spike_monitors[pr.target])
            continue
        var = "a" if pr.var == "output" else state_names(plans[pr.target].pop.model, probes=True)[pr.var]
        mon_clock = clock if pr.every == 1 else b2.Clock(dt=pr.every * dt * b2.second, name=f"probeclock{k}")
        mon = b2.StateMonitor(groups[pr.target], var, record=True, when="end", clock=mon_clock, name=f"statemon{k}")
        state_monitors[pr.name] = (mon, var)
        objects.append(mon)
    return Built(objects, groups, plans, spike_monitors, state_monitors)


def _set_initial_state(groups: dict, plans: dict[str, GroupPlan], initial_state: dict) -> None:
    for name, values in initial_state.items():
        if name not in plans:
            raise NetworkError(describe("initial state", name, "no such population", expected=sorted(plans)))
        plan = plans[name]
        model = plan.pop.model
        allowed = {"u": "u"} if plan.graded else {"v": "v", "i": "isyn",
                                                  **{f"i_{r}": receptor_var(model, r) for r in model.receptor_names}}
        for var, value in values.items():
            if var not in allowed:
                raise NetworkError(describe("initial state", name, "unknown or read-only variable", got=repr(var),
                                            expected=sorted(allowed)))
            arr = np.asarray(value, dtype=float)
            if arr.ndim not in (1, 2) or arr.shape[-1] != plan.pop.size or (arr.ndim == 2 and arr.shape[0] != plan.batch):
                raise NetworkError(describe("initial state", f"{name}.{var}", "wrong shape", got=arr.shape,
                                            expected=f"({plan.pop.size},) or ({plan.batch}, {plan.pop.size})"))
            flat = np.broadcast_to(arr, (plan.batch, plan.pop.size)).reshape(-1)
            target = allowed[var]
            if target.startswith("isyn"):
                setattr(groups[name], f"{target}_", flat)
            else:
                setattr(groups[name], target, flat)
            if plan.graded and var == "u":
                # the initial output T(u0)/gain counts as emitted at step -1 (as in the numpy engine)
                groups[name].a = _initial_output(plan.pop.model, flat.reshape(plan.batch, plan.pop.size)).reshape(-1)


def _initial_output(model: LCANeuron, u: np.ndarray) -> np.ndarray:
    n = u.shape[-1]
    return threshold_function(u, model.param("lam", n), model.threshold) / model.param("gain", n)
