"""The chip YAML schema (version 1): every key, its type, range, unit and meaning.

Written with the project's one schema mechanism (:mod:`neurosim.validation.schema`):
:mod:`mapper.chipload` validates files against :data:`FIELDS`; :func:`schema_markdown` renders
it as the reference tables of ``docs/chips.md`` and :func:`chip_json_schema` as the JSON Schema
``chips/chip.schema.json`` (editors complete and check chip files with it), so documentation,
editor support and validation cannot drift apart.

Every number has an upper bound far beyond any real chip (``MAX_*`` below): what the mapper can
represent in its per-core and per-tile arrays and in finite reports, so a typo or a hostile file
is refused at load time rather than deep inside a mapping.

Conventions: energies are joules per event, times seconds per event, power watts, memory bits.
``null`` in ``energy:``, ``timing:`` or ``board:`` means *not published*: the model uses 0 and
lists the key in ``EnergyModel.unpublished`` / ``TimingModel.unpublished`` so reports can say so.
"""
from __future__ import annotations

from typing import Any, Optional

from neurosim.validation.schema import Field, json_schema, section
from neurosim.validation.schema import schema_markdown as _markdown

__all__ = ["Key", "SCHEMA", "FIELDS", "SCHEMA_VERSION", "schema_markdown", "chip_json_schema", "MAX_BOARD_TILES",
           "MAX_BOARD_CORES"]

#: one entry of the chip schema (the shared :class:`neurosim.validation.schema.Field`)
Key = Field

SCHEMA_VERSION = 1

# Bounds of what the mapper can represent (arrays per core and per tile, integer bit counts,
# finite reports); far beyond any real chip, they only refuse typos and hostile files.
#: tiles of one chip along an axis, and chips of a board along an axis
MAX_GRID = 1024
#: cores sharing one router
MAX_CORES_PER_TILE = 1024
#: tiles and cores of a whole board (chip_grid x tile_grid x cores_per_tile)
MAX_BOARD_TILES = 2**20
MAX_BOARD_CORES = 2**22
#: neurons, axons, destination cores and weight levels of one core
MAX_COUNT = 2**31 - 1
#: synapse memory of one core, and plastic synapses of one core
MAX_MEM_BITS = 2**48
#: a memory word or a synapse-list header
MAX_WORD_BITS = 2**20
#: energy of one event, time of one event or barrier, static power of one chip
MAX_EVENT_ENERGY_J = 1.0
MAX_EVENT_TIME_S = 1.0
MAX_POWER_W = 1e6


def _i(doc: str, *, minimum: int = 0, maximum: Optional[int] = None, unit: str = "", required: bool = True,
       nullable: bool = False, default: Any = None) -> Key:
    return Key("int", doc, unit, required, nullable, minimum, maximum, default=default)


def _e(doc: str) -> Key:
    return Key("float", doc, "J", nullable=True, maximum=MAX_EVENT_ENERGY_J)


def _t(doc: str) -> Key:
    return Key("float", doc, "s", nullable=True, maximum=MAX_EVENT_TIME_S)


SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "schema_version": _i("file format version; must be 1", minimum=1),
        "name": Key("str", "short name; must equal the file name without .yaml"),
        "description": Key("str", "one line shown by `neurosim chips list`"),
        "cost_source": Key("str", "citation of the energy/latency table, copied into every report"),
        "cost_status": Key("choice", "published (a paper's table), calibrated (fitted to silicon), "
                           "placeholder (proxy values; results are proxies), test (made up)",
                           choices=("published", "calibrated", "placeholder", "test")),
        "sources": Key("strmap", "source key -> full citation, for the per-number comments",
                       required=False, nullable=True),
        "core": Key("mapping", "per-core limits"),
        "noc": Key("mapping", "mesh geometry of one chip"),
        "board": Key("mapping", "chips per board and chip-crossing costs", required=False),
        "energy": Key("mapping", "energy per event"),
        "timing": Key("mapping", "time per event and barrier tables"),
        "meta": Key("mapping", "free-form facts (not used by the mapper)", required=False, nullable=True),
    },
    "core": {
        "max_compartments": _i("neurons (compartments) per core", minimum=1, maximum=MAX_COUNT),
        "max_in_axons": _i("distinct input axons per core (one per source neuron with a synapse here)", minimum=1,
                           maximum=MAX_COUNT),
        "max_out_axons": _i("output axons per core: sum over its neurons of distinct destination cores", minimum=1,
                            maximum=MAX_COUNT),
        "synapse_mem_bits": _i("synapse memory per core", minimum=1, maximum=MAX_MEM_BITS, unit="bits"),
        "synapse_word_bits": _i("memory word; each input axon's synapse list is rounded up to whole words",
                                minimum=1, maximum=MAX_WORD_BITS, unit="bits"),
        "weight_bits": _i("weight precision including sign (quantisation: integers in +-(2^(b-1)-1))",
                          minimum=1, maximum=32, unit="bits"),
        "synapse_index_bits": _i("target-compartment index per synapse (0 for a dense crossbar)", maximum=64,
                                 unit="bits"),
        "synapse_row_overhead_bits": _i("fixed header per input-axon synapse list", maximum=MAX_WORD_BITS, unit="bits"),
        "max_plastic_synapses": _i("plastic synapses per core; null = limited by memory only", maximum=MAX_MEM_BITS,
                                   required=False, nullable=True),
        "plastic_synapse_extra_bits": _i("extra memory per plastic synapse (tag/trace fields)", maximum=4096,
                                         unit="bits", required=False, default=0),
        "weight_storage_bits": _i("memory per stored weight when it differs from weight_bits; null = weight_bits",
                                  minimum=1, maximum=64, unit="bits", required=False, nullable=True),
        "max_out_axons_per_neuron": _i("destination cores one neuron may target; null = no limit",
                                       minimum=1, maximum=MAX_COUNT, required=False, nullable=True),
        "weight_levels_per_neuron": _i("distinct non-zero weight values one neuron can hold over all its "
                                       "inputs (TrueNorth: 4 axon types); null = any weight per synapse",
                                       minimum=1, maximum=MAX_COUNT, required=False, nullable=True),
        "spike_payload": Key("choice", "what a spike message carries: 'binary' (a spike, no value) or 'graded' "
                             "(a value payload, as Loihi 2); graded-output networks on a binary chip get a note",
                             required=False, choices=("binary", "graded"), default="binary"),
    },
    "noc": {
        "tile_grid": Key("grid", "tiles per chip: [x (east-west), y (north-south)]", maximum=MAX_GRID),
        "cores_per_tile": _i("cores sharing one router", minimum=1, maximum=MAX_CORES_PER_TILE),
        "routing": Key("choice", "message routing: dimension order, x first", required=False,
                       choices=("xy",), default="xy"),
        "packets": Key("choice", "how a spike reaches several destination cores: 'unicast' (one packet per "
                       "destination core, each routed on its own XY path, as Loihi's out-axons) or 'multicast' "
                       "(one tree, shared links counted once)", required=False,
                       choices=("unicast", "multicast"), default="multicast"),
    },
    "board": {
        "chip_grid": Key("grid", "chips per board [cx, cy]; default [1, 1]", required=False, default=(1, 1),
                         maximum=MAX_GRID),
        "hop_chip_energy_j": Key("float", "extra energy per chip-boundary crossing; null = unpublished (0)",
                                 "J", required=False, nullable=True, maximum=MAX_EVENT_ENERGY_J),
        "hop_chip_latency_s": Key("float", "extra latency per chip-boundary crossing; null = unpublished (0)",
                                  "s", required=False, nullable=True, maximum=MAX_EVENT_TIME_S),
        "barrier_by_chips_s": Key("table", "barrier time by chips in use (used when > 1 chip is in use)",
                                  "s", required=False, nullable=True, maximum=MAX_EVENT_TIME_S),
    },
    "energy": {
        "syn_op": _e("one synapse receiving one spike"),
        "neuron_update_active": _e("one compartment updated for one step, counted as active"),
        "neuron_update_inactive": _e("one compartment updated for one step, counted as inactive"),
        "spike_out": _e("one neuron firing"),
        "packet": _e("one spike message sent to one destination core"),
        "spike_within_tile": _e("a message delivered without leaving its tile"),
        "hop_ew": _e("one east-west mesh link traversal"),
        "hop_ns": _e("one north-south mesh link traversal"),
        "learn_update": _e("one plastic synapse updated"),
        "barrier": _e("time-step synchronisation, per step"),
        "static_power_w_per_chip": Key("float", "static (leakage) power per chip, charged over wall time",
                                       "W", nullable=True, maximum=MAX_POWER_W),
        "active_policy": Key("choice", "all_mapped: active cost for every mapped compartment every step; "
                             "spiking: active for compartments that spike, inactive for the other mapped ones",
                             choices=("all_mapped", "spiking")),
    },
    "timing": {
        "syn_op": _t("one synapse receiving one spike"),
        "neuron_update_active": _t("one active compartment update"),
        "neuron_update_inactive": _t("one inactive compartment update"),
        "spike_out": _t("one neuron firing"),
        "packet_out": _t("sending one message (per destination core)"),
        "packet_in": _t("receiving one message"),
        "spike_within_tile": _t("a message delivered without leaving its tile"),
        "hop_ew": _t("one east-west link traversal"),
        "hop_ns": _t("one north-south link traversal"),
        "learn_update": _t("one plastic synapse updated"),
        "barrier_by_tiles": Key("table", "barrier time by tiles in use; null = unpublished", "s", nullable=True,
                                maximum=MAX_EVENT_TIME_S),
        "barrier_interp": Key("choice", "table lookup: linear interpolation, or step (largest key <= n, as "
                              "SANA-FE); both clamp outside the table", required=False,
                              choices=("linear", "step"), default="linear"),
        "min_step_s": Key("float", "shortest possible step (fixed tick); 0 = unthrottled", "s",
                          required=False, default=0.0, maximum=MAX_EVENT_TIME_S),
        "tile_bandwidth_msgs_per_s": Key("float", "message bandwidth per tile (floor on network time); "
                                         "null = no floor", "messages/s", required=False, nullable=True,
                                         minimum=1.0, maximum=1e18),
    },
}


#: the whole file as one tree: top-level keys with the sections nested (what is validated)
FIELDS: dict[str, Field] = {k: (section(f.doc, SCHEMA[k], required=f.required) if k in SCHEMA else f)
                            for k, f in SCHEMA[""].items()}


def schema_markdown() -> str:
    """The schema as Markdown tables (one per section), for the documentation."""
    return _markdown(FIELDS)


def chip_json_schema() -> dict[str, Any]:
    """The schema as a JSON Schema document (draft 2020-12), for editors."""
    return json_schema(FIELDS, title="neurosim chip specification (schema_version 1)",
                       description="A many-core neuromorphic chip for the neurosim mapper. Units: energies in "
                                   "joules per event, times in seconds per event, power in watts, memory in bits; "
                                   "null means not published (counted as 0 and listed in reports).")
