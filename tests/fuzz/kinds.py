"""The input kinds the fuzzer mutates: for each, the files it starts from, how a mutant is made and
what reading one means (the reader, then what the pipeline does next with what it accepted).

A kind's ``read(path, base)`` returns normally (the mutant was accepted), raises a
:class:`~neurosim.errors.NeurosimError` (refused), or anything else (a crash). Readers that produce a
report check that every figure in it is finite and non-negative (:func:`check_report`). Some kinds
live in their own modules: NIR graphs (:mod:`tests.fuzz.kinds_nir`), SANA-FE networks
(:mod:`tests.fuzz.kinds_sanafe`), PUDLE checkpoints and run records (:mod:`tests.fuzz.kinds_files`).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import yaml

from tests.fuzz.mutate import (mutate_argv, mutate_arrays, mutate_bytes, mutate_npy_header, mutate_text,
                               mutate_tree, nudge_tree)
from tests.helpers import ROOT

__all__ = ["Kind", "KINDS", "check_report", "BadReport"]

#: limits the fuzzed pipeline runs under: anything bigger is refused up front (a hang otherwise)
FUZZ_MEMORY = 512 * 2**20
FUZZ_DURATION_S = 5.0


class BadReport(AssertionError):
    """A report with a non-finite or negative figure (a failure of the contract, not a refusal)."""


def check_report(doc: Any, where: str = "report") -> None:
    """Every number in ``doc`` (a JSON-ready tree) is finite and >= 0, except signed quantities
    (names containing ``gap``, ``offset``, ``delta``, ``min``, ``objective``)."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            signed = any(s in str(k) for s in ("gap", "offset", "delta", "objective", "min", "bias", "change",
                                               "exponent"))
            if signed and isinstance(v, (int, float)) and not isinstance(v, bool):
                if not math.isfinite(v):
                    raise BadReport(f"{where}.{k} = {v}")
                continue
            check_report(v, f"{where}.{k}")
    elif isinstance(doc, (list, tuple)):
        for i, v in enumerate(doc):
            check_report(v, f"{where}[{i}]")
    elif isinstance(doc, (int, float, np.integer, np.floating)) and not isinstance(doc, bool):
        if not math.isfinite(float(doc)) or float(doc) < 0:
            raise BadReport(f"{where} = {doc}")


@dataclass
class Kind:
    """One input kind: ``make(workdir) -> base`` (once), ``mutant(rng, base) -> bytes``,
    ``read(path, base)``; mutants are written to ``workdir/<name>/<file_name(base)>``."""

    name: str
    make: Callable[[Path], dict]
    mutant: Callable[[np.random.Generator, dict], Any]
    read: Callable[[Path, dict], Any]
    file_name: Callable[[dict], str] = lambda base: "input"
    timeout_s: float = 20.0
    extra: dict = field(default_factory=dict)
    #: ``warm(workdir, base)``: run once before the timed mutants (numba compiles its kernels on first use)
    warm: Optional[Callable[[Path, dict], Any]] = None


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


# -- text documents (chips, experiments, placement files) ------------------------------------------
def _text_mutant(rng: np.random.Generator, base: dict, *, yaml_text: bool) -> bytes:
    name = _pick(rng, sorted(base["texts"]))
    text = base["texts"][name]
    base["current"] = name
    if rng.random() < 0.6:
        tree = yaml.safe_load(text) if yaml_text else json.loads(text)
        for _ in range(int(rng.integers(1, 3))):
            tree = mutate_tree(rng, tree)
        if yaml_text:
            return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
        return json.dumps(tree, allow_nan=True).encode("utf-8", "surrogatepass")
    return mutate_text(rng, text, yaml_text=yaml_text)


def _chip_base(work: Path) -> dict:
    texts = {p.stem: p.read_bytes() for p in sorted((ROOT / "chips").glob("*.yaml"))}
    return {"texts": texts}


def _read_chip(path: Path, base: dict) -> Any:
    from mapper import load_chip

    return load_chip(path)


