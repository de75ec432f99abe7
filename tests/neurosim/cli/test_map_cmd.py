"""``neurosim map`` (neurosim.cli.map_cmd) end to end, and its one-line errors (exit code 2): wrong
files as ``--network``/``--activity``, options that would be silently ignored (user-test defects
3, 4, 5, 15), a NIR export holding splitter relays (defect 14)."""
import json

import numpy as np
import pytest

from neurosim.activity import ActivityProfile
from neurosim.cli import main
from neurosim.io.network import save_network
from tests.helpers import save_tiny_files, splitter_relay_graph


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



# -- wrong input files and ignored options -------------------------------------------------------
@pytest.fixture
def wrong_files(tmp_path):
    save_tiny_files(tmp_path)
    np.savez(tmp_path / "zerometa.npz", meta=np.array(5))
    np.savez(tmp_path / "nometa.npz", a=np.zeros(3))
    np.save(tmp_path / "codes.npy", np.zeros((2, 3)))
    (tmp_path / "report.json").write_text(json.dumps({"a": 1}))
    (tmp_path / "net.yaml").write_text("network:\n  name: x\n")
    act = ActivityProfile.load(tmp_path / "act.npz")
    other = ActivityProfile(steps=act.steps, batch=act.batch, dt_s=act.dt_s,
                            counts={"lca": np.zeros(3, dtype=np.int64)}, syn_events={})
    other.save(tmp_path / "other.npz")
    return tmp_path


def run_map(files, *args):
    return main(["map", "--chip", "tiny", "--out", str(files / "o"), "--no-progress", *args])


def one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert "allow_pickle" not in err and "unsafe" not in err, err
    return err


@pytest.mark.parametrize("bad, needle", [
    ("zerometa.npz", "not an activity profile"),
    ("nometa.npz", "not an activity profile"),
    ("net.npz", "is a network file, not an activity profile"),
    ("codes.npy", "not a .npz archive (got a single .npy array"),
    ("report.json", "not a .npz archive (got a JSON text file"),
])
def test_wrong_activity_file(wrong_files, capsys, bad, needle):
    files = wrong_files
    assert run_map(files, "--network", str(files / "net.npz"), "--activity", str(files / bad)) == 2
    err = one_line(capsys)
    assert f"activity file '{files / bad}'" in err and needle in err, err
    assert not (files / "o").exists()


@pytest.mark.parametrize("bad, needle", [
    ("codes.npy", "not a .npz archive (got a single .npy array"),
    ("zerometa.npz", "not a neurosim network file"),
    ("nometa.npz", "not a neurosim network file"),
    ("act.npz", "is an activity profile, not a network"),
    # defect 4: a text file is not called a pickle
    ("report.json", "not a .npz archive (got a JSON text file"),
    ("net.yaml", "not a .npz archive (got a text file"),
])
def test_wrong_network_file(wrong_files, capsys, bad, needle):
    files = wrong_files
    assert run_map(files, "--network", str(files / bad)) == 2
    err = one_line(capsys)
    assert f"network file '{files / bad}'" in err and needle in err, err
    assert "pickle" not in err


def test_empty_activity_path_is_not_ignored(wrong_files, capsys):
    assert run_map(wrong_files, "--network", str(wrong_files / "net.npz"), "--activity", "") == 2
    assert "activity file '': empty path" in one_line(capsys)


def test_population_name_mismatch_names_both_sides(wrong_files, capsys):
    files = wrong_files
    assert run_map(files, "--network", str(files / "net.npz"), "--activity", str(files / "other.npz")) == 2
    err = one_line(capsys)
    assert f"activity file '{files / 'other.npz'}'" in err and "net.npz" in err
    assert "got ['lca']" in err and "['A', 'B', 'C', 'D']" in err, err


def test_assumed_rate_with_activity_is_refused(wrong_files, capsys):
    files = wrong_files
    assert run_map(files, "--network", str(files / "net.npz"), "--activity", str(files / "act.npz"),
                   "--assumed-rate", "0.5") == 2
    assert "--assumed-rate: not with --activity" in one_line(capsys)


