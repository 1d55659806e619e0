"""init_model: specs, rules, safetensors output, shards, checkpoints, CLI."""

import json
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit import model
from reference import bits

safetensors_numpy = pytest.importorskip("safetensors.numpy")

SPEC = {
    "embed.weight": (1000, 64),
    "layers.0.attn.q.weight": (64, 64),
    "layers.0.attn.q.bias": (64,),
    "layers.0.norm.weight": (64,),
    "layers.0.mlp.up.weight": {"shape": [256, 64], "dtype": "float16"},
    "layers.0.mlp.down.weight": {"shape": [64, 256], "init": "he_uniform(mode='fan_out')"},
    "head.weight": (1000, 64),
}
RULES = {"*.bias": "zeros", "*norm.weight": "ones", "head.*": "xavier_normal", "*": "normal(std=0.02)"}


def _same(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(bits(a), bits(b))


@pytest.mark.parametrize("preset,params", [("gpt2", 124_439_808), ("tinyllama-1.1b", 1_100_048_384),
                                           ("llama-2-7b", 6_738_415_616)])
def test_presets_have_the_public_parameter_counts(preset, params):
    tensors = model.resolve(preset)
    assert sum(t.size for t in tensors) == params


def test_rules_and_spec_entries():
    arrays = fastinit.init_model(SPEC, rules=RULES, rng=0)
    assert list(arrays) == list(SPEC)
    assert not arrays["layers.0.attn.q.bias"].any()
    assert (arrays["layers.0.norm.weight"] == 1).all()
    assert arrays["layers.0.mlp.up.weight"].dtype == np.float16
    g = fastinit.default_rng(0)
    assert _same(arrays["embed.weight"], g.normal(0.0, 0.02, (1000, 64), dtype=np.float32, stream="embed.weight"))
    assert _same(arrays["head.weight"], g.xavier_normal((1000, 64), stream="head.weight"))
    assert _same(arrays["layers.0.mlp.down.weight"],
                 g.he_uniform((64, 256), mode="fan_out", stream="layers.0.mlp.down.weight"))


def test_any_subset_reproduces_the_same_values():
    full = fastinit.init_model(SPEC, rules=RULES, rng=5)
    part = fastinit.init_model(SPEC, rules=RULES, rng=5, names=["head.weight", "layers.0.mlp.up.weight"])
    assert set(part) == {"head.weight", "layers.0.mlp.up.weight"}
    for k, v in part.items():
        assert _same(v, full[k])
    with pytest.raises(ValueError, match="not in the spec"):
        fastinit.init_model(SPEC, names=["nope"])


def test_dtype_applies_to_tensors_without_their_own():
    arrays = fastinit.init_model(SPEC, rules=RULES, rng=0, dtype="bfloat16")
    assert arrays["layers.0.mlp.up.weight"].dtype == np.float16  # the spec's own dtype wins
    assert all(a.dtype == np.dtype(ml_dtypes.bfloat16) for k, a in arrays.items() if k != "layers.0.mlp.up.weight")
    # and its values are those of a float16 draw, whatever the default
    assert _same(arrays["layers.0.mlp.up.weight"], fastinit.init_model(SPEC, rules=RULES, rng=0)["layers.0.mlp.up.weight"])


def test_dtype_of_a_torch_module_is_every_tensors():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.LayerNorm(8).to(torch.float64))
    own = fastinit.init_model(net, rng=0)
    assert own["0.weight"].dtype == np.float32 and own["1.weight"].dtype == np.float64
    assert all(a.dtype == np.float16 for a in fastinit.init_model(net, rng=0, dtype="float16").values())


