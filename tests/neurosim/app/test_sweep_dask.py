"""A sweep on a real Dask cluster: two worker processes started and stopped by the test (never
mocked); a point's numbers equal those of a single ``neurosim run`` of that configuration."""
import copy
import json
import os
import subprocess
import sys

import pytest
import yaml

from neurosim.app.sweep import run_sweep
from neurosim.app.sweepplan import METRICS, metrics_of
from neurosim.app.sweepspec import sweep_from_dict
from tests.helpers import ROOT

distributed = pytest.importorskip("distributed")

EXPERIMENT = {"name": "dask-sweep",
              "network": {"dictionary": {"kind": "default", "patch": 8, "atoms": 32},
                          "inputs": {"kind": "patches", "n": 3, "seed": 0}, "lam": 0.1},
              "simulation": {"steps": 400, "transient": 40},
              "mapping": {"time_budget_s": 0}}  # no wall-clock cap: reproducible placements under any load


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


def test_two_worker_processes_run_a_sweep_whose_point_equals_neurosim_run(tmp_path, cluster):
    with distributed.Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)
    assert len(pids) == 2 and os.getpid() not in pids.values() and len(set(pids.values())) == 2
    spec = sweep_from_dict({"experiment": copy.deepcopy(EXPERIMENT), "chip": "loihi1",
                            "axes": {"core.weight_bits": [5, 9], "noc.cores_per_tile": [1, 4],
                                     "core.max_compartments": [16]}})
    res = run_sweep(spec, tmp_path / "sweep", scheduler=cluster.scheduler_address)
    assert res.counts == {"ok": 4}
    assert res.work["simulations"] == 1 and res.work["quantized_simulations"] == 2
    with distributed.Client(cluster.scheduler_address) as client:  # both worker processes ran points
        ran = client.run(lambda dask_worker: sum(1 for key in dask_worker.state.log if "point-" in str(key)))
    assert len(ran) == 2 and all(n > 0 for n in ran.values()), ran

    row = next(r for r in res.rows if r["chip.core.weight_bits"] == 5 and r["chip.noc.cores_per_tile"] == 1
               and r["chip.core.max_compartments"] == 16)
    text = (ROOT / "chips" / "loihi1.yaml").read_text()
    chip = yaml.safe_load(text)
    chip["name"] = "variant"
    chip["core"].update(weight_bits=5, max_compartments=16)
    chip["noc"]["cores_per_tile"] = 1
    (tmp_path / "variant.yaml").write_text(yaml.safe_dump(chip))
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(EXPERIMENT))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "neurosim", "run", str(tmp_path / "exp.yaml"), "--chip",
                           str(tmp_path / "variant.yaml"), "--out", str(tmp_path / "run"), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    single = metrics_of(json.loads((tmp_path / "run" / "report.json").read_text()))
    for m in METRICS:
        if m != "mapper_wall_s":
            assert row[m] == single[m], m
    assert row["cores"] >= 2


def test_the_default_local_cluster_is_started_and_stopped_and_leaves_the_environment_alone(tmp_path):
    """``workers=2`` without a scheduler: the call starts its own cluster of two worker processes
    and stops it; Dask's settings for its workers (OMP_NUM_THREADS=1 ...) do not leak into the caller."""
    psutil = pytest.importorskip("psutil")
    before = dict(os.environ)
    children = set(psutil.Process().children(recursive=True))
    spec = sweep_from_dict({"experiment": copy.deepcopy(EXPERIMENT), "chip": "loihi1",
                            "axes": {"core.weight_bits": [9], "noc.cores_per_tile": [1, 4]}})
    res = run_sweep(spec, tmp_path / "out", workers=2, plots=False)
    assert res.counts == {"ok": 2}
    assert dict(os.environ) == before
    new = set(psutil.Process().children(recursive=True)) - children
    gone, alive = psutil.wait_procs(list(new), timeout=30)
    assert not alive


def test_the_local_cluster_runs_its_workers_with_quiet_housekeeping_and_restores_the_callers_config():
    """The workers of the cluster a sweep starts sample no profile, tick once a second and keep
    glibc's own malloc trimming (LOCAL_CLUSTER_CONFIG); the caller's Dask configuration is unchanged."""
    import dask

    from neurosim.app.sweep import LOCAL_CLUSTER_CONFIG, _dask_client

    keys = [k for k in LOCAL_CLUSTER_CONFIG if "pre-spawn-environ" not in k]
    before = {k: dask.config.get(k) for k in LOCAL_CLUSTER_CONFIG}

    def seen_by_worker():
        return ({k: __import__("dask").config.get(k) for k in keys},
                __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"), __import__("os").environ.get("OMP_NUM_THREADS"))

    with _dask_client(2, None) as client:
        seen = client.run(seen_by_worker)
    assert len(seen) == 2, seen
    for config, trim, omp in seen.values():
        assert config == {k: LOCAL_CLUSTER_CONFIG[k] for k in keys}
        assert trim == os.environ.get("MALLOC_TRIM_THRESHOLD_")  # not Dask's 65536: 20-50x the page faults
        assert omp == "1"  # Dask's other settings for its workers stay
    assert {k: dask.config.get(k) for k in LOCAL_CLUSTER_CONFIG} == before


def test_a_script_without_a_main_guard_gets_a_clear_error_not_a_bootstrapping_traceback(tmp_path):
    """Dask's worker processes import the calling script: one that calls run_sweep at module level
    fails with an InputError naming the fix, in the workers and in the caller."""
    spec = {"experiment": copy.deepcopy(EXPERIMENT), "chip": "loihi1", "axes": {"core.weight_bits": [9]}}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec))
    script = tmp_path / "unguarded.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom neurosim.app.sweep import run_sweep\n"
                      f"run_sweep({str(tmp_path / 'sweep.yaml')!r}, {str(tmp_path / 'out')!r}, workers=2, "
                      f"plots=False)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("neurosim.errors.InputError: the Dask local cluster's 2 worker process(es) did not "
                           "start"), proc.stderr[-3000:]
    assert 'under `if __name__ == "__main__":`' in last
    assert "run_sweep was called while a worker process imported the main script" in proc.stderr
