"""Output files (neurosim.app.outputs): a run writes every file it lists, the mapping files are
written atomically, stale plots never survive beside a new report, and outputs are checked first."""
import copy
import json

import numpy as np
import pytest

from mapper import MappingOptions, map_network
from neurosim.activity import ActivityProfile
from neurosim.app import experiment_from_dict, run_experiment
from neurosim.app.experiment import DEFAULT_EXPERIMENT
from neurosim.app.outputs import MAP_OUTPUTS, RUN_OUTPUTS, check_out_dir, write_mapping, write_run
from neurosim.errors import InputError
from neurosim.io.network import load_network
from tests.helpers import make_tiny_chip, make_tiny_network


@pytest.fixture(scope="module")
def run():
    d = copy.deepcopy(DEFAULT_EXPERIMENT)
    d["network"].update(builder="analog_lca", nonneg=True, lam=0.5,
                        dictionary={"kind": "default", "patch": 8, "atoms": 64},
                        inputs={"kind": "patches", "patch": 8, "n": 3, "seed": 1})
    d["simulation"] = {"steps": 300, "dt_s": 0.1}
    return run_experiment(experiment_from_dict(d), "loihi1", MappingOptions(time_budget_s=0), quantize=False)


def test_run_writes_every_listed_file(run, tmp_path):
    out = check_out_dir(tmp_path / "o", RUN_OUTPUTS, force=False)
    written = write_run(run, out)
    assert written == list(RUN_OUTPUTS)
    for name in RUN_OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    assert report["solution_quality"]["relative_gap"] == run.quality.relative_gap
    np.testing.assert_array_equal(np.load(out / "codes.npy"), run.codes)
    assert ActivityProfile.load(out / "activity.npz").total_events == run.simulation.activity.total_events
    assert load_network(out / "network.npz").n_synapses == run.network.n_synapses
    assert "solution quality" in (out / "summary.txt").read_text()
    assert not list(out.glob(".*tmp*"))  # no temporaries left behind


def test_existing_outputs_are_refused_without_force(run, tmp_path):
    write_run(run, check_out_dir(tmp_path, RUN_OUTPUTS, force=False))
    with pytest.raises(InputError, match=r"option 'output \(report.json\)': file exists"):
        check_out_dir(tmp_path, RUN_OUTPUTS, force=False)
    check_out_dir(tmp_path, RUN_OUTPUTS, force=True)
    with pytest.raises(InputError, match="is the input file"):
        check_out_dir(tmp_path, RUN_OUTPUTS, force=True, inputs=[("EXPERIMENT", tmp_path / "summary.txt")])


def test_stale_plots_do_not_survive_a_new_mapping(tmp_path):
    net, act = make_tiny_network()
    res = map_network(net, make_tiny_chip(), act, time_budget_s=0)
    (tmp_path / "link_traffic.png").write_bytes(b"old plot of another mapping")
    text, written = write_mapping(res, tmp_path, partitioner="metis", placer="anneal", seed=0)
    assert written[:3] == list(MAP_OUTPUTS[:3])
    assert (tmp_path / "link_traffic.png").read_bytes() != b"old plot of another mapping" or \
        "link_traffic.png" not in written and not (tmp_path / "link_traffic.png").exists()
    assert "network 'tiny'" in text
    placement = json.loads((tmp_path / "placement.json").read_text())
    assert placement["format"] == "neurosim-placement"
