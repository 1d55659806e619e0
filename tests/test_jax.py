"""fastinit.jax: JAX-convention initializers equal fastinit's NumPy fill bit
for bit; every name of jax.nn.initializers is here with JAX's signature and
law (moments, tails and bounds against JAX's own samples; orthogonal
structure; zeros/ones/constant exact); JAX keys map to Philox keys as
documented; sharded arrays over 8 (fake) CPU devices and whole trees equal
the unsharded fill and init_model.

The 8-device checks need XLA_FLAGS set before jax is imported, so they run
in subprocesses (from tmp_path, away from the source folder)."""

import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

import fastinit  # noqa: E402
import fastinit.jax as fj  # noqa: E402
from fastinit._initializers.generator import Generator  # noqa: E402
from reference import bits  # noqa: E402

SHAPE = (48, 40)
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def VS(scale, mode, distribution, **axes):
    """fastinit.variance_scaling's arguments for JAX's variance_scaling(scale, mode, distribution, ...)."""
    return {"scale": scale, "mode": mode, "distribution": distribution, "in_axis": -2, "out_axis": -1,
            "batch_axis": (), "layout": "keras", **axes}


HE = ("variance_scaling", VS(2.0, "fan_in", "truncated_normal"))  # fj.he_normal() in fastinit's terms
CASES = [  # (fastinit.jax name or "rule:<text>", its arguments, fastinit name, fastinit kwargs, shape)
    ("he_normal", {}, *HE, SHAPE),
    ("he_uniform", {"in_axis": -1, "out_axis": -2}, "variance_scaling",
     VS(2.0, "fan_in", "uniform", in_axis=-1, out_axis=-2), SHAPE),
    ("xavier_uniform", {}, "variance_scaling", VS(1.0, "fan_avg", "uniform"), (3, 3, 8, 16)),
    ("glorot_normal", {}, "variance_scaling", VS(1.0, "fan_avg", "truncated_normal"), SHAPE),
    ("lecun_normal", {}, "variance_scaling", VS(1.0, "fan_in", "truncated_normal"), SHAPE),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "normal"}, "variance_scaling",
     VS(2.0, "fan_avg", "normal"), SHAPE),
    ("truncated_normal", {"stddev": 0.02}, "truncated_normal", {"std": 0.02, "a": -2.0, "b": 2.0, "std_units": True},
     SHAPE),
    ("normal", {"stddev": 0.02}, "normal", {"std": 0.02}, (1000,)),
    ("uniform", {"scale": 2.0}, "uniform", {"low": 0.0, "high": 2.0}, SHAPE),
    ("orthogonal", {}, "orthogonal", {"gain": 1.0, "layout": "keras", "column_axis": -1}, SHAPE),
    ("delta_orthogonal", {"scale": 2.0}, "delta_orthogonal", {"scale": 2.0}, (3, 3, 8, 16)),
    ("sparse", {"sparsity": 0.25}, "sparse", {"sparsity": 0.25}, SHAPE),
    ("rule:he_normal(mode='fan_out')", {}, "he_normal", {"mode": "fan_out", "layout": "keras"}, SHAPE),
    ("rule:xavier_uniform", {"gain": 2.0}, "xavier_uniform", {"gain": 2.0, "layout": "keras"}, SHAPE),
]


def _make(name, kw, **where):
    if name.startswith("rule:"):
        return fj.rule(name[5:], **kw, **where)
    return getattr(fj, name)(**kw, **where)


def _want(name, shape, dtype, kw, **where):
    return getattr(fastinit, name)(shape, dtype=dtype, **where, **kw)


