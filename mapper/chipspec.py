"""Chip specifications: the data every mapping stage reads (no hardware constant lives in code).

This module holds the frozen dataclasses (the contract between the YAML files and the mapper
stages). Loading and validating YAML is in :mod:`mapper.chipload`.

Geometry
--------
A board is a grid of chips ``chip_grid = (cx, cy)``; a chip is a 2-D mesh of tiles
``tile_grid = (tx, ty)`` (x = east-west, y = north-south); a tile holds ``cores_per_tile``
cores. Core ``k`` of a board is addressed as ``(chip, x, y, c)`` with global tile coordinates
``X = chip_x * tx + x``, ``Y = chip_y * ty + y`` so that routing across chips is XY routing on
one large mesh in which links that cross a chip boundary cost ``hop_chip`` extra.

Units: energies in joules per event, times in seconds per event, power in watts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

__all__ = ["CoreLimits", "NocSpec", "EnergyModel", "TimingModel", "ChipSpec", "CoreAddress"]


@dataclass(frozen=True)
class CoreLimits:
    """Per-core resource limits.

    Attributes
    ----------
    max_compartments : int
        Neurons (compartments) per core.
    max_in_axons : int
        Distinct input axons per core (one per (source neuron, this core) pair with >= 1 synapse).
    max_out_axons : int
        Output axons per core: sum over its neurons of the number of distinct destination cores.
    synapse_mem_bits : int
        Synapse memory per core, bits.
    synapse_word_bits : int
        Memory word; each input axon's synapse list is rounded up to whole words.
    weight_bits : int
        Weight precision (bits, including sign) the chip stores.
    synapse_index_bits : int
        Bits per synapse for the target-compartment index (sparse format).
    synapse_row_overhead_bits : int
        Fixed bits per input-axon synapse list (header: count and format fields).
    max_plastic_synapses : int or None
        Plastic synapses per core (None: limited by memory only).
    plastic_synapse_extra_bits : int
        Extra bits per plastic synapse (e.g. trace/tag fields).
    weight_storage_bits : int or None
        Bits of synapse memory each stored weight occupies, when it differs from the weight
        precision (a TrueNorth crossbar cell stores 1 bit that selects one of four per-neuron
        9-bit weights). ``None``: :attr:`weight_bits`. See :attr:`stored_weight_bits`.
    max_out_axons_per_neuron : int or None
        Destination cores one neuron may target (TrueNorth: 1). ``None``: no per-neuron limit.
        Beyond it the mapper relays a neuron's spikes through splitter neurons
        (:mod:`mapper.partition.splitters`).
    weight_levels_per_neuron : int or None
        Distinct non-zero weight values one neuron can hold over all its inputs (TrueNorth: 4,
        one per axon type; a crossbar bit selects one of them). ``None``: any weight per synapse.
        :func:`mapper.quantize.quantize_network` quantises under this constraint.
    spike_payload : str
        ``"binary"`` (a spike carries no value) or ``"graded"`` (it carries a value, as Loihi 2's
        graded spikes). See :attr:`graded_spikes`.
    """

    max_compartments: int
    max_in_axons: int
    max_out_axons: int
    synapse_mem_bits: int
    synapse_word_bits: int = 64
    weight_bits: int = 8
    synapse_index_bits: int = 10
    synapse_row_overhead_bits: int = 10
    max_plastic_synapses: Optional[int] = None
    plastic_synapse_extra_bits: int = 0
    weight_storage_bits: Optional[int] = None
    max_out_axons_per_neuron: Optional[int] = None
    weight_levels_per_neuron: Optional[int] = None
    spike_payload: str = "binary"

    @property
    def graded_spikes(self) -> bool:
        """True when a spike message can carry a graded value (``spike_payload == "graded"``)."""
        return self.spike_payload == "graded"

    @property
    def stored_weight_bits(self) -> int:
        """Synapse-memory bits per stored weight: ``weight_storage_bits`` or ``weight_bits``."""
        return self.weight_bits if self.weight_storage_bits is None else self.weight_storage_bits


@dataclass(frozen=True)
class NocSpec:
    """Mesh network-on-chip and multi-chip board geometry.

    ``multicast``: ``True`` charges a spike's XY multicast tree (the union of the XY paths to its
    destination tiles, shared links once); ``False`` routes every packet (one per destination
    core) on its own XY path, as Loihi 1 and SANA-FE do (see :mod:`mapper.route`).
    """

    tile_grid: tuple[int, int]
    cores_per_tile: int
    chip_grid: tuple[int, int] = (1, 1)
    routing: str = "xy"
    multicast: bool = True


@dataclass(frozen=True)
class EnergyModel:
    """Energy per event, joules. ``None`` in the YAML (unpublished) is stored as 0.0 and listed
    in :attr:`unpublished`.

    Events: ``syn_op`` (one synapse receiving one spike), ``learn_update`` (one plastic synapse
    updated), ``neuron_update_active`` / ``neuron_update_inactive`` (one compartment updated for
    one step; which compartments count as active is :attr:`active_policy`: ``"all_mapped"``
    charges the active cost to every mapped compartment every step, ``"spiking"`` charges it to
    compartments that spike that step and the inactive cost to the other mapped ones),
    ``spike_out`` (one neuron firing), ``packet`` (one spike message sent to one destination
    core), ``spike_within_tile`` (a message delivered without leaving its tile), ``hop_ew`` /
    ``hop_ns`` (one mesh link traversal), ``hop_chip`` (one chip-boundary crossing; YAML
    ``board.hop_chip_energy_j``), ``barrier`` (per step), and static power
    ``static_power_w_per_chip`` (W, charged over the run's wall time).
    """

    syn_op: float
    neuron_update_active: float
    neuron_update_inactive: float = 0.0
    spike_out: float = 0.0
    packet: float = 0.0
    spike_within_tile: float = 0.0
    hop_ew: float = 0.0
    hop_ns: float = 0.0
    hop_chip: float = 0.0
    learn_update: float = 0.0
    barrier: float = 0.0
    static_power_w_per_chip: float = 0.0
    active_policy: str = "all_mapped"
    unpublished: tuple[str, ...] = ()

    @property
    def unpublished_keys(self) -> tuple[str, ...]:
        """:attr:`unpublished` as the YAML key paths a user can grep for (``energy.packet``,
        ``board.hop_chip_energy_j``)."""
        return tuple(_yaml_key("energy", k) for k in self.unpublished)


@dataclass(frozen=True)
class TimingModel:
    """Time per event, seconds, for the per-step latency model

    ``T_step = max_c T_core(c) + T_noc + T_barrier(tiles in use)`` with
    ``T_core = A*neuron_update_active + I*neuron_update_inactive + S*syn_op + L*learn_update
    + P_out*packet_out + P_in*packet_in`` and ``T_noc`` the longest routed message path.
    ``barrier_by_tiles`` is a table of (tiles in use, seconds), ``barrier_multichip`` (YAML
    ``board.barrier_by_chips_s``) of (chips in use, seconds); ``hop_chip`` is YAML
    ``board.hop_chip_latency_s``. :meth:`barrier_s` looks the tables up (``barrier_interp``:
    ``"linear"`` interpolates between entries, ``"step"`` takes the entry of the largest key <= n as SANA-FE
    does; both clamp outside the table). ``min_step_s`` is the shortest possible step (a fixed
    tick such as TrueNorth's 1 ms; 0 = unthrottled); ``tile_bandwidth_msgs_per_s`` is the
    cross-sectional message bandwidth per tile for a bandwidth floor on ``T_noc`` (``None``:
    no floor).
    """

    syn_op: float
    neuron_update_active: float
    neuron_update_inactive: float = 0.0
    spike_out: float = 0.0
    packet_out: float = 0.0
    packet_in: float = 0.0
    spike_within_tile: float = 0.0
    hop_ew: float = 0.0
    hop_ns: float = 0.0
    hop_chip: float = 0.0
    learn_update: float = 0.0
    barrier_by_tiles: tuple[tuple[int, float], ...] = ()
    barrier_multichip: tuple[tuple[int, float], ...] = ()
    unpublished: tuple[str, ...] = ()
    barrier_interp: str = "linear"
    min_step_s: float = 0.0
    tile_bandwidth_msgs_per_s: Optional[float] = None

    @property
    def unpublished_keys(self) -> tuple[str, ...]:
        """:attr:`unpublished` as the YAML key paths a user can grep for (``timing.packet_out``,
        ``board.hop_chip_latency_s``, ``board.barrier_by_chips_s``)."""
        return tuple(_yaml_key("timing", k) for k in self.unpublished)

    def barrier_s(self, tiles_in_use: int, chips_in_use: int = 1) -> float:
        """Barrier (time-step synchronisation) time in seconds.

        Uses ``barrier_multichip`` by chips in use when more than one chip is in use and that
        table is given, else ``barrier_by_tiles`` by tiles in use; 0.0 if the table is empty.
        """
        if chips_in_use > 1 and self.barrier_multichip:
            return _lookup(self.barrier_multichip, chips_in_use, self.barrier_interp)
        return _lookup(self.barrier_by_tiles, tiles_in_use, self.barrier_interp)


# model field -> YAML key path, for the fields that do not live under the section of their model
_YAML_KEYS = {("energy", "hop_chip"): "board.hop_chip_energy_j",
              ("timing", "hop_chip"): "board.hop_chip_latency_s",
              ("timing", "barrier_multichip"): "board.barrier_by_chips_s"}


def _yaml_key(section: str, name: str) -> str:
    """The YAML key path of cost-model field ``name`` of ``section`` (``"energy"`` or ``"timing"``)."""
    return _YAML_KEYS.get((section, name), f"{section}.{name}")


def _lookup(table: tuple[tuple[int, float], ...], n: int, interp: str) -> float:
    """Table lookup at ``n``: linear interpolation or step (largest key <= n); clamps outside."""
    if not table:
        return 0.0
    keys = [k for k, _ in table]
    vals = [v for _, v in table]
    if n <= keys[0]:
        return float(vals[0])
    if n >= keys[-1]:
        return float(vals[-1])
    i = max(j for j, k in enumerate(keys) if k <= n)
    if interp == "step" or keys[i] == n:
        return float(vals[i])
    k0, k1, v0, v1 = keys[i], keys[i + 1], vals[i], vals[i + 1]
    return float(v0 + (v1 - v0) * (n - k0) / (k1 - k0))


@dataclass(frozen=True)
class CoreAddress:
    """Where a core sits: board-global core index, chip index and chip-local tile (x, y), and
    the core's slot within its tile."""

    index: int
    chip: int
    x: int
    y: int
    slot: int


@dataclass(frozen=True)
class ChipSpec:
    """A chip (or board of chips) as the mapper sees it.

    Attributes
    ----------
    name : str
        Short name (``loihi1``).
    source : str
        File it was loaded from (or ``"<dict>"``).
    cost_source : str
        Citation of the energy/latency table (goes into every report).
    description : str
    cost_status : str
        How trustworthy the cost table is: ``"published"`` (a paper's table), ``"calibrated"``
        (fitted to silicon measurements), ``"placeholder"`` (proxy values: every figure derived
        from it is a proxy and reports must say so) or ``"test"`` (made-up round numbers).
    meta : dict
        Free-form facts from the YAML ``meta:`` section plus its ``sources:`` table.
    core, noc, energy, timing
        The limits, geometry and cost tables.
    """

    name: str
    core: CoreLimits
    noc: NocSpec
    energy: EnergyModel
    timing: TimingModel
    source: str = "<dict>"
    cost_source: str = ""
    description: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)
    cost_status: str = ""

    @property
    def cores_per_chip(self) -> int:
        tx, ty = self.noc.tile_grid
        return tx * ty * self.noc.cores_per_tile

    @property
    def n_chips(self) -> int:
        cx, cy = self.noc.chip_grid
        return cx * cy

    @property
    def n_cores(self) -> int:
        """Cores on the whole board."""
        return self.cores_per_chip * self.n_chips

    def address(self, core: int) -> CoreAddress:
        """Address of board-global core index ``core`` (cores numbered chip by chip, tile by tile
        in row-major (y, x) order, slot fastest)."""
        if not 0 <= core < self.n_cores:
            raise IndexError(f"core {core} outside 0..{self.n_cores - 1}")
        chip, local = divmod(core, self.cores_per_chip)
        tile, slot = divmod(local, self.noc.cores_per_tile)
        tx = self.noc.tile_grid[0]
        y, x = divmod(tile, tx)
        return CoreAddress(index=core, chip=chip, x=x, y=y, slot=slot)

    def global_tile(self, core: int) -> tuple[int, int]:
        """Board-global tile coordinates ``(X, Y)`` of a core (for XY routing across chips)."""
        a = self.address(core)
        cx = self.noc.chip_grid[0]
        chip_y, chip_x = divmod(a.chip, cx)
        tx, ty = self.noc.tile_grid
        return chip_x * tx + a.x, chip_y * ty + a.y
