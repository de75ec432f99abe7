"""Progress reporting of long library computations (library code reports, never prints).

A long computation takes ``progress: Optional[Progress]`` and calls ``progress(phase, done,
total)`` as it goes: ``phase`` names what runs (``"targets"``, ``"predictor"``, ``"cold LCA"``
...), ``done`` of ``total`` units of it are finished (``0 <= done <= total``). A new phase name
starts a new phase. The CLI turns the calls into progress bars on stderr
(:class:`neurosim.cli.common.StageProgress`); the mapper's ``mapper.options.Progress`` has the
same signature.
"""
from __future__ import annotations

from typing import Callable, Optional

__all__ = ["Progress", "report"]

#: ``progress(phase, done, total)``
Progress = Callable[[str, int, int], None]


def report(progress: Optional[Progress], phase: str, done: int, total: int) -> None:
    """Call ``progress(phase, done, total)`` when a callback is given (``None``: nothing)."""
    if progress is not None:
        progress(phase, int(done), int(total))


class CallbackBar:
    """The ``update`` / ``refresh`` / ``close`` of a tqdm bar, reported to a :data:`Progress`
    callback as ``progress(phase, done, total)`` (how a simulator's loop reports to the CLI)."""

    def __init__(self, progress: Progress, phase: str, total: int):
        self.progress, self.phase, self.total, self.n = progress, phase, int(total), 0
        self.progress(self.phase, 0, self.total)  # shown at once (the first chunk may compile kernels)

    def update(self, k: int = 1) -> None:
        self.n += int(k)
        self.progress(self.phase, self.n, self.total)

    def refresh(self) -> None:
        self.progress(self.phase, self.n, self.total)

    def close(self) -> None:
        """Nothing to close: the callback's owner closes what it draws."""
