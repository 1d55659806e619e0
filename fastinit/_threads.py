"""The one place that decides how many threads a fill uses.

fastinit's threads are OpenMP threads, so the count follows OpenMP's own
setting for the calling thread: ``OMP_NUM_THREADS``,
``threadpoolctl.threadpool_limits(n, user_api="openmp")`` and
``fastinit.set_num_threads(n)`` all change it (like ``omp_set_num_threads``,
the latter two apply to the Python thread that calls them).

Small fills run on the calling thread alone: starting a thread team costs
more than it saves below ``SERIAL_BELOW`` elements.

A process forked from one that has run OpenMP threads cannot use them:
libgomp's thread pool does not survive fork, and the child's first parallel
region would wait forever.  fastinit therefore fills serially in a forked
child (multiprocessing's 'fork' workers, say), without entering OpenMP at
all; 'spawn' and 'forkserver' children are fresh processes and use threads.
"""

from __future__ import annotations

import os

from . import _core
from ._validate import check_positive_int

# Below this many elements a fill runs serially (a bias of 4096 must not pay
# for a thread team).  See benchmarks/test_bench_fills.py::test_small.
SERIAL_BELOW = 1 << 15

# The engine schedules blocks of this many elements (FI_BLOCK in
# src/fi_engine.c); more threads than blocks would idle.
_BLOCK = 16384

# Fills run in segments of this many elements, checking for Ctrl-C between
# segments (about 0.1 s of work on one core at the slowest distribution);
# fills whose global indices are not consecutive in the last dimension (a
# shard with a step) are slower per element and use SEGMENT_STRIDED.
SEGMENT = 1 << 24
SEGMENT_STRIDED = 1 << 20


_forked = False


def _after_fork_in_child() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def get_num_threads() -> int:
    """The number of threads a large fill uses now (in this Python thread)."""
    return 1 if _forked else _core.openmp_max_threads()


def set_num_threads(n: int) -> None:
    """Use n threads for large fills (in this Python thread, as OpenMP does).
    In a forked child fills stay serial (see the module docstring)."""
    n = check_positive_int(n, "n")
    if _forked:
        return
    if not _core.openmp_version():
        if n != 1:
            raise RuntimeError("fastinit was built without OpenMP; it runs on one thread")
        return
    _core.openmp_set_threads(n)


def threads_for(n_elements: int) -> int:
    """Threads for a fill of n_elements."""
    if n_elements < SERIAL_BELOW:
        return 1
    return max(1, min(get_num_threads(), -(-n_elements // _BLOCK)))
