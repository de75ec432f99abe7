"""EDP and time to solution are per input, and the summary says so (mapper.estimate, Report.summary_text)."""
import pytest

from tests.helpers import make_tiny_chip, make_tiny_network
from mapper.api import Report, map_network


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
