"""Solution quality: the codes a network produced, scored against the LASSO optimum.

The one home of "decode, then compare with FISTA". For inputs ``x_b`` (rows of ``X``), codes
``a_b`` and the penalty ``lam`` the objective is

.. math::

    F(a) = \\frac{1}{B} \\sum_b \\left( \\tfrac12 \\lVert x_b - D a_b \\rVert^2 + \\lambda \\lVert a_b \\rVert_1 \\right)

(``a >= 0`` for the non-negative LASSO), the optimum ``F*`` is ``F`` of FISTA's codes
(:func:`neurosim.solvers.lasso.fista`, an independent solver), and the relative gap is
``(F - F*) / |F*|`` (dimensionless; 0 is optimal). A quantised re-simulation is scored the same
way against the same optimum.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import numpy as np

from neurosim.solvers.lasso import fista, lasso_objective

__all__ = ["SolutionQuality", "QuantizedQuality", "lasso_reference", "score_codes"]

#: a code entry counts as non-zero above this magnitude (for ``mean_nonzeros``)
NONZERO = 1e-9


@dataclass(frozen=True)
class QuantizedQuality:
    """The same problem after quantising the network's weights to the chip's precision."""

    weight_bits: int
    objective: float
    relative_gap: float
    weights: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SolutionQuality:
    """How good the decoded codes are (see the module docstring for the definitions)."""

    problem: str
    lam: float
    inputs: int
    objective: float
    optimum_fista: float
    relative_gap: float
    mean_nonzeros: float
    simulation_wall_s: float
    quantized: Optional[QuantizedQuality] = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the ``solution_quality`` section of ``report.json``)."""
        d = asdict(self)
        if self.quantized is None:
            d.pop("quantized")
        return d

    def text(self) -> str:
        """Summary lines (newline-terminated)."""
        lines = [f"solution quality ({self.problem}, lam {self.lam:g}, {self.inputs} inputs):",
                 f"  objective {self.objective:.6g}  optimum (FISTA) {self.optimum_fista:.6g}  "
                 f"relative gap {self.relative_gap:.3g}  mean non-zeros {self.mean_nonzeros:.1f}"]
        if self.quantized is not None:
            z = self.quantized
            what = z.weights.get("description") or f"{z.weight_bits}-bit weights"
            lines.append(f"  with quantised weights ({what}): objective {z.objective:.6g}  "
                         f"relative gap {z.relative_gap:.3g}")
        return "\n".join(lines) + "\n"


def _mean_objective(D: np.ndarray, X: np.ndarray, codes: np.ndarray, lam: float, nonneg: bool) -> float:
    return float(np.mean(lasso_objective(D, X, codes, lam, nonneg=nonneg)))


def _gap(objective: float, optimum: float) -> float:
    return (objective - optimum) / max(abs(optimum), 1e-300)


def lasso_reference(D: np.ndarray, X: np.ndarray, lam: float, *, nonneg: bool) -> tuple[np.ndarray, float]:
    """FISTA's codes ``(batch, N)`` and their mean objective ``F*``."""
    ref = fista(D, X, lam, nonneg=nonneg)
    return ref, _mean_objective(D, X, ref, lam, nonneg)


def score_codes(D: np.ndarray, X: np.ndarray, codes: np.ndarray, lam: float, *, nonneg: bool, optimum: float,
                simulation_wall_s: float = 0.0) -> SolutionQuality:
    """Score ``codes`` against the optimum ``optimum`` (from :func:`lasso_reference`)."""
    objective = _mean_objective(D, X, codes, lam, nonneg)
    return SolutionQuality(problem="non-negative LASSO" if nonneg else "LASSO", lam=float(lam), inputs=int(X.shape[0]),
                           objective=objective, optimum_fista=float(optimum),
                           relative_gap=_gap(objective, optimum),
                           mean_nonzeros=float(np.mean(np.count_nonzero(np.abs(codes) > NONZERO, axis=1))),
                           simulation_wall_s=float(simulation_wall_s))


def score_quantized(D: np.ndarray, X: np.ndarray, codes: np.ndarray, lam: float, *, nonneg: bool, optimum: float,
                    weight_bits: int, weights: dict[str, Any], warnings: list[str]) -> QuantizedQuality:
    """Score the codes of the quantised network against the float optimum."""
    objective = _mean_objective(D, X, codes, lam, nonneg)
    return QuantizedQuality(weight_bits=int(weight_bits), objective=objective, relative_gap=_gap(objective, optimum),
                            weights=dict(weights), warnings=list(warnings))
