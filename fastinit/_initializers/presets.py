"""Built-in model specs from public architecture numbers, with their usual
initialization rules.  Tensor names follow the Hugging Face transformers
state dicts (GPT2LMHeadModel without its tied lm_head; LlamaForCausalLM).
"""

from __future__ import annotations

import math


def gpt2(n_layer=12, n_embd=768, n_head=12, vocab=50257, n_positions=1024):
    """GPT-2 small (124M).  Rules: GPT-2's normal(0.02), with the residual
    projections (c_proj) scaled by 1/sqrt(2 n_layer); LayerNorms 1 and 0;
    biases 0."""
    del n_head  # heads split c_attn's output; no tensor of its own
    spec = {"transformer.wte.weight": (vocab, n_embd), "transformer.wpe.weight": (n_positions, n_embd)}
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        spec.update({
            p + "ln_1.weight": (n_embd,), p + "ln_1.bias": (n_embd,),
            p + "attn.c_attn.weight": (n_embd, 3 * n_embd), p + "attn.c_attn.bias": (3 * n_embd,),
            p + "attn.c_proj.weight": (n_embd, n_embd), p + "attn.c_proj.bias": (n_embd,),
            p + "ln_2.weight": (n_embd,), p + "ln_2.bias": (n_embd,),
            p + "mlp.c_fc.weight": (n_embd, 4 * n_embd), p + "mlp.c_fc.bias": (4 * n_embd,),
            p + "mlp.c_proj.weight": (4 * n_embd, n_embd), p + "mlp.c_proj.bias": (n_embd,),
        })
    spec.update({"transformer.ln_f.weight": (n_embd,), "transformer.ln_f.bias": (n_embd,)})
    rules = [
        ("*.ln_*.weight", "ones"),
        ("*.bias", "zeros"),
        ("*.c_proj.weight", f"normal(std={0.02 / math.sqrt(2 * n_layer)!r})"),
        ("*", "normal(std=0.02)"),
    ]
    return spec, rules


def llama(n_layer, hidden, intermediate, n_kv_head, head_dim, vocab=32000):
    """A Llama-architecture decoder.  Rules: Hugging Face's Llama init,
    normal(0, 0.02) for every Linear and Embedding, RMSNorm weights 1."""
    kv = n_kv_head * head_dim
    spec = {"model.embed_tokens.weight": (vocab, hidden)}
    for i in range(n_layer):
        p = f"model.layers.{i}."
        spec.update({
            p + "self_attn.q_proj.weight": (hidden, hidden), p + "self_attn.k_proj.weight": (kv, hidden),
            p + "self_attn.v_proj.weight": (kv, hidden), p + "self_attn.o_proj.weight": (hidden, hidden),
            p + "mlp.gate_proj.weight": (intermediate, hidden), p + "mlp.up_proj.weight": (intermediate, hidden),
            p + "mlp.down_proj.weight": (hidden, intermediate),
            p + "input_layernorm.weight": (hidden,), p + "post_attention_layernorm.weight": (hidden,),
        })
    spec.update({"model.norm.weight": (hidden,), "lm_head.weight": (vocab, hidden)})
    return spec, [("*norm.weight", "ones"), ("*", "normal(std=0.02)")]


PRESETS = {
    # GPT-2 small: 12 layers, 768 wide, 12 heads, 50257 tokens, 1024 positions
    "gpt2": lambda: gpt2(),
    # TinyLlama-1.1B: 22 layers, 2048 wide, 5632 MLP, 32 heads of 64, 4 key/value heads
    "tinyllama-1.1b": lambda: llama(22, 2048, 5632, 4, 64),
    # Llama-2-7B: 32 layers, 4096 wide, 11008 MLP, 32 heads of 128 (no grouped keys/values)
    "llama-2-7b": lambda: llama(32, 4096, 11008, 32, 128),
    # A small Llama for tests and demos: 2 layers, 64 wide
    "tiny-llama-test": lambda: llama(2, 64, 176, 2, 16, vocab=1000),
}