def _run(code: str, tmp_path, devices: int = 8, x64: bool = False, args=()) -> dict:
    """Run code in a fresh Python with `devices` CPU devices; its last
    stdout line is JSON."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               JAX_PLATFORMS="cpu")
    if x64:
        env["JAX_ENABLE_X64"] = "1"
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_import_fastinit_does_not_import_jax(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import sys, fastinit; print('jax' in sys.modules)"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


# ------------------------------------------------------------ initializers


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name,kw,fname,fkw,shape", CASES)
def test_named_stream_equals_the_numpy_fill(name, kw, fname, fkw, shape, dtype):
    init = _make(name, kw, rng=5, stream="layers.0.kernel")
    got = init(jax.random.key(123), shape, DTYPES[dtype])  # the key is ignored
    assert isinstance(got, jax.Array) and got.shape == shape and got.dtype == DTYPES[dtype]
    want = _want(fname, shape, dtype, fkw, rng=5, stream="layers.0.kernel")
    np.testing.assert_array_equal(bits(np.asarray(got)), bits(want))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name,kw,fname,fkw,shape", CASES[:4] + CASES[7:8] + CASES[-2:])
def test_a_key_is_its_philox_key_and_stream_0(name, kw, fname, fkw, shape, dtype):
    key = jax.random.key(7)
    words = tuple(int(w) for w in np.asarray(jax.random.key_data(key)))
    assert fj.key_words(key) == words == (0, 7)
    got = _make(name, kw)(key, shape, DTYPES[dtype])
    want = _want(fname, shape, dtype, fkw, rng=Generator._from_key(words), stream=0)
    np.testing.assert_array_equal(bits(np.asarray(got)), bits(want))


def test_float64():
    if not jax.config.jax_enable_x64:
        pytest.skip("jax_enable_x64 is off: JAX makes no float64 arrays (see test_float64_with_x64)")
    got = fj.he_normal(rng=1, stream="w")(None, SHAPE, jnp.float64)
    np.testing.assert_array_equal(np.asarray(got), _want(*HE[:1], SHAPE, "float64", HE[1], rng=1, stream="w"))


def test_float64_with_x64(tmp_path):
    res = _run("""
        import json, jax, jax.numpy as jnp, numpy as np, fastinit, fastinit.jax as fj
        a = fj.he_normal(rng=1, stream="w")(None, (48, 40), jnp.float64)
        b = fj.normal(0.5)(jax.random.key(3), (100,), jnp.float64)
        g = fastinit._initializers.generator.Generator._from_key((0, 3))
        he = fastinit.variance_scaling((48, 40), scale=2.0, mode="fan_in", distribution="truncated_normal",
                                       in_axis=-2, out_axis=-1, batch_axis=(), layout="keras", rng=1, stream="w",
                                       dtype="float64")
        print(json.dumps({"dtype": str(a.dtype), "a": bool((np.asarray(a) == he).all()),
            "b": bool((np.asarray(b) == fastinit.normal((100,), rng=g, stream=0, std=0.5, dtype="float64")).all())}))
    """, tmp_path, devices=1, x64=True)
    assert res == {"dtype": "float64", "a": True, "b": True}


def test_float64_without_x64_is_float32_as_jax_makes_it():
    if jax.config.jax_enable_x64:
        pytest.skip("x64 is on")
    got = fj.he_normal(rng=1, stream="w")(None, SHAPE, jnp.float64)
    assert got.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(got), _want(*HE[:1], SHAPE, "float32", HE[1], rng=1, stream="w"))


def test_keys_same_and_different():
    init = fj.he_normal()
    a, b = init(jax.random.key(0), SHAPE), init(jax.random.key(0), SHAPE)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(init(jax.random.key(1), SHAPE)))
    # a raw PRNGKey and a typed key with the same data give the same array
    np.testing.assert_array_equal(np.asarray(a), np.asarray(init(jax.random.PRNGKey(0), SHAPE)))


def test_folded_and_split_keys_are_distinct():
    init, root = fj.normal(), jax.random.key(42)
    # (in JAX 0.10, split(root, n)[i] is fold_in(root, i): distinct keys are what count)
    keys = [jax.random.fold_in(root, i) for i in range(6)] + list(jax.random.split(root, 9)) + [root]
    keys += [jax.random.fold_in(jax.random.fold_in(root, 1), 2), jax.random.fold_in(jax.random.fold_in(root, 2), 1)]
    distinct = {fj.key_words(k) for k in keys}
    assert len(distinct) >= 12
    arrays = [np.asarray(init(k, (256,))) for k in keys]
    assert len({a.tobytes() for a in arrays}) == len(distinct)
    np.testing.assert_array_equal(arrays[3], np.asarray(init(jax.random.fold_in(root, 3), (256,))))


def test_a_batch_of_keys_is_refused():
    with pytest.raises(ValueError, match="one JAX key"):
        fj.he_normal()(jax.random.split(jax.random.key(0), 2), SHAPE)


def test_other_key_impls_are_hashed():
    import hashlib

    key = jax.random.key(5, impl="rbg")
    data = np.asarray(jax.random.key_data(key), dtype="<u4")
    h = hashlib.blake2b(data.tobytes(), digest_size=8).digest()
    assert fj.key_words(key) == (int.from_bytes(h[:4], "little"), int.from_bytes(h[4:], "little"))
    got = fj.he_normal()(key, SHAPE)
    want = _want(*HE[:1], SHAPE, "float32", HE[1], rng=Generator._from_key(fj.key_words(key)), stream=0)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_jit_vmap_and_eval_shape():
    init = fj.he_normal(stream="enc.kernel")
    key = jax.random.key(9)
    eager = np.asarray(init(key, SHAPE, jnp.bfloat16))
    jitted = jax.jit(lambda k: init(k, SHAPE, jnp.bfloat16))(key)
    np.testing.assert_array_equal(bits(np.asarray(jitted)), bits(eager))
    keys = jax.random.split(key, 3)
    batched = jax.vmap(lambda k: init(k, SHAPE))(keys)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(init(keys[i], SHAPE)))
    abstract = jax.eval_shape(lambda k: {"w": init(k, SHAPE)}, key)
    assert abstract["w"].shape == SHAPE and abstract["w"].dtype == jnp.float32


def test_fans_are_jax_axes_and_rules_default_to_keras_layout():
    shape = (8, 512)  # (in, out): he_normal's std is sqrt(2 / 8)
    got = np.asarray(fj.he_normal(rng=0)(None, shape))
    np.testing.assert_array_equal(got, fastinit.variance_scaling(shape, rng=0, **HE[1]))
    assert abs(got.std() - 0.5) < 0.05
    np.testing.assert_array_equal(np.asarray(fj.rule("he_normal", rng=0)(None, shape)),
                                  fastinit.he_normal(shape, rng=0, layout="keras"))
    np.testing.assert_array_equal(np.asarray(fj.rule("he_normal", rng=0, layout="torch")(None, shape)),
                                  fastinit.he_normal(shape, rng=0))
    np.testing.assert_array_equal(np.asarray(fj.rule(fastinit.he_uniform, rng=0)(None, shape)),
                                  fastinit.he_uniform(shape, rng=0, layout="keras"))


def test_deterministic_initializers():
    key = jax.random.key(0)
    assert (np.asarray(fj.zeros(key, (3, 4))) == 0).all()
    one = fj.ones(key, (3,), jnp.bfloat16)
    assert (np.asarray(one) == 1).all() and one.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(fj.constant(0.5)(key, (2, 2))), np.full((2, 2), 0.5, np.float32))
    np.testing.assert_array_equal(np.asarray(fj.constant(value=0.5)(None, (2, 2))), np.full((2, 2), 0.5, np.float32))
    np.testing.assert_array_equal(np.asarray(fj.eye(gain=2.0)(key, (3, 5))), 2 * np.eye(3, 5, dtype=np.float32))
    np.testing.assert_array_equal(np.asarray(fj.rule("constant(value=0.25)")(None, (2,))), [0.25, 0.25])
    with pytest.raises(TypeError):
        fj.zeros()  # an init function, as JAX's: key and shape are required
    with pytest.raises(TypeError):
        fj.constant(0.5, rng=0)
    with pytest.raises(TypeError, match="not random"):
        fj.eye(rng=0)
    with pytest.raises(TypeError, match="not random"):
        fj.rule("zeros", stream="b")


def test_bad_arguments_fail_when_the_initializer_is_made():
    with pytest.raises(TypeError, match="std"):
        fj.he_normal(std=1.0)
    with pytest.raises(TypeError, match="std"):
        fj.normal(std=0.02)  # JAX's name: stddev
    with pytest.raises(TypeError, match="layout"):
        fj.he_normal(layout="torch")  # JAX's he_normal has axes, not layouts: fj.rule("he_normal", layout=...)
    with pytest.raises(TypeError, match="he_normal"):
        fj.rule("he_normal", std=1.0)
    with pytest.raises(TypeError, match="set by fastinit.jax"):
        fj.rule("normal", shape=(2, 2))
    with pytest.raises(TypeError, match="set by fastinit.jax"):
        fj.sparse(sparsity=0.1, shape=(2, 2))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fj.rule("he_normal", rng=0, layout="torch")(None, (5,))  # fastinit's own message
    with pytest.raises(ValueError):
        fj.he_normal(rng=0)(None, (5,))  # JAX: a 1-d shape has no default in_axis
    with pytest.raises(ValueError, match="std"):
        fj.rule("normal(std=-1.0)")(jax.random.key(0), (5,))
    with pytest.raises(ValueError, match="mode"):
        fj.variance_scaling(1.0, "fan_median", "normal")(jax.random.key(0), (4, 4))
    with pytest.raises(ValueError, match="distribution"):
        fj.variance_scaling(1.0, "fan_in", "cauchy")(jax.random.key(0), (4, 4))


# ----------------------------------------- jax.nn.initializers' names and laws

JNI = jax.nn.initializers
JAX_NAMES = sorted(n for n in dir(JNI) if not n.startswith("_") and inspect.isfunction(getattr(JNI, n)))
NOT_INITIALIZERS = sorted(n for n in dir(JNI) if not n.startswith("_") and n not in JAX_NAMES
                          and not inspect.ismodule(getattr(JNI, n)))


def _params(fn, drop=()):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name not in drop]


def test_jax_names_are_known():
    # every public function of jax.nn.initializers is an initializer or a factory of one; the rest is the protocol
    assert len(JAX_NAMES) == 19 and NOT_INITIALIZERS == ["Initializer"], (JAX_NAMES, NOT_INITIALIZERS)
    assert fj.Initializer is JNI.Initializer


@pytest.mark.parametrize("name", JAX_NAMES)
def test_every_jax_name_has_jax_signature(name):
    mine, theirs = getattr(fj, name), getattr(JNI, name)
    assert _params(mine, drop=("rng", "stream")) == _params(theirs), name
    extra = [p for p in inspect.signature(mine).parameters.values() if p.name in ("rng", "stream")]
    assert all(p.kind is p.KEYWORD_ONLY and p.default is None for p in extra)
    assert len(extra) == (0 if name in ("zeros", "ones", "constant") else 2), name
    assert (name in fj.__all__) and mine.__doc__
    for other in JAX_NAMES:  # JAX's aliases (xavier_uniform is glorot_uniform, ...) are aliases here too
        assert (getattr(JNI, other) is theirs) == (getattr(fj, other) is mine), (name, other)
    if name in ("zeros", "ones"):
        return
    init = mine() if name not in ("constant", "variance_scaling") else (
        mine(1.0) if name == "constant" else mine(1.0, "fan_in", "normal"))
    assert _params(init) == [("key", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
                             ("shape", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
                             ("dtype", inspect.Parameter.POSITIONAL_OR_KEYWORD, None),
                             ("out_sharding", inspect.Parameter.POSITIONAL_OR_KEYWORD, None)]
    assert isinstance(init, JNI.Initializer)


def test_every_fastinit_initializer_is_here():
    import fastinit.model as fm

    assert set(fm._INITS) <= set(fj.__all__) and all(callable(getattr(fj, n)) for n in fm._INITS)
    # the names JAX lacks keep fastinit's arguments
    assert set(fm._INITS) - set(JAX_NAMES) == {"sparse", "eye", "identity", "dirac"}
    np.testing.assert_array_equal(np.asarray(fj.identity(gain=3.0)(None, (2, 2))), 3 * np.eye(2, dtype=np.float32))


DENSE, CONV = (256, 512), (3, 3, 64, 128)
LAWS = [  # (name, args, kwargs, shape)
    ("normal", (), {}, DENSE), ("normal", (0.3,), {}, CONV), ("normal", (-0.5,), {}, DENSE),
    ("uniform", (), {}, DENSE), ("uniform", (3.0,), {}, CONV), ("uniform", (-2.0,), {}, DENSE),
    ("truncated_normal", (), {}, DENSE), ("truncated_normal", (0.5,), {"lower": -1.0, "upper": 3.0}, CONV),
    ("truncated_normal", (-1.0,), {"lower": -1.0, "upper": 3.0}, DENSE),
    *[("variance_scaling", (sc, mode, dist), {}, shape) for sc, shape in ((1.0, DENSE), (2.0, CONV))
      for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
      for dist in ("truncated_normal", "normal", "uniform")],
    ("variance_scaling", (0.5, "fan_avg", "normal"), {"in_axis": 0, "out_axis": 1}, CONV),
    ("variance_scaling", (1.0, "fan_in", "uniform"), {"in_axis": (0, 1), "out_axis": -1, "batch_axis": 2}, CONV),
    ("variance_scaling", (1.0, "fan_in", "truncated_normal"), {"in_axis": -1, "out_axis": -2}, DENSE),
    *[(n, (), {}, shape) for n in ("glorot_normal", "glorot_uniform", "xavier_normal", "xavier_uniform", "he_normal",
                                   "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform")
      for shape in (DENSE, CONV)],
    ("he_normal", (), {"batch_axis": 0, "in_axis": 1}, (4, 256, 128)),
    ("glorot_uniform", (), {"in_axis": 0, "out_axis": 1}, DENSE),
]


def _bound(name, args, kw, shape):
    """JAX's bounds (lo, hi) of its law, or None (an untruncated normal)."""
    if name == "uniform":
        scale = args[0] if args else 1e-2
        return (min(0.0, scale), max(0.0, scale))
    if name == "truncated_normal":
        s = args[0] if args else 1e-2
        lo, hi = s * kw.get("lower", -2.0), s * kw.get("upper", 2.0)
        return (min(lo, hi), max(lo, hi))
    if name == "normal":
        return None
    if name == "variance_scaling":
        scale, mode, dist = args
    else:  # glorot & co.: JAX's own definitions as variance_scaling
        scale, mode = {"glorot": (1.0, "fan_avg"), "xavier": (1.0, "fan_avg"), "he": (2.0, "fan_in"),
                       "kaiming": (2.0, "fan_in"), "lecun": (1.0, "fan_in")}[name.split("_")[0]]
        dist = "uniform" if name.endswith("uniform") else "truncated_normal"
    from jax._src.nn.initializers import _compute_fans

    fi, fo = _compute_fans(shape, kw.get("in_axis", -2), kw.get("out_axis", -1), kw.get("batch_axis", ()))
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2, "fan_geo_avg": (fi * fo) ** 0.5}[mode]
    if dist == "uniform":
        lim = (3 * scale / n) ** 0.5
    elif dist == "truncated_normal":
        lim = 2 * (scale / n) ** 0.5 / 0.87962566103423978
    else:
        return None
    return (-lim, lim)


