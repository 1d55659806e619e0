"""A torch.nn.init drop-in: the same functions, signatures and defaults,
filling CPU tensors in place through fastinit (no copy of the tensor).

    import fastinit.torch as fit
    fit.kaiming_normal_(w)                 # like torch.nn.init.kaiming_normal_
    with fit.patch():                      # route torch.nn.init through fastinit,
        model = MyModel()                  # so nn.Linear, nn.Conv*, nn.Embedding too
    fit.install(); fit.uninstall()         # ... for good, and back

float32, float64, float16 and bfloat16 CPU tensors, contiguous or not, are
filled in place, and CUDA tensors too where Triton is installed (Triton
kernels, the same values as on the CPU); anything else (another device, the meta device, other
dtypes, sparse or DTensor parameters) goes to torch's own function.

``generator=`` takes a ``torch.Generator`` (or None: torch's default
generator), a ``fastinit.Generator`` or an int seed.  A torch generator is
used the way torch uses it, one draw per call: each call takes the next
integer ``s = torch.randint(0, 2**63 - 1, (), generator=g)`` and fills with
``fastinit.default_rng(s)`` (key ``SeedSequence(s).generate_state(2)``), so
``torch.manual_seed(0)`` makes a fastinit-initialized model reproducible and
reseeding starts over.  Values differ from torch's (another generator); the
distributions are torch's.

Sharded initialization: ``init_dtensor_`` fills a DTensor's local shard, and
``init_shard_`` with ``shard_index`` a plain rank/world-size part, so that
the assembled tensor equals the single-process initialization.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings

import numpy as np
import torch
from torch.nn import init as _tinit

from . import _api, _gpu
from ._fans import calculate_gain as _calculate_gain
from ._generator import Generator, default_rng

__all__ = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
           "calculate_gain", "patch", "install", "uninstall", "installed", "shard_index", "init_shard_",
           "init_dtensor_"]

_PATCHED = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
            "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
            "calculate_gain"]
_ORIGINAL = {name: getattr(_tinit, name) for name in _PATCHED}

_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}


def _as_numpy(tensor):
    """A NumPy view of the tensor's memory, or None where torch must do it."""
    if type(tensor) is not torch.Tensor and not isinstance(tensor, torch.nn.Parameter):
        return None  # DTensor and other tensor subclasses
    if tensor.device.type == "cuda":  # Triton's kernels: the CPU's values
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


def _rng(generator) -> Generator:
    if isinstance(generator, Generator):
        return generator
    if generator is None:
        generator = torch.default_generator
    if isinstance(generator, torch.Generator):
        return default_rng(int(torch.randint(0, 2**63 - 1, (), generator=generator)))
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return default_rng(int(generator))
    raise TypeError(f"generator must be a torch.Generator, a fastinit.Generator or an int, not {type(generator).__name__}")


def _fastinit_or_torch(name, tensor, call, *args, **kwargs):
    """call(numpy view) where fastinit can fill the tensor, else torch's own."""
    view = _as_numpy(tensor)
    if view is None or (isinstance(kwargs.get("generator"), torch.Generator)
                        and kwargs["generator"].device.type != "cpu"):
        return _ORIGINAL[name](tensor, *args, **kwargs)
    if isinstance(view, _gpu.DeviceBuffer) and name in ("orthogonal_", "sparse_"):
        view.assign(call(np.empty(view.shape, view.dtype)))  # computed on the CPU, copied
    else:
        call(view)
    return tensor


# ------------------------------------------------------------ torch.nn.init


