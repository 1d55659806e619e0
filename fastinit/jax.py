"""fastinit for JAX and Flax: initializers, sharded arrays, whole trees.

    import fastinit.jax as fj
    dense = flax.linen.Dense(1024, kernel_init=fj.he_normal())   # jax.nn.initializers.he_normal's law
    w = fj.init_array("he_normal", (4096, 1024), NamedSharding(mesh, P("x", "y")), rng=0, stream="w")
    params = fj.init_tree(jax.eval_shape(model.init, key, x), {"*.bias": "zeros", "*": "he_normal"}, rng=0)

Only ``import fastinit.jax`` imports jax; ``import fastinit`` never does.

Keys and streams
----------------
A fastinit value is a function of (Philox key, stream, element index).  An
initializer made here maps the JAX key it is called with as follows: the
Philox key is the two uint32 words of ``jax.random.key_data(key)`` for a
threefry key (a typed ``jax.random.key`` or a raw ``jax.random.PRNGKey``);
the key data of any other implementation (``rbg``, ``unsafe_rbg``: four
words) is hashed, the first 8 bytes little-endian of
``blake2b(key_data.tobytes(), digest_size=8)`` giving the two words.  The
stream is 0 (or ``stream=``, an int or a name), always from element 0, so
the array is a pure function of the key: Flax's per-parameter key folding
(``fold_in``, ``split``) gives distinct, reproducible tensors, and the call
works eagerly, under ``jit``, ``eval_shape`` and ``vmap`` (through
``jax.pure_callback``, which fills on the host).

``rng=`` (an int seed, a SeedSequence or a fastinit.Generator, whose key
alone is used, never its position) replaces the JAX key, which is then
ignored (and may be None): ``fj.he_normal(rng=0, stream="layers.0.kernel")``
gives exactly ``fastinit.variance_scaling(shape, scale=2.0, mode="fan_in",
distribution="truncated_normal", in_axis=-2, out_axis=-1, batch_axis=(),
layout="keras", rng=0, stream="layers.0.kernel")``.  Wherever fastinit.jax
takes ``rng=`` it also takes a JAX key (a ``jax.Array``), mapped as above.

Names: factories follow JAX, rules follow fastinit
--------------------------------------------------
Every name of ``jax.nn.initializers`` is here with JAX's signature, argument
names, defaults and law, and fastinit's values; each factory also takes
keyword-only ``rng=`` and ``stream=`` (not zeros, ones, constant: they are
not random).  Each init is ``init(key, shape, dtype=<the factory's dtype>,
out_sharding=None)`` (``out_sharding``: a sharding constraint on the result).

=======================================================  ==========================================================
fastinit.jax (as jax.nn.initializers)                    fastinit fill
=======================================================  ==========================================================
``normal(stddev=1e-2, dtype=None)``                      ``normal(std=stddev)``: N(0, stddev)
``uniform(scale=1e-2, dtype=None)``                      ``uniform(low=0, high=scale)``: U[0, scale)
``truncated_normal(stddev=1e-2, dtype=None,``            ``truncated_normal(std=stddev, a=lower, b=upper,
``lower=-2.0, upper=2.0)``                               std_units=True)``: no 0.8796 rescaling, as JAX
``variance_scaling(scale, mode, distribution,``          ``variance_scaling(..., layout="keras")``: modes fan_in,
``in_axis=-2, out_axis=-1, batch_axis=(), dtype=None)``  fan_out, fan_avg, fan_geo_avg; "normal" is untruncated
``glorot_uniform`` = ``xavier_uniform`` (*)              ``variance_scaling(1.0, "fan_avg", "uniform")``
``glorot_normal`` = ``xavier_normal`` (*)                ``variance_scaling(1.0, "fan_avg", "truncated_normal")``
``lecun_uniform`` (*)                                    ``variance_scaling(1.0, "fan_in", "uniform")``
``lecun_normal`` (*)                                     ``variance_scaling(1.0, "fan_in", "truncated_normal")``
``he_uniform`` = ``kaiming_uniform`` (*)                 ``variance_scaling(2.0, "fan_in", "uniform")``
``he_normal`` = ``kaiming_normal`` (*)                   ``variance_scaling(2.0, "fan_in", "truncated_normal")``
``orthogonal(scale=1.0, column_axis=-1, dtype=None)``    ``orthogonal(gain=scale, layout="keras", column_axis=)``
``delta_orthogonal(scale=1.0, column_axis=-1,``          ``delta_orthogonal(scale=scale, column_axis=)``
``dtype=None)``
``constant(value, dtype=None)``                          ``jnp.full`` (a scalar rounded once, as fastinit.constant)
``zeros``, ``ones``: init functions themselves,          ``jnp.zeros``, ``jnp.ones``
``zeros(key, shape, dtype=None, out_sharding=None)``
=======================================================  ==========================================================

(*) ``(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None)``, passed to
variance_scaling.  A negative stddev or scale gives JAX's law too (the
mirror of the positive one).  ``Initializer`` is JAX's protocol.

The names jax.nn.initializers lacks keep fastinit's arguments:
``sparse(sparsity=0.1)``, ``eye(gain=2.0)``, ``identity``, ``dirac``
(``fj.sparse(sparsity=0.1, rng=0)`` is ``fastinit.sparse(...)``).  For any
fastinit initializer with fastinit's own arguments and meaning, use
``rule``: ``fj.rule("he_normal(mode='fan_out')")`` or ``fj.rule("xavier_uniform",
gain=2.0)`` (fans in Keras' layout unless ``layout=`` says otherwise).

Rules, as init_model's, follow fastinit: ``init_array``'s ``init`` and
``init_tree``'s rules are fastinit names and texts, so ``"he_normal"`` there
is ``fastinit.he_normal`` (untruncated, ``layout="keras"``), not JAX's
he_normal; write ``"he_normal(truncated=True)"`` or
``"variance_scaling(scale=2.0)"`` for JAX's law.  ``fj.rule(text)`` is the
factory of a rule's exact values: ``init_tree``'s leaf ``name`` equals
``fj.rule(text, rng=rng, stream=name)(None, shape, dtype)``.

Trees: init_tree names each leaf by its key path (``params.layers.0.kernel``:
dict keys, attribute names and sequence indices joined by "."), resolves
rules with init_model's own machinery (``fastinit.model.resolve``) and draws
each leaf from the stream of its name, so it equals
``fastinit.init_model({name: {"shape", "dtype"}}, rules=rules, rng=rng)`` bit
for bit (see init_tree for the layout), sharded or not.

Values, dtypes, layout
----------------------
Every array equals fastinit's NumPy fill bit for bit (bfloat16 is
ml_dtypes.bfloat16, which is jnp.bfloat16).  A dtype goes through
``jax.dtypes.canonicalize_dtype``: float64 without ``jax_enable_x64`` is
float32, as JAX makes it.  JAX kernels are (in, out) (``(*kernel, in,
out)`` for convolutions): the JAX-named factories take JAX's
in_axis/out_axis/batch_axis (default -2, -1, ()), and fastinit's fan-based
initializers get Keras' layout, ``layout="keras"``, in ``rule``,
``init_array`` and init_tree's rules (and sparse & co. have no fans); pass
``layout="torch"`` (or ``fan_in=``/``fan_out=``) there to change it.  zeros,
ones and constant take any JAX dtype (integers too); the others fastinit's
float dtypes.  A dtype of None is float32, even with ``jax_enable_x64``.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import mmap

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate as V
from . import model as _model
from ._initializers.generator import Generator, as_generator
from ._initializers.functions import constant as _constant
from ._initializers.methods import draw_of

__all__ = ["Initializer", "init_array", "init_tree", "key_words", "path_name", "rule", *_model._INITS]

_SET_HERE = {"shape", "out", "dtype", "rng", "stream", "start", "global_shape", "index"}
_MAPPED_BYTES = 1 << 20
_FLOATS = ("float16", "bfloat16", "float32", "float64")


def _takes_layout(name: str) -> bool:
    return "layout" in inspect.signature(_model._INITS[name]).parameters


# ---------------------------------------------------------------- keys


def key_words(key) -> tuple[int, int]:
    """The fastinit Philox key (two uint32 words) of a JAX PRNG key.

    Parameters
    ----------
    key : jax.Array
        One key: typed (``jax.random.key``) or raw uint32 (``PRNGKey``).

    Returns
    -------
    tuple of int
        The key data's two words for a threefry key, else the first two
        little-endian words of the blake2b-64 hash of the key data's bytes.
    """
    return _words(np.asarray(_key_data(key)))


def _key_data(key):
    """The uint32 data of one key (a ValueError for a batch of keys)."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    if key.ndim != (0 if typed else 1):
        raise ValueError(f"key: expected one JAX key, got {'keys' if typed else 'key data'} of shape {key.shape}")
    return jax.random.key_data(key) if typed else key


