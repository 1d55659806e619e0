"""The backend seam: one ``fill(target, request)`` for every kind of buffer.

A FillRequest (what to compute: a kind of the stream contract and its
parameter slots) and a FillTarget (where: the buffer, the key and stream,
the global index of each element) are built once per call by the
initializers (fastinit/_initializers/draws.py); the backend that owns the
buffer's type writes the values:

* cpu: NumPy arrays, by the compiled core (threads and SIMD policy here);
* cuda: torch tensors on a GPU (DeviceBuffer), by Triton kernels.

A new backend is one module with a ``fill(target, request)``, its buffer
type registered here (``register(buffer_type, "module")``).  Backends are imported at their first fill,
so that importing fastinit stays cheap and the cuda one never imports
torch or Triton unless a tensor arrives.
"""

from __future__ import annotations

import importlib

import numpy as np

from .cuda import DeviceBuffer  # the buffer type only: imports neither torch nor Triton

# buffer type -> the module (in this package) that fills it
BACKENDS = {np.ndarray: "cpu", DeviceBuffer: "cuda"}
BUFFER_TYPES = tuple(BACKENDS)  # what an out= may be (fastinit._validate reads it at each check)

_BY_TYPE: dict = {}


def register(buffer_type: type, module: str) -> None:
    """Fill buffers of buffer_type (and its subclasses) with the backend
    module fastinit._backends.<module>."""
    global BUFFER_TYPES
    BACKENDS[buffer_type] = module
    BUFFER_TYPES = tuple(BACKENDS)
    _BY_TYPE.clear()


def backend_for(out):
    """The backend module that fills `out` (TypeError for other buffers)."""
    backend = _BY_TYPE.get(type(out))
    if backend is None:
        for kind, name in BACKENDS.items():
            if isinstance(out, kind):  # np.memmap and other ndarray subclasses too
                backend = _BY_TYPE[type(out)] = importlib.import_module(f"{__name__}.{name}")
                break
        else:
            raise TypeError(f"no fastinit backend fills a {type(out).__name__}")
    return backend


def fill(target, request):
    """Fill target.out with request's values; return target.out."""
    backend_for(target.out).fill(target, request)
    return target.out
