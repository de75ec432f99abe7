"""Has a dictionary-learning run converged? A verdict from its held-out history.

Both dictionary learners (:class:`~neurosim.estimators.dictlearn.LocalDictionaryLearning`, the SGD
baseline) record the held-out objective ``f`` every ``eval_every`` samples
(``history["samples"]``, ``history["test_objective"]``). Over the last ``window`` of the samples
seen (default the last quarter), the relative change

.. math:: r = \\frac{f(n_0) - f(n_\\mathrm{end})}{|f(n_\\mathrm{end})|},
          \\qquad n_0 = \\text{the last evaluation at or before } (1 - \\mathrm{window})\\, n_\\mathrm{end}

(dimensionless; positive when the objective still falls) decides: converged when
``|r| <= tol`` (default 5 %: a default ``neurosim learn`` run on planted data, at 95-100 %
of the atoms recovered, still gains 2-4 % over its last quarter; one epoch of it, 15-19 %). ``r > tol``: still improving (train longer); ``r < -tol``: the
objective rose (the rates are too high). With fewer than three evaluations the verdict is
unknown (``converged=None``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from neurosim.errors import InputError, describe

__all__ = ["Convergence", "training_convergence", "CONVERGENCE_TOL", "CONVERGENCE_WINDOW"]

#: relative change of the held-out objective over the window below which a run has converged
CONVERGENCE_TOL = 0.05
#: the fraction of the samples seen (the end of training) over which the change is measured
CONVERGENCE_WINDOW = 0.25


@dataclass(frozen=True)
class Convergence:
    """The verdict of :func:`training_convergence`.

    Attributes
    ----------
    converged : bool or None
        ``None``: too few evaluations to tell.
    change : float or None
        Relative fall ``r`` of the held-out objective over the window (positive: it fell).
    since_sample, last_sample : int
        The window's first and last evaluations (samples seen).
    tol, window : float
    advice : str
        What to do when not converged (empty when converged).
    """

    converged: Optional[bool]
    change: Optional[float]
    since_sample: int
    last_sample: int
    tol: float
    window: float
    advice: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One line for a user: the verdict, the measured change, the tolerance and the advice."""
        if self.converged is None:
            return f"convergence unknown: {self.advice}"
        what = (f"the held-out objective {'fell' if self.change >= 0 else 'rose'} {abs(self.change):.2%} over samples "
                f"{self.since_sample}..{self.last_sample} (the last {self.window:.0%} of training; tolerance "
                f"{self.tol:.0%})")
        return f"converged: {what}" if self.converged else f"NOT CONVERGED: {what}; {self.advice}"


def training_convergence(history: Mapping[str, Sequence[float]], *, tol: float = CONVERGENCE_TOL,
                         window: float = CONVERGENCE_WINDOW) -> Convergence:
    """The convergence verdict of a training history (see the module docstring).

    Parameters
    ----------
    history : mapping
        ``"samples"`` and ``"test_objective"`` as recorded by the learners (equal lengths).
    tol : float
        Largest relative change ``|r|`` of a converged run (dimensionless, > 0).
    window : float
        Fraction of the samples seen over which ``r`` is measured, in (0, 1).

    Raises
    ------
    InputError
        ``tol`` or ``window`` out of range, or a history whose two series differ in length.
    """
    if not (np.isfinite(tol) and tol > 0):
        raise InputError(describe("parameter", "tol", "must be > 0", got=tol))
    if not 0 < window < 1:
        raise InputError(describe("parameter", "window", "must lie in (0, 1)", got=window))
    n = np.asarray(history.get("samples", ()), dtype=np.float64)
    f = np.asarray(history.get("test_objective", ()), dtype=np.float64)
    if n.shape != f.shape:
        raise InputError(describe("history", "test_objective", "has another length than samples", got=len(f),
                                  expected=len(n)))
    last = int(n[-1]) if len(n) else 0
    start = (1.0 - window) * last
    earlier = np.flatnonzero(n <= start)
    if len(n) < 3 or not len(earlier) or int(n[earlier[-1]]) == last:
        return Convergence(None, None, 0, last, tol, window,
                           advice=f"{len(n)} held-out evaluation(s) over {last} samples; evaluate more often "
                                  "(--eval-every) or train longer")
    i0 = int(earlier[-1])
    change = float((f[i0] - f[-1]) / max(abs(f[-1]), 1e-300))
    converged = abs(change) <= tol
    if converged:
        advice = ""
    elif change > 0:
        advice = "train longer (more --epochs or --samples, or --resume from a checkpoint)"
    else:
        advice = "the objective is rising: lower --eta (or --eta-h-ratio)"
    return Convergence(converged, change, int(n[i0]), last, tol, window, advice)
