"""The ``neurosim`` command line.

The CLI is the application layer: it composes the simulator (:mod:`neurosim`) and the mapper
(:mod:`mapper`). It is the only part of the ``neurosim`` package allowed to import ``mapper``.

Subcommands are listed in the explicit registry :data:`COMMANDS` (name -> module); each module
defines ``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
Errors the user can fix (bad arguments, bad files, a network that does not fit) print one line
to stderr and exit with code 2, without a traceback. Output piped into a reader that stops early
(``neurosim chips list | head -1``) ends the command quietly with exit code 141 (128 + SIGPIPE, what
a shell reports for a process killed by a broken pipe), as Python's documentation recommends:
stdout is pointed at ``/dev/null`` so that the interpreter's final flush cannot fail again.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import shlex
import sys
from typing import Optional, Sequence

from neurosim.errors import NeurosimError

__all__ = ["main", "COMMANDS", "BROKEN_PIPE_EXIT"]

#: exit code after a broken pipe on stdout (128 + SIGPIPE, as a shell reports a process it killed)
BROKEN_PIPE_EXIT = 141

#: subcommand -> module defining ``register(subparsers)``
COMMANDS: dict[str, str] = {
    "run": "neurosim.cli.run_cmd",
    "lca": "neurosim.cli.lca_cmd",
    "chips": "neurosim.cli.chips_cmd",
    "map": "neurosim.cli.map_cmd",
    "sweep": "neurosim.cli.sweep_cmd",
    "learn": "neurosim.cli.learn_cmd",
    "pudle": "neurosim.cli.pudle_cmd",
    "relu": "neurosim.cli.relu_cmd",
    "warp": "neurosim.cli.warp_cmd",
    "denoise": "neurosim.cli.denoise_cmd",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neurosim", description="Simulate spiking sparse-coding networks and map them onto chips.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in COMMANDS.items():
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        rc = _main(argv)
        sys.stdout.flush()  # here, not at exit: a reader gone meanwhile is handled below
        return rc
    except BrokenPipeError:
        _quiet_stdout()
        return BROKEN_PIPE_EXIT


def _quiet_stdout() -> None:
    """Point stdout at /dev/null: the reader of the pipe is gone, and the interpreter's flush at
    exit would otherwise raise a second BrokenPipeError (printed as 'Exception ignored ...')."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured in tests)
        pass


def _main(argv: Optional[Sequence[str]]) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(words)
    args.command_line = "neurosim " + " ".join(shlex.quote(str(w)) for w in words)  # for run records
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except NeurosimError as exc:
        print(f"neurosim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neurosim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
