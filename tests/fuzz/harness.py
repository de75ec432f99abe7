"""Run the fuzzer: mutants of one input kind through its reader, each outcome classified.

Outcomes: *accepted* (the reader and what follows it returned), *refused* (a
:class:`~neurosim.errors.NeurosimError`, the house error, or exit 2 with one line from the CLI),
*crashed* (any other exception, or a report with a non-finite or negative figure) and *hung* (the
mutant's time limit passed). A campaign runs in a forked child process whose address space is
limited (:data:`EXTRA_MEMORY` above what it starts with), so a reader that allocates what a file
promises crashes with ``MemoryError`` instead of taking the machine; the parent survives whatever
the child does.

``python -m tests.fuzz.harness KIND [N] [SEED] [START]`` runs one campaign (mutants ``START ..
START + N - 1``; ``1 SEED i`` replays mutant ``i`` alone) and prints its counts and failure
signatures. ``python -m tests.fuzz.harness all [N] [SEED] --record`` runs every kind (the slow
test's campaign with ``N = 1000`` and its seed) and appends the per-kind table to the reliability
section of ``benchmarks/RESULTS.md`` (:func:`record`).
"""
from __future__ import annotations

import logging
import multiprocessing
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

__all__ = ["Counts", "run_kind", "run_campaign", "EXTRA_MEMORY"]

#: address space a campaign may use beyond what its process holds when it starts
EXTRA_MEMORY = 3 * 2**30


@dataclass
class Counts:
    """The outcome counts of one campaign, and one example of every failure signature."""

    kind: str
    seed: int
    mutants: int = 0
    accepted: int = 0
    refused: int = 0
    crashed: int = 0
    hung: int = 0
    seconds: float = 0.0
    #: failure signature -> index of the first mutant that showed it
    failures: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.kind}: {self.mutants} mutants, {self.accepted} accepted, {self.refused} refused, "
                f"{self.crashed} crashed, {self.hung} hung ({self.seconds:.0f} s)")


class _Timeout(BaseException):
    """Raised by the alarm when a mutant runs past its limit (a BaseException: no reader catches it)."""


def _alarm(signum, frame):  # pragma: no cover - timing
    raise _Timeout()


