"""fastinit.torch as a drop-in: torch's exception types for the same bad
input, torch's deprecated spellings, the version counter autograd relies
on, and patch()'s reach and restore semantics."""

import math
import threading
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import fastinit  # noqa: E402
import fastinit.torch as fit  # noqa: E402

F32 = lambda: torch.empty(8, 8)  # noqa: E731
F16 = lambda: torch.empty(8, 8, dtype=torch.float16)  # noqa: E731

# (case, tensor factory, call(module, tensor)): bad input torch refuses
BAD = [
    ("uniform a > b", F32, lambda m, t: m.uniform_(t, 2.0, 1.0)),
    ("uniform NaN bound", F32, lambda m, t: m.uniform_(t, float("nan"), 1.0)),
    ("uniform infinite bound", F32, lambda m, t: m.uniform_(t, 0.0, float("inf"))),
    ("normal std < 0", F32, lambda m, t: m.normal_(t, 0.0, -1.0)),
    ("normal NaN std", F32, lambda m, t: m.normal_(t, 0.0, float("nan"))),
    ("trunc_normal a > b", F32, lambda m, t: m.trunc_normal_(t, 0.0, 1.0, 2.0, 1.0)),
    ("trunc_normal NaN bound", F32, lambda m, t: m.trunc_normal_(t, 0.0, 1.0, float("nan"), 1.0)),
    ("constant overflows float16", F16, lambda m, t: m.constant_(t, 1e6)),
    ("kaiming bad mode", F32, lambda m, t: m.kaiming_normal_(t, mode="fan_mid")),
    ("xavier on 1-d", lambda: torch.empty(5), lambda m, t: m.xavier_uniform_(t)),
    ("dirac on 2-d", F32, lambda m, t: m.dirac_(t)),
    ("eye on 3-d", lambda: torch.empty(2, 2, 2), lambda m, t: m.eye_(t)),
    ("orthogonal on 1-d", lambda: torch.empty(5), lambda m, t: m.orthogonal_(t)),
    ("sparse on 3-d", lambda: torch.empty(2, 2, 2), lambda m, t: m.sparse_(t, 0.1)),
]


