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
        "variance_scaling": lambda: fastinit.variance_scaling((100, 300), scale=2.0, mode="fan_avg", rng=11),
        "truncated_normal_f32": lambda: fastinit.truncated_normal((4096, 17), mean=0.0, std=0.02, a=-0.04, b=0.04, rng=11),
        "truncated_normal_tail_f64": lambda: fastinit.truncated_normal((65537,), mean=1.0, std=2.0, a=5.0, b=9.0, dtype=np.float64, rng=11),
        "sparse": lambda: fastinit.sparse((300, 40), sparsity=0.3, rng=11),
        "init_model_tiny": lambda: np.concatenate([a.view(np.uint8).ravel() for a in fastinit.init_model(
            "tiny-llama-test", rng=11, dtype="bfloat16").values()]),
        **_initializer_fills(),
    }


# Every public initializer in every dtype (randomgen's test_coverage idea:
# an initializer without a pinned hash fails test_every_initializer_is_pinned).
DTYPES = ("float32", "float64", "float16", "bfloat16")
_ARGS = {  # what each needs beyond a shape
    "uniform": dict(low=-0.3, high=0.7), "normal": dict(mean=0.1, std=0.5), "constant": dict(value=0.3),
    "truncated_normal": dict(mean=0.0, std=0.02, a=-0.04, b=0.05), "sparse": dict(sparsity=0.25),
    "he_normal": dict(a=0.1, mode="fan_out"), "variance_scaling": dict(scale=2.0, mode="fan_avg"),
    "eye": dict(gain=1.5), "identity": dict(gain=1.5), "xavier_uniform": dict(gain=1.7),
}
_SHAPES = {"dirac": (6, 4, 3, 3), "eye": (40, 60), "identity": (40, 60), "sparse": (120, 40)}
# orthogonal's QR runs in LAPACK, whose last bits vary between builds: its
# pinned part is the float64 normal matrix it factorizes (see below).
_LAPACK = ("orthogonal", "delta_orthogonal")
GENERATOR_METHODS = {"random": (), "uniform": (-2.0, 3.0), "standard_normal": (), "normal": (1.0, 0.25)}


def _initializer_fills():
    from fastinit._initializers.functions import __all__ as names

    out = {}
    for name in names:
        if name in ("calculate_gain", "compute_fans") or name in _LAPACK:
            continue
        fn = getattr(fastinit, name)
        shape = _SHAPES.get(name, (96, 130))
        random = "rng" in __import__("inspect").signature(fn).parameters
        for dt in DTYPES:
            kw = dict(_ARGS.get(name, {}), dtype=fastinit._validate.as_dtype(dt))
            if random:
                kw["rng"] = 2026
            out[f"init_{name}_{dt}"] = (lambda fn=fn, shape=shape, kw=kw: fn(shape, **kw))
    # the Generator's NumPy-style methods, sequential draws
    for method, args in GENERATOR_METHODS.items():
        for dt in DTYPES:
            out[f"gen_{method}_{dt}"] = (lambda m=method, a=args, dt=dt: getattr(fastinit.default_rng(77), m)(
                *a, size=(33, 65), dtype=fastinit._validate.as_dtype(dt)))
    # orthogonal: the normal matrix it draws (sequentially, float64 whatever the dtype)
    out["init_orthogonal_input"] = lambda: fastinit.default_rng(2026).standard_normal((96, 130))
    # delta_orthogonal: the (in, out) normal matrix its centre factorizes (the first elements of its draw)
    out["init_delta_orthogonal_input"] = lambda: fastinit.default_rng(2026).standard_normal((40, 60))
    # the far and narrow truncated-normal windows (float64 internals for 32-bit outputs)
    for dt in DTYPES:
        out[f"truncated_normal_far_{dt}"] = (lambda dt=dt: fastinit.truncated_normal(
            (4099,), mean=0.0, std=0.02, a=0.16, b=0.18, dtype=fastinit._validate.as_dtype(dt), rng=5))
        out[f"truncated_normal_narrow_{dt}"] = (lambda dt=dt: fastinit.truncated_normal(
            (4099,), mean=1.0, std=1.0, a=1.0, b=1.5, dtype=fastinit._validate.as_dtype(dt), rng=5))
    return out


def test_every_initializer_is_pinned():
    from fastinit._initializers.functions import __all__ as names

    pinned = set(json.loads(GOLDEN.read_text())["sha256"])
    for name in names:
        if name in ("calculate_gain", "compute_fans"):
            continue
        if name in _LAPACK:
            assert f"init_{name}_input" in pinned
            continue
        for dt in DTYPES:
            assert f"init_{name}_{dt}" in pinned, f"{name} in {dt} has no golden hash"
    for method in GENERATOR_METHODS:
        for dt in DTYPES:
            assert f"gen_{method}_{dt}" in pinned, f"Generator.{method} in {dt} has no golden hash"
    public = {m for m in dir(fastinit.Generator) if not m.startswith("_")}
    numpy_style = {"random", "uniform", "standard_normal", "normal", "random_raw", "spawn", "key", "seed_seq",
                   "position"}
    assert public - numpy_style <= set(names), "a Generator method that is no initializer lacks a hash"


def test_orthogonal_factorizes_its_pinned_input():
    """The pinned normal matrix is what orthogonal factorizes: Q from it
    (signs from R's diagonal) equals the initializer's output closely."""
    x = fastinit.default_rng(2026).standard_normal((96, 130))
    q, r = np.linalg.qr(x.T)
    q = (q * np.sign(np.diag(r))).T
    np.testing.assert_allclose(fastinit.orthogonal((96, 130), dtype=np.float64, rng=2026), q, atol=1e-12)


def test_delta_orthogonal_factorizes_its_pinned_input():
    """Its centre is the Q of the pinned normal matrix (signs from R's
    diagonal), every other value 0."""
    x = fastinit.default_rng(2026).standard_normal((40, 60))
    q, r = np.linalg.qr(x.T)
    q = (q * np.sign(np.diag(r))).T
    w = fastinit.delta_orthogonal((3, 3, 40, 60), dtype=np.float64, rng=2026)
    np.testing.assert_allclose(w[1, 1], q, atol=1e-12)
    w[1, 1] = 0
    assert not w.any()


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
