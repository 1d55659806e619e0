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

from . import _api
from ._generator import default_rng

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
            return init, lambda shape, rng, stream: _api.normal(shape, 0.0, x, rng=rng, stream=stream, dtype=np.float64)
        if name == "uniform":
            return init, lambda shape, rng, stream: _api.uniform(shape, -x, x, rng=rng, stream=stream,
                                                                 dtype=np.float64)
        if name == "constant":
            return init, lambda shape, rng, stream: _api.constant(shape, x, dtype=np.float64)
        raise ValueError(f"init {init!r}: only normal:STD, uniform:LIMIT and constant:VALUE take a number")
    fn = getattr(_api, name, None)
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
    g = default_rng(rng)
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


def plot(results, path) -> None:
    """Per-layer std curves, then each initializer's activation histograms,
    one panel per layer (the articles' figures).  Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depth = len(results[0]["std"])
    n = len(results)
    fig = plt.figure(figsize=(1.7 * depth, 3.6 + 1.5 * n))
    outer = fig.add_gridspec(2, 1, height_ratios=[2.6, 1.5 * n], hspace=0.28)
    top = outer[0].subgridspec(1, 2, wspace=0.18)
    bottom = outer[1].subgridspec(n, depth, hspace=0.55, wspace=0.12)
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
        a.set_title(f"{title} ({results[0]['activation']})", fontsize=10)
        a.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=n, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.985))
    relu = results[0]["activation"] in ("relu", "leaky_relu")
    for row, r in enumerate(results):
        # one range per row, so growth and shrinkage with depth show
        acts = [a.ravel() for a in r["activations"]]
        if relu:  # ReLU zeroes half of everything: show the rest (all of it when every value is 0)
            acts = [a[a != 0] if np.any(a) else a for a in acts]
        if r["activation"] == "tanh":
            lo, hi = -1.0, 1.0
        else:
            spread = max((float(np.percentile(np.abs(a), 99.5)) for a in acts if a.size), default=0.0) or 1.0
            lo, hi = (0.0 if relu else -spread), spread
        every_zero = not any(np.any(a) for a in acts)
        for layer in range(depth):
            a = fig.add_subplot(bottom[row, layer])
            a.hist(acts[layer], bins=40, range=(lo, hi), color=f"C{row}")
            a.set_yticks([])
            a.set_xticks([])  # the row's range is in its label: no offset texts to collide
            if layer == 0:
                a.set_ylabel(f"{r['init']}\n" + ("all 0" if every_zero else f"{lo:.2g} to {hi:.2g}"), fontsize=8)
            if row == 0:
                a.set_title(f"layer {layer + 1}", fontsize=8)
    if relu:
        fig.text(0.5, 0.005, "histograms of the nonzero activations (ReLU zeroes about half)", ha="center",
                 fontsize=8)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def main(argv=None) -> int:
    """`fastinit diagnose`: the table, and with --plot the figure."""
    import argparse

    p = argparse.ArgumentParser(prog="fastinit diagnose", description="Activation statistics through a deep MLP.")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS)
    p.add_argument("--init", default="zeros,normal:0.01,normal:1,xavier_normal,he_normal",
                   help="comma-separated initializers (names, normal:STD, uniform:LIMIT)")
    p.add_argument("--depth", type=int, default=10)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="PNG", help="write a figure (needs matplotlib)")
    a = p.parse_args(argv)
    try:
        results = [activation_stats(i.strip(), a.depth, a.width, a.activation, a.batch, a.seed, keep=bool(a.plot))
                   for i in a.init.split(",") if i.strip()]
    except (ValueError, TypeError) as exc:
        print(f"fastinit diagnose: error: {exc}")
        return 2
    print(table(results))
    if a.plot:
        try:
            plot(results, a.plot)
        except ImportError:
            print("fastinit diagnose: --plot needs matplotlib (pip install matplotlib)")
            return 2
        print(f"figure: {a.plot}")
    return 0


__all__ = ["activation_stats", "table", "plot", "ACTIVATIONS"]
