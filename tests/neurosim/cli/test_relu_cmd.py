"""``neurosim relu`` (neurosim.cli.relu_cmd): the one-step ReLU (or soft) code against the LASSO
optimum, on user files (gap checked against an independent computation) and on the built-in
example (orthonormal DCT: gap 0); its one-line exit-2 errors, all found before any work."""
from __future__ import annotations

import json

import numpy as np
import pytest

from neurosim.cli import main
from neurosim.solvers.lasso import fista, lasso_objective
from neurosim.solvers.relu import relu_code


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 24))
    D /= np.linalg.norm(D, axis=0)
    np.save(tmp_path / "D.npy", D)
    np.save(tmp_path / "X.npy", rng.standard_normal((7, 12)))
    return tmp_path


def _gap(D, X, lam, *, nonneg):
    one = relu_code(D, X, lam, signed=not nonneg)
    opt = fista(D, X, lam, nonneg=nonneg, tol=1e-12)
    return float(np.mean(lasso_objective(D, X, one, lam, nonneg=nonneg) - lasso_objective(D, X, opt, lam,
                                                                                            nonneg=nonneg)))


def test_relu_command_gap_with_user_files(files, capsys):
    tmp_path = files
    D, X = np.load(files / "D.npy"), np.load(files / "X.npy")
    rc = main(["relu", "--dictionary", str(tmp_path / "D.npy"), "--inputs", str(tmp_path / "X.npy"), "--lam", "0.2",
               "--iterations", "1,50", "--out", str(tmp_path / "s.json")])
    assert rc == 0
    summary = json.loads((tmp_path / "s.json").read_text())[str(tmp_path / "D.npy")]
    gap = np.mean(lasso_objective(D, X, relu_code(D, X, 0.2), 0.2, nonneg=True)
                  - lasso_objective(D, X, fista(D, X, 0.2, nonneg=True, tol=1e-12), 0.2, nonneg=True))
    assert summary["gap_mean"] == pytest.approx(gap, rel=1e-6)
    assert summary["iterated"]["50"] < summary["iterated"]["1"] < summary["gap_mean"]
    assert "one-step gap" in capsys.readouterr().out
    assert main(["relu", "--dictionary", str(tmp_path / "D.npy")]) == 2
    assert main(["relu", "--iterations", "0"]) == 2


def test_signed_uses_the_soft_threshold_and_the_signed_lasso(files, capsys):
    D, X = np.load(files / "D.npy"), np.load(files / "X.npy")
    assert main(["relu", "--dictionary", str(files / "D.npy"), "--inputs", str(files / "X.npy"), "--lam", "0.3",
                 "--signed", "--iterations", "5", "--out", str(files / "s.json")]) == 0
    summary = json.loads((files / "s.json").read_text())[str(files / "D.npy")]
    assert summary["gap_mean"] == pytest.approx(_gap(D, X, 0.3, nonneg=False), rel=1e-6)
    assert summary["gap_mean"] != pytest.approx(_gap(D, X, 0.3, nonneg=True), rel=1e-3)
    assert list(summary["iterated"]) == ["5"]
    assert "signed LASSO" in capsys.readouterr().out


def test_lca_refinement(files, capsys):
    assert main(["relu", "--dictionary", str(files / "D.npy"), "--inputs", str(files / "X.npy"), "--lam", "0.2",
                 "--method", "lca", "--iterations", "1,200"]) == 0
    out = capsys.readouterr().out
    assert "after     1 lca steps" in out and "after   200 lca steps" in out


def test_relu_builtin_example_orthonormal_gap_is_zero(capsys):
    assert main(["relu", "--iterations", "1"]) == 0
    out = capsys.readouterr().out
    ortho = next(line for line in out.splitlines() if line.startswith("orthonormal DCT"))
    assert abs(float(ortho.split("one-step gap ")[1].split()[0])) < 1e-10


def test_an_existing_summary_is_kept_without_force(files, capsys):
    out = files / "s.json"
    out.write_text("mine")
    argv = ["relu", "--dictionary", str(files / "D.npy"), "--inputs", str(files / "X.npy"), "--iterations", "1",
            "--out", str(out)]
    assert main(argv) == 2
    assert "option '--out': file exists" in capsys.readouterr().err and out.read_text() == "mine"
    assert main(argv + ["--force"]) == 0
    assert str(files / "D.npy") in json.loads(out.read_text())


def test_the_summary_never_replaces_an_input(files, capsys):
    before = (files / "X.npy").read_bytes()
    assert main(["relu", "--dictionary", str(files / "D.npy"), "--inputs", str(files / "X.npy"),
                 "--out", str(files / "X.npy"), "--force"]) == 2
    assert "is the input file --inputs" in capsys.readouterr().err
    assert (files / "X.npy").read_bytes() == before


@pytest.mark.parametrize("argv, needle", [
    (["--inputs", "X.npy"], "argument '--dictionary': is required with the other (expected both --dictionary and"),
    (["--dictionary", "D.npy"], "argument '--inputs': is required with the other"),
    (["--lam", "-1"], "argument '--lam': out of range (got -1.0, expected a finite number >= 0)"),
    (["--lam", "nan"], "argument '--lam': out of range (got nan"),
    (["--iterations", "0"], "argument '--iterations': must be positive integers (got 0, expected e.g. 1,5,20,100)"),
    (["--iterations", "1,x"], "argument '--iterations': must be positive integers (got 1,x"),
    (["--iterations", ","], "argument '--iterations': must be positive integers"),
    (["--dictionary", "D.npy", "--inputs", "X.npy", "--lam", "0.1", "--seed", "3"],
     "argument '--seed': has no effect"),
])
def test_bad_arguments_are_one_line_before_any_work(files, monkeypatch, capsys, argv, needle):
    from neurosim.cli import relu_cmd

    def boom(*a, **k):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(relu_cmd, "compare_one_step_vs_iterated", boom)
    monkeypatch.chdir(files)
    assert main(["relu", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and needle in err, err


def test_bad_files_name_the_file(files, capsys):
    np.save(files / "X3.npy", np.ones((2, 3)))
    assert main(["relu", "--dictionary", str(files / "D.npy"), "--inputs", str(files / "X3.npy")]) == 2
    assert f"inputs '{files / 'X3.npy'}': must be (batch, M)" in capsys.readouterr().err
    assert main(["relu", "--dictionary", str(files / "nope.npy"), "--inputs", str(files / "X.npy")]) == 2
    assert f"dictionary file '{files / 'nope.npy'}': not found" in capsys.readouterr().err
