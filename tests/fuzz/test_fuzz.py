"""The fuzzer as a check (issue 16): seeded mutants of every input kind through its reader.

Each campaign must end with no *crashed* outcome (an exception other than the house error, a
report with a non-finite or negative figure) and no *hung* one, and must have both accepted and
refused some mutants (a campaign that only refuses tests nothing behind the reader). The default
run is a small budget per kind; ``-m slow`` runs 1,000 mutants of each. A failure names every
signature with the mutant that first showed it and the command that reproduces it.
"""
from __future__ import annotations

import pytest

from tests.fuzz.harness import Counts, run_campaign, table
from tests.fuzz.kinds import KINDS

#: mutants per kind in the default run (cheap readers get more; the whole file stays under ~40 s)
DEFAULT_MUTANTS = {"chip": 60, "chip+map": 30, "experiment": 80, "experiment+run": 12, "placement": 150,
                   "network": 80, "activity": 80, "checkpoint": 40, "warp-model": 100, "npy": 150, "nir": 40,
                   "cli": 12, "sanafe-net": 30, "pudle-checkpoint": 60, "run-record": 20}
SLOW_MUTANTS = 1000
SEED = 16


def _verdict(c: Counts, n: int) -> list[str]:
    """What is wrong with a campaign's counts (empty when it passed)."""
    problems = []
    if c.crashed or c.hung:
        problems.append(f"{c.crashed} crashed, {c.hung} hung")
        problems += [f"  mutant #{i}: {sig} (alone: python -m tests.fuzz.harness {c.kind} 1 {c.seed} {i})"
                     for sig, i in sorted(c.failures.items(), key=lambda kv: kv[1])]
    if not c.accepted:
        problems.append("no mutant was accepted: the campaign tests nothing behind the reader")
    if not c.refused:
        problems.append("no mutant was refused: the mutator does no damage")
    if problems:
        problems.insert(0, c.line())
        problems.append(f"reproduce: python -m tests.fuzz.harness {c.kind} {n} {c.seed}")
    return problems


def test_a_failure_names_its_signature_and_how_to_reproduce_it():
    c = Counts(kind="chip", seed=16, mutants=10, accepted=3, refused=6, crashed=1,
               failures={"KeyError at chipload.py:12 (_convert): 'core'": 7})
    text = "\n".join(_verdict(c, 10))
    assert "mutant #7: KeyError at chipload.py:12 (_convert): 'core'" in text
    assert "python -m tests.fuzz.harness chip 1 16 7" in text and "python -m tests.fuzz.harness chip 10 16" in text
    assert _verdict(Counts(kind="npy", seed=0, mutants=5, refused=5), 5) == [
        "npy: 5 mutants, 0 accepted, 5 refused, 0 crashed, 0 hung (0 s)",
        "no mutant was accepted: the campaign tests nothing behind the reader",
        "reproduce: python -m tests.fuzz.harness npy 5 0"]


def test_the_recorded_table_has_a_row_per_kind_and_the_totals():
    rows = table([Counts(kind="chip", seed=17, mutants=10, accepted=3, refused=7, seconds=2.4),
                  Counts(kind="npy", seed=17, mutants=5, accepted=1, refused=3, crashed=1, seconds=1.2)])
    assert rows[2] == "| chip | 10 | 3 | 7 | 0 | 0 | 2 |"
    assert rows[3] == "| npy | 5 | 1 | 3 | 1 | 0 | 1 |"
    assert rows[4] == "| **all** | 15 | 4 | 10 | 1 | 0 | 4 |"


def test_every_kind_has_a_default_budget():
    assert sorted(DEFAULT_MUTANTS) == sorted(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_campaign(kind):
    n = DEFAULT_MUTANTS[kind]
    counts = run_campaign(kind, n, seed=SEED)
    problems = _verdict(counts, n)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_campaign_slow(kind):
    counts = run_campaign(kind, SLOW_MUTANTS, seed=SEED + 1, limit_s=6 * 3600)
    problems = _verdict(counts, SLOW_MUTANTS)
    assert not problems, "\n".join(problems)
