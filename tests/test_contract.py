"""The stream contract has one source, fastinit/_contract/stream.toml.

Every generated file equals what the spec gives; every code the compiled
core and the Python layers use is the spec's; every published decimal
rounds to the exact value the spec writes; and no coefficient or constant
of the spec is written anywhere else in the code.
"""

from __future__ import annotations

import pathlib
import re
import shutil
from fractions import Fraction

import numpy as np
import pytest

import reference as R
from fastinit._initializers import draws as _draws
import fastinit
from fastinit import _core
from fastinit._contract import constants as C
from fastinit._contract import generate as G

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPEC = R.SPEC


def _pairs():
    """(section, name, [hex, decimal]) of every float constant of the spec."""
    for section in ("policy", "f32", "f64"):
        for name, v in SPEC[section].items():
            if isinstance(v, list) and v and isinstance(v[0], str):
                yield section, name, v
            elif isinstance(v, list):
                for i, pair in enumerate(v):
                    yield section, f"{name}[{i}]", pair


def _nearest_f32(exact: Fraction) -> float:
    x = np.float32(float(exact))
    cands = [np.nextafter(x, np.float32(-np.inf)), x, np.nextafter(x, np.float32(np.inf))]
    return float(min(cands, key=lambda c: (abs(Fraction(float(c)) - exact), int(np.array(c).view(np.uint32)) & 1)))


def test_generated_files_are_the_specs():
    assert G.stale(str(ROOT)) == [], "run python -m fastinit._contract.generate"


def test_a_changed_constant_makes_the_files_that_carry_it_stale(tmp_path):
    for rel in G.OUTPUTS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert G.stale(str(tmp_path)) == []
    spec = G.load()
    spec["f32"]["log"][3][0] = "-0x1.fcbaa0p-4"  # one ulp-ish away
    assert set(G.stale(str(tmp_path), spec)) == {"src/fi_contract.h", "fastinit/_backends/triton_constants.py"}
    spec = G.load()
    spec["kinds"][2]["name"] = "uniform2"
    assert set(G.stale(str(tmp_path), spec)) == set(G.OUTPUTS)


@pytest.mark.parametrize("section,name,pair", list(_pairs()), ids=lambda x: x if isinstance(x, str) else None)
def test_each_published_decimal_rounds_once_to_the_exact_value(section, name, pair):
    exact = float.fromhex(pair[0])
    decimal = Fraction(pair[1])
    if section == "f32":
        assert exact == _nearest_f32(decimal), f"{name}: {pair[1]} rounds to {_nearest_f32(decimal).hex()}"
        assert float(np.float32(exact)) == exact
    else:
        assert exact == float(pair[1]), f"{name}: {pair[1]} rounds to {float(pair[1]).hex()}"


def test_the_compiled_core_exports_the_specs_codes():
    assert _core.STREAM_VERSION == SPEC["stream"]["version"]
    assert _core.MAX_RANK == SPEC["stream"]["max_rank"]
    assert _core.ENGINE_BLOCK == SPEC["stream"]["engine_block"]
    assert _core.DTYPES == {d["name"]: i for i, d in enumerate(SPEC["dtypes"])}
    assert _core.KINDS == {k["name"]: i for i, k in enumerate(SPEC["kinds"])}
    import fastinit

    assert fastinit.STREAM_VERSION == SPEC["stream"]["version"]


def test_the_python_layer_uses_the_specs_codes():
    assert C.STREAM_VERSION == _core.STREAM_VERSION
    assert C.KINDS == tuple(_core.KINDS) and C.DTYPES == tuple(_core.DTYPES)
    for name, code in _core.KINDS.items():
        assert getattr(C, name.upper()) == code
    assert (_draws.RAW, _draws.CONST, _draws.UNIFORM, _draws.NORMAL, _draws.TRUNCNORM,
            _draws.TRUNCNORM_F64) == tuple(_core.KINDS.values())
    import ml_dtypes

    for np_dtype, name in ((np.uint32, "u32"), (np.float32, "f32"), (np.float64, "f64"), (np.float16, "f16"),
                           (ml_dtypes.bfloat16, "bf16")):
        dt = np.dtype(np_dtype)
        code = _core.DTYPES[name]
        assert _draws.dtype_code(dt) == code
        assert C.ITEMSIZE[code] == dt.itemsize
        assert _draws.words_per_element(dt) == SPEC["dtypes"][code]["words_per_element"]
    assert _draws.TRUNCATED_STD == float.fromhex(SPEC["policy"]["truncated_std"][0])
    assert _draws.FLOAT32_TRUNCNORM_MASS == float.fromhex(SPEC["policy"]["float32_truncnorm_mass"][0])
    from fastinit._io import safetensors as _safetensors
    from fastinit._backends import threads as _threads

    assert _safetensors.WINDOW == SPEC["stream"]["window_bytes"]
    assert fastinit._validate._MAXDIM == SPEC["stream"]["max_rank"]
    assert _threads._BLOCK == SPEC["stream"]["engine_block"]


