"""Chip-file errors point at the right line for list elements, and a directory is named as such."""
from __future__ import annotations


import pytest

from mapper.chipload import load_chip
from neurosim.errors import ChipSpecError
from tests.helpers import ROOT

TINY = (ROOT / "chips" / "tiny.yaml").read_text()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, key", [
    ("tile_grid: [2, 2]", "tile_grid: [2, 0]", "noc.tile_grid[1]"),
    ("chip_grid: [1, 1]", "chip_grid: [1, 0]", "board.chip_grid[1]"),
])
def test_flow_list_element_reports_its_own_line(tmp_path, old, new, key):
    text = TINY.replace(old, new)
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ChipSpecError) as ei:
        load_chip(path)
    assert ei.value.key == key
    assert f"(line {_line_of(text, new)})" in str(ei.value)


def test_block_list_element_reports_its_own_line(tmp_path):
    text = TINY.replace("  tile_grid: [2, 2]", "  tile_grid:\n    - 2\n    - 0\n")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ChipSpecError) as ei:
        load_chip(path)
    assert ei.value.key == "noc.tile_grid[1]"
    assert f"(line {_line_of(text, '- 0')})" in str(ei.value)


def test_missing_list_element_falls_back_to_the_list_line(tmp_path):
    text = TINY.replace("tile_grid: [2, 2]", "tile_grid: [2, 2.5]")
    path = tmp_path / "tiny.yaml"
    path.write_text(text)
    with pytest.raises(ChipSpecError, match=rf"\(line {_line_of(text, 'tile_grid')}\)") as ei:
        load_chip(path)
    assert ei.value.key == "noc.tile_grid[1]"


def test_directory_is_named_a_directory(tmp_path):
    with pytest.raises(ChipSpecError) as ei:
        load_chip(tmp_path)
    msg = str(ei.value)
    assert "is a directory" in msg and "no such file" not in msg and str(tmp_path) in msg


def test_a_chip_loaded_by_relative_path_records_its_absolute_path(tmp_path, monkeypatch):
    import shutil

    from mapper.chipload import _resolve, load_chip

    shutil.copy(_resolve("tiny"), tmp_path / "tiny.yaml")
    monkeypatch.chdir(tmp_path)
    chip = load_chip("./tiny.yaml")
    assert chip.source == str(tmp_path / "tiny.yaml")
