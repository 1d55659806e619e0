"""fastinit for JAX and Flax: initializers, sharded arrays, whole trees.

    import fastinit.jax as fj
    dense = flax.linen.Dense(1024, kernel_init=fj.he_normal())   # JAX's init(key, shape, dtype)
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
gives exactly ``fastinit.he_normal(shape, rng=0, stream="layers.0.kernel",
layout="keras")``, the tensor ``fastinit.init_model`` makes under that name
with the rule ``he_normal(layout='keras')``.  Wherever fastinit.jax takes
``rng=`` it also takes a JAX key (a ``jax.Array``), mapped as above.

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
out)`` for convolutions), so in fastinit.jax fans come from Keras' layout:
``layout="keras"`` is the default of every fan-based initializer (xavier,
glorot, he, kaiming, lecun, variance_scaling), of init_array and of
init_tree's rules; pass ``layout="torch"`` (or ``fan_in=``/``fan_out=``) to
change it.
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
from ._initializers.methods import draw_of

__all__ = ["init_array", "init_tree", "key_words", "path_name", *_model._INITS]

_SET_HERE = {"shape", "out", "dtype", "rng", "stream", "start", "global_shape", "index"}
_MAPPED_BYTES = 1 << 20


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


def _factory(name: str):
    def make(*, rng=None, stream=None, dtype=None, **kwargs):
        init_name, kw = _resolve(name, kwargs, "keras")
        random = init_name not in _model._DETERMINISTIC
        if not random and (rng is not None or stream is not None):
            raise TypeError(f"{name} takes no rng or stream: it is not random")
        fixed = _generator(rng) if random and rng is not None else None
        if stream is not None:
            V.check_stream(stream)
        default_dt = dtype

        def init(key, shape, dtype=default_dt):
            dt = _dtype(dtype)
            shape = tuple(int(s) for s in shape)
            out = jax.ShapeDtypeStruct(shape, dt)
            if shape:  # fastinit's checks, on an empty part, before the callback: errors raise here
                _call(init_name, kw, Generator._from_key((0, 0)), stream, dt, shape,
                      (slice(0, 0),) + (slice(None),) * (len(shape) - 1))
            if not random or fixed is not None:  # the key is not used (and may be None)
                return jax.pure_callback(lambda: _call(init_name, kw, fixed, stream, dt, shape), out,
                                         vmap_method="sequential")
            data = _key_data(key)

            def host(d):
                return _call(init_name, kw, Generator._from_key(_words(np.asarray(d))), stream, dt, shape)

            return jax.pure_callback(host, out, data, vmap_method="sequential")

        init.__name__ = init.__qualname__ = f"{name}_init"
        return init

    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"fastinit.{name} as a JAX initializer: ``init(key, shape, dtype=jnp.float32)``.\n\n"
                    "Parameters\n----------\n"
                    "rng : int, SeedSequence, fastinit.Generator or jax key, optional\n"
                    "    Replaces the key an init is called with (then ignored); see the module docstring.\n"
                    "stream : int or str, optional\n    The stream (default 0), from element 0.\n"
                    "dtype : optional\n    The init's default dtype (float32).\n"
                    "**kwargs\n    fastinit's arguments (layout defaults to 'keras').\n\n"
                    f"{_model._INITS[name].__doc__ or ''}")
    return make


globals().update({n: _factory(n) for n in _model._INITS})


# ---------------------------------------------------------- sharded arrays


def _norm(index, shape) -> tuple:
    """A shard's index as a hashable tuple of (start, stop, step)."""
    return tuple(s.indices(n) if isinstance(s, slice) else (int(s), int(s) + 1, 1) for s, n in zip(index, shape))


def _fill_part(name, kw, g, stream, dt, shape, index):
    """One shard (the one place a shard is computed: tests count calls)."""
    return _call(name, kw, g, stream, dt, shape, index)


def _sharded(name, kw, g, stream, dt, shape, sharding):
    """A global jax.Array; each distinct shard index is computed once."""
    cache = {}

    def cb(index):
        k = _norm(index, shape)
        if k not in cache:
            if draw_of(_model._INITS[name]).whole:  # the whole tensor: compute it once, cut each shard
                if None not in cache:
                    cache[None] = _fill_part(name, kw, g, stream, dt, shape, tuple(slice(None) for _ in shape))
                part = cache[None][tuple(slice(*t) for t in k)]
                cache[k] = _empty(part.shape, dt)
                cache[k][...] = part
            else:
                cache[k] = _fill_part(name, kw, g, stream, dt, shape, tuple(slice(*t) for t in k))
        return cache[k]

    return jax.make_array_from_callback(shape, sharding, cb)


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
    sequence indices joined by "." (``params.layers.0.kernel``)."""
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
    """Raise what filling tensor t would raise, computing nothing."""
    name, kw = t.init
    index = (slice(0, 0),) + (slice(None),) * (len(t.shape) - 1) if t.shape else None
    if index is None:
        return
    try:
        _call(name, kw, g, t.name, t.dtype, t.shape, index)
    except (ValueError, TypeError, OverflowError) as exc:
        raise type(exc)(f"{t.source}: tensor {t.name!r} (shape {t.shape}, {t.dtype}, "
                        f"{_model._init_text(t.init)}): {exc}") from exc
