"""fastinit.keras: Keras 3 initializers and init_model_, on the JAX and torch
backends.

Keras picks its backend once, at import, from KERAS_BACKEND, so every
backend runs in its own subprocess (cwd: a temporary folder, never the
repository root, whose fastinit/ has no compiled core).  One worker script
per backend does all the checks and prints their results as JSON; the tests
below assert on them.  Both workers run at once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

BACKENDS = ("jax", "torch")

WORKER = textwrap.dedent(r'''
import json, math, os, sys, tempfile
import numpy as np

import fastinit
R = {"fastinit_imports_keras": "keras" in sys.modules}
import fastinit.model
R["model_imports_keras"] = "keras" in sys.modules

import keras
import ml_dtypes
import fastinit.keras as fik
from keras.src.initializers.random_initializers import compute_fans as keras_fans

BACKEND = keras.backend.backend()
R["backend"] = BACKEND


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype("u%d" % a.dtype.itemsize)) if a.dtype.itemsize in (2, 4, 8) else a


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(bits(a), bits(b)))


def to_np(t):
    return keras.ops.convert_to_numpy(t)


def native(t):
    if BACKEND == "jax":
        import jax
        return isinstance(t, jax.Array)
    import torch
    return isinstance(t, torch.Tensor)


# ---------------------------------------------------------------- values
S, T = 7, "layer.kernel"
CONV, MAT, VEC = (3, 3, 4, 6), (7, 5), (5,)
kf = lambda shape: dict(zip(("fan_in", "fan_out"), keras_fans(shape)))
CASES = {
    "HeNormal": (lambda: fik.HeNormal(seed=S, stream=T),
                 lambda sh, dt: fastinit.he_normal(sh, layout="keras", truncated=True, rng=S, stream=T, dtype=dt)),
    "HeUniform": (lambda: fik.HeUniform(seed=S, stream=T),
                  lambda sh, dt: fastinit.he_uniform(sh, layout="keras", rng=S, stream=T, dtype=dt)),
    "GlorotNormal": (lambda: fik.GlorotNormal(seed=S, stream=T),
                     lambda sh, dt: fastinit.glorot_normal(sh, layout="keras", truncated=True, rng=S, stream=T,
                                                           dtype=dt)),
    "GlorotUniform": (lambda: fik.GlorotUniform(seed=S, stream=T),
                      lambda sh, dt: fastinit.glorot_uniform(sh, layout="keras", rng=S, stream=T, dtype=dt)),
    "LecunNormal": (lambda: fik.LecunNormal(seed=S, stream=T),
                    lambda sh, dt: fastinit.lecun_normal(sh, layout="keras", truncated=True, rng=S, stream=T,
                                                         dtype=dt)),
    "LecunUniform": (lambda: fik.LecunUniform(seed=S, stream=T),
                     lambda sh, dt: fastinit.lecun_uniform(sh, layout="keras", rng=S, stream=T, dtype=dt)),
    "VarianceScaling": (lambda: fik.VarianceScaling(2.0, "fan_out", "uniform", seed=S, stream=T),
                        lambda sh, dt: fastinit.variance_scaling(sh, scale=2.0, mode="fan_out", distribution="uniform",
                                                                 layout="keras", rng=S, stream=T, dtype=dt)),
    "VarianceScaling_normal": (lambda: fik.VarianceScaling(0.5, "fan_avg", "normal", seed=S, stream=T),
                               lambda sh, dt: fastinit.variance_scaling(sh, scale=0.5, mode="fan_avg",
                                                                        distribution="truncated_normal",
                                                                        layout="keras", rng=S, stream=T, dtype=dt)),
    "RandomNormal": (lambda: fik.RandomNormal(0.5, 2.0, seed=S, stream=T),
                     lambda sh, dt: fastinit.normal(sh, mean=0.5, std=2.0, rng=S, stream=T, dtype=dt)),
    "RandomUniform": (lambda: fik.RandomUniform(-1.0, 3.0, seed=S, stream=T),
                      lambda sh, dt: fastinit.uniform(sh, low=-1.0, high=3.0, rng=S, stream=T, dtype=dt)),
    "TruncatedNormal": (lambda: fik.TruncatedNormal(1.0, 0.5, seed=S, stream=T),
                        lambda sh, dt: fastinit.truncated_normal(sh, mean=1.0, std=0.5, a=-2, b=2, std_units=True,
                                                                 rng=S, stream=T, dtype=dt)),
    "Orthogonal": (lambda: fik.Orthogonal(gain=1.5, seed=S, stream=T),
                   lambda sh, dt: fastinit.orthogonal((math.prod(sh[:-1]), sh[-1]), gain=1.5, rng=S, stream=T,
                                                      dtype=dt).reshape(sh)),
    "Zeros": (lambda: fik.Zeros(), lambda sh, dt: fastinit.zeros(sh, dtype=dt)),
    "Ones": (lambda: fik.Ones(), lambda sh, dt: fastinit.ones(sh, dtype=dt)),
    "Constant": (lambda: fik.Constant(0.3), lambda sh, dt: fastinit.constant(sh, value=0.3, dtype=dt)),
    "Fastinit_sparse": (lambda: fik.Fastinit("sparse(sparsity=0.5, std=0.1)", seed=S, stream=T),
                        lambda sh, dt: fastinit.sparse(sh, sparsity=0.5, std=0.1, rng=S, stream=T, dtype=dt)),
    "Fastinit_he": (lambda: fik.Fastinit("he_normal(a=0.1)", seed=S, stream=T),
                    lambda sh, dt: fastinit.he_normal(sh, a=0.1, layout="keras", rng=S, stream=T, dtype=dt)),
}
DTYPES = ["float32", "bfloat16", "float16", "float64"]
if BACKEND == "jax":
    import jax
    if not jax.config.jax_enable_x64:
        DTYPES.remove("float64")  # JAX without x64 holds no float64 (Keras' own initializers give float32 too)
R["dtypes"] = DTYPES
values, kinds = {}, {}
for name, (make, ref) in CASES.items():
    shapes = [MAT] if name == "Fastinit_sparse" else [CONV, MAT]
    for shape in shapes:
        for dt in DTYPES:
            t = make()(shape, dtype=dt)
            key = f"{name}/{shape}/{dt}"
            values[key] = same(to_np(t), ref(shape, dt)) and keras.backend.standardize_dtype(t.dtype) == dt
            kinds[key] = native(t)
# 1-d and 0-d shapes take Keras' fans (fastinit alone refuses fewer than 2 dimensions)
values["HeNormal/(5,)"] = same(to_np(fik.HeNormal(seed=S)(VEC)),
                               fastinit.he_normal(VEC, fan_in=5, truncated=True, rng=S))
values["GlorotUniform/()"] = same(to_np(fik.GlorotUniform(seed=S)(())),
                                  fastinit.glorot_uniform((), fan_in=1, fan_out=1, rng=S))
values["Identity/(4, 6)"] = same(to_np(fik.Identity(gain=2.0)((4, 6))), fastinit.eye((4, 6), gain=2.0))
axes = fik.HeUniform(seed=S, input_axes=[0, 1], output_axes=[2])((2, 3, 4))
values["HeUniform/axes"] = same(to_np(axes), fastinit.he_uniform((2, 3, 4), fan_in=6, rng=S))
values["default_dtype_floatx"] = keras.backend.standardize_dtype(fik.HeNormal(seed=0)((3, 3)).dtype) == "float32"
values["same_each_call"] = same(to_np(fik.HeNormal(seed=1)((4, 4))), to_np(fik.HeNormal(seed=1)((4, 4))))
unseeded = fik.HeNormal()
values["unseeded_instance_repeats"] = same(to_np(unseeded((4, 4))), to_np(unseeded((4, 4))))
values["int_zeros"] = to_np(fik.Zeros()((2, 3), dtype="int32")).tolist() == [[0] * 3] * 2
values["int_constant"] = to_np(fik.Constant(3)((2,), dtype="int64")).tolist() == [3, 3]
R["values"], R["native"] = values, kinds

# a drop-in: every Keras initializer but STFT has a class of that name taking Keras' arguments, in
# Keras' order and with Keras' defaults (then fastinit's stream=, keyword-only)
import inspect
sigs = {}
for kname in sorted(n for n in dir(keras.initializers) if n[:1].isupper() and n not in ("Initializer", "STFT",
                                                                                          "STFTInitializer",
                                                                                          "IdentityInitializer",
                                                                                          "OrthogonalInitializer")):
    kp = [(p.name, p.default) for p in inspect.signature(getattr(keras.initializers, kname)).parameters.values()]
    ours = getattr(fik, kname, None)
    op = [(p.name, p.default) for p in inspect.signature(ours).parameters.values()] if ours is not None else None
    sigs[kname] = ours is not None and issubclass(ours, keras.initializers.Initializer) and op[:len(kp)] == kp
R["signatures"] = sigs
values["positional_like_keras"] = same(to_np(fik.HeUniform(S, [0, 1], [2])((2, 3, 4))),
                                       fastinit.he_uniform((2, 3, 4), fan_in=6, rng=S))

# Keras' own fans for every shape kind
R["fans"] = all(fik._keras_fans(s) == keras_fans(s) for s in [(), (5,), (3, 4), (3, 3, 4, 6), (2, 2, 2, 3, 5)])

# Keras semantics: the same distribution as Keras' own class (bounds exactly, std within 3%)
stats = {}
big = (256, 192)
for name, ours, theirs, cut in [
        ("HeNormal", fik.HeNormal(seed=1), keras.initializers.HeNormal(seed=1),
         2 * math.sqrt(2 / 256) / 0.87962566103423978),
        ("GlorotNormal", fik.GlorotNormal(seed=1), keras.initializers.GlorotNormal(seed=1),
         2 * math.sqrt(2 / 448) / 0.87962566103423978),
        ("LecunUniform", fik.LecunUniform(seed=1), keras.initializers.LecunUniform(seed=1), math.sqrt(3 / 256)),
        ("TruncatedNormal", fik.TruncatedNormal(0.0, 0.1, seed=1), keras.initializers.TruncatedNormal(0.0, 0.1, seed=1),
         0.2),
        ("VarianceScaling", fik.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=1),
         keras.initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal", seed=1), None)]:
    a, b = to_np(ours(big)).astype(np.float64), to_np(theirs(big)).astype(np.float64)
    stats[name] = {"std_ratio": float(a.std() / b.std()), "max": float(np.abs(a).max()), "cut": cut}
o = to_np(fik.Orthogonal(seed=1)((3, 3, 4, 6))).reshape(-1, 6)
stats["Orthogonal_columns"] = float(np.abs(o.T @ o - np.eye(6)).max())
R["stats"] = stats

# ------------------------------------------------- get_config / from_config
configs = {}
instances = [fik.HeNormal(seed=3, stream="a.b"), fik.HeUniform(seed=4, stream=9, input_axes=[0], output_axes=[1]),
             fik.GlorotNormal(seed=5), fik.GlorotUniform(seed=6), fik.LecunNormal(seed=7), fik.LecunUniform(seed=8),
             fik.VarianceScaling(2.0, "fan_avg", "uniform", seed=9, stream="v"),
             fik.RandomNormal(0.1, 0.2, seed=10), fik.RandomUniform(-0.3, 0.4, seed=11),
             fik.TruncatedNormal(0.0, 0.5, seed=12), fik.Orthogonal(2.0, seed=13), fik.Zeros(), fik.Ones(),
             fik.Constant(0.25), fik.Identity(3.0), fik.Fastinit("normal(std=0.3)", seed=14, stream="f")]
for ini in instances:
    name = type(ini).__name__
    cfg = ini.get_config()
    json.dumps(cfg)
    back = type(ini).from_config(cfg)
    ser = keras.initializers.serialize(ini)
    des = keras.initializers.deserialize(json.loads(json.dumps(ser)))
    shape = (4, 6)
    configs[name] = {
        "config_equal": back.get_config() == cfg,
        "values_equal": same(to_np(back(shape)), to_np(ini(shape))),
        "registered_name": ser.get("registered_name"),
        "deserialized_class": type(des).__module__ + "." + type(des).__name__,
        "deserialized_values": same(to_np(des(shape)), to_np(ini(shape))),
        "get": type(keras.initializers.get(json.loads(json.dumps(ser)))).__name__,
        "is_keras_initializer": isinstance(ini, keras.initializers.Initializer),
    }
R["configs"] = configs
R["unseeded_config"] = fik.HeNormal().get_config()

# ---------------------------------------------------- save .keras, reload
tmp = sys.argv[1]
def small_model():
    return keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(5, name="d1", kernel_initializer=fik.HeNormal(seed=1, stream="d1.kernel"),
                           bias_initializer=fik.Constant(0.5)),
        keras.layers.Dense(3, name="d2", kernel_initializer=fik.Orthogonal(seed=2),
                           bias_initializer=fik.RandomUniform(-0.1, 0.1, seed=3, stream="d2.bias")),
    ], name="net")
m = small_model()
path = os.path.join(tmp, f"m_{BACKEND}.keras")
m.save(path)
# a fresh process loads it (with only `import fastinit.keras`, which registers the classes)
LOAD = """
import sys, json, numpy as np, keras, fastinit.keras
m = keras.models.load_model(sys.argv[1])
np.savez(sys.argv[2], *[np.asarray(w.numpy()).view(np.uint32) for w in m.weights])
inits = [l.kernel_initializer for l in m.layers] + [l.bias_initializer for l in m.layers]
print(json.dumps({"classes": [type(i).__module__ + "." + type(i).__name__ for i in inits],
                  "configs": [i.get_config() for i in inits]}))
