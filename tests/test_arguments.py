"""How every entry point reads its arguments: the one table of dtype
spellings, the shape as the only positional argument of an initializer,
messages that describe (never print) arrays and tensors given in the wrong
place, the rng= argument's errors, and outputs whose elements overlap."""

import inspect
import re
import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import fastinit
from fastinit import _validate as V
from fastinit._initializers.methods import DETERMINISTIC_INITIALIZERS

SENTINEL = 1234.5
ml_dtypes = pytest.importorskip("ml_dtypes")
BF16 = np.dtype(ml_dtypes.bfloat16)


# ------------------------------------------------------------------ dtypes

SPELLINGS = {
    "float16": ["float16", "f2", "e", "half", "fp16", "FP16", np.float16, np.dtype(np.float16)],
    "float32": ["float32", "f4", "<f4", "=f4", "single", "fp32", "f32", "F32", np.float32, np.dtype("f4")],
    "float64": ["float64", "f8", "d", "double", "float", "fp64", "f64", np.float64, float, np.dtype("f8")],
    "bfloat16": ["bfloat16", "bf16", "BF16", "BFloat16", ml_dtypes.bfloat16, BF16],
}
CASES = [(name, s) for name, spellings in SPELLINGS.items() for s in spellings]


@pytest.mark.parametrize("name,spelling", CASES, ids=[f"{n}-{s!r}" for n, s in CASES])
def test_every_spelling_names_its_dtype(name, spelling):
    want = BF16 if name == "bfloat16" else np.dtype(name)
    assert V.as_dtype(spelling) == want
    x = fastinit.he_normal((8, 4), dtype=spelling, rng=0)
    assert x.dtype == want
    ref = fastinit.he_normal((8, 4), dtype=want, rng=0)
    np.testing.assert_array_equal(x.view(np.uint8), ref.view(np.uint8))


def test_float_keeps_numpys_meaning():
    assert np.dtype("float") == np.float64
    assert V.as_dtype("float") == np.float64 and V.as_dtype(float) == np.float64


TORCH = [("float32", "float32"), ("float", "float32"), ("float64", "float64"), ("double", "float64"),
         ("float16", "float16"), ("half", "float16"), ("bfloat16", "bfloat16")]


@pytest.mark.parametrize("attr,name", TORCH)
def test_torch_dtypes(attr, name):
    torch = pytest.importorskip("torch")
    want = BF16 if name == "bfloat16" else np.dtype(name)
    assert V.as_dtype(getattr(torch, attr)) == want
    assert fastinit.default_rng(0).he_normal((4, 4), dtype=getattr(torch, attr)).dtype == want
    assert fastinit.default_rng(0).standard_normal(3, dtype=getattr(torch, attr)).dtype == want


def test_torch_dtypes_are_recognised_without_importing_torch():
    class dtype:  # what torch's dtype objects look like to fastinit: type name and module, and str()
        def __str__(self):
            return "torch.bfloat16"

    dtype.__module__ = "torch"
    assert V.as_dtype(dtype()) == BF16


def test_an_unsupported_torch_dtype_is_named():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"he_normal: dtype: unsupported dtype torch\.int32; accepted: float32 "):
        fastinit.he_normal((2, 2), dtype=torch.int32, rng=0)


@pytest.mark.parametrize("bad", ["(f4,3)", "(f4,-1)", "f4,f4", "f4,", "(2,)f4", "i4", "int32", "O", "U3", "?",
                                 "float128", "complex", ">f4", "b2", "", "nonsense", np.int32, int, bool,
                                 [("a", "f4")], {"names": ["a"], "formats": ["f4"]}, 3.5, object()],
                         ids=repr)
def test_bad_dtypes_are_clean_type_errors_listing_the_spellings(bad):
    buf = np.full(4, SENTINEL, dtype=np.float32)
    for call in (lambda: fastinit.he_normal((2, 2), dtype=bad, rng=0),
                 lambda: fastinit.default_rng(0).random(3, dtype=bad),
                 lambda: fastinit.zeros(3, dtype=bad),
                 lambda: fastinit.normal(out=buf, dtype=bad, rng=0)):
        with pytest.raises(TypeError, match=r"dtype.*accepted: float32 \('float32', 'f4'.*bfloat16 \('bfloat16'"):
            call()
    assert (buf == SENTINEL).all()


