"""``neurosim map`` inputs: wrong files as ``--network``/``--activity`` and options that would be
silently ignored give one-line exit-2 errors naming the file or option (user-test defects 3, 4,
5, 15)."""
import json

import numpy as np
import pytest

from neurosim.activity import ActivityProfile
from neurosim.cli import main
from neurosim.errors import InputError
from neurosim.io.network import load_network
from tests.helpers import save_tiny_files


@pytest.fixture
def files(tmp_path):
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


# -- defect 3 ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, needle", [
    ("zerometa.npz", "not an activity profile"),
    ("nometa.npz", "not an activity profile"),
    ("net.npz", "is a network file, not an activity profile"),
    ("codes.npy", "not a .npz archive (got a single .npy array"),
    ("report.json", "not a .npz archive (got a JSON text file"),
])
def test_wrong_activity_file(files, capsys, bad, needle):
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
def test_wrong_network_file(files, capsys, bad, needle):
    assert run_map(files, "--network", str(files / bad)) == 2
    err = one_line(capsys)
    assert f"network file '{files / bad}'" in err and needle in err, err
    assert "pickle" not in err


def test_library_loaders_raise_input_errors(files):
    with pytest.raises(InputError, match="not an activity profile"):
        ActivityProfile.load(files / "zerometa.npz")
    with pytest.raises(InputError, match="not a .npz archive"):
        load_network(files / "codes.npy")
    with pytest.raises(InputError, match="not found"):
        ActivityProfile.load(files / "missing.npz")


def test_empty_activity_path_is_not_ignored(files, capsys):
    assert run_map(files, "--network", str(files / "net.npz"), "--activity", "") == 2
    assert "activity file '': empty path" in one_line(capsys)


def test_pickled_entries_are_never_suggested(files):
    np.savez(files / "obj.npz", meta=np.array([1, 2, 3]), dt_s=np.array(1.0), source=np.array([{}], dtype=object))
    with pytest.raises(InputError) as err:
        ActivityProfile.load(files / "obj.npz")
    assert "pickled" in str(err.value) and "allow_pickle" not in str(err.value)


# -- defect 5 ------------------------------------------------------------------------------------
def test_population_name_mismatch_names_both_sides(files, capsys):
    assert run_map(files, "--network", str(files / "net.npz"), "--activity", str(files / "other.npz")) == 2
    err = one_line(capsys)
    assert f"activity file '{files / 'other.npz'}'" in err and "net.npz" in err
    assert "got ['lca']" in err and "['A', 'B', 'C', 'D']" in err, err


def test_population_size_mismatch_reports_both_shapes(files):
    net = load_network(files / "net.npz")
    act = ActivityProfile.load(files / "act.npz")
    counts = dict(act.counts)
    counts["A"] = np.zeros(counts["A"].size + 1, dtype=np.int64)
    bad = ActivityProfile(steps=act.steps, batch=act.batch, dt_s=act.dt_s, counts=counts, syn_events=act.syn_events)
    with pytest.raises(ValueError, match=r"activity 'A'.*got shape \(\d+,\), expected shape \(\d+,\)"):
        bad.check_matches(net)


# -- defect 15 -----------------------------------------------------------------------------------
def test_assumed_rate_with_activity_is_refused(files, capsys):
    assert run_map(files, "--network", str(files / "net.npz"), "--activity", str(files / "act.npz"),
                   "--assumed-rate", "0.5") == 2
    assert "--assumed-rate: not with --activity" in one_line(capsys)


def test_input_rate_without_simulate_is_refused(files, capsys):
    assert run_map(files, "--network", str(files / "net.npz"), "--input-rate", "0.5") == 2
    assert "--input-rate: only with --simulate" in one_line(capsys)


def test_assumed_rate_with_simulate_is_refused(files, capsys):
    assert run_map(files, "--nir", str(files / "x.nir"), "--dt", "1e-3", "--simulate", "10",
                   "--assumed-rate", "0.5") == 2
    assert "--assumed-rate: not with --simulate" in one_line(capsys)


def test_assumed_rate_alone_is_used(files, capsys):
    assert run_map(files, "--network", str(files / "net.npz"), "--assumed-rate", "0.5", "--time-budget", "0",
                   "--partitioner", "sequential", "--placer", "identity") == 0
    rep = json.loads((files / "o" / "report.json").read_text())
    assert rep["activity"]["assumed"] is True
    n, steps = rep["network"]["neurons"], rep["activity"]["steps"]
    assert rep["totals"]["neuron_spikes"] == pytest.approx(0.5 * n * steps)
