"""Read a SANA-FE 2.x network file into a neurosim network and, when it is mapped, a given placement.

SANA-FE (Boyle et al., IEEE TCAD 2025) describes a spiking network in YAML: ``network:`` with
``groups`` (a name, default ``attributes`` and a ``neurons`` list whose entries ``i`` or ``a..b``
override them per neuron) and ``edges``, and ``mappings:`` (``group[.i|.a..b]: {core: T.C}``).
:func:`read_sanafe_network` reads every form SANA-FE 2.x reads:

* attributes as a map or as a list of one-key maps (applied in order), with ``soma:`` sections;
* per-synapse edges ``a.i -> b.j: {weight: w}`` (``w`` is SANA-FE's other name of the weight;
  a ``synapse:`` section is read too);
* hyperedges ``a -> b: {type: ..., ...}`` between whole groups: ``dense`` (``weight`` lists
  ``n_pre * n_post`` values, index ``src * n_post + dst``), ``conv2d`` (``input_width``,
  ``input_height``, ``input_channels``, ``kernel_width``, ``kernel_height``, ``kernel_count``,
  ``stride_width``, ``stride_height``; channels-first neuron maps; the kernel list in
  ``(kernel_height, kernel_width, channels_in, channels_out)`` order, as SANA-FE's layer API
  writes ``layers.Conv2D``) and ``sparse`` (``source_target_pairs`` and one value per pair);
* mappings of single neurons, ranges or whole groups.

Translation (the inverse of :mod:`mapper.export.sanafe`)
-------------------------------------------------------
Every group becomes a population of :class:`~neurosim.neurons.LIF` neurons at time step ``dt_s``
(SANA-FE's defaults where an attribute is absent)::

    v_th = threshold⁺ (1.0)         v_reset = reset (0.0)         reset = "subtract" if reset_mode
    tau_m_s = dt / (1 - leak_decay)  (inf when leak_decay = 1.0)          is "soft" else "zero" (hard)
    bias = bias / dt  (units of v per second; SANA-FE adds bias to v every step)
    tau_s = dt  (a spike of weight w moves v by w one step later, as in SANA-FE)
    refractory_steps = refractory_delay (0)

where ``x⁺`` is the smallest float above ``x``: SANA-FE fires when ``v > threshold``, neurosim when
``v >= v_th`` (the exporter writes ``v_th⁻``, so the round trip is exact). A soft reset subtracts
``v_th``, one ulp more than SANA-FE's ``threshold``.

Each pair of groups gives one connection per edge form (per-synapse lines and ``sparse``
hyperedges: sparse weights; ``dense``: dense weights; ``conv2d``: a compact
:class:`~neurosim.conv.ConvWeights`). SANA-FE keeps, and charges, a synapse of weight 0; so does
the read network (dense weights with a ``synapses`` mask, convolutions with ``zero_taps``), except
for per-synapse lines between groups too large for a dense mask (:data:`DENSE_MASK_LIMIT`
entries), where zero weights are dropped and a note says so. Everything else that does not
translate exactly is listed in :attr:`SanafeNetwork.notes` (the unit-specific ``dendrite:``
sections, synaptic ``delay``, ``reset_mode`` ``none``/``saturate``, reverse thresholds, noise,
input spike trains, hardware unit names, unknown attributes).

Round trip. A file written by :func:`mapper.export.write_sanafe` reads back as the network it
came from: population names (from the file's ``# group 'g' is population 'p'`` lines) and sizes,
thresholds, resets, refractory steps, the synapses and their weights, and the placement are exact;
``tau_m_s`` and ``bias`` up to the rounding of the ``dt`` scaling (a few ulp). Not invertible
(the exporter's approximations, noted in its file header): ``tau_s`` (read as ``dt``), ``v_rest``,
delays (read as one step), graded LCA neurons (read as LIF), constant inputs folded into the bias,
connections between the same two populations (read as one), dense vs sparse storage.

Placement. ``core: T.C`` is tile ``T`` (numbered column by column over the ``W x H`` board mesh,
``T = X * H + Y``) and core ``C`` of the tile; :func:`sanafe_core_index` turns it into a board core
of a :class:`~mapper.chipspec.ChipSpec`, and :meth:`SanafeNetwork.placement` into the ``part`` /
``part_core`` arrays of :func:`mapper.evaluate_placement`, which re-checks every per-core limit.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvWeights
from neurosim.errors import NetworkError, SpecError
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF
from neurosim.validation.schema import Ctx, load_yaml

from ..chipspec import ChipSpec
from ..export.sanafe import board_mesh

__all__ = ["SanafeFileError", "SanafeNetwork", "read_sanafe_network", "sanafe_core_index", "DENSE_MASK_LIMIT",
           "MAX_FILE_BYTES"]

#: largest ``n_post * n_pre`` for which zero-weight per-synapse edges are kept (dense mask)
DENSE_MASK_LIMIT = 4_000_000
#: largest network file read (bytes); the bounded YAML loader also caps the values at 200,000
MAX_FILE_BYTES = 64 * 1024 * 1024

#: attributes that steer SANA-FE's logging and scheduling, not the neuron's dynamics
_FRAMEWORK = {"log_spikes", "log_potential", "force_update", "force_synapse_update", "force_dendrite_update",
              "force_soma_update", "force_update_every_timestep", "model", "log_u"}
_HW_NAMES = {"synapse_hw_name", "dendrite_hw_name", "soma_hw_name", "plugin"}
_LIF_KEYS = {"threshold": 1.0, "reset": 0.0, "leak_decay": 1.0, "bias": 0.0, "refractory_delay": 0.0}
_LIF_MODELS = {"leaky_integrate_fire", "leaky_integrate_and_fire", "loihi"}
_EDGE = re.compile(r"^\s*([^.\s>-][^.\s]*?)(?:\.([0-9.]+))?\s*->\s*([^.\s][^.\s]*?)(?:\.([0-9.]+))?\s*$")
_GROUP_NOTE = re.compile(r"^# group '(.+)' is population '(.+)'\s*$")
_CORE_VALUE = re.compile(r"(\bcore\s*:\s*)(\d+\.\d+)(?=\s*[,}\]\n]|\s*$)", re.M)
#: a mapping key ``- 0.10:`` (group 0, neuron 10), which YAML would read as the number 0.1
_NUMERIC_KEY = re.compile(r"^(\s*-\s+)(\d+\.\d+)(\s*:)", re.M)


class SanafeFileError(SpecError):
    """A SANA-FE network file is unusable (see :class:`~neurosim.errors.SpecError`: file, key,
    what, got, expected)."""

    kind = "SANA-FE network"


@dataclass(frozen=True, eq=False)
class SanafeNetwork:
    """What :func:`read_sanafe_network` read.

    ``tile[p]`` / ``slot[p]`` are the SANA-FE tile and core-in-tile of every neuron of population
    ``p`` (``-1``: not mapped); ``groups`` maps SANA-FE group names to population names.
    """

    network: Network
    path: str
    dt_s: float
    groups: dict[str, str]
    tile: dict[str, np.ndarray]
    slot: dict[str, np.ndarray]
    notes: tuple[str, ...]

    @property
    def n_unmapped(self) -> int:
        """Neurons without a ``core`` in the ``mappings`` section."""
        return int(sum(int(np.count_nonzero(t < 0)) for t in self.tile.values()))

    @property
    def mapped(self) -> bool:
        """Every neuron has a core: the file is a complete placement."""
        return self.n_unmapped == 0 and self.network.n_neurons > 0

    def cores(self, chip: ChipSpec) -> np.ndarray:
        """The board core of every neuron (network order) on ``chip`` (:func:`sanafe_core_index`).

        Raises
        ------
        SanafeFileError
            A neuron is not mapped, or its tile / core is not on ``chip``'s board.
        """
        out = []
        for p in self.network.populations:
            t, s = self.tile[p.name], self.slot[p.name]
            if np.any(t < 0):
                i = int(np.flatnonzero(t < 0)[0])
                raise SanafeFileError(self.path, "mappings", f"neuron {p.name}.{i} has no core",
                                      got=f"{int(np.count_nonzero(t < 0))} unmapped neuron(s) in '{p.name}'",
                                      expected="a core for every neuron (or map the network instead)")
            out.append(_board_cores(chip, t, s, self.path))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def placement(self, chip: ChipSpec) -> tuple[np.ndarray, np.ndarray]:
        """``(part, part_core)`` for :func:`mapper.evaluate_placement`: one part per board core in use."""
        core = self.cores(chip)
        part_core, part = np.unique(core, return_inverse=True)
        return part.astype(np.int64), part_core.astype(np.int64)


def sanafe_core_index(chip: ChipSpec, tile: int, slot: int) -> int:
    """The board core of SANA-FE's tile ``tile``, core ``slot`` (the inverse of
    :func:`mapper.export.sanafe.sanafe_tile_core`: ``X = tile // H``, ``Y = tile % H``)."""
    return int(_board_cores(chip, np.array([tile]), np.array([slot]), "<placement>")[0])


