"""`fastinit init-model`: a whole model into safetensors, from the shell."""

from __future__ import annotations

import argparse
import json
import re
import sys

from ..model import PRESETS, init_model


# init_model's argument names -> this command's flags (errors name the flag)
FLAGS = {"spec": "--spec", "rules": "--rules", "dtype": "--dtype", "out": "--out", "shards": "--shards",
         "shard_id": "--shard-id", "from_checkpoint": "--from", "rng": "--seed", "on_mismatch": "--skip-mismatched",
         "names": "--spec"}
_PHRASES = {"pass on_mismatch='skip' to initialize it instead": "pass --skip-mismatched to initialize it instead",
            "give shards=N too": "give --shards N too", "shards=": "--shards ", "needs out=, the file to write":
            "needs --out"}


def flag_message(msg: str, spec_flag: str = "--spec") -> str:
    """An error of init_model's, on one line, naming this command's flag
    where it names the Python argument."""
    msg = " ".join(str(msg).split("\n"))
    m = re.match(r"(\[Errno \d+\] )?([a-z_]+)\b", msg)
    if m and m.group(2) in FLAGS:
        flag = spec_flag if m.group(2) == "spec" else FLAGS[m.group(2)]
        msg = flag + msg[m.end():]
    for old, new in _PHRASES.items():
        msg = msg.replace(old, new)
    return msg


class _Fail(Exception):
    pass


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="fastinit init-model",
        description="Initialize a model and write it to safetensors, tensor by tensor, without holding it in memory.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(PRESETS), help="a built-in architecture")
    src.add_argument("--spec", metavar="FILE", help="a JSON or TOML spec (tensors, optional rules)")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="the file to write, e.g. model.safetensors; with --shards N, the files are named after its "
                        "stem: --out tiny.safetensors writes tiny-00001-of-0000N.safetensors, ... and "
                        "tiny.safetensors.index.json")
    p.add_argument("--dtype", default=None,
                   help="of the tensors the spec gives no dtype: float32 (default), bfloat16, float16, float64")
    p.add_argument("--seed", type=int, default=None,
                   help="the seed (default: fresh entropy, printed; required with --shard-id)")
    p.add_argument("--rules", metavar="RULES", action="append",
                   help="pattern=initializer, first match wins, tried before the spec's or preset's own rules; "
                        "repeat or separate with ';', e.g. "
                        "--rules '*.bias=zeros' --rules '*=normal(std=0.02)', or a JSON object "
                        '\'{"*.bias": "zeros", "*": "normal(std=0.02)"}\'')
    p.add_argument("--from", dest="from_checkpoint", metavar="CKPT", help="copy matching tensors from this checkpoint")
    p.add_argument("--skip-mismatched", action="store_true",
                   help="initialize tensors whose checkpoint shape differs instead of failing")
    p.add_argument("--shards", type=int, default=1,
                   help="write N files (at most one per tensor), named after --out's stem, and an index; all are "
                        "committed together")
    p.add_argument("--shard-id", type=int, default=None,
                   help="write only file i (counted from 0) of --shards N: --shards 4 --shard-id 2 --out "
                        "model.safetensors writes model-00003-of-00004.safetensors (file names count from 1); "
                        "needs --seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    a = p.parse_args(argv)
    spec_flag = "--preset" if a.preset else "--spec"
    try:
        rules = parse_rules(a.rules)
        _check_flags(a)
    except (ValueError, _Fail) as exc:
        return _error(flag_message(exc))
    seed = a.seed
    if seed is None:
        import numpy as np

        seed = int(np.random.SeedSequence().entropy % 2**63)
    try:
        rep = init_model(a.preset or a.spec, a.out, dtype=a.dtype, rng=seed,
                         rules=rules, from_checkpoint=a.from_checkpoint,
                         on_mismatch="skip" if a.skip_mismatched else "error", shards=a.shards,
                         shard_id=a.shard_id, progress=not a.no_progress)
    except (ValueError, TypeError, OSError) as exc:
        return _error(flag_message(exc, spec_flag))
    except KeyboardInterrupt:
        print("fastinit init-model: interrupted (nothing was written; the files at --out are as they were)",
              file=sys.stderr)
        return 130
    if a.seed is None:
        print(f"seed: {seed}", file=sys.stderr)
    if a.from_checkpoint:
        print(f"copied {len(rep['copied'])} tensors from {a.from_checkpoint}; initialized {len(rep['initialized'])}"
              + (f" ({len(rep['mismatched'])} with another shape there)" if rep["mismatched"] else ""))
    print(f"{rep['parameters']:,} parameters, {rep['bytes'] / 1e9:.2f} GB in {rep['seconds']:.2f} s "
          f"({rep['gb_per_s']:.2f} GB/s) -> {', '.join(rep['files'])}")
    return 0


def _error(msg: str) -> int:
    print(f"fastinit init-model: error: {msg}", file=sys.stderr)
    return 2


def _check_flags(a) -> None:
    """The flags' own rules, checked before any work."""
    if a.seed is not None and a.seed < 0:
        raise _Fail(f"--seed: must be a non-negative integer, got {a.seed}")
    if a.shards < 1:
        raise _Fail(f"--shards: must be at least 1, got {a.shards}")
    if a.shard_id is not None:
        if a.shards == 1:
            raise _Fail("--shard-id: picks one file of a split; give --shards N (N > 1) too")
        if not 0 <= a.shard_id < a.shards:
            raise _Fail(f"--shard-id: must be in [0, {a.shards}) for --shards {a.shards} (counted from 0), "
                        f"got {a.shard_id}")
        if a.seed is None:
            raise _Fail("--shard-id needs --seed: every writer of a sharded model must use the same seed")


def parse_rules(texts):
    """--rules values -> [(pattern, initializer)]: each a JSON object, or
    pattern=initializer pairs separated by ';' (the first '=' splits: an
    initializer's own k=v arguments stay whole)."""
    if not texts:
        return None
    rules = []
    for text in texts:
        t = text.strip()
        if t.startswith("{"):
            try:
                obj = json.loads(t)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--rules {text!r}: not a JSON object ({exc})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"--rules {text!r}: a JSON rules value is an object of pattern: initializer")
            rules.extend(obj.items())
            continue
        for part in filter(None, (q.strip() for q in t.split(";"))):
            pattern, eq, init = part.partition("=")
            if not eq or not pattern.strip() or not init.strip():
                raise ValueError(f"--rules {part!r}: expected pattern=initializer (e.g. '*.bias=zeros' or "
                                 "'*=normal(std=0.02)') or a JSON object")
            rules.append((pattern.strip(), init.strip()))
    return rules
