"""`neurosim run`: the main job end to end, and its errors."""
import json

import numpy as np
import pytest

from neurosim.cli import main


@pytest.fixture
def exp_file(tmp_path):
    p = tmp_path / "exp.yaml"
    p.write_text("name: small\nnetwork:\n  builder: spiking_lca\n  dictionary: {kind: default, patch: 8, atoms: 128}\n"
                 "  inputs: {kind: patches, patch: 8, n: 4, seed: 0}\n  lam: 1.0\n"
                 "simulation: {steps: 1500, dt_s: 0.1, transient: 150}\n"
                 "mapping: {partitioner: metis, placer: anneal, time_budget_s: 1.0}\n")
    return p


def test_run_writes_report_placement_and_quality(exp_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(exp_file), "--chip", "loihi1", "--out", str(out)]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["chip"]["name"] == "loihi1"
    assert rep["totals"]["neuron_spikes"] == int(np.load(out / "activity.npz")["counts/slca"].sum())
    q = rep["solution_quality"]
    assert 0 <= q["relative_gap"] < 0.05 and q["quantized"]["weight_bits"] == 9
    assert q["quantized"]["objective"] >= q["optimum_fista"] * (1 - 1e-9)
    assert rep["energy_j"]["total"] > 0 and rep["latency_s"]["per_step"] > 0
    placement = json.loads((out / "placement.json").read_text())
    held = sum(r[1] - r[0] for core in placement["cores"] for ranges in core["neurons"].values() for r in ranges) \
        if isinstance(placement["cores"][0]["neurons"], dict) else None
    assert held in (None, 256)
    assert np.load(out / "codes.npy").shape == (4, 128)
    for name in ("summary.txt", "core_utilisation.png", "link_traffic.png", "activity.png", "network.npz"):
        assert (out / name).stat().st_size > 0
    printed = capsys.readouterr().out
    assert "solution quality" in printed
    assert f"with quantised weights ({q['quantized']['weights']['description']}): objective" in printed


def test_run_refuses_to_overwrite_and_reports_capacity(exp_file, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("mine")
    assert main(["run", str(exp_file), "--chip", "loihi1", "--out", str(out)]) == 2
    assert (out / "report.json").read_text() == "mine"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "file exists" in err[0]
    # 256 neurons cannot fit the 16-compartment test chip: one line naming the limit
    assert main(["run", str(exp_file), "--chip", "tiny", "--out", str(tmp_path / "o2"), "--no-quantize"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "capacity" in err[0]


def test_run_bad_experiment_and_chip(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("network: {lam: -3}\n")
    assert main(["run", str(bad), "--chip", "loihi1", "--out", str(tmp_path / "o")]) == 2
    assert "network.lam" in capsys.readouterr().err
    assert main(["run", "--chip", "no-such-chip", "--out", str(tmp_path / "o")]) == 2
    assert "no-such-chip" in capsys.readouterr().err


@pytest.mark.parametrize("extra, match", [
    (["--max-memory", "1M"], r"^neurosim run: error: resources '.*exp.yaml:network.dictionary': needs .* MiB of memory"),
    (["--max-duration", "1s"], r"^neurosim run: error: resources '.*exp.yaml:simulation.steps': would run for about"),
])
def test_limits_refuse_before_any_work(exp_file, tmp_path, capsys, extra, match):
    """Issue 16: a run beyond --max-memory / --max-duration is refused with its estimate, one line, exit 2,
    and nothing is written."""
    out = tmp_path / "out"
    assert main(["run", str(exp_file), "--chip", "loihi1", "--out", str(out)] + extra) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and __import__("re").search(match, err), err
    assert not out.exists()


@pytest.mark.parametrize("value", ["lots", "-1G", "0"])
def test_bad_limit_values_are_usage_errors(exp_file, tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(exp_file), "--chip", "loihi1", "--out", str(tmp_path / "o"), "--max-memory", value])
    assert exc.value.code == 2 and "--max-memory" in capsys.readouterr().err


def test_a_long_run_says_its_estimate_first(tmp_path, capsys, monkeypatch):
    """A run estimated to take long prints the estimate before it starts (the progress bars follow)."""
    import neurosim.cli.run_cmd as run_cmd

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_cmd, "run_experiment", stop)
    p = tmp_path / "e.yaml"
    p.write_text("network:\n  dictionary: {kind: default, patch: 8, atoms: 256}\n  inputs: {kind: patches, n: 64}\n"
                 "simulation: {steps: 40000}\n")
    assert main(["run", str(p), "--chip", "loihi1", "--out", str(tmp_path / "o")]) == 130
    out = capsys.readouterr().out
    assert "2 simulation(s) of 64 inputs x 512 neurons: at most about" in out and "min" in out


def test_a_time_budget_the_placer_ignores_is_refused(exp_file, tmp_path, capsys):
    """Issue 16: --time-budget only budgets the anneal placer's refinement."""
    out = tmp_path / "o"
    assert main(["run", str(exp_file), "--chip", "loihi1", "--out", str(out), "--placer", "identity",
                 "--time-budget", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "option --time-budget: placer 'identity' does not refine" in err
    assert not out.exists()
