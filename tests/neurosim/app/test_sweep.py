"""Sweeps in one process (neurosim.app.sweep with workers=1): simulations shared and counted, a
point's numbers equal to run_experiment's, invalid and non-fitting points recorded with their
reason, the store resumed, the output directory protected, the tables and the Pareto front."""
import copy
import csv
import json

import numpy as np
import pytest

import neurosim.app.pipeline as pipeline
from mapper import MappingOptions, chip_from_dict
from mapper.chipload import load_chip_dict
from neurosim.app import experiment_from_dict, run_experiment
from neurosim.app.sweep import run_sweep
from neurosim.app.sweepplan import METRICS, metrics_of
from neurosim.app.sweepspec import sweep_from_dict
from neurosim.app.sweeptable import pareto_front
from neurosim.errors import InputError
from neurosim.io.runrecord import RECORD, read_record, verify_record

EXPERIMENT = {"network": {"dictionary": {"kind": "default", "patch": 8, "atoms": 32},
                          "inputs": {"kind": "patches", "n": 3, "seed": 0}, "lam": 0.1},
              "simulation": {"steps": 400, "transient": 40},
              "mapping": {"time_budget_s": 0, "placer": "hilbert"}}  # hilbert: fast and reproducible


def spec(axes, **top):
    return sweep_from_dict({"name": "t", "experiment": copy.deepcopy(EXPERIMENT), "chip": "loihi1", "axes": axes,
                            **top})


@pytest.fixture
def count_simulations(monkeypatch):
    calls = []
    real = pipeline.simulate

    def counting(network, **kw):
        calls.append(network.name)
        return real(network, **kw)

    monkeypatch.setattr(pipeline, "simulate", counting)
    return calls


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def without(rows, *cols):
    return [{k: v for k, v in r.items() if k not in cols} for r in rows]


SHARED_AXES = {"core.weight_bits": [4, 9], "core.max_compartments": [16, 64], "experiment.network.lam": [0.1, 0.2]}


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    out = tmp_path_factory.mktemp("shared") / "out"
    calls = []
    real = pipeline.simulate

    def counting(network, **kw):
        calls.append(network.name)
        return real(network, **kw)

    pipeline.simulate = counting
    try:
        seen = []
        res = run_sweep(spec(SHARED_AXES), out, workers=1, progress=lambda d, f, t: seen.append((d, f, t)))
    finally:
        pipeline.simulate = real
    return res, calls, seen


def test_one_simulation_per_setting_and_one_quantised_per_precision(shared):
    res, calls, seen = shared
    assert len(res.rows) == 8 and res.counts == {"ok": 8}
    # 2 lam settings x (1 float + 2 weight precisions) = 6 simulations for 8 points (16 for 8 separate runs)
    assert len(calls) == 6
    assert res.work["simulations"] == 2 and res.work["quantized_simulations"] == 4 and res.work["computed"] == 8
    assert seen[0] == (0, 0, 8) and seen[-1] == (8, 0, 8) and [d for d, _, _ in seen] == list(range(9))
    assert "2 simulation(s) and 4 quantised simulation(s) for 8 point(s)" in res.summary


def test_a_point_equals_run_experiment_of_that_configuration(shared):
    res, _, _ = shared
    row = next(r for r in res.rows if r["chip.core.weight_bits"] == 4 and r["chip.core.max_compartments"] == 16
               and r["experiment.network.lam"] == 0.1)
    chip_d, path = load_chip_dict("loihi1")
    chip_d["core"].update(weight_bits=4, max_compartments=16)
    run = run_experiment(experiment_from_dict(copy.deepcopy(EXPERIMENT)), chip_from_dict(chip_d, str(path)),
                         MappingOptions(time_budget_s=0, placer="hilbert"))
    expected = metrics_of(run.report)
    for m in METRICS:
        if m != "mapper_wall_s":
            assert row[m] == expected[m], m
    assert row["cores"] > 1 and row["relative_gap_quantized"] != row["relative_gap"]


def test_tables_plots_and_the_pareto_front(shared):
    res, _, _ = shared
    out = res.out
    for name in ("results.csv", "pareto.csv", "summary.txt", "sweep.json", "pareto.png",
                 "axis_chip.core.weight_bits.png", "axis_experiment.network.lam.png"):
        assert (out / name).is_file(), name
    rows = read_csv(out / "results.csv")
    assert list(rows[0])[:4] == ["point", "chip.core.weight_bits", "chip.core.max_compartments",
                                 "experiment.network.lam"]
    assert list(rows[0])[-3:] == ["status", "reason", "key"]
    assert float(rows[3]["energy_per_input_j"]) == res.rows[3]["energy_per_input_j"]  # full precision
    # the front, by brute force: no other point at least as good everywhere and better somewhere
    objs = [(float(r["energy_per_input_j"]), float(r["time_to_solution_s"]), float(r["relative_gap_quantized"]))
            for r in rows]
    front = {i for i, a in enumerate(objs)
             if not any(all(b[k] <= a[k] for k in range(3)) and b != a for b in objs)}
    assert {int(r["point"]) for r in read_csv(out / "pareto.csv")} == front == set(res.front)
    manifest = json.loads((out / "sweep.json").read_text())
    assert [p["key"] for p in manifest["points"]] == [r["key"] for r in rows]
    assert "best point per metric" in res.summary and "Pareto front" in res.summary


