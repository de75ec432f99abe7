"""The run report (neurosim.app.report): the application's sections are added in one place and
never change the mapper's figures."""
import pytest

from mapper import map_network
from neurosim.app.quality import SolutionQuality
from neurosim.app.report import compose_report, nir_text
from tests.helpers import make_tiny_chip, make_tiny_network


@pytest.fixture(scope="module")
def mapping():
    net, act = make_tiny_network()
    return map_network(net, make_tiny_chip(), act, time_budget_s=0)


def test_sections_are_added_and_mapper_figures_kept(mapping):
    q = SolutionQuality(problem="LASSO", lam=1.0, inputs=2, objective=2.0, optimum_fista=1.0, relative_gap=1.0,
                        mean_nonzeros=3.0, simulation_wall_s=0.1)
    r = compose_report(mapping, experiment={"name": "e"}, quality=q, learning={"method": "m"},
                       nir={"source": "g.nir"}, notes=["extra note"])
    base = mapping.report.to_dict()
    for key in base:
        if key != "notes":
            assert r[key] == base[key], key
    assert r["notes"] == base["notes"] + ["extra note"]
    assert r["experiment"] == {"name": "e"} and r["solution_quality"]["relative_gap"] == 1.0
    assert r["learning"] == {"method": "m"} and r["nir"] == {"source": "g.nir"}
    assert set(compose_report(mapping)) == set(base)  # nothing added without a section


def test_report_is_a_copy(mapping):
    r = compose_report(mapping)
    r["energy_j"]["total"] = -1.0
    assert mapping.report.to_dict()["energy_j"]["total"] > 0


def test_nir_text_lists_the_approximations():
    info = {"source": "g.nir", "populations": {"a": 3}, "connections": [1, 2], "dt_s": 1e-3, "convention": "pulses",
            "approximations": {"lif": ["threshold ties"]},
            "simulation": {"steps": 10, "input_rate_per_step": 0.1}}
    text = nir_text(info)
    assert "1 populations, 2 connections at dt 0.001 s" in text and "approximation, node 'lif': threshold ties" in text
    assert "activity simulated: 10 steps" in text
