"""The same names, rules and seed give the same bits in every framework.

NumPy (fastinit.init_model), torch (fastinit.torch.init_module_), JAX
(fastinit.jax.init_tree) and Keras (fastinit.keras.init_model_) fill a
tensor from the stream of its name with the first matching rule: a tiny
Llama's parameters, and a small dense model whose tensors carry the same
names in all four.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastinit

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
jax = pytest.importorskip("jax")
if importlib.util.find_spec("keras") is None:  # imported only in a child, under the backend it names
    pytest.skip("keras is not installed", allow_module_level=True)
import fastinit.jax as fj  # noqa: E402
import fastinit.torch as fit  # noqa: E402

RULES = {"*.bias": "zeros", "*": "he_normal(layout='keras')"}
SHAPES = {"d1.kernel": (32, 64), "d1.bias": (64,), "d2.kernel": (64, 8), "d2.bias": (8,)}


def _digests(arrays: dict) -> dict:
    return {k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() for k, v in sorted(arrays.items())}


def test_a_tiny_llama_is_the_same_in_numpy_torch_and_jax():
    config = transformers.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=100)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    rules = fit.hf_rules(model.config)
    fit.init_module_(model, rules, rng=7)
    from_torch = {n: p.detach().numpy() for n, p in model.named_parameters()}
    abstract = {n: jax.ShapeDtypeStruct(tuple(p.shape), np.float32) for n, p in model.named_parameters()}
    from_jax = {n: np.asarray(a) for n, a in fj.init_tree(abstract, rules, rng=7, layout="torch").items()}
    spec = {n: {"shape": list(p.shape), "dtype": "float32"} for n, p in model.named_parameters()}
    from_numpy = fastinit.init_model(spec, rules=rules, rng=7)
    assert len(from_torch) >= 20
    assert _digests(from_torch) == _digests(from_numpy) == _digests(from_jax)
    assert not np.array_equal(from_numpy["model.layers.0.mlp.up_proj.weight"],
                              from_numpy["model.layers.1.mlp.up_proj.weight"])  # each name its own stream


class _Dense(torch.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.kernel = torch.nn.Parameter(torch.empty(n_in, n_out))
        self.bias = torch.nn.Parameter(torch.empty(n_out))


KERAS = r"""
import hashlib, json, sys
import numpy as np
import keras, fastinit.keras as fk
rules = json.loads(sys.argv[1])
model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(64, name="d1"), keras.layers.Dense(8, name="d2")])
fk.init_model_(model, rules, rng=7)
out = {fk.variable_name(v, model): hashlib.sha256(np.ascontiguousarray(keras.ops.convert_to_numpy(v.value)).tobytes())
       .hexdigest() for v in model.weights}
print(json.dumps(out))
"""


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_dense_model_is_the_same_in_numpy_torch_jax_and_keras(backend, tmp_path):
    from_numpy = fastinit.init_model({n: {"shape": list(s), "dtype": "float32"} for n, s in SHAPES.items()},
                                     rules=RULES, rng=7)
    module = torch.nn.Module()
    module.d1, module.d2 = _Dense(32, 64), _Dense(64, 8)
    fit.init_module_(module, RULES, rng=7)
    from_torch = {n: p.detach().numpy() for n, p in module.named_parameters()}
    abstract = {"d1": {"kernel": jax.ShapeDtypeStruct((32, 64), np.float32),
                       "bias": jax.ShapeDtypeStruct((64,), np.float32)},
                "d2": {"kernel": jax.ShapeDtypeStruct((64, 8), np.float32),
                       "bias": jax.ShapeDtypeStruct((8,), np.float32)}}
    tree = fj.init_tree(abstract, RULES, rng=7)
    from_jax = {f"{a}.{b}": np.asarray(v) for a, d in tree.items() for b, v in d.items()}
    env = dict(os.environ, KERAS_BACKEND=backend)
    r = subprocess.run([sys.executable, "-c", KERAS, json.dumps(RULES)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    from_keras = json.loads(r.stdout.strip().splitlines()[-1])
    assert _digests(from_numpy) == _digests(from_torch) == _digests(from_jax) == from_keras
    assert set(from_keras) == set(SHAPES)
