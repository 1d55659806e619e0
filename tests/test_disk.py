"""Data on disk: destinations checked before writing, nothing stranded by an
error, SIGTERM, SIGINT or SIGKILL, shards of one model only, ordinary modes."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit._io import checkpoint as _checkpoint
from fastinit import model
from fastinit._io.checkpoint import read_header

safetensors_numpy = pytest.importorskip("safetensors.numpy")

SPEC = {"a.weight": (64, 32), "a.bias": (64,), "b.weight": (128, 64), "c.weight": (32, 32)}
BIG = {f"w{i}": (4096, 4096) for i in range(32)}  # 2 GiB of float32: long enough to interrupt


def _cli(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "fastinit", "init-model", *map(str, args), "--no-progress"],
                          cwd=cwd, capture_output=True, text=True, timeout=120, **kw)


def _leftovers(folder):
    return [f for f in os.listdir(folder) if "fastinit-tmp" in f]


# ---------------------------------------------------------------- shards


def test_shard_id_needs_an_explicit_seed(tmp_path):
    p = _cli("--spec", _spec(tmp_path), "--out", tmp_path / "m.safetensors", "--shards", 2, "--shard-id", 0,
             cwd=tmp_path)
    assert p.returncode == 2 and "--shard-id needs --seed" in p.stderr
    with pytest.raises(ValueError, match="shard_id: each writer .* explicit rng"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=2, shard_id=1)
    assert os.listdir(tmp_path) == ["spec.json"]


def test_a_shard_of_another_key_is_refused(tmp_path):
    out = tmp_path / "m.safetensors"
    fastinit.init_model(SPEC, out, shards=2, shard_id=0, rng=1)
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}
    assert sorted(before) == ["m-00001-of-00002.safetensors", "m.safetensors.index.json"]
    with pytest.raises(ValueError, match="with key .* the shards would not form one model"):
        fastinit.init_model(SPEC, out, shards=2, shard_id=1, rng=2)
    p = _cli("--spec", _spec(tmp_path), "--out", out, "--shards", 2, "--shard-id", 1, "--seed", 3, cwd=tmp_path)
    assert p.returncode == 2 and "would not form one model" in p.stderr
    after = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path) if f != "spec.json"}
    assert after == before
    # the same seed is welcome, and the shards assemble the single-file model
    fastinit.init_model(SPEC, out, shards=2, shard_id=1, rng=1)
    got = {}
    for f in ("m-00001-of-00002.safetensors", "m-00002-of-00002.safetensors"):
        got.update(safetensors_numpy.load_file(str(tmp_path / f)))
    want = fastinit.init_model(SPEC, rng=1)
    assert set(got) == set(want) and all(np.array_equal(got[k], want[k]) for k in want)
    index = json.loads((tmp_path / "m.safetensors.index.json").read_text())
    assert index["metadata"]["fastinit_key"] == read_header(tmp_path / "m-00002-of-00002.safetensors")[
        "__metadata__"]["fastinit_key"]


def test_an_index_of_another_key_is_refused(tmp_path):
    out = tmp_path / "m.safetensors"
    fastinit.init_model(SPEC, out, shards=2, shard_id=1, rng=1)
    with pytest.raises(ValueError, match="would not form one model"):
        fastinit.init_model(SPEC, out, shards=2, shard_id=0, rng=5)
    assert sorted(os.listdir(tmp_path)) == ["m-00002-of-00002.safetensors"]


# ---------------------------------------------------------- destinations


def test_a_folder_as_out_fails_before_writing(tmp_path):
    (tmp_path / "model.safetensors").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        fastinit.init_model(SPEC, tmp_path / "model.safetensors", rng=0)
    p = _cli("--spec", _spec(tmp_path), "--out", tmp_path / "model.safetensors", "--seed", 0, cwd=tmp_path)
    assert p.returncode == 2 and "is a folder" in p.stderr
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors", "spec.json"]
    assert not os.listdir(tmp_path / "model.safetensors")


def test_an_index_path_that_is_a_folder_fails_before_any_shard(tmp_path):
    (tmp_path / "m.safetensors.index.json").mkdir()
    with pytest.raises(IsADirectoryError, match="index.json' is a folder"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=2, rng=0)
    assert os.listdir(tmp_path) == ["m.safetensors.index.json"]


def test_a_missing_parent_folder_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=f"the folder '{missing}' does not exist"):
        fastinit.init_model(SPEC, missing / "m.safetensors", rng=0)
    p = _cli("--spec", _spec(tmp_path), "--out", missing / "m.safetensors", "--seed", 0, cwd=tmp_path)
    assert p.returncode == 2 and str(missing) in p.stderr
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_get_the_mode_open_gives(tmp_path, umask):
    code = ("import os, sys, fastinit\n"
            f"os.umask({umask})\n"
            "fastinit.init_model({'a': (4, 4), 'b': (8,)}, sys.argv[1], shards=2, rng=0)\n"
            "open(sys.argv[2], 'w').close()\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.safetensors"), str(tmp_path / "plain")],
                   check=True, cwd=tmp_path, timeout=120)
    want = stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
    assert want == 0o666 & ~umask
    files = [f for f in os.listdir(tmp_path) if f.startswith("m")]
    assert len(files) == 3
    for f in files:
        assert stat.S_IMODE(os.stat(tmp_path / f).st_mode) == want, f


# ------------------------------------------------------- interruptions


def _start_big(tmp_path, extra=()):
    (tmp_path / "spec.json").write_text(json.dumps(BIG))
    dest = tmp_path / "m.safetensors"
    # a parent started in the background (CI, nohup) may ignore SIGINT, and
    # its children inherit that: give the writer the default disposition a
    # terminal's process has, so that SIGINT means Ctrl-C
    p = subprocess.Popen([sys.executable, "-m", "fastinit", "init-model", "--spec", str(tmp_path / "spec.json"),
                          "--out", str(dest), "--seed", "0", "--no-progress", *extra], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return p, dest


def _wait_until_writing(p, tmp_path):
    """Until the writer has a file open (unnamed under O_TMPFILE: seen in /proc)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _leftovers(tmp_path):
            break
        try:
            fds = os.listdir(f"/proc/{p.pid}/fd")
            if any("fastinit-tmp" in os.readlink(f"/proc/{p.pid}/fd/{fd}") or
                   os.readlink(f"/proc/{p.pid}/fd/{fd}").startswith(str(tmp_path) + "/#")
                   for fd in fds if _readable(p.pid, fd)):
                break
        except (FileNotFoundError, ProcessLookupError):
            pass
        assert p.poll() is None, p.stderr.read()
        time.sleep(0.01)
    time.sleep(0.05)  # into the fill
    assert p.poll() is None, "the writer finished before it could be interrupted"


