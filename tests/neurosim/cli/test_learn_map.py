"""``neurosim learn --chip`` (neurosim.cli.learn_map): the cost of learning a dictionary on a chip."""
import json
import re

import numpy as np
import pytest

from neurosim.activity import ActivityProfile
from neurosim.cli import main
from neurosim.cli.learn_map import OUTPUTS
from neurosim.estimators.dictlearn import LocalDictionaryLearning
from neurosim.io.network import load_network
from tests.helpers import ROOT

ROOT = ROOT
# 8 atoms of dimension 64, 30 samples in mini-batches of 10: 3 local updates
TINY = ["--data", "planted", "--atoms", "8", "--train", "30", "--test", "10", "--batch", "10", "--samples", "30",
        "--seed", "1", "--no-progress"]
#: plastic synapses: F 8 x 64 + B 64 x 8 + H 8 x 8 off-diagonal
PLASTIC = 8 * 64 + 64 * 8 + 8 * 7


def learn(tmp_path, *extra, name="d.npz"):
    return main(["learn", *TINY, "--out", str(tmp_path / name), *extra])


def test_spiking_learning_cost_on_loihi1(tmp_path, capsys):
    act_path = tmp_path / "act.npz"
    assert learn(tmp_path, "--method", "local-spiking", "--chip", "loihi1", "--time-budget", "0",
                 "--activity-out", str(act_path)) == 0
    out = capsys.readouterr().out
    assert "fits chip 'loihi1'" in out.splitlines()[0]  # checked before training
    assert "cost of learning on chip 'loihi1'" in out and "learning updates" in out and "core(s)" in out
    assert_labelled(out, "simulated")
    d_map = tmp_path / "d_map"  # default: <out stem>_map beside --out
    for name in OUTPUTS:
        assert (d_map / name).is_file(), name
    report = json.loads((d_map / "report.json").read_text())

    # independent count from the saved network and profile: |plastic synapses| x epochs, summed
    net = load_network(d_map / "network.npz")
    act = ActivityProfile.load(act_path)
    expected = sum(int(np.count_nonzero(c.structure())) * act.learn_epochs[c.name]
                   for c in net.connections if c.plastic)
    assert expected == PLASTIC * 3
    assert report["totals"]["learn_updates"] == pytest.approx(expected, rel=1e-12)
    assert report["network"]["plastic_connections"] == [
        {"name": n, "learning_model": "epoch", "epochs": 3} for n in ("F", "B", "H")]

    # the profile that was mapped is the one saved
    assert report["activity"]["source"] == act.source == "simulated:compiled"
    assert (report["activity"]["steps"], report["activity"]["batch"]) == (act.steps, act.batch)
    assert report["totals"]["neuron_spikes"] == pytest.approx(act.total_events, rel=1e-12)
    learning = report["learning"]
    assert learning["activity"] == "simulated" and learning["samples_profiled"] == 30
    assert learning["updates"] == {"F": 3, "B": 3, "H": 3}
    assert learning["learn_update_j"] == pytest.approx(report["energy_j"]["by_event"]["learn_update"])
    assert any("SIMULATED" in n for n in report["notes"])
    assert "learning updates" in (d_map / "summary.txt").read_text()

    # no silent overwrite of the mapping outputs (other --out, same --map-out)
    assert learn(tmp_path, "--method", "local-spiking", "--chip", "loihi1", "--map-out", str(d_map),
                 name="other.npz") == 2
    assert "exists" in capsys.readouterr().err
    assert not (tmp_path / "other.npz").exists()


def test_saved_network_and_activity_remap_to_the_same_learning_cost(tmp_path, capsys):
    """--activity-out round trip: ``neurosim map`` of the saved network and profile charges the
    same learning updates as the learn run's own mapping."""
    act_path = tmp_path / "act.npz"
    assert learn(tmp_path, "--chip", "loihi1", "--time-budget", "0", "--activity-out", str(act_path),
                 "--map-out", str(tmp_path / "m")) == 0
    assert main(["map", "--network", str(tmp_path / "m" / "network.npz"), "--activity", str(act_path),
                 "--chip", "loihi1", "--time-budget", "0", "--out", str(tmp_path / "again")]) == 0
    first = json.loads((tmp_path / "m" / "report.json").read_text())
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["totals"]["learn_updates"] == pytest.approx(first["totals"]["learn_updates"], rel=1e-12)
    assert again["totals"]["learn_updates"] == pytest.approx(PLASTIC * 3, rel=1e-12)
    # the profile records the samples it covers (activity.inputs): the re-mapping counts per sample too
    assert again["activity"] == first["activity"]


def assert_labelled(out: str, kind: str) -> None:
    """The cost headline and every figure in it say whether they are simulated or modelled."""
    lines = out[out.index("cost of learning on chip"):].splitlines()[:3]
    assert f"({kind.upper()} figures, " in lines[0]
    energy, latency = lines[1], lines[2]
    assert re.search(rf"energy \S+ J {kind} \(\S+ J per sample, {kind}\)", energy), energy
    assert re.search(rf"learning updates \S+ J = .* \({kind}\)$", energy), energy
    assert re.search(rf"latency \S+ s per step {kind};", latency), latency
    other = "modelled" if kind == "simulated" else "simulated"
    assert other not in "\n".join(lines[1:]).lower()


