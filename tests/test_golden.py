"""Golden SHA-256 hashes of fixed fills pin the stream: any change to any
generated value must come with a new STREAM_VERSION and a new golden file
(`python tests/test_golden.py` writes one, after the change is verified
against tests/reference.py).  Modelled on randomgen's stable hashes."""

import hashlib
import json
import pathlib
import sys

import numpy as np
import pytest

import fastinit

GOLDEN = pathlib.Path(__file__).parent / "data" / f"golden_v{fastinit.STREAM_VERSION}.json"


def _fills():
    g = fastinit.default_rng(2026)
    return {
        "raw_s0": lambda: g.random_raw(100_003, stream=0),
        "raw_far": lambda: g.random_raw(4099, stream=2**63 + 17, start=2**50 + 3),
        "random_f32": lambda: g.random(65_537, dtype=np.float32, stream=1),
        "random_f64": lambda: g.random(65_537, dtype=np.float64, stream=1),
        "uniform_f32": lambda: g.uniform(-0.1, 0.3, 65_537, dtype=np.float32, stream="layer.0.weight"),
        "uniform_bf16": lambda: g.uniform(-0.1, 0.3, 65_537, dtype="bfloat16", stream="layer.0.weight"),
        "normal_f32": lambda: g.normal(0.0, 0.02, 65_537, dtype=np.float32, stream=2),
        "normal_f64": lambda: g.normal(0.0, 0.02, 65_537, dtype=np.float64, stream=2),
        "normal_f16": lambda: g.normal(0.0, 0.02, 65_537, dtype=np.float16, stream=2),
        "normal_bf16": lambda: g.normal(0.0, 0.02, 65_537, dtype="bfloat16", stream=2),
        "standard_normal_f32_seq": lambda: fastinit.default_rng(7).standard_normal((513, 257), dtype=np.float32),
        # initializers: their parameter derivation (fans, gains, bounds, Phi) is part of the stream
        "he_normal": lambda: fastinit.he_normal((256, 128, 3), rng=11),
        "he_uniform_keras": lambda: fastinit.he_uniform((3, 3, 64, 32), layout="keras", rng=11),
        "xavier_uniform": lambda: fastinit.xavier_uniform((300, 200), gain=1.7, rng=11),
        "xavier_normal_truncated": lambda: fastinit.xavier_normal((300, 200), truncated=True, rng=11),
        "lecun_normal_bf16": lambda: fastinit.lecun_normal((512, 64), dtype="bfloat16", rng=11),
        "variance_scaling": lambda: fastinit.variance_scaling((100, 300), 2.0, "fan_avg", rng=11),
        "truncated_normal_f32": lambda: fastinit.truncated_normal((4096, 17), 0.0, 0.02, -0.04, 0.04, rng=11),
        "truncated_normal_tail_f64": lambda: fastinit.truncated_normal((65537,), 1.0, 2.0, 5.0, 9.0, dtype=np.float64, rng=11),
        "sparse": lambda: fastinit.sparse((300, 40), sparsity=0.3, rng=11),
        "init_model_tiny": lambda: np.concatenate([a.view(np.uint8).ravel() for a in fastinit.init_model(
            "tiny-llama-test", rng=11, dtype="bfloat16").values()]),
    }


def _digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_golden_file_matches_stream_version():
    data = json.loads(GOLDEN.read_text())
    assert data["stream_version"] == fastinit.STREAM_VERSION
    assert set(data["sha256"]) == set(_fills())


@pytest.mark.parametrize("name", sorted(_fills()))
def test_golden_hash(simd, name):
    want = json.loads(GOLDEN.read_text())["sha256"][name]
    assert _digest(_fills()[name]()) == want


if __name__ == "__main__":
    out = {"stream_version": fastinit.STREAM_VERSION, "sha256": {k: _digest(f()) for k, f in _fills().items()}}
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
