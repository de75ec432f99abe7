"""Chip YAML loading and validation (mapper.chipload, mapper.chipschema, chips/*.yaml)."""
from __future__ import annotations

import copy
import re

import pytest
import yaml

from mapper.chipload import chip_dirs, chip_from_dict, list_chips, load_chip
from mapper.chipschema import SCHEMA, schema_markdown
from mapper.chipspec import ChipSpec
from neurosim.errors import ChipSpecError
from tests.helpers import ROOT

CHIPS_DIR = ROOT / "chips"
SHIPPED = sorted(p.stem for p in CHIPS_DIR.glob("*.yaml"))
TINY = yaml.safe_load((CHIPS_DIR / "tiny.yaml").read_text())


def test_shipped_set():
    assert {"loihi1", "loihi1-calibrated", "loihi2", "truenorth", "tiny"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_chip_loads(name):
    chip = load_chip(name)
    assert isinstance(chip, ChipSpec)
    assert chip.name == name
    assert chip.cost_source and chip.description
    assert chip.cost_status in ("published", "calibrated", "placeholder", "test")
    assert chip.n_cores == chip.cores_per_chip * chip.n_chips > 0
    # the same file loaded by path gives the same spec
    assert load_chip(CHIPS_DIR / f"{name}.yaml") == chip


@pytest.mark.parametrize("name", SHIPPED)
def test_every_number_has_a_source_comment(name):
    """Each leaf value line in core/noc/board/energy/timing carries a trailing comment."""
    section = None
    for lineno, line in enumerate((CHIPS_DIR / f"{name}.yaml").read_text().splitlines(), 1):
        if re.match(r"^[a-z_]+:", line):
            section = line.split(":")[0]
            continue
        if section in ("core", "noc", "board", "energy", "timing") and re.match(r"^  [a-z_]+: \S", line):
            assert "#" in line, f"{name}.yaml line {lineno} has no source comment: {line!r}"


def test_tiny_values_exact():
    c = load_chip("tiny")
    assert c.noc.tile_grid == (2, 2) and c.noc.cores_per_tile == 1 and c.noc.chip_grid == (1, 1)
    assert c.n_cores == 4 and c.noc.routing == "xy"
    assert (c.core.max_compartments, c.core.max_in_axons, c.core.max_out_axons) == (4, 8, 8)
    assert (c.core.synapse_mem_bits, c.core.synapse_word_bits, c.core.weight_bits) == (256, 16, 4)
    assert (c.core.synapse_index_bits, c.core.synapse_row_overhead_bits) == (2, 4)
    assert c.core.max_plastic_synapses == 16 and c.core.plastic_synapse_extra_bits == 2
    assert c.core.stored_weight_bits == 4 and c.core.max_out_axons_per_neuron is None
    e, t = c.energy, c.timing
    assert (e.syn_op, e.neuron_update_active, e.neuron_update_inactive) == (1e-12, 10e-12, 2e-12)
    assert (e.spike_out, e.packet, e.spike_within_tile) == (5e-12, 20e-12, 3e-12)
    assert (e.hop_ew, e.hop_ns, e.hop_chip, e.learn_update, e.barrier) == (100e-12, 200e-12, 1e-9, 50e-12, 4e-12)
    assert e.static_power_w_per_chip == 1e-3 and e.active_policy == "all_mapped" and e.unpublished == ()
    assert (t.syn_op, t.neuron_update_active, t.neuron_update_inactive) == (1e-9, 10e-9, 2e-9)
    assert (t.spike_out, t.packet_out, t.packet_in, t.spike_within_tile) == (5e-9, 20e-9, 30e-9, 3e-9)
    assert (t.hop_ew, t.hop_ns, t.hop_chip, t.learn_update) == (100e-9, 200e-9, 1e-6, 50e-9)
    assert t.barrier_by_tiles == ((1, 1e-6), (4, 4e-6)) and t.barrier_multichip == ((2, 10e-6), (4, 20e-6))
    assert t.min_step_s == 0.0 and t.tile_bandwidth_msgs_per_s == 1e9 and t.unpublished == ()
    # barrier: linear between (1, 1 us) and (4, 4 us); clamped outside; chips table when > 1 chip
    assert t.barrier_s(2) == pytest.approx(2e-6) and t.barrier_s(3) == pytest.approx(3e-6)
    assert t.barrier_s(0) == 1e-6 and t.barrier_s(10) == 4e-6
    assert t.barrier_s(4, chips_in_use=2) == 10e-6 and t.barrier_s(4, chips_in_use=3) == pytest.approx(15e-6)


def test_chip_grid_override_builds_a_board():
    c = load_chip("tiny", chip_grid=(2, 1))
    assert c.n_chips == 2 and c.n_cores == 8
    assert c.global_tile(4) == (2, 0) and c.address(7).chip == 1
    with pytest.raises(ChipSpecError, match="board.chip_grid"):
        load_chip("tiny", chip_grid=(0, 1))


def test_published_values_and_unpublished_lists():
    l1 = load_chip("loihi1")
    assert (l1.energy.syn_op, l1.energy.neuron_update_active, l1.energy.hop_ns) == (23.6e-12, 81e-12, 4.0e-12)
    assert l1.n_cores == 128 and l1.core.max_compartments == 1024 and l1.core.synapse_mem_bits == 2 ** 20
    assert {"spike_out", "packet", "barrier", "hop_chip"} <= set(l1.energy.unpublished)
    assert l1.energy.hop_chip == 0.0 and l1.energy.packet == 0.0
    assert l1.timing.barrier_s(32) == pytest.approx(465e-9)
    cal = load_chip("loihi1-calibrated")
    assert cal.energy.neuron_update_active == pytest.approx(51.2e-12 + 21.6e-12)
    assert (cal.energy.syn_op, cal.energy.spike_out, cal.energy.packet) == (35.5e-12, 69.3e-12, 111e-12)
    assert (cal.energy.hop_ew, cal.energy.hop_ns) == (3.0e-12, 4.2e-12)
    # SANA-FE's step table: 3 tiles -> the 2-tile entry, 30 tiles -> the 29-tile entry
    assert cal.timing.barrier_s(3) == 1.0e-6 and cal.timing.barrier_s(30) == 1.8e-6
    assert load_chip("loihi2").cost_status == "placeholder"
    tn = load_chip("truenorth")
    assert tn.n_cores == 4096 and tn.core.stored_weight_bits == 1 and tn.core.max_out_axons_per_neuron == 1
    assert tn.timing.min_step_s == 1e-3


def test_list_chips_and_dirs():
    listed = list_chips()
    names = [n for n, _, _ in listed]
    assert names == sorted(names) and set(SHIPPED) <= set(names)
    for name, path, desc in listed:
        assert path.is_file() and path.stem == name and isinstance(desc, str)
    assert CHIPS_DIR.resolve() in [d.resolve() for d in chip_dirs()]


def test_unknown_name_suggests():
    with pytest.raises(ChipSpecError, match=r"did you mean 'loihi1'") as ei:
        load_chip("lohi1")
    assert ei.value.key == "name"


def test_missing_file():
    with pytest.raises(ChipSpecError, match="no such file") as ei:
        load_chip("/nonexistent/dir/chip.yaml")
    assert ei.value.path == "/nonexistent/dir/chip.yaml"


def test_chip_from_dict_roundtrip():
    from_file = load_chip("tiny")
    assert chip_from_dict(copy.deepcopy(TINY), source=from_file.source) == from_file
    assert chip_from_dict(copy.deepcopy(TINY)).source == "<dict>"


# -- bad inputs: each one a ChipSpecError naming the file and the dotted key -------------------
def _mutated(edit):
    d = copy.deepcopy(TINY)
    edit(d)
    return d


def _set(section, key, value):
    def edit(d):
        d[section][key] = value
    return edit


def _del(section, key):
    def edit(d):
        if section:
            del d[section][key]
        else:
            del d[key]
    return edit


BAD = [
    ("unknown key", _set("core", "max_in_axon", 8), "core.max_in_axon", r"did you mean 'core.max_in_axons'"),
    ("unknown top key", lambda d: d.update(enrgy={}), "enrgy", r"did you mean 'energy'"),
    ("string count", _set("core", "max_in_axons", "eight"), "core.max_in_axons", "whole number"),
    ("float count", _set("core", "max_compartments", 4.0), "core.max_compartments", "without a decimal point"),
    ("fractional count", _set("core", "max_compartments", 4.5), "core.max_compartments", "whole number"),
    ("bool count", _set("core", "max_out_axons", True), "core.max_out_axons", "whole number"),
    ("zero count", _set("core", "max_compartments", 0), "core.max_compartments", "out of range"),
    ("negative bits", _set("core", "synapse_index_bits", -1), "core.synapse_index_bits", "negative"),
    ("too many weight bits", _set("core", "weight_bits", 40), "core.weight_bits", "out of range"),
    ("null count", _set("core", "max_in_axons", None), "core.max_in_axons", "null is not allowed"),
    ("missing core key", _del("core", "synapse_mem_bits"), "core.synapse_mem_bits", "missing required key"),
    ("missing energy key", _del("energy", "packet"), "energy.packet", "missing required key"),
    ("missing section", _del("", "timing"), "timing", "missing required key"),
    ("negative energy", _set("energy", "syn_op", -1e-12), "energy.syn_op", "negative"),
    ("text energy", _set("energy", "hop_ew", "lots"), "energy.hop_ew", "must be a number"),
    ("nan energy", _set("energy", "hop_ew", float("nan")), "energy.hop_ew", "finite"),
    ("bad policy", _set("energy", "active_policy", "all-mapped"), "energy.active_policy", "did you mean 'all_mapped'"),
    ("bad grid length", _set("noc", "tile_grid", [2, 2, 2]), "noc.tile_grid", "two whole numbers"),
    ("zero grid", _set("noc", "tile_grid", [2, 0]), "noc.tile_grid[1]", "out of range"),
    ("float grid", _set("noc", "tile_grid", [2, 1.5]), "noc.tile_grid[1]", "whole number"),
    ("bad board grid", _set("board", "chip_grid", "2x2"), "board.chip_grid", "two whole numbers"),
    ("bad routing", _set("noc", "routing", "west-first"), "noc.routing", "unknown value"),
    ("empty table", _set("timing", "barrier_by_tiles", {}), "timing.barrier_by_tiles", "non-empty mapping"),
    ("table key", _set("timing", "barrier_by_tiles", {0: 1e-6}), "timing.barrier_by_tiles.0", "keys must be"),
    ("table value", _set("timing", "barrier_by_tiles", {1: -1e-6}), "timing.barrier_by_tiles.1", "negative"),
    ("section not mapping", lambda d: d.update(core=[1, 2]), "core", "must be a mapping"),
    ("schema version", lambda d: d.update(schema_version=2), "schema_version", "unsupported schema version"),
    ("bad status", lambda d: d.update(cost_status="guess"), "cost_status", "unknown value"),
    ("empty description", lambda d: d.update(description=""), "description", "non-empty string"),
    ("word > memory", _set("core", "synapse_word_bits", 512), "core.synapse_word_bits", "cannot exceed"),
    ("bool source key", lambda d: d.update(sources={True: "x"}), "sources.True", "quote them"),
]


@pytest.mark.parametrize("label,edit,key,match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_file_and_key(tmp_path, label, edit, key, match):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(_mutated(edit), sort_keys=False))
    with pytest.raises(ChipSpecError, match=match) as ei:
        load_chip(path)
    err = ei.value
    assert err.path == str(path) and err.key == key
    assert str(path) in str(err) and key in str(err)
    # the same dict in memory gives the same key, with the given source name
    with pytest.raises(ChipSpecError, match=match) as ei2:
        chip_from_dict(_mutated(edit), source="mem")
    assert ei2.value.key == key and ei2.value.path == "mem"


def test_error_names_line_number(tmp_path):
    text = (CHIPS_DIR / "tiny.yaml").read_text().replace("max_in_axons: 8 ", "max_in_axons: -8")
    lineno = next(i for i, line in enumerate(text.splitlines(), 1) if "max_in_axons" in line)
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ChipSpecError, match=rf"line {lineno}\b.*got -8"):
        load_chip(path)


def test_yaml_syntax_error_has_line(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("schema_version: 1\nname: tiny\ncore: {max_compartments: 4\nnoc: [\n")
    with pytest.raises(ChipSpecError, match=r"YAML syntax error at line \d+, column \d+") as ei:
        load_chip(path)
    assert ei.value.key == "(yaml)" and ei.value.path == str(path)


def test_duplicate_key_rejected(tmp_path):
    text = (CHIPS_DIR / "tiny.yaml").read_text().replace("  max_out_axons: 8", "  max_out_axons: 8\n  max_out_axons: 9")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ChipSpecError, match="duplicate key") as ei:
        load_chip(path)
    assert ei.value.key == "core.max_out_axons"


def test_name_must_match_file(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text((CHIPS_DIR / "tiny.yaml").read_text())
    with pytest.raises(ChipSpecError, match="file name") as ei:
        load_chip(path)
    assert ei.value.key == "name"


def test_top_level_not_mapping(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ChipSpecError, match="must be a mapping"):
        load_chip(path)


def test_yaml11_exponent_without_dot_is_accepted():
    d = copy.deepcopy(TINY)
    d["energy"]["syn_op"] = "1e-12"  # what yaml.safe_load returns for an unquoted 1e-12
    assert chip_from_dict(d).energy.syn_op == 1e-12


def test_null_means_unpublished():
    d = copy.deepcopy(TINY)
    d["energy"]["packet"] = None
    d["timing"]["barrier_by_tiles"] = None
    d["board"] = {"chip_grid": [1, 1]}
    c = chip_from_dict(d)
    assert c.energy.packet == 0.0 and "packet" in c.energy.unpublished and "hop_chip" in c.energy.unpublished
    assert c.timing.barrier_by_tiles == () and c.timing.barrier_s(4) == 0.0
    assert {"barrier_by_tiles", "hop_chip", "barrier_multichip"} <= set(c.timing.unpublished)


def test_schema_markdown_covers_every_key():
    md = schema_markdown()
    for section, keys in SCHEMA.items():
        for k in keys:
            assert f"`{k}`" in md


@pytest.mark.slow
def test_found_by_name_after_non_editable_install(tmp_path):
    """pip-install a copy of the project (not editable) into a venv; load chips by name outside the repo."""
    import shutil
    import subprocess
    import sys

    root = CHIPS_DIR.parent
    src = tmp_path / "src"
    for item in ("chips", "mapper", "neurosim", "setup.cfg", "pyproject.toml"):
        (shutil.copytree if (root / item).is_dir() else shutil.copy)(root / item, src / item)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(src)],
                   check=True, cwd=tmp_path)
    code = ("import mapper, sys; from mapper.chipload import load_chip, list_chips; "
            "assert mapper.__file__.startswith(sys.prefix), mapper.__file__; "
            "c = load_chip('loihi1'); assert c.n_cores == 128; "
            "print(sorted(n for n, _, _ in list_chips())); print(c.source)")
    out = subprocess.run([str(py), "-c", code], check=True, cwd=tmp_path, capture_output=True, text=True).stdout
    assert "'tiny'" in out and "'truenorth'" in out
    assert out.strip().endswith(str(venv / "share" / "neurosim" / "chips" / "loihi1.yaml"))


