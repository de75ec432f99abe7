"""Route: dimension-order (XY) routing of spike messages on the board-global tile mesh.

A spiking neuron ``v`` on core ``c`` sends one packet to every distinct destination core of its
targets (its own core included). Neurons with the same source core and the same destination-core
set form one *net* (a multicast group); every figure below is linear in the rates, so nets carry
the summed rate of their neurons and routing is vectorised over nets.

Geometry: tile ``(X, Y)`` of a core is :meth:`ChipSpec.global_tile` (X east-west, Y north-south,
chips side by side). XY routing first moves along X on the source row, then along Y on the
destination column. Link grids are indexed ``[Y, X]``:
``E[y, x]``: ``(x, y) -> (x + 1, y)``; ``W[y, x]``: ``(x + 1, y) -> (x, y)``;
``N[y, x]``: ``(x, y) -> (x, y + 1)``; ``S[y, x]``: ``(x, y + 1) -> (x, y)``.
A link crosses a chip boundary when ``(x + 1) % tx == 0`` (E/W) or ``(y + 1) % ty == 0`` (N/S).

Two hop models (both are reported; the chip's ``noc.multicast`` picks the one that is charged):

* multicast tree: the union of the XY paths from the source tile to all destination tiles,
  shared links counted once: ``E = max(0, max_d x_d - x_s)``, ``W = max(0, x_s - min_d x_d)``
  and, for every destination column ``x``, ``N = max(0, max y - y_s)``, ``S = max(0, y_s - min y)``;
* unicast: every packet routed on its own, ``|x_d - x_s|`` E-W and ``|y_d - y_s|`` N-S hops.

All rates are events per step per input; totals over a run are ``rate * steps * batch``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .chipspec import ChipSpec
from .graph import CoreRows, NetGraph
from .repair import gather_ranges

__all__ = ["Nets", "build_nets", "tile_coords", "segments", "runs", "link_loads", "Routing", "route", "DIRS"]

DIRS = ("E", "W", "N", "S")


@dataclass(frozen=True, eq=False)
class Nets:
    """Multicast nets: neurons grouped by (source part, destination-part set).

    ``dst[ptr[j]:ptr[j + 1]]`` are the destination parts of net ``j`` (sorted, distinct); ``rate``
    the summed events per step of its ``count`` neurons; ``neuron_net[v]`` the net of neuron
    ``v`` (-1 for neurons without targets).
    """

    src: np.ndarray
    ptr: np.ndarray
    dst: np.ndarray
    rate: np.ndarray
    count: np.ndarray
    neuron_net: np.ndarray
    n_parts: int

    @property
    def n_nets(self) -> int:
        return int(self.src.size)

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.ptr)


def build_nets(graph: NetGraph, part: np.ndarray, rows: CoreRows) -> Nets:
    """Group neurons by (source part, destination-part set), exactly.

    Candidates are sorted by (part, set size, 64-bit set hash); neighbours in that order are merged
    only after their destination lists compare equal element by element.
    """
    n, k = graph.n, rows.n_parts
    ptr = rows.ptr(n)
    lens = np.diff(ptr)
    nz = np.flatnonzero(lens > 0)
    rnd = np.random.default_rng(0x5EED).integers(1, 2**62, size=max(k, 1), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    if nz.size == 0:
        return Nets(src=np.zeros(0, np.int64), ptr=np.zeros(1, np.int64), dst=np.zeros(0, np.int64),
                    rate=np.zeros(0), count=np.zeros(0, np.int64), neuron_net=np.full(n, -1, np.int64), n_parts=k)
    h = np.add.reduceat(rnd[rows.part], ptr[nz])
    sp_ = np.asarray(part, dtype=np.int64)[nz]
    order = np.lexsort((h, lens[nz], sp_))
    s_sorted = nz[order]
    sp_o, len_o, h_o = sp_[order], lens[s_sorted], h[order]
    same = (sp_o[1:] == sp_o[:-1]) & (len_o[1:] == len_o[:-1]) & (h_o[1:] == h_o[:-1])
    pos = np.flatnonzero(same)
    if pos.size:
        cur, prev = s_sorted[pos + 1], s_sorted[pos]
        eq = rows.part[gather_ranges(ptr, cur)] == rows.part[gather_ranges(ptr, prev)]
        seg = np.cumsum(lens[cur]) - lens[cur]
        same[pos] = np.logical_and.reduceat(eq, seg)
    new = np.concatenate([[True], ~same])
    gid = np.cumsum(new) - 1
    neuron_net = np.full(n, -1, dtype=np.int64)
    neuron_net[s_sorted] = gid
    reps = s_sorted[new]
    dptr = np.concatenate([[0], np.cumsum(lens[reps])]).astype(np.int64)
    return Nets(src=np.asarray(part, dtype=np.int64)[reps], ptr=dptr, dst=rows.part[gather_ranges(ptr, reps)],
                rate=np.bincount(gid, weights=graph.rate[s_sorted]), count=np.bincount(gid).astype(np.int64),
                neuron_net=neuron_net, n_parts=k)


def tile_coords(chip: ChipSpec) -> tuple[np.ndarray, np.ndarray]:
    """Board-global tile ``(X, Y)`` of every core of the board, vectorised :meth:`ChipSpec.global_tile`."""
    cores = np.arange(chip.n_cores)
    chip_i, local = np.divmod(cores, chip.cores_per_chip)
    tile = local // chip.noc.cores_per_tile
    tx, ty = chip.noc.tile_grid
    y, x = np.divmod(tile, tx)
    cy, cx = np.divmod(chip_i, chip.noc.chip_grid[0])
    return cx * tx + x, cy * ty + y


def grid_shape(chip: ChipSpec) -> tuple[int, int]:
    """``(GY, GX)`` of the board-global tile mesh."""
    return chip.noc.tile_grid[1] * chip.noc.chip_grid[1], chip.noc.tile_grid[0] * chip.noc.chip_grid[0]


def segments(nets: Nets, px: np.ndarray, py: np.ndarray, *, multicast: bool, sel: np.ndarray = None,
             weight: np.ndarray = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Straight link runs of the selected nets: ``dir -> (line, lo, hi, w)``.

    A run covers the links ``lo .. hi - 1`` of row ``line`` (E/W; link ``i`` joins x = i and i + 1)
    or column ``line`` (N/S), each traversed ``w`` times per step. ``px, py``: tile of every part.
    """
    if sel is None:
        sel = np.arange(nets.n_nets)
    w_net = nets.rate[sel] if weight is None else weight
    lens = nets.ptr[sel + 1] - nets.ptr[sel]
    e = gather_ranges(nets.ptr, sel)
    src = nets.src[sel]
    return runs(px[src], py[src], dx=px[nets.dst[e]], dy=py[nets.dst[e]], lens=lens, w_net=w_net, multicast=multicast,
                gx=int(px.max(initial=0)) + 1)


