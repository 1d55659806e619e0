"""fastinit.torch refuses what torch refuses, with torch's exception types,
before any byte of the caller's tensor is written: non-tensors, tensors
whose elements share memory, inference tensors; trunc_normal_'s corners;
shard_index/init_shard_'s arguments; init_module_ checks every tensor
before it writes any."""

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import fastinit  # noqa: E402
import fastinit.torch as fit  # noqa: E402
from fastinit.torch import _fill  # noqa: E402

# every drop-in that fills a tensor, with the arguments it needs
CALLS = {
    "uniform_": (), "normal_": (), "trunc_normal_": (), "constant_": (0.5,), "ones_": (), "zeros_": (),
    "eye_": (), "dirac_": (), "xavier_uniform_": (), "xavier_normal_": (), "kaiming_uniform_": (),
    "kaiming_normal_": (), "orthogonal_": (), "sparse_": (0.5,),
}
SHAPE = {"dirac_": (4, 4, 3)}
# the ones whose every element gets one value: torch fills them on shared memory too
SAME_VALUE = ("constant_", "ones_", "zeros_", "eye_", "dirac_")


def _torch_error(name, t, args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(torch.nn.init, name)(t, *args)
        except Exception as e:  # noqa: BLE001
            return e
    return None


# ------------------------------------------------------------ not a tensor


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("thing", [np.zeros((4, 4), np.float32), [[0.0] * 4] * 4], ids=["ndarray", "list"])
def test_not_a_tensor_raises_torchs_type_naming_the_numpy_function(name, thing):
    shape = SHAPE.get(name, (4, 4))
    if isinstance(thing, np.ndarray):
        thing = np.zeros(shape, np.float32)
    torch_err = _torch_error(name, thing, CALLS[name])
    assert type(torch_err) is AttributeError
    before = np.array(thing, copy=True)
    with pytest.raises(AttributeError) as err:
        getattr(fit, name)(thing, *CALLS[name])
    assert isinstance(err.value, TypeError) and isinstance(err.value, fit.NotATensorError)
    text = str(err.value)
    assert "torch.Tensor" in text and f"fastinit.{_NUMPY[name]}(out=array)" in text and name in text
    np.testing.assert_array_equal(np.asarray(thing), before)


_NUMPY = {"uniform_": "uniform", "normal_": "normal", "trunc_normal_": "truncated_normal", "constant_": "constant",
          "ones_": "ones", "zeros_": "zeros", "eye_": "eye", "dirac_": "dirac", "xavier_uniform_": "xavier_uniform",
          "xavier_normal_": "xavier_normal", "kaiming_uniform_": "he_uniform", "kaiming_normal_": "he_normal",
          "orthogonal_": "orthogonal", "sparse_": "sparse"}


def test_not_a_tensor_through_a_deprecated_spelling_and_init_shard_():
    with pytest.warns(FutureWarning), pytest.raises(AttributeError, match="he_normal"):
        fit.kaiming_normal(np.zeros((3, 3)))
    with pytest.raises(TypeError, match=r"torch\.Tensor.*fastinit\.he_normal\(out=array\)"):
        fit.init_shard_(np.zeros((3, 3), np.float32), "he_normal", (6, 3), (slice(0, 3),))


# --------------------------------------------------- elements sharing memory


def _overlapping():
    return {"expand": torch.full((1, 1), 7.0).expand(64, 64),
            "zero stride": torch.full((64,), 7.0).as_strided((64, 64), (0, 1)),
            "steps overlap": torch.full((128,), 7.0).as_strided((64, 64), (1, 1))}


@pytest.mark.parametrize("layout", ["expand", "zero stride", "steps overlap"])
@pytest.mark.parametrize("name", list(CALLS))
def test_tensors_sharing_memory_are_refused_where_torch_refuses(name, layout):
    shape = SHAPE.get(name)
    t = _overlapping()[layout] if shape is None else torch.full((1, 1, 1), 7.0).expand(*shape)
    if layout != "expand" and shape is not None:
        pytest.skip("one layout is enough for the 3-d one")
    base = t._base if t._base is not None else t
    before = base.clone()
    torch_err = _torch_error(name, _overlapping()[layout] if shape is None else torch.full((1, 1, 1), 7.0).expand(*shape),
                             CALLS[name])
    if name in SAME_VALUE:  # torch fills these: they go to torch's own function, its values
        assert torch_err is None
        want = (_overlapping()[layout] if shape is None else torch.full((1, 1, 1), 7.0).expand(*shape))
        getattr(torch.nn.init, name)(want, *CALLS[name])
        getattr(fit, name)(t, *CALLS[name])
        assert torch.equal(t, want)
        return
    if layout != "steps overlap":  # torch sees these; the interleaved one it does not check, fastinit does
        assert type(torch_err) is RuntimeError and str(torch_err) == _fill.OVERLAP_TEXT
    with pytest.raises(RuntimeError) as err:
        getattr(fit, name)(t, *CALLS[name])
    assert type(err.value) is RuntimeError and str(err.value) == _fill.OVERLAP_TEXT
    assert torch.equal(base, before)


@pytest.mark.parametrize("init", ["normal", "zeros"])
def test_init_shard_and_init_module_refuse_shared_memory_before_writing(init):
    """fastinit's own functions refuse every fill of shared memory, as its
    NumPy functions refuse such outputs."""
    t = torch.full((1, 1), 7.0).expand(4, 4)
    with pytest.raises(RuntimeError, match="single memory location"):
        fit.init_shard_(t, init, (8, 4), (slice(0, 4),))
    assert torch.equal(t, torch.full((4, 4), 7.0))
    m = torch.nn.Linear(4, 4)
    m.weight = torch.nn.Parameter(torch.full((1, 1), 7.0).expand(4, 4))
    bias = m.bias.detach().clone()
    with pytest.raises(RuntimeError, match="single memory location"):
        fit.init_module_(m, {"*": init}, rng=0)
    assert torch.equal(m.weight, torch.full((4, 4), 7.0)) and torch.equal(m.bias, bias)


@pytest.mark.parametrize("shape,strides,want", [
    ((4, 4), (4, 1), False), ((4, 4), (1, 4), False), ((4, 4), (0, 1), True), ((1, 4), (0, 1), False),
    ((4, 4), (1, 1), True), ((3, 2), (2, 3), False), ((3, 3), (2, 3), False), ((3, 3), (1, 2), True), ((0, 4), (0, 0), False),
    ((2, 3, 4), (12, -4, 1), False), ((5,), (-1,), False)])
def test_overlap_detection_is_exact(shape, strides, want):
    assert _fill.has_internal_overlap(shape, strides) is want
    offsets = {sum(i * s for i, s in zip(idx, strides)) for idx in np.ndindex(*shape)}
    assert (len(offsets) != math.prod(shape)) is want


def test_non_overlapping_views_are_still_filled():
    base = torch.zeros(8, 8)
    fit.normal_(base.t())
    fit.normal_(base[::2, 1::3])
    assert torch.count_nonzero(base) > 0


# ------------------------------------------------------- inference tensors


@pytest.mark.parametrize("name", list(CALLS))
def test_inference_tensor_outside_inference_mode_is_refused_as_torch(name):
    shape = SHAPE.get(name, (4, 4))
    with torch.inference_mode():
        t = torch.full(shape, 7.0)
        other = torch.full(shape, 7.0)
    torch_err = _torch_error(name, other, CALLS[name])
    assert type(torch_err) is RuntimeError and "inference tensor outside InferenceMode" in str(torch_err)
    with pytest.raises(RuntimeError, match="Inplace update to inference tensor outside InferenceMode") as err:
        getattr(fit, name)(t, *CALLS[name])
    assert type(err.value) is RuntimeError
    assert torch.equal(t, torch.full(shape, 7.0))


def test_inference_tensor_inside_inference_mode_is_filled_and_normal_tensors_bump_there():
    with torch.inference_mode():
        t = torch.zeros(4, 4)
        fit.normal_(t, generator=3)
        assert torch.count_nonzero(t) > 0
    w = torch.zeros(4, 4)
    v = w._version
    with torch.inference_mode():
        fit.normal_(w, generator=3)  # torch's in-place ops bump a normal tensor's counter here too
    assert w._version == v + 1 and torch.equal(w, t)


def test_inference_tensor_refused_by_init_shard_and_init_module_():
    with torch.inference_mode():
        t = torch.zeros(4, 4)
    with pytest.raises(RuntimeError, match="inference tensor"):
        fit.init_shard_(t, "he_normal", (8, 4), (slice(0, 4),))
    with torch.inference_mode():
        m = torch.nn.Linear(4, 4)
    w = m.weight.detach().clone()
    with pytest.raises(RuntimeError, match="inference tensor"):
        fit.init_module_(m, {"*": "zeros"}, rng=0)
    assert torch.equal(m.weight, w)


# ------------------------------------------------------------ trunc_normal_


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("kw", [dict(a=1.0, b=1.0), dict(a=1, b=1, mean=5.0), dict(a=0.1, b=0.1),
                                dict(a=-3.0, b=-3.0, std=0.5), dict(a=1e6, b=1e6), dict(a=65520.0, b=65520.0)],
                         ids=["a=b=1", "mean outside", "a=b=0.1", "negative", "1e6", "65520"])
def test_trunc_normal_with_a_equal_to_b_does_what_torch_does(kw, dtype):
    t_torch, t_fit = torch.full((16,), 7.0, dtype=dtype), torch.full((16,), 7.0, dtype=dtype)
    err = _torch_error("trunc_normal_", t_torch, ())  # noqa: F841  (the defaults fill)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.nn.init.trunc_normal_(t_torch, **kw)
            torch_err = None
        except Exception as e:  # noqa: BLE001
            torch_err = e
    if torch_err is None:
        fit.trunc_normal_(t_fit, **kw)
        assert torch.equal(t_fit, t_torch)
    else:
        with pytest.raises(type(torch_err)):
            fit.trunc_normal_(t_fit, **kw)
        assert torch.equal(t_fit, torch.full((16,), 7.0, dtype=dtype))


def test_trunc_normal_a_equal_b_with_std_zero_and_its_remaining_checks():
    # torch divides by zero here; fastinit's std = 0 rule (the clipped mean) gives a
    assert torch.equal(fit.trunc_normal_(torch.empty(4), 1.0, 0.0, 1.0, 1.0), torch.ones(4))
    for bad in (dict(std=-1.0), dict(std=float("inf")), dict(mean=float("nan"))):
        with pytest.raises(fit.InitValueError, match="std|mean"):
            fit.trunc_normal_(torch.empty(4), a=1.0, b=1.0, **bad)
    with pytest.raises(ValueError, match="a < b"):  # the NumPy-style function keeps a < b
        fastinit.truncated_normal((4,), a=1.0, b=1.0, rng=0)


def test_trunc_normal_a_greater_than_b_and_mean_outside_match_torch():
    with pytest.raises(RuntimeError):
        torch.nn.init.trunc_normal_(torch.empty(8), a=2.0, b=1.0)
    with pytest.raises(RuntimeError):
        fit.trunc_normal_(torch.empty(8), a=2.0, b=1.0)
    t = fit.trunc_normal_(torch.empty(1000), mean=5.0, a=-2.0, b=2.0, generator=1)  # torch fills too
    assert bool(((t >= -2) & (t <= 2)).all()) and float(t.mean()) > 1.0


# -------------------------------------------------------------- shard_index


@pytest.mark.parametrize("dim", [5, 2, -3, -10])
def test_shard_index_dim_out_of_range_raises_what_torch_chunk_raises(dim):
    with pytest.raises(IndexError) as torch_err:
        torch.chunk(torch.empty(10, 6), 2, dim=dim)
    with pytest.raises(IndexError) as err:
        fit.shard_index((10, 6), 0, 2, dim=dim)
    assert str(err.value) == str(torch_err.value)


def test_shard_index_negative_dims_in_range_match_torch_chunk():
    full = torch.arange(60.0).reshape(10, 6)
    for dim in (-1, -2):
        for r, want in enumerate(torch.chunk(full, 4, dim=dim)):
            assert torch.equal(full[fit.shard_index((10, 6), r, 4, dim=dim)], want)


@pytest.mark.parametrize("args", [(0, 2.0), (True, 2), (0, 2, 0.0), (1.0, 2), (0, True)],
                         ids=["float world_size", "bool rank", "float dim", "float rank", "bool world_size"])
def test_shard_index_refuses_non_int_arguments(args):
    with pytest.raises(TypeError, match="rank|world_size|dim"):
        fit.shard_index((10, 6), *args)


def test_shard_index_zero_d_and_world_size_below_one():
    with pytest.raises(RuntimeError):
        torch.chunk(torch.empty(()), 1)
    with pytest.raises(RuntimeError) as err:  # torch.chunk's type, and a ValueError
        fit.shard_index((), 0, 1)
    assert isinstance(err.value, ValueError) and "0-d" in str(err.value)
    for ws in (0, -1):
        with pytest.raises(RuntimeError):
            torch.chunk(torch.empty(4), ws)
        with pytest.raises(ValueError, match="world_size") as err:
            fit.shard_index((4,), 0, ws)
        assert isinstance(err.value, RuntimeError)


# -------------------------------------------------------------- init_shard_


def test_init_shard_unknown_initializer_lists_the_known_ones():
    t = torch.full((3, 3), 7.0)
    with pytest.raises(ValueError, match=r"unknown initializer 'he_normall'; known: .*he_normal.*xavier_uniform"):
        fit.init_shard_(t, "he_normall", (6, 3), (slice(0, 3),))
    with pytest.raises(ValueError, match="unknown initializer 'default_rng'"):  # not an initializer of fastinit._initializers.functions
        fit.init_shard_(t, "default_rng", (6, 3), (slice(0, 3),))
    assert torch.equal(t, torch.full((3, 3), 7.0))


def test_init_shard_wrong_local_shape_speaks_of_tensor_and_global_shape():
    t = torch.full((3, 3), 7.0)
    with pytest.raises(ValueError) as err:
        fit.init_shard_(t, "he_normal", (6, 3), (slice(0, 2),))
    assert str(err.value) == "tensor has shape (3, 3) but global_shape[index] is (2, 3)"
    assert "size" not in str(err.value) and "out.shape" not in str(err.value)
    assert torch.equal(t, torch.full((3, 3), 7.0))


def test_init_shard_deterministic_initializers_by_name():
    t = torch.full((3, 3), 7.0)
    fit.init_shard_(t, "ones", (6, 3), (slice(3, 6),))
    assert torch.equal(t, torch.ones(3, 3))
    fit.init_shard_(t, "eye", (6, 3), (slice(0, 3),))
    assert torch.equal(t, torch.eye(3))


# ------------------------------------------------------------- init_module_


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 4)
        self.b = torch.nn.Linear(4, 4)


