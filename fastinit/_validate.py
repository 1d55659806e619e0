"""The one place where user input is checked.

Every public entry point runs its arguments through these functions before
anything is allocated or written, so a bad argument raises a clear error
naming it and leaves the caller's buffer untouched.  The rules follow NumPy's
``numpy.random._common.check_output`` where they apply:

* ``out`` that is not an ndarray, or byte-swapped: ValueError; a wrong
  (float) dtype: TypeError; ``size`` different from ``out.shape``:
  ValueError; read-only: ValueError; elements that share memory (a zero
  stride, np.broadcast_to): ValueError, as NumPy and torch refuse to write
  them (see `overlapping`).  Unlike NumPy, a non-contiguous or unaligned
  ``out`` is filled (with the values a contiguous one would get).
* ``dtype``: one table of spellings (`as_dtype`, ACCEPTED_DTYPES) for every
  entry point; anything else is a TypeError listing them.
* messages show a user's array or tensor by type and shape (`describe`),
  never its contents.
* ``size``: an int or a tuple of ints (not bools), none negative.
* parameters: real scalars (bools count as 0 and 1, strings do not); NaN or
  infinity: ValueError (NumPy's Generator.normal returns NaN for a NaN loc;
  fastinit refuses to fill NaN weights).
"""

from __future__ import annotations

import hashlib
import math
import operator

import numpy as np

from ._contract.constants import MAX_RANK
from . import _backends  # BUFFER_TYPES: ndarray and each backend's buffer (imports neither torch nor Triton)

_MAXDIM = MAX_RANK  # dimensions the core takes
_U64 = 1 << 64

# The float dtypes fastinit fills (native byte order).  bfloat16 comes from
# ml_dtypes, imported only when asked for, and joins the set when first seen.
_FLOATS = {np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)}

# The one table of dtype spellings.  NumPy's own names, characters and types
# keep NumPy's meaning (np.dtype decides them: "float" and the type float are
# float64, "half" float16, "single" float32, "double" float64, "f16" NumPy's
# 16-byte float, which fastinit does not fill).  Added here: the short names
# of the ML frameworks (lower or upper case), ml_dtypes' bfloat16 (its type
# or its np.dtype) and torch's dtype objects, recognised by their type's
# module without importing torch (torch.float is float32 there, as in torch).
_ALIASES = {"fp16": "float16", "fp32": "float32", "f32": "float32", "fp64": "float64", "f64": "float64",
            "bf16": "bfloat16", "bfloat16": "bfloat16"}
_TORCH_NAMES = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
                "float16": "float16", "half": "float16", "bfloat16": "bfloat16"}
ACCEPTED_DTYPES = (
    "float32 ('float32', 'f4', 'single', 'fp32', 'f32', numpy.float32, torch.float32 or torch.float), "
    "float64 ('float64', 'f8', 'double', 'float', 'fp64', 'f64', numpy.float64, float, torch.float64 or "
    "torch.double), float16 ('float16', 'f2', 'half', 'fp16', numpy.float16, torch.float16 or torch.half), "
    "bfloat16 ('bfloat16', 'bf16', ml_dtypes.bfloat16, torch.bfloat16); native byte order"
)
_DTYPE_CACHE: dict = {}  # spelling -> np.dtype, for the spellings that resolved to a supported dtype


def _named(canonical: str) -> np.dtype:
    if canonical == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(canonical)


def describe(x, limit: int = 60) -> str:
    """A short description of a user-supplied value for an error message:
    small scalars and strings by repr (cut at `limit` characters), arrays and
    tensors by type, shape and dtype (never their contents), sequences of
    scalars by repr when short, anything else by its type."""
    if x is None or isinstance(x, (bool, int, float, complex, np.generic)) and not isinstance(x, np.ndarray):
        r = repr(x)
        return r if len(r) <= limit else r[:limit] + "..."
    if isinstance(x, (str, bytes)):
        r = repr(x)
        return r if len(r) <= limit else r[:limit] + "...'"
    t = type(x)
    tname = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__.split('.')[0]}.{t.__qualname__}"
    if isinstance(x, (tuple, list)):
        if len(x) <= 8 and all(isinstance(i, (bool, int, float, np.generic)) for i in x):
            r = repr(x)
            if len(r) <= limit:
                return r
        return f"a {tname} of {len(x)} items"
    if not isinstance(x, type):
        shape = getattr(x, "shape", None)
        try:
            shape = tuple(int(d) for d in shape) if shape is not None else None
        except Exception:  # noqa: BLE001 - something else called shape
            shape = None
        if shape is not None:
            dt = getattr(x, "dtype", None)
            return f"a {tname} of shape {shape}" + (f" and dtype {dt}" if dt is not None else "")
    return f"an object of type {tname}"


