"""One rank of tests/test_distributed.py: python dist_worker.py RANK WORLD STORE_FILE OUT.npz

Initializes tensors sharded over a torch.distributed gloo group on
127.0.0.1 and writes, from rank 0, the assembled results."""

import datetime
import os
import sys

os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.distributed.tensor as dtensor  # noqa: E402
from torch.distributed.tensor import Shard, init_device_mesh  # noqa: E402

import fastinit.torch as fit  # noqa: E402


def run_rank(fill):
    """Join the gloo group that argv names (RANK WORLD STORE_FILE OUT.npz),
    call fill(rank, world, mesh) for a {name: array} dict on every rank, and
    write rank 0's to OUT.npz; every rank reaches a barrier before tearing
    the group down, so nobody leaves while a peer still talks to it."""
    rank, world, store_file, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    dist.init_process_group("gloo", init_method=f"file://{store_file}", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=60))
    try:
        results = fill(rank, world, init_device_mesh("cpu", (world,)))
        if rank == 0:
            np.savez(out, **results)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _fill(rank, world, mesh):
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
    return results


if __name__ == "__main__":
    run_rank(_fill)