def test_caller_rules_come_first_then_the_specs_own_rules():
    spec = {"tensors": {"a.weight": [8, 4], "a.bias": [8], "n.weight": [8], "x.weight": [4, 4]},
            "rules": {"*.bias": "zeros", "n.*": "ones"}}
    arrays = fastinit.init_model(spec, rules={"a.*": "constant(value=3.0)"}, rng=0)
    assert (arrays["a.weight"] == 3).all() and (arrays["a.bias"] == 3).all()  # the caller's rule wins
    assert (arrays["n.weight"] == 1).all()  # the spec's rule still applies
    g = fastinit.default_rng(0)
    assert _same(arrays["x.weight"], g.normal(0.0, 0.02, (4, 4), dtype=np.float32, stream="x.weight"))  # default
    # a preset's rules stay too: GPT-2's LayerNorms are ones, its biases zeros
    gpt = fastinit.init_model("gpt2", rng=0, rules={"*.wte.weight": "zeros"},
                              names=["transformer.wte.weight", "transformer.ln_f.weight", "transformer.ln_f.bias"])
    assert not gpt["transformer.wte.weight"].any()
    assert (gpt["transformer.ln_f.weight"] == 1).all() and not gpt["transformer.ln_f.bias"].any()
    # and an entry's own init comes before everything
    own = fastinit.init_model({"a": {"shape": [3], "init": "ones"}}, rules={"*": "zeros"}, rng=0)
    assert (own["a"] == 1).all()


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_safetensors_file_equals_the_in_memory_result(tmp_path, dtype):
    path = tmp_path / "model.safetensors"
    rep = fastinit.init_model(SPEC, path, rules=RULES, rng=3, dtype=dtype, window=4096)  # many small windows
    assert rep["files"] == [str(path)] and rep["parameters"] == sum(t.size for t in model.resolve(SPEC))
    mem = fastinit.init_model(SPEC, rules=RULES, rng=3, dtype=dtype)
    loaded = safetensors_numpy.load_file(str(path))
    assert set(loaded) == set(mem)
    for k in mem:
        assert _same(loaded[k], mem[k]), k
    from fastinit._io.checkpoint import read_header

    header = read_header(path)
    assert header["__metadata__"]["format"] == "pt"
    assert header["__metadata__"]["fastinit_stream_version"] == str(fastinit.STREAM_VERSION)
    assert not [p for p in os.listdir(tmp_path) if "fastinit-tmp" in p]


def test_torch_loads_it_too(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    path = tmp_path / "m.safetensors"
    fastinit.init_model("tiny-llama-test", path, rng=1, dtype="bfloat16")
    mem = fastinit.init_model("tiny-llama-test", rng=1, dtype="bfloat16")
    t = load_file(str(path))
    for k, v in mem.items():
        assert t[k].dtype == torch.bfloat16
        assert np.array_equal(t[k].view(torch.int16).numpy(), v.view(np.int16))


def test_spec_from_json_toml_and_a_meta_module(tmp_path):
    j = tmp_path / "spec.json"
    j.write_text(json.dumps({"tensors": {k: (v if isinstance(v, dict) else list(v)) for k, v in SPEC.items()},
                             "rules": RULES}))
    t = tmp_path / "spec.toml"
    t.write_text('[tensors]\n"a.weight" = [16, 8]\n"a.bias" = [16]\n[rules]\n"*.bias" = "zeros"\n"*" = "lecun_normal"\n')
    assert all(_same(a, b) for a, b in zip(fastinit.init_model(j, rng=0).values(),
                                           fastinit.init_model(SPEC, rules=RULES, rng=0).values()))
    m = fastinit.init_model(t, rng=0)
    assert not m["a.bias"].any() and _same(m["a.weight"], fastinit.default_rng(0).lecun_normal((16, 8), stream="a.weight"))
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LayerNorm(16))
    arrays = fastinit.init_model(net, rules={"*.bias": "zeros", "1.weight": "ones"}, rng=0)
    assert {k: v.shape for k, v in arrays.items()} == {"0.weight": (16, 8), "0.bias": (16,), "1.weight": (16,),
                                                       "1.bias": (16,)}


@pytest.mark.parametrize("bad,exc,msg", [
    ({"x": (2, 2)}, ValueError, "unknown initializer 'nrmal'"),
    ({"x": {"shape": [2, 2], "init": "normal(std=__import__('os'))"}}, ValueError, "literals"),
    ({"x": {"shape": [2, 2], "init": "normal(0.02)"}}, ValueError, "form name"),
    ({"x": {"init": "zeros"}}, ValueError, "has no shape"),
    ({"x": {"shape": [2, 2], "dtype": "int32"}}, TypeError, "unsupported dtype"),
])
def test_bad_specs_fail_before_anything_is_written(tmp_path, bad, exc, msg):
    rules = {"*": "nrmal"} if "unknown" in msg else None
    with pytest.raises(exc, match=msg):
        fastinit.init_model(bad, tmp_path / "m.safetensors", rules=rules, rng=0)
    assert not os.listdir(tmp_path)


