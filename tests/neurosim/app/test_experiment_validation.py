"""Experiment validation: every problem named by file and key at validation time, before any
run, and no placeholder values in messages (user-test defects 18 and 19)."""
import copy

import numpy as np
import pytest

from neurosim.app.experiment import DEFAULT_EXPERIMENT, build_experiment, experiment_from_dict, load_experiment
from neurosim.cli import main
from neurosim.errors import InputError


def exp(**sections):
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    for section, values in sections.items():
        d[section].update(values)
    return d


def alca(**sim):
    d = exp(network={"builder": "analog_lca", "nonneg": True, "lam": 0.2,
                     "inputs": {"kind": "random", "n": 2, "k": 3, "seed": 3}})
    d["simulation"] = {"steps": 50, "dt_s": 0.1, **sim}
    return d


# -- defect 18 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("transient", [10, 900])
def test_transient_is_refused_for_analog_lca(transient):
    with pytest.raises(InputError, match=r"key 'simulation.transient': only used by builder spiking_lca.*"
                                         rf"got {transient}, expected no simulation.transient"):
        experiment_from_dict(alca(transient=transient), source="e_tr.yaml")


def test_analog_lca_without_transient_is_fine():
    assert experiment_from_dict(alca()).simulation["transient"] is None


def test_spiking_transient_beyond_steps_refused_at_validation():
    with pytest.raises(InputError, match=r"key 'simulation.transient': leaves no steps to count \(got 5000"):
        experiment_from_dict(exp(simulation={"steps": 5000, "transient": 5000}))


# -- defect 19 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("network, match", [
    ({"dictionary": {"kind": "default", "patch": 8, "atoms": 0}},
     r"key 'network.dictionary.atoms': invalid value \(got 0, expected an integer >= 1\)"),
    ({"inputs": {"kind": "patches", "n": 0}}, r"key 'network.inputs.n': invalid value \(got 0, expected an integer >= 1\)"),
    ({"inputs": {"kind": "random", "seed": -1}}, r"key 'network.inputs.seed': invalid value \(got -1, expected an integer >= 0\)"),
    ({"inputs": {"kind": "patchez"}}, r"key 'network.inputs.kind': unknown input kind \(got 'patchez', expected patches or random"),
    ({"inputs": {"kind": "random", "nn": 2}}, r"key 'network.inputs.nn': unknown key \(expected one of .*did you mean 'n'"),
    ({"lamda": 1.0}, r"key 'network.lamda': unknown key \(expected one of \[.*\]; did you mean 'lam'\?\)$"),
])
def test_messages_have_no_placeholders(network, match):
    with pytest.raises(InputError, match=match) as err:
        experiment_from_dict(exp(network=network), source="x.yaml")
    assert "None" not in str(err.value)


def test_null_value_is_reported_as_none():
    with pytest.raises(InputError, match=r"key 'network.lam': invalid value \(got None, expected a number >= 0\)"):
        experiment_from_dict(exp(network={"lam": None}))


def test_missing_dictionary_file_names_file_and_key(tmp_path):
    d = exp(network={"dictionary": {"file": "nope.npy"}})
    e = experiment_from_dict(d, source=str(tmp_path / "e.yaml"), base_dir=tmp_path)
    with pytest.raises(InputError, match=r"e.yaml': key 'network.dictionary.file': file not found "
                                         r"\(got '.*nope.npy', expected an existing .npy file") as err:
        build_experiment(e)
    assert "None" not in str(err.value)


def test_dictionary_file_that_is_not_npy(tmp_path):
    (tmp_path / "D.npy").write_text("name: x\n")
    e = experiment_from_dict(exp(network={"dictionary": {"file": "D.npy"}}), source="e.yaml", base_dir=tmp_path)
    with pytest.raises(InputError, match=r"key 'network.dictionary.file': is not a .npy file"):
        build_experiment(e)


def test_unknown_backend_is_refused_at_validation():
    with pytest.raises(InputError, match=r"experiment 'x.yaml': key 'simulation.backend': invalid value "
                                         r"\(got 'nest', expected brian2 or compiled or numpy\)"):
        experiment_from_dict(exp(simulation={"backend": "nest"}), source="x.yaml")


def test_unstable_dt_is_refused_at_validation():
    with pytest.raises(InputError, match=r"experiment 'x.yaml': key 'simulation.dt_s': invalid value \(got 5.0"):
        experiment_from_dict(exp(simulation={"dt_s": 5.0}), source="x.yaml")
    assert experiment_from_dict(exp(simulation={"dt_s": 1.0})).simulation["dt_s"] == 1.0


@pytest.mark.parametrize("line, needle", [
    ("  backend: nest\n", "key 'simulation.backend'"),
    ("  dt_s: 5.0\n", "key 'simulation.dt_s'"),
    ("  transient: 900\n", "key 'simulation.transient'"),
])
def test_run_refuses_before_printing_or_simulating(tmp_path, capsys, monkeypatch, line, needle):
    import neurosim.cli.run_cmd as run_cmd

    def boom(*a, **k):
        raise AssertionError("built or simulated before validation finished")

    monkeypatch.setattr(run_cmd, "build_experiment", boom)
    monkeypatch.setattr(run_cmd, "simulate", boom)
    f = tmp_path / "e.yaml"
    f.write_text("network:\n  builder: analog_lca\n  dictionary: {kind: default, patch: 8, atoms: 16}\n"
                 "  inputs: {kind: random, n: 2}\nsimulation:\n  steps: 800\n" + line)
    assert main(["run", str(f), "--chip", "tiny", "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    err = cap.err.strip()
    assert "\n" not in err and f"experiment '{f}'" in err and needle in err, err


def test_good_experiment_still_loads(tmp_path):
    f = tmp_path / "e.yaml"
    np.save(tmp_path / "D.npy", np.eye(4))
    f.write_text("network:\n  builder: analog_lca\n  dictionary: {file: D.npy}\n  inputs: {kind: random, n: 2, k: 1}\n")
    e = load_experiment(str(f))
    network, _, D, X = build_experiment(e)
    assert D.shape == (4, 4) and X.shape == (2, 4) and network.n_neurons == 4


@pytest.mark.parametrize("section", ["simulation", "mapping"])
def test_seeds_beyond_a_c_int_are_refused_with_the_key(section):
    with pytest.raises(InputError, match=rf"key '{section}.seed'.*expected an integer in 0 \.\. 2147483647"):
        experiment_from_dict({"name": "x", section: {"seed": 2**31}})
