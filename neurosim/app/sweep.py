"""Design-space sweeps: many experiment x chip x mapping points, work shared, run on Dask.

:func:`run_sweep` does what ``neurosim sweep`` does::

    plan (neurosim.app.sweepplan: each point's variants validated, keys derived from its inputs)
      -> skip the points already in DIR/points (--resume)
      -> per network/simulation setting: simulate once           (sweepplan.simulate_group)
           per weight precision: quantised simulation once        (sweepplan.quantize_group)
             per point: map + report with the shared activity     (sweepplan.run_point)
      -> store each point as it finishes (DIR/points/<key>.json, atomically)
      -> results.csv, pareto.csv, summary.txt, sweep.json, pareto.png, axis_<key>.png

The run record ``DIR/.neurosim-run.json`` (:mod:`neurosim.io.runrecord`) says ``"writing"`` from
the start until the last file is written (then ``"complete"``, with every file's size and
SHA-256): an interrupted sweep's directory says it is incomplete, and ``--resume`` completes it.

Where the points run:

* ``workers=None`` (default): a Dask ``LocalCluster`` with one single-threaded worker process per
  core, started and stopped by the call;
* ``workers=N``: N worker processes (``N = 1``: no cluster, everything in this process, in order:
  for debugging);
* ``scheduler="tcp://HOST:PORT"``: the workers of an existing ``dask.distributed`` cluster (they
  need neurosim installed and the experiment's data files at the same paths).

The task graph has one task per simulation, per quantised simulation and per point; a point
depends on its shared stages, so independent points run in parallel while nothing is computed
twice. Nothing here prints: ``progress(done, failed, total)`` reports points as they finish.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from neurosim.app.outputs import check_out_dir
from neurosim.app.sweepplan import PointPlan, plan_sweep, quantize_group, run_point, simulate_group
from neurosim.app.sweepplots import axis_plot_name, save_sweep_figures
from neurosim.app.sweepspec import SweepSpec, load_sweep
from neurosim.app.sweepstore import PointStore, code_version, digest
from neurosim.app.sweeptable import columns, csv_text, pareto_front, result_rows, summary_text
from neurosim.errors import InputError, describe
from neurosim.guard import ResourceLimits
from neurosim.io.atomic import atomic_write_json, atomic_write_text
from neurosim.io.runrecord import RunRecord

__all__ = ["run_sweep", "SweepResult", "sweep_outputs", "check_sweep_out", "TABLES"]

log = logging.getLogger(__name__)

#: ``progress(done, failed, total)``: points finished (ok or not), of which not ok, and all points
Progress = Callable[[int, int, int], None]

#: the fixed output files (plus one ``axis_<key>.png`` per axis key and the store ``points/``)
TABLES = ("results.csv", "pareto.csv", "summary.txt", "sweep.json", "pareto.png")
#: seconds between rewrites of results.csv while the sweep runs
TABLE_INTERVAL_S = 5.0


@dataclass(frozen=True, eq=False)
class SweepResult:
    """What a sweep produced.

    Attributes
    ----------
    spec : SweepSpec
    out : Path
        The output directory.
    rows : list of dict
        ``results.csv`` (one dict per point; :mod:`neurosim.app.sweeptable`).
    front : list of int
        Indices into ``rows`` of the Pareto front.
    work : dict
        ``points``, ``computed`` (points run now), ``reused`` (from the store), ``simulations``
        and ``quantized_simulations`` (run now), ``quantize`` (0 or 1).
    files : list of str
        Files written into ``out``.
    summary : str
        ``summary.txt``.
    """

    spec: SweepSpec
    out: Path
    rows: list
    front: list
    work: dict
    files: list
    summary: str

    @property
    def counts(self) -> dict[str, int]:
        """Points per status."""
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out


def sweep_outputs(spec: SweepSpec) -> list[str]:
    """Names of the files a sweep writes into its output directory."""
    return list(TABLES) + [axis_plot_name(k) for k in spec.columns]


def check_sweep_out(out: Union[str, Path], spec: SweepSpec, *, resume: bool, force: bool) -> Path:
    """``out`` as a Path, after checking the sweep may write there (before any work).

    Without ``resume`` or ``force``, neither an output file nor a point store (``points/``) of an
    earlier sweep may exist; ``resume`` continues that store (and rewrites the tables); ``force``
    starts over. No output may replace the sweep file or a file the experiment reads.

    Raises
    ------
    InputError
    """
    inputs = [("SWEEP", spec.source)] if Path(spec.source).is_file() else []
    exp_file = Path(spec.experiment_source)
    if exp_file.is_file():
        inputs.append(("experiment", exp_file))
    store = Path(out) / "points"
    if store.exists() and not store.is_dir():
        raise InputError(describe("option", "--out", "'points' is not a directory", got=str(store),
                                  expected="a directory for the point store"))
    if not (resume or force) and PointStore(store).keys():
        raise InputError(describe("option", "--out", "holds the point store of an earlier sweep", got=str(store),
                                  expected="--resume to continue it, or --force to start over"))
    return check_out_dir(out, sweep_outputs(spec), force=force or resume, option="--out", inputs=inputs)


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own INFO logs (cluster start and stop) only when this module logs INFO (``neurosim -v``)."""
    dlog = logging.getLogger("distributed")
    level = dlog.level
    if not log.isEnabledFor(logging.INFO):
        dlog.setLevel(logging.WARNING)
    try:
        yield
    finally:
        dlog.setLevel(level)


