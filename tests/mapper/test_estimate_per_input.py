"""EDP and time to solution are per input, and the summary says so (mapper.estimate, Report.summary_text);
per-input figures count the inputs a profile records, not the batch width."""
import dataclasses

import pytest

from mapper.api import Report, map_network
from mapper.estimate import EDP_BASIS, per_input_figures
from neurosim.activity import ActivityProfile
from neurosim.errors import NetworkError
from tests.helpers import make_tiny_chip, make_tiny_network


def _mapped():
    net, act = make_tiny_network()
    return map_network(net, make_tiny_chip(), act, partitioner="sequential", placer="identity", time_budget_s=0)


def test_edp_is_energy_per_input_times_time_to_solution_per_input():
    d = _mapped().report.to_dict()
    e, lat, a = d["energy_j"], d["latency_s"], d["activity"]
    assert e["per_input"] == pytest.approx(e["total"] / a["batch"])
    assert lat["time_to_solution"] == pytest.approx(a["steps"] * lat["per_step"])
    assert d["edp_js"] == pytest.approx(e["per_input"] * lat["time_to_solution"])


def test_summary_labels_edp_and_time_to_solution_per_input():
    text = _mapped().report.summary_text()
    assert "EDP per input" in text and "energy per input x time to solution per input" in text
    assert "time to solution per input" in text


def test_summary_names_the_inputs_when_they_are_not_the_batch():
    d = _mapped().report.to_dict()
    assert "inputs profiled" not in Report(d).summary_text()
    d["activity"]["inputs"] = 64
    assert "(64 inputs profiled)" in Report(d).summary_text()


def test_report_docstring_defines_edp():
    doc = Report.to_dict.__doc__
    assert "edp_js" in doc and "per input" in doc and "E_{in} T_{in}" in doc


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
