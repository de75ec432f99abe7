"""Record the NIR conformance fixtures of snnTorch, Norse and Sinabs (run by hand, not by CI).

Needs torch, snntorch, norse, sinabs, nir, nirtorch (versions in ``README.md``), e.g. in a venv::

    /work/venv-exporters/bin/python tests/neurosim/nir/exporters/record.py

For every case: build a small model with a fixed seed, export it with the library's own NIR export
(``<case>.nir``), drive it with a fixed seeded input spike raster and record the library's own
output spikes of every spiking layer, step by step, the way the library computes them
(``<case>.npz``: ``input`` (steps, n_in) and one ``(steps, n)`` raster per spiking layer, keyed by
the layer's NIR node name), and list the cases in ``manifest.json`` with the conventions measured:

* ``dt_s``: the step at which the exported graph, read as NIR's ODEs with forward Euler, gives the
  library's own update (``dt_s_nominal``: the dt the library itself uses or the exporter assumes);
* ``spikes``: ``"pulse"`` (a spike is a one-step pulse of area ``dt``: ``v += dt R W s / tau``)
  or ``"dirac"`` (an impulse of area 1: ``v += R W s``);
* ``threshold``: ``">"`` or ``">="`` (from the library's spike function);
* ``input_shape``: the shape of the Input node as exported (batch axis included when it is there).

Everything is seeded: a rerun with the same versions writes the same rasters.
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

import nir
import numpy as np
import torch

HERE = Path(__file__).resolve().parent
STEPS = 40


def versions(*names: str) -> dict:
    return {n: version(n) for n in names}


def raster(rng: np.random.Generator, steps: int, shape: tuple, p: float) -> np.ndarray:
    return (rng.random((steps, *shape)) < p).astype(np.float32)


def _shape(n) -> tuple:
    return tuple(n) if isinstance(n, tuple) else (n,)


def quantise(t: torch.Tensor, q: float) -> torch.Tensor:
    return torch.round(t / q) * q


def layer_names(graph) -> dict:
    """NIR node name of every spiking node, in graph order (nested graphs as '<graph>.<node>')."""
    out = []
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            out += [f"{name}.{n}" for n, v in node.nodes.items() if type(v).__name__ in ("IF", "LIF", "CubaLIF")]
        elif type(node).__name__ in ("IF", "LIF", "CubaLIF"):
            out.append(name)
    return out


def save(case: str, graph, inp: np.ndarray, layers: dict, meta: dict, manifest: list) -> None:
    try:
        nir.write(HERE / f"{case}.nir", graph)
    except TypeError:  # nir 1.0.8 cannot gzip 0-d arrays (Norse's scalar parameters): write them uncompressed
        nir.write(HERE / f"{case}.nir", graph, compression=None)
    names = layer_names(graph)
    if len(names) != len(layers):
        raise RuntimeError(f"{case}: {len(names)} spiking NIR nodes {names} but {len(layers)} recorded layers")
    rasters = {n: np.asarray(r, dtype=bool).reshape(r.shape[0], -1) for n, r in zip(names, layers.values())}
    np.savez_compressed(HERE / f"{case}.npz", input=np.asarray(inp, dtype=bool).reshape(inp.shape[0], -1),
                        **{f"layer:{n}": r for n, r in rasters.items()})
    counts = {n: int(r.sum()) for n, r in rasters.items()}
    sizes = {n: int(r.shape[1]) for n, r in rasters.items()}
    inp_node = next(v for v in graph.nodes.values() if isinstance(v, nir.Input))
    entry = {"case": case, **meta, "input_shape": [int(d) for d in np.asarray(inp_node.input_type["input"]).ravel()],
             "steps": int(inp.shape[0]), "layers": names, "layer_sizes": sizes, "spike_counts": counts}
    manifest.append(entry)
    print(f"{case}: layers {sizes} spikes {counts} input spikes {int(inp.sum())}")


def fill_conv_input_shapes(graph, modules, sample) -> str:
    """Set the Conv2d nodes' ``input_shape`` (spatial (H, W)) and Flatten nodes' ``input_type`` the exporter left
    ``None``: nir.write cannot store ``None`` and nir's ``infer_types`` fails on these graphs (nir 1.0.8).
    Returns a note ('' if nothing set)."""
    x, patched = sample, []
    with torch.no_grad():
        for i, m in enumerate(modules):
            node = graph.nodes.get(str(i))
            if isinstance(m, torch.nn.Conv2d) and node is not None and getattr(node, "input_shape", 0) is None:
                node.input_shape = np.array(x.shape[-2:])
                patched.append(f"{i}: Conv2d.input_shape {tuple(x.shape[-2:])}")
            if isinstance(m, torch.nn.Flatten) and node is not None and (node.input_type or {}).get("input") is None:
                node.input_type = {"input": np.array(x.shape[1:])}  # without the batch axis, as the exporter's start_dim
                patched.append(f"{i}: Flatten.input_type {tuple(x.shape[1:])}")
            x = m(x)
            x = x[0] if isinstance(x, tuple) else x
    if not patched:
        return ""
    return ("set by hand (the exporter leaves them None, which nir.write cannot store): " + "; ".join(patched))


# -- snnTorch ----------------------------------------------------------------------------------
def snntorch_cases(manifest: list) -> None:
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    lib = {"library": "snntorch", **versions("snntorch", "nir", "nirtorch", "torch")}
    conv = {"dt_s": 1e-4, "dt_s_nominal": 1e-4, "spikes": "pulse", "threshold": ">"}

    def run(modules, inp):
        """Step by step, as snnTorch does with init_hidden=True; returns each spiking layer's raster."""
        rec: dict = {}
        with torch.no_grad():
            for t in range(inp.shape[0]):
                x = torch.as_tensor(inp[t]).to(next(iter(modules[0].parameters())).dtype).unsqueeze(0)
                for i, m in enumerate(modules):
                    x = m(x)
                    if isinstance(x, tuple):
                        x = x[0]
                    if isinstance(m, snn.SpikingNeuron):
                        rec.setdefault(i, []).append(x[0].numpy().copy())
        return {i: np.stack(v) for i, v in rec.items()}

    def reset(modules):
        """Zero the hidden state: an empty tensor is re-initialised to zeros of the input's shape."""
        for m in modules:
            if isinstance(m, snn.SpikingNeuron):
                for attr in ("mem", "spk", "syn"):
                    if hasattr(m, attr) and isinstance(getattr(m, attr), torch.Tensor):
                        setattr(m, attr, torch.zeros(0))

    def mlp(seed, n_in, n_hid, n_out, bias, scale, neuron):
        torch.manual_seed(seed)
        l1, l2 = torch.nn.Linear(n_in, n_hid, bias=bias), torch.nn.Linear(n_hid, n_out, bias=bias)
        with torch.no_grad():
            l1.weight.mul_(scale)
            l2.weight.mul_(scale)
        return [l1, neuron(n_hid), l2, neuron(n_out)]

    def record(case, modules, inp, sample, desc, ignore_dims=(), extra=None):
        model = torch.nn.Sequential(*modules)
        reset(modules)
        graph = export_to_nir(model, sample, ignore_dims=list(ignore_dims))
        reset(modules)
        layers = run(modules, inp)
        save(case, graph, inp, layers, {**lib, **conv, "model": desc, **(extra or {})}, manifest)

    rng = np.random.default_rng(101)
    inp = raster(rng, STEPS, (12,), 0.3)

    def leaky(n):
        # per-neuron beta and threshold: with scalars, export_to_nir fails in nir's infer_types (nir 1.0.8)
        return snn.Leaky(beta=torch.full(_shape(n), 0.9), threshold=torch.ones(_shape(n)), init_hidden=True,
                         reset_mechanism="zero")

    mods = mlp(1, 12, 32, 10, True, 3.0, leaky)
    record("snntorch_leaky_mlp_bias", mods, inp, torch.zeros(12),
           "Linear(12,32)+bias -> Leaky(beta=0.9, reset zero) -> Linear(32,10)+bias -> Leaky; float32")
    mods = mlp(2, 12, 32, 10, False, 3.0, leaky)
    record("snntorch_leaky_mlp", mods, inp, torch.zeros(12),
           "Linear(12,32) -> Leaky(beta=0.9, reset zero) -> Linear(32,10) -> Leaky; no biases; float32")

    # ties: beta = 0.5, weights multiples of 1/4, threshold 1: the membrane hits the threshold exactly
    def half(n):
        return snn.Leaky(beta=torch.full(_shape(n), 0.5), threshold=torch.ones(_shape(n)), init_hidden=True,
                         reset_mechanism="zero", spike_grad=heaviside64)

    mods = mlp(3, 12, 32, 10, False, 4.0, half)
    with torch.no_grad():
        for m in mods:
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(quantise(m.weight, 0.25))
    mods = [m.double() for m in mods]
    rng = np.random.default_rng(103)
    inp_q = raster(rng, STEPS, (12,), 0.3)
    ties = count_ties_leaky(mods, inp_q)
    record("snntorch_leaky_quantised", mods, inp_q, torch.zeros(12, dtype=torch.float64),
           "Linear(12,32) -> Leaky(beta=0.5, threshold=1, reset zero) -> Linear(32,10) -> Leaky; weights "
           "multiples of 1/4, no biases; float64 (exact arithmetic: the membrane equals the threshold exactly)",
           extra={"ties": ties})

    def syn(n):
        # reset_delay=False: with the default delayed reset, Synaptic's "zero" reset sets mem to 0 on the step
        # after a spike whatever that step's input (one step of refractoriness NIR cannot express)
        return snn.Synaptic(alpha=torch.full(_shape(n), 0.8), beta=torch.full(_shape(n), 0.9), threshold=torch.ones(_shape(n)),
                            init_hidden=True, reset_mechanism="zero", reset_delay=False)

    mods = mlp(4, 12, 32, 10, True, 2.0, syn)
    record("snntorch_synaptic_bias", mods, inp, torch.zeros(12),
           "Linear(12,32)+bias -> Synaptic(alpha=0.8, beta=0.9, reset zero, reset_delay=False) -> Linear(32,10)+bias -> "
           "Synaptic; float32")

    torch.manual_seed(5)
    l1 = torch.nn.Linear(12, 24)
    with torch.no_grad():
        l1.weight.mul_(3.0)
    # the default reset (subtract th on the step after a spike) has no NIR form, nor has "zero" with the default
    # delayed reset (mem forced to 0 on the next step, its input lost): reset to zero at once, as NIR's LIF
    mods = [l1, snn.RLeaky(beta=0.9, linear_features=24, init_hidden=True, reset_mechanism="zero", reset_delay=False)]
    record("snntorch_rleaky", mods, inp, torch.zeros(12),
           "Linear(12,24)+bias -> RLeaky(beta=0.9, linear_features=24, reset zero, reset_delay=False), other settings "
           "default (all_to_all: recurrent Linear(24,24) with bias); float32")

    torch.manual_seed(6)
    c1 = torch.nn.Conv2d(2, 4, 3, padding=1)
    l2 = torch.nn.Linear(64, 10)
    with torch.no_grad():
        c1.weight.mul_(3.0)
        l2.weight.mul_(3.0)
    mods = [c1, leaky((4, 8, 8)), torch.nn.AvgPool2d(2), torch.nn.Flatten(), l2, leaky(10)]
    rng = np.random.default_rng(106)
    inp_c = raster(rng, STEPS, (2, 8, 8), 0.25)
    desc = ("Conv2d(2,4,3,pad 1)+bias -> Leaky(beta=0.9, reset zero) -> AvgPool2d(2) -> Flatten -> Linear(64,10)+bias "
            "-> Leaky; float32; sample (1,2,8,8)")
    record("snntorch_cnn", mods, inp_c, torch.zeros(1, 2, 8, 8), desc + ", export_to_nir(ignore_dims=[0]): with the batch axis "
           "kept, export_to_nir fails in nir's infer_types (nir 1.0.8: Conv2d of a 4-D input)", ignore_dims=[0])


