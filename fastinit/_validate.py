"""The one place where user input is checked.

Every public entry point runs its arguments through these functions before
anything is allocated or written, so a bad argument raises a clear error
naming it and leaves the caller's buffer untouched.  The rules follow NumPy's
``numpy.random._common.check_output`` where they apply:

* ``out`` that is not an ndarray, or byte-swapped: ValueError; a wrong
  (float) dtype: TypeError; ``size`` different from ``out.shape``:
  ValueError; read-only: ValueError.  Unlike NumPy, a non-contiguous or
  unaligned ``out`` is filled (with the values a contiguous one would get).
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

from ._gpu import DeviceBuffer  # a tensor on a GPU as out= (imports neither torch nor Triton)

_MAXDIM = 64
_U64 = 1 << 64

# The float dtypes fastinit fills (native byte order).  bfloat16 comes from
# ml_dtypes, imported only when asked for, and joins the set when first seen.
_FLOATS = {np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)}


def as_dtype(dtype, name: str = "dtype") -> np.dtype:
    """np.dtype(dtype), also understanding 'bfloat16' without a prior import."""
    if isinstance(dtype, str) and dtype.lower() in ("bfloat16", "bf16"):
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name}: {dtype!r} is not a dtype") from exc


def is_float_dtype(dt: np.dtype) -> bool:
    """float16/32/64 in native byte order, or ml_dtypes' bfloat16."""
    if dt in _FLOATS:
        return True
    if dt.kind == "V" and dt.itemsize == 2 and dt.name == "bfloat16":
        _FLOATS.add(dt)
        return True
    return False


def resolve_dtype(dtype, out, default, method: str) -> np.dtype:
    """The output dtype: `dtype` if given, else out's, else `default`."""
    if dtype is None:
        if isinstance(out, (np.ndarray, DeviceBuffer)):
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
    dt = as_dtype(dtype)
    if not is_float_dtype(dt):
        raise TypeError(
            f"{method}: unsupported dtype {dt}; use float32, float64, float16 or bfloat16"
        )
    return dt


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
        try:
            dims = tuple(index(s) for s in size)
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of ints, got {size!r}") from None
    if len(dims) > _MAXDIM:
        raise ValueError(f"{name} has {len(dims)} dimensions; at most {_MAXDIM} are supported")
    if any(d < 0 for d in dims):
        raise ValueError(f"{name}: negative dimensions are not allowed, got {dims}")
    check_nbytes(dims, 1, name)
    return dims


def check_nbytes(shape, itemsize: int, name: str = "size") -> int:
    """The element count of shape, if it and its byte size fit in a signed 64-bit int."""
    n = math.prod(shape)
    if n * max(itemsize, 1) >= 1 << 63:
        raise ValueError(f"{name}: {tuple(shape)} has too many elements ({n} of {itemsize} bytes)")
    return n


def check_output(out, dtype: np.dtype, shape, method: str, size_name: str = "size") -> None:
    """NumPy's rules for `out=` (see the module docstring)."""
    if not isinstance(out, (np.ndarray, DeviceBuffer)):
        raise ValueError(f"{method}: out must be a numpy.ndarray, got {type(out).__name__} (NumPy raises "
                         "ValueError too)")
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
                raise TypeError(f"index: booleans are not basic indices, got {i!r}")
            try:
                k = operator.index(i)
            except TypeError:
                raise TypeError(f"index: entries must be ints, slices, Ellipsis or None, got {i!r}") from None
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {d} with size {n}")
            offset += (k % n) * cstrides[d]
        d += 1
    return gshape, tuple(local), offset, tuple(gstrides)


def check_real(value, name: str) -> float:
    """A finite real scalar (Python or NumPy number, a bool as 0 or 1, or a
    0-d array); not a string, as in NumPy."""
    if isinstance(value, (complex, np.complexfloating, str, bytes, np.str_, np.bytes_)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) != 0:
        raise TypeError(f"{name} must be a scalar, got an array of shape {np.shape(value)}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def check_real_or_nonfinite(value, name: str) -> float:
    """A real scalar as check_real takes it, NaN and infinities allowed (the
    caller decides what they mean)."""
    if isinstance(value, (complex, np.complexfloating, str, bytes, np.str_, np.bytes_)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) != 0:
        raise TypeError(f"{name} must be a scalar, got an array of shape {np.shape(value)}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None


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
            raise ValueError(f"{name}: the name {stream!r} is not valid Unicode text ({exc.reason} at "
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
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
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
