"""Data that needs no download: scikit-learn's bundled sample images and digits, fixed
dictionaries, small LASSO problems (:mod:`~neurosim.data.samples`), and planted problems with a
known ground truth and their recovery metrics (:mod:`~neurosim.data.planted`).
"""
from __future__ import annotations

from neurosim.data.samples import (
                                   default_dictionary,
                                   digits,
                                   image_patches,
                                   overcomplete_dct,
                                   random_lasso_problem,
                                   toy_problem,
)

__all__ = ["image_patches", "digits", "default_dictionary", "overcomplete_dct", "random_lasso_problem", "toy_problem"]
