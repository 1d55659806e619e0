"""Weight initializers: torch.nn.init's, Keras' and JAX's, one formula each.

Every initializer fills `out` in place, or a new array of `shape`, and
returns it.  Random ones are Generator methods (``rng.he_normal(out=w)``)
and module functions taking ``rng=`` (None, an int seed or a Generator);
the deterministic ones (zeros, ones, constant, eye, dirac) are plain
functions.  The default dtype is float32, as in torch; float64, float16 and
bfloat16 work too.  Fans come from the shape in torch's layout
(out, in, *kernel) or Keras' (*kernel, in, out); ``fan_in=``/``fan_out=``
override them.
"""

from __future__ import annotations

import math

import numpy as np

from . import _engine
from . import _validate as V
from ._fans import LAYOUTS, calculate_gain, compute_fans, select_fan

_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")



def _target(method, shape, out, dtype):
    """(dtype, shape) of an initializer's output; a shape or out is required."""
    dt, shp = V.check_target(method, shape, out, dtype, np.float32, "shape")
    if shp is None:
        raise TypeError(f"{method}: give a shape or out=")
    return dt, shp


def _result(out, shape, dt):
    return out if out is not None else np.empty(shape, dtype=dt)


# -------------------------------------------------------- deterministic fills


def constant(shape=None, value=0.0, *, out=None, dtype=None):
    """Fill with `value`, rounded once to the dtype (torch's constant_)."""
    dt, shp = _target("constant", shape, out, dtype)
    spec = _engine.const_spec(V.check_real(value, "value"), dt)
    return _engine.fill(_result(out, shp, dt), *spec, key=(0, 0), stream=0)


def zeros(shape=None, *, out=None, dtype=None):
    """Fill with 0 (torch's zeros_)."""
    dt, shp = _target("zeros", shape, out, dtype)
    return _engine.fill(_result(out, shp, dt), *_engine.const_spec(0.0, dt), key=(0, 0), stream=0)


def ones(shape=None, *, out=None, dtype=None):
    """Fill with 1 (torch's ones_)."""
    dt, shp = _target("ones", shape, out, dtype)
    return _engine.fill(_result(out, shp, dt), *_engine.const_spec(1.0, dt), key=(0, 0), stream=0)


def eye(shape=None, gain=1.0, *, out=None, dtype=None):
    """A 2-d identity: `gain` on the diagonal, 0 elsewhere, also when not
    square (torch's eye_; Keras' Identity with its gain)."""
    dt, shp = _target("eye", shape, out, dtype)
    if len(shp) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    spec = _engine.const_spec(V.check_real(gain, "gain"), dt)
    res = zeros(out=_result(out, shp, dt))
    k = min(shp)
    res[np.arange(k), np.arange(k)] = spec[1]
    return res


identity = eye


