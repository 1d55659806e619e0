"""The GPU path (fastinit._backends.cuda, Triton kernels) equals the CPU fill bit for bit.

With a CUDA device the kernels run on it; without one they run in Triton's
interpreter (TRITON_INTERPRET=1, NumPy on the CPU) on CPU tensors, so CI
checks the same kernel code.  Sizes stay small: the interpreter takes about
0.1 s per launch of a few thousand elements.  Tests marked `cuda` need the
device (large fills, torch's functions on CUDA tensors, DTensors).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
if not CUDA and "triton" not in sys.modules:  # Triton reads this when first imported
    os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton")
ml_dtypes = pytest.importorskip("ml_dtypes")
from fastinit._backends import triton_kernels as _kernels  # noqa: E402

import fastinit  # noqa: E402
from fastinit._backends.cuda import DeviceBuffer  # noqa: E402

DEV = "cuda" if CUDA else "cpu"
cuda_only = pytest.mark.skipif(not CUDA, reason="needs a CUDA device")

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
U64 = 1 << 64


def np_dtype(tdt):
    return {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64),
            torch.float16: np.dtype(np.float16), torch.bfloat16: np.dtype(ml_dtypes.bfloat16)}[tdt]


def bits(x):
    """The raw bits of a tensor or an ndarray, as a NumPy array."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype in (torch.float16, torch.bfloat16):
            return x.contiguous().view(torch.int16).numpy().view(np.uint16)
        x = x.contiguous().numpy()
    return x.view(f"u{x.dtype.itemsize}")


def gpu_and_cpu(fn, shape, tdt, view=None, **kwargs):
    """fn(out=...) on a device tensor (optionally through view(t)) and on an
    ndarray of the same layout; both results' bits."""
    t = torch.full(shape, float("nan"), dtype=tdt, device=DEV)
    tv = view(t) if view else t
    fn(out=DeviceBuffer(tv), **kwargs)
    a = np.full(shape, np.nan, dtype=np_dtype(tdt))
    av = view(a) if view else a
    fn(out=av, **kwargs)
    return bits(tv), bits(np.ascontiguousarray(av)), bits(t), bits(a)


def assert_same(fn, shape, tdt, view=None, **kwargs):
    g, c, gall, call = gpu_and_cpu(fn, shape, tdt, view, **kwargs)
    bad = np.flatnonzero(g.reshape(-1) != c.reshape(-1))
    assert bad.size == 0, f"{bad.size} of {g.size} differ, first at {bad[:5]}"
    # and nothing outside the view was written
    np.testing.assert_array_equal(gall, call)


# Every distribution kind: (initializer, its arguments).  The truncated
# normals cover both 32-bit kinds (a window of mass >= 1/16 in float32,
# narrower or farther ones in float64) and float64's.
DISTS = {
    "uniform": (fastinit.uniform, dict(low=-0.3, high=0.7)),
    "normal": (fastinit.normal, dict(mean=0.1, std=2.0)),
    "normal_tiny": (fastinit.normal, dict(mean=0.0, std=3e-6)),  # float16 subnormals
    "trunc": (fastinit.truncated_normal, dict(std=0.02, a=-0.04, b=0.04)),
    "trunc_wide": (fastinit.truncated_normal, dict(std=1.0, a=-6.0, b=6.0)),  # the erfinv tail polynomial
    "trunc_narrow": (fastinit.truncated_normal, dict(std=1.0, a=0.1, b=0.1001)),
    "trunc_far": (fastinit.truncated_normal, dict(std=1.0, a=7.0, b=9.0)),
    "trunc_flat": (fastinit.truncated_normal, dict(std=1.0, a=0.5, b=0.5 + 2.0**-52)),
    "he_normal": (fastinit.he_normal, dict()),
    "he_uniform": (fastinit.he_uniform, dict()),
    "xavier_normal_trunc": (fastinit.xavier_normal, dict(truncated=True)),
    "lecun_uniform": (fastinit.lecun_uniform, dict()),
    "constant": (fastinit.constant, dict(value=0.1)),
    "eye": (fastinit.eye, dict()),
}


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dist", list(DISTS))
def test_distribution_equals_cpu(dist, dtype):
    fn, kw = DISTS[dist]
    kw = dict(kw)
    if fn is not fastinit.constant and fn is not fastinit.eye:
        kw["rng"] = 1234
    assert_same(fn, (13, 77), DTYPES[dtype], **kw)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dist", ["uniform", "normal", "trunc_wide", "trunc_far"])
