"""torch.nn.init's functions, signatures and defaults, filling through fastinit.

Bad input raises what torch raises: fastinit's ValueError and OverflowError
are re-raised as ``InitValueError`` (a ValueError and a RuntimeError) and
``InitOverflowError`` (an OverflowError and a RuntimeError), so code that
catches torch's RuntimeError, or fastinit's own type, catches them.  A
non-tensor (a NumPy array) raises ``NotATensorError``, an AttributeError as
torch's and a TypeError, naming the fastinit function for arrays.
"""

from __future__ import annotations

import functools
import warnings

import torch
from torch.nn import init as _tinit

from .._initializers import functions as _functions
from .. import _validate as V
from ._fill import NotATensorError, as_rng, check_tensor, host_only, write  # noqa: F401  (NotATensorError: exported)

FUNCTIONS = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
             "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
             "calculate_gain"]
# torch's deprecated spellings without the trailing underscore
DEPRECATED = ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform",
              "kaiming_normal", "orthogonal", "sparse"]
# torch's own functions, taken once at import, before any patch
ORIGINAL = {name: getattr(_tinit, name) for name in FUNCTIONS + DEPRECATED}


class InitValueError(ValueError, RuntimeError):
    """Bad input to a fastinit.torch function: a ValueError and, as torch
    raises for the same input, a RuntimeError."""


class InitOverflowError(OverflowError, RuntimeError):
    """A value that does not fit the tensor's dtype (torch raises
    RuntimeError, fastinit OverflowError: this is both)."""


# the fastinit function that fills a NumPy array as each drop-in fills a tensor
NUMPY_FUNCTION = {"uniform_": "uniform", "normal_": "normal", "trunc_normal_": "truncated_normal",
                  "constant_": "constant", "ones_": "ones", "zeros_": "zeros", "eye_": "eye", "dirac_": "dirac",
                  "xavier_uniform_": "xavier_uniform", "xavier_normal_": "xavier_normal",
                  "kaiming_uniform_": "he_uniform", "kaiming_normal_": "he_normal", "orthogonal_": "orthogonal",
                  "sparse_": "sparse"}
# fills torch also allows on a tensor whose elements share memory (expanded)
_SAME_VALUE = ("constant_", "ones_", "zeros_", "eye_", "dirac_")


def _fastinit_or_torch(name, tensor, call, *args, **kwargs):
    """call(numpy view) where fastinit can fill the tensor, else torch's own."""
    check_tensor(tensor, name, NUMPY_FUNCTION[name])
    gen = kwargs.get("generator")
    if isinstance(gen, torch.Generator) and gen.device.type != "cpu":
        return ORIGINAL[name](tensor, *args, **kwargs)
    try:
        done = write(tensor, call, host_only=host_only(getattr(_functions, NUMPY_FUNCTION[name])), same_value=name in _SAME_VALUE)
    except OverflowError as e:
        raise InitOverflowError(*e.args) from e
    except ValueError as e:
        raise InitValueError(*e.args) from e
    if not done:
        return ORIGINAL[name](tensor, *args, **kwargs)
    return tensor


