"""fastinit.show_config(): what this installation is and how it will run."""

from __future__ import annotations

import platform
import sys

from .._backends import simd as _simd
from .._backends import threads as _threads
from .. import _core


def _openmp_runtime() -> str:
    """The OpenMP library loaded in this process, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    libs = [i for i in threadpool_info() if i.get("user_api") == "openmp"]
    return ", ".join(f"{i['internal_api']} {i.get('version') or ''} ({i['filepath']})".replace("  ", " ") for i in libs) or "none found"


def config() -> dict:
    from .. import __version__

    omp = _core.openmp_version()
    return {
        "version": __version__,
        "stream_version": _core.STREAM_VERSION,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "compiler": _core.compiler(),
        "openmp": f"yes (_OPENMP {omp})" if omp else {
            "pthreads": "no (fills on threads of the core's own)", "none": "no (serial build: one thread)"}[
            _core.threading()],
        "threading": _core.threading(),
        "openmp_runtime": _openmp_runtime() if omp else "-",
        "threads": _threads.get_num_threads(),
        "simd_available": _simd.available(),
        "simd": _simd.current_name(),
        "simd_vector_bits": _core.isa_vector_bits(_simd.current()),
    }


def show_config() -> None:
    """Print the version, stream version, OpenMP runtime and threads, SIMD path."""
    c = config()
    print(f"fastinit {c['version']} (stream version {c['stream_version']})")
    print(f"  python:         {c['python']} on {c['machine']}")
    print(f"  compiler:       {c['compiler']}")
    print(f"  openmp:         {c['openmp']}")
    print(f"  openmp runtime: {c['openmp_runtime']}")
    print(f"  threads:        {c['threads']}")
    print(f"  simd:           {c['simd']}, {c['simd_vector_bits']}-bit vectors (available: {', '.join(c['simd_available'])})")
