"""The files of a mapping, shared by ``neurosim run``, ``neurosim map`` and ``neurosim learn``.

Every mapping writes into one directory: ``report.json`` (the mapper's report, possibly extended
by the command), ``placement.json``, ``summary.txt`` (the report's summary plus the command's own
lines) and the plots ``core_utilisation.png`` and ``link_traffic.png`` (a plot that cannot be
drawn is skipped and the report's notes say so). Files are written atomically
(:mod:`neurosim.io.atomic`); :func:`check_out_dir` refuses to overwrite any of them without ``--force``
*before* the command does any work.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Union

from mapper import FIGURES, MappingResult, Report, save_mapping_figures, write_placement
from neurosim.io.outpaths import check_outputs, check_path
from neurosim.io.atomic import atomic_write_json, atomic_write_text

__all__ = ["MAP_OUTPUTS", "check_out_dir", "write_mapping"]

#: the files :func:`write_mapping` writes, in this order
MAP_OUTPUTS = ("report.json", "placement.json", "summary.txt", "core_utilisation.png", "link_traffic.png")


def check_out_dir(out: Union[str, Path], names: Sequence[str], *, force: bool, option: str = "output",
                  extra: Sequence[tuple[str, Optional[Union[str, Path]]]] = (),
                  inputs: Sequence[tuple[str, Optional[Union[str, Path]]]] = ()) -> Path:
    """``out`` as a Path, after checking it can take the files ``names`` (and the ``extra``
    outputs, as ``(option, path)``) without replacing one of the ``inputs``
    (:func:`~neurosim.io.outpaths.check_outputs`, which raises the one-line
    :class:`~neurosim.errors.UsageError`)."""
    out = check_path(out, option)
    check_outputs([(f"{option} ({n})", out / n) for n in names] + list(extra), dirs=[(option, out)], force=force,
                  inputs=inputs)
    return out


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
