"""Read a placement file back: re-validate ``placement.json`` against a chip (and a network), rebuild relays.

:func:`read_placement` reads a file written by :func:`mapper.export.write_placement` (format in
:mod:`mapper.export.placement`) and re-validates it against a chip (and optionally a network):
structure, the populations (unique names, positive sizes summing to ``network.neurons``), that the
file was made for this chip (name, mesh and recorded per-core limits; ``other_chip=True``
re-validates a placement against another chip of the same mesh), addresses, each neuron placed
once, and every resource within the chip's limits (recomputed exactly when the network is given,
every recorded figure compared with its recomputation, with the per-neuron destination-core limit
``core.max_out_axons_per_neuron``). Errors name the file and the key.

A mapping with splitter relays places the network *with* its relays (the last population) and
records their wiring. Given the user's original network, :func:`read_placement` rebuilds the
relays from it (:func:`mapper.partition.relays.rebuild_relays`; :attr:`PlacementRecord.network`),
so the placement can be evaluated again (:func:`mapper.evaluate.evaluate_placement` accepts the
original network's activity for it).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from neurosim.activity import ActivityProfile
from neurosim.errors import InputError, MappingError, describe
from neurosim.io.jsontext import parse_json
from neurosim.ir import Network

from .chipspec import ChipSpec
from .export.placement import PLACEMENT_FORMAT, PLACEMENT_VERSION
from .graph import build_graph, core_rows
from .partition.relays import SPLITTER_POPULATION, rebuild_relays
from .resources import LIMIT_FIELD, RESOURCES, check_dest_cores, core_usage, limits_of

__all__ = ["PlacementRecord", "read_placement"]


@dataclass(frozen=True, eq=False)
class PlacementRecord:
    """A placement file read back: ``part[g]`` is the index (in ``core``) of neuron ``g``'s core.

    ``chip_name`` is the chip the file was made for (the chip read against, unless
    ``read_placement(..., other_chip=True)``).
    """

    path: str
    chip_name: str
    network_name: str
    populations: tuple[tuple[str, int], ...]
    part: np.ndarray
    core: np.ndarray
    resources: list[dict]
    routing: dict
    #: the network this placement is of: the one given to :func:`read_placement`, or that network
    #: with its splitter relays rebuilt from the file (``None`` when no network was given)
    network: Optional[Network] = None


def _err(path, key: str, what: str, *, got=None, expected=None) -> InputError:
    """``placement file '<path>': <key>: <what> (got <got!r>, expected <expected>)``."""
    return InputError(describe("placement file", str(path), f"{key}: {what}",
                               got=None if got is None else repr(got), expected=expected))


def _need(d: dict, key: str, typ, path, where: str):
    if not isinstance(d, dict) or key not in d:
        raise _err(path, f"{where}{key}", "missing")
    v = d[key]
    if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
        raise _err(path, f"{where}{key}", "wrong type", got=v, expected="an integer")
    if typ is not int and not isinstance(v, typ):
        raise _err(path, f"{where}{key}", "wrong type", got=type(v).__name__, expected=typ.__name__)
    return v


def read_placement(path: Union[str, Path], chip: ChipSpec, *, network: Optional[Network] = None,
                   other_chip: bool = False) -> PlacementRecord:
    """Read ``placement.json`` and re-validate it against ``chip`` (and ``network`` if given).

    ``network`` is the network the file places, or the original network of a mapping with
    splitters: its relays are then rebuilt from the file's ``"splitters"`` section, and the record's
    ``network`` is the network with relays (pass it to :func:`mapper.evaluate.evaluate_placement`).

    Checks, in order: format and version; ``network.populations`` (unique names, sizes
    ``>= 1``) and ``network.neurons`` (their sum, at most ``chip.n_cores * max_compartments``);
    the file's ``chip`` section against ``chip`` (name and mesh: ``cores``, ``tile_grid``,
    ``cores_per_tile``, ``chip_grid``); every core's address, neurons (each placed once) and
    ``resources`` ``[used, limit]``: used within ``chip``'s limit, and the recorded limit equal to
    ``chip``'s; with ``network``, every recorded used figure equal to its recomputation from the
    network (:func:`mapper.resources.core_usage`) and the per-neuron destination-core limit.

    Parameters
    ----------
    path : str or Path
        The placement file.
    chip : ChipSpec
        The chip to re-validate against.
    network : Network, optional
        The network the file places (see above).
    other_chip : bool
        Re-validate a placement made for another chip, or another version of this chip's file:
        the chip name and recorded limits may then differ from ``chip`` (the mesh must still
        match, and every resource must still fit ``chip``); :attr:`PlacementRecord.chip_name`
        stays the file's.

    Raises
    ------
    InputError
        Unreadable file, wrong format or version, bad structure, a population size that is not a
        positive integer, a duplicate population name, ``network.neurons`` not the populations'
        sum, a placement for another chip (name, mesh or per-core limits, unless ``other_chip``),
        a core that the chip does not have or whose address disagrees with the chip, a neuron
        placed twice or not at all, a resource above the chip's limit, a recorded resource figure
        that differs from its recomputation from ``network``, or relays without (or with an
        unusable) recorded wiring. The message names the file and the key.
    CapacityError
        With ``network``: a neuron targets more cores than ``core.max_out_axons_per_neuron``.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _err(path, "<file>", f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    doc = parse_json(raw, f"placement file '{path}'")
    if not isinstance(doc, dict):
        raise _err(path, "<file>", "not a placement file", got=type(doc).__name__, expected="a JSON object")
    if _need(doc, "format", str, path, "") != PLACEMENT_FORMAT:
        raise _err(path, "format", "not a placement file", got=doc["format"], expected=repr(PLACEMENT_FORMAT))
    if _need(doc, "version", int, path, "") != PLACEMENT_VERSION:
        raise _err(path, "version", "unsupported version", got=doc["version"], expected=PLACEMENT_VERSION)
    chip_doc = _check_chip(doc, path, chip, other_chip=other_chip)
    net = _need(doc, "network", dict, path, "")
    sizes = _populations(net, path, chip)
    names = list(sizes)
    offsets = np.concatenate([[0], np.cumsum([sizes[n] for n in names])]).astype(np.int64)
    n = int(offsets[-1])
    relays = False
    if network is not None:
        want, have = [(p.name, p.size) for p in network.populations], [(k, sizes[k]) for k in names]
        relays = names[-1:] == [SPLITTER_POPULATION] and have[:-1] == want
        if want != have and not relays:
            raise _err(path, "network.populations", "does not match the network", got=have, expected=want)
    cores = _need(doc, "cores", list, path, "")
    part = np.full(n, -1, dtype=np.int64)
    core_idx = np.zeros(len(cores), dtype=np.int64)
    lims = limits_of(chip.core)
    recorded = []
    for i, c in enumerate(cores):
        where = f"cores[{i}]."
        if not isinstance(c, dict):
            raise _err(path, f"cores[{i}]", "wrong type", got=type(c).__name__, expected="an object")
        k = _need(c, "core", int, path, where)
        if not 0 <= k < chip.n_cores:
            raise _err(path, where + "core", f"chip '{chip.name}' has no such core", got=k,
                       expected=f"0..{chip.n_cores - 1}")
        a = chip.address(k)
        for key in ("chip", "x", "y", "slot"):
            if _need(c, key, int, path, where) != getattr(a, key):
                raise _err(path, where + key, f"disagrees with core {k}'s address on chip '{chip.name}'",
                           got=c[key], expected=getattr(a, key))
        if k in core_idx[:i]:
            raise _err(path, where + "core", "core used twice", got=k)
        core_idx[i] = k
        for j, e in enumerate(_need(c, "neurons", list, path, where)):
            w2 = f"{where}neurons[{j}]."
            pop = _need(e, "population", str, path, w2)
            if pop not in sizes:
                raise _err(path, w2 + "population", "unknown population", got=pop, expected=names)
            off = offsets[names.index(pop)]
            for r_i, r in enumerate(_need(e, "ranges", list, path, w2)):
                if not (isinstance(r, list) and len(r) == 2 and all(_is_int(x) for x in r)
                        and 0 <= r[0] < r[1] <= sizes[pop]):
                    raise _err(path, f"{w2}ranges[{r_i}]", "invalid range", got=r,
                               expected=f"[start, stop) with 0 <= start < stop <= {sizes[pop]}")
                seg = part[off + r[0]:off + r[1]]
                if (seg >= 0).any():
                    raise _err(path, f"{w2}ranges[{r_i}]", "neuron placed twice",
                               got=f"{pop}[{r[0] + int(np.argmax(seg >= 0))}]")
                seg[:] = i
        recorded.append(_resources(c, path, where, chip, lims))
    if not other_chip:
        _check_limits(recorded, path, chip, lims, file_chip=chip_doc["name"])
    if (part < 0).any():
        g = int(np.flatnonzero(part < 0)[0])
        p = int(np.searchsorted(offsets, g, side="right") - 1)
        raise _err(path, "cores", "neuron not placed", got=f"{names[p]}[{g - offsets[p]}]")
    if relays:
        network = _rebuild(doc, path, network, part, core_idx)
    if network is not None:
        g = build_graph(network, ActivityProfile.assumed(network, 0.0, steps=1))
        usage = core_usage(g, chip, part, n_parts=len(cores))
        for c, r, used, lim in usage.violations():
            raise _err(path, f"cores[{c}].resources.{r}", f"recomputed from the network, exceeds chip '{chip.name}'",
                       got=used, expected=f"<= {lim}")
        for c, res in enumerate(recorded):
            for r in RESOURCES:
                if res[r][0] != int(usage.used[r][c]):
                    raise _err(path, f"cores[{c}].resources.{r}", "recorded use differs from its recomputation "
                               "from the network", got=res[r][0], expected=int(usage.used[r][c]))
        check_dest_cores(g, chip, core_rows(g, part, len(cores)), part_core=core_idx, where=f"placement file '{path}'")
    return PlacementRecord(path=str(path), chip_name=str(chip_doc["name"]), network_name=str(net.get("name", "")),
                           populations=tuple((k, sizes[k]) for k in names), part=part, core=core_idx,
                           resources=[c["resources"] for c in cores], routing=doc.get("routing", {}), network=network)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_chip(doc: dict, path, chip: ChipSpec, *, other_chip: bool) -> dict:
    """The file's ``chip`` section, checked against ``chip``: the mesh always, the name unless ``other_chip``."""
    d = _need(doc, "chip", dict, path, "")
    name = _need(d, "name", str, path, "chip.")
    if name != chip.name and not other_chip:
        raise _err(path, "chip.name", f"the placement was made for chip '{name}', not for chip '{chip.name}'",
                   got=name, expected=f"{chip.name!r} (read it against chip '{name}', or pass other_chip=True to "
                                      f"re-validate it against '{chip.name}')")
    mesh = {"cores": chip.n_cores, "tile_grid": list(chip.noc.tile_grid), "cores_per_tile": chip.noc.cores_per_tile,
            "chip_grid": list(chip.noc.chip_grid)}
    for key, want in mesh.items():
        got = _need(d, key, int if key in ("cores", "cores_per_tile") else list, path, "chip.")
        if got != want:
            raise _err(path, f"chip.{key}", f"the placement's mesh differs from chip '{chip.name}' (file made for "
                                            f"chip '{name}')", got=got, expected=want)
    return d


def _populations(net: dict, path, chip: ChipSpec) -> dict[str, int]:
    """``{name: size}`` of ``network.populations``: unique names, sizes >= 1, their sum ``network.neurons``."""
    pops = _need(net, "populations", list, path, "network.")
    sizes: dict[str, int] = {}
    for i, p in enumerate(pops):
        where = f"network.populations[{i}]."
        name = _need(p, "name", str, path, where)
        size = _need(p, "size", int, path, where)
        if name in sizes:
            raise _err(path, where + "name", "duplicate population name", got=name,
                       expected=f"each population once (also at index {list(sizes).index(name)})")
        if size < 1:
            raise _err(path, where + "size", f"population '{name}' must have at least one neuron", got=size,
                       expected="an integer >= 1")
        sizes[name] = size
    total = sum(sizes.values())
    if _need(net, "neurons", int, path, "network.") != total:
        raise _err(path, "network.neurons", "is not the sum of the population sizes", got=net["neurons"],
                   expected=total)
    room = chip.n_cores * int(chip.core.max_compartments)
    if total > room:
        raise _err(path, "network.neurons", f"exceeds the neurons chip '{chip.name}' can hold", got=total,
                   expected=f"<= {room} ({chip.n_cores} cores x {chip.core.max_compartments} compartments)")
    return sizes


def _resources(c: dict, path, where: str, chip: ChipSpec, lims: dict) -> dict:
    """A core's ``resources``: ``[used, limit]`` per resource, used an integer >= 0 within ``chip``'s limit."""
    res = _need(c, "resources", dict, path, where)
    for r in RESOURCES:
        u = _need(res, r, list, path, where + "resources.")
        if not (len(u) == 2 and _is_int(u[0]) and u[0] >= 0 and (u[1] is None or _is_int(u[1]))):
            raise _err(path, f"{where}resources.{r}", "expected [used, limit]", got=u,
                       expected="[integer >= 0, integer or null]")
        lim = lims[r]
        if lim is not None and u[0] > lim:
            raise _err(path, f"{where}resources.{r}", f"exceeds the limit of chip '{chip.name}'", got=u[0],
                       expected=f"<= {lim}")
    return res


def _check_limits(recorded: list[dict], path, chip: ChipSpec, lims: dict, *, file_chip: str) -> None:
    """Every recorded per-core limit equals ``chip``'s (the file was made for this chip spec)."""
    for c, res in enumerate(recorded):
        for r in RESOURCES:
            if res[r][1] != lims[r]:
                raise _err(path, f"cores[{c}].resources.{r}", f"recorded limit differs from chip '{chip.name}' "
                           f"({LIMIT_FIELD[r]}): the placement was made for another version of chip '{file_chip}'",
                           got=res[r][1], expected=f"{lims[r]} (or pass other_chip=True to re-validate against "
                                                   f"this chip)")


def _rebuild(doc: dict, path, network: Network, part: np.ndarray, core_idx: np.ndarray) -> Network:
    """``network`` with the splitter relays the file places, rebuilt from its ``"splitters"`` wiring."""
    if "splitters" not in doc:
        raise _err(path, "splitters", f"missing: the file places '{SPLITTER_POPULATION}' relays but does not record "
                                      "their wiring", expected="a file written by this version, or network= the "
                                                               "mapped network with its relays (MappingResult.network)")
    spl = _need(doc, "splitters", dict, path, "")
    feeder = _need(spl, "feeder", list, path, "splitters.")
    dests = _need(spl, "dest_cores", list, path, "splitters.")
    dt_s = _need(spl, "dt_s", float, path, "splitters.")
    n_relays = int(part.size - sum(p.size for p in network.populations))
    for key, v in (("feeder", feeder), ("dest_cores", dests)):
        if len(v) != n_relays:
            raise _err(path, f"splitters.{key}", "one entry per relay expected", got=len(v), expected=n_relays)
    part_of = {int(k): i for i, k in enumerate(core_idx)}
    dest_parts = []
    for j, d in enumerate(dests):
        if not (isinstance(d, list) and all(isinstance(k, int) and not isinstance(k, bool) and k in part_of
                                            for k in d)):
            raise _err(path, f"splitters.dest_cores[{j}]", "not a list of cores of this placement", got=d)
        dest_parts.append(np.array([part_of[k] for k in d], dtype=np.int64))
    if not all(isinstance(f, int) and not isinstance(f, bool) for f in feeder):
        raise _err(path, "splitters.feeder", "wrong type", expected="a list of integers")
    try:
        return rebuild_relays(network, part, n_parts=len(core_idx), feeder=np.array(feeder, dtype=np.int64),
                              dest_parts=dest_parts, dt_s=dt_s)
    except MappingError as exc:
        raise _err(path, "splitters", f"the relay wiring does not fit the network ({exc})") from None