@pytest.mark.parametrize("name,args,kw,shape", LAWS, ids=lambda v: str(v).replace(" ", ""))
def test_law_matches_jax(name, args, kw, shape):
    key = jax.random.key(2024)
    theirs = np.asarray(getattr(JNI, name)(*args, **kw)(key, shape), np.float64).ravel()
    mine_f32 = np.asarray(getattr(fj, name)(*args, **kw)(key, shape))
    assert mine_f32.dtype == np.float32 and mine_f32.shape == shape
    mine = mine_f32.astype(np.float64).ravel()
    n = mine.size
    s = theirs.std()
    assert abs(mine.std() / s - 1) < 0.02, (mine.std(), s)
    assert abs(mine.mean() - theirs.mean()) < 8 * s / n ** 0.5, (mine.mean(), theirs.mean())
    # the law's shape, not only its moments: the mass beyond 1.5 of JAX's std
    def tail(x):
        return (np.abs(x - theirs.mean()) > 1.5 * s).mean()

    assert abs(tail(mine) - tail(theirs)) < 0.01, (tail(mine), tail(theirs))
    assert not np.array_equal(mine, theirs)  # fastinit's values, not JAX's
    bound = _bound(name, args, kw, shape)
    if bound is not None:  # both inside the law's bounds, both reaching near them
        lo, hi = np.float32(bound[0]), np.float32(bound[1])
        width = hi - lo
        for x in (mine, theirs):
            assert lo <= x.min() and x.max() <= hi, (name, x.min(), x.max(), bound)
            assert x.min() < lo + 0.01 * width and x.max() > hi - 0.01 * width, (name, x.min(), x.max(), bound)