def _board_cores(chip: ChipSpec, tile: np.ndarray, slot: np.ndarray, path: str) -> np.ndarray:
    w, h = board_mesh(chip)
    cpt = chip.noc.cores_per_tile
    tx, ty = chip.noc.tile_grid
    bad_t, bad_s = (tile < 0) | (tile >= w * h), (slot < 0) | (slot >= cpt)
    if np.any(bad_t) or np.any(bad_s):
        i = int(np.flatnonzero(bad_t | bad_s)[0])
        raise SanafeFileError(path, "mappings", f"core {int(tile[i])}.{int(slot[i])} is not on chip '{chip.name}'",
                              got=f"tile {int(tile[i])}, core {int(slot[i])}",
                              expected=f"tile 0 .. {w * h - 1} ({w} x {h} mesh), core 0 .. {cpt - 1}")
    gx, gy = np.divmod(tile.astype(np.int64), h)
    chip_x, x = np.divmod(gx, tx)
    chip_y, y = np.divmod(gy, ty)
    chip_i = chip_y * chip.noc.chip_grid[0] + chip_x
    return chip_i * chip.cores_per_chip + (y * tx + x) * cpt + slot.astype(np.int64)


# ---------------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    src = str(path)
    if path.is_dir():
        raise SanafeFileError(src, "(file)", "is a directory", got=src, expected="a SANA-FE network YAML file")
    if not path.is_file():
        raise SanafeFileError(src, "(file)", "file not found", got=src, expected="an existing YAML file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SanafeFileError(src, "(file)", "too large", got=f"{path.stat().st_size} bytes",
                              expected=f"at most {MAX_FILE_BYTES} bytes")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SanafeFileError(src, "(file)", f"not UTF-8 text (byte {exc.start})", expected="a UTF-8 YAML file") from None
    except OSError as exc:
        raise SanafeFileError(src, "(file)", "cannot be read", got=type(exc).__name__,
                              expected="a readable file") from None