def test_results_load_with_pandas_in_one_line(shared):
    pd = pytest.importorskip("pandas")
    df = pd.read_csv(shared[0].out / "results.csv")
    assert len(df) == 8 and df["energy_per_input_j"].dtype == float and (df["status"] == "ok").all()


def test_invalid_and_non_fitting_points_are_recorded_with_their_reason(tmp_path, count_simulations):
    res = run_sweep(spec({"noc.tile_grid": [[1, 1]], "noc.cores_per_tile": [1],
                          "core.max_compartments": [0, 8, 256], "experiment.network.lam": [-1.0, 1.0]}),
                    tmp_path / "out", workers=1, plots=False)
    by = {(r["chip.core.max_compartments"], r["experiment.network.lam"]): r for r in res.rows}
    assert by[(0, 1.0)]["status"] == "invalid" and "core.max_compartments" in by[(0, 1.0)]["reason"]
    assert by[(256, -1.0)]["status"] == "invalid" and "network.lam" in by[(256, -1.0)]["reason"]
    nofit = by[(8, 1.0)]
    assert nofit["status"] == "does-not-fit" and "capacity" in nofit["reason"] and nofit["energy_per_input_j"] is None
    assert by[(256, 1.0)]["status"] == "ok"
    assert all("\n" not in r["reason"] for r in res.rows)
    assert len(count_simulations) == 2  # the one setting that fits somewhere: float + quantised
    text = (tmp_path / "out" / "results.csv").read_text()
    assert "does-not-fit" in text and "invalid" in text
    assert "points not ok" in res.summary


def test_a_setting_that_fits_no_chip_is_never_simulated(tmp_path, count_simulations):
    res = run_sweep(spec({"noc.tile_grid": [[1, 1]], "noc.cores_per_tile": [1], "core.max_compartments": [4, 8],
                          "chip": ["loihi1", "no-such-chip"]}), tmp_path / "out", workers=1, plots=False)
    assert count_simulations == []
    statuses = {(r["chip"], r["chip.core.max_compartments"]): r["status"] for r in res.rows}
    assert statuses == {("loihi1", 4): "does-not-fit", ("loihi1", 8): "does-not-fit",
                        ("no-such-chip", 4): "invalid", ("no-such-chip", 8): "invalid"}
    assert "no point finished ok" in res.summary


def test_a_setting_beyond_the_resource_limits_is_refused_before_anything_is_built(tmp_path, count_simulations):
    from neurosim.guard import ResourceLimits

    res = run_sweep(spec({"noc.tile_grid": [[1, 1]], "noc.cores_per_tile": [1],
                          "experiment.network.inputs.n": [3, 1_000_000]}), tmp_path / "out", workers=1,
                    plots=False, limits=ResourceLimits(max_memory_bytes=2**30))
    by = {r["experiment.network.inputs.n"]: r for r in res.rows}
    big = by[1_000_000]
    assert big["status"] == "invalid" and "network.inputs.n" in big["reason"] and "GiB" in big["reason"]
    assert by[3]["status"] in ("ok", "does-not-fit") and by[3]["reason"] != big["reason"]
    assert all(name == "slca" for name in count_simulations)  # the big setting was never simulated


def test_points_carry_their_mapping_cost_for_the_cluster_to_start_the_costliest_first():
    from neurosim.app.sweepplan import plan_sweep

    plans = plan_sweep(spec({"core.max_compartments": [16, 64], "core.weight_bits": [4, 8]}))
    cost = {(p.values["chip.core.max_compartments"], p.values["chip.core.weight_bits"]): p.cost for p in plans}
    assert cost[(16, 4)] == cost[(16, 8)] == pytest.approx(4 * cost[(64, 4)]) and cost[(64, 4)] > 0


