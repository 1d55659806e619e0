"""Where a torch tensor becomes a fill target: the one dispatch point.

Every write of fastinit.torch into a tensor goes through ``write``: it asks
``_as_numpy`` for a fill target, runs the fill, then bumps the tensor's
version counter the way torch's own in-place ops do, so autograd sees the
change ("modified by an inplace operation") instead of silently using the
new values.  A tensor ``_as_numpy`` declines (another device, the meta
device, another dtype, a tensor subclass) is left to the caller's fallback.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._generator import Generator, default_rng

_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}


def _as_numpy(tensor):
    """A NumPy view of the tensor's memory, or None where fastinit cannot
    write it here (the caller falls back: torch's own function, or a CPU
    fill copied over)."""
    if type(tensor) is not torch.Tensor and not isinstance(tensor, torch.nn.Parameter):
        return None  # DTensor and other tensor subclasses
    if tensor.device.type == "cuda":  # Triton's kernels: the CPU's values (None without Triton)
        from .. import _gpu

        return _gpu.view(tensor.detach())
    if tensor.device.type != "cpu" or tensor.layout is not torch.strided or tensor.is_quantized:
        return None
    t = tensor.detach()
    if tensor.dtype in _DTYPES:
        return t.numpy()
    if tensor.dtype is torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return None


def bump_version(tensor) -> None:
    """Advance tensor._version by one, as an in-place torch op does (views
    share their base's counter; inference tensors have none)."""
    if tensor.is_inference():
        return
    torch.autograd.graph.increment_version(tensor)


def write(tensor, fill, host_only: bool = False) -> bool:
    """fill(view of tensor) and bump its version; False (nothing written)
    where fastinit cannot fill this tensor in place.  The view is a NumPy
    array for a CPU tensor, a fastinit._gpu.DeviceBuffer for a CUDA one;
    host_only fills (orthogonal, sparse) of a CUDA tensor are computed in a
    CPU array and copied over (the same values)."""
    view = _as_numpy(tensor)
    if view is None:
        return False
    if host_only and not isinstance(view, np.ndarray):
        host = np.empty(view.shape, dtype=view.dtype)
        fill(host)
        view.assign(host)
    else:
        fill(view)
    bump_version(tensor)
    return True


def host_only(fn) -> bool:
    """Whether an initializer computes the whole tensor in NumPy (it then
    runs on a CPU array for a CUDA tensor)."""
    return getattr(fn, "__name__", "") in ("orthogonal", "sparse")


def as_rng(generator) -> Generator:
    """A fastinit Generator for a drop-in call's ``generator=``."""
    if isinstance(generator, Generator):
        return generator
    if generator is None:
        generator = torch.default_generator
    if isinstance(generator, torch.Generator):
        return default_rng(int(torch.randint(0, 2**63 - 1, (), generator=generator)))
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return default_rng(int(generator))
    raise TypeError(f"generator must be a torch.Generator, a fastinit.Generator or an int, not {type(generator).__name__}")