def _attrs(ctx: Ctx, node: Any, key: str) -> dict:
    """Attributes as one map: a map, or a list of maps applied in order (``None``: none)."""
    if node is None:
        return {}
    if isinstance(node, dict):
        return dict(node)
    if isinstance(node, list):
        out: dict = {}
        for i, item in enumerate(node):
            if item is None:
                continue
            if not isinstance(item, dict):
                raise ctx.error(f"{key}[{i}]", "an attribute must be 'name: value'", got=repr(item),
                                expected="a map or a list of one-key maps")
            out.update(item)
        return out
    raise ctx.error(key, "attributes must be a map or a list of maps", got=repr(node), expected="{name: value, ...}")


def _ids(ctx: Ctx, raw: Any, key: str) -> tuple[int, int]:
    """``i`` or ``a..b`` as the inclusive range ``(lo, hi)``."""
    s = str(raw).strip()
    m = re.fullmatch(r"(\d+)(?:\.\.(\d+))?", s)
    if m is None or (m.group(2) is not None and int(m.group(2)) < int(m.group(1))):
        raise ctx.error(key, "neuron id must be 'i' or 'a..b' (a <= b)", got=repr(raw), expected="e.g. 3 or 0..9")
    lo = int(m.group(1))
    return lo, int(m.group(2)) if m.group(2) is not None else lo


