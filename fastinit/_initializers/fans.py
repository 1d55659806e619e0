"""Fans and gains: the numbers that scale fan-based initializers.

Layouts:
  'torch'  (out, in, *kernel): a Linear weight is (out_features, in_features),
           a Conv2d weight (out_channels, in_channels, kh, kw);
  'keras'  (*kernel, in, out): a Dense kernel is (in, out), a Conv2D kernel
           (kh, kw, in_channels, out_channels); JAX/Flax use it too.
fan_in = in * receptive field, fan_out = out * receptive field, where the
receptive field is the product of the kernel dimensions.  In Keras' layout a
0-d shape has fans (1, 1) and a 1-d shape (n,) has (n, n), as Keras'
compute_fans; torch's layout refuses fewer than 2 dimensions, as torch.
Explicit axes (JAX's in_axis, out_axis, batch_axis) replace the layout's:
fan_in = prod(in axes) * receptive field, fan_out = prod(out axes) *
receptive field, the receptive field being the product of every other axis
that is not a batch axis (jax.nn.initializers' _compute_fans).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validate import describe

LAYOUTS = ("torch", "keras")

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "sigmoid")
NONLINEARITIES = _LINEAR + ("tanh", "relu", "leaky_relu", "selu")


def _text(x) -> str:
    """x as torch's messages print it (str), or described where it is not a
    short string or number (an array is never printed whole)."""
    if isinstance(x, (str, numbers.Number)) and len(str(x)) <= 60:
        return str(x)
    return describe(x)


def _axes(value, name: str, ndim: int) -> tuple[int, ...]:
    """An axis or a sequence of axes of an ndim-d shape, negative ones
    counted from the end, as non-negative ints (JAX's int | Sequence[int]).
    Anything else, an axis out of range or a repeated one is a ValueError
    naming the argument."""
    items = (value,) if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(items)
    except TypeError:
        raise ValueError(f"{name} must be an int or a sequence of ints, got {_text(value)}") from None
    out = []
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
            raise ValueError(f"{name} must be an int or a sequence of ints, got {_text(value)}")
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for a {ndim}-d shape")
        a %= ndim
        if a in out:
            raise ValueError(f"{name}: axis {a} is given twice")
        out.append(a)
    return tuple(out)


def compute_fans(shape, layout: str = "torch", *, in_axis=None, out_axis=None, batch_axis=None) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape in this layout.

    layout='torch': ``(out, in, *kernel)``, fewer than 2 dimensions a ValueError
    (torch's message); layout='keras': ``(*kernel, in, out)``, a 0-d shape (1, 1)
    and a 1-d shape (n,) (n, n), as Keras' compute_fans.  in_axis, out_axis
    (an int or a sequence of ints) and batch_axis (default none) replace the
    layout's axes (keras: -2, -1; torch: 1, 0) as in jax.nn.initializers: the
    axes that are neither in, out nor batch axes make the receptive field.
    The three must not share an axis."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {describe(layout)}")
    shape = tuple(shape)
    if in_axis is None and out_axis is None and batch_axis is None:
        if len(shape) < 2:
            if layout == "torch":
                raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
            fan = shape[0] if shape else 1  # Keras: constants (1, 1), vectors (n, n)
            return int(fan), int(fan)
        if layout == "torch":
            receptive = math.prod(shape[2:])
            return shape[1] * receptive, shape[0] * receptive
        receptive = math.prod(shape[:-2])
        return shape[-2] * receptive, shape[-1] * receptive
    ndim = len(shape)
    default_in, default_out = (1, 0) if layout == "torch" else (-2, -1)
    if ndim < 2 and (in_axis is None or out_axis is None):
        raise ValueError(f"{'in_axis' if in_axis is None else 'out_axis'}: a {ndim}-d shape has no default "
                         f"{'input' if in_axis is None else 'output'} axis; give in_axis and out_axis")
    ins = _axes(default_in if in_axis is None else in_axis, "in_axis", ndim)
    outs = _axes(default_out if out_axis is None else out_axis, "out_axis", ndim)
    batch = _axes(() if batch_axis is None else batch_axis, "batch_axis", ndim)
    if set(ins) & set(outs):
        raise ValueError(f"in_axis and out_axis share axis {min(set(ins) & set(outs))}")
    for name, axes in (("in_axis", ins), ("out_axis", outs)):
        if set(axes) & set(batch):
            raise ValueError(f"batch_axis and {name} share axis {min(set(axes) & set(batch))}")
    used = set(ins) | set(outs) | set(batch)
    receptive = math.prod(d for a, d in enumerate(shape) if a not in used)
    return (int(math.prod(shape[a] for a in ins) * receptive),
            int(math.prod(shape[a] for a in outs) * receptive))


def calculate_gain(nonlinearity: str, param=None, *, param_name: str = "param") -> float:
    """The recommended gain for a nonlinearity: torch.nn.init.calculate_gain's
    table (1 for linear, conv and sigmoid; 5/3 tanh; sqrt(2) relu;
    sqrt(2 / (1 + slope^2)) leaky_relu, slope 0.01 by default; 3/4 selu).
    A NaN or infinite slope is a ValueError naming `param_name`."""
    if not isinstance(nonlinearity, str):
        raise ValueError(f"Unsupported nonlinearity {_text(nonlinearity)}")
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {_text(param)} not a valid number")
        if not math.isfinite(slope):
            raise ValueError(f"{param_name} (the negative slope) must be finite, got {slope}")
        if abs(slope) > 1e150:  # slope**2 would overflow; 1 + slope**2 is slope**2 there
            return math.sqrt(2.0) / abs(slope)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {_text(nonlinearity)}")


def select_fan(fan_in: int, fan_out: int, mode: str, modes=("fan_in", "fan_out")) -> float:
    """The fan a mode names: 'fan_in', 'fan_out' or (where allowed) 'fan_avg'
    (their mean) or 'fan_geo_avg' (their geometric mean, JAX's)."""
    if not isinstance(mode, str) or mode not in modes:
        raise ValueError(f"Mode {_text(mode)} not supported, please use one of {list(modes)}")
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_geo_avg":
        return math.sqrt(fan_in * fan_out)
    return (fan_in + fan_out) / 2.0
