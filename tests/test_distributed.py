"""torch.distributed: two processes over gloo on 127.0.0.1 fill their parts;
the assembled tensors equal the single-process initialization."""

import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
import ml_dtypes  # noqa: E402

import fastinit  # noqa: E402

WORKER = pathlib.Path(__file__).with_name("dist_worker.py")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_over_gloo(tmp_path):
    out, port = tmp_path / "res.npz", _free_port()
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(r), "2", str(port), str(out)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(2)]
    logs = [p.communicate(timeout=180)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), logs
    res = np.load(out)
    np.testing.assert_array_equal(res["dtensor_rows"], fastinit.he_normal((50, 24), rng=7, stream="w"))
    np.testing.assert_array_equal(res["dtensor_cols"], fastinit.he_normal((16, 30), rng=7, stream="w"))
    want = fastinit.xavier_uniform((41, 16), rng=3, dtype=ml_dtypes.bfloat16).view(np.int16)
    np.testing.assert_array_equal(res["plain_rows_bf16_bits"], want)
