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

import inspect
import math

import numpy as np

from ._initializers import functions as _functions
from . import _validate as V
from ._initializers.generator import as_generator
from ._initializers.methods import DETERMINISTIC_INITIALIZERS, RANDOM_INITIALIZERS, reserve

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


class _Part:
    """fn(None, **kwargs): an initializer called for one part (picklable, for
    tasks that run in other processes)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, **kwargs):
        return self.fn(None, **kwargs)

    def __reduce__(self):
        return (_Part, (self.fn,))


def _make(name, fn, random: bool):
    keywords = [p.name for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]

    def initializer(shape, *args, chunks="auto", dtype=None, rng=None, stream=None, **kwargs):
        if args:  # as the in-memory initializers: only the shape is positional
            raise TypeError(V.positional_hint(f"fastinit.dask.{name}", (shape, *args), keywords))
        shape = V.check_size(shape, "shape")
        if shape is None:
            raise TypeError(f"fastinit.dask.{name}: shape is required")
        dt = V.resolve_dtype(dtype, None, np.float32, name)
        kw = dict(kwargs, dtype=dt)
        if random:
            g = as_generator(rng)
            kw.update(rng=g, stream=0 if stream is None else stream, start=0)
        elif rng is not None or stream is not None:
            raise TypeError(f"{name} takes no rng or stream: it is not random")
        # validate everything once, here, on a zero-size part of the tensor
        fn(None, global_shape=shape, index=tuple(slice(0, 0) for _ in shape), **kw)
        if random and stream is None:  # one sequential draw: take the whole tensor's blocks now
            kw["start"] = reserve(g, fn, math.prod(shape), dt)
        return _array(name, _Part(fn), shape, chunks, dt, kw)

    initializer.__name__ = initializer.__qualname__ = name
    initializer.__doc__ = f"fastinit.{name} as a dask array of `shape` in `chunks`.\n\n{fn.__doc__ or ''}"
    return initializer


globals().update({name: _make(name, getattr(_functions, name), True) for name in ("uniform", "normal", *RANDOM_INITIALIZERS)})
globals().update({name: _make(name, fn, False) for name, fn in DETERMINISTIC_INITIALIZERS.items()})
