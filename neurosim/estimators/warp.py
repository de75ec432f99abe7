"""WARP-LCA as an estimator: a dictionary, a penalty and a trained initial-state predictor.

``WarpLCA(D, lam).fit(X)`` computes converged LCA states of the training inputs
(:func:`neurosim.solvers.warp.converged_states`) and trains a predictor
(:mod:`neurosim.estimators.warp_predictors`) to regress them; ``transform(X)`` runs the
hard-threshold LCA from the predicted start. Dynamics, energy and targets:
:mod:`neurosim.solvers.warp`. Models are saved as ``.npz`` (format ``neurosim-warp-lca``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from neurosim.builders.lca import threshold_function
from neurosim.builders.warp import build_warp_lca
from neurosim.errors import InputError, NetworkError, describe
from neurosim.estimators.warp_predictors import Predictor, make_predictor, predictor_from_arrays
from neurosim.io.atomic import atomic_save_npz, check_writable, read_error
from neurosim.io.jsontext import parse_json
from neurosim.progress import Progress, report
from neurosim.solvers.lca import analog_lca
from neurosim.solvers.warp import converged_states, energy_trace, warp_energy
from neurosim.validation.checks import check_dictionary, check_inputs, check_lam

__all__ = ['WarpLCA', 'FORMAT']



FORMAT = "neurosim-warp-lca"


VERSION = 1
#: the settings a model file's ``config`` may hold (:meth:`WarpLCA.config`)
CONFIG_KEYS = ("threshold", "target", "steps", "dt_over_tau", "target_init", "target_steps", "soft_ratio",
               "train_energy", "train_seed")


def check_settings(model: "WarpLCA") -> None:
    """Refuse settings no run can use (a model read from a file is checked with this).

    Raises
    ------
    NetworkError
        ``steps`` or ``target_steps`` below 1, ``dt_over_tau`` not in ``(0, 2)``, ``soft_ratio``
        negative or not finite, an unknown ``target_init``, a non-finite ``train_energy``, a
        ``train_seed`` out of ``0 .. 2**31 - 1``.
    """
    from neurosim.errors import MAX_SEED

    checks = [("steps", model.steps >= 1, ">= 1"), ("target_steps", model.target_steps >= 1, ">= 1"),
              ("dt_over_tau", bool(np.isfinite(model.dt_over_tau)) and 0 < model.dt_over_tau < 2, "in (0, 2)"),
              ("soft_ratio", bool(np.isfinite(model.soft_ratio)) and model.soft_ratio >= 0, ">= 0"),
              ("target_init", model.target_init in ("soft", "cold"), "'soft' or 'cold'"),
              ("train_energy", model.train_energy_ is None or bool(np.isfinite(model.train_energy_)), "finite"),
              ("train_seed", model.train_seed_ is None or 0 <= model.train_seed_ <= MAX_SEED, f"0 .. {MAX_SEED}")]
    for name, ok, expected in checks:
        if not ok:
            raise NetworkError(describe("parameter", name, "invalid value", got=repr(getattr(model, name, None)),
                                        expected=expected))


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
        (:data:`~neurosim.estimators.warp_predictors.PREDICTORS`), or an unfitted instance.
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
    def fit(self, X, *, progress: Optional[Progress] = None) -> "WarpLCA":
        """Compute converged targets for the rows of ``X`` and fit the predictor on them.

        ``progress(phase, done, total)`` (optional) hears ``"targets"`` (0 of 1, then 1 of 1) and
        the predictor's ``"predictor"`` epochs.
        """
        X, _ = check_inputs(X, self.dictionary.shape[0])
        if self.predictor_.kind == "zero":
            return self
        report(progress, "targets", 0, 1)
        U, A = converged_states(self.dictionary, X, self.lam, threshold=self.threshold, init=self.target_init,
                                steps=self.target_steps, dt_over_tau=self.dt_over_tau, soft_ratio=self.soft_ratio)
        report(progress, "targets", 1, 1)
        return self.fit_targets(X, U, A, progress=progress)

    def fit_targets(self, X, U_star, A_star, *, progress: Optional[Progress] = None) -> "WarpLCA":
        """Fit the predictor on precomputed converged states and codes (``progress`` as in :meth:`fit`)."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        self.train_energy_ = float(warp_energy(self.dictionary, X, A_star, self.lam, self.threshold).mean())
        Y = A_star if self.target == "code" else U_star
        self.predictor_.fit(X, Y, dictionary=self.dictionary, progress=progress)
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

    def trace(self, X, *, steps: Optional[int] = None, warm: bool = True, chunk: int = 50,
              progress: Optional[Progress] = None) -> tuple[np.ndarray, np.ndarray]:
        """:func:`energy_trace` from the warm or cold start (``progress`` hears phase ``"warm start"``
        or ``"cold start"``, rows done of all rows)."""
        X, _ = check_inputs(X, self.dictionary.shape[0])
        return energy_trace(self.dictionary, X, self.lam, u0=self.initial_state(X) if warm else None,
                            threshold=self.threshold, steps=steps or self.steps, dt_over_tau=self.dt_over_tau,
                            chunk=chunk, progress=progress, phase="warm start" if warm else "cold start")

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
            raise InputError(f"WARP model: predictor '{self.predictor_.kind}' is not fitted (got an unfitted model, "
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
            raise InputError(f"WARP model '{p}': no such file (got a missing path, expected a .npz written by save())")
        from neurosim.io.network import (
            open_npz,  # names what a wrong file is (a .npy, JSON, ...)
        )

        expected = "a .npz written by 'neurosim warp train' (WarpLCA.save)"
        with open_npz(p, kind="WARP model", expected=expected) as z:
            try:
                data = {k: z[k] for k in z.files}
            except (OSError, ValueError, EOFError) as exc:  # a corrupt member
                raise InputError(describe("WARP model", str(p), "cannot be read", got=read_error(exc),
                                          expected=expected)) from None
        missing = [k for k in ("format", "version", "dictionary", "lam", "config", "predictor.kind") if k not in data]
        if missing or data["format"].shape != () or str(data.get("format")) != FORMAT:
            raise InputError(f"WARP model '{p}': not a WARP-LCA model (got missing keys {missing} or format "
                             f"{str(data.get('format'))[:40]!r}, expected format {FORMAT!r})")
        version = data["version"]
        if version.shape != () or version.dtype.kind not in "iu":
            raise InputError(f"WARP model '{p}', entry 'version': must be one whole number (got dtype {version.dtype}, "
                             f"shape {version.shape}, expected {VERSION})")
        if int(version) != VERSION:
            raise InputError(f"WARP model '{p}': unsupported version (got {int(version)}, expected {VERSION})")
        config = data["config"]
        if config.shape != () or config.dtype.kind != "U":
            raise InputError(f"WARP model '{p}', entry 'config': must be text (got dtype {config.dtype}, expected "
                             "a JSON object)")
        cfg = parse_json(str(config), f"WARP model '{p}', entry 'config'")
        if not isinstance(cfg, dict):
            raise InputError(f"WARP model '{p}', entry 'config': must be a JSON object (got {type(cfg).__name__}, "
                             "expected {setting: value})")
        for key in cfg:
            if key not in CONFIG_KEYS:
                raise InputError(f"WARP model '{p}', entry 'config': unknown setting {key!r} (expected keys among "
                                 f"{list(CONFIG_KEYS)})")
        try:
            pred = predictor_from_arrays({k[len("predictor."):]: v for k, v in data.items()
                                          if k.startswith("predictor.")})
        except NetworkError as exc:
            raise InputError(f"WARP model '{p}': {exc}") from None
        D = data["dictionary"]
        if (pred.n_in_, pred.n_out_) != D.shape:
            raise InputError(f"WARP model '{p}': predictor shape does not match the dictionary "
                             f"(got {(pred.n_in_, pred.n_out_)}, expected {D.shape})")
        train_energy = cfg.pop("train_energy", None)
        train_seed = cfg.pop("train_seed", None)
        for key, value in (("dictionary", D), ("lam", data["lam"])):
            if value.dtype.kind not in "biuf":
                raise InputError(f"WARP model '{p}', entry '{key}': not real numeric (got dtype {value.dtype}, "
                                 "expected floating-point values)")
        try:
            check_dictionary(D, name="dictionary")
        except NetworkError as exc:
            raise InputError(f"WARP model '{p}', entry 'dictionary': {exc}") from None
        try:
            model = cls(D, data["lam"], predictor=pred, **cfg)
            model.train_energy_ = None if train_energy is None else float(train_energy)
            model.train_seed_ = None if train_seed is None else int(train_seed)
            check_settings(model)
        except (NetworkError, TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"WARP model '{p}', entry 'config' or 'lam': invalid settings ({exc})") from None
        return model


