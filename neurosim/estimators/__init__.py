"""Estimators in the scikit-learn style: configured at construction, ``fit`` learns attributes
ending in ``_``, ``transform`` codes new inputs.

* :class:`SparseCoder` -- LASSO codes by FISTA, analog LCA or spiking LCA;
* :class:`LocalDictionaryLearning` -- Lin & Tang's dictionary learning with local plasticity;
* :class:`SGDDictionaryLearning` -- its non-local SGD baseline;
* :class:`PUDLE` -- dictionary learning by an unrolled ISTA autoencoder;
* :class:`WarpLCA` -- hard-threshold LCA warm-started by a trained predictor
  (:mod:`~neurosim.estimators.warp_predictors`).
"""
from __future__ import annotations

from neurosim.estimators.dictlearn import LocalDictionaryLearning
from neurosim.estimators.pudle import PUDLE
from neurosim.estimators.sgd_dict import SGDDictionaryLearning
from neurosim.estimators.sparse_coder import SparseCoder
from neurosim.estimators.warp import WarpLCA

__all__ = ["SparseCoder", "LocalDictionaryLearning", "SGDDictionaryLearning", "PUDLE", "WarpLCA"]
