"""One rank of tests/test_distributed.py: python dist_worker.py RANK WORLD PORT OUT.npz

Initializes tensors sharded over a torch.distributed gloo group on
127.0.0.1 and writes, from rank 0, the assembled results."""

import sys

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.tensor as dtensor
from torch.distributed.tensor import Shard, init_device_mesh

import fastinit.torch as fit

rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
mesh = init_device_mesh("cpu", (world,))
results = {}
for name, placement, shape in [("dtensor_rows", Shard(0), (50, 24)), ("dtensor_cols", Shard(1), (16, 30))]:
    d = dtensor.empty(shape, device_mesh=mesh, placements=[placement])
    fit.init_dtensor_(d, "he_normal", rng=7, stream="w")
    results[name] = d.full_tensor().numpy()
shape = (41, 16)  # uneven: torch.chunk gives 21 and 20 rows
index = fit.shard_index(shape, rank, world)
local = torch.empty(tuple(np.empty(shape)[index].shape), dtype=torch.bfloat16)
fit.init_shard_(local, "xavier_uniform", shape, index, rng=3)
parts = [None] * world
dist.all_gather_object(parts, local.view(torch.int16).numpy())
results["plain_rows_bf16_bits"] = np.concatenate(parts)
if rank == 0:
    np.savez(out, **results)
dist.destroy_process_group()
