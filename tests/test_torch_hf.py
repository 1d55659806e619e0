"""Hugging Face models through fastinit.torch: from_config under patch()
against plain transformers, and meta + init_module_ with hf_rules.  Tiny
configs built here; nothing is downloaded."""

import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
import ml_dtypes  # noqa: E402
from scipy import stats  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as fit  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


from test_torch_module import _assert_equals_init_model  # noqa: E402  (one comparison for both files)


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
