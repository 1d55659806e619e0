"""The SIMD paths the core names, which of them this build and CPU run, at
what width, and what forcing one this build lacks says.  (That every path
gives the same bits is tested per kind and dtype elsewhere, and for the
aarch64 paths by tests/cross/aarch64.sh.)"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from fastinit import _core
from fastinit._backends import simd as _simd
from fastinit._tools import config as _config

X86 = platform.machine().lower() in ("x86_64", "amd64")
ARM = platform.machine().lower() in ("aarch64", "arm64")


def test_the_paths_and_their_order():
    assert _simd.NAMES == ("generic", "avx2", "avx512", "neon", "sve")


@pytest.mark.parametrize("name", _simd.NAMES)
def test_vector_width_is_reported_exactly_where_a_path_runs(name):
    i = _simd.NAMES.index(name)
    bits = _core.isa_vector_bits(i)
    if not _core.isa_supported(i):
        assert bits == 0
        return
    want = {"generic": {128}, "avx2": {256}, "avx512": {512}, "neon": {128}, "sve": {128, 256, 512}}[name]
    assert bits in want


def test_a_build_has_its_target_family_only():
    compiled = {n for i, n in enumerate(_simd.NAMES) if _core.isa_compiled(i)}
    assert "generic" in compiled
    if X86:
        assert not compiled & {"neon", "sve"}
    if ARM:
        assert not compiled & {"avx2", "avx512"} and "neon" in compiled


def test_the_default_is_the_last_path_this_cpu_runs(tmp_path):
    assert _simd.available()[0] == "generic"
    r = subprocess.run([sys.executable, "-c", "from fastinit._backends import simd; print(simd.current_name())"],
                       env={k: v for k, v in os.environ.items() if k != "FASTINIT_SIMD"},
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)  # not the source folder
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == _simd.available()[-1]


def test_forcing_a_path_of_the_other_family_says_this_build_lacks_it(tmp_path):
    other = "neon" if X86 else "avx2"
    r = subprocess.run([sys.executable, "-c", "import fastinit"], env={**os.environ, "FASTINIT_SIMD": other},
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode != 0
    assert f"FASTINIT_SIMD={other}: this build lacks it" in r.stderr
    assert "RuntimeError" in r.stderr


def test_show_config_names_the_path_and_its_width(capsys):
    _config.show_config()
    out = capsys.readouterr().out
    i = _simd.current()
    assert f"simd:           {_simd.NAMES[i]}, {_core.isa_vector_bits(i)}-bit vectors (available: " in out
    assert f"on {platform.machine()}" in out
