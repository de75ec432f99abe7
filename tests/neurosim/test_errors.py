"""The one exception hierarchy (neurosim.errors): the message shape of :func:`describe`, each class's
bases (a domain base mixed with the matching builtin), and the attributes and wording of
:class:`SpecError` and :class:`CapacityError`."""
from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from neurosim import errors
from neurosim.errors import (
    MAX_SEED,
    BackendUnavailableError,
    CapacityError,
    ChipSpecError,
    ExperimentError,
    InputError,
    LocalityError,
    MappingError,
    NetworkError,
    NeurosimError,
    SimulationError,
    SpecError,
    describe,
)


# -- describe ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, want", [
    ({}, "population 'A': size must be positive"),
    ({"got": 0}, "population 'A': size must be positive (got 0)"),
    ({"expected": ">= 1"}, "population 'A': size must be positive (expected >= 1)"),
    ({"got": -3, "expected": ">= 1"}, "population 'A': size must be positive (got -3, expected >= 1)"),
    ({"got": False, "expected": ""}, "population 'A': size must be positive (got False, expected )"),
    ({"got": [1, 2], "expected": (3,)}, "population 'A': size must be positive (got [1, 2], expected (3,))"),
])
def test_describe_message_shape(kwargs, want):
    assert describe("population", "A", "size must be positive", **kwargs) == want


def test_describe_only_leaves_out_none():
    # falsy values are facts worth printing; only None means "not given"
    assert describe("k", "n", "w", got=0.0) == "k 'n': w (got 0.0)"
    assert describe("k", "n", "w", got=None, expected=None) == "k 'n': w"


# -- the hierarchy -------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, bases", [
    (NetworkError, (NeurosimError, ValueError)),
    (LocalityError, (NeurosimError, PermissionError)),
    (SimulationError, (NeurosimError, RuntimeError)),
    (BackendUnavailableError, (SimulationError, NeurosimError, RuntimeError)),
    (InputError, (NeurosimError, ValueError)),
    (SpecError, (InputError, NeurosimError, ValueError)),
    (ChipSpecError, (SpecError, InputError, NeurosimError, ValueError)),
    (ExperimentError, (SpecError, InputError, NeurosimError, ValueError)),
    (CapacityError, (NeurosimError, ValueError)),
    (MappingError, (NeurosimError, RuntimeError)),
])
def test_each_error_mixes_the_domain_base_with_a_builtin(cls, bases):
    for base in bases:
        assert issubclass(cls, base), (cls, base)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls, not_a", [
    (CapacityError, InputError), (MappingError, ValueError), (SimulationError, ValueError),
    (NetworkError, InputError), (InputError, NetworkError), (ChipSpecError, ExperimentError),
])
def test_siblings_are_not_caught_by_each_other(cls, not_a):
    assert not issubclass(cls, not_a)


def test_every_public_error_is_a_neurosim_error():
    classes = [getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)]
    assert {NetworkError, SpecError, CapacityError, MappingError, InputError} <= set(classes)
    assert all(issubclass(c, NeurosimError) for c in classes)
    assert set(errors.__all__) - {c.__name__ for c in classes} == {"describe", "MAX_SEED"}


def test_max_seed_is_the_largest_c_int():
    assert MAX_SEED == 2**31 - 1


# -- SpecError and its kinds ---------------------------------------------------------------------
@pytest.mark.parametrize("cls, kind", [(SpecError, "spec"), (ChipSpecError, "chip spec"),
                                       (ExperimentError, "experiment")])
def test_spec_error_message_and_attributes(cls, kind):
    e = cls(Path("chips") / "x.yaml", "core.max_in_axons", "must be a positive integer (line 7)", got=-1,
            expected=">= 1")
    assert str(e) == f"{kind} 'chips/x.yaml:core.max_in_axons': must be a positive integer (line 7) (got -1, expected >= 1)"
    assert e.path == "chips/x.yaml" and isinstance(e.path, str)
    assert (e.key, e.got, e.expected) == ("core.max_in_axons", -1, ">= 1")
    assert cls.kind == kind


def test_spec_error_without_got_or_expected():
    e = ChipSpecError("<dict>", "noc", "missing required key")
    assert str(e) == "chip spec '<dict>:noc': missing required key"
    assert e.got is None and e.expected is None


def test_spec_errors_are_caught_as_value_errors():
    with pytest.raises(ValueError, match="experiment 'e.yaml:network.lam'"):
        raise ExperimentError("e.yaml", "network.lam", "must be >= 0", got=-3)


# -- CapacityError -------------------------------------------------------------------------------
def test_capacity_error_message_and_attributes():
    e = CapacityError("population 'A'", "max_in_axons", 12, 8, "it needs 2 cores")
    assert str(e) == "capacity 'population 'A'': max_in_axons exceeded by 4 (got 12, expected <= 8); it needs 2 cores"
    assert (e.obj, e.resource, e.used, e.limit, e.hint) == ("population 'A'", "max_in_axons", 12, 8,
                                                           "it needs 2 cores")


def test_capacity_error_without_hint_and_with_fractional_amounts():
    e = CapacityError("core 3", "synapse_mem_bits", 1.5e6, 1048576.0)
    assert str(e) == "capacity 'core 3': synapse_mem_bits exceeded by 451424 (got 1.5e+06, expected <= 1.04858e+06)"
    assert e.hint == "" and not str(e).endswith(";")


# -- crossing a process boundary (multiprocessing, Dask sweeps) ----------------------------------
@pytest.mark.parametrize("make", [lambda: NetworkError("population 'A': bad"),
                                  lambda: InputError("file 'x': not found")])
def test_plain_errors_survive_pickling(make):
    e = make()
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is type(e) and str(back) == str(e)


@pytest.mark.parametrize("make", [lambda: ChipSpecError("c.yaml", "core.max_in_axons", "bad", got=-1),
                                  lambda: ExperimentError("e.yaml", "network.lam", "bad"),
                                  lambda: CapacityError("core 0", "max_in_axons", 12, 8, "hint")],
                         ids=["ChipSpecError", "ExperimentError", "CapacityError"])
def test_structured_errors_survive_pickling_and_deepcopy(make):
    e = make()
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is type(e) and str(back) == str(e) and back.__dict__ == e.__dict__
    assert str(copy.deepcopy(e)) == str(e)