def _words(data: np.ndarray) -> tuple[int, int]:
    data = np.ascontiguousarray(data, dtype=np.uint32)
    if data.size == 2:
        return int(data.flat[0]), int(data.flat[1])
    h = hashlib.blake2b(data.astype("<u4").tobytes(), digest_size=8).digest()
    return int.from_bytes(h[:4], "little"), int.from_bytes(h[4:], "little")


def _generator(rng, name: str = "rng") -> Generator:
    """The Generator of an rng= argument: a JAX key, or what fastinit takes."""
    if isinstance(rng, jax.Array):
        return Generator._from_key(key_words(rng))
    return as_generator(rng, name)


def _dtype(dtype) -> np.dtype:
    """The NumPy dtype JAX makes of a dtype (float32 by default)."""
    dt = np.dtype(np.float32) if dtype is None else V.as_dtype(dtype, "dtype")
    return np.dtype(jax.dtypes.canonicalize_dtype(dt))


def _resolve(init, kwargs: dict, layout):
    """(name, kwargs) of an initializer name, text ('normal(std=0.02)') or
    fastinit function, with the layout default for fan-based ones."""
    if callable(init):
        name = getattr(init, "__name__", None)
        if _model._INITS.get(name) is not init:
            raise TypeError(f"init: expected an initializer name or a fastinit initializer, got {init!r}")
        base = {}
    else:
        name, base = _model.parse_init(init)
    bad = sorted(set(kwargs) & _SET_HERE)
    if bad:
        raise TypeError(f"{name}: {bad[0]}= is set by fastinit.jax, not as an initializer argument")
    kw = {**base, **kwargs}
    try:
        inspect.signature(_model._INITS[name]).bind_partial(**kw)
    except TypeError as exc:
        raise TypeError(f"{name}: {exc}") from None
    if layout is not None and _takes_layout(name):
        kw.setdefault("layout", layout)
    return name, kw


