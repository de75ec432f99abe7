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

Each rule has two equivalent forms: :meth:`update` applies it between runs through
:func:`neurosim.learning.apply_rule` (the numpy engine's path), and :meth:`loop_updates` gives the
scalar functions the compiled engine runs inside its loop at the end of phase ``"kappa"``
(:mod:`neurosim.plasticity`): ``w <- clip(w + mean_b dw_b, lo, hi)`` per synapse with the
per-input changes ``dw_b`` below (the same arithmetic; the batch means of the products are the
batch-mean products of :meth:`RuleContext.batch_mean_product`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.errors import NetworkError, describe
from neurosim.learning import LearningRule, LocalArray, RuleContext
from neurosim.plasticity import Update

__all__ = ['FeedforwardRule', 'FeedbackRule', 'LateralRule', 'lin_tang_rules', 'THETA_MIN', 'feedforward_dw',
           'feedback_dw', 'lateral_dw', 'threshold_dtheta', 'UPDATE_PHASE']



#: lower bound of the learned thresholds (the engine needs v_th > 0 / gain > 0)
THETA_MIN = 1e-3
#: the phase whose end triggers the in-loop updates
UPDATE_PHASE = "phase:kappa"


# -- scalar forms (one synapse, one input): used inside the compiled loop -------------------------
def feedforward_dw(w, a_k, b_k, b_0, eta_d, kappa, lambda2):
    """Eq. 11 for ``F_ij``: ``-eta_D (a_k,i (b_k,j - b_0,j) / kappa + lambda2 F_ij)``."""
    return -eta_d * (a_k * (b_k - b_0) / kappa + lambda2 * w)


def feedback_dw(w, b_k, b_0, a_k, eta_d, kappa, lambda2):
    """Eq. 11 for ``B_ij``: ``-eta_D ((b_k,i - b_0,i) a_k,j / kappa + lambda2 B_ij)``."""
    return -eta_d * ((b_k - b_0) * a_k / kappa + lambda2 * w)


def lateral_dw(w, theta, a0, ak, mc0, mck, rec0, reck, a_k_pre, eta_h, kappa, eta_d, lambda2):
    """Eq. 12 for the lateral weight ``W_ij = -H_ij``: ``eta_H g_H,i a_k,j / kappa - 2 eta_D lambda2 W_ij``,
    ``g_H`` (Theorem 3) from the owner's own statistics as in :meth:`LateralRule.g_h`."""
    kc = 1.0 - kappa
    g_h = kc * ((theta * a0 - rec0) - (theta * ak - reck)) + kc * (mc0 - theta * a0) - (mck - theta * ak)
    return eta_h * g_h * a_k_pre / kappa - 2.0 * eta_d * lambda2 * w


def threshold_dtheta(theta, a0, ak, mc0, mck, rec0, reck, eta_h, kappa, eta_d, lambda2):
    """Eq. 12 for ``theta_i = H_ii``: ``-eta_H g_H,i a_k,i / kappa - 2 eta_D lambda2 theta_i``."""
    kc = 1.0 - kappa
    g_h = kc * ((theta * a0 - rec0) - (theta * ak - reck)) + kc * (mc0 - theta * a0) - (mck - theta * ak)
    return -eta_h * g_h * ak / kappa - 2.0 * eta_d * lambda2 * theta


_POST_H = ("post.phase.0.rate", "post.phase.kappa.rate", "post.phase.0.mean_current", "post.phase.kappa.mean_current",
           "post.phase.0.received", "post.phase.kappa.received")


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

    def loop_updates(self) -> list[Update]:
        return [Update(UPDATE_PHASE, feedforward_dw, ("post.phase.kappa.rate", "pre.phase.kappa.rate", "pre.phase.0.rate"),
                       (self.eta_d, self.kappa, self.lambda2), lo=0.0 if self.project else -np.inf)]


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

    def loop_updates(self) -> list[Update]:
        return [Update(UPDATE_PHASE, feedback_dw, ("post.phase.kappa.rate", "post.phase.0.rate", "pre.phase.kappa.rate"),
                       (self.eta_d, self.kappa, self.lambda2), lo=0.0 if self.project else -np.inf)]


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

    def loop_updates(self) -> list[Update]:
        eta_h = self.eta_h_ratio * self.eta_d
        consts = (eta_h, self.kappa, self.eta_d, self.lambda2)
        return [Update(UPDATE_PHASE, lateral_dw, ("post.threshold", *_POST_H, "pre.phase.kappa.rate"), consts,
                       hi=0.0 if self.project else np.inf),
                Update(UPDATE_PHASE, threshold_dtheta, _POST_H, consts, target="post.threshold",
                       lo=THETA_MIN if self.project else -np.inf)]


def lin_tang_rules(*, kappa: float = 0.7, eta_d: float = 0.01, eta_h_ratio: float = 15.0, lambda2: float = 0.0,
                   project: bool = True) -> dict[str, LearningRule]:
    """The three rules keyed by connection name ``{"F", "B", "H"}``, sharing hyperparameters."""
    kw = dict(kappa=kappa, eta_d=eta_d, eta_h_ratio=eta_h_ratio, lambda2=lambda2, project=project)
    return {"F": FeedforwardRule(**kw), "B": FeedbackRule(**kw), "H": LateralRule(**kw)}