def _gram_is_identity(a, column_axis, scale):
    m = np.moveaxis(np.asarray(a, np.float64), column_axis, -1)
    m = m.reshape(-1, m.shape[-1])
    g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    return np.abs(g - scale ** 2 * np.eye(len(g))).max()


@pytest.mark.parametrize("shape,scale,column_axis", [(DENSE, 1.0, -1), ((512, 256), 1.0, -1), (DENSE, 2.0, 0),
                                                     (CONV, 1.0, -1), (CONV, 0.5, 2), ((64, 64), 1.0, -1)])
def test_orthogonal_structure_matches_jax(shape, scale, column_axis):
    key = jax.random.key(5)
    theirs = np.asarray(JNI.orthogonal(scale, column_axis)(key, shape))
    mine = np.asarray(fj.orthogonal(scale, column_axis)(key, shape))
    assert mine.shape == theirs.shape == shape and mine.dtype == theirs.dtype == np.float32
    for x in (theirs, mine):
        assert _gram_is_identity(x, column_axis, scale) < 1e-5 * scale ** 2
    assert not np.array_equal(mine, theirs)


@pytest.mark.parametrize("shape,scale,column_axis", [((3, 64, 64), 1.0, -1), ((3, 3, 64, 128), 2.0, -1),
                                                     ((3, 3, 64, 128), 1.0, -2), ((2, 4, 16, 32), 1.0, 0),
                                                     ((3, 3, 3, 16, 32), 1.0, 1)])
