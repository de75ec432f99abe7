"""``neurosim pudle`` (neurosim.cli.pudle_cmd)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import threadpoolctl

from neurosim.cli import main
from neurosim.data.planted import make_planted
from neurosim.estimators.pudle import relative_error


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


@pytest.mark.parametrize("extra, needle", [(["--hard-threshold", "0.3"], "--hard-threshold': has no effect"),
                                           (["--data", "digits", "--init-noise", "0.5"], "--init-noise': has no effect"),
                                           (["--data", "digits", "--n", "5000"], "digits has only 1797 images")])
def test_pudle_options_that_would_be_ignored_are_refused(capsys, extra, needle):
    assert main(["pudle", "--epochs", "1", "--no-progress"] + extra) == 2
    assert needle in capsys.readouterr().err