def _small_network():
    """A 3-population network of 96 neurons with random sparse connections, and its activity."""
    from neurosim.activity import ActivityProfile
    from neurosim.ir import Connection, Network, Population
    from neurosim.neurons import LIF

    rng = np.random.default_rng(0)
    net = Network(name="fuzz")
    for name, n in (("a", 32), ("b", 48), ("c", 16)):
        net.add(Population(name, n, LIF()))
    for pre, post, n_pre, n_post in (("a", "b", 32, 48), ("b", "c", 48, 16), ("b", "b", 48, 48), ("c", "a", 16, 32)):
        net.add(Connection(pre, post, rng.normal(size=(n_post, n_pre)) * (rng.random((n_post, n_pre)) < 0.2)))
    counts = {p.name: rng.integers(0, 40, p.size) for p in net.populations}
    return net, ActivityProfile.from_counts(net, counts, steps=100, batch=1, dt_s=1e-3, source="simulated:fuzz")


def _read_chip_map(path: Path, base: dict) -> Any:
    from mapper import MappingOptions, load_chip, map_network

    chip = load_chip(path)
    net, act = base.setdefault("net", _small_network())
    opts = MappingOptions(seed=1, time_budget_s=2.0, place_options={"pair_moves": 300, "exact_moves": 100})
    res = map_network(net, chip, act, opts)
    check_report(res.report.to_dict())
    return res


# -- experiments -------------------------------------------------------------------------------
def _experiment_base(work: Path) -> dict:
    from neurosim.app.experiment import DEFAULT_EXPERIMENT

    texts = {p.stem: p.read_bytes() for p in sorted((ROOT / "examples").glob("*.yaml"))}
    texts["default"] = yaml.safe_dump(DEFAULT_EXPERIMENT, sort_keys=False).encode()
    small = json.loads(json.dumps(DEFAULT_EXPERIMENT))
    small["network"]["dictionary"] = {"kind": "default", "patch": 4, "atoms": 24}
    small["network"]["inputs"] = {"kind": "patches", "patch": 4, "n": 3, "seed": 0}
    small["simulation"].update(steps=150, transient=20)
    texts["small"] = yaml.safe_dump(small, sort_keys=False).encode()
    d = np.linalg.qr(np.random.default_rng(0).normal(size=(16, 16)))[0][:, :12]
    np.save(work / "D.npy", d)
    np.save(work / "X.npy", np.random.default_rng(1).normal(size=(3, 16)))
    files = dict(small, network={**small["network"], "dictionary": {"file": str(work / "D.npy")},
                                 "inputs": {"file": str(work / "X.npy")}})
    texts["files"] = yaml.safe_dump(files, sort_keys=False).encode()
    return {"texts": texts}


def _read_experiment(path: Path, base: dict) -> Any:
    from neurosim.app.experiment import load_experiment

    return load_experiment(path)


def _run_limits():
    from neurosim.guard import ResourceLimits

    return ResourceLimits(max_memory_bytes=FUZZ_MEMORY, max_duration_s=FUZZ_DURATION_S)


#: values the nudged experiments choose from, per key
EXPERIMENT_CHOICES = {"builder": ("spiking_lca", "analog_lca"), "kind": ("default", "patches", "random"),
                      "threshold": ("soft", "nonneg", "hard", None), "partitioner": ("metis", "sequential",
                                                                                     "hypergraph", "steiner"),
                      "placer": ("anneal", "block", "hilbert", "identity"), "backend": ("compiled", "numpy", "brian2")}


def _nudged_experiment(rng: np.random.Generator, base: dict) -> bytes:
    """A small experiment nudged one to three times (runs end to end in seconds when accepted)."""
    name = _pick(rng, ("small", "files"))
    base["current"] = name
    tree = yaml.safe_load(base["texts"][name])
    for _ in range(int(rng.integers(1, 4))):
        tree = nudge_tree(rng, tree, EXPERIMENT_CHOICES)
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")


def _read_experiment_run(path: Path, base: dict) -> Any:
    from mapper import MappingOptions
    from neurosim.app.experiment import load_experiment
    from neurosim.app.pipeline import run_experiment

    exp = load_experiment(path)
    opts = exp.mapping_options().replace(place_options={"pair_moves": 300, "exact_moves": 100}, placer="anneal") \
        if exp.mapping_options().placer == "anneal" else exp.mapping_options()
    opts = MappingOptions(**{**opts.to_dict(), "time_budget_s": min(opts.time_budget_s, 2.0)})
    res = run_experiment(exp, "loihi1", opts, limits=_run_limits())
    check_report(res.report)
    return res


def _warm_simulation(work: Path, base: dict) -> None:
    """Run the small experiment once: the compiled backend's kernels are compiled (or loaded) here."""
    from neurosim.app.experiment import load_experiment
    from neurosim.app.pipeline import run_experiment

    path = work / "warm.yaml"
    path.write_bytes(_experiment_base(work)["texts"]["small"])
    run_experiment(load_experiment(path), "loihi1", limits=_run_limits())


