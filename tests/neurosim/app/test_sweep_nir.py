"""A NIR graph as the base of a sweep: one simulation per input setting, points equal to
``neurosim map --nir`` of that configuration, no solution quality (the front is energy and time)."""
import json

import pytest
import yaml

from neurosim.app.sweep import run_sweep
from neurosim.app.sweepplan import METRICS, metrics_of
from neurosim.app.sweepspec import SweepError, sweep_from_dict
from tests.helpers import ROOT

nir = pytest.importorskip("nir")
from tests.neurosim.nir.test_read import two_layer  # noqa: E402


@pytest.fixture
def graph(tmp_path):
    import numpy as np

    g, *_ = two_layer(np.random.default_rng(5), r1=20.0)
    nir.write(tmp_path / "g.nir", g)
    return tmp_path / "g.nir"


def spec(tmp_path, axes, **nir_keys):
    return sweep_from_dict({"experiment": {"nir": "g.nir", "dt_s": 1e-3, **nir_keys}, "chip": "loihi1",
                            "mapping": {"time_budget_s": 0}, "axes": axes}, source=str(tmp_path / "s.yaml"),
                           base_dir=tmp_path)


# slow (18 s): the default run checks NIR sweeps with assumed activity and point equality on experiments
@pytest.mark.slow
def test_nir_sweep_points_equal_neurosim_map_nir(tmp_path, graph):
    from neurosim.cli import main

    res = run_sweep(spec(tmp_path, {"experiment.input_rate": [0.2, 0.5], "core.max_compartments": [2, 8],
                                    "experiment.dt_s": [1e-3, -1.0]}, simulate=100), tmp_path / "out", workers=1)
    by = {(r["experiment.input_rate"], r["chip.core.max_compartments"], r["experiment.dt_s"]): r for r in res.rows}
    assert [r["status"] for r in res.rows].count("ok") == 4
    bad = by[(0.2, 2, -1.0)]
    assert bad["status"] == "invalid" and "experiment.dt_s" in bad["reason"]
    assert res.work["simulations"] == 2 and res.work["quantized_simulations"] == 0
    row = by[(0.5, 2, 1e-3)]
    assert row["relative_gap"] is None and row["cores"] >= 4 and row["energy_per_input_j"] > 0
    assert res.front and "gap" not in (tmp_path / "out" / "summary.txt").read_text().split("Pareto front")[1]
    assert (tmp_path / "out" / "pareto.png").is_file()

    chip = yaml.safe_load((ROOT / "chips" / "loihi1.yaml").read_text())
    chip["name"] = "v"
    chip["core"]["max_compartments"] = 2
    (tmp_path / "v.yaml").write_text(yaml.safe_dump(chip))
    assert main(["map", "--nir", str(graph), "--dt", "1e-3", "--simulate", "100", "--input-rate", "0.5", "--chip",
                 str(tmp_path / "v.yaml"), "--time-budget", "0", "--out", str(tmp_path / "map"), "--no-progress"]) == 0
    single = metrics_of(json.loads((tmp_path / "map" / "report.json").read_text()))
    for m in METRICS:
        if m != "mapper_wall_s":
            assert row[m] == single[m], m


def test_nir_sweep_with_assumed_activity_simulates_nothing(tmp_path, graph):
    res = run_sweep(spec(tmp_path, {"mapping.assumed_rate": [0.01, 0.1]}), tmp_path / "out", workers=1, plots=False)
    assert res.counts == {"ok": 2} and res.work["simulations"] == 0
    e = [r["energy_per_input_j"] for r in res.rows]
    assert e[1] > e[0]


def test_nir_keys_are_checked(tmp_path, graph):
    with pytest.raises(SweepError, match="the graph file is not an axis"):
        spec(tmp_path, {"experiment.nir": ["g.nir"]})
    with pytest.raises(SweepError, match="did you mean 'experiment.input_rate'"):
        spec(tmp_path, {"experiment.input_rat": [0.1]})
    with pytest.raises(SweepError, match="unknown experiment key"):
        spec(tmp_path, {"experiment.network.lam": [0.1]})
    with pytest.raises(SweepError, match="experiment.nir'.*no such file"):
        sweep_from_dict({"experiment": {"nir": "missing.nir", "dt_s": 1e-3}, "chip": "loihi1",
                         "axes": {"core.weight_bits": [9]}}, base_dir=tmp_path)


def test_nir_sweep_takes_the_spike_convention_and_condition(tmp_path, graph):
    s = spec(tmp_path, {"experiment.spikes": ["pulse", "dirac"]}, threshold=">=")
    assert [p["experiment.spikes"] for p in s.points()] == ["pulse", "dirac"]
    with pytest.raises(SweepError, match="spikes"):
        spec(tmp_path, {"mapping.seed": [0]}, spikes="impulse")
    with pytest.raises(SweepError, match="threshold"):
        spec(tmp_path, {"mapping.seed": [0]}, threshold="=>")
