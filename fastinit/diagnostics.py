"""Why initialization matters: activation and gradient statistics through a
deep network, for any fastinit initializer.

    stats = fastinit.diagnostics.activation_stats("xavier_normal", depth=10, width=512, activation="tanh")
    stats["std"]        # per layer: the standard deviation of the activations
    stats["grad_std"]   # per layer: of the gradients flowing back into it

A depth x width multilayer perceptron without biases (weights in torch's
(out, in) layout, h = x W^T, x' = f(h)) takes `batch` unit-variance inputs
forward; a unit-variance gradient at the output is propagated back.  A
linear unit's pre-activation h = sum_i w_i x_i has Var(h) = n Var(w) Var(x)
for independent zero-mean weights and inputs, so the weight variance decides
whether activations keep their scale (Var(w) = 1/n for linear and tanh
around 0: LeCun, Xavier; 2/n for ReLU, which zeroes half: He), shrink
towards zero (0.01 * randn), or blow up and saturate tanh (randn).
"""

from __future__ import annotations

import numpy as np

from ._initializers import functions as _functions
from ._initializers.generator import as_generator, default_rng

ACTIVATIONS = ("linear", "tanh", "sigmoid", "relu", "leaky_relu", "selu")
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _activation(name):
    """(f, f') of an activation, on float64 arrays."""
    if name == "linear":
        return (lambda h: h), (lambda h: np.ones_like(h))
    if name == "tanh":
        return np.tanh, (lambda h: 1.0 - np.tanh(h) ** 2)
    if name == "sigmoid":
        def f(h):
            return 0.5 * (1.0 + np.tanh(0.5 * h))
        return f, (lambda h: f(h) * (1.0 - f(h)))
    if name == "relu":
        return (lambda h: np.maximum(h, 0.0)), (lambda h: (h > 0).astype(h.dtype))
    if name == "leaky_relu":
        return (lambda h: np.where(h > 0, h, 0.01 * h)), (lambda h: np.where(h > 0, 1.0, 0.01))
    if name == "selu":
        return ((lambda h: _SELU_SCALE * np.where(h > 0, h, _SELU_ALPHA * np.expm1(np.minimum(h, 0.0)))),
                (lambda h: _SELU_SCALE * np.where(h > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(h, 0.0)))))
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _initializer(init):
    """(label, weights(shape, rng, stream)) for an initializer name, a
    'normal:STD' or 'uniform:LIMIT' text, or a callable(shape, rng)."""
    if callable(init):
        return getattr(init, "__name__", "custom"), lambda shape, rng, stream: np.asarray(init(shape, rng))
    if not isinstance(init, str):
        raise TypeError(f"init must be an initializer name or a callable, not {type(init).__name__}")
    name, _, arg = init.partition(":")
    if arg:
        try:
            x = float(arg)
        except ValueError:
            raise ValueError(f"init {init!r}: {arg!r} is not a number") from None
        if name == "normal":
            return init, lambda shape, rng, stream: _functions.normal(shape, mean=0.0, std=x, rng=rng, stream=stream, dtype=np.float64)
        if name == "uniform":
            return init, lambda shape, rng, stream: _functions.uniform(shape, low=-x, high=x, rng=rng, stream=stream,
                                                                 dtype=np.float64)
        if name == "constant":
            return init, lambda shape, rng, stream: _functions.constant(shape, value=x, dtype=np.float64)
        raise ValueError(f"init {init!r}: only normal:STD, uniform:LIMIT and constant:VALUE take a number")
    fn = getattr(_functions, name, None)
    if fn is None or name in ("calculate_gain", "compute_fans"):
        raise ValueError(f"unknown initializer {init!r}")
    if name in ("zeros", "ones", "eye", "identity"):
        return init, lambda shape, rng, stream: fn(shape, dtype=np.float64)
    return init, lambda shape, rng, stream: fn(shape, rng=rng, stream=stream, dtype=np.float64)


