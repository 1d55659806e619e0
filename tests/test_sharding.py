"""Sharded fills: any partition of a tensor into blocks, filled separately
(on any number of threads), reassembles the whole tensor bit for bit, and
any basic index gives exactly full[index]."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastinit
from reference import bits


# name -> (minimum rank, maximum rank, call(**kw))
INITS = {
    "normal": (1, 4, lambda **k: fastinit.normal(mean=0.5, std=2.0, **k)),
    "uniform": (1, 4, lambda **k: fastinit.uniform(low=-1.0, high=3.0, **k)),
    "truncated_normal": (1, 4, lambda **k: fastinit.truncated_normal(std=0.5, a=-0.3, b=1.0, **k)),
    "he_normal": (2, 4, lambda **k: fastinit.he_normal(**k)),
    "he_uniform_keras": (2, 4, lambda **k: fastinit.he_uniform(layout="keras", **k)),
    "xavier_normal_truncated": (2, 4, lambda **k: fastinit.xavier_normal(truncated=True, **k)),
    "lecun_uniform": (2, 4, lambda **k: fastinit.lecun_uniform(**k)),
    "variance_scaling": (2, 4, lambda **k: fastinit.variance_scaling(scale=2.0, mode="fan_avg", **k)),
    "orthogonal": (2, 3, lambda **k: fastinit.orthogonal(gain=1.5, **k)),
    "sparse": (2, 2, lambda **k: fastinit.sparse(sparsity=0.3, **k)),
    "ones": (1, 4, lambda **k: fastinit.ones(**{a: b for a, b in k.items() if a not in ("rng", "stream")})),
    "eye": (2, 2, lambda **k: fastinit.eye(gain=2.0, **{a: b for a, b in k.items() if a not in ("rng", "stream")})),
    "dirac": (3, 4, lambda **k: fastinit.dirac(groups=1, **{a: b for a, b in k.items() if a not in ("rng", "stream")})),
}
DTYPES = [np.float32, np.float64, np.float16, "bfloat16"]


@st.composite
def case(draw):
    name = draw(st.sampled_from(sorted(INITS)))
    lo, hi, _ = INITS[name]
    ndim = draw(st.integers(lo, hi))
    shape = tuple(draw(st.integers(1 if name in ("orthogonal", "sparse") else 0, 9)) for _ in range(ndim))
    dtype = draw(st.sampled_from(DTYPES))
    stream = draw(st.sampled_from([None, 5, "layer.w"]))
    return name, shape, fastinit._validate.as_dtype(dtype), stream


def _full(name, shape, dt, stream, seed=3):
    return INITS[name][2](shape=shape, dtype=dt, rng=seed, stream=stream)


@pytest.mark.property
@given(case(), st.data())
def test_blocks_reassemble_the_full_tensor(c, data):
    name, shape, dt, stream = c
    full = _full(name, shape, dt, stream)
    # a random partition: cut points along every dimension
    cuts = [sorted(set(data.draw(st.lists(st.integers(0, n), max_size=3)) + [0, n])) for n in shape]
    assembled = np.full(shape, 7, dtype=dt)
    blocks = [[]]
    for c_d in cuts:
        blocks = [b + [slice(c_d[i], c_d[i + 1])] for b in blocks for i in range(len(c_d) - 1)]
    before = fastinit._backends.threads._setting()
    try:
        for b in blocks:
            fastinit.set_num_threads(data.draw(st.integers(1, 4)))
            index = tuple(b)
            part = INITS[name][2](global_shape=shape, index=index, dtype=dt, rng=3, stream=stream)
            assembled[index] = part
    finally:
        fastinit._backends.threads._restore(before)
    np.testing.assert_array_equal(bits(assembled), bits(full))


def _basic_index(data, shape):
    parts = []
    for n in shape:
        kind = data.draw(st.sampled_from(["slice", "int", "full"] if n else ["slice", "full"]))
        if kind == "int":
            parts.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = data.draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            stop = data.draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            step = data.draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            parts.append(slice(start, stop, step))
        else:
            parts.append(slice(None))
    if parts and data.draw(st.booleans()):  # an Ellipsis for a run of full slices
        k = data.draw(st.integers(0, len(parts) - 1))
        parts = parts[:k] + [Ellipsis] + [p for p in parts[k:] if p != slice(None)]
        if sum(isinstance(p, (int, slice)) for p in parts) > len(shape):
            parts = [p for p in parts if p is not Ellipsis]
    if data.draw(st.booleans()):
        parts.insert(data.draw(st.integers(0, len(parts))), None)
    return tuple(parts)


@pytest.mark.property
@given(case(), st.data())
def test_any_basic_index_gives_full_index(c, data):
    name, shape, dt, stream = c
    full = _full(name, shape, dt, stream)
    index = _basic_index(data, shape)
    try:
        want = full[index]
    except IndexError:
        return
    got = INITS[name][2](global_shape=shape, index=index, dtype=dt, rng=3, stream=stream)
    assert got.shape == want.shape
    np.testing.assert_array_equal(bits(got), bits(want))


def test_fans_come_from_the_global_shape():
    """A column shard of a (4096, 8192) weight has the global fan_in 8192."""
    part = fastinit.he_normal(global_shape=(4096, 8192), index=(slice(None), slice(0, 1024)), rng=0)
    assert part.shape == (4096, 1024)
    assert abs(part.std() - np.sqrt(2 / 8192)) < 0.01 * np.sqrt(2 / 8192)


def test_sequential_draws_advance_by_the_global_tensor():
    """Every rank's Generator moves by the whole tensor, even with an empty part."""
    g, h = fastinit.default_rng(1), fastinit.default_rng(1)
    g.he_normal(global_shape=(64, 32), index=(slice(0, 16),))
    h.he_normal(global_shape=(64, 32), index=(slice(64, 64),))  # nothing to fill here
    assert g.position == h.position == 64 * 32 // 4
    np.testing.assert_array_equal(g.he_normal((8, 8)), h.he_normal((8, 8)))


def test_shard_validation():
    with pytest.raises(TypeError, match="global_shape is required"):
        fastinit.he_normal(index=(slice(0, 2),), rng=0)
    with pytest.raises(IndexError, match="out of bounds"):
        fastinit.he_normal(global_shape=(4, 4), index=(4,), rng=0)
    with pytest.raises(ValueError, match="too many indices"):
        fastinit.he_normal(global_shape=(4, 4), index=(1, 2, 3), rng=0)
    with pytest.raises(ValueError, match="is not the shape of global_shape"):
        fastinit.he_normal((3, 4), global_shape=(4, 4), index=(slice(0, 2),), rng=0)
    with pytest.raises(ValueError, match="single ellipsis"):
        fastinit.he_normal(global_shape=(4, 4), index=(Ellipsis, Ellipsis), rng=0)
    out = np.full((2, 4), 5.0, dtype=np.float32)
    with pytest.raises(ValueError, match="size must match|shape must match"):
        fastinit.he_normal(out=out, global_shape=(4, 4), index=(slice(0, 3),), rng=0)
    assert (out == 5).all()


def test_named_streams_do_not_depend_on_order_or_neighbours():
    g = fastinit.default_rng(2)
    a1 = g.he_normal((64, 64), stream="layers.0.q_proj.weight")
    g.he_normal((1000, 10), stream="layers.0.k_proj.weight")
    a2 = fastinit.default_rng(2).he_normal((64, 64), stream="layers.0.q_proj.weight")
    np.testing.assert_array_equal(a1, a2)
    assert g.position == 0  # named-stream draws never advance
