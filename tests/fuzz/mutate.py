"""A seeded mutator of the files and options a hostile user can hand neurosim.

Every function takes a :class:`numpy.random.Generator` and returns a new mutant; the same seed
gives the same mutants. The mutations are the families of issue 16: random deletions, type
changes, zero / negative / huge / NaN / inf numbers, wrong nesting, unicode junk, truncation,
YAML alias bombs, deep nesting, binary garbage and non-UTF-8 bytes; for array files also wrong
dtypes and shapes, and ``.npy`` headers that promise GiBs.

* :func:`mutate_tree` - one change to a parsed YAML/JSON document (a dict/list tree);
* :func:`mutate_text` - one change to the bytes of a text file (YAML or JSON);
* :func:`mutate_arrays` - one change to the arrays of an ``.npz`` archive (JSON inside an array
  is mutated as a tree);
* :func:`mutate_bytes` - byte-level damage of any file (truncation, flipped bytes, garbage);
* :func:`mutate_npy_header` - a ``.npy`` file whose header lies (shape, dtype, order);
* :func:`mutate_argv` - one change to a command line.
"""
from __future__ import annotations

import copy
import json
import math
from typing import Any, Callable

import numpy as np

__all__ = ["NASTY", "mutate_tree", "nudge_tree", "mutate_text", "mutate_arrays", "mutate_bytes", "mutate_npy_header",
           "mutate_argv", "deep_json", "alias_bomb", "deep_yaml"]

#: replacement values: zero, negative, huge, non-finite, wrong types, unicode junk, wrong nesting
NASTY: tuple[Any, ...] = (
    0, -1, -7, 1, 2, 3, 10**19, 10**400, -10**19, 1e308, -1e308, 1e-320, 0.5, -0.0, 2**31, 2**63, 2**64,
    float("nan"), float("inf"), float("-inf"), "", "x", "nan", "1e999", "ünïcødé \u202e\x00", "\udc80".encode(
        "utf-8", "surrogatepass").decode("utf-8", "replace"), "🙂" * 3, True, False, None, [], {}, [1, 2],
    [0, 0], [-1, 4], [10**9, 10**9], [2**40, 1], {"a": 1}, [[[[[1]]]]], "0x10", "1_000", "01", "1.5e3",
    [float("nan"), 1], {"1": 2}, {1: 2}, {"-1": 1e-6}, {0: 1.0}, [None], ["a", "b", "c"])


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys / indices) into ``tree``, the root included."""
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.extend(_paths(v, prefix + (k,)))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out.extend(_paths(v, prefix + (i,)))
    return out


def _get(tree: Any, path: tuple) -> Any:
    for k in path:
        tree = tree[k]
    return tree


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _number_near(rng: np.random.Generator, v: Any) -> Any:
    """A number derived from ``v``: scaled by a huge or tiny factor, negated, off by one."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return _pick(rng, NASTY)
    choice = int(rng.integers(6))
    if choice == 0:
        return -v
    if choice == 1:
        return v * 10 ** int(rng.integers(3, 30)) if isinstance(v, int) else v * 10.0 ** int(rng.integers(3, 300))
    if choice == 2:
        return v + 1 if isinstance(v, int) else v * 1.5
    if choice == 3:  # int <-> float, where the other type can hold the value
        if isinstance(v, int):
            return float(v) if abs(v) < 2**1000 else v
        return int(v) if math.isfinite(v) else v
    if choice == 4:
        return str(v)
    return 0


def _huge_or_odd(rng: np.random.Generator, v: Any) -> Any:
    """A number that is out of every sensible range: huge, tiny, zero, negative or non-finite."""
    return _pick(rng, (0, -1, 10**19, 10**30, 2**63, 10**400, 1e308, 1e300, 1e-300, 5e-324, -1e308,
                       float("nan"), float("inf"), float("-inf"), 10**9, 2**31, 65535, 10**6,
                       v * 10**12 if isinstance(v, int) else v * 1e200, -v))