def _empty(shape, dt: np.dtype) -> np.ndarray:
    """An uninitialized host buffer.  JAX copies every host array it is
    given; a large buffer is its own anonymous mapping, so that it goes back
    to the system as soon as JAX lets go of it (heap blocks would stay in
    the process, adding about a quarter to the peak RSS of a large tree)."""
    n = math.prod(shape) * dt.itemsize
    if n < _MAPPED_BYTES:
        return np.empty(shape, dtype=dt)
    return np.frombuffer(mmap.mmap(-1, n), dtype=dt).reshape(shape)


def _call(name, kw, g, stream, dt, shape, index=None):
    """fastinit's fill of (part `index` of) a tensor: a NumPy array."""
    fn = _model._INITS[name]
    part = {"global_shape": shape, "index": index} if index is not None else {}
    if name not in _model._DETERMINISTIC:
        part.update(rng=g, stream=0 if stream is None else stream)
    local = shape if index is None else _part_shape(shape, index)
    return fn(out=_empty(local, dt), **part, **kw)


def _part_shape(shape, index) -> tuple:
    return tuple(len(range(*s.indices(n))) for s, n in zip(index, shape))


# ------------------------------------------------------- initializers


def _check_factory_args(name, rng, stream, random=True):
    if not random and (rng is not None or stream is not None):
        raise TypeError(f"{name} takes no rng or stream: it is not random")
    if stream is not None:
        V.check_stream(stream)
    return _generator(rng) if random and rng is not None else None


def _constrain(x, out_sharding):
    return x if out_sharding is None else jax.lax.with_sharding_constraint(x, out_sharding)


