"""Helpers shared by the subcommands (neurosim.cli.common): the argparse types ``seed_arg``,
``seconds_arg`` and ``rate_arg`` (their ranges and one-line wording, also through every command
that takes ``--seed``), and ``StageProgress`` (bars only on a terminal, one per stage)."""
from __future__ import annotations

import argparse

import pytest

from neurosim.cli import common, main
from neurosim.cli.common import MAX_SEED, StageProgress, rate_arg, seconds_arg, seed_arg
from neurosim.errors import MAX_SEED as ERRORS_MAX_SEED


# -- seed_arg ------------------------------------------------------------------------------------
def test_seed_range():
    assert seed_arg("0") == 0 and seed_arg(str(MAX_SEED)) == MAX_SEED
    assert seed_arg(" 42 ") == 42 and isinstance(seed_arg("7"), int)
    assert MAX_SEED == ERRORS_MAX_SEED == 2**31 - 1


@pytest.mark.parametrize("text, shown", [("-1", "-1"), (str(2**31), str(2**31)), ("1.5", "'1.5'"), ("x", "'x'"),
                                         ("", "''"), ("1e3", "'1e3'")])
def test_bad_seeds(text, shown):
    with pytest.raises(argparse.ArgumentTypeError) as err:
        seed_arg(text)
    assert str(err.value) == f"expected an integer in 0 .. {MAX_SEED}, got {shown}"


@pytest.mark.parametrize("cmd", [["map", "--network", "n.npz", "--chip", "tiny", "--out", "o"],
                                 ["lca", "--out", "o.npz"], ["relu", "--out", "o.npz"]])
@pytest.mark.parametrize("bad", ["-1", "99999999999999999999", "x"])
def test_bad_seed_is_one_usage_line(cmd, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(cmd + ["--seed", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"expected an integer in 0 .. {MAX_SEED}" in err and "Traceback" not in err


# -- seconds_arg ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("0", 0.0), ("2.5", 2.5), ("1e3", 1000.0), (" 3 ", 3.0)])
def test_seconds(text, value):
    assert seconds_arg(text) == value


@pytest.mark.parametrize("text, msg", [
    ("-1", "must be a number of seconds >= 0, got -1.0"),
    ("inf", "must be a number of seconds >= 0, got inf"),
    ("nan", "must be a number of seconds >= 0, got nan"),
    ("soon", "expected a number of seconds >= 0, got 'soon'"),
])
def test_bad_seconds(text, msg):
    with pytest.raises(argparse.ArgumentTypeError) as err:
        seconds_arg(text)
    assert str(err.value) == msg


# -- rate_arg ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("0", 0.0), ("1", 1.0), ("0.25", 0.25), ("1e-3", 1e-3)])
def test_rates(text, value):
    assert rate_arg(text) == value


@pytest.mark.parametrize("text, msg", [
    ("1.01", "out of range: expected events per step in [0, 1], got 1.01"),
    ("-0.1", "out of range: expected events per step in [0, 1], got -0.1"),
    ("nan", "out of range: expected events per step in [0, 1], got nan"),
    ("inf", "out of range: expected events per step in [0, 1], got inf"),
    ("half", "expected events per step in [0, 1], got 'half'"),
])
def test_bad_rates(text, msg):
    with pytest.raises(argparse.ArgumentTypeError) as err:
        rate_arg(text)
    assert str(err.value) == msg


def test_types_give_one_usage_line_through_argparse(capsys):
    p = argparse.ArgumentParser(prog="p")
    p.add_argument("--rate", type=rate_arg)
    with pytest.raises(SystemExit) as exc:
        p.parse_args(["--rate", "2"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "p: error: argument --rate: out of range: expected events per step in [0, 1], got 2.0")


# -- StageProgress -------------------------------------------------------------------------------
@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setattr(common, "_interactive", lambda: True)


def test_no_bars_unless_stderr_is_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(common, "_interactive", lambda: False)
    with StageProgress() as progress:
        assert progress.enabled is False
        progress("partition", 1, 4)
        assert progress._bar is None
    assert capsys.readouterr().err == ""


def test_enabled_false_shows_nothing_even_on_a_terminal(terminal, capsys):
    with StageProgress(enabled=False) as progress:
        progress("route", 3, 10)
        assert progress._bar is None
    assert capsys.readouterr().err == ""


def test_one_bar_per_stage_closed_by_the_next_and_at_exit(terminal, capsys):
    with StageProgress(prefix="learning") as progress:
        progress("partition", 1, 4)
        first = progress._bar
        assert first.desc == "learning: partition" and first.total == 4 and first.n == 1
        progress("partition", 3, 4)
        assert progress._bar is first and first.n == 3
        progress("place: anneal", 10, 100)
        assert progress._bar is not first and first.disable  # tqdm marks a closed bar disabled
        assert progress._bar.desc == "learning: place: anneal" and progress._bar.n == 10
        last = progress._bar
    assert progress._bar is None and progress._stage is None and last.disable
    assert "learning: partition" in capsys.readouterr().err


def test_a_new_total_in_the_same_stage_starts_a_new_bar(terminal):
    with StageProgress() as progress:
        progress("route", 1, 5)
        first = progress._bar
        progress("route", 1, 8)
        assert progress._bar is not first and progress._bar.total == 8


def test_close_twice_is_harmless(terminal):
    progress = StageProgress()
    progress("route", 1, 2)
    progress.close()
    progress.close()
    assert progress._bar is None


@pytest.mark.parametrize("stage, unit", [("place: anneal", "move"), ("place", "move"), ("partition: repair", "part"),
                                         ("partition: metis", "attempt"), ("partition", "step"), ("route", "step")])
def test_what_each_stage_counts(terminal, stage, unit):
    with StageProgress() as progress:
        progress(stage, 0, 3)
        assert progress._bar.unit == unit


def test_the_first_compile_is_announced_only_when_the_cache_is_cold(tmp_path, monkeypatch, capsys):
    import os
    import subprocess
    import sys

    code = "from neurosim.backends.compiled import kernels_cached; print(kernels_cached())"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert cold.stdout.strip() == "False"  # an empty cache: the next run compiles
    import neurosim.backends.compiled as compiled

    for cached, said in ((False, True), (True, False), (None, False)):
        monkeypatch.setattr(compiled, "kernels_cached", lambda c=cached: c)
        common.announce_compile("compiled")
        common.announce_compile("numpy")
        assert ("compiling its kernels" in capsys.readouterr().out) is said
