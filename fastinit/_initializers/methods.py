"""Weight initializers: torch.nn.init's, Keras' and JAX's, one formula each.

Every initializer fills `out` in place, or a new array of `shape`, and
returns it.  Random ones are Generator methods (``rng.he_normal(out=w)``)
and module functions taking ``rng=`` (None, an int seed or a Generator);
the deterministic ones (zeros, ones, constant, eye, dirac) are plain
functions.  The default dtype is float32, as in torch; float64, float16 and
bfloat16 work too.  Fans come from the shape in torch's layout
(out, in, *kernel) or Keras' (*kernel, in, out) (where a 0-d shape has
fans (1, 1) and a 1-d (n,) (n, n), as Keras); JAX's ``in_axis=``,
``out_axis=``, ``batch_axis=`` replace the layout's axes, and
``fan_in=``/``fan_out=`` override the fans.

Every initializer can fill one part of a larger tensor: with
``global_shape=`` and ``index=`` (NumPy basic indexing: ints, slices,
Ellipsis, None) it writes exactly ``full[index]`` of the tensor it would
fill for ``global_shape``, computing only those values; fans come from the
global shape, and a sequential draw advances the Generator by the whole
global tensor, so every rank's Generator stays in step.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import types

import numpy as np

from .. import _backends
from . import draws as _draws
from .draws import FillTarget
from .._contract.constants import WORDS_PER_BLOCK
from .. import _validate as V
from .fans import LAYOUTS, calculate_gain, compute_fans, select_fan

_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")
_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")



def keyword_only_after_shape(label: str):
    """Decorate an initializer whose parameters after `shape` are keyword-only
    so that extra positional arguments (the torch.empty(4096, 1024) habit)
    raise a TypeError that says the shape is one argument.  `label` is the
    name users call it by (with "{}" for the function's name)."""

    def decorate(fn, alias=None):
        params = list(inspect.signature(fn).parameters.values())
        n_pos = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        keywords = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
        name = label.format(alias or fn.__name__)

        @functools.wraps(fn)
        def initializer(*args, **kwargs):
            if len(args) > n_pos:
                raise TypeError(V.positional_hint(name, args[n_pos - 1:], keywords))
            return fn(*args, **kwargs)

        if alias:
            initializer.__name__ = alias
        return initializer

    return decorate


def _alias(initializer, name: str, label: str):
    """The same initializer under another name (its errors, Python's own
    included, say that name): a copy of the function, decorated again."""
    fn = initializer.__wrapped__
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = dict(fn.__kwdefaults__ or {})
    copy.__doc__, copy.__module__, copy.__annotations__ = fn.__doc__, fn.__module__, dict(fn.__annotations__)
    copy.__qualname__ = fn.__qualname__.rsplit(".", 1)[0] + "." + name if "." in fn.__qualname__ else name
    return keyword_only_after_shape(label)(copy)


_function = keyword_only_after_shape("fastinit.{}")
_method = keyword_only_after_shape("rng.{}")


class _Target:
    """What an initializer writes, checked once per call: dtype, local
    shape, the global shape its fans and values come from, the shard
    (global size, offset, global strides) or None for a whole tensor, and
    the address in the stream (None: a sequential draw; else (stream, first
    element), set by InitializerMethods._init)."""

    __slots__ = ("dt", "shape", "global_shape", "shard", "address")

    def __init__(self, method, shape, out, dtype, global_shape=None, index=None):
        self.address = None
        if global_shape is None and index is None:
            self.dt, self.shape = V.check_target(method, shape, out, dtype, np.float32, "shape")
            if self.shape is None:
                raise TypeError(f"{method}: give a shape or out=")
            self.global_shape, self.shard = self.shape, None
            return
        gshape, local, offset, gstrides = V.check_shard(global_shape, index)
        if shape is not None and (checked := V.check_size(shape, "shape")) != local:
            raise ValueError(f"{method}: shape {checked} is not the shape of global_shape[index], {local}")
        self.dt, self.shape = V.check_target(method, local, out, dtype, np.float32, "shape")
        self.global_shape, self.shard = gshape, (math.prod(gshape), offset, gstrides)

    @property
    def global_size(self):
        return self.shard[0] if self.shard else math.prod(self.shape)

    def result(self, out):
        return out if out is not None else np.empty(self.shape, dtype=self.dt)

    def global_indices(self):
        """The global flat C-order index of every local element (an array of
        the local shape): for initializers computed from positions."""
        if self.shard is None:
            return np.arange(math.prod(self.shape), dtype=np.int64).reshape(self.shape)
        idx = np.full(self.shape, self.shard[1], dtype=np.int64)
        for d, st in enumerate(self.shard[2]):
            shp = [1] * len(self.shape)
            shp[d] = self.shape[d]
            idx += (np.arange(self.shape[d], dtype=np.int64) * st).reshape(shp)
        return idx

    def take(self, full):
        """full[index] of an array of the global shape."""
        return full.reshape(-1)[self.global_indices()]


# -------------------------------------------------------- deterministic fills


def _fill_const(tgt, out, value):
    return _backends.fill(FillTarget(tgt.result(out), (0, 0)), _draws.constant(value, tgt.dt))


@_function
def constant(shape=None, *, value=0.0, out=None, dtype=None, global_shape=None, index=None):
    """Fill with `value`, rounded once to the dtype (torch's constant_)."""
    value = V.check_real(value, "value")
    return _fill_const(_Target("constant", shape, out, dtype, global_shape, index), out, value)


@_function
def zeros(shape=None, *, out=None, dtype=None, global_shape=None, index=None):
    """Fill with 0 (torch's zeros_)."""
    return _fill_const(_Target("zeros", shape, out, dtype, global_shape, index), out, 0.0)


@_function
def ones(shape=None, *, out=None, dtype=None, global_shape=None, index=None):
    """Fill with 1 (torch's ones_)."""
    return _fill_const(_Target("ones", shape, out, dtype, global_shape, index), out, 1.0)


@_function
def eye(shape=None, *, gain=1.0, out=None, dtype=None, global_shape=None, index=None):
    """A 2-d identity: `gain` on the diagonal, 0 elsewhere, also when not
    square (torch's eye_; Keras' Identity with its gain)."""
    tgt = _Target("eye", shape, out, dtype, global_shape, index)
    if len(tgt.global_shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    value = _draws.constant(V.check_real(gain, "gain"), tgt.dt).a
    res = _fill_const(tgt, out, 0.0)
    rows, cols = np.divmod(tgt.global_indices(), tgt.global_shape[1])
    res[rows == cols] = value
    return res


identity = _alias(eye, "identity", "fastinit.{}")


@_function
def dirac(shape=None, *, groups=1, out=None, dtype=None, global_shape=None, index=None):
    """The Dirac delta of a 3-, 4- or 5-d convolution weight ``(out, in, *kernel)``:
    each output channel of each group passes its input channel through
    (torch's dirac_)."""
    tgt = _Target("dirac", shape, out, dtype, global_shape, index)
    gshape = tgt.global_shape
    if len(gshape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    groups = V.check_positive_int(groups, "groups")
    if gshape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    res = _fill_const(tgt, out, 0.0)
    if res.size:
        pos = np.unravel_index(tgt.global_indices(), gshape)
        per_group = gshape[0] // groups
        on = (pos[0] % per_group == pos[1]) & (pos[1] < min(per_group, gshape[1]))
        for d, s in enumerate(gshape[2:]):
            on &= pos[2 + d] == s // 2
        res[on] = 1
    return res


# ----------------------------------------------------------- random fills


_F64 = np.dtype(np.float64)
_WPB = WORDS_PER_BLOCK  # Philox words per block: a draw takes whole blocks


class Draw:
    """What an initializer draws from its stream for a tensor of n elements
    of dtype dt, stated once, on the initializer (``@uses(Draw(...))``): its
    values, as elements of `unit` (the output dtype where None; orthogonal's
    are float64 normals whatever the dtype), then with keys=True one uint32
    word per element from the block after the values (sparse's zero-row
    keys).  whole=True: the values are computed for the whole tensor in
    NumPy (a QR, a sort) and the part is cut from it; for a GPU tensor that
    runs on the host and is copied.  A sequential draw takes blocks() blocks
    of stream 0 in one step, whatever part of the tensor a call writes."""

    __slots__ = ("unit", "keys", "whole")

    def __init__(self, unit: np.dtype | None = None, keys: bool = False, whole: bool = False):
        self.unit, self.keys, self.whole = unit, keys, whole

    def value_dtype(self, dt: np.dtype) -> np.dtype:
        return self.unit if self.unit is not None else dt

    def blocks(self, n: int, dt: np.dtype) -> int:
        values = -(-n * _draws.words_per_element(self.value_dtype(dt)) // _WPB)
        return values + (-(-n // _WPB) if self.keys else 0)

    def reserve(self, rng, n: int, dt: np.dtype) -> int:
        """Take this draw's blocks for n elements of dt from rng's stream 0
        in one step; return the first element index, in the units of the
        draw's values."""
        return rng._reserve_blocks(self.blocks(n, dt)) * _WPB // _draws.words_per_element(self.value_dtype(dt))

    def key_word(self, first: int, n: int, dt: np.dtype) -> int:
        """The first key word of a draw whose values are elements [first, first + n)."""
        return _WPB * -(-(first + n) * _draws.words_per_element(self.value_dtype(dt)) // _WPB)


ONE_VALUE_EACH = Draw()  # every initializer but those that say otherwise


def uses(draw: Draw):
    """Record an initializer's draw on it (the decorators above it keep it)."""

    def mark(fn):
        fn.draw = draw
        return fn

    return mark


def draw_of(initializer) -> Draw:
    return getattr(initializer, "draw", ONE_VALUE_EACH)


def reserve(rng, initializer, n: int, dt: np.dtype) -> int:
    """Take the blocks of a sequential draw of `initializer` for n elements
    of dt from rng's stream 0 in one step; return the first element index,
    in the units of the draw's values (fastinit.dask reserves a whole array
    this way, as the in-memory call would)."""
    return draw_of(initializer).reserve(rng, n, dt)


class InitializerMethods:
    """The random initializers, as methods of fastinit.Generator.

    Without ``stream=`` an initializer draws sequentially from the Generator
    (its position moves on); with ``stream=`` (an int or a tensor name) the
    values depend only on (seed, stream, element index), element 0 of the
    tensor being element ``start`` (default 0) of the stream.
    """

    # Generator supplies _draw (the fill) and _reserve_blocks.

    def _init(self, method, shape, out, dtype, stream, start, global_shape, index):
        """The target, its address checked: None (a sequential draw) or
        (stream, first element)."""
        tgt = _Target(method, shape, out, dtype, global_shape, index)
        if stream is not None or start is not None:
            s = V.check_stream(stream) if stream is not None else 0
            tgt.address = (s, V.check_start(start if start is not None else 0, tgt.global_size))
        return tgt

    def _fan(self, tgt, layout, mode, fan_in, fan_out, modes=("fan_in", "fan_out"), axes=(None, None, None)):
        """The fan a mode names ('fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg'),
        from the overrides where given, else from the global shape in the
        layout, or from axes = (in_axis, out_axis, batch_axis) where given
        (compute_fans; axes are checked even where overrides make them moot)."""
        V.check_choice(layout, "layout", LAYOUTS)
        fi = None if fan_in is None else V.check_positive_int(fan_in, "fan_in")
        fo = None if fan_out is None else V.check_positive_int(fan_out, "fan_out")
        needed = {"fan_in": (fi,), "fan_out": (fo,), "fan_avg": (fi, fo), "fan_geo_avg": (fi, fo)}.get(
            mode, (None,)) if isinstance(mode, str) else (None,)  # (select_fan refuses anything else, by name)
        in_axis, out_axis, batch_axis = axes
        if any(a is not None for a in axes) or any(f is None for f in needed):
            ci, co = compute_fans(tgt.global_shape, layout, in_axis=in_axis, out_axis=out_axis,
                                  batch_axis=batch_axis)
            fi = ci if fi is None else fi
            fo = co if fo is None else fo
        return select_fan(fi, fo, mode, modes)

    def _fill(self, request, tgt, out):
        return self._draw(request, tgt.dt, tgt.shape, tgt.result(out), tgt.address, tgt.shard)

    # ---- plain distributions (the module's uniform and normal; the methods
    # of those names are NumPy's)

    def _uniform_init(self, shape, low, high, out, dtype, stream, start, global_shape, index):
        low, high = V.check_bounds(low, high)
        tgt = self._init("uniform", shape, out, dtype, stream, start, global_shape, index)
        return self._fill(_draws.uniform(low, high, tgt.dt), tgt, out)

    def _normal_init(self, shape, mean, std, out, dtype, stream, start, global_shape, index):
        mean = V.check_real(mean, "mean")
        std = V.check_nonnegative(std, "std")
        tgt = self._init("normal", shape, out, dtype, stream, start, global_shape, index)
        return self._fill(_draws.normal(mean, std, tgt.dt), tgt, out)

    @_method
    def truncated_normal(self, shape=None, *, mean=0.0, std=1.0, a=-2.0, b=2.0, std_units=False,
                         out=None, dtype=None, stream=None, start=None, global_shape=None, index=None):
        """Normal(mean, std) truncated to [a, b], by inverse CDF.

        a and b are absolute bounds, as in torch.nn.init.trunc_normal_; with
        ``std_units=True`` they are in standard deviations around the mean
        (a=-2, b=2 is Keras' and JAX's cut).  Outputs, rounded to the dtype,
        never leave [a, b]."""
        mean = V.check_real(mean, "mean")
        std = V.check_nonnegative(std, "std")
        a, b = V.check_real(a, "a"), V.check_real(b, "b")
        if a >= b:
            raise ValueError(f"truncation bounds must satisfy a < b, got a={a}, b={b}")
        tgt = self._init("truncated_normal", shape, out, dtype, stream, start, global_shape, index)
        if std_units:
            a, b = mean + a * std, mean + b * std
        return self._fill(_draws.truncated_normal(mean, std, a, b, tgt.dt), tgt, out)

    # ---- Xavier / Glorot

    @_method
    def xavier_uniform(self, shape=None, *, gain=1.0, layout="torch", fan_in=None, fan_out=None,
                       in_axis=None, out_axis=None, batch_axis=None, out=None, dtype=None, stream=None, start=None,
                       global_shape=None, index=None):
        """U(-l, l), l = gain sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010;
        torch's xavier_uniform_, Keras' GlorotUniform with gain 1)."""
        gain = abs(V.check_real(gain, "gain"))
        tgt = self._init("xavier_uniform", shape, out, dtype, stream, start, global_shape, index)
        fan = self._fan(tgt, layout, "fan_avg", fan_in, fan_out, ("fan_avg",), (in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        limit = gain * math.sqrt(3.0 / fan)
        return self._fill(_draws.uniform(-limit, limit, tgt.dt), tgt, out)

    @_method
    def xavier_normal(self, shape=None, *, gain=1.0, truncated=False, layout="torch", fan_in=None,
                      fan_out=None, in_axis=None, out_axis=None, batch_axis=None, out=None, dtype=None, stream=None,
                      start=None, global_shape=None, index=None):
        """N(0, s), s = gain sqrt(2 / (fan_in + fan_out)) (torch's xavier_normal_).
        ``truncated=True``: Keras' GlorotNormal (s / 0.8796, cut at 2 std)."""
        gain = abs(V.check_real(gain, "gain"))
        tgt = self._init("xavier_normal", shape, out, dtype, stream, start, global_shape, index)
        fan = self._fan(tgt, layout, "fan_avg", fan_in, fan_out, ("fan_avg",), (in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        return self._fill(_draws.normal(0.0, gain * math.sqrt(1.0 / fan), tgt.dt, truncated), tgt, out)

    # ---- He / Kaiming

    @_method
    def he_uniform(self, shape=None, *, a=0.0, mode="fan_in", nonlinearity="leaky_relu", layout="torch",
                   fan_in=None, fan_out=None, in_axis=None, out_axis=None, batch_axis=None, out=None, dtype=None,
                   stream=None, start=None, global_shape=None, index=None):
        """U(-l, l), l = gain sqrt(3 / fan) with gain = calculate_gain(nonlinearity, a)
        and fan the `mode` fan (He et al. 2015; torch's kaiming_uniform_, whose
        defaults give gain sqrt(2))."""
        gain = calculate_gain(nonlinearity, a, param_name="a")
        tgt = self._init("he_uniform", shape, out, dtype, stream, start, global_shape, index)
        fan = self._fan(tgt, layout, mode, fan_in, fan_out, axes=(in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        limit = math.sqrt(3.0) * (gain / math.sqrt(fan))
        return self._fill(_draws.uniform(-limit, limit, tgt.dt), tgt, out)

    @_method
    def he_normal(self, shape=None, *, a=0.0, mode="fan_in", nonlinearity="leaky_relu", truncated=False,
                  layout="torch", fan_in=None, fan_out=None, in_axis=None, out_axis=None, batch_axis=None,
                  out=None, dtype=None, stream=None, start=None, global_shape=None, index=None):
        """N(0, gain / sqrt(fan)) (torch's kaiming_normal_).  ``truncated=True``:
        Keras' HeNormal (std / 0.8796, cut at 2 std)."""
        gain = calculate_gain(nonlinearity, a, param_name="a")
        tgt = self._init("he_normal", shape, out, dtype, stream, start, global_shape, index)
        fan = self._fan(tgt, layout, mode, fan_in, fan_out, axes=(in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        return self._fill(_draws.normal(0.0, gain / math.sqrt(fan), tgt.dt, truncated), tgt, out)

    # ---- LeCun

    @_method
    def lecun_uniform(self, shape=None, *, layout="torch", fan_in=None, in_axis=None, out_axis=None,
                      batch_axis=None, out=None, dtype=None, stream=None, start=None, global_shape=None,
                      index=None):
        """U(-l, l), l = sqrt(3 / fan_in): variance 1 / fan_in (LeCun et al.
        1998; the 1/sqrt(n) scaling; Keras' LecunUniform)."""
        tgt = self._init("lecun_uniform", shape, out, dtype, stream, start, global_shape, index)
        fi = self._fan(tgt, layout, "fan_in", fan_in, None, axes=(in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        limit = math.sqrt(3.0 / fi)
        return self._fill(_draws.uniform(-limit, limit, tgt.dt), tgt, out)

    @_method
    def lecun_normal(self, shape=None, *, truncated=False, layout="torch", fan_in=None, in_axis=None,
                     out_axis=None, batch_axis=None, out=None, dtype=None, stream=None, start=None,
                     global_shape=None, index=None):
        """N(0, sqrt(1 / fan_in)).  ``truncated=True``: Keras' and JAX's
        LecunNormal (std / 0.8796, cut at 2 std)."""
        tgt = self._init("lecun_normal", shape, out, dtype, stream, start, global_shape, index)
        fi = self._fan(tgt, layout, "fan_in", fan_in, None, axes=(in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        return self._fill(_draws.normal(0.0, math.sqrt(1.0 / fi), tgt.dt, truncated), tgt, out)

    # ---- Keras / JAX variance scaling

    @_method
    def variance_scaling(self, shape=None, *, scale=1.0, mode="fan_in", distribution="truncated_normal",
                         layout="torch", fan_in=None, fan_out=None, in_axis=None, out_axis=None, batch_axis=None,
                         out=None, dtype=None, stream=None, start=None, global_shape=None, index=None):
        """Keras' and JAX's VarianceScaling: with n the fan that `mode` names
        ('fan_in', 'fan_out', 'fan_avg' their mean, or 'fan_geo_avg' their
        geometric mean sqrt(fan_in fan_out), JAX's) and s = scale / max(1, n):
        'truncated_normal' draws N(0, sqrt(s) / 0.8796) cut at 2 std,
        'untruncated_normal' (or 'normal', JAX's meaning) N(0, sqrt(s)),
        'uniform' U(-sqrt(3 s), sqrt(3 s)).  Keras' default layout is 'keras'.
        in_axis, out_axis, batch_axis (an int or a sequence of ints): JAX's
        axes, replacing the layout's (see compute_fans); fan_in=/fan_out=
        still override the fans they give."""
        scale = V.check_real(scale, "scale")
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        V.check_choice(mode, "mode", _MODES)
        V.check_choice(distribution, "distribution", _DISTRIBUTIONS)
        tgt = self._init("variance_scaling", shape, out, dtype, stream, start, global_shape, index)
        fan = self._fan(tgt, layout, mode, fan_in, fan_out, _MODES, (in_axis, out_axis, batch_axis))
        if tgt.global_size == 0:
            return tgt.result(out)
        s = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            request = _draws.uniform(-limit, limit, tgt.dt)
        else:
            request = _draws.normal(0.0, math.sqrt(s), tgt.dt, distribution == "truncated_normal")
        return self._fill(request, tgt, out)

    # ---- structured: computed for the whole tensor, then the part is taken

    def _haar(self, rows, cols, addr):
        """A (rows, cols) float64 matrix, Haar distributed with orthonormal
        columns (rows >= cols) or rows (rows < cols): the Q of the QR of the
        (rows, cols) standard normal matrix drawn at addr (or its transpose),
        signs fixed by R's diagonal (as torch, Keras and JAX)."""
        flat = np.empty((rows, cols), dtype=np.float64)
        self._draw(_draws.normal(0.0, 1.0, flat.dtype), flat.dtype, flat.shape, flat, addr)
        m = flat.T if rows < cols else flat
        q, r = np.linalg.qr(m)
        d = np.sign(np.diag(r))
        q *= np.where(d == 0, 1.0, d)
        return q.T if rows < cols else q

    @_method
    @uses(Draw(unit=_F64, whole=True))
    def orthogonal(self, shape=None, *, gain=1.0, layout="torch", column_axis=None, out=None, dtype=None,
                   stream=None, start=None, global_shape=None, index=None):
        """A (semi-)orthogonal matrix, times gain (Saxe et al. 2014; torch's
        orthogonal_): the Q of the QR decomposition of a float64 standard
        normal matrix, signs fixed by R's diagonal so that Q is uniformly
        (Haar) distributed.  A tensor of more than 2 dimensions is flattened
        to (shape[0], rest) with layout='torch' (torch's), to
        (prod(shape[:-1]), shape[-1]) with layout='keras' (Keras' Orthogonal,
        JAX's orthogonal), whose ``column_axis=`` (JAX's, default -1) names
        the axis that takes the matrix's columns; the flattened matrix has
        orthonormal columns, or rows where it has more columns than rows.
        The QR runs in LAPACK, so its bits follow the LAPACK build; everything
        else is fastinit's stream.  A part (global_shape, index) needs the
        whole matrix: it is computed, then cut."""
        gain = V.check_real(gain, "gain")
        V.check_choice(layout, "layout", LAYOUTS)
        if column_axis is not None:
            if isinstance(column_axis, (bool, np.bool_)) or not isinstance(column_axis, numbers.Integral):
                raise ValueError(f"column_axis must be an int, got {V.describe(column_axis)}")
            if layout != "keras":
                raise ValueError("column_axis is JAX's flattening: give it with layout='keras' "
                                 "(layout='torch' flattens to (shape[0], rest))")
        tgt = self._init("orthogonal", shape, out, dtype, stream, start, global_shape, index)
        addr = tgt.address
        gshape = tgt.global_shape
        if len(gshape) < 2:
            raise ValueError("Only tensors with 2 or more dimensions are supported")
        axis = len(gshape) - 1
        if column_axis is not None:
            if not -len(gshape) <= column_axis < len(gshape):
                raise ValueError(f"column_axis {int(column_axis)} is out of range for a {len(gshape)}-d shape")
            axis = int(column_axis) % len(gshape)
        _draws.check_fits(abs(gain), tgt.dt, f"orthogonal(gain={gain})")
        res = tgt.result(out)
        n = tgt.global_size
        if res.size == 0:  # nothing to write here; a sequential draw still takes its blocks
            if addr is None and n:
                reserve(self, InitializerMethods.orthogonal, n, tgt.dt)
            return res
        if layout == "torch":
            q = self._haar(gshape[0], n // gshape[0], addr)
            full = q.reshape(gshape)
        else:
            cols = gshape[axis]
            q = self._haar(n // cols, cols, addr)
            rest = gshape[:axis] + gshape[axis + 1:]
            full = np.moveaxis(q.reshape(rest + (cols,)), -1, axis)
        full = full * gain
        res[...] = (full if tgt.shard is None else tgt.take(full)).astype(tgt.dt)
        return res

    @_method
    @uses(Draw(unit=_F64, whole=True))
    def delta_orthogonal(self, shape=None, *, scale=1.0, column_axis=-1, out=None, dtype=None, stream=None,
                         start=None, global_shape=None, index=None):
        """The delta orthogonal kernel of a 3-, 4- or 5-d convolution weight
        ``(*spatial, in, out)``, in <= out (Xiao et al. 2018;
        jax.nn.initializers.delta_orthogonal): zeros but at the spatial
        centre, index (k - 1) // 2 of each spatial axis, which holds an
        (in, out) Haar orthogonal matrix (orthonormal rows) times scale,
        orthogonal's with layout='keras' and column_axis (-1 or -2, an axis of
        that matrix).  Its values are float64 normals of the stream, the
        first in * out of the tensor's elements (a sequential draw takes the
        blocks of the whole tensor, as orthogonal); the QR runs in LAPACK."""
        scale = V.check_real(scale, "scale")
        if isinstance(column_axis, (bool, np.bool_)) or not isinstance(column_axis, numbers.Integral) \
                or column_axis not in (-1, -2):
            raise ValueError(f"column_axis must be -1 (out) or -2 (in), an axis of the (in, out) centre matrix, "
                             f"got {V.describe(column_axis)}")
        tgt = self._init("delta_orthogonal", shape, out, dtype, stream, start, global_shape, index)
        addr = tgt.address
        gshape = tgt.global_shape
        if len(gshape) not in (3, 4, 5):
            raise ValueError(f"shape: delta_orthogonal needs a 3-, 4- or 5-d shape (*spatial, in, out), "
                             f"got {len(gshape)}-d {gshape}")
        if gshape[-1] < gshape[-2]:
            raise ValueError(f"shape: delta_orthogonal needs in <= out (shape[-2] <= shape[-1]), "
                             f"got in={gshape[-2]}, out={gshape[-1]}")
        _draws.check_fits(abs(scale), tgt.dt, f"delta_orthogonal(scale={scale})")
        res = tgt.result(out)
        n = tgt.global_size
        if n and addr is None:  # sequential: the whole tensor's blocks, the matrix from the first
            addr = (0, reserve(self, InitializerMethods.delta_orthogonal, n, tgt.dt))
        if res.size == 0:
            return res
        fan_in, fan_out = gshape[-2:]
        if column_axis == -1:
            centre = self._haar(fan_in, fan_out, addr)
        else:
            centre = self._haar(fan_out, fan_in, addr).T
        full = np.zeros(gshape, dtype=np.float64)
        full[tuple((k - 1) // 2 for k in gshape[:-2])] = centre * scale
        res[...] = (full if tgt.shard is None else tgt.take(full)).astype(tgt.dt)
        return res

    @_method
    @uses(Draw(keys=True, whole=True))
    def sparse(self, shape=None, *, sparsity, std=0.01, out=None, dtype=None, stream=None, start=None,
               global_shape=None, index=None):
        """A 2-d N(0, std) matrix with exactly ceil(sparsity * rows) zeros in
        every column, at rows chosen uniformly at random (Martens 2010;
        torch's sparse_).  The zero rows of each column are those holding its
        smallest keys, uint32 words of the same stream drawn right after the
        values' Philox blocks (ties to the lower row), so they too come from
        the seed alone.  A part (global_shape, index) is cut from the whole."""
        sparsity = V.check_real(sparsity, "sparsity")
        if not 0.0 <= sparsity <= 1.0:
            raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
        std = V.check_nonnegative(std, "std")
        tgt = self._init("sparse", shape, out, dtype, stream, start, global_shape, index)
        addr = tgt.address
        if len(tgt.global_shape) != 2:
            raise ValueError("Only tensors with 2 dimensions are supported")
        res = tgt.result(out)
        rows, cols = tgt.global_shape
        n = rows * cols
        request = _draws.normal(0.0, std, tgt.dt)
        draw = draw_of(InitializerMethods.sparse)
        if addr is not None and n and draw.key_word(addr[1], n, tgt.dt) + n > 1 << 64:
            # the keys follow the values' blocks: check their words exist before anything is written
            raise ValueError(f"start: a sparse {tgt.dt.name} tensor of {n} elements from element {addr[1]} "
                             "has its zero-row keys past the last word of the stream (2**64)")
        if addr is None and n:  # sequential: the values' blocks, then the keys', in one step
            addr = (0, reserve(self, InitializerMethods.sparse, n, tgt.dt))
        if res.size == 0:
            return res
        stream, first = addr
        full = res if tgt.shard is None else np.empty(tgt.global_shape, dtype=tgt.dt)
        self._draw(request, tgt.dt, full.shape, full, addr)
        keys = self.random_raw((rows, cols), stream=stream, start=draw.key_word(first, n, tgt.dt))
        num_zeros = math.ceil(sparsity * rows)
        if num_zeros:
            zero_rows = np.argsort(keys, axis=0, kind="stable")[:num_zeros]
            full[zero_rows, np.arange(cols)] = 0
        if tgt.shard is not None:
            res[...] = tgt.take(full)
        return res

    # ---- aliases: the names torch and Keras users know

    glorot_uniform = _alias(xavier_uniform, "glorot_uniform", "rng.{}")
    glorot_normal = _alias(xavier_normal, "glorot_normal", "rng.{}")
    kaiming_uniform = _alias(he_uniform, "kaiming_uniform", "rng.{}")
    kaiming_normal = _alias(he_normal, "kaiming_normal", "rng.{}")


for _f in vars(InitializerMethods).values():  # errors name the class users call: Generator.he_normal()
    if callable(_f) and not _f.__name__.startswith("_"):
        _f.__qualname__ = f"Generator.{_f.__name__}"
        _inner = getattr(_f, "__wrapped__", None)
        if _inner is not None and _inner.__name__ == _f.__name__:  # Python's own TypeErrors name the inner one
            _inner.__qualname__ = _f.__qualname__


RANDOM_INITIALIZERS = ("truncated_normal", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
                       "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
                       "lecun_normal", "variance_scaling", "orthogonal", "delta_orthogonal", "sparse")
DETERMINISTIC_INITIALIZERS = {"zeros": zeros, "ones": ones, "constant": constant, "eye": eye,
                              "identity": identity, "dirac": dirac}
