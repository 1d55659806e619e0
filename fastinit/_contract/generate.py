"""Write the files that carry the stream contract, from stream.toml.

    python -m fastinit._contract.generate          # rewrite the generated files
    python -m fastinit._contract.generate --check  # exit 1 (naming them) if one is stale

The outputs, each marked as generated:

* src/fi_contract.h: the C core's constants (version, rank, block, Philox,
  dtype and kind codes, parameter slots, every coefficient as a hex float);
* src/fi_contract.pxi: the same codes for Cython, exported by fastinit._core;
* fastinit/_contract/constants.py: the Python layer's constants;
* fastinit/_backends/triton_constants.py: the Triton kernels' constants (tl.constexpr)
  and the layout of their parameter words.

A float32 coefficient is written as the exact float32 value (a C float
literal with the f suffix, a Python float that Triton rounds to itself), so
no reader of the contract rounds a decimal on its own.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "stream.toml")
ROOT = os.path.dirname(os.path.dirname(HERE))  # the repository (a source tree)
HEADER = "Generated from fastinit/_contract/stream.toml by fastinit/_contract/generate.py: do not edit."


def load(path: str = SPEC) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def _is_pair(v) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)


def coefficients(spec: dict, section: str) -> list[tuple[str, list[float]]]:
    """(name, values) of every coefficient table and named constant of a
    precision section ("f32" or "f64"), in file order; a named constant is
    a table of one.  Integers (bit patterns) are not included."""
    out = []
    for name, v in spec[section].items():
        if _is_pair(v):
            out.append((name, [float.fromhex(v[0])]))
        elif isinstance(v, list) and v and all(_is_pair(x) for x in v):
            out.append((name, [float.fromhex(x[0]) for x in v]))
    return out


def named_values(spec: dict, section: str) -> list[tuple[str, float]]:
    """(NAME, value) of every float constant of a section as the generated
    files name it: entry i of a table T is SECTION_T_i, a named constant C
    is SECTION_C."""
    out = []
    for name, values in coefficients(spec, section):
        stem = f"{section.upper()}_{name.upper()}"
        if _is_pair(spec[section][name]):
            out.append((stem, values[0]))
        else:
            out += [(f"{stem}_{i}", v) for i, v in enumerate(values)]
    return out


def bit_constants(spec: dict, section: str) -> list[tuple[str, int]]:
    return [(name, v) for name, v in spec[section].items() if isinstance(v, int)]


def policy(spec: dict) -> list[tuple[str, float]]:
    return [(name, float.fromhex(v[0])) for name, v in spec["policy"].items()]


def device_params(spec: dict) -> dict[str, int]:
    """Word offsets of the GPU kernels' parameter vector (int64 words):
    stream (lo, hi), element base (lo, hi), the float64 bits of each slot,
    the round keys (k0, k1 per round), then the layout."""
    offsets, at = {}, 0
    for name, words in (("stream", 2), ("gbase", 2), ("floats", len(spec["params"]["slots"])),
                        ("keys", 2 * spec["philox"]["rounds"]), ("layout", 0)):
        offsets[name] = at
        at += words
    return offsets


def _hex(x: float, single: bool) -> str:
    """x as a hex float literal, trailing zero digits dropped (a float32
    value has at most 6 significant hex digits)."""
    h = x.hex()
    if "." in h:
        mant, exp = h.split("p")
        mant = mant.rstrip("0").rstrip(".")
        h = f"{mant}p{exp}"
    return h


def _c_literal(x: float, single: bool) -> str:
    """A C literal of x (parenthesized when negative, so that it can stand
    anywhere an operand can)."""
    lit = _hex(x, single) + ("f" if single else "")
    return f"({lit})" if x < 0 else lit


def _tuple(items) -> str:
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _upper(name: str) -> str:
    return name.upper()


def c_header(spec: dict) -> str:
    s, ph = spec["stream"], spec["philox"]
    lines = [f"/* {HEADER} */", "#ifndef FASTINIT_CONTRACT_H", "#define FASTINIT_CONTRACT_H", "",
             "/* The version of the values; any change to any output value is a new version. */",
             f"#define FI_STREAM_VERSION {s['version']}",
             f"#define FI_MAXDIM {s['max_rank']}",
             f"#define FI_BLOCK {s['engine_block']}",
             "", "/* Philox4x32-10 */",
             f"#define FI_PHILOX_ROUNDS {ph['rounds']}",
             f"#define FI_PHILOX_M0 0x{ph['multipliers'][0]:08X}u /* multiplies counter word 0 */",
             f"#define FI_PHILOX_M1 0x{ph['multipliers'][1]:08X}u /* multiplies counter word 2 */",
             f"#define FI_PHILOX_W0 0x{ph['key_bumps'][0]:08X}u /* key bump of word 0 */",
             f"#define FI_PHILOX_W1 0x{ph['key_bumps'][1]:08X}u /* key bump of word 1 */",
             "", "/* Output element types. */", "enum {"]
    lines += [f"    FI_DT_{_upper(d['name'])} = {i}," for i, d in enumerate(spec["dtypes"])]
    lines += ["    FI_DT_COUNT", "};", "", "/* Distributions (the law of each: fastinit/_contract/stream.toml). */",
              "enum {"]
    lines += [f"    FI_KIND_{_upper(k['name'])} = {i}, /* {k['law']} */" for i, k in enumerate(spec["kinds"])]
    lines += ["    FI_KIND_COUNT", "};", "",
              "/* The parameter slots of fi_params, in order: X(name) for each. */",
              "#define FI_PARAM_SLOTS(X) " + " ".join(f"X({n})" for n in spec["params"]["slots"]),
              f"#define FI_PARAM_SLOT_COUNT {len(spec['params']['slots'])}"]
    for section, single in (("f32", True), ("f64", False)):
        lines += ["", f"/* {section} coefficients: the exact values, in stream.toml's order. */"]
        lines += [f"#define FI_{name} {_c_literal(v, single)}" for name, v in named_values(spec, section)]
        for name, v in bit_constants(spec, section):
            suffix = "u" if section == "f32" else "ull"
            lines.append(f"#define FI_{section.upper()}_{_upper(name)} 0x{v:X}{suffix}")
    lines += ["", "#endif /* FASTINIT_CONTRACT_H */", ""]
    return "\n".join(lines)


def cython_pxi(spec: dict) -> str:
    dts = [f"FI_DT_{_upper(d['name'])}" for d in spec["dtypes"]]
    kinds = [f"FI_KIND_{_upper(k['name'])}" for k in spec["kinds"]]
    lines = [f"# {HEADER}", "", 'cdef extern from "fi_contract.h" nogil:', "    enum:"]
    lines += [f"        {n}" for n in ["FI_STREAM_VERSION", "FI_MAXDIM", "FI_BLOCK", *dts, *kinds]]
    lines += ["", "STREAM_VERSION = FI_STREAM_VERSION", "MAX_RANK = FI_MAXDIM", "ENGINE_BLOCK = FI_BLOCK",
              "DTYPES = {" + ", ".join(f'"{d["name"]}": {c}' for d, c in zip(spec["dtypes"], dts)) + "}",
              "KINDS = {" + ", ".join(f'"{k["name"]}": {c}' for k, c in zip(spec["kinds"], kinds)) + "}", ""]
    return "\n".join(lines)


def python_constants(spec: dict) -> str:
    s, ph = spec["stream"], spec["philox"]
    lines = [f'"""{HEADER}', "", "The stream contract's constants for the Python layer (the codes the", "core takes).",
             '"""', "",
             f"STREAM_VERSION = {s['version']}",
             f"MAX_RANK = {s['max_rank']}",
             f"ENGINE_BLOCK = {s['engine_block']}",
             f"WINDOW_BYTES = {s['window_bytes']}",
             f"PHILOX_ROUNDS = {ph['rounds']}",
             f"WORDS_PER_BLOCK = {ph['words_per_block']}",
             f"PHILOX_MULTIPLIERS = (0x{ph['multipliers'][0]:08X}, 0x{ph['multipliers'][1]:08X})",
             f"PHILOX_KEY_BUMPS = (0x{ph['key_bumps'][0]:08X}, 0x{ph['key_bumps'][1]:08X})", "",
             "DTYPES = " + _tuple(f'"{d["name"]}"' for d in spec["dtypes"])]
    lines += [f"DT_{_upper(d['name'])} = {i}" for i, d in enumerate(spec["dtypes"])]
    lines += ["ITEMSIZE = " + _tuple(str(d["itemsize"]) for d in spec["dtypes"]),
              "WORDS_PER_ELEMENT = " + _tuple(str(d["words_per_element"]) for d in spec["dtypes"]), "",
              "KINDS = " + _tuple(f'"{k["name"]}"' for k in spec["kinds"])]
    lines += [f"{_upper(k['name'])} = {i}" for i, k in enumerate(spec["kinds"])]
    lines += ["", "PARAM_SLOTS = " + _tuple(f'"{n}"' for n in spec["params"]["slots"]), ""]
    lines += [f"{_upper(name)} = {v!r}" for name, v in policy(spec)]
    lines.append("")
    return "\n".join(lines)


