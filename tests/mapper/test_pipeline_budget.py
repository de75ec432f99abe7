"""Same seed, same mapping (issue 16): the default placement search is a fixed amount of work
(:func:`mapper.place.anneal.move_budget`), so equal seeds give byte-identical placement files on
a loaded machine too; the wall-clock caps are a safety net, and a cap that binds is reported
(``report["mapper"]["budget_bound"]``, a note, a log warning)."""
import dataclasses
import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from mapper import MappingOptions, load_chip, map_network
from mapper.export import write_placement
from neurosim.activity import ActivityProfile
from neurosim.ir import Connection, Network, Population
from neurosim.neurons import LIF

#: a small work budget: the move counts it gives are far below their caps (checked below), so the
#: work budget, not the number of parts, decides how long the search runs -- what the old
#: wall-clock budget decided, by the clock, on large networks
WORK = 2e4


def sheet_with_lateral_layer(side: int = 10, inh: int = 24, seed: int = 0):
    """A ``side x side`` sheet (local and random targets, Poisson counts) driving an all-to-all
    inhibitory layer of equal weights (every pair of its neurons are twins)."""
    rng = np.random.default_rng(seed)
    n = side * side
    src = np.repeat(np.arange(n), 6)
    tgt = (src + rng.integers(-2 * side, 2 * side + 1, src.size)) % n
    far = rng.random(src.size) < 0.1
    tgt[far] = rng.integers(0, n, int(far.sum()))
    keep = tgt != src
    w = sp.csr_matrix((np.ones(int(keep.sum())), (tgt[keep], src[keep])), shape=(n, n))
    w.sum_duplicates()
    net = Network(name="sheet-lateral")
    net.add(Population("sheet", n, LIF()))
    net.add(Population("inh", inh, LIF()))
    net.add(Connection("sheet", "sheet", w))
    drive = np.zeros((inh, n))
    drive[:, rng.choice(n, 8, replace=False)] = 1.0  # every inhibitory neuron sees the same 8 sources
    net.add(Connection("sheet", "inh", drive))
    lat = -np.ones((inh, inh))
    np.fill_diagonal(lat, 0.0)
    net.add(Connection("inh", "inh", lat))
    counts = {"sheet": rng.poisson(rng.uniform(1, 60, n)), "inh": rng.poisson(rng.uniform(0, 200, inh))}
    return net, ActivityProfile.from_counts(net, counts, steps=1000, batch=1, dt_s=1e-3, source="synthetic:test")


def small_core_chip(name: str, **core):
    chip = load_chip(name)
    return dataclasses.replace(chip, core=dataclasses.replace(chip.core, **core))


def mapped_files(tmp, net, act, chip, opts, tag: str) -> tuple[bytes, dict, object]:
    res = map_network(net, chip, act, opts)
    path = write_placement(res, tmp / f"placement_{tag}.json")
    rep = res.report.to_dict()
    rep["mapper"].pop("wall_s")
    rep["mapper"].pop("peak_rss_mib")
    return path.read_bytes(), rep, res


class Burner:
    """CPU-burning processes (one per core) for the duration of a ``with`` block."""

    def __enter__(self):
        code = "import time\nt = time.time() + 120\nwhile time.time() < t: pass"
        self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


@pytest.mark.parametrize("chip_name,core", [
    ("loihi1", {"max_compartments": 16}),  # ~11 parts on 8 x 4 tiles, twins in the lateral layer
    ("truenorth", {"max_compartments": 64}),  # splitter relays for every neuron with two target cores
])
def test_equal_seeds_give_identical_placement_files_under_load(tmp_path, chip_name, core):
    net, act = sheet_with_lateral_layer()
    chip = small_core_chip(chip_name, **core)
    opts = MappingOptions(seed=3, place_options={"work": WORK})  # default caps (generous)
    a, rep_a, res = mapped_files(tmp_path, net, act, chip, opts, "idle")
    with Burner():  # the other run competes with a busy process per core
        b, rep_b, _ = mapped_files(tmp_path, net, act, chip, opts, "loaded")
    assert a == b  # byte for byte
    assert rep_a == rep_b  # every figure of the report (wall times aside)
    assert rep_a["mapper"]["budget_bound"] == [] and not any("REPRODUCIBLE" in n for n in rep_a["notes"])
    assert res.partition.n_parts >= 4 and rep_a["placement"]["moves_tried"] > 0
    if chip_name == "loihi1":
        assert rep_a["placement"]["twins"]["twins"] > 0
    else:
        assert rep_a["splitters"]["relays"] > 0
    # the work budget, not the part count, fixed the moves: far fewer than the caps 2000 k / 100 k
    from mapper.graph import build_graph
    from mapper.nets import build_nets, quotient
    from mapper.place.anneal import move_budget
    from mapper.place.cost import LinkCost

    g = build_graph(res.network, res.activity)
    nets = build_nets(g, res.partition.part, res.partition.rows)
    pair, exact, _ = move_budget(nets, quotient(nets), LinkCost(nets, chip, res.placement.core, multicast=True,
                                                                lam=1.0, chip_weight=1.0), work=WORK)
    k = nets.n_parts
    assert pair < 2000 * k and exact < 100 * k


def test_a_binding_time_cap_is_reported(caplog):
    net, act = sheet_with_lateral_layer(side=8, inh=16)
    chip = small_core_chip("loihi1", max_compartments=16)
    with caplog.at_level(logging.WARNING, logger="mapper"):
        res = map_network(net, chip, act, seed=0, time_budget_s=1e-9)  # the cap passes before any move
    rep = res.report.to_dict()
    bound = rep["mapper"]["budget_bound"]
    assert "place: pairwise" in bound and "place: exact" in bound
    assert rep["mapper"]["caps_s"]["time_budget_s"] == 1e-9
    assert any(n.startswith("NOT REPRODUCIBLE") and "place: exact" in n for n in rep["notes"])
    assert "NOT REPRODUCIBLE" in res.report.summary_text()
    assert any("not reproducible" in r.getMessage() for r in caplog.records if r.name == "mapper.pipeline")
    assert res.placement.moves_tried == 0  # every phase skipped: the start placement, still a valid one
    assert np.unique(res.placement.core).size == res.partition.n_parts
    # no cap: the same mapping again, reported as reproducible
    free = map_network(net, chip, act, seed=0, time_budget_s=0, place_options={"work": WORK}).report.to_dict()
    assert free["mapper"]["budget_bound"] == [] and free["placement"]["moves_tried"] > 0
    json.dumps(rep)  # still plain JSON
