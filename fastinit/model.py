"""Whole-model initialization, in memory or straight into safetensors files.

    fastinit.init_model("tinyllama-1.1b", "model.safetensors", dtype="bfloat16", rng=0)

A spec maps tensor names to shapes (or to {"shape": ..., "dtype": ...,
"init": ...}); it is a dict, a JSON or TOML file, a torch module (on the meta
device, say), or a preset name (see PRESETS).  Rules pick each tensor's
initializer by glob pattern on its name, the first match winning, e.g.
{"*.bias": "zeros", "*norm.weight": "ones", "*": "normal(std=0.02)"}; a
spec entry's own "init" comes first, and "normal(std=0.02)" is the default.
Every tensor uses its name as its stream, so values depend only on (seed,
name, shape, initializer, dtype): any subset (``names=``) reproduces them.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import math
import os
import time

import numpy as np

from . import _api
from . import _validate as V
from ._generator import default_rng
from ._presets import PRESETS
from ._checkpoint import Checkpoint, read_header
from ._safetensors import Entry, Writer, check_destination, write_atomic

__all__ = ["init_model", "load_spec", "parse_init", "PRESETS"]

DEFAULT_RULE = "normal(std=0.02)"
_INITS = {name: getattr(_api, name) for name in _api.__all__ if name not in ("calculate_gain", "compute_fans")}
_DETERMINISTIC = ("zeros", "ones", "constant", "eye", "identity", "dirac")


# ------------------------------------------------------------------- specs


class Tensor:
    """One tensor of a model: its name, shape, dtype and initializer."""

    __slots__ = ("name", "shape", "dtype", "init")

    def __init__(self, name, shape, dtype, init):
        self.name, self.shape, self.dtype, self.init = name, shape, dtype, init

    @property
    def size(self):
        return math.prod(self.shape)


def parse_init(text: str):
    """'normal(std=0.02)' -> (function, {'std': 0.02}); literals only."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f"initializer {text!r} is not of the form name or name(k=v, ...)") from None
    if isinstance(node, ast.Name):
        name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        name = node.func.id
        try:
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except ValueError:
            raise ValueError(f"initializer {text!r}: arguments must be literals") from None
        if None in kwargs:
            raise ValueError(f"initializer {text!r}: **arguments are not allowed")
    else:
        raise ValueError(f"initializer {text!r} is not of the form name or name(k=v, ...)")
    if name not in _INITS:
        raise ValueError(f"unknown initializer {name!r} in {text!r}; known: {', '.join(sorted(_INITS))}")
    return name, kwargs


def _rules(rules) -> list[tuple[str, str]]:
    if rules is None:
        return []
    if isinstance(rules, str):  # a preset's name: its rules
        if rules not in PRESETS:
            raise ValueError(f"rules: {rules!r} is not a preset ({', '.join(PRESETS)}); "
                             "give a dict or list of (glob pattern, initializer) pairs")
        rules = PRESETS[rules]()[1]
    items = list(rules.items()) if isinstance(rules, dict) else [tuple(r) for r in rules]
    for pattern, init in items:
        if not isinstance(pattern, str) or not isinstance(init, str):
            raise TypeError(f"rules: each rule is (glob pattern, initializer text), got {(pattern, init)!r}")
        parse_init(init)
    return items


def _from_module(module) -> dict:
    """name -> {shape, dtype} of a torch module's parameters and persistent buffers."""
    out = {}
    for name, t in module.state_dict(keep_vars=True).items():
        if t.is_floating_point():
            out[name] = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
    return out


def load_spec(spec):
    """(spec dict, the preset's rules or None) from a dict, a JSON/TOML file,
    a torch module or a preset name."""
    if isinstance(spec, dict):
        return dict(spec), None
    if hasattr(spec, "state_dict") and hasattr(spec, "named_parameters"):
        return _from_module(spec), None
    if isinstance(spec, str) and spec in PRESETS:
        return PRESETS[spec]()
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        if not os.path.exists(path):
            raise ValueError(f"spec {path!r} is neither a preset ({', '.join(PRESETS)}) nor a file")
        if path.endswith(".toml"):
            try:
                import tomllib
            except ImportError:  # Python 3.10
                try:
                    import tomli as tomllib
                except ImportError:
                    raise ImportError("TOML specs need Python >= 3.11 or the tomli package") from None
            with open(path, "rb") as f:
                data = tomllib.load(f)
        else:
            with open(path) as f:
                data = json.load(f)
        tensors = data.get("tensors", data)
        rules = data.get("rules") if "tensors" in data else None
        return dict(tensors), rules
    raise TypeError(f"spec must be a dict, a torch module, a preset name or a file path, not {type(spec).__name__}")


