"""``neurosim map`` end to end, and its one-line errors (exit code 2)."""
import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.io.network import save_network
from tests.helpers import save_tiny_files


@pytest.fixture
def files(tmp_path):
    save_tiny_files(tmp_path)
    return tmp_path


def test_map_writes_everything(files, capsys):
    out = files / "out"
    rc = main(["map", "--network", str(files / "net.npz"), "--activity", str(files / "act.npz"), "--chip", "tiny",
               "--out", str(out), "--partitioner", "sequential", "--placer", "identity", "--sanafe"])
    assert rc == 0
    for name in ("report.json", "placement.json", "summary.txt", "core_utilisation.png", "link_traffic.png",
                 "sanafe_network.yaml", "sanafe_arch.yaml"):
        assert (out / name).stat().st_size > 0, name
    rep = json.loads((out / "report.json").read_text())
    assert rep["chip"]["name"] == "tiny" and rep["totals"]["neuron_spikes"] == 10
    assert rep["totals"]["packets"] == pytest.approx(16) and rep["activity"]["assumed"] is False
    assert {"by_event", "total", "dynamic", "static"} <= set(rep["energy_j"])
    assert {"per_step", "time_to_solution"} <= set(rep["latency_s"])
    assert rep["cores"][0]["resources"]["compartments"] == [4, 4]
    assert set(rep["mapper"]["wall_s"]) >= {"partition", "place", "route", "estimate", "total"}
    assert "energy" in capsys.readouterr().out
    # existing outputs are kept without --force
    rc = main(["map", "--network", str(files / "net.npz"), "--chip", "tiny", "--out", str(out)])
    assert rc == 2


def test_map_shows_stage_progress_on_a_terminal_unless_asked_not_to(files, capsys, monkeypatch):
    import neurosim.cli.common as common

    monkeypatch.setattr(common, "_interactive", lambda: True)  # as if stderr were a terminal
    argv = ["map", "--network", str(files / "net.npz"), "--activity", str(files / "act.npz"), "--chip", "tiny",
            "--time-budget", "0"]
    assert main(argv + ["--out", str(files / "a")]) == 0
    cap = capsys.readouterr()
    for stage in ("partition", "place: exact", "route"):
        assert f"mapping: {stage}" in cap.err, stage
    assert "mapping:" not in cap.out
    assert main(argv + ["--out", str(files / "b"), "--no-progress"]) == 0
    assert "mapping:" not in capsys.readouterr().err
    # the bars never change the result
    a, b = (json.loads((files / d / "placement.json").read_text()) for d in ("a", "b"))
    assert a["cores"] == b["cores"]
    monkeypatch.setattr(common, "_interactive", lambda: False)  # a log file or a pipe: no bars
    assert main(argv + ["--out", str(files / "c")]) == 0
    assert "mapping:" not in capsys.readouterr().err


def one_line_error(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and err
    return err


def test_errors_exit_2_with_one_line(files, capsys):
    base = ["map", "--network", str(files / "net.npz"), "--chip", "tiny", "--out", str(files / "o")]
    assert "not found" in one_line_error(capsys, ["map", "--network", str(files / "nope.npz"), "--chip", "tiny",
                                                  "--out", str(files / "o")])
    assert "no-such-chip" in one_line_error(capsys, base[:3] + ["--chip", "no-such-chip"] + base[5:])
    bad = files / "bad.npz"
    np.savez(bad, x=np.zeros(1))
    assert "bad.npz" in one_line_error(capsys, ["map", "--network", str(bad), "--chip", "tiny", "--out", str(files / "o")])
    assert "activity" in one_line_error(capsys, base + ["--activity", str(files / "missing.npz")])
    with pytest.raises(SystemExit) as e:
        main(base + ["--partitioner", "magic"])
    assert e.value.code == 2


def test_network_too_big_is_a_one_line_capacity_error(files, capsys, tmp_path):
    from neurosim.ir import Network, Population
    from neurosim.neurons import LIF
    net = Network(name="big")
    net.add(Population("P", 100, LIF()))   # tiny has 4 cores x 4 compartments
    save_network(net, tmp_path / "big.npz")
    err = one_line_error(capsys, ["map", "--network", str(tmp_path / "big.npz"), "--chip", "tiny",
                                  "--out", str(tmp_path / "o2")])
    assert "max_compartments" in err and "cores" in err


def test_map_with_steiner_over_its_budget_says_who_took_over(files, capsys):
    pytest.importorskip("mtkahypar")
    out = files / "out"
    rc = main(["map", "--network", str(files / "net.npz"), "--activity", str(files / "act.npz"), "--chip", "tiny",
               "--out", str(out), "--partitioner", "steiner", "--steiner-budget", "0", "--no-progress"])
    assert rc == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["partition"]["strategy"] == "hypergraph" and rep["partition"]["requested"] == "steiner"
    assert "no time left in its budget" in rep["partition"]["fallback"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["map", "--network", str(files / "net.npz"), "--chip", "tiny", "--out", str(files / "o2"),
              "--steiner-budget", "-1"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err.count("\n") == 0
    assert "argument --steiner-budget: must be a number of seconds >= 0, got -1.0" in err
