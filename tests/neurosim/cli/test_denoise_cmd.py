"""``neurosim denoise`` (neurosim.cli.denoise_cmd): a quick patch run prints the PSNR table and
writes its figure atomically; every bad option and output path is a one-line exit-2 error found
before any image is loaded. (The pipelines themselves: tests/neurosim/studies/test_denoise.py.)"""
from __future__ import annotations

import pytest

from neurosim.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the command loads an image: every check comes first."""
    from neurosim.cli import denoise_cmd

    def boom(*a, **k):
        raise AssertionError("work started before the options were checked")

    monkeypatch.setattr(denoise_cmd, "sample_image", boom)


def test_denoise_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("neurosim.cli.common._interactive", lambda: True)  # bars are drawn on terminals only
    fig = tmp_path / "fig.png"
    argv = ["denoise", "--quick", "--mode", "patch", "--steps", "5", "--stride", "4", "--n-train", "300",
            "--out", str(fig)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "patch     warp" in out and fig.read_bytes()[:8] == PNG
    for phase in ("dictionary", "targets", "predictor", "denoising"):  # a bar per phase, with the time left
        assert f"denoise patch: {phase}" in err
    assert "/3 [00:00<" in err and "method/s]" in err
    assert main(argv) == 2 and "file exists" in capsys.readouterr().err
    assert main(["denoise", "--sigma", "2"]) == 2


def test_denoise_stride_above_the_patch_is_refused_up_front(capsys):
    """A stride above the 8x8 patches left pixels uncovered: NaN PSNRs and a figure of tiles."""
    assert main(["denoise", "--quick", "--mode", "patch", "--stride", "9"]) == 2
    assert "argument --stride: larger than the 8x8 patches" in capsys.readouterr().err


def test_stride_with_the_convolutional_pipeline_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["denoise", "--quick", "--mode", "conv", "--stride", "2"]) == 2
    assert "argument --stride: the convolutional pipeline" in capsys.readouterr().err


@pytest.mark.parametrize("extra, needle", [
    (["--sigma", "0"], "argument --sigma: out of range (got 0.0, expected 0 < sigma < 1)"),
    (["--sigma", "1"], "argument --sigma: out of range (got 1.0,"),
    (["--sigma", "nan"], "argument --sigma: out of range (got nan,"),
    (["--steps", "0"], "argument --steps: must be a positive integer (got 0, expected >= 1)"),
    (["--n-train", "-5"], "argument --n-train: must be a positive integer (got -5, expected >= 1)"),
    (["--stride", "0"], "argument --stride: must be a positive integer (got 0, expected >= 1)"),
    (["--stride", "9"], ("argument --stride: larger than the 8x8 patches, it leaves pixels uncovered (got 9, "
                         "expected 1 .. 8)")),
    (["--mode", "conv", "--stride", "1"], ("argument --stride: the convolutional pipeline has no patch grid (got "
                                           "--stride 1 with --mode conv, expected --mode patch or both)")),
])
def test_bad_options_are_one_line_before_any_work(no_work, capsys, extra, needle):
    assert main(["denoise", "--quick", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and needle in err, err


def test_existing_figure_is_refused_before_any_work(no_work, tmp_path, capsys):
    fig = tmp_path / "fig.png"
    fig.write_bytes(b"mine")
    assert main(["denoise", "--quick", "--out", str(fig)]) == 2
    assert "option '--out': file exists" in capsys.readouterr().err
    assert fig.read_bytes() == b"mine"
    assert main(["denoise", "--quick", "--out", str(tmp_path)]) == 2
    assert "option '--out': is a directory" in capsys.readouterr().err
    assert main(["denoise", "--quick", "--out", ""]) == 2
    assert "option '--out': empty path" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [["--mode", "all"], ["--predictor", "bm3d"], ["--seed", "-1"]])
def test_bad_choices_are_argparse_usage_errors(capsys, extra):
    with pytest.raises(SystemExit) as exc:
        main(["denoise", *extra])
    assert exc.value.code == 2 and "Traceback" not in capsys.readouterr().err
