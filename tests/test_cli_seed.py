"""``--seed`` is checked by argparse for every command: an integer in 0 .. 2**31 - 1 (numpy, METIS
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
