"""Per-core resource use of a partition, checked against the chip's per-core limits.

Resources of a core ``c`` holding the neuron set ``N_c`` (``part[v] == c``):

* ``compartments``: ``|N_c|``.
* ``in_axons``: distinct source neurons with at least one synapse into ``N_c`` (one input-axon
  row per (source, core) pair; Davies 2018 constraint 4).
* ``out_axons``: ``sum_{v in N_c} |{part[t] : t in targets(v)}|``, one output axon per
  destination core of each neuron, its own core included (Davies 2018 constraint 3).
* ``synapse_bits``: over the rows ``(s, c)`` of the core,
  ``sum_rows W * ceil((n_syn * (w + i) + n_plastic * e + h) / W)`` with ``W`` the memory word,
  ``w`` the weight bits, ``i`` the index bits, ``e`` the extra bits of a plastic synapse and
  ``h`` the per-row header (loihi.md 4.2, nengo-loihi ``Synapse.bits``); ``w`` is the stored
  weight width (``CoreLimits.stored_weight_bits``).
* ``plastic_synapses``: synapses of plastic connections into ``N_c``.

The four "input-side" resources depend only on ``N_c``; ``out_axons`` also depends on where the
targets are, which is why a partition can only be checked after all neurons are assigned.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from neurosim.errors import CapacityError

from .chipspec import ChipSpec, CoreLimits
from .graph import CoreRows, NetGraph, core_rows

__all__ = ["RESOURCES", "limits_of", "row_bits", "CoreUsage", "core_usage", "neuron_alone",
           "check_neurons_fit", "demand_lower_bounds", "min_cores", "check_board_fits", "check_dest_cores", "payload_bits",
           "LIMIT_FIELD"]

RESOURCES = ("compartments", "in_axons", "out_axons", "synapse_bits", "plastic_synapses")

#: resource -> CoreLimits field (for messages)
LIMIT_FIELD = {"compartments": "max_compartments", "in_axons": "max_in_axons", "out_axons": "max_out_axons",
               "synapse_bits": "synapse_mem_bits", "plastic_synapses": "max_plastic_synapses"}


def limits_of(core: CoreLimits) -> dict[str, Optional[int]]:
    """Per-core limit of every resource (``None``: unlimited)."""
    return {"compartments": int(core.max_compartments), "in_axons": int(core.max_in_axons),
            "out_axons": int(core.max_out_axons), "synapse_bits": int(core.synapse_mem_bits),
            "plastic_synapses": None if core.max_plastic_synapses is None else int(core.max_plastic_synapses)}


def payload_bits(core: CoreLimits, nsyn, nplastic):
    """Bits of the synapse entries of a row before header and rounding: ``n_syn (w + i) + n_plastic e``
    (``w`` = :attr:`CoreLimits.stored_weight_bits`)."""
    return nsyn * (core.stored_weight_bits + core.synapse_index_bits) + nplastic * core.plastic_synapse_extra_bits


def row_bits(core: CoreLimits, payload):
    """Memory of one input-axon row: ``W * ceil((payload + h) / W)``; 0 for an empty row."""
    w = int(core.synapse_word_bits)
    p = np.asarray(payload, dtype=np.int64)
    out = ((p + core.synapse_row_overhead_bits + w - 1) // w) * w
    return np.where(p > 0, out, 0)


@dataclass(frozen=True, eq=False)
class CoreUsage:
    """Resource table: ``used[r][c]`` for resource ``r`` on part/core ``c``, and ``limits[r]``."""

    used: dict[str, np.ndarray]
    limits: dict[str, Optional[int]]

    @property
    def n_parts(self) -> int:
        return int(self.used["compartments"].size)

    def violations(self) -> list[tuple[int, str, int, int]]:
        """``(part, resource, used, limit)`` for every exceeded limit."""
        out = []
        for r in RESOURCES:
            lim = self.limits[r]
            if lim is None:
                continue
            for c in np.flatnonzero(self.used[r] > lim):
                out.append((int(c), r, int(self.used[r][c]), int(lim)))
        return out

    def utilisation(self) -> dict[str, np.ndarray]:
        """``used / limit`` per resource (0 for unlimited resources)."""
        return {r: (self.used[r] / self.limits[r]) if self.limits[r] else np.zeros(self.n_parts)
                for r in RESOURCES}

    def rows(self) -> list[dict]:
        """One dict per part: ``{resource: [used, limit]}``."""
        return [{r: [int(self.used[r][c]), self.limits[r]] for r in RESOURCES} for c in range(self.n_parts)]


def core_usage(graph: NetGraph, chip: ChipSpec, part: np.ndarray, *, n_parts: int,
               rows: Optional[CoreRows] = None) -> CoreUsage:
    """Exact resource use of every part of ``part`` (vectorised, one grouping of all pairs)."""
    part = np.asarray(part, dtype=np.int64)
    if rows is None:
        rows = core_rows(graph, part, n_parts)
    k = int(n_parts)
    core = chip.core
    used = {
        "compartments": np.bincount(part, minlength=k).astype(np.int64),
        "in_axons": np.bincount(rows.part, minlength=k).astype(np.int64),
        "out_axons": np.bincount(part[rows.src], minlength=k).astype(np.int64),
        "synapse_bits": np.bincount(rows.part, weights=row_bits(core, payload_bits(core, rows.nsyn, rows.nplastic)),
                                    minlength=k).astype(np.int64),
        "plastic_synapses": np.bincount(rows.part, weights=rows.nplastic, minlength=k).astype(np.int64),
    }
    return CoreUsage(used=used, limits=limits_of(core))


def _row_sums(ptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values[ptr[i]:ptr[i+1]]`` for every row ``i`` (0 for empty rows)."""
    n = ptr.size - 1
    if values.size == 0:
        return np.zeros(n, dtype=np.int64)
    sums = np.add.reduceat(values, np.minimum(ptr[:-1], values.size - 1))
    return np.where(np.diff(ptr) > 0, sums, 0).astype(np.int64)


