"""The cpu backend: fills of NumPy arrays by the compiled core.

fill(target, request) is where the CPU's policies meet the core: the
thread count (threads.py), the SIMD path (simd.py, per calling thread),
non-temporal stores for large constant fills and transparent huge pages
for large buffers.  None of them changes a value.
"""

from __future__ import annotations

import numpy as np

from .. import _core
from .._contract import dtype_code
from .._contract.constants import CONST
from . import simd, threads

# Constant fills of at least this many bytes use non-temporal stores: beyond
# the last-level cache they skip reading each line before writing it (2^26
# float32 zeros on 2 threads: 4392 -> 5518 Melem/s).  Random fills are
# compute-bound and gained nothing (uniform) or lost (normal), so they never do.
STREAM_STORES_FROM = 32 << 20
_STREAM_STORES = 1  # FI_FLAG_STREAM_STORES

# Buffers of at least this many bytes are advised to use transparent huge
# pages before the fill touches them (NumPy does this for its own large
# arrays; torch's allocator does not): a TinyLlama-1.1B-shaped model built
# under fastinit.torch.patch() took 2.6-4.3 s with 4 KiB page faults and
# 1.4-1.9 s with this.  Memory already touched is unaffected.
HUGEPAGES_FROM = 32 << 20

_byte_bounds = np.lib.array_utils.byte_bounds if hasattr(np.lib, "array_utils") else np.byte_bounds


def fill(target, request) -> None:
    """Fill target.out (an ndarray, validated by the caller) in place."""
    out = target.out
    flags = _STREAM_STORES if request.kind == CONST and out.nbytes >= STREAM_STORES_FROM else 0
    if out.nbytes >= HUGEPAGES_FROM:
        first_byte, end_byte = _byte_bounds(out)
        _core.advise_hugepages(first_byte, end_byte - first_byte)
    gstrides = target.gstrides
    segment = threads.SEGMENT if not gstrides or gstrides[-1] == 1 else threads.SEGMENT_STRIDED
    r = request
    _core.fill(out, r.kind, dtype_code(out.dtype), r.a, r.b, r.c, r.d, r.lo, r.hi, target.key[0], target.key[1],
               target.stream, target.start, gstrides, threads.threads_for(out.size), simd.current(), segment, flags)