def _torch_hint(x) -> str:
    """For a torch tensor given where fastinit wants a NumPy array."""
    if type(x).__module__.split(".")[0] == "torch" and hasattr(x, "shape"):
        return ("; fill a torch tensor with fastinit.torch (e.g. fastinit.torch.kaiming_normal_(tensor)) "
                "or pass out=tensor.numpy()")
    return ""


def as_dtype(dtype, name: str = "dtype", method: str | None = None) -> np.dtype:
    """The float dtype a spelling names (see ACCEPTED_DTYPES), else TypeError
    naming `name` (and `method` when given) and listing the spellings.

    Every entry point that takes a dtype (initializers, Generator methods,
    init_model, the CLI's --dtype, fastinit.dask) resolves it here."""
    try:
        dt = _DTYPE_CACHE.get(dtype)
    except Exception:  # noqa: BLE001 - unhashable (a list describing a structured dtype, an array)
        dt = None
    if dt is not None:
        return dt
    prefix = f"{method}: {name}" if method else name
    t = type(dtype)
    if isinstance(dtype, str):
        key = dtype.lower()
        if key in _ALIASES:
            dt = _named(_ALIASES[key])
        elif key.startswith("torch.") and key[6:] in _TORCH_NAMES:
            dt = _named(_TORCH_NAMES[key[6:]])
        elif key == "f16":
            raise TypeError(f"{prefix}: 'f16' is NumPy's 16-byte float (float128), which fastinit does not fill; "
                            f"for 16-bit floats write 'float16', 'fp16', 'f2' or 'half'; accepted: {ACCEPTED_DTYPES}")
    elif t.__module__ == "torch" and t.__name__ == "dtype":
        key = str(dtype)
        key = key[6:] if key.startswith("torch.") else key
        if key not in _TORCH_NAMES:
            raise TypeError(f"{prefix}: unsupported dtype {str(dtype)[:40]}; accepted: {ACCEPTED_DTYPES}")
        dt = _named(_TORCH_NAMES[key])
    if dt is None:
        if dtype is None:
            raise TypeError(f"{prefix}: give a dtype, not None; accepted: {ACCEPTED_DTYPES}")
        try:
            dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        except Exception:  # noqa: BLE001 - np.dtype raises TypeError, ValueError or SyntaxError for strings
            raise TypeError(f"{prefix}: {describe(dtype)} is not a dtype; accepted: {ACCEPTED_DTYPES}") from None
    if not is_float_dtype(dt):
        text = str(dt)
        text = text if len(text) <= 60 else text[:60] + "..."
        order = "" if dt.isnative or not is_float_dtype(dt.newbyteorder()) else " (non-native byte order)"
        raise TypeError(f"{prefix}: unsupported dtype {text}{order}; accepted: {ACCEPTED_DTYPES}")
    if dt.metadata is None and (isinstance(dtype, (str, type, np.dtype)) or t.__module__ == "torch"):
        _DTYPE_CACHE[dtype] = dt  # (a dtype with metadata hashes as one without: never cached)
    return dt


def is_float_dtype(dt: np.dtype) -> bool:
    """float16/32/64 in native byte order, or ml_dtypes' bfloat16."""
    if dt in _FLOATS:
        return True
    if dt.kind == "V" and dt.itemsize == 2 and dt.name == "bfloat16" and dt.fields is None and not dt.shape:
        _FLOATS.add(dt)
        return True
    return False


def resolve_dtype(dtype, out, default, method: str) -> np.dtype:
    """The output dtype: `dtype` if given, else out's, else `default`."""
    if dtype is None:
        if isinstance(out, _backends.BUFFER_TYPES):
            dt = out.dtype
            if not dt.isnative and is_float_dtype(dt.newbyteorder()):
                raise ValueError(f"{method}: out is in non-native byte order ({dt}); NumPy refuses it too")
            if not is_float_dtype(dt):
                raise TypeError(
                    f"{method}: out has unsupported dtype {dt}; "
                    "use float32, float64, float16 or bfloat16 (native byte order)"
                )
            return dt
        dtype = default
    return as_dtype(dtype, "dtype", method)


