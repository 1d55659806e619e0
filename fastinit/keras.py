"""Keras 3 initializers and whole-model initialization through fastinit.

    import keras, fastinit.keras as fik
    layer = keras.layers.Dense(64, kernel_initializer=fik.HeNormal(seed=0, stream="dense.kernel"))
    fik.init_model_(model, {"*.bias": "zeros", "*": "glorot_uniform"}, rng=0)   # every variable, by name

Importing this module imports keras (``import fastinit`` never does); it
works with every Keras backend that runs here (JAX, torch, ...), the values
being made by fastinit on the CPU in NumPy and converted once to the
backend's tensor.

Initializers
------------
One class per Keras initializer, spelled as Keras spells it, each a
``keras.initializers.Initializer`` with Keras' semantics (fans of Keras'
``(*kernel, in, out)`` layout, Keras' truncation where Keras truncates) and
fastinit's values: ``HeNormal(seed=s, stream=t)(shape, dtype)`` is
``fastinit.he_normal(shape, layout="keras", truncated=True, rng=s,
stream=t, dtype=dtype)`` bit for bit, as a tensor of the active backend:

=====================================================  ===========================================================
class                                                  fastinit fill (rng=seed, stream=stream, dtype=dtype)
=====================================================  ===========================================================
``HeNormal()``                                         ``he_normal(layout="keras", truncated=True)``
``HeUniform()``                                        ``he_uniform(layout="keras")``
``GlorotNormal()``                                     ``glorot_normal(layout="keras", truncated=True)``
``GlorotUniform()``                                    ``glorot_uniform(layout="keras")``
``LecunNormal()``                                      ``lecun_normal(layout="keras", truncated=True)``
``LecunUniform()``                                     ``lecun_uniform(layout="keras")``
``VarianceScaling(scale, mode, distribution)``         ``variance_scaling(..., layout="keras")`` ("normal" means
                                                       "truncated_normal", as in Keras)
``RandomNormal(mean=0, stddev=0.05)``                  ``normal(mean=mean, std=stddev)``
``RandomUniform(minval=-0.05, maxval=0.05)``           ``uniform(low=minval, high=maxval)``
``TruncatedNormal(mean=0, stddev=0.05)``               ``truncated_normal(mean=mean, std=stddev, a=-2, b=2,
                                                       std_units=True)``
``Orthogonal(gain=1)``                                 ``orthogonal((prod(shape[:-1]), shape[-1]), gain=gain)``
                                                       reshaped to shape (Keras' flattening)
``Zeros()``, ``Ones()``, ``Constant(value=0)``         ``zeros``, ``ones``, ``constant(value=value)``
``Identity(gain=1)``                                   ``eye(gain=gain)`` (2-d only, as Keras)
``Fastinit("sparse(sparsity=0.1)")``                   any fastinit initializer, from the text of a rule
=====================================================  ===========================================================

Fans are Keras' (``keras.initializers`` ``compute_fans``): a 1-d shape
``(n,)`` has fan_in = fan_out = n, a 0-d one 1 and 1, and ``input_axes``/
``output_axes`` (both given) pick the axes; these are passed to fastinit as
``fan_in=``/``fan_out=``, the same numbers ``layout="keras"`` gives for 2 or
more dimensions.  ``seed`` is fastinit's rng seed (a non-negative int); None
draws one per instance at construction from Python's ``random`` (as Keras
does, so ``keras.utils.set_random_seed`` makes it reproducible) and
``get_config`` keeps None, as Keras' own initializers do.  Every call of one
instance gives the same values (one seed, one stream), as a Keras
initializer with an int seed does: give layers distinct ``stream=`` names
(or use ``init_model_``, which draws every variable from its own name).
``stream``: an int in [0, 2**64) or a name (fastinit's named streams).
The dtype is ``keras.backend.standardize_dtype(dtype)`` (``floatx()`` for
None): float16, bfloat16, float32, float64; ``Zeros``/``Ones``/``Constant``/
``Identity`` also fill integer and bool dtypes (by NumPy, as Keras casts).
Every class is registered with ``keras.saving.register_keras_serializable(
package="fastinit")`` (class names ``fastinit>HeNormal``, ...), so a saved
``.keras`` model loads back with fastinit's classes once this module is
imported.

Whole models: ``init_model_``
-----------------------------
``init_model_(model, rules, rng=0)`` sets every float variable of a built
Keras model (``model.weights``: trainable and non-trainable, e.g.
BatchNormalization's moving statistics; integer state is left alone) from
the stream of its name with the first matching rule, the rule language of
``fastinit.init_model`` (a preset's name or ``{glob: "initializer(args)"}``,
then ``normal(std=0.02)``).  A variable's name is its Keras ``path`` with the
model's own name dropped from the front and ``/`` replaced by ``.``:
``"sequential/dense/kernel"`` in a model named ``"sequential"`` is
``"dense.kernel"``, a nested model's ``"encoder/dense_1/bias"`` stays
``"encoder.dense_1.bias"``.  Keras names unnamed layers by counting within a
process (``dense``, ``dense_1``, ...), so name your layers (or start from
``keras.backend.clear_session()``) for names, and so values, that do not
depend on what was built before.  Fans: with ``layout="keras"`` (the
default) every rule whose initializer takes ``layout=`` and does not give
one gets ``layout="keras"``, so ``"he_normal"`` computes He's fan_in of a
Keras kernel; ``layout="torch"`` applies the rules exactly as written.
Either way the values are those of ``fastinit.init_model({name: {"shape":
shape, "dtype": dtype}}, rules=rules', rng=rng)`` bit for bit, rules' being
the rules with that layout written in, for any subset (``names=``) and in
any order, and the same as ``fastinit.torch.init_module_`` gives a tensor
of that name and shape.

Under ``keras.distribution`` (JAX: ``DataParallel``, ``ModelParallel`` with a
``LayoutMap``; Keras has no distribution for torch) values are made by
shards, with ``jax.make_array_from_callback``: ``init_model_`` gives a
variable spread over several devices its new value part by part, and the
initializer classes take Keras' ``layout=`` argument and build a new
variable the same way.  Each device's part is computed alone from
(``global_shape``, ``index``), once per distinct part (a replicated variable
once), never the whole tensor on one host (except orthogonal and sparse,
which need the whole matrix, and integer fills of the constant classes);
the result has the variable's sharding and equals the single-device values
bit for bit.  (A model's own name is dropped from a path only where the
path starts with it: Sequential and subclassed models put it there, a
functional model does not.)
"""

