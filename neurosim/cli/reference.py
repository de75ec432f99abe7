"""The command-line reference (``docs/cli.md``), generated from the parsers themselves.

``python docs/generate.py`` rewrites it (with the other generated pages); a test checks the shipped file is
current, so the reference cannot drift from the options the commands accept.
"""
from __future__ import annotations

import argparse
import os
import sys

from neurosim.cli import build_parser

__all__ = ["reference_markdown"]

INTRO = """# Command-line reference

Generated from the parsers by `python docs/generate.py` (a test checks it
is current). Every command is a thin shell over a library call (`neurosim.app`, `mapper`,
`neurosim.estimators`); errors a user can fix print one line on stderr and exit with code 2;
every output path is checked before any work and an existing file is kept unless `--force`.
"""


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.dest == name:
                    return choice.help or ""
    return ""


def _rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        name = ", ".join(action.option_strings) or str(action.metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            name += f" {action.metavar or action.dest.upper()}" if not action.choices else \
                f" {{{','.join(str(c) for c in action.choices)}}}"
        name = "`" + name.replace("|", "\\|") + "`"
        text = (action.help or "").replace("|", "\\|").replace("\n", " ")
        if action.required:
            text += " (required)"
        rows.append(f"| {name} | {text} |")
    return rows


def _section(path: list[str], parser: argparse.ArgumentParser, help_text: str, out: list[str]) -> None:
    subs = _subparsers(parser)
    title = " ".join(path)
    out.append(f"{'#' * min(len(path), 4)} `{title}`\n")
    if help_text:
        out.append(help_text[0].upper() + help_text[1:] + ".\n")
    usage = parser.format_usage().strip().replace("usage: ", "")
    out.append("```\n" + usage + "\n```\n")
    if parser.description and parser.description != help_text:
        out.append(parser.description.strip() + "\n")
    rows = _rows(parser)
    if rows:
        out += ["| option | meaning |", "|---|---|", *rows, ""]
    for name, sub in subs.items():
        _section(path + [name], sub, _help_of(parser, name), out)


def reference_markdown() -> str:
    """Markdown reference of every command, sub-command and option."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines at the terminal width: fix it
    try:
        parser = build_parser()
        out = [INTRO, "## Global options\n", "```\n" + parser.format_usage().strip().replace("usage: ", "") + "\n```\n",
               "| option | meaning |", "|---|---|", *_rows(parser), ""]
        for name, sub in _subparsers(parser).items():
            _section(["neurosim", name], sub, _help_of(parser, name), out)
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(reference_markdown())
