"""The LCA family: spiking LCA (non-negative and signed LASSO) and analog LCA.

Every builder turns a dictionary ``D`` (``M x N``, atoms in columns), inputs ``X``
(``batch x M``) and a penalty ``lam`` into a :class:`neurosim.ir.Network`, which any backend
runs and the mapper can place; a ``decode`` helper turns the run's result into codes
``(batch, N)``. :func:`analog_lca` is a direct batched numpy solver of the same analog
equations, for speed and as the engine's check.

Spiking LCA (Tang, Lin & Davies 2017, "Form A" of ``shared/reference/algorithms.md`` 2(a)),
one non-leaky IF neuron per atom, ``tau_s`` the synaptic time constant (1 in the papers)::

    dv_i/dt       = b_i + I_i,      b_i = d_i^T x - lam_i          (ConstantInput, per input)
    tau_s dI_i/dt = -I_i + tau_s sum_{j != i} W_ij sigma_j(t),     W = -(D^T D - diag(D^T D))
    v_i >= theta_i -> spike, v_i <- v_i - theta_i  (reset by subtraction), theta_i = ||d_i||^2

Why ``theta_i = ||d_i||^2``: the synaptic kernel has unit area, so the time average of ``I_i``
is ``sum_j W_ij a_j`` with ``a`` the firing rates. A neuron that keeps firing has
``theta_i a_i = b_i + sum_j W_ij a_j`` on average, i.e. ``d_i^T (x - D a) = lam_i``; a silent
neuron has ``b_i + sum_j W_ij a_j <= 0``, i.e. ``d_i^T (x - D a) <= lam_i``: the KKT conditions of
the non-negative LASSO (Theorem 1 of Tang et al.). For unit-norm atoms ``theta_i = 1``.
Rates are decoded as ``a_i = count_i / ((steps - start) dt_s)``, counting spikes from step
``start`` on to skip the start-up transient.

A neuron fires at most once per step, so a rate cannot exceed ``1/dt_s``; a neuron whose drive
per step ``dt_s (b_i + I_i)`` exceeds ``theta_i`` loses spikes and its code saturates (large
inputs, e.g. high-contrast image patches, hit this at ``dt_s = 0.1``). Each input row ``b`` may
therefore be run at a scale ``s_b > 0``: its drive is ``(D^T x - lam) / s_b``, which by linearity
has the code ``a / s_b``, and the decoded rates are multiplied back by ``s_b``.
:func:`spiking_lca`'s ``scale="auto"`` picks
``s_b = max(1, dt_s max_i (|d_i^T x| / theta_i) / rho)`` with ``rho = 0.5``: the fastest
neuron would, on its own drive, spike on at most half the steps.

The signed LASSO runs the same network on the sign-split dictionary ``[D, -D]`` (``2N``
neurons) and decodes ``a = a^+ - a^-``.

Analog LCA (Rozell et al. 2008), one :class:`~neurosim.neurons.LCANeuron` per atom::

    u <- u + (dt/tau) (b - u - G a),   b = D^T x,   G = D^T D - I,   a = T_lam(u)

with ``T`` the soft (LASSO), one-sided (non-negative LASSO) or hard threshold. Its fixed
points satisfy the LASSO KKT conditions for any atom norms.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from neurosim.backends import DEFAULT_BACKEND, simulate
from neurosim.errors import NetworkError, describe
from neurosim.ir import Connection, ConstantInput, Network, Population, Probe
from neurosim.neurons import IF, LCANeuron, threshold_function
from neurosim.result import SimResult
from neurosim.solvers.lca import Lam, _positive, _problem, _steps, gram, lca_gram, sign_split
from neurosim.validation.checks import check_dictionary, check_inputs

__all__ = ['build_spiking_lca', 'decode_spiking_lca', 'spiking_lca', 'auto_scale', 'build_analog_lca', 'run_analog_lca']



# ---------------------------------------------------------------------------------------------
# spiking LCA
def build_spiking_lca(D, X, lam: Lam, *, nonneg: bool = True, name: str = "slca", tau_s: float = 1.0,
                      start: int = 0, scale: Optional[np.ndarray] = None, probes: Sequence[str] = ("count",),
                      probe_every: int = 1) -> Network:
    r"""Spiking LCA network for the (non-negative) LASSO of every row of ``X``.

    One population ``name`` of IF neurons (:func:`neurosim.neurons.IF`, reset by subtraction,
    thresholds ``||d_i||^2``), one lateral connection ``"<name>.lateral"`` with weights
    ``W = -(D'^T D' - diag)`` (zero diagonal), one :class:`~neurosim.ir.ConstantInput`
    ``"<name>.drive"`` of value ``(X D' - lam) / s`` shaped ``(batch, n)`` and probes
    ``"<name>.<var>"``; ``D' = D`` (``n = N``) when ``nonneg`` and ``[D, -D]`` (``n = 2N``,
    ``lam`` repeated) otherwise. See the module docstring for the equations.

    Parameters
    ----------
    D : ndarray (M, N)
        Dictionary, atoms in columns.
    X : ndarray (batch, M) or (M,)
        Inputs.
    lam : float or ndarray (N,)
        Penalty, ``>= 0``.
    nonneg : bool
        Non-negative LASSO (``N`` neurons); otherwise signed LASSO by sign split (``2N``).
    name : str
        Population name (prefix of the other objects' names).
    tau_s : float, seconds
        Synaptic time constant (> 0).
    start : int
        First step counted by the ``count`` probe (skips the transient).
    scale : float or ndarray (batch,), optional
        Per-input scale ``s_b > 0`` dividing the drive (default 1); decode with the same scale.
    probes : sequence of str
        Variables to probe: ``"count"``, ``"spikes"``, ``"v"``, ``"i"``.
    probe_every : int
        Recording period (steps) of the non-count probes.
    """
    D, X, lam, _ = _problem(D, X, lam)
    tau_s = _positive("tau_s", tau_s)
    start = _steps("start", start, minimum=0)
    Dn = D if nonneg else sign_split(D)
    lam_n = lam if nonneg else np.concatenate([lam, lam])
    G = gram(Dn)
    theta = np.diag(G).copy()
    W = -G
    np.fill_diagonal(W, 0.0)
    n = Dn.shape[1]
    net = Network(name=name)
    net.add(Population(name, n, IF(tau_s=tau_s, v_th=theta, reset="subtract")))
    net.add(Connection(name, name, W, delay_steps=1, name=f"{name}.lateral"))
    s = _scale(scale, X.shape[0])
    net.add(ConstantInput(name, (X @ Dn - lam_n) / s[:, None], name=f"{name}.drive"))
    for var in probes:
        net.add(Probe(name, var, every=1 if var == "count" else probe_every, start=start if var == "count" else 0,
                      name=f"{name}.{var}"))
    return net.validate()


def decode_spiking_lca(result: SimResult, *, n_atoms: int, nonneg: bool, name: str = "slca",
                       start: int = 0, scale: Optional[np.ndarray] = None) -> np.ndarray:
    """Codes ``(batch, n_atoms)`` from the ``"<name>.count"`` probe of a spiking-LCA run.

    ``a_i = s_b count_i / ((steps - start) dt_s)``; signed: ``a = a^+ - a^-`` (first and second
    halves of the sign-split population); ``s_b`` the input's scale (default 1).
    """
    counts = np.asarray(result[f"{name}.count"], dtype=np.float64)
    window = result.steps - start
    if window <= 0:
        raise NetworkError(describe("decode", name, "counting window is empty", got=f"steps={result.steps}, start={start}",
                                    expected="start < steps"))
    rates = counts / (window * result.dt_s) * _scale(scale, counts.shape[0])[:, None]
    want = n_atoms if nonneg else 2 * n_atoms
    if rates.shape[-1] != want:
        raise NetworkError(describe("decode", name, "count probe does not match the dictionary",
                                    got=rates.shape, expected=f"(batch, {want})"))
    return rates if nonneg else rates[:, :n_atoms] - rates[:, n_atoms:]


def spiking_lca(D, X, lam: Lam, *, nonneg: bool = True, steps: int = 10000, dt_s: float = 0.1,
                backend: str = DEFAULT_BACKEND, seed: int = 0, transient: Optional[int] = None, tau_s: float = 1.0,
                scale: Union[str, float, np.ndarray, None] = "auto",
                name: str = "slca", progress: bool = False, dtype: Any = np.float64,
                options: Optional[dict[str, Any]] = None) -> tuple[np.ndarray, SimResult]:
    """Solve the (non-negative) LASSO of every row of ``X`` with a spiking LCA run.

    Builds :func:`build_spiking_lca`, runs it with :func:`neurosim.simulate` and decodes the
    rates counted after ``transient`` steps (default ``steps // 10``).

    Parameters
    ----------
    steps : int
        Time steps; model time ``steps * dt_s`` (in units of ``tau_s``; 1000 by default).
    dt_s : float
        Time step. With reset by subtraction ``dt_s = 0.1`` reaches objective gaps ~1e-5 in
        10,000 steps (``shared/reference/peers.md``).
    transient : int, optional
        Steps skipped before counting.
    scale : "auto", float, ndarray (batch,) or None
        Per-input drive scale (module docstring); ``"auto"`` avoids rate saturation, ``None``
        means 1 (rates are the codes).
    Other parameters are those of :func:`build_spiking_lca` and :func:`neurosim.simulate`.

    Returns
    -------
    codes : ndarray (batch, N), or (N,) for a single input vector
    result : SimResult
        The run (activity: spikes and synaptic events).
    """
    D, X, lam, single = _problem(D, X, lam)
    steps = _steps("steps", steps)
    transient = steps // 10 if transient is None else _steps("transient", transient, minimum=0)
    if transient >= steps:
        raise NetworkError(describe("parameter", "transient", "leaves no steps to count", got=transient,
                                    expected=f"< steps = {steps}"))
    dt_s = _positive("dt_s", dt_s)
    if isinstance(scale, str):
        if scale != "auto":
            raise NetworkError(describe("parameter", "scale", "unknown scale", got=repr(scale),
                                        expected="'auto', a positive number or array (batch,), or None"))
        scale = auto_scale(D, X, dt_s=dt_s)
    s = _scale(scale, X.shape[0])
    net = build_spiking_lca(D, X, lam, nonneg=nonneg, name=name, tau_s=tau_s, start=transient, scale=s)
    res = simulate(net, steps=steps, dt_s=dt_s, backend=backend, seed=seed, dtype=dtype,
                   progress=progress, options=options)
    codes = decode_spiking_lca(res, n_atoms=D.shape[1], nonneg=nonneg, name=name, start=transient, scale=s)
    return (codes[0] if single else codes), res


def auto_scale(D, X, *, dt_s: float, rho: float = 0.5) -> np.ndarray:
    """Per-input scale ``s_b = max(1, dt_s max_i (|d_i^T x_b| / ||d_i||^2) / rho)``, shape ``(batch,)``."""
    D = check_dictionary(D)
    X, _ = check_inputs(X, D.shape[0])
    single = np.abs(X @ D) / np.sum(D * D, axis=0)
    return np.maximum(1.0, _positive("dt_s", dt_s) * single.max(axis=1) / _positive("rho", rho))


def _scale(scale, batch: int) -> np.ndarray:
    if scale is None:
        return np.ones(batch)
    try:
        s = np.asarray(scale, dtype=np.float64)
    except (TypeError, ValueError):
        s = np.array(np.nan)
    if s.ndim > 1 or (s.ndim == 1 and s.shape[0] != batch) or not np.all(np.isfinite(s)) or not np.all(s > 0):
        raise NetworkError(describe("parameter", "scale", "must be positive and finite, a scalar or one per input",
                                    got=scale if s.ndim == 0 else f"shape {s.shape}", expected=f"> 0, () or ({batch},)"))
    return np.broadcast_to(s, (batch,)).astype(np.float64)


def build_analog_lca(D, X, lam: Lam, *, threshold: str = "soft", name: str = "lca", tau_s: float = 1.0,
                     probes: Sequence[str] = (), probe_every: int = 1) -> Network:
    """Analog LCA as a network: one :class:`~neurosim.neurons.LCANeuron` population ``name``
    (``lam``, ``threshold``, gain 1), a lateral connection ``"<name>.lateral"`` with weights
    ``-(D^T D - I)`` (:func:`lca_gram`) and a constant input ``"<name>.drive"`` ``= X D``.

    Run with ``dt_s = dt_over_tau * tau_s``; the codes are ``final_state[name]["a"]``
    (:func:`run_analog_lca`). ``probes`` may name ``"count"``, ``"output"``, ``"u"``, ``"a"``.
    """
    D, X, lam, _ = _problem(D, X, lam)
    threshold_function(np.zeros(1), lam[:1], threshold)
    tau_s = _positive("tau_s", tau_s)
    net = Network(name=name)
    N = D.shape[1]
    net.add(Population(name, N, LCANeuron(tau_s=tau_s, lam=lam, threshold=threshold)))
    net.add(Connection(name, name, -lca_gram(D), delay_steps=1, name=f"{name}.lateral"))
    net.add(ConstantInput(name, X @ D, name=f"{name}.drive"))
    for var in probes:
        net.add(Probe(name, var, every=1 if var == "count" else probe_every, name=f"{name}.{var}"))
    return net.validate()


def run_analog_lca(D, X, lam: Lam, *, threshold: str = "soft", steps: int = 1000, dt_over_tau: float = 0.1,
                   backend: str = DEFAULT_BACKEND, seed: int = 0, name: str = "lca", progress: bool = False,
                   dtype: Any = np.float64, options: Optional[dict[str, Any]] = None,
                   tol: Optional[float] = None) -> tuple[np.ndarray, SimResult]:
    """Analog LCA run through a backend (:func:`build_analog_lca` + :func:`neurosim.simulate`).

    ``tau_s = 1`` and ``dt_s = dt_over_tau``. Returns the codes ``(batch, N)`` (or ``(N,)``) and
    the :class:`~neurosim.result.SimResult` (graded output events and synaptic events). ``tol``
    (compiled backend): each input stops once its residual ``|D^T x - u - G a|_inf`` is at most
    ``tol`` (option ``settle_tol``; ``SimResult.row_steps`` gives each input's steps).
    """
    D, X, lam, single = _problem(D, X, lam)
    if tol is not None:
        if backend != "compiled":
            raise NetworkError(describe("parameter", "tol", "stopping settled inputs needs the compiled backend",
                                        got=backend, expected="backend='compiled' or tol=None"))
        options = {**(options or {}), "settle_tol": _positive("tol", tol)}
    net = build_analog_lca(D, X, lam, threshold=threshold, name=name, probes=("count",))
    res = simulate(net, steps=_steps("steps", steps), dt_s=_positive("dt_over_tau", dt_over_tau), backend=backend,
                   seed=seed, dtype=dtype, progress=progress, options=options)
    codes = np.asarray(res.final_state[name]["a"], dtype=np.float64)
    return (codes[0] if single else codes), res