from __future__ import annotations

import inspect
import math
import random as _random

import numpy as np

try:
    import keras
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError("fastinit.keras needs Keras 3 (pip install keras, and a backend: jax, torch or "
                      "tensorflow)", name="keras") from exc
if int(keras.__version__.split(".")[0]) < 3:  # pragma: no cover
    raise ImportError(f"fastinit.keras needs Keras 3, found Keras {keras.__version__}")

from . import _validate as V
from . import model as _model
from ._initializers import functions as _F
from ._initializers.generator import as_generator

__all__ = ["HeNormal", "HeUniform", "GlorotNormal", "GlorotUniform", "LecunNormal", "LecunUniform",
           "VarianceScaling", "RandomNormal", "RandomUniform", "TruncatedNormal", "Orthogonal", "Zeros", "Ones",
           "Constant", "Identity", "STFT", "Fastinit", "init_model_", "variable_name",
           # Keras' other spellings of the same classes
           "IdentityInitializer", "OrthogonalInitializer", "STFTInitializer", "constant", "glorot_normal",
           "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal", "lecun_uniform", "ones",
           "orthogonal", "random_normal", "random_uniform", "stft", "truncated_normal", "variance_scaling", "zeros"]

_register = keras.saving.register_keras_serializable(package="fastinit")


# ------------------------------------------------------------------ helpers


def _np_dtype(kdtype: str) -> np.dtype:
    """The NumPy dtype of a standardized Keras dtype name."""
    if kdtype == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(kdtype)


def _is_float(kdtype) -> bool:
    """Whether fastinit fills this Keras dtype (float16, bfloat16, float32, float64)."""
    try:
        return V.is_float_dtype(_np_dtype(keras.backend.standardize_dtype(kdtype)))
    except (TypeError, ValueError, ImportError):
        return False