@pytest.mark.parametrize("stream,start", [(U64 - 1, 0), (3, U64 - 1003), (U64 - 2, U64 - 1001 - 4 * 250)])
def test_stream_and_start_near_2_64(dist, dtype, stream, start):
    """Stream ids and element indices in the top of the 64-bit range: the
    block counter's high word and the stream words are all used."""
    fn, kw = DISTS[dist]
    assert_same(fn, (1001,), DTYPES[dtype], rng=7, stream=stream, start=start // 2 if dtype == "float64" else start,
                **kw)


VIEWS = {"transpose": lambda x: x.T, "step": lambda x: x[::3, 1::2], "offset": lambda x: x[1:, 3:],
         "corner": lambda x: x[2:9, :5], "flat_step": lambda x: x.reshape(-1)[::2]}


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dist", ["uniform", "normal", "trunc", "trunc_narrow"])
@pytest.mark.parametrize("view", list(VIEWS))
def test_non_contiguous(dist, dtype, view):
    """Strided outputs through the element kernel (rows this short do not
    go to the row kernel): every element computes its own block and lane."""
    fn, kw = DISTS[dist]
    assert_same(fn, (21, 34), DTYPES[dtype], view=VIEWS[view], rng=99, **kw)


@pytest.fixture
def rows_everywhere(monkeypatch):
    """Every layout whose last dimension runs on in the global index goes
    to the row kernel, however short its rows; yields the grids the row
    kernel was launched with."""
    monkeypatch.setitem(_kernels.CONFIG, "rows_from", 1)
    grids, kernel = [], _kernels._fill_rows

    class Launches:
        def __getitem__(self, grid):
            grids.append(grid)
            return kernel[grid]

    monkeypatch.setattr(_kernels, "_fill_rows", Launches())
    yield grids


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("view", list(VIEWS))
def test_non_contiguous_through_row_kernel(view, dtype, rows_everywhere):
    """The row kernel's addressing (row places, first lanes, output
    strides) on the same views; its values are the contiguous kernel's."""
    fn, kw = DISTS["normal"]
    assert_same(fn, (21, 34), DTYPES[dtype], view=VIEWS[view], rng=99, **kw)
    assert rows_everywhere, "the row kernel did not run"


SHARD_INDEXES = [
    (slice(0, 5),),                      # rows: one contiguous run
    (slice(5, 12), slice(3, 11)),        # a block: strided global indices
    (slice(None), slice(10, 20)),        # columns
    (3,),                                # one row
    (slice(None, None, 2), None, 7),     # steps, a new axis, an int
    (Ellipsis, slice(19, 2, -3)),        # a negative step
]