#: Dask settings of the local cluster a sweep starts. Its workers run one long CPU-bound task at a
#: time, and Dask's defaults for them cost the 64-point benchmark sweep (bench_sweep.py, 2 workers):
#:
#: * ``MALLOC_TRIM_THRESHOLD_=65536`` in each worker's environment, which returns freed memory to
#:   the system at once: 20-50x the page faults of the same points in one process (1.5 M vs 31 k
#:   for 24 points) and 3-8 % more CPU time;
#: * the housekeeping of each worker and nanny (an event-loop tick every 20 ms, a stack sample of
#:   the running task every 10 ms, a memory poll every 100 ms): 6 % of the two cores; these
#:   intervals brought the run from 41.8/39.2 s to 38.0/36.9 s.
#:
#: A cluster given by ``--scheduler`` keeps its own settings.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,  # glibc's default
    "distributed.worker.profile.enabled": False,  # the dashboard's profile page stays empty
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.tick.limit": "30s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def _bootstrapping() -> bool:
    """True in a worker process that is still importing its parent's ``__main__`` (spawn start)."""
    import multiprocessing

    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


_MAIN_GUARD = ("Dask starts its worker processes by importing the calling script: a script that calls "
               "run_sweep must do so under `if __name__ == \"__main__\":`")


@contextmanager
def _dask_client(workers: Optional[int], scheduler: Optional[str]) -> Iterator[Any]:
    import dask
    from dask.distributed import Client

    with _quiet_dask():
        if scheduler is None:
            environ = dict(os.environ)  # Dask sets OMP_NUM_THREADS=1, PYTHONHASHSEED ... here for its workers
            try:
                with dask.config.set(LOCAL_CLUSTER_CONFIG), _local_cluster(workers) as cluster, \
                        Client(cluster) as client:
                    log.info("Dask local cluster: %d worker process(es), scheduler %s", workers,
                             cluster.scheduler_address)
                    yield client
            finally:  # and leaves them behind: the caller's environment is its own
                os.environ.clear()
                os.environ.update(environ)
            return
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(describe("option", "--scheduler", f"cannot connect to a Dask scheduler "
                                      f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                                      got=scheduler, expected="the address of a running scheduler, "
                                      "e.g. tcp://HOST:8786")) from None
        try:
            yield client
        finally:
            client.close()


