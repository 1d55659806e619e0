"""`fastinit init-model`: a whole model into safetensors, from the shell."""

from __future__ import annotations

import argparse
import json
import sys

from .model import PRESETS, init_model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="fastinit init-model",
        description="Initialize a model and write it to safetensors, tensor by tensor, without holding it in memory.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(PRESETS), help="a built-in architecture")
    src.add_argument("--spec", metavar="FILE", help="a JSON or TOML spec (tensors, optional rules)")
    p.add_argument("--out", required=True, metavar="PATH", help="model.safetensors (or the base name of shards)")
    p.add_argument("--dtype", default=None, help="float32 (default), bfloat16, float16, float64")
    p.add_argument("--seed", type=int, default=None,
                   help="the seed (default: fresh entropy, printed; required with --shard-id)")
    p.add_argument("--rules", metavar="RULES", action="append",
                   help="pattern=initializer, first match wins; repeat or separate with ';', e.g. "
                        "--rules '*.bias=zeros' --rules '*=normal(std=0.02)', or a JSON object "
                        '\'{"*.bias": "zeros", "*": "normal(std=0.02)"}\'')
    p.add_argument("--from", dest="from_checkpoint", metavar="CKPT", help="copy matching tensors from this checkpoint")
    p.add_argument("--skip-mismatched", action="store_true",
                   help="initialize tensors whose checkpoint shape differs instead of failing")
    p.add_argument("--shards", type=int, default=1, help="write N files, Hugging Face style")
    p.add_argument("--shard-id", type=int, default=None,
                   help="write only file i (counted from 0) of --shards N: --shards 4 --shard-id 2 writes "
                        "model-00003-of-00004.safetensors (file names count from 1); needs --seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    a = p.parse_args(argv)
    try:
        rules = parse_rules(a.rules)
    except ValueError as exc:
        p.error(str(exc))
    if a.shard_id is not None and a.seed is None:
        p.error("--shard-id needs --seed: every writer of a sharded model must use the same seed")
    seed = a.seed
    if seed is None:
        import numpy as np

        seed = int(np.random.SeedSequence().entropy % 2**63)
        print(f"seed: {seed}", file=sys.stderr)
    try:
        rep = init_model(a.preset or a.spec, a.out, dtype=a.dtype, rng=seed,
                         rules=rules, from_checkpoint=a.from_checkpoint,
                         on_mismatch="skip" if a.skip_mismatched else "error", shards=a.shards,
                         shard_id=a.shard_id, progress=not a.no_progress)
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastinit init-model: error: {exc}", file=sys.stderr)
        return 2
    if a.from_checkpoint:
        print(f"copied {len(rep['copied'])} tensors from {a.from_checkpoint}; initialized {len(rep['initialized'])}"
              + (f" ({len(rep['mismatched'])} with another shape there)" if rep["mismatched"] else ""))
    print(f"{rep['parameters']:,} parameters, {rep['bytes'] / 1e9:.2f} GB in {rep['seconds']:.2f} s "
          f"({rep['gb_per_s']:.2f} GB/s) -> {', '.join(rep['files'])}")
    return 0


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
