"""Export a mapping to SANA-FE 2.x: the network with its placement, and the chip as an architecture.

SANA-FE (Boyle et al., IEEE TCAD 2025; ``pip install sanafe``, GPL-3.0, an optional external tool)
simulates a spiking network on a described architecture and sums event counts times unit costs.
Two files let a user cross-check our estimate with it, for any chip we can describe:

Network (``network:`` + ``mappings:``)
--------------------------------------
One group per population, one edge line per synapse (``a.0 -> b.1: {weight: w}``), and mappings
``a.0..3: {core: T.C}`` where ``T = X * H + Y`` is SANA-FE's tile number (it numbers tiles column
by column over a ``W x H`` mesh) and ``C`` the slot in the tile. ``(X, Y)`` are board-global tile
coordinates (:meth:`~mapper.chipspec.ChipSpec.global_tile`), so a multi-chip board is one flat
mesh. Neuron parameters are translated approximately (LIF: ``threshold = v_th⁻`` (``v_th`` itself for
``LIF.threshold == ">"``), ``reset =
v_reset``, ``reset_mode`` soft/hard, ``leak_decay = 1 - dt/tau_m``, ``bias = bias * dt``; graded
LCA neurons as LIF with ``threshold = lam⁻``; ``x⁻`` is the largest float below ``x``, since SANA-FE
fires when ``v > threshold`` and neurosim when ``v >= v_th``), so SANA-FE's own spike counts may differ from ours:
compare energy with the same activity. Every group logs its spikes (``log_spikes``), so a run with
``spike_trace=True`` gives the counts to feed back as an :class:`~neurosim.activity.ActivityProfile`.
:func:`mapper.interchange.read_sanafe_network` reads the file back: the populations (their
original names from the header's ``# group 'g' is population 'p'`` lines), the parameters this
translation keeps, the synapses and their weights, and the placement, exactly.

Architecture (``architecture:``)
--------------------------------
The board's tiles as one ``W x H`` mesh (``W = tiles_x * chips_x``, ``H = tiles_y * chips_y``),
``cores_per_tile`` cores per tile, and our per-event costs in SANA-FE's units:

==========================  =====================================================================
SANA-FE attribute           from the chip spec (J per event / s per event)
==========================  =====================================================================
``energy_process_spike``    ``energy.syn_op`` (synapse unit: one synapse receiving one spike)
``energy_access_neuron`` +  ``energy.neuron_update_active``, split as ``meta.soma_access_energy_j``
``energy_update_neuron``    / ``meta.soma_update_energy_j`` when the spec records the split
``energy_spike_out``        ``energy.spike_out``
``energy_message_out``      ``energy.packet`` (axon out: one message per destination core)
``energy_*_hop``            ``energy.hop_ew`` (east, west) / ``energy.hop_ns`` (north, south)
``latency_*``               the ``timing`` counterparts; ``latency_message_in = timing.packet_in``
``latency_sync``            ``timing.barrier_by_tiles`` (``sync_model: table``)
``max_neurons_supported``   ``core.max_compartments``
==========================  =====================================================================

SANA-FE charges the soma of every mapped neuron every step (``force_update``), which is our
``active_policy: all_mapped``. Energies then agree exactly for the same spikes (tested); latencies
do not in general: SANA-FE simulates message timing on the mesh, neurosim estimates a step as the
slowest core plus the longest path plus the barrier. What it cannot express is listed in the file's header and left
out of its totals: multicast trees (it routes every packet on its own XY path), inactive-compartment updates, within-tile message energy, learning updates,
barrier energy, static power, and the extra cost of a chip-boundary link (SANA-FE counts it as an
ordinary hop; neurosim adds ``hop_chip`` per crossing). A spec with a null (unpublished) cost
exports 0, as our estimate counts it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import yaml

from neurosim.errors import MappingError, describe
from neurosim.io.atomic import atomic_write_text
from neurosim.ir import Network
from neurosim.neurons import LCANeuron, LIF

from ..chipspec import ChipSpec
from .placement import neuron_ranges

if TYPE_CHECKING:  # pragma: no cover - for annotations only
    from ..pipeline import MappingResult

__all__ = ["board_mesh", "sanafe_tile_core", "sanafe_dict_text", "write_sanafe", "network_gaps", "constant_drive",
           "sanafe_arch_dict",
           "sanafe_arch_text", "write_sanafe_arch", "arch_gaps"]


#: SANA-FE's link buffer (messages) when the chip spec's ``meta`` has no ``link_buffer_size``: the
#: value of SANA-FE's own arch/loihi.yaml (it only shapes SANA-FE's latency, never its energy)
LINK_BUFFER_DEFAULT = 16


def board_mesh(chip: ChipSpec) -> tuple[int, int]:
    """``(W, H)``: the board's tiles as one mesh, ``W = tiles_x * chips_x``, ``H = tiles_y * chips_y``."""
    (tx, ty), (cx, cy) = chip.noc.tile_grid, chip.noc.chip_grid
    return tx * cx, ty * cy