def assert_shard_is_part(fn, kw, dtype, gshape, index, rng=5):
    tdt = DTYPES[dtype]
    whole = np.empty(gshape, dtype=np_dtype(tdt))
    fn(out=whole, rng=rng, **kw)
    part = whole[index]
    t = torch.empty(part.shape, dtype=tdt, device=DEV)
    fn(out=DeviceBuffer(t), rng=rng, global_shape=gshape, index=index, **kw)
    np.testing.assert_array_equal(bits(t), bits(np.ascontiguousarray(part)))


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("index", SHARD_INDEXES)
@pytest.mark.parametrize("dist", ["normal", "trunc", "he_uniform"])
def test_shard_equals_part_of_whole(dist, dtype, index):
    """global_shape= and index=: the part of the whole, on the device."""
    fn, kw = DISTS[dist]
    assert_shard_is_part(fn, kw, dtype, (12, 20), index)


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("gshape,index", [
    ((12, 20), (slice(5, 12), slice(3, 11))),
    ((12, 20), (slice(None), slice(10, 20))),
    ((3, 9001), (slice(None), slice(1, 9001))),                # rows of 9000: programs of 512 blocks
    ((4, 6, 50), (slice(None), slice(1, 4), slice(5, 45))),     # a row index over two dimensions
    ((5, 700), (slice(1, 4), slice(3, 603))),                   # rows starting at every lane
    ((8, 64), (slice(None), slice(16, 48))),                    # every row starts a Philox block
])
def test_shard_through_row_kernel(gshape, index, dtype, rows_everywhere):
    """Shards through the row kernel: both program sizes, nested rows,
    rows that start inside a Philox block and rows that all start one."""
    fn, kw = DISTS["normal"]
    assert_shard_is_part(fn, kw, dtype, gshape, index, rng=21)
    assert rows_everywhere, "the row kernel did not run"


def _random_part(rng):
    """A random global shape (1 to 3 dimensions) and a basic index into it:
    ints, whole dimensions, slices with starts, stops and steps (mostly 1,
    so that rows run on in the global index; negative ones too), new axes."""
    gshape = tuple(int(rng.integers(1, 40)) for _ in range(int(rng.integers(1, 4))))
    index = []
    for size in gshape:
        pick = rng.random()
        if pick < 0.15:
            index.append(int(rng.integers(0, size)))
        elif pick < 0.3:
            index.append(slice(None))
        else:
            lo = int(rng.integers(0, size))
            hi = int(rng.integers(lo + 1, size + 1))
            step = int(rng.choice([1, 1, 1, 1, 2, 3, -1, -2]))
            index.append(slice(lo, hi, step) if step > 0 else slice(hi - 1, lo - 1 if lo > 0 else None, step))
        if rng.random() < 0.1:
            index.append(None)
    return gshape, tuple(index)


@pytest.mark.parametrize("case", range(24))
def test_random_shards_through_every_kernel(case, monkeypatch):
    """Seeded random parts of random tensors, each filled three ways (row
    kernel wherever a layout allows it, element kernel only, and the
    launch's own choice), at a random stream and a start near 2^64: every
    fill equals the CPU's part of the whole."""
    rng = np.random.default_rng(20261123 + case)
    gshape, index = _random_part(rng)
    dtype = list(DTYPES)[case % 4]
    tdt = DTYPES[dtype]
    start = U64 - math.prod(gshape) - int(rng.integers(0, 4))  # the whole ends within 3 of 2^64
    kw = dict(rng=case, stream=int(rng.integers(0, 2**63)) * 2 + 1, start=start)
    whole = np.empty(gshape, dtype=np_dtype(tdt))
    fastinit.normal(out=whole, std=0.3, **kw)
    part = whole[index].copy()  # C order, and 0-d where every index is an int
    for rows_from in (1, 1 << 62, 512):
        monkeypatch.setitem(_kernels.CONFIG, "rows_from", rows_from)
        t = torch.full(part.shape, float("nan"), dtype=tdt, device=DEV)
        fastinit.normal(out=DeviceBuffer(t), std=0.3, global_shape=gshape, index=index, **kw)
        np.testing.assert_array_equal(bits(t), bits(part), err_msg=f"{gshape} {index} rows_from={rows_from}")


@pytest.mark.parametrize("dtype,start,programs", [("float32", 0, 1), ("float32", 1, 2), ("float64", 0, 1)])
def test_row_kernel_programs_cover_rows_exactly(dtype, start, programs, rows_everywhere):
    """Rows of one program's worth of elements: one program a row where
    every row starts a Philox block, two where they start inside one."""
    per = 2 if dtype == "float64" else 4
    width = per * _kernels.CONFIG["block_rows"]
    assert_shard_is_part(fastinit.normal, {}, dtype, (3, 2 * width), (slice(None), slice(start, start + width)))
    assert rows_everywhere == [(3, programs)]


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_dirac(dtype):
    assert_same(fastinit.dirac, (6, 3, 3, 5), DTYPES[dtype], groups=2)