# -- placement files -------------------------------------------------------------------------------
def _placement_base(work: Path) -> dict:
    from mapper import MappingOptions, load_chip, map_network, write_placement
    from tests.helpers import make_tiny_network

    texts, cases = {}, {}
    for name, (net, act), chip in (("tiny", make_tiny_network(), "tiny"), ("small", _small_network(), "loihi1")):
        chip = load_chip(chip)
        res = map_network(net, chip, act, MappingOptions(time_budget_s=0, place_options={"pair_moves": 200,
                                                                                          "exact_moves": 50}))
        write_placement(res, work / f"{name}.json", partitioner="metis", placer="anneal", seed=0)
        texts[name], cases[name] = (work / f"{name}.json").read_bytes(), (net, chip)
    return {"texts": texts, "cases": cases}


def _read_placement(path: Path, base: dict) -> Any:
    from mapper import read_placement

    net, chip = base["cases"][base["current"]]
    return read_placement(path, chip, network=net if path.stat().st_size % 2 else None)


# -- array files -----------------------------------------------------------------------------------
def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _npz_mutant(rng: np.random.Generator, base: dict) -> bytes:
    name = _pick(rng, sorted(base["files"]))
    base["current"] = name
    if rng.random() < 0.75:
        data = mutate_arrays(rng, base["files"][name])
        if rng.random() < 0.25:  # a second change
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                data = mutate_arrays(rng, {k: z[k] for k in z.files})
        return data
    return mutate_bytes(rng, base["raw"][name])


def _network_base(work: Path) -> dict:
    from neurosim.builders.lca import build_spiking_lca
    from neurosim.io.network import save_network
    from tests.helpers import save_tiny_files

    save_tiny_files(work)
    net, _ = _small_network()
    save_network(net, work / "small.npz")
    D = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))[0][:, :6]
    save_network(build_spiking_lca(D, np.ones((2, 8)), 0.1), work / "slca.npz")
    files = {n: work / f"{n}.npz" for n in ("net", "small", "slca")}
    return {"files": {k: _npz_arrays(p) for k, p in files.items()}, "raw": {k: p.read_bytes() for k, p in files.items()}}


def _read_network(path: Path, base: dict) -> Any:
    from mapper import MappingOptions
    from neurosim.app.mapping import load_network_file, map_input

    inp = load_network_file(path)
    res = map_input(inp, "loihi1", MappingOptions(time_budget_s=1.0, place_options={"pair_moves": 200,
                                                                                     "exact_moves": 50}))
    check_report(res.report)
    return res


def _activity_base(work: Path) -> dict:
    from neurosim.io.network import save_network

    net, act = _small_network()
    save_network(net, work / "small.npz")
    act.save(work / "act.npz")
    return {"files": {"act": _npz_arrays(work / "act.npz")}, "raw": {"act": (work / "act.npz").read_bytes()},
            "network": work / "small.npz"}


def _read_activity(path: Path, base: dict) -> Any:
    from mapper import MappingOptions
    from neurosim.app.mapping import load_network_file, map_input

    inp = load_network_file(base["network"], path)
    res = map_input(inp, "loihi1", MappingOptions(time_budget_s=1.0, place_options={"pair_moves": 200,
                                                                                     "exact_moves": 50}))
    check_report(res.report)
    return res


LEARN_ARGS = ["learn", "--data", "planted", "--atoms", "8", "--train", "64", "--test", "16", "--samples", "48",
              "--batch", "8", "--no-progress", "--max-duration", "20"]


def _checkpoint_base(work: Path) -> dict:
    from neurosim.cli import main

    files, raw = {}, {}
    for method in ("local-rate", "sgd"):
        ck = work / f"ck-{method}.npz"
        with contextlib.redirect_stdout(io.StringIO()):
            main(LEARN_ARGS + ["--method", method, "--out", str(work / f"d-{method}.npz"), "--checkpoint", str(ck),
                               "--stop-after", "16", "--force"])
        files[method], raw[method] = _npz_arrays(ck), ck.read_bytes()
    return {"files": files, "raw": raw, "work": work}


