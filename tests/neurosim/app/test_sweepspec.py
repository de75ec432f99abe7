"""Sweep files (neurosim.app.sweepspec): axes as lists, ranges and linked keys; grid, random and
Latin-hypercube points; schema errors that name the key and the line; the shipped JSON Schema."""
import itertools
import json
import textwrap

import numpy as np
import pytest
import yaml

from neurosim.app.sweepspec import MAX_POINTS, SweepError, load_sweep, sweep_from_dict, sweep_json_schema
from neurosim.errors import ChipSpecError, ExperimentError
from tests.helpers import ROOT

EXPERIMENT = {"network": {"dictionary": {"kind": "default", "patch": 8, "atoms": 32},
                          "inputs": {"kind": "patches", "n": 2}, "lam": 1.0},
              "simulation": {"steps": 200, "transient": 20}}


def sweep(axes, **top):
    return sweep_from_dict({"experiment": EXPERIMENT, "chip": "loihi1", "axes": axes, **top})


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_grid_is_every_combination_in_file_order_with_linked_keys():
    s = sweep({"noc.cores_per_tile": [1, 4],
               "core.max_compartments, core.synapse_index_bits": [[128, 7], [1024, 10]],
               "experiment.network.lam": [0.5, 1.0, 2.0], "mapping.partitioner": ["metis"]})
    assert s.columns == ["chip.noc.cores_per_tile", "chip.core.max_compartments", "chip.core.synapse_index_bits",
                         "experiment.network.lam", "mapping.partitioner"]
    pts = s.points()
    expected = [dict(zip(s.columns, (a, b, c, d, e))) for a, (b, c), d, e in
                itertools.product([1, 4], [(128, 7), (1024, 10)], [0.5, 1.0, 2.0], ["metis"])]
    assert pts == expected


def test_ranges_step_includes_the_end_num_is_lin_or_log_and_whole_keys_get_whole_numbers():
    s = sweep({"core.weight_bits": {"from": 3, "to": 9, "step": 2},
               "energy.syn_op": {"from": 1e-12, "to": 1e-10, "num": 3, "scale": "log"},
               "core.max_compartments": {"from": 100, "to": 102, "num": 5}})
    levels = [a.levels for a in s.axes]
    assert levels[0] == ((3,), (5,), (7,), (9,))
    np.testing.assert_allclose([v for (v,) in levels[1]], [1e-12, 1e-11, 1e-10])
    assert [v for (v,) in levels[2]] == [100, 101, 102]  # rounded, duplicates dropped
    assert all(isinstance(v, int) for (v,) in levels[2])


def test_random_draws_distinct_grid_points_reproducibly():
    axes = {"core.weight_bits": [3, 5, 7, 9], "noc.cores_per_tile": [1, 2, 4], "experiment.network.lam": [0.5, 1.0]}
    s = sweep(axes, sample={"method": "random", "n": 10, "seed": 3})
    pts = s.points()
    grid = sweep(axes).points()
    assert len(pts) == 10 and all(p in grid for p in pts)
    assert len({json.dumps(p, sort_keys=True) for p in pts}) == 10
    assert pts == sweep(axes, sample={"method": "random", "n": 10, "seed": 3}).points()
    assert pts != sweep(axes, sample={"method": "random", "n": 10, "seed": 4}).points()


def test_latin_hypercube_puts_one_point_in_every_stratum_of_every_axis():
    n = 8
    s = sweep({"experiment.network.lam": {"from": 0.0, "to": 2.0},
               "energy.syn_op": {"from": 1e-12, "to": 1e-10, "scale": "log"}},
              sample={"method": "lhs", "n": n, "seed": 0})
    pts = s.points()
    assert len(pts) == n
    lam = np.array([p["experiment.network.lam"] for p in pts])
    syn = np.array([p["chip.energy.syn_op"] for p in pts])
    assert sorted(np.floor(lam / 2.0 * n).astype(int)) == list(range(n))
    assert sorted(np.floor(np.log(syn / 1e-12) / np.log(100) * n).astype(int)) == list(range(n))


def test_lhs_over_discrete_levels_covers_every_level_evenly():
    pts = sweep({"core.weight_bits": [3, 5, 7, 9]}, sample={"method": "lhs", "n": 4, "seed": 1}).points()
    assert sorted(p["chip.core.weight_bits"] for p in pts) == [3, 5, 7, 9]


def test_schema_errors_name_the_key_and_the_line(tmp_path):
    p = write(tmp_path, """\
        experiment: {file: e.yaml}
        chip: loihi1
        axes:
          core.max_compartment: [128, 256]
        """)
    with pytest.raises(SweepError) as e:
        load_sweep(p)
    msg = str(e.value)
    assert "axes.core.max_compartment" in msg and "(line 4)" in msg
    assert "did you mean 'chip.core.max_compartments'" in msg

    p = write(tmp_path, """\
        experiment:
          network: {dictionary: {kind: default, atoms: 32}, inputs: {kind: patches, n: 2}, lam: -1}
          simulation: {steps: 100}
        chip: loihi1
        axes: {core.weight_bits: [4]}
        samples: {method: lhs}
        """)
    with pytest.raises(SweepError) as e:
        load_sweep(p)
    assert "'samples'" in str(e.value) and "(line 6)" in str(e.value) and "did you mean 'sample'" in str(e.value)
    p.write_text(p.read_text().replace("samples: {method: lhs}\n", ""))
    with pytest.raises(SweepError) as e:
        load_sweep(p)
    assert "experiment.network.lam" in str(e.value) and "(line 2)" in str(e.value)