def test_sequential_draws_advance_as_on_the_cpu():
    """Without stream=, a Generator's position moves the same way."""
    g_dev, g_cpu = fastinit.default_rng(3), fastinit.default_rng(3)
    for shape, tdt in [((5, 7), torch.float32), ((9, 3), torch.float64), ((3, 3), torch.bfloat16)]:
        t = torch.empty(shape, dtype=tdt, device=DEV)
        g_dev.he_normal(out=DeviceBuffer(t))
        a = np.empty(shape, dtype=np_dtype(tdt))
        g_cpu.he_normal(out=a)
        np.testing.assert_array_equal(bits(t), bits(a))
    assert g_dev.position == g_cpu.position


@pytest.mark.parametrize("stream,start", [(0, 0), (U64 - 1, U64 - 37 - 2), (0x1234_5678_9abc_def0, 5)])
def test_words_equal_random_raw(stream, start):
    """Raw Philox words (the uint32 kind): element order inside a block, the
    block counter's carry into its high word, the stream's two words."""
    rng = fastinit.default_rng(11)
    t = torch.empty(37, dtype=torch.int32, device=DEV)
    _kernels.launch(t, _kernels.RAW, _kernels.DT_U32, 0, 0, 0, 0, 0, 0, rng._key, stream, start)
    np.testing.assert_array_equal(bits(t).view(np.uint32), rng.random_raw(37, stream=stream, start=start))


def test_philox_known_answer():
    """Random123's known answer for Philox4x32-10 (counter and key all ones
    in the low... here: counter 0, key 0), against the scalar C function."""
    from fastinit import _core

    t = torch.empty(4, dtype=torch.int32, device=DEV)
    _kernels.launch(t, _kernels.RAW, _kernels.DT_U32, 0, 0, 0, 0, 0, 0, (0, 0), 0, 0)
    expect = _core.philox([0, 0, 0, 0], [0, 0])
    assert [int(x) for x in bits(t).view(np.uint32)] == expect
    assert expect == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]


def test_layout_merging():
    """Dimensions that run on in both the output and the global index merge;
    size-1 dimensions drop; others stay."""
    assert _kernels._merge([2, 3, 4], [12, 4, 1], [12, 4, 1]) == [(24, 1, 1)]
    assert _kernels._merge([2, 1, 4], [4, 99, 1], [40, 7, 1]) == [(2, 4, 40), (4, 1, 1)]
    assert _kernels._merge([3, 4], [1, 3], [4, 1]) == [(3, 1, 4), (4, 3, 1)]


def test_fastinit_imports_without_torch_or_triton(tmp_path):
    """The GPU path loads only when a device tensor arrives: importing and
    using fastinit pulls in neither torch nor Triton."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, fastinit; fastinit.he_normal((4, 4), rng=0); "
            "fastinit.truncated_normal(out=np.empty(9, np.float32), rng=0); "
            "assert 'torch' not in sys.modules and 'triton' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


_PTX_CHECK = r"""
import re, sys
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from fastinit._backends import triton_kernels as K

