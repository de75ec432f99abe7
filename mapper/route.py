"""Route: dimension-order (XY) routing of the spike messages of a placed partition, and its traffic figures.

A spiking neuron ``v`` on core ``c`` sends one packet to every distinct destination core of its
targets (its own core included); neurons with the same source core and destination-core set form
one multicast net (:mod:`mapper.nets`), so routing is vectorised over nets. Paths follow the XY
rule on the board-global tile mesh (:mod:`mapper.mesh`: X first on the source row, then Y on the
destination column; link grids ``[Y, X]`` per direction).

Two hop models, both reported (the chip's ``noc.multicast`` picks the one that is charged):

* multicast tree: the union of the XY paths from the source tile to all destination tiles,
  shared links counted once (``E = max(0, max_d x_d - x_s)``, ``W = max(0, x_s - min_d x_d)``
  and, per destination column, ``N = max(0, max y - y_s)``, ``S = max(0, y_s - min y)``);
* unicast: every packet routed on its own, ``|x_d - x_s|`` E-W and ``|y_d - y_s|`` N-S hops.

The longest path that carries traffic sets the network latency of a step,
``t_path = h_x t_ew + h_y t_ns + h_c t_chip`` (hops east-west, north-south and chip crossings
times the chip's per-hop latencies, seconds). All rates are events per step per input; totals
over a run are ``rate * steps * batch``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .chipspec import ChipSpec
from .graph import CoreRows, NetGraph
from .mesh import DIRS, boundary_masks, crossings, grid_shape, link_loads, tile_coords
from .nets import Nets, build_nets, segments

__all__ = ["Routing", "route"]


@dataclass(frozen=True, eq=False)
class Routing:
    """Traffic of a placed partition, per step per input (multiply by ``steps * batch`` for a run).

    Attributes
    ----------
    multicast : bool
        Which hop model ``hops_ew`` / ``hops_ns`` / ``link_load`` / ``chip_crossings`` follow.
    packets, packets_within_tile : float
        Packets (spiking neuron x destination core) and those delivered inside the source tile.
    hops_ew, hops_ns : float
        Link traversals charged (tree links or unicast hops).
    tree_links_ew, tree_links_ns, unicast_hops_ew, unicast_hops_ns : float
        Both models, always.
    chip_crossings : float
        Charged link traversals that cross a chip boundary.
    link_load : dict of ndarray ``[Y, X]`` per direction
    busiest : dict
        ``{"dir", "x", "y", "load"}`` of the most loaded link.
    path_hops_ew, path_hops_ns, path_chip_crossings : int
        Hops of the longest (by latency) routed path that carries traffic; ``noc_path_s`` its
        latency ``hx t_ew + hy t_ns + hc t_chip`` (the per-message within-tile time is added by
        the estimate).
    part_core : ndarray
        Core of every part.
    per_part : dict of ndarray
        ``spikes``, ``packets_out``, ``packets_in``, ``syn_ops``, ``learn_updates`` per part.
    tiles_used, chips_used : int
    tile_traffic_max : float
        Messages per step through the busiest tile (sent on its outgoing links or delivered to
        its cores), for a bandwidth floor on the network time.
    """

    multicast: bool
    packets: float
    packets_within_tile: float
    hops_ew: float
    hops_ns: float
    tree_links_ew: float
    tree_links_ns: float
    unicast_hops_ew: float
    unicast_hops_ns: float
    chip_crossings: float
    link_load: dict
    busiest: dict
    path_hops_ew: int
    path_hops_ns: int
    path_chip_crossings: int
    noc_path_s: float
    part_core: np.ndarray
    per_part: dict
    tiles_used: int
    chips_used: int
    tile_traffic_max: float = 0.0
    nets: Nets = field(repr=False, default=None)

    def summary(self) -> dict:
        """Scalars only (JSON-ready)."""
        return {"model": "multicast_tree" if self.multicast else "unicast", "packets_per_step": self.packets,
                "packets_within_tile_per_step": self.packets_within_tile,
                "hops_ew_per_step": self.hops_ew, "hops_ns_per_step": self.hops_ns,
                "tree_links_ew_per_step": self.tree_links_ew, "tree_links_ns_per_step": self.tree_links_ns,
                "unicast_hops_ew_per_step": self.unicast_hops_ew, "unicast_hops_ns_per_step": self.unicast_hops_ns,
                "chip_crossings_per_step": self.chip_crossings, "busiest_link": dict(self.busiest),
                "longest_path": {"hops_ew": self.path_hops_ew, "hops_ns": self.path_hops_ns,
                                 "chip_crossings": self.path_chip_crossings, "latency_s": self.noc_path_s},
                "tiles_used": self.tiles_used, "chips_used": self.chips_used,
                "busiest_tile_messages_per_step": self.tile_traffic_max, "nets": self.nets.n_nets if self.nets else 0}


def route(graph: NetGraph, chip: ChipSpec, part: np.ndarray, *, rows: CoreRows, part_core: np.ndarray,
          nets: Optional[Nets] = None) -> Routing:
    """Route every net of a placed partition and collect the traffic figures (see module doc)."""
    part = np.asarray(part, dtype=np.int64)
    part_core = np.asarray(part_core, dtype=np.int64)
    k = rows.n_parts
    if nets is None:
        nets = build_nets(graph, part, rows)
    X, Y = tile_coords(chip)
    px, py = X[part_core], Y[part_core]
    tile_of_part = py * (X.max() + 1) + px
    tx, ty = chip.noc.tile_grid
    shape = grid_shape(chip)
    multicast = bool(getattr(chip.noc, "multicast", True))
    sizes = nets.sizes
    e_net = np.repeat(np.arange(nets.n_nets), sizes)
    we = nets.rate[e_net]
    src_e, dst_e = nets.src[e_net], nets.dst
    adx = np.abs(px[dst_e] - px[src_e])
    ady = np.abs(py[dst_e] - py[src_e])
    same_tile = tile_of_part[dst_e] == tile_of_part[src_e]
    seg_mc = segments(nets, px, py, multicast=True)
    tree = {d: float(np.sum((s[2] - s[1]) * s[3])) for d, s in seg_mc.items()}
    segs = seg_mc if multicast else segments(nets, px, py, multicast=False)
    loads = link_loads(segs, shape)
    masks = boundary_masks(chip)
    link_crossings = float(sum(loads[d][masks[d]].sum() for d in DIRS))
    best = max(DIRS, key=lambda d: loads[d].max(initial=0.0))
    yb, xb = np.unravel_index(int(np.argmax(loads[best])), loads[best].shape)
    busiest = {"dir": best, "x": int(xb), "y": int(yb), "load": float(loads[best][yb, xb])}
    # longest path that carries traffic
    t = chip.timing
    active = we > 0
    if active.any():
        cx_ = crossings(px[src_e], px[dst_e], tx) + crossings(py[src_e], py[dst_e], ty)
        lat = adx * t.hop_ew + ady * t.hop_ns + cx_ * t.hop_chip
        lat = np.where(active, lat, -1.0)
        j = int(np.argmax(lat))
        path = (int(adx[j]), int(ady[j]), int(cx_[j]), float(lat[j]))
    else:
        path = (0, 0, 0, 0.0)
    # per-part traffic
    in_part = part
    spikes = np.bincount(in_part, weights=graph.rate, minlength=k)
    packets_out = np.bincount(nets.src, weights=nets.rate * sizes, minlength=k)
    packets_in = np.bincount(dst_e, weights=we, minlength=k)
    r_src = graph.rate[rows.src]
    syn_ops = np.bincount(rows.part, weights=r_src * rows.nsyn, minlength=k)
    learn = np.bincount(in_part, weights=graph.learn_rate, minlength=k)  # event or epoch model (graph.py)
    through = loads["E"] + loads["N"]
    through[:, 1:] += loads["W"][:, :-1]
    through[1:, :] += loads["S"][:-1, :]
    np.add.at(through, (py[dst_e], px[dst_e]), we)
    used_cores = np.unique(part_core)
    used_tiles = np.unique(tile_of_part)
    chips = np.unique(used_cores // chip.cores_per_chip)
    return Routing(
        multicast=multicast, packets=float(we.sum()), packets_within_tile=float(we[same_tile].sum()),
        hops_ew=(tree["E"] + tree["W"]) if multicast else float((adx * we).sum()),
        hops_ns=(tree["N"] + tree["S"]) if multicast else float((ady * we).sum()),
        tree_links_ew=tree["E"] + tree["W"], tree_links_ns=tree["N"] + tree["S"],
        unicast_hops_ew=float((adx * we).sum()), unicast_hops_ns=float((ady * we).sum()),
        chip_crossings=link_crossings, link_load=loads, busiest=busiest,
        path_hops_ew=path[0], path_hops_ns=path[1], path_chip_crossings=path[2], noc_path_s=path[3],
        part_core=part_core,
        per_part={"spikes": spikes, "packets_out": packets_out, "packets_in": packets_in, "syn_ops": syn_ops,
                  "learn_updates": learn},
        tiles_used=int(used_tiles.size), chips_used=int(chips.size), tile_traffic_max=float(through.max(initial=0.0)),
        nets=nets)
