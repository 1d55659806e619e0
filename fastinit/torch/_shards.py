"""Sharded initialization: a rank fills only its part, equal to that part of
the single-process initialization."""

from __future__ import annotations

import numbers

import numpy as np

from .. import model as _model
from ._fill import NotATensorError, bump_version, check_tensor, host_only, write
from ._nn_init import InitValueError


def _int(value, name: str) -> int:
    """An int argument (a bool or a float is refused, as torch.chunk refuses them)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return int(value)


def shard_index(global_shape, rank: int, world_size: int, dim: int = 0) -> tuple:
    """The index of rank's part when dimension `dim` of a tensor is split
    into world_size chunks as torch.chunk (and DTensor's Shard) split it:
    chunks of ceil(n / world_size), the last ones shorter or empty.

    A dim outside [-ndim, ndim) raises IndexError, a 0-d global_shape or a
    world_size < 1 InitValueError (a ValueError and, as torch.chunk raises,
    a RuntimeError), a rank, world_size or dim that is not an int TypeError."""
    shape = tuple(_int(s, "global_shape entries") for s in global_shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"global_shape must have non-negative entries, got {shape}")
    rank, world_size, dim = _int(rank, "rank"), _int(world_size, "world_size"), _int(dim, "dim")
    if world_size < 1:
        raise InitValueError(f"world_size must be at least 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    if not shape:
        raise InitValueError("global_shape: a 0-d tensor cannot be split; shard_index needs at least one dimension")
    if not -len(shape) <= dim < len(shape):  # torch.chunk's error for the same dim
        raise IndexError(f"Dimension out of range (expected to be in range of [{-len(shape)}, {len(shape) - 1}], "
                         f"but got {dim})")
    dim = dim % len(shape)
    n = shape[dim]
    chunk = -(-n // world_size)
    start = min(rank * chunk, n)
    return (slice(None),) * dim + (slice(start, min(start + chunk, n)),)


def _init_function(init):
    if callable(init):
        return init
    fn = _model._INITS.get(init) if isinstance(init, str) else None
    if fn is None:
        raise ValueError(f"init: unknown initializer {init!r}; known: {', '.join(sorted(_model._INITS))}")
    return fn


def _part_shape(global_shape, index):
    """The shape of global_shape[index], or None where the index is not one
    NumPy takes (the initializer then says what is wrong with it)."""
    try:
        return np.broadcast_to(np.empty((), dtype=np.int8), tuple(global_shape))[index].shape
    except Exception:
        return None


def init_shard_(tensor, init, global_shape, index, *, rng=0, stream=None, **kwargs):
    """Fill `tensor`, the part global_shape[index] of a tensor, with what the
    initializer `init` (a fastinit function or its name, e.g. "he_normal")
    gives that part of the whole: the same on every rank for the same rng.
    `rng` is an int seed or a fastinit.Generator in the same state everywhere.
    An unknown name, a tensor whose shape is not that of global_shape[index],
    or a tensor torch would not write in place (see fastinit.torch) raises
    before anything is written."""
    fn = _init_function(init)
    name = getattr(fn, "__name__", "")
    try:
        check_tensor(tensor, "init_shard_", f"{name or 'he_normal'}")
    except NotATensorError as e:
        raise NotATensorError(f"{e} (with global_shape= and index= for a part)") from None
    want = _part_shape(global_shape, index)
    if want is not None and tuple(tensor.shape) != tuple(want):
        raise ValueError(f"tensor has shape {tuple(tensor.shape)} but global_shape[index] is {tuple(want)}")
    part = {} if name in _model._DETERMINISTIC else {"rng": rng, "stream": stream}
    if not write(tensor, lambda v: fn(out=v, global_shape=tuple(global_shape), index=index, **part, **kwargs),
                 host_only=host_only(fn)):
        raise TypeError("init_shard_ fills float32, float64, float16 or bfloat16 CPU tensors, or CUDA tensors "
                        "where Triton is installed")
    return tensor


def local_part(dtensor):
    """(local tensor, global shape, index of the local part) of a DTensor
    (placements Shard and Replicate)."""
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    local = dtensor.to_local()
    shape, offset = compute_local_shape_and_global_offset(dtensor.shape, dtensor.device_mesh, dtensor.placements)
    return local, tuple(dtensor.shape), tuple(slice(o, o + s) for o, s in zip(offset, shape))


def init_dtensor_(dtensor, init, *, rng=0, stream=None, **kwargs):
    """Fill a DTensor's local shard so that the assembled tensor equals the
    single-process `init` of its global shape (placements Shard and
    Replicate)."""
    from torch.distributed.tensor import DTensor

    if not isinstance(dtensor, DTensor):
        raise TypeError(f"init_dtensor_ takes a DTensor, not {type(dtensor).__name__}")
    local, shape, index = local_part(dtensor)
    init_shard_(local, init, shape, index, rng=rng, stream=stream, **kwargs)
    if local is not dtensor:
        bump_version(dtensor)  # the wrapper's counter, as an in-place op on the DTensor moves it
    return dtensor