def _read_checkpoint(path: Path, base: dict) -> Any:
    from neurosim.cli import main

    # the mutant of either method is resumed as a local-rate run: the other method's file is refused
    method = "sgd" if path.stat().st_size % 3 == 0 else "local-rate"
    out = base["work"] / "resumed.npz"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(LEARN_ARGS + ["--method", method, "--out", str(out), "--checkpoint", str(path), "--resume",
                                  "--force"])
    return _cli_outcome(code, err.getvalue())


def _warp_base(work: Path) -> dict:
    from neurosim.estimators.warp import WarpLCA

    rng = np.random.default_rng(0)
    D = np.linalg.qr(rng.normal(size=(16, 16)))[0][:, :12]
    X = rng.normal(size=(40, 16))
    files, raw = {}, {}
    for kind, opts in (("lista", {"epochs": 2, "layers": 1}), ("linear", {}), ("mlp", {"epochs": 2, "hidden": 8}),
                       ("zero", {})):
        m = WarpLCA(D, 0.5, predictor=kind, predictor_options=opts)
        m.fit(X)
        p = m.save(work / f"warp-{kind}.npz", overwrite=True)
        files[kind], raw[kind] = _npz_arrays(p), p.read_bytes()
    return {"files": files, "raw": raw}


def _read_warp(path: Path, base: dict) -> Any:
    from neurosim.estimators.warp import WarpLCA

    m = WarpLCA.load(path)
    X = np.random.default_rng(2).normal(size=(3, m.dictionary.shape[0]))
    return m.transform(X, steps=5)


def _npy_base(work: Path) -> dict:
    buf = {}
    for name, arr in (("D", np.linalg.qr(np.random.default_rng(0).normal(size=(16, 16)))[0][:, :12]),
                      ("X", np.arange(12, dtype=np.int32).reshape(3, 4)), ("b", np.ones(5, dtype=bool))):
        f = io.BytesIO()
        np.save(f, arr)
        buf[name] = f.getvalue()
    return {"raw": buf}


def _npy_mutant(rng: np.random.Generator, base: dict) -> bytes:
    data = base["raw"][_pick(rng, sorted(base["raw"]))]
    return mutate_npy_header(rng, data) if rng.random() < 0.6 else mutate_bytes(rng, data)


def _read_npy(path: Path, base: dict) -> Any:
    from neurosim.io.arrays import read_npy

    return read_npy(path, "dictionary", limits=_run_limits())


# -- the command line --------------------------------------------------------------------------------
def _cli_outcome(code: int, stderr: str) -> Any:
    from neurosim.errors import NeurosimError

    if "Traceback" in stderr:
        raise RuntimeError("traceback on stderr: " + stderr.strip().splitlines()[-1])
    if code == 2:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        raise NeurosimError(lines[-1] if lines else "exit 2")
    if code != 0:
        raise RuntimeError(f"exit code {code}: {stderr.strip()[-200:]}")
    return code


def _cli_base(work: Path) -> dict:
    from tests.helpers import save_tiny_files

    save_tiny_files(work)
    exp = _experiment_base(work)["texts"]["small"]
    (work / "small.yaml").write_bytes(exp)
    shutil.copy(ROOT / "chips" / "tiny.yaml", work / "tiny.yaml")
    (work / "D.npy").write_bytes(_npy_base(work)["raw"]["D"])
    w = str(work)
    lim = ["--max-duration", "20"]
    commands = [
        ["chips", "validate", f"{w}/tiny.yaml"],
        ["chips", "list"],
        ["chips", "schema"],
        ["map", "--network", f"{w}/net.npz", "--activity", f"{w}/act.npz", "--chip", "tiny", "--out", f"{w}/o",
         "--time-budget", "1", "--no-progress", "--force"],
        ["map", "--network", f"{w}/net.npz", "--chip", "loihi1", "--out", f"{w}/o", "--partitioner", "sequential",
         "--placer", "hilbert", "--assumed-rate", "0.1", "--no-progress", "--force"],
        ["run", f"{w}/small.yaml", "--chip", "loihi1", "--out", f"{w}/r", "--time-budget", "1", "--no-progress",
         "--force", "--no-quantize"] + lim,
        ["lca", "--atoms", "16", "--patch", "4", "--n", "4", "--method", "fista", "--out", f"{w}/codes.npy",
         "--force"] + lim,
        LEARN_ARGS + ["--out", f"{w}/d.npz", "--force"],
        ["warp", "train", "--dictionary", f"{w}/D.npy", "--predictor", "linear", "--n-train", "50", "--out",
         f"{w}/m.npz", "--force"] + lim,
    ]
    # no path outside the work directory: a symlink stands for /dev/null (replacing it replaces the link)
    (work / "adir").mkdir(exist_ok=True)
    if not (work / "devnull").is_symlink():
        (work / "devnull").symlink_to("/dev/null")
    values = ["0", "-1", "1e400", "nan", "inf", "-inf", "", " ", "x", "10000000000000000000", "99999999999",
              "1e-300", "ü", "\x00", f"{w}/adir", f"{w}/devnull", f"{w}", f"{w}/net.npz", f"{w}/tiny.yaml", f"{w}/D.npy",
              "--force", "0x10", "1_0", "3.5", "2147483648", "-0"]
    return {"commands": commands, "values": values}


