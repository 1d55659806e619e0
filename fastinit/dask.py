"""Initializers as dask arrays.

    import fastinit.dask as fd
    w = fd.he_normal((65536, 8192), chunks=(4096, 8192), rng=0, dtype="bfloat16")

Each chunk is a task that computes only its own values, as the part
``full[chunk]`` of the in-memory initialization (``global_shape=``,
``index=``), so the chunks can run anywhere, in any order, and the array
equals ``fastinit.he_normal((65536, 8192), rng=0, dtype="bfloat16")``.

``rng`` is an int seed, a fastinit Generator or None (fresh entropy).  With
``stream=None`` the array is one sequential draw: the Generator's position
moves past the whole tensor when the array is built, so two arrays built in
turn from one Generator get the same values as two in-memory draws.
orthogonal and sparse need the whole tensor: each of their chunks computes
it and cuts its part.
"""

from __future__ import annotations

import math

import numpy as np

from . import _api
from . import _validate as V
from ._generator import default_rng
from ._initializers import DETERMINISTIC_INITIALIZERS, RANDOM_INITIALIZERS

__all__ = ["uniform", "normal", *RANDOM_INITIALIZERS, *DETERMINISTIC_INITIALIZERS]


def _chunk(fn, global_shape, index, kwargs):
    return fn(global_shape=global_shape, index=index, **kwargs)


def _array(name, fn, shape, chunks, dt, kwargs):
    import dask.array as da
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    chunks = da.core.normalize_chunks(chunks, shape, dtype=dt)
    token = f"fastinit-{name}-" + tokenize(name, shape, chunks, str(dt), sorted((k, repr(v)) for k, v in kwargs.items()))
    bounds = [np.cumsum((0,) + c) for c in chunks]
    dsk = {}
    for block in np.ndindex(*[len(c) for c in chunks]):
        index = tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, block))
        dsk[(token,) + block] = (_chunk, fn, shape, index, kwargs)
    return da.Array(HighLevelGraph.from_collections(token, dsk, dependencies=()), token, chunks, dtype=dt)


def _random(name):
    fn = getattr(_api, name)

    def initializer(shape, *args, chunks="auto", rng=None, stream=None, dtype=None, **kwargs):
        shape = V.check_size(shape, "shape")
        dt = V.resolve_dtype(dtype, None, np.float32, name)
        g = default_rng(rng)
        if stream is None:  # one sequential draw: take the whole tensor's blocks now
            address = {"stream": 0, "start": g._reserve(math.prod(shape), dt)}
        else:
            address = {"stream": stream}
        # validate everything once, here, on a zero-size part of the tensor
        fn(None, *args, global_shape=shape, index=tuple(slice(0, 0) for _ in shape), rng=g, dtype=dt, **address,
           **kwargs)
        kw = dict(kwargs, rng=g, dtype=dt, **address)
        if args:
            kw["_args"] = args
        return _array(name, _with_args(fn), shape, chunks, dt, kw)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__doc__ = f"fastinit.{name} as a dask array of `shape` in `chunks`.\n\n{fn.__doc__ or ''}"
    return initializer


def _with_args(fn):
    return _PositionalArgs(fn)


class _PositionalArgs:
    """fn(None, *_args, **kwargs): an initializer's arguments after `shape`
    (picklable, for tasks that run in other processes)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, _args=(), **kwargs):
        return self.fn(None, *_args, **kwargs)

    def __reduce__(self):
        return (_PositionalArgs, (self.fn,))


def _deterministic(name):
    fn = DETERMINISTIC_INITIALIZERS[name]

    def initializer(shape, *args, chunks="auto", dtype=None, **kwargs):
        shape = V.check_size(shape, "shape")
        dt = V.resolve_dtype(dtype, None, np.float32, name)
        fn(None, *args, global_shape=shape, index=tuple(slice(0, 0) for _ in shape), dtype=dt, **kwargs)
        kw = dict(kwargs, dtype=dt)
        if args:
            kw["_args"] = args
        return _array(name, _with_args(fn), shape, chunks, dt, kw)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__doc__ = f"fastinit.{name} as a dask array of `shape` in `chunks`.\n\n{fn.__doc__ or ''}"
    return initializer


globals().update({name: _random(name) for name in ("uniform", "normal", *RANDOM_INITIALIZERS)})
globals().update({name: _deterministic(name) for name in DETERMINISTIC_INITIALIZERS})
