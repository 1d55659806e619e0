"""Whole-model initialization, in memory or straight into safetensors files.

    fastinit.init_model("tinyllama-1.1b", "model.safetensors", dtype="bfloat16", rng=0)

A spec maps tensor names to shapes (or to {"shape": ..., "dtype": ...,
"init": ...}); it is a dict, a JSON or TOML file, a torch module (on the meta
device, say), or a preset name (see PRESETS).  Rules pick each tensor's
initializer by glob pattern on its name, the first match winning, e.g.
{"*.bias": "zeros", "*norm.weight": "ones", "*": "normal(std=0.02)"}; a
spec entry's own "init" comes first, then the caller's rules, then the
spec's (or preset's) own rules, and "normal(std=0.02)" is the default.
Every tensor uses its name as its stream, so values depend only on (seed,
name, shape, initializer, dtype): any subset (``names=``) reproduces them.
"""

from __future__ import annotations

import ast
import fnmatch
import inspect
import json
import math
import os
import time

import numpy as np

from ._initializers import functions as _functions
from . import _validate as V
from ._initializers.generator import as_generator
from ._initializers.presets import PRESETS
from ._io.checkpoint import Checkpoint, read_header
from ._contract.constants import WINDOW_BYTES
from ._io.safetensors import (Entry, Writer, check_destination, layout, check_free_space, folder_lock, sync_dir, write_atomic)

__all__ = ["init_model", "load_spec", "parse_init", "PRESETS"]

DEFAULT_RULE = "normal(std=0.02)"
_INITS = {name: getattr(_functions, name) for name in _functions.__all__ if name not in ("calculate_gain", "compute_fans")}
_DETERMINISTIC = ("zeros", "ones", "constant", "eye", "identity", "dirac")


# ------------------------------------------------------------------- specs


class Tensor:
    """One tensor of a model: its name, shape, dtype and initializer."""

    __slots__ = ("name", "shape", "dtype", "init", "source")

    def __init__(self, name, shape, dtype, init, source="spec"):
        self.name, self.shape, self.dtype, self.init = name, shape, dtype, init
        self.source = source  # the argument its initializer came from: "rules" or "spec"

    @property
    def size(self):
        return math.prod(self.shape)


_BAD_INPUT = (ValueError, TypeError, SyntaxError, OverflowError, MemoryError, RecursionError, KeyError)


def _prefixed(exc: BaseException, prefix: str) -> BaseException:
    """exc's kind (ValueError or TypeError) with its message after prefix."""
    kind = TypeError if isinstance(exc, TypeError) else ValueError
    return kind(f"{prefix}{exc}")


def parse_init(text: str):
    """'normal(std=0.02)' -> (function, {'std': 0.02}); literals only."""
    if not isinstance(text, str):
        raise TypeError(f"initializer {text!r}: expected text such as 'zeros' or 'normal(std=0.02)'")
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise ValueError(f"initializer {text!r} is not of the form name or name(k=v, ...)") from None
    if isinstance(node, ast.Name):
        name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        name = node.func.id
        if any(k.arg is None for k in node.keywords):
            raise ValueError(f"initializer {text!r}: **arguments are not allowed")
        try:
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ValueError(f"initializer {text!r}: arguments must be literals") from None
    else:
        raise ValueError(f"initializer {text!r} is not of the form name or name(k=v, ...)")
    if name not in _INITS:
        raise ValueError(f"unknown initializer {name!r} in {text!r}; known: {', '.join(sorted(_INITS))}")
    _check_arguments(name, kwargs, text)
    return name, kwargs


_FILLED_BY_INIT_MODEL = {"shape", "size", "out", "dtype", "rng", "stream", "start", "global_shape", "index"}


def _check_arguments(name, kwargs, text):
    """Refuse argument names the initializer does not take (before any
    file is opened, not in the middle of a write)."""
    try:
        params = inspect.signature(_INITS[name]).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    known = [k for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
             and k not in _FILLED_BY_INIT_MODEL]
    for k in kwargs:
        if k in _FILLED_BY_INIT_MODEL:
            raise ValueError(f"initializer {text!r}: {k}= is set by init_model (from the spec and the tensor's "
                             "name), not by the initializer text")
        if k not in known:
            raise ValueError(f"initializer {text!r}: {name} takes no argument {k!r}; it takes "
                             f"{', '.join(known) or 'none'}")