def check_size(size, name: str = "size"):
    """None, or the shape tuple an int or a sequence of ints describes."""
    if size is None:
        return None
    def index(x):
        if isinstance(x, (bool, np.bool_)):
            raise TypeError
        return operator.index(x)

    try:
        dims = (index(size),)
    except TypeError:
        shape = getattr(size, "shape", None)
        if shape is not None and not isinstance(size, np.generic) and len(shape) != 1:
            raise TypeError(_size_message(size, name))  # an array or tensor (not 1-d) where a shape belongs
        try:
            n = len(size)
        except Exception:  # noqa: BLE001 - no len(): an iterable, or not a shape at all (said below)
            n = 0
        if n > _MAXDIM:  # before a long sequence is turned into a tuple
            raise ValueError(f"{name} has {n} dimensions; at most {_MAXDIM} are supported")
        try:
            dims = tuple(index(s) for s in size)
        except Exception:  # noqa: BLE001 - not iterable, or items that are not ints (a tensor raises its own)
            raise TypeError(_size_message(size, name)) from None
    if len(dims) > _MAXDIM:
        raise ValueError(f"{name} has {len(dims)} dimensions; at most {_MAXDIM} are supported")
    if any(d < 0 for d in dims):
        raise ValueError(f"{name}: negative dimensions are not allowed, got {dims}")
    check_nbytes(dims, 1, name)
    return dims


def _size_message(size, name: str) -> str:
    text = f"{name} must be an int or a tuple of ints, got {describe(size)}"
    if isinstance(size, (tuple, list)):
        for i, item in enumerate(size):
            try:
                if isinstance(item, (bool, np.bool_)):
                    raise TypeError
                operator.index(item)
            except Exception:  # noqa: BLE001 - as in check_size
                return text + f" (item {i} is {describe(item)})"
        return text
    if hasattr(size, "shape") and hasattr(size, "dtype"):  # an array or tensor where a shape belongs
        return text + (_torch_hint(size) or "; to fill an existing array, pass it as out=")
    return text


def positional_hint(label: str, args: tuple, keywords) -> str:
    """The TypeError text for an initializer given more than one positional
    argument: `args` are the positional arguments (the shape first),
    `keywords` the names of its keyword-only parameters in order."""
    head = f"{label}() takes one positional argument, the shape, but {len(args)} were given"
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        dims = ", ".join(str(a) for a in args[:8]) + (", ..." if len(args) > 8 else "")
        return f"{head}; shape is one argument: {label}(({dims}))"
    named = ", ".join(f"{k}={describe(v, 20)}" for k, v in zip(keywords, args[1:]))
    return f"{head}; every parameter after the shape is keyword-only" + (f", e.g. {label}(shape, {named})"
                                                                         if named else "")


def check_nbytes(shape, itemsize: int, name: str = "size") -> int:
    """The element count of shape, if it and its byte size fit in a signed 64-bit int."""
    n = math.prod(shape)
    if n * max(itemsize, 1) >= 1 << 63:
        raise ValueError(f"{name}: {tuple(shape)} has too many elements ({n} of {itemsize} bytes)")
    return n


def overlapping(shape, strides, itemsize: int):
    """Whether two elements of an array of this shape and these byte strides
    share a byte of memory: True, False, or None where it was not decided.

    Quick sufficient test, O(ndim): take the dimensions of length > 1 by
    increasing |stride|; the elements do not overlap if each |stride| is at
    least the extent of the block the smaller dimensions span (itemsize for
    the first).  Every C-, F-ordered, transposed, sliced or strided view of a
    non-overlapping array passes.  An array that fails it (a zero stride on a
    dimension of length > 1, np.broadcast_to, interleaved as_strided
    layouts) is decided exactly from its byte offsets when it has at most
    2**20 elements; beyond that the answer is None (check_output refuses
    those too: only hand-made as_strided layouts get there)."""
    dims = sorted((abs(st), n) for n, st in zip(shape, strides) if n > 1)
    if len(dims) != len(shape) and 0 in shape:
        return False  # no elements
    extent = itemsize
    for st, n in dims:
        if st < extent:
            break
        extent += st * (n - 1)
    else:
        return False
    if dims[0][0] < itemsize:  # neighbours along that dimension (a zero stride: the same element) overlap
        return True
    if math.prod(n for _, n in dims) > _EXACT_OVERLAP_MAX:
        return None
    offsets = np.zeros(1, dtype=np.int64)
    for st, n in dims:
        offsets = (offsets[:, None] + np.arange(n, dtype=np.int64) * st).reshape(-1)
    offsets.sort()
    return bool((np.diff(offsets) < itemsize).any())