def triton_constants(spec: dict) -> str:
    ph = spec["philox"]
    lines = [f'"""{HEADER}', "", "The stream contract as the Triton kernels see it (fastinit/_backends/triton_kernels.py).",
             '"""', "", "import triton.language as tl", "",
             f"PHILOX_ROUNDS = tl.constexpr({ph['rounds']})",
             f"PHILOX_M0 = tl.constexpr(0x{ph['multipliers'][0]:08X})",
             f"PHILOX_M1 = tl.constexpr(0x{ph['multipliers'][1]:08X})",
             f"PHILOX_W0 = 0x{ph['key_bumps'][0]:08X}  # (the round keys are computed on the host)",
             f"PHILOX_W1 = 0x{ph['key_bumps'][1]:08X}", ""]
    lines += [f"{_upper(k['name'])} = {i}" for i, k in enumerate(spec["kinds"])]
    lines += [f"DT_{_upper(d['name'])} = {i}" for i, d in enumerate(spec["dtypes"])]
    lines += [f"K_{_upper(k['name'])} = tl.constexpr({i})" for i, k in enumerate(spec["kinds"])]
    lines += [f"K_{_upper(d['name'])} = tl.constexpr({i})" for i, d in enumerate(spec["dtypes"])]
    lines += ["", "# the parameter words: " + ", ".join(device_params(spec))]
    lines += [f"P_{_upper(n)} = tl.constexpr({v})" for n, v in device_params(spec).items()]
    for section in ("f32", "f64"):
        lines += ["", f"# {section} coefficients (exact values)"]
        lines += [f"{name} = tl.constexpr({v!r})" for name, v in named_values(spec, section)]
        lines += [f"{section.upper()}_{_upper(name)} = tl.constexpr(0x{v:X})" for name, v in bit_constants(spec, section)]
    lines.append("")
    return "\n".join(lines)


OUTPUTS = {
    "src/fi_contract.h": c_header,
    "src/fi_contract.pxi": cython_pxi,
    "fastinit/_contract/constants.py": python_constants,
    "fastinit/_backends/triton_constants.py": triton_constants,
}


def stale(root: str = ROOT, spec: dict | None = None) -> list[str]:
    """The generated files (relative paths) that differ from the spec's."""
    spec = load() if spec is None else spec
    out = []
    for rel, make in OUTPUTS.items():
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != make(spec):
            out.append(rel)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fastinit._contract.generate", description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="only report stale generated files (exit 1 if any)")
    a = p.parse_args(argv)
    spec = load()
    if a.check:
        bad = stale(ROOT, spec)
        for rel in bad:
            print(f"stale: {rel} (run python -m fastinit._contract.generate)", file=sys.stderr)
        return 1 if bad else 0
    for rel, make in OUTPUTS.items():
        path = os.path.join(ROOT, rel)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(make(spec))
        os.replace(tmp, path)
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
