"""Reading safetensors checkpoints (moved from model.py; validation to come)."""

from __future__ import annotations

import json
import math
import os

import numpy as np

from . import _validate as V


def read_header(path) -> dict:
    """The JSON header of a safetensors file."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(n))


_ST_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}


class Checkpoint:
    """Tensors of an existing safetensors file (or a sharded one's index),
    read through read-only memory maps: any float dtype safetensors holds
    (F64, F32, F16, BF16), cast once to the dtype asked for."""

    def __init__(self, path):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"from_checkpoint: no file {path!r}")
        if path.endswith(".json"):  # a sharded checkpoint's index: name -> file
            with open(path) as f:
                weight_map = json.load(f)["weight_map"]
            folder = os.path.dirname(os.path.abspath(path))
            self.where = {k: os.path.join(folder, v) for k, v in weight_map.items()}
        else:
            self.where = None
        files = set(self.where.values()) if self.where is not None else {path}
        self.headers, self.data_start, self.maps = {}, {}, {}
        for f in files:
            h = read_header(f)
            h.pop("__metadata__", None)
            self.headers[f] = h
            with open(f, "rb") as fh:
                self.data_start[f] = 8 + int.from_bytes(fh.read(8), "little")
        if self.where is None:
            self.where = {k: path for k in self.headers[path]}

    def _entry(self, name):
        return self.headers[self.where[name]][name]

    def shape(self, name):
        return tuple(self._entry(name)["shape"]) if name in self.where else None

    def source_dtype(self, name) -> np.dtype:
        code = self._entry(name)["dtype"]
        if code not in _ST_DTYPES:
            raise TypeError(f"checkpoint tensor {name!r} has dtype {code}; only floating tensors "
                            f"({', '.join(_ST_DTYPES)}) are copied")
        return V.as_dtype(_ST_DTYPES[code])

    def rows(self, name, first, count, dtype):
        """Rows [first, first + count) of tensor `name`, cast once to dtype."""
        f = self.where[name]
        e = self._entry(name)
        src = self.source_dtype(name)
        shape = tuple(e["shape"])
        row = src.itemsize * math.prod(shape[1:]) if shape else src.itemsize
        if f not in self.maps:
            self.maps[f] = np.memmap(f, dtype=np.uint8, mode="r")
        begin = self.data_start[f] + e["data_offsets"][0] + first * row
        raw = self.maps[f][begin: begin + count * row]
        part = raw.view(src).reshape(((count,) + shape[1:]) if shape else ())
        return cast_once(part, dtype)


def cast_once(a: np.ndarray, dtype) -> np.ndarray:
    """a cast to dtype with one rounding to nearest even.  float64 to
    bfloat16 goes through float32 rounded to odd (truncated, its last bit
    set when inexact), which makes the second rounding exact; every other
    pair is cast directly (or exactly widened first)."""
    dtype = np.dtype(dtype)
    if a.dtype == dtype:
        return np.array(a)
    if a.dtype == np.float64 and dtype.name == "bfloat16":
        with np.errstate(over="ignore", invalid="ignore"):
            y = a.astype(np.float32)
            inexact = (y.astype(np.float64) != a) & ~np.isnan(a)
            away = inexact & (np.abs(y.astype(np.float64)) > np.abs(a))
            y[away] = np.nextafter(y[away], np.float32(0))
            bits = y.view(np.uint32)
            bits[inexact] |= np.uint32(1)
        return y.astype(dtype)
    if a.dtype != np.float64:
        a = a.astype(np.float32)  # exact widening of float16/bfloat16
    return a.astype(dtype)  # one rounding (NumPy rounds float64 to float16 directly)