def sanafe_tile_core(chip: ChipSpec, core: int) -> str:
    """SANA-FE's ``"T.C"`` address of a board core: ``T = X * H + Y`` (column by column), ``C`` its slot."""
    x, y = chip.global_tile(int(core))
    return f"{x * board_mesh(chip)[1] + y}.{chip.address(int(core)).slot}"


# ---------------------------------------------------------------------------------------------
# network
def _scalar(v) -> Union[float, None]:
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return float(a)
    return float(a[0]) if np.all(a == a[0]) else None


def _below(v) -> np.ndarray:
    """The largest float below ``v``: SANA-FE's ``v > threshold`` is then neurosim's ``v >= v_th``."""
    return np.nextafter(np.asarray(v, dtype=float), -np.inf)


def _group_attrs(pop, dt_s: float, drive=0.0) -> tuple[dict, dict]:
    """(group attributes, per-neuron attribute arrays) for a population, translated approximately;
    ``drive`` (bias units) is added to the bias (:func:`constant_drive`)."""
    m = pop.model
    per: dict = {}
    if isinstance(m, LIF):
        tau_m = np.asarray(m.tau_m_s, dtype=float)
        vals = {"threshold": m.v_th if m.threshold == ">" else _below(m.v_th), "reset": m.v_reset,
                "leak_decay": np.where(np.isfinite(tau_m), 1.0 - dt_s / np.where(np.isfinite(tau_m), tau_m, 1.0), 1.0),
                "bias": (np.asarray(m.bias, dtype=float) + drive) * dt_s}
        attrs = {"model": "leaky_integrate_fire", "reset_mode": "soft" if m.reset == "subtract" else "hard"}
    elif isinstance(m, LCANeuron):
        vals = {"threshold": _below(m.lam), "bias": (np.asarray(m.bias, dtype=float) + drive) * dt_s}
        attrs = {"model": "leaky_integrate_fire", "reset_mode": "soft"}
    else:  # pragma: no cover - every model of neurosim.neurons is handled above
        vals, attrs = {}, {}
    for k, v in vals.items():
        s = _scalar(v)
        if s is not None:
            attrs[k] = s
        else:
            per[k] = np.broadcast_to(np.asarray(v, dtype=float), (pop.size,))
    attrs["force_update"] = True
    attrs["log_spikes"] = True  # so that sim(..., spike_trace=True) reports every neuron's spikes
    return attrs, per


def _group_names(network: Network) -> dict[str, str]:
    """SANA-FE group name of every population: letters, digits and ``_`` (SANA-FE splits a
    neuron address at ``.``), made unique."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for p in network.populations:
        base = re.sub(r"[^A-Za-z0-9_]", "_", p.name) or "p"
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        out[p.name] = name
    return out


def _edges(c) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(post, pre, weight)`` of a connection's stored synapses, as the mapper counts them
    (:meth:`~neurosim.ir.Connection.structure` for dense weights: a plastic weight at zero is
    still a synapse), ordered by pre then post."""
    if c.is_sparse or c.is_conv:
        m = c.csr().tocoo()
        rows, cols, w = m.row, m.col, m.data
    else:
        rows, cols = np.nonzero(c.structure())
        w = np.asarray(c.weights)[rows, cols]
    order = np.lexsort((rows, cols))
    return rows[order], cols[order], np.asarray(w, dtype=float)[order]