def _initializer(label: str, init, kwargs: dict, rng, stream, default_dt):
    """JAX's ``init(key, shape, dtype=default_dt, out_sharding=None)`` filling
    with fastinit's `init` (a name, text or function) and `kwargs`, fans in
    Keras' layout unless kwargs say otherwise."""
    init_name, kw = _resolve(init, kwargs, "keras")
    random = init_name not in _model._DETERMINISTIC
    fixed = _check_factory_args(label, rng, stream, random)

    def init_fn(key, shape, dtype=default_dt, out_sharding=None):
        dt = _dtype(dtype)
        shape = tuple(int(s) for s in shape)
        out = jax.ShapeDtypeStruct(shape, dt)
        if shape:  # fastinit's checks, on an empty part, before the callback: errors raise here
            _call(init_name, kw, Generator._from_key((0, 0)), stream, dt, shape,
                  (slice(0, 0),) + (slice(None),) * (len(shape) - 1))
        if not random or fixed is not None:  # the key is not used (and may be None)
            x = jax.pure_callback(lambda: _call(init_name, kw, fixed, stream, dt, shape), out,
                                  vmap_method="sequential")
        else:
            data = _key_data(key)

            def host(d):
                return _call(init_name, kw, Generator._from_key(_words(np.asarray(d))), stream, dt, shape)

            x = jax.pure_callback(host, out, data, vmap_method="sequential")
        return _constrain(x, out_sharding)

    init_fn.__name__ = init_fn.__qualname__ = f"{label}_init"
    return init_fn


_RNG_DOC = ("rng : int, SeedSequence, fastinit.Generator or jax key, optional, keyword-only\n"
            "    Replaces the key an init is called with (then ignored); see the module docstring.\n"
            "stream : int or str, optional, keyword-only\n    The stream (default 0), from element 0.\n")


def _jax_name(fn, fill: str, law: str):
    """Mark fn as the counterpart of jax.nn.initializers.<name>."""
    fn.__doc__ = (f"jax.nn.initializers.{fn.__name__}'s signature and law ({law}) with fastinit's values:\n"
                  f"``init(key, shape, dtype, out_sharding=None)`` is ``fastinit.{fill}``\n"
                  "on the stream of the key or of rng=/stream= (see the module docstring).\n\n"
                  "Other Parameters\n----------------\n" + _RNG_DOC)
    _JAX_NAMES.append(fn.__name__)
    return fn


_JAX_NAMES: list = []
Initializer = jax.nn.initializers.Initializer  # the protocol every init here follows


def _real(x):
    """A Python float of a real scalar (a 0-d NumPy or JAX array included);
    anything else is left for fastinit to refuse."""
    if isinstance(x, (np.ndarray, np.generic, jax.Array)) and np.ndim(x) == 0:
        return float(x)
    return x


def _signed(std):
    """(|std|, flipped): a negative scale of a symmetric law is its mirror."""
    std = _real(std)
    neg = isinstance(std, (int, float)) and not isinstance(std, bool) and std < 0
    return (-std if neg else std), neg


def normal(stddev=1e-2, dtype=None, *, rng=None, stream=None):
    std, _ = _signed(stddev)
    return _initializer("normal", "normal", {"std": std}, rng, stream, dtype)


def uniform(scale=1e-2, dtype=None, *, rng=None, stream=None):
    scale = _real(scale)
    neg = isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale < 0
    low, high = (scale, 0.0) if neg else (0.0, scale)  # JAX: U[0, 1) * scale
    return _initializer("uniform", "uniform", {"low": low, "high": high}, rng, stream, dtype)


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0, *, rng=None, stream=None):
    std, neg = _signed(stddev)
    lower, upper = _real(lower), _real(upper)
    if neg:  # stddev * X, X in [lower, upper], is |stddev| * X', X' in [-upper, -lower]
        lower, upper = -upper, -lower
    return _initializer("truncated_normal", "truncated_normal",
                        {"std": std, "a": lower, "b": upper, "std_units": True}, rng, stream, dtype)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None, *,
                     rng=None, stream=None):
    return _variance_scaling("variance_scaling", scale, mode, distribution, in_axis, out_axis, batch_axis, dtype,
                             rng, stream)


def _variance_scaling(label, scale, mode, distribution, in_axis, out_axis, batch_axis, dtype, rng, stream):
    kw = {"scale": _real(scale), "mode": mode, "distribution": distribution, "in_axis": in_axis,
          "out_axis": out_axis, "batch_axis": batch_axis, "layout": "keras"}
    return _initializer(label, "variance_scaling", kw, rng, stream, dtype)


def _fan_based(name, scale, mode, distribution):
    def make(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None, *, rng=None, stream=None):
        return _variance_scaling(name, scale, mode, distribution, in_axis, out_axis, batch_axis, dtype, rng,
                                 stream)

    make.__name__ = make.__qualname__ = name
    return _jax_name(make, f"variance_scaling(scale={scale}, mode={mode!r}, distribution={distribution!r}, "
                           "in_axis=, out_axis=, batch_axis=, layout='keras')",
                     f"variance_scaling({scale}, {mode!r}, {distribution!r})")


