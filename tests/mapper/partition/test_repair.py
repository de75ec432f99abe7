"""The exact repair (mapper.partition.repair): moves out of over-full parts, new cores, bookkeeping."""
import numpy as np

from mapper.graph import build_graph
from mapper.partition import traffic_graph
from mapper.partition.repair import RepairState
from mapper.resources import core_usage
from neurosim.activity import ActivityProfile
from tests.mapper.partition.helpers import chip_with, clustered


def test_repair_fixes_an_overfull_part_with_exact_moves():
    net, lab = clustered(n_clusters=4, size=16)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_compartments=16)
    part = lab.copy()
    part[np.flatnonzero(lab == 1)[:3]] = 0          # part 0 holds 19 > 16 neurons
    st = RepairState(g, chip, part, n_parts=4, sym=traffic_graph(g))
    assert st.over() == [0]
    # room elsewhere: move parts 1's remaining neurons... part 1 has 13, so 3 can go back
    assert st.run(allow_new=False)
    assert st.moves >= 3
    u = core_usage(g, chip, st.part, n_parts=st.k)
    assert u.violations() == []
    for r in u.used:  # bookkeeping equals a recount from scratch
        assert u.used[r].tolist() == st.used[r][:st.k], r


def test_repair_adds_cores_when_the_parts_are_full():
    net, lab = clustered(n_clusters=4, size=16)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_compartments=16)
    part = np.zeros(g.n, dtype=np.int64)  # everything on one core
    st = RepairState(g, chip, part, n_parts=1, sym=traffic_graph(g))
    assert not st.run(allow_new=False)
    st = RepairState(g, chip, part, n_parts=1, sym=traffic_graph(g))
    assert st.run(allow_new=True) and st.k >= 4 and st.new_cores == st.k - 1
    assert core_usage(g, chip, st.part, n_parts=st.k).violations() == []


def test_repair_fallback_targets_have_room_in_the_overfilled_resource():
    """Pass 2 of the repair sends neurons to the parts with the most room in what the over-full
    part overfills (here input axons), not merely the most free compartments."""
    net, lab = clustered(n_clusters=4, size=16)
    g = build_graph(net, ActivityProfile.assumed(net, 0.1))
    chip = chip_with(max_compartments=64, max_in_axons=24)
    st = RepairState(g, chip, lab.copy(), n_parts=4, sym=traffic_graph(g))
    st.used["in_axons"][:] = [30, 24, 2, 20]       # part 0 over; 1 full; 2 roomiest; 3 some room
    st.used["compartments"][:] = [16, 1, 40, 16]   # part 1 has the most free compartments
    assert st._roomiest(0, 2) == [2, 3, 1]
    st.used["in_axons"][0] = 10                    # nothing over: compartments rank the parts
    assert st._roomiest(0, 1)[0] == 1