def test_resume_skips_finished_points_and_the_output_directory_is_protected(tmp_path, count_simulations):
    s = spec({"core.weight_bits": [5, 9], "experiment.simulation.steps": [300, 400]})
    out = tmp_path / "out"
    first = run_sweep(s, out, workers=1, plots=False)
    table = (out / "results.csv").read_text()
    assert len(count_simulations) == 6
    assert verify_record(out) == [] and sorted(f["name"] for f in read_record(out)["files"]) == sorted(first.files)
    with pytest.raises(InputError, match="point store of an earlier sweep"):
        run_sweep(s, out, workers=1, plots=False)
    count_simulations.clear()
    again = run_sweep(s, out, workers=1, resume=True, plots=False)
    assert count_simulations == [] and again.work["reused"] == 4 and again.work["computed"] == 0
    assert (out / "results.csv").read_text() == table  # stored results, wall times included
    # a lost and a corrupt point are run again, nothing else
    (out / "points" / f"{first.rows[0]['key']}.json").unlink()
    (out / "points" / f"{first.rows[3]['key']}.json").write_text("{not json")
    record = json.loads((out / RECORD).read_text())
    (out / RECORD).write_text(json.dumps({**record, "status": "writing", "pid": -1}))  # as if killed
    partial = run_sweep(s, out, workers=1, resume=True, plots=False)
    assert verify_record(out) == []  # the resumed sweep completes the directory
    assert partial.work["computed"] == 2 and partial.work["reused"] == 2
    assert without(read_csv(out / "results.csv"), "mapper_wall_s") == without(
        list(csv.DictReader(table.splitlines())), "mapper_wall_s")
    count_simulations.clear()
    fresh = run_sweep(s, out, workers=1, force=True, plots=False)
    assert fresh.work["computed"] == 4 and len(count_simulations) == 6


def test_outputs_never_replace_the_sweep_file(tmp_path):
    import yaml

    (tmp_path / "results.csv").write_text(yaml.safe_dump({"experiment": EXPERIMENT, "chip": "loihi1",
                                                          "axes": {"core.weight_bits": [9]}}))
    with pytest.raises(InputError, match="input file"):
        run_sweep(tmp_path / "results.csv", tmp_path, workers=1, force=True)


def test_sampled_points_and_mapping_axes_run_as_drawn(tmp_path):
    res = run_sweep(spec({"experiment.network.lam": {"from": 0.1, "to": 0.4},
                          "mapping.placer": ["block", "hilbert"]}, sample={"method": "lhs", "n": 3, "seed": 7}),
                    tmp_path / "out", workers=1, plots=False)
    lams = sorted(r["experiment.network.lam"] for r in res.rows)
    assert len(lams) == 3 and all(0.1 <= x <= 0.4 for x in lams)
    assert [int((x - 0.1) / 0.3 * 3) for x in lams] == [0, 1, 2]
    assert res.counts == {"ok": 3} and res.work["simulations"] == 3


def test_pareto_front_of_synthetic_points():
    def row(i, e, t, g, status="ok"):
        return {"point": i, "status": status, "energy_per_input_j": e, "time_to_solution_s": t,
                "relative_gap": g, "relative_gap_quantized": None}

    rows = [row(0, 1, 5, 0.1), row(1, 2, 2, 0.1), row(2, 2, 2, 0.2), row(3, 5, 1, 0.0), row(4, 0.5, 9, 9.0, "failed"),
            row(5, 3, 3, 0.1), row(6, 1, 5, 0.1)]
    # 2 is dominated by 1, 5 by 1; 0 and 6 tie (neither dominates the other); 4 is not ok
    assert pareto_front(rows) == [0, 1, 3, 6]
    rng = np.random.default_rng(0)
    rows = [row(i, *rng.random(3)) for i in range(40)]
    front = set(pareto_front(rows))
    for i, r in enumerate(rows):
        a = np.array([r["energy_per_input_j"], r["time_to_solution_s"], r["relative_gap"]])
        dominated = any(np.all(np.array([o["energy_per_input_j"], o["time_to_solution_s"], o["relative_gap"]]) <= a)
                        and j != i for j, o in enumerate(rows))
        assert (i in front) == (not dominated)


@pytest.mark.slow
def test_the_example_sweep_answers_as_the_docs_say(tmp_path):
    """examples/sweeps/loihi1.yaml on the default local cluster (one worker per core): the shared
    work and the findings quoted in README.md and docs/sweeps.md."""
    from tests.helpers import ROOT

    res = run_sweep(ROOT / "examples" / "sweeps" / "loihi1.yaml", tmp_path / "out")
    assert res.counts == {"ok": 64}
    assert res.work["simulations"] == 2 and res.work["quantized_simulations"] == 8
    gaps = {r["chip.core.weight_bits"]: r["relative_gap_quantized"] for r in res.rows
            if r["experiment.simulation.steps"] == 2000}
    assert gaps[3] > 100 and gaps[5] > 1 and gaps[9] < gaps[7] < 0.02
    front = [res.rows[i] for i in res.front]
    assert {(r["chip.core.max_compartments"], r["chip.noc.cores_per_tile"]) for r in front} == {(128, 4)}
    assert {r["experiment.simulation.steps"] for r in front} == {500, 2000}
    small = [r for r in res.rows if r["chip.core.weight_bits"] == 9 and r["experiment.simulation.steps"] == 2000]
    best = min(small, key=lambda r: r["energy_per_input_j"])
    assert best["chip.core.max_compartments"] == 128 and best["cores"] == 5