def _number(ctx: Ctx, v: Any, key: str) -> float:
    try:
        f = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
    except OverflowError:  # an integer beyond the float range
        f = math.inf
    if not math.isfinite(f):
        raise ctx.error(key, "must be a finite number", got=repr(v)[:60], expected="a number")
    return f


def _group(ctx: Ctx, g: Any, key: str, dt_s: float, notes: list[str]) -> tuple[str, Population]:
    """A group as ``(SANA-FE name, population)`` (the population named ``"g"`` until named)."""
    if not isinstance(g, dict):
        raise ctx.error(key, "a group must be a map", got=repr(g), expected="{name, attributes, neurons}")
    if g.get("name") is None:
        raise ctx.error(f"{key}.name", "missing", expected="the group's name")
    name = str(g["name"])
    base = _attrs(ctx, g.get("attributes"), f"{key}.attributes")
    runs = []
    neurons = g.get("neurons")
    if not isinstance(neurons, list) or not neurons:
        raise ctx.error(f"{key}.neurons", "must be a non-empty list of neuron ids", got=repr(neurons),
                        expected="e.g. [0..9: {}]")
    for i, entry in enumerate(neurons):
        k = f"{key}.neurons[{i}]"
        items = entry.items() if isinstance(entry, dict) else [(entry, None)]
        for raw, at in items:
            runs.append((_ids(ctx, raw, k), _attrs(ctx, at, k), k))
    n = sum(hi - lo + 1 for (lo, hi), _, _ in runs)
    seen = np.zeros(n, dtype=bool)
    vals = {a: np.full(n, d) for a, d in _LIF_KEYS.items()}
    modes = np.full(n, "hard", dtype=object)
    ignored: set[str] = set()

    def apply(at: dict, sel: slice, k: str) -> None:
        at = dict(at)
        soma = at.pop("soma", None)
        if isinstance(soma, dict):
            at.update(soma)
        for a, v in at.items():
            a = str(a)
            if a in vals:
                vals[a][sel] = _number(ctx, v, f"{k}.{a}")
            elif a == "reset_mode":
                modes[sel] = str(v)
            elif a == "model" and str(v) not in _LIF_MODELS:
                ignored.add(f"model {v} (read as LIF)")
            elif a not in _FRAMEWORK:
                ignored.add(a)

    apply(base, slice(0, n), f"{key}.attributes")
    for (lo, hi), at, k in runs:
        if hi >= n:
            raise ctx.error(k, "neuron id beyond the group's size", got=f"{lo}..{hi}",
                            expected=f"ids 0 .. {n - 1} (the group lists {n} neurons)")
        if np.any(seen[lo:hi + 1]):
            raise ctx.error(k, "neuron listed twice", got=f"{lo}..{hi}", expected="each neuron once")
        seen[lo:hi + 1] = True
        apply(at, slice(lo, hi + 1), k)
    ld = vals["leak_decay"]
    if np.any(ld > 1.0):
        raise ctx.error(f"{key}.attributes.leak_decay", "a decay above 1 grows without bound", got=float(ld.max()),
                        expected="leak_decay <= 1")
    if len(set(modes)) > 1:
        raise ctx.error(f"{key}.neurons", "reset_mode varies within the group", got=sorted(set(modes)),
                        expected="one reset_mode per group (a neurosim population has one)")
    mode = str(modes[0])
    if mode not in ("soft", "hard"):
        notes.append(f"group '{name}': reset_mode '{mode}' read as a hard reset")
    refr = vals["refractory_delay"]
    if np.any(refr != np.round(refr)) or np.any(refr < 0):
        raise ctx.error(f"{key}.attributes.refractory_delay", "must be a whole number of steps >= 0",
                        got=float(refr[(refr != np.round(refr)) | (refr < 0)][0]), expected="0, 1, 2, ...")
    if ignored:
        notes.append(f"group '{name}': not translated: {', '.join(sorted(ignored))}")
    with np.errstate(divide="ignore"):
        tau_m = np.where(ld < 1.0, dt_s / np.where(ld < 1.0, 1.0 - ld, 1.0), np.inf)

    def one(a: np.ndarray):
        return float(a[0]) if np.all(a == a[0]) else a.copy()

    th = vals["threshold"]
    if np.any(th < 0):
        raise ctx.error(f"{key}.attributes.threshold", "must be >= 0 for a neurosim LIF", got=float(th.min()),
                        expected="threshold >= 0")
    try:
        model = LIF(tau_s=dt_s, tau_m_s=one(tau_m), v_th=one(np.nextafter(th, np.inf)), bias=one(vals["bias"] / dt_s),
                    v_reset=one(vals["reset"]), reset="subtract" if mode == "soft" else "zero",
                    refractory_steps=int(refr[0]) if np.all(refr == refr[0]) else refr.astype(np.int64))
    except (NetworkError, ValueError) as exc:
        raise ctx.error(f"{key}.attributes", f"not a valid LIF population: {exc}") from None
    return name, Population("g", n, model)


