"""The generated command-line reference (neurosim.cli.reference): one section per command and
sub-command in registry order, one table row per option (metavar or choices, ``|`` escaped,
``(required)``), usage lines independent of the terminal width, and the environment restored.
(That the shipped ``docs/cli.md`` is current is checked in tests/test_docs.py.)"""
from __future__ import annotations

import argparse
import os
import re

import pytest

from neurosim.cli import COMMANDS
from neurosim.cli.reference import INTRO, _rows, reference_markdown


@pytest.fixture(scope="module")
def md() -> str:
    return reference_markdown()


def test_starts_with_the_intro_and_the_global_options(md):
    assert md.startswith(INTRO)
    assert "## Global options\n\n```\nneurosim [-h] [-v] COMMAND ...\n```\n" in md
    assert "| `-v, --verbose` | log progress details |" in md
    assert md.endswith("|\n") and not md.endswith("\n\n")


def test_one_section_per_command_in_registry_order(md):
    top = re.findall(r"^## `neurosim (\w+)`$", md, flags=re.MULTILINE)
    assert top == list(COMMANDS)


def test_sub_commands_are_nested_sections(md):
    subs = re.findall(r"^### `neurosim (\w+ \w+)`$", md, flags=re.MULTILINE)
    assert subs == ["chips list", "chips validate", "chips schema", "warp train", "warp eval"]


def test_rows_escape_pipes_and_mark_required_options(md):
    map_section = md.split("## `neurosim map`")[1].split("\n## ")[0]
    rows = {line.split(" | ")[0]: line for line in map_section.splitlines() if line.startswith("| `")}
    assert rows["| `--chip NAME\\|FILE`"].endswith(" (required) |")  # the metavar's | escaped
    assert rows["| `--out DIR`"].endswith(" (required) |")
    assert not rows["| `--activity ACT.npz`"].endswith("(required) |")


def test_choices_and_positionals(md):
    relu = md.split("## `neurosim relu`")[1].split("\n## ")[0]
    assert "| `--method {ista,lca}` | " in relu
    warp_eval = md.split("### `neurosim warp eval`")[1]
    assert re.search(r"^\| `MODEL\.npz` \| .* \(required\) \|$", warp_eval, flags=re.MULTILINE)


def test_help_options_are_left_out(md):
    assert "`-h, --help`" not in md


def test_rows_of_a_parser_by_hand():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=("a", "b"), required=True, help="x | y")
    p.add_argument("--n", metavar="N")
    p.add_argument("--size", type=int, help="line one\nline two")
    p.add_argument("--force", action="store_true", help="overwrite")
    p.add_argument("src", help="input file")
    assert _rows(p) == [
        "| `--mode {a,b}` | x \\| y (required) |",
        "| `--n N` |  |",
        "| `--size SIZE` | line one line two |",
        "| `--force` | overwrite |",
        "| `src` | input file (required) |",
    ]


@pytest.mark.parametrize("columns", [None, "40", "250"])
def test_usage_lines_do_not_depend_on_the_terminal_and_columns_is_restored(md, monkeypatch, columns):
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert reference_markdown() == md
    assert os.environ.get("COLUMNS") == columns