def _signature(exc: BaseException) -> str:
    """``Type at file:line (function): first words`` at the innermost frame of the project."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if ("/neurosim/" in f.filename or "/mapper/" in f.filename) and "/tests/" not in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno} ({frames[-1].name})" if frames else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:100]}"


def run_kind(kind_name: str, n: int, *, seed: int, workdir: Path, start: int = 0) -> Counts:
    """Run mutants ``start .. start + n - 1`` of ``kind_name`` in this process (see the module doc).

    numpy's overflow and invalid-value warnings are errors here: one means a non-finite figure got
    past a check. Logging is off (readers log what they approximate; the counts say the rest).
    """
    from tests.fuzz.kinds import KINDS

    kind = KINDS[kind_name]
    work = Path(workdir) / kind_name.replace("+", "_")
    (work / "base").mkdir(parents=True, exist_ok=True)
    base = kind.make(work / "base")
    if kind.warm is not None:  # compile what the first accepted mutant would (numba caches), untimed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kind.warm(work / "base", base)
    counts = Counts(kind=kind_name, seed=seed)
    t0 = time.perf_counter()
    old = signal.signal(signal.SIGALRM, _alarm)
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            for i in range(start, start + n):
                _one(kind, base, work, counts, i, np.random.default_rng([seed, i]))
    finally:
        logging.disable(logging.NOTSET)
        signal.signal(signal.SIGALRM, old)
    counts.seconds = time.perf_counter() - t0
    return counts


def _one(kind, base: dict, work: Path, counts: Counts, i: int, rng: np.random.Generator) -> None:
    """Make mutant ``i``, read it under the time limit, count the outcome."""
    from neurosim.errors import NeurosimError
    from tests.fuzz.kinds import BadReport

    with warnings.catch_warnings():  # casts to NaN / overflow while *making* a mutant are intended
        warnings.simplefilter("ignore", RuntimeWarning)
        data = kind.mutant(rng, base)
    case = work / f"m{i % 4}"
    shutil.rmtree(case, ignore_errors=True)
    case.mkdir()
    path = case / kind.file_name(base)
    path.write_bytes(data)
    counts.mutants += 1
    signal.setitimer(signal.ITIMER_REAL, kind.timeout_s)
    try:
        kind.read(path, base)
        counts.accepted += 1
    except _Timeout:
        counts.hung += 1
        counts.failures.setdefault(f"hang after {kind.timeout_s:g} s", i)
    except NeurosimError:
        counts.refused += 1
    except BadReport as exc:
        counts.crashed += 1
        counts.failures.setdefault(f"bad report: {exc}", i)
    except Exception as exc:  # noqa: BLE001 - every other exception is the failure we look for
        counts.crashed += 1
        counts.failures.setdefault(_signature(exc), i)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _child(queue, kind_name: str, n: int, seed: int, workdir: str, start: int) -> None:  # pragma: no cover
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        vm = int(fh.read().split()[0]) * resource.getpagesize()
    limit = vm + EXTRA_MEMORY
    if hard == resource.RLIM_INFINITY or limit < hard:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        queue.put(asdict(run_kind(kind_name, n, seed=seed, workdir=Path(workdir), start=start)))
    except BaseException as exc:  # the campaign itself failed (its base files, an import)
        queue.put({"error": "".join(traceback.format_exception(exc))[-2000:]})


def run_campaign(kind_name: str, n: int, *, seed: int = 0, workdir: Optional[Path] = None, start: int = 0,
                 limit_s: Optional[float] = None) -> Counts:
    """Run :func:`run_kind` in a forked child with a limited address space; return its counts.

    Raises
    ------
    RuntimeError
        The child died (a signal, the memory limit in C code) or the campaign could not start.
    """
    from tests.fuzz.kinds import KINDS

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="neurosim-fuzz-")
        workdir = Path(tmp)
    proc = ctx.Process(target=_child, args=(queue, kind_name, n, seed, str(workdir), start))
    proc.start()
    try:
        wait = limit_s if limit_s is not None else 120 + n * KINDS[kind_name].timeout_s
        try:
            out = queue.get(timeout=wait)
        except Exception:  # queue.Empty: the child died or the campaign ran past its limit
            raise RuntimeError(f"fuzz campaign {kind_name}: child ended without a result "
                               f"(exit code {proc.exitcode})") from None
        proc.join(timeout=30)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if "error" in out:
        raise RuntimeError(f"fuzz campaign {kind_name} could not run:\n{out['error']}")
    return Counts(**out)


#: heading of the reliability section of ``benchmarks/RESULTS.md``
RESULTS_HEADING = "## Reliability: fuzz campaigns over every reader (tests/fuzz)"


def table(runs: list[Counts]) -> list[str]:
    """Markdown rows of the per-kind counts (one row per campaign, then the totals)."""
    rows = ["| input kind | mutants | accepted | refused | crashed | hung | seconds |", "|---|---|---|---|---|---|---|"]
    for c in runs:
        rows.append(f"| {c.kind} | {c.mutants} | {c.accepted} | {c.refused} | {c.crashed} | {c.hung} | {c.seconds:.0f} |")
    tot = [sum(getattr(c, f) for c in runs) for f in ("mutants", "accepted", "refused", "crashed", "hung", "seconds")]
    rows.append("| **all** | {} | {} | {} | {} | {} | {:.0f} |".format(*tot))
    return rows


def record(runs: list[Counts], n: int, seed: int, name: str = "all") -> None:
    """Append a dated entry with the per-kind table of ``runs`` (the campaign ``name``: a kind or
    ``all``) to ``benchmarks/RESULTS.md``."""
    import datetime  # noqa: PLC0415
    import os  # noqa: PLC0415
    import platform  # noqa: PLC0415

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    from results_log import append_run  # noqa: PLC0415

    failures = [f"  - {c.kind} mutant #{i}: {sig}" for c in runs for sig, i in c.failures.items()]
    lines = [f"\n### {datetime.date.today().isoformat()} — "
             + (f"{len(runs)} kinds" if len(runs) > 1 else f"kind {runs[0].kind}") + f" x {n:,} mutants, seed {seed}",
             f"- machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, "
             f"load average {os.getloadavg()[0]:.1f} at the end (shared machine)",
             f"- command: `python -m tests.fuzz.harness {name} {n} {seed} --record`", ""] + table(runs) + [""]
    lines += ["- failure signatures:"] + failures if failures else ["- no crash and no hang in any kind"]
    append_run(RESULTS_HEADING, "Written by `python -m tests.fuzz.harness all N SEED --record`.", lines)


def _main(argv: list[str]) -> int:  # pragma: no cover
    from tests.fuzz.kinds import KINDS

    rec = "--record" in argv
    args = [a for a in argv if a != "--record"]
    name = args[0]
    count = int(args[1]) if len(args) > 1 else 50
    s = int(args[2]) if len(args) > 2 else 0
    first = int(args[3]) if len(args) > 3 else 0
    runs = []
    for kind in (sorted(KINDS) if name == "all" else [name]):
        c = run_campaign(kind, count, seed=s, start=first, limit_s=6 * 3600)
        runs.append(c)
        print(c.line(), flush=True)
        for sig, idx in c.failures.items():
            print(f"  #{idx}: {sig}", flush=True)
    if rec:
        record(runs, count, s, name)
    return 1 if any(c.crashed or c.hung for c in runs) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
