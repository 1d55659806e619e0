"""Fills of torch tensors on a GPU, through Triton kernels.

A DeviceBuffer wraps a torch tensor so that it can stand where fastinit's
initializers take an ``out=`` ndarray: fastinit._validate accepts it and
fastinit._engine.fill hands it to fill() below, so parameters, fans, bounds
and shards are derived by the same Python code as for the CPU, and only the
last step (the kernel) differs.  The values equal the CPU fill's bit for
bit (see _kernels).

Nothing here imports torch or Triton until a DeviceBuffer is made: fastinit
works without either.
"""

from __future__ import annotations

import numpy as np

_NP_DTYPES = None


def _np_dtype(torch_dtype):
    global _NP_DTYPES
    if _NP_DTYPES is None:
        import ml_dtypes
        import torch

        _NP_DTYPES = {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64),
                      torch.float16: np.dtype(np.float16), torch.bfloat16: np.dtype(ml_dtypes.bfloat16)}
    return _NP_DTYPES.get(torch_dtype)


class _Flags:
    writeable = True


class DeviceBuffer:
    """A torch tensor (strided, float32/float64/float16/bfloat16) seen as an
    output buffer: shape, dtype (NumPy's), size and nbytes as an ndarray
    has them.  Mask assignment (``buf[mask] = value``, what eye and dirac
    do) is supported; other NumPy operations are not."""

    __slots__ = ("tensor", "shape", "dtype", "size", "nbytes", "ndim")
    flags = _Flags()

    def __init__(self, tensor):
        dt = _np_dtype(tensor.dtype)
        if dt is None:
            raise TypeError(f"unsupported dtype {tensor.dtype}; use float32, float64, float16 or bfloat16")
        self.tensor = tensor
        self.shape = tuple(tensor.shape)
        self.dtype = dt
        self.ndim = len(self.shape)
        self.size = tensor.numel()
        self.nbytes = self.size * dt.itemsize

    def __setitem__(self, mask, value):
        import torch

        m = torch.from_numpy(np.asarray(mask, dtype=bool)).to(self.tensor.device)
        self.tensor[m] = float(value)

    def __repr__(self):
        return f"DeviceBuffer({self.shape}, {self.dtype}, {self.tensor.device})"


def view(tensor):
    """A DeviceBuffer of a CUDA tensor fastinit can fill, else None."""
    import torch

    if tensor.device.type != "cuda" or tensor.layout is not torch.strided or _np_dtype(tensor.dtype) is None:
        return None
    return DeviceBuffer(tensor)


def available() -> bool:
    """Whether Triton and a CUDA device are there."""
    try:
        import torch
        import triton  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


def fill(buf: DeviceBuffer, kind: int, dtype: int, a: float, b: float, c: float, d: float, lo: float, hi: float,
         key, stream: int, gbase: int, gstrides) -> None:
    """fastinit._core.fill's meaning on a DeviceBuffer."""
    from . import _kernels

    _kernels.launch(buf.tensor, kind, dtype, a, b, c, d, lo, hi, key, stream, gbase, gstrides)
