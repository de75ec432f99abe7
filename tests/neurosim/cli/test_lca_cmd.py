"""``neurosim lca`` (neurosim.cli.lca_cmd): the command-line contract of issue 2."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurosim.activity import ActivityProfile
from neurosim.cli import main
from neurosim.data.samples import random_lasso_problem
from neurosim.solvers.lasso import fista, lasso_objective
from tests.helpers import ROOT

ROOT = ROOT


def _run(argv):
    """Run the CLI in-process: (exit code); argparse errors exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture
def files(tmp_path):
    p = random_lasso_problem(16, 32, 3, batch=5, seed=31)
    np.save(tmp_path / "D.npy", p.D)
    np.save(tmp_path / "X.npy", p.X)
    return tmp_path, p


def test_fista_writes_optimal_codes(files, capsys):
    d, p = files
    rc = _run(["lca", "--dictionary", str(d / "D.npy"), "--inputs", str(d / "X.npy"), "--lam", "0.1",
               "--method", "fista", "--out", str(d / "codes.npy")])
    assert rc == 0
    codes = np.load(d / "codes.npy")
    assert codes.shape == (5, 32)
    np.testing.assert_allclose(codes, fista(p.D, p.X, 0.1), atol=1e-8)
    out = capsys.readouterr().out
    obj = lasso_objective(p.D, p.X, codes, 0.1).mean()
    assert f"objective (mean): {obj:.6g}" in out and "sparsity:" in out


def test_slca_reports_spikes_and_writes_activity(files, capsys):
    d, p = files
    rc = _run(["lca", "--dictionary", str(d / "D.npy"), "--inputs", str(d / "X.npy"), "--lam", "0.1", "--nonneg",
               "--method", "slca", "--steps", "3000", "--dt", "0.1", "--seed", "1",
               "--out", str(d / "codes.npy"), "--activity", str(d / "act.npz")])
    assert rc == 0
    codes = np.load(d / "codes.npy")
    assert codes.shape == (5, 32) and np.all(codes >= 0)
    act = ActivityProfile.load(d / "act.npz")
    assert act.steps == 3000 and act.batch == 5
    out = capsys.readouterr().out
    assert f"spikes: {act.total_events}, synaptic events: {act.total_syn_events}" in out
    assert "relative gap" in out


def test_lca_method_and_single_vector_input(files):
    d, p = files
    np.save(d / "x1.npy", p.X[0])
    rc = _run(["lca", "--dictionary", str(d / "D.npy"), "--inputs", str(d / "x1.npy"), "--lam", "0.1",
               "--method", "lca", "--steps", "1500", "--out", str(d / "codes.npy")])
    assert rc == 0
    codes = np.load(d / "codes.npy")
    assert codes.shape == (1, 32)
    np.testing.assert_allclose(codes[0], fista(p.D, p.X[0], 0.1), atol=1e-5)


def test_builtin_example(tmp_path, capsys):
    rc = _run(["lca", "--method", "slca", "--steps", "1000", "--out", str(tmp_path / "c.npy")])
    assert rc == 0
    assert np.load(tmp_path / "c.npy").shape == (100, 256)
    assert "built-in example" in capsys.readouterr().out


def test_force_overwrites(files):
    d, _ = files
    out = d / "codes.npy"
    out.write_bytes(b"old")
    args = ["lca", "--dictionary", str(d / "D.npy"), "--inputs", str(d / "X.npy"), "--lam", "0.1",
            "--method", "fista", "--out", str(out)]
    assert _run(args) == 2 and out.read_bytes() == b"old"
    assert _run(args + ["--force"]) == 0 and np.load(out).shape == (5, 32)


