"""``neurosim run``: build an experiment's network, simulate it, map it onto a chip, report.

::

    neurosim run [EXPERIMENT.yaml] --chip NAME|FILE --out DIR [--partitioner P] [--placer P]
                 [--time-budget S] [--no-quantize] [--no-splitters] [--no-progress] [--force]

Without ``EXPERIMENT.yaml`` the built-in experiment runs (spiking LCA on patches of
scikit-learn's bundled sample images, :data:`neurosim.app.experiment.DEFAULT_EXPERIMENT`).

Writes to ``DIR``: ``report.json`` (the mapper's report plus ``solution_quality``: the LASSO
objective of the decoded codes, FISTA's optimum and, unless ``--no-quantize``, the objective after
quantising the weights to the chip's precision and re-simulating), ``placement.json``,
``summary.txt``, ``core_utilisation.png``, ``link_traffic.png``, ``activity.png`` (raster), ``codes.npy``,
``activity.npz`` and ``network.npz``. Existing files are kept unless ``--force``.
"""
from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np

from mapper import PLACERS, STRATEGIES, check_fits, load_chip, map_network, quantize_network
from neurosim.app.experiment import build_experiment, load_experiment
from neurosim.backends import simulate
from neurosim.cli.common import StageProgress
from neurosim.cli.errors import UsageError
from neurosim.cli.mapout import MAP_OUTPUTS, check_out_dir, write_mapping
from neurosim.io.atomic import atomic_save_npy
from neurosim.io.network import save_network
from neurosim.ir import Network, Probe
from neurosim.plots import activity_figure, save_png
from neurosim.solvers.lasso import fista, lasso_objective

__all__ = ["register", "cmd_run", "OUTPUTS"]

log = logging.getLogger(__name__)

OUTPUTS = MAP_OUTPUTS + ("activity.png", "codes.npy", "activity.npz", "network.npz")
RASTER_STEPS = 1000  # steps shown in activity.png


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="simulate an experiment and map it onto a chip (the main job)",
                              description="Build the network an experiment YAML describes (or the built-in one), "
                                          "simulate it, map it onto a chip and report traffic, energy, latency "
                                          "and solution quality.")
    p.add_argument("experiment", nargs="?", metavar="EXPERIMENT.yaml", help="experiment file (default: built-in)")
    p.add_argument("--chip", required=True, metavar="NAME|FILE", help="chip name (see 'neurosim chips list') or YAML")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--partitioner", choices=sorted(STRATEGIES), help="override the experiment's mapping.partitioner")
    p.add_argument("--placer", choices=sorted(PLACERS), help="override the experiment's mapping.placer")
    p.add_argument("--time-budget", type=float, metavar="S", help="placement refinement budget, seconds (default 20)")
    p.add_argument("--no-quantize", action="store_true", help="skip the quantised re-simulation")
    p.add_argument("--no-splitters", action="store_true",
                   help="fail instead of adding splitter relays when a neuron targets more cores than the chip allows")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.set_defaults(func=cmd_run)


def _objective(D: np.ndarray, X: np.ndarray, codes: np.ndarray, lam: float, nonneg: bool) -> float:
    return float(np.mean(lasso_objective(D, X, codes, lam, nonneg=nonneg)))