def constant_drive(network: Network, input_index: int = 0) -> tuple[dict[str, np.ndarray], list[str]]:
    """The constant inputs of one input of the batch, folded into the neurons' biases.

    A :class:`~neurosim.ir.ConstantInput` without a gain adds ``value[b]`` (bias units) to its
    target's ``ext`` every step, exactly as a bias does, so SANA-FE's ``bias`` can carry it:
    ``bias_j = bias_j + sum of the constant inputs' value[b, j]`` for input ``b = input_index``.

    Returns
    -------
    drive, left : dict, list of str
        Per population (name -> ``(size,)`` array, bias units) the summed constant drive, and the
        names of the inputs that cannot be folded (time-varying, spike trains, run-time gains).

    Raises
    ------
    MappingError
        ``input_index`` is outside a constant input's batch.
    """
    from neurosim.ir import ConstantInput

    sizes = {p.name: p.size for p in network.populations}
    drive: dict[str, np.ndarray] = {}
    left: list[str] = []
    for inp in network.inputs:
        if not isinstance(inp, ConstantInput) or inp.gain is not None:
            left.append(inp.name)
            continue
        n = sizes[inp.target]
        v = np.asarray(inp.value, dtype=float)
        if v.ndim == 2:
            if not 0 <= input_index < v.shape[0]:
                raise MappingError(describe("SANA-FE export", inp.name, "input index outside the batch",
                                            got=input_index, expected=f"0 .. {v.shape[0] - 1}"))
            v = v[input_index]
        drive[inp.target] = drive.get(inp.target, np.zeros(n)) + np.broadcast_to(v, (n,))
    return drive, left


def network_gaps(network: Network, dt_s: float = 1e-3, input_index: int = 0) -> list[str]:
    """What of ``network`` the SANA-FE file leaves out or approximates (beyond the neuron
    parameters the module doc lists)."""
    gaps = []
    drive, left = constant_drive(network, input_index)
    if drive:
        sizes = {p.name: p.size for p in network.populations}
        folded = [i for i in network.inputs if i.name not in left]
        batch = max(i.batch(sizes[i.target]) for i in folded)
        folded = [i.name for i in folded]
        gaps.append(f"constant input(s) {', '.join(folded)} are folded into the neurons' bias for input "
                    f"{input_index} of {batch}: one input per SANA-FE run")
    if left:
        gaps.append(f"{len(left)} input(s) ({', '.join(left)}) are not exported (time-varying, spike trains or "
                    "run-time gains): SANA-FE runs without them" + ("" if drive else
                                                                     ", on the neurons' biases alone"))
    delayed = [c.name for c in network.connections if c.delay_steps != 1]
    if delayed:
        gaps.append(f"delays other than one step are dropped: {', '.join(delayed)}")
    gained = [c.name for c in network.connections if c.gain is not None]
    if gained:
        gaps.append(f"run-time gains are dropped (weights exported unscaled): {', '.join(gained)}")
    plastic = [c.name for c in network.connections if c.learning_rule is not None]
    if plastic:
        gaps.append(f"learning rules are dropped (weights exported as they are now): {', '.join(plastic)}")
    for p in network.populations:
        m = p.model
        if isinstance(m, LIF):
            dropped = [k for k, bad in (("tau_s (synaptic current)",
                                         np.any(np.asarray(m.tau_s, dtype=float) > dt_s * (1 + 1e-9))),
                                        ("v_rest", np.any(np.asarray(m.v_rest, dtype=float) != 0)),
                                        ("refractory_steps", np.any(np.asarray(m.refractory_steps) > 0)),
                                        ("bias_start (bias onset)", m.bias_start > 0 and np.any(m.param("bias", p.size))),
                                        ("bias_receptor (bias through the synaptic current)",
                                         m.bias_receptor is not None and np.any(m.param("bias", p.size)))) if bad]
            if dropped:
                gaps.append(f"population '{p.name}': {', '.join(dropped)} not expressed")
    return gaps