def _rules(rules, what: str = "rules") -> list[tuple[str, str]]:
    """[(glob pattern, initializer text)] from a dict, a list of pairs or a
    preset's name; errors start with `what` (the argument they came from)."""
    if rules is None:
        return []
    if isinstance(rules, str):  # a preset's name: its rules
        if rules not in PRESETS:
            raise ValueError(f"{what}: {rules!r} is not a preset ({', '.join(PRESETS)}); "
                             "give a dict or list of (glob pattern, initializer) pairs")
        rules = PRESETS[rules]()[1]
    if isinstance(rules, dict):
        items = list(rules.items())
    elif isinstance(rules, (list, tuple)):
        items = []
        for r in rules:
            if not isinstance(r, (list, tuple)) or len(r) != 2:
                raise TypeError(f"{what}: each rule is a (glob pattern, initializer text) pair, got {r!r}")
            items.append(tuple(r))
    else:
        raise TypeError(f"{what}: expected a dict or a list of (glob pattern, initializer text) pairs, "
                        f"got {type(rules).__name__}")
    for pattern, init in items:
        if not isinstance(pattern, str) or not isinstance(init, str):
            raise TypeError(f"{what}: each rule is (glob pattern, initializer text), got {(pattern, init)!r}")
        try:
            parse_init(init)
        except (ValueError, TypeError) as exc:
            raise _prefixed(exc, f"{what}: rule {pattern!r}: ") from None
    return items


def _from_module(module) -> dict:
    """name -> {shape, dtype} of a torch module's parameters and persistent buffers."""
    out = {}
    for name, t in module.state_dict(keep_vars=True).items():
        if t.is_floating_point():
            out[name] = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
    return out


def _is_module(spec) -> bool:
    return hasattr(spec, "state_dict") and hasattr(spec, "named_parameters")


