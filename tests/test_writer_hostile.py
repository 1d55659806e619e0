"""init_model and `fastinit init-model` against hostile input and hostile
disks: bad specs and flags are one-line errors naming the flag, a full disk
is an OSError (never a SIGBUS), a split is committed as one set, and no
destination that is not a regular file is replaced."""

import errno
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

import fastinit
from fastinit._io import safetensors as _safetensors
from fastinit import model
from fastinit._io.checkpoint import read_header

SPEC = {"a.weight": (64, 32), "a.bias": (64,), "b.weight": (128, 64), "c.weight": (32, 32)}


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastinit", "init-model", *map(str, args), "--no-progress"],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def _snapshot(folder):
    return {f: (folder / f).read_bytes() for f in sorted(os.listdir(folder)) if (folder / f).is_file()}


# ------------------------------------------------- one-line CLI errors

def _write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


GRID = [
    # (spec file name, its bytes, extra flags, what the message says)
    ("huge.json", '{"a": [2305843009213693952]}', [], "--spec: shape of tensor 'a'"),
    ("list.json", "[1, 2]", [], "--spec: .* a JSON list"),
    ("tensors_list.json", '{"tensors": [1]}', [], "'tensors' must be an object"),
    ("tensors_str.json", '{"tensors": "x", "rules": {}}', [], "'tensors' must be an object"),
    ("str_dim.json", '{"a": ["2", 3]}', [], "--spec: shape of tensor 'a'"),
    ("float_dim.json", '{"a": [2.5]}', [], "--spec: shape of tensor 'a'"),
    ("nested.json", '{"a": [[2]]}', [], "--spec: shape of tensor 'a'"),
    ("str_shape.json", '{"a": "abc"}', [], "--spec: shape of tensor 'a'"),
    ("bool_dim.json", '{"a": [true]}', [], "--spec: shape of tensor 'a'"),
    ("neg.json", '{"a": [-1]}', [], "--spec: shape of tensor 'a'"),
    ("noshape.json", '{"a": {"init": "zeros"}}', [], "--spec: tensor 'a' has no shape"),
    ("badkey.json", '{"a": {"shap": [2]}}', [], "--spec: tensor 'a': unknown key 'shap'"),
    ("int_init.json", '{"a": {"shape": [2], "init": 5}}', [], "--spec: tensor 'a'"),
    ("bad_init.json", '{"a": {"shape": [2], "init": "nrmal"}}', [], "--spec: tensor 'a': unknown initializer"),
    ("spec_dtype.json", '{"a": {"shape": [2], "dtype": "int32"}}', [], "--spec: dtype of tensor 'a'"),
    ("spec_dtype2.json", '{"a": {"shape": [2], "dtype": "(f4,3)"}}', [], "--spec: dtype of tensor 'a'"),
    ("spec_rules.json", '{"tensors": {"a": [2]}, "rules": 5}', [], "--spec: rules"),
    ("spec_rules2.json", '{"tensors": {"a": [2]}, "rules": [["*"]]}', [], "--spec: rules"),
    ("spec_rules3.json", '{"tensors": {"a": [2]}, "rules": {"*": "cauchy"}}', [], "--spec: rules: rule '\\*'"),
    ("meta.json", '{"__metadata__": [4]}', [], "--spec: tensor '__metadata__'"),
    ("latin1.json", b'{"\xe9": [2]}', [], "--spec: .* is not UTF-8"),
    ("utf16.json", b"\xff\xfe{\x00", [], "--spec: .* is not UTF-8"),
    ("invalid.json", '{"a": ', [], "--spec: .* is not valid JSON"),
    ("deep.json", "[" * 100000 + "]" * 100000, [], "--spec: .* is not valid JSON"),
    ("invalid.toml", "a = [", [], "--spec: .* is not valid TOML"),
    ("latin1.toml", b"a = [2]\n# \xe9\n", [], "--spec: .* is not UTF-8"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--dtype", "(f4,3)"], "--dtype: '\\(f4,3\\)'"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--dtype", "int8"], "--dtype: "),
    ("ok.json", '{"a": [4], "b": [2]}', ["--dtype", "nonsense"], "--dtype: "),
    ("ok.json", '{"a": [4], "b": [2]}', ["--rules", "*=constant(value=1e40)"],
     "--rules: tensor 'a' .*constant\\(value=1e\\+40\\).*overflows float32"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--rules", "*=normal(sdt=1)"], "--rules: rule '\\*'.* no argument 'sdt'"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--rules", "*=normal(std=" + "[" * 1000 + "]" * 1000 + ")"],
     "--rules: "),
    ("ok.json", '{"a": [4], "b": [2]}', ["--rules", "*=he_normal"], "--rules: tensor 'a'"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--shards", "100000"], "--shards: 100000 files for 2 tensors"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--shards", "0"], "--shards: must be at least 1"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--shard-id", "0"], "--shard-id: .*give --shards N"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--shards", "2", "--shard-id", "2"], "--shard-id: must be in \\[0, 2\\)"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--from", "nope.safetensors"], "--from: no file"),
    ("ok.json", '{"a": [4], "b": [2]}', ["--seed", "-1"], "--seed: "),
]


