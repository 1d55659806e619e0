"""Initialize a Llama-architecture model of 1.1B parameters (TinyLlama-1.1B's
config, built here: nothing is downloaded) three ways, each in its own
process, rounds alternating the order; prints the median of the rounds.

    plain   transformers.AutoModelForCausalLM.from_config(config)
    patch   the same inside fastinit.torch.patch()
    meta    from_config on the meta device, then
            fastinit.torch.init_module_(model, hf_rules(config), rng=0, device="cpu")

and two floors for this machine, over the parameters' shapes alone (no model,
no module construction): ``touch`` allocates each with torch.empty and zeroes
it (the kernel's first-touch page faults plus plain stores), ``fill`` fills
each fresh tensor with fastinit.torch.normal_(std=0.02) (page faults plus
fastinit's normal fill): no way of initializing the model in fresh memory
can beat them.

Usage: .venv/bin/python benchmarks/hf_init.py [--rounds 3] [--layers 22]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

MODES = ("plain", "patch", "meta", "touch", "fill")


def config(layers):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=layers,
                       num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=2048,
                       rms_norm_eps=1e-5, tie_word_embeddings=False, initializer_range=0.02,
                       torch_dtype="float32")


def _rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(mode, layers):
    import torch
    from transformers import AutoModelForCausalLM

    import fastinit.torch as fit

    cfg = config(layers)
    torch.manual_seed(0)
    base = _rss_mib()  # torch, transformers and fastinit imported
    t0 = time.perf_counter()
    if mode == "plain":
        model = AutoModelForCausalLM.from_config(cfg)
    elif mode == "patch":
        with fit.patch():
            model = AutoModelForCausalLM.from_config(cfg)
    elif mode == "meta":
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg)
        fit.init_module_(model, fit.hf_rules(cfg), rng=0, device="cpu")
    else:
        with torch.device("meta"):
            named = [(n, p.shape) for n, p in AutoModelForCausalLM.from_config(cfg).named_parameters()]
        t0 = time.perf_counter()
        params = [torch.empty(shape) for _, shape in named]
        for p in params:
            if mode == "touch":
                p.zero_()
            else:
                fit.normal_(p, 0.0, 0.02)
    seconds = time.perf_counter() - t0
    if mode in ("touch", "fill"):
        w = params[[n for n, _ in named].index("model.layers.0.mlp.up_proj.weight")]
    else:
        params = list(model.parameters())
        w = model.model.layers[0].mlp.up_proj.weight.detach()
    nbytes = sum(p.numel() * p.element_size() for p in params)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_rss_mib": peak, "base_rss_mib": base,
                      "params": sum(p.numel() for p in params), "param_bytes": nbytes, "up_proj_std": float(w.std()),
                      "up_proj_mean": float(w.mean())}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.layers)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    runs = {m: [] for m in MODES}
    for r in range(args.rounds):
        order = MODES if r % 2 == 0 else MODES[::-1]
        for mode in order:
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--layers", str(args.layers)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            res = json.loads(out.strip().splitlines()[-1])
            runs[mode].append(res)
            print(f"round {r + 1} {mode:5s} {res['seconds']:7.2f} s  peak RSS {res['peak_rss_mib'] / 1024:5.2f} GiB"
                  f"  (std of up_proj {res['up_proj_std']:.5f})", flush=True)
    first = runs["plain"][0]
    gib = first["param_bytes"] / 2**30
    print(f"\n{first['params'] / 1e9:.3f}B parameters, {gib:.2f} GiB float32; median of {args.rounds}, "
          "each in its own process, order alternating")
    plain_s = statistics.median(x["seconds"] for x in runs["plain"])
    print(f"{'way':52s} {'time':>8s} {'speed-up':>9s} {'peak RSS':>9s} {'RSS/params':>10s} {'added RSS/params':>16s}")
    labels = {"plain": "from_config", "patch": "from_config under fastinit.torch.patch()",
              "meta": "meta + fastinit.torch.init_module_(hf_rules)",
              "touch": "floor: fresh tensors of those shapes, zero_()",
              "fill": "floor: fresh tensors, fastinit.torch.normal_"}
    for mode in MODES:
        s = statistics.median(x["seconds"] for x in runs[mode])
        peak = statistics.median(x["peak_rss_mib"] for x in runs[mode]) / 1024
        added = statistics.median(x["peak_rss_mib"] - x["base_rss_mib"] for x in runs[mode]) / 1024
        print(f"{labels[mode]:52s} {s:7.2f}s {plain_s / s:8.1f}x {peak:6.2f}GiB {peak / gib:9.2f}x {added / gib:15.2f}x")


if __name__ == "__main__":
    main()