def dirac(shape=None, groups=1, *, out=None, dtype=None):
    """The Dirac delta of a 3-, 4- or 5-d convolution weight (out, in, *kernel):
    each output channel of each group passes its input channel through
    (torch's dirac_)."""
    dt, shp = _target("dirac", shape, out, dtype)
    if len(shp) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    groups = V.check_positive_int(groups, "groups")
    if shp[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    res = zeros(out=_result(out, shp, dt))
    per_group = shp[0] // groups
    d = np.arange(min(per_group, shp[1]))
    centre = tuple(s // 2 for s in shp[2:])
    for g in range(groups):
        res[(g * per_group + d, d) + centre] = 1
    return res


# ----------------------------------------------------------- random fills


class InitializerMethods:
    """The random initializers, as methods of fastinit.Generator.

    Without ``stream=`` an initializer draws sequentially from the Generator
    (its position moves on); with ``stream=`` (an int or a tensor name) the
    values depend only on (seed, stream, element index).
    """

    # Generator supplies _request (validation), _draw (the fill) and _reserve.

    def _init(self, method, shape, out, dtype, stream):
        dt, shp, addr = self._request(method, shape, dtype, out, stream, None, np.float32, "shape")
        if shp is None:
            raise TypeError(f"{method}: give a shape or out=")
        return dt, shp, addr

    def _fan(self, shape, layout, mode, fan_in, fan_out, modes=("fan_in", "fan_out")):
        """The fan a mode names ('fan_in', 'fan_out', 'fan_avg'), from the
        overrides where given, else from the shape in the layout."""
        V.check_choice(layout, "layout", LAYOUTS)
        fi = None if fan_in is None else V.check_positive_int(fan_in, "fan_in")
        fo = None if fan_out is None else V.check_positive_int(fan_out, "fan_out")
        needed = {"fan_in": (fi,), "fan_out": (fo,), "fan_avg": (fi, fo)}.get(mode, (None,))
        if any(f is None for f in needed):
            ci, co = compute_fans(shape, layout)
            fi = ci if fi is None else fi
            fo = co if fo is None else fo
        return select_fan(fi, fo, mode, modes)

    def _draw_spec(self, spec, dt, shape, out, addr):
        if math.prod(shape) == 0:  # zero-size: a no-op
            return _result(out, shape, dt)
        return self._draw(spec[0], spec[1:], dt, shape, out, addr)

    # ---- plain distributions

    def truncated_normal(self, shape=None, mean=0.0, std=1.0, a=-2.0, b=2.0, *, std_units=False,
                         out=None, dtype=None, stream=None):
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
        dt, shp, addr = self._init("truncated_normal", shape, out, dtype, stream)
        if std_units:
            a, b = mean + a * std, mean + b * std
        return self._draw_spec(_engine.truncnorm_spec(mean, std, a, b, dt), dt, shp, out, addr)

    # ---- Xavier / Glorot

    def xavier_uniform(self, shape=None, gain=1.0, *, layout="torch", fan_in=None, fan_out=None,
                       out=None, dtype=None, stream=None):
        """U(-l, l), l = gain sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010;
        torch's xavier_uniform_, Keras' GlorotUniform with gain 1)."""
        gain = V.check_real(gain, "gain")
        dt, shp, addr = self._init("xavier_uniform", shape, out, dtype, stream)
        fan = self._fan(shp, layout, "fan_avg", fan_in, fan_out, ("fan_avg",))
        if math.prod(shp) == 0:
            return _result(out, shp, dt)
        limit = abs(gain) * math.sqrt(3.0 / fan)
        return self._draw_spec(_engine.uniform_spec(-limit, limit, dt), dt, shp, out, addr)

    def xavier_normal(self, shape=None, gain=1.0, *, truncated=False, layout="torch", fan_in=None,
                      fan_out=None, out=None, dtype=None, stream=None):
        """N(0, s), s = gain sqrt(2 / (fan_in + fan_out)) (torch's xavier_normal_).
        ``truncated=True``: Keras' GlorotNormal (s / 0.8796, cut at 2 std)."""
        gain = V.check_real(gain, "gain")
        dt, shp, addr = self._init("xavier_normal", shape, out, dtype, stream)
        fan = self._fan(shp, layout, "fan_avg", fan_in, fan_out, ("fan_avg",))
        if math.prod(shp) == 0:
            return _result(out, shp, dt)
        std = abs(gain) * math.sqrt(1.0 / fan)
        return self._draw_spec(_engine.normal_spec(0.0, std, dt, truncated), dt, shp, out, addr)

    # ---- He / Kaiming

    def _he_std(self, method, shape, a, mode, nonlinearity, layout, fan_in, fan_out, out, dtype, stream):
        gain = calculate_gain(nonlinearity, a)
        dt, shp, addr = self._init(method, shape, out, dtype, stream)
        fan = self._fan(shp, layout, mode, fan_in, fan_out)
        return dt, shp, addr, (gain / math.sqrt(fan) if math.prod(shp) else 0.0)

    def he_uniform(self, shape=None, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, layout="torch",
                   fan_in=None, fan_out=None, out=None, dtype=None, stream=None):
        """U(-l, l), l = gain sqrt(3 / fan) with gain = calculate_gain(nonlinearity, a)
        and fan the `mode` fan (He et al. 2015; torch's kaiming_uniform_, whose
        defaults give gain sqrt(2))."""
        dt, shp, addr, std = self._he_std("he_uniform", shape, a, mode, nonlinearity, layout, fan_in, fan_out,
                                          out, dtype, stream)
        limit = math.sqrt(3.0) * std
        return self._draw_spec(_engine.uniform_spec(-limit, limit, dt), dt, shp, out, addr)

    def he_normal(self, shape=None, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *, truncated=False,
                  layout="torch", fan_in=None, fan_out=None, out=None, dtype=None, stream=None):
        """N(0, gain / sqrt(fan)) (torch's kaiming_normal_).  ``truncated=True``:
        Keras' HeNormal (std / 0.8796, cut at 2 std)."""
        dt, shp, addr, std = self._he_std("he_normal", shape, a, mode, nonlinearity, layout, fan_in, fan_out,
                                          out, dtype, stream)
        return self._draw_spec(_engine.normal_spec(0.0, std, dt, truncated), dt, shp, out, addr)

    # ---- LeCun

    def lecun_uniform(self, shape=None, *, layout="torch", fan_in=None, out=None, dtype=None, stream=None):
        """U(-l, l), l = sqrt(3 / fan_in): variance 1 / fan_in (LeCun et al.
        1998; the 1/sqrt(n) scaling; Keras' LecunUniform)."""
        dt, shp, addr = self._init("lecun_uniform", shape, out, dtype, stream)
        fi = self._fan(shp, layout, "fan_in", fan_in, None)
        if math.prod(shp) == 0:
            return _result(out, shp, dt)
        limit = math.sqrt(3.0 / fi)
        return self._draw_spec(_engine.uniform_spec(-limit, limit, dt), dt, shp, out, addr)

    def lecun_normal(self, shape=None, *, truncated=False, layout="torch", fan_in=None, out=None, dtype=None,
                     stream=None):
        """N(0, sqrt(1 / fan_in)).  ``truncated=True``: Keras' and JAX's
        LecunNormal (std / 0.8796, cut at 2 std)."""
        dt, shp, addr = self._init("lecun_normal", shape, out, dtype, stream)
        fi = self._fan(shp, layout, "fan_in", fan_in, None)
        if math.prod(shp) == 0:
            return _result(out, shp, dt)
        std = math.sqrt(1.0 / fi)
        return self._draw_spec(_engine.normal_spec(0.0, std, dt, truncated), dt, shp, out, addr)

    # ---- Keras / JAX variance scaling

    def variance_scaling(self, shape=None, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                         layout="torch", fan_in=None, fan_out=None, out=None, dtype=None, stream=None):
        """Keras' and JAX's VarianceScaling: with n the fan that `mode` names
        ('fan_in', 'fan_out' or 'fan_avg') and s = scale / max(1, n):
        'truncated_normal' draws N(0, sqrt(s) / 0.8796) cut at 2 std,
        'untruncated_normal' (or 'normal') N(0, sqrt(s)), 'uniform'
        U(-sqrt(3 s), sqrt(3 s)).  Keras' default layout is 'keras'."""
        scale = V.check_real(scale, "scale")
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        V.check_choice(mode, "mode", ("fan_in", "fan_out", "fan_avg"))
        V.check_choice(distribution, "distribution", _DISTRIBUTIONS)
        dt, shp, addr = self._init("variance_scaling", shape, out, dtype, stream)
        fan = self._fan(shp, layout, mode, fan_in, fan_out, ("fan_in", "fan_out", "fan_avg"))
        if math.prod(shp) == 0:
            return _result(out, shp, dt)
        s = scale / max(1.0, fan)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            spec = _engine.uniform_spec(-limit, limit, dt)
        else:
            spec = _engine.normal_spec(0.0, math.sqrt(s), dt, distribution == "truncated_normal")
        return self._draw_spec(spec, dt, shp, out, addr)

    # ---- structured

    def orthogonal(self, shape=None, gain=1.0, *, out=None, dtype=None, stream=None):
        """A (semi-)orthogonal matrix, times gain (Saxe et al. 2014; torch's
        orthogonal_): the Q of the QR decomposition of a float64 standard
        normal matrix, signs fixed by R's diagonal so that Q is uniformly
        (Haar) distributed; tensors of more than 2 dimensions are flattened to
        (shape[0], rest).  The QR runs in LAPACK, so its bits follow the
        LAPACK build; everything else is fastinit's stream."""
        gain = V.check_real(gain, "gain")
        dt, shp, addr = self._init("orthogonal", shape, out, dtype, stream)
        if len(shp) < 2:
            raise ValueError("Only tensors with 2 or more dimensions are supported")
        res = _result(out, shp, dt)
        if res.size == 0:
            return res
        rows = shp[0]
        cols = res.size // rows
        flat = np.empty((rows, cols), dtype=np.float64)
        self._draw(_engine.NORMAL, _engine.normal_params(0.0, 1.0, flat.dtype), flat.dtype, flat.shape, flat, addr)
        m = flat.T if rows < cols else flat
        q, r = np.linalg.qr(m)
        d = np.sign(np.diag(r))
        q *= np.where(d == 0, 1.0, d)
        if rows < cols:
            q = q.T
        q *= gain
        res[...] = q.reshape(shp).astype(dt)
        return res

    def sparse(self, shape=None, *, sparsity, std=0.01, out=None, dtype=None, stream=None):
        """A 2-d N(0, std) matrix with exactly ceil(sparsity * rows) zeros in
        every column, at rows chosen uniformly at random (Martens 2010;
        torch's sparse_).  The zero rows of each column are those holding its
        smallest keys, uint32 words of the same stream drawn right after the
        values' Philox blocks (ties to the lower row), so they too come from
        the seed alone."""
        sparsity = V.check_real(sparsity, "sparsity")
        if not 0.0 <= sparsity <= 1.0:
            raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
        std = V.check_nonnegative(std, "std")
        dt, shp, addr = self._init("sparse", shape, out, dtype, stream)
        if len(shp) != 2:
            raise ValueError("Only tensors with 2 dimensions are supported")
        res = _result(out, shp, dt)
        if res.size == 0:
            return res
        rows, cols = shp
        n = res.size
        if addr is None:  # sequential: the values' blocks, then the keys' blocks
            addr = (0, self._reserve(n, dt))
            self._reserve(n, np.dtype(np.uint32))
        stream, first = addr
        spec = _engine.normal_spec(0.0, std, dt)
        self._draw(spec[0], spec[1:], dt, shp, res, addr)
        key_word = 4 * -(-(first + n) * _engine.words_per_element(dt) // 4)
        keys = self.random_raw((rows, cols), stream=stream, start=key_word)
        num_zeros = math.ceil(sparsity * rows)
        if num_zeros:
            zero_rows = np.argsort(keys, axis=0, kind="stable")[:num_zeros]
            res[zero_rows, np.arange(cols)] = 0
        return res

    # ---- aliases: the names torch and Keras users know

    glorot_uniform = xavier_uniform
    glorot_normal = xavier_normal
    kaiming_uniform = he_uniform
    kaiming_normal = he_normal


RANDOM_INITIALIZERS = ("truncated_normal", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
                       "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform",
                       "lecun_normal", "variance_scaling", "orthogonal", "sparse")
DETERMINISTIC_INITIALIZERS = {"zeros": zeros, "ones": ones, "constant": constant, "eye": eye,
                              "identity": identity, "dirac": dirac}
