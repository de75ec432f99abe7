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


TINY = ["pudle", "--n", "120", "--T", "3", "--batch-size", "32", "--epochs", "3", "--seed", "4"]  # 4 steps per epoch


def test_pudle_shows_progress_with_the_time_left_on_stderr(capsys):
    assert _run(TINY) == 0
    err = capsys.readouterr().err  # "pudle g_ae-ls: 100%|...| 12/12 [00:00<00:00, ...step/s, ...]"
    assert "pudle g_ae-ls" in err and "12/12 [" in err and "<" in err and "step/s" in err
    assert _run(TINY + ["--no-progress"]) == 0
    assert capsys.readouterr().err == ""


def test_pudle_resume_reaches_the_uninterrupted_result_bit_for_bit(tmp_path, capsys):
    whole, part, ck = tmp_path / "whole.npz", tmp_path / "part.npz", tmp_path / "ck.npz"
    assert _run(TINY + ["--no-progress", "--out", str(whole)]) == 0
    # interrupted in the middle of the second epoch (Adam's moments, the generator, the epoch's order)
    assert _run(TINY + ["--no-progress", "--checkpoint", str(ck), "--stop-after", "6"]) == 0
    assert "stopped after 6 of at most 12 steps" in capsys.readouterr().out and not part.exists()
    with np.load(ck) as z:
        assert int(z["steps"]) == 6 and int(z["position"]) == 64 and int(z["adam_k"]) == 6
    # a checkpoint is not replaced without --resume or --force
    assert _run(TINY + ["--no-progress", "--checkpoint", str(ck)]) == 2
    assert "exists" in capsys.readouterr().err
    assert _run(TINY + ["--no-progress", "--checkpoint", str(ck), "--resume", "--out", str(part)]) == 0
    assert "resuming at step 6" in capsys.readouterr().out
    with np.load(whole) as a, np.load(part) as b:
        for key in ("dictionary", "loss_curve", "rel_error", "max_sine"):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    with np.load(ck) as z:  # rewritten at the end
        assert int(z["steps"]) == 12


def _damage(src, dst, **changes):
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    np.savez(dst, **arrays)


@pytest.fixture(scope="module")
def checkpoint6(tmp_path_factory):
    """A checkpoint of TINY after 6 of its 12 steps."""
    ck = tmp_path_factory.mktemp("pudle") / "ck.npz"
    with threadpoolctl.threadpool_limits(1):
        assert _run(TINY + ["--no-progress", "--checkpoint", str(ck), "--stop-after", "6"]) == 0
    return ck


@pytest.mark.parametrize("change, needle", [
    ({"order": np.zeros(120, dtype=np.int64)}, "entry 'order': not a permutation of the 120 training samples"),
    ({"adam_m": np.zeros((100, 7))}, "entry 'adam_m': wrong shape for the run's values (got (100, 7), expected (100, 50))"),
    ({"components": np.full((100, 50), np.nan)}, "entry 'components': not finite"),
    ({"rng_state": None}, "entry 'rng_state' is missing"),
    ({"rng_state": np.array('{"bit_generator": "MT19937"}')}, "entry 'rng_state': not the state of a PCG64"),
    ({"steps": np.int64(5)}, "entry 'steps': does not match the epoch and the position in it"),
    ({"loss_curve": np.zeros(3)}, "entry 'loss_curve': wrong length for the steps done (got 3, expected 6)"),
    ({"settings": np.array(json.dumps({"lam": 0.3}))}, "was written with other settings"),
    # found by the fuzzer (pudle-checkpoint kind): an OverflowError and a NaN update before these checks
    ({"curve_steps": np.array([0.0, 1, 2, 3, 4, 5, np.inf])}, "entry 'curve_steps': not finite"),
    ({"adam_v": np.full((100, 50), -1.0)}, "entry 'adam_v': negative second moment"),
    ({"lam_factor": None}, "entry 'lam_factor' is missing (expected a checkpoint written by 'neurosim pudle"),
])
def test_pudle_refuses_a_damaged_or_mismatched_checkpoint(checkpoint6, tmp_path, capsys, change, needle):
    bad = tmp_path / "bad.npz"
    _damage(checkpoint6, bad, **change)
    assert _run(TINY + ["--no-progress", "--checkpoint", str(bad), "--resume", "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint '{bad}'" in err and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.npz").exists()


def test_pudle_refuses_a_checkpoint_that_is_not_one(tmp_path, capsys):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    assert _run(TINY + ["--no-progress", "--checkpoint", str(tmp_path / "junk.npz"), "--resume"]) == 2
    assert f"checkpoint '{tmp_path / 'junk.npz'}'" in capsys.readouterr().err
    assert _run(TINY + ["--no-progress", "--resume"]) == 2
    assert "'--resume': needs --checkpoint" in capsys.readouterr().err


def test_pudle_defaults_announce_their_duration_and_respect_max_duration(tmp_path, capsys):
    assert _run(["pudle", "--max-duration", "5s", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "would run for about" in err and "600 steps of 500 samples" in err
    assert _run(["pudle", "--no-progress", "--checkpoint", str(tmp_path / "ck.npz"), "--stop-after", "1"]) == 0
    out = capsys.readouterr().out
    assert "batch 500, at most 600 steps (early stop: tol 0.001, 3 epochs)" in out
    assert "600 PUDLE steps: at most about" in out and "stopped after 1 of at most 600 steps" in out
