"""``neurosim warp`` (neurosim.cli.warp_cmd): train and eval end to end, eval's held-out patches are
never the training patches, and options that would be ignored are refused."""
import numpy as np
import pytest

from neurosim.cli import main
from neurosim.data.samples import overcomplete_dct
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


def test_warp_cli(tmp_path, capsys):
    D = overcomplete_dct(8, 64)
    np.save(tmp_path / "D.npy", D)
    model = tmp_path / "m.npz"
    argv = ["warp", "train", "--dictionary", str(tmp_path / "D.npy"), "--n-train", "400", "--epochs", "2",
            "--out", str(model)]
    assert main(argv) == 0 and model.exists()
    assert main(argv) == 2 and "file exists" in capsys.readouterr().err
    assert main(["warp", "eval", str(model), "--n-test", "20", "--steps", "50", "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "steps to cold final" in out and (tmp_path / "e.json").exists()
    np.save(tmp_path / "bad.npy", np.ones((10, 4)))
    assert main(["warp", "train", "--dictionary", str(tmp_path / "bad.npy"), "--out", str(tmp_path / "x.npz")]) == 2
    assert "not a square patch" in capsys.readouterr().err
    assert main(["warp", "eval", str(tmp_path / "D.npy")]) == 2


@pytest.mark.parametrize("argv, needle", [
    (["warp", "train", "--predictor", "linear", "--epochs", "3", "--out", "w.npz"], "argument --epochs: predictor"),
    (["warp", "train", "--dictionary", "D.npy", "--size", "16", "--out", "w.npz"], "argument --size: has no effect")])
def test_options_without_effect_are_refused(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "w.npz").exists()
