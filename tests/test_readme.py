"""The README runs as written, and its deterministic figures come back from a
fresh run: every Python block, the diagnose statistics, the parameter counts."""

import pathlib
import re
import shutil

import pytest

import fastinit

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
pytestmark = pytest.mark.skipif(not README.exists(), reason="no README beside the tests")


def _text():
    return README.read_text()


def _blocks():
    return re.findall(r"```python\n(.*?)```", _text(), re.S)


def _same_to_quoted_digits(quoted: str, fresh: float) -> bool:
    """fresh, rounded to the significant digits `quoted` shows, equals it."""
    mantissa = quoted.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0") or "0"
    return float(f"{fresh:.{len(mantissa)}g}") == float(quoted)


def test_every_python_block_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("dask.array")
    blocks = _blocks()
    assert len(blocks) >= 6
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    threads = fastinit.get_num_threads()
    ns = {}
    ran = 0
    try:
        for i, code in enumerate(blocks):
            if "cuda" in code and not _have_cuda():
                continue  # a GPU block: run where there is a GPU
            exec(compile(code, f"README python block {i + 1}", "exec"), ns)
            ran += 1
    finally:
        fastinit.set_num_threads(threads)
    assert ran >= 6
    assert "stream version" in capsys.readouterr().out  # show_config printed
    assert (tmp_path / "model.safetensors").is_file()  # the init_model block wrote its file


def _have_cuda():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def test_the_diagnose_figures_come_from_the_printed_commands():
    from fastinit.diagnostics import activation_stats

    text = _text()
    # the commands printed beside the figures: the defaults of `fastinit diagnose`
    assert "fastinit diagnose --activation tanh --plot tanh.png" in text
    assert "fastinit diagnose --activation relu --plot relu.png" in text
    run = {(act, init): activation_stats(init, 10, 512, act, 1000, 0)["std"]
           for act in ("tanh", "relu") for init in ("normal:0.01", "normal:1", "xavier_normal", "he_normal")}
    quoted = [
        (r"to a std of ([\d.e+-]+) at layer 10", [("tanh", "normal:0.01", -1)]),
        (r"every unit saturates at ±1\s+\(std ([\d.]+)\)", [("tanh", "normal:1", -1)]),
        (r"slowly narrowing \(std ([\d.]+) → ([\d.]+)\)", [("tanh", "xavier_normal", 0), ("tanh", "xavier_normal", -1)]),
        (r"Xavier loses half the\s+variance per layer \(std ([\d.]+) → ([\d.]+)\)",
         [("relu", "xavier_normal", 0), ("relu", "xavier_normal", -1)]),
        (r"at every depth \(std ([\d.]+) → ([\d.]+)\)", [("relu", "he_normal", 0), ("relu", "he_normal", -1)]),
        (r"randn explodes \(std ([\d.e+]+) at layer\s+10\)", [("relu", "normal:1", -1)]),
    ]
    for pattern, where in quoted:
        m = re.search(pattern, text)
        assert m, pattern
        for q, (act, init, layer) in zip(m.groups(), where):
            fresh = float(run[act, init][layer])
            assert _same_to_quoted_digits(q, fresh), (pattern, q, fresh)


def test_the_parameter_counts():
    from fastinit import model

    text = _text()
    for preset in ("gpt2", "tinyllama-1.1b", "llama-2-7b"):
        m = re.search(rf"`{re.escape(preset)}` \(([\d,]+)", text)
        assert m, preset
        assert int(m.group(1).replace(",", "")) == sum(t.size for t in model.resolve(preset))
    m = re.search(r"`examples/tiny_model.toml` is one, ([\d,]+) parameters", text)
    assert int(m.group(1).replace(",", "")) == sum(t.size for t in model.resolve(ROOT / "examples/tiny_model.toml"))


def test_the_example_spec_through_the_command_line(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "model.safetensors"
    p = subprocess.run([sys.executable, "-m", "fastinit", "init-model", "--spec", str(ROOT / "examples/tiny_model.toml"),
                        "--seed", "0", "--out", str(out), "--shards", "4", "--shard-id", "2", "--no-progress"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # as the README says: --shard-id 2 of 4 writes the third file (and no index: shard 0 writes it)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["model-00003-of-00004.safetensors"]
    assert "model-00003-of-00004" in _text()
    from fastinit._checkpoint import read_header

    names = [k for k in read_header(tmp_path / "model-00003-of-00004.safetensors") if k != "__metadata__"]
    want = fastinit.init_model(ROOT / "examples/tiny_model.toml", rng=0, names=names)
    st = pytest.importorskip("safetensors.numpy")
    got = st.load_file(str(tmp_path / "model-00003-of-00004.safetensors"))
    assert all((got[k] == want[k]).all() for k in names)
    json.dumps(names)


def test_benchmark_commands_need_no_activated_venv():
    for line in re.findall(r"^.*benchmarks/\w+\.py.*$", _text(), re.M):
        if line.lstrip().startswith(("python ", "python3 ")):
            pytest.fail(f"needs an activated virtual environment: {line.strip()}")
