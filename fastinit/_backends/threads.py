"""The one place that decides how many threads a fill uses.

fastinit's threads are OpenMP threads, so the count follows OpenMP's own
setting for the calling thread: ``OMP_NUM_THREADS``,
``threadpoolctl.threadpool_limits(n, user_api="openmp")`` and
``fastinit.set_num_threads(n)`` all change it (like ``omp_set_num_threads``,
the latter two apply to the Python thread that calls them).  Where torch (or
any other library) loads the same ``libgomp.so.1``, its
``torch.set_num_threads`` is that same setting.

Whatever that setting says, a fill never uses more threads than the process
may run at once: the CPUs of its affinity mask (``os.sched_getaffinity``)
and its cgroup CPU quota (a container's ``--cpus``), rounded up, as
scikit-learn counts them.  The fills are compute- and memory-bound: more
threads than CPUs only adds switching.  ``set_num_threads`` caps its
argument the same way.

Small fills run on the calling thread alone: handing work to other threads
costs more than it saves below ``SERIAL_BELOW`` elements.

Fork: the compiled core never opens a parallel region on the calling thread
(see src/fi_engine.c), so a forked child fills on all its threads even when
its parent ran OpenMP (torch, an OpenMP BLAS, fastinit itself) before the
fork.

A build without OpenMP (Apple clang without libomp, or
``-DFASTINIT_OPENMP=OFF``) fills on threads of the core's own
(``_core.threading() == "pthreads"``): the count is then this module's own
setting for the calling Python thread, ``OMP_NUM_THREADS`` (its first
number) until ``set_num_threads`` changes it, else the usable CPUs; OpenMP's
and threadpoolctl's settings do not apply to it.
"""

from __future__ import annotations

import math
import os
import threading

from .. import _core
from .._contract.constants import ENGINE_BLOCK
from .._validate import check_positive_int

# Below this many elements a fill runs serially (a bias of 4096 must not pay
# for a thread hand-off).  See benchmarks/test_bench_fills.py::test_small.
SERIAL_BELOW = 1 << 15

# The engine schedules blocks of this many elements; more threads than
# blocks would idle.
_BLOCK = ENGINE_BLOCK

# Fills run in segments of this many elements, checking for Ctrl-C between
# segments (about 0.1 s of work on one core at the slowest distribution);
# fills whose global indices are not consecutive in the last dimension (a
# shard with a step) are slower per element and use SEGMENT_STRIDED.
SEGMENT = 1 << 24
SEGMENT_STRIDED = 1 << 20


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _cgroup_cpu_quota(root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> float | None:
    """The CPU quota (CPUs, possibly fractional) of this process's cgroup and
    its ancestors, the tightest one; None where there is none.  cgroup v2
    (``cpu.max``) and v1 (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``)."""
    text = _read(proc_cgroup)
    if text is None:
        return None
    quotas = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        path = path.strip().lstrip("/")
        if controllers == "":  # v2: walk from the process's group up to the root
            while True:
                v = _read(os.path.join(root, path, "cpu.max"))
                if v is not None:
                    fields = v.split()
                    if len(fields) == 2 and fields[0] != "max" and int(fields[1]) > 0:
                        quotas.append(int(fields[0]) / int(fields[1]))
                if not path:
                    break
                path = os.path.dirname(path)
        elif "cpu" in controllers.split(","):
            for mount in (controllers, "cpu", "cpu,cpuacct", "cpuacct,cpu"):
                base = os.path.join(root, mount)
                if not os.path.isdir(base):
                    continue
                p = path
                while True:
                    q, per = _read(os.path.join(base, p, "cpu.cfs_quota_us")), _read(
                        os.path.join(base, p, "cpu.cfs_period_us"))
                    if q is not None and per is not None and int(q) > 0 and int(per) > 0:
                        quotas.append(int(q) / int(per))
                    if not p:
                        break
                    p = os.path.dirname(p)
                break
    return min(quotas) if quotas else None


_QUOTA = _cgroup_cpu_quota()


def cpu_limit() -> int:
    """The CPUs this process may run on at once: its affinity mask, capped
    by its cgroup quota (rounded up, at least 1)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    if _QUOTA is not None:
        n = min(n, max(1, math.ceil(_QUOTA)))
    return max(1, n)


# Without OpenMP: each Python thread's own setting (threads of the core's own).
_own = threading.local()


def _own_default() -> int:
    """The setting a Python thread starts with in a build without OpenMP:
    OMP_NUM_THREADS's first number where it is a positive integer (as
    OpenMP reads it), else the usable CPUs."""
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if first.isdigit() and int(first) >= 1:
        return int(first)
    return cpu_limit()


def get_num_threads() -> int:
    """The number of threads a large fill uses now (in this Python thread):
    OpenMP's setting (or, without OpenMP, this module's), at most the CPUs
    this process may use."""
    return max(1, min(_setting(), cpu_limit()))


def set_num_threads(n: int) -> None:
    """Use n threads for large fills (in this Python thread, as OpenMP does).
    n above the CPUs this process may use (affinity, cgroup quota) is capped
    to them: more threads than CPUs never fill faster."""
    n = check_positive_int(n, "n")
    if _core.openmp_version():
        _core.openmp_set_threads(min(n, cpu_limit()))
    elif _core.threading() == "pthreads":
        _own.n = min(n, cpu_limit())
    elif n != 1:
        raise RuntimeError("fastinit was built without threads; it runs on one thread")


def _setting() -> int:
    """The thread setting for this Python thread, as it is (not capped to
    the usable CPUs): the value ``_restore`` puts back exactly.  There is no
    "unset" state: before anything sets it, it is OpenMP's default
    (``OMP_NUM_THREADS``, else the CPUs OpenMP saw at start), or without
    OpenMP ``_own_default()``."""
    if _core.openmp_version():
        return _core.openmp_max_threads()
    if _core.threading() == "pthreads":
        n = getattr(_own, "n", None)
        return n if n is not None else _own_default()
    return 1


def _restore(setting: int) -> None:
    """Put back a value ``_setting()`` returned, unchanged (no cap: a
    setting above the usable CPUs stays above them, as it was)."""
    if _core.openmp_version():
        _core.openmp_set_threads(int(setting))
    elif _core.threading() == "pthreads":
        _own.n = int(setting)


def threads_for(n_elements: int) -> int:
    """Threads for a fill of n_elements."""
    if n_elements < SERIAL_BELOW:
        return 1
    return max(1, min(get_num_threads(), -(-n_elements // _BLOCK)))