def test_f16_is_numpys_16_byte_float_and_refused_with_a_hint():
    assert np.dtype("f16").itemsize == 16
    with pytest.raises(TypeError, match=r"'f16' is NumPy's 16-byte float.*'fp16', 'f2' or 'half'"):
        fastinit.he_normal((2, 2), dtype="f16", rng=0)


def test_init_model_reads_dtypes_through_the_table(tmp_path):
    out = fastinit.init_model({"w": [4, 4], "b": {"shape": [4], "dtype": "fp16"}}, rng=0)
    assert out["w"].dtype == np.float32 and out["b"].dtype == np.float16
    out = fastinit.init_model({"w": [4, 4]}, dtype="bf16", rng=0)
    assert out["w"].dtype == BF16
    with pytest.raises(TypeError, match="unsupported dtype"):
        fastinit.init_model({"w": [4, 4]}, dtype="i4", rng=0)


# ------------------------------------------------- the shape is one argument

KEYWORD_ONLY = ["truncated_normal", "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
                "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_uniform", "lecun_normal",
                "variance_scaling", "orthogonal", "sparse", "uniform", "normal", "zeros", "ones", "constant", "eye",
                "identity", "dirac"]


@pytest.mark.parametrize("name", KEYWORD_ONLY)
def test_module_functions_take_only_the_shape_positionally(name):
    fn = getattr(fastinit, name)
    params = list(inspect.signature(fn).parameters.values())
    assert params[0].name == "shape" and all(p.kind is p.KEYWORD_ONLY for p in params[1:])
    with pytest.raises(TypeError, match=re.escape(f"shape is one argument: fastinit.{name}((4096, 1024))")):
        fn(4096, 1024)
    with pytest.raises(TypeError, match=re.escape(f"fastinit.{name}() takes one positional argument, the shape, "
                                                  "but 3 were given")):
        fn((8, 8), 1, 2)


@pytest.mark.parametrize("name", [n for n in KEYWORD_ONLY if n not in ("uniform", "normal")])
def test_generator_initializers_take_only_the_shape_positionally(name):
    g = fastinit.default_rng(0)
    params = list(inspect.signature(getattr(g, name)).parameters.values())
    assert params[0].name == "shape" and all(p.kind is p.KEYWORD_ONLY for p in params[1:])
    label = f"fastinit.{name}" if name in DETERMINISTIC_INITIALIZERS else f"rng.{name}"
    with pytest.raises(TypeError, match=re.escape(f"shape is one argument: {label}((4096, 1024))")):
        getattr(g, name)(4096, 1024)
    assert g.position == 0


def test_the_torch_empty_habit_names_the_fix_and_writes_nothing():
    with pytest.raises(TypeError, match=r"^fastinit\.he_normal\(\) takes one positional argument, the shape, but 2 "
                                        r"were given; shape is one argument: fastinit\.he_normal\(\(4096, 1024\)\)$"):
        fastinit.he_normal(4096, 1024, rng=0)


def test_positional_parameters_are_shown_by_keyword():
    with pytest.raises(TypeError, match=re.escape("keyword-only, e.g. fastinit.he_normal(shape, a=0.1, "
                                                  "mode='fan_out')")):
        fastinit.he_normal((4, 4), 0.1, "fan_out", rng=0)
    with pytest.raises(TypeError, match=re.escape("e.g. rng.truncated_normal(shape, mean=0.0, std=0.02)")):
        fastinit.default_rng(0).truncated_normal((4, 4), 0.0, 0.02)


def test_keywords_work_and_numpy_methods_stay_positional():
    g = fastinit.default_rng(1)
    x = fastinit.he_normal((40, 10), a=0.1, mode="fan_out", rng=1)
    np.testing.assert_array_equal(x, g.he_normal((40, 10), a=0.1, mode="fan_out"))
    assert fastinit.constant((2, 2), value=0.5).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    h = fastinit.default_rng(2)
    np.testing.assert_array_equal(h.uniform(-1, 1, 5, np.float32, stream=3),
                                  h.uniform(low=-1, high=1, size=5, dtype=np.float32, stream=3))
    np.testing.assert_array_equal(h.normal(0, 2, (2, 3), stream=4), h.normal(loc=0, scale=2, size=(2, 3), stream=4))
    assert h.random(3, np.float32).dtype == np.float32
    assert h.standard_normal(3, np.float32).dtype == np.float32


