"""The front door holds: the README's Python quickstart runs as written in a fresh process, the
generated reference material is current, and every link to docs/ resolves."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from mapper.chipschema import schema_markdown as chip_markdown
from neurosim.app.experiment import FIELDS
from neurosim.cli.reference import reference_markdown
from neurosim.validation.schema import schema_markdown
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def generated(path, text: str) -> str:
    doc = (ROOT / path).read_text()
    m = re.search(r"<!-- generated: [^>]*-->\n(.*?)<!-- end generated -->", doc, flags=re.S)
    assert m, f"{path} has no generated section"
    return m.group(1)


def test_quickstart_runs_as_written_in_a_fresh_process(tmp_path):
    code = python_blocks(README)[0]
    assert len(code.strip().splitlines()) <= 20
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert re.search(r"\d+ cores on \d+ tile\(s\)", out) and "energy per input" in out and "s per step" in out


@pytest.mark.slow
def test_pipeline_snippet_runs_as_written(tmp_path):
    code = python_blocks(README)[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "relative gap to FISTA" in proc.stdout


#: pages whose examples run a whole study (minutes): checked in the slow run only
SLOW_PAGES = {"sweeps.md"}


@pytest.mark.parametrize("page", [pytest.param(p.name, marks=[pytest.mark.slow] if p.name in SLOW_PAGES else [])
                                  for p in sorted((ROOT / "docs").glob("*.md")) if "```python" in p.read_text()])
def test_python_examples_in_docs_run_as_written(page, tmp_path):
    """Each example runs in a fresh process from a copy of the project's examples (paths in the
    docs are relative to the project root)."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for code in python_blocks((ROOT / "docs" / page).read_text()):
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"docs/{page}: " + proc.stderr[-2000:]


def test_readme_gives_the_two_commands_and_ci_runs_the_second():
    assert "pip install -e . && neurosim run --chip loihi1 --out out/slca-patches" in README
    test_cmd = 'pip install -e ".[test]" && python -m pytest -q'
    assert test_cmd in README
    assert test_cmd in (ROOT / ".ci" / "run").read_text()


def test_links_to_docs_resolve():
    for text in [README] + [p.read_text() for p in (ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(((?:docs/|benchmarks/|\.\./)?[\w./-]+\.md)\)", text):
            base = ROOT if not target.startswith("../") else ROOT / "docs"
            assert (base / target).exists() or (ROOT / "docs" / target).exists(), target


def test_generated_reference_material_is_current():
    assert (ROOT / "docs" / "cli.md").read_text() == reference_markdown(), \
        "regenerate with: python docs/generate.py"
    assert generated("docs/chips.md", "") == chip_markdown()
    assert generated("docs/experiments.md", "") == schema_markdown(FIELDS)


def test_every_command_and_option_is_in_the_cli_reference():
    from neurosim.cli import COMMANDS, build_parser

    doc = (ROOT / "docs" / "cli.md").read_text()
    for name in COMMANDS:
        assert f"`neurosim {name}`" in doc
    from neurosim.cli.reference import _subparsers

    stack, seen = [build_parser()], 0
    while stack:
        parser = stack.pop()
        stack += list(_subparsers(parser).values())
        for action in parser._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert re.search(rf"`[^`]*{opt}\b", doc), (parser.prog, opt)
                    seen += 1
    assert seen > 50


def test_the_generator_finds_nothing_stale():
    """``docs/generate.py --check`` is the one command that regenerates every generated piece."""
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "generate.py"), "--check"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
