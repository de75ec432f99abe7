r"""WARP-LCA: hard-threshold LCA started from a learned, input-dependent initial state.

Reference: Kasenbacher, Ehret, Ecke & Otte, arXiv 2410.18794 (``shared/reference/algorithms.md``
section 3). Verified from the abstract only: convolutional LCA with a **hard threshold** (an
l0-type, non-convex energy) whose initial state ``u(0)`` comes from a predictor network instead
of zero. The predictor architecture and its training objective are not reachable [U]; this module
follows the reference's CPU-reproducible reading (a linear map or a small MLP regressing the
converged state), see :mod:`neurosim.models.warp_predictors`.

Dynamics (unchanged; only the initial state differs), for every input row ``x``::

    u(0) = P(x),   u <- u + (dt/tau) (b - u - G a),   a = H_lam(u) = u 1[|u| > lam],
    b = D^T x,     G = D^T D - I

run by :func:`neurosim.models.lca.analog_lca` (``threshold="hard"``, ``u0=P(x)``). With
``P(x) = 0`` it *is* plain LCA, bit for bit (the same call with a zero ``u0``).

Energy [D] (the usual correspondence for the hard threshold with unit-norm atoms)::

    E(a) = 1/2 ||x - D a||^2 + (lam^2 / 2) ||a||_0        (per-atom lam: sum_i lam_i^2/2 1[a_i != 0])

:func:`hard_energy` computes it; for ``threshold="soft"``/``"nonneg"`` the energy is the LASSO
objective (:func:`neurosim.lasso.lasso_objective`).

Training targets: fixed points of the same dynamics. ``target_init="cold"`` takes the state LCA
reaches from ``u = 0``; ``"soft"`` (default) first solves the convex LASSO at
``soft_ratio * lam`` with FISTA and runs the hard-threshold LCA from that solution's state. Both
are converged states ``u*`` of the same equations; the soft-started ones have lower energy on
natural-image patches (the "better minima" the paper reports), so the predictor learns to aim at
them. At a fixed point ``u* = b - G a*`` exactly (:func:`equilibrium_state`). The predictor
regresses ``a*`` (``target="code"``: on the active set ``u* = a*``; elsewhere the start is 0 and
relaxes within a few ``tau``) or ``u*`` itself (``target="state"``).

On a chip the warm start is a per-neuron state write before the run (:func:`build_warp_lca`,
``mode="state"``) or, without writable state, a one-step bias pulse (``mode="pulse"``).
Spiking LCA has no hard threshold; its warm start (:func:`spiking_initial_state`) writes the
steady-state synaptic currents of predicted LASSO rates.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..errors import NetworkError, UsageError, describe
from ..io import atomic_save_npz, check_writable, read_error
from ..ir import ArrayInput, Network
from ..lasso import check_dictionary, check_inputs, check_lam, fista, lasso_objective
from .lca import analog_lca, build_analog_lca, build_spiking_lca, gram, lca_gram, sign_split, threshold_function
from .warp_predictors import Predictor, make_predictor, predictor_from_arrays

__all__ = ["hard_energy", "warp_energy", "equilibrium_state", "converged_states", "energy_trace", "steps_to_energy",
           "WarpLCA", "build_warp_lca", "spiking_initial_state", "build_warp_spiking_lca", "FORMAT"]

log = logging.getLogger(__name__)

FORMAT = "neurosim-warp-lca"
VERSION = 1


def hard_energy(D, X, A, lam) -> np.ndarray:
    """``E(a) = 1/2 ||x - D a||^2 + sum_i (lam_i^2/2) 1[a_i != 0]`` per row, shape ``(batch,)``."""
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    A = np.asarray(A, dtype=np.float64).reshape(X.shape[0], D.shape[1])
    R = X - A @ D.T
    return 0.5 * np.einsum("bm,bm->b", R, R) + (A != 0) @ (0.5 * lam * lam)


def warp_energy(D, X, A, lam, threshold: str = "hard") -> np.ndarray:
    """The energy LCA with ``threshold`` descends: :func:`hard_energy` or the (non-negative) LASSO objective."""
    if threshold == "hard":
        return hard_energy(D, X, A, lam)
    threshold_function(np.zeros(1), np.zeros(1), threshold)
    return lasso_objective(D, X, A, lam, nonneg=threshold == "nonneg")


def equilibrium_state(D, X, A) -> np.ndarray:
    """``U = X D - A G`` (``G = D^T D - I``): the LCA state whose fixed point has codes ``A``."""
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    return X @ D - np.asarray(A, dtype=np.float64) @ lca_gram(D)


def converged_states(D, X, lam, *, threshold: str = "hard", init: str = "soft", steps: int = 500,
                     dt_over_tau: float = 0.1, soft_ratio: float = 0.3, fista_iter: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Regression targets: converged states ``U*`` and codes ``A*`` ``(batch, N)``.

    ``threshold="hard"``: LCA run ``steps`` steps from ``u = 0`` (``init="cold"``) or from the
    state of the LASSO solution at ``soft_ratio * lam`` (``init="soft"``, FISTA). Soft and
    non-negative thresholds: the FISTA solution of that LASSO (the LCA fixed point). ``U*`` is
    :func:`equilibrium_state` of ``A*``.
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    if threshold != "hard":
        A = fista(D, X, lam, nonneg=threshold == "nonneg", max_iter=fista_iter, tol=1e-7)
        return equilibrium_state(D, X, A), A
    if init not in ("soft", "cold"):
        raise NetworkError(describe("parameter", "target_init", "unknown initialisation", got=repr(init),
                                    expected="'soft' or 'cold'"))
    u0 = None
    if init == "soft":
        if not (np.isfinite(soft_ratio) and soft_ratio > 0):
            raise NetworkError(describe("parameter", "soft_ratio", "must be positive", got=soft_ratio, expected="> 0"))
        A_soft = fista(D, X, soft_ratio * lam, max_iter=fista_iter, tol=1e-4)
        u0 = equilibrium_state(D, X, A_soft)
    A = analog_lca(D, X, lam, threshold="hard", steps=steps, dt_over_tau=dt_over_tau, u0=u0)
    return equilibrium_state(D, X, A), A


def energy_trace(D, X, lam, *, u0=None, threshold: str = "hard", steps: int = 1000, dt_over_tau: float = 0.1,
                 chunk: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Mean energy over the rows of ``X`` after every step ``k = 0..steps``, and the final codes.

    ``trace[k]`` is the mean :func:`warp_energy` of the codes ``T(u_k)``; ``trace[0]`` is that of
    the initial state. Rows are run ``chunk`` at a time to bound memory.
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    U0 = None if u0 is None else np.broadcast_to(np.asarray(u0, dtype=np.float64), (X.shape[0], D.shape[1]))
    total = np.zeros(steps + 1)
    codes = []
    for i in range(0, X.shape[0], chunk):
        sl = slice(i, i + chunk)
        A, hist = analog_lca(D, X[sl], lam, threshold=threshold, steps=steps, dt_over_tau=dt_over_tau,
                             u0=None if U0 is None else U0[sl], return_history=True)
        Xc = X[sl]
        for k in range(hist.shape[0]):
            total[k] += warp_energy(D, Xc, hist[k], lam, threshold).sum()
        codes.append(np.atleast_2d(A))
    return total / X.shape[0], np.concatenate(codes)


def steps_to_energy(trace: np.ndarray, target: float, *, rtol: float = 0.0) -> Optional[int]:
    """First step ``k`` with ``trace[k] <= target (1 + rtol)``, or ``None`` if never reached."""
    hit = np.flatnonzero(np.asarray(trace) <= target * (1.0 + rtol))
    return int(hit[0]) if hit.size else None


class WarpLCA:
    """WARP-LCA estimator: a dictionary, a penalty and a trained initial-state predictor.

    Parameters
    ----------
    dictionary : ndarray (M, N)
        Atoms in columns.
    lam : float or ndarray (N,)
        Threshold / penalty (``>= 0``).
    predictor : str or Predictor
        ``"zero"`` (plain LCA), ``"linear"``, ``"mlp"`` or ``"lista"``
        (:data:`~neurosim.models.warp_predictors.PREDICTORS`), or an unfitted instance.
    predictor_options : dict, optional
        Hyper-parameters for a predictor given by name (LISTA's ``lam_init`` defaults to
        ``soft_ratio * mean(lam)``).
    target : {"code", "state"}
        Regress the converged codes ``a*`` or the converged states ``u*``.
    threshold : {"hard", "soft", "nonneg"}
        LCA threshold (WARP uses ``"hard"``).
    steps : int
        Default Euler steps of :meth:`transform`.
    dt_over_tau : float
        Euler step.
    target_init, target_steps, soft_ratio
        How the regression targets are computed (:func:`converged_states`).

    Attributes
    ----------
    predictor_ : Predictor
        The fitted predictor.
    train_energy_ : float
        Mean energy of the training targets.
    """

    def __init__(self, dictionary, lam, *, predictor: Union[str, Predictor] = "lista",
                 predictor_options: Optional[dict[str, Any]] = None, target: str = "code", threshold: str = "hard",
                 steps: int = 1000, dt_over_tau: float = 0.1, target_init: str = "soft", target_steps: int = 500,
                 soft_ratio: float = 0.3) -> None:
        self.dictionary = check_dictionary(dictionary, name="dictionary")
        self.lam = check_lam(lam, self.dictionary.shape[1])
        threshold_function(np.zeros(1), self.lam[:1], threshold)
        if target not in ("code", "state"):
            raise NetworkError(describe("parameter", "target", "unknown regression target", got=repr(target),
                                        expected="'code' or 'state'"))
        self.threshold, self.target = threshold, target
        self.steps, self.dt_over_tau = int(steps), float(dt_over_tau)
        self.target_init, self.target_steps, self.soft_ratio = target_init, int(target_steps), float(soft_ratio)
        if isinstance(predictor, Predictor):
            self.predictor_ = predictor
        else:
            opts = dict(predictor_options or {})
            if predictor == "lista":
                opts.setdefault("lam_init", self.soft_ratio * float(self.lam.mean()))
            self.predictor_ = make_predictor(predictor, **opts)
        if self.predictor_.kind == "zero":
            self.predictor_.n_in_, self.predictor_.n_out_ = self.dictionary.shape
        self.train_energy_: Optional[float] = None
        self.train_seed_: Optional[int] = None  # seed of the training patches, when the caller records it

    # -- training ---------------------------------------------------------------------------------
    def fit(self, X) -> "WarpLCA":
        """Compute converged targets for the rows of ``X`` and fit the predictor on them."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        if self.predictor_.kind == "zero":
            return self
        U, A = converged_states(self.dictionary, X, self.lam, threshold=self.threshold, init=self.target_init,
                                steps=self.target_steps, dt_over_tau=self.dt_over_tau, soft_ratio=self.soft_ratio)
        return self.fit_targets(X, U, A)

    def fit_targets(self, X, U_star, A_star) -> "WarpLCA":
        """Fit the predictor on precomputed converged states and codes."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        self.train_energy_ = float(warp_energy(self.dictionary, X, A_star, self.lam, self.threshold).mean())
        Y = A_star if self.target == "code" else U_star
        self.predictor_.fit(X, Y, dictionary=self.dictionary)
        return self

    # -- inference -----------------------------------------------------------------------------------
    def initial_state(self, X) -> np.ndarray:
        """``u(0) = P(x)`` for every row of ``X``: ``(batch, N)``."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        return self.predictor_.predict(X)

    def transform(self, X, *, steps: Optional[int] = None, warm: bool = True) -> np.ndarray:
        """Codes after ``steps`` Euler steps from the predicted (``warm``) or zero state."""
        X, single = check_inputs(X, self.dictionary.shape[0])
        u0 = self.initial_state(X) if warm else None
        A = analog_lca(self.dictionary, X, self.lam, threshold=self.threshold, steps=steps or self.steps,
                       dt_over_tau=self.dt_over_tau, u0=u0)
        return A[0] if single else A

    def energy(self, X, A) -> np.ndarray:
        """Energy of codes ``A`` for inputs ``X`` (:func:`warp_energy`)."""
        return warp_energy(self.dictionary, X, A, self.lam, self.threshold)

    def trace(self, X, *, steps: Optional[int] = None, warm: bool = True, chunk: int = 50) -> tuple[np.ndarray, np.ndarray]:
        """:func:`energy_trace` from the warm or cold start."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        return energy_trace(self.dictionary, X, self.lam, u0=self.initial_state(X) if warm else None,
                            threshold=self.threshold, steps=steps or self.steps, dt_over_tau=self.dt_over_tau,
                            chunk=chunk)

    def build_network(self, X, *, mode: str = "state", name: str = "warp", warm: bool = True):
        """:func:`build_warp_lca` for the rows of ``X``; returns ``(network, initial_state)``."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        u0 = self.initial_state(X) if warm else np.zeros((X.shape[0], self.dictionary.shape[1]))
        return build_warp_lca(self.dictionary, X, self.lam, u0, mode=mode, threshold=self.threshold, name=name,
                              dt_over_tau=self.dt_over_tau)

    # -- persistence -----------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "target": self.target, "steps": self.steps,
                "dt_over_tau": self.dt_over_tau, "target_init": self.target_init, "target_steps": self.target_steps,
                "soft_ratio": self.soft_ratio, "train_energy": self.train_energy_, "train_seed": self.train_seed_}

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write dictionary, penalty, settings and predictor to one ``.npz`` (atomically)."""
        p = check_writable(path, overwrite=overwrite)
        if self.predictor_.n_in_ is None:
            raise UsageError(f"WARP model: predictor '{self.predictor_.kind}' is not fitted (got an unfitted model, "
                             "expected fit() before save())")
        arrays = {"format": np.array(FORMAT), "version": np.array(VERSION), "dictionary": self.dictionary,
                  "lam": self.lam, "config": np.array(json.dumps(self.config()))}
        arrays.update({f"predictor.{k}": v for k, v in self.predictor_.to_arrays().items()})
        return atomic_save_npz(p, **arrays)

    @classmethod
    def load(cls, path) -> "WarpLCA":
        """Read a model written by :meth:`save`."""
        p = Path(path)
        if not p.is_file():
            raise UsageError(f"WARP model '{p}': no such file (got a missing path, expected a .npz written by save())")
        from ..netio import open_npz  # names what a wrong file is (a .npy, JSON, ...)

        expected = "a .npz written by 'neurosim warp train' (WarpLCA.save)"
        with open_npz(p, kind="WARP model", expected=expected) as z:
            try:
                data = {k: z[k] for k in z.files}
            except (OSError, ValueError, EOFError) as exc:  # a corrupt member
                raise UsageError(describe("WARP model", str(p), "cannot be read", got=read_error(exc),
                                          expected=expected)) from None
        missing = [k for k in ("format", "version", "dictionary", "lam", "config", "predictor.kind") if k not in data]
        if missing or str(data.get("format")) != FORMAT:
            raise UsageError(f"WARP model '{p}': not a WARP-LCA model (got missing keys {missing} or format "
                             f"{str(data.get('format'))!r}, expected format {FORMAT!r})")
        if int(data["version"]) != VERSION:
            raise UsageError(f"WARP model '{p}': unsupported version (got {int(data['version'])}, expected {VERSION})")
        cfg = json.loads(str(data["config"]))
        pred = predictor_from_arrays({k[len("predictor."):]: v for k, v in data.items() if k.startswith("predictor.")})
        D = data["dictionary"]
        if (pred.n_in_, pred.n_out_) != D.shape:
            raise UsageError(f"WARP model '{p}': predictor shape does not match the dictionary "
                             f"(got {(pred.n_in_, pred.n_out_)}, expected {D.shape})")
        train_energy = cfg.pop("train_energy", None)
        train_seed = cfg.pop("train_seed", None)
        model = cls(D, data["lam"], predictor=pred, **cfg)
        model.train_energy_ = train_energy
        model.train_seed_ = None if train_seed is None else int(train_seed)
        return model


# ---------------------------------------------------------------------------------------------
# networks
def build_warp_lca(D, X, lam, u0, *, mode: str = "state", threshold: str = "hard", name: str = "warp",
                   tau_s: float = 1.0, dt_over_tau: float = 0.1, probes=()) -> tuple[Network, dict]:
    r"""Analog LCA network (:func:`~neurosim.models.lca.build_analog_lca`) started from ``u0``.

    Returns ``(network, initial_state)`` for ``simulate(network, ..., initial_state=...)`` with
    ``dt_s = dt_over_tau * tau_s``; the run follows :func:`~neurosim.models.lca.analog_lca` with
    ``u0``. ``mode="state"`` writes ``u(0) = u0`` (a per-neuron state write on a chip); backends
    treat the initial output ``T(u0)`` as emitted at step -1, so the first step already sees the
    lateral input ``-G T(u0)``. ``mode="pulse"`` starts from ``u = 0`` and injects the one-step
    pulse ``u0/r - u0 - G T(u0)`` (``r = dt/tau``) through an :class:`~neurosim.ir.ArrayInput`
    ``"<name>.warm"``, which gives the same ``u(1)``. A zero ``u0`` adds nothing: the network is
    plain analog LCA.
    """
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    lam = check_lam(lam, D.shape[1])
    if mode not in ("state", "pulse"):
        raise NetworkError(describe("parameter", "mode", "unknown warm-start mode", got=repr(mode),
                                    expected="'state' or 'pulse'"))
    net = build_analog_lca(D, X, lam, threshold=threshold, name=name, tau_s=tau_s, probes=probes)
    U0 = np.array(np.broadcast_to(np.asarray(u0, dtype=np.float64), (X.shape[0], D.shape[1])))
    if not np.any(U0):
        return net, {}
    if mode == "state":
        return net.validate(), {name: {"u": U0}}
    lateral0 = -(threshold_function(U0, lam, threshold) @ lca_gram(D))
    r = float(dt_over_tau)
    net.add(ArrayInput(name, (U0 / r - U0 + lateral0)[None], name=f"{name}.warm"))
    return net.validate(), {}


def spiking_initial_state(D, codes, *, nonneg: bool = True, tau_s: float = 1.0) -> dict[str, np.ndarray]:
    r"""Initial ``v`` and ``i`` of a spiking LCA (:func:`~neurosim.models.lca.build_spiking_lca`)
    for predicted rates ``codes`` ``(batch, N)`` (signed codes are split into ``[a^+, a^-]``).

    The synaptic kernel has unit area, so at a steady firing pattern with rates ``a`` the current
    averages ``i = W a`` (``W`` the lateral weights); the start writes that ``i`` and puts every
    neuron predicted active half-way to its threshold (``v = theta/2``, the mean phase), the others
    at ``v = 0``. ``tau_s`` is accepted for symmetry; the steady current does not depend on it.
    """
    D = check_dictionary(D)
    A = np.atleast_2d(np.asarray(codes, dtype=np.float64))
    Dn = D if nonneg else sign_split(D)
    R = np.maximum(A, 0.0) if nonneg else np.concatenate([np.maximum(A, 0.0), np.maximum(-A, 0.0)], axis=1)
    if R.shape[1] != Dn.shape[1]:
        raise NetworkError(describe("codes", "codes", "do not match the dictionary", got=A.shape,
                                    expected=f"(batch, {D.shape[1]})"))
    G = gram(Dn)  # the network's own lateral weights (build_spiking_lca)
    theta = np.diag(G).copy()
    W = -G
    np.fill_diagonal(W, 0.0)
    return {"v": np.where(R > 0, 0.5 * theta, 0.0), "i": R @ W.T}


def build_warp_spiking_lca(D, X, lam, codes0, *, nonneg: bool = True, name: str = "slca", tau_s: float = 1.0,
                           start: int = 0, probes=("count",)) -> tuple[Network, dict]:
    """Spiking LCA network and its warm initial state from predicted codes ``codes0``.

    Returns ``(network, initial_state)``; a zero ``codes0`` gives an empty initial state (the
    plain spiking LCA of :func:`~neurosim.models.lca.build_spiking_lca`).
    """
    net = build_spiking_lca(D, X, lam, nonneg=nonneg, name=name, tau_s=tau_s, start=start, probes=probes)
    if not np.any(codes0):
        return net, {}
    return net, {name: spiking_initial_state(D, codes0, nonneg=nonneg, tau_s=tau_s)}
