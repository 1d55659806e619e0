"""Which SIMD path the core runs: chosen once, at import, from what the CPU
reports (CPUID on x86-64; on aarch64 Linux, getauxval(AT_HWCAP) and the SVE
vector length).

``FASTINIT_SIMD=avx512|avx2|neon|sve|generic`` forces a path (for tests and
benchmarks); naming a path this CPU (or this build) lacks is an error.
Every path gives identical bits; only speed differs.  By default the last
path of NAMES this CPU runs: AVX-512, else AVX2 on x86-64; SVE, else NEON
on aarch64; else generic.  SVE runs at the calling thread's vector length,
which must be one the core has a unit for (128, 256 or 512 bits): a thread
that has changed its length to another (prctl PR_SVE_SET_VL) gets a
RuntimeError from a fill on the SVE path, never other values.

``forced(name)`` changes the path for the calling Python thread only (and,
under asyncio, for the calling task only), as ``set_num_threads`` changes
the thread count for the calling thread alone (see threads.py): the path
lives in a ``contextvars.ContextVar`` whose default is the import-time
choice.  Two threads forcing different paths do not see each other's; a
thread that never forces uses the import-time choice.  The core's own
OpenMP threads follow the Python thread that started the fill: the fill
passes them ``current()`` as an argument (see cpu.fill).
"""

from __future__ import annotations

import contextlib
import contextvars
import os

from .. import _core

NAMES = _core.ISA_NAMES  # ("generic", "avx2", "avx512", "neon", "sve"): each family by preference


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


# The path of the calling thread / asyncio task.  Never set outside
# forced(): a thread or task that has not forced a path reads the default,
# the import-time choice.
_current: contextvars.ContextVar[int] = contextvars.ContextVar("fastinit_simd", default=_initial())
_get = _current.get  # current() runs on every fill: one C call, no attribute look-up


def current() -> int:
    """The index (into NAMES) of the path the calling thread's fills use."""
    return _get()


def current_name() -> str:
    """The name of the path the calling thread's fills use."""
    return NAMES[_get()]


@contextlib.contextmanager
def forced(name: str):
    """Run the enclosed fills on one SIMD path (tests and benchmarks), in
    the calling thread (or asyncio task) only; nests, and puts the previous
    path back on exit, an exception included.  ValueError for an unknown
    name, RuntimeError for a path this CPU or build lacks (the setting is
    then unchanged)."""
    token = _current.set(_index(name))
    try:
        yield
    finally:
        try:
            _current.reset(token)
        except ValueError:
            # left in another context than it was entered in (a generator or
            # fixture resumed elsewhere): that context's own setting is not
            # this block's to change; the one it was entered in is abandoned
            pass
