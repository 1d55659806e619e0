"""torch.distributed: 2 and 3 processes over gloo on 127.0.0.1 fill their
parts; the assembled tensors equal the single-process initialization.

The ranks meet through a FileStore in the test's own folder (no port to
race for), every collective has a timeout, a rank that outlives the test's
limit is killed with the others, and every rank reaches a barrier before
destroying its process group."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
import ml_dtypes  # noqa: E402

import fastinit  # noqa: E402

HERE = pathlib.Path(__file__).parent
LIMIT_S = 240


def _run_ranks(worker, world, tmp_path):
    """Run `world` ranks of worker; the rank-0 result file."""
    out, store = tmp_path / "res.npz", tmp_path / "store"
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, str(HERE / worker), str(r), str(world), str(store), str(out)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for r in range(world)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=LIMIT_S)[0])
    finally:
        for p in procs:  # a rank left waiting on a dead peer does not outlive the test
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0] * world, logs
    return np.load(out)


def test_two_ranks_over_gloo(tmp_path):
    res = _run_ranks("dist_worker.py", 2, tmp_path)
    np.testing.assert_array_equal(res["dtensor_rows"], fastinit.he_normal((50, 24), rng=7, stream="w"))
    np.testing.assert_array_equal(res["dtensor_cols"], fastinit.he_normal((16, 30), rng=7, stream="w"))
    want = fastinit.xavier_uniform((41, 16), rng=3, dtype=ml_dtypes.bfloat16).view(np.int16)
    np.testing.assert_array_equal(res["plain_rows_bf16_bits"], want)


@pytest.mark.parametrize("world", [2, 3])
def test_init_module_on_dtensor_and_fsdp2_ranks(tmp_path, world):
    """init_module_ on DTensor parameters (Shard(0), Shard(1), Replicate) and
    on an FSDP2 fully_shard module built on meta: each rank fills only its
    shard, and the gathered module equals fastinit.init_model in one process."""
    sys.path.insert(0, str(HERE))
    try:
        import dist_module_worker as w
    finally:
        sys.path.remove(str(HERE))
    want = fastinit.init_model(w.Block(), rules=w.RULES, rng=5)
    res = _run_ranks("dist_module_worker.py", world, tmp_path)
    for kind in ("dtensor", "fsdp"):
        for name, arr in want.items():
            np.testing.assert_array_equal(res[f"{kind}/{name}"], arr, err_msg=f"{kind} {name}")