def sanafe_dict_text(network: Network, result: MappingResult, *, dt_s: float = 1e-3,
                     input_index: int = 0) -> str:
    """The SANA-FE 2.x network file (YAML text) of a network and its mapping (see module doc).

    ``result`` is a :class:`mapper.MappingResult` and ``network`` the network it mapped,
    :attr:`~mapper.MappingResult.network` (which holds splitter relays when the mapper added
    them); a header lists what the file leaves out (:func:`network_gaps`) and renamed groups.

    Raises
    ------
    MappingError
        ``network``'s populations are not the mapped ones.
    """
    chip, g, part, pl = result.chip, result.graph, result.partition, result.placement
    pops = [p.name for p in network.populations]
    if pops != list(g.pop_names) or [p.size for p in network.populations] != list(np.diff(g.pop_offsets)):
        raise MappingError(describe("SANA-FE export", network.name, "the network is not the one mapped",
                                    got=pops, expected=f"{list(g.pop_names)} (pass result.network)"))
    w, h = board_mesh(chip)
    names = _group_names(network)
    lines = ["# SANA-FE network exported by neurosim (mapper.export.sanafe); neuron parameters are approximate,",
             f"# core T.C: T = X * {h} + Y over the board's {w} x {h} tile mesh (SANA-FE numbers tiles column by "
             "column), C = slot in the tile"]
    lines += [f"# group '{b}' is population '{a}'" for a, b in names.items() if a != b]
    lines += [f"# not in this file: {gap}" for gap in network_gaps(network, dt_s, input_index)]
    drive, _ = constant_drive(network, input_index)
    lines += ["network:", f"  name: {json.dumps(network.name)}", "  groups:"]
    for p in network.populations:
        attrs, per = _group_attrs(p, dt_s, drive.get(p.name, 0.0))
        lines.append(f"    - name: {names[p.name]}")
        lines.append("      attributes: " + json.dumps(attrs))
        lines.append("      neurons:")
        if per:
            for i in range(p.size):
                lines.append(f"        - {i}: " + json.dumps({k: float(v[i]) for k, v in per.items()}))
        else:
            lines.append(f"        - 0..{p.size - 1}: {{}}")
    lines.append("  edges:")
    for c in network.connections:
        a, b = names[c.pre], names[c.post]
        for r, q, wt in zip(*_edges(c)):
            lines.append(f"    - {a}.{int(q)} -> {b}.{int(r)}: {{weight: {float(wt)!r}}}")
    lines.append("mappings:")
    ranges = neuron_ranges(part.part, part.n_parts, pop_names=g.pop_names, pop_offsets=g.pop_offsets)
    for i in range(part.n_parts):
        tc = sanafe_tile_core(chip, int(pl.core[i]))
        for e in ranges[i]:
            grp = names[e["population"]]
            for lo, hi in e["ranges"]:
                sel = f"{grp}.{lo}" if hi - lo == 1 else f"{grp}.{lo}..{hi - 1}"
                lines.append(f"  - {sel}: {{core: {tc}}}")
    return "\n".join(lines) + "\n"


def write_sanafe(network: Network, result: MappingResult, path: Union[str, Path], *, dt_s: float = 1e-3,
                 input_index: int = 0) -> Path:
    """Write the SANA-FE network file atomically (:func:`sanafe_dict_text`)."""
    return atomic_write_text(path, sanafe_dict_text(network, result, dt_s=dt_s, input_index=input_index))


# ---------------------------------------------------------------------------------------------
# architecture
def arch_gaps(chip: ChipSpec) -> list[str]:
    """What of ``chip``'s cost model SANA-FE cannot express (non-zero costs it leaves out)."""
    e, t = chip.energy, chip.timing
    gaps = []
    if e.active_policy != "all_mapped":
        gaps.append(f"active_policy '{e.active_policy}': SANA-FE charges every mapped neuron every step "
                    "(all_mapped)")
    what = {"neuron_update_inactive": "inactive-compartment updates", "spike_within_tile": "within-tile messages",
            "learn_update": "learning updates", "barrier": "barrier energy", "static_power_w_per_chip": "static power"}
    for prefix, model, keys in (("energy", e, list(what)), ("timing", t, list(what)[:3])):
        gaps += [f"{prefix}.{k} = {getattr(model, k):g} ({what[k]}) is not modelled" for k in keys if getattr(model, k)]
    if t.barrier_by_tiles and t.barrier_interp != "step":
        gaps.append(f"timing.barrier_interp '{t.barrier_interp}': SANA-FE looks the sync table up by steps "
                    "(the entry of the largest key <= tiles)")
    if t.min_step_s:
        gaps.append(f"timing.min_step_s = {t.min_step_s:g} (a step's floor) is not modelled")
    if t.tile_bandwidth_msgs_per_s:
        gaps.append("timing.tile_bandwidth_msgs_per_s is not modelled (SANA-FE models link buffers instead, "
                    f"link_buffer_size {(chip.meta or {}).get('link_buffer_size', LINK_BUFFER_DEFAULT)})")
    if chip.noc.multicast:
        gaps.append("multicast routing: SANA-FE routes every packet on its own path (unicast), so its hop counts "
                    "are those of noc.packets: unicast, not of this chip's multicast trees")
    if chip.n_chips > 1:
        gaps.append(f"{chip.n_chips} chips flattened into one mesh: a chip-boundary link is an ordinary hop "
                    f"(neurosim adds hop_chip {e.hop_chip:g} J / {t.hop_chip:g} s per crossing and a multi-chip "
                    "barrier)")
    return gaps