def test_input_rate_without_simulate_is_refused(wrong_files, capsys):
    assert run_map(wrong_files, "--network", str(wrong_files / "net.npz"), "--input-rate", "0.5") == 2
    assert "--input-rate: only with --simulate" in one_line(capsys)


def test_assumed_rate_with_simulate_is_refused(wrong_files, capsys):
    assert run_map(wrong_files, "--nir", str(wrong_files / "x.nir"), "--dt", "1e-3", "--simulate", "10",
                   "--assumed-rate", "0.5") == 2
    assert "--assumed-rate: not with --simulate" in one_line(capsys)


def test_assumed_rate_alone_is_used(wrong_files, capsys):
    files = wrong_files
    assert run_map(files, "--network", str(files / "net.npz"), "--assumed-rate", "0.5",
                   "--partitioner", "sequential", "--placer", "identity") == 0
    rep = json.loads((files / "o" / "report.json").read_text())
    assert rep["activity"]["assumed"] is True
    n, steps = rep["network"]["neurons"], rep["activity"]["steps"]
    assert rep["totals"]["neuron_spikes"] == pytest.approx(0.5 * n * steps)


# -- a NIR export with splitter relays -----------------------------------------------------------
def test_map_refuses_splitter_relays_before_partitioning(tmp_path, capsys, monkeypatch):
    nir = pytest.importorskip("nir")
    from neurosim.cli import map_cmd

    def boom(*a, **k):
        raise AssertionError("mapping started")

    monkeypatch.setattr(map_cmd, "map_input", boom)
    f = tmp_path / "s_tn.nir"
    nir.write(str(f), splitter_relay_graph())
    assert main(["map", "--nir", str(f), "--dt", "1e-3", "--chip", "truenorth", "--out", str(tmp_path / "rt"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"NIR graph '{f}'" in err and "map the graph or network file that was mapped" in err
    assert not (tmp_path / "rt").exists()


# -- issue 16: a NIR simulation is estimated first: refused beyond the limits, announced when long --
@pytest.fixture
def small_nir(tmp_path):
    nir = pytest.importorskip("nir")
    from tests.neurosim.nir.test_read import two_layer

    f = tmp_path / "g.nir"
    nir.write(str(f), two_layer(np.random.default_rng(0))[0])
    return f


def test_map_nir_simulate_refuses_an_absurd_step_count(small_nir, tmp_path, capsys):
    err = one_line_error(capsys, ["map", "--nir", str(small_nir), "--dt", "1e-3", "--simulate", str(10**12),
                                  "--chip", "loihi1", "--out", str(tmp_path / "o"), "--no-progress"])
    assert "simulated': would run for about" in err and "years" in err
    assert not (tmp_path / "o").exists()


def test_map_nir_simulate_announces_a_long_simulation(small_nir, tmp_path, capsys, monkeypatch):
    from neurosim.app import mapping

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(mapping, "simulate", stop)
    assert main(["map", "--nir", str(small_nir), "--dt", "1e-3", "--simulate", str(10**6), "--chip", "loihi1",
                 "--out", str(tmp_path / "o"), "--no-progress"]) == 130
    assert "simulating 10 neurons for 1000000 steps: at most about" in capsys.readouterr().out


def test_map_a_sanafe_network_file_costs_its_placement_as_given(files, capsys):
    """``--sanafe-net``: the exporter's file read back is costed on its own placement (the same
    cores, the same event counts as the mapping that wrote it); ``--remap`` maps it anew; strategy
    options that would do nothing are refused."""
    from mapper import map_network, write_sanafe
    from neurosim.io.network import load_network

    net, act = load_network(files / "net.npz"), ActivityProfile.load(files / "act.npz")
    res = map_network(net, "tiny", act, partitioner="sequential", placer="hilbert", time_budget_s=0)
    sfile = str(write_sanafe(net, res, files / "net.yaml"))
    base = ["map", "--chip", "tiny", "--no-progress", "--activity", str(files / "act.npz"), "--sanafe-net", sfile]
    assert main(base + ["--out", str(files / "given")]) == 0
    out = capsys.readouterr().out
    assert "SANA-FE network" in out and "placement: as given by the file's mappings (4 cores)" in out
    rep = json.loads((files / "given" / "report.json").read_text())
    assert rep["sanafe"]["given"] is True and rep["sanafe"]["source"] == sfile
    assert sorted(c["core"] for c in rep["cores"]) == sorted(int(c) for c in res.placement.core)
    assert rep["totals"]["packets"] == pytest.approx(res.estimate.counts["packet"])
    assert rep["energy_j"]["dynamic"] == pytest.approx(res.estimate.dynamic_j, rel=1e-12)
    err = one_line_error(capsys, base + ["--out", str(files / "x"), "--placer", "identity"])
    assert "option --placer: no effect" in err and "--remap" in err
    err = one_line_error(capsys, ["map", "--chip", "tiny", "--network", str(files / "net.npz"), "--out",
                                  str(files / "y"), "--remap"])
    assert "option --remap: only with --sanafe-net" in err
    (files / "bad.yaml").write_text("network: {name: x, groups: []}\n")
    err = one_line_error(capsys, ["map", "--chip", "tiny", "--sanafe-net", str(files / "bad.yaml"),
                                  "--out", str(files / "z")])
    assert "bad.yaml:network.groups" in err and "non-empty list of groups" in err
    # --remap (what the CLI calls, without a second run's figures)
    from mapper import MappingOptions
    from neurosim.app.mapping import load_sanafe_file, map_input

    again = map_input(load_sanafe_file(sfile, remap=True), "tiny", MappingOptions(placer="identity", time_budget_s=0))
    assert again.report["sanafe"]["placement"] == "mapped anew (--remap)" and again.report["sanafe"]["given"] is False


@pytest.mark.parametrize("args, message", [
    (("--steiner-budget", "5"), "option --steiner-budget: only with --partitioner steiner (got --partitioner metis"),
    (("--partitioner", "hypergraph", "--steiner-budget", "0"), "only with --partitioner steiner"),
    (("--partitioner", "sequential", "--repair-budget", "5"),
     "option --repair-budget: not with --partitioner sequential"),
    (("--placer", "hilbert", "--time-budget", "0"), "option --time-budget: only with --placer anneal (got --placer "
                                                    "hilbert"),
])
def test_options_without_effect_are_refused_before_any_work(wrong_files, capsys, args, message):
    """Issue 16: an option the chosen strategy ignores is a usage error naming it, not silently
    dropped; the same option where it matters, and any option left at its default, are fine."""
    files = wrong_files
    assert run_map(files, "--network", str(files / "net.npz"), *args) == 2
    assert message in one_line(capsys)
    assert not (files / "o").exists()


def test_budgets_where_they_matter_are_accepted(wrong_files, capsys):
    files = wrong_files
    assert run_map(files, "--network", str(files / "net.npz"), "--partitioner", "metis", "--repair-budget", "5",
                   "--placer", "identity") == 0  # --time-budget with anneal: test_map_shows_stage_progress...
    placement = json.loads((files / "o" / "placement.json").read_text())
    assert placement["strategies"]["partitioner"] == "metis"


def test_map_nir_simulate_shows_progress_on_stderr(small_nir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("neurosim.cli.common._interactive", lambda: True)  # bars are drawn on terminals only
    assert main(["map", "--nir", str(small_nir), "--dt", "1e-3", "--simulate", "30", "--chip", "loihi1",
                 "--placer", "hilbert", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err  # the simulation's bar, with the time left: "[elapsed<remaining, rate]"
    assert "map: simulating" in err and "/30 [" in err and "<" in err and "step/s]" in err
