"""Shared helpers of the benchmark scripts: a machine summary and appending a run to
``benchmarks/RESULTS.md`` under the script's own section heading (other sections untouched)."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from neurosim.io.atomic import atomic_write_text

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    """``nproc``, ``free -g`` total, CPU, Python and the load average (the machine is shared)."""
    mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()
    total = mem[1].split()[1] if len(mem) > 1 else "?"
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return (f"nproc {nproc}, {total} GiB RAM, {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end (shared machine)")


def append_run(heading: str, intro: str, lines: list[str]) -> None:
    """Append ``lines`` (one run) at the end of section ``heading`` of RESULTS.md, creating the
    section (with ``intro``) or the file if missing; the write is atomic."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if heading not in text:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{intro}\n" + "\n".join(lines)
    else:
        start = text.index(heading)
        nxt = text.find("\n## ", start + len(heading))
        end = len(text) if nxt < 0 else nxt
        text = text[:end].rstrip("\n") + "\n" + "\n".join(lines) + text[end:]
    atomic_write_text(RESULTS, text)