def test_delta_orthogonal_structure_matches_jax(shape, scale, column_axis):
    key = jax.random.key(6)
    theirs = np.asarray(JNI.delta_orthogonal(scale, column_axis)(key, shape))
    mine = np.asarray(fj.delta_orthogonal(scale, column_axis)(key, shape))
    assert mine.shape == theirs.shape == shape and mine.dtype == theirs.dtype == np.float32
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    for x in (theirs, mine):
        rest = x.copy()
        rest[centre] = 0
        assert not rest.any()  # zeros but at the spatial centre
        assert np.count_nonzero(x[centre]) == shape[-2] * shape[-1]
        assert _gram_is_identity(x[centre], -1, scale) < 1e-5 * scale ** 2
    with pytest.raises(ValueError):
        fj.delta_orthogonal()(key, (3, 3, 8, 4))  # in > out, as JAX refuses


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16, jnp.int32, None])
def test_zeros_ones_constant_equal_jax(dtype):
    key = jax.random.key(0)
    pairs = [(fj.zeros(key, CONV, dtype), JNI.zeros(key, CONV, dtype)), (fj.ones(key, DENSE, dtype),
             JNI.ones(key, DENSE, dtype)), (fj.zeros(None, (), dtype), JNI.zeros(key, (), dtype))]
    for v in (-7, 0.1, 1 / 3, 2.5, np.float32(0.3), jnp.array(1.5)):
        if dtype is jnp.int32 and not float(v).is_integer():
            continue
        pairs.append((fj.constant(v)(key, DENSE, dtype), JNI.constant(v)(key, DENSE, dtype)))
        pairs.append((fj.constant(v, dtype)(None, (3, 4)), JNI.constant(v, dtype)(key, (3, 4))))
    row = np.arange(4.0)
    pairs.append((fj.constant(row)(key, (3, 4), dtype), JNI.constant(row)(key, (3, 4), dtype)))  # broadcast
    for mine, theirs in pairs:
        assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
        np.testing.assert_array_equal(bits(np.asarray(mine)), bits(np.asarray(theirs)))
    jitted = jax.jit(lambda k: (fj.zeros(k, (2, 3), dtype), fj.constant(0.1)(k, (2,), dtype)))(key)
    assert jitted[0].shape == (2, 3) and jitted[1].shape == (2,)


def test_out_sharding_and_flax_style_use():
    sh = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    key = jax.random.key(1)
    for init in (fj.he_normal(), fj.normal(0.5), fj.constant(2.0), fj.sparse(sparsity=0.5), fj.rule("eye")):
        a = init(key, (16, 16), jnp.float32, sh)
        assert a.sharding == sh
        np.testing.assert_array_equal(np.asarray(a), np.asarray(init(key, (16, 16))))
    assert fj.zeros(key, (4,), out_sharding=sh).sharding == sh
    # a negative stddev is JAX's law (the mirror), with fastinit's values of |stddev|
    np.testing.assert_array_equal(np.asarray(fj.normal(-0.5, rng=1)(None, (64,))),
                                  fastinit.normal((64,), std=0.5, rng=1, stream=0))
    np.testing.assert_array_equal(np.asarray(fj.uniform(rng=1)(None, (64,))),
                                  fastinit.uniform((64,), low=0.0, high=0.01, rng=1, stream=0))