def test_aliases_name_themselves():
    with pytest.raises(TypeError, match=r"rng\.kaiming_uniform\(\(3, 3\)\)"):
        fastinit.default_rng(0).kaiming_uniform(3, 3)
    with pytest.raises(TypeError, match=r"^Generator\.kaiming_normal\(\) got an unexpected keyword argument"):
        fastinit.default_rng(0).kaiming_normal((3, 3), bogus=1)
    with pytest.raises(TypeError, match=r"^Generator\.he_normal\(\) got an unexpected keyword argument"):
        fastinit.default_rng(0).he_normal((3, 3), bogus=1)


# ----------------------------------------- arrays and tensors in messages

def _no_contents(exc_info, marker="777"):
    text = str(exc_info.value)
    assert marker not in text, text
    return text


def test_an_array_as_the_shape_is_described_not_printed():
    a = np.full((400, 100), 777.25)
    with pytest.raises(TypeError, match=r"shape must be an int or a tuple of ints, got a numpy\.ndarray of shape "
                                        r"\(400, 100\) and dtype float64; to fill an existing array, pass it as out=")\
            as e:
        fastinit.he_normal(a, rng=0)
    _no_contents(e)
    with pytest.raises(TypeError, match=r"item 1 is a numpy\.ndarray of shape \(3,\)") as e:
        fastinit.zeros((4, np.full(3, 777)))
    _no_contents(e)


def test_a_tensor_as_the_shape_or_out_points_to_fastinit_torch():
    torch = pytest.importorskip("torch")
    t = torch.full((64, 32), 777.25)
    with pytest.raises(TypeError, match=r"got a torch\.Tensor of shape \(64, 32\) and dtype torch\.float32; fill a "
                                        r"torch tensor with fastinit\.torch \(e\.g\. fastinit\.torch\.kaiming_normal_"
                                        r"\(tensor\)\) or pass out=tensor\.numpy\(\)") as e:
        fastinit.he_normal(t, rng=0)
    _no_contents(e)
    with pytest.raises(ValueError, match=r"out must be a numpy\.ndarray, got a torch\.Tensor of shape \(64, 32\).*"
                                         r"fastinit\.torch\.kaiming_normal_.*out=tensor\.numpy\(\)") as e:
        fastinit.he_normal(out=t, rng=0)
    _no_contents(e)
    assert (t == 777.25).all()


def test_arrays_as_scalar_parameters_are_described():
    torch = pytest.importorskip("torch")
    buf = np.full(4, SENTINEL, dtype=np.float32)
    for value in (torch.full((3,), 777.0), np.full((2, 2), 777.0)):
        with pytest.raises(TypeError, match=r"^std must be a scalar, got a (torch\.Tensor|numpy\.ndarray) of shape") \
                as e:
            fastinit.normal(out=buf, std=value, rng=0)
        _no_contents(e)
    with pytest.raises(ValueError, match=r"layout must be one of .*got a numpy\.ndarray of shape \(5,\)") as e:
        fastinit.he_normal(out=buf.reshape(2, 2), layout=np.full(5, 777), rng=0)
    _no_contents(e)
    with pytest.raises(ValueError, match=r"Mode a numpy\.ndarray of shape \(5,\).* not supported") as e:
        fastinit.he_normal(out=buf.reshape(2, 2), mode=np.full(5, 777), rng=0)
    _no_contents(e)
    assert (buf == SENTINEL).all()


def test_a_long_string_is_cut():
    with pytest.raises(TypeError) as e:
        fastinit.zeros(3, dtype="x" * 10_000)
    assert len(str(e.value)) < 1000


# -------------------------------------------------------------------- rng=

@pytest.mark.parametrize("bad,exc", [(np.random.default_rng(0), TypeError), (np.random.PCG64(0), TypeError),
                                     (1.5, TypeError), (-1, ValueError), ("abc", TypeError),
                                     (np.full((50, 50), 777.5), TypeError)])
