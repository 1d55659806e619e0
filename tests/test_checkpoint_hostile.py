"""Checkpoints crafted by hand: fastinit accepts exactly the files the
safetensors library accepts, copies exactly the bytes it would read, and
refuses the rest with one error naming the file, before writing anything."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import fastinit
from fastinit._io.checkpoint import Checkpoint, read_header

safetensors = pytest.importorskip("safetensors")
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

W = {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}
B = {"dtype": "F32", "shape": [4], "data_offsets": [64, 80]}
SPEC = {"tensors": {"wte.weight": [4, 4], "h.bias": [4]}}
DATA = np.arange(20, dtype=np.float32).tobytes()  # wte.weight = 0..15, h.bias = 16..19


def J(obj) -> bytes:
    return json.dumps(obj).encode()


def pairs(*items) -> bytes:
    """A JSON object written with these (key, raw JSON value) pairs, repeats kept."""
    return b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in items) + b"}"


def blob(header: bytes, data: bytes = b"", length=None, pad=True) -> bytes:
    if pad:
        header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def model(**override) -> bytes:
    """The two-tensor file of SPEC, entries overridden."""
    return J({"wte.weight": {**W, **override.get("w", {})}, "h.bias": {**B, **override.get("b", {})}})


# name -> the file's bytes.  Each is judged by the safetensors library in the test.
FILES = {
    "valid": blob(model(), DATA),
    "valid, tensors stored in another order": blob(
        J({"wte.weight": {**W, "data_offsets": [16, 80]}, "h.bias": {**B, "data_offsets": [0, 16]}}), DATA),
    "valid, header not padded": blob(model(), DATA, pad=False),
    "valid, leading whitespace": blob(b"  " + model(), DATA),
    "valid, metadata": blob(J({"__metadata__": {"format": "pt"}, **json.loads(model())}), DATA),
    "valid, null metadata": blob(J({"__metadata__": None, **json.loads(model())}), DATA),
    "valid, unknown field": blob(model(w={"extra": [1, 2]}), DATA),
    "valid, repeated identical name": blob(pairs(("wte.weight", J(W)), ("wte.weight", J(W)), ("h.bias", J(B))), DATA),
    "valid, repeated name, the last counts": blob(
        pairs(("wte.weight", J({**W, "data_offsets": [8, 72]})), ("wte.weight", J(W)), ("h.bias", J(B))), DATA),
    "valid, empty header": blob(b"{}"),
    "valid, zero-size tensors": blob(J({"a": {**W, "shape": [0, 4], "data_offsets": [0, 0]},
                                        "b": {**W, "shape": [0], "data_offsets": [0, 0]}})),
    "valid, an int tensor": blob(J({"i": {**W, "dtype": "I32"}}), DATA[:64]),
    "valid, a 4-bit tensor of whole bytes": blob(J({"f": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}),
                                                b"\0\0"),
    # the hostile ones
    "header length 2**40": blob(b"{}", length=2**40),
    "header length past the end": blob(model(), DATA, length=500),
    "header length 100000001": blob(b"{}", length=100_000_001),
    "negative offset": blob(model(w={"data_offsets": [-64, 0]}), DATA),
    "offset past the data": blob(model(w={"data_offsets": [0, 10**9]}), DATA),
    "span shorter than the shape": blob(model(w={"data_offsets": [0, 32]}, b={"data_offsets": [32, 48]}), DATA[:48]),
    "span longer than the shape": blob(model(w={"data_offsets": [0, 68]}, b={"data_offsets": [68, 84]}),
                                       DATA + b"\0" * 4),
    "gap before a tensor": blob(model(w={"data_offsets": [8, 72]}, b={"data_offsets": [72, 88]}), b"\0" * 8 + DATA),
    "overlapping tensors": blob(model(b={"data_offsets": [48, 64]}), DATA[:64]),
    "bytes left over": blob(model(), DATA + b"\0" * 8),
    "truncated data": blob(model(), DATA[:40]),
    "truncated header": blob(model(), b"")[:40],
    "reversed offsets": blob(J({"z": {**W, "shape": [0], "data_offsets": [64, 0]}}), DATA[:64]),
    "offsets of three": blob(model(w={"data_offsets": [0, 64, 1]}), DATA),
    "boolean offset": blob(model(w={"data_offsets": [False, 64]}), DATA),
    "string offset": blob(model(w={"data_offsets": ["0", "64"]}), DATA),
    "float shape": blob(model(w={"shape": [4.0, 4]}), DATA),
    "exponent shape": blob(model().replace(b"[4, 4]", b"[4, 4e0]"), DATA),
    "negative shape": blob(model(w={"shape": [-4, -4]}), DATA),
    "null shape": blob(model(w={"shape": None}), DATA),
    "overflowing shape": blob(model(w={"shape": [2**62, 2**62]}), DATA),
    "huge offset": blob(model(w={"data_offsets": [0, 2**70]}), DATA),
    "unknown dtype": blob(model(w={"dtype": "F99"}), DATA),
    "lower-case dtype": blob(model(w={"dtype": "f32"}), DATA),
    "missing data_offsets": blob(J({"wte.weight": {"dtype": "F32", "shape": [4, 4]}}), DATA[:64]),
    "a field given twice": blob(pairs(("w", b'{"dtype":"F32","dtype":"F16","shape":[4,4],"data_offsets":[0,64]}')),
                                DATA[:64]),
    "4-bit tensor ending mid-byte": blob(J({"f": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}), b"\0\0"),
    "header a list": blob(b"[1, 2]"),
    "header a string": blob(b'"x"'),
    "header empty": blob(b"", length=0),
    "header only spaces": blob(b"        "),
    "tensor entry a list": blob(J({"w": [1]}), DATA[:64]),
    "metadata not strings": blob(J({"__metadata__": {"a": 1}, **json.loads(model())}), DATA),
    "metadata a list": blob(J({"__metadata__": [1], **json.loads(model())}), DATA),
    "metadata twice": blob(pairs(("__metadata__", b'{"a":"b"}'), ("__metadata__", b'{"a":"c"}'),
                                 ("wte.weight", J(W)), ("h.bias", J(B))), DATA),
    "non-UTF-8 name": blob(b'{"wte\xff":' + J(W) + b"}", DATA[:64]),
    "lone surrogate name": blob(b'{"\\ud800":' + J(W) + b"}", DATA[:64]),
    "byte-order mark": blob(b"\xef\xbb\xbf" + model(), DATA),
    "NUL bytes after the header": blob(model() + b"\0\0", DATA, pad=False),
    "NaN in the header": blob(J({**json.loads(model()), "x": {**W, "shape": [0], "data_offsets": [80, 80],
                                                              "q": float("nan")}}), DATA),
    "deeply nested": blob(b"[" * 100000 + b"]" * 100000),
    "0 bytes": b"",
    "4 bytes": b"\x10\0\0\0",
}


def safetensors_accepts(path) -> bool:
    try:
        with safe_open(str(path), framework="numpy") as f:
            list(f.keys())
        return True
    except Exception:  # the library's own error type for every malformed file
        return False


def fastinit_accepts(path) -> bool:
    try:
        read_header(path)
        return True
    except ValueError as exc:
        assert str(path) in str(exc)  # every refusal names the file
        return False


@pytest.mark.parametrize("case", FILES)
def test_fastinit_and_safetensors_agree_on_every_file(tmp_path, case):
    path = tmp_path / "f.safetensors"
    path.write_bytes(FILES[case])
    assert fastinit_accepts(path) == safetensors_accepts(path)
    assert fastinit_accepts(path) == case.startswith("valid")  # the grid says what it tests


@pytest.mark.parametrize("case", [c for c in FILES if c.startswith("valid") and b"wte.weight" in FILES[c]])
def test_a_valid_file_copies_the_bytes_safetensors_reads(tmp_path, case):
    path = tmp_path / "f.safetensors"
    path.write_bytes(FILES[case])
    expected = load_file(str(path))
    with Checkpoint(path) as ckpt:
        for name, want in expected.items():
            n = want.shape[0]
            assert ckpt.rows(name, 0, n, np.dtype(np.float32)).tobytes() == want.tobytes()
            assert ckpt.rows(name, 1, n - 1, np.dtype(np.float32)).tobytes() == want[1:].tobytes()
    arrays = fastinit.init_model(SPEC["tensors"], rng=0, from_checkpoint=path)
    assert all(arrays[k].tobytes() == expected[k].tobytes() for k in expected)


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fastinit", "init-model", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", [c for c in FILES if not c.startswith("valid")])
def test_a_malformed_checkpoint_is_one_error_and_writes_nothing(tmp_path, case):
    ckpt = tmp_path / "f.safetensors"
    ckpt.write_bytes(FILES[case])
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "out" / "m.safetensors"
    out.parent.mkdir()
    with pytest.raises(ValueError, match=r"from_checkpoint: .*f\.safetensors"):
        fastinit.init_model(str(spec), out, rng=0, from_checkpoint=ckpt)
    r = _cli("--spec", str(spec), "--seed", "0", "--from", str(ckpt), "--out", str(out), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastinit init-model: error: ") and "f.safetensors" in lines[0]
    assert os.listdir(out.parent) == []


def _index(folder, weight_map, name="m.safetensors.index.json"):
    path = folder / name
    path.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return path


def test_an_index_copies_from_its_files(tmp_path):
    (tmp_path / "a.safetensors").write_bytes(FILES["valid"])
    index = _index(tmp_path, {"wte.weight": "a.safetensors", "h.bias": "a.safetensors"})
    arrays = fastinit.init_model(SPEC["tensors"], rng=0, from_checkpoint=index)
    assert arrays["h.bias"].tolist() == [16, 17, 18, 19]


@pytest.mark.parametrize("target", ["../../../../etc/passwd", "/etc/passwd", "sub/../../x.safetensors", "",
                                    "link.safetensors", 7, None])
def test_an_index_names_files_in_its_own_folder_only(tmp_path, target):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (tmp_path / "outside.safetensors").write_bytes(FILES["valid"])  # valid, so only the place is wrong
    os.symlink(tmp_path / "outside.safetensors", folder / "link.safetensors")
    index = _index(folder, {"wte.weight": target, "h.bias": "link.safetensors" if target == 7 else target})
    with pytest.raises(ValueError, match=r"from_checkpoint: .*index\.json: tensor 'wte\.weight'"):
        Checkpoint(index)


def test_a_symlink_inside_the_folder_is_followed(tmp_path):
    (tmp_path / "real.safetensors").write_bytes(FILES["valid"])
    os.symlink("real.safetensors", tmp_path / "link.safetensors")
    index = _index(tmp_path, {"wte.weight": "link.safetensors", "h.bias": "real.safetensors"})
    assert fastinit.init_model(SPEC["tensors"], rng=0, from_checkpoint=index)["wte.weight"][3, 3] == 15


@pytest.mark.parametrize("content", [b"[]", b'{"weight_map": []}', b'{"weight_map": {"a": "b"}', b"\xff{}", b"",
                                     b'{"weight_map": {"w": NaN}}', b"[" * 100000])
def test_a_malformed_index_is_a_value_error(tmp_path, content):
    index = tmp_path / "m.safetensors.index.json"
    index.write_bytes(content)
    with pytest.raises(ValueError, match=r"from_checkpoint: .*index\.json"):
        Checkpoint(index)


def test_an_index_entry_its_file_does_not_hold(tmp_path):
    (tmp_path / "a.safetensors").write_bytes(FILES["valid"])
    index = _index(tmp_path, {"wte.weight": "a.safetensors", "lm_head.weight": "a.safetensors"})
    with pytest.raises(ValueError, match=r"tensor 'lm_head\.weight' is mapped to 'a\.safetensors', which does not"):
        Checkpoint(index)


def test_an_index_whose_file_is_missing_or_malformed(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(FILES["offset past the data"])
    with pytest.raises(FileNotFoundError, match=r"from_checkpoint: .*gone\.safetensors"):
        Checkpoint(_index(tmp_path, {"wte.weight": "gone.safetensors"}))
    with pytest.raises(ValueError, match=r"from_checkpoint: .*bad\.safetensors: tensor 'wte\.weight'"):
        Checkpoint(_index(tmp_path, {"wte.weight": "bad.safetensors"}))


def test_a_checkpoint_that_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "f.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(FileNotFoundError, match="from_checkpoint: no file"):
        Checkpoint(fifo)


def test_an_int_tensor_of_the_spec_fails_before_any_write(tmp_path):
    path = tmp_path / "i.safetensors"
    path.write_bytes(blob(J({"wte.weight": {**W, "dtype": "I32"}}), DATA[:64]))
    out = tmp_path / "out.safetensors"
    with pytest.raises(TypeError, match=r"'wte\.weight' .* has dtype I32"):
        fastinit.init_model(SPEC["tensors"], out, rng=0, from_checkpoint=path)
    assert not out.exists()


def test_resharding_in_place_from_its_own_index_copies_every_tensor(tmp_path):
    """The sources are mapped before the first shard replaces one of them,
    so every tensor is copied from the model as it was, even when the new
    first file takes its tensors from the old second one and the other way
    round."""
    spec = {f"t{i}": [64, 8] for i in range(6)}  # old files: t0-t2, t3-t5; new: t5-t3, t2-t0
    out = tmp_path / "m.safetensors"
    fastinit.init_model(spec, out, rng=1, shards=2)
    before = fastinit.init_model(spec, rng=1)
    index = tmp_path / "m.safetensors.index.json"
    reversed_spec = dict(reversed(spec.items()))
    fastinit.init_model(reversed_spec, out, rng=2, shards=2, from_checkpoint=index)
    assert json.loads(index.read_text())["weight_map"]["t0"] == "m-00002-of-00002.safetensors"
    after = fastinit.init_model(spec, rng=3, from_checkpoint=index)
    assert all(after[k].tobytes() == before[k].tobytes() for k in spec)
    fastinit.init_model(spec, out, rng=4, from_checkpoint=out.with_name("m-00001-of-00002.safetensors"),
                        names=["t5", "t4", "t3"])  # one file, read and replaced
    assert all(fastinit.init_model(spec, rng=5, from_checkpoint=out)[k].tobytes() == before[k].tobytes()
               for k in ["t5", "t4", "t3"])


def test_an_index_naming_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / "f.safetensors")
    with pytest.raises(ValueError, match="not a regular file"):
        Checkpoint(_index(tmp_path, {"wte.weight": "f.safetensors"}))