def test_a_failing_writer_leaves_no_file(tmp_path, monkeypatch):
    calls = []

    def boom(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return orig(*a, **k)

    orig = model._fill
    monkeypatch.setattr(model, "_fill", boom)
    with pytest.raises(KeyboardInterrupt):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", rules=RULES, rng=0)
    assert not os.listdir(tmp_path)  # neither the destination nor the temporary file


def test_shards_from_separate_processes_equal_the_single_file(tmp_path):
    single = tmp_path / "one" / "model.safetensors"
    single.parent.mkdir()
    fastinit.init_model("tiny-llama-test", single, rng=2, dtype="bfloat16")
    outdir = tmp_path / "sharded"
    outdir.mkdir()
    procs = [subprocess.Popen([sys.executable, "-m", "fastinit", "init-model", "--preset", "tiny-llama-test",
                               "--out", str(outdir / "model.safetensors"), "--seed", "2", "--dtype", "bfloat16",
                               "--shards", "3", "--shard-id", str(i), "--no-progress"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(3)]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    files = sorted(os.listdir(outdir))
    assert files == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                     "model-00003-of-00003.safetensors", "model.safetensors.index.json"]
    index = json.loads((outdir / "model.safetensors.index.json").read_text())
    want = safetensors_numpy.load_file(str(single))
    got = {}
    for f in files[:3]:
        got.update(safetensors_numpy.load_file(str(outdir / f)))
    assert set(got) == set(want) == set(index["weight_map"])
    assert index["metadata"]["total_size"] == sum(v.nbytes for v in want.values())
    for k in want:
        assert _same(got[k], want[k]) and index["weight_map"][k] in files


def test_from_checkpoint(tmp_path):
    ckpt = tmp_path / "ckpt.safetensors"
    old = {"embed.weight": np.random.default_rng(0).standard_normal((1000, 64)),  # float64: cast on copy
           "layers.0.attn.q.weight": np.ones((32, 64), dtype=np.float32),          # another shape
           "unused.weight": np.zeros((3,), dtype=np.float32)}
    safetensors_numpy.save_file(old, str(ckpt))
    with pytest.raises(ValueError, match="has shape \\(32, 64\\)"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", rules=RULES, rng=0, from_checkpoint=ckpt)
    rep = fastinit.init_model(SPEC, tmp_path / "m.safetensors", rules=RULES, rng=0, from_checkpoint=ckpt,
                              on_mismatch="skip")
    assert rep["copied"] == ["embed.weight"] and rep["mismatched"] == ["layers.0.attn.q.weight"]
    assert len(rep["initialized"]) == len(SPEC) - 1
    got = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    assert _same(got["embed.weight"], old["embed.weight"].astype(np.float32))
    fresh = fastinit.init_model(SPEC, rules=RULES, rng=0)
    for k in SPEC:
        if k != "embed.weight":
            assert _same(got[k], fresh[k])
    # in memory too, and through the command line
    mem = fastinit.init_model(SPEC, rules=RULES, rng=0, from_checkpoint=ckpt, on_mismatch="skip")
    assert _same(mem["embed.weight"], got["embed.weight"])


def test_cli_summary_and_errors(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"tensors": {"a.weight": [64, 32], "a.bias": [64]}, "rules": {"*.bias": "zeros"}}))
    out = subprocess.run([sys.executable, "-m", "fastinit", "init-model", "--spec", str(spec), "--out",
                          str(tmp_path / "m.safetensors"), "--seed", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2,112 parameters" in out.stdout and "GB/s" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "fastinit", "init-model", "--preset", "gpt2", "--out",
                          str(tmp_path / "x.safetensors"), "--rules", '{"*": "cauchy"}'], capture_output=True,
                         text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "unknown initializer 'cauchy'" in bad.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_bad_shard_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"shard_id: must be an int in \[0, 2\)"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=2, shard_id=2)
    with pytest.raises(ValueError, match="shards must be at least 1"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=0)


def test_rng_errors_of_init_model_and_init_module_say_rng():
    bad = np.random.default_rng(0)  # a NumPy Generator: fastinit needs its own key
    with pytest.raises(TypeError, match=r"^rng must be None, an int seed"):
        fastinit.init_model({"w": [2, 2]}, rng=bad)
    from fastinit import diagnostics

    with pytest.raises(TypeError, match=r"^rng must be None"):
        diagnostics.activation_stats("he_normal", depth=2, width=4, batch=4, rng=bad)
    torch = pytest.importorskip("torch")
    import fastinit.torch as fit

    with pytest.raises(TypeError, match=r"^rng must be None"):
        fit.init_module_(torch.nn.Linear(2, 2), rng=bad)


def test_matching_sources_decides_every_tensor_before_any_file_exists(tmp_path):
    from fastinit._io.checkpoint import Checkpoint

    ckpt_path = tmp_path / "ckpt.safetensors"
    safetensors_numpy.save_file({"embed.weight": np.zeros((1000, 64), dtype=np.float16),
                                 "head.weight": np.zeros((10, 64), dtype=np.float32),  # another shape
                                 "unused.weight": np.zeros((3,), dtype=np.float32)}, str(ckpt_path))
    tensors = model.resolve(SPEC, RULES)
    with Checkpoint(ckpt_path) as ckpt:
        source, matched = model._match_sources(tensors, ckpt, "skip")
        assert matched == {"copied": ["embed.weight"],
                           "initialized": [t.name for t in tensors if t.name != "embed.weight"],
                           "mismatched": ["head.weight"]}
        assert list(source) == [t.name for t in tensors]
        assert source["embed.weight"] is ckpt and all(source[k] is None for k in source if k != "embed.weight")
        with pytest.raises(ValueError, match=r"^from_checkpoint: checkpoint tensor 'head\.weight' has shape "
                                             r"\(10, 64\), the spec \(1000, 64\); pass on_mismatch='skip'"):
            model._match_sources(tensors, ckpt, "error")
    source, matched = model._match_sources(tensors, None, "error")  # no checkpoint: everything initialized
    assert set(source.values()) == {None}
    assert matched == {"copied": [], "initialized": [t.name for t in tensors], "mismatched": []}
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ValueError, match="has shape \\(10, 64\\)"):
        fastinit.init_model(SPEC, out_dir / "m.safetensors", rules=RULES, rng=0, from_checkpoint=ckpt_path,
                            shards=2)
    assert not os.listdir(out_dir)  # refused after the plan, before the first byte of any file


