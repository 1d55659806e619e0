"""fastinit.dask: chunks computed independently equal the in-memory init,
with the default scheduler and on a LocalCluster of 2 worker processes."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import fastinit  # noqa: E402
import fastinit.dask as fd  # noqa: E402
from reference import bits  # noqa: E402

CASES = [
    ("he_normal", (300, 200), (100, 64), {}),
    ("xavier_uniform", (3, 3, 32, 64), (2, 3, 16, 50), {"layout": "keras"}),
    ("truncated_normal", (257, 31), (50, 31), {"std": 0.02, "a": -0.04, "b": 0.04}),
    ("normal", (1000,), (333,), {"mean": 1.0, "std": 0.5}),
    ("orthogonal", (64, 48), (20, 48), {}),
    ("sparse", (40, 30), (15, 10), {"sparsity": 0.2}),
]


@pytest.mark.parametrize("name,shape,chunks,kw", CASES)
@pytest.mark.parametrize("stream", [None, "layer.weight"])
def test_chunks_equal_the_in_memory_init(name, shape, chunks, kw, stream):
    x = getattr(fd, name)(shape, chunks=chunks, rng=4, stream=stream, **kw)
    assert isinstance(x, da.Array) and x.shape == shape and x.dtype == np.float32
    assert x.numblocks == tuple(-(-s // c) for s, c in zip(shape, chunks))
    want = getattr(fastinit, name)(shape, rng=4, stream=stream, **kw)
    np.testing.assert_array_equal(bits(x.compute()), bits(want))


def test_a_generator_moves_on_like_in_memory_draws():
    g, h = fastinit.default_rng(8), fastinit.default_rng(8)
    a, b = fd.he_normal((64, 32), chunks=16, rng=g), fd.he_normal((64, 32), chunks=16, rng=g)
    np.testing.assert_array_equal(a.compute(), h.he_normal((64, 32)))
    np.testing.assert_array_equal(b.compute(), h.he_normal((64, 32)))
    assert g.position == h.position


def test_bfloat16_and_keyword_arguments():
    x = fd.constant((10, 10), value=0.25, chunks=3, dtype="bfloat16")
    assert x.dtype.name == "bfloat16" and (x.compute().astype(np.float32) == 0.25).all()
    y = fd.he_uniform((30, 20), a=0.1, mode="fan_out", chunks=7, rng=1)
    np.testing.assert_array_equal(y.compute(), fastinit.he_uniform((30, 20), a=0.1, mode="fan_out", rng=1))


@pytest.mark.parametrize("dtype", ["fp16", "bf16", "half", "torch.bfloat16"])
def test_dtype_spellings_as_in_memory(dtype):
    """fastinit.dask reads a dtype through the same table as the in-memory functions."""
    x = fd.he_normal((12, 8), chunks=5, rng=3, dtype=dtype)
    want = fastinit.he_normal((12, 8), rng=3, dtype=dtype)
    assert x.dtype == want.dtype
    np.testing.assert_array_equal(x.compute(), want)


def test_parameters_after_the_shape_are_keyword_only():
    with pytest.raises(TypeError, match=r"shape is one argument: fastinit\.dask\.he_normal\(\(4096, 1024\)\)"):
        fd.he_normal(4096, 1024, rng=0)
    with pytest.raises(TypeError, match=r"keyword-only, e\.g\. fastinit\.dask\.constant\(shape, value=0\.25\)"):
        fd.constant((10, 10), 0.25)


def test_rng_errors_name_rng():
    with pytest.raises(TypeError, match=r"^rng must be None, an int seed .* not a NumPy Generator"):
        fd.he_normal((4, 4), rng=np.random.default_rng(0))


def test_bad_arguments_raise_when_the_array_is_built():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        fd.he_normal((8, 8), mode="fan_avg", rng=0)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fd.xavier_normal((8,), rng=0)


def test_local_cluster_with_two_worker_processes():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        x = fd.he_normal((512, 256), chunks=(64, 256), rng=11, stream="w", dtype="bfloat16")
        blocks = client.compute(x.to_delayed().ravel().tolist())
        client.gather(blocks)
        workers = {w for ws in client.who_has(blocks).values() for w in ws}
        assert len(workers) == 2  # the chunks really ran in both processes
        got = client.compute(x).result()
    want = fastinit.he_normal((512, 256), rng=11, stream="w", dtype="bfloat16")
    np.testing.assert_array_equal(bits(got), bits(want))


# Sequential draws: a Dask array, a sharded part and the in-memory call all
# advance a Generator by the same blocks (orthogonal draws float64 words,
# sparse its values and then a key per element, in one step).
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SEQ = [("he_normal", {}), ("orthogonal", {}), ("sparse", {"sparsity": 0.3}), ("uniform", {"low": -1.0, "high": 1.0}),
        ("truncated_normal", {"std": 0.02, "a": -0.04, "b": 0.04}), ("xavier_normal", {"truncated": True})]


@pytest.mark.property
@given(st.lists(st.tuples(st.sampled_from(range(len(_SEQ))), st.integers(1, 9), st.integers(2, 7),
                          st.sampled_from(["float32", "float64", "float16", "bfloat16"])), min_size=1, max_size=4))
def test_any_sequence_of_draws_leaves_memory_dask_and_shards_in_step(seq):
    import dask

    mem, dsk, shd = (fastinit.default_rng(99) for _ in range(3))
    for i, rows, cols, dtype in seq:
        name, kw = _SEQ[i]
        dt = fastinit._validate.as_dtype(dtype)
        want = getattr(fastinit, name)((rows, cols), rng=mem, dtype=dt, **kw)
        with dask.config.set(scheduler="synchronous"):
            got = getattr(fd, name)((rows, cols), chunks=(2, 3), rng=dsk, dtype=dt, **kw).compute()
        part = getattr(fastinit, name)(global_shape=(rows, cols), index=(slice(rows // 2, None),), rng=shd,
                                       dtype=dt, **kw)
        np.testing.assert_array_equal(bits(got), bits(want))
        np.testing.assert_array_equal(bits(part), bits(want[rows // 2:]))
    assert mem.position == dsk.position == shd.position
    nxt = [g.standard_normal(7, dtype=np.float32) for g in (mem, dsk, shd)]
    np.testing.assert_array_equal(nxt[0], nxt[1])
    np.testing.assert_array_equal(nxt[0], nxt[2])


def test_sparse_reserves_values_and_keys_in_one_step():
    """Another thread's draw between the values and the keys used to get
    the keys' words; now both are one reservation."""
    g = fastinit.default_rng(5)
    calls, take = [], g._reserve_blocks
    g._reserve_blocks = lambda blocks: calls.append(blocks) or take(blocks)
    fastinit.sparse((8, 8), sparsity=0.5, rng=g)
    assert calls == [64 // 4 + 64 // 4]  # float32 values, then uint32 keys: one reservation
    g2 = fastinit.default_rng(5)
    fastinit.orthogonal((8, 8), rng=g2, dtype="float16")
    assert g2.position == 64 * 2 // 4  # float64 words whatever the dtype