_LEAVES = [(s, k) for s in ("core", "noc", "board", "energy", "timing") for k in SCHEMA[s]] + \
          [("", k) for k in SCHEMA[""]]


def _any_value():
    from hypothesis import strategies as st
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                        st.text(max_size=8))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.one_of(st.integers(-3, 40), st.text(max_size=4)),
                                                                         inner, max_size=3)), max_leaves=6)


def test_any_value_in_any_field_loads_or_raises_chipspecerror():
    """Property: whatever value a field holds, loading either succeeds or raises ChipSpecError
    naming that field (never a TypeError, KeyError ... from deep inside)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.sampled_from(_LEAVES), _any_value())
    def check(leaf, value):
        section, key = leaf
        d = copy.deepcopy(TINY)
        (d[section] if section else d)[key] = value
        try:
            chip = chip_from_dict(d)
        except ChipSpecError as exc:
            full = f"{section}.{key}" if section else key
            assert exc.key == full or exc.key.startswith(full + ".") or exc.key.startswith(full + "[") \
                or exc.key in ("core.synapse_word_bits", "name"), (exc.key, full)
        else:
            assert isinstance(chip, ChipSpec)

    check()


# -- issue 16, family 3: numbers the pipeline cannot represent are refused at load time ------------
@pytest.mark.parametrize("section, key, value, match", [
    ("noc", "tile_grid", [10**19, 2], r"noc.tile_grid\[0\]': out of range .*expected a whole number >= 1 and <= 1024"),
    ("noc", "tile_grid", [1024, 1024], r"noc.tile_grid': the board would have 4194304 tiles"),
    ("noc", "cores_per_tile", 10**6, r"noc.cores_per_tile': out of range"),
    ("core", "max_compartments", 10**19, r"core.max_compartments': out of range"),
    ("core", "synapse_index_bits", 10**19, r"core.synapse_index_bits': out of range"),
    ("core", "synapse_mem_bits", 2**70, r"core.synapse_mem_bits': out of range"),
    ("core", "plastic_synapse_extra_bits", 10**9, r"core.plastic_synapse_extra_bits': out of range"),
    ("energy", "hop_ew", 1e308, r"energy.hop_ew': out of range .*<= 1 \(J\)"),
    ("timing", "syn_op", 1e300, r"timing.syn_op': out of range"),
    ("timing", "tile_bandwidth_msgs_per_s", 1e-300, r"timing.tile_bandwidth_msgs_per_s': out of range"),
    ("timing", "barrier_by_tiles", {10**30: 1e-6}, r"timing.barrier_by_tiles.1000000000000000000000000000000': "
                                                    r"table keys must be whole numbers >= 1 and <= 2147483647"),
    ("timing", "barrier_by_tiles", {1: 1e200}, r"timing.barrier_by_tiles.1': out of range"),
    ("board", "chip_grid", [4096, 4096], r"board.chip_grid\[0\]': out of range"),
    ("energy", "static_power_w_per_chip", 1e20, r"energy.static_power_w_per_chip': out of range"),
], ids=lambda v: str(v)[:20])
def test_numbers_beyond_what_the_pipeline_represents_are_refused(section, key, value, match):
    """A tile grid or core limit of 10^19 passed validation and died later in the mapper (MemoryError
    in route.tile_coords, OverflowError in payload_bits); an energy of 1e308 gave reports of inf."""
    d = copy.deepcopy(TINY)
    d.setdefault(section, {})[key] = value
    if value == [1024, 1024]:
        d["board"] = {"chip_grid": [2, 2]}
    with pytest.raises(ChipSpecError, match=match):
        chip_from_dict(d)


def test_the_board_size_is_checked_with_a_chip_grid_override():
    with pytest.raises(ChipSpecError, match=r"board would have .* cores"):
        load_chip("loihi1", chip_grid=(1024, 1024))


def test_extreme_accepted_chips_map_to_finite_reports():
    """The largest values the schema accepts still give a finite, non-negative report."""
    from mapper import MappingOptions, map_network
    from tests.fuzz.kinds import check_report
    from tests.helpers import make_tiny_network

    d = copy.deepcopy(TINY)
    d["energy"] = {k: (1.0 if k not in ("active_policy",) else v) for k, v in d["energy"].items()}
    d["energy"]["static_power_w_per_chip"] = 1e6
    d["timing"].update({k: 1.0 for k in ("syn_op", "neuron_update_active", "neuron_update_inactive", "spike_out",
                                         "packet_out", "packet_in", "spike_within_tile", "hop_ew", "hop_ns",
                                         "learn_update")})
    d["timing"]["tile_bandwidth_msgs_per_s"] = 1.0
    d["core"].update(synapse_index_bits=64, plastic_synapse_extra_bits=4096, synapse_row_overhead_bits=2**20)
    d["core"].update(synapse_mem_bits=2**48, synapse_word_bits=2**20)
    chip = chip_from_dict(d)
    net, act = make_tiny_network()
    res = map_network(net, chip, act, MappingOptions(time_budget_s=0))
    check_report(res.report.to_dict())