def _read_spec_file(path: str):
    """The parsed JSON or TOML of a spec file; bad input is a ValueError
    naming the file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise type(exc)(f"spec: cannot read {path!r}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"spec: {path!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if path.endswith(".toml"):
        import tomllib

        try:
            return tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError, RecursionError, MemoryError) as exc:
            raise ValueError(f"spec: {path!r} is not valid TOML ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"spec: {path!r} is not valid JSON ({exc.msg} at line {exc.lineno} column "
                         f"{exc.colno})") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ValueError(f"spec: {path!r} is not valid JSON ({type(exc).__name__})") from None


def _load_spec(spec):
    """(entries, rules or None, whether dtype= overrides the entries' dtypes)."""
    if isinstance(spec, dict):
        return (*_spec_data(spec, "spec"), False)
    if _is_module(spec):
        return _from_module(spec), None, True
    if isinstance(spec, str) and spec in PRESETS:
        return (*PRESETS[spec](), False)
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if os.path.isdir(path):
            raise ValueError(f"spec: {path!r} is a folder, not a spec file")
        if not os.path.isfile(path):
            raise ValueError(f"spec: {path!r} is neither a preset ({', '.join(PRESETS)}) nor a file")
        return (*_spec_data(_read_spec_file(path), f"spec: {path!r}"), False)
    raise TypeError(f"spec must be a dict, a torch module, a preset name or a file path, not {type(spec).__name__}")


def _spec_data(data, where):
    """(tensors, rules) of a spec's parsed data: {name: entry}, or
    {"tensors": {name: entry}, "rules": ...}."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: the spec is a JSON {type(data).__name__}; it must be an object of "
                         "tensor name: shape (or a 'tensors' object and an optional 'rules' object)")
    if "tensors" in data and isinstance(data["tensors"], dict) or set(data) <= {"tensors", "rules"} and data:
        tensors, rules = data["tensors"] if "tensors" in data else None, data.get("rules")
        extra = sorted(set(data) - {"tensors", "rules"})
        if extra:
            raise ValueError(f"{where}: unknown top-level key {extra[0]!r} beside 'tensors' (known: tensors, rules)")
        if not isinstance(tensors, dict):
            raise ValueError(f"{where}: 'tensors' must be an object of tensor name: shape, not "
                             f"{'missing' if tensors is None else 'a ' + type(tensors).__name__}")
        return dict(tensors), rules
    return dict(data), None


def load_spec(spec):
    """(spec dict, the preset's rules or None) from a dict, a JSON/TOML file,
    a torch module or a preset name."""
    entries, rules, _ = _load_spec(spec)
    return entries, rules


_ENTRY_KEYS = ("shape", "dtype", "init")


def resolve(spec, rules=None, dtype=None, names=None) -> list[Tensor]:
    """The tensors to produce, each with shape, dtype and (name, kwargs).

    dtype: the dtype of tensors whose spec entry gives none (float32 if
    None); an entry's own dtype wins.  For a torch module (whose tensors all
    have a dtype, torch's default for most) dtype, if given, is every
    tensor's, as ``module.to(dtype)`` would make it.  rules: tried first,
    then the spec's (or preset's) own rules, then the default."""
    entries, spec_rules, dtype_overrides = _load_spec(spec)
    rule_list = ([(p, i, "rules") for p, i in _rules(rules, "rules")]
                 + [(p, i, "spec") for p, i in _rules(spec_rules, "spec: rules")])
    default_dt = V.as_dtype(dtype, "dtype") if dtype is not None else np.dtype(np.float32)
    if names is not None:
        if isinstance(names, (str, bytes)):
            raise TypeError(f"names: expected a list of tensor names, got the string {names!r}")
        names = list(names)
        missing = [n for n in names if not isinstance(n, str) or n not in entries]
        if missing:
            raise ValueError(f"names: not in the spec: {missing[:5]}")
        entries = {n: entries[n] for n in names}
    out = []
    for name, e in entries.items():
        if not isinstance(name, str):
            raise TypeError(f"spec: tensor names must be strings, got {name!r}")
        if name == "__metadata__":
            raise ValueError("spec: tensor '__metadata__': the name is reserved by the safetensors format "
                             "(it holds the file's metadata); rename the tensor")
        if isinstance(e, dict):
            unknown = [k for k in e if k not in _ENTRY_KEYS]
            if unknown:
                raise ValueError(f"spec: tensor {name!r}: unknown key {unknown[0]!r} (known: {', '.join(_ENTRY_KEYS)})")
        else:
            e = {"shape": e}
        try:
            shape = V.check_size(e.get("shape"), f"spec: shape of tensor {name!r}")
        except _BAD_INPUT as exc:
            raise _prefixed(exc, "") from None
        if shape is None:
            raise ValueError(f"spec: tensor {name!r} has no shape")
        if e.get("dtype") is not None and not (dtype_overrides and dtype is not None):
            dt = V.as_dtype(e["dtype"], f"spec: dtype of tensor {name!r}")
        else:
            dt = default_dt
        V.check_nbytes(shape, dt.itemsize, f"spec: shape of tensor {name!r}")
        if e.get("init") is not None:
            try:
                init, source = parse_init(e["init"]), "spec"
            except (ValueError, TypeError) as exc:
                raise _prefixed(exc, f"spec: tensor {name!r}: ") from None
        else:
            text, source = next(((i, src) for p, i, src in rule_list if fnmatch.fnmatchcase(name, p)),
                                (DEFAULT_RULE, "spec"))
            init = parse_init(text)
        out.append(Tensor(name, shape, dt, init, source))
    return out


def _split(sizes, n_shards):
    """Shard index of each tensor, in order: about equal bytes per shard,
    every shard holding at least one tensor (n_shards <= len(sizes))."""
    total, acc, prev, ks = sum(sizes), 0, -1, []
    m = len(sizes)
    for i, size in enumerate(sizes):
        k = min(n_shards - 1, acc * n_shards // max(total, 1))  # by bytes
        k = min(max(k, prev, n_shards - m + i), prev + 1, n_shards - 1)  # no shard left empty
        ks.append(k)
        prev = k
        acc += size
    return ks


def check_shards(shards, n_tensors: int) -> int:
    """shards as a count of files for n_tensors tensors: every file of a
    split holds at least one tensor, so at most n_tensors files."""
    shards = V.check_positive_int(shards, "shards")
    if shards > 1 and shards > n_tensors:
        raise ValueError(f"shards: {shards} files for {n_tensors} tensor{'s' if n_tensors != 1 else ''}; "
                         f"every file holds at least one tensor, so give at most {max(n_tensors, 1)}")
    return shards


def _shard_files(tensors, n_shards, out):
    """Split the tensors, in order, into n_shards files of about equal bytes:
    [(path, [tensors])], named after out's stem as Hugging Face names them
    (out=".../tiny.safetensors": tiny-00001-of-00004.safetensors, ...)."""
    n_shards = check_shards(n_shards, len(tensors))
    if n_shards == 1:
        return [(out, tensors)]
    groups = [[] for _ in range(n_shards)]
    for t, k in zip(tensors, _split([t.size * t.dtype.itemsize for t in tensors], n_shards)):
        groups[k].append(t)
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


def part_arguments(t: Tensor, rng, index=None, shape=None) -> dict:
    """The keywords that make t's initializer fill t[index] of its global
    shape (`shape`, t's own by default; all of t where index is None) from
    the stream of t's name: what every framework's fill of t passes."""
    shape = t.shape if shape is None else shape
    part = {"global_shape": shape, "index": index} if index is not None and shape else {}
    if t.init[0] not in _DETERMINISTIC:
        part.update(rng=rng, stream=t.name)
    return part


def check_tensor(t: Tensor, rng, shape=None, where: bool = True) -> None:
    """Raise what filling t would raise, writing nothing: its initializer's
    checks (fans, parameters, dtype) on a part of no element of its global
    shape.  The error names the tensor (after the argument its initializer
    came from, where `where`)."""
    name, kwargs = t.init
    shape = t.shape if shape is None else shape
    empty = (slice(0, 0),) + (slice(None),) * (len(shape) - 1) if shape else None
    probe = np.empty((0, *shape[1:]) if shape else (), dtype=t.dtype)
    try:
        _INITS[name](out=probe, **part_arguments(t, rng, empty, shape), **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        raise type(exc)(f"{t.source + ': ' if where else ''}tensor {t.name!r} (shape {tuple(shape)}, {t.dtype}, "
                        f"{_init_text(t.init)}): {exc}") from exc


def _fill(t: Tensor, view, first, rows, key_rng, ckpt):
    """Rows [first, first + rows) of tensor t into view."""
    if ckpt is not None:
        try:
            view[...] = ckpt.rows(t.name, first, rows, t.dtype)
        except (ValueError, TypeError, IndexError, OverflowError) as exc:
            raise ValueError(f"from_checkpoint: tensor {t.name!r}: {exc}") from exc
        return
    name, kwargs = t.init
    try:
        _INITS[name](out=view, **part_arguments(t, key_rng, (slice(first, first + rows),)), **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"{t.source}: tensor {t.name!r} (shape {t.shape}, {t.dtype}, {_init_text(t.init)}): "
                   f"{exc}") from exc


def _init_text(init) -> str:
    name, kwargs = init
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})" if kwargs else name


def init_model(spec, out=None, *, dtype=None, rng=None, rules=None, names=None, from_checkpoint=None,
               on_mismatch="error", shards=1, shard_id=None, progress=False, window=None):
    """Initialize every tensor of a model.

    out=None returns {name: ndarray}.  out="model.safetensors" writes a
    safetensors file through a memory map, one window of at most `window`
    bytes (64 MiB) mapped at a time, into space reserved up front (a full
    disk is an OSError before any tensor is written), then fsync and an
    atomic rename; returns a report.  shards=N (at most the number of
    tensors: no file is left empty) writes N files named after out's stem,
    Hugging Face style: out="tiny.safetensors" gives
    tiny-00001-of-0000N.safetensors, ... and tiny.safetensors.index.json
    (bytes split about evenly, tensors in spec order).  The N files and the
    index are committed as one set: all are written and synced first, then
    renamed into place, the index last, so an error or a signal leaves the
    previous set as it was.  shard_id=i writes only file i (and, for i = 0,
    the index), so N processes can write a model together; each commits its
    own file, and a writer refuses files of another key or stream version.

    rng: an int seed, a SeedSequence or a Generator (only its key is used:
    every tensor is drawn from the stream of its name).  dtype: the dtype of
    tensors the spec gives none (float32 if None); a dtype the spec gives a
    tensor wins (for a torch module, whose tensors all have one, dtype is
    every tensor's, as ``module.to(dtype)``).  rules: glob pattern ->
    initializer, tried before the spec's (or preset's) own rules, which
    still apply to the tensors the caller's rules do not match; a spec
    entry's own "init" comes first of all::

        init_model("gpt2", rules={"*.wte.weight": "normal(std=0.01)"})  # the rest: GPT-2's own rules

    from_checkpoint: a safetensors file (or index .json) whose tensors of
    matching name and shape are copied (cast to the dtype); a name that
    matches with another shape is an error unless on_mismatch="skip" (then
    it is initialized).  Every error names the argument it is about.
    """
    t0 = time.perf_counter()
    tensors = resolve(spec, rules, dtype, names)
    g, window, shards = _checked_arguments(rng, on_mismatch, window, shards, out, shard_id)
    plan = _plan(tensors, os.fspath(out), shards, shard_id, rng, g) if out is not None else None
    ckpt = Checkpoint(from_checkpoint) if from_checkpoint is not None else None
    try:
        source, matched = _match_sources(tensors, ckpt, on_mismatch)  # may refuse: still before any byte
        if plan is None:
            return _in_memory(tensors, g, source)
        _write(plan, window, g, source, progress)
    finally:
        if ckpt is not None:
            ckpt.close()
    return _report(matched, plan["todo"], t0)


def _checked_arguments(rng, on_mismatch, window, shards, out, shard_id):
    """(generator, window, shards) of init_model's arguments beside the spec,
    checked in this order; out=None (arrays in memory) takes no split."""
    g = as_generator(rng)
    V.check_choice(on_mismatch, "on_mismatch", ("error", "skip"))
    window = V.check_positive_int(window, "window") if window is not None else WINDOW_BYTES
    shards = V.check_positive_int(shards, "shards")
    if out is None and (shards != 1 or shard_id is not None):
        raise ValueError("shards: a split into files (shards, shard_id) needs out=, the file to write")
    return g, window, shards


def _match_sources(tensors, ckpt, on_mismatch):
    """Where each tensor's values come from: ({name: ckpt to copy from, or
    None to initialize}, {"copied", "initialized", "mismatched": [names]}).

    A checkpoint tensor of the tensor's name and shape is copied; one of
    another shape is an error, or with on_mismatch="skip" mismatched (and
    initialized).  Every refusal is raised here, before any byte is written:
    a tensor that cannot be copied (not a float dtype) fails now, not in
    the middle of a file."""
    source, matched = {}, {"copied": [], "initialized": [], "mismatched": []}
    for t in tensors:
        shape = ckpt.shape(t.name) if ckpt is not None else None  # a tuple, as the header check makes it
        source[t.name] = None
        if shape is None:
            matched["initialized"].append(t.name)
        elif shape == t.shape:
            try:
                ckpt.source_dtype(t.name)
            except (ValueError, TypeError) as exc:
                raise _prefixed(exc, "from_checkpoint: ") from None
            source[t.name] = ckpt
            matched["copied"].append(t.name)
        elif on_mismatch == "skip":
            matched["mismatched"].append(t.name)
            matched["initialized"].append(t.name)
        else:
            raise ValueError(f"from_checkpoint: checkpoint tensor {t.name!r} has shape {shape}, the spec "
                             f"{t.shape}; pass on_mismatch='skip' to initialize it instead")
    return source, matched


def _in_memory(tensors, g, source):
    """{name: ndarray} of every tensor, each filled whole (init_model with
    out=None)."""
    arrays = {}
    for t in tensors:
        arrays[t.name] = a = np.empty(t.shape, dtype=t.dtype)
        _fill(t, a, 0, t.shape[0] if t.shape else 1, g, source[t.name])
    return arrays


def _report(matched, todo, t0):
    """What a write did: the names copied, initialized and mismatched, then
    the files written, their parameters and bytes, the seconds since t0 and
    the rate."""
    total_bytes = sum(t.size * t.dtype.itemsize for _, ts, _ in todo for t in ts)
    seconds = time.perf_counter() - t0
    return {**matched, "files": [p for p, _, _ in todo], "parameters": sum(t.size for _, ts, _ in todo for t in ts),
            "bytes": total_bytes, "seconds": seconds, "gb_per_s": total_bytes / seconds / 1e9}


def _plan(tensors, out, shards, shard_id, rng, g):
    """Everything about the files to write, checked before any is opened:
    {"files": all of the split [(path, tensors)], "todo": [(path, tensors,
    entries)] this call writes, "index": the index's path or None,
    "index_bytes": its contents or None, "meta": the files' metadata, "out",
    "shard_id", "folder": where they are published}."""
    files = _shard_files(tensors, shards, out)
    if shard_id is not None:
        if isinstance(shard_id, bool) or not isinstance(shard_id, int) or not 0 <= shard_id < shards:
            if shards == 1:
                raise ValueError(f"shard_id: {shard_id!r} picks one file of a split into shards > 1 files, and "
                                 "shards is 1; give shards=N too (shard_id counts from 0 to N - 1)")
            raise ValueError(f"shard_id: must be an int in [0, {shards}) (one of the shards={shards} files, "
                             f"counted from 0), got {shard_id!r}")
        if rng is None:
            raise ValueError("shard_id: each writer of a sharded model needs the same explicit rng "
                             "(a seed or a Generator); rng=None draws a fresh seed in every process")
        chosen = [files[shard_id]]
    else:
        chosen = files
    index_path = _index_path(out) if shards > 1 and (shard_id is None or shard_id == 0) else None
    for path, _ in chosen:  # every destination checked before any byte is written
        check_destination(path)
    if index_path is not None:
        check_destination(index_path)
    key = "%08x%08x" % tuple(int(k) for k in g.key)
    meta = {"format": "pt", "generator": "fastinit", "fastinit_stream_version": _stream_version(),
            "fastinit_key": key}
    if shard_id is not None:
        _check_same_key(files, out, key, meta["fastinit_stream_version"], skip=files[shard_id][0])
    todo, sizes = [], []
    for path, ts in chosen:
        entries = [Entry(t.name, t.shape, t.dtype) for t in ts]
        header = layout(entries, meta)  # also refuses what safetensors cannot hold
        todo.append((path, ts, entries))
        sizes.append((path, len(header) + sum(e.nbytes for e in entries)))
    index = _index_bytes(files, meta) if index_path is not None else None
    if index is not None:
        sizes.append((index_path, len(index)))
    check_free_space(sizes)  # the whole set must fit: nothing is started that cannot finish
    return {"files": files, "todo": todo, "index": index_path, "index_bytes": index, "meta": meta, "out": out,
            "shard_id": shard_id, "folder": os.path.dirname(os.path.abspath(out))}


def _write(plan, window, g, source, progress):
    """Write and sync every file of the plan, then publish them together
    (the index last); on any error or signal, none is published."""
    todo, meta = plan["todo"], plan["meta"]
    total_bytes = sum(e.nbytes for _, _, es in todo for e in es)
    bar = _progress(total_bytes) if progress else None
    staged = []  # synced files, not yet at their destinations
    _room_for_files(len(todo) + 1)
    try:
        with _terminate_as_exit():
            for path, ts, entries in todo:
                try:
                    w = Writer(path, entries, meta, publish=False)
                    with w:
                        for t, e in zip(ts, entries):
                            n_rows = t.shape[0] if t.shape else 1
                            step = _chunk_rows(t, window)
                            for first in range(0, n_rows, step):
                                rows = min(step, n_rows - first)
                                w.write_rows(e, first, rows,
                                             lambda view: _fill(t, view, first, rows, g, source[t.name]))
                                if bar is not None:
                                    bar.update(rows * e.nbytes // max(n_rows, 1))
                except OSError as exc:
                    raise _os_error(exc, path) from None
                staged.append(w.file)
            if plan["index"] is not None:
                try:
                    staged.append(write_atomic(plan["index"], plan["index_bytes"], publish=False))
                except OSError as exc:
                    raise _os_error(exc, plan["index"]) from None
            with folder_lock(plan["folder"]), _signals_held():
                if plan["shard_id"] is not None:  # again, now that no other writer can publish meanwhile
                    _check_same_key(plan["files"], plan["out"], meta["fastinit_key"],
                                    meta["fastinit_stream_version"], skip=plan["files"][plan["shard_id"]][0])
                for f in staged:
                    f.publish(sync_folder=False)
                staged = []
                sync_dir(plan["folder"])
    finally:
        for f in staged:
            f.abort()
        if bar is not None:
            bar.close()


def _os_error(exc: OSError, path) -> OSError:
    """exc, its message starting with out: and naming the file."""
    if str(exc).startswith("out:"):
        return exc
    new = type(exc)(f"out: writing {path!r}: {exc.strerror or exc}")
    new.errno = exc.errno
    return new


def _room_for_files(n: int) -> None:
    """A split keeps its files open until all are written: make sure the
    process may hold that many (raising the soft limit toward the hard one)."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError):
            pass