def mutate_tree(rng: np.random.Generator, tree: Any) -> Any:
    """A copy of ``tree`` with one random change (see the module docstring)."""
    tree = copy.deepcopy(tree)
    paths = _paths(tree)
    numbers = [p for p in paths if p and isinstance(_get(tree, p), (int, float)) and not isinstance(_get(tree, p), bool)]
    if numbers and rng.random() < 0.5:  # numbers are where most of the damage is done
        path = numbers[int(rng.integers(len(numbers)))]
        parent = _get(tree, path[:-1])
        parent[path[-1]] = _huge_or_odd(rng, parent[path[-1]])
        return tree
    path = paths[int(rng.integers(len(paths)))]
    op = int(rng.integers(9))
    if not path:  # the root itself
        return _pick(rng, NASTY) if op < 3 else ([tree] if op < 6 else {"wrapped": tree})
    parent, key = _get(tree, path[:-1]), path[-1]
    value = parent[key]
    if op == 0:  # delete
        del parent[key]
    elif op == 1:  # nasty value
        parent[key] = _pick(rng, NASTY)
    elif op == 2:  # a number derived from the value
        parent[key] = _number_near(rng, value)
    elif op == 3:  # wrong nesting
        parent[key] = [value] if rng.random() < 0.5 else {"value": value}
    elif op == 4 and isinstance(parent, dict):  # a renamed (misspelt) key
        del parent[key]
        parent[str(key)[:-1] + _pick(rng, ("_", "s", "ü", "")) if str(key) else "?"] = value
    elif op == 5 and isinstance(value, list) and value:  # truncate / lengthen a list
        parent[key] = value[: int(rng.integers(len(value)))] if rng.random() < 0.5 else value + value[-1:] * 3
    elif op == 6 and isinstance(value, dict) and value:  # a sub-key removed
        del value[_pick(rng, list(value))]
    elif op == 7:  # a type swap
        parent[key] = str(value) if not isinstance(value, str) else _number_near(rng, 1)
    else:
        parent[key] = _number_near(rng, value) if isinstance(value, (int, float)) else _pick(rng, NASTY)
    return tree


