"""The command line's own error: a bad argument or option combination (exit code 2).

Only the CLI constructs :class:`UsageError`; the library raises its domain errors
(:mod:`neurosim.errors`), which the CLI reports the same way: one line on stderr, exit 2.
"""
from __future__ import annotations

from neurosim.errors import NeurosimError

__all__ = ["UsageError"]


class UsageError(NeurosimError, ValueError):
    """A command-line argument or option combination is unusable (the CLI exits with code 2)."""
