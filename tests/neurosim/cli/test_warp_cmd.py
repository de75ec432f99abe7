"""``neurosim warp`` (neurosim.cli.warp_cmd): train and eval end to end, eval's held-out patches are
never the training patches, and options that would be ignored are refused."""
import numpy as np
import pytest

from neurosim.cli import main
from neurosim.data.samples import overcomplete_dct
from neurosim.estimators.warp import WarpLCA


def test_eval_holds_out_the_training_patches(tmp_path, capsys, monkeypatch):
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
    monkeypatch.setattr("neurosim.cli.common._interactive", lambda: True)
    assert main(["warp", "eval", str(model), "--n-test", "10", "--steps", "20", "--no-progress"]) == 0  # seed 6
    out, err = capsys.readouterr()
    assert "10 held-out 8x8 patches" in out and err == ""


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


def test_warp_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("neurosim.cli.common._interactive", lambda: True)  # bars are drawn on terminals only
    D = overcomplete_dct(8, 64)
    np.save(tmp_path / "D.npy", D)
    model = tmp_path / "m.npz"
    argv = ["warp", "train", "--dictionary", str(tmp_path / "D.npy"), "--n-train", "400", "--epochs", "2",
            "--out", str(model)]
    assert main(argv) == 0 and model.exists()
    err = capsys.readouterr().err  # a bar per phase, with the time left: "[elapsed<remaining, rate]"
    assert "warp train: targets" in err and "warp train: predictor" in err and "/2 [00:00<" in err
    assert "epoch/s]" in err
    assert main(argv) == 2 and "file exists" in capsys.readouterr().err
    assert main(["warp", "eval", str(model), "--n-test", "20", "--steps", "50", "--json", str(tmp_path / "e.json")]) == 0
    out, err = capsys.readouterr()
    assert "steps to cold final" in out and (tmp_path / "e.json").exists()
    assert "warp eval: cold start" in err and "warp eval: warm start" in err and "/20 [00:00<" in err
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
