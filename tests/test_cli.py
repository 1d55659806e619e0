"""The command line: `fastinit` (console script) and `python -m fastinit`."""

import json
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
    out = subprocess.run([exe, "bench", "--size", "200000", "--repeat", "1", "--rss-size", "1048576",
                          "--json", str(res)],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "fastinit standard_normal" in out and "numpy Generator.standard_normal" in out
    data = json.loads(res.read_text())
    names = [r["method"] for r in data["rows"]]
    assert any("multithreaded recipe" in n for n in names)
    assert all(r["melem_s"] > 0 for r in data["rows"])
    assert data["rss"]["peak_rss_mib"] > data["rss"]["array_mib"]
    assert [s["threads"] for s in data["threads"]][0] == 1
    assert "-- targets" in out


def test_unknown_command_fails(tmp_path):
    p = subprocess.run([sys.executable, "-m", "fastinit", "nope"], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and "unknown command" in p.stderr


def test_forced_simd_path_from_environment(tmp_path):
    env_ok = {"FASTINIT_SIMD": "generic"}
    code = "import fastinit; from fastinit import _simd; print(_simd.current_name())"
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**_env(), **env_ok})
    assert p.stdout.strip() == "generic"
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**_env(), "FASTINIT_SIMD": "sse9"})
    assert p.returncode != 0 and "unknown SIMD path 'sse9'" in p.stderr


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "FASTINIT_SIMD"}