def heaviside64(x: torch.Tensor) -> torch.Tensor:
    """snnTorch's spike function (x > 0) in the dtype of x (its ATan surrogate returns float32 spikes)."""
    return (x > 0).to(x.dtype)


def count_ties_leaky(mods, inp) -> int:
    """Steps where a Leaky membrane equals its threshold exactly (before the spike test)."""
    import snntorch as snn
    ties = 0
    for m in mods:
        if isinstance(m, snn.SpikingNeuron):
            m.mem = torch.zeros(0)
    with torch.no_grad():
        for t in range(inp.shape[0]):
            x = torch.as_tensor(inp[t], dtype=torch.float64).unsqueeze(0)
            for m in mods:
                x = m(x)
                if isinstance(m, snn.SpikingNeuron):
                    ties += int((m.mem == m.threshold).sum())
    return ties


def count_ties_iaf(mods, inp) -> int:
    """Steps where an IAF membrane (v += W s, reset to 0 on v >= 1) equals the threshold exactly, recomputed
    in float64 from the Linear weights (an independent check of Sinabs' ">=": those steps are spikes)."""
    ties, x = 0, np.asarray(inp, float)
    for m in mods:
        if isinstance(m, torch.nn.Linear):
            cur = x @ m.weight.detach().double().numpy().T
            v, out = np.zeros(cur.shape[1]), []
            for c in cur:
                v = v + c
                ties += int((v == 1.0).sum())
                s = v >= 1.0
                v = np.where(s, 0.0, v)
                out.append(s)
            x = np.array(out, float)
    return ties


