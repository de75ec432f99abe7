"""The summary table that opens benchmarks/RESULTS.md (``benchmarks/results_log.py``): the latest
row per target wins, only the table is rewritten, and the shipped table matches targets.json."""
from __future__ import annotations

import datetime
import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load():
    """A fresh copy of benchmarks/results_log.py (the scripts import it from their own folder)."""
    spec = importlib.util.spec_from_file_location("results_log_under_test", BENCH / "results_log.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def rl(tmp_path, monkeypatch):
    """results_log writing to a temporary RESULTS.md (with a dated history) and targets.json."""
    mod = _load()
    monkeypatch.setattr(mod, "RESULTS", tmp_path / "RESULTS.md")
    monkeypatch.setattr(mod, "TARGETS", tmp_path / "targets.json")
    mod.RESULTS.write_text(HISTORY_FILE)
    return mod


HISTORY = """## First benchmark (bench_a.py)

### 2026-01-01 — one run
- figure 1.5x (target >= 2x: MISSED)

## Second benchmark (bench_b.py)

### 2026-01-02 — another run
| a | b |
|---|---|
| 1 | 2 |
"""
HISTORY_FILE = "# Benchmark results\n\n" + HISTORY


def _table(mod, text: str) -> str:
    return text[text.index(mod.START):text.index(mod.END) + len(mod.END)]


def _rows(mod, text: str) -> list[list[str]]:
    lines = [ln for ln in _table(mod, text).splitlines() if ln.startswith("| ") and not ln.startswith("| target ")]
    return [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]


def test_record_targets_opens_the_file_with_the_table_and_keeps_the_history(rl):
    rl.record_targets([rl.Target("a.speed", "A speed", "1.5x", ">= 2x", False, "bench_a.py", date="2026-01-01"),
                       rl.Target("b.size", "B size", "3 MiB", "< 8 MiB", True, "bench_b.py", date="2026-01-02"),
                       rl.Target("b.peer", "B vs peer", "-", ">= 1x", None, "bench_b.py", date="2026-01-02")])
    text = rl.RESULTS.read_text()
    assert text.startswith(f"{rl.TITLE}\n\n{rl.START}\n")
    assert text[text.index(rl.END) + len(rl.END):] == "\n\n" + HISTORY  # the history, byte for byte
    rows = _rows(rl, text)
    assert [r[0] for r in rows] == ["A speed", "B vs peer", "B size"]  # sorted by id
    assert {r[0]: r[3] for r in rows} == {"A speed": "MISSED", "B size": "met", "B vs peer": "n/a"}
    assert rows[0] == ["A speed", "1.5x", ">= 2x", "MISSED", "2026-01-01", "`bench_a.py`"]


def test_the_latest_row_per_id_wins_and_only_the_table_changes(rl):
    rl.record_targets([rl.Target("a.speed", "A speed", "1.5x", ">= 2x", False, "bench_a.py", date="2026-01-01"),
                       rl.Target("b.size", "B size", "3 MiB", "< 8 MiB", True, "bench_b.py", date="2026-01-02")])
    rl.append_run("## Second benchmark (bench_b.py)", "unused intro", ["", "### 2026-01-03 — a third run", "- new", ""])
    before = rl.RESULTS.read_text()
    rl.record_targets([rl.Target("a.speed", "A speed", "2.5x", ">= 2x", True, "bench_a.py")])  # dated today
    after = rl.RESULTS.read_text()
    assert after[after.index(rl.END):] == before[before.index(rl.END):]  # everything below the table unchanged
    assert "### 2026-01-03 — a third run" in after and after.count(rl.START) == after.count(rl.END) == 1
    rows = {r[0]: r for r in _rows(rl, after)}
    assert len(_rows(rl, after)) == 2
    assert rows["A speed"][1:5] == ["2.5x", ">= 2x", "met", datetime.date.today().isoformat()]
    assert rows["B size"][1:5] == ["3 MiB", "< 8 MiB", "met", "2026-01-02"]  # untouched by the second call
    stored = json.loads(rl.TARGETS.read_text())
    assert sorted(stored) == ["a.speed", "b.size"] and stored["a.speed"]["figure"] == "2.5x"


def test_a_file_without_a_table_gets_one_under_its_title(rl):
    rl.write_summary([rl.Target("x", "X", "1", "2", None, "bench_x.py", date="2026-01-01")])
    text = rl.RESULTS.read_text()
    assert text.startswith(f"{rl.TITLE}\n\n{rl.START}") and text.endswith("\n\n" + HISTORY)


def test_a_pipe_in_a_cell_does_not_split_the_row(rl):
    rl.record_targets([rl.Target("p", "recovered (|cos| > 0.99)", "98%", ">= 95%", True, "bench_p.py", date="2026-01-01")])
    line = next(ln for ln in rl.RESULTS.read_text().splitlines() if "recovered" in ln)
    assert line.replace("\\|", "").count("|") == 7


def test_the_shipped_summary_is_what_targets_json_generates():
    """RESULTS.md's table and targets.json cannot drift: the table is exactly write_summary's output."""
    mod = _load()
    text = mod.RESULTS.read_text()
    rows = list(mod._load_targets().values())
    assert rows, "benchmarks/targets.json is empty"
    assert text.startswith(f"{mod.TITLE}\n\n{mod.START}\n")
    assert _table(mod, text) == mod._summary(rows)
    for r in rows:
        assert r.date and (BENCH / r.script).exists(), r
        assert r.met in (True, False, None), r


def test_an_appended_run_is_its_own_markdown_block(rl):
    """A run whose lines start straight with its heading still gets a blank line before it."""
    rl.append_run("## Third benchmark (bench_c.py)", "Intro.", ["### 2026-01-04 — first", "- a"])
    rl.append_run("## Third benchmark (bench_c.py)", "Intro.", ["### 2026-01-05 — second", "- b"])
    text = rl.RESULTS.read_text()
    assert "## Third benchmark (bench_c.py)\n\nIntro.\n\n### 2026-01-04 — first\n- a\n\n### 2026-01-05 — second\n- b\n" \
        in text
