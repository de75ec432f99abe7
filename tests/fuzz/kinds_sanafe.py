"""The fuzzer's SANA-FE input kind: network files (``network:`` + ``mappings:``) through
:func:`mapper.read_sanafe_network` and, for a file exported from a mapping, on to the cost of its
given placement (:func:`neurosim.app.mapping.map_input`), whose report must hold only finite,
non-negative figures.

Two base files: neurosim's own export of a mapped 96-neuron network (per-synapse edges and a
complete ``mappings`` section, costed on ``loihi1``), and a hand-written file with every edge
form (``conv2d``, ``dense`` and ``sparse`` hyperedges, per-synapse lines, ranges).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.mapper.interchange.test_sanafe_read import HAND  # noqa: E402 - the same hand-written file


def sanafe_base(work: Path) -> dict:
    from mapper import MappingOptions, load_chip, map_network
    from mapper.export.sanafe import sanafe_dict_text
    from tests.fuzz.kinds import _small_network

    net, act = _small_network()
    res = map_network(net, load_chip("loihi1"), act,
                      MappingOptions(time_budget_s=0, place_options={"pair_moves": 200, "exact_moves": 50}))
    exported = sanafe_dict_text(res.network, res)
    return {"texts": {"exported": exported.encode(), "hand": HAND.encode()}}


def read_sanafe(path: Path, base: dict) -> Any:
    from mapper import read_sanafe_network
    from neurosim.app.mapping import load_sanafe_file, map_input
    from tests.fuzz.kinds import check_report

    if base["current"] == "hand":
        return read_sanafe_network(path)
    mapped = map_input(load_sanafe_file(path), "loihi1")
    check_report(mapped.report)
    return mapped