def test_rng_errors_say_rng_and_what_it_accepts(bad, exc):
    buf = np.full((4, 4), SENTINEL, dtype=np.float32)
    for call in (lambda: fastinit.he_normal(out=buf, rng=bad), lambda: fastinit.normal(out=buf, rng=bad),
                 lambda: fastinit.uniform(out=buf, rng=bad)):
        with pytest.raises(exc, match=r"^rng must be None, an int seed \(or a sequence of ints\), a "
                                      r"numpy\.random\.SeedSequence or a fastinit\.Generator") as e:
            call()
        _no_contents(e)
    assert (buf == SENTINEL).all()


def test_default_rng_still_names_its_seed():
    with pytest.raises(TypeError, match=r"^default_rng: seed must be None, an int seed"):
        fastinit.default_rng(np.random.default_rng(0))


# -------------------------------------------------------- overlapping out

def _writeable(a):
    with warnings.catch_warnings():  # some NumPy versions warn that this will stop working
        warnings.simplefilter("ignore")
        a.flags.writeable = True
    return a


def _overlapping_outs():
    base = np.full(64, SENTINEL, dtype=np.float32)
    return {
        "broadcast_to": _writeable(np.broadcast_to(np.full(3, SENTINEL, dtype=np.float32), (4, 3))),
        "zero stride": as_strided(base, (4, 3), (0, 4)),
        "rows overlap": as_strided(base, (4, 3), (8, 4)),
        "partial bytes": as_strided(base, (5,), (2,)),
        "zero stride inner": as_strided(base, (3, 4), (16, 0)),
    }


@pytest.mark.parametrize("case", ["broadcast_to", "zero stride", "rows overlap", "partial bytes",
                                  "zero stride inner"])
def test_overlapping_out_is_refused_before_writing(case):
    out = _overlapping_outs()[case]
    assert out.flags.writeable
    before = out.copy()
    for call in (lambda: fastinit.he_normal(out=out, rng=0), lambda: fastinit.zeros(out=out),
                 lambda: fastinit.default_rng(0).random(out=out), lambda: fastinit.default_rng(0).normal(0, 1, out=out)):
        with pytest.raises(ValueError, match=r"out has overlapping elements"):
            call()
    np.testing.assert_array_equal(out, before)


def test_views_that_do_not_overlap_are_filled():
    a = np.zeros((6, 8, 5), dtype=np.float32)
    base = np.zeros(64, dtype=np.float32)
    views = [a, a.T, a[::2, 1::3, ::-1], a.transpose(1, 0, 2)[:, ::-1], a[:, 3], a[:, :, :1],
             as_strided(base, (1, 5), (0, 4)), as_strided(base, (0, 5), (0, 0)),
             as_strided(base, (2, 3), (12, 8))]  # interleaved rows: no shared byte, decided exactly
    for v in views:
        want = fastinit.he_normal(v.shape, rng=4, stream=1)
        fastinit.he_normal(out=v, rng=4, stream=1)
        np.testing.assert_array_equal(v, want)


def test_overlap_rule():
    assert V.overlapping((4, 5), (20, 4), 4) is False
    assert V.overlapping((4, 5), (4, 16), 4) is False
    assert V.overlapping((4, 5), (0, 4), 4) is True
    assert V.overlapping((2, 3), (12, 8), 4) is False
    assert V.overlapping((2, 3), (8, 8), 4) is True
    assert V.overlapping((3, 1), (4, 0), 4) is False
    assert V.overlapping((2000, 2000), (8, 4), 4) is None  # beyond the exact check: refused
    out = as_strided(np.zeros(8100, dtype=np.float32), (2000, 2000), (8, 4))
    assert out.flags.writeable
    with pytest.raises(ValueError, match="out has elements that may overlap"):
        fastinit.zeros(out=out)


def test_overlapping_device_buffer_is_refused():
    torch = pytest.importorskip("torch")
    from fastinit._backends.cuda import DeviceBuffer

    with pytest.raises(ValueError, match="out has overlapping elements"):
        V.check_output(DeviceBuffer(torch.zeros(3).expand(4, 3)), np.dtype(np.float32), None, "he_normal")
    V.check_output(DeviceBuffer(torch.zeros(4, 3).t()), np.dtype(np.float32), None, "he_normal")


def test_a_dtype_with_metadata_does_not_leak_into_later_calls():
    fastinit._validate.as_dtype(np.dtype("f8", metadata={"units": "m"}))
    assert fastinit.normal(3, dtype=np.dtype("f8"), rng=0).dtype.metadata is None
