"""Experiment files: validation with file and key in every error; building and running."""
import copy

import numpy as np
import pytest

from neurosim.app.experiment import DEFAULT_EXPERIMENT, experiment_from_dict, load_experiment, run_experiment
from neurosim.errors import InputError
from tests.helpers import ROOT


def small(**net):
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    d["network"]["inputs"] = {"kind": "patches", "patch": 8, "n": 4, "seed": 0}
    d["simulation"].update(steps=3000, transient=300)
    d["network"].update(net)
    if d["network"].get("builder") == "analog_lca":  # no transient: its codes are the final state
        d["simulation"].pop("transient")
    return d


def test_default_experiment_solves_lasso():
    run = run_experiment(experiment_from_dict(small()))
    assert run.codes.shape == (4, 256)
    assert 0 <= run.relative_gap < 2e-3
    assert run.result.activity.total_events > 0


def test_analog_builder_and_nonneg():
    run = run_experiment(experiment_from_dict(small(builder="analog_lca", nonneg=True, lam=0.5)))
    assert np.all(run.codes >= 0)
    assert run.relative_gap < 1e-3


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update(netwrk={}), r"key 'netwrk': unknown key.*did you mean 'network'"),
    (lambda d: d["network"].update(lam=-1), r"key 'network.lam': invalid value \(got -1, expected a number >= 0\)"),
    (lambda d: d["network"].update(builder="lif"), r"key 'network.builder': unknown builder"),
    (lambda d: d["simulation"].update(steps=2.5), r"key 'simulation.steps': invalid value"),
    (lambda d: d["simulation"].update(stepz=2), r"key 'simulation.stepz': unknown key.*did you mean 'steps'"),
    (lambda d: d["network"].pop("dictionary"), r"key 'network.dictionary': is required"),
    (lambda d: d.update(network=[1, 2]), r"key 'network': must be a mapping"),
])
def test_bad_experiments_name_the_key(mutate, match):
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    mutate(d)
    with pytest.raises(InputError, match=match):
        experiment_from_dict(d, source="exp.yaml")


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_experiment(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("network: {lam: [1,\n")
    with pytest.raises(InputError, match=r"bad.yaml': not valid YAML at line"):
        load_experiment(str(bad))
    d = tmp_path / "d.yaml"
    d.write_text("network:\n  dictionary: {file: missing.npy}\n  inputs: {kind: patches}\n")
    exp = load_experiment(str(d))
    with pytest.raises(InputError, match=r"key 'network.dictionary.file': file not found \(got '.*missing.npy'"):
        run_experiment(exp)


def test_files_relative_to_the_experiment(tmp_path):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((16, 24))
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((3, 16))
    np.save(tmp_path / "D.npy", D)
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "e.yaml").write_text(
        "network:\n  dictionary: {file: D.npy}\n  inputs: {file: X.npy}\n  lam: 0.3\n"
        "simulation: {steps: 4000, transient: 400}\n")
    run = run_experiment(load_experiment(str(tmp_path / "e.yaml")))
    assert run.codes.shape == (3, 24) and run.relative_gap < 2e-3
    np.save(tmp_path / "X.npy", rng.standard_normal((3, 5)))
    with pytest.raises(InputError, match=r"key 'network.inputs': shape does not match the dictionary"):
        run_experiment(load_experiment(str(tmp_path / "e.yaml")))


def test_shipped_examples_validate():

    for path in (ROOT / "examples").glob("*.yaml"):
        load_experiment(str(path))
