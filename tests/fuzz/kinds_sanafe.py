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

HAND = """\
network:
  name: hand
  groups:
    - name: 0
      attributes: [threshold: 2.0, reset_mode: soft, log_spikes: true]
      neurons:
        - 0..7: {}
        - 8: [bias: 0.5, leak_decay: 0.75]
    - name: out
      attributes: {threshold: 3.0, soma: {reset: -1.0}, refractory_delay: 2}
      neurons: [0..7]
    - name: d
      attributes: {}
      neurons: [0, 1]
  edges:
    - 0 -> out: {type: conv2d, input_width: 3, input_height: 3, input_channels: 1, kernel_width: 2,
                 kernel_height: 2, kernel_count: 2, stride_width: 1, stride_height: 1,
                 w: [1, 2, 0, 4, 5, 6, 7, 8]}
    - out -> d: [type: dense, weight: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]]
    - d -> out: {type: sparse, source_target_pairs: [[0, 1], [1, 5]], weight: [0.5, -0.5]}
    - d.1 -> d.0: {synapse: {weight: 2.5}}
    - d.0 -> d.1: [w: -1]
mappings:
  - 0: {core: 0.10}
  - 0.8: {core: 0.10}
  - out.0..3: {core: 1.0}
  - out.4..7: [core: 2.1]
  - d: {core: 3.0}
"""


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