@pytest.mark.parametrize("case,make,call", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises_what_torch_raises(case, make, call):
    with pytest.raises(Exception) as torch_err:
        call(torch.nn.init, make())
    t = make()
    t.fill_(7)
    before = t.clone()
    with pytest.raises(type(torch_err.value)):
        call(fit, t)
    assert torch.equal(t, before)  # nothing written before the error


def test_mapped_errors_keep_fastinits_types():
    with pytest.raises(ValueError, match="low|high|a|b"):
        fit.uniform_(torch.empty(3), 2.0, 1.0)
    with pytest.raises(OverflowError):
        fit.constant_(torch.empty(3, dtype=torch.float16), 1e6)
    assert issubclass(fit.InitValueError, RuntimeError) and issubclass(fit.InitOverflowError, RuntimeError)


@pytest.mark.parametrize("call", [lambda m, t: m.normal_(t, 0.0, float("inf")),
                                  lambda m, t: m.trunc_normal_(t, 0.0, float("inf")),
                                  lambda m, t: m.normal_(t, float("nan"), 1.0),
                                  lambda m, t: m.sparse_(t, 2.0)],
                         ids=["normal infinite std", "trunc_normal infinite std", "normal NaN mean", "sparsity > 1"])
def test_where_fastinit_is_stricter_than_torch(call):
    """Documented refusals where torch fills inf/NaN or clips silently."""
    call(torch.nn.init, torch.empty(8, 8))
    with pytest.raises(fit.InitValueError):
        call(fit, torch.empty(8, 8))


def test_trunc_normal_std_zero_is_the_mean_where_torch_divides_by_zero():
    with pytest.raises(ZeroDivisionError):
        torch.nn.init.trunc_normal_(torch.empty(8), 0.5, 0.0)
    assert torch.equal(fit.trunc_normal_(torch.empty(8), 0.5, 0.0), torch.full((8,), 0.5))


ALIASES = {"uniform": ((), "uniform_"), "normal": ((), "normal_"), "constant": ((0.5,), "constant_"),
           "eye": ((), "eye_"), "dirac": ((), "dirac_"), "xavier_uniform": ((), "xavier_uniform_"),
           "xavier_normal": ((), "xavier_normal_"), "kaiming_uniform": ((), "kaiming_uniform_"),
           "kaiming_normal": ((), "kaiming_normal_"), "orthogonal": ((), "orthogonal_"),
           "sparse": ((0.3,), "sparse_")}


def _warning_of(fn, t, args):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn(t, *args)
    assert out is t
    assert len(rec) == 1, [str(w.message) for w in rec]
    return rec[0].category, str(rec[0].message), rec[0].filename


@pytest.mark.parametrize("old", ALIASES)
def test_deprecated_aliases_warn_as_torch_and_fill_through_fastinit(old):
    args, new = ALIASES[old]
    shape = (6, 3, 3, 3) if old == "dirac" else (12, 9)
    t_cat, t_msg, _ = _warning_of(getattr(torch.nn.init, old), torch.empty(shape), args)
    a = torch.empty(shape)
    cat, msg, filename = _warning_of(getattr(fit, old), a, (*args, *(() if old in ("eye", "dirac", "constant")
                                                                  else ())))
    assert (cat, msg) == (t_cat, t_msg) and filename == __file__  # stacklevel: the caller's line
    b = torch.empty(shape)
    kwargs = {} if old in ("eye", "dirac", "constant") else {"generator": 5}
    if kwargs:
        getattr(fit, old)(a, *args, generator=5)
    getattr(fit, new)(b, *args, **kwargs)
    assert torch.equal(a, b)
    with fit.patch():
        assert getattr(torch.nn.init, old) is getattr(fit, old)
        c = torch.empty(shape)
        with pytest.warns(FutureWarning, match=f"nn.init.{old}`"):
            getattr(torch.nn.init, old)(c, *args, **kwargs)
        assert torch.equal(c, b)
    assert getattr(torch.nn.init, old) is fit._ORIGINAL[old]


# ---------------------------------------------------------------- autograd


@pytest.mark.parametrize("fill", [lambda t: fit.normal_(t), lambda t: fit.zeros_(t), lambda t: fit.ones_(t),
                                  lambda t: fit.kaiming_uniform_(t, a=math.sqrt(5)),
                                  lambda t: fit.init_shard_(t, "he_normal", (4, 4), (slice(None),), rng=0),
                                  lambda t: fit.init_module_(_Holder(t), rng=0)],
                         ids=["normal_", "zeros_", "ones_", "kaiming_uniform_", "init_shard_", "init_module_"])
def test_every_fill_bumps_the_version_as_torch_does(fill):
    w = torch.ones(4, 4)
    x = torch.ones(4, 4, requires_grad=True)
    y = (x * w).sum()  # w saved for backward
    v = w._version
    torch.nn.init.normal_(torch.ones(4, 4))
    w2 = torch.ones(4, 4)
    torch.nn.init.normal_(w2)
    assert w2._version == 1  # torch's own in-place op: one bump
    with torch.no_grad():
        fill(w)
    assert w._version == v + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_version_bump_reaches_the_base_of_a_view():
    base = torch.zeros(6, 6)
    fit.uniform_(base[:, 2:4])
    assert base._version == 1


class _Holder(torch.nn.Module):
    def __init__(self, t):
        super().__init__()
        self.register_buffer("w", t)


# ---------------------------------------------------------------- patch()


def _routed():
    from torch.nn.modules import activation, transformer

    return (torch.nn.init.xavier_uniform_ is fit.xavier_uniform_ and activation.xavier_uniform_ is fit.xavier_uniform_
            and activation.constant_ is fit.constant_ and activation.xavier_normal_ is fit.xavier_normal_
            and transformer.xavier_uniform_ is fit.xavier_uniform_)


def _restored():
    from torch.nn.modules import activation, transformer

    o = fit._ORIGINAL
    return (torch.nn.init.xavier_uniform_ is o["xavier_uniform_"] and activation.xavier_uniform_ is o["xavier_uniform_"]
            and activation.constant_ is o["constant_"] and transformer.xavier_uniform_ is o["xavier_uniform_"]
            and all(getattr(torch.nn.init, n) is o[n] for n in o))


def test_patch_reaches_multihead_attention_and_transformer():
    """nn.MultiheadAttention's in_proj_weight (xavier_uniform_) and biases
    (constant_ 0), nn.Transformer's _reset_parameters: all through fastinit,
    so the same torch seed gives fastinit's values."""
    assert _restored()
    torch.manual_seed(4)
    with fit.patch():
        assert _routed()
        mha = torch.nn.MultiheadAttention(32, 4)
    assert _restored()
    # the draws taken in construction order: out_proj (Linear: weight, bias), then in_proj_weight
    torch.manual_seed(4)
    want = torch.empty(96, 32)
    lin = torch.empty(32, 32)
    with fit.patch():
        torch.nn.init.kaiming_uniform_(lin, a=math.sqrt(5))
        torch.nn.init.uniform_(torch.empty(32), -1, 1)
        fit.xavier_uniform_(want)
    assert torch.equal(mha.in_proj_weight.detach(), want)
    assert not mha.in_proj_bias.any() and not mha.out_proj.bias.any()
    torch.manual_seed(5)
    with fit.patch():
        tr = torch.nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                  dim_feedforward=24)
    torch.manual_seed(5)
    with fit.patch():
        tr2 = torch.nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                   dim_feedforward=24)
    for (n, p), (_, q) in zip(tr.named_parameters(), tr2.named_parameters()):
        assert torch.equal(p, q), n
    w = tr.encoder.layers[0].linear1.weight.detach()
    bound = math.sqrt(6 / (16 + 24))
    assert w.abs().max() <= bound  # xavier_uniform_ from _reset_parameters


