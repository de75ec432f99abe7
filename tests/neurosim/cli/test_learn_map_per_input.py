"""``neurosim learn --chip``: per-input figures count the samples profiled, not the batch width."""
import dataclasses
import json
import re

import pytest

from mapper.estimate import EDP_BASIS, per_input_figures
from neurosim.cli import main
from neurosim.errors import NetworkError

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


def test_a_profile_that_records_its_inputs_costs_per_input_by_them(tmp_path):
    """4 mini-batches of 16 samples: the profile records ``inputs = 64``; every per-input figure
    (energy, time to solution, EDP, NeuroBench counts) divides by 64, not by the batch of 16, and
    the saved profile keeps it (``neurosim map`` of a learn run's --activity-out)."""
    from mapper import map_network
    from neurosim.activity import ActivityProfile
    from tests.helpers import make_tiny_network

    net, act = make_tiny_network()
    act16 = dataclasses.replace(act, batch=16)
    per_lane = map_network(net, "tiny", act16, partitioner="sequential", placer="identity").report.to_dict()
    act64 = dataclasses.replace(act16, inputs=64)
    act64.save(tmp_path / "a.npz")
    assert ActivityProfile.load(tmp_path / "a.npz").inputs == 64
    rep = map_network(net, "tiny", ActivityProfile.load(tmp_path / "a.npz"), partitioner="sequential",
                      placer="identity").report.to_dict()
    assert rep["activity"]["inputs"] == 64 and "inputs" not in per_lane["activity"]
    assert rep["energy_j"]["total"] == pytest.approx(per_lane["energy_j"]["total"])
    assert rep["energy_j"]["per_input"] == pytest.approx(per_lane["energy_j"]["per_input"] / 4)
    assert rep["latency_s"]["time_to_solution"] == pytest.approx(per_lane["latency_s"]["time_to_solution"] / 4)
    assert rep["edp_js"] == pytest.approx(per_lane["edp_js"] / 16) and rep["edp_basis"] == EDP_BASIS
    ops, ops0 = rep["neurobench"]["synaptic_operations"], per_lane["neurobench"]["synaptic_operations"]
    assert all(ops[k] == pytest.approx(ops0[k] / 4) for k in ("Effective_ACs", "Effective_MACs", "Dense"))
    with pytest.raises(NetworkError, match="inputs"):
        dataclasses.replace(act16, inputs=0)


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