@pytest.mark.parametrize("rules", [{"*": "he_normal"},                          # fans of a 1-d bias
                                   {"b.weight": "normal(std=-1)", "*": "zeros"},  # a parameter of the last
                                   {"b.bias": "eye", "*": "ones"},                # eye of a 1-d tensor
                                   {"b.weight": "constant(value=1e6)", "*": "ones"}],
                         ids=["fans", "std", "eye", "overflow"])
def test_init_module_checks_every_tensor_before_writing_any(rules):
    m = _Net()
    if "constant(value=1e6)" in rules.get("b.weight", ""):
        m = m.half()
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    with pytest.raises((ValueError, OverflowError)):
        fit.init_module_(m, rules, rng=0)
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_init_module_meta_module_stays_on_meta_when_a_check_fails():
    with torch.device("meta"):
        m = _Net()
    with pytest.raises(ValueError, match="Fan in and fan out"):
        fit.init_module_(m, {"*": "he_normal"}, rng=0, device="cpu")
    assert all(p.is_meta for p in m.parameters())
    with pytest.raises(RuntimeError):
        fit.init_module_(m, {"*": "zeros"}, rng=0, device="no-such-device")
    assert all(p.is_meta for p in m.parameters())
    fit.init_module_(m, {"*.bias": "zeros", "*": "he_normal"}, rng=0, device="cpu")
    want = fastinit.init_model(_Net(), rules={"*.bias": "zeros", "*": "he_normal"}, rng=0)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), want[k])


def test_init_module_in_another_dtype_than_numpy_knows_does_not_fail_half_way():
    m = _Net()
    m.b.weight.data = m.b.weight.data.to(torch.float8_e4m3fn)
    fit.init_module_(m, {"*": "zeros"}, rng=0, dtype="float32")
    assert m.b.weight.dtype is torch.float8_e4m3fn and not m.b.weight.float().any()