def _keras_dtype(dtype, who: str) -> str:
    try:
        return keras.backend.standardize_dtype(dtype)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{who}: dtype: {exc}") from None


def _to_tensor(arr: np.ndarray, kdtype: str):
    return keras.ops.convert_to_tensor(arr, dtype=kdtype)


def _shape(shape, who: str) -> tuple:
    try:
        return tuple(V.check_size(shape, "shape"))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{who}: {exc}") from None


def _keras_fans(shape, input_axes=None, output_axes=None):
    """Keras 3's compute_fans (keras.src.initializers.random_initializers)."""
    if input_axes is not None and output_axes is not None:
        fi = math.prod(shape[a] for a in input_axes)
        fo = math.prod(shape[a] for a in output_axes)
        return int(fi), int(fo)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def _at(shape, index):
    """fastinit's arguments for the whole tensor (index None) or its part
    [index], computed alone from the global shape."""
    return {"shape": shape} if index is None else {"global_shape": shape, "index": index}


def _sharded(part, shape, layout):
    """A jax.Array of shape and layout (a keras TensorLayout or a jax
    Sharding, its mesh abstract under Keras' explicit-axes scope) whose
    every distinct part is part(index), computed once."""
    import jax

    if hasattr(layout, "backend_layout"):  # a keras.distribution.TensorLayout
        layout = layout.backend_layout
    if isinstance(getattr(layout, "mesh", None), jax.sharding.AbstractMesh):
        mesh = jax.sharding.get_mesh()  # the concrete mesh Keras set around the call
        if mesh.empty:
            raise ValueError("layout: a sharding over an abstract mesh, outside any jax.set_mesh scope")
        layout = jax.sharding.NamedSharding(mesh, layout.spec)
    from .jax import _from_parts

    return _from_parts(lambda index: part(index) if shape else part(None), shape, layout)


def _check_seed(seed, who: str):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{who}: seed must be None or a non-negative int (fastinit's rng seed), "
                        f"got {V.describe(seed)}")
    if seed < 0:
        raise ValueError(f"{who}: seed must be a non-negative int, got {int(seed)}")
    return int(seed)


def _check_stream(stream, who: str):
    if stream is None:
        return None
    try:
        V.check_stream(stream, "stream")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{who}: {exc}") from None
    return stream if isinstance(stream, str) else int(stream)


def _check_real(value, name: str, who: str) -> float:
    try:
        return V.check_real(value, name)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{who}: {exc}") from None


def _check_axes(axes, name: str, who: str):
    if axes is None:
        return None
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, (bool, np.bool_)):
        axes = [axes]
    try:
        axes = list(axes)
    except TypeError:
        axes = None
    if axes is None or any(isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"{who}: {name} must be None or a list of int axes")
    return [int(a) for a in axes]


# ------------------------------------------------------------ initializers


class _Base(keras.initializers.Initializer):
    """A fastinit-backed Keras initializer: ``_fill(shape, np_dtype)`` makes
    the NumPy values, ``__call__`` returns them as a backend tensor."""

    _config_keys: tuple = ()

    def __call__(self, shape, dtype=None, layout=None):
        """The values for shape as a tensor of the active backend, of dtype
        ``keras.backend.standardize_dtype(dtype)``; with a layout (JAX, under
        keras.distribution, which passes it) a jax.Array of that sharding,
        made part by part."""
        who = type(self).__name__
        shape = _shape(shape, who)
        kdtype = _keras_dtype(dtype, who)
        try:
            if layout is not None and keras.backend.backend() == "jax":
                return _sharded(lambda index: self._fill(shape, _np_dtype(kdtype), index), shape, layout)
            return _to_tensor(self._fill(shape, _np_dtype(kdtype)), kdtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise type(exc)(f"{who}: shape {shape}, {kdtype}: {exc}") from exc

    def get_config(self):
        return {k: getattr(self, k) for k in self._config_keys}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"fastinit.keras.{type(self).__name__}({args})"


class _Random(_Base):
    """An initializer that draws from (seed, stream)."""

    def __init__(self, seed=None, *, stream=None):
        who = type(self).__name__
        self.seed = _check_seed(seed, who)
        self.stream = _check_stream(stream, who)
        # None: one seed per instance, drawn as Keras draws its default seeds
        self._rng_seed = self.seed if self.seed is not None else _random.randint(1, int(1e9))

    def _kw(self, dtype):
        return {"rng": self._rng_seed, "stream": self.stream, "dtype": dtype}

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "stream": self.stream}