def cmd_run(args: argparse.Namespace) -> int:
    out = check_out_dir(args.out, OUTPUTS, force=args.force, option="--out")
    if args.time_budget is not None and args.time_budget < 0:
        raise UsageError(f"option --time-budget: must be >= 0 (got {args.time_budget})")
    exp = load_experiment(args.experiment)
    # no output may replace a file the experiment reads, --force or not
    check_out_dir(out, OUTPUTS, force=args.force, option="--out", inputs=exp.input_files())
    chip = load_chip(args.chip)
    mapping = dict(exp.mapping)
    partitioner = args.partitioner or mapping["partitioner"]
    placer = args.placer or mapping["placer"]
    if partitioner not in STRATEGIES:
        raise UsageError(f"experiment '{exp.source}': key 'mapping.partitioner': unknown (got {partitioner!r}, "
                         f"expected one of {sorted(STRATEGIES)})")
    if placer not in PLACERS:
        raise UsageError(f"experiment '{exp.source}': key 'mapping.placer': unknown (got {placer!r}, "
                         f"expected one of {sorted(PLACERS)})")
    budget = args.time_budget if args.time_budget is not None else (mapping["time_budget_s"] or 20.0)
    sim = exp.simulation

    network, decode, D, X = build_experiment(exp)
    check_fits(network, chip)  # fail before simulating if it cannot fit the chip
    print(f"experiment '{exp.name}' ({exp.source}): {network.n_neurons} neurons, {network.n_synapses} synapses, "
          f"{network.batch} inputs, {sim['steps']} steps of {sim['dt_s']} on {sim['backend']}")
    t0 = time.perf_counter()
    res = simulate(network, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"],
                   progress=not args.no_progress)
    t_sim = time.perf_counter() - t0
    codes = decode(res)
    lam, nonneg = float(exp.network["lam"]), bool(exp.network["nonneg"])
    objective = _objective(D, X, codes, lam, nonneg)
    reference = fista(D, X, lam, nonneg=nonneg)
    optimum = _objective(D, X, reference, lam, nonneg)
    quality = {"problem": "non-negative LASSO" if nonneg else "LASSO", "lam": lam, "inputs": int(X.shape[0]),
               "objective": objective, "optimum_fista": optimum,
               "relative_gap": (objective - optimum) / max(abs(optimum), 1e-300),
               "mean_nonzeros": float(np.mean(np.count_nonzero(np.abs(codes) > 1e-9, axis=1))),
               "simulation_wall_s": t_sim}
    if not args.no_quantize:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            qnet, qrep = quantize_network(network, chip)
        qres = simulate(qnet, steps=sim["steps"], dt_s=sim["dt_s"], backend=sim["backend"], seed=sim["seed"])
        qobj = _objective(D, X, decode(qres), lam, nonneg)
        quality["quantized"] = {"weight_bits": chip.core.weight_bits, "objective": qobj,
                                "relative_gap": (qobj - optimum) / max(abs(optimum), 1e-300),
                                "weights": qrep.to_dict(), "warnings": [str(w.message) for w in caught]}

    with StageProgress(enabled=not args.no_progress) as progress:
        result = map_network(network, chip, res.activity, partitioner=partitioner, placer=placer,
                             seed=mapping["seed"], time_budget_s=budget,
                             splitters=False if args.no_splitters else "auto", progress=progress)
    report = result.report.to_dict()
    report["experiment"] = {"name": exp.name, "source": exp.source, "simulation": sim}
    report["solution_quality"] = quality

    text, drawn = write_mapping(result, out, partitioner=partitioner, placer=placer, seed=mapping["seed"],
                                report=report, extra_text=_quality_text(quality))
    save_png(_raster(network, sim, exp.name, codes[0], reference[0]), out / "activity.png")
    atomic_save_npy(out / "codes.npy", codes)
    res.activity.save(out / "activity.npz")
    save_network(network, out / "network.npz")
    print(text, end="")
    written = [n for n in OUTPUTS if n in drawn or n not in MAP_OUTPUTS]
    print(f"wrote {len(written)} files to {out}/: {', '.join(written)}")
    return 0


def _raster(network: Network, sim: dict, name: str, code: np.ndarray, reference: np.ndarray):
    """Re-run the first RASTER_STEPS steps with a raster probe and plot input 0."""
    pop = network.populations[0]
    var = "output" if pop.model.graded else "spikes"
    probed = Network(network.name, list(network.populations), list(network.connections), list(network.inputs),
                     [Probe(pop.name, var, name="raster")], dict(network.signals))
    steps = min(int(sim["steps"]), RASTER_STEPS)
    rec = simulate(probed, steps=steps, dt_s=sim["dt_s"], seed=sim["seed"])["raster"][:, 0, :]
    return activity_figure(rec, dt_s=sim["dt_s"], graded=pop.model.graded, codes=code, reference=reference,
                           title=f"{name}: population '{pop.name}', input 0, first {steps} steps")


def _quality_text(q: dict) -> str:
    lines = [f"solution quality ({q['problem']}, lam {q['lam']:g}, {q['inputs']} inputs):",
             f"  objective {q['objective']:.6g}  optimum (FISTA) {q['optimum_fista']:.6g}  "
             f"relative gap {q['relative_gap']:.3g}  mean non-zeros {q['mean_nonzeros']:.1f}"]
    if "quantized" in q:
        z = q["quantized"]
        what = z.get("weights", {}).get("description") or f"{z['weight_bits']}-bit weights"
        lines.append(f"  with quantised weights ({what}): objective {z['objective']:.6g}  "
                     f"relative gap {z['relative_gap']:.3g}")
    return "\n".join(lines) + "\n"