# -- Norse -------------------------------------------------------------------------------------
def norse_cases(manifest: list) -> None:
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir

    lib = {"library": "norse", **versions("norse", "nir", "nirtorch", "torch")}
    dt = 1e-3

    def run(modules, inp):
        rec, states = {}, [None] * len(modules)
        with torch.no_grad():
            for t in range(inp.shape[0]):
                x = torch.as_tensor(inp[t]).unsqueeze(0)
                for i, m in enumerate(modules):
                    if isinstance(m, (norse.LIFBoxCell, norse.IAFCell)):
                        x, states[i] = m(x, states[i])
                        rec.setdefault(i, []).append(x[0].numpy().copy())
                    else:
                        x = m(x)
        return {i: np.stack(v) for i, v in rec.items()}

    def record(case, modules, inp, sample, desc, conv):
        graph = to_nir(norse.SequentialState(*modules), sample, dt=dt)
        patched = fill_conv_input_shapes(graph, modules, sample)
        if patched:
            conv = {**conv, "patched": patched}
        layers = run(modules, inp)
        save(case, graph, inp, layers, {**lib, **conv, "model": desc}, manifest)

    rng = np.random.default_rng(201)
    inp = raster(rng, STEPS, (12,), 0.3)
    # LIFBox: v += dt tau_mem_inv (v_leak - v + x); exported as LIF(tau = dt / tau_mem_inv, r = 1), i.e.
    # tau = dt * tau_mem, so the NIR Euler step dt_s / tau equals Norse's dt / tau_mem when dt_s = dt**2
    box = {"dt_s": dt * dt, "dt_s_nominal": dt, "spikes": "pulse", "threshold": ">",
           "note": "Norse writes LIF tau = dt / tau_mem_inv = dt * tau_mem (not tau_mem): the graph reproduces Norse "
                   "read at dt_s = dt**2"}
    torch.manual_seed(7)
    l1, l2 = torch.nn.Linear(12, 32, bias=False), torch.nn.Linear(32, 10, bias=False)
    with torch.no_grad():
        l1.weight.mul_(15.0)
        l2.weight.mul_(40.0)
    p = norse.LIFBoxParameters(tau_mem_inv=torch.tensor(100.0))
    mods = [l1, norse.LIFBoxCell(p, dt=dt), l2, norse.LIFBoxCell(p, dt=dt)]
    record("norse_lifbox_mlp", mods, inp, torch.zeros(1, 12),
           "Linear(12,32) -> LIFBoxCell(tau_mem 10 ms) -> Linear(32,10) -> LIFBoxCell; no biases; dt 1 ms; float32", box)

    iaf = {"dt_s": dt, "dt_s_nominal": dt, "spikes": "dirac", "threshold": ">"}
    torch.manual_seed(8)
    l1, l2 = torch.nn.Linear(12, 32, bias=False), torch.nn.Linear(32, 10, bias=False)
    with torch.no_grad():
        l1.weight.mul_(1.5)
        l2.weight.mul_(2.0)
    mods = [l1, norse.IAFCell(dt=dt), l2, norse.IAFCell(dt=dt)]
    record("norse_iaf_mlp", mods, inp, torch.zeros(1, 12),
           "Linear(12,32) -> IAFCell(v_th 1) -> Linear(32,10) -> IAFCell; no biases (Norse writes Affine with zero bias); "
           "float32", iaf)

    torch.manual_seed(9)
    c1, c2 = torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 3, stride=2, padding=1)
    with torch.no_grad():
        c1.weight.mul_(12.0)
        c2.weight.mul_(40.0)
        c1.bias.mul_(5.0)
        c2.bias.mul_(5.0)
    mods = [c1, norse.LIFBoxCell(p, dt=dt), c2, norse.LIFBoxCell(p, dt=dt)]
    rng = np.random.default_rng(209)
    inp_c = raster(rng, STEPS, (2, 8, 8), 0.25)
    record("norse_conv", mods, inp_c, torch.zeros(1, 2, 8, 8),
           "Conv2d(2,4,3,pad 1)+bias -> LIFBoxCell(tau_mem 10 ms) -> Conv2d(4,4,3,stride 2,pad 1)+bias -> LIFBoxCell; "
           "dt 1 ms; float32", box)


