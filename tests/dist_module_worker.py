"""One rank of tests/test_distributed.py's init_module_ tests:
python dist_module_worker.py RANK WORLD STORE_FILE OUT.npz

A module whose parameters are DTensors (distribute_tensor with Shard(0),
Shard(1) and Replicate; then FSDP2's fully_shard on a meta-built module) is
filled by fastinit.torch.init_module_ on every rank of a gloo group on
127.0.0.1; rank 0 writes the gathered tensors."""

import torch
from torch.distributed.tensor import Replicate, Shard, distribute_tensor

import fastinit.torch as fit
from dist_worker import run_rank  # the group's set-up and teardown (and GLOO_SOCKET_IFNAME)

RULES = {"*.bias": "zeros", "*norm.weight": "ones", "*proj.weight": "he_uniform", "*": "normal(std=0.02)"}


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(37, 10)  # 37 rows: uneven over 2 and 3 ranks
        self.up_proj = torch.nn.Linear(10, 23)
        self.down_proj = torch.nn.Linear(23, 10)
        self.norm = torch.nn.LayerNorm(10)
        self.register_buffer("table", torch.empty(5, 7))


def _gathered(module):
    return {name: (t.full_tensor() if hasattr(t, "full_tensor") else t).detach().numpy().copy()
            for name, t in module.state_dict().items()}


def _fill(rank, world, mesh):
    results = {}

    # distribute_tensor: every placement kind
    m = Block()
    placements = {"emb.weight": Shard(0), "up_proj.weight": Shard(0), "down_proj.weight": Shard(1),
                  "up_proj.bias": Shard(0), "down_proj.bias": Replicate(), "norm.weight": Replicate(),
                  "norm.bias": Shard(0)}
    for name, placement in placements.items():
        owner, attr = name.rsplit(".", 1)
        mod = m.get_submodule(owner)
        setattr(mod, attr, torch.nn.Parameter(distribute_tensor(getattr(mod, attr).detach(), mesh, [placement])))
    fit.init_module_(m, RULES, rng=5)
    for name, arr in _gathered(m).items():
        results["dtensor/" + name] = arr

    # FSDP2: built on meta, sharded, materialized and filled by init_module_
    from torch.distributed.fsdp import fully_shard

    with torch.device("meta"):
        f = Block()
    fully_shard(f, mesh=mesh)
    fit.init_module_(f, RULES, rng=5, device="cpu")
    assert all(not t.is_meta for t in f.state_dict().values())
    for name, arr in _gathered(f).items():
        results["fsdp/" + name] = arr
    return results


if __name__ == "__main__":
    run_rank(_fill)