class _signals_held:
    """SIGINT and SIGTERM wait (in the main thread) while the block runs: the
    renames that publish a set are not cut in the middle."""

    def __enter__(self):
        import signal
        import threading

        self.mask = None
        if hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread():
            self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        return self

    def __exit__(self, *exc):
        import signal

        if self.mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self.mask)
        return False


def _stream_version():
    from . import STREAM_VERSION

    return str(STREAM_VERSION)


def _index_path(out):
    folder, base = os.path.split(os.path.abspath(out))
    stem = base[: -len(".safetensors")] if base.endswith(".safetensors") else base
    return os.path.join(folder, f"{stem}.safetensors.index.json")


def _check_same_key(files, out, key, version, skip):
    """Refuse to add a shard to files of another key or stream version, or
    of another split: the shards already present and the index must all come
    from one seed, and the index must list this split's files."""
    found = []
    for path, _ in files:
        if path != skip and os.path.isfile(path):
            try:
                m = read_header(path).get("__metadata__", {})
            except (OSError, ValueError):
                raise ValueError(f"shard_id: {path!r} exists but is not a safetensors file; remove it first") from None
            found.append((path, m.get("fastinit_key"), m.get("fastinit_stream_version")))
    index = _index_path(out)
    if os.path.isfile(index):
        try:
            with open(index, "rb") as f:
                data = json.loads(f.read(64 << 20).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("metadata", {}), dict) \
                or not isinstance(data.get("weight_map", {}), dict):
            raise ValueError(f"shard_id: the index {index!r} exists but is not a JSON index; remove it first")
        m = data.get("metadata", {})
        found.append((index, m.get("fastinit_key"), m.get("fastinit_stream_version")))
        names = {os.path.basename(p) for p, _ in files}
        listed = set(map(str, data.get("weight_map", {}).values()))
        if listed and not listed <= names:
            raise ValueError(f"shard_id: the index {index!r} lists files of another split "
                             f"({sorted(listed - names)[0]!r}, ...): the shards would not form one model; "
                             "remove the old files")
    for path, k, v in found:
        if k != key or v != version:
            raise ValueError(f"shard_id: {path!r} was written with key {k} (stream version {v}), this writer "
                             f"has key {key} (stream version {version}): the shards would not form one model. "
                             "Use the same seed in every writer, or remove the old files")


def _index_bytes(files, meta) -> bytes:
    index = {"metadata": {"total_size": sum(t.size * t.dtype.itemsize for _, ts in files for t in ts),
                          "fastinit_key": meta["fastinit_key"],
                          "fastinit_stream_version": meta["fastinit_stream_version"]},
             "weight_map": {t.name: os.path.basename(p) for p, ts in files for t in ts}}
    return (json.dumps(index, indent=2) + "\n").encode()


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