class _FanBased(_Random):
    """The VarianceScaling family: fans of Keras' layout."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=None):
        super().__init__(seed=seed, stream=stream)
        who = type(self).__name__
        self.input_axes = _check_axes(input_axes, "input_axes", who)
        self.output_axes = _check_axes(output_axes, "output_axes", who)

    def _fans(self, shape):
        """{} where layout='keras' computes Keras' fans, else fan_in=, fan_out=."""
        if len(shape) >= 2 and (self.input_axes is None or self.output_axes is None):
            return {"layout": "keras"}
        try:
            fi, fo = _keras_fans(shape, self.input_axes, self.output_axes)
        except IndexError:
            raise ValueError(f"input_axes {self.input_axes} / output_axes {self.output_axes} are not axes "
                             f"of a shape of rank {len(shape)}") from None
        return {"layout": "keras", "fan_in": max(fi, 1), "fan_out": max(fo, 1)}

    def get_config(self):
        return {**super().get_config(), "input_axes": self.input_axes, "output_axes": self.output_axes}


def _fan_class(name: str, function: str, keras_doc: str, truncated: bool | None, takes_fan_out: bool = True):
    def _fill(self, shape, dtype, index=None):
        fans = self._fans(shape)
        if not takes_fan_out:
            fans.pop("fan_out", None)
        extra = {} if truncated is None else {"truncated": truncated}
        return getattr(_F, function)(**_at(shape, index), **fans, **extra, **self._kw(dtype))

    doc = (f"Keras' {name} ({keras_doc}), by fastinit: ``fastinit.{function}(shape, layout='keras'"
           f"{', truncated=True' if truncated else ''}, rng=seed, stream=stream)``.")
    cls = type(name, (_FanBased,), {"_fill": _fill, "__doc__": doc, "__module__": __name__,
                                    "__qualname__": name})
    return _register(cls)


HeNormal = _fan_class("HeNormal", "he_normal", "truncated normal, std sqrt(2 / fan_in) / 0.8796", True)
HeUniform = _fan_class("HeUniform", "he_uniform", "U(+-sqrt(6 / fan_in))", None)
GlorotNormal = _fan_class("GlorotNormal", "glorot_normal", "truncated normal, std sqrt(2 / (fan_in + fan_out)) "
                          "/ 0.8796", True)
GlorotUniform = _fan_class("GlorotUniform", "glorot_uniform", "U(+-sqrt(6 / (fan_in + fan_out)))", None)
LecunNormal = _fan_class("LecunNormal", "lecun_normal", "truncated normal, std sqrt(1 / fan_in) / 0.8796", True,
                         takes_fan_out=False)
LecunUniform = _fan_class("LecunUniform", "lecun_uniform", "U(+-sqrt(3 / fan_in))", None, takes_fan_out=False)


