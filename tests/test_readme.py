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
    threads = fastinit._backends.threads._setting()  # the README's set_num_threads(8) changes it
    ns = {}
    ran = 0
    try:
        for i, code in enumerate(blocks):
            if "cuda" in code and not _have_cuda():
                continue  # a GPU block: run where there is a GPU
            exec(compile(code, f"README python block {i + 1}", "exec"), ns)
            ran += 1
    finally:
        fastinit._backends.threads._restore(threads)
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
    from fastinit._io.checkpoint import read_header

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


def _shell_commands():
    """Every command line of the README's sh and plain code blocks, in order."""
    lines, fence = [], None
    for line in _text().splitlines():
        if line.startswith("```"):
            fence = line[3:].strip() if fence is None else None
            continue
        if fence in ("sh", ""):
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _two_commands():
    section = _text().split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_the_set_up_commands_each_make_a_fresh_venv():
    """Each of the two commands runs on a fresh machine: neither may build on
    what the other left in .venv."""
    cmds = _two_commands()
    assert len(cmds) == 2 and all("\n" not in c for c in cmds)
    for c in cmds:
        assert c.startswith("python3 -m venv --clear .venv && .venv/bin/pip install '."), c


def test_every_shell_command_works_after_the_set_up_before_it():
    """Walk the README's commands in order, tracking what the last created
    venv holds: a pip install without build isolation needs the build
    requirements (pyproject's [build-system] requires) installed first, and
    every .venv/bin/ command needs a .venv made before it."""
    import tomllib

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    build_deps = {re.split(r"[<>=!~; \[]", r, 1)[0].lower() for r in requires}
    venv, has_build_deps = False, False
    cmds = _shell_commands()
    assert any("'.[hf]'" in c for c in cmds)  # the Hugging Face benchmark's line is among them
    for line in cmds:
        for cmd in (c.strip() for c in re.split(r"&&|;", line)):
            words = cmd.split()
            if words[:3] == ["python3", "-m", "venv"]:
                venv, has_build_deps = True, has_build_deps and "--clear" not in words
                continue
            if words and words[0].startswith(".venv/bin/"):
                assert venv, f"{cmd!r} comes before any command that makes .venv"
            if words[:2] == [".venv/bin/pip", "install"]:
                names = {w.lower() for w in words[2:] if not w.startswith("-")}
                if "--no-build-isolation" in words:
                    assert has_build_deps, f"{cmd!r}: the build requirements {sorted(build_deps)} are not installed"
                has_build_deps = has_build_deps or build_deps <= names


def test_ci_runs_the_readme_test_command_verbatim():
    run = ROOT / ".ci" / "run"
    if not run.is_file():
        pytest.skip("no .ci/run beside the tests")
    test_command = _two_commands()[1]
    assert test_command.endswith(".venv/bin/pytest")
    assert test_command in run.read_text().splitlines()
