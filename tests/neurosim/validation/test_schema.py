"""The one schema mechanism (neurosim.validation.schema): line index, key paths, did-you-mean,
variants, defaults, and its JSON Schema agreeing with the validator."""
import json

import jsonschema
import pytest

from neurosim.errors import SpecError
from neurosim.validation.schema import Ctx, Field, Variants, json_schema, load_yaml, schema_markdown, section, validate

FIELDS = {
    "name": Field("str", "a name"),
    "size": Field("int", "a size", minimum=1, maximum=10),
    "rate": Field("float", "a rate", unit="Hz", minimum=0, exclusive_minimum=True, required=False, default=1.0),
    "grid": Field("grid", "a grid", required=False, default=(1, 1), maximum=64),
    "opts": section("options", {"on": Field("bool", "switch", required=False, default=False),
                                "mode": Field("choice", "mode", choices=("fast", "slow"), required=False,
                                              default="fast")}, required=False),
    "data": Field("variant", "data source", required=False, variants=Variants(
        options={"file": {"file": Field("str", "path")},
                 "random": {"kind": Field("choice", "kind", choices=("random",)), "n": Field("int", "count", minimum=1)}},
        present={"file": "file"})),
}


def check(data, source="f.yaml", lines=None):
    return validate(Ctx(source, lines, SpecError), "", section("top", FIELDS), data)


def test_defaults_fill_absent_keys_and_values_convert():
    out = check({"name": "x", "size": 3, "rate": "1e3"})
    assert out == {"name": "x", "size": 3, "rate": 1000.0, "grid": (1, 1), "opts": {"on": False, "mode": "fast"},
                   "data": None}
    assert check({"name": "x", "size": 3, "data": {"file": "a.npy"}})["data"] == {"file": "a.npy"}
    assert check({"name": "x", "size": 3, "data": {"kind": "random", "n": 2}})["data"] == {"kind": "random", "n": 2}


@pytest.mark.parametrize("data, match", [
    ({"name": "x", "size": 0}, r"'f.yaml:size': out of range \(got 0, expected a whole number >= 1 and <= 10\)"),
    ({"name": "x", "size": 3.0}, r"size': must be a whole number \(write it without a decimal point\)"),
    ({"name": "x", "size": True}, r"size': must be a whole number \(got True \(bool\)"),
    ({"name": "x", "size": 3, "rate": 0}, r"rate': out of range \(got 0.0, expected a number > 0 \(Hz\)\)"),
    ({"name": "x", "size": 3, "rate": float("nan")}, r"rate': must be finite"),
    ({"name": "x", "size": 3, "rate": 10**400}, r"rate': out of range \(got an integer of 401 digits"),
    ({"name": "x", "size": 3, "siez": 1}, r"'f.yaml:siez': unknown key; did you mean 'size'\?"),
    ({"name": "x"}, r"'f.yaml:size': missing required key \(expected a whole number"),
    ({"name": "x", "size": 3, "opts": {"mode": "fats"}}, r"opts.mode': unknown value; did you mean 'fast'\?"),
    ({"name": "x", "size": 3, "grid": [2, 100]}, r"grid\[1\]': out of range \(got 100"),
    ({"name": "x", "size": 3, "data": {"kind": "randum"}}, r"data.kind': unknown kind; did you mean 'random'\?.*"
                                                          r"expected one of \['random'\] \(or give file\)"),
    ({"name": "x", "size": 3, "data": {"kind": "random"}}, r"data.n': missing required key"),
    ({"name": None, "size": 3}, r"name': value is required \(null is not allowed here\)"),
    ([1, 2], r"'f.yaml:\(top level\)': must be a mapping of key: value"),
])
def test_errors_name_the_key_value_and_constraint(data, match):
    with pytest.raises(SpecError, match=match):
        check(data)