def orthogonal(scale=1.0, column_axis=-1, dtype=None, *, rng=None, stream=None):
    return _initializer("orthogonal", "orthogonal",
                        {"gain": _real(scale), "layout": "keras", "column_axis": column_axis}, rng, stream, dtype)


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None, *, rng=None, stream=None):
    if isinstance(column_axis, int) and not isinstance(column_axis, bool) and column_axis in (0, 1):
        column_axis -= 2  # JAX applies column_axis to the (in, out) matrix: 0 is -2, 1 is -1
    return _initializer("delta_orthogonal", "delta_orthogonal", {"scale": _real(scale), "column_axis": column_axis},
                        rng, stream, dtype)


def _fixed_dtype(dtype) -> np.dtype:
    """JAX's dtype of a zeros/ones/constant (float32 for None), any kind."""
    return np.dtype(np.float32) if dtype is None else np.dtype(jax.dtypes.canonicalize_dtype(dtype))


def zeros(key, shape, dtype=None, out_sharding=None):
    return _constrain(jnp.zeros(tuple(int(s) for s in shape), _fixed_dtype(dtype)), out_sharding)


def ones(key, shape, dtype=None, out_sharding=None):
    return _constrain(jnp.ones(tuple(int(s) for s in shape), _fixed_dtype(dtype)), out_sharding)


def constant(value, dtype=None):
    default_dt = dtype

    def init(key, shape, dtype=default_dt, out_sharding=None):
        dt = _fixed_dtype(dtype)
        v = value
        if dt.name in _FLOATS and np.ndim(v) == 0 and not isinstance(v, jax.core.Tracer):
            v = _constant((), value=_real(v), dtype=dt)  # rounded once to the dtype, as fastinit rounds it
        return _constrain(jnp.full(tuple(int(s) for s in shape), v, dt), out_sharding)

    init.__name__ = init.__qualname__ = "constant_init"
    return init


_jax_name(normal, "normal(std=stddev)", "N(0, stddev)")
_jax_name(uniform, "uniform(low=0, high=scale)", "U[0, scale)")
_jax_name(truncated_normal, "truncated_normal(std=stddev, a=lower, b=upper, std_units=True)",
          "stddev * N(0, 1) cut to [lower, upper], no rescaling")
_jax_name(variance_scaling, "variance_scaling(scale=, mode=, distribution=, in_axis=, out_axis=, batch_axis=, "
                            "layout='keras')", "JAX's modes and distributions; 'normal' is untruncated")
glorot_uniform = xavier_uniform = _fan_based("glorot_uniform", 1.0, "fan_avg", "uniform")
glorot_normal = xavier_normal = _fan_based("glorot_normal", 1.0, "fan_avg", "truncated_normal")
lecun_uniform = _fan_based("lecun_uniform", 1.0, "fan_in", "uniform")
lecun_normal = _fan_based("lecun_normal", 1.0, "fan_in", "truncated_normal")
he_uniform = kaiming_uniform = _fan_based("he_uniform", 2.0, "fan_in", "uniform")
he_normal = kaiming_normal = _fan_based("he_normal", 2.0, "fan_in", "truncated_normal")
_JAX_NAMES += ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]
_jax_name(orthogonal, "orthogonal(gain=scale, layout='keras', column_axis=column_axis)",
          "a Haar (semi-)orthogonal matrix times scale, columns on column_axis")
_jax_name(delta_orthogonal, "delta_orthogonal(scale=scale, column_axis=column_axis)",
          "zeros but an orthogonal (in, out) matrix at the spatial centre")
for _f, _law in ((zeros, "0"), (ones, "1")):
    _f.__doc__ = (f"jax.nn.initializers.{_f.__name__}: an init function itself (not a factory), "
                  f"``{_f.__name__}(key, shape, dtype=None, out_sharding=None)``; the key is ignored; "
                  f"{_law} in the dtype (float32 for None, any JAX dtype).")
    _JAX_NAMES.append(_f.__name__)
constant.__doc__ = ("jax.nn.initializers.constant: ``constant(value, dtype=None)`` makes ``init(key, shape, "
                    "dtype, out_sharding=None)`` full of value (broadcast, as jnp.full); a scalar is rounded once "
                    "to a float dtype as fastinit.constant rounds it.  Not random: no rng or stream.")
