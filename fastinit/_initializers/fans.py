"""Fans and gains: the numbers that scale fan-based initializers.

Layouts:
  'torch'  (out, in, *kernel): a Linear weight is (out_features, in_features),
           a Conv2d weight (out_channels, in_channels, kh, kw);
  'keras'  (*kernel, in, out): a Dense kernel is (in, out), a Conv2D kernel
           (kh, kw, in_channels, out_channels); JAX/Flax use it too.
fan_in = in * receptive field, fan_out = out * receptive field, where the
receptive field is the product of the kernel dimensions.
"""

from __future__ import annotations

import math
import numbers

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


def compute_fans(shape, layout: str = "torch") -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape in this layout."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {describe(layout)}")
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    if layout == "torch":
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


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
    """The fan a mode names: 'fan_in', 'fan_out' or (where allowed) 'fan_avg'."""
    if not isinstance(mode, str) or mode not in modes:
        raise ValueError(f"Mode {_text(mode)} not supported, please use one of {list(modes)}")
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    return (fan_in + fan_out) / 2.0