_EXACT_OVERLAP_MAX = 1 << 20


def _check_no_overlap(out, method: str) -> None:
    if isinstance(out, np.ndarray) and (out.flags.c_contiguous or out.flags.f_contiguous):
        return
    strides = out.strides  # in bytes, for every backend's buffer
    verdict = overlapping(out.shape, strides, out.dtype.itemsize)
    if verdict is False:
        return
    where = f"(shape {tuple(out.shape)}, strides {strides})"
    if verdict is None:
        raise ValueError(f"{method}: out has elements that may overlap {where}: a layout of more than "
                         f"{_EXACT_OVERLAP_MAX} elements whose strides interleave, which fastinit does not check "
                         "element by element; pass a C- or F-ordered array or a slice or transpose of one")
    raise ValueError(f"{method}: out has overlapping elements {where}: some share memory, as with "
                     "np.broadcast_to or a zero stride, and their values would depend on the order of the "
                     "writes; NumPy and torch refuse such outputs too. Pass an array with distinct elements "
                     "(e.g. a copy)")


def check_output(out, dtype: np.dtype, shape, method: str, size_name: str = "size") -> None:
    """NumPy's rules for `out=` (see the module docstring)."""
    if not isinstance(out, _backends.BUFFER_TYPES):
        hint = _torch_hint(out)
        raise ValueError(f"{method}: out must be a numpy.ndarray, got {describe(out)}"
                         + (hint or " (NumPy raises ValueError too)"))
    if not out.dtype.isnative and out.dtype.newbyteorder() == dtype:
        raise ValueError(f"{method}: out is in non-native byte order ({out.dtype}); NumPy refuses it too")
    if out.dtype != dtype:
        raise TypeError(
            f"{method}: out has the wrong dtype; expected {dtype}, got {out.dtype}"
            + ("" if out.dtype.isnative else " (non-native byte order)")
        )
    if shape is not None and tuple(shape) != out.shape:
        raise ValueError(f"{method}: {size_name} must match out.shape when used together ({tuple(shape)} != {out.shape})")
    if not out.flags.writeable:
        raise ValueError(f"{method}: out is read-only")
    _check_no_overlap(out, method)


def check_target(method: str, size, out, dtype, default, size_name: str = "size"):
    """The dtype and shape a fill writes: from `size` and/or `out` (which must
    agree) and `dtype` (else out's, else `default`).  The shape is None when
    neither size nor out is given (a scalar draw)."""
    dt = resolve_dtype(dtype, out, default, method)
    shape = check_size(size, size_name)
    if out is not None:
        check_output(out, dt, shape, method, size_name)
        return dt, out.shape
    check_nbytes(shape or (), dt.itemsize, size_name)
    return dt, shape


def check_shard(global_shape, index):
    """Resolve a NumPy basic index (ints, slices, Ellipsis, None) against a
    global shape.  Returns (global shape, local shape, offset, gstrides): the
    element full[index][i_0, ..., i_k] is global flat C-order element
    offset + sum(i_d * gstrides[d])."""
    gshape = check_size(global_shape, "global_shape")
    if gshape is None:
        raise TypeError("global_shape is required with index=")
    if index is None:
        index = ()
    if not isinstance(index, tuple):
        index = (index,)
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise ValueError("index: an index can only have a single ellipsis ('...')")
    if n_real > len(gshape):
        raise ValueError(f"index: too many indices for global_shape {gshape}: {n_real} > {len(gshape)}")
    expanded = []
    for i in index:
        if i is Ellipsis:
            expanded.extend([slice(None)] * (len(gshape) - n_real))
        else:
            expanded.append(i)
    if Ellipsis not in index:
        expanded.extend([slice(None)] * (len(gshape) - n_real))
    cstrides = [math.prod(gshape[d + 1:]) for d in range(len(gshape))]
    offset, local, gstrides, d = 0, [], [], 0
    for i in expanded:
        if i is None:
            local.append(1)
            gstrides.append(0)
            continue
        n = gshape[d]
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            local.append(len(range(start, stop, step)))
            # a dimension of length 0 or 1 never steps (NumPy allows any step there)
            gstrides.append(step * cstrides[d] if local[-1] > 1 else 0)
            offset += start * cstrides[d] if local[-1] else 0
        else:
            if isinstance(i, (bool, np.bool_)):
                raise TypeError(f"index: booleans are not basic indices, got {describe(i)}")
            try:
                k = operator.index(i)
            except TypeError:
                raise TypeError(f"index: entries must be ints, slices, Ellipsis or None, got {describe(i)}") from None
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {d} with size {n}")
            offset += (k % n) * cstrides[d]
        d += 1
    return gshape, tuple(local), offset, tuple(gstrides)