@contextmanager
def _local_cluster(workers: int) -> Iterator[Any]:
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes; a failed start is an
    :class:`~neurosim.errors.InputError` that names the usual cause."""
    from dask.distributed import LocalCluster

    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.INFO if log.isEnabledFor(logging.INFO) else logging.WARNING)
    except RuntimeError as exc:  # "Nanny failed to start."
        raise InputError(f"the Dask local cluster's {workers} worker process(es) did not start "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}). {_MAIN_GUARD}; "
                         f"otherwise see the workers' errors above, or run with workers=1 (in-process)") from None
    with cluster:
        yield cluster


def _groups(plans: list[PointPlan]) -> dict[str, list[PointPlan]]:
    groups: dict[str, list[PointPlan]] = {}
    for p in plans:
        groups.setdefault(p.sim_key, []).append(p)
    return groups


def _distinct_chips(plans: list[PointPlan]) -> list:
    seen, out = set(), []
    for p in plans:
        ident = digest(p.inputs["chip"])
        if ident not in seen:
            seen.add(ident)
            out.append(p.chip)
    return out


def _run_in_process(plans: list[PointPlan], quantize: bool) -> Iterator[tuple[PointPlan, dict[str, Any]]]:
    """The task graph in this process, one simulation group after the other."""
    for group in _groups(plans).values():
        simulated = simulate_group(group[0].experiment, _distinct_chips(group))
        quant: dict[str, Any] = {}
        for p in group:
            q = None
            if quantize:
                if p.quant_key not in quant:
                    quant[p.quant_key] = quantize_group(simulated, _distinct_chips(
                        [o for o in group if o.quant_key == p.quant_key]))
                q = quant[p.quant_key]
            yield p, run_point(simulated, q, p.chip, p.options)


def _run_on_dask(client: Any, plans: list[PointPlan], quantize: bool) -> Iterator[tuple[PointPlan, dict[str, Any]]]:
    """The task graph on a Dask cluster; points are yielded as they finish."""
    from dask.distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {}
    rank = {p.key: i for i, p in enumerate(sorted(plans, key=lambda p: (p.cost, -p.index)))}
    for sim_key, group in _groups(plans).items():
        sim = client.submit(simulate_group, group[0].experiment, _distinct_chips(group),
                            key=f"simulate-{sim_key}-{token}")
        quant: dict[str, Any] = {}
        for p in group:
            q = None
            if quantize:
                if p.quant_key not in quant:
                    chips = _distinct_chips([o for o in group if o.quant_key == p.quant_key])
                    quant[p.quant_key] = client.submit(quantize_group, sim, chips,
                                                       key=f"quantize-{p.quant_key}-{token}")
                q = quant[p.quant_key]
            # the costliest points first, so that no long point is left alone at the end
            futures[client.submit(run_point, sim, q, p.chip, p.options, key=f"point-{p.key}-{token}",
                                  priority=rank[p.key])] = p
    for fut in as_completed(list(futures)):
        p = futures.pop(fut)
        try:
            outcome = fut.result()
        except Exception as exc:  # a worker died (KilledWorker) or the cluster went away
            first = str(exc).splitlines()[0] if str(exc) else ""
            outcome = {"status": "error", "reason": f"{type(exc).__name__}: {first}", "metrics": {},
                       "simulated": False, "quantized": False}
        fut.release()
        yield p, outcome


def run_sweep(spec: Union[SweepSpec, str, Path], out: Union[str, Path], *, workers: Optional[int] = None,
              scheduler: Optional[str] = None, resume: bool = False, force: bool = False,
              progress: Optional[Progress] = None, plots: bool = True,
              limits: Optional[ResourceLimits] = None) -> SweepResult:
    """Run a sweep and write its results into ``out`` (see the module docstring).

    Parameters
    ----------
    spec : SweepSpec, str or Path
        A validated sweep or a sweep YAML file (:func:`~neurosim.app.sweepspec.load_sweep`).
    out : str or Path
        Output directory (checked first: :func:`check_sweep_out`).
    workers : int, optional
        Worker processes of the local Dask cluster (default: one per core); ``1`` runs in this
        process without a cluster.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``) instead of a local cluster.
    resume : bool
        Keep the points already stored in ``out/points`` and run only the others.
    force : bool
        Start over in an ``out`` that holds an earlier sweep (its point store is cleared unless
        ``resume``).
    progress : callable, optional
        ``progress(done, failed, total)`` after each point.
    plots : bool
        Draw the plots (``pareto.png``, ``axis_<key>.png``); the tables are always written.
    limits : ResourceLimits, optional
        Most memory and time one setting's run may need (:mod:`neurosim.guard`; default: the
        machine's memory); a setting beyond them is an ``invalid`` point, never allocated.

    Raises
    ------
    SweepError, ExperimentError, ChipSpecError
        An invalid sweep file or base experiment or chip (before any work).
    InputError
        Unusable output directory or options, unreachable scheduler.
    """
    if _bootstrapping():  # before anything: the parent's own sweep is writing ``out``
        raise InputError(f"run_sweep was called while a worker process imported the main script. {_MAIN_GUARD}")
    spec = spec if isinstance(spec, SweepSpec) else load_sweep(spec)
    if workers is not None and scheduler is not None:
        raise InputError(describe("option", "--workers", "a local cluster's size has no meaning with a scheduler",
                                  got=workers, expected="either workers or scheduler"))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(describe("option", "--workers", "must be a whole number >= 1", got=repr(workers),
                                  expected="an integer >= 1"))
    out = check_sweep_out(out, spec, resume=resume, force=force)
    plans = plan_sweep(spec, limits)
    record = RunRecord(out, sweep_outputs(spec)).start()  # "writing" until the last file is written
    store = PointStore(out / "points")
    if force and not resume:
        store.clear()
    out.mkdir(parents=True, exist_ok=True)
    rec = _Recorder(out, spec, plans, store, progress)
    if resume:
        rec.load_finished()
    todo = rec.todo()
    valid = [p for p in todo if p.valid]
    for p in todo:
        if not p.valid:
            rec.finish(p, {"status": p.status, "reason": p.reason, "metrics": {}})
    log.info("sweep '%s': %d points, %d to run (%d reused, %d invalid)", spec.name, len(plans), len(todo),
             rec.work["reused"], len(todo) - len(valid))
    try:
        if valid:
            n = workers if workers is not None else (os.cpu_count() or 1)
            if scheduler is None and n == 1:
                for p, outcome in _run_in_process(valid, spec.quantize):
                    rec.finish(p, outcome)
            else:
                with _dask_client(n if scheduler is None else None, scheduler) as client:
                    for p, outcome in _run_on_dask(client, valid, spec.quantize):
                        rec.finish(p, outcome)
    finally:
        _write_table(out, spec, plans, rec.records)  # an interrupted sweep leaves its table (pending rows)
    rec.work["simulations"], rec.work["quantized_simulations"] = len(rec.sims), len(rec.quants)
    result = _finish(out, spec, plans, rec.records, rec.work, plots=plots)
    record.complete(result.files)
    return result


class _Recorder:
    """The driving process's bookkeeping: each finished point is stored, counted and reported."""

    def __init__(self, out: Path, spec: SweepSpec, plans: list[PointPlan], store: PointStore,
                 progress: Optional[Progress]):
        self.out, self.spec, self.plans, self.store, self.progress = out, spec, plans, store, progress
        self.records: dict[str, dict[str, Any]] = {}
        self.per_key: dict[str, int] = {}  # points sharing a key (duplicates of a sampled sweep)
        for p in plans:
            self.per_key[p.key] = self.per_key.get(p.key, 0) + 1
        self.done = self.failed = 0
        self.work = {"points": len(plans), "computed": 0, "reused": 0, "simulations": 0, "quantized_simulations": 0,
                     "quantize": int(spec.quantize)}
        self.sims: set[str] = set()
        self.quants: set[str] = set()
        self.code = code_version()
        self.last = time.monotonic()

    def load_finished(self) -> None:
        """Take every stored point of the plan (``--resume``)."""
        for key, n in self.per_key.items():
            stored = self.store.get(key)
            if stored is not None:
                self.records[key] = stored
                self.work["reused"] += n
                self.done += n
                self.failed += n if stored["status"] != "ok" else 0

    def todo(self) -> list[PointPlan]:
        """The points still to run, one per key."""
        out: dict[str, PointPlan] = {}
        for p in self.plans:
            if p.key not in self.records and p.key not in out:
                out[p.key] = p
        if self.progress is not None:
            self.progress(self.done, self.failed, len(self.plans))
        return list(out.values())

    def finish(self, p: PointPlan, outcome: dict[str, Any]) -> None:
        rec = {"key": p.key, "status": outcome["status"], "reason": outcome["reason"],
               "metrics": outcome.get("metrics", {}), "wall_s": outcome.get("wall_s"), "inputs": p.inputs,
               "code": self.code}
        if outcome.get("budget_bound"):  # a wall-clock cap cut the mapping short: not reproducible
            rec["budget_bound"] = list(outcome["budget_bound"])
        if rec["status"] != "error":  # an unexpected error is run again on --resume
            self.store.put(rec)
        self.records[p.key] = rec
        if outcome.get("simulated"):
            self.sims.add(p.sim_key)
        if outcome.get("quantized"):
            self.quants.add(p.quant_key)
        n = self.per_key[p.key]
        self.work["computed"] += n
        self.done += n
        self.failed += n if rec["status"] != "ok" else 0
        if self.progress is not None:
            self.progress(self.done, self.failed, len(self.plans))
        if time.monotonic() - self.last > TABLE_INTERVAL_S:
            _write_table(self.out, self.spec, self.plans, self.records)
            self.last = time.monotonic()


