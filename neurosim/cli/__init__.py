"""The ``neurosim`` command line.

The CLI is the application layer: it composes the simulator (:mod:`neurosim`) and the mapper
(:mod:`mapper`). It is the only part of the ``neurosim`` package allowed to import ``mapper``.

Subcommands are listed in the explicit registry :data:`COMMANDS` (name -> module); each module
defines ``register(subparsers)``, which adds its parser and sets ``func(args) -> int``.
Errors the user can fix (bad arguments, bad files, a network that does not fit) print one line
to stderr and exit with code 2, without a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Optional, Sequence

from neurosim.errors import NeurosimError

__all__ = ["main", "COMMANDS"]

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
    parser = build_parser()
    args = parser.parse_args(argv)
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
