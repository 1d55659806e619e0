"""Record the core's fills behind the golden hashes as harness requests.

Runs every fill of tests/test_golden.py through the installed package with
the core's fill call recorded: each call becomes one request line for
tests/cross/harness.c (requests file) and the SHA-256 of the values it
wrote, in C order (hashes file, one per line).  The harness's output for
the same requests must hash the same on every build: so x86's Python
package, x86's harness and aarch64's harness (tests/cross/aarch64.sh) are
tied to the pinned golden values.

    python tests/cross/golden_requests.py REQUESTS HASHES
"""

from __future__ import annotations

import hashlib
import importlib.util
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


class _Recorder:
    """Stands in for fastinit._core: fill is recorded, the rest passed on."""

    def __init__(self, core):
        self._core = core
        self.records: list[tuple[str, str]] = []

    def __getattr__(self, name):
        return getattr(self._core, name)

    def fill(self, out, kind, dtype, a, b, c, d, lo, hi, key0, key1, stream, gbase, gstrides, nthreads, isa,
             segment, flags=0):
        self._core.fill(out, kind, dtype, a, b, c, d, lo, hi, key0, key1, stream, gbase, gstrides, nthreads, isa,
                        segment, flags)
        gs = "C" if gstrides is None else " ".join(str(int(s)) for s in gstrides)
        line = " ".join(str(f) for f in (kind, dtype, key0, key1, stream, *(repr(float(v)) for v in (a, b, c, d, lo, hi)),
                                         gbase, out.ndim, *out.shape, gs, "C"))
        digest = hashlib.sha256(np.ascontiguousarray(out).view(np.uint8).tobytes()).hexdigest()
        self.records.append((line, digest))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("golden", HERE.parent / "test_golden.py")
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)

    from fastinit._backends import cpu

    rec = _Recorder(cpu._core)
    cpu._core = rec
    try:
        for fill in golden._fills().values():
            fill()
    finally:
        cpu._core = rec._core
    if not rec.records:
        print("golden_requests: no fill reached the core", file=sys.stderr)
        return 1
    requests, hashes = (pathlib.Path(p) for p in argv)
    requests.write_text("".join(line + "\n" for line, _ in rec.records))
    hashes.write_text("".join(digest + "\n" for _, digest in rec.records))
    print(f"golden_requests: {len(rec.records)} core fills recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