def _hyper(ctx: Ctx, at: dict, key: str, n_pre: int, n_post: int, notes: list[str], label: str):
    """A hyperedge's weights: dense ndarray (+ synapses mask), ConvWeights, or sparse triples."""
    typ = at.get("type")
    wkey = "weight" if "weight" in at else "w" if "w" in at else None
    syn = at.get("synapse") if isinstance(at.get("synapse"), dict) else {}
    if wkey is None and syn:
        wkey = "weight" if "weight" in syn else "w" if "w" in syn else None
        at = {**at, **({wkey: syn[wkey]} if wkey else {})}
    extra = set(at) - {"type", "weight", "w", "synapse", "input_width", "input_height", "input_channels",
                       "kernel_width", "kernel_height", "kernel_count", "stride_width", "stride_height",
                       "source_target_pairs"}
    if extra:
        notes.append(f"edge '{label}': not translated: {', '.join(sorted(map(str, extra)))}")

    def values(count: int) -> np.ndarray:
        if wkey is None:
            return np.zeros(count)
        v = at[wkey]
        if not isinstance(v, list) or len(v) < count:
            raise ctx.error(f"{key}.{wkey}", "needs one value per synapse", got=len(v) if isinstance(v, list) else repr(v),
                            expected=f"a list of {count} numbers")
        a = np.asarray([_number(ctx, x, f"{key}.{wkey}") for x in v[:count]], dtype=float)
        return a

    if typ == "dense":
        w = values(n_pre * n_post).reshape(n_pre, n_post).T.copy()
        return "dense", w, (np.ones_like(w, dtype=bool) if np.any(w == 0) else None)
    if typ == "conv2d":
        def geo(k: str, default: Optional[int] = None) -> int:
            v = at.get(k, default)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ctx.error(f"{key}.{k}", "must be a positive integer", got=repr(v), expected="an integer >= 1")
            return int(v)
        iw, ih, ic = geo("input_width"), geo("input_height"), geo("input_channels", 1)
        kw, kh, kc = geo("kernel_width"), geo("kernel_height"), geo("kernel_count", 1)
        sw, sh = geo("stride_width", 1), geo("stride_height", 1)
        if sw != sh:
            raise ctx.error(f"{key}.stride_width", "strides must be equal in width and height",
                            got=(sw, sh), expected="stride_width == stride_height (neurosim ConvWeights)")
        if ic * ih * iw != n_pre:
            raise ctx.error(key, "input_channels x input_height x input_width is not the source group's size",
                            got=ic * ih * iw, expected=n_pre)
        kernel = values(kh * kw * ic * kc).reshape(kh, kw, ic, kc).transpose(3, 2, 0, 1)
        try:
            cw = ConvWeights(kernel, (ic, ih, iw), stride=sw, padding=0, zero_taps=bool(np.any(kernel == 0)))
        except NetworkError as exc:
            raise ctx.error(key, f"not a valid convolution: {exc}") from None
        if cw.shape[0] != n_post:
            raise ctx.error(key, "the convolution's output is not the target group's size", got=cw.shape[0],
                            expected=f"{n_post} (kernel_count x output height x output width)")
        return "conv", cw, None
    if typ == "sparse":
        pairs = at.get("source_target_pairs")
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**62 for i in p) for p in pairs):
            raise ctx.error(f"{key}.source_target_pairs", "must be a list of [source, target] pairs",
                            got=repr(pairs)[:60], expected="[[0, 1], [2, 3], ...] (neuron ids >= 0)")
        pre = np.asarray([int(p[0]) for p in pairs], dtype=np.int64)
        post = np.asarray([int(p[1]) for p in pairs], dtype=np.int64)
        return "sparse", (pre, post, values(len(pairs))), None
    raise ctx.error(f"{key}.type", "unknown hyperedge type", got=repr(typ), expected="dense, conv2d or sparse")