def resolve(spec, rules=None, dtype=None, names=None) -> list[Tensor]:
    """The tensors to produce, each with shape, dtype and (name, kwargs)."""
    entries, preset_rules = load_spec(spec)
    rule_list = _rules(rules if rules is not None else preset_rules)
    default_dt = V.as_dtype(dtype) if dtype is not None else np.dtype(np.float32)
    if names is not None:
        names = list(names)
        missing = [n for n in names if n not in entries]
        if missing:
            raise ValueError(f"names: not in the spec: {missing[:5]}")
        entries = {n: entries[n] for n in names}
    out = []
    for name, e in entries.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be strings, got {name!r}")
        e = e if isinstance(e, dict) else {"shape": e}
        shape = V.check_size(e.get("shape"), f"shape of {name}")
        if shape is None:
            raise ValueError(f"tensor {name!r} has no shape")
        dt = V.as_dtype(e["dtype"]) if e.get("dtype") is not None and dtype is None else default_dt
        if not V.is_float_dtype(dt):
            raise TypeError(f"tensor {name!r}: unsupported dtype {dt}")
        init = e.get("init") or next((i for p, i in rule_list if fnmatch.fnmatchcase(name, p)), DEFAULT_RULE)
        out.append(Tensor(name, shape, dt, parse_init(init)))
    return out


