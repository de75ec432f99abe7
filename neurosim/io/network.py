"""Save and load a :class:`~neurosim.ir.Network` as one ``.npz`` file (format version 1).

Layout: an entry ``meta`` holding a JSON document, and numeric arrays beside it::

    meta = {"format": "neurosim-network", "version": 1, "name": ..., "signals": {...},
            "populations": [{"name", "size", "model": "LIF" | "LCANeuron",
                             "params": {field: number | string | {"array": key}
                                        | {"dict": {name: value}} (LIF.receptors)}}],
            "connections": [{"name", "pre", "post", "delay_steps", "gain": null | {...},
                             "kind": "csr" | "dense" | "conv", "arrays": {part: key},
                            "receptor": null | name of the target LIF's receptor,
                             "conv": {"in_shape", "stride", "padding", "zero_taps"} (conv only),
                             "learning_rule": null | {"class": "neurosim.x:Rule", "params": {...}}}],
            "inputs": [{"type": "constant" | "array" | "poisson", "name", "target", "gain",
                        "arrays": {...}, "weight", "receptor" (poisson)}],
            "probes": [{"target", "var", "every", "start", "name"}]}

Arrays are stored under the keys the document names (``pop/0/v_th``, ``conn/2/data`` ...).
Neuron models come from the explicit registry :data:`MODELS`. A learning rule is stored by its
class (``module:qualname``) and its public attributes; it is rebuilt only from classes inside the
``neurosim`` package (never an arbitrary import). Files are written atomically
(:func:`neurosim.io.atomic.atomic_save_npz`) and read with ``allow_pickle=False``; every problem raises
:class:`~neurosim.errors.InputError` naming the file and the key.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Union

import numpy as np
import scipy.sparse as sp

from neurosim.conv import ConvWeights
from neurosim.errors import InputError, NetworkError, describe
from neurosim.io.atomic import atomic_save_npz, read_error
from neurosim.io.jsontext import parse_json
from neurosim.io.npyformat import SafeNpz
from neurosim.ir import ArrayInput, Connection, ConstantInput, Gain, Network, PoissonInput, Population, Probe
from neurosim.neurons import LIF, LCANeuron

__all__ = ['save_network', 'load_network', 'open_npz', 'MODELS', 'FORMAT', 'VERSION']



FORMAT = "neurosim-network"


VERSION = 1


#: model name in the file -> class
MODELS: dict[str, type] = {"LIF": LIF, "LCANeuron": LCANeuron}


class _Writer:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def value(self, key: str, v: Any) -> Any:
        """A JSON scalar, or a reference to an array stored under ``key``."""
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            f = float(v)
            return f if np.isfinite(f) else {"float": repr(f)}
        if isinstance(v, str):
            return v
        if v is None:
            return None
        if isinstance(v, dict):  # e.g. LIF.receptors: name -> time constant
            return {"dict": {str(k): self.value(f"{key}/{k}", x) for k, x in v.items()}}
        a = np.asarray(v)
        if a.dtype == object:
            raise NetworkError(f"network file: cannot store {key} of type {type(v).__name__}")
        self.arrays[key] = a
        return {"array": key}


def _gain(g: Gain | None):
    return None if g is None else {"signal": g.signal, "scale": g.scale, "offset": g.offset}


def _rule_doc(w: _Writer, key: str, rule: Any):
    if rule is None:
        return None
    cls = type(rule)
    params = {}
    for k, v in vars(rule).items():
        if not k.startswith("_"):
            params[k] = w.value(f"{key}/{k}", v)
    return {"class": f"{cls.__module__}:{cls.__qualname__}", "params": params}


def save_network(network: Network, path: Union[str, Path]) -> Path:
    """Write ``network`` to ``path`` (``.npz``), atomically. Returns the path.

    Raises
    ------
    NetworkError
        The network is invalid, or holds a value that cannot be stored (an unknown neuron model,
        a learning rule with non-numeric state).
    """
    network.validate()
    w = _Writer()
    pops = []
    for i, p in enumerate(network.populations):
        name = type(p.model).__name__
        if MODELS.get(name) is not type(p.model):
            raise NetworkError(f"population '{p.name}': model {name} cannot be saved (known: {sorted(MODELS)})")
        pops.append({"name": p.name, "size": int(p.size), "model": name,
                     "params": {k: w.value(f"pop/{i}/{k}", v) for k, v in p.model.as_dict().items()}})
    conns = []
    for i, c in enumerate(network.connections):
        d = {"name": c.name, "pre": c.pre, "post": c.post, "delay_steps": int(c.delay_steps), "gain": _gain(c.gain),
             "learning_rule": _rule_doc(w, f"conn/{i}/rule", c.learning_rule), "receptor": c.receptor}
        if c.is_conv:
            cw = c.weights
            d.update(kind="conv", arrays={"kernel": w.value(f"conn/{i}/kernel", cw.kernel)},
                     conv={"in_shape": list(cw.in_shape), "stride": int(cw.stride), "padding": int(cw.padding),
                           "zero_taps": bool(cw.zero_taps)})
        elif c.is_sparse:
            m = c.weights.tocsr()
            d.update(kind="csr", shape=list(m.shape), arrays={k: w.value(f"conn/{i}/{k}", getattr(m, k))
                                                             for k in ("data", "indices", "indptr")})
        else:
            d.update(kind="dense", arrays={"weights": w.value(f"conn/{i}/weights", c.weights)})
            if c.synapses is not None:
                d["arrays"]["synapses"] = w.value(f"conn/{i}/synapses", c.synapses)
        conns.append(d)
    inputs = []
    for i, inp in enumerate(network.inputs):
        if isinstance(inp, ConstantInput):
            inputs.append({"type": "constant", "name": inp.name, "target": inp.target, "gain": _gain(inp.gain),
                           "arrays": {"value": w.value(f"input/{i}/value", np.asarray(inp.value, dtype=float))}})
        elif isinstance(inp, ArrayInput):
            inputs.append({"type": "array", "name": inp.name, "target": inp.target, "gain": _gain(inp.gain),
                           "arrays": {"values": w.value(f"input/{i}/values", inp.values)}})
        else:
            inputs.append({"type": "poisson", "name": inp.name, "target": inp.target, "weight": float(inp.weight),
                           "receptor": inp.receptor,
                           "arrays": {"rate_hz": w.value(f"input/{i}/rate_hz", np.asarray(inp.rate_hz, dtype=float))}})
    probes = [{"target": p.target, "var": p.var, "every": int(p.every), "start": int(p.start), "name": p.name,
               **({} if p.stop is None else {"stop": int(p.stop)})} for p in network.probes]
    meta = {"format": FORMAT, "version": VERSION, "name": network.name,
            "signals": {k: float(v) for k, v in network.signals.items()},
            "populations": pops, "connections": conns, "inputs": inputs, "probes": probes}
    return atomic_save_npz(path, meta=np.array(json.dumps(meta)), **w.arrays)


# ---------------------------------------------------------------------------------------------
def _sniff(head: bytes) -> str:
    """What the first bytes of a file look like, for messages (never its content)."""
    text = head.lstrip()
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file, such as a NIR graph"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if text[:1] in (b"{", b"["):
        return "a JSON text file"
    if not head:
        return "an empty file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data that is not a zip archive"
    return "a text file (YAML?)"


def open_npz(path: Union[str, Path], *, kind: str, expected: str) -> SafeNpz:
    """Open ``path`` as an ``.npz`` archive (``allow_pickle=False``), refusing anything else.

    Parameters
    ----------
    path : str or Path
        The file.
    kind : str
        What the file should be, for messages (``"network file"``, ``"activity file"``).
    expected : str
        What a right file is (``"a .npz network file written by save_network"``).

    Returns
    -------
    SafeNpz
        The open archive (use it as a context manager); ``z[key]`` checks each array's header
        against the member's size and the memory limit before reading it.

    Raises
    ------
    InputError
        A missing path, a directory, an unreadable file, or a file that is not a zip archive (a
        ``.npy`` array, JSON, YAML, HDF5 ...): one line naming the file, what it looks like and
        what was expected. Pickled content is never loaded and never suggested.
    """
    if not str(path).strip():
        raise InputError(describe(kind, str(path), "empty path", expected=expected))
    p = Path(path)
    if not p.exists():
        raise InputError(describe(kind, str(path), "not found", expected=expected))
    if p.is_dir():
        raise InputError(describe(kind, str(path), "is a directory", expected=expected))
    try:
        with open(p, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputError(describe(kind, str(path), "cannot be opened", got=exc.strerror or type(exc).__name__,
                                  expected=expected)) from None
    if not head.startswith(b"PK"):
        raise InputError(describe(kind, str(path), "not a .npz archive", got=_sniff(head), expected=expected))
    return SafeNpz(p, kind=kind, expected=expected)  # members read checked: header, size, CRC


class _Reader:
    def __init__(self, path, z):
        self.path, self.z = path, z

    def err(self, key: str, what: str) -> InputError:
        return InputError(f"network file '{self.path}': {key}: {what}")

    def need(self, d: dict, key: str, where: str, typ=None):
        if not isinstance(d, dict) or key not in d:
            raise self.err(f"{where}{key}", "missing")
        v = d[key]
        if typ is not None and not isinstance(v, typ):
            raise self.err(f"{where}{key}", f"wrong type (got {type(v).__name__}, expected {typ.__name__})")
        return v

    def value(self, v: Any, where: str) -> Any:
        if isinstance(v, dict) and "array" in v:
            key = v["array"]
            if key not in self.z.files:
                raise self.err(where, f"array '{key}' is missing from the file")
            a = self.z[key]
            if a.dtype.kind not in "biuf":
                raise self.err(where, f"array '{key}' is not real numeric (got dtype {a.dtype}, expected integer, "
                                      "floating-point or boolean values)")
            return a
        if isinstance(v, dict) and "float" in v:
            return float(v["float"])
        if isinstance(v, dict) and "dict" in v and isinstance(v["dict"], dict):
            return {k: self.value(x, f"{where}.{k}") for k, x in v["dict"].items()}
        return v


def _gain_of(r: _Reader, g, where: str):
    if g is None:
        return None
    try:
        return Gain(signal=g["signal"], scale=float(g["scale"]), offset=float(g["offset"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise r.err(where, f"invalid gain ({exc})") from None


def _rule_of(r: _Reader, doc, where: str):
    if doc is None:
        return None
    ref = r.need(doc, "class", where + ".", str)
    mod, _, qual = ref.partition(":")
    if not (mod == "neurosim" or mod.startswith("neurosim.")) or not qual:
        raise r.err(where + ".class", f"learning rule class '{ref}' is outside the neurosim package; not loaded")
    try:
        cls = importlib.import_module(mod)
        for part in qual.split("."):
            cls = getattr(cls, part)
        rule = cls.__new__(cls)
        for k, v in r.need(doc, "params", where + ".", dict).items():
            object.__setattr__(rule, k, r.value(v, f"{where}.params.{k}"))
    except (ImportError, AttributeError, TypeError) as exc:
        raise r.err(where + ".class", f"cannot rebuild learning rule '{ref}' ({exc})") from None
    return rule


_EXPECTED = "a .npz network file in save_network format, such as neurosim run's network.npz"


def _meta_of(r: _Reader, z) -> dict:
    """The JSON document of a network file; a one-line error for any other ``.npz``."""
    if "meta" not in z.files:
        raise InputError(describe("network file", str(r.path), "not a neurosim network file",
                                  got=f"a .npz without 'meta' (entries {sorted(z.files)[:5]})", expected=_EXPECTED))
    try:
        raw = z["meta"]
    except ValueError as exc:
        raise r.err("meta", f"unreadable ({read_error(exc)})") from None
    if any(k.startswith("counts/") for k in z.files) and raw.dtype.kind in "iu":
        raise InputError(describe("network file", str(r.path), "is an activity profile, not a network",
                                  expected=_EXPECTED))
    if raw.ndim != 0 or raw.dtype.kind != "U":
        raise InputError(describe("network file", str(r.path), "not a neurosim network file",
                                  got=f"'meta' of dtype {raw.dtype} and shape {raw.shape}",
                                  expected="'meta' holding a JSON document, as save_network writes"))
    meta = parse_json(str(raw), f"network file '{r.path}': meta")
    if not isinstance(meta, dict):
        raise r.err("meta", f"not a JSON object (got {type(meta).__name__}, expected {{format: {FORMAT!r}, ...}})")
    return meta


def load_network(path: Union[str, Path]) -> Network:
    """Read a network written by :func:`save_network` (and validate it).

    Raises
    ------
    InputError
        Unreadable file, wrong format or version, a missing key or array, or contents that do
        not form a valid network (the message names the file and the key).
    """
    z = open_npz(path, kind="network file", expected=_EXPECTED)
    with z:
        r = _Reader(path, z)
        meta = _meta_of(r, z)
        if r.need(meta, "format", "") != FORMAT:
            raise r.err("format", f"not a network file (got {meta['format']!r}, expected {FORMAT!r})")
        if r.need(meta, "version", "") != VERSION:
            raise r.err("version", f"unsupported version (got {meta['version']!r}, expected {VERSION})")
        try:
            net = Network(name=r.need(meta, "name", "", str),
                          signals={k: float(v) for k, v in r.need(meta, "signals", "", dict).items()})
            for i, p in enumerate(r.need(meta, "populations", "", list)):
                where = f"populations[{i}]."
                model = r.need(p, "model", where, str)
                if model not in MODELS:
                    raise r.err(where + "model", f"unknown neuron model (got {model!r}, expected one of {sorted(MODELS)})")
                params = {k: r.value(v, f"{where}params.{k}") for k, v in r.need(p, "params", where, dict).items()}
                net.add(Population(r.need(p, "name", where, str), int(r.need(p, "size", where, int)),
                                   MODELS[model](**params)))
            for i, c in enumerate(r.need(meta, "connections", "", list)):
                where = f"connections[{i}]."
                arrays = {k: r.value(v, f"{where}arrays.{k}") for k, v in r.need(c, "arrays", where, dict).items()}
                kind = r.need(c, "kind", where, str)
                if kind == "dense":
                    weights = arrays["weights"]
                elif kind == "csr":
                    weights = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]),
                                            shape=tuple(r.need(c, "shape", where, list)))
                elif kind == "conv":
                    cv = r.need(c, "conv", where, dict)
                    weights = ConvWeights(arrays["kernel"], tuple(cv["in_shape"]), int(cv["stride"]), int(cv["padding"]),
                                          zero_taps=bool(cv.get("zero_taps", False)))
                else:
                    raise r.err(where + "kind", f"unknown connection kind {kind!r}")
                net.add(Connection(r.need(c, "pre", where, str), r.need(c, "post", where, str), weights,
                                   delay_steps=int(r.need(c, "delay_steps", where, int)),
                                   gain=_gain_of(r, c.get("gain"), where + "gain"),
                                   learning_rule=_rule_of(r, c.get("learning_rule"), where + "learning_rule"),
                                   name=r.need(c, "name", where, str), synapses=arrays.get("synapses"),
                                   receptor=c.get("receptor")))
            for i, d in enumerate(r.need(meta, "inputs", "", list)):
                where = f"inputs[{i}]."
                arrays = {k: r.value(v, f"{where}arrays.{k}") for k, v in r.need(d, "arrays", where, dict).items()}
                typ = r.need(d, "type", where, str)
                tgt, name = r.need(d, "target", where, str), r.need(d, "name", where, str)
                if typ == "constant":
                    net.add(ConstantInput(tgt, arrays["value"], gain=_gain_of(r, d.get("gain"), where + "gain"), name=name))
                elif typ == "array":
                    net.add(ArrayInput(tgt, arrays["values"], gain=_gain_of(r, d.get("gain"), where + "gain"), name=name))
                elif typ == "poisson":
                    net.add(PoissonInput(tgt, arrays["rate_hz"], weight=float(r.need(d, "weight", where)), name=name,
                                         receptor=d.get("receptor")))
                else:
                    raise r.err(where + "type", f"unknown input type {typ!r}")
            for i, p in enumerate(r.need(meta, "probes", "", list)):
                where = f"probes[{i}]."
                net.add(Probe(r.need(p, "target", where, str), var=r.need(p, "var", where, str),
                              every=int(r.need(p, "every", where, int)), start=int(r.need(p, "start", where, int)),
                              name=r.need(p, "name", where, str),
                              stop=None if p.get("stop") is None else int(r.need(p, "stop", where, int))))
            net.validate()
        except InputError:
            raise
        except (NetworkError, KeyError, TypeError, ValueError, OverflowError, IndexError, AttributeError) as exc:
            raise InputError(f"network file '{path}': invalid contents ({read_error(exc)})") from None
    return net