# ---------------------------------------------------------------- trees


def _abstract():
    S = jax.ShapeDtypeStruct
    return {"params": {"embed": {"embedding": S((64, 16), jnp.float32)},
                       "layers": [{"attn": {"kernel": S((16, 32), jnp.float32), "bias": S((32,), jnp.float32)},
                                   "norm": {"scale": S((16,), jnp.bfloat16)}} for _ in range(2)],
                       "head": {"kernel": S((16, 64), jnp.float16)},
                       "step_scale": S((), jnp.float32)}}


RULES = {"*.bias": "zeros", "*.scale": "ones", "*.attn.kernel": "he_normal", "*.head.kernel": "xavier_uniform",
         "*": "normal(std=0.02)"}


def _spec(abstract):
    flat = jax.tree_util.tree_flatten_with_path(abstract)[0]
    return {fj.path_name(p): {"shape": list(x.shape), "dtype": np.dtype(x.dtype).name} for p, x in flat}


def _assert_tree_equals(tree, arrays):
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    assert sorted(fj.path_name(p) for p, _ in flat) == sorted(arrays)
    for p, x in flat:
        want = arrays[fj.path_name(p)]
        assert x.shape == want.shape and np.dtype(x.dtype) == want.dtype
        np.testing.assert_array_equal(bits(np.asarray(x)), bits(want), err_msg=fj.path_name(p))


def test_path_names():
    names = sorted(_spec(_abstract()))
    assert "params.layers.1.attn.kernel" in names and "params.step_scale" in names


def test_init_tree_equals_init_model():
    abstract = _abstract()
    keras = {k: v if "he_" not in v and "xavier" not in v else v + "(layout='keras')" for k, v in RULES.items()}
    _assert_tree_equals(fj.init_tree(abstract, RULES, rng=3),
                        fastinit.init_model(_spec(abstract), rules=keras, rng=3))
    _assert_tree_equals(fj.init_tree(abstract, RULES, rng=3, layout="torch"),
                        fastinit.init_model(_spec(abstract), rules=RULES, rng=3))
    _assert_tree_equals(fj.init_tree(abstract, "gpt2", rng=3),
                        fastinit.init_model(_spec(abstract), rules="gpt2", rng=3))
    tree = fj.init_tree(abstract, RULES, rng=3)
    # a leaf's values are those of the named stream, whatever else the tree holds
    np.testing.assert_array_equal(np.asarray(tree["params"]["layers"][1]["attn"]["kernel"]),
                                  np.asarray(fj.rule("he_normal", rng=3,
                                                     stream="params.layers.1.attn.kernel")(None, (16, 32))))


def test_init_tree_takes_a_jax_key():
    abstract = {"w": jax.ShapeDtypeStruct((8, 8), jnp.float32)}
    key = jax.random.key(11)
    got = fj.init_tree(abstract, {"*": "normal"}, rng=key)
    np.testing.assert_array_equal(np.asarray(got["w"]),
                                  fastinit.normal((8, 8), rng=Generator._from_key((0, 11)), stream="w"))


def test_init_tree_names_the_tensor_of_a_bad_rule():
    abstract = {"b": jax.ShapeDtypeStruct((4,), jnp.float32)}
    with pytest.raises(ValueError, match="'b'"):
        fj.init_tree(abstract, {"*": "he_normal(layout='torch')"}, rng=0)
    with pytest.raises(ValueError, match="'b'"):
        fj.init_tree(abstract, {"*": "uniform(low=1.0, high=0.0)"}, rng=0)
    with pytest.raises(ValueError, match="unknown initializer"):
        fj.init_tree(abstract, {"*": "nope"}, rng=0)
    with pytest.raises(TypeError, match="leaf 'i'"):
        fj.init_tree({"i": jax.ShapeDtypeStruct((4,), jnp.int32)}, rng=0)


def test_eval_shape_computes_nothing(monkeypatch):
    calls = []
    real = fj._call
    monkeypatch.setattr(fj, "_call", lambda *a, **k: calls.append(a[-1] if len(a) > 6 else None) or real(*a, **k))
    init = fj.he_normal(rng=0, stream="w")
    out = jax.eval_shape(lambda: init(None, (4096, 4096)))
    assert calls
    assert out.shape == (4096, 4096) and all(i is not None for i in calls)  # only the empty-part checks ran


def test_init_array_on_one_device():
    sh = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    got = fj.init_array("truncated_normal(std=0.02)", (32, 16), sh, rng=2, stream="t", dtype="bfloat16")
    want = fastinit.truncated_normal((32, 16), std=0.02, rng=2, stream="t", dtype="bfloat16")
    np.testing.assert_array_equal(bits(np.asarray(got)), bits(want))
    got = fj.init_array(fastinit.he_uniform, (32, 16), sh, rng=2)
    np.testing.assert_array_equal(np.asarray(got), fastinit.he_uniform((32, 16), rng=2, layout="keras"))