def _shard_files(tensors, n_shards, out):
    """Split the tensors, in order, into n_shards files of about equal bytes:
    [(path, [tensors])], Hugging Face's model-0000i-of-0000N naming."""
    if n_shards == 1:
        return [(out, tensors)]
    total = sum(t.size * t.dtype.itemsize for t in tensors)
    groups, acc = [[] for _ in range(n_shards)], 0
    for t in tensors:
        k = min(n_shards - 1, acc * n_shards // max(total, 1))
        groups[k].append(t)
        acc += t.size * t.dtype.itemsize
    folder, base = os.path.split(os.path.abspath(out))
    stem = base[: -len(".safetensors")] if base.endswith(".safetensors") else base
    return [(os.path.join(folder, f"{stem}-{i + 1:05d}-of-{n_shards:05d}.safetensors"), g)
            for i, g in enumerate(groups)]


# ------------------------------------------------------------------ filling


def _chunk_rows(t: Tensor, window: int) -> int:
    if not t.shape or t.init[0] in ("orthogonal", "sparse"):
        return t.shape[0] if t.shape else 1  # these need the whole tensor at once
    row = t.dtype.itemsize * math.prod(t.shape[1:])
    return max(1, min(t.shape[0], window // max(row, 1)))


def _fill(t: Tensor, view, first, rows, key_rng, ckpt):
    """Rows [first, first + rows) of tensor t into view."""
    if ckpt is not None:
        view[...] = ckpt.rows(t.name, first, rows, t.dtype)
        return
    name, kwargs = t.init
    fn = _INITS[name]
    part = {} if not t.shape else {"global_shape": t.shape, "index": (slice(first, first + rows),)}
    try:
        if name in _DETERMINISTIC:
            fn(out=view, **part, **kwargs)
        else:
            fn(out=view, rng=key_rng, stream=t.name, **part, **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        raise type(exc)(f"tensor {t.name!r} (shape {t.shape}, {t.dtype}, {_init_text(t.init)}): {exc}") from exc


def _init_text(init) -> str:
    name, kwargs = init
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" if kwargs else name


def init_model(spec, out=None, *, dtype=None, rng=None, rules=None, names=None, from_checkpoint=None,
               on_mismatch="error", shards=1, shard_id=None, progress=False, window=None):
    """Initialize every tensor of a model.

    out=None returns {name: ndarray}.  out="model.safetensors" writes a
    safetensors file through a memory map, one window of at most `window`
    bytes (64 MiB) mapped at a time, to a temporary name, then fsync and an
    atomic rename; returns a report.  shards=N writes Hugging Face's
    model-0000i-of-0000N.safetensors files and model.safetensors.index.json
    (bytes split about evenly, tensors in spec order); shard_id=i writes only
    file i (and, for i = 0, the index), so N processes can write a model
    together.

    rng: an int seed, a SeedSequence or a Generator (only its key is used:
    every tensor is drawn from the stream of its name).  dtype: of tensors
    the spec gives none (float32 if None).  from_checkpoint: a safetensors
    file (or index .json) whose tensors of matching name and shape are
    copied (cast to the dtype); a name that matches with another shape is an
    error unless on_mismatch="skip" (then it is initialized).
    """
    t0 = time.perf_counter()
    tensors = resolve(spec, rules, dtype, names)
    g = default_rng(rng)
    V.check_choice(on_mismatch, "on_mismatch", ("error", "skip"))
    ckpt = Checkpoint(from_checkpoint) if from_checkpoint is not None else None
    report = {"copied": [], "initialized": [], "mismatched": []}
    for t in tensors:
        shape = ckpt.shape(t.name) if ckpt is not None else None
        if shape is None:
            report["initialized"].append(t.name)
        elif shape == t.shape:
            report["copied"].append(t.name)
        elif on_mismatch == "skip":
            report["mismatched"].append(t.name)
            report["initialized"].append(t.name)
        else:
            raise ValueError(f"checkpoint tensor {t.name!r} has shape {shape}, the spec {t.shape}; "
                             "pass on_mismatch='skip' to initialize it instead")
    copied = set(report["copied"])
    source = {t.name: (ckpt if t.name in copied else None) for t in tensors}
    window = V.check_positive_int(window, "window") if window is not None else 64 << 20
    if out is None:
        arrays = {}
        for t in tensors:
            arrays[t.name] = np.empty(t.shape, dtype=t.dtype)
            _fill(t, arrays[t.name], 0, t.shape[0] if t.shape else 1, g, source[t.name])
        return arrays

    out = os.fspath(out)
    shards = V.check_positive_int(shards, "shards")
    files = _shard_files(tensors, shards, out)
    if shard_id is not None:
        if isinstance(shard_id, bool) or not isinstance(shard_id, int) or not 0 <= shard_id < shards:
            raise ValueError(f"shard_id must be an int in [0, {shards}), got {shard_id!r}")
        if rng is None:
            raise ValueError("shard_id: each writer of a sharded model needs the same explicit rng "
                             "(a seed or a Generator); rng=None draws a fresh seed in every process")
        todo = [files[shard_id]]
    else:
        todo = files
    index_path = _index_path(out) if shards > 1 and (shard_id is None or shard_id == 0) else None
    for path, _ in todo:  # every destination checked before any byte is written
        check_destination(path)
    if index_path is not None:
        check_destination(index_path)
    key = "%08x%08x" % tuple(int(k) for k in g.key)
    meta = {"format": "pt", "generator": "fastinit", "fastinit_stream_version": _stream_version(),
            "fastinit_key": key}
    if shard_id is not None:
        _check_same_key(files, out, key, meta["fastinit_stream_version"], skip=files[shard_id][0])
    total_bytes = sum(t.size * t.dtype.itemsize for _, ts in todo for t in ts)
    bar = _progress(total_bytes) if progress else None
    with _terminate_as_exit():
        for path, ts in todo:
            entries = [Entry(t.name, t.shape, t.dtype) for t in ts]
            with Writer(path, entries, meta) as w:
                for t, e in zip(ts, entries):
                    n_rows = t.shape[0] if t.shape else 1
                    step = _chunk_rows(t, window)
                    for first in range(0, n_rows, step):
                        rows = min(step, n_rows - first)
                        w.write_rows(e, first, rows, lambda view: _fill(t, view, first, rows, g, source[t.name]))
                        if bar is not None:
                            bar.update(rows * e.nbytes // max(n_rows, 1))
        if index_path is not None:
            _write_index(index_path, files, meta)
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - t0
    report.update({"files": [p for p, _ in todo], "parameters": sum(t.size for _, ts in todo for t in ts),
                   "bytes": total_bytes, "seconds": seconds, "gb_per_s": total_bytes / seconds / 1e9})
    return report


def _stream_version():
    from . import STREAM_VERSION

    return str(STREAM_VERSION)


def _index_path(out):
    folder, base = os.path.split(os.path.abspath(out))
    stem = base[: -len(".safetensors")] if base.endswith(".safetensors") else base
    return os.path.join(folder, f"{stem}.safetensors.index.json")


def _check_same_key(files, out, key, version, skip):
    """Refuse to add a shard to files of another key or stream version: the
    shards already present and the index must all come from one seed."""
    found = []
    for path, _ in files:
        if path != skip and os.path.isfile(path):
            try:
                m = read_header(path).get("__metadata__", {})
            except (OSError, ValueError):
                raise ValueError(f"shard {path!r} exists but is not a safetensors file; remove it first") from None
            found.append((path, m.get("fastinit_key"), m.get("fastinit_stream_version")))
    index = _index_path(out)
    if os.path.isfile(index):
        try:
            with open(index) as f:
                m = json.load(f).get("metadata", {})
        except (OSError, ValueError):
            raise ValueError(f"index {index!r} exists but is not JSON; remove it first") from None
        found.append((index, m.get("fastinit_key"), m.get("fastinit_stream_version")))
    for path, k, v in found:
        if k != key or v != version:
            raise ValueError(f"shard_id: {path!r} was written with key {k} (stream version {v}), this writer "
                             f"has key {key} (stream version {version}): the shards would not form one model. "
                             "Use the same seed in every writer, or remove the old files")


def _write_index(path, files, meta):
    index = {"metadata": {"total_size": sum(t.size * t.dtype.itemsize for _, ts in files for t in ts),
                          "fastinit_key": meta["fastinit_key"],
                          "fastinit_stream_version": meta["fastinit_stream_version"]},
             "weight_map": {t.name: os.path.basename(p) for p, ts in files for t in ts}}
    write_atomic(path, (json.dumps(index, indent=2) + "\n").encode())


class _terminate_as_exit:
    """In the main thread, SIGTERM raises SystemExit(143) while the block
    runs, so the writer's cleanup runs as on Ctrl-C (KeyboardInterrupt)."""

    def __enter__(self):
        import signal
        import threading

        self.old = None
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
            old = signal.getsignal(signal.SIGTERM)
            if old in (signal.SIG_DFL, None):
                def handler(signum, frame):
                    raise SystemExit(128 + signum)

                signal.signal(signal.SIGTERM, handler)
                self.old = old
        return self

    def __exit__(self, *exc):
        import signal

        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)
        return False


def _progress(total):
    import sys

    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="init-model")
