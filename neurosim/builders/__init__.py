"""Network builders: functions that turn a problem (a dictionary, inputs, a penalty) into a
:class:`neurosim.ir.Network` any backend runs and the mapper places, with a decoder from the
run's :class:`~neurosim.result.SimResult` back to codes.

* :mod:`~neurosim.builders.lca` -- spiking LCA (non-negative and signed LASSO) and analog LCA;
* :mod:`~neurosim.builders.conv_lca` -- convolutional LCA (analog and spiking) over whole images;
* :mod:`~neurosim.builders.deep_sc` -- multi-layer (deep) sparse coding as one network;
* :mod:`~neurosim.builders.warp` -- LCA networks warm-started by a WARP predictor;
* :mod:`~neurosim.builders.dictnet` / :mod:`~neurosim.builders.dictrules` -- Lin & Tang's
  two-layer dictionary-learning network and its local plasticity rules.
"""
from __future__ import annotations

from neurosim.builders.conv_lca import build_conv_lca, build_spiking_conv_lca, decode_spiking_conv_lca
from neurosim.builders.deep_sc import build_deep_sc
from neurosim.builders.dictnet import build_dictnet
from neurosim.builders.lca import (
                                   auto_scale,
                                   build_analog_lca,
                                   build_spiking_lca,
                                   decode_spiking_lca,
                                   run_analog_lca,
                                   spiking_lca,
)
from neurosim.builders.warp import build_warp_lca, build_warp_spiking_lca

__all__ = ["build_spiking_lca", "decode_spiking_lca", "spiking_lca", "auto_scale", "build_analog_lca",
           "run_analog_lca", "build_conv_lca", "build_spiking_conv_lca", "decode_spiking_conv_lca", "build_deep_sc",
           "build_dictnet", "build_warp_lca", "build_warp_spiking_lca"]
