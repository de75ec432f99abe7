"""Predictors of WARP-LCA initial states: zero, ridge-linear, one-hidden-layer MLP and LISTA.

A predictor maps inputs ``X`` (``batch x M``) to initial LCA states ``U0`` (``batch x N``). It is
fitted by regression on pairs ``(X, Y)`` where ``Y`` is a converged state ``u*`` or the converged
code ``a*`` (see :mod:`neurosim.solvers.warp`), minimising the mean squared error

    L = 1/(2 B) sum_b ||P(x_b) - y_b||^2 .

* :class:`ZeroPredictor`   ``P(x) = 0``: WARP-LCA reduces to plain (cold-start) LCA.
* :class:`LinearPredictor` ``P(x) = W^T x + c``, ridge regression in closed form:
  ``[W; c] = (Z^T Z + reg I')^{-1} Z^T Y`` with ``Z = [X, 1]`` and ``I'`` the identity with a zero
  for the (unpenalised) bias.
* :class:`MLPPredictor`    ``P(x) = W_2^T relu(W_1^T x + c_1) + c_2``.
* :class:`LISTAPredictor`  learned ISTA (Gregor & LeCun 2010), ``T`` layers with tied weights::

      z_0 = S_{theta_0}(W_e^T x),   z_t = S_{theta_t}(W_e^T x + S^T z_{t-1}),   P(x) = z_T

  ``S_theta`` the soft threshold; initialised from the dictionary as ISTA (``W_e = D/L``,
  ``S = I - D^T D / L``, ``theta_t = lam_init / L``, ``L = ||D||_2^2``). It is an MLP with
  soft-threshold units and skip connections; its exact zeros make it a good predictor of sparse
  codes, where the plain MLP's dense outputs switch spurious atoms on.

The MLP and LISTA are trained with mini-batch Adam (:class:`neurosim.solvers.optim.Adam`, one
instance per parameter array) on a hand-written backward pass; the learning rate may decay
geometrically from ``lr`` to ``lr * lr_final`` over the epochs (default: constant; decay measured
worse for LISTA on image patches). Every predictor exports its
parameters as named arrays (:meth:`Predictor.to_arrays`) for :func:`neurosim.solvers.warp.save_warp`.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, ClassVar, Optional

import numpy as np

from neurosim.errors import InputError, NetworkError, describe
from neurosim.io.jsontext import parse_json
from neurosim.progress import Progress, report
from neurosim.solvers.optim import Adam

__all__ = ['Predictor', 'ZeroPredictor', 'LinearPredictor', 'MLPPredictor', 'LISTAPredictor', 'PREDICTORS', 'make_predictor', 'predictor_from_arrays']

log = logging.getLogger(__name__)


def _soft(V: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.sign(V) * np.maximum(np.abs(V) - theta, 0.0)


def _pairs(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
        raise NetworkError(describe("predictor", "fit", "needs inputs (B, M) and targets (B, N) with equal B > 0",
                                    got=f"{X.shape} and {Y.shape}", expected="(B, M), (B, N)"))
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise NetworkError(describe("predictor", "fit", "inputs or targets contain NaN or inf", expected="finite"))
    return X, Y


class Predictor:
    """Base class: ``fit(X, Y, dictionary=None)``, ``predict(X)``, parameter export.

    Attributes
    ----------
    kind : str
        Registry name (:data:`PREDICTORS`).
    n_in_, n_out_ : int
        Input and output widths, set by :meth:`fit` (or by loading).
    """

    kind: ClassVar[str] = ""
    #: hyper-parameter names stored with the arrays
    hyper: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.n_in_: Optional[int] = None
        self.n_out_: Optional[int] = None

    # -- interface ------------------------------------------------------------------------------
    def fit(self, X, Y, *, dictionary: Optional[np.ndarray] = None,
            progress: Optional[Progress] = None) -> "Predictor":
        """Fit on inputs ``X`` (batch, M) and targets ``Y`` (batch, N); trained predictors report
        ``progress("predictor", epochs done, epochs)`` after every epoch."""
        X, Y = _pairs(X, Y)
        self.n_in_, self.n_out_ = X.shape[1], Y.shape[1]
        self._progress = progress
        try:
            self._fit(X, Y, dictionary)
        finally:
            self._progress = None
        mse = float(np.mean((self._predict(X) - Y) ** 2))
        log.info("%s predictor: training MSE %.4g (target variance %.4g)", self.kind, mse, float(Y.var()))
        return self

    def predict(self, X) -> np.ndarray:
        """Initial states ``(batch, N)`` for inputs ``(batch, M)``."""
        if self.n_in_ is None:
            raise NetworkError(describe("predictor", self.kind, "is not fitted", expected="fit() or a loaded model"))
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_in_:
            raise NetworkError(describe("predictor", self.kind, "inputs have the wrong width", got=X.shape,
                                        expected=f"(batch, {self.n_in_})"))
        return self._predict(X)

    def macs(self) -> int:
        """Multiply-accumulates per input (to compare with an LCA step's ``N^2``)."""
        return 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Parameters and hyper-parameters as named arrays (``hyper`` holds a JSON string)."""
        hyper = {h: getattr(self, h) for h in self.hyper}
        out = {"kind": np.array(self.kind), "hyper": np.array(json.dumps(hyper)),
               "shape": np.array([self.n_in_ or 0, self.n_out_ or 0], dtype=np.int64)}
        out.update({f"p{i}": np.asarray(p) for i, p in enumerate(self._params())})
        return out

    def param_shapes(self, n_in: int, n_out: int) -> list[tuple[int, ...]]:
        """Shapes of the fitted parameters ``p0, p1, ...`` for inputs of ``n_in`` and outputs of
        ``n_out`` (what :func:`predictor_from_arrays` checks a saved predictor against)."""
        return []

    # -- for subclasses -------------------------------------------------------------------------------
    def _fit(self, X: np.ndarray, Y: np.ndarray, dictionary: Optional[np.ndarray]) -> None:
        raise NotImplementedError

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _params(self) -> list[np.ndarray]:
        return []

    def _set_params(self, params: list[np.ndarray]) -> None:
        if params:
            raise NetworkError(describe("predictor", self.kind, "unexpected parameters", got=len(params), expected=0))


class ZeroPredictor(Predictor):
    """``P(x) = 0`` (``N`` zeros): with it WARP-LCA is plain LCA started from ``u = 0``."""

    kind = "zero"

    def _fit(self, X, Y, dictionary) -> None:
        return None

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return np.zeros((X.shape[0], self.n_out_))


class LinearPredictor(Predictor):
    """Ridge regression ``P(x) = W^T x + c`` in closed form (module docstring).

    Parameters
    ----------
    reg : float
        Ridge penalty (``>= 0``) on ``W`` (not on ``c``).
    """

    kind = "linear"
    hyper = ("reg",)

    def __init__(self, reg: float = 1.0) -> None:
        super().__init__()
        if not (np.isfinite(reg) and reg >= 0):
            raise NetworkError(describe("predictor", "linear", "reg must be >= 0", got=reg, expected=">= 0"))
        self.reg = float(reg)
        self.W: Optional[np.ndarray] = None
        self.c: Optional[np.ndarray] = None

    def _fit(self, X, Y, dictionary) -> None:
        Z = np.hstack([X, np.ones((X.shape[0], 1))])
        penalty = np.full(Z.shape[1], self.reg)
        penalty[-1] = 0.0
        sol = np.linalg.lstsq(Z.T @ Z + np.diag(penalty), Z.T @ Y, rcond=None)[0]
        self.W, self.c = sol[:-1], sol[-1]

    def _predict(self, X):
        return X @ self.W + self.c

    def param_shapes(self, n_in: int, n_out: int) -> list[tuple[int, ...]]:
        return [(n_in, n_out), (n_out,)]

    def macs(self) -> int:
        return int(self.W.size) if self.W is not None else 0

    def _params(self):
        return [self.W, self.c]

    def _set_params(self, params):
        self.W, self.c = params


def _train(params: list[np.ndarray], grad: Callable[[np.ndarray, np.ndarray], tuple[float, list[np.ndarray]]],
           X: np.ndarray, Y: np.ndarray, *, epochs: int, batch_size: int, lr: float, lr_final: float, seed: int,
           project: Optional[Callable[[], None]] = None, name: str = "",
           progress: Optional[Progress] = None) -> None:
    """Mini-batch Adam on ``grad(Xb, Yb) -> (loss, grads)``; ``lr`` decays geometrically to ``lr * lr_final``;
    ``progress("predictor", epochs done, epochs)`` after every epoch."""
    rng = np.random.default_rng(seed)
    opts = [Adam(lr) for _ in params]
    n = X.shape[0]
    for ep in range(epochs):
        rate = lr * lr_final ** (ep / max(epochs - 1, 1))
        for o in opts:
            o.lr = rate
        perm = rng.permutation(n)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            loss, grads = grad(X[idx], Y[idx])
            total += loss * idx.size
            for p, g, o in zip(params, grads, opts):
                o.step(p, g)
            if project is not None:
                project()
        log.debug("%s epoch %d: loss %.5g", name, ep, total / n)
        report(progress, "predictor", ep + 1, epochs)


def _check_training(name: str, epochs, batch_size, lr, lr_final) -> None:
    ok = (isinstance(epochs, (int, np.integer)) and epochs >= 1 and isinstance(batch_size, (int, np.integer))
          and batch_size >= 1 and np.isfinite(lr) and lr > 0 and 0 < lr_final <= 1)
    if not ok:
        raise NetworkError(describe("predictor", name, "invalid training hyper-parameters",
                                    got=dict(epochs=epochs, batch_size=batch_size, lr=lr, lr_final=lr_final),
                                    expected="epochs >= 1, batch_size >= 1, lr > 0, 0 < lr_final <= 1"))


class MLPPredictor(Predictor):
    """One-hidden-layer ReLU network, ``P(x) = W_2^T relu(W_1^T x + c_1) + c_2``, Adam on the MSE.

    Gradients (batch mean, ``E = P - Y``, ``H = relu(X W_1 + c_1)``)::

        dW_2 = H^T E / B,  dc_2 = sum E / B,  dH = E W_2^T * 1[H > 0],  dW_1 = X^T dH / B, dc_1 = sum dH / B

    Parameters
    ----------
    hidden : int
        Hidden units.
    epochs, batch_size, lr, lr_final, seed
        Training (He-normal ``W_1``, zero ``W_2``, zero biases).
    """

    kind = "mlp"
    hyper = ("hidden", "epochs", "batch_size", "lr", "lr_final", "seed")

    def __init__(self, hidden: int = 256, *, epochs: int = 30, batch_size: int = 128, lr: float = 1e-3,
                 lr_final: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        _check_training("mlp", epochs, batch_size, lr, lr_final)
        if not isinstance(hidden, (int, np.integer)) or hidden < 1:
            raise NetworkError(describe("predictor", "mlp", "hidden must be a positive integer", got=hidden))
        self.hidden, self.epochs, self.batch_size = int(hidden), int(epochs), int(batch_size)
        self.lr, self.lr_final, self.seed = float(lr), float(lr_final), int(seed)
        self.p: list[np.ndarray] = []

    def _fit(self, X, Y, dictionary) -> None:
        rng = np.random.default_rng(self.seed)
        m, n, h = X.shape[1], Y.shape[1], self.hidden
        self.p = [rng.standard_normal((m, h)) * np.sqrt(2.0 / m), np.zeros(h), np.zeros((h, n)), Y.mean(axis=0)]
        _train(self.p, self.loss_grad, X, Y, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
               lr_final=self.lr_final, seed=self.seed, name="mlp",
               progress=getattr(self, "_progress", None))

    def loss_grad(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """Mean loss ``1/(2B) ||P(X) - Y||^2`` and its gradients for the current parameters."""
        W1, c1, W2, c2 = self.p
        H = np.maximum(X @ W1 + c1, 0.0)
        E = (H @ W2 + c2 - Y) / X.shape[0]
        dH = E @ W2.T
        dH[H <= 0] = 0.0
        return 0.5 * float(np.sum(E * E)) * X.shape[0], [X.T @ dH, dH.sum(0), H.T @ E, E.sum(0)]

    def _predict(self, X):
        W1, c1, W2, c2 = self.p
        return np.maximum(X @ W1 + c1, 0.0) @ W2 + c2

    def param_shapes(self, n_in: int, n_out: int) -> list[tuple[int, ...]]:
        return [(n_in, self.hidden), (self.hidden,), (self.hidden, n_out), (n_out,)]

    def macs(self) -> int:
        return int(self.p[0].size + self.p[2].size) if self.p else 0

    def _params(self):
        return list(self.p)

    def _set_params(self, params):
        self.p = [np.asarray(q, dtype=np.float64) for q in params]


class LISTAPredictor(Predictor):
    """Learned ISTA with ``layers`` recurrent layers and tied weights (module docstring).

    Backward pass (``m_t = 1[|V_t| > theta_t]``, ``V_0 = C = X W_e``, ``V_t = C + z_{t-1} S``)::

        dV_t = dz_t * m_t;  dtheta_t = -sum dV_t sign(V_t);  dS += z_{t-1}^T dV_t;
        dz_{t-1} = dV_t S^T;  dC = sum_t dV_t;  dW_e = X^T dC

    Thresholds are kept ``>= 0`` after every step.

    Parameters
    ----------
    layers : int
        Recurrent layers ``T`` (``T = 0`` is one soft-threshold layer).
    lam_init : float
        Threshold of the ISTA initialisation, in input units (divided by ``L``).
    epochs, batch_size, lr, lr_final, seed
        Training.
    """

    kind = "lista"
    hyper = ("layers", "lam_init", "epochs", "batch_size", "lr", "lr_final", "seed")

    def __init__(self, layers: int = 3, *, lam_init: float = 0.3, epochs: int = 40, batch_size: int = 128,
                 lr: float = 1e-3, lr_final: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        _check_training("lista", epochs, batch_size, lr, lr_final)
        if not isinstance(layers, (int, np.integer)) or layers < 0:
            raise NetworkError(describe("predictor", "lista", "layers must be an integer >= 0", got=layers))
        if not (np.isfinite(lam_init) and lam_init >= 0):
            raise NetworkError(describe("predictor", "lista", "lam_init must be >= 0", got=lam_init))
        self.layers, self.lam_init = int(layers), float(lam_init)
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.lr, self.lr_final, self.seed = float(lr), float(lr_final), int(seed)
        self.p: list[np.ndarray] = []

    def _fit(self, X, Y, dictionary) -> None:
        if dictionary is None:
            raise NetworkError(describe("predictor", "lista", "needs the dictionary for its ISTA initialisation",
                                        expected="fit(X, Y, dictionary=D)"))
        D = np.asarray(dictionary, dtype=np.float64)
        if D.shape != (X.shape[1], Y.shape[1]):
            raise NetworkError(describe("predictor", "lista", "dictionary does not match inputs and targets",
                                        got=D.shape, expected=(X.shape[1], Y.shape[1])))
        L = float(np.linalg.norm(D, 2) ** 2)
        self.p = [D / L, np.eye(D.shape[1]) - D.T @ D / L, np.full((self.layers + 1, D.shape[1]), self.lam_init / L)]

        def project():
            np.maximum(self.p[2], 0.0, out=self.p[2])

        _train(self.p, self.loss_grad, X, Y, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
               lr_final=self.lr_final, seed=self.seed, project=project, name="lista",
               progress=getattr(self, "_progress", None))

    def loss_grad(self, X: np.ndarray, Y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """Mean loss ``1/(2B) ||P(X) - Y||^2`` and its gradients for the current parameters."""
        Z, cache = self._forward(X)
        E = (Z - Y) / X.shape[0]
        return 0.5 * float(np.sum(E * E)) * X.shape[0], self._backward(X, cache, E)

    def _forward(self, X):
        We, S, th = self.p
        C = X @ We
        Z = _soft(C, th[0])
        cache = [(C, Z)]
        for t in range(1, self.layers + 1):
            V = C + Z @ S
            Z = _soft(V, th[t])
            cache.append((V, Z))
        return Z, cache

    def _backward(self, X, cache, dZ):
        We, S, th = self.p
        dS = np.zeros_like(S)
        dth = np.zeros_like(th)
        dC = np.zeros((X.shape[0], We.shape[1]))
        for t in range(self.layers, -1, -1):
            V, _ = cache[t]
            dV = dZ * (np.abs(V) > th[t])
            dth[t] = -np.sum(dV * np.sign(V), axis=0)
            dC += dV
            if t > 0:
                dS += cache[t - 1][1].T @ dV
                dZ = dV @ S.T
        return [X.T @ dC, dS, dth]

    def _predict(self, X):
        return self._forward(X)[0]

    def param_shapes(self, n_in: int, n_out: int) -> list[tuple[int, ...]]:
        return [(n_in, n_out), (n_out, n_out), (self.layers + 1, n_out)]

    def macs(self) -> int:
        return int(self.p[0].size + self.layers * self.p[1].size) if self.p else 0

    def _params(self):
        return list(self.p)

    def _set_params(self, params):
        self.p = [np.asarray(q, dtype=np.float64) for q in params]


#: name -> predictor class
PREDICTORS: dict[str, type] = {"zero": ZeroPredictor, "linear": LinearPredictor, "mlp": MLPPredictor,
                               "lista": LISTAPredictor}


def make_predictor(kind: str, **options: Any) -> Predictor:
    """A new predictor of registry name ``kind`` with hyper-parameters ``options``."""
    if kind not in PREDICTORS:
        raise NetworkError(describe("predictor", str(kind), "unknown predictor", got=repr(kind), expected=sorted(PREDICTORS)))
    try:
        return PREDICTORS[kind](**options)
    except TypeError as exc:
        raise NetworkError(describe("predictor", kind, f"invalid options ({exc})", got=sorted(options))) from exc


def predictor_from_arrays(arrays: dict[str, np.ndarray]) -> Predictor:
    """Rebuild a fitted predictor from :meth:`Predictor.to_arrays` output.

    Every entry is checked before it is used: ``kind`` a known predictor, ``hyper`` a JSON object of
    valid hyper-parameters, ``shape`` two whole numbers ``>= 1``, and exactly the parameters
    ``p0 ..`` of :meth:`Predictor.param_shapes`, finite.

    Raises
    ------
    NetworkError
        Naming the entry that is missing or wrong.
    """
    def bad(what: str, *, got: Any = None, expected: Any = None) -> NetworkError:
        return NetworkError(describe("predictor", "arrays", what, got=got, expected=expected))

    for key in ("kind", "hyper", "shape"):
        if key not in arrays:
            raise bad(f"entry 'predictor.{key}' is missing", expected="a predictor written by WarpLCA.save")
    kind, hyper, shape = (np.asarray(arrays[k]) for k in ("kind", "hyper", "shape"))
    for key, a in (("kind", kind), ("hyper", hyper)):
        if a.shape != () or a.dtype.kind != "U":
            raise bad(f"entry 'predictor.{key}': must be text", got=f"dtype {a.dtype}, shape {a.shape}",
                      expected="a string")
    if shape.shape != (2,) or shape.dtype.kind not in "iu" or (shape < 1).any() or (shape > 2**31).any():
        raise bad("entry 'predictor.shape': must be two whole numbers >= 1", got=f"{shape!r}"[:60],
                  expected="[inputs, outputs]")
    try:
        opts = parse_json(str(hyper), "entry 'predictor.hyper'")
    except InputError as exc:
        raise bad(str(exc)) from None
    if not isinstance(opts, dict):
        raise bad("predictor hyper-parameters must be a JSON object", got=type(opts).__name__, expected="{name: value}")
    try:
        pred = make_predictor(str(kind), **opts)
    except NetworkError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise bad("invalid predictor hyper-parameters", got=str(exc)[:80], expected=f"those of {str(kind)!r}") from None
    n_in, n_out = (int(v) for v in shape)
    want = pred.param_shapes(n_in, n_out)
    have = sorted(k for k in arrays if k.startswith("p") and k[1:].isdigit())
    if have != sorted(f"p{i}" for i in range(len(want))):
        raise bad(f"predictor parameters: expected {len(want)} arrays p0..p{len(want) - 1}", got=have,
                  expected=f"the parameters of a {pred.kind} predictor")
    params = []
    for i, w in enumerate(want):
        a = np.asarray(arrays[f"p{i}"])
        if a.shape != w or a.dtype.kind not in "biuf":
            got = f"shape {a.shape}" if a.shape != w else f"dtype {a.dtype}"
            raise bad(f"predictor parameter p{i} has {got}, expected {w} real values")
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise bad(f"predictor parameter p{i} is not finite", expected="finite values")
        params.append(a)
    pred._set_params(params)
    pred.n_in_, pred.n_out_ = n_in, n_out
    return pred
