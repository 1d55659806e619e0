"""Generator behaviour: construction, identity, spawn, pickling, return types."""

import pickle
import threading

import numpy as np
import pytest

import fastinit
import reference as R
from reference import bits


def test_default_rng_forms():
    a = fastinit.default_rng(5)
    assert isinstance(a, fastinit.Generator)
    assert fastinit.default_rng(a) is a
    assert tuple(fastinit.default_rng(np.random.SeedSequence(5)).key.tolist()) == tuple(a.key.tolist())
    assert tuple(fastinit.default_rng([1, 2, 3]).key.tolist()) == R.key_from_seed([1, 2, 3])
    assert fastinit.default_rng(np.int64(5)).key.tolist() == a.key.tolist()
    # fresh entropy: two unseeded Generators differ
    assert fastinit.default_rng().key.tolist() != fastinit.default_rng().key.tolist()


def test_key_is_a_copy():
    g = fastinit.default_rng(1)
    k = g.key
    k[0] ^= 1
    assert g.key.tolist() != k.tolist()


def test_spawn_gives_independent_children():
    g = fastinit.default_rng(11)
    kids = g.spawn(3)
    keys = {tuple(k.key.tolist()) for k in kids} | {tuple(g.key.tolist())}
    assert len(keys) == 4
    want = [tuple(s.generate_state(2, np.uint32).tolist()) for s in np.random.SeedSequence(11).spawn(3)]
    assert [tuple(k.key.tolist()) for k in kids] == want
    # a second spawn continues the SeedSequence's children
    assert tuple(g.spawn(1)[0].key.tolist()) not in keys
    assert g.spawn(0) == []  # as NumPy
    with pytest.raises(ValueError, match="n_children"):
        g.spawn(-1)


def test_pickle_keeps_key_and_position():
    g = fastinit.default_rng(3)
    g.random(10)
    h = pickle.loads(pickle.dumps(g))
    assert h.key.tolist() == g.key.tolist() and h.position == g.position
    np.testing.assert_array_equal(bits(h.random(7)), bits(g.random(7)))


def test_scalar_and_array_returns():
    g = fastinit.default_rng(0)
    assert isinstance(g.random(), float)
    assert isinstance(g.standard_normal(dtype=np.float32), float)
    assert 0 <= g.uniform(2, 3) < 3
    assert g.normal(size=(2, 3)).shape == (2, 3)
    assert g.normal(size=(2, 3)).dtype == np.float64  # NumPy's default
    assert g.normal(size=4, dtype=np.float32).dtype == np.float32
    out = np.empty((3, 2), dtype=np.float16)
    assert g.normal(out=out) is out  # dtype taken from out


def test_half_precision_is_float32_rounded_once():
    g = fastinit.default_rng(4)
    import ml_dtypes

    x32 = g.normal(0.1, 3.0, 100_000, dtype=np.float32, stream=9)
    np.testing.assert_array_equal(bits(g.normal(0.1, 3.0, 100_000, dtype=np.float16, stream=9)), bits(x32.astype(np.float16)))
    np.testing.assert_array_equal(bits(g.normal(0.1, 3.0, 100_000, dtype="bfloat16", stream=9)),
                                  bits(x32.astype(ml_dtypes.bfloat16)))


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16", np.float32])
def test_uniform_stays_inside_bounds_after_rounding(dtype):
    dt = fastinit._validate.as_dtype(dtype)
    for low, high in [(0.1, 0.2), (-1.0, 1.0), (0.99, 1.0), (-3.3, -3.29)]:
        x = fastinit.default_rng(0).uniform(low, high, 200_000, dtype=dt).astype(np.float64)
        assert x.min() >= low and x.max() < high, (low, high)


def test_named_streams_are_blake2b_ids():
    import hashlib

    name = "model.layers.0.self_attn.q_proj.weight"
    sid = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
    g = fastinit.default_rng(0)
    np.testing.assert_array_equal(bits(g.standard_normal(100, dtype=np.float32, stream=name)),
                                  bits(g.standard_normal(100, dtype=np.float32, stream=sid)))


def test_threads_sharing_a_generator_get_disjoint_blocks():
    g = fastinit.default_rng(8)
    results = [None] * 8

    def work(i):
        results[i] = g.random_raw  # keep a reference, then draw
        results[i] = g.random(4096 * (i + 1), dtype=np.float32)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert g.position == sum(1024 * (i + 1) for i in range(8))
    allv = np.concatenate(results)
    ref = fastinit.default_rng(8).random(allv.size, dtype=np.float32)
    # together they used exactly the first blocks of stream 0, each once
    np.testing.assert_array_equal(np.sort(bits(allv)), np.sort(bits(ref)))
