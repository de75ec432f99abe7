"""``neurosim chips list`` and ``neurosim chips validate`` (neurosim/cli/chips_cmd.py)."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import neurosim.cli as cli
from tests.helpers import ROOT

CHIPS_DIR = ROOT / "chips"


@pytest.fixture(autouse=True)
def only_chips_command(monkeypatch):
    """Register only this subcommand, so the test does not depend on the other commands' modules."""
    monkeypatch.setattr(cli, "COMMANDS", {"chips": "neurosim.cli.chips_cmd"})


def test_registered_in_the_real_registry():
    import ast
    tree = ast.parse(Path(cli.__file__).read_text())
    registry = next(ast.literal_eval(n.value) for n in ast.walk(tree)
                    if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "COMMANDS")
    assert registry["chips"] == "neurosim.cli.chips_cmd"


def test_list_table(capsys):
    assert cli.main(["chips", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "cores", "chips", "status", "cost", "source"]
    rows = {line.split()[0]: line.split() for line in out[1:]}
    assert rows["tiny"][1:4] == ["4", "1", "test"]
    assert rows["loihi1"][1:4] == ["128", "1", "published"]
    assert rows["truenorth"][1] == "4096"
    assert rows["loihi2"][3] == "placeholder"
    assert "Davies et al. 2018" in " ".join(rows["loihi1"])


def test_validate_ok(capsys):
    assert cli.main(["chips", "validate", str(CHIPS_DIR / "tiny.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("ok")
    assert "2x2 tiles x 1 cores/tile = 4 cores/chip" in out
    assert "4 compartments, 8 in-axons, 8 out-axons, 256 synapse bits (16-bit words), 4-bit weights" in out
    assert "barrier 1000 ns (1 tile) .. 4000 ns (all tiles, linear)" in out


def test_validate_by_name_lists_unpublished(capsys):
    assert cli.main(["chips", "validate", "loihi1"]) == 0
    out = capsys.readouterr().out
    assert ("unpublished  energy: energy.spike_out, energy.packet, energy.barrier, board.hop_chip_energy_j"
            in out)
    assert "hop_chip," not in out and "barrier_multichip" not in out


def test_validate_bad_file_one_line_exit_2(tmp_path, capsys):
    d = yaml.safe_load((CHIPS_DIR / "tiny.yaml").read_text())
    d = copy.deepcopy(d)
    d["core"]["max_in_axons"] = -3
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    assert cli.main(["chips", "validate", str(path)]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1
    assert str(path) in lines[0] and "core.max_in_axons" in lines[0] and "got -3" in lines[0]


def test_validate_syntax_error_exit_2(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    assert cli.main(["chips", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "YAML syntax error at line" in err and len(err.strip().splitlines()) == 1


def test_list_survives_a_broken_file(tmp_path, monkeypatch, capsys):
    import mapper.chipload as chipload
    (tmp_path / "good.yaml").write_text((CHIPS_DIR / "tiny.yaml").read_text().replace("name: tiny", "name: good"))
    (tmp_path / "bad.yaml").write_text("schema_version: 1\nname: bad\n")
    monkeypatch.setattr(chipload, "chip_dirs", lambda: [tmp_path])
    assert cli.main(["chips", "list"]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "INVALID" in out and "missing required key" in out


def test_missing_action_exits_2(capsys):
    with pytest.raises(SystemExit) as ei:
        cli.main(["chips"])
    assert ei.value.code == 2


def test_schema_prints_or_writes_the_json_schema(tmp_path, capsys):
    import json

    main = cli.main
    assert main(["chips", "schema"]) == 0
    chip = json.loads(capsys.readouterr().out)
    assert chip["title"].startswith("neurosim chip specification") and "core" in chip["properties"]
    assert main(["chips", "schema", "--experiment", "--out", str(tmp_path / "e.json")]) == 0
    assert "simulation" in json.loads((tmp_path / "e.json").read_text())["properties"]
    capsys.readouterr()
    assert main(["chips", "schema", "--experiment", "--out", str(tmp_path / "e.json")]) == 2
    assert "file exists" in capsys.readouterr().err
