"""init_module_ (a torch module's tensors in place, by name, as init_model)
and Hugging Face models: under patch(), and meta + init_module_ with
hf_rules.  Tiny configs built here; nothing is downloaded."""

import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import ml_dtypes  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as fit  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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


# ------------------------------------------------------------- transformers

transformers = pytest.importorskip("transformers")
from scipy import stats  # noqa: E402


def _llama_config():
    return transformers.LlamaConfig(hidden_size=128, intermediate_size=352, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, vocab_size=600,
                                    initializer_range=0.03)


def _gpt2_config():
    return transformers.GPT2Config(n_layer=3, n_embd=96, n_head=4, vocab_size=600, n_positions=64,
                                   bos_token_id=0, eos_token_id=0, initializer_range=0.025)


CONFIGS = {"llama": _llama_config, "gpt2": _gpt2_config}


def _build(config, seed, patched):
    torch.manual_seed(seed)
    if patched:
        with fit.patch():
            return transformers.AutoModelForCausalLM.from_config(config)
    return transformers.AutoModelForCausalLM.from_config(config)


def _same_distribution(name, got, want):
    got, want = got.detach().double().flatten().numpy(), want.detach().double().flatten().numpy()
    if (want == 1).all() or (want == 0).all():
        np.testing.assert_array_equal(got, want, err_msg=name)
        return
    assert stats.ks_2samp(got, want).pvalue > 1e-4, name


@pytest.mark.parametrize("kind", CONFIGS)
def test_from_config_under_patch_has_transformers_distributions(kind):
    config = CONFIGS[kind]()
    plain, fast = _build(config, 0, False), _build(config, 0, True)
    for (name, p), (_, q) in zip(plain.state_dict().items(), fast.state_dict().items()):
        if p.is_floating_point():
            _same_distribution(name, q, p)
    again = _build(config, 0, True)
    other = _build(config, 1, True)
    for name, q in fast.state_dict().items():
        assert torch.equal(q, again.state_dict()[name]), name  # torch.manual_seed reproduces it
    w = "model.layers.0.mlp.up_proj.weight" if kind == "llama" else "transformer.h.0.mlp.c_fc.weight"
    assert not torch.equal(fast.state_dict()[w], other.state_dict()[w])


@pytest.mark.parametrize("kind", CONFIGS)
def test_under_patch_fastinit_did_the_filling(kind):
    """Each random tensor equals fastinit.normal(shape, std, rng=s) for one of
    the seeds s the drop-in takes from torch's generator, one per call."""
    config = CONFIGS[kind]()
    model = _build(config, 7, True)
    g = torch.Generator().manual_seed(7)
    seeds = [int(torch.randint(0, 2**63 - 1, (), generator=g)) for _ in range(400)]
    std = config.initializer_range
    checked = 0
    for name, t in model.named_parameters():
        if (t == 1).all() or (t == 0).all():
            continue
        s = std / math.sqrt(2 * config.n_layer) if name.endswith("c_proj.weight") else std
        first = t.detach().flatten()[:4].numpy()
        hits = [k for k in seeds if np.array_equal(fastinit.normal((4,), std=s, rng=k), first)]
        assert len(hits) == 1, name
        np.testing.assert_array_equal(t.detach().numpy(), fastinit.normal(tuple(t.shape), std=s, rng=hits[0]),
                                      err_msg=name)
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("kind", CONFIGS)
def test_meta_init_module_with_hf_rules(kind):
    config = CONFIGS[kind]()
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    rules = fit.hf_rules(model.config)
    fit.init_module_(model, rules, rng=11, device="cpu")
    want = _assert_equals_init_model(model, rules, 11)
    plain = _build(config, 0, False)
    for name, p in plain.state_dict().items():  # the semantics of transformers' _init_weights
        _same_distribution(name, model.state_dict()[name], p)
    for name, b in plain.named_buffers():  # rotary tables recomputed, not garbage
        assert torch.equal(dict(model.named_buffers())[name], b), name
    if kind == "gpt2":
        assert model.lm_head.weight is model.transformer.wte.weight
        np.testing.assert_array_equal(model.lm_head.weight.detach().numpy(), want["transformer.wte.weight"])


def test_hf_rules_refuses_an_unknown_architecture():
    with pytest.raises(ValueError, match="model_type"):
        fit.hf_rules(transformers.BertConfig())


def test_readme_block_runs():
    import pathlib
    import re

    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    if not readme.exists():
        pytest.skip("no README beside the tests")
    text = readme.read_text()
    section = text[text.index("### Torch modules and Hugging Face models, in place"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    env = {}
    exec(compile(code, "README torch modules", "exec"), env)
    want = fastinit.init_model(env["model"], rules=fit.hf_rules(env["config"]), rng=0)
    np.testing.assert_array_equal(env["model"].model.layers[1].mlp.up_proj.weight.detach().numpy(),
                                  want["model.layers.1.mlp.up_proj.weight"])
