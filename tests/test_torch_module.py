"""init_module_: a torch module's tensors in place, by name, equal to
fastinit.init_model in any order, subset, dtype and device."""


import numpy as np
import pytest

torch = pytest.importorskip("torch")
import ml_dtypes  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as fit  # noqa: E402

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 12)
        self.lin = torch.nn.Linear(12, 20)
        self.norm = torch.nn.LayerNorm(20)
        self.bn = torch.nn.BatchNorm1d(20)
        self.conv = torch.nn.Conv1d(4, 6, 3)
        self.scale = torch.nn.Parameter(torch.empty(()))
        self.register_buffer("table", torch.empty(7, 3))
        self.register_buffer("scratch", torch.empty(5), persistent=False)


RULES = {"*.bias": "zeros", "norm.weight": "ones", "bn.running_var": "ones", "bn.running_mean": "zeros",
         "bn.weight": "ones", "scale": "constant(value=0.5)", "conv.weight": "he_normal", "table": "uniform(low=-1)",
         "*": "normal(std=0.02)"}


def _state(m):
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def _assert_equals_init_model(m, rules, rng, **kw):
    want = fastinit.init_model(m, rules=rules, rng=rng, **kw)
    got, seen = m.state_dict(keep_vars=True), set()
    for name, arr in want.items():
        t = got[name].detach()
        if id(got[name]) in seen:  # tied to an earlier name: filled under that one
            continue
        seen.add(id(got[name]))
        g = t.view(torch.int16).numpy().view(ml_dtypes.bfloat16) if t.dtype is torch.bfloat16 else t.numpy()
        assert g.dtype == arr.dtype, name
        np.testing.assert_array_equal(g.reshape(-1).view(np.uint8), arr.reshape(-1).view(np.uint8), err_msg=name)
    return want


def test_init_module_equals_init_model_in_any_order_and_subset():
    m = Net()
    before = m.bn.num_batches_tracked.clone()
    assert fit.init_module_(m, RULES, rng=3) is m
    want = _assert_equals_init_model(m, RULES, 3)
    assert set(want) == {k for k, v in m.state_dict().items() if v.is_floating_point()}
    assert torch.equal(m.bn.num_batches_tracked, before)  # integer tensors are left alone
    full = _state(m)
    m2 = Net()
    names = sorted(want, reverse=True)
    for i in range(0, len(names), 3):  # in pieces, reverse order
        fit.init_module_(m2, RULES, rng=3, names=names[i:i + 3])
    for k, v in _state(m2).items():
        if v.is_floating_point():
            assert torch.equal(v, full[k]), k


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64], ids=str)
def test_init_module_in_the_modules_dtype(dtype):
    m = Net().to(dtype)
    fit.init_module_(m, RULES, rng=1)
    _assert_equals_init_model(m, RULES, 1)


def test_dtype_draws_in_that_dtype_then_casts():
    m = Net()
    fit.init_module_(m, RULES, rng=1, dtype="float64")
    want = fastinit.init_model(Net(), rules=RULES, rng=1, dtype="float64")
    for k, arr in want.items():
        assert torch.equal(m.state_dict()[k], torch.from_numpy(arr.astype(np.float32))), k


def test_meta_module_is_materialized_on_the_named_device():
    with torch.device("meta"):
        m = Net()
    with pytest.raises(ValueError, match="device"):
        fit.init_module_(m, RULES, rng=2)
    with pytest.warns(RuntimeWarning, match="scratch"):  # non-persistent, not the model's: named
        fit.init_module_(m, RULES, rng=2, device="cpu")
    assert all(not t.is_meta for t in m.state_dict().values())
    cpu = Net()
    fit.init_module_(cpu, RULES, rng=2)
    for k, v in _state(m).items():
        if v.is_floating_point():
            assert torch.equal(v, cpu.state_dict()[k]), k


def test_preset_rules_by_name_and_errors():
    m = torch.nn.Sequential(torch.nn.Linear(4, 4))
    m.register_module("final_norm", torch.nn.LayerNorm(4))
    fit.init_module_(m, "tinyllama-1.1b", rng=0)  # rules: "*norm.weight" ones, "*" normal(0.02)
    assert torch.equal(m.final_norm.weight, torch.ones(4))
    np.testing.assert_array_equal(m.final_norm.bias.detach().numpy(),
                                  fastinit.normal((4,), std=0.02, rng=0, stream="final_norm.bias"))
    with pytest.raises(ValueError, match="rules"):
        fit.init_module_(m, "no-such-preset", rng=0)
    with pytest.raises(ValueError, match="names"):
        fit.init_module_(m, rng=0, names=["nope"])
    with pytest.raises(TypeError):
        fit.init_module_(m)  # rng is required


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_init_module_on_cuda_equals_init_model():
    with torch.device("meta"):
        m = Net()
    fit.init_module_(m, RULES, rng=4, device="cuda")
    assert all(t.device.type == "cuda" for t in m.state_dict().values())
    want = fastinit.init_model(Net(), rules=RULES, rng=4)
    for name, arr in want.items():
        np.testing.assert_array_equal(m.state_dict()[name].cpu().numpy(), arr, err_msg=name)
    m2 = Net().to(torch.bfloat16).cuda()
    v = m2.lin.weight._version
    fit.init_module_(m2, RULES, rng=4, names=["lin.weight"])
    assert m2.lin.weight._version > v
    bits = fastinit.init_model(Net(), rules=RULES, rng=4, dtype="bfloat16", names=["lin.weight"])["lin.weight"]
    np.testing.assert_array_equal(m2.lin.weight.detach().cpu().view(torch.int16).numpy(), bits.view(np.int16))
