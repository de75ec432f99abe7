"""The place stage (mapper.place.core): the placer by name, one core per part, a partitioner's cores as a
start, and its errors."""
import numpy as np
import pytest

from mapper import MappingOptions
from mapper.place import PLACERS, place, placement_cost
from neurosim.errors import CapacityError, MappingError
from tests.mapper.place.helpers import chain_nets, mesh, random_nets


def test_identity_and_errors():
    chip = mesh(2, 2)
    nets = chain_nets(4)
    assert place(nets, chip, MappingOptions(placer="identity")).core.tolist() == [0, 1, 2, 3]
    with pytest.raises(MappingError, match="unknown strategy"):
        place(nets, chip, MappingOptions(placer="nope"))
    with pytest.raises(CapacityError):
        place(chain_nets(5), chip, MappingOptions(placer="identity"))
    assert set(PLACERS) == {"identity", "hilbert", "block", "anneal"}


def test_the_cores_a_partitioner_chose_are_a_start_of_the_anneal_placer():
    """With no moves the "anneal" placer returns its best start: given the cores of a long annealing
    run (better than the Hilbert and block starts), it returns exactly them; a part without a core
    (-1) gets a free one."""
    nets, chip = random_nets(), mesh(4, 4, cpt=2)
    tuned = dict(lam=2.0, pair_moves=3000, exact_moves=600)
    good = place(nets, chip, MappingOptions(placer="anneal", seed=3, time_budget_s=0, place_options=tuned)).core
    still = MappingOptions(placer="anneal", time_budget_s=0,
                           place_options=dict(lam=2.0, pair_moves=0, exact_moves=0, polish_moves=0))
    plain = place(nets, chip, still)
    assert placement_cost(nets, chip, good, lam=2.0)["objective"] < plain.cost["objective"]
    assert place(nets, chip, still, cores=good).core.tolist() == good.tolist()
    partial = good.copy()
    partial[0] = -1
    got = place(nets, chip, still, cores=partial).core
    assert np.unique(got).size == got.size and got[1:].tolist() == good[1:].tolist()
    hilbert = MappingOptions(placer="hilbert")  # only "anneal" takes the partitioner's cores
    assert place(nets, chip, hilbert, cores=good).core.tolist() == place(nets, chip, hilbert).core.tolist()
