"""Export: the placement file (``placement.json``) of a mapping, written atomically.

placement.json (``"format": "neurosim-placement"``, ``"version": 1``)
-------------------------------------------------------------------
::

    {
      "format": "neurosim-placement", "version": 1,
      "chip": {"name", "source", "cores", "tile_grid": [tx, ty], "cores_per_tile", "chip_grid": [cx, cy]},
      "network": {"name", "neurons", "populations": [{"name", "size"}, ...]},
      "strategies": {"partitioner", "placer", "seed"[, "requested_partitioner"]},
      "cores": [
        {"core": 5, "chip": 0, "x": 1, "y": 0, "slot": 1,
         "neurons": [{"population": "A", "ranges": [[0, 4], [7, 9]]}],
         "resources": {"compartments": [6, 1024], "in_axons": [...], "out_axons": [...],
                       "synapse_bits": [...], "plastic_synapses": [used, limit or null]}},
        ...
      ],
      "routing": {... per-step routing summary of mapper.route.Routing.summary() ...},
      "splitters": {"population": "__splitters__", "dt_s": 0.001,
                    "feeder": [g, ...], "dest_cores": [[core, ...], ...]}   (only with relays)
    }

``core`` is the board-global core index (:meth:`ChipSpec.address`), ``x``/``y`` the chip-local
tile, ``slot`` the core within its tile; neuron ``ranges`` are half-open ``[start, stop)`` local
indices of the population. Every neuron appears in exactly one core. ``strategies.partitioner``
is the strategy whose partition is used; ``requested_partitioner`` appears when that differs from
the one asked for (a hand-over to sequential fill, or the splitters' choice; see ``report.json``).

A mapping with splitter relays (:mod:`mapper.partition.splitters`) places the network *with* its
relays (the last population). ``"splitters"`` records their wiring (:mod:`mapper.partition.relays`):
the global index of every relay's feeder in the file's neuron order and the board cores of its
targets, so that :func:`mapper.readback.read_placement` can rebuild the relays from the user's
original network.

Reading a file back (and re-validating it) is :mod:`mapper.readback`; evaluating a given placement
again is :mod:`mapper.evaluate`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Union

import numpy as np

from neurosim.io.atomic import atomic_write_json

from ..partition.relays import SPLITTER_POPULATION, relay_wiring
from ..resources import RESOURCES

if TYPE_CHECKING:  # pragma: no cover - for annotations only
    from ..pipeline import MappingResult

__all__ = ["PLACEMENT_FORMAT", "PLACEMENT_VERSION", "neuron_ranges", "placement_dict", "write_placement"]

PLACEMENT_FORMAT = "neurosim-placement"
PLACEMENT_VERSION = 1


def neuron_ranges(part: np.ndarray, n_parts: int, *, pop_names: Sequence[str],
                  pop_offsets: np.ndarray) -> list[list[dict]]:
    """For every part: ``[{"population": name, "ranges": [[start, stop), ...]}, ...]`` (local indices)."""
    part = np.asarray(part, dtype=np.int64)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n_parts + 1))
    pop_of = np.searchsorted(pop_offsets, np.arange(part.size), side="right") - 1
    out = []
    for i in range(n_parts):
        g = order[bounds[i]:bounds[i + 1]]
        entries: list[dict] = []
        if g.size:
            p = pop_of[g]
            brk = np.flatnonzero((np.diff(g) != 1) | (np.diff(p) != 0)) + 1
            starts = np.concatenate([[0], brk])
            stops = np.concatenate([brk, [g.size]])
            for s, e in zip(starts, stops):
                name = pop_names[p[s]]
                lo = int(g[s] - pop_offsets[p[s]])
                rng = [lo, lo + int(e - s)]
                if entries and entries[-1]["population"] == name:
                    entries[-1]["ranges"].append(rng)
                else:
                    entries.append({"population": name, "ranges": [rng]})
        out.append(entries)
    return out


def placement_dict(result: MappingResult, *, partitioner: Optional[str] = None, placer: Optional[str] = None,
                   seed: Optional[int] = None) -> dict:
    """The placement document of a :class:`mapper.MappingResult` (the module doc gives the format).

    ``partitioner`` is the strategy asked for (recorded as ``requested_partitioner`` when the
    partition's differs), ``placer`` the placer's name and ``seed`` the mapping's seed; each
    defaults to what the result's report says (``partition.requested``, ``placement.strategy``,
    ``placement.seed``).
    """
    rep = result.report.data
    partitioner = rep["partition"]["requested"] if partitioner is None else partitioner
    placer = rep["placement"]["strategy"] if placer is None else placer
    seed = rep["placement"]["seed"] if seed is None else seed
    chip, g, part, pl = result.chip, result.graph, result.partition, result.placement
    ranges = neuron_ranges(part.part, part.n_parts, pop_names=g.pop_names, pop_offsets=g.pop_offsets)
    cores = []
    for i in np.argsort(pl.core, kind="stable"):
        a = chip.address(int(pl.core[i]))
        cores.append({"core": a.index, "chip": a.chip, "x": a.x, "y": a.y, "slot": a.slot, "neurons": ranges[i],
                      "resources": {r: [int(part.usage.used[r][i]), part.usage.limits[r]] for r in RESOURCES}})
    return {
        "format": PLACEMENT_FORMAT, "version": PLACEMENT_VERSION,
        "chip": {"name": chip.name, "source": chip.source, "cores": chip.n_cores,
                 "tile_grid": list(chip.noc.tile_grid), "cores_per_tile": chip.noc.cores_per_tile,
                 "chip_grid": list(chip.noc.chip_grid)},
        "network": {"name": g.name, "neurons": g.n,
                    "populations": [{"name": n, "size": int(g.pop_offsets[i + 1] - g.pop_offsets[i])}
                                    for i, n in enumerate(g.pop_names)]},
        "strategies": {"partitioner": part.strategy, "placer": placer or pl.strategy, "seed": seed,
                       **({"requested_partitioner": partitioner}
                          if partitioner and partitioner != part.strategy else {})},
        "cores": cores,
        "routing": result.routing.summary(),
        **({"splitters": _splitter_section(result)} if SPLITTER_POPULATION in g.pop_names else {}),
    }


def _splitter_section(result) -> dict:
    """``"splitters"`` of the placement document: the relay wiring (:mod:`mapper.partition.relays`) with board cores."""
    feeder, dest = relay_wiring(result.graph, result.partition.part)
    core = np.asarray(result.placement.core, dtype=np.int64)
    return {"population": SPLITTER_POPULATION, "dt_s": float(result.graph.dt_s), "feeder": feeder.tolist(),
            "dest_cores": [sorted(core[d].tolist()) for d in dest]}


def write_placement(result: MappingResult, path: Union[str, Path], **kw) -> Path:
    """Write ``placement.json`` atomically (see the module doc for the format)."""
    return atomic_write_json(path, placement_dict(result, **kw))