def check_real(value, name: str) -> float:
    """A finite real scalar (Python or NumPy number, a bool as 0 or 1, or a
    0-d array); not a string, as in NumPy."""
    x = _real(value, name)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def check_real_or_nonfinite(value, name: str) -> float:
    """A real scalar as check_real takes it, NaN and infinities allowed (the
    caller decides what they mean)."""
    return _real(value, name)


def _real(value, name: str) -> float:
    """float(value) for a real scalar, else TypeError naming `name`."""
    if isinstance(value, (complex, np.complexfloating, str, bytes, np.str_, np.bytes_)):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    if isinstance(value, (list, tuple)) and np.ndim(value) != 0:
        raise TypeError(f"{name} must be a scalar, got an array of shape {np.shape(value)}")
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, np.generic) and len(shape) != 0:
        raise TypeError(f"{name} must be a scalar, got {describe(value)}")
    try:
        return float(value)
    except Exception:  # noqa: BLE001 - TypeError, ValueError, or a tensor's RuntimeError
        raise TypeError(f"{name} must be a real number, got {describe(value)}") from None


def check_real_array(value, name: str) -> np.ndarray:
    """An array of real numbers (bools, ints or floats), as float64."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind in "OUS":  # NumPy parses these as float64 too
            try:
                return np.asarray(arr, dtype=np.float64)
            except (TypeError, ValueError):
                pass
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def check_nonnegative(value, name: str) -> float:
    x = check_real(value, name)
    if x < 0:
        raise ValueError(f"{name} must be non-negative, got {x}")
    return x


def check_bounds(low, high, low_name: str = "low", high_name: str = "high") -> tuple[float, float]:
    lo = check_real(low, low_name)
    hi = check_real(high, high_name)
    if lo > hi:
        raise ValueError(f"{low_name} must not exceed {high_name}, got {low_name}={lo} > {high_name}={hi}")
    return lo, hi


def check_stream(stream, name: str = "stream"):
    """None, or a stream id: an int in [0, 2**64), or a name (str).

    A name maps to the first 8 bytes, little-endian, of its BLAKE2b digest
    (digest_size=8) over its UTF-8 encoding.
    """
    if stream is None:
        return None
    if isinstance(stream, str):
        try:
            data = stream.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{name}: the name {describe(stream)} is not valid Unicode text ({exc.reason} at "
                             f"position {exc.start}); a stream name is hashed as UTF-8") from None
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")
    s = _integer(stream, name, "an int or a str")
    if not 0 <= s < _U64:
        raise ValueError(f"{name} must be in [0, 2**64), got {s}")
    return s


def check_start(start, count: int, name: str = "start") -> int:
    """An element offset such that [start, start + count) stays below 2**64."""
    s = _integer(start, name)
    if s < 0:
        raise ValueError(f"{name} must be non-negative, got {s}")
    if s + count > _U64:
        raise ValueError(f"{name}: elements [{s}, {s + count}) run past the end of the stream (2**64)")
    return s


def check_choice(value, name: str, choices) -> str:
    if not isinstance(value, str) or value not in choices:  # (an array would compare element-wise)
        raise ValueError(f"{name} must be one of {list(choices)}, got {describe(value)}")
    return value


def _integer(value, name: str, what: str = "an int") -> int:
    """An integer argument (anything with __index__ but a bool)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from None


def check_nonnegative_int(value, name: str) -> int:
    n = _integer(value, name)
    if n < 0:
        raise ValueError(f"{name} must be non-negative, got {n}")
    return n


def check_positive_int(value, name: str) -> int:
    n = _integer(value, name)
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")
    return n