# -------------------------------------------------------------- 8 devices

SHARDED = """
    import inspect, json, numpy as np, jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import fastinit, fastinit.jax as fj
    assert len(jax.devices()) == 8
    calls = []
    _orig = fj._fill_part
    def counted(name, kw, g, stream, dt, shape, index):
        calls.append(tuple(s.indices(n) for s, n in zip(index, shape)))
        return _orig(name, kw, g, stream, dt, shape, index)
    fj._fill_part = counted
    def bits(a):
        a = np.asarray(a)
        return a.view(np.uint16) if a.dtype.itemsize == 2 else a
    devs = np.array(jax.devices())
    meshes = {"8": Mesh(devs.reshape(8), ("x",)), "2x4": Mesh(devs.reshape(2, 4), ("x", "y")),
              "4x2": Mesh(devs.reshape(4, 2), ("x", "y")), "2x2x2": Mesh(devs.reshape(2, 2, 2), ("x", "y", "z"))}
    cases = [  # mesh, spec, shape, init, kwargs
        ("8", P("x"), (64, 24), "he_normal", {}),
        ("8", P(None, "x"), (24, 64), "xavier_uniform", {}),
        ("8", P(), (16, 8), "normal", {"std": 0.5}),                 # fully replicated
        ("2x4", P("x", "y"), (32, 40), "he_uniform", {}),
        ("2x4", P("y", None), (32, 40), "truncated_normal", {"std": 0.02}),   # replicated over x
        ("4x2", P(None, "x"), (6, 40), "lecun_normal", {}),           # replicated over y
        ("4x2", P(("x", "y")), (64, 8), "variance_scaling", {"mode": "fan_avg"}),
        ("2x2x2", P("x", None, "z"), (4, 6, 8), "he_normal", {}),     # 3-d, replicated over y
        ("2x2x2", P("z", "y", "x"), (8, 4, 6), "uniform", {"low": -1.0, "high": 1.0}),
        ("2x4", P(None, "y", "x"), (3, 8, 10), "xavier_normal", {}),
        ("2x4", P("x", "y"), (16, 8), "orthogonal", {}),
        ("8", P(None, "x"), (10, 16), "sparse", {"sparsity": 0.3}),
    ]
    out = {"cases": [], "tree": None}
    for mesh, spec, shape, init, kw in cases:
        for dtype in ("float32", "bfloat16", "float16"):
            sh = NamedSharding(meshes[mesh], spec)
            calls.clear()
            a = fj.init_array(init, shape, sh, rng=7, stream=f"{init}.{mesh}", dtype=dtype, **kw)
            fn = getattr(fastinit, init)
            lay = {"layout": "keras"} if "layout" in inspect.signature(fn).parameters else {}
            want = fn(shape, rng=7, stream=f"{init}.{mesh}", dtype=dtype, **lay, **kw)
            distinct = {tuple(s.indices(n) for s, n in zip(i, shape)) for i in sh.devices_indices_map(shape).values()}
            whole = init in ("orthogonal", "sparse")
            out["cases"].append({
                "case": f"{init} {mesh} {spec} {shape} {dtype}",
                "equal": bool(np.array_equal(bits(a), bits(want))) and a.dtype == jnp.dtype(dtype),
                "sharding": a.sharding == sh and len(a.addressable_shards) == 8,
                "shards_equal": all(np.array_equal(bits(s.data), bits(want[s.index])) for s in a.addressable_shards),
                "calls_ok": (len(calls) == 1) if whole else (sorted(calls) == sorted(distinct)),
                "n_calls": len(calls), "n_distinct": len(distinct)})
    S = jax.ShapeDtypeStruct
    abstract = {"embed": S((64, 16), jnp.bfloat16), "layers": [{"kernel": S((16, 32), jnp.float32),
                "bias": S((32,), jnp.float32)} for _ in range(2)], "norm": S((16,), jnp.float32)}
    m = meshes["2x4"]
    shardings = {"embed": NamedSharding(m, P("y", None)), "layers": [{"kernel": NamedSharding(m, P("x", "y")),
                 "bias": NamedSharding(m, P("y"))} for _ in range(2)], "norm": NamedSharding(m, P())}
    rules = {"*.bias": "zeros", "norm": "ones", "*.kernel": "he_normal(layout='keras')"}
    tree = fj.init_tree(abstract, rules, rng=5, shardings=shardings)
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    spec = {fj.path_name(p): {"shape": list(x.shape), "dtype": np.dtype(x.dtype).name} for p, x in flat}
    ref = fastinit.init_model(spec, rules=rules, rng=5)
    sh_flat = jax.tree_util.tree_leaves(shardings)
    one = fj.init_tree(abstract, rules, rng=5, shardings=NamedSharding(m, P("y")))
    out["tree"] = {"equal": all(np.array_equal(bits(x), bits(ref[fj.path_name(p)])) for p, x in flat),
                   "sharded": all(x.sharding == s for (_, x), s in zip(flat, sh_flat)), "n": len(flat),
                   "one_sharding": all(np.array_equal(bits(x), bits(ref[fj.path_name(p)])) and
                                       x.sharding == NamedSharding(m, P("y"))
                                       for p, x in jax.tree_util.tree_flatten_with_path(one)[0])}
    print(json.dumps(out))
"""


