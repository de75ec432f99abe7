"""The placement objective (mapper.place.cost): incremental moves equal the recomputation; ceilings refuse exactly."""
import numpy as np
import pytest

from mapper.place import placement_cost
from tests.mapper.place.helpers import mesh, random_nets


def test_link_cost_ceilings_refuse_exactly_the_moves_that_exceed_them():
    from mapper.place.cost import LinkCost

    nets, chip = random_nets(k=12), mesh(4, 4)
    core = np.arange(12)
    base = placement_cost(nets, chip, core)
    free = LinkCost(nets, chip, core, multicast=True, lam=0.0, chip_weight=0.0)
    capped = LinkCost(nets, chip, core, multicast=True, lam=0.0, chip_weight=0.0)
    capped.cap, capped.total_cap = base["max_link_load"], base["links"] + 0.5
    refused = 0
    for p in range(12):
        for cq in range(16):
            if cq == p:
                continue
            q = cq if cq < 12 else -1
            moved = core.copy()
            moved[p] = cq
            if q >= 0:
                moved[q] = p
            truth = placement_cost(nets, chip, moved)  # recomputed from scratch
            over = truth["max_link_load"] > base["max_link_load"] + 1e-9 or truth["links"] > base["links"] + 0.5
            dv, _ = capped.delta(p, q, p, cq)
            if over:
                refused += 1
                assert dv == np.inf
            else:
                assert dv == pytest.approx(free.delta(p, q, p, cq)[0])
                assert dv == pytest.approx(truth["links"] - base["links"])
    assert refused > 0


def test_the_objective_routes_as_the_chip_unless_the_place_option_says_otherwise():
    from mapper.place.cost import objective_multicast
    from tests.helpers import make_tiny_chip

    unicast, tree = make_tiny_chip(multicast=False), make_tiny_chip(multicast=True)
    assert (objective_multicast(unicast, None), objective_multicast(tree, None)) == (False, True)
    assert (objective_multicast(unicast, True), objective_multicast(tree, False)) == (True, False)
