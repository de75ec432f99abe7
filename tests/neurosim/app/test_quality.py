"""Solution quality (neurosim.app.quality): the objective, FISTA's optimum and the relative gap,
against the hand-solved 3x3 toy problem."""
import numpy as np
import pytest

from neurosim.app.quality import lasso_reference, score_codes, score_quantized
from neurosim.data.samples import TOY_OBJECTIVE, TOY_SOLUTION, toy_problem


def test_reference_is_the_known_optimum():
    p = toy_problem()
    codes, optimum = lasso_reference(p.D, p.X, p.lam, nonneg=True)
    np.testing.assert_allclose(codes[0], TOY_SOLUTION, atol=2e-4)
    assert optimum == pytest.approx(TOY_OBJECTIVE, abs=1e-4)


def test_gap_is_zero_at_the_optimum_and_positive_elsewhere():
    p = toy_problem()
    _, optimum = lasso_reference(p.D, p.X, p.lam, nonneg=True)
    at = score_codes(p.D, p.X, TOY_SOLUTION[None, :], p.lam, nonneg=True, optimum=optimum, simulation_wall_s=1.5)
    assert abs(at.relative_gap) < 1e-3 and at.mean_nonzeros == 2 and at.inputs == 1
    zero = score_codes(p.D, p.X, np.zeros((1, 3)), p.lam, nonneg=True, optimum=optimum)
    # F(0) = 1/2 ||x||^2 = 1.75, so the gap is (1.75 - F*) / F*
    assert zero.objective == pytest.approx(1.75) and zero.relative_gap == pytest.approx(1.75 / optimum - 1, rel=1e-6)
    assert zero.problem == "non-negative LASSO" and zero.mean_nonzeros == 0


def test_report_section_and_text():
    p = toy_problem()
    _, optimum = lasso_reference(p.D, p.X, p.lam, nonneg=True)
    q = score_codes(p.D, p.X, TOY_SOLUTION[None, :], p.lam, nonneg=True, optimum=optimum)
    assert "quantized" not in q.to_dict()
    z = score_quantized(p.D, p.X, np.round(TOY_SOLUTION * 4)[None, :] / 4, p.lam, nonneg=True, optimum=optimum,
                        weight_bits=4, weights={"description": "4-bit test weights"}, warnings=["w"])
    import dataclasses
    q2 = dataclasses.replace(q, quantized=z)
    d = q2.to_dict()
    assert d["quantized"]["weight_bits"] == 4 and d["quantized"]["warnings"] == ["w"] and z.relative_gap > 0
    text = q2.text()
    assert "solution quality (non-negative LASSO, lam 0.1, 1 inputs)" in text and "4-bit test weights" in text
