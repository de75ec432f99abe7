"""Writing results: the files of a mapping and of a whole run.

Every mapping (``neurosim run``, ``neurosim map``, ``neurosim learn --chip``) writes into one
directory: ``report.json`` (the mapper's report, possibly extended by the application,
:mod:`neurosim.app.report`), ``placement.json``, ``summary.txt`` (the report's summary plus the command's own
lines) and the plots ``core_utilisation.png`` and ``link_traffic.png`` (a plot that cannot be
drawn is skipped and the report's notes say so). Files are written atomically
(:mod:`neurosim.io.atomic`); :func:`check_out_dir` refuses to overwrite any of them without ``--force``
*before* the command does any work. A run (:func:`write_run`) adds ``activity.png`` (the raster
of input 0 over the first steps and its decoded code against FISTA's), ``codes.npy``,
``activity.npz`` and ``network.npz``.

A directory of outputs is complete or visibly incomplete: the command writes the run record
``.neurosim-run.json`` (:mod:`neurosim.io.runrecord`) with status ``"writing"`` before its first
file and rewrites it with status ``"complete"`` and every file's size and SHA-256 as its last
write (:func:`write_run` does both; ``neurosim map`` and ``neurosim learn --chip`` bracket their
own writes with :class:`~neurosim.io.runrecord.RunRecord`). :func:`check_out_dir` lets a command
replace the files of an interrupted run (record ``"writing"``) without ``--force``, never those
of a complete run; :func:`interrupted_note` is the line the CLI prints about such a run.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Union

from mapper import FIGURES, MappingResult, Report, save_mapping_figures, write_placement
from neurosim.io.atomic import atomic_save_npy, atomic_write_json, atomic_write_text
from neurosim.io.network import save_network
from neurosim.io.outpaths import check_outputs, check_path
from neurosim.io.runrecord import RECORD, RunRecord, read_record, replaceable
from neurosim.plots import activity_figure, save_png

if TYPE_CHECKING:  # pragma: no cover
    from neurosim.app.pipeline import RunResult

__all__ = ["MAP_OUTPUTS", "RUN_OUTPUTS", "check_out_dir", "interrupted_note", "write_mapping", "write_run"]

#: the files :func:`write_mapping` writes, in this order
MAP_OUTPUTS = ("report.json", "placement.json", "summary.txt", "core_utilisation.png", "link_traffic.png")
#: the files :func:`write_run` writes
RUN_OUTPUTS = MAP_OUTPUTS + ("activity.png", "codes.npy", "activity.npz", "network.npz")


def check_out_dir(out: Union[str, Path], names: Sequence[str], *, force: bool, option: str = "output",
                  extra: Sequence[tuple[str, Optional[Union[str, Path]]]] = (),
                  inputs: Sequence[tuple[str, Optional[Union[str, Path]]]] = ()) -> Path:
    """``out`` as a Path, after checking it can take the files ``names`` (and the ``extra``
    outputs, as ``(option, path)``) without replacing one of the ``inputs``
    (:func:`~neurosim.io.outpaths.check_outputs`, which raises the one-line
    :class:`~neurosim.errors.InputError`).

    The run record :data:`~neurosim.io.runrecord.RECORD` is one of the files: a complete run's
    record, like its files, is replaced only with ``force``. The files an interrupted run was
    writing (its record says ``"writing"``) may be replaced without ``force``; a directory whose
    record's writer is still running is refused.
    """
    out = check_path(out, option)
    names = list(names) + [RECORD]
    free: set[str] = set()
    if out.is_dir():
        free, _ = replaceable(out, option=option)
    check_outputs([(f"{option} ({n})", out / n) for n in names] + list(extra), dirs=[(option, out)], force=force,
                  inputs=inputs, keep={f"{option} ({n})" for n in names if n in free})
    return out


def interrupted_note(out: Union[str, Path]) -> Optional[str]:
    """One line about the interrupted run in ``out`` (its record says ``"writing"``), or ``None``."""
    record = read_record(out) if Path(out).is_dir() else None
    if record is None or record["status"] == "complete":
        return None
    what = f"'{record['command']}'" if isinstance(record.get("command"), str) else "an earlier command"
    return (f"'{out}' holds the files of an interrupted run ({what}, pid {record.get('pid', '?')}); "
            "they are replaced")


def write_mapping(result: MappingResult, out: Path, *, partitioner: str, placer: str, seed: int,
                  report: Optional[dict] = None, extra_text: str = "") -> tuple[str, list[str]]:
    """Write the :data:`MAP_OUTPUTS` of ``result`` into ``out`` (created if needed).

    Parameters
    ----------
    result : MappingResult
    out : Path
        Output directory (checked beforehand with :func:`check_out_dir`).
    partitioner, placer : str
        Strategy names, recorded in ``placement.json``.
    seed : int
        Mapping seed, recorded in ``placement.json``.
    report : dict, optional
        The report to write, when the command extended ``result.report.to_dict()`` (extra keys,
        notes); its notes then appear in the summary too.
    extra_text : str
        Lines appended to the summary (newline-terminated).

    Returns
    -------
    text, written : str, list of str
        The summary text written to ``summary.txt``, and the names of :data:`MAP_OUTPUTS` written
        (a plot that could not be drawn is missing; its note says why).
    """
    data = result.report.to_dict() if report is None else dict(report)
    out.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:  # a plot of an earlier mapping must not survive beside this report
        (out / name).unlink(missing_ok=True)
    drawn, skipped = save_mapping_figures(result, out)  # first: a plot that cannot be drawn is a note
    if skipped:
        data["notes"] = list(data.get("notes", [])) + skipped
    atomic_write_json(out / "report.json", data)
    write_placement(result, out / "placement.json", partitioner=partitioner, placer=placer, seed=seed)
    text = Report(data).summary_text() + extra_text
    atomic_write_text(out / "summary.txt", text)
    return text, [n for n in MAP_OUTPUTS if n not in FIGURES] + [p.name for p in drawn]


def write_run(result: "RunResult", out: Path, *, command: Optional[str] = None) -> list[str]:
    """Write every file of a run (:data:`RUN_OUTPUTS`) into ``out``; return the names written
    (a plot that could not be drawn is missing and the report's notes say why).

    The run record (:mod:`neurosim.io.runrecord`) is written first with status ``"writing"`` and
    last with status ``"complete"`` and every file's size and SHA-256; ``command`` is recorded
    in it (default: this process's command line). Check ``out`` first with
    ``check_out_dir(out, RUN_OUTPUTS, force=..., inputs=experiment.input_files())``.
    """
    record = RunRecord(out, RUN_OUTPUTS, command=command).start()
    written = _write_run_files(result, out)
    record.complete(written)
    return written


def _write_run_files(result: "RunResult", out: Path) -> list[str]:
    from neurosim.app.pipeline import RASTER_PROBE

    mapping = result.mapping
    opts = result.options
    _, drawn = write_mapping(mapping, out, partitioner=opts.partitioner, placer=opts.placer, seed=opts.seed,
                             report=result.report, extra_text=result.quality.text())
    sim, exp = result.simulation, result.experiment
    pop = next(p.target for p in result.network.probes if p.name == RASTER_PROBE)
    raster = sim.probes[RASTER_PROBE][:, 0, :]
    fig = activity_figure(raster, dt_s=sim.dt_s, graded=result.network.population(pop).model.graded,
                          codes=result.codes[0], reference=result.reference[0],
                          title=f"{exp.name}: population '{pop}', input 0, first {raster.shape[0]} steps")
    save_png(fig, out / "activity.png")
    atomic_save_npy(out / "codes.npy", result.codes)
    sim.activity.save(out / "activity.npz")
    save_network(result.network, out / "network.npz")
    return [n for n in RUN_OUTPUTS if n in drawn or n not in MAP_OUTPUTS]