@_register
class VarianceScaling(_FanBased):
    """Keras' VarianceScaling by fastinit.variance_scaling (layout='keras'):
    s = scale / max(1, fan); 'truncated_normal' (and 'normal', as in Keras)
    N(0, sqrt(s) / 0.8796) cut at 2 std, 'untruncated_normal' N(0, sqrt(s)),
    'uniform' U(+-sqrt(3 s))."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None, *, stream=None):
        who = "VarianceScaling"
        scale = _check_real(scale, "scale", who)
        if scale <= 0:
            raise ValueError(f"{who}: scale must be positive, got {scale}")
        try:
            V.check_choice(mode, "mode", ("fan_in", "fan_out", "fan_avg"))
            if isinstance(distribution, str):
                distribution = distribution.lower()
                distribution = "truncated_normal" if distribution == "normal" else distribution
            V.check_choice(distribution, "distribution", ("truncated_normal", "untruncated_normal", "uniform"))
        except ValueError as exc:
            raise ValueError(f"{who}: {exc}") from None
        self.scale, self.mode, self.distribution = scale, mode, distribution
        super().__init__(seed=seed, stream=stream, input_axes=input_axes, output_axes=output_axes)

    def _fill(self, shape, dtype, index=None):
        return _F.variance_scaling(**_at(shape, index), scale=self.scale, mode=self.mode,
                                   distribution=self.distribution,
                                   **self._fans(shape), **self._kw(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, **super().get_config()}


@_register
class RandomNormal(_Random):
    """Keras' RandomNormal: fastinit.normal(mean=mean, std=stddev)."""

    _config_keys = ("mean", "stddev")

    def __init__(self, mean=0.0, stddev=0.05, seed=None, *, stream=None):
        self.mean = _check_real(mean, "mean", "RandomNormal")
        self.stddev = _check_real(stddev, "stddev", "RandomNormal")
        if self.stddev < 0:
            raise ValueError(f"RandomNormal: stddev must be non-negative, got {self.stddev}")
        super().__init__(seed=seed, stream=stream)

    def _fill(self, shape, dtype, index=None):
        return _F.normal(**_at(shape, index), mean=self.mean, std=self.stddev, **self._kw(dtype))


@_register
class TruncatedNormal(_Random):
    """Keras' TruncatedNormal (N(mean, stddev) cut at 2 stddev):
    fastinit.truncated_normal(mean=mean, std=stddev, a=-2, b=2, std_units=True)."""

    _config_keys = ("mean", "stddev")

    def __init__(self, mean=0.0, stddev=0.05, seed=None, *, stream=None):
        self.mean = _check_real(mean, "mean", "TruncatedNormal")
        self.stddev = _check_real(stddev, "stddev", "TruncatedNormal")
        if self.stddev < 0:
            raise ValueError(f"TruncatedNormal: stddev must be non-negative, got {self.stddev}")
        super().__init__(seed=seed, stream=stream)

    def _fill(self, shape, dtype, index=None):
        return _F.truncated_normal(**_at(shape, index), mean=self.mean, std=self.stddev, a=-2.0, b=2.0, std_units=True,
                                   **self._kw(dtype))


@_register
class RandomUniform(_Random):
    """Keras' RandomUniform: fastinit.uniform(low=minval, high=maxval)."""

    _config_keys = ("minval", "maxval")

    def __init__(self, minval=-0.05, maxval=0.05, seed=None, *, stream=None):
        self.minval = _check_real(minval, "minval", "RandomUniform")
        self.maxval = _check_real(maxval, "maxval", "RandomUniform")
        if self.minval > self.maxval:
            raise ValueError(f"RandomUniform: minval must be <= maxval, got minval={self.minval}, "
                             f"maxval={self.maxval}")
        super().__init__(seed=seed, stream=stream)

    def _fill(self, shape, dtype, index=None):
        return _F.uniform(**_at(shape, index), low=self.minval, high=self.maxval, **self._kw(dtype))


@_register
class Orthogonal(_Random):
    """Keras' Orthogonal: fastinit.orthogonal of the (prod(shape[:-1]),
    shape[-1]) matrix (Keras' flattening), times gain, reshaped."""

    _config_keys = ("gain",)

    def __init__(self, gain=1.0, seed=None, *, stream=None):
        self.gain = _check_real(gain, "gain", "Orthogonal")
        super().__init__(seed=seed, stream=stream)

    def _fill(self, shape, dtype, index=None):
        if len(shape) < 2:
            raise ValueError(f"the tensor to initialize must be at least two-dimensional, got rank {len(shape)}")
        flat = (math.prod(shape[:-1]), shape[-1])
        full = _F.orthogonal(flat, gain=self.gain, **self._kw(dtype)).reshape(shape)  # a part needs the whole QR
        return full if index is None else np.ascontiguousarray(full[index])


class _Constant(_Base):
    """A deterministic initializer; integer and bool dtypes by NumPy."""

    def _value(self):
        raise NotImplementedError

    def _fill(self, shape, dtype, index=None):
        if V.is_float_dtype(dtype):
            return self._float(_at(shape, index), dtype)
        full = np.full(shape, self._value()).astype(dtype)
        return full if index is None else np.ascontiguousarray(full[index])


