"""The resource guard (neurosim.guard): limits, estimates refused with their size, parsing of the
--max-memory / --max-duration values."""
import pickle

import pytest

from neurosim.errors import InputError, ResourceError
from neurosim.guard import (DEFAULT_MAX_DURATION_S, ResourceLimits, check_duration, check_memory, format_bytes,
                            format_duration, machine_memory_bytes, parse_duration, parse_memory)


def test_memory_beyond_the_limit_is_refused_with_the_estimate():
    with pytest.raises(ResourceError, match=r"resources 'experiment x': needs 22.6 GiB of memory \(D 4096 x 1e6\) "
                                            r"\(got an estimated 22.6 GiB, expected at most 1 GiB, the limit set by --max-memory"):
        check_memory("experiment x", 22.6 * 2**30, ResourceLimits(max_memory_bytes=2**30), detail="D 4096 x 1e6")
    check_memory("ok", 2**30, ResourceLimits(max_memory_bytes=2**30))  # at the limit: accepted


def test_the_default_memory_limit_is_the_machine():
    assert ResourceLimits().memory == machine_memory_bytes() > 2**28
    with pytest.raises(ResourceError, match="this machine's memory"):
        check_memory("x", machine_memory_bytes() + 1)
    with pytest.raises(ResourceError, match="unbounded"):
        check_memory("x", float("inf"))


def test_durations_beyond_the_limit_are_refused():
    with pytest.raises(ResourceError, match=r"would run for about 3.17e\+70 years .*the default limit"):
        check_duration("simulation.steps", 1e78)
    check_duration("ok", DEFAULT_MAX_DURATION_S)
    with pytest.raises(ResourceError, match=r"about 2 min .*expected at most 1 min"):
        check_duration("x", 120, ResourceLimits(max_duration_s=60))


def test_resource_errors_survive_pickling():
    err = ResourceError("x", "memory", 5e9, 1e9, "needs 4.66 GiB", "hint")
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == str(err) and (back.need, back.limit, back.resource) == (5e9, 1e9, "memory")


@pytest.mark.parametrize("text, want", [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)),
                                        ("1e9", 10**9), ("2048", 2048), ("3 t", 3 * 2**40), ("64kB", 65536)])
def test_parse_memory(text, want):
    assert parse_memory(text) == want


@pytest.mark.parametrize("text", ["", "-1G", "0", "x", "1e999", "4Q", "nan"])
def test_parse_memory_refuses(text):
    with pytest.raises(InputError, match="max-memory"):
        parse_memory(text)


@pytest.mark.parametrize("text, want", [("90", 90.0), ("90s", 90.0), ("15min", 900.0), ("2h", 7200.0), ("1d", 86400.0),
                                        ("0.5", 0.5)])
def test_parse_duration(text, want):
    assert parse_duration(text) == want


@pytest.mark.parametrize("text", ["", "0", "-3", "inf", "1e999", "3w", "nan"])
def test_parse_duration_refuses(text):
    with pytest.raises(InputError, match="max-duration"):
        parse_duration(text)


@pytest.mark.parametrize("kwargs", [{"max_memory_bytes": 0}, {"max_memory_bytes": -5}, {"max_duration_s": float("nan")},
                                    {"max_duration_s": True}, {"max_memory_bytes": "4G"}])
def test_limits_are_checked_when_built(kwargs):
    with pytest.raises(InputError):
        ResourceLimits(**kwargs)


def test_formatting():
    assert format_bytes(22.6 * 2**30) == "22.6 GiB" and format_bytes(100) == "100 B"
    assert format_duration(3600 * 5) == "5 h" and format_duration(42) == "42 s" and format_duration(float("inf")) == "forever"
