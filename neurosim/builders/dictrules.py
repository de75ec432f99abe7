"""Lin & Tang's local learning rules (eqs. 11-12) as :class:`~neurosim.learning.LearningRule` objects.

One implementation serves both network versions (rate and spiking): the rules only see the
per-phase statistics of the two neurons of each synapse (see :mod:`neurosim.learning`), computed
either from fixed points of the rate model or from spike windows.

Network (reference section 1(a)): input neurons (rate ``b``), coding neurons (rate ``a``, average
current ``u``, threshold ``theta``), feedforward ``F`` (coding <- input), feedback ``B`` (input <-
coding, gain ``gamma``), lateral ``W = -(H - diag H)`` (coding <- coding) with ``theta = diag H``.
Phase ``"0"`` runs with ``gamma = 0``, phase ``"kappa"`` with ``gamma = kappa``. With
``e = u - theta a`` and ``(H a)_i = theta_i a_i - received_i`` (``received`` = the input through
the lateral connection, ``sum_j W_ij a_j``), Theorem 3's local signals are::

    g_D,j = b_kappa,j - b_0,j                                   (input neuron j)
    g_H,i = (1-kappa) ((H a_0)_i - (H a_kappa)_i) + (1-kappa) e_0,i - e_kappa,i   (coding neuron i)

and the updates (eqs. 11-12; ``eta_H = eta_h_ratio * eta_D``; batch means for mini-batches)::

    F_ij   <- F_ij   - eta_D (a_kappa,i g_D,j / kappa + lambda2 F_ij)        stored at coding i
    B_ij   <- B_ij   - eta_D (a_kappa,j g_D,i / kappa + lambda2 B_ij)        stored at input i
    H_ij   <- H_ij   - eta_H g_H,i a_kappa,j / kappa - 2 eta_D lambda2 H_ij  stored at coding i,
                                                        incl. the diagonal theta_i = H_ii
    then F, B, H >= 0 (lateral W <= 0), theta >= theta_min.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.learning import LearningRule, LocalArray, RuleContext

__all__ = ['FeedforwardRule', 'FeedbackRule', 'LateralRule', 'lin_tang_rules', 'THETA_MIN']



#: lower bound of the learned thresholds (the engine needs v_th > 0 / gain > 0)
THETA_MIN = 1e-3


@dataclass(frozen=True)
class _Hyper:
    kappa: float = 0.7
    eta_d: float = 0.01
    eta_h_ratio: float = 15.0
    lambda2: float = 0.0
    project: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.kappa < 1.0:
            raise NetworkError(describe("parameter", "kappa", "must lie in (0, 1)", got=self.kappa,
                                        expected="0 < kappa < 1"))
        for name in ("eta_d", "eta_h_ratio", "lambda2"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise NetworkError(describe("parameter", name, "must be a finite number >= 0", got=v, expected=">= 0"))


class FeedforwardRule(_Hyper, LearningRule):
    """Eq. 11 for ``F`` (connection input -> coding, stored at coding neuron ``i``)."""

    name = "lin_tang.F"
    reads = frozenset({"weight", "post.phase.kappa.rate", "pre.phase.kappa.rate", "pre.phase.0.rate"})

    def update(self, ctx: RuleContext) -> dict[str, LocalArray]:
        g_d = ctx["pre.phase.kappa.rate"] - ctx["pre.phase.0.rate"]
        w = ctx["weight"]
        hebb = ctx.batch_mean_product(ctx["post.phase.kappa.rate"], g_d)
        w = w - self.eta_d * (hebb / self.kappa + self.lambda2 * w)
        return {"weight": np.maximum(w, 0.0) if self.project else w}


class FeedbackRule(_Hyper, LearningRule):
    """Eq. 11 for ``B`` (connection coding -> input, stored at input neuron ``i``)."""

    name = "lin_tang.B"
    reads = frozenset({"weight", "post.phase.kappa.rate", "post.phase.0.rate", "pre.phase.kappa.rate"})

    def update(self, ctx: RuleContext) -> dict[str, LocalArray]:
        g_d = ctx["post.phase.kappa.rate"] - ctx["post.phase.0.rate"]
        w = ctx["weight"]
        hebb = ctx.batch_mean_product(g_d, ctx["pre.phase.kappa.rate"])
        w = w - self.eta_d * (hebb / self.kappa + self.lambda2 * w)
        return {"weight": np.maximum(w, 0.0) if self.project else w}


class LateralRule(_Hyper, LearningRule):
    """Eq. 12 for ``H`` (lateral connection coding -> coding with weights ``-(H - diag H)``, and
    the owner's threshold ``theta_i = H_ii``)."""

    name = "lin_tang.H"
    reads = frozenset({"weight", "post.threshold", "pre.phase.kappa.rate",
                       "post.phase.0.rate", "post.phase.kappa.rate",
                       "post.phase.0.mean_current", "post.phase.kappa.mean_current",
                       "post.phase.0.received", "post.phase.kappa.received"})
    writes = frozenset({"weight", "post.threshold"})

    def g_h(self, ctx: RuleContext) -> LocalArray:
        """Theorem 3's mismatch signal of the owner neuron, shaped ``(batch, n_post, 1)``."""
        theta = ctx["post.threshold"]
        a0, ak = ctx["post.phase.0.rate"], ctx["post.phase.kappa.rate"]
        e0 = ctx["post.phase.0.mean_current"] - theta * a0
        ek = ctx["post.phase.kappa.mean_current"] - theta * ak
        ha0 = theta * a0 - ctx["post.phase.0.received"]
        hak = theta * ak - ctx["post.phase.kappa.received"]
        kc = 1.0 - self.kappa
        return kc * (ha0 - hak) + kc * e0 - ek

    def update(self, ctx: RuleContext) -> dict[str, LocalArray]:
        eta_h = self.eta_h_ratio * self.eta_d
        g_h = self.g_h(ctx)
        w = ctx["weight"]  # = -H_ij off the diagonal
        theta = ctx["post.threshold"]
        hebb = ctx.batch_mean_product(g_h, ctx["pre.phase.kappa.rate"])
        w = w + eta_h * hebb / self.kappa - 2.0 * self.eta_d * self.lambda2 * w
        d_theta = ctx.batch_mean(g_h * ctx["post.phase.kappa.rate"])
        theta = ctx.batch_mean(theta)
        theta = theta - eta_h * d_theta / self.kappa - 2.0 * self.eta_d * self.lambda2 * theta
        if self.project:
            w = np.minimum(w, 0.0)
            theta = np.maximum(theta, THETA_MIN)
        return {"weight": w, "post.threshold": theta}


def lin_tang_rules(*, kappa: float = 0.7, eta_d: float = 0.01, eta_h_ratio: float = 15.0, lambda2: float = 0.0,
                   project: bool = True) -> dict[str, LearningRule]:
    """The three rules keyed by connection name ``{"F", "B", "H"}``, sharing hyperparameters."""
    kw = dict(kappa=kappa, eta_d=eta_d, eta_h_ratio=eta_h_ratio, lambda2=lambda2, project=project)
    return {"F": FeedforwardRule(**kw), "B": FeedbackRule(**kw), "H": LateralRule(**kw)}