def test_local_rate_activity_is_labelled_as_a_fixed_point_model(tmp_path, capsys):
    """local-rate is costed as the spiking network firing at its fixed-point rates, and says so."""
    assert learn(tmp_path, "--method", "local-rate", "--chip", "loihi1", "--time-budget", "0") == 0
    report = json.loads((tmp_path / "d_map" / "report.json").read_text())
    assert report["activity"]["source"] == "fixed-point:spikes" and not report["activity"]["assumed"]
    assert report["learning"]["activity"] == "fixed-point model" and report["learning"]["figures"] == "modelled"
    assert any("MODELLED, not simulated" in n for n in report["notes"])
    assert report["totals"]["learn_updates"] == pytest.approx(PLASTIC * 3, rel=1e-12)
    # the spiking network's accounting: binary spikes, 640 steps per phase, 2 phases x 3 updates
    assert report["activity"]["steps"] == 2 * 640 * 3
    assert not any("GRADED ON A BINARY CHIP" in n for n in report["notes"])
    verdict = report["learning"]["converged"]  # the training's verdict, as learn printed it
    assert verdict["converged"] in (True, False) and verdict["tol"] == 0.05
    out = capsys.readouterr().out
    assert "MODELLED" in out
    assert_labelled(out, "modelled")


def test_resumed_run_profiles_only_its_own_samples(tmp_path, capsys):
    ck = str(tmp_path / "ck.npz")
    assert learn(tmp_path, "--checkpoint", ck, "--stop-after", "20", "--chip", "loihi1") == 0
    assert "not mapped" in capsys.readouterr().out
    assert not (tmp_path / "d_map").exists()
    assert learn(tmp_path, "--checkpoint", ck, "--resume", "--chip", "loihi1", "--time-budget", "0") == 0
    report = json.loads((tmp_path / "d_map" / "report.json").read_text())
    assert (report["learning"]["first_sample"], report["learning"]["samples_profiled"]) == (20, 10)
    assert report["learning"]["updates"] == {"F": 1, "B": 1, "H": 1}
    assert report["totals"]["learn_updates"] == pytest.approx(PLASTIC, rel=1e-12)
    assert any("only samples 20..30" in n for n in report["notes"])
    # a finished checkpoint leaves nothing to profile: refused before any work
    assert learn(tmp_path, "--checkpoint", ck, "--resume", "--chip", "loihi1", "--force") == 2
    assert "no samples left" in capsys.readouterr().err


def test_partitioner_and_placer_options_reach_the_mapping(tmp_path, capsys):
    """--partitioner/--placer are those of ``neurosim map``: the learn run's placement equals the
    one ``neurosim map`` makes of the saved network and profile with the same options."""
    act_path = tmp_path / "act.npz"
    opts = ["--partitioner", "sequential", "--placer", "identity"]
    assert learn(tmp_path, "--chip", "loihi1", "--activity-out", str(act_path),
                 "--map-out", str(tmp_path / "m"), *opts) == 0
    assert main(["map", "--network", str(tmp_path / "m" / "network.npz"), "--activity", str(act_path),
                 "--chip", "loihi1", "--out", str(tmp_path / "again"), *opts]) == 0
    first = json.loads((tmp_path / "m" / "placement.json").read_text())
    again = json.loads((tmp_path / "again" / "placement.json").read_text())
    assert (first["strategies"]["partitioner"], first["strategies"]["placer"]) == ("sequential", "identity")
    assert first["cores"] == again["cores"]
    # identity placement: part i on board core i
    assert [c["core"] for c in first["cores"]] == list(range(len(first["cores"])))
    assert learn(tmp_path, "--placer", "identity", name="e.npz") == 2
    assert "needs --chip" in capsys.readouterr().err


def test_hypergraph_without_its_module_is_refused_before_training(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mtkahypar" else real(name, *a))
    assert learn(tmp_path, "--chip", "loihi1", "--partitioner", "hypergraph") == 2
    captured = capsys.readouterr()
    assert "--partitioner" in captured.err and "neurosim[hypergraph]" in captured.err
    assert "fits chip" not in captured.out and not (tmp_path / "d.npz").exists()


def test_chip_with_sgd_is_refused(tmp_path, capsys):
    assert learn(tmp_path, "--method", "sgd", "--chip", "loihi1") == 2
    err = capsys.readouterr().err
    assert "--chip" in err and "sgd" in err and "local-rate or local-spiking" in err
    assert not (tmp_path / "d.npz").exists()


def test_mapping_options_need_a_chip(tmp_path, capsys):
    assert learn(tmp_path, "--map-out", str(tmp_path / "m")) == 2
    assert "needs --chip" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        learn(tmp_path, "--chip", "loihi1", "--time-budget", "-1")
    assert e.value.code == 2 and "argument --time-budget: must be a number of seconds >= 0" in capsys.readouterr().err


def test_too_small_chip_fails_before_training(tmp_path, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although the network cannot fit the chip")

    monkeypatch.setattr(LocalDictionaryLearning, "fit", no_training)
    # chips/tiny.yaml: 4 cores of 4 compartments, far fewer than 64 + 8 neurons
    assert learn(tmp_path, "--method", "local-spiking", "--chip", str(ROOT / "chips" / "tiny.yaml")) == 2
    err = capsys.readouterr().err
    assert "capacity" in err and "exceeded" in err
    assert not (tmp_path / "d.npz").exists() and not (tmp_path / "d_map").exists()


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
    per_sample = float(re.search(r"\(([0-9.e+-]+) J per sample, simulated\)", out).group(1))
    assert per_input == pytest.approx(per_sample, rel=1e-3) == pytest.approx(e["per_input"], rel=1e-3)


def test_a_time_budget_the_placer_ignores_is_refused(tmp_path, capsys):
    assert learn(tmp_path, "--chip", "loihi1", "--placer", "hilbert", "--time-budget", "0") == 2
    assert "option --time-budget: only with placer anneal (got placer hilbert" in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()