def _readable(pid, fd):
    try:
        os.readlink(f"/proc/{pid}/fd/{fd}")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signalled_writer_leaves_nothing(tmp_path, sig):
    p, dest = _start_big(tmp_path)
    _wait_until_writing(p, tmp_path)
    p.send_signal(sig)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        raise
    assert p.returncode != 0
    assert not dest.exists()
    assert _leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["spec.json"]


def test_a_stale_named_temp_is_removed_by_the_next_writer(tmp_path):
    # what a SIGKILLed writer leaves where the filesystem has no O_TMPFILE
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from fastinit._io.safetensors import _host

    host = _host()
    stale = tmp_path / f".m.safetensors.{host}.{dead.pid}.0123abcd.fastinit-tmp"
    stale.write_bytes(b"\0" * 4096)
    alive = tmp_path / f".m.safetensors.{host}.{os.getppid()}.0123abcd.fastinit-tmp"  # a running writer's: kept
    alive.write_bytes(b"")
    other = tmp_path / f".other.safetensors.{host}.{dead.pid}.0123abcd.fastinit-tmp"  # another destination's
    other.write_bytes(b"")
    remote = tmp_path / f".m.safetensors.{host}x.{dead.pid}.0123abcd.fastinit-tmp"  # another machine's: kept
    remote.write_bytes(b"")
    fastinit.init_model(SPEC, tmp_path / "m.safetensors", rng=0)
    assert not stale.exists() and alive.exists() and other.exists() and remote.exists()


