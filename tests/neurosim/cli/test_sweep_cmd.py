"""``neurosim sweep``: a killed sweep resumed gives the same table as an uninterrupted one; errors
the user can fix are one line and exit code 2."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from neurosim.cli import main
from tests.helpers import ROOT

EXPERIMENT = {"network": {"dictionary": {"kind": "default", "patch": 8, "atoms": 32},
                          "inputs": {"kind": "patches", "n": 3, "seed": 0}, "lam": 0.1},
              "simulation": {"steps": 300, "transient": 30},
              "mapping": {"time_budget_s": 0, "placer": "hilbert"}}
AXES = {"core.max_compartments": [16, 32, 64], "core.weight_bits": [5, 9], "experiment.network.lam": [0.1, 0.2]}


def write_sweep(tmp_path, axes=AXES, **top):
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    p = tmp_path / "sweep.yaml"
    p.write_text(yaml.safe_dump({"name": "cli", "experiment": {"file": "exp.yaml"}, "chip": "loihi1", "axes": axes,
                                 **top}, sort_keys=False))
    return p


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def table(path, drop=("mapper_wall_s",)):
    with open(path, newline="") as fh:
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(fh)]


def test_kill_and_resume_gives_the_same_table_as_an_uninterrupted_sweep(tmp_path, capsys):
    sweep = write_sweep(tmp_path)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "whole"), "--workers", "1", "--no-progress"]) == 0
    whole = table(tmp_path / "whole" / "results.csv")
    assert len(whole) == 12 and {r["status"] for r in whole} == {"ok"}

    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "neurosim", "sweep", str(sweep), "--out", str(out), "--workers",
                             "1", "--no-progress"], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    try:
        while len(list((out / "points").glob("*.json"))) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    stored = len(list((out / "points").glob("*.json")))
    assert 3 <= stored < 12, "the sweep was not killed mid-way"

    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out), "--resume", "--workers", "1", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert f"{stored} point(s) reused from the store" in printed
    assert table(out / "results.csv") == whole
    assert table(out / "pareto.csv") == table(tmp_path / "whole" / "pareto.csv")


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    sweep = write_sweep(tmp_path, axes={"core.weigth_bits": [4]})
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "sweep.yaml:axes.core.weigth_bits" in err and "line" in err and "did you mean 'chip.core.weight_bits'" in err

    sweep = write_sweep(tmp_path, axes={"core.weight_bits": [9]})
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "summary.txt").write_text("mine")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o"), "--workers", "1"]) == 2
    assert "file exists" in capsys.readouterr().err
    assert (tmp_path / "o" / "summary.txt").read_text() == "mine"

    for argv in (["--workers", "0"], ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]):
        with pytest.raises(SystemExit) as e:
            main(["sweep", str(sweep), "--out", str(tmp_path / "p"), *argv])
        assert e.value.code == 2


def test_sweep_is_in_the_command_registry_and_schema_command():
    from neurosim.cli import COMMANDS

    assert COMMANDS["sweep"] == "neurosim.cli.sweep_cmd"
    proc = subprocess.run([sys.executable, "-m", "neurosim", "chips", "schema", "--sweep"], capture_output=True,
                          text=True, env=env(), timeout=120)
    assert proc.returncode == 0 and '"title": "neurosim sweep"' in proc.stdout


@pytest.mark.slow
def test_sigterm_stops_the_default_cluster_and_resume_finishes(tmp_path):
    """The default local cluster (one worker per core): SIGTERM shuts it down (no worker process
    left), the finished points stay, and --resume completes the table."""
    psutil = pytest.importorskip("psutil")
    sweep = write_sweep(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "neurosim", "sweep", str(sweep), "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 900
    while len(list((out / "points").glob("*.json"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2  # the worker processes
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 130
    proc.stderr.close()
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive
    done = subprocess.run(cmd + ["--resume"], env=env(), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = table(out / "results.csv")
    assert len(rows) == 12 and {r["status"] for r in rows} == {"ok"}
