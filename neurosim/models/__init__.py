"""Network builders and algorithms: functions that turn a problem (a dictionary, inputs, a
penalty) into a :class:`neurosim.ir.Network` or solve it directly, plus decoders.

* :mod:`~neurosim.models.lca` -- spiking LCA (non-negative and signed LASSO) and analog LCA;
* :mod:`~neurosim.models.conv_lca` -- convolutional LCA (analog and spiking) over whole images;
* :mod:`~neurosim.models.deep_sc` -- multi-layer (deep) sparse coding;
* :mod:`~neurosim.models.warp` -- WARP-LCA warm starts from a trained predictor;
* :mod:`~neurosim.models.pudle` -- unrolled dictionary learning (PUDLE);
* :mod:`~neurosim.models.relu` -- the ReLU view of non-negative sparse coding;
* :mod:`~neurosim.models.dictnet` / :mod:`~neurosim.models.dictlearn` -- Lin & Tang's dictionary
  learning by a dynamical network with local plasticity; :mod:`~neurosim.models.sgd_dict` its
  non-local SGD baseline;
* :mod:`~neurosim.models.denoise` -- patch and convolutional sparse-code denoising.
"""
from __future__ import annotations

from .dictlearn import LocalDictionaryLearning
from .lca import (analog_lca, auto_scale, build_analog_lca, build_spiking_lca, decode_spiking_lca, lca_gram,
                  run_analog_lca, sign_split, spiking_lca, threshold_function)
from .pudle import PUDLE, make_planted
from .relu import relu_code
from .warp import WarpLCA

__all__ = ["build_spiking_lca", "decode_spiking_lca", "spiking_lca", "sign_split", "auto_scale", "analog_lca",
           "build_analog_lca", "run_analog_lca", "lca_gram", "threshold_function", "LocalDictionaryLearning",
           "PUDLE", "make_planted", "relu_code", "WarpLCA"]
