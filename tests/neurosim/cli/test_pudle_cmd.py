"""``neurosim pudle`` and ``neurosim relu`` (neurosim.cli.pudle_cmd, neurosim.cli.relu_cmd)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import threadpoolctl

from neurosim.cli import main
from neurosim.data.planted import make_planted
from neurosim.estimators.pudle import relative_error
from neurosim.solvers.lasso import fista, lasso_objective
from neurosim.solvers.relu import relu_code


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpoolctl.threadpool_limits(1):
        yield


def _run(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_pudle_planted_writes_dictionary_curves_and_plot(tmp_path, capsys):
    out, png = tmp_path / "dict.npz", tmp_path / "curve.png"
    rc = _run(["pudle", "--n", "300", "--T", "10", "--epochs", "5", "--seed", "2", "--out", str(out),
               "--plot", str(png), "--no-progress"])
    assert rc == 0
    with np.load(out) as f:
        D, D_true, err = f["dictionary"], f["D_true"], f["rel_error"]
        assert D.shape == (50, 100) and f["loss_curve"].shape == (5,) and err.shape == (6,)
        assert json.loads(str(f["settings"]))["T"] == 10
    prob = make_planted(n=300, seed=2)
    np.testing.assert_array_equal(D_true, prob.D_true)
    assert err[0] == pytest.approx(relative_error(prob.D_init, prob.D_true))
    assert err[-1] == pytest.approx(relative_error(D, D_true))
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), 1.0, atol=1e-12)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "relative error" in capsys.readouterr().out
    # existing outputs are not replaced without --force
    assert _run(["pudle", "--n", "50", "--T", "2", "--epochs", "1", "--out", str(out), "--no-progress"]) == 2
    assert "exists" in capsys.readouterr().err
    assert _run(["pudle", "--n", "50", "--T", "2", "--epochs", "1", "--out", str(out), "--force",
                 "--no-progress"]) == 0


def test_pudle_digits_and_bad_arguments(tmp_path, capsys):
    assert _run(["pudle", "--data", "digits", "--n", "200", "--T", "5", "--epochs", "2", "--atoms", "40",
                 "--out", str(tmp_path / "d.npz"), "--no-progress"]) == 0
    with np.load(tmp_path / "d.npz") as f:
        assert f["dictionary"].shape == (64, 40) and "rel_error" not in f.files
    for bad in (["--alpha", "-1"], ["--T", "0"], ["--estimator", "nope"], ["--alpha", "5"]):
        assert _run(["pudle", "--n", "50", "--T", "3", "--epochs", "1", "--no-progress", *bad]) == 2
    assert "alpha" in capsys.readouterr().err


def test_relu_command_gap_with_user_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 24))
    D /= np.linalg.norm(D, axis=0)
    X = rng.standard_normal((7, 12))
    np.save(tmp_path / "D.npy", D)
    np.save(tmp_path / "X.npy", X)
    rc = _run(["relu", "--dictionary", str(tmp_path / "D.npy"), "--inputs", str(tmp_path / "X.npy"), "--lam", "0.2",
               "--iterations", "1,50", "--out", str(tmp_path / "s.json")])
    assert rc == 0
    summary = json.loads((tmp_path / "s.json").read_text())[str(tmp_path / "D.npy")]
    gap = np.mean(lasso_objective(D, X, relu_code(D, X, 0.2), 0.2, nonneg=True)
                  - lasso_objective(D, X, fista(D, X, 0.2, nonneg=True, tol=1e-12), 0.2, nonneg=True))
    assert summary["gap_mean"] == pytest.approx(gap, rel=1e-6)
    assert summary["iterated"]["50"] < summary["iterated"]["1"] < summary["gap_mean"]
    assert "one-step gap" in capsys.readouterr().out
    assert _run(["relu", "--dictionary", str(tmp_path / "D.npy")]) == 2
    assert _run(["relu", "--iterations", "0"]) == 2


def test_relu_builtin_example_orthonormal_gap_is_zero(capsys):
    assert _run(["relu", "--iterations", "1"]) == 0
    out = capsys.readouterr().out
    ortho = [line for line in out.splitlines() if line.startswith("orthonormal DCT")][0]
    assert abs(float(ortho.split("one-step gap ")[1].split()[0])) < 1e-10
