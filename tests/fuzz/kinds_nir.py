"""The fuzzer's NIR input kind: ``.nir`` (HDF5) graphs through :func:`neurosim.app.mapping.load_nir_graph`
(:func:`neurosim.nir.read.read_nir`, a short simulation) and on to a mapping whose report must hold
only finite, non-negative figures.

Three base graphs: a dense one with a recurrent layer whose neuron nodes carry the metadata
neurosim's writer records (``neurosim.threshold``, ``neurosim.bias_start``,
``neurosim.bias_receptor``), the same graph with a leading batch axis of size 1 on its Input
shape (snnTorch's export), and a convolutional one with average pooling. A mutant damages
datasets (values, shapes, types, deletions), injects or rewrites those metadata entries on any
neuron node, prepends a 1 to an Input's shape, or flips bytes; each mutant is read with random ``spikes`` and ``threshold``
options (an unknown one among them: the option is refused).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["nir_base", "nir_mutant", "read_nir_kind", "warm_nir"]

#: the metadata keys of a neuron node that read_nir reads back
META_KEYS = ("neurosim.threshold", "neurosim.bias_start", "neurosim.bias_receptor")
#: values injected into them (right, wrong type, out of range, non-UTF-8, arrays)
META_VALUES = (">", ">=", "=>", "", "v", "syn", "x", 0, 3, -1, 2**62, 10**6, 1.5, np.nan, np.inf, -np.inf, 1e300,
               b"\xff\xfe", b">=", np.array([1, 2]), np.array([">", ">="]), np.array([], dtype=np.int64),
               np.array([[3]]), True, np.array([b">", b">="]), np.array([b"v"]), np.array([2.0]), "3", -0.0, 7.0)
NEURON_TYPES = (b"LIF", b"IF", b"CubaLIF", b"LI", b"CubaLI", b"I", b"Threshold")
SPIKES = ("pulse",) * 5 + ("dirac",) * 4 + ("bogus",)
THRESHOLDS = (None,) * 5 + (">", ">") + (">=", ">=") + ("=>",)


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _lif(n, metadata=None):
    import nir

    shape = n if isinstance(n, tuple) else (n,)
    return nir.LIF(tau=np.full(shape, 0.02), r=np.ones(shape), v_leak=np.zeros(shape), v_threshold=np.ones(shape),
                   v_reset=np.zeros(shape), metadata=metadata or {})


def _dense(rng: np.random.Generator, input_shape) -> Any:
    import nir

    meta = {"neurosim.threshold": ">=", "neurosim.bias_start": 1, "neurosim.bias_receptor": "v"}
    return nir.NIRGraph(nodes={"input": nir.Input(np.array(input_shape)), "fc1": nir.Affine(rng.normal(size=(5, 3)),
                                                                                          np.zeros(5)),
                               "lif1": _lif(5, meta), "rec": nir.Linear(rng.normal(size=(5, 5))),
                               "fc2": nir.Affine(rng.normal(size=(2, 5)), np.ones(2)),
                               "lif2": _lif(2, {"neurosim.threshold": ">", "neurosim.bias_start": 2,
                                                "neurosim.bias_receptor": "syn"}),
                               "output": nir.Output(np.array([2]))},
                        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "rec"), ("rec", "lif1"),
                               ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")], type_check=False)


def nir_base(work: Path) -> dict:
    import nir

    rng = np.random.default_rng(0)
    graphs = {
        "dense": _dense(rng, [3]),
        "batched": _dense(rng, [1, 3]),
        "conv": nir.NIRGraph(nodes={"input": nir.Input(np.array([1, 6, 6])),
                                    "conv": nir.Conv2d(input_shape=(6, 6), weight=rng.normal(size=(2, 1, 3, 3)),
                                                       stride=1, padding=0, dilation=1, groups=1, bias=np.zeros(2)),
                                    "lif": _lif((2, 4, 4)),
                                    "pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                                          padding=np.array([0, 0])),
                                    "flat": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0,
                                                        end_dim=-1),
                                    "fc": nir.Linear(rng.normal(size=(3, 8))), "out_lif": _lif(3),
                                    "output": nir.Output(np.array([3]))},
                             edges=[("input", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"),
                                    ("flat", "fc"), ("fc", "out_lif"), ("out_lif", "output")], type_check=False),
    }
    raw = {}
    for name, g in graphs.items():
        nir.write(work / f"{name}.nir", g)
        raw[name] = (work / f"{name}.nir").read_bytes()
    return {"raw": raw, "work": work, "options": ("pulse", None)}


def warm_nir(work: Path, base: dict) -> None:
    for name in base["raw"]:
        read_nir_kind(work / f"{name}.nir", base)


def _groups(f, kind: str) -> list[str]:
    """Paths of the node groups of ``f`` whose ``type`` is a neuron (``kind="neuron"``) or ``Input``."""
    import h5py

    out: list[str] = []

    def visit(key, obj):
        if isinstance(obj, h5py.Group) and "type" in obj and isinstance(obj["type"], h5py.Dataset):
            t = obj["type"][()]
            t = t if isinstance(t, bytes) else str(t).encode()
            if (t in NEURON_TYPES) if kind == "neuron" else t == b"Input":
                out.append(key)
    f.visititems(visit)
    return out


def _put(group, key: str, value: Any) -> None:
    if key in group:
        del group[key]
    try:
        group.create_dataset(key, data=value)
    except (TypeError, ValueError):
        group.create_dataset(key, data=np.bytes_(b"?"))


def _metadata_mutation(rng: np.random.Generator, f) -> None:
    """Inject, rewrite or delete the neurosim metadata of one or two neuron nodes."""
    import h5py

    neurons = _groups(f, "neuron")
    for _ in range(int(rng.integers(1, 3)) if neurons else 0):
        g = f[_pick(rng, neurons)]
        if "metadata" in g and not isinstance(g["metadata"], h5py.Group):
            continue
        meta = g.require_group("metadata")
        key = _pick(rng, META_KEYS + ("neurosim.other",))
        if rng.random() < 0.15:
            if key in meta:
                del meta[key]
            continue
        value = _pick(rng, META_VALUES)
        _put(meta, key, np.bytes_(value) if isinstance(value, str) else value)


def _batch_mutation(rng: np.random.Generator, f) -> None:
    """Prepend a 1 (or two) to an Input node's shape, sometimes to its sinks' view too."""
    for key in _groups(f, "input"):
        g = f[key]
        if "shape" not in g:
            continue
        old = np.atleast_1d(np.asarray(g["shape"][()]))
        lead = _pick(rng, ([1], [1], [1, 1], [2], [0]))
        try:
            new = np.concatenate([np.array(lead, dtype=old.dtype if old.dtype.kind in "iu" else np.int64), old])
        except (TypeError, ValueError):
            new = np.array(lead)
        _put(g, "shape", new)


def nir_mutant(rng: np.random.Generator, base: dict) -> bytes:
    import h5py

    from tests.fuzz.mutate import mutate_bytes

    name = _pick(rng, sorted(base["raw"]))
    data = base["raw"][name]
    base["options"] = (_pick(rng, SPIKES), _pick(rng, THRESHOLDS))
    if rng.random() < 0.15:
        return mutate_bytes(rng, data)
    tmp = base["work"] / "mutating.nir"
    tmp.write_bytes(data)
    with h5py.File(tmp, "r+") as f:
        op = rng.random()
        if op < 0.3:
            _metadata_mutation(rng, f)
        elif op < 0.45:
            _batch_mutation(rng, f)
        if op < 0.2 or op >= 0.45:
            _dataset_mutation(rng, f)
    return tmp.read_bytes()


def _dataset_mutation(rng: np.random.Generator, f) -> None:
    import h5py

    datasets: list[str] = []
    f.visititems(lambda k, v: datasets.append(k) if isinstance(v, h5py.Dataset) else None)
    for _ in range(int(rng.integers(1, 3))):
        key = _pick(rng, datasets)
        if key not in f:
            continue
        old = f[key][()]
        del f[key]
        if rng.random() < 0.15:
            continue  # deleted
        new = _nir_value(rng, key, np.asarray(old))
        try:
            f.create_dataset(key, data=new)
        except (TypeError, ValueError):
            f.create_dataset(key, data=np.asarray(old))


def _nir_value(rng: np.random.Generator, key: str, old: np.ndarray) -> Any:
    shapes = (np.array([-1, 3]), np.array([100000, 100000]), np.array([2**31, 2**31]), np.array([0]),
              np.array([3, 0, 2]), np.array([2**62]), np.array([1, 10**6, 10**6]), np.array([], dtype=np.int64),
              np.array([2.5, 3]), np.array([7]), np.array([1, 3]), np.array([1, 1, 6, 6]))
    op = int(rng.integers(6))
    if ("shape" in key or "type" in key or "dim" in key) and op < 4:
        return _pick(rng, shapes)
    if op == 0 and old.dtype.kind == "f" and old.size:
        new = old.copy()
        new.flat[int(rng.integers(new.size))] = _pick(rng, (np.nan, np.inf, -np.inf, -1.0, 0.0, 1e300))
        return new
    if op == 1 and old.size > 1:
        return old.reshape(-1)[: int(rng.integers(old.size))]
    if op == 2:
        return _pick(rng, shapes)
    if op == 3 and old.dtype.kind in "iuf":
        return (old * _pick(rng, (-1, 0, 10**6, 1e-12))).astype(old.dtype)
    if op == 4 and old.dtype.kind in "SUO":
        return np.bytes_(_pick(rng, (b"LIF", b"Bogus", b"", b"Conv2d", b"NIRGraph", b"Input", b"\xff")))
    return np.array(_pick(rng, (0.0, -3.0, 1e308, np.nan)))


def read_nir_kind(path: Path, base: dict) -> Any:
    from mapper import MappingOptions
    from neurosim.app.mapping import load_nir_graph, map_input
    from tests.fuzz.kinds import _run_limits, check_report

    spikes, threshold = base["options"]
    inp = load_nir_graph(path, dt_s=1e-3, simulate_steps=20, seed=0, input_rate=0.1, progress=False,
                         spikes=spikes, threshold=threshold, limits=_run_limits())
    res = map_input(inp, "loihi1", MappingOptions(time_budget_s=1.0, place_options={"pair_moves": 200,
                                                                                     "exact_moves": 50}))
    check_report(res.report)
    return res
