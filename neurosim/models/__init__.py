"""Network builders: functions that turn a problem (a dictionary, inputs, a penalty) into a
:class:`neurosim.ir.Network`, plus helpers that decode a run's result.

* :mod:`neurosim.models.lca` -- spiking LCA (non-negative and signed LASSO) and analog LCA.
"""
from __future__ import annotations

from .lca import (analog_lca, auto_scale, build_analog_lca, build_spiking_lca, decode_spiking_lca, lca_gram,
                  run_analog_lca, sign_split, spiking_lca, threshold_function)

__all__ = ["build_spiking_lca", "decode_spiking_lca", "spiking_lca", "sign_split", "auto_scale", "analog_lca",
           "build_analog_lca", "run_analog_lca", "lca_gram", "threshold_function"]