@_register
class Zeros(_Constant):
    """Keras' Zeros: fastinit.zeros."""

    def _value(self):
        return 0

    def _float(self, where, dtype):
        return _F.zeros(**where, dtype=dtype)


@_register
class Ones(_Constant):
    """Keras' Ones: fastinit.ones."""

    def _value(self):
        return 1

    def _float(self, where, dtype):
        return _F.ones(**where, dtype=dtype)


@_register
class Constant(_Constant):
    """Keras' Constant (a scalar value): fastinit.constant(value=value)."""

    _config_keys = ("value",)

    def __init__(self, value=0.0):
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        self.value = _check_real(value, "value", "Constant")
        if isinstance(value, (int, np.integer)):
            self.value = int(value)

    def _value(self):
        return self.value

    def _float(self, where, dtype):
        return _F.constant(**where, value=self.value, dtype=dtype)


@_register
class Identity(_Constant):
    """Keras' Identity (2-d only): fastinit.eye(gain=gain)."""

    _config_keys = ("gain",)

    def __init__(self, gain=1.0):
        self.gain = _check_real(gain, "gain", "Identity")

    def _value(self):
        return None

    def _fill(self, shape, dtype, index=None):
        if len(shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices, got rank {len(shape)}")
        if V.is_float_dtype(dtype):
            return _F.eye(**_at(shape, index), gain=self.gain, dtype=dtype)
        full = (np.eye(*shape) * self.gain).astype(dtype)
        return full if index is None else np.ascontiguousarray(full[index])


def _with_layout(init, layout):
    """(name, kwargs) of a parsed rule with layout= written in where the
    initializer takes one and the rule gives none (layout='keras')."""
    name, kwargs = init
    if layout == "keras" and "layout" not in kwargs and "layout" in inspect.signature(_model._INITS[name]).parameters:
        kwargs = {**kwargs, "layout": "keras"}
    return name, kwargs


@_register
class Fastinit(_Random):
    """Any fastinit initializer, from the text of a rule, as init_model_
    applies it: ``Fastinit("sparse(sparsity=0.1)", seed=0)(shape)`` is
    ``fastinit.sparse(shape, sparsity=0.1, rng=0)``; with layout="keras"
    (the default) an initializer taking layout= and given none gets
    layout="keras" (``Fastinit("he_normal")`` is He's untruncated normal of
    Keras' fan_in)."""

    _config_keys = ("init", "layout")

    def __init__(self, init, seed=None, *, stream=None, layout="keras"):
        try:
            self._parsed = _model.parse_init(init)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"Fastinit: init: {exc}") from None
        try:
            V.check_choice(layout, "layout", ("keras", "torch"))
        except ValueError as exc:
            raise ValueError(f"Fastinit: {exc}") from None
        self.init, self.layout = init, layout
        super().__init__(seed=seed, stream=stream)

    def _fill(self, shape, dtype, index=None):
        name, kwargs = _with_layout(self._parsed, self.layout)
        if name in _model._DETERMINISTIC:
            return _model._INITS[name](**_at(shape, index), dtype=dtype, **kwargs)
        return _model._INITS[name](**_at(shape, index), **kwargs, **self._kw(dtype))


# -------------------------------------------------------------- init_model_


def variable_name(variable, model=None) -> str:
    """The name init_model_ gives a Keras variable: its path, less the
    model's own name in front, with "/" replaced by "."."""
    path = variable.path
    if model is not None:
        prefix = f"{model.name}/"
        if path.startswith(prefix):
            path = path[len(prefix):]
    return path.replace("/", ".")


def _variables(model):
    """[(name, variable)] of a built model's float variables, each once."""
    if not hasattr(model, "weights") or not hasattr(model, "built"):
        raise TypeError(f"model must be a Keras model or layer, got {type(model).__name__}")
    weights = list(model.weights)
    if not model.built or not weights and getattr(model, "layers", None):
        raise ValueError(f"model: {model.name!r} is not built (it has no variables yet); build it first, e.g. "
                         "model.build(input_shape) or a keras.Input, then call init_model_")
    out, seen, names = [], set(), {}
    for v in weights:
        if id(v) in seen:
            continue
        seen.add(id(v))
        if not _is_float(v.dtype):
            continue
        name = variable_name(v, model)
        if name in names:
            raise ValueError(f"model: two variables have the name {name!r} (paths {names[name]!r} and "
                             f"{v.path!r}); give their layers distinct names")
        names[name] = v.path
        out.append((name, v))
    return out