def _cli_mutant(rng: np.random.Generator, base: dict) -> Any:
    argv = list(_pick(rng, base["commands"]))
    return json.dumps(mutate_argv(rng, argv, lambda: base["values"])).encode("utf-8", "surrogatepass")


@contextlib.contextmanager
def _inside(directory: Path):
    """Work in ``directory`` for a while (contextlib.chdir is Python 3.11+)."""
    old = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(old)


def _read_cli(path: Path, base: dict) -> Any:
    from neurosim.cli import main

    argv = json.loads(path.read_bytes().decode("utf-8", "surrogatepass"))
    err = io.StringIO()
    try:  # relative output paths ("x", "-0") land in the mutant's directory, not the repository
        with _inside(path.parent), contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 after one line, --help exits 0
        code = exc.code if isinstance(exc.code, int) else 2
    return _cli_outcome(code, err.getvalue())


def _yaml_kind(name: str, make, read, *, timeout_s: float = 20.0) -> Kind:
    return Kind(name, make, lambda rng, b: _text_mutant(rng, b, yaml_text=True), read,
                file_name=lambda b: f"{b.get('current', 'input')}.yaml", timeout_s=timeout_s)


from tests.fuzz.kinds_files import (pudle_base, pudle_mutant, read_pudle, read_record_kind,  # noqa: E402
                                    record_base, record_mutant)
from tests.fuzz.kinds_nir import nir_base, nir_mutant, read_nir_kind, warm_nir  # noqa: E402
from tests.fuzz.kinds_sanafe import read_sanafe, sanafe_base  # noqa: E402 - uses the helpers above

#: every input kind, by name
KINDS: dict[str, Kind] = {k.name: k for k in (
    _yaml_kind("chip", _chip_base, _read_chip),
    _yaml_kind("chip+map", _chip_base, _read_chip_map, timeout_s=60.0),
    _yaml_kind("experiment", _experiment_base, _read_experiment),
    Kind("experiment+run", _experiment_base, _nudged_experiment, _read_experiment_run,
         file_name=lambda b: f"{b.get('current', 'input')}.yaml", timeout_s=120.0, warm=_warm_simulation),
    Kind("placement", _placement_base, lambda rng, b: _text_mutant(rng, b, yaml_text=False), _read_placement,
         file_name=lambda b: "placement.json"),
    Kind("network", _network_base, _npz_mutant, _read_network, file_name=lambda b: "net.npz", timeout_s=60.0),
    Kind("activity", _activity_base, _npz_mutant, _read_activity, file_name=lambda b: "act.npz", timeout_s=60.0),
    Kind("checkpoint", _checkpoint_base, _npz_mutant, _read_checkpoint, file_name=lambda b: "ck.npz", timeout_s=60.0),
    Kind("warp-model", _warp_base, _npz_mutant, _read_warp, file_name=lambda b: "model.npz"),
    Kind("npy", _npy_base, _npy_mutant, _read_npy, file_name=lambda b: "array.npy"),
    Kind("nir", nir_base, nir_mutant, read_nir_kind, file_name=lambda b: "graph.nir", timeout_s=60.0,
         warm=warm_nir),
    Kind("cli", _cli_base, _cli_mutant, _read_cli, file_name=lambda b: "argv.json", timeout_s=120.0,
         warm=_warm_simulation),
    _yaml_kind("sanafe-net", sanafe_base, read_sanafe, timeout_s=60.0),
    Kind("pudle-checkpoint", pudle_base, pudle_mutant, read_pudle, file_name=lambda b: "ck.npz", timeout_s=60.0),
    Kind("run-record", record_base, record_mutant, read_record_kind, file_name=lambda b: ".neurosim-run.json",
         timeout_s=60.0),
)}
