"""``neurosim warp``: eval's held-out patches are never the training patches."""
import numpy as np

from neurosim.cli import main
from neurosim.estimators.warp import WarpLCA


def test_eval_holds_out_the_training_patches(tmp_path, capsys):
    rng = np.random.default_rng(0)
    D = rng.normal(size=(64, 32))
    D /= np.linalg.norm(D, axis=0)
    np.save(tmp_path / "D.npy", D)
    model = tmp_path / "m.npz"
    assert main(["warp", "train", "--dictionary", str(tmp_path / "D.npy"), "--predictor", "linear", "--n-train", "60",
                 "--seed", "5", "--out", str(model)]) == 0
    assert WarpLCA.load(model).train_seed_ == 5
    capsys.readouterr()
    # the training seed itself (the old default when it was 0) is refused, not reported as held out
    assert main(["warp", "eval", str(model), "--n-test", "10", "--steps", "20", "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "trained on the patches of seed 5" in err and "not held out" in err
    assert main(["warp", "eval", str(model), "--n-test", "10", "--steps", "20"]) == 0  # default: seed 6
    assert "10 held-out 8x8 patches" in capsys.readouterr().out


def test_eval_of_a_npy_names_what_the_file_is(tmp_path, capsys):
    np.save(tmp_path / "D.npy", np.eye(4))
    assert main(["warp", "eval", str(tmp_path / "D.npy")]) == 2
    assert "not a .npz archive (got a single .npy array" in capsys.readouterr().err


def test_train_names_the_dictionary_file_and_refuses_oversized_atoms(tmp_path, capsys):
    D = np.random.default_rng(0).normal(size=(64, 32))
    D /= np.linalg.norm(D, axis=0)
    np.save(tmp_path / "big.npy", 10 * D)
    bad = D.copy()
    bad[0, 0] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    out = str(tmp_path / "m.npz")
    assert main(["warp", "train", "--dictionary", str(tmp_path / "big.npy"), "--predictor", "linear", "--out", out]) == 2
    assert "atoms too large for the LCA's step" in capsys.readouterr().err
    assert main(["warp", "train", "--dictionary", str(tmp_path / "nan.npy"), "--predictor", "linear", "--out", out]) == 2
    assert str(tmp_path / "nan.npy") in capsys.readouterr().err