_JAX_NAMES.append("constant")


def rule(init, *, rng=None, stream=None, dtype=None, **kwargs):
    """A JAX initializer with fastinit's names, arguments and defaults: the
    rule text (or name, or fastinit function) of init_model's rules, e.g.
    ``rule("he_normal(mode='fan_out')")`` or ``rule("xavier_uniform", gain=2.0)``.
    Fan-based initializers default to ``layout="keras"``.  The init is
    ``init(key, shape, dtype=dtype, out_sharding=None)``; rng=/stream= as for
    every initializer here (not for deterministic ones)."""
    label = init if isinstance(init, str) else getattr(init, "__name__", "rule")
    return _initializer(label.split("(")[0].strip(), init, kwargs, rng, stream, dtype)


def _factory(name: str):
    """fastinit.<name> (one that jax.nn.initializers lacks), fastinit's arguments."""
    def make(*, rng=None, stream=None, dtype=None, **kwargs):
        return _initializer(name, name, kwargs, rng, stream, dtype)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"fastinit.{name} as a JAX initializer (jax.nn.initializers has no {name}): "
                    "``init(key, shape, dtype=jnp.float32, out_sharding=None)``.\n\n"
                    "Parameters\n----------\n" + _RNG_DOC +
                    "dtype : optional\n    The init's default dtype (float32).\n"
                    "**kwargs\n    fastinit's arguments.\n\n"
                    f"{_model._INITS[name].__doc__ or ''}")
    return make


globals().update({n: _factory(n) for n in _model._INITS if n not in _JAX_NAMES})


# ---------------------------------------------------------- sharded arrays


def _norm(index, shape) -> tuple:
    """A shard's index as a hashable tuple of (start, stop, step)."""
    return tuple(s.indices(n) if isinstance(s, slice) else (int(s), int(s) + 1, 1) for s, n in zip(index, shape))


def _fill_part(name, kw, g, stream, dt, shape, index):
    """One shard (the one place a shard is computed: tests count calls)."""
    return _call(name, kw, g, stream, dt, shape, index)


def _from_parts(part, shape, sharding):
    """A global jax.Array of shape laid out by sharding whose shard at each
    distinct index is part(index) (an ndarray; index as JAX gives it, a
    tuple of slices), computed once per index: a replicated shard once per
    host."""
    cache = {}

    def cb(index):
        k = _norm(index, shape)
        if k not in cache:
            cache[k] = part(tuple(index))
        return cache[k]

    return jax.make_array_from_callback(tuple(shape), sharding, cb)


def _sharded(name, kw, g, stream, dt, shape, sharding):
    """A global jax.Array of fastinit.<name>; each distinct shard computed once."""
    if not draw_of(_model._INITS[name]).whole:
        return _from_parts(lambda index: _fill_part(name, kw, g, stream, dt, shape, index), shape, sharding)
    whole = []

    def cut(index):  # the whole tensor computed once, each shard cut from it
        if not whole:
            whole.append(_fill_part(name, kw, g, stream, dt, shape, tuple(slice(None) for _ in shape)))
        part = whole[0][index]
        out = _empty(part.shape, dt)
        out[...] = part
        return out

    return _from_parts(cut, shape, sharding)


def init_array(init, shape, sharding, *, rng, stream=None, dtype=None, layout="keras", **kwargs):
    """A global jax.Array of ``fastinit.<init>``, each shard computed alone.

    Parameters
    ----------
    init : str or callable
        An initializer name or text (``"he_normal"``, ``"normal(std=0.02)"``)
        or a fastinit initializer function.
    shape : tuple of int
        The global shape.
    sharding : jax.sharding.Sharding
        Any sharding (NamedSharding, SingleDeviceSharding, ...).  Each
        addressable shard is filled by fastinit with ``global_shape=shape,
        index=...`` (orthogonal and sparse compute the whole once and cut);
        a shard replicated on several devices is computed once.
    rng : int, SeedSequence, fastinit.Generator or jax key
        The key (a Generator's key only, never its position).
    stream : int or str, optional
        The stream (default 0), from element 0.
    dtype : optional
        float32 by default; canonicalized as JAX does.
    layout : {"keras", "torch"}
        Fans' layout for fan-based initializers whose arguments give none.
    **kwargs
        The initializer's arguments.

    Returns
    -------
    jax.Array
        Equal, bit for bit, to ``fastinit.<init>(shape, rng=rng,
        stream=stream, dtype=dtype, layout=layout, **kwargs)`` placed with
        ``sharding``, on any mesh and partition.
    """
    name, kw = _resolve(init, kwargs, layout)
    shape = V.check_size(shape, "shape")
    if shape is None:
        raise TypeError("init_array: shape is required")
    dt = _dtype(dtype)
    g = _generator(rng) if name not in _model._DETERMINISTIC else None
    if stream is not None:
        V.check_stream(stream)
    _call(name, kw, g, stream, dt, shape, (slice(0, 0),) + (slice(None),) * (len(shape) - 1) if shape else ())
    return _sharded(name, kw, g, stream, dt, shape, sharding)


