"""Parsing JSON documents without trusting them (neurosim.io.jsontext)."""
import pytest

from neurosim.errors import InputError
from neurosim.io.jsontext import parse_json


def test_documents_parse():
    assert parse_json(b'{"a": [1, 2, {"b": "[[[["}]}', "doc") == {"a": [1, 2, {"b": "[[[["}]}
    assert parse_json('"\\"[["', "doc") == '"[['
    assert parse_json("[NaN]", "doc", allow_nan=True)[0] != 0


@pytest.mark.parametrize("data, match", [
    (b"[" * 65 + b"]" * 65, r"doc: nested too deeply \(got 65 levels, expected at most 64"),
    (b"[" * 10**6, r"nested too deeply"),
    (b"\xff", r"not UTF-8 text \(byte 0\)"),
    (b"[1,", r"not valid JSON at line 1, column 4"),
    (b"[Infinity]", r"without NaN or Infinity"),
    (b"1" * 5000, r"not valid JSON"),
], ids=["65", "million", "utf8", "syntax", "infinity", "huge-int"])
def test_hostile_documents_are_refused(data, match):
    with pytest.raises(InputError, match=match):
        parse_json(data, "doc")