@pytest.mark.parametrize("name,data,extra,msg", GRID, ids=[f"{g[0]}{' '.join(g[2])}"[:60] for g in GRID])
def test_bad_input_is_one_line_naming_the_flag(tmp_path, name, data, extra, msg):
    import re

    spec = _write(tmp_path / name, data)
    seed = [] if "--seed" in extra else ["--seed", "0"]
    p = _cli("--spec", spec, "--out", tmp_path / "m.safetensors", *seed, *extra, cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("fastinit init-model: error: "), lines[0]
    assert re.search(msg, lines[0]), lines[0]
    assert "Traceback" not in p.stderr and p.stdout == ""
    assert sorted(os.listdir(tmp_path)) == [name]  # nothing written, no temporary file


def test_python_errors_name_the_parameters(tmp_path):
    with pytest.raises(ValueError, match="^shards: 5 files for 4 tensors"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=5, rng=0)
    with pytest.raises(ValueError, match="^shard_id: .*shards is 1"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shard_id=1, rng=0)
    with pytest.raises(TypeError, match="^dtype: "):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", dtype="(f4,3)", rng=0)
    with pytest.raises(ValueError, match="^spec: shape of tensor 'x'"):
        fastinit.init_model({"x": [2**61]}, tmp_path / "m.safetensors", rng=0)
    with pytest.raises(ValueError, match=r"^rules: tensor 'a.weight' .*constant\(value=1e\+40\)"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", rules={"*": "constant(value=1e40)"}, rng=0)
    with pytest.raises(TypeError, match="^rules: each rule"):
        fastinit.init_model(SPEC, rules=[("*", "zeros", "extra")], rng=0)
    with pytest.raises(TypeError, match="^names: expected a list"):
        fastinit.init_model(SPEC, names="a.weight", rng=0)
    with pytest.raises(ValueError, match="^shards: .*needs out="):
        fastinit.init_model(SPEC, shards=2, rng=0)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------- shard count

def test_shards_more_than_tensors_are_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="shards: 100000 files for 4 tensors; .* at most 4"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=100000, rng=0)
    with pytest.raises(ValueError, match="shards: 5 files"):  # every writer of a split computes the same check
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=5, shard_id=0, rng=0)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("sizes,n", [([1000, 1, 1], 3), ([1, 1, 1000], 3), ([5, 1000, 1, 1, 1], 4),
                                     ([10**6] + [1] * 9, 10), ([1] * 7, 7), ([3, 3, 3, 3], 2)])