def test_the_named_fallback_commits_and_cleans_up(tmp_path, monkeypatch):
    # a filesystem without O_TMPFILE: the named temporary path
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    fastinit.init_model(SPEC, tmp_path / "m.safetensors", rng=4)
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]
    got = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    want = fastinit.init_model(SPEC, rng=4)
    assert all(np.array_equal(got[k], want[k]) for k in want)

    calls = []
    orig = model._fill

    def boom(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return orig(*a, **k)

    monkeypatch.setattr(model, "_fill", boom)
    with pytest.raises(RuntimeError):
        fastinit.init_model(SPEC, tmp_path / "n.safetensors", rng=4)
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]


def test_a_failing_initializer_names_the_tensor(tmp_path):
    with pytest.raises(ValueError, match=r"tensor 'a.bias' \(shape \(64,\), float32, he_normal\): .*dimensions"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", rules={"*": "he_normal"}, rng=0)
    assert os.listdir(tmp_path) == []


def _spec(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    return path


# ------------------------------------------------------------ --from


def _round_to_bits(x, bits):
    """x (float64) rounded once, to nearest even, to `bits` significant bits."""
    m, e = np.frexp(x)
    return np.ldexp(np.rint(m * 2.0**bits), e - bits)


def _write_checkpoint(path, arrays):
    from fastinit._io.safetensors import Entry, Writer

    entries = [Entry(k, v.shape, v.dtype) for k, v in arrays.items()]
    with Writer(path, entries) as w:
        for e, v in zip(entries, arrays.values()):
            w.write_rows(e, 0, v.shape[0], lambda view, v=v: view.__setitem__(Ellipsis, v))


SOURCE = np.concatenate([
    np.random.default_rng(0).standard_normal(2000) * 10.0 ** np.random.default_rng(1).integers(-3, 4, 2000),
    [1 + 2**-8 + 2**-30, -(1 + 2**-8 + 2**-30), 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-11 + 2**-40, 0.0, -0.0],
])


@pytest.mark.parametrize("source", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("target", ["float64", "float32", "float16", "bfloat16"])
def test_from_checkpoint_any_float_dtype_into_any_dtype(tmp_path, source, target):
    sdt = fastinit._validate.as_dtype(source)
    src = SOURCE.astype(np.float64)
    if source == "bfloat16":
        src = _round_to_bits(src, 8)
    elif source != "float64":
        src = src.astype(sdt).astype(np.float64)
    src = src[np.abs(src) < 6e4].reshape(-1, 1)  # inside float16's range
    ckpt = tmp_path / "ckpt.safetensors"
    _write_checkpoint(ckpt, {"w": src.astype(sdt) if source != "bfloat16" else src.astype(np.float32).astype(sdt)})
    out = tmp_path / "m.safetensors"
    p = _cli("--spec", _spec_w(tmp_path, src.shape), "--out", out, "--seed", 0, "--dtype", target, "--from", ckpt,
             cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "copied 1 tensors" in p.stdout
    got = _checkpoint.Checkpoint(out).rows("w", 0, src.shape[0], np.dtype(np.float64))
    want = {"float64": src, "float32": src.astype(np.float32).astype(np.float64),
            "float16": src.astype(np.float16).astype(np.float64), "bfloat16": _round_to_bits(src, 8)}[target]
    assert np.array_equal(got, want), np.flatnonzero(got != want)[:5]
    assert read_header(out)["w"]["dtype"] == {"float64": "F64", "float32": "F32", "float16": "F16",
                                               "bfloat16": "BF16"}[target]


def test_float64_to_bfloat16_rounds_once():
    x = np.array([1 + 2**-8 + 2**-30, -(1 + 2**-8 + 2**-30), 3.0e38, 1e-40, np.inf, -np.inf])
    got = _checkpoint.cast_once(x, ml_dtypes.bfloat16).astype(np.float64)
    assert got[0] == 1 + 2**-7 and got[1] == -(1 + 2**-7)  # not 1.0, as through float32 rounded to nearest
    assert np.array_equal(got[2:], x[2:].astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64))
    assert np.isnan(_checkpoint.cast_once(np.array([np.nan]), ml_dtypes.bfloat16).astype(np.float32)).all()


def _spec_w(tmp_path, shape):
    path = tmp_path / "spec_w.json"
    path.write_text(json.dumps({"w": list(shape)}))
    return path
