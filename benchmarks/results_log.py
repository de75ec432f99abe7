"""Shared helpers of the benchmark scripts: a machine summary, appending a run to
``benchmarks/RESULTS.md`` under the script's own section heading (other sections untouched), and
the summary table that opens RESULTS.md.

The summary table lists the latest figure of every target, whether it is met, and its date. Its
rows live in ``benchmarks/targets.json`` (one entry per target id, the latest run wins); every
call of :func:`record_targets` updates that file and rewrites the table between the markers
``<!-- summary:start -->`` and ``<!-- summary:end -->`` at the top of RESULTS.md.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

from neurosim.io.atomic import atomic_write_text

RESULTS = Path(__file__).with_name("RESULTS.md")
TARGETS = Path(__file__).with_name("targets.json")
START, END = "<!-- summary:start -->", "<!-- summary:end -->"
TITLE = "# Benchmark results"


@dataclass
class Target:
    """One row of the summary table.

    ``id`` is stable across runs (e.g. ``"lif100k.run_vs_brian2"``); ``figure`` is the measured
    value as text with its unit or ratio (``"0.28x Brian2"``); ``target`` the goal as text
    (``"<= 0.33x"``); ``met`` True/False, or None when the run could not decide (a peer missing).
    """

    id: str
    title: str
    figure: str
    target: str
    met: Optional[bool]
    script: str
    date: str = ""


def machine() -> str:
    """``nproc``, ``free -g`` total, CPU, Python and the load average (the machine is shared)."""
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    total = mem[1].split()[1] if len(mem) > 1 else "?"
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return (f"nproc {nproc}, {total} GiB RAM, {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end (shared machine)")


def _summary(rows: list[Target]) -> str:
    def mark(m: Optional[bool]) -> str:
        return "met" if m is True else ("MISSED" if m is False else "n/a")

    def cell(text: str) -> str:  # a '|' inside a cell would end it
        return text.replace("|", "\\|")

    lines = [START, "", "## Summary: the latest figure of every target", "",
             "Written by the benchmark scripts (`benchmarks/results_log.py`, rows in `benchmarks/targets.json`); "
             "the dated runs follow below.", "",
             "| target | latest figure | goal | status | date | script |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r.id):
        lines.append(f"| {cell(r.title)} | {cell(r.figure)} | {cell(r.target)} | {mark(r.met)} | {r.date} "
                     f"| `{r.script}` |")
    lines += ["", END]
    return "\n".join(lines)


def _load_targets() -> dict[str, Target]:
    if not TARGETS.exists():
        return {}
    return {k: Target(**v) for k, v in json.loads(TARGETS.read_text()).items()}


def write_summary(rows: Optional[Sequence[Target]] = None) -> None:
    """Rewrite the summary table at the top of RESULTS.md from ``targets.json`` (or ``rows``)."""
    table = _summary(list(rows) if rows is not None else list(_load_targets().values()))
    text = RESULTS.read_text() if RESULTS.exists() else TITLE + "\n"
    if START in text and END in text:
        a, b = text.index(START), text.index(END) + len(END)
        text = text[:a] + table + text[b:]
    else:
        body = text[len(TITLE):].lstrip("\n") if text.startswith(TITLE) else text
        text = f"{TITLE}\n\n{table}\n\n{body}"
    atomic_write_text(RESULTS, text)


def record_targets(targets: Sequence[Target]) -> None:
    """Store the latest figure of each target (dated today unless a date is given) and rewrite
    the summary table."""
    rows = _load_targets()
    today = datetime.date.today().isoformat()
    for t in targets:
        if not t.date:
            t.date = today
        rows[t.id] = t
    atomic_write_text(TARGETS, json.dumps({k: asdict(v) for k, v in sorted(rows.items())}, indent=1) + "\n")
    write_summary(list(rows.values()))


def append_run(heading: str, intro: str, lines: list[str]) -> None:
    """Append ``lines`` (one run) at the end of section ``heading`` of RESULTS.md, creating the
    section (with ``intro``) or the file if missing; the write is atomic."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    run = "\n".join(lines).strip("\n")  # one blank line before the run, whatever the caller starts with
    if heading not in text:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{intro}\n\n" + run + "\n"
    else:
        start = text.index(heading)
        nxt = text.find("\n## ", start + len(heading))
        end = len(text) if nxt < 0 else nxt
        text = text[:end].rstrip("\n") + "\n\n" + run + "\n" + text[end:]
    atomic_write_text(RESULTS, text)