def activation_stats(init, depth=10, width=512, activation="tanh", batch=1000, rng=0, keep=False):
    """Per-layer statistics of a depth x width MLP initialized with `init`.

    Returns a dict: "mean", "std" (of each layer's activations), "grad_mean",
    "grad_std" (of the gradient reaching each layer's activations),
    "unit_std" (the spread across the units of a layer, averaged over the
    batch: 0 when every unit computes the same thing), "init", "activation",
    and with keep=True "activations", each layer's (batch, width) array."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 2:
        raise ValueError(f"batch must be an int of at least 2, got {batch!r}")
    f, df = _activation(activation)
    label, weights = _initializer(init)
    g = as_generator(rng)
    x = g.standard_normal((batch, width))  # unit-variance inputs
    ws, hs, xs = [], [], []
    for layer in range(depth):
        w = weights((width, width), g, f"diagnostics.layer{layer}.weight")
        h = x @ w.T
        x = f(h)
        ws.append(w)
        hs.append(h)
        xs.append(x)
    grad = g.standard_normal((batch, width))  # a unit-variance gradient at the output
    grads = [None] * depth
    for layer in reversed(range(depth)):
        grads[layer] = grad
        grad = (grad * df(hs[layer])) @ ws[layer]
    out = {
        "init": label, "activation": activation,
        "mean": [float(a.mean()) for a in xs], "std": [float(a.std()) for a in xs],
        "grad_mean": [float(d.mean()) for d in grads], "grad_std": [float(d.std()) for d in grads],
        "unit_std": [float(a.std(axis=1).mean()) for a in xs],
    }
    if keep:
        out["activations"] = xs
    return out


def table(results) -> str:
    """Per-layer activation and gradient std for several results."""
    depth = len(results[0]["std"])
    head = f"{'layer':>5} " + " ".join(f"{r['init'][:18]:>19}" for r in results)
    lines = [f"activation {results[0]['activation']}: std of activations (std of gradients)", head]
    for i in range(depth):
        cells = " ".join(f"{r['std'][i]:9.3g} ({r['grad_std'][i]:7.2g})" for r in results)
        lines.append(f"{i + 1:>5} {cells}")
    return "\n".join(lines)


PLOT_MAX_DEPTH = 40  # one histogram per layer: more would not be legible
PLOT_MAX_INITS = 12


def _panel_range(a, relu: bool):
    """(values to draw, lo, hi, label) of one histogram panel: its own x
    range, the central 99.5% of |values|, so that a layer whose scale is
    1e-7 or 1e12 shows its shape as well as one at scale 1."""
    a = a[np.isfinite(a)]
    if not np.any(a):  # every value 0 (or none finite): one bar at 0
        return a, (0.0 if relu else -1.0), 1.0, "all 0" if a.size else "no finite value"
    if relu:  # ReLU zeroes half of everything: show the rest
        a = a[a != 0]
    hi = float(np.percentile(np.abs(a), 99.5)) or float(np.abs(a).max())
    if relu:
        return a, 0.0, hi, f"0 to {hi:.2g}"
    return a, -hi, hi, f"\u00b1{hi:.2g}"


def plot(results, path) -> None:
    """Per-layer std curves, then each initializer's activation histograms,
    one panel per layer, each with its own x range (written under it).
    Needs matplotlib.  A file name is written whole or not at all (through
    a temporary file beside it); a file object is written as savefig does."""
    import os

    fig = _figure(results)
    kw = dict(dpi=80, bbox_inches="tight", pad_inches=0.1)
    if isinstance(path, (str, os.PathLike)):
        from .__main__ import save_figure

        save_figure(fig, os.fspath(path), **kw)
    else:
        fig.savefig(path, **kw)


def _figure(results):
    """plot()'s figure (a matplotlib Figure, not attached to pyplot)."""
    from matplotlib.figure import Figure

    depth = len(results[0]["std"])
    n = len(results)
    activation = results[0]["activation"]
    relu = activation in ("relu", "leaky_relu")
    # the layout in inches, top to bottom, with no band left empty
    legend_h, curves_h, gap_h, row_h, foot_h = 0.45, 2.5, 0.95, 1.05, 0.45
    width = max(1.7 * depth, 9.0)
    height = legend_h + curves_h + gap_h + n * row_h + foot_h
    fig = Figure(figsize=(width, height))

    def y(inches_from_top):
        return 1.0 - inches_from_top / height

    top = fig.add_gridspec(1, 2, left=0.06, right=0.98, top=y(legend_h + 0.25), bottom=y(legend_h + curves_h),
                           wspace=0.18)
    bottom = fig.add_gridspec(n, depth, left=0.06, right=0.98, top=y(legend_h + curves_h + gap_h),
                              bottom=y(height - foot_h), hspace=0.5, wspace=0.12)
    ax = fig.add_subplot(top[0, 0])
    ax2 = fig.add_subplot(top[0, 1])
    layers = np.arange(1, depth + 1)
    floor = 1e-10  # a std of 0 (every unit equal) is drawn on the floor
    for r in results:
        ax.plot(layers, np.maximum(r["std"], floor), marker="o", label=r["init"])
        ax2.plot(layers, np.maximum(r["grad_std"], floor), marker="o", label=r["init"])
    for a, title in ((ax, "std of activations"), (ax2, "std of back-propagated gradients")):
        a.set_yscale("log")
        a.set_ylim(bottom=floor / 3)
        a.set_xticks(layers)
        a.set_xlabel("layer (a std of 0 is drawn at 1e-10)", fontsize=8)
        a.set_title(f"{title} ({activation})", fontsize=10)
        a.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=n, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, y(0.05)))
    for row, r in enumerate(results):
        for layer in range(depth):
            values, lo, hi, label = _panel_range(r["activations"][layer].ravel(), relu)
            a = fig.add_subplot(bottom[row, layer])
            a.hist(values, bins=40, range=(lo, hi), color=f"C{row % 10}")
            pad = 0.04 * (hi - lo)  # the range written under it, and a margin: bars at its ends stay visible
            a.set_xlim(lo - pad, hi + pad)
            a.set_yticks([])
            a.set_xticks([])  # the panel's range is its label: no offset texts to collide
            a.set_xlabel(label, fontsize=7, labelpad=2)
            if layer == 0:
                a.set_ylabel(r["init"], fontsize=8)
            if row == 0:
                a.set_title(f"layer {layer + 1}", fontsize=8)
    note = "each histogram has its own x range, written under it"
    if relu:
        note = f"histograms of the nonzero activations ({activation} zeroes about half); {note}"
    fig.text(0.5, y(height - 0.08), note, ha="center", va="bottom", fontsize=8)
    return fig


