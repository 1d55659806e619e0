"""One rank of tests/test_distributed.py's init_module_ tests:
python dist_module_worker.py RANK WORLD STORE_FILE OUT.npz

A module whose parameters are DTensors (distribute_tensor with Shard(0),
Shard(1) and Replicate; then FSDP2's fully_shard on a meta-built module) is
filled by fastinit.torch.init_module_ on every rank of a gloo group on
127.0.0.1; rank 0 writes the gathered tensors."""

import datetime
import os
import sys

os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.distributed.tensor import Replicate, Shard, distribute_tensor, init_device_mesh  # noqa: E402

import fastinit.torch as fit  # noqa: E402

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


def main():
    rank, world, store_file, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    dist.init_process_group("gloo", init_method=f"file://{store_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=60))
    try:
        mesh = init_device_mesh("cpu", (world,))
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

        if rank == 0:
            np.savez(out, **results)
        dist.barrier()  # nobody tears down while a peer still talks to it
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
