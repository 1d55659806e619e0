"""Which SIMD path the core runs: chosen once, at import, by CPUID.

``FASTINIT_SIMD=avx512|avx2|generic`` forces a path (for tests and
benchmarks); naming a path this CPU (or this build) lacks is an error.
Every path gives identical bits; only speed differs.
"""

from __future__ import annotations

import contextlib
import os

from . import _core

NAMES = _core.ISA_NAMES  # ("generic", "avx2", "avx512"), by increasing width


def available() -> list[str]:
    """The paths this build has and this CPU supports, narrowest first."""
    return [name for i, name in enumerate(NAMES) if _core.isa_supported(i)]


def _index(name: str) -> int:
    key = str(name).strip().lower()
    if key not in NAMES:
        raise ValueError(f"FASTINIT_SIMD: unknown SIMD path {name!r}; choose one of {', '.join(NAMES)}")
    i = NAMES.index(key)
    if not _core.isa_supported(i):
        why = "this build lacks it" if not _core.isa_compiled(i) else "this CPU does not support it"
        raise RuntimeError(
            f"FASTINIT_SIMD={key}: {why}; available here: {', '.join(available())}"
        )
    return i


def _initial() -> int:
    forced = os.environ.get("FASTINIT_SIMD", "").strip()
    if forced:
        return _index(forced)
    return NAMES.index(available()[-1])


_current = _initial()


def current() -> int:
    return _current


def current_name() -> str:
    return NAMES[_current]


@contextlib.contextmanager
def forced(name: str):
    """Run the enclosed fills on one SIMD path (tests and benchmarks)."""
    global _current
    previous, _current = _current, _index(name)
    try:
        yield
    finally:
        _current = previous