@pytest.mark.parametrize("axes, sample, key, what", [
    ({"noc.routing": {"from": 1, "to": 2, "num": 2}}, None, "axes.noc.routing", "a range needs a numeric key"),
    ({"core.weight_bits": {"from": 3, "to": 9}}, None, "axes.core.weight_bits", "a grid needs discrete values"),
    ({"core.weight_bits": {"from": 9, "to": 3, "step": 1}}, None, "axes.core.weight_bits.to", "ends before"),
    ({"core.weight_bits": {"from": 3, "to": 9, "stp": 1}}, None, "axes.core.weight_bits.stp", "did you mean"),
    ({"core.weight_bits": []}, None, "axes.core.weight_bits", "non-empty list"),
    ({"core": [1]}, None, "axes.core", "is a section, not a value"),
    ({"cores": [1]}, None, "axes.cores", "unknown axis key; did you mean 'core'"),
    ({"chip.name": ["x"]}, None, "axes.chip.name", "unknown chip key"),
    ({"core.max_compartments, core.synapse_index_bits": [[128]]}, None,
     "axes.core.max_compartments, core.synapse_index_bits[0]", "list of 2"),
    ({"core.weight_bits": [4], "chip.core.weight_bits": [5]}, None, "axes.chip.core.weight_bits", "already an axis"),
    ({"experiment.network.lamda": [1]}, None, "axes.experiment.network.lamda", "did you mean 'experiment.network.lam'"),
    ({"mapping.partitioner": ["metis"]}, {"method": "lhs"}, "sample.n", "needs the number of points"),
    ({"core.weight_bits": [4, 5]}, {"method": "random", "n": 3}, "sample.n", "more points than the grid"),
    ({"core.weight_bits": [4, 5]}, {"n": 3}, "sample.n", "a grid runs every combination"),
    ({"core.weight_bits": {"from": 1, "to": 10 * MAX_POINTS, "step": 1}}, None, "axes.core.weight_bits.step",
     "too many values"),
])
def test_bad_axes_and_samples_are_refused(axes, sample, key, what):
    with pytest.raises(SweepError) as e:
        sweep(axes, **({"sample": sample} if sample else {}))
    assert f"'<dict>:{key}'" in str(e.value) and what in str(e.value)


def test_base_experiment_file_and_chip_path_resolve_against_the_sweep_file(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "e.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "mychip.yaml").write_text((ROOT / "chips" / "loihi1.yaml").read_text()
                                                    .replace("name: loihi1", "name: mychip"))
    p = write(tmp_path, "experiment: {file: exp/e.yaml}\nchip: chips/mychip.yaml\naxes: {core.weight_bits: [4]}\n")
    s = load_sweep(p)
    assert s.experiment_source == str(tmp_path / "exp" / "e.yaml") and s.chip["name"] == "mychip"
    assert s.name == "s" and s.quantize is True
    (tmp_path / "exp" / "e.yaml").write_text("network: {lam: 1}\n")
    with pytest.raises(ExperimentError, match="network.dictionary"):
        load_sweep(p)
    p.write_text(p.read_text().replace("chips/mychip.yaml", "loihi9"))
    (tmp_path / "exp" / "e.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    with pytest.raises(SweepError, match=r"s.yaml:chip'.*unknown chip name.*line 2"):
        load_sweep(p)
    bad = (tmp_path / "chips" / "mychip.yaml")
    bad.write_text(bad.read_text().replace("max_in_axons: 4096", "max_in_axons: -4"))
    p.write_text(p.read_text().replace("loihi9", "chips/mychip.yaml"))
    with pytest.raises(ChipSpecError, match=r"core.max_in_axons.*line"):
        load_sweep(p)


def test_shipped_json_schema_is_current_and_the_example_sweep_validates():
    jsonschema = pytest.importorskip("jsonschema")
    shipped = json.loads((ROOT / "examples" / "sweeps" / "sweep.schema.json").read_text())
    assert shipped == sweep_json_schema(), \
        "regenerate with: python docs/generate.py"
    example = ROOT / "examples" / "sweeps" / "loihi1.yaml"
    assert example.read_text().startswith("# yaml-language-server: $schema=sweep.schema.json")
    jsonschema.validate(yaml.safe_load(example.read_text()), shipped)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"experiment": {"file": "e.yaml"}, "chip": "loihi1", "axes": {"x": {"from": 1}}}, shipped)
    spec = load_sweep(example)
    assert len(spec.points()) == 64


def test_docs_list_every_key_and_every_result_column():
    import re

    from neurosim.app.sweepplan import METRICS
    from neurosim.app.sweepspec import sweep_schema_markdown

    doc = (ROOT / "docs" / "sweeps.md").read_text()
    m = re.search(r"<!-- generated: [^>]*-->\n(.*?)<!-- end generated -->", doc, flags=re.S)
    assert m and m.group(1) == sweep_schema_markdown(), "regenerate with: python docs/generate.py"
    for column in METRICS:
        assert f"`{column}`" in doc, column