def _write_table(out: Path, spec: SweepSpec, plans: list[PointPlan], records: dict[str, dict[str, Any]]) -> list:
    rows = result_rows(plans, records, spec.columns)
    atomic_write_text(out / "results.csv", csv_text(rows, columns(spec.columns)))
    return rows


def _finish(out: Path, spec: SweepSpec, plans: list[PointPlan], records: dict[str, dict[str, Any]],
            work: dict[str, int], *, plots: bool) -> SweepResult:
    rows = _write_table(out, spec, plans, records)
    front = pareto_front(rows)
    cols = columns(spec.columns)
    atomic_write_text(out / "pareto.csv", csv_text([rows[i] for i in front], cols))
    notes = []
    capped = sorted({p.index for p in plans if records.get(p.key, {}).get("budget_bound")})
    if capped:
        notes.append(f"{len(capped)} point(s) ({', '.join(str(i) for i in capped[:10])}"
                     f"{' ...' if len(capped) > 10 else ''}) hit a wall-clock cap of the mapping (mapping.time_budget_s, "
                     "repair_budget_s or steiner_budget_s): their placements depend on the machine's speed and load; "
                     "raise the caps (or set them to 0) for reproducible results")
    text = summary_text(name=spec.name, source=spec.source, description=spec.describe(), rows=rows,
                        axis_keys=spec.columns, front=front, work=work, notes=notes)
    atomic_write_text(out / "summary.txt", text)
    atomic_write_json(out / "sweep.json", {
        "format": "neurosim-sweep", "version": 1, "name": spec.name, "source": spec.source,
        "description": spec.describe(), "code": code_version(), "axes": spec.columns, "method": spec.method,
        "n": spec.n, "seed": spec.seed, "quantize": spec.quantize, "work": work,
        "points": [{"point": p.index, "values": p.values, "key": p.key} for p in plans]})
    files = ["results.csv", "pareto.csv", "summary.txt", "sweep.json"]
    if plots:
        for name in ("pareto.png", *(axis_plot_name(k) for k in spec.columns)):  # none may survive from a
            (out / name).unlink(missing_ok=True)                                 # previous run
        files += save_sweep_figures(rows, front, spec.columns, out, name=spec.name)
    return SweepResult(spec=spec, out=out, rows=rows, front=front, work=work, files=files, summary=text)
