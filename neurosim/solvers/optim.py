"""First-order optimisers over numpy arrays and the PUDLE lambda schedule.

* :class:`Adam` (Kingma & Ba 2015): ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
  ``theta <- theta - lr m_hat / (sqrt(v_hat) + eps)`` with bias-corrected ``m_hat``, ``v_hat``; the
  same update as ``torch.optim.Adam`` without weight decay.
* :class:`SGD`: ``theta <- theta - lr g``.
* :func:`lam_decay_factor`: ``beta_k = max(1 - drop floor(k / every), floor)`` (PUDLE's "AEdecay").
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from neurosim.errors import InputError, describe

__all__ = ['Adam', 'SGD', 'lam_decay_factor']



class Adam:
    r"""Adam (Kingma & Ba 2015), the same update as ``torch.optim.Adam`` without weight decay.

    At step ``k = 1, 2, ...`` with gradient ``g``::

        m <- beta1 m + (1 - beta1) g ;  v <- beta2 v + (1 - beta2) g^2
        theta <- theta - lr (m / (1 - beta1^k)) / (sqrt(v / (1 - beta2^k)) + eps)
    """

    def __init__(self, lr: float = 1e-3, *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        if not (lr > 0 and 0 <= beta1 < 1 and 0 <= beta2 < 1 and eps >= 0):
            raise InputError(describe("optimizer", "adam", "invalid hyper-parameters", got=(lr, beta1, beta2, eps),
                                      expected="lr > 0, 0 <= betas < 1, eps >= 0"))
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.k = 0
        self.m: Optional[np.ndarray] = None
        self.v: Optional[np.ndarray] = None

    def step(self, param: np.ndarray, grad: np.ndarray) -> None:
        """Update ``param`` in place."""
        if self.m is None:
            self.m = np.zeros_like(param)
            self.v = np.zeros_like(param)
        self.k += 1
        self.m *= self.beta1
        self.m += (1 - self.beta1) * grad
        self.v *= self.beta2
        self.v += (1 - self.beta2) * grad * grad
        m_hat = self.m / (1 - self.beta1 ** self.k)
        v_hat = self.v / (1 - self.beta2 ** self.k)
        param -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class SGD:
    """Plain gradient step ``theta <- theta - lr g`` (NOODL's update uses it)."""

    def __init__(self, lr: float = 1e-3):
        if not lr > 0:
            raise InputError(describe("optimizer", "sgd", "learning rate must be positive", got=lr, expected="> 0"))
        self.lr = lr

    def step(self, param: np.ndarray, grad: np.ndarray) -> None:
        param -= self.lr * grad


def lam_decay_factor(step: int, *, every: int = 100, drop: float = 0.005, floor: float = 0.0) -> float:
    """``max(1 - drop floor(step / every), floor)``: 1 at step 0, minus ``drop`` every ``every`` steps."""
    return max(1.0 - drop * (step // every), floor)

