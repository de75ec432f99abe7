"""``neurosim learn``: outputs, plots, checkpoints and resume."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from neurosim.cli import main
from tests.helpers import ROOT

ROOT = ROOT
SMALL = ["--data", "planted", "--atoms", "16", "--train", "300", "--test", "40", "--batch", "10", "--seed", "3",
         "--no-progress"]


def learn(tmp_path, *extra, name="d.npz"):
    return main(["learn", *SMALL, "--out", str(tmp_path / name), *extra])


def test_learn_writes_dictionary_history_and_plots(tmp_path, capsys):
    assert learn(tmp_path, "--samples", "300", "--eval-every", "100", "--plots", str(tmp_path / "plots")) == 0
    out = capsys.readouterr().out
    assert "held-out objective" in out and "planted atoms recovered" in out
    with np.load(tmp_path / "d.npz") as z:
        D = z["D"]
        assert D.shape == (64, 16) and D.min() >= 0
        np.testing.assert_array_equal(z["history_samples"], [0, 100, 200, 300])
        assert z["history_test_objective"][-1] < z["history_test_objective"][0]
        s = json.loads(str(z["settings"]))
        assert s["method"] == "local-rate" and s["total"] == 300
        assert z["F"].shape == (16, 64) and z["H"].shape == (16, 16)
    for png in ("atoms.png", "training.png"):
        assert (tmp_path / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    # no silent overwrite
    assert learn(tmp_path, "--samples", "300") == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["local-rate", "sgd"])
def test_stop_and_resume_reaches_the_same_dictionary(tmp_path, method):
    args = ["--method", method, "--epochs", "1.5", "--checkpoint-every", "40"]
    assert learn(tmp_path, *args, "--checkpoint", str(tmp_path / "full.ck.npz"), name="full.npz") == 0
    ck = str(tmp_path / "part.ck.npz")
    assert learn(tmp_path, *args, "--checkpoint", ck, "--stop-after", "170", name="part.npz") == 0
    assert not (tmp_path / "part.npz").exists()
    with np.load(ck) as z:
        assert int(z["samples_seen"]) == 170
    assert learn(tmp_path, *args, "--checkpoint", ck, "--resume", name="part.npz") == 0
    with np.load(tmp_path / "full.npz") as a, np.load(tmp_path / "part.npz") as b:
        np.testing.assert_array_equal(a["D"], b["D"])
        np.testing.assert_array_equal(a["history_test_objective"], b["history_test_objective"])


def test_resume_refuses_other_settings_and_bad_options(tmp_path, capsys):
    ck = str(tmp_path / "ck.npz")
    assert learn(tmp_path, "--samples", "100", "--checkpoint", ck, "--stop-after", "50") == 0
    assert learn(tmp_path, "--samples", "100", "--checkpoint", ck, "--resume", "--lam", "0.3") == 2
    assert "other settings" in capsys.readouterr().err
    assert learn(tmp_path, "--resume") == 2
    assert "--checkpoint" in capsys.readouterr().err
    assert learn(tmp_path, "--kappa", "1.5") == 2
    assert learn(tmp_path, "--batch", "0") == 2
    assert learn(tmp_path, "--checkpoint", str(tmp_path / "missing.npz"), "--resume") == 2
    assert not (tmp_path / "d.npz").exists()


def test_learn_digits_and_patches_smoke(tmp_path):
    assert main(["learn", "--data", "digits", "--atoms", "8", "--train", "100", "--test", "20", "--samples", "100",
                 "--batch", "20", "--no-progress", "--out", str(tmp_path / "dg.npz")]) == 0
    assert main(["learn", "--data", "patches8", "--atoms", "8", "--train", "100", "--test", "20", "--samples", "100",
                 "--batch", "20", "--no-progress", "--out", str(tmp_path / "p.npz"), "--plots", str(tmp_path)]) == 0
    with np.load(tmp_path / "p.npz") as z:
        assert z["D"].shape == (128, 8)  # 8x8 patches, two channels


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_dictionary(tmp_path):
    """SIGKILL a real run after its first checkpoint, resume it, compare with an uninterrupted run."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    base = [sys.executable, "-m", "neurosim", "learn", "--data", "planted", "--atoms", "32", "--train", "1000",
            "--test", "50", "--batch", "1", "--epochs", "2", "--seed", "1", "--no-progress",
            "--checkpoint-every", "100"]
    ck = tmp_path / "ck.npz"
    proc = subprocess.Popen(base + ["--out", str(tmp_path / "a.npz"), "--checkpoint", str(ck)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not ck.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not ck.exists() or (tmp_path / "a.npz").exists():
        pytest.skip("the run finished (or never checkpointed) before it could be killed")
    with np.load(ck) as z:
        assert 0 < int(z["samples_seen"]) < 2000
    r = subprocess.run(base + ["--out", str(tmp_path / "a.npz"), "--checkpoint", str(ck), "--resume"], cwd=ROOT,
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["--out", str(tmp_path / "b.npz")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["D"], b["D"])


@pytest.mark.parametrize("extra, needle", [(["--epochs", "0.001"], "option '--epochs': gives no training sample"),
                                           (["--method", "sgd", "--init", "asymmetric", "--samples", "8"],
                                            "option '--init': 'asymmetric'")])
def test_learn_options_that_would_do_nothing_are_refused(tmp_path, capsys, extra, needle):
    argv = ["learn", "--data", "planted", "--atoms", "8", "--train", "64", "--test", "16", "--no-progress",
            "--out", str(tmp_path / "d.npz")] + extra
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()


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


def test_checkpoint_every_without_a_checkpoint_is_refused(tmp_path, capsys):
    assert learn(tmp_path, "--checkpoint-every", "10") == 2
    assert "option '--checkpoint-every': needs --checkpoint" in capsys.readouterr().err


def test_unconverged_run_says_so_in_one_line_and_in_the_npz(tmp_path, capsys):
    """A handful of samples: the held-out objective still falls steeply over the last quarter."""
    assert main(["learn", "--data", "planted", "--atoms", "8", "--train", "40", "--test", "10", "--samples", "40",
                 "--batch", "5", "--eval-every", "5", "--seed", "2", "--no-progress",
                 "--out", str(tmp_path / "d.npz")]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.lower().startswith(("converged", "not converged"))]
    assert len(lines) == 1 and lines[0].startswith("NOT CONVERGED: the held-out objective fell ")
    assert "over samples 30..40" in lines[0] and "tolerance 5%" in lines[0] and "more --epochs" in lines[0]
    with np.load(tmp_path / "d.npz") as z:
        c = json.loads(str(z["convergence"]))
        h = z["history_test_objective"]
    assert c["converged"] is False and (c["since_sample"], c["last_sample"], c["tol"]) == (30, 40, 0.05)
    assert c["change"] == pytest.approx((h[-3] - h[-1]) / h[-1]) and c["change"] > 0.05  # samples 30 -> 40


@pytest.mark.slow
def test_defaults_recover_the_planted_dictionary(tmp_path, capsys):
    """No tuning flags (planted data, 128 atoms, 3 epochs of 20000 samples, batch 16, automatic
    rates, eta_H / eta_D = 15): at least 95 % of the planted atoms are recovered with |cos| > 0.99
    (issue 16; 43.8 % with the former defaults)."""
    from neurosim.data.planted import planted_nonneg, recovery

    assert main(["learn", "--no-progress", "--out", str(tmp_path / "d.npz")]) == 0
    out = capsys.readouterr().out
    with np.load(tmp_path / "d.npz") as z:
        D = z["D"]
    D_true = planted_nonneg(64, 128, 20000, seed=0).D  # the CLI's default data: seed 0
    assert recovery(D_true, D, threshold=0.99) >= 0.95
    assert "planted atoms recovered: " in out
