"""The tables of a sweep: ``results.csv``, ``pareto.csv`` and the text summary.

``results.csv`` has one row per point: ``point`` (its index), the axes (one column per key, in
the file's order), the :data:`~neurosim.app.sweepplan.METRICS` (units in their names), ``status``
(:data:`~neurosim.app.sweepplan.STATUSES`), ``reason`` (one line, empty when ok) and ``key`` (the
point's result key in ``points/``). Metrics of a point that is not ok are empty. It loads with
``pandas.read_csv("results.csv")`` (neurosim itself does not need pandas): numbers in full
precision, lists as JSON text.

The **Pareto front** minimises energy per input, time to solution and the solution gap (the
quantised network's relative gap when it was scored, else the float network's; a NIR graph has
none, its front is of energy and time): a point is on it when no other ok point is at least as
good in all of them and better in one.
"""
from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Optional, Sequence

import numpy as np

from neurosim.app.sweepplan import METRICS, PointPlan

__all__ = ["result_rows", "columns", "csv_text", "pareto_front", "objectives", "solution_gap", "summary_text",
           "OBJECTIVES", "BEST_OF"]

#: the objectives of the Pareto front (all minimised)
OBJECTIVES = ("energy_per_input_j", "time_to_solution_s", "solution_gap")
#: the metrics the summary names the best point of (all minimised)
BEST_OF = ("energy_per_input_j", "time_to_solution_s", "edp_js", "solution_gap", "cores", "busiest_link")


def columns(axis_keys: Sequence[str]) -> list[str]:
    """Column names of ``results.csv``."""
    return ["point", *axis_keys, *METRICS, "status", "reason", "key"]


def result_rows(plans: Sequence[PointPlan], records: dict[str, dict[str, Any]],
                axis_keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per planned point from its stored record (a point without one is ``pending``)."""
    rows = []
    for p in plans:
        rec = records.get(p.key)
        row: dict[str, Any] = {"point": p.index}
        row.update({k: p.values.get(k) for k in axis_keys})
        metrics = (rec or {}).get("metrics") or {}
        row.update({m: metrics.get(m) for m in METRICS})
        row["status"] = rec["status"] if rec else "pending"
        row["reason"] = rec["reason"] if rec else ""
        row["key"] = p.key
        rows.append(row)
    return rows


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return " ".join(str(v).split())  # one line


def csv_text(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> str:
    """``rows`` as CSV text with header ``cols``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in cols])
    return buf.getvalue()


def solution_gap(row: dict[str, Any]) -> Optional[float]:
    """The quantised relative gap when scored, else the float one (``None`` if neither)."""
    q = row.get("relative_gap_quantized")
    return q if q is not None else row.get("relative_gap")


def _value(row: dict[str, Any], metric: str) -> float:
    v = solution_gap(row) if metric == "solution_gap" else row.get(metric)
    return float(v) if v is not None and math.isfinite(float(v)) else math.nan


def objectives(rows: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """:data:`OBJECTIVES`, without the solution gap when no ok point has one (a NIR graph's)."""
    scored = any(r["status"] == "ok" and not math.isnan(_value(r, "solution_gap")) for r in rows)
    return OBJECTIVES if scored else OBJECTIVES[:2]


def pareto_front(rows: Sequence[dict[str, Any]]) -> list[int]:
    """Indices (into ``rows``) of the ok points on the Pareto front of :func:`objectives`."""
    objs = objectives(rows)
    idx = [i for i, r in enumerate(rows) if r["status"] == "ok"]
    vals = np.array([[_value(rows[i], m) for m in objs] for i in idx], dtype=float).reshape(-1, len(objs))
    keep = ~np.isnan(vals).any(axis=1)
    idx, vals = [i for i, k in zip(idx, keep) if k], vals[keep]
    front = []
    for j, v in enumerate(vals):
        dominated = np.any(np.all(vals <= v, axis=1) & np.any(vals < v, axis=1))
        if not dominated:
            front.append(idx[j])
    return front


def _rank(row: dict[str, Any], metric: str) -> float:
    """A metric for ordering: missing values last."""
    v = _value(row, metric)
    return math.inf if math.isnan(v) else v


def _where(row: dict[str, Any], axis_keys: Sequence[str]) -> str:
    return ", ".join(f"{k}={_cell(row[k])}" for k in axis_keys)


_LABELS = {"energy_per_input_j": ("energy per input", "J"), "time_to_solution_s": ("time to solution", "s"),
           "edp_js": ("EDP per input", "J s"), "solution_gap": ("solution gap", ""), "cores": ("cores", ""),
           "busiest_link": ("busiest link", "packets/step")}


def summary_text(*, name: str, source: str, description: str, rows: Sequence[dict[str, Any]],
                 axis_keys: Sequence[str], front: Sequence[int], work: dict[str, int],
                 notes: Sequence[str] = ()) -> str:
    """``summary.txt``: counts, the shared work, the best point per metric and the Pareto front."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines = [f"sweep '{name}' ({source}): {len(rows)} points; {description}",
             "status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
             f"work: {work.get('simulations', 0)} simulation(s) and {work.get('quantized_simulations', 0)} quantised "
             f"simulation(s) for {work.get('computed', 0)} point(s) computed; {work.get('reused', 0)} point(s) "
             f"reused from the store (one neurosim run per point would simulate "
             f"{work.get('computed', 0) * (2 if work.get('quantize', 1) else 1)} times)"]
    ok = [r for r in rows if r["status"] == "ok"]
    objs = objectives(rows)
    names = ", ".join(_LABELS[o][0] for o in objs)
    if ok:
        lines.append(f"best point per metric (lowest; ties go to the better {names}):")
        for m in BEST_OF:
            cand = [r for r in ok if not math.isnan(_value(r, m))]
            if not cand:
                continue
            best = min(cand, key=lambda r: (_value(r, m), *(_rank(r, o) for o in objs), r["point"]))
            label, unit = _LABELS[m]
            lines.append(f"  {label}: {_value(best, m):.4g}{' ' + unit if unit else ''} at point {best['point']} "
                         f"({_where(best, axis_keys)})")
        lines.append(f"Pareto front (minimising {names}): {len(front)} point(s)")
        for i in front:
            r = rows[i]
            gap = f", gap {_value(r, 'solution_gap'):.3g}" if "solution_gap" in objs else ""
            lines.append(f"  point {r['point']}: {_value(r, 'energy_per_input_j'):.4g} J, "
                         f"{_value(r, 'time_to_solution_s'):.4g} s{gap} ({_where(r, axis_keys)})")
    else:
        lines.append("no point finished ok: no best point, no Pareto front")
    failed = [r for r in rows if r["status"] not in ("ok", "pending")]
    if failed:
        lines.append("points not ok (first 10):")
        lines += [f"  point {r['point']} {r['status']} ({_where(r, axis_keys)}): {r['reason']}" for r in failed[:10]]
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines) + "\n"