def test_no_shard_is_ever_empty(tmp_path, sizes, n):
    spec = {f"t{i}": (s,) for i, s in enumerate(sizes)}
    fastinit.init_model(spec, tmp_path / "tiny.safetensors", shards=n, rng=0)
    index = json.loads((tmp_path / "tiny.safetensors.index.json").read_text())
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith("safetensors"))
    assert files == [f"tiny-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]  # named after --out's stem
    assert sorted(set(index["weight_map"].values())) == files
    for f in files:
        assert [k for k in read_header(tmp_path / f) if k != "__metadata__"], f
    # tensors in spec order, file after file
    order = [k for f in files for k in read_header(tmp_path / f) if k != "__metadata__"]
    assert sorted(order, key=list(spec).index) == order


@pytest.mark.parametrize("preset,n", [("gpt2", 2), ("gpt2", 8), ("tinyllama-1.1b", 4), ("llama-2-7b", 16),
                                      ("tiny-llama-test", 4)])
def test_the_split_is_by_bytes_and_unchanged_where_no_file_was_empty(preset, n):
    sizes = [t.size * t.dtype.itemsize for t in model.resolve(preset)]
    total, acc, old = sum(sizes), 0, []
    for s in sizes:
        old.append(min(n - 1, acc * n // total))
        acc += s
    new = model._split(sizes, n)
    assert sorted(set(new)) == list(range(n))
    if sorted(set(old)) == list(range(n)):
        assert new == old
    else:  # tiny-llama-test in 4: the split by bytes alone left the last file empty
        assert sum(a != b for a, b in zip(old, new)) == 1


def test_cli_shards_are_named_after_out(tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps({k: list(v) for k, v in SPEC.items()}))
    p = _cli("--spec", tmp_path / "spec.json", "--out", tmp_path / "tiny.safetensors", "--seed", 0, "--shards", 2,
             cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(tmp_path)) == ["spec.json", "tiny-00001-of-00002.safetensors",
                                            "tiny-00002-of-00002.safetensors", "tiny.safetensors.index.json"]
    h = subprocess.run([sys.executable, "-m", "fastinit", "init-model", "-h"], capture_output=True, text=True,
                       cwd=tmp_path)  # not the repository root, whose source folder has no compiled core
    assert "named after its stem" in " ".join(h.stdout.split())


# -------------------------------------------------- a split is one set

def test_an_error_in_shard_k_leaves_the_previous_set_as_it_was(tmp_path, monkeypatch):
    out = tmp_path / "m.safetensors"
    fastinit.init_model(SPEC, out, shards=3, rng=1)
    before = _snapshot(tmp_path)
    assert len(before) == 4
    orig = model._fill

    def boom(t, *a, **k):
        if t.name == "c.weight":  # in the last shard: the first two are written by then
            raise RuntimeError("disk on fire")
        return orig(t, *a, **k)

    monkeypatch.setattr(model, "_fill", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        fastinit.init_model(SPEC, out, shards=3, rng=2)
    assert _snapshot(tmp_path) == before  # bytes and index unchanged, no temporary file
    monkeypatch.setattr(model, "_fill", orig)

    # an error while the index is written, after every shard: the same
    def index_boom(*a, **k):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(model, "write_atomic", index_boom)
    with pytest.raises(OSError, match="out: writing .*index.json"):
        fastinit.init_model(SPEC, out, shards=3, rng=2)
    assert _snapshot(tmp_path) == before


def test_a_mixed_set_is_repaired_by_a_full_write_and_refused_by_a_shard_writer(tmp_path):
    out = tmp_path / "m.safetensors"
    fastinit.init_model(SPEC, out, shards=2, rng=1)
    fastinit.init_model(SPEC, out, shards=2, shard_id=1, rng=1)
    # a stale shard of another key beside the index: what a crash in the middle of publishing could leave
    other = tmp_path / "other"
    other.mkdir()
    fastinit.init_model(SPEC, other / "m.safetensors", shards=2, rng=9)
    os.replace(other / "m-00002-of-00002.safetensors", tmp_path / "m-00002-of-00002.safetensors")
    with pytest.raises(ValueError, match="would not form one model"):
        fastinit.init_model(SPEC, out, shards=2, shard_id=0, rng=1)
    fastinit.init_model(SPEC, out, shards=2, rng=1)  # the whole set: repaired
    keys = {read_header(tmp_path / f)["__metadata__"]["fastinit_key"] for f in os.listdir(tmp_path)
            if f.endswith(".safetensors")}
    index = json.loads((tmp_path / "m.safetensors.index.json").read_text())
    assert keys == {index["metadata"]["fastinit_key"]}
    # an index of another split (3 files) is refused by a writer of a 2-file split
    fastinit.init_model(SPEC, out, shards=3, rng=1)
    with pytest.raises(ValueError, match="lists files of another split"):
        fastinit.init_model(SPEC, out, shards=2, shard_id=1, rng=1)


# ------------------------------------------------------------ disk full

def test_a_full_disk_is_refused_before_writing(tmp_path):
    free = _safetensors.free_bytes(str(tmp_path))
    with pytest.raises(OSError, match=r"out: not enough space on the disk for .*m.safetensors.* bytes needed") as e:
        fastinit.init_model({"w": [2**40]}, tmp_path / "m.safetensors", rng=0)  # 4 TiB
    assert e.value.errno == errno.ENOSPC and free < 4 * 2**40
    assert os.listdir(tmp_path) == []
    p = _cli("--preset", "tiny-llama-test", "--out", tmp_path / "x.safetensors", "--seed", 0, cwd=tmp_path)
    assert p.returncode == 0  # and a model that fits is written


def test_posix_fallocate_failing_with_enospc_leaves_nothing(tmp_path, monkeypatch):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(OSError, match=r"out: not enough space on the disk for .*m-00001-of-00002") as e:
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=2, rng=0)
    assert e.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []


def test_without_fallocate_zeros_reserve_the_space(tmp_path, monkeypatch):
    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "posix_fallocate", unsupported, raising=False)
    fastinit.init_model(SPEC, tmp_path / "m.safetensors", rng=3)
    monkeypatch.delattr(os, "posix_fallocate", raising=False)
    fastinit.init_model(SPEC, tmp_path / "n.safetensors", rng=3)
    from safetensors.numpy import load_file

    want = fastinit.init_model(SPEC, rng=3)
    for f in ("m.safetensors", "n.safetensors"):
        got = load_file(str(tmp_path / f))
        assert all(np.array_equal(got[k], want[k]) for k in want)


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_a_really_full_disk_is_an_error_not_a_sigbus(tiny_tmpfs):
    spec = {"w": [1024, 1024]}  # 4 MiB on a 1 MiB filesystem
    p = _cli("--spec", _write(tiny_tmpfs / "s.json", json.dumps(spec)), "--out", tiny_tmpfs / "m.safetensors",
             "--seed", 0, cwd=tiny_tmpfs)
    assert p.returncode == 2 and "not enough space" in p.stderr and len(p.stderr.splitlines()) == 1
    # the same without the free-space check up front: the reservation itself fails, cleanly
    code = ("import sys, fastinit\nfrom fastinit._io import safetensors as _safetensors\n"
            "_safetensors.free_bytes = lambda folder: None\n"
            "try:\n    fastinit.init_model({'w': [1024, 1024]}, sys.argv[1], rng=0)\n"
            "except OSError as e:\n    print(e.errno, e)\n    sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code, str(tiny_tmpfs / "m.safetensors")], capture_output=True,
                       text=True, timeout=120, cwd=tiny_tmpfs)
    assert r.returncode == 3, (r.returncode, r.stderr)  # not 135 (SIGBUS)
    assert r.stdout.startswith(f"{errno.ENOSPC} out: not enough space")
    assert sorted(os.listdir(tiny_tmpfs)) == ["s.json"]
    # and a model that fits is written there
    fastinit.init_model({"w": [64, 64]}, tiny_tmpfs / "ok.safetensors", rng=0)
    assert (tiny_tmpfs / "ok.safetensors").stat().st_size > 64 * 64 * 4


# ------------------------------------------------- destinations, names

@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_an_existing_destination_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    import socket

    node = tmp_path / "node"
    if kind == "fifo":
        os.mkfifo(node)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(str(node))
        except OSError as exc:
            pytest.skip(f"no unix socket here: {exc}")
    else:
        node = "/dev/null"
    try:
        for target, kw in ((node, {}),):
            mode = os.stat(target).st_mode
            with pytest.raises(ValueError, match="exists and is a .*not a regular file; refusing"):
                fastinit.init_model(SPEC, target, rng=0, **kw)
            assert os.stat(target).st_mode == mode
        p = _cli("--spec", _write(tmp_path / "s.json", json.dumps({"a": [2]})), "--out", node, "--seed", 0,
                 cwd=tmp_path)
        assert p.returncode == 2 and "--out: " in p.stderr and "not a regular file" in p.stderr
        assert not stat.S_ISREG(os.stat(node).st_mode)
    finally:
        if kind == "socket":
            s.close()


def test_shard_files_and_the_index_are_checked_too(tmp_path):
    os.mkfifo(tmp_path / "m-00002-of-00002.safetensors")
    with pytest.raises(ValueError, match="m-00002-of-00002.safetensors' exists and is a FIFO"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=2, rng=0)
    os.unlink(tmp_path / "m-00002-of-00002.safetensors")
    os.mkfifo(tmp_path / "m.safetensors.index.json")
    with pytest.raises(ValueError, match="index.json' exists and is a FIFO"):
        fastinit.init_model(SPEC, tmp_path / "m.safetensors", shards=2, rng=0)
    assert os.listdir(tmp_path) == ["m.safetensors.index.json"]


def test_a_symlink_is_followed_to_its_regular_target(tmp_path):
    target = tmp_path / "real.safetensors"
    target.write_bytes(b"old")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    fastinit.init_model(SPEC, link, rng=0)
    assert link.is_symlink() and os.readlink(link) == str(target)  # the link stays, its target is replaced
    assert tuple(read_header(target)["a.bias"]["shape"]) == (64,)
    os.unlink(target)
    os.mkfifo(target)
    with pytest.raises(ValueError, match="real.safetensors' exists and is a FIFO"):
        fastinit.init_model(SPEC, link, rng=0)


def test_a_tensor_named_metadata_is_refused(tmp_path):
    with pytest.raises(ValueError, match="tensor '__metadata__': the name is reserved"):
        fastinit.init_model({"__metadata__": [4], "a": [2]}, tmp_path / "m.safetensors", rng=0)
    with pytest.raises(ValueError, match="tensor '__metadata__'"):
        _safetensors.layout([_safetensors.Entry("__metadata__", (2,), np.dtype(np.float32))])
    assert os.listdir(tmp_path) == []
