"""MappingOptions (mapper.options): every option checked when the object is built, the one home of the defaults."""
import pytest

from mapper import MappingOptions, map_network
from mapper.options import PLACE_DEFAULTS, PLACE_OPTIONS
from neurosim.errors import MappingError
from tests.helpers import make_tiny_network


@pytest.mark.parametrize("seed", [-1, 2**31, 1.5, True])
def test_a_seed_the_partitioners_cannot_take_is_refused_up_front(seed):
    net, act = make_tiny_network()
    with pytest.raises(MappingError, match=r"seed.*not a valid seed.*expected an integer in 0 \.\. 2147483647"):
        map_network(net, "tiny", act, seed=seed)


@pytest.mark.parametrize("kwargs, match", [
    (dict(place_options={"lamda": 50.0}), r"place option 'lamda': unknown; did you mean 'lam'"),
    (dict(placer="identity", place_options={"lam": 50.0}), "placer 'identity' does not refine"),
    (dict(time_budget_s=-5), r"time_budget_s': must be a finite number of seconds >= 0"),
    (dict(time_budget_s=float("nan")), "time_budget_s"),
    (dict(repair_budget_s=-1.0), "repair_budget_s"),
    (dict(place_options={"work": 0}), r"place option 'work': must be a finite number of work units > 0"),
    (dict(place_options={"work": float("inf")}), "'work'")])
def test_mapping_options_are_checked_up_front(kwargs, match):
    """A typo in place_options used to give the default placement silently; a negative budget an
    unrefined one."""
    net, act = make_tiny_network()
    with pytest.raises(MappingError, match=match):
        map_network(net, "tiny", act, **kwargs)


def test_place_settings_are_the_defaults_under_the_given_place_options():
    assert MappingOptions().place_settings() == dict(PLACE_DEFAULTS)
    assert tuple(PLACE_DEFAULTS) == PLACE_OPTIONS
    got = MappingOptions(place_options={"lam": 2.0, "twins": False}).place_settings()
    assert got == {**PLACE_DEFAULTS, "lam": 2.0, "twins": False}
    with pytest.raises(TypeError):  # frozen: a stage cannot change a default under another
        PLACE_DEFAULTS["chip_weight"] = 2.0


def test_replace_checks_the_changes_and_names_an_unknown_option():
    opts = MappingOptions(partitioner="sequential", seed=3)
    assert opts.replace(seed=4) == MappingOptions(partitioner="sequential", seed=4)
    assert opts.seed == 3  # a copy
    with pytest.raises(MappingError, match=r"option 'time_budget': unknown mapping option; did you mean "
                                           r"'time_budget_s'"):
        opts.replace(time_budget=1.0)
    with pytest.raises(MappingError, match="time_budget_s"):
        opts.replace(time_budget_s=-1.0)
    assert MappingOptions(place_options={"lam": 1.0}).to_dict()["place_options"] == {"lam": 1.0}