bad = re.compile(r"\b(fma|mad)\.rn|\.ftz|\.approx|div\.full|\b(lg2|ex2|sin|cos|rsqrt)\.")
div16 = [["tt.divisibility", 16]]
for kernel, kind, dt, extra, ptr in [
        (K._fill_contig, K.UNIFORM, K.DT_F32, {"SKIP": 0}, "*fp32"),
        (K._fill_contig, K.NORMAL, K.DT_BF16, {"SKIP": 1}, "*i16"),
        (K._fill_contig, K.TRUNCNORM, K.DT_F16, {"SKIP": 0}, "*i16"),
        (K._fill_contig, K.TRUNCNORM_F64, K.DT_F32, {"SKIP": 0}, "*fp32"),
        (K._fill_contig, K.NORMAL, K.DT_F64, {"SKIP": 0}, "*fp64"),
        (K._fill_strided, K.TRUNCNORM, K.DT_F64, {"NDIM": 2}, "*fp64"),
        (K._fill_rows, K.NORMAL, K.DT_F16, {"NDIM": 3, "ALIGNED": False}, "*i16"),
        (K._fill_rows, K.UNIFORM, K.DT_F64, {"NDIM": 2, "ALIGNED": True}, "*fp64")]:
    consts = dict(KIND=kind, DT=dt, BLOCK=256, **extra)
    sig = {name: "constexpr" if name in consts else {"out": ptr, "P": "*i64"}.get(name, "i64")
           for name in kernel.arg_names}
    src = ASTSource(fn=kernel, signature=sig, constexprs=consts, attrs={(0,): div16, (1,): div16, (2,): div16})
    ptx = triton.compile(src, target=GPUTarget("cuda", 90, 32), options=K.OPTIONS).asm["ptx"]
    found = sorted({m.group(0) for m in bad.finditer(ptx)})
    assert not found, (kernel.__name__, kind, dt, found)
    assert "mul.rn.f" in ptx, (kernel.__name__, kind, dt)
    for m in (K.PHILOX_M0.value, K.PHILOX_M1.value):  # Philox's products: 32 x 32 -> 64-bit multiplies (printed signed)
        assert re.search(rf"mul\.wide\.u32\s+%rd\d+, %r\d+, ({m}|{m - 2**32});", ptx), (kernel.__name__, hex(m))
    if kernel is K._fill_contig and extra["SKIP"] == 0:
        assert "st.global.v" in ptx, ("stores not vectorized", kind, dt)
print("ok")
"""


def test_compiled_kernels_use_only_exact_operations(tmp_path):
    """The kernels compiled for an H100 (sm_90; Triton compiles without a
    GPU): no fused or approximate floating-point instruction, no
    flush-to-zero, no hardware transcendental; the products are the
    rounded mul.rn, Philox's products widening multiplies; an aligned run's
    stores are vector stores."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path)
    r = subprocess.run([sys.executable, "-c", _PTX_CHECK], cwd=tmp_path, env=env, capture_output=True, text=True)
    if r.returncode and "ptxas" in r.stderr and "not found" in r.stderr:
        pytest.skip("Triton's ptxas is not available here")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "ok"


def test_device_buffer_rejects_other_dtypes():
    with pytest.raises(TypeError, match="unsupported dtype"):
        DeviceBuffer(torch.empty(3, dtype=torch.int64))