def _check_plot(p, path, depth, n_inits):
    """--plot's destination, matplotlib and the figure's size, checked
    before the table is computed."""
    from .__main__ import check_figure_file

    check_figure_file(p, path, "--plot")
    if depth > PLOT_MAX_DEPTH:
        p.error(f"argument --plot: the figure has one histogram per layer, at most {PLOT_MAX_DEPTH} "
                f"(--depth {depth}); the table has no limit")
    if n_inits > PLOT_MAX_INITS:
        p.error(f"argument --plot: the figure has one row per initializer, at most {PLOT_MAX_INITS} "
                f"({n_inits} given to --init)")


def main(argv=None) -> int:
    """`fastinit diagnose`: the table, and with --plot the figure."""
    import argparse

    from .__main__ import file_name, int_at_least, non_negative_int, physical_memory, positive_int

    p = argparse.ArgumentParser(prog="fastinit diagnose", description="Activation statistics through a deep MLP.")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS)
    p.add_argument("--init", default="zeros,normal:0.01,normal:1,xavier_normal,he_normal",
                   help="comma-separated initializers (names, normal:STD, uniform:LIMIT, constant:VALUE)")
    p.add_argument("--depth", type=positive_int, default=10, help="layers (default 10)")
    p.add_argument("--width", type=positive_int, default=512, help="units a layer (default 512)")
    p.add_argument("--batch", type=int_at_least(2, " (a std needs two samples)"), default=1000,
                   help="inputs, at least 2 (default 1000)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="the seed (default 0)")
    p.add_argument("--plot", metavar="PNG", type=file_name, help="write a figure (needs matplotlib)")
    a = p.parse_args(argv)
    inits = [i.strip() for i in a.init.split(",") if i.strip()]
    if not inits:
        p.error(f"argument --init: no initializer given in {a.init!r}")
    for init in inits:  # every name, before any layer is computed
        try:
            _, weights = _initializer(init)
            weights((2, 2), default_rng(0), "check")
        except (ValueError, TypeError) as exc:
            p.error(f"argument --init: {exc}")
    if a.plot is not None:
        _check_plot(p, a.plot, a.depth, len(inits))
    # float64: each layer's weights, pre-activations and activations are kept,
    # and with --plot every initializer's activations too
    need = 8 * a.depth * (a.width * a.width + 2 * a.batch * a.width) + 8 * 4 * a.batch * a.width
    if a.plot is not None:
        need += 8 * len(inits) * a.depth * a.batch * a.width
    mem = physical_memory()
    if mem and need > mem:
        p.error(f"arguments --depth/--width/--batch: {a.depth} layers of {a.width} units on a batch of {a.batch} "
                f"need about {need / 2**30:.3g} GiB of memory, more than this machine's {mem / 2**30:.3g} GiB")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # a huge init overflows: the table shows inf and nan
            results = [activation_stats(i, a.depth, a.width, a.activation, a.batch, a.seed, keep=a.plot is not None)
                       for i in inits]
    except MemoryError:
        p.error(f"arguments --depth/--width/--batch: not enough memory for {a.depth} layers of {a.width} units "
                f"on a batch of {a.batch}")
    print(table(results))
    if a.plot is not None:
        plot(results, a.plot)
        print(f"figure: {a.plot}")
    return 0


__all__ = ["activation_stats", "table", "plot", "ACTIVATIONS"]
