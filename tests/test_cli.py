"""The command line: `fastinit` (console script) and `python -m fastinit`."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import fastinit


def _script():
    exe = pathlib.Path(sys.executable).parent / "fastinit"
    return str(exe) if exe.exists() else shutil.which("fastinit")


def test_config_via_python_m(tmp_path):
    out = subprocess.run([sys.executable, "-m", "fastinit", "config"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert f"stream version {fastinit.STREAM_VERSION}" in out and "simd:" in out and "openmp:" in out


def test_bench_small_via_console_script(tmp_path):
    exe = _script()
    if exe is None:
        pytest.skip("fastinit console script not on this environment's path")
    res = tmp_path / "bench.json"
    out = subprocess.run([exe, "bench", "--size", "200000", "--repeat", "2", "--settle", "0.001",
                          "--json", str(res)],
                         cwd=tmp_path, capture_output=True, text=True, check=True, timeout=300).stdout
    assert "fastinit standard_normal" in out and "numpy Generator.standard_normal" in out
    data = json.loads(res.read_text())
    names = [r["method"] for r in data["rows"]]
    assert any("multithreaded recipe" in n for n in names)
    for r in data["rows"] + data["threads"] + data["fresh"]:
        assert 0 < r["melem_s_min"] <= r["melem_s"] <= r["melem_s_max"]
    # the peak-RSS fill scales with --size: 16 x 200,000 elements, not 2**30
    assert data["rss"]["elements"] == 3_200_000
    assert data["rss"]["peak_rss_mib"] > data["rss"]["array_mib"]
    assert [s["threads"] for s in data["threads"]][0] == 1
    assert "-- comparison" in out and "spread" in out
    lower = out.lower()
    assert "issue" not in lower and "target" not in lower and "missed" not in lower


def test_bench_rss_can_be_skipped():
    from fastinit._tools import bench as _bench

    assert _bench.default_rss_size(1 << 26) == 1 << 30
    assert _bench.default_rss_size(1 << 40) == 1 << 30
    assert _bench.default_rss_size(4096) == 65536
    assert _bench.build_parser().parse_args(["--rss-size", "0"]).rss_size == 0


def test_round_robin_reports_the_spread():
    from fastinit._tools import bench as _bench

    calls = []

    def slow_then_fast():
        import time

        time.sleep(0.02 if not calls else 0.001 * len(calls))
        calls.append(1)

    (t,) = _bench._time_round_robin([slow_then_fast], repeat=4, after=[lambda: calls.append(0)])
    assert t.fastest <= t.median <= t.slowest
    assert t.slowest >= 0.002 and t.fastest < t.slowest


def test_unknown_command_fails(tmp_path):
    p = subprocess.run([sys.executable, "-m", "fastinit", "nope"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "unknown command" in p.stderr


def test_forced_simd_path_from_environment(tmp_path):
    env_ok = {"FASTINIT_SIMD": "generic"}
    code = "import fastinit; from fastinit._backends import simd as _simd; print(_simd.current_name())"
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**_env(), **env_ok})
    assert p.stdout.strip() == "generic"
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**_env(), "FASTINIT_SIMD": "sse9"})
    assert p.returncode != 0 and "unknown SIMD path 'sse9'" in p.stderr


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "FASTINIT_SIMD"}


def test_version(tmp_path):
    import fastinit

    for flag in ("--version", "-V"):
        out = subprocess.run([sys.executable, "-m", "fastinit", flag], cwd=tmp_path, capture_output=True,
                             text=True, check=True).stdout
        assert out.strip() == f"fastinit {fastinit.__version__} (stream version {fastinit.STREAM_VERSION})"


def test_config_help(tmp_path):
    p = subprocess.run([sys.executable, "-m", "fastinit", "config", "--help"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert p.returncode == 0 and p.stdout.startswith("usage: fastinit config") and "stream version" in p.stdout
    assert "compiler:" not in p.stdout  # the help, not the configuration
    p = subprocess.run([sys.executable, "-m", "fastinit", "config", "--bogus"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert p.returncode == 2 and "unrecognized arguments: --bogus" in p.stderr


@pytest.mark.parametrize("rules", [
    ["*.bias=zeros;*=normal(std=0.5, mean=1.0)"],
    ["*.bias=zeros", "*=normal(std=0.5, mean=1.0)"],
    ['{"*.bias": "zeros", "*": "normal(std=0.5, mean=1.0)"}'],
])
def test_rules_as_pairs_or_json(tmp_path, rules):
    import fastinit
    from safetensors.numpy import load_file

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"a.weight": [64, 32], "a.bias": [64]}))
    args = [x for r in rules for x in ("--rules", r)]
    p = subprocess.run([sys.executable, "-m", "fastinit", "init-model", "--spec", str(spec), "--out",
                        str(tmp_path / "m.safetensors"), "--seed", "1", *args], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    got = load_file(str(tmp_path / "m.safetensors"))
    want = fastinit.init_model({"a.weight": [64, 32], "a.bias": [64]}, rng=1,
                               rules={"*.bias": "zeros", "*": "normal(std=0.5, mean=1.0)"})
    assert not got["a.bias"].any() and abs(got["a.weight"].mean() - 1) < 0.1
    assert all((got[k] == want[k]).all() for k in want)


@pytest.mark.parametrize("bad", ["*", "zeros", "=zeros", "*.bias=", '{"*": '])
def test_bad_rules_say_what_is_expected(tmp_path, bad):
    p = subprocess.run([sys.executable, "-m", "fastinit", "init-model", "--preset", "gpt2", "--out",
                        str(tmp_path / "m.safetensors"), "--seed", "0", "--rules", bad], capture_output=True,
                       text=True, cwd=tmp_path)
    assert p.returncode == 2
    assert "pattern=initializer" in p.stderr or "not a JSON object" in p.stderr
    assert "Expecting value" not in p.stderr.splitlines()[-1].split("(")[0]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("how", ["-c", "-m"])
def test_import_from_a_source_folder_says_how_it_happened(tmp_path, how):
    import fastinit

    src = tmp_path / "fastinit"
    src.mkdir()
    installed = pathlib.Path(fastinit.__file__).parent
    for f in installed.glob("*.py"):  # a source checkout: the Python files, no compiled core
        shutil.copy(f, src / f.name)
    args = ["-c", "import fastinit"] if how == "-c" else ["-m", "fastinit", "config"]
    p = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    last = p.stderr.strip().splitlines()[-1]
    assert "a source folder without the compiled core" in last
    assert f"python {how} puts the current folder first" in last
    other = "-m" if how == "-c" else "-c"
    assert f"python {other}" not in last


@pytest.mark.parametrize("cmd,flag", [(["bench", "--size", "1024", "--repeat", "1"], "--json"),
                                      (["diagnose", "--depth", "2", "--width", "8"], "--plot")])
def test_output_paths_are_checked_before_the_work(tmp_path, cmd, flag):
    missing = tmp_path / "no" / "out.file"
    p = subprocess.run([sys.executable, "-m", "fastinit", *cmd, flag, str(missing)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and f"{flag}: the folder" in p.stderr and "does not exist" in p.stderr
    assert p.stdout == ""  # refused before any timing or table
    assert not (tmp_path / "no").exists()
