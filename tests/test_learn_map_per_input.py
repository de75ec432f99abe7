"""``neurosim learn --chip``: per-input figures count the samples profiled, not the batch width."""
import json
import re

import pytest

from mapper.estimate import EDP_BASIS, per_input_figures
from neurosim.cli import main
from neurosim.cli.learn_map import per_sample_report

# 30 samples in mini-batches of 10
TINY = ["--data", "planted", "--atoms", "8", "--train", "30", "--test", "10", "--batch", "10", "--samples", "30",
        "--seed", "1", "--no-progress"]


def test_per_input_figures_by_hand():
    # 4 mini-batches of 16 samples, 100 steps each: R = 400 x 16 input-steps for 64 samples
    p = per_input_figures(6.4, 1e-3, steps=400, batch=16, inputs=64)
    assert p["inputs"] == 64 and p["steps_per_input"] == pytest.approx(100.0)
    assert p["energy_j"] == pytest.approx(0.1) and p["time_to_solution_s"] == pytest.approx(0.1)
    assert p["edp_js"] == pytest.approx(0.01)
    default = per_input_figures(6.4, 1e-3, steps=400, batch=16)  # one batch: N = batch
    assert default["energy_j"] == pytest.approx(0.4) and default["time_to_solution_s"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="inputs"):
        per_input_figures(1.0, 1e-3, steps=1, batch=1, inputs=0)


def test_per_sample_report_rescales_every_per_input_figure():
    report = {"activity": {"steps": 400, "batch": 16}, "energy_j": {"total": 6.4, "per_input": 0.4},
              "latency_s": {"per_step": 1e-3, "time_to_solution": 0.4}, "edp_js": 0.16,
              "neurobench": {"synaptic_operations": {"Effective_ACs": 40.0, "Effective_MACs": 0.0, "Dense": 80.0},
                             "note": "per sample (input)"}}
    out = per_sample_report(report, samples=64)
    assert out["activity"]["inputs"] == 64
    assert out["energy_j"]["per_input"] == pytest.approx(0.1)
    assert out["latency_s"]["time_to_solution"] == pytest.approx(0.1)
    assert out["edp_js"] == pytest.approx(0.01) and out["edp_basis"] == EDP_BASIS
    assert out["neurobench"]["synaptic_operations"] == {"Effective_ACs": 10.0, "Effective_MACs": 0.0, "Dense": 20.0}


def test_learn_report_per_input_divides_by_samples(tmp_path, capsys):
    assert main(["learn", *TINY, "--out", str(tmp_path / "d.npz"), "--method", "local-spiking", "--chip", "loihi1",
                 "--time-budget", "0"]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "d_map" / "report.json").read_text())
    e = report["energy_j"]
    assert report["learning"]["samples_profiled"] == 30 and report["activity"]["batch"] == 10
    assert report["activity"]["inputs"] == 30
    assert e["per_input"] == pytest.approx(e["total"] / 30, rel=1e-12)
    assert report["edp_js"] == pytest.approx(e["per_input"] * report["latency_s"]["time_to_solution"], rel=1e-12)
    # both printed figures agree: the summary's "per input" and the learning cost's "per sample"
    per_input = float(re.search(r"per input ([0-9.e+-]+) J", out).group(1))
    per_sample = float(re.search(r"\(([0-9.e+-]+) J per sample\)", out).group(1))
    assert per_input == pytest.approx(per_sample, rel=1e-3) == pytest.approx(e["per_input"], rel=1e-3)
