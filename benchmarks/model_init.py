"""Construct a TinyLlama-1.1B-shaped stack of nn.Linear / nn.Embedding layers
with plain torch and under fastinit.torch.patch(), and compare.

    python benchmarks/model_init.py [--layers 22] [--repeat 3]

Runs alternate (torch, fastinit, torch, ...) in one process; the median of
each is reported with their ratio, and the two models' weights are compared
layer by layer (standard deviation and bounds) to show they follow the same
distributions.  Shapes from TinyLlama-1.1B's config: vocabulary 32000,
hidden 2048, intermediate 5632, 22 layers, 4 key/value heads of 64.
"""

import argparse
import gc
import statistics
import time

import torch
from torch import nn

import fastinit.torch as fit

VOCAB, HIDDEN, INTER, KV = 32000, 2048, 5632, 256


def build(layers: int) -> nn.Module:
    def block():
        return nn.ModuleDict({
            "q_proj": nn.Linear(HIDDEN, HIDDEN, bias=False), "k_proj": nn.Linear(HIDDEN, KV, bias=False),
            "v_proj": nn.Linear(HIDDEN, KV, bias=False), "o_proj": nn.Linear(HIDDEN, HIDDEN, bias=False),
            "gate_proj": nn.Linear(HIDDEN, INTER, bias=False), "up_proj": nn.Linear(HIDDEN, INTER, bias=False),
            "down_proj": nn.Linear(INTER, HIDDEN, bias=False)})

    return nn.ModuleDict({"embed_tokens": nn.Embedding(VOCAB, HIDDEN),
                          "layers": nn.ModuleList(block() for _ in range(layers)),
                          "lm_head": nn.Linear(HIDDEN, VOCAB, bias=False)})


def timed(patched: bool, layers: int):
    gc.collect()
    torch.manual_seed(0)
    t0 = time.perf_counter()
    if patched:
        with fit.patch():
            m = build(layers)
    else:
        m = build(layers)
    return time.perf_counter() - t0, m


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=22)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    times = {False: [], True: []}
    models = {}
    for _ in range(a.repeat):
        for patched in (False, True):
            models.pop(patched, None)
            t, models[patched] = timed(patched, a.layers)
            times[patched].append(t)
    n = sum(q.numel() for q in models[True].parameters())
    tt, tf = statistics.median(times[False]), statistics.median(times[True])
    print(f"TinyLlama-1.1B-shaped stack ({a.layers} layers, {n / 1e9:.3f} B parameters, float32), "
          f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, median of {a.repeat}:")
    print(f"  plain torch              {tt:7.2f} s  ({n / tt / 1e6:6.0f} Mparam/s)")
    print(f"  fastinit.torch.patch()   {tf:7.2f} s  ({n / tf / 1e6:6.0f} Mparam/s)")
    print(f"  speed-up                 {tt / tf:7.2f}x")
    print("same distributions (std and max |w| of fastinit / torch, per tensor):")
    worst = 0.0
    named = dict(models[False].named_parameters())
    for name, w in models[True].named_parameters():
        ref = named[name]
        rs = (w.std() / ref.std()).item()
        rm = (w.abs().max() / ref.abs().max()).item()
        if name.startswith("layers.") and not name.startswith("layers.0."):
            worst = max(worst, abs(rs - 1))
            continue
        print(f"  {name:<36} std {rs:6.4f}  max {rm:6.4f}")
        worst = max(worst, abs(rs - 1))
    print(f"  largest |std ratio - 1| over all {len(named)} tensors: {worst:.4f}")


if __name__ == "__main__":
    main()