def calculate_gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain itself, so that every input (a NaN or
    infinite slope included) gives what torch gives.  fastinit.calculate_gain
    has the same table and refuses non-finite slopes."""
    return ORIGINAL["calculate_gain"](nonlinearity, param)


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """U(a, b) in place.  a > b or a non-finite bound raises InitValueError
    (a RuntimeError, as torch)."""
    return _fastinit_or_torch("uniform_", tensor, lambda v: _functions.uniform(out=v, low=a, high=b, rng=as_rng(generator)),
                              a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """N(mean, std) in place.  std < 0 or NaN raises InitValueError (a
    RuntimeError, as torch).  Stricter than torch on purpose: an infinite
    std or mean, or a NaN mean, is refused (torch fills inf/NaN)."""
    return _fastinit_or_torch("normal_", tensor, lambda v: _functions.normal(out=v, mean=mean, std=std, rng=as_rng(generator)),
                              mean, std, generator=generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std) truncated to [a, b] in place.  a > b or a NaN bound
    raises InitValueError (a RuntimeError, as torch); a == b fills a,
    rounded to the dtype, as torch does (whatever the mean; one draw is
    still taken from a torch generator).  Different from torch on purpose:
    an infinite std or mean, an infinite bound or a negative std is refused
    with InitValueError, and std = 0 fills the mean clipped to [a, b], the
    limit of the distribution (torch raises ZeroDivisionError)."""
    def fill(v):
        rng = as_rng(generator)
        if _same_bounds(a, b):  # a point: torch fills it (fastinit.truncated_normal wants a < b)
            V.check_real(mean, "mean")
            V.check_nonnegative(std, "std")
            try:
                return _functions.constant(out=v, value=V.check_real(a, "a"))
            except OverflowError:
                raise OverflowError(f"a and b: {float(a)!r} overflows the tensor's dtype {v.dtype}") from None
        return _functions.truncated_normal(out=v, mean=mean, std=std, a=a, b=b, rng=rng)

    return _fastinit_or_torch("trunc_normal_", tensor, fill, mean, std, a, b, generator=generator)


def _same_bounds(a, b) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False  # not numbers: truncated_normal says what is wrong


def constant_(tensor, val):
    """Fill with val.  A val the dtype cannot hold (1e6 in float16) raises
    InitOverflowError (a RuntimeError, as torch)."""
    return _fastinit_or_torch("constant_", tensor, lambda v: _functions.constant(out=v, value=val), val)


def ones_(tensor):
    return _fastinit_or_torch("ones_", tensor, lambda v: _functions.ones(out=v))


def zeros_(tensor):
    return _fastinit_or_torch("zeros_", tensor, lambda v: _functions.zeros(out=v))


def eye_(tensor):
    return _fastinit_or_torch("eye_", tensor, lambda v: _functions.eye(out=v))


def dirac_(tensor, groups=1):
    return _fastinit_or_torch("dirac_", tensor, lambda v: _functions.dirac(out=v, groups=groups), groups)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    return _fastinit_or_torch("xavier_uniform_", tensor,
                              lambda v: _functions.xavier_uniform(out=v, gain=gain, rng=as_rng(generator)),
                              gain, generator=generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    return _fastinit_or_torch("xavier_normal_", tensor,
                              lambda v: _functions.xavier_normal(out=v, gain=gain, rng=as_rng(generator)),
                              gain, generator=generator)


def _kaiming(name, init, tensor, a, mode, nonlinearity, generator):
    check_tensor(tensor, name, NUMPY_FUNCTION[name])
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return tensor
    return _fastinit_or_torch(
        name, tensor, lambda v: init(out=v, a=a, mode=mode, nonlinearity=nonlinearity, rng=as_rng(generator)),
        a, mode, nonlinearity, generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return _kaiming("kaiming_uniform_", _functions.he_uniform, tensor, a, mode, nonlinearity, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    return _kaiming("kaiming_normal_", _functions.he_normal, tensor, a, mode, nonlinearity, generator)


def orthogonal_(tensor, gain=1, generator=None):
    return _fastinit_or_torch("orthogonal_", tensor,
                              lambda v: _functions.orthogonal(out=v, gain=gain, rng=as_rng(generator)),
                              gain, generator=generator)


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Martens' sparse init in place.  Stricter than torch on purpose: a
    sparsity outside [0, 1] is refused with InitValueError (torch clips the
    count of zeros silently)."""
    return _fastinit_or_torch("sparse_", tensor,
                              lambda v: _functions.sparse(out=v, sparsity=sparsity, std=std, rng=as_rng(generator)),
                              sparsity, std, generator=generator)


def _deprecated(new):
    old = new.__name__[:-1]

    @functools.wraps(new)
    def alias(*args, **kwargs):
        # torch's own category and text, so filters written for torch apply
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
                      FutureWarning, stacklevel=2)
        return new(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"{old}(...): deprecated spelling of {new.__name__}, filling through fastinit."
    del alias.__wrapped__
    return alias


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