def test_the_triton_constants_are_the_specs():
    pytest.importorskip("triton")
    from fastinit._backends import triton_constants as T

    names = [n for section in ("f32", "f64") for n, _ in G.named_values(SPEC, section)]
    assert len(names) == len(set(names)) == 114  # every coefficient has its own name
    for section in ("f32", "f64"):
        for name, value in G.named_values(SPEC, section):
            assert getattr(T, name).value == value, name
    assert T.P_KEYS.value == 4 + len(SPEC["params"]["slots"])
    assert T.P_LAYOUT.value == T.P_KEYS.value + 2 * SPEC["philox"]["rounds"]
    assert (T.PHILOX_M0.value, T.PHILOX_M1.value) == tuple(SPEC["philox"]["multipliers"])


# ---- no second copy: the spec's constants appear nowhere else in the code

_FLOAT = re.compile(r"(?<![\w.])-?(?:0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+|"
                    r"(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)[fF]?(?![\w.])")
_GENERATED = set(G.OUTPUTS)


def _sources():
    """The code that computes or documents values: the core, the package,
    the benchmarks' kernels and scripts, and the NumPy reference.  The other
    tests are left out on purpose: they may state a value independently of
    the spec (an oracle), as a published decimal or a boundary to probe."""
    files = [p for p in (ROOT / "src").iterdir() if p.suffix in (".c", ".h", ".pyx", ".pxi")]
    files += [p for p in (ROOT / "fastinit").rglob("*") if p.suffix in (".py", ".pyi")]
    files += [p for p in (ROOT / "benchmarks").rglob("*") if p.suffix in (".py", ".c", ".h")]
    files.append(ROOT / "tests" / "reference.py")
    return [p for p in files if str(p.relative_to(ROOT)) not in _GENERATED and "__pycache__" not in p.parts]


def _trivial(v: float) -> bool:
    """Values every piece of code writes for its own reasons (0.5, 2.0, 5.0)."""
    return abs(v) <= 16 and (v * 8).is_integer()


def _spec_values(sections=("policy", "f32", "f64")):
    out = {}
    for section, name, pair in _pairs():
        v = float.fromhex(pair[0])
        if section in sections and not _trivial(v):
            out[abs(v)] = f"{section}.{name}"
    return out


def _literal_value(text: str) -> float:
    """The value of a C or Python float literal (hex or decimal, f suffix or not)."""
    t = text[:-1] if text[-1] in "fF" and not re.fullmatch(r"-?0[xX][0-9a-fA-F.]*", text) else text
    return float.fromhex(t) if "x" in t.lower() else float(t)


def test_no_coefficient_is_written_outside_the_spec():
    values = _spec_values()
    as_f32 = {v: n for v, n in _spec_values(("f32",)).items()}  # float32 values are exact already
    found = []
    for path in _sources():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in _FLOAT.finditer(line):
                v = abs(_literal_value(m.group(0)))
                # a literal that rounds to a float32 coefficient is a copy too (Triton and C
                # round a decimal to float32)
                hit = values.get(v) or (as_f32.get(float(np.float32(v))) if v < 3e38 else None)
                if hit and not _trivial(v):
                    found.append(f"{path.relative_to(ROOT)}:{lineno}: {m.group(0)} is {hit}")
    assert not found, "\n".join(found)


def test_no_philox_or_bit_constant_is_written_outside_the_spec():
    ints = {SPEC["philox"]["multipliers"][0]: "multiplier 0", SPEC["philox"]["multipliers"][1]: "multiplier 1",
            SPEC["philox"]["key_bumps"][0]: "key bump 0", SPEC["philox"]["key_bumps"][1]: "key bump 1",
            SPEC["f32"]["sqrt_half_bits"]: "f32 sqrt_half_bits", SPEC["f64"]["sqrt_half_bits"]: "f64 sqrt_half_bits",
            SPEC["stream"]["engine_block"]: "engine_block"}
    found = []
    for path in _sources():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r"\b(0[xX][0-9a-fA-F]+|\d{5,})(?:u|ull|ULL|U)?\b", line):
                g = m.group(1)
                v = int(g, 16) if g[:2].lower() == "0x" else int(g)
                if v in ints:
                    found.append(f"{path.relative_to(ROOT)}:{lineno}: {m.group(0)} is {ints[v]}")
    assert not found, "\n".join(found)


def test_the_scan_finds_a_copy():
    """The scanner itself: a pasted coefficient is found, a trivial one not."""
    line = "    y = 7.0376836292e-2f * f + 0.5f; z = 0x1.921fb54442d18p-51 * r;"
    vals = [abs(_literal_value(m.group(0))) for m in _FLOAT.finditer(line)]
    assert len(vals) == 3
    values = _spec_values()
    as_f32 = _spec_values(("f32",))
    assert as_f32.get(float(np.float32(vals[0]))) == "f32.log[0]"
    assert _trivial(vals[1])
    assert values.get(vals[2]) == "f64.angle_scale"
