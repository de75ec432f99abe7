"""The run report: the mapper's report extended by the application's sections, in one place.

``report.json`` is the mapper's report (:meth:`mapper.Report.to_dict`: network, chip, activity,
partition, placement, cores, utilisation, totals, routing, energy, latency, EDP, NeuroBench,
notes ...) plus, depending on what produced it:

* ``experiment`` -- name, source file and simulation settings (``neurosim run``);
* ``solution_quality`` -- :class:`neurosim.app.quality.SolutionQuality` (``neurosim run``);
* ``learning`` -- the cost of learning on the chip (``neurosim learn --chip``,
  :mod:`neurosim.app.learning`);
* ``nir`` -- what was read from a NIR graph and its approximations (``neurosim map --nir``).

:func:`compose_report` is the only function that adds these sections; the summary text of each
is written next to it.
"""
from __future__ import annotations

from typing import Any, Optional

from mapper import MappingResult
from neurosim.app.quality import SolutionQuality

__all__ = ["compose_report", "nir_text"]


def compose_report(mapping: MappingResult, *, experiment: Optional[dict[str, Any]] = None,
                   quality: Optional[SolutionQuality] = None, learning: Optional[dict[str, Any]] = None,
                   nir: Optional[dict[str, Any]] = None, notes: Optional[list[str]] = None) -> dict[str, Any]:
    """``mapping``'s report with the application's sections added (see the module docstring)."""
    report = mapping.report.to_dict()
    if experiment is not None:
        report["experiment"] = experiment
    if quality is not None:
        report["solution_quality"] = quality.to_dict()
    if learning is not None:
        report["learning"] = learning
    if nir is not None:
        report["nir"] = nir
    if notes:
        report["notes"] = list(report.get("notes", [])) + list(notes)
    return report


def nir_text(info: dict[str, Any]) -> str:
    """Summary lines of a NIR import: what was read and the approximations made, per node."""
    lines = [f"NIR graph {info['source']}: {len(info['populations'])} populations, "
             f"{len(info['connections'])} connections at dt {info['dt_s']:g} s",
             f"  convention: {info['convention']}"]
    if "spikes" in info:
        conds = sorted(set(info.get("threshold", {}).values()))
        what = "one-step pulses of area dt" if info["spikes"] == "pulse" else "impulses of area 1"
        lines.append(f"  spikes read as: {info['spikes']} ({what}); spike condition: v {' / '.join(conds) or '>'} v_threshold"
                     + (f" (per population: {info['threshold']})" if len(conds) > 1 else ""))
    for warning in info.get("warnings", []):
        lines.append(f"  WARNING: {warning}")
    if "simulation" in info:
        sim = info["simulation"]
        lines.append(f"  activity simulated: {sim['steps']} steps, Poisson input {sim['input_rate_per_step']:g} "
                     f"events/step per input neuron")
    for node, notes in info["approximations"].items():
        lines += [f"  approximation, node '{node}': {note}" for note in notes]
    return "\n".join(lines) + "\n"
