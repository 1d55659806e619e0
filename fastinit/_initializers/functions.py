"""The module-level initializer functions: each random one is its Generator
method with an extra ``rng=`` (None, an int seed, a SeedSequence or a
Generator), as SPEC 7 has it."""

from __future__ import annotations

import functools
import inspect
import re

from .. import _validate as V
from .fans import calculate_gain, compute_fans
from .generator import Generator, as_generator
from .methods import DETERMINISTIC_INITIALIZERS, RANDOM_INITIALIZERS, keyword_only_after_shape

_METHOD_NAME = re.compile(r"^(?:InitializerMethods|Generator)\.\w+\(\)")
_RNG = inspect.Parameter("rng", inspect.Parameter.KEYWORD_ONLY, default=None)


def _module_function(name: str):
    method = getattr(Generator, name)
    params = list(inspect.signature(method).parameters.values())[1:]  # without self
    keywords = [p.name for p in params if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(method)
    def function(*args, rng=None, **kwargs):
        if len(args) > 1:
            raise TypeError(V.positional_hint(f"fastinit.{name}", args, keywords))
        try:
            return getattr(as_generator(rng), name)(*args, **kwargs)
        except TypeError as exc:  # a bad call names this function, not the method behind it
            text = str(exc)
            fixed = _METHOD_NAME.sub(f"fastinit.{name}()", text, count=1)
            if fixed != text:
                raise TypeError(fixed) from None
            raise

    pos = [p for p in params if p.kind is not p.KEYWORD_ONLY]
    kw = [p for p in params if p.kind is p.KEYWORD_ONLY]
    function.__signature__ = inspect.Signature(pos + kw + [_RNG])
    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__  # so pickle finds it here (dask ships it to workers)
    del function.__wrapped__
    return function


@keyword_only_after_shape("fastinit.{}")
def uniform(shape=None, *, low=0.0, high=1.0, out=None, dtype=None, rng=None, stream=None, start=None,
            global_shape=None, index=None):
    """U[low, high) (torch's uniform_, whose a, b are low, high); float32 by
    default.  Generator.uniform is NumPy's method (float64 by default)."""
    return as_generator(rng)._uniform_init(shape, low, high, out, dtype, stream, start, global_shape, index)


@keyword_only_after_shape("fastinit.{}")
def normal(shape=None, *, mean=0.0, std=1.0, out=None, dtype=None, rng=None, stream=None, start=None,
           global_shape=None, index=None):
    """N(mean, std) (torch's normal_); float32 by default.  Generator.normal is
    NumPy's method (loc, scale; float64 by default)."""
    return as_generator(rng)._normal_init(shape, mean, std, out, dtype, stream, start, global_shape, index)


globals().update({name: _module_function(name) for name in RANDOM_INITIALIZERS})
globals().update(DETERMINISTIC_INITIALIZERS)

__all__ = ["uniform", "normal", "calculate_gain", "compute_fans", *RANDOM_INITIALIZERS, *DETERMINISTIC_INITIALIZERS]
