"""Where a torch tensor becomes a fill target: the one dispatch point.

Every write of fastinit.torch into a tensor goes through ``write``: it asks
``_as_numpy`` for a fill target, runs the fill, then bumps the tensor's
version counter the way torch's own in-place ops do, so autograd sees the
change ("modified by an inplace operation") instead of silently using the
new values.  Before any byte is written it refuses what torch's in-place
ops refuse (``check_writable``): an inference tensor outside inference mode,
and, for random fills, a tensor whose elements share memory (an expanded or
zero-stride view, whose values would otherwise depend on the thread count).
A tensor ``_as_numpy`` declines (another device, the meta device, another
dtype, a tensor subclass), and a one-value fill (constant, eye, ...) of
shared memory, which torch's own functions write, are left to the caller's
fallback.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .._initializers.generator import Generator, default_rng
from .._initializers.methods import draw_of

_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}

# torch's own texts for the in-place writes it refuses
OVERLAP_TEXT = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
                "location. Please clone() the tensor before performing the operation.")
INFERENCE_TEXT = ("Inplace update to inference tensor outside InferenceMode is not allowed. You can make a clone to "
                  "get a normal tensor before doing inplace update.")


class NotATensorError(AttributeError, TypeError):
    """A drop-in function called with something that is not a torch.Tensor
    (a NumPy array, a list): torch raises AttributeError for it, so this is
    one, and a TypeError."""


def check_tensor(tensor, function: str, numpy_function: str) -> None:
    """Refuse what is not a torch tensor (torch's functions raise
    AttributeError on it), naming what fills a NumPy array instead.  An
    object with ``__torch_function__`` is left to torch."""
    if isinstance(tensor, torch.Tensor) or hasattr(type(tensor), "__torch_function__"):
        return
    raise NotATensorError(f"{function}: tensor must be a torch.Tensor, not {type(tensor).__module__}."
                          f"{type(tensor).__qualname__}; fastinit.{numpy_function}(out=array) fills a NumPy array "
                          "in place")


def has_internal_overlap(shape, strides) -> bool:
    """Whether two elements of a strided layout share a memory location."""
    dims = sorted((abs(int(st)), int(n)) for n, st in zip(shape, strides) if n != 1)
    if any(n == 0 for _, n in dims):
        return False  # no element at all
    if any(st == 0 for st, _ in dims):
        return True
    reach = 0  # the largest offset the smaller-stride dimensions reach
    for st, n in dims:
        if st <= reach:
            break
        reach += st * (n - 1)
    else:
        return False  # every stride steps over all that the smaller ones reach: no two elements meet
    offsets = np.zeros(1, dtype=np.int64)  # an unusual interleaving: look at the offsets themselves
    for st, n in dims:
        offsets = (offsets[:, None] + np.arange(n, dtype=np.int64) * st).reshape(-1)
    return np.unique(offsets).size != offsets.size


def _as_numpy(tensor):
    """A NumPy view of the tensor's memory, or None where fastinit cannot
    write it here (the caller falls back: torch's own function, or a CPU
    fill copied over)."""
    if type(tensor) is not torch.Tensor and not isinstance(tensor, torch.nn.Parameter):
        return None  # DTensor and other tensor subclasses
    if tensor.device.type == "cuda":  # Triton's kernels: the CPU's values (None without Triton)
        from .._backends import cuda

        return cuda.view(tensor.detach())
    if tensor.device.type != "cpu" or tensor.layout is not torch.strided or tensor.is_quantized:
        return None
    t = tensor.detach()
    if tensor.dtype in _DTYPES:
        return t.numpy()
    if tensor.dtype is torch.bfloat16:
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return None


def check_writable(tensor) -> None:
    """Raise what torch raises for an in-place random fill of this tensor,
    before anything is written: RuntimeError for an inference tensor
    outside inference mode, and for a tensor whose elements share memory
    (torch checks zero strides; fastinit refuses every layout where two
    elements meet, as their values would depend on the thread count)."""
    if tensor.is_inference() and not torch.is_inference_mode_enabled():
        raise RuntimeError(INFERENCE_TEXT)
    if shares_memory(tensor):
        raise RuntimeError(OVERLAP_TEXT)


def shares_memory(tensor) -> bool:
    """Whether two elements of a strided tensor share a memory location."""
    if tensor.layout is not torch.strided or tensor.is_contiguous():
        return False  # a contiguous tensor has no two elements in one place
    return has_internal_overlap(tensor.shape, tensor.stride())


def bump_version(tensor) -> None:
    """Advance tensor._version by one, as an in-place torch op does (views
    share their base's counter; inference tensors have none)."""
    if tensor.is_inference():
        return
    torch.autograd.graph.increment_version(tensor)


def write(tensor, fill, host_only: bool = False, same_value: bool = False) -> bool:
    """fill(view of tensor) and bump its version; False (nothing written)
    where fastinit cannot fill this tensor in place.  The view is a NumPy
    array for a CPU tensor, a fastinit._backends.cuda.DeviceBuffer for a CUDA one;
    host_only fills (orthogonal, sparse) of a CUDA tensor are computed in a
    CPU array and copied over (the same values).  same_value: one value for
    every element (constant, zeros, ones, eye, dirac), which torch's own
    functions write also where elements share memory: such a tensor is
    left to them (False) instead of refused."""
    view = _as_numpy(tensor)
    if view is None:
        return False
    if same_value and shares_memory(tensor):
        return False
    check_writable(tensor)
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
    runs on a CPU array for a CUDA tensor): its Draw says so."""
    return draw_of(fn).whole


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