# ------------------------------------------------------------------ trees


def path_name(path) -> str:
    """The name of a pytree key path: dict keys, attribute names and
    sequence indices joined by "." (``params.layers.0.kernel``).  A last
    ``.value`` attribute (the array of a Flax NNX Variable: a State's
    ``up.kernel`` flattens to ``up.kernel.value``) is not part of the name."""
    path = tuple(path)
    if len(path) > 1 and isinstance(path[-1], jax.tree_util.GetAttrKey) and path[-1].name == "value":
        path = path[:-1]
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(str(k))
    return ".".join(parts)


def init_tree(abstract, rules=None, *, rng, shardings=None, layout="keras"):
    """Initialize a parameter tree by name, as fastinit.init_model would.

    Parameters
    ----------
    abstract : pytree
        Leaves with ``shape`` and ``dtype`` (``jax.ShapeDtypeStruct`` from
        ``jax.eval_shape(model.init, key, x)``, or arrays).  Each leaf's name
        is its key path's (see path_name), and is its stream.
    rules : str, dict or list, optional
        init_model's rules: a preset's name ("gpt2", "tinyllama-1.1b", ...) or glob
        pattern -> initializer text, first match wins, then
        ``normal(std=0.02)``; resolved by ``fastinit.model.resolve``.
    rng : int, SeedSequence, fastinit.Generator or jax key
        The key.
    shardings : pytree of jax.sharding.Sharding, or one Sharding, optional
        Matching ``abstract`` (or one for every leaf): each leaf is built
        by init_array's sharded fill, each distinct shard computed once.
        None: each leaf is one array on the default device.
    layout : {"keras", "torch"}
        Fans' layout for fan-based rules whose text gives none (JAX kernels
        are (in, out)).  With ``layout="torch"``, or rules without fans (as
        the presets'), the tree equals ``fastinit.init_model({name:
        {"shape", "dtype"}}, rules=rules, rng=rng)`` bit for bit; with
        "keras" it equals init_model with ``layout='keras'`` written into
        each fan-based rule that gives none.

    Returns
    -------
    pytree
        ``abstract``'s structure with a jax.Array at each leaf.
    """
    g = _generator(rng)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(abstract)
    spec = {}
    for path, leaf in leaves:
        name = path_name(path)
        if name in spec:
            raise ValueError(f"init_tree: two leaves are named {name!r}")
        try:
            spec[name] = {"shape": list(leaf.shape), "dtype": _dtype(leaf.dtype)}
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"init_tree: leaf {name!r}: {exc}") from None
    tensors = _model.resolve(spec, rules)  # init_model's names, rules, checks
    if isinstance(shardings, jax.sharding.Sharding):
        flat_sh = [shardings] * len(tensors)
    elif shardings is not None:
        flat_sh = treedef.flatten_up_to(shardings)
    for t in tensors:  # every rule checked on an empty part before anything is allocated
        name, kw = t.init
        if layout is not None and _takes_layout(name) and "layout" not in kw:
            t.init = (name, {**kw, "layout": layout})
        _check(t, g)
    out = []
    for i, t in enumerate(tensors):
        name, kw = t.init
        if shardings is None:
            a = _empty(t.shape, t.dtype)
            _model._fill(t, a, 0, t.shape[0] if t.shape else 1, g, None)
            out.append(jnp.asarray(a))
        else:
            out.append(_sharded(name, kw, g, t.name, t.dtype, t.shape, flat_sh[i]))
    return jax.tree_util.tree_unflatten(treedef, out)


def _check(t, g):
    """Raise what filling tensor t (not 0-d) would raise, computing nothing."""
    if t.shape:
        _model.check_tensor(t, g)