def neuron_alone(graph: NetGraph, chip: ChipSpec) -> dict[str, np.ndarray]:
    """Input-side resources each neuron needs on a core of its own, shape (n,) per resource."""
    core = chip.core
    bits = row_bits(core, payload_bits(core, graph.in_nsyn.astype(np.int64), graph.in_nplastic.astype(np.int64)))
    return {
        "compartments": np.ones(graph.n, dtype=np.int64),
        "in_axons": np.diff(graph.in_ptr).astype(np.int64),
        "synapse_bits": _row_sums(graph.in_ptr, bits),
        "plastic_synapses": _row_sums(graph.in_ptr, graph.in_nplastic.astype(np.int64)),
        # at least ceil(distinct targets / compartments per core) destination cores
        "out_axons": -(-np.diff(graph.out_ptr) // int(core.max_compartments)),
    }


def check_neurons_fit(graph: NetGraph, chip: ChipSpec) -> dict[str, np.ndarray]:
    """Raise :class:`CapacityError` naming the population and neuron whose own demand exceeds a core.

    Returns the per-neuron demands (:func:`neuron_alone`).
    """
    alone = neuron_alone(graph, chip)
    lims = limits_of(chip.core)
    for r, d in alone.items():
        lim = lims[r]
        if lim is None or d.size == 0:
            continue
        bad = np.flatnonzero(d > lim)
        if bad.size:
            g = int(bad[np.argmax(d[bad])])
            pop, i = graph.population_of(g)
            raise CapacityError(f"{pop}[{i}]", LIMIT_FIELD[r], int(d[g]), int(lim),
                                hint=f"neuron {i} of population '{pop}' needs more than one core on its own "
                                     f"({bad.size} neuron(s) affected); reduce its fan-in or the weight precision")
    return alone


def demand_lower_bounds(graph: NetGraph, chip: ChipSpec) -> dict[str, int]:
    """Lower bounds of the total demand of every resource over all cores.

    Every source neuron with a target needs at least one row (one input and one output axon and
    one row header), so ``synapse_bits >= sum payload + n_src * h`` and
    ``in_axons, out_axons >= n_src``.
    """
    core = chip.core
    n_src = int(np.count_nonzero(np.diff(graph.out_ptr)))
    payload = int(payload_bits(core, int(graph.out_nsyn.sum()), int(graph.out_nplastic.sum())))
    return {"compartments": int(graph.n), "in_axons": n_src, "out_axons": n_src,
            "synapse_bits": payload + n_src * int(core.synapse_row_overhead_bits) if n_src else 0,
            "plastic_synapses": int(graph.out_nplastic.sum())}


def min_cores(graph: NetGraph, chip: ChipSpec) -> tuple[int, str]:
    """``(k, resource)``: the fewest cores the demand lower bounds allow, and the binding resource."""
    lb = demand_lower_bounds(graph, chip)
    lims = limits_of(chip.core)
    best, res = 1, "compartments"
    for r, d in lb.items():
        if lims[r] is None:
            continue
        k = -(-d // lims[r]) if lims[r] > 0 else (0 if d == 0 else 10**18)
        if k > best:
            best, res = int(k), r
    return best, res


def check_dest_cores(graph: NetGraph, chip: ChipSpec, rows: CoreRows) -> None:
    """Raise :class:`CapacityError` if a neuron targets more cores than
    ``CoreLimits.max_out_axons_per_neuron`` allows (e.g. TrueNorth: one)."""
    lim = chip.core.max_out_axons_per_neuron
    if lim is None:
        return
    ndest = np.bincount(rows.src, minlength=graph.n)
    bad = np.flatnonzero(ndest > lim)
    if bad.size:
        g = int(bad[np.argmax(ndest[bad])])
        pop, i = graph.population_of(g)
        raise CapacityError(f"{pop}[{i}]", "max_out_axons_per_neuron", int(ndest[g]), int(lim),
                            hint=f"its targets are spread over {int(ndest[g])} cores ({bad.size} neuron(s) affected); "
                                 f"relay its spikes through splitter neurons, one per destination core: "
                                 f"map_network(..., splitters='auto'), the default unless --no-splitters")


def check_board_fits(graph: NetGraph, chip: ChipSpec) -> tuple[int, str]:
    """Raise :class:`CapacityError` if the demand lower bounds exceed the whole board.

    Returns :func:`min_cores`.
    """
    k, res = min_cores(graph, chip)
    if k > chip.n_cores:
        lb = demand_lower_bounds(graph, chip)[res]
        lim = limits_of(chip.core)[res]
        chips = -(-k // chip.cores_per_chip)
        raise CapacityError(f"network '{graph.name}'", LIMIT_FIELD[res], lb, lim * chip.n_cores,
                            hint=f"needs at least {k} cores ({chips} chip(s) of {chip.cores_per_chip} cores); "
                                 f"'{chip.name}' has {chip.n_cores} core(s) on {chip.n_chips} chip(s)")
    return k, res