def test_yaml_lines_and_duplicates(tmp_path):
    f = tmp_path / "f.yaml"
    f.write_text("name: x\nsize: 3\nopts:\n  mode: fats\ngrid: [1,\n  9]\n")
    data, ctx = load_yaml(f, error=SpecError)
    assert ctx.lines["opts.mode"] == 4 and ctx.lines["grid[1]"] == 6
    with pytest.raises(SpecError, match=r"opts.mode': unknown value; did you mean 'fast'\? \(line 4\)"):
        validate(ctx, "", section("top", FIELDS), data)
    f.write_text("name: x\nname: y\n")
    with pytest.raises(SpecError, match=r"'.*f.yaml:name': duplicate key \(line 2\)"):
        load_yaml(f, error=SpecError)
    f.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 6\)"):
        load_yaml(f, error=SpecError)
    with pytest.raises(SpecError, match="is a directory"):
        load_yaml(tmp_path, error=SpecError)


def test_json_schema_accepts_and_refuses_what_the_validator_does():
    schema = json_schema(FIELDS, title="t")
    jsonschema.Draft202012Validator.check_schema(schema)
    good = [{"name": "x", "size": 3}, {"name": "x", "size": 10, "rate": 2.5, "grid": [2, 3],
                                       "opts": {"on": True}, "data": {"file": "a"}},
            {"name": "x", "size": 1, "data": {"kind": "random", "n": 4}}]
    bad = [{"name": "x", "size": 0}, {"name": "x", "size": 3, "siez": 1}, {"name": "x"},
           {"name": "x", "size": 3, "opts": {"mode": "fats"}}, {"name": "x", "size": 3, "rate": 0},
           {"name": "x", "size": 3, "data": {"kind": "random"}}, {"name": "", "size": 3}]
    for d in good:
        check(d)
        jsonschema.validate(d, schema)
    for d in bad:
        with pytest.raises(SpecError):
            check(d)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(json.dumps(d)), schema)


def test_markdown_lists_every_key_with_unit_and_default():
    md = schema_markdown(FIELDS)
    assert "| `rate` | float | Hz | no (default 1.0) | a rate |" in md
    assert "**`opts`**" in md and "**`data (random)`**" in md and "| `mode` |" in md


@pytest.mark.parametrize("text, match", [
    ("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)),
     r"aliases expand to more than 200000 values \(line \d+\)"),
    ("[" * 5000 + "]" * 5000, r"nested too deeply \(line 1\) \(got more than 64 levels"),
    ("".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n", r"nested too deeply \(line 65\)"),
    ("a: &a [*a]\n", r"an alias refers to a node that contains it \(line 1\)"),
])
@pytest.mark.parametrize("fast", [False, True])
def test_nesting_and_alias_bombs_are_refused_before_they_cost(text, match, fast):
    with pytest.raises(SpecError, match=r"^spec 'x.yaml:\(yaml\)': " + match):
        load_yaml("x.yaml", error=SpecError, text=text, fast=fast)


def test_fast_loading_gives_the_same_data_lines_and_errors():
    text = "a: &x {b: 1, c: [1.5, two, null, true]}\nd: *x\ne:\n  - f: 2\n"
    slow, fast = load_yaml("x.yaml", error=SpecError, text=text), load_yaml("x.yaml", error=SpecError, text=text,
                                                                           fast=True)
    assert slow[0] == fast[0] and slow[1].lines == fast[1].lines
    for t in ("a: [1, 2\n", "a: 1\na: 2\n"):
        with pytest.raises(SpecError) as e1:
            load_yaml("x.yaml", error=SpecError, text=t)
        with pytest.raises(SpecError) as e2:
            load_yaml("x.yaml", error=SpecError, text=t, fast=True)
        assert e1.value.key == e2.value.key and "line" in str(e2.value)


def test_shared_anchors_within_bounds_load():
    data, _ = load_yaml("x.yaml", error=SpecError, text="a: &x {b: 1}\nc: *x\n")
    assert data == {"a": {"b": 1}, "c": {"b": 1}}


@pytest.mark.parametrize("kind", [["random"], {"a": 1}, 3, None])
def test_a_variant_kind_of_the_wrong_type_is_refused(kind):
    """Family 4 of issue 16: ``kind: [random]`` raised TypeError (unhashable type: 'list')."""
    with pytest.raises(SpecError, match=r"'f.yaml:data.kind': unknown kind"):
        check({"name": "x", "size": 3, "data": {"kind": kind, "n": 2}})
