"""``neurosim map --nir`` options of issue 15: ``--input-shape`` and a leading batch axis,
``--spikes`` / ``--threshold`` (named in the report), and the warning for a silent simulated network."""
import json

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from neurosim.cli import main  # noqa: E402

FAST = ["--chip", "loihi1", "--time-budget", "0", "--partitioner", "sequential", "--placer", "identity", "--no-progress"]


def conv_graph(path, shape):
    w = np.random.default_rng(0).integers(-2, 3, size=(3, 2, 3, 3)) / 4.0
    n = 3 * 6 * 6
    nodes = {"input": nir.Input(np.array(shape)),
             "conv": nir.Conv2d(input_shape=(6, 6), weight=w, stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(3)),
             "lif": nir.LIF(tau=np.full(n, 4e-3), r=np.full(n, 4.0), v_leak=np.zeros(n), v_threshold=np.ones(n),
                            v_reset=np.zeros(n))}
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=[("input", "conv"), ("conv", "lif")], type_check=False))
    return path


def test_batch_axis_and_input_shape(tmp_path, capsys):
    f = conv_graph(tmp_path / "cnn.nir", (1, 2, 6, 6))  # snnTorch / Norse write the batch axis
    base = ["map", "--nir", str(f), "--dt", "1e-3"] + FAST
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    rep = json.loads((tmp_path / "a" / "report.json").read_text())
    assert rep["nir"]["populations"]["input"]["shape"] == [2, 6, 6]
    assert any("batch axis" in note for note in rep["nir"]["approximations"]["input"])
    assert "batch axis" in capsys.readouterr().out
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # argparse: one line, exit 2
        main(base + ["--out", str(tmp_path / "c"), "--input-shape", "2,x"])
    assert exc.value.code == 2 and "--input-shape" in capsys.readouterr().err
    # the given shape replaces the graph's: (3, 6, 6) does not fit the Conv2d, and the message says so
    assert main(base + ["--out", str(tmp_path / "c"), "--input-shape", "3,6,6"]) == 2
    err = capsys.readouterr().err
    assert "conv" in err and "C_in 3" in err
    assert main(["map", "--network", str(f), "--input-shape", "2,6,6", "--out", str(tmp_path / "d")] + FAST) == 2


def test_dirac_exporter_is_silent_as_pulses_with_a_warning_and_fires_as_diracs(tmp_path, capsys):
    """An IF(r=1) graph of an impulse exporter (v += W s) at its dt = 1e-3: read as pulses the weights
    are 1e-3 of the threshold and only the relays fire."""
    f = tmp_path / "iaf.nir"
    nir.write(f, nir.NIRGraph.from_list(nir.Input(np.array([4])), nir.Linear(np.full((3, 4), 0.5)),
                                        nir.IF(r=np.ones(3), v_threshold=np.ones(3), v_reset=np.zeros(3))))
    base = ["map", "--nir", str(f), "--dt", "1e-3", "--simulate", "40", "--input-rate", "0.5"] + FAST
    assert main(base + ["--out", str(tmp_path / "pulse")]) == 0
    err = capsys.readouterr().err
    assert "silent network" in err and "--spikes dirac" in err
    rep = json.loads((tmp_path / "pulse" / "report.json").read_text())
    assert rep["nir"]["spikes"] == "pulse" and any("silent network" in n for n in rep["notes"])
    assert main(base + ["--out", str(tmp_path / "dirac"), "--spikes", "dirac", "--threshold", ">="]) == 0
    out, err = capsys.readouterr()
    assert "silent" not in err and "spikes read as: dirac" in out
    rep = json.loads((tmp_path / "dirac" / "report.json").read_text())
    assert rep["nir"]["spikes"] == "dirac" and rep["nir"]["threshold"] == {"if": ">="}
    assert not any("silent" in n for n in rep.get("notes", []))
