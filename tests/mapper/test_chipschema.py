"""The chip schema (mapper.chipschema): the shipped JSON Schema is the generated one, every shipped
chip validates against it, and it refuses what the loader refuses."""
import copy
import json

import jsonschema
import pytest
import yaml

from mapper.chipload import chip_from_dict
from mapper.chipschema import FIELDS, chip_json_schema, schema_markdown
from neurosim.errors import ChipSpecError
from tests.helpers import ROOT

SHIPPED = ROOT / "chips" / "chip.schema.json"


def as_json(data):
    return json.loads(json.dumps(data))  # YAML table keys (ints) become strings, as in an editor


def test_shipped_json_schema_is_current():
    assert json.loads(SHIPPED.read_text()) == chip_json_schema(), \
        "regenerate with: python docs/generate.py"


@pytest.mark.parametrize("path", sorted((ROOT / "chips").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_chip_validates_and_points_at_the_schema(path):
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=chip.schema.json")
    jsonschema.validate(as_json(yaml.safe_load(text)), chip_json_schema())


@pytest.mark.parametrize("mutate", [
    lambda d: d["core"].update(max_compartments=0),
    lambda d: d["core"].update(max_compartments=1.5),
    lambda d: d["core"].update(max_compartmentz=4),
    lambda d: d["noc"].update(tile_grid=[2]),
    lambda d: d["energy"].update(active_policy="sometimes"),
    lambda d: d["energy"].pop("syn_op"),
    lambda d: d["timing"].update(barrier_by_tiles={0: 1e-9}),
    lambda d: d.update(cost_status="guess"),
])
def test_json_schema_refuses_what_the_loader_refuses(mutate):
    d = yaml.safe_load((ROOT / "chips" / "tiny.yaml").read_text())
    mutate(d)
    with pytest.raises(ChipSpecError):
        chip_from_dict(copy.deepcopy(d))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(as_json(d), chip_json_schema())


def test_markdown_reference_has_every_section_and_key():
    md = schema_markdown()
    for section in ("core", "noc", "board", "energy", "timing"):
        assert f"**`{section}`**" in md
        for key in FIELDS[section].fields:
            assert f"| `{key}` |" in md