# -- Sinabs ------------------------------------------------------------------------------------
def sinabs_cases(manifest: list) -> None:
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import MembraneReset, SingleSpike

    lib = {"library": "sinabs", **versions("sinabs", "nir", "nirtorch", "torch")}
    conv_ = {"dt_s": 1e-3, "dt_s_nominal": None, "spikes": "dirac", "threshold": ">=",
            "note": "Sinabs has no dt (v += W s each step): any dt_s with dirac spikes; IAF with SingleSpike and "
                    "MembraneReset (the defaults, MultiSpike and MembraneSubtract, have no NIR equivalent)"}

    def iaf():
        return sl.IAFSqueeze(batch_size=1, spike_fn=SingleSpike, reset_fn=MembraneReset())

    def run(modules, inp):
        """Layer by layer over the whole time series, as Sinabs does ((batch*time, ...) with IAFSqueeze)."""
        rec = {}
        with torch.no_grad():
            for m in modules:
                if isinstance(m, sl.StatefulLayer):
                    m.reset_states()
            x = torch.as_tensor(inp)
            for i, m in enumerate(modules):
                x = m(x)
                if isinstance(m, sl.IAFSqueeze):
                    rec[i] = x.numpy().copy()
        return rec

    def record(case, modules, inp, sample, desc):
        model = torch.nn.Sequential(*modules)
        graph = sinabs.to_nir(model, sample)
        patched = fill_conv_input_shapes(graph, modules, sample)
        if patched:
            conv = {**conv_, "patched": patched}
        else:
            conv = conv_
        layers = run(modules, inp)
        save(case, graph, inp, layers, {**lib, **conv, "model": desc}, manifest)

    rng = np.random.default_rng(301)
    inp = raster(rng, STEPS, (12,), 0.3)
    torch.manual_seed(10)
    l1, l2 = torch.nn.Linear(12, 32, bias=False), torch.nn.Linear(32, 10, bias=False)
    with torch.no_grad():
        l1.weight.mul_(2.0)
        l2.weight.mul_(2.0)
    record("sinabs_iaf_mlp", [l1, iaf(), l2, iaf()], inp, torch.zeros(1, 12),
           "Linear(12,32) -> IAFSqueeze(SingleSpike, MembraneReset) -> Linear(32,10) -> IAFSqueeze; no biases; float32")

    # ties: weights multiples of 1/4 (exact in float32), threshold 1: v meets the threshold exactly; Sinabs fires
    torch.manual_seed(12)
    l1, l2 = torch.nn.Linear(12, 32, bias=False), torch.nn.Linear(32, 10, bias=False)
    with torch.no_grad():
        l1.weight.copy_(quantise(l1.weight * 3.0, 0.25))
        l2.weight.copy_(quantise(l2.weight * 3.0, 0.25))
    mods = [l1, iaf(), l2, iaf()]
    ties = count_ties_iaf(mods, inp)
    model = torch.nn.Sequential(*mods)
    graph = sinabs.to_nir(model, torch.zeros(1, 12))
    save("sinabs_iaf_quantised", graph, inp, run(mods, inp),
         {**lib, **conv_, "ties": ties, "model": "Linear(12,32) -> IAFSqueeze(SingleSpike, MembraneReset) -> Linear(32,10) "
          "-> IAFSqueeze; weights multiples of 1/4, no biases; float32 (exact: v equals the threshold exactly)"}, manifest)

    torch.manual_seed(11)
    c1, c2 = torch.nn.Conv2d(2, 4, 3, padding=1, bias=False), torch.nn.Conv2d(4, 4, 3, padding=1, bias=False)
    l3 = torch.nn.Linear(64, 10, bias=False)
    with torch.no_grad():
        c1.weight.mul_(2.0)
        c2.weight.mul_(2.0)
        l3.weight.mul_(2.0)
    mods = [c1, iaf(), sl.SumPool2d(2), c2, iaf(), torch.nn.Flatten(), l3, iaf()]
    rng = np.random.default_rng(311)
    inp_c = raster(rng, STEPS, (2, 8, 8), 0.25)
    record("sinabs_conv_pool", mods, inp_c, torch.zeros(1, 2, 8, 8),
           "Conv2d(2,4,3,pad 1) -> IAFSqueeze -> SumPool2d(2) -> Conv2d(4,4,3,pad 1) -> IAFSqueeze -> Flatten -> "
           "Linear(64,10) -> IAFSqueeze; no biases; float32")


def main() -> int:
    manifest: list = []
    only = set(sys.argv[1:])
    for lib, fn in (("snntorch", snntorch_cases), ("norse", norse_cases), ("sinabs", sinabs_cases)):
        if not only or lib in only:
            fn(manifest)
    path = HERE / "manifest.json"
    old = json.loads(path.read_text())["cases"] if only and path.exists() else []
    keep = [c for c in old if c["library"] not in only]
    text = json.dumps({"steps": STEPS, "cases": keep + manifest}, indent=1, sort_keys=False)
    path.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
