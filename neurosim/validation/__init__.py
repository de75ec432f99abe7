"""Input validation, one home: checks of solver and builder arguments
(:mod:`~neurosim.validation.checks`)."""
from __future__ import annotations

from neurosim.validation.checks import check_codes, check_dictionary, check_inputs, check_lam

__all__ = ["check_dictionary", "check_inputs", "check_lam", "check_codes"]