TORCH_FUNCS = {
    "uniform_": lambda t, g: fastinit.torch.uniform_(t, -0.5, 0.25, generator=g),
    "normal_": lambda t, g: fastinit.torch.normal_(t, 0.1, 0.02, generator=g),
    "trunc_normal_": lambda t, g: fastinit.torch.trunc_normal_(t, std=0.02, a=-0.04, b=0.04, generator=g),
    "xavier_uniform_": lambda t, g: fastinit.torch.xavier_uniform_(t, generator=g),
    "xavier_normal_": lambda t, g: fastinit.torch.xavier_normal_(t, generator=g),
    "kaiming_uniform_": lambda t, g: fastinit.torch.kaiming_uniform_(t, a=math.sqrt(5), generator=g),
    "kaiming_normal_": lambda t, g: fastinit.torch.kaiming_normal_(t, generator=g),
    "constant_": lambda t, g: fastinit.torch.constant_(t, 0.3),
    "zeros_": lambda t, g: fastinit.torch.zeros_(t),
    "ones_": lambda t, g: fastinit.torch.ones_(t),
    "eye_": lambda t, g: fastinit.torch.eye_(t),
    "orthogonal_": lambda t, g: fastinit.torch.orthogonal_(t, generator=g),
    "sparse_": lambda t, g: fastinit.torch.sparse_(t, 0.3, generator=g),
}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("name", list(TORCH_FUNCS))
def test_torch_dispatch_through_device_buffers(name, dtype, monkeypatch):
    """fastinit.torch's path for device tensors (DeviceBuffer, host-computed
    orthogonal_/sparse_, init_shard_), exercised on CPU tensors: the values
    equal the plain CPU call's."""
    import fastinit.torch as fit

    tdt = DTYPES[dtype]
    c = torch.empty(16, 12, dtype=tdt)
    TORCH_FUNCS[name](c, 17)
    plain = fit._as_numpy
    monkeypatch.setattr(fit, "_as_numpy", lambda t: DeviceBuffer(t.detach()) if plain(t) is not None else None)
    g = torch.empty(16, 12, dtype=tdt, device=DEV)[:, :]
    assert TORCH_FUNCS[name](g, 17) is g
    np.testing.assert_array_equal(bits(g), bits(c))


@pytest.mark.parametrize("init", ["he_normal", "orthogonal", "sparse", "truncated_normal"])
def test_init_shard_through_device_buffers(init, monkeypatch):
    import fastinit.torch as fit

    kw = {"sparsity": 0.25} if init == "sparse" else {}
    full = torch.empty(12, 10)
    fit.init_shard_(full, init, (12, 10), (), **kw)
    plain = fit._as_numpy
    monkeypatch.setattr(fit, "_as_numpy", lambda t: DeviceBuffer(t.detach()) if plain(t) is not None else None)
    part = torch.empty(12, 4, device=DEV)
    fit.init_shard_(part, init, (12, 10), (slice(None), slice(3, 7)), **kw)
    np.testing.assert_array_equal(bits(part), bits(full[:, 3:7]))


# ------------------------------------------------------------ CUDA only


