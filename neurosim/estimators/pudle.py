"""PUDLE: dictionary learning by an unrolled ISTA autoencoder (Tolooshams & Ba, TMLR 2022).

This module holds the recovery metrics and the scikit-learn-style :class:`PUDLE` estimator; the
planted-data protocol is :func:`neurosim.data.planted.make_planted`, the optimisers are in
:mod:`neurosim.solvers.optim`, and the encoder and the gradient estimators with their
hand-written backward pass live in :mod:`neurosim.solvers.pudle_grad`.

Planted problem (reference section 4(a), read from the authors' code)::

    D*  : i.i.d. N(0, 1) entries, columns normalised to unit l2 norm      (m x p)
    z*  : exactly s non-zeros per sample at uniformly random positions,
          magnitudes U[c_min, c_max] = U[1, 2] times a random sign        (p per sample)
    x   = D* z*   (noiseless; stored one sample per row, X is n x m)
    D_0 = normalise(D* + init_noise N(0, 1))                              (initialisation)

The authors' code draws **one** +-1 sign per sample (``sign="per_sample"``, the default here);
``sign="per_entry"`` draws one per non-zero.

Training step ``k`` (one mini-batch; the default protocol is full batch)::

    g_k   = estimator(D_k, X_batch)                (see pudle_grad)
    D'    = Adam(D_k, g_k)                         (lr 1e-3, betas 0.9/0.999, eps 1e-8)
    D_k+1 = D' / ||columns of D'||                 (unit-norm atoms after every step)

Lambda decay ("AEdecay"; reading of the reference, [D]): the encoder threshold is multiplied by a
factor ``beta_k = max(1 - drop floor(k / every), beta_min)`` with ``drop = 0.005`` and
``every = 100`` mini-batches, so ``beta`` starts at 1 and drops by 0.005 every 100 mini-batches;
that the factor multiplies ``lam`` (and, with a hard threshold, the threshold) is our reading of
the name and the training loop, not a verified statement of the paper.

Recovery metrics (no permutation matching: the initialisation is close to ``D*``):
relative Frobenius error ``||D_hat - D*||_F / ||D*||_F`` and the max-column sine distance
``max_j sqrt(1 - <d_hat_j, d*_j>^2)``, both after column normalisation.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

import numpy as np

from neurosim.data.planted import normalize_columns
from neurosim.errors import InputError, SimulationError, describe
from neurosim.solvers.optim import SGD, Adam, lam_decay_factor
from neurosim.solvers.pudle_grad import ESTIMATORS, encode, unrolled_gradient

__all__ = ['relative_error', 'max_sine_distance', 'RecoveryCurve', 'PUDLEState', 'PUDLE']

logger = logging.getLogger(__name__)



def relative_error(D_hat: np.ndarray, D_true: np.ndarray) -> float:
    """``||n(D_hat) - n(D_true)||_F / ||n(D_true)||_F`` with ``n`` = column normalisation."""
    A, B = normalize_columns(np.asarray(D_hat, float)), normalize_columns(np.asarray(D_true, float))
    return float(np.linalg.norm(A - B) / np.linalg.norm(B))


def max_sine_distance(D_hat: np.ndarray, D_true: np.ndarray) -> float:
    """``max_j sqrt(1 - <d_hat_j, d*_j>^2)`` over columns, after column normalisation."""
    A, B = normalize_columns(np.asarray(D_hat, float)), normalize_columns(np.asarray(D_true, float))
    cos = np.clip(np.sum(A * B, axis=0), -1.0, 1.0)
    return float(np.max(np.sqrt(1.0 - cos * cos)))


class RecoveryCurve:
    """A :class:`PUDLE` callback recording the recovery error after every step.

    Attributes ``steps``, ``rel_error``, ``max_sine`` and ``loss`` are lists (one entry per
    recorded step; step 0 is the initial dictionary, recorded by :meth:`PUDLE.fit`).
    """

    def __init__(self, D_true: np.ndarray, *, every: int = 1):
        self.D_true = normalize_columns(np.asarray(D_true, dtype=float))
        self.every = max(1, int(every))
        self.steps: list[int] = []
        self.rel_error: list[float] = []
        self.max_sine: list[float] = []
        self.loss: list[float] = []

    def __call__(self, step: int, estimator: "PUDLE", info: dict[str, Any]) -> None:
        if step % self.every:
            return
        D = estimator.dictionary_
        self.steps.append(step)
        self.rel_error.append(relative_error(D, self.D_true))
        self.max_sine.append(max_sine_distance(D, self.D_true))
        self.loss.append(float(info.get("loss_ls", np.nan)))


@dataclass(eq=False)
class PUDLEState:
    """Everything :meth:`PUDLE.fit` needs to continue a run exactly where it stopped.

    A state is "between two steps": the dictionary, the optimiser (Adam's moments and step
    counter, or the plain step), the random generator, the current epoch's sample order and the
    position in it, the blow-up reference ``g0``, the early-stopping counters and the loss
    curve. :meth:`to_arrays` / :meth:`from_arrays` convert it to and from named arrays (the
    ``pudle --checkpoint`` file); a run resumed from them takes the same steps, bit for bit, as an
    uninterrupted one.
    """

    components: np.ndarray            # (p, m), rows are unit-norm atoms
    optimizer: Union[Adam, SGD]
    rng: np.random.Generator
    order: np.ndarray                 # this epoch's sample order (int64, a permutation of 0 .. n-1)
    steps: int = 0
    epoch: int = 0
    position: int = 0                 # samples of this epoch done
    g0: float = float("nan")          # ||g|| at the first step (nan before it)
    lam_factor: float = 1.0
    best_loss: float = float("inf")   # best epoch-mean loss_ls so far (early stopping)
    no_change: int = 0                # epochs since it improved by more than tol
    epoch_loss: float = 0.0           # sum of batch loss_ls x batch size in this epoch
    converged: bool = False
    loss_curve: list = field(default_factory=list)

    #: real-valued scalar entries of :meth:`to_arrays`
    FLOATS = ("g0", "lam_factor", "best_loss", "epoch_loss")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Named arrays: ``components``, ``adam_m``, ``adam_v`` (zeros before the first Adam step or
        for the plain step), the whole numbers ``steps``, ``epoch``, ``position``, ``no_change``,
        ``converged``, ``adam_k``, the reals of :attr:`FLOATS`, ``order``,
        ``rng_state`` (JSON text) and ``loss_curve``."""
        opt = self.optimizer
        m = getattr(opt, "m", None)
        v = getattr(opt, "v", None)
        out = {"components": self.components, "adam_m": np.zeros_like(self.components) if m is None else m.T,
               "adam_v": np.zeros_like(self.components) if v is None else v.T,
               "adam_k": np.int64(getattr(opt, "k", 0)), "order": np.asarray(self.order, dtype=np.int64),
               "rng_state": np.array(json.dumps(self.rng.bit_generator.state)),
               "loss_curve": np.asarray(self.loss_curve, dtype=np.float64)}
        for k in ("steps", "epoch", "position", "no_change"):
            out[k] = np.int64(getattr(self, k))
        out["converged"] = np.int64(bool(self.converged))
        for k in self.FLOATS:
            out[k] = np.float64(getattr(self, k))
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], optimizer: Union[Adam, SGD]) -> "PUDLEState":
        """The state of :meth:`to_arrays` (checked by the caller), continuing with ``optimizer``
        (a new one of the run's kind and rate; Adam's moments and counter are restored into it)."""
        rng = np.random.default_rng()
        rng.bit_generator.state = json.loads(str(arrays["rng_state"]))
        k = int(arrays["adam_k"])
        if isinstance(optimizer, Adam) and k > 0:
            optimizer.k = k
            optimizer.m = np.array(arrays["adam_m"], dtype=np.float64).T.copy()
            optimizer.v = np.array(arrays["adam_v"], dtype=np.float64).T.copy()
        return cls(components=np.ascontiguousarray(arrays["components"], dtype=np.float64), optimizer=optimizer,
                   rng=rng, order=np.asarray(arrays["order"], dtype=np.int64), steps=int(arrays["steps"]),
                   epoch=int(arrays["epoch"]), position=int(arrays["position"]), g0=float(arrays["g0"]),
                   lam_factor=float(arrays["lam_factor"]), best_loss=float(arrays["best_loss"]),
                   no_change=int(arrays["no_change"]), epoch_loss=float(arrays["epoch_loss"]),
                   converged=bool(int(arrays["converged"])),
                   loss_curve=[float(x) for x in np.asarray(arrays["loss_curve"], dtype=np.float64)])


