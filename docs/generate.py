"""Regenerate every generated piece of reference material from the code that defines it.

    python docs/generate.py            # rewrite what is stale, print what changed
    python docs/generate.py --check    # exit 1 if anything is stale (what the tests check)

Generated pieces: ``docs/cli.md`` (the argument parsers), the ``<!-- generated: ... -->``
sections of ``docs/chips.md``, ``docs/experiments.md`` and ``docs/sweeps.md`` (the schemas),
and the shipped JSON Schemas (``chips/chip.schema.json``, ``examples/experiment.schema.json``,
``examples/sweeps/sweep.schema.json``). Files are written atomically.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SECTION = re.compile(r"(<!-- generated: [^>]*-->\n)(.*?)(<!-- end generated -->)", flags=re.S)


def pieces() -> dict[Path, Callable[[str], str]]:
    """``{file: new_text(old_text)}`` of every generated file."""
    from mapper.chipschema import schema_markdown as chip_markdown
    from neurosim.app.experiment import FIELDS
    from neurosim.app.sweepspec import sweep_schema_markdown
    from neurosim.cli.chips_cmd import schema_text
    from neurosim.cli.reference import reference_markdown
    from neurosim.validation.schema import schema_markdown

    def section(text: str) -> Callable[[str], str]:
        return lambda old: SECTION.sub(lambda m: m.group(1) + text + m.group(3), old, count=1)

    return {
        ROOT / "docs" / "cli.md": lambda old: reference_markdown(),
        ROOT / "docs" / "chips.md": section(chip_markdown()),
        ROOT / "docs" / "experiments.md": section(schema_markdown(FIELDS)),
        ROOT / "docs" / "sweeps.md": section(sweep_schema_markdown()),
        ROOT / "chips" / "chip.schema.json": lambda old: schema_text(),
        ROOT / "examples" / "experiment.schema.json": lambda old: schema_text(experiment=True),
        ROOT / "examples" / "sweeps" / "sweep.schema.json": lambda old: schema_text(sweep=True),
    }


def stale() -> dict[Path, str]:
    """The generated files whose text differs from what the code generates now, with the new text."""
    out = {}
    for path, make in pieces().items():
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        new = make(old)
        if new != old:
            out[path] = new
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from neurosim.io.atomic import atomic_write_text

    todo = stale()
    for path, text in todo.items():
        print(f"{'stale' if args.check else 'wrote'} {path.relative_to(ROOT)}")
        if not args.check:
            atomic_write_text(path, text)
    return 1 if (args.check and todo) else 0


if __name__ == "__main__":
    sys.exit(main())