def test_a_checkpoint_tensor_that_cannot_be_copied_is_refused_with_the_argument_named(tmp_path):
    from fastinit._io.checkpoint import Checkpoint

    ckpt_path = tmp_path / "ckpt.safetensors"
    safetensors_numpy.save_file({"embed.weight": np.zeros((1000, 64), dtype=np.int32)}, str(ckpt_path))
    with Checkpoint(ckpt_path) as ckpt:
        with pytest.raises(TypeError, match=r"^from_checkpoint: checkpoint tensor 'embed\.weight' in .* has dtype "
                                            r"I32; only floating tensors"):
            model._match_sources(model.resolve(SPEC, RULES), ckpt, "skip")  # skip is about shapes, not dtypes


def test_the_report_of_a_write(tmp_path):
    path = tmp_path / "m.safetensors"
    rep = fastinit.init_model(SPEC, path, rules=RULES, rng=0, shards=2)
    assert list(rep) == ["copied", "initialized", "mismatched", "files", "parameters", "bytes", "seconds", "gb_per_s"]
    tensors = model.resolve(SPEC, RULES)
    assert rep["copied"] == rep["mismatched"] == [] and rep["initialized"] == list(SPEC)
    assert rep["files"] == [str(tmp_path / f"m-0000{i}-of-00002.safetensors") for i in (1, 2)]
    assert rep["parameters"] == sum(t.size for t in tensors)
    assert rep["bytes"] == sum(t.size * t.dtype.itemsize for t in tensors)
    assert rep["seconds"] > 0 and rep["gb_per_s"] == pytest.approx(rep["bytes"] / rep["seconds"] / 1e9)
    one = fastinit.init_model(SPEC, path, rules=RULES, rng=0, shards=2, shard_id=1)  # only the files it wrote
    assert one["files"] == [rep["files"][1]] and one["initialized"] == list(SPEC)
    assert one["parameters"] == sum(t.size for t in tensors if t.name in safetensors_numpy.load_file(rep["files"][1]))
