"""Rules that reproduce Hugging Face transformers' _init_weights semantics."""

from __future__ import annotations

import math

# architectures whose _init_weights is PreTrainedModel's: normal(initializer_range)
# for Linear and Embedding weights, zeros for biases, ones for the RMSNorm weights
_LLAMA_LIKE = ("llama", "mistral", "qwen2", "qwen3")


def hf_rules(config) -> list[tuple[str, str]]:
    """init_module_ / init_model rules with the semantics of a Hugging Face
    model's ``_init_weights``, numbers from its config object.

    Llama (and Mistral, Qwen2/3): normal(0, initializer_range) for every
    Linear and Embedding weight, zeros for biases, ones for RMSNorm weights.
    GPT-2: the same, LayerNorm weights 1 and biases 0, and the residual
    projections ``c_proj`` normal(0, initializer_range / sqrt(2 n_layer)).
    Not reproduced: zeroing an Embedding's padding_idx row (a row is not a
    tensor of its own); fill it after, as ``w[pad].zero_()``.
    """
    kind = getattr(config, "model_type", None)
    std = getattr(config, "initializer_range", None) or 0.02
    if kind in _LLAMA_LIKE:
        return [("*norm.weight", "ones"), ("*.bias", "zeros"), ("*", f"normal(std={float(std)!r})")]
    if kind == "gpt2":
        scaled = float(std) / math.sqrt(2 * int(config.n_layer))
        return [("*.ln_*.weight", "ones"), ("*.ln_*.bias", "zeros"), ("*.bias", "zeros"),
                ("*.c_proj.weight", f"normal(std={scaled!r})"), ("*", f"normal(std={float(std)!r})")]
    raise ValueError(f"config: hf_rules knows model_type {', '.join(_LLAMA_LIKE + ('gpt2',))}, not {kind!r}")