def _split(total: float, meta: dict, a_key: str, b_key: str) -> tuple[float, float]:
    """``(access, update)``: the spec's recorded split of the soma cost when it sums to ``total``."""
    a, b = meta.get(a_key), meta.get(b_key)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and np.isclose(a + b, total, rtol=1e-9, atol=0):
        return float(a), float(b)
    return float(total), 0.0


def sanafe_arch_dict(chip: ChipSpec) -> dict:
    """The SANA-FE 2.x architecture of ``chip`` as a plain dict (see the module doc for the mapping)."""
    e, t, m = chip.energy, chip.timing, chip.meta or {}
    w, h = board_mesh(chip)
    e_acc, e_upd = _split(e.neuron_update_active, m, "soma_access_energy_j", "soma_update_energy_j")
    t_acc, t_upd = _split(t.neuron_update_active, m, "soma_access_latency_s", "soma_update_latency_s")
    if t.barrier_by_tiles:
        sync = {"sync_model": "table", "latency_sync": {int(k): float(v) for k, v in t.barrier_by_tiles}}
    else:
        sync = {"sync_model": "fixed", "latency_sync": 0.0}
    buf = m.get("link_buffer_size", LINK_BUFFER_DEFAULT)
    core = {
        "name": f"core[0..{chip.noc.cores_per_tile - 1}]",
        "attributes": {"buffer_position": "soma", "buffer_inside_unit": False,
                       "max_neurons_supported": int(chip.core.max_compartments)},
        "axon_in": [{"name": "axon_in", "attributes": {"energy_message_in": 0.0,
                                                      "latency_message_in": float(t.packet_in)}}],
        "soma": [{"name": "soma", "attributes": {
            "model": "leaky_integrate_fire", "energy_access_neuron": e_acc, "latency_access_neuron": t_acc,
            "energy_update_neuron": e_upd, "latency_update_neuron": t_upd,
            "energy_spike_out": float(e.spike_out), "latency_spike_out": float(t.spike_out)}}],
        "dendrite": [{"name": "dendrite", "attributes": {"model": "accumulator", "energy_update": 0.0,
                                                         "latency_update": 0.0}}],
        "synapse": [{"name": "synapse", "attributes": {"model": "current_based",
                                                       "energy_process_spike": float(e.syn_op),
                                                       "latency_process_spike": float(t.syn_op)}}],
        "axon_out": [{"name": "axon_out", "attributes": {"energy_message_out": float(e.packet),
                                                        "latency_message_out": float(t.packet_out)}}],
    }
    hop = {f"energy_{d}_hop": float(e.hop_ns if d in ("north", "south") else e.hop_ew)
           for d in ("north", "east", "south", "west")}
    hop.update({f"latency_{d}_hop": float(t.hop_ns if d in ("north", "south") else t.hop_ew)
                for d in ("north", "east", "south", "west")})
    return {"architecture": {
        "name": chip.name.replace("-", "_"),
        "attributes": {"topology": "mesh", "width": int(w), "height": int(h), "link_buffer_size": int(buf), **sync},
        "tile": [{"name": f"tile[0..{w * h - 1}]", "attributes": hop, "core": [core]}],
    }}


def sanafe_arch_text(chip: ChipSpec) -> str:
    """:func:`sanafe_arch_dict` as YAML, headed by the chip's cost source and what SANA-FE leaves out."""
    w, h = board_mesh(chip)
    head = [f"# SANA-FE architecture exported by neurosim (mapper.export.sanafe) from chip '{chip.name}' "
            f"({chip.source})",
            f"# costs: {chip.cost_source or 'not stated'}",
            f"# {w} x {h} tiles (T = X * {h} + Y), {chip.noc.cores_per_tile} cores per tile"]
    head += [f"# not in SANA-FE: {g}" for g in arch_gaps(chip)]
    head += ["# message receipt (axon_in) costs no energy here: our cost model has none per received message",
             "# latency: SANA-FE simulates message timing on the mesh; neurosim estimates a step as slowest core + "
             "longest path + barrier: compare energies exactly, latencies only roughly"]
    if "link_buffer_size" not in (chip.meta or {}):
        head.append(f"# link_buffer_size {LINK_BUFFER_DEFAULT}: SANA-FE's Loihi value (the chip spec has none)")
    return "\n".join(head) + "\n" + yaml.safe_dump(sanafe_arch_dict(chip), sort_keys=False, default_flow_style=False)


def write_sanafe_arch(chip: ChipSpec, path: Union[str, Path]) -> Path:
    """Write :func:`sanafe_arch_text` atomically."""
    return atomic_write_text(path, sanafe_arch_text(chip))