def _whole(t, g) -> np.ndarray:
    """The whole of tensor t, by init_model's own fill."""
    arr = np.empty(t.shape, dtype=t.dtype)
    _model._fill(t, arr, 0, t.shape[0] if t.shape else 1, g, None)
    return arr


def _part(t, g, index) -> np.ndarray:
    """t[index], computed alone (fans and values from the global shape)."""
    name, kwargs = t.init
    return _model._INITS[name](dtype=t.dtype, **_model.part_arguments(t, g, index), **kwargs)


def _sharding(variable):
    """The jax sharding of a variable spread over several devices, else None."""
    if keras.backend.backend() != "jax":
        return None
    sharding = getattr(variable.value, "sharding", None)
    if sharding is None or len(getattr(sharding, "device_set", ())) <= 1:
        return None
    return sharding


def _by_shards(t, g, sharding, kdtype):
    dt = _np_dtype(kdtype)
    return _sharded(lambda index: (_part(t, g, index) if index is not None else _whole(t, g)).astype(dt, copy=False),
                    tuple(t.shape), sharding)


def init_model_(model, rules=None, *, rng, names=None, dtype=None, layout="keras"):
    """Set every float variable of a built Keras model in place, by name,
    with init_model's rules; returns the model.

    rules: as ``fastinit.init_model``'s: glob pattern -> initializer text,
    first match wins (``{"*.bias": "zeros", "*": "glorot_uniform"}``), or a
    preset's name; unmatched variables get ``normal(std=0.02)``.  Names:
    ``variable_name(v, model)``, the variable's path without the model's
    name in front and "/" as "." ("dense.kernel").  rng: an int seed, a
    SeedSequence or a fastinit.Generator (its key only; every variable draws
    from the stream of its name).  names: only these variables.  dtype: the
    dtype the values are drawn in (default: each variable's own), then cast
    to the variable's.  layout: "keras" (default) writes layout="keras" into
    every rule whose initializer takes a layout and names none; "torch"
    applies the rules as written.  Every variable is checked (rules, fans,
    parameters) before any is set.  A variable spread over several JAX
    devices (keras.distribution) is built by shards, keeping its sharding.
    """
    g = as_generator(rng)
    V.check_choice(layout, "layout", ("keras", "torch"))
    variables = _variables(model)
    if dtype is not None:
        spec = {name: {"shape": list(v.shape)} for name, v in variables}
    else:
        spec = {name: {"shape": list(v.shape), "dtype": keras.backend.standardize_dtype(v.dtype)}
                for name, v in variables}
    tensors = _model.resolve(spec, rules, dtype, names)
    for t in tensors:
        t.init = _with_layout(t.init, layout)
    by_name = dict(variables)
    for t in tensors:  # every variable checked before any is set
        _model.check_tensor(t, g)
    for t in tensors:
        v = by_name[t.name]
        kdtype = keras.backend.standardize_dtype(v.dtype)
        sharding = _sharding(v)
        if sharding is not None:
            v.assign(_by_shards(t, g, sharding, kdtype))
        else:
            arr = _whole(t, g)
            v.assign(_to_tensor(arr.astype(_np_dtype(kdtype), copy=False), kdtype))
    return model


# STFT's kernels are windowed Fourier bases, computed, not drawn: Keras' own
# class is the counterpart (the same values by construction).
STFT = STFTInitializer = stft = keras.initializers.STFT

# Keras' other spellings of the same classes.
IdentityInitializer, OrthogonalInitializer = Identity, Orthogonal
constant, identity, ones, orthogonal, zeros = Constant, Identity, Ones, Orthogonal, Zeros
glorot_normal, glorot_uniform, he_normal, he_uniform = GlorotNormal, GlorotUniform, HeNormal, HeUniform
lecun_normal, lecun_uniform, variance_scaling = LecunNormal, LecunUniform, VarianceScaling
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
