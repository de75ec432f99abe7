"""``SparseCoder``: a scikit-learn-style estimator over the LASSO solvers of neurosim.

    coder = SparseCoder(D, lam=0.1, method="slca", nonneg=True).fit()
    codes = coder.transform(X)          # (batch, N)

``method`` picks the solver: ``"fista"`` (:func:`neurosim.solvers.lasso.fista`, the reference),
``"lca"`` (analog LCA, :func:`neurosim.solvers.lca.analog_lca`: event-driven -- the lateral
inhibition reads only the active neurons' rows -- and each input stops once its code has settled)
or ``"slca"`` (spiking LCA run on a backend, :func:`neurosim.builders.lca.spiking_lca`). All solve, per row ``x`` of ``X``::

    minimise_a  1/2 ||x - D a||^2 + lam ||a||_1      (subject to a >= 0 when nonneg)

Conventions: ``dictionary`` is ``(M, N)`` with the atoms in its **columns**, as everywhere in
neurosim; ``components_`` is its transpose ``(N, M)`` (atoms in rows), as in scikit-learn.
Unlike scikit-learn's ``Lasso`` there is no ``1/M`` factor on the squared error.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from neurosim.backends import DEFAULT_BACKEND
from neurosim.builders.lca import run_analog_lca, spiking_lca
from neurosim.errors import NetworkError, describe
from neurosim.solvers.lasso import fista
from neurosim.solvers.lca import analog_lca
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['SparseCoder', 'METHODS']



#: method name -> what it runs
METHODS = {"fista": "FISTA reference solver", "lca": "analog LCA (Euler)", "slca": "spiking LCA on a backend"}


#: default ``steps`` per method (FISTA: iteration budget)
DEFAULT_STEPS = {"fista": 20000, "lca": 2000, "slca": 10000}


#: default time step per method (FISTA: unused)
DEFAULT_DT = {"fista": None, "lca": 0.1, "slca": 0.1}


#: default ``tol`` per method (FISTA: KKT tolerance; LCA: settling tolerance of each input)
DEFAULT_TOL = {"fista": 1e-9, "lca": 1e-6, "slca": None}
LCA_TOL = DEFAULT_TOL["lca"]


class SparseCoder:
    """Sparse codes of inputs over a fixed dictionary (``fit``/``transform``).

    Parameters
    ----------
    dictionary : array (M, N)
        Atoms in columns.
    lam : float or array (N,)
        Penalty ``>= 0``.
    method : {"fista", "lca", "slca"}
        Solver (see module docstring).
    nonneg : bool
        Non-negative LASSO (``lca`` uses the one-sided threshold, ``slca`` ``N`` neurons instead
        of the ``2N`` of the sign split).
    steps : int, optional
        FISTA iteration budget, or LCA/SLCA time steps (defaults :data:`DEFAULT_STEPS`).
    dt_s : float, optional
        Time step in units of the time constant (``lca``: ``dt/tau``; ``slca``: ``dt_s``),
        default 0.1.
    backend : str, optional
        Backend that runs the network (a key of :data:`neurosim.backends.BACKENDS`): ``slca``
        always runs on one (default :data:`~neurosim.backends.DEFAULT_BACKEND`); ``lca`` runs
        the event-driven solver (:func:`neurosim.solvers.lca_events`) unless a backend is named,
        which then runs the analog LCA network (:func:`neurosim.builders.lca.run_analog_lca`) and
        records its activity.
    seed : int
        Seed passed to the backend.
    tol : float, optional
        FISTA's KKT tolerance (default 1e-9); for ``lca`` the settling tolerance of each input: it
        stops once its fixed-point residual ``|D^T x - u - G a|_inf`` is at most ``tol`` (default
        :data:`LCA_TOL`, in the units of ``D^T x``; ``steps`` caps the steps).
    progress : bool
        Show the simulation's progress bar on stderr.

    Attributes
    ----------
    components_ : ndarray (N, M)
        The dictionary's atoms as rows (set by :meth:`fit`).
    n_features_in_ : int
        ``M``.
    n_components_ : int
        ``N``.
    dt_used_ : float or None
        The time step of the last transform (``None`` for FISTA).
    last_result_ : SimResult or None
        The backend run of the last transform that ran a network (``slca``, or ``lca`` with a
        backend): probes and the activity profile (events, synaptic events).
    """

    def __init__(self, dictionary, *, lam: Any = 0.1, method: str = "fista", nonneg: bool = False,
                 steps: Optional[int] = None, dt_s: Optional[float] = None, backend: Optional[str] = None,
                 seed: int = 0, tol: Optional[float] = None, progress: bool = False):
        self.dictionary = dictionary
        self.lam = lam
        self.method = method
        self.nonneg = nonneg
        self.steps = steps
        self.dt_s = dt_s
        self.backend = backend
        self.seed = seed
        self.tol = tol
        self.progress = progress

    # -- scikit-learn protocol --------------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("dictionary", "lam", "method", "nonneg", "steps", "dt_s", "backend",
                                               "seed", "tol", "progress")}

    def set_params(self, **params: Any) -> "SparseCoder":
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise NetworkError(describe("SparseCoder", "params", "unknown parameter", got=repr(k), expected=sorted(valid)))
            setattr(self, k, v)
        return self

    def _validate(self) -> tuple[np.ndarray, np.ndarray, int, Optional[float]]:
        if self.method not in METHODS:
            raise NetworkError(describe("SparseCoder", "method", "unknown method", got=repr(self.method),
                                        expected=" or ".join(METHODS)))
        if not isinstance(self.nonneg, (bool, np.bool_)):
            raise NetworkError(describe("SparseCoder", "nonneg", "must be a bool", got=repr(self.nonneg), expected="True or False"))
        D = check_dictionary(self.dictionary, name="dictionary")
        lam = check_lam(self.lam, D.shape[1])
        steps = DEFAULT_STEPS[self.method] if self.steps is None else self.steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise NetworkError(describe("SparseCoder", "steps", "must be a positive integer", got=steps, expected=">= 1"))
        dt = DEFAULT_DT[self.method] if self.dt_s is None else self.dt_s
        if dt is not None:
            try:
                dt = float(dt)
            except (TypeError, ValueError):
                dt = float("nan")
            if not (np.isfinite(dt) and dt > 0):
                raise NetworkError(describe("SparseCoder", "dt_s", "must be a positive number", got=self.dt_s, expected="> 0"))
        return D, lam, int(steps), dt

    def fit(self, X: Any = None, y: Any = None) -> "SparseCoder":
        """Validate the parameters and set ``components_``; nothing is learned (``X`` only checked)."""
        D, _, _, _ = self._validate()
        if X is not None:
            check_inputs(X, D.shape[0])
        self.components_ = D.T.copy()
        self.n_features_in_ = D.shape[0]
        self.n_components_ = D.shape[1]
        self.last_result_ = None
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Codes of every row of ``X`` (``(batch, M)`` or ``(M,)``), shaped ``(batch, N)`` or ``(N,)``."""
        D, lam, steps, dt = self._validate()
        Xc, single = check_inputs(X, D.shape[0])
        self.dt_used_ = dt
        if self.method == "fista":
            codes = fista(D, Xc, lam, nonneg=bool(self.nonneg), max_iter=steps,
                          tol=DEFAULT_TOL["fista"] if self.tol is None else self.tol)
            self.last_result_ = None
        elif self.method == "lca" and self.backend is None:
            codes = analog_lca(D, Xc, lam, threshold="nonneg" if self.nonneg else "soft", steps=steps, dt_over_tau=dt,
                               tol=DEFAULT_TOL["lca"] if self.tol is None else self.tol)
            self.last_result_ = None
        elif self.method == "lca":
            codes, self.last_result_ = run_analog_lca(D, Xc, lam, threshold="nonneg" if self.nonneg else "soft",
                                                      steps=steps, dt_over_tau=dt, backend=self.backend,
                                                      seed=self.seed, progress=self.progress, tol=self.tol)
        else:
            codes, self.last_result_ = spiking_lca(D, Xc, lam, nonneg=bool(self.nonneg), steps=steps, dt_s=dt,
                                                   backend=self.backend or DEFAULT_BACKEND, seed=self.seed,
                                                   progress=self.progress)
        return codes[0] if single else codes

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).transform(X)

    def __repr__(self) -> str:
        D = np.shape(self.dictionary)
        return (f"SparseCoder(dictionary=<{D}>, lam={self.lam!r}, method={self.method!r}, nonneg={self.nonneg!r}, "
                f"steps={self.steps!r}, dt_s={self.dt_s!r}, backend={self.backend!r})")