def runs(sx: np.ndarray, sy: np.ndarray, *, dx: np.ndarray, dy: np.ndarray, lens: np.ndarray, w_net: np.ndarray,
         multicast: bool, gx: int) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Link runs of nets given explicitly: source tile ``(sx, sy)`` per net, destination tiles
    ``(dx, dy)`` concatenated net after net (``lens`` per net, all >= 1), weight ``w_net``;
    ``gx`` bounds the X coordinates. See :func:`segments`."""
    n = lens.size
    out = {}
    if n == 0:
        z = np.zeros(0, np.int64)
        return {d: (z, z, z, np.zeros(0)) for d in DIRS}
    e_net = np.repeat(np.arange(n), lens)
    if multicast:
        starts = np.cumsum(lens) - lens
        maxx, minx = np.maximum.reduceat(dx, starts), np.minimum.reduceat(dx, starts)
        out["E"] = (sy, sx, maxx, w_net)
        out["W"] = (sy, minx, sx, w_net)
        flat = e_net * gx + dx
        lo_inf, hi_inf = np.iinfo(np.int64).min, np.iinfo(np.int64).max
        maxy = np.full(n * gx, lo_inf, dtype=np.int64)
        miny = np.full(n * gx, hi_inf, dtype=np.int64)
        np.maximum.at(maxy, flat, dy)
        np.minimum.at(miny, flat, dy)
        u = np.flatnonzero(maxy != lo_inf)
        un, col = u // gx, u % gx
        out["N"] = (col, sy[un], maxy[u], w_net[un])
        out["S"] = (col, miny[u], sy[un], w_net[un])
    else:
        we = w_net[e_net]
        sxe, sye = sx[e_net], sy[e_net]
        out["E"] = (sye, sxe, dx, we)
        out["W"] = (sye, dx, sxe, we)
        out["N"] = (dx, sye, dy, we)
        out["S"] = (dx, dy, sye, we)
    for d, (line, lo, hi, w) in out.items():
        keep = hi > lo
        out[d] = (line[keep], lo[keep], hi[keep], w[keep])
    return out


def link_loads(segs: dict, shape: tuple[int, int], *, sign: float = 1.0, into: dict = None) -> dict[str, np.ndarray]:
    """Per-link loads ``[Y, X]`` of the runs ``segs`` (difference arrays + cumulative sums)."""
    gy, gx = shape
    out = into if into is not None else {d: np.zeros((gy, gx)) for d in DIRS}
    for d in DIRS:
        line, lo, hi, w = segs[d]
        if line.size == 0:
            continue
        n_lines, n_len = (gy, gx) if d in ("E", "W") else (gx, gy)
        stride = n_len + 1
        diff = np.bincount(line * stride + lo, weights=sign * w, minlength=n_lines * stride)
        diff -= np.bincount(line * stride + hi, weights=sign * w, minlength=n_lines * stride)
        acc = np.cumsum(diff.reshape(n_lines, stride), axis=1)[:, :n_len]
        out[d] += acc if d in ("E", "W") else acc.T
    return out


def boundary_masks(chip: ChipSpec) -> dict[str, np.ndarray]:
    """Boolean ``[Y, X]`` masks of the links that cross a chip boundary."""
    gy, gx = grid_shape(chip)
    tx, ty = chip.noc.tile_grid
    ew = np.broadcast_to(((np.arange(gx) + 1) % tx == 0) & (np.arange(gx) < gx - 1), (gy, gx))
    ns = np.broadcast_to((((np.arange(gy) + 1) % ty == 0) & (np.arange(gy) < gy - 1))[:, None], (gy, gx))
    return {"E": ew, "W": ew, "N": ns, "S": ns}


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


def _crossings(a: np.ndarray, b: np.ndarray, period: int) -> np.ndarray:
    """Chip boundaries between coordinates ``a`` and ``b`` (either order)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return hi // period - lo // period


