"""Reading safetensors checkpoints, trusting nothing in them.

A checkpoint is a safetensors file or a sharded model's index (JSON whose
``weight_map`` names, for each tensor, the file that holds it).  Every file
is checked the way the safetensors library checks it before a byte of it is
used: the 8-byte header length at most 100,000,000 and inside the file; the
header UTF-8 JSON, an object of tensor entries (each with a known ``dtype``,
a ``shape`` of non-negative ints and two ``data_offsets``) and an optional
``__metadata__`` object of strings; the tensors' byte ranges back to back
from 0 without gaps or overlaps, each exactly as long as its shape and dtype
need, the last ending at the end of the file.  An index may name files only
inside its own folder.  Anything else is a ValueError naming the file (and
the tensor), raised when the checkpoint is opened, before anything is
written anywhere.

Every file is memory-mapped when the checkpoint is opened, so a writer that
replaces one of them (re-sharding a model in place) cannot change what is
read: the maps keep the files' old contents.
"""

from __future__ import annotations

import json
import math
import mmap
import os

import numpy as np

from .. import _validate as V

MAX_HEADER = 100_000_000  # the safetensors library's limit on the header length
_U64 = 1 << 64

# Every dtype the format defines, with its size in bits.
_BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
         "F8_E5M2FNUZ": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
         "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64}
# The ones fastinit copies from.
_ST_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}
_FIELDS = ("dtype", "shape", "data_offsets")


class _Pairs(list):
    """A JSON object as the (key, value) pairs it was written with."""


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def _usize(x) -> bool:
    return type(x) is int and 0 <= x < _U64


def _parse_header(raw: bytes, where: str) -> tuple[dict, dict]:
    """(tensors, metadata) of a header's bytes, or a ValueError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: the header is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        top = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"{where}: the header nests too deeply") from None
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity
        raise ValueError(f"{where}: the header is not valid JSON ({exc})") from None
    if not isinstance(top, _Pairs):
        raise ValueError(f"{where}: the header is a JSON {type(top).__name__}, not an object")
    tensors, metadata, seen_meta = {}, {}, False
    for name, info in top:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{where}: a tensor name is not valid Unicode ({name!r})") from None
        if name == "__metadata__":
            if seen_meta:
                raise ValueError(f"{where}: the header has two __metadata__ entries")
            seen_meta = True
            if info is None:
                continue
            if not isinstance(info, _Pairs) or not all(isinstance(v, str) for _, v in info):
                raise ValueError(f"{where}: __metadata__ must be an object of strings")
            metadata = dict(info)
            continue
        tensors[name] = _tensor_info(info, where, name)  # a repeated name: the last entry counts, as in safetensors
    return tensors, metadata


def _tensor_info(info, where: str, name: str) -> dict:
    what = f"{where}: tensor {name!r}"
    if not isinstance(info, _Pairs):
        raise ValueError(f"{what}: its entry is not an object")
    fields = {}
    for k, v in info:
        if k in _FIELDS:
            if k in fields:
                raise ValueError(f"{what}: the entry gives {k} twice")
            fields[k] = v
    missing = [k for k in _FIELDS if k not in fields]
    if missing:
        raise ValueError(f"{what}: the entry has no {missing[0]}")
    dtype, shape, offsets = fields["dtype"], fields["shape"], fields["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _BITS:
        raise ValueError(f"{what}: unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_usize(s) for s in shape):
        raise ValueError(f"{what}: shape {shape!r} is not a list of non-negative ints")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_usize(o) for o in offsets):
        raise ValueError(f"{what}: data_offsets {offsets!r} is not a pair of non-negative ints")
    bits = math.prod(shape) * _BITS[dtype]
    if bits >= _U64 * 8:
        raise ValueError(f"{what}: shape {shape} of {dtype} is too large")
    if bits % 8:
        raise ValueError(f"{what}: shape {shape} of {dtype} does not fill whole bytes")
    begin, end = offsets
    if end < begin or end - begin != bits // 8:
        raise ValueError(f"{what}: data_offsets {offsets} hold {end - begin} bytes; shape {shape} of {dtype} "
                         f"takes {bits // 8}")
    return {"dtype": dtype, "shape": tuple(shape), "data_offsets": (begin, end)}


def _check_coverage(tensors: dict, data_bytes: int, where: str) -> None:
    """The tensors' byte ranges tile [0, data_bytes) exactly."""
    pos = 0
    for name, e in sorted(tensors.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = e["data_offsets"]
        if begin != pos:
            what = "overlaps the tensor before it" if begin < pos else f"leaves bytes [{pos}, {begin}) unused"
            raise ValueError(f"{where}: tensor {name!r}: data_offsets [{begin}, {end}] {what}")
        pos = end
    if pos != data_bytes:
        raise ValueError(f"{where}: the tensors take {pos} bytes of data, the file holds {data_bytes} "
                         f"({'truncated' if pos > data_bytes else 'bytes left over'})")


def _open(path: str) -> tuple[int, int]:
    """(an open read-only descriptor, the file's size) of a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    try:
        st = os.fstat(fd)
        import stat

        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path}: not a regular file")
        return fd, st.st_size
    except BaseException:
        os.close(fd)
        raise


def _read_exact(fd: int, n: int, offset: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = os.pread(fd, min(n - len(out), 1 << 24), offset + len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _header_of(fd: int, size: int, where: str) -> tuple[dict, dict, int]:
    """(tensors, metadata, where the data starts) of an open safetensors file."""
    if size < 8:
        raise ValueError(f"{where}: {size} bytes, too short for a safetensors file (8 bytes of header length first)")
    n = int.from_bytes(_read_exact(fd, 8, 0), "little")
    if n > MAX_HEADER:
        raise ValueError(f"{where}: header length {n} is larger than {MAX_HEADER} bytes")
    if 8 + n > size:
        raise ValueError(f"{where}: header length {n} runs past the end of the file ({size} bytes): truncated")
    tensors, metadata = _parse_header(_read_exact(fd, n, 8), where)
    _check_coverage(tensors, size - 8 - n, where)
    return tensors, metadata, 8 + n


def read_header(path) -> dict:
    """The header of a safetensors file, checked as the module docstring
    says: {name: {"dtype", "shape", "data_offsets"}} and "__metadata__"
    (an empty dict if the file has none)."""
    path = os.fspath(path)
    fd, size = _open(path)
    try:
        tensors, metadata, _ = _header_of(fd, size, path)
    finally:
        os.close(fd)
    return {**tensors, "__metadata__": metadata}


def _index_files(path: str) -> dict:
    """name -> file of a sharded checkpoint's index, each file checked to lie
    in the index's folder."""
    fd, size = _open(path)
    try:
        if size > MAX_HEADER:
            raise ValueError(f"{path}: {size} bytes, larger than an index can be ({MAX_HEADER})")
        raw = _read_exact(fd, size, 0)
    finally:
        os.close(fd)
    try:
        index = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"{path}: the index nests too deeply") from None
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError
        raise ValueError(f"{path}: not a JSON index ({exc})") from None
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise ValueError(f"{path}: an index is a JSON object with a weight_map object (tensor name: file name)")
    folder = os.path.dirname(os.path.abspath(path))
    real_folder = os.path.realpath(folder)
    where = {}
    for name, file in weight_map.items():
        if not isinstance(file, str) or not file:
            raise ValueError(f"{path}: tensor {name!r}: the file name {file!r} is not a non-empty string")
        parts = file.replace("\\", "/").split("/")
        if os.path.isabs(file) or ".." in parts or "\0" in file:
            raise ValueError(f"{path}: tensor {name!r}: {file!r} is not a file in the index's folder")
        full = os.path.join(folder, file)
        if os.path.commonpath([real_folder, os.path.realpath(full)]) != real_folder:
            raise ValueError(f"{path}: tensor {name!r}: {file!r} leads out of the index's folder")
        where[name] = full
    return where


