"""Conformance against real exporters: graphs written by snnTorch, Norse and Sinabs and the spikes the
libraries themselves computed (fixtures in ``exporters/``, recorded by ``exporters/record.py``; no torch
needed here) are reproduced exactly by :func:`neurosim.nir.read.read_nir` and a simulation, on every
backend.

Alignment: the recorded input raster drives the Input node's relay population (an ``ArrayInput`` of
``1/dt`` for one step moves a relay's ``v`` by 1 >= 0.5, so it spikes on the step of its input) and every
connection adds its ``delay_steps``: a layer ``k`` connections from the input spikes ``k`` steps later
than the library's layer (module docstring of :mod:`neurosim.nir.read`). Before that latency the layer
must be silent (biases switch on at the layer's input latency, like the library's first input).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nir")

from neurosim import simulate  # noqa: E402
from neurosim.ir import ArrayInput, Probe  # noqa: E402
from neurosim.nir.read import read_nir  # noqa: E402

HERE = Path(__file__).resolve().parent / "exporters"
MANIFEST = json.loads((HERE / "manifest.json").read_text())
CASES = {c["case"]: c for c in MANIFEST["cases"]}

#: brian2 starts slowly (seconds per network): two small cases of different conventions only
BRIAN2_CASES = ("snntorch_leaky_mlp", "sinabs_iaf_mlp")


def read_case(case: dict):
    """The case's graph read with its exporter's conventions and the Input shape stored in the file
    (a leading batch axis of 1, as Norse writes it, is dropped by the reader with a note where the
    layers need it gone: the conv case; an MLP reads ``(1, 12)`` as its 12 neurons)."""
    net, info = read_nir(HERE / f"{case['case']}.nir", dt_s=case["dt_s"], spikes=case["spikes"],
                         threshold=case["threshold"])
    (relays,) = info["inputs"]
    exported = [int(d) for d in case["input_shape"]]
    assert net.population(relays).size == int(np.prod(exported))
    if len(exported) == 4 and exported[0] == 1:
        assert any("batch axis" in n for notes in info["approximations"].values() for n in notes)
    return net, info


def latencies(info: dict) -> dict[str, int]:
    """Steps from an input spike to each population's first response: the shortest path of delays."""
    lat = {p: 0 for p in info["inputs"]}
    pop_of = {v["node"]: p for p, v in info["populations"].items()}
    edges = [(pop_of[c["from"]], pop_of[c["to"]], c["delay_steps"]) for c in info["connections"].values()]
    changed = True
    while changed:
        changed = False
        for a, b, d in edges:
            if a in lat and lat[a] + d < lat.get(b, 1 << 30):
                lat[b], changed = lat[a] + d, True
    return lat


def run_case(name: str, backend: str, options: dict) -> list[str]:
    """Simulate case ``name``; the list of layers whose raster differs from the library's (with counts)."""
    case = CASES[name]
    data = np.load(HERE / f"{name}.npz")
    net, info = read_case(case)
    (relays,) = info["inputs"]
    lat = latencies(info)
    pop_of = {v["node"]: p for p, v in info["populations"].items()}
    steps = int(case["steps"])
    run_steps = steps + max(lat.values())
    inp = data["input"].astype(float)
    net.add(ArrayInput(relays, np.vstack([inp, np.zeros((run_steps - steps, inp.shape[1]))]) / case["dt_s"]))
    for layer in case["layers"]:
        net.add(Probe(pop_of[layer], "spikes", name=layer))
    res = simulate(net, steps=run_steps, dt_s=case["dt_s"], backend=backend, seed=0, options=options)
    bad = []
    for layer in case["layers"]:
        got = np.asarray(res[layer])[:, 0, :].astype(bool)
        k = lat[pop_of[layer]]
        want = np.vstack([np.zeros((k, got.shape[1]), bool), data[f"layer:{layer}"]])
        got = got[:k + steps]
        if not np.array_equal(got, want):
            diff = got != want
            first = int(np.argmax(diff.any(axis=1)))
            bad.append(f"layer '{layer}' (latency {k}): {int(diff.sum())} of {int(want.sum())} library spikes differ "
                       f"({int((got & ~want).sum())} extra, {int((want & ~got).sum())} missing), first at step {first}")
    return bad


def test_manifest_lists_every_fixture_with_its_conventions():
    files = {p.stem for p in HERE.glob("*.nir")}
    assert files == set(CASES) and {p.stem for p in HERE.glob("*.npz")} == set(CASES)
    libraries = {c["library"] for c in CASES.values()}
    assert libraries == {"snntorch", "norse", "sinabs"}
    for c in CASES.values():
        assert c["spikes"] in ("pulse", "dirac") and c["threshold"] in (">", ">=") and c["dt_s"] > 0
        assert all(n > 0 for n in c["spike_counts"].values()), c["case"]  # every layer spikes: the check can fail
    assert CASES["snntorch_leaky_quantised"]["ties"] > 0  # the membrane meets the threshold exactly


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_library_spikes_are_reproduced_exactly(name, backend):
    bad = run_case(name, backend, {})
    assert not bad, f"{name} on {backend}: " + "; ".join(bad)


@pytest.mark.parametrize("name", BRIAN2_CASES)
def test_library_spikes_are_reproduced_exactly_on_brian2(name):
    pytest.importorskip("brian2")
    bad = run_case(name, "brian2", {"target": "numpy"})
    assert not bad, f"{name} on brian2: " + "; ".join(bad)