def test_patch_restores_on_exception_and_when_nested():
    with pytest.raises(KeyError):
        with fit.patch():
            raise KeyError("x")
    assert _restored()
    with fit.patch():
        with fit.patch():
            assert _routed()
        assert _routed()  # the inner block leaves the outer one patched
    assert _restored() and not fit.installed()


def test_patch_in_two_threads_restores_when_the_last_leaves():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def a():
        with fit.patch():
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b():
        a_in.wait(10)
        with fit.patch():
            b_in.set()
            a_out.wait(10)
            seen["b after a left"] = _routed()
        seen["after both"] = _restored()

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert seen == {"b after a left": True, "after both": True}


def test_install_and_patch_compose():
    fit.install()
    try:
        with fit.patch():
            pass
        assert fit.installed() and _routed()
        with fit.patch():
            fit.uninstall()
            assert _routed()  # the open block keeps it
        assert _restored()
    finally:
        fit.uninstall()
    assert _restored()


def test_tensor_methods_are_not_routed():
    """A documented choice: Tensor.normal_/uniform_ stay torch's."""
    before = (torch.Tensor.normal_, torch.Tensor.uniform_)
    with fit.patch():
        assert (torch.Tensor.normal_, torch.Tensor.uniform_) == before
        torch.manual_seed(0)
        a = torch.empty(100).normal_()
    torch.manual_seed(0)
    assert torch.equal(a, torch.empty(100).normal_())


def test_patch_reaches_transformers_registry():
    ini = pytest.importorskip("transformers.initialization")
    reg = ini.TORCH_INIT_FUNCTIONS
    before = dict(reg)
    assert reg["normal_"] is fit._ORIGINAL["normal_"]
    with fit.patch():
        assert all(reg[k] is getattr(fit, k) for k in reg)
        t = torch.empty(50)
        ini.normal_(t, std=0.5, generator=torch.Generator().manual_seed(1))
    assert reg == before
    s = int(torch.randint(0, 2**63 - 1, (), generator=torch.Generator().manual_seed(1)))
    np.testing.assert_array_equal(t.numpy(), fastinit.normal((50,), std=0.5, rng=s))


def test_patch_does_not_import_transformers_when_it_is_not_installed(tmp_path):
    import subprocess
    import sys

    code = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split('.')[0] == 'transformers' else real(name, *a)
import torch, fastinit.torch as fit
with fit.patch():
    torch.nn.Linear(4, 4)
assert 'transformers' not in sys.modules, 'imported'
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