@cuda_only
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("dist", ["uniform", "normal", "trunc", "trunc_narrow", "he_normal", "constant"])
def test_large_fill_equals_cpu(dist, dtype):
    """2^28 elements of every distribution and dtype, CPU against GPU."""
    fn, kw = DISTS[dist]
    kw = dict(kw)
    if fn is not fastinit.constant:
        kw["rng"] = 2026
    tdt = DTYPES[dtype]
    n = 1 << 28
    t = torch.empty(n // 4096, 4096, dtype=tdt, device="cuda")
    fn(out=DeviceBuffer(t), **kw)
    a = np.empty(t.shape, dtype=np_dtype(tdt))
    fn(out=a, **kw)
    g = bits(t)
    c = bits(a)
    bad = np.count_nonzero(g != c)
    assert bad == 0, f"{bad} of {n} elements differ"




@cuda_only
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("name", list(TORCH_FUNCS))
@pytest.mark.parametrize("strided", [False, True])
def test_torch_functions_on_cuda(name, dtype, strided):
    """fastinit.torch's functions fill CUDA tensors in place with the CPU
    call's values (same generator seed)."""
    import fastinit.torch  # noqa: F401

    tdt = DTYPES[dtype]
    base_g = torch.empty(64, 48, dtype=tdt, device="cuda")
    base_c = torch.empty(64, 48, dtype=tdt)
    g = base_g[:, ::2] if strided else base_g
    c = base_c[:, ::2] if strided else base_c
    ptr = g.data_ptr()
    assert TORCH_FUNCS[name](g, 17) is g
    TORCH_FUNCS[name](c, 17)
    assert g.data_ptr() == ptr and g.device.type == "cuda"
    np.testing.assert_array_equal(bits(g), bits(c))


@cuda_only
@pytest.mark.parametrize("ways", [2, 4, 8])
@pytest.mark.parametrize("dim", [0, 1, 2])
@pytest.mark.parametrize("init", ["he_normal", "truncated_normal", "xavier_uniform"])
def test_init_shard_on_cuda_assembles_to_cpu_init(init, dim, ways):
    import fastinit.torch as fit

    gshape = (24, 40, 6)
    full = torch.empty(gshape, dtype=torch.float32)
    fit.init_shard_(full, init, gshape, (), rng=9)
    parts = []
    for rank in range(ways):
        index = fit.shard_index(gshape, rank, ways, dim)
        local = torch.empty(torch.empty(gshape, device="meta")[index].shape, dtype=torch.float32, device="cuda")
        fit.init_shard_(local, init, gshape, index, rng=9)
        parts.append(local.cpu())
    np.testing.assert_array_equal(bits(torch.cat(parts, dim)), bits(full))


@cuda_only
@pytest.mark.parametrize("placement", ["shard0", "shard1", "replicate", "2d"])
def test_init_dtensor_on_one_process_cuda_mesh(placement, tmp_path):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor

    import fastinit.torch as fit

    if not dist.is_initialized():
        dist.init_process_group("nccl", init_method=f"file://{tmp_path}/pg", rank=0, world_size=1)
    if placement == "2d":
        mesh, places = init_device_mesh("cuda", (1, 1)), [Shard(1), Shard(0)]
    else:
        mesh = init_device_mesh("cuda", (1,))
        places = [{"shard0": Shard(0), "shard1": Shard(1), "replicate": Replicate()}[placement]]
    dt = distribute_tensor(torch.empty(30, 50, device="cuda"), mesh, places)
    fit.init_dtensor_(dt, "he_normal", rng=4)
    full = torch.empty(30, 50)
    fit.init_shard_(full, "he_normal", (30, 50), (), rng=4)
    np.testing.assert_array_equal(bits(dt.full_tensor()), bits(full))


NINE_PLUS = {"every_dim_stepped": lambda x: x[(slice(None, None, 2),) * 10],           # 10 dims of stride 2 * 3^k
             "ten_dims_reversed": lambda x: x[(slice(0, 2),) * 10].permute(*range(9, -1, -1))
             if isinstance(x, torch.Tensor) else x[(slice(0, 2),) * 10].transpose(*range(9, -1, -1))}


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
@pytest.mark.parametrize("view", list(NINE_PLUS))
def test_layout_of_more_than_eight_dimensions_equals_cpu(view, dtype):
    """A strided layout of 10 dimensions that do not merge (more than the
    kernels index) is filled as the CPU fills it, bit for bit, and nothing
    around it is written."""
    layout = _kernels._merge(*(lambda v: (list(v.shape), list(v.stride()), [1] * 10))(
        NINE_PLUS[view](torch.empty((3,) * 10))))
    assert len(layout) == 10
    fn, kw = DISTS["normal"]
    assert_same(fn, (3,) * 10, DTYPES[dtype], view=NINE_PLUS[view], rng=11, **kw)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_shard_of_ten_dimensions_equals_part_of_whole(dtype):
    """A part of a 10-d global shape that is cut in every dimension: its
    global indices do not merge, so the device splits the launch."""
    fn, kw = DISTS["trunc"]
    assert_shard_is_part(fn, kw, dtype, (3,) * 10, (slice(1, 3),) * 10)


def test_more_than_eight_dimensions_split_at_the_smallest(monkeypatch):
    """The launches of a 9-d layout loop over its smallest dimension (2
    launches here, not one per index of the 5-long first one), and the
    values are the CPU's."""
    calls = []
    real = _kernels._launch
    monkeypatch.setattr(_kernels, "_launch", lambda *a: calls.append(a[2]) or real(*a))
    view = lambda x: x[(slice(None, None, 2),) + (slice(0, 2),) * 8]  # noqa: E731
    assert_same(fastinit.uniform, (9,) + (3,) * 8, torch.float32, view=view, rng=4)
    assert len(calls) == 2 and sum(calls) == 5 * 2 ** 8
