"""Sharded initialization: a rank fills only its part, equal to that part of
the single-process initialization."""

from __future__ import annotations

from .. import _api
from ._fill import bump_version, host_only, write


def shard_index(global_shape, rank: int, world_size: int, dim: int = 0) -> tuple:
    """The index of rank's part when dimension `dim` of a tensor is split
    into world_size chunks as torch.chunk (and DTensor's Shard) split it:
    chunks of ceil(n / world_size), the last ones shorter or empty."""
    shape = tuple(int(s) for s in global_shape)
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    dim = dim % len(shape)
    n = shape[dim]
    chunk = -(-n // world_size)
    start = min(rank * chunk, n)
    return (slice(None),) * dim + (slice(start, min(start + chunk, n)),)


def _init_function(init):
    if callable(init):
        return init
    fn = getattr(_api, init, None)
    if fn is None:
        raise ValueError(f"init: unknown initializer {init!r}")
    return fn


def init_shard_(tensor, init, global_shape, index, *, rng=0, stream=None, **kwargs):
    """Fill `tensor`, the part global_shape[index] of a tensor, with what the
    initializer `init` (a fastinit function or its name, e.g. "he_normal")
    gives that part of the whole: the same on every rank for the same rng.
    `rng` is an int seed or a fastinit.Generator in the same state everywhere."""
    fn = _init_function(init)
    if not write(tensor, lambda v: fn(out=v, global_shape=tuple(global_shape), index=index, rng=rng, stream=stream,
                                      **kwargs), host_only=host_only(fn)):
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