def calculate_gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain's table."""
    return _calculate_gain(nonlinearity, param)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    return _fastinit_or_torch("uniform_", tensor, lambda v: _api.uniform(out=v, low=a, high=b, rng=_rng(generator)),
                              a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    return _fastinit_or_torch("normal_", tensor, lambda v: _api.normal(out=v, mean=mean, std=std, rng=_rng(generator)),
                              mean, std, generator=generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    return _fastinit_or_torch(
        "trunc_normal_", tensor,
        lambda v: _api.truncated_normal(out=v, mean=mean, std=std, a=a, b=b, rng=_rng(generator)),
        mean, std, a, b, generator=generator)


def constant_(tensor, val):
    return _fastinit_or_torch("constant_", tensor, lambda v: _api.constant(out=v, value=val), val)


def ones_(tensor):
    return _fastinit_or_torch("ones_", tensor, lambda v: _api.ones(out=v))


def zeros_(tensor):
    return _fastinit_or_torch("zeros_", tensor, lambda v: _api.zeros(out=v))


def eye_(tensor):
    return _fastinit_or_torch("eye_", tensor, lambda v: _api.eye(out=v))


def dirac_(tensor, groups=1):
    return _fastinit_or_torch("dirac_", tensor, lambda v: _api.dirac(out=v, groups=groups), groups)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    return _fastinit_or_torch("xavier_uniform_", tensor,
                              lambda v: _api.xavier_uniform(out=v, gain=gain, rng=_rng(generator)),
                              gain, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    return _fastinit_or_torch("xavier_normal_", tensor,
                              lambda v: _api.xavier_normal(out=v, gain=gain, rng=_rng(generator)),
                              gain, generator=generator)


def _kaiming(name, init, tensor, a, mode, nonlinearity, generator):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return tensor
    return _fastinit_or_torch(
        name, tensor, lambda v: init(out=v, a=a, mode=mode, nonlinearity=nonlinearity, rng=_rng(generator)),
        a, mode, nonlinearity, generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return _kaiming("kaiming_uniform_", _api.he_uniform, tensor, a, mode, nonlinearity, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return _kaiming("kaiming_normal_", _api.he_normal, tensor, a, mode, nonlinearity, generator)


def orthogonal_(tensor, gain=1, generator=None):
    return _fastinit_or_torch("orthogonal_", tensor, lambda v: _api.orthogonal(out=v, gain=gain, rng=_rng(generator)),
                              gain, generator=generator)


def sparse_(tensor, sparsity, std=0.01, generator=None):
    return _fastinit_or_torch("sparse_", tensor,
                              lambda v: _api.sparse(out=v, sparsity=sparsity, std=std, rng=_rng(generator)),
                              sparsity, std, generator=generator)


# ----------------------------------------------------------------- patching

_depth = 0


def installed() -> bool:
    """Whether torch.nn.init is routed through fastinit now."""
    return _tinit.kaiming_uniform_ is kaiming_uniform_


def install() -> None:
    """Route torch.nn.init through fastinit for good (see uninstall)."""
    for name in _PATCHED:
        setattr(_tinit, name, globals()[name])


def uninstall() -> None:
    """Give torch.nn.init its own functions back."""
    for name in _PATCHED:
        setattr(_tinit, name, _ORIGINAL[name])


@contextlib.contextmanager
def patch():
    """Within the block, torch.nn.init (and so the default initialization of
    nn.Linear, nn.Conv*, nn.Embedding, ...) runs through fastinit."""
    global _depth
    was = installed()
    install()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not was and _depth == 0:
            uninstall()


# ----------------------------------------------------------------- shards


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
    view = _as_numpy(tensor)
    if view is None:
        raise TypeError("init_shard_ fills float32, float64, float16 or bfloat16 CPU or CUDA tensors")
    _gpu.run(_init_function(init), view, global_shape=tuple(global_shape), index=index, rng=rng, stream=stream,
             **kwargs)
    return tensor


def init_dtensor_(dtensor, init, *, rng=0, stream=None, **kwargs):
    """Fill a DTensor's local shard so that the assembled tensor equals the
    single-process `init` of its global shape (placements Shard and
    Replicate)."""
    from torch.distributed.tensor import DTensor
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    if not isinstance(dtensor, DTensor):
        raise TypeError(f"init_dtensor_ takes a DTensor, not {type(dtensor).__name__}")
    local = dtensor.to_local()
    shape, offset = compute_local_shape_and_global_offset(dtensor.shape, dtensor.device_mesh, dtensor.placements)
    index = tuple(slice(o, o + s) for o, s in zip(offset, shape))
    init_shard_(local, init, tuple(dtensor.shape), index, rng=rng, stream=stream, **kwargs)
    return dtensor
