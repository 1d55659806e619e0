"""The cuda backend: fills of torch tensors on a GPU, through Triton kernels.

A DeviceBuffer wraps a torch tensor so that it can stand where fastinit's
initializers take an ``out=`` ndarray: fastinit._validate accepts it (it
has an ndarray's shape, dtype, strides and flags) and the backend seam
(fastinit._backends.fill) hands its fills to fill() below, so parameters,
fans, bounds and shards are derived by the same Python code as for the
CPU, and only the last step (the kernel) differs.  The values equal the
CPU fill's bit for bit (see triton_kernels).

Nothing here imports torch or Triton until a DeviceBuffer is made: fastinit
works without either.
"""

from __future__ import annotations

import numpy as np

from .._contract import dtype_code

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
    output buffer: shape, dtype (NumPy's), size, nbytes and strides (in
    bytes) as an ndarray has them.  Mask assignment (``buf[mask] = value``, what eye and dirac
    do) is supported; other NumPy operations are not."""

    __slots__ = ("tensor", "shape", "dtype", "size", "nbytes", "ndim", "strides")
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
        self.strides = tuple(st * dt.itemsize for st in tensor.stride())

    def __setitem__(self, mask, value):
        import torch

        m = torch.from_numpy(np.asarray(mask, dtype=bool)).to(self.tensor.device)
        self.tensor[m] = float(value)

    def __repr__(self):
        return f"DeviceBuffer({self.shape}, {self.dtype}, {self.tensor.device})"

    def assign(self, values: np.ndarray) -> None:
        """Copy an ndarray of this shape and dtype (computed on the CPU) in."""
        import torch

        a = np.ascontiguousarray(values)
        if a.dtype.itemsize == 2:
            src = torch.from_numpy(a.view(np.int16)).view(self.tensor.dtype)
        else:
            src = torch.from_numpy(a)
        self.tensor.copy_(src)


_TRITON = None


def view(tensor):
    """A DeviceBuffer of a CUDA tensor fastinit can fill (float32, float64,
    float16, bfloat16, strided; Triton installed), else None."""
    global _TRITON
    import torch

    if tensor.device.type != "cuda" or tensor.layout is not torch.strided or _np_dtype(tensor.dtype) is None:
        return None
    if _TRITON is None:
        try:
            import triton  # noqa: F401
            _TRITON = True
        except ImportError:
            _TRITON = False
    return DeviceBuffer(tensor) if _TRITON else None


def fill(target, request) -> None:
    """Fill target.out (a DeviceBuffer) with the request's values: the
    meaning of the cpu backend's fill, on the GPU."""
    from . import triton_kernels

    buf = target.out
    r = request
    triton_kernels.launch(buf.tensor, r.kind, dtype_code(buf.dtype), r.a, r.b, r.c, r.d, r.lo, r.hi, target.key,
                          target.stream, target.start, target.gstrides)