Callback = Callable[[int, "PUDLE", dict], Optional[bool]]


class PUDLE:
    """Unrolled-ISTA autoencoder dictionary learning, scikit-learn style.

    ``fit`` runs the training loop of the module docstring; ``transform`` returns the encoder's
    codes ``z_T``. Data follow scikit-learn's layout: ``X`` is ``(n_samples, n_features)``;
    ``components_`` is ``(n_components, n_features)`` (rows are atoms), ``dictionary_`` its
    transpose ``D`` (``n_features x n_components``).

    Parameters
    ----------
    n_components
        Number of atoms ``p``.
    T, lam, alpha, threshold, hard_threshold
        Encoder (see :mod:`~neurosim.solvers.pudle_grad`): layers, LASSO weight, ISTA step,
        ``"soft"``/``"nonneg"``/``"hard"`` and the hard threshold.
    estimator
        ``"g_dec"``, ``"g_ae-ls"``, ``"g_ae-lasso"`` or ``"g_noodl"``.
    optimizer, lr, adam_eps
        ``"adam"`` (default, the paper's optimiser) or ``"sgd"`` (plain step: NOODL's update, use
        it with ``estimator="g_noodl"``); learning rate; Adam's epsilon.
    epochs, batch_size, shuffle
        Passes over the data; mini-batch size (``None`` = full batch); reshuffle each epoch.
    lam_decay, decay_every, decay_drop
        Multiply the threshold by :func:`lam_decay_factor` of the mini-batch counter.
    tol, n_iter_no_change
        Early stopping on convergence: training ends once the epoch-mean ``loss_ls`` has not
        fallen below ``(1 - tol)`` times its best value for ``n_iter_no_change`` epochs in a row
        (``tol=None``, the default, trains all ``epochs``; ``converged_`` says whether it stopped).
    on_unstable, blowup
        Stability guard: ``"raise"``/``"warn"``/``"off"`` when ``alpha ||D||^2 >= 2``, when
        a code or gradient is non-finite, or when ``||g||_F`` exceeds ``blowup`` times its value at
        the first step.
    memory_limit_bytes
        Budget for the stored encoder iterates of the backward pass.
    callback
        ``callback(step, self, info)`` after every step (and once with step 0 before training);
        ``info`` has ``epoch``, ``loss_ls``, ``loss_lasso``, ``grad_norm``, ``lam_factor``.
        Returning ``True`` stops training (:attr:`state_` can then resume it).
    log_every
        Log progress (``logging.INFO``) every this many steps.
    random_state
        Seed for shuffling and for the random initial dictionary when ``fit`` gets no ``D_init``.

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
    n_steps_ : int
    loss_curve_ : list of float  (batch ``loss_ls`` per step)
    lam_factor_ : float          (threshold factor at the end of training; used by ``transform``)
    converged_ : bool            (early stopping ended training)
    state_ : PUDLEState          (where training stands: resumable with ``fit(X, state=...)``)
    fit_time_s_ : float
    """

    def __init__(self, n_components: int = 100, *, T: int = 100, lam: float = 0.2, alpha: float = 0.2,
                 threshold: str = "soft", hard_threshold: Optional[float] = 0.1, estimator: str = "g_ae-ls",
                 optimizer: str = "adam", lr: float = 1e-3, adam_eps: float = 1e-8, epochs: int = 600,
                 batch_size: Optional[int] = None, shuffle: bool = True, lam_decay: bool = False,
                 decay_every: int = 100, decay_drop: float = 0.005, tol: Optional[float] = None,
                 n_iter_no_change: int = 3, on_unstable: str = "raise",
                 blowup: float = 1e3, memory_limit_bytes: float = 1.0e9, callback: Optional[Callback] = None,
                 log_every: int = 50, random_state: Optional[int] = 0):
        self.n_components = n_components
        self.T, self.lam, self.alpha = T, lam, alpha
        self.threshold, self.hard_threshold = threshold, hard_threshold
        self.estimator = estimator
        self.optimizer, self.lr, self.adam_eps = optimizer, lr, adam_eps
        self.epochs, self.batch_size, self.shuffle = epochs, batch_size, shuffle
        self.lam_decay, self.decay_every, self.decay_drop = lam_decay, decay_every, decay_drop
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.on_unstable, self.blowup = on_unstable, blowup
        self.memory_limit_bytes = memory_limit_bytes
        self.callback = callback
        self.log_every = log_every
        self.random_state = random_state

    # -- checks ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise InputError(describe("PUDLE", "estimator", "unknown gradient estimator", got=self.estimator,
                                      expected=" or ".join(ESTIMATORS)))
        if self.optimizer not in ("adam", "sgd"):
            raise InputError(describe("PUDLE", "optimizer", "unknown optimizer", got=self.optimizer,
                                      expected="'adam' or 'sgd'"))
        for name in ("n_components", "T", "epochs"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and v >= 1):
                raise InputError(describe("PUDLE", name, "must be a positive integer", got=v, expected=">= 1"))
        if self.batch_size is not None and not self.batch_size >= 1:
            raise InputError(describe("PUDLE", "batch_size", "must be >= 1 or None", got=self.batch_size))
        if self.tol is not None and not (np.isfinite(self.tol) and 0 <= self.tol < 1):
            raise InputError(describe("PUDLE", "tol", "must be in [0, 1) or None", got=self.tol, expected="[0, 1)"))
        if not (isinstance(self.n_iter_no_change, (int, np.integer)) and self.n_iter_no_change >= 1):
            raise InputError(describe("PUDLE", "n_iter_no_change", "must be a positive integer",
                                      got=self.n_iter_no_change, expected=">= 1"))
        if not self.blowup > 1:
            raise InputError(describe("PUDLE", "blowup", "must exceed 1", got=self.blowup, expected="> 1"))

    def _check_X(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[0] < 1 or not np.all(np.isfinite(X)):
            raise InputError(describe("PUDLE", "X", "expected a finite 2-D array (n_samples, n_features)",
                                      got=getattr(X, "shape", None)))
        return X

    # -- public API -----------------------------------------------------------------------
    @property
    def dictionary_(self) -> np.ndarray:
        """The learned dictionary ``D`` (``n_features x n_components``), a view of ``components_``."""
        return self.components_.T

    def make_optimizer(self) -> Union[Adam, SGD]:
        """A new optimiser of the run: Adam (``lr``, ``adam_eps``) or the plain step."""
        return Adam(self.lr, eps=self.adam_eps) if self.optimizer == "adam" else SGD(self.lr)

    def batch_of(self, n: int) -> int:
        """Mini-batch size on ``n`` samples (``batch_size``, at most ``n``; ``None``: ``n``)."""
        return n if self.batch_size is None else min(int(self.batch_size), n)

    def _order(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """One epoch's sample order (a fresh permutation when shuffling mini-batches)."""
        return rng.permutation(n) if (self.shuffle and self.batch_of(n) < n) else np.arange(n)

    def initial_state(self, X: Any, *, D_init: Optional[np.ndarray] = None) -> PUDLEState:
        """The state before the first step: ``D_init`` (``n_features x n_components``; default:
        random unit-norm columns from ``random_state``), normalised, and the first epoch's order."""
        self._check_params()
        X = self._check_X(X)
        n, m = X.shape
        rng = np.random.default_rng(self.random_state)
        if D_init is None:
            D = normalize_columns(rng.standard_normal((m, self.n_components)))
        else:
            D = np.array(D_init, dtype=float)
            if D.shape != (m, self.n_components):
                raise InputError(describe("PUDLE", "D_init", "shape must be (n_features, n_components)",
                                          got=D.shape, expected=(m, self.n_components)))
            D = normalize_columns(D)
        return PUDLEState(components=np.ascontiguousarray(D.T), optimizer=self.make_optimizer(), rng=rng,
                          order=self._order(rng, n))

    def fit(self, X: Any, y: Any = None, *, D_init: Optional[np.ndarray] = None,
            state: Optional[PUDLEState] = None) -> "PUDLE":
        """Learn the dictionary from ``X`` (``n_samples x n_features``), starting from ``D_init``
        (see :meth:`initial_state`) or continuing ``state`` (a :attr:`state_` of an interrupted run
        with the same parameters and data, e.g. read from a checkpoint)."""
        self._check_params()
        X = self._check_X(X)
        n = X.shape[0]
        st = self.initial_state(X, D_init=D_init) if state is None else state
        if st.order.shape != (n,) or st.components.shape[1] != X.shape[1]:
            raise InputError(describe("PUDLE", "state", "does not match the data", got=st.components.shape,
                                      expected=f"(n_components, {X.shape[1]}) and an order of {n} samples"))
        self.state_ = st
        self.components_ = st.components
        bs = self.batch_of(n)
        workspace: dict = {}
        t_start = time.perf_counter()
        if self.callback is not None and st.steps == 0:
            self.callback(0, self, {"epoch": 0, "loss_ls": np.nan, "loss_lasso": np.nan, "grad_norm": np.nan,
                                    "lam_factor": 1.0})
        while st.epoch < int(self.epochs) and not st.converged:
            idx = st.order[st.position:st.position + bs]
            Xb = X if bs == n else X[idx]
            factor = lam_decay_factor(st.steps, every=self.decay_every, drop=self.decay_drop) \
                if self.lam_decay else 1.0
            D = st.components.T
            res = unrolled_gradient(D, Xb, estimator=self.estimator, lam=self.lam, alpha=self.alpha, T=self.T,
                                    threshold=self.threshold, hard_threshold=self.hard_threshold,
                                    lam_scale=factor, memory_limit_bytes=self.memory_limit_bytes,
                                    on_unstable=self.on_unstable, workspace=workspace)
            gnorm = float(np.linalg.norm(res.grad))
            if np.isnan(st.g0):
                st.g0 = max(gnorm, np.finfo(float).tiny)
            elif gnorm > self.blowup * st.g0 and self.on_unstable != "off":
                msg = describe("PUDLE", self.estimator, "gradient blow-up", got=f"||g|| = {gnorm:.3g}",
                               expected=f"<= {self.blowup:g} x initial {st.g0:.3g}")
                if self.on_unstable == "raise":
                    raise SimulationError(msg)
                logger.warning(msg)
            D = D.copy()
            st.optimizer.step(D, res.grad)
            st.components = self.components_ = np.ascontiguousarray(normalize_columns(D).T)
            st.steps += 1
            st.lam_factor = factor
            st.loss_curve.append(res.loss_ls)
            st.epoch_loss += res.loss_ls * len(idx)
            st.position += len(idx)
            epoch = st.epoch
            if st.position >= n:
                self._end_epoch(st, n)
            info = {"epoch": epoch, "loss_ls": res.loss_ls, "loss_lasso": res.loss_lasso, "grad_norm": gnorm,
                    "lam_factor": factor}
            if self.log_every and st.steps % self.log_every == 0:
                logger.info("PUDLE step %d (epoch %d): loss_ls %.5g, ||g|| %.3g, lam factor %.3f",
                            st.steps, epoch, res.loss_ls, gnorm, factor)
            if self.callback is not None and self.callback(st.steps, self, info):
                break
        self.n_steps_ = st.steps
        self.loss_curve_ = st.loss_curve
        self.lam_factor_ = st.lam_factor
        self.converged_ = st.converged
        self.fit_time_s_ = time.perf_counter() - t_start
        return self

    def _end_epoch(self, st: PUDLEState, n: int) -> None:
        """Early-stopping bookkeeping of a finished epoch; the next epoch's order."""
        mean = st.epoch_loss / n
        if self.tol is not None:
            if mean < st.best_loss * (1.0 - self.tol):
                st.best_loss, st.no_change = mean, 0
            else:
                st.no_change += 1
                if st.no_change >= self.n_iter_no_change:
                    st.converged = True
                    logger.info("PUDLE converged after %d epochs: epoch-mean loss_ls %.6g, best %.6g",
                                st.epoch + 1, mean, st.best_loss)
        st.epoch += 1
        st.position, st.epoch_loss = 0, 0.0
        if st.epoch < int(self.epochs) and not st.converged:
            st.order = self._order(st.rng, n)

    def steps_per_epoch(self, n_samples: int) -> int:
        """Mini-batches per epoch of ``n_samples`` samples."""
        return -(-int(n_samples) // self.batch_of(int(n_samples)))

    def step_macs(self, n_samples: int, n_features: int) -> float:
        """Multiply-adds of one step on a full mini-batch (estimates only): ``T`` encoder layers
        of ``p^2 b`` each, twice more in the backward pass of ``g_ae-*``, plus ``3 m p b`` for
        ``b = alpha D^T x``, the residual and the gradient."""
        b, p = self.batch_of(int(n_samples)), int(self.n_components)
        layers = 3 if self.estimator in ("g_ae-ls", "g_ae-lasso") else 1
        return float(layers * int(self.T) * p * p * b + 3 * int(n_features) * p * b)

    def transform(self, X: Any) -> np.ndarray:
        """Codes ``z_T`` of ``X`` (``n_samples x n_features``) as ``(n_samples, n_components)``,
        with the threshold factor reached at the end of training."""
        if not hasattr(self, "components_"):
            raise InputError(describe("PUDLE", "transform", "estimator is not fitted", expected="call fit first"))
        X = self._check_X(X)
        return encode(self.dictionary_, X, lam=self.lam, alpha=self.alpha, T=self.T, threshold=self.threshold,
                      hard_threshold=self.hard_threshold, lam_scale=self.lam_factor_)

    def fit_transform(self, X: Any, y: Any = None, **kw: Any) -> np.ndarray:
        return self.fit(X, y, **kw).transform(X)

