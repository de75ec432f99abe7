"""The pipeline API (neurosim.app.run_experiment): one call does what `neurosim run` does, with one
simulation per network variant and the mapper's figures equal to a hand-assembled path."""
import copy

import numpy as np
import pytest

import neurosim.app.pipeline as pipeline
from mapper import MappingOptions, load_chip, map_network
from neurosim import simulate
from neurosim.app import RunResult, experiment_from_dict, run_experiment
from neurosim.app.experiment import DEFAULT_EXPERIMENT, build_experiment
from neurosim.errors import CapacityError

FAST = MappingOptions(time_budget_s=0)


def small(**net):
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    d["network"].update(dictionary={"kind": "default", "patch": 8, "atoms": 96},
                        inputs={"kind": "patches", "patch": 8, "n": 4, "seed": 0}, **net)
    d["simulation"].update(steps=3000, transient=300)
    if d["network"].get("builder") == "analog_lca":
        d["simulation"].pop("transient")
    return experiment_from_dict(d)


@pytest.fixture(scope="module")
def run():
    return run_experiment(small(), "loihi1", FAST)


def test_codes_solve_the_lasso_and_the_report_has_every_section(run):
    assert isinstance(run, RunResult)
    assert run.codes.shape == (4, 96) and run.reference.shape == (4, 96)
    q = run.quality
    assert 0 <= q.relative_gap < 2e-3 and q.optimum_fista <= q.objective
    assert q.quantized is not None and q.quantized.weight_bits == 9
    assert q.quantized.relative_gap < 0.05
    for key in ("experiment", "solution_quality", "energy_j", "latency_s", "partition", "placement", "notes"):
        assert key in run.report
    assert run.report["solution_quality"]["quantized"]["objective"] == q.quantized.objective
    assert run.energy_per_input_j == run.report["energy_j"]["per_input"] > 0
    assert run.latency_per_step_s > 0 and run.time_to_solution_s > 0
    assert "solution quality (LASSO, lam 1" in run.summary_text()


def test_mapping_equals_the_hand_assembled_path(run):
    built = build_experiment(run.experiment)
    net = pipeline._with_raster(built.network)
    sim = run.experiment.simulation
    res = simulate(net, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"])
    np.testing.assert_array_equal(built.decode(res), run.codes)
    m = map_network(net, load_chip("loihi1"), res.activity, FAST)
    for key in ("energy_j", "latency_s", "totals", "partition"):
        assert m.report.to_dict()[key] == {k: v for k, v in run.report[key].items()}, key


def test_one_simulation_per_network_variant(monkeypatch):
    calls = []

    def counting(network, **kw):
        calls.append(network.name)
        return simulate(network, **kw)

    monkeypatch.setattr(pipeline, "simulate", counting)
    r = run_experiment(small(), "loihi1", FAST, quantize=False)
    assert len(calls) == 1 and r.quality.quantized is None
    calls.clear()
    run_experiment(small(), "loihi1", FAST)
    assert len(calls) == 2  # the float network and its quantised twin, nothing re-run for a plot


def test_raster_is_recorded_by_the_run_itself(run):
    raster = run.simulation.probes[pipeline.RASTER_PROBE]
    assert raster.shape == (pipeline.RASTER_STEPS, 4, 192) and raster.dtype == bool and raster.any()


def test_analog_experiment_runs_too():
    r = run_experiment(small(builder="analog_lca", nonneg=True, lam=0.5), "loihi1", FAST, quantize=False)
    assert np.all(r.codes >= 0) and r.quality.relative_gap < 1e-3


def test_does_not_fit_fails_before_simulating(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("simulated before the fit check")

    monkeypatch.setattr(pipeline, "simulate", boom)
    with pytest.raises(CapacityError):
        run_experiment(small(), "tiny", FAST)


def test_default_experiment_spans_several_tiles_with_traffic():
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    d["simulation"].update(steps=1000, transient=100)
    r = run_experiment(experiment_from_dict(d), "loihi1", FAST, quantize=False)
    routing, totals = r.report["routing"], r.report["totals"]
    assert routing["tiles_used"] > 1
    assert totals["hops_ew"] + totals["hops_ns"] > 0


def test_a_run_beyond_the_memory_limit_is_refused_before_building(monkeypatch):
    """Issue 16: the resource guard runs before anything is built or simulated."""
    from neurosim.errors import ResourceError
    from neurosim.guard import ResourceLimits

    def boom(*a, **k):
        raise AssertionError("built before the resource check")

    monkeypatch.setattr(pipeline, "build_experiment", boom)
    with pytest.raises(ResourceError, match=r"needs .* of memory .*the limit set by --max-memory / max_memory_bytes"):
        run_experiment(small(), "loihi1", FAST, limits=ResourceLimits(max_memory_bytes=1024))
    with pytest.raises(ResourceError, match=r"simulation.steps': would run for about"):
        run_experiment(small(), "loihi1", FAST, limits=ResourceLimits(max_duration_s=1e-6))
