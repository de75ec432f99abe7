"""Argument checks: ``--seed`` is checked by argparse for every command: an integer in 0 .. 2**31 - 1 (numpy, METIS
and Mt-KaHyPar all take it), one usage line and exit code 2, never a traceback after the work."""
import pytest

from neurosim.cli import main
from neurosim.cli.common import MAX_SEED, seed_arg


@pytest.mark.parametrize("cmd", [["map", "--network", "n.npz", "--chip", "tiny", "--out", "o"],
                                 ["lca", "--out", "o.npz"], ["relu", "--out", "o.npz"]])
@pytest.mark.parametrize("bad", ["-1", "99999999999999999999", "x"])
def test_bad_seed_is_one_usage_line(cmd, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        main(cmd + ["--seed", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"expected an integer in 0 .. {MAX_SEED}" in err and "Traceback" not in err


def test_seed_range():
    assert seed_arg("0") == 0 and seed_arg(str(MAX_SEED)) == MAX_SEED


def test_denoise_stride_above_the_patch_is_refused_up_front(capsys):
    """A stride above the 8x8 patches left pixels uncovered: NaN PSNRs and a figure of tiles."""
    assert main(["denoise", "--quick", "--mode", "patch", "--stride", "9"]) == 2
    assert "argument --stride: larger than the 8x8 patches" in capsys.readouterr().err


def test_patch_grid_refuses_uncovered_pixels():
    import numpy as np

    from neurosim.errors import NetworkError
    from neurosim.studies.denoise import merge_patches

    with pytest.raises(NetworkError, match="leaves pixels uncovered"):
        merge_patches(np.zeros((4, 64)), (16, 16), 8, stride=9)


@pytest.mark.parametrize("extra, needle", [(["--epochs", "0.001"], "option '--epochs': gives no training sample"),
                                           (["--method", "sgd", "--init", "asymmetric", "--samples", "8"],
                                            "option '--init': 'asymmetric'")])
def test_learn_options_that_would_do_nothing_are_refused(tmp_path, capsys, extra, needle):
    argv = ["learn", "--data", "planted", "--atoms", "8", "--train", "64", "--test", "16", "--no-progress",
            "--out", str(tmp_path / "d.npz")] + extra
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()


@pytest.mark.parametrize("extra, needle", [(["--hard-threshold", "0.3"], "--hard-threshold': has no effect"),
                                           (["--data", "digits", "--init-noise", "0.5"], "--init-noise': has no effect"),
                                           (["--data", "digits", "--n", "5000"], "digits has only 1797 images")])
def test_pudle_options_that_would_be_ignored_are_refused(capsys, extra, needle):
    assert main(["pudle", "--epochs", "1", "--no-progress"] + extra) == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("argv, needle", [
    (["warp", "train", "--predictor", "linear", "--epochs", "3", "--out", "w.npz"], "argument --epochs: predictor"),
    (["warp", "train", "--dictionary", "D.npy", "--size", "16", "--out", "w.npz"], "argument --size: has no effect"),
    (["denoise", "--quick", "--mode", "conv", "--stride", "2"], "argument --stride: the convolutional pipeline"),
    (["relu", "--dictionary", "D.npy", "--inputs", "X.npy", "--lam", "0.1", "--seed", "3"],
     "argument '--seed': has no effect")])
def test_options_without_effect_are_refused(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()


def test_learning_that_diverges_is_an_error_not_an_empty_dictionary(tmp_path, capsys):
    """local-spiking with a huge rate: the atoms' norms explode, then the projection zeroes them;
    the run used to end 'learned ...' with an all-zero dictionary."""
    argv = ["learn", "--data", "planted", "--atoms", "16", "--train", "64", "--test", "16", "--samples", "64",
            "--method", "local-spiking", "--eta", "1e6", "--no-progress", "--out", str(tmp_path / "d.npz")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "the atoms' norms diverge" in err and "lower eta_d" in err
    assert not (tmp_path / "d.npz").exists()


def test_resume_with_another_test_set_is_refused(tmp_path, capsys):
    """The held-out curve would splice two evaluation sets into one history."""
    base = ["learn", "--data", "planted", "--atoms", "8", "--samples", "48", "--train", "32", "--batch", "8",
            "--no-progress", "--out", str(tmp_path / "d.npz"), "--checkpoint", str(tmp_path / "ck.npz")]
    assert main(base + ["--test", "16", "--stop-after", "16"]) == 0
    capsys.readouterr()
    assert main(base + ["--test", "24", "--resume"]) == 2
    assert "was written with other settings" in capsys.readouterr().err


def test_lca_dt_beyond_the_euler_bound_is_refused_before_running(tmp_path, capsys):
    import numpy as np

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


def test_fista_refuses_inputs_that_overflow_up_front():
    import numpy as np

    from neurosim.errors import NetworkError
    from neurosim.solvers.lasso import fista

    D = np.eye(4)
    with pytest.raises(NetworkError, match="too large for float64 arithmetic"):
        fista(D, np.full((2, 4), 1e200), 0.1)
    with pytest.raises(NetworkError, match="too large for float32 arithmetic"):
        fista(D, np.full((2, 4), 1e30), 0.1, dtype=np.float32)