def route(graph: NetGraph, chip: ChipSpec, part: np.ndarray, *, rows: CoreRows, part_core: np.ndarray,
          nets: Nets = None) -> Routing:
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
    crossings = float(sum(loads[d][masks[d]].sum() for d in DIRS))
    best = max(DIRS, key=lambda d: loads[d].max(initial=0.0))
    yb, xb = np.unravel_index(int(np.argmax(loads[best])), loads[best].shape)
    busiest = {"dir": best, "x": int(xb), "y": int(yb), "load": float(loads[best][yb, xb])}
    # longest path that carries traffic
    t = chip.timing
    active = we > 0
    if active.any():
        cx_ = _crossings(px[src_e], px[dst_e], tx) + _crossings(py[src_e], py[dst_e], ty)
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
        chip_crossings=crossings, link_load=loads, busiest=busiest,
        path_hops_ew=path[0], path_hops_ns=path[1], path_chip_crossings=path[2], noc_path_s=path[3],
        part_core=part_core,
        per_part={"spikes": spikes, "packets_out": packets_out, "packets_in": packets_in, "syn_ops": syn_ops,
                  "learn_updates": learn},
        tiles_used=int(used_tiles.size), chips_used=int(chips.size), tile_traffic_max=float(through.max(initial=0.0)),
        nets=nets)