"""
import subprocess
child = subprocess.run([sys.executable, "-c", LOAD, path, os.path.join(tmp, f"w_{BACKEND}.npz")], cwd=tmp,
                       capture_output=True, text=True, timeout=100)
loaded = json.loads(child.stdout.strip().splitlines()[-1]) if child.returncode == 0 else {"error": child.stderr[-3000:]}
inits = [l.kernel_initializer for l in m.layers] + [l.bias_initializer for l in m.layers]
if "error" not in loaded:
    with np.load(os.path.join(tmp, f"w_{BACKEND}.npz")) as z:
        reloaded = [z[f"arr_{i}"] for i in range(len(z.files))]
saved = {
    "error": loaded.get("error"),
    "weights_equal": "error" not in loaded and len(reloaded) == len(m.weights) == 4
                     and all(same(np.asarray(a.numpy()).view(np.uint32), b) for a, b in zip(m.weights, reloaded)),
    "classes": loaded.get("classes"),
    "configs_equal": loaded.get("configs") == [i.get_config() for i in inits],
    # the same config builds the same initial weights (every initializer seeded)
    "rebuilt_equal": all(same(a.numpy(), b.numpy())
                         for a, b in zip(m.weights, keras.Sequential.from_config(m.get_config()).weights)),
    "kernel_is_fastinit": same(m.layers[0].kernel.numpy(),
                               fastinit.he_normal((6, 5), layout="keras", truncated=True, rng=1, stream="d1.kernel")),
}
R["saved"] = saved

# ------------------------------------------------------------- init_model_
keras.backend.clear_session()
def zoo():
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(6, name="fc", dtype="bfloat16")(x)
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2, name="out")], name="head")
    return keras.Model(inp, inner(keras.ops.cast(x, "float32")), name="zoo")
model = zoo()
names = [fik.variable_name(v, model) for v in model.weights]
spec = {fik.variable_name(v, model): {"shape": list(v.shape), "dtype": keras.backend.standardize_dtype(v.dtype)}
        for v in model.weights}
rules = {"*.bias": "zeros", "bn.gamma": "ones", "bn.moving_variance": "ones", "bn.*": "zeros",
         "*.kernel": "he_normal"}
keras_rules = {**rules, "*.kernel": "he_normal(layout='keras')"}
got = lambda m: {fik.variable_name(v, m): np.asarray(v.numpy()) for v in m.weights}
im = {"names": names, "dtypes": {n: e["dtype"] for n, e in spec.items()}}
fik.init_model_(model, rules, rng=11)
ref = fastinit.init_model(spec, rng=11, rules=keras_rules)
im["keras_layout"] = {n: same(a, ref[n]) for n, a in got(model).items()}
fik.init_model_(model, rules, rng=11, layout="torch")
ref_t = fastinit.init_model(spec, rng=11, rules=rules)
im["torch_layout"] = {n: same(a, ref_t[n]) for n, a in got(model).items()}
im["layouts_differ"] = not same(ref["conv.kernel"], ref_t["conv.kernel"])
before = got(model)
fik.init_model_(model, {"*": "normal(std=0.5)"}, rng=12, names=["fc.kernel"])
after = got(model)
sub = fastinit.init_model(spec, rng=12, rules={"*": "normal(std=0.5)"}, names=["fc.kernel"])
im["subset"] = same(after["fc.kernel"], sub["fc.kernel"]) and all(same(after[n], before[n]) for n in names
                                                                   if n != "fc.kernel")
fik.init_model_(model, "gpt2", rng=0, dtype="float64")
ref64 = fastinit.init_model({n: e["shape"] for n, e in spec.items()}, rng=0, rules="gpt2", dtype="float64")
im["drawn_float64"] = all(same(a, ref64[n].astype(a.dtype)) for n, a in got(model).items())
im["returns_model"] = fik.init_model_(model, rng=0) is model
# order-independent: a model with the same names built the other way round gets the same values
m1 = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")], name="x")
m2 = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")], name="y")
fik.init_model_(m1, {"*": "glorot_uniform"}, rng=3)
fik.init_model_(m2, {"*.bias": "glorot_uniform(fan_in=2, fan_out=2)", "*": "glorot_uniform"}, rng=3,
                names=["a.kernel", "b.kernel"])
im["model_name_dropped"] = [fik.variable_name(v, m1) for v in m1.weights] == ["a.kernel", "a.bias", "b.kernel",
                                                                             "b.bias"]
im["same_names_same_bits"] = same(m1.weights[0].numpy(), m2.weights[0].numpy()) and same(
    m1.weights[2].numpy(), m2.weights[2].numpy())
if BACKEND == "torch":  # the same names in a torch module: fastinit.torch.init_module_ gives the same bits
    import torch
    import fastinit.torch as fit
    mod = torch.nn.Module()
    for layer, shape in (("a", (4, 3)), ("b", (3, 2))):
        sub = torch.nn.Module()
        sub.kernel, sub.bias = torch.nn.Parameter(torch.empty(shape)), torch.nn.Parameter(torch.empty(shape[1]))
        setattr(mod, layer, sub)
    trules = {"*.bias": "uniform(low=-1, high=1)", "*": "lecun_normal(layout='keras', truncated=True)"}
    fit.init_module_(mod, trules, rng=21)
    fik.init_model_(m1, trules, rng=21)
    sd = mod.state_dict()
    im["same_as_init_module_"] = all(same(v.numpy(), sd[fik.variable_name(v, m1)].numpy()) for v in m1.weights)
R["init_model_"] = im

# ------------------------------------------------------------------ errors
def err(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return [type(e).__name__, str(e)]
    return None

built = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a")], name="e")
snapshot = got(built)
unbuilt = keras.Sequential([keras.layers.Dense(3)])
R["errors"] = {
    "seed_type": err(lambda: fik.HeNormal(seed="0")),
    "seed_negative": err(lambda: fik.HeNormal(seed=-1)),
    "seed_bool": err(lambda: fik.RandomNormal(seed=True)),
    "stream": err(lambda: fik.HeNormal(seed=0, stream=-1)),
    "stream_type": err(lambda: fik.HeNormal(seed=0, stream=1.5)),
    "minval": err(lambda: fik.RandomUniform(minval=1.0, maxval=0.0)),
    "stddev": err(lambda: fik.RandomNormal(stddev=-1.0)),
    "scale": err(lambda: fik.VarianceScaling(scale=0.0)),
    "mode": err(lambda: fik.VarianceScaling(mode="fan_sideways")),
    "distribution": err(lambda: fik.VarianceScaling(distribution="cauchy")),
    "gain": err(lambda: fik.Orthogonal(gain="big")),
    "value": err(lambda: fik.Constant(value=[1, 2])),
    "input_axes": err(lambda: fik.HeNormal(input_axes="x")),
    "init": err(lambda: fik.Fastinit("bogus(1)")),
    "fastinit_layout": err(lambda: fik.Fastinit("zeros", layout="jax")),
    "identity_rank": err(lambda: fik.Identity()((2, 2, 2))),
    "orthogonal_rank": err(lambda: fik.Orthogonal(seed=0)((4,))),
    "shape": err(lambda: fik.HeNormal(seed=0)((-1, 3))),
    "dtype": err(lambda: fik.HeNormal(seed=0)((3, 3), dtype="int32")),
    "rules": err(lambda: fik.init_model_(built, {"*": "nope"}, rng=0)),
    "rule_argument": err(lambda: fik.init_model_(built, {"*": "normal(sd=1)"}, rng=0)),
    "layout": err(lambda: fik.init_model_(built, rng=0, layout="jax")),
    "names": err(lambda: fik.init_model_(built, rng=0, names=["a.weight"])),
    "rng": err(lambda: fik.init_model_(built, rng="seed")),
    "rng_missing": err(lambda: fik.init_model_(built)),
    "model": err(lambda: fik.init_model_(unbuilt, rng=0)),
    "model_type": err(lambda: fik.init_model_(object(), rng=0)),
    # fans of a 1-d bias in torch's layout: refused before any variable is set
    "tensor": err(lambda: fik.init_model_(built, {"*": "he_normal"}, rng=0, layout="torch")),
}
R["errors_left_model_alone"] = all(same(a, snapshot[n]) for n, a in got(built).items())

# ------------------------------------------------- keras.distribution (JAX)
if BACKEND == "jax":
    import jax
    import fastinit.keras as K
    calls = []
    orig = K._part
    K._part = lambda t, g, index: (calls.append((t.name, str(index))), orig(t, g, index))[1]
    dist = {"devices": len(jax.devices())}
    devices = keras.distribution.list_devices()
    mesh = keras.distribution.DeviceMesh((2, 2), ["batch", "model"], devices=devices)
    lm = keras.distribution.LayoutMap(mesh)
    lm[".*d1/kernel"] = (None, "model")
    lm[".*d2/kernel"] = ("model", None)
    for kind, distribution in [("model_parallel", keras.distribution.ModelParallel(layout_map=lm,
                                                                                   batch_dim_name="batch")),
                               ("data_parallel", keras.distribution.DataParallel(devices=devices))]:
        keras.distribution.set_distribution(distribution)
        net = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, name="d1"), keras.layers.Dense(4, name="d2")],
                               name="net")
        specs = {fik.variable_name(v, net): str(v.value.sharding.spec) for v in net.weights}
        # fastinit's initializer classes too make a distributed variable by its parts
        fills = []
        orig_fill = K.GlorotNormal._fill
        K.GlorotNormal._fill = lambda self, shape, dtype, index=None: (fills.append(str(index)),
                                                                        orig_fill(self, shape, dtype, index))[1]
        net2 = keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(8, name="d1", kernel_initializer=fik.GlorotNormal(seed=2, stream="k"),
                               bias_initializer=fik.RandomUniform(seed=3)),
            keras.layers.Dense(4, name="d2", kernel_initializer=fik.Orthogonal(seed=4), bias_initializer=fik.Ones()),
        ], name="net2")
        K.GlorotNormal._fill = orig_fill
        w = net2.weights
        classes = {
            "specs": [str(v.value.sharding.spec) for v in w],
            "equal": [same(np.asarray(w[0].value), fastinit.glorot_normal((6, 8), layout="keras", truncated=True,
                                                                          rng=2, stream="k")),
                      same(np.asarray(w[1].value), fastinit.uniform(8, low=-0.05, high=0.05, rng=3)),
                      same(np.asarray(w[2].value), fastinit.orthogonal((8, 4), rng=4)),
                      same(np.asarray(w[3].value), fastinit.ones(4))],
            "fills": fills,
            "works": np.asarray(net2(np.ones((4, 6), np.float32))).shape == (4, 4),
        }
        calls.clear()
        fik.init_model_(net, {"*.bias": "uniform", "*": "glorot_normal(truncated=True)"}, rng=5)
        ref = fastinit.init_model({"d1.kernel": [6, 8], "d1.bias": [8], "d2.kernel": [8, 4], "d2.bias": [4]}, rng=5,
                                  rules={"*.bias": "uniform", "*": "glorot_normal(truncated=True, layout='keras')"})
        dist[kind] = {
            "equal": {fik.variable_name(v, net): same(np.asarray(v.value), ref[fik.variable_name(v, net)])
                      for v in net.weights},
            "specs_before": specs,
            "specs_after": {fik.variable_name(v, net): str(v.value.sharding.spec) for v in net.weights},
            "shards_equal": all(same(np.asarray(s.data), ref[fik.variable_name(v, net)][s.index])
                                for v in net.weights for s in v.value.addressable_shards),
            "calls": calls[:],
            "classes": classes,
        }
    keras.distribution.set_distribution(None)
    R["distribution"] = dist

print("RESULT " + json.dumps(R))
''')


def _available(backend: str) -> bool:
    return importlib.util.find_spec("keras") is not None and importlib.util.find_spec(backend) is not None


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """{backend: the worker's results}, both backends run at once."""
    tmp = tmp_path_factory.mktemp("keras")
    script = tmp / "keras_worker.py"
    script.write_text(WORKER)
    procs = {}
    for backend in BACKENDS:
        if not _available(backend):
            continue
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        env.update(KERAS_BACKEND=backend, OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"),
                   TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="",
                   XLA_FLAGS="--xla_force_host_platform_device_count=4")
        procs[backend] = subprocess.Popen([sys.executable, str(script), str(tmp)], cwd=tmp, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for backend, p in procs.items():
        try:
            stdout, stderr = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            stdout, stderr = p.communicate()
        lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
        out[backend] = json.loads(lines[-1][len("RESULT "):]) if p.returncode == 0 and lines else \
            {"failed": f"rc {p.returncode}\n{stdout[-3000:]}\n{stderr[-6000:]}"}
    return out


@pytest.fixture(params=BACKENDS)
def r(request, results):
    if request.param not in results:
        pytest.skip(f"keras or {request.param} is not installed")
    res = results[request.param]
    assert "failed" not in res, res.get("failed")
    assert res["backend"] == request.param
    return res


def test_import_fastinit_does_not_import_keras(r):
    assert r["fastinit_imports_keras"] is False
    assert r["model_imports_keras"] is False


def test_values_equal_numpy_fill_bit_for_bit(r):
    bad = [k for k, ok in r["values"].items() if not ok]
    assert not bad, bad
    assert len(r["values"]) > 90
    for dt in ("float32", "bfloat16", "float16", "float64"):
        assert any(k.endswith("/" + dt) for k in r["values"]) == (dt in r["dtypes"])
    assert {"float32", "bfloat16"} <= set(r["dtypes"])


def test_values_are_backend_tensors(r):
    assert all(r["native"].values()), [k for k, ok in r["native"].items() if not ok]


def test_a_class_for_every_keras_initializer(r):
    assert len(r["signatures"]) >= 15, r["signatures"]
    assert all(r["signatures"].values()), r["signatures"]


def test_keras_fans(r):
    assert r["fans"]


def test_keras_semantics(r):
    """The distribution of Keras' own class: truncation bound and std."""
    for name, s in r["stats"].items():
        if name == "Orthogonal_columns":
            assert s < 1e-5
            continue
        assert abs(s["std_ratio"] - 1) < 0.03, (name, s)
        if s["cut"] is not None:
            assert s["max"] <= s["cut"] * (1 + 1e-6), (name, s)
            assert s["max"] > s["cut"] * 0.95, (name, s)


def test_config_round_trip(r):
    assert len(r["configs"]) == 16
    for name, c in r["configs"].items():
        assert c["config_equal"] and c["values_equal"], name
        assert c["is_keras_initializer"], name
        assert c["registered_name"] == f"fastinit>{name}", name
        assert c["deserialized_class"] == f"fastinit.keras.{name}", name
        assert c["deserialized_values"], name
        assert c["get"] == name, name
    cfg = r["unseeded_config"]
    assert cfg["seed"] is None and cfg["stream"] is None


def test_saved_model_reloads_with_fastinit_classes(r):
    s = r["saved"]
    assert s["error"] is None, s["error"]
    assert s["weights_equal"]
    assert s["classes"] == ["fastinit.keras.HeNormal", "fastinit.keras.Orthogonal", "fastinit.keras.Constant",
                            "fastinit.keras.RandomUniform"]
    assert s["configs_equal"]
    assert s["rebuilt_equal"]
    assert s["kernel_is_fastinit"]


def test_init_model_matches_fastinit_init_model(r):
    im = r["init_model_"]
    assert im["names"] == ["conv.kernel", "conv.bias", "bn.gamma", "bn.beta", "bn.moving_mean", "bn.moving_variance",
                           "fc.kernel", "fc.bias", "head.out.kernel", "head.out.bias"]
    assert im["dtypes"]["fc.kernel"] == "bfloat16" and im["dtypes"]["conv.kernel"] == "float32"
    assert im["keras_layout"] and all(im["keras_layout"].values()), im["keras_layout"]
    assert im["torch_layout"] and all(im["torch_layout"].values()), im["torch_layout"]
    assert im["layouts_differ"]
    assert im["subset"]
    assert im["drawn_float64"]
    assert im["returns_model"]
    assert im["model_name_dropped"]
    assert im["same_names_same_bits"]
    if r["backend"] == "torch":
        assert im["same_as_init_module_"]


@pytest.mark.parametrize("case, kind, words", [
    ("seed_type", "TypeError", ["HeNormal", "seed"]),
    ("seed_negative", "ValueError", ["HeNormal", "seed"]),
    ("seed_bool", "TypeError", ["RandomNormal", "seed"]),
    ("stream", "ValueError", ["stream"]),
    ("stream_type", "TypeError", ["stream"]),
    ("minval", "ValueError", ["minval", "maxval"]),
    ("stddev", "ValueError", ["stddev"]),
    ("scale", "ValueError", ["scale"]),
    ("mode", "ValueError", ["mode", "fan_sideways"]),
    ("distribution", "ValueError", ["distribution", "cauchy"]),
    ("gain", "TypeError", ["Orthogonal", "gain"]),
    ("value", "TypeError", ["Constant", "value"]),
    ("input_axes", "TypeError", ["input_axes"]),
    ("init", "ValueError", ["Fastinit", "init", "bogus"]),
    ("fastinit_layout", "ValueError", ["layout"]),
    ("identity_rank", "ValueError", ["Identity", "2D"]),
    ("orthogonal_rank", "ValueError", ["Orthogonal", "two-dimensional"]),
    ("shape", "ValueError", ["HeNormal", "shape"]),
    ("dtype", "TypeError", ["HeNormal", "int32"]),
    ("rules", "ValueError", ["rules", "nope"]),
    ("rule_argument", "ValueError", ["rules", "sd"]),
    ("layout", "ValueError", ["layout", "jax"]),
    ("names", "ValueError", ["names", "a.weight"]),
    ("rng", None, ["rng"]),
    ("rng_missing", "TypeError", ["rng"]),
    ("model", "ValueError", ["model", "built"]),
    ("model_type", "TypeError", ["model"]),
    ("tensor", "ValueError", ["a.bias", "he_normal"]),
])
def test_errors_name_the_argument(r, case, kind, words):
    e = r["errors"][case]
    assert e is not None, f"{case}: no error"
    if kind is not None:
        assert e[0] == kind, e
    for w in words:
        assert w in e[1], (w, e)


def test_errors_leave_the_model_alone(r):
    assert r["errors_left_model_alone"]


def test_distribution_by_shards(results):
    if "jax" not in results:
        pytest.skip("keras or jax is not installed")
    d = results["jax"].get("distribution")
    assert d is not None, results["jax"].get("failed")
    assert d["devices"] == 4
    mp, dp = d["model_parallel"], d["data_parallel"]
    for kind in (mp, dp):
        assert all(kind["equal"].values()) and len(kind["equal"]) == 4, kind
        assert kind["shards_equal"]
        assert kind["specs_after"] == kind["specs_before"]
    assert mp["specs_after"]["d1.kernel"] in ("PartitionSpec(None, 'model')", "P(None, 'model')")
    assert mp["specs_after"]["d2.kernel"] in ("PartitionSpec('model', None)", "P('model', None)")
    # each distinct part computed once, alone: the two column halves of d1.kernel, never the whole
    d1 = [index for name, index in mp["calls"] if name == "d1.kernel"]
    assert sorted(d1) == ["(slice(None, None, None), slice(0, 4, None))",
                          "(slice(None, None, None), slice(4, 8, None))"], mp["calls"]
    c = mp["classes"]
    assert all(c["equal"]) and c["works"], c
    assert c["specs"][0] in ("PartitionSpec(None, 'model')", "P(None, 'model')")
    assert sorted(c["fills"]) == ["(slice(None, None, None), slice(0, 4, None))",
                                  "(slice(None, None, None), slice(4, 8, None))"], c["fills"]
    assert all(dp["classes"]["equal"])
    assert dp["classes"]["fills"] == ["(slice(None, None, None), slice(None, None, None))"]
    # replicated: one part per variable, shared by the 4 devices
    assert sorted(name for name, _ in dp["calls"]) == ["d1.bias", "d1.kernel", "d2.bias", "d2.kernel"]


NAMES = r"""
import json
import keras, fastinit.keras as fk
names = [n for n in dir(keras.initializers) if not n.startswith("_")
         and isinstance(getattr(keras.initializers, n), type)
         and issubclass(getattr(keras.initializers, n), keras.initializers.Initializer)
         and n != "Initializer"]
missing = [n for n in names if not hasattr(fk, n)]
same_class = all(getattr(fk, n) is getattr(fk, getattr(keras.initializers, n).__name__, None) or n.startswith("STFT")
                 or n == "stft" for n in names)
print(json.dumps({"names": names, "missing": missing, "same_class": same_class,
                  "stft": fk.STFT is keras.initializers.STFT}))
"""


def test_every_keras_initializer_name_has_a_counterpart(tmp_path):
    """Every initializer name keras.initializers exports (classes and their
    lowercase spellings) exists in fastinit.keras, each spelling the same
    class; STFT (computed, not drawn) is Keras' own."""
    env = dict(os.environ, KERAS_BACKEND="jax")
    r = subprocess.run([sys.executable, "-c", NAMES], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(got["names"]) >= 30 and got["missing"] == [] and got["same_class"] and got["stft"]