def nudge_tree(rng: np.random.Generator, tree: Any, choices: dict[str, tuple] = {}) -> Any:  # noqa: B006
    """A copy of ``tree`` with one *plausible* change: a number set to a boundary or scaled by a small
    factor, a boolean flipped, a key with known ``choices`` set to another of them, an optional key
    deleted. Mutants stay close to valid, so the pipeline behind the reader runs on them."""
    tree = copy.deepcopy(tree)
    paths = [p for p in _paths(tree) if p]
    path = paths[int(rng.integers(len(paths)))]
    parent, key = _get(tree, path[:-1]), path[-1]
    v = parent[key]
    if isinstance(v, bool):
        parent[key] = not v
    elif isinstance(v, int):
        parent[key] = int(_pick(rng, (0, 1, 2, 3, v - 1, v + 1, v * 2, max(1, v // 2), v * 10)))
    elif isinstance(v, float):
        parent[key] = float(_pick(rng, (0.0, 1.0, 1e-9, 1e-3, v * 0.5, v * 2.0, v * 10.0, -v)))
    elif str(key) in choices:
        parent[key] = _pick(rng, choices[str(key)])
    elif rng.random() < 0.5 and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = _pick(rng, NASTY)
    return tree


def deep_json(depth: int) -> bytes:
    """``[[[[ ... ]]]]`` nested ``depth`` levels (a recursion bomb)."""
    return b"[" * depth + b"]" * depth


def deep_yaml(depth: int) -> bytes:
    """A flow sequence nested ``depth`` levels."""
    return b"a: " + b"[" * depth + b"]" * depth + b"\n"


def alias_bomb(levels: int = 9, width: int = 9) -> bytes:
    """The "billion laughs" YAML: ``width ** levels`` values from a few hundred bytes."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return ("\n".join(lines) + "\n").encode()


def mutate_bytes(rng: np.random.Generator, data: bytes) -> bytes:
    """Byte-level damage: truncation, flipped or inserted bytes, garbage, an empty file."""
    op = int(rng.integers(7))
    n = len(data)
    if op == 0 and n:
        return data[: int(rng.integers(n))]
    if op == 1 and n:
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(n))] = int(rng.integers(256))
        return bytes(b)
    if op == 2:
        pos = int(rng.integers(n + 1))
        return data[:pos] + rng.bytes(int(rng.integers(1, 64))) + data[pos:]
    if op == 3:
        return rng.bytes(int(rng.integers(1, 4096)))
    if op == 4:
        return b""
    if op == 5 and n:  # a block of the file zeroed
        a = int(rng.integers(n))
        return data[:a] + bytes(min(n - a, int(rng.integers(1, 512)))) + data[a + 512:]
    return data + rng.bytes(int(rng.integers(1, 64)))


def mutate_text(rng: np.random.Generator, data: bytes, *, yaml_text: bool) -> bytes:
    """A text-level change: bytes damage, non-UTF-8 bytes, deep nesting, an alias bomb (YAML),
    unicode junk, a duplicated line, tabs."""
    op = int(rng.integers(8))
    if op == 0:
        return mutate_bytes(rng, data)
    if op == 1:  # non-UTF-8 bytes inside
        pos = int(rng.integers(len(data) + 1))
        return data[:pos] + _pick(rng, (b"\xff\xfe", b"\xc3(", b"\x80", b"\xed\xa0\x80", b"\xe9t\xe9")) + data[pos:]
    if op == 2:
        depth = int(_pick(rng, (70, 500, 5000, 100_000)))
        return deep_yaml(depth) if yaml_text else deep_json(depth)
    if op == 3 and yaml_text:
        return alias_bomb(int(rng.integers(4, 10)), int(rng.integers(4, 10))) + data
    if op == 4:  # unicode junk inserted at a line start
        lines = data.split(b"\n")
        i = int(rng.integers(len(lines)))
        lines[i] = _pick(rng, ("\u202e", "\ufeff", "\x00", "ü: ü", "🙂")).encode() + lines[i]
        return b"\n".join(lines)
    if op == 5:  # a line duplicated (duplicate keys)
        lines = data.split(b"\n")
        i = int(rng.integers(len(lines)))
        return b"\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if op == 6:
        return data.replace(b"  ", b"\t", int(rng.integers(1, 4)))
    if op == 3:  # JSON: an object that refers to nothing, huge numbers
        return data.replace(b": ", b": 1e999, \"x\": ", 1)
    return data.replace(b"\n", b"\r", int(rng.integers(1, 6)))


def mutate_npy_header(rng: np.random.Generator, data: bytes) -> bytes:
    """A ``.npy`` file whose header is rewritten: a shape of GiBs or with a negative or huge
    dimension, a foreign dtype, a wrong order flag, a broken header."""
    import ast

    if not data.startswith(b"\x93NUMPY") or len(data) < 10:
        return mutate_bytes(rng, data)
    major = data[6]
    hlen_size = 2 if major == 1 else 4
    hlen = int.from_bytes(data[8:8 + hlen_size], "little")
    start = 8 + hlen_size
    body = data[start + hlen:]
    try:
        header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    except (ValueError, SyntaxError):
        return mutate_bytes(rng, data)
    op = int(rng.integers(6))
    if op == 0:
        header["shape"] = _pick(rng, ((2**31, 2**31), (10**12,), (-1, 4), (3, -2), (2**62, 4), (0, 10**15),
                                      (100000, 100000), tuple([2] * 40)))
    elif op == 1:
        header["descr"] = _pick(rng, ("|O", "<c16", "|V8", "<U4", "|S3", "<M8[s]", ">f8", "<f2", "bogus", [("a", "<f8")]))
    elif op == 2:
        header["fortran_order"] = _pick(rng, (True, "yes", None))
    elif op == 3:
        header.pop(_pick(rng, list(header)))
    elif op == 4:
        header["shape"] = tuple(int(x) * int(rng.integers(2, 5000)) for x in header.get("shape", (1,))) or (7,)
    else:
        return data[:start] + b"{'descr': '<f8', 'fortran_order': False, 'shape': (" + rng.bytes(8) + b")}" + body
    text = repr(header).encode("latin1")
    text = text + b" " * ((-(start + len(text) + 1)) % 64) + b"\n"
    length = len(text).to_bytes(hlen_size, "little") if len(text) < 256 ** hlen_size else data[8:8 + hlen_size]
    return data[:8] + length + text + body


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _mutate_array(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    op = int(rng.integers(10))
    if a.dtype.kind == "U" and a.ndim == 0:  # JSON inside an array: mutate the document
        try:
            doc = json.loads(str(a))
        except ValueError:
            doc = None
        if doc is not None and op < 6:
            return np.array(json.dumps(mutate_tree(rng, doc), allow_nan=True))
    if op == 0:
        return np.zeros((0,) * max(1, a.ndim))
    if op == 1:
        return np.array(float(_pick(rng, (np.nan, np.inf, -np.inf, 1e308, -1.0, 0.0))))
    if op == 2 and a.size:
        b = np.array(a, dtype=np.float64) if a.dtype.kind in "biuf" else np.zeros(a.shape)
        b.flat[int(rng.integers(b.size))] = _pick(rng, (np.nan, np.inf, -np.inf, 1e300, -1e300, -1.0))
        return b
    if op == 3:
        try:
            return a.astype(_pick(rng, (np.int8, np.float16, np.complex128, np.bool_, "U3", "S2", np.uint64)))
        except (TypeError, ValueError, OverflowError):
            return np.array(["x"])
    if op == 4:
        return a.reshape(-1) if a.ndim != 1 else (a.reshape(1, -1) if a.size else a.reshape(0, 1))
    if op == 5 and a.size > 1:
        return a.reshape(-1)[: int(rng.integers(a.size))]
    if op == 6:
        return np.array(_pick(rng, ("x", "{", "null", "[]", "{\"format\": 1}")))
    if op == 7 and a.dtype.kind in "iu":
        return np.full(a.shape, _pick(rng, (-1, 2**62, -2**62, 2**31)), dtype=np.int64)
    if op == 8:
        return np.concatenate([a.reshape(-1), a.reshape(-1)]) if a.dtype.kind != "V" else a
    return np.array(rng.integers(-10, 10, size=int(rng.integers(0, 5))))


def mutate_arrays(rng: np.random.Generator, arrays: dict[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive (bytes) made of ``arrays`` with one change: an entry deleted, added,
    or changed (:func:`_mutate_array`, JSON documents mutated as trees)."""
    arrays = dict(arrays)
    op = int(rng.integers(8))
    if op == 0 and arrays:
        del arrays[_pick(rng, sorted(arrays))]
    elif op == 1:
        arrays[_pick(rng, ("junk", "meta", "counts/x", "history_samples", "p0", "F"))] = np.array(
            _pick(rng, (1, "x", 2.5, -1)))
    else:
        key = _pick(rng, sorted(arrays))
        arrays[key] = _mutate_array(rng, np.asarray(arrays[key]))
    return _npz_bytes(arrays)


def mutate_argv(rng: np.random.Generator, argv: list[str], values: Callable[[], list[str]]) -> list[str]:
    """A copy of ``argv`` with one change: an option's value replaced by a hostile one
    (``values()`` lists them), an option dropped or repeated, an unknown option, a swapped pair."""
    argv = list(argv)
    op = int(rng.integers(6))
    idx = [i for i, a in enumerate(argv) if a.startswith("--")]
    if op <= 1 and idx:
        i = _pick(rng, idx)
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            argv[i + 1] = _pick(rng, values())
        else:
            argv.insert(i + 1, _pick(rng, values()))
    elif op == 2 and idx:
        i = _pick(rng, idx)
        end = i + 2 if i + 1 < len(argv) and not argv[i + 1].startswith("--") else i + 1
        del argv[i:end]
    elif op == 3 and idx:
        i = _pick(rng, idx)
        argv.extend(argv[i:i + 2])
    elif op == 4:
        argv.append(_pick(rng, ("--bogus", "--", "-", "--seed=-1", "--force=1", "--time-budget=inf", "\x00")))
    elif len(argv) > 2:
        i = int(rng.integers(1, len(argv) - 1))
        argv[i], argv[i + 1] = argv[i + 1], argv[i]
    return argv