def test_sharded_arrays_and_trees_over_8_devices(tmp_path):
    res = _run(SHARDED, tmp_path)
    bad = [c for c in res["cases"] if not (c["equal"] and c["sharding"] and c["shards_equal"] and c["calls_ok"])]
    assert not bad, bad
    assert len(res["cases"]) == 36
    replicated = [c for c in res["cases"] if c["n_distinct"] < 8]
    assert replicated and all(c["n_calls"] <= c["n_distinct"] for c in replicated)
    assert res["tree"] == {"equal": True, "sharded": True, "n": 6, "one_sharding": True}


MEMORY = """
    import json, sys, numpy as np, jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import fastinit.jax as fj
    def peak():  # this process's own peak RSS: ru_maxrss would start at the parent's (kept across exec)
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
    mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ("x", "y"))
    S = jax.ShapeDtypeStruct
    n, shape = 16, (1024, 3072)                     # 16 x 12 MiB = 192 MiB of float32
    abstract = {"layers": [{"kernel": S(shape, jnp.float32)} for _ in range(n)]}
    shardings = {"layers": [{"kernel": NamedSharding(mesh, P("x", "y") if i % 2 else P(("x", "y")))}
                            for i in range(n)]}
    nbytes = n * shape[0] * shape[1] * 4
    warm = fj.init_tree({"w": S((256, 64), jnp.float32)}, {"*": "he_normal"}, rng=0,
                        shardings={"w": NamedSharding(mesh, P("x", "y"))})
    jax.block_until_ready(warm)
    if sys.argv[1:] == ["control"]:  # what this machine reports for touching nbytes of fresh memory
        before = peak()
        control = np.ones(nbytes // 4, np.float32)
        print(json.dumps({"ratio": (peak() - before) / nbytes}))
        raise SystemExit
    before = peak()
    tree = fj.init_tree(abstract, {"*": "he_normal"}, rng=0, shardings=shardings)
    jax.block_until_ready(tree)
    print(json.dumps({"ratio": (peak() - before) / nbytes,
                      "sharded": all(len(x.addressable_shards) == 8 for x in jax.tree_util.tree_leaves(tree))}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc/self/status (VmHWM)")
def test_init_tree_peak_memory_is_the_parameters(tmp_path):
    control = _run(MEMORY, tmp_path, args=["control"])["ratio"]
    if not 0.97 <= control <= 1.03:
        pytest.skip(f"peak RSS is too noisy to measure here: touching N fresh bytes showed {control:.3f} N")
    res = _run(MEMORY, tmp_path)
    assert res["sharded"]
    assert res["ratio"] <= 1.15, res


def test_flax_modules_take_the_initializers_and_trees_get_their_names():
    """Linen's kernel_init= takes a fastinit.jax initializer (a named
    stream's exact values); an NNX State's leaves are named as NNX names its
    variables (up.kernel, not up.kernel.value), so rules match them."""
    pytest.importorskip("flax")
    import flax.linen as nn
    from flax import nnx

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Dense(64, kernel_init=fj.he_normal(), name="up")(x)
            return nn.Dense(8, kernel_init=fj.rule("he_normal", rng=3, stream="down.kernel"), name="down")(x)

    m = MLP()
    params = m.init(jax.random.key(0), jnp.ones((1, 32)))["params"]
    want = fastinit.he_normal((64, 8), rng=3, stream="down.kernel", layout="keras")
    np.testing.assert_array_equal(np.asarray(params["down"]["kernel"]), want)
    again = m.init(jax.random.key(0), jnp.ones((1, 32)))["params"]
    np.testing.assert_array_equal(np.asarray(again["up"]["kernel"]), np.asarray(params["up"]["kernel"]))

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.up = nnx.Linear(32, 64, rngs=rngs)

    abstract = jax.eval_shape(lambda: nnx.split(Net(nnx.Rngs(0)))[1])
    names = sorted(fj.path_name(p) for p, _ in jax.tree_util.tree_flatten_with_path(abstract)[0])
    assert names == ["up.bias", "up.kernel"]
    state = fj.init_tree(abstract, {"*.bias": "zeros", "*": "he_normal"}, rng=0)
    ref = fastinit.init_model({"up.kernel": {"shape": [32, 64], "dtype": "float32"},
                               "up.bias": {"shape": [64], "dtype": "float32"}},
                              rules={"*.bias": "zeros", "*": "he_normal(layout='keras')"}, rng=0)
    np.testing.assert_array_equal(np.asarray(state["up"]["kernel"].value), ref["up.kernel"])
    assert not np.asarray(state["up"]["bias"].value).any()