class Checkpoint:
    """Tensors of an existing safetensors file (or a sharded one's index),
    every file checked and memory-mapped when opened: any float dtype
    safetensors holds (F64, F32, F16, BF16), cast once to the dtype asked
    for.  close() (or a with block) releases the maps."""

    def __init__(self, path, what: str = "from_checkpoint"):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what}: no file {path!r}")
        self.maps = {}
        try:
            index = _index_files(path) if path.endswith(".json") else None
            files = dict.fromkeys(index.values()) if index is not None else {path: None}
            self.headers, self.data_start = {}, {}
            for f in files:
                fd, size = _open(f)
                try:
                    self.headers[f], _, self.data_start[f] = _header_of(fd, size, f)
                    self.maps[f] = mmap.mmap(fd, size, access=mmap.ACCESS_READ)
                finally:
                    os.close(fd)
            if index is None:
                self.where = {k: path for k in self.headers[path]}
            else:
                for name, f in index.items():
                    if name not in self.headers[f]:
                        raise ValueError(f"{path}: tensor {name!r} is mapped to {os.path.basename(f)!r}, "
                                         "which does not hold it")
                self.where = index
        except (ValueError, FileNotFoundError) as exc:
            self.close()
            raise type(exc)(f"{what}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for m in self.maps.values():
            try:
                m.close()
            except BufferError:  # a caller still holds a view: the map goes with it
                pass
        self.maps = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _entry(self, name):
        return self.headers[self.where[name]][name]

    def shape(self, name):
        return self._entry(name)["shape"] if name in self.where else None

    def source_dtype(self, name) -> np.dtype:
        code = self._entry(name)["dtype"]
        if code not in _ST_DTYPES:
            raise TypeError(f"checkpoint tensor {name!r} in {self.where[name]!r} has dtype {code}; only "
                            f"floating tensors ({', '.join(_ST_DTYPES)}) are copied")
        return V.as_dtype(_ST_DTYPES[code])

    def rows(self, name, first, count, dtype):
        """Rows [first, first + count) of tensor `name`, cast once to dtype."""
        f = self.where[name]
        e = self._entry(name)
        src = self.source_dtype(name)
        shape = e["shape"]
        row = src.itemsize * math.prod(shape[1:]) if shape else src.itemsize
        if not 0 <= first <= first + count <= (shape[0] if shape else 1):
            raise IndexError(f"rows [{first}, {first + count}) of tensor {name!r} of shape {shape}")
        begin = self.data_start[f] + e["data_offsets"][0] + first * row
        raw = np.frombuffer(self.maps[f], dtype=np.uint8, count=count * row, offset=begin)
        part = raw.view(src).reshape(((count,) + shape[1:]) if shape else ())
        out = cast_once(part, dtype)
        del raw, part
        return out


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