def _bad_files(d: Path) -> None:
    np.save(d / "D1.npy", np.ones(16))
    np.save(d / "Xwide.npy", np.ones((3, 17)))
    np.save(d / "strings.npy", np.array(["a", "b"]))
    np.save(d / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(d / "Dnan.npy", np.full((16, 32), np.nan))
    np.savez(d / "two.npz", a=np.ones(3), b=np.ones(3))
    (d / "garbage.npy").write_bytes(b"not a numpy file at all")


BAD = [
    (["--dictionary", "{d}/missing.npy", "--inputs", "{d}/X.npy", "--lam", "0.1"], "not found"),
    (["--dictionary", "{d}/D1.npy", "--inputs", "{d}/X.npy", "--lam", "0.1"], "2-D"),
    (["--dictionary", "{d}/D.npy", "--inputs", "{d}/Xwide.npy", "--lam", "0.1"], "(batch, 16)"),
    (["--dictionary", "{d}/strings.npy", "--inputs", "{d}/X.npy", "--lam", "0.1"], "not real numeric"),
    (["--dictionary", "{d}/objects.npy", "--inputs", "{d}/X.npy", "--lam", "0.1"], "cannot be read"),
    (["--dictionary", "{d}/garbage.npy", "--inputs", "{d}/X.npy", "--lam", "0.1"], "not a .npy file"),
    (["--dictionary", "{d}/two.npz", "--inputs", "{d}/X.npy", "--lam", "0.1"], "several arrays"),
    (["--dictionary", "{d}/Dnan.npy", "--inputs", "{d}/X.npy", "--lam", "0.1"], "NaN"),
    (["--dictionary", "{d}", "--inputs", "{d}/X.npy", "--lam", "0.1"], "directory"),
    (["--dictionary", "{d}/D.npy", "--inputs", "{d}/X.npy", "--lam", "-1"], "--lam"),
    (["--dictionary", "{d}/D.npy", "--inputs", "{d}/X.npy", "--lam", "nan"], "--lam"),
    (["--dictionary", "{d}/D.npy", "--inputs", "{d}/X.npy", "--lam", "abc"], "invalid float"),
    (["--dictionary", "{d}/D.npy", "--inputs", "{d}/X.npy"], "--lam"),
    (["--dictionary", "{d}/D.npy", "--lam", "0.1"], "--inputs"),
    (["--inputs", "{d}/X.npy", "--lam", "0.1"], "--dictionary"),
    (["--steps", "0"], "--steps"),
    (["--dt", "0"], "--dt"),
    (["--dt", "-0.1", "--method", "lca"], "--dt"),
    (["--method", "omp"], "invalid choice"),
    (["--backend", "nest"], "invalid choice"),
    (["--method", "fista", "--activity", "{d}/a.npz"], "--activity"),
    (["--method", "fista", "--backend", "numpy"], "--backend"),
    (["--activity", "{d}/codes.npy"], "same file"),
]


@pytest.mark.parametrize("extra, match", BAD)
def test_bad_arguments_exit_2_with_one_line(files, capsys, extra, match):
    d, _ = files
    _bad_files(d)
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    argv = ["lca"] + [a.format(d=d) for a in extra] + ["--out", str(d / "codes.npy")]
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (d / "codes.npy").exists()
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == before


def test_existing_activity_file_is_not_overwritten(files, capsys):
    d, _ = files
    (d / "act.npz").write_bytes(b"keep")
    argv = ["lca", "--dictionary", str(d / "D.npy"), "--inputs", str(d / "X.npy"), "--lam", "0.1",
            "--steps", "100", "--out", str(d / "codes.npy"), "--activity", str(d / "act.npz")]
    assert _run(argv) == 2
    assert "file exists" in capsys.readouterr().err
    assert (d / "act.npz").read_bytes() == b"keep" and not (d / "codes.npy").exists()


def test_subprocess_error_has_no_traceback(files):
    d, _ = files
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "neurosim", "lca", "--dictionary", str(d / "nope.npy"),
                           "--inputs", str(d / "X.npy"), "--lam", "0.1", "--out", str(d / "c.npy")],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not (d / "c.npy").exists()


def test_lca_dt_beyond_the_euler_bound_is_refused_before_running(tmp_path, capsys):
    D = np.random.default_rng(0).normal(size=(20, 40))
    D = 5 * D / np.linalg.norm(D, axis=0)  # atoms of norm 5: ||D||^2 ~ 125
    np.save(tmp_path / "D.npy", D)
    np.save(tmp_path / "X.npy", np.ones((2, 20)))
    argv = ["lca", "--dictionary", str(tmp_path / "D.npy"), "--inputs", str(tmp_path / "X.npy"), "--lam", "0.1",
            "--method", "lca", "--out", str(tmp_path / "c.npy")]
    assert main(argv) == 2
    bound = 2 / np.linalg.norm(D, 2) ** 2
    assert "argument '--dt': too large for this dictionary" in capsys.readouterr().err
    assert main(argv + ["--dt", f"{0.9 * bound}", "--steps", "50"]) == 0