def _synapse_matrix(pre: np.ndarray, post: np.ndarray, w: np.ndarray, n_pre: int, n_post: int, label: str,
                    notes: list[str]):
    """Weights and synapses mask of per-synapse edges (zero weights kept while a dense mask is cheap)."""
    if np.any((pre < 0) | (pre >= n_pre)) or np.any((post < 0) | (post >= n_post)):
        return None
    key = post * n_pre + pre
    if np.unique(key).size != key.size:
        notes.append(f"edges '{label}': {key.size - np.unique(key).size} repeated synapse(s) summed into one")
    if np.any(w == 0):
        if n_pre * n_post <= DENSE_MASK_LIMIT:
            dense = np.zeros((n_post, n_pre))
            np.add.at(dense, (post, pre), w)
            mask = np.zeros((n_post, n_pre), dtype=bool)
            mask[post, pre] = True
            return dense, mask
        notes.append(f"edges '{label}': {int(np.count_nonzero(w == 0))} zero-weight synapse(s) dropped "
                     f"(SANA-FE charges them; too many neurons for a dense synapse mask)")
    return sp.csr_matrix((w, (post, pre)), shape=(n_post, n_pre)), None


def _population_names(groups: list[str], renamed: dict[str, str], notes: list[str]) -> dict[str, str]:
    """Population name of every group: the exporter's original name (its header lines), else the
    group name made a valid, unique population name (letters, digits, ``_ . -``, not starting
    with a digit)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for g in groups:
        want = renamed.get(g, g)
        base = want if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", want) else (
            "g_" + re.sub(r"[^A-Za-z0-9_.\-]", "_", g))
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        out[g] = name
        if name != want:
            notes.append(f"group '{g}' is population '{name}'")
    return out


def read_sanafe_network(path: Union[str, Path], *, dt_s: float = 1e-3) -> SanafeNetwork:
    """Read a SANA-FE 2.x network file (see the module doc for the forms and the translation).

    Parameters
    ----------
    path : str or Path
        The YAML file (``network:`` and, optionally, ``mappings:``).
    dt_s : float
        Time step in seconds that SANA-FE's per-step ``leak_decay`` and ``bias`` are read at.

    Returns
    -------
    SanafeNetwork
        The network, each neuron's SANA-FE core (tile, slot; ``-1`` where unmapped) and notes on
        what did not translate exactly.

    Raises
    ------
    SanafeFileError
        An unreadable file, a missing or malformed section, a neuron, group or core that does
        not exist, sizes that do not match (naming the file, the key path and its line, what was
        found and what was expected).
    """
    p = Path(path)
    src = str(path)
    if not (isinstance(dt_s, (int, float)) and np.isfinite(dt_s) and dt_s > 0):
        raise SanafeFileError(src, "(dt_s)", "time step must be positive", got=dt_s, expected="seconds > 0")
    text = _read_text(p)
    renamed = {m.group(1): m.group(2) for m in map(_GROUP_NOTE.match, text.splitlines()[:10_000]) if m}
    # ``core: 1.10`` is tile 1, core 10 (SANA-FE reads text), not the number 1.1: keep it as text,
    # and so a mapping key ``0.10`` (group 0, neuron 10)
    text = _NUMERIC_KEY.sub(r'\1"\2"\3', _CORE_VALUE.sub(r'\1"\2"', text))
    data, ctx = load_yaml(p, error=SanafeFileError, text=text, fast=True)
    if not isinstance(data, dict) or not isinstance(data.get("network"), dict):
        raise ctx.error("network", "missing", got=type(data).__name__, expected="a top-level 'network:' map")
    net_doc = data["network"]
    groups_doc = net_doc.get("groups")
    if not isinstance(groups_doc, list) or not groups_doc:
        raise ctx.error("network.groups", "must be a non-empty list of groups", got=repr(groups_doc)[:60],
                        expected="[{name, attributes, neurons}, ...]")
    notes: list[str] = []
    pops: dict[str, Population] = {}
    for i, g in enumerate(groups_doc):
        gname, pop = _group(ctx, g, f"network.groups[{i}]", float(dt_s), notes)
        if gname in pops:
            raise ctx.error(f"network.groups[{i}].name", "group defined twice", got=gname, expected="unique names")
        pops[gname] = pop
    names = _population_names(list(pops), renamed, notes)
    name = net_doc.get("name")
    net = Network(name=str(name).strip() or "sanafe" if name is not None else "sanafe")
    for g, pop in pops.items():
        net.add(Population(names[g], pop.size, pop.model))

    syn: dict[tuple[str, str], list] = {}
    hyper: list[tuple[str, str, str, Any, Any]] = []
    skipped: set[str] = set()
    edges_doc = net_doc.get("edges")
    if edges_doc is None:
        edges_doc = []
    if not isinstance(edges_doc, list):
        raise ctx.error("network.edges", "must be a list of edges", got=type(edges_doc).__name__,
                        expected="[{'a.0 -> b.1': {weight: w}}, ...]")
    for i, entry in enumerate(edges_doc):
        k = f"network.edges[{i}]"
        if not isinstance(entry, dict):
            raise ctx.error(k, "an edge must be 'source -> target: attributes'", got=repr(entry)[:60],
                            expected="a one-key map")
        for desc, raw in entry.items():
            m = _EDGE.match(str(desc))
            if m is None:
                raise ctx.error(k, "edge must read 'group.i -> group.j' or 'group -> group'", got=repr(desc),
                                expected="e.g. 'a.0 -> b.3' (synapse) or 'a -> b' (hyperedge)")
            a, i_a, b, i_b = m.groups()
            for grp in (a, b):
                if grp not in pops:
                    raise ctx.error(k, "unknown group", got=grp, expected=f"one of {sorted(pops)}")
            if (i_a is None) != (i_b is None):
                raise ctx.error(k, "give a neuron on both sides or on neither", got=repr(desc),
                                expected="'a.i -> b.j' or 'a -> b'")
            at = _attrs(ctx, raw, k)
            if i_a is None:
                kind, w, mask = _hyper(ctx, at, k, pops[a].size, pops[b].size, notes, f"{a} -> {b}")
                if kind == "sparse":
                    syn.setdefault((a, b), []).extend(zip(w[0].tolist(), w[1].tolist(), w[2].tolist()))
                else:
                    hyper.append((a, b, kind, w, mask))
                continue
            if ".." in i_a or ".." in i_b or not i_a.isdigit() or not i_b.isdigit():
                raise ctx.error(k, "a synapse connects one neuron to one neuron", got=repr(desc),
                                expected="'a.i -> b.j' (SANA-FE 2.x has no ranges in edges; use a hyperedge)")
            ia, ib = int(i_a), int(i_b)
            if ia >= pops[a].size or ib >= pops[b].size:
                raise ctx.error(k, "neuron id beyond its group", got=repr(desc),
                                expected=f"{a}.0 .. {a}.{pops[a].size - 1} -> {b}.0 .. {b}.{pops[b].size - 1}")
            s = at.pop("synapse", None)
            if isinstance(s, dict):
                at.update(s)
            w = at.pop("weight", at.pop("w", 0.0))
            skipped.update(str(x) for x in at if x not in ("dendrite",))
            if "dendrite" in at:
                skipped.add("dendrite")
            syn.setdefault((a, b), []).append((ia, ib, _number(ctx, w, f"{k}.weight")))
    if skipped:
        notes.append(f"edge attributes not translated: {', '.join(sorted(skipped))}")
    used: set[str] = set()

    def cname(a: str, b: str) -> str:
        base = f"{names[a]}->{names[b]}"
        c, j = base, 2
        while c in used:
            c, j = f"{base}#{j}", j + 1
        used.add(c)
        return c

    for (a, b), triples in syn.items():
        arr = np.asarray(triples, dtype=float).reshape(-1, 3)
        pre, post = arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
        label = f"{a} -> {b}"
        got = _synapse_matrix(pre, post, arr[:, 2], pops[a].size, pops[b].size, label, notes)
        if got is None:
            raise ctx.error("network.edges", f"a sparse hyperedge '{label}' names a neuron beyond its group",
                            got=f"source <= {int(pre.max())}, target <= {int(post.max())}",
                            expected=f"source < {pops[a].size}, target < {pops[b].size}")
        net.add(Connection(names[a], names[b], got[0], synapses=got[1], name=cname(a, b)))
    for a, b, kind, w, mask in hyper:
        net.add(Connection(names[a], names[b], w, synapses=mask, name=cname(a, b)))

    tile = {names[g]: np.full(pop.size, -1, dtype=np.int64) for g, pop in pops.items()}
    slot = {names[g]: np.full(pop.size, -1, dtype=np.int64) for g, pop in pops.items()}
    maps = data.get("mappings")
    if maps is not None and not isinstance(maps, list):
        raise ctx.error("mappings", "must be a list", got=type(maps).__name__, expected="[{'g.0..9': {core: T.C}}]")
    hw_names = False
    for i, entry in enumerate(maps or []):
        k = f"mappings[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ctx.error(k, "a mapping must be one 'group[.i|.a..b]: {core: T.C}' entry", got=repr(entry)[:60],
                            expected="a one-key map")
        (sel, raw), = entry.items()
        g, _, ids = str(sel).partition(".")
        if g not in pops:
            raise ctx.error(k, "unknown group", got=g, expected=f"one of {sorted(pops)}")
        lo, hi = _ids(ctx, ids, k) if ids else (0, pops[g].size - 1)
        if hi >= pops[g].size:
            raise ctx.error(k, "neuron id beyond its group", got=str(sel), expected=f"ids 0 .. {pops[g].size - 1}")
        at = _attrs(ctx, raw, k)
        hw_names |= bool(set(at) & {"soma", "synapse", "dendrite"})
        core = at.get("core")
        m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", str(core)) if core is not None else None
        if m is None:
            raise ctx.error(f"{k}.core", "core must read 'tile.core'", got=repr(core), expected="e.g. 3.1")
        tile[names[g]][lo:hi + 1] = int(m.group(1))
        slot[names[g]][lo:hi + 1] = int(m.group(2))
    if hw_names:
        notes.append("mappings: soma / synapse / dendrite unit names not translated (one unit of each per core)")
    try:
        net.validate()
    except Exception as exc:  # a NetworkError the checks above did not foresee: still name the file
        raise SanafeFileError(src, "network", f"not a valid network: {exc}") from None
    return SanafeNetwork(network=net, path=src, dt_s=float(dt_s), groups=names, tile=tile, slot=slot,
                         notes=tuple(notes))
