"""Writing safetensors files tensor by tensor, through a memory map.

The format (https://github.com/huggingface/safetensors): 8 bytes, the
little-endian length N of a JSON header; the header, here padded with spaces
to a multiple of 8; then the tensors' bytes, back to back, each at the
[begin, end) data_offsets its header entry gives (relative to the end of the
header).  Tensors are laid out by decreasing element size (as the
safetensors library does) so that every tensor starts aligned to its type.

A file is written to a temporary name beside the destination, filled through
windows of a memory map (only one window is mapped at a time, so the
process never holds the model), flushed with fsync and renamed over the
destination atomically; an interrupted writer leaves nothing at the
destination.  On Linux the file is created unnamed (O_TMPFILE) and gets a
name only once it is complete, so even SIGKILL strands nothing; elsewhere
(or on a filesystem without O_TMPFILE) the temporary name carries the
writer's host name and process id, and the next writer to the same
destination on that host removes those of processes that no longer exist.  Files get the mode an ordinary
``open(path, "w")`` gives (0666 less the umask).
"""

from __future__ import annotations

import json
import mmap
import os
import secrets

import numpy as np

DTYPE_NAMES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16"}
WINDOW = 64 << 20  # bytes mapped at a time


class Entry:
    """One tensor of a file: name, shape, dtype, and its place in the file."""

    __slots__ = ("name", "shape", "dtype", "begin", "end")

    def __init__(self, name: str, shape: tuple, dtype: np.dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), dtype
        self.begin = self.end = 0

    @property
    def nbytes(self) -> int:
        n = self.dtype.itemsize
        for s in self.shape:
            n *= s
        return n


def layout(entries: list[Entry], metadata: dict | None = None) -> bytes:
    """Assign data offsets (decreasing element size, then the given order)
    and return the padded header, length prefix included."""
    pos = 0
    for e in sorted(entries, key=lambda e: -e.dtype.itemsize):
        e.begin, e.end = pos, pos + e.nbytes
        pos = e.end
    header = {e.name: {"dtype": DTYPE_NAMES[e.dtype.name], "shape": list(e.shape), "data_offsets": [e.begin, e.end]}
              for e in entries}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw


TMP_SUFFIX = ".fastinit-tmp"


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _host() -> str:
    """This machine's name, reduced to [A-Za-z0-9-] (a shared folder may be
    written from several machines, whose process ids mean nothing here)."""
    import socket

    return "".join(c if c.isascii() and (c.isalnum() or c == "-") else "-" for c in socket.gethostname()) or "host"


def _tmp_name(path: str) -> str:
    folder, base = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{base}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}{TMP_SUFFIX}")


def remove_stale_temps(path) -> list[str]:
    """Remove the temporary files that killed writers on this machine left
    for destination `path` (named ``.<name>.<host>.<pid>.<random>.fastinit-tmp``,
    pid no longer running); return their paths."""
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    prefix = f".{base}."
    for name in names:
        if not (name.startswith(prefix) and name.endswith(TMP_SUFFIX)):
            continue
        parts = name[len(prefix): -len(TMP_SUFFIX)].split(".")
        if len(parts) != 3 or parts[0] != _host() or not parts[1].isdigit():
            continue  # not ours, or another machine's
        pid = int(parts[1])
        if pid != os.getpid() and not _pid_alive(pid):
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(os.path.join(folder, name))
            except FileNotFoundError:
                pass
    return removed


def check_destination(path, what: str = "out") -> str:
    """The absolute destination, or an error naming it: its folder must
    exist (nothing is created) and it must not be a folder itself."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{what}: the folder {folder!r} does not exist (create it first)")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{what}: {path!r} is a folder; give a file name, e.g. "
                                f"{os.path.join(path, 'model.safetensors')!r}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{what}: the folder {folder!r} is not writable")
    return path


class AtomicFile:
    """A file that appears at `path` complete or not at all: `fd` is open
    for reading and writing; commit() names it (fsync, then an atomic
    rename over `path`), abort() drops it."""

    def __init__(self, path):
        self.path = check_destination(path)
        self.folder = os.path.dirname(self.path)
        self.tmp = None  # the temporary name, when the file has one
        remove_stale_temps(self.path)
        mode = 0o666
        flag = getattr(os, "O_TMPFILE", 0)
        self.fd = None
        if flag:
            try:
                self.fd = os.open(self.folder, flag | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), mode)
            except OSError:  # EOPNOTSUPP, EISDIR, EINVAL: no O_TMPFILE on this filesystem
                self.fd = None
        if self.fd is None:
            self.tmp = _tmp_name(self.path)
            self.fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
        else:
            os.fchmod(self.fd, mode & ~_umask())  # O_TMPFILE applies the umask too; make sure

    def commit(self) -> None:
        os.fsync(self.fd)
        if self.tmp is None:  # unnamed: give it a temporary name, then rename over the destination
            tmp = _tmp_name(self.path)
            # linkat(AT_SYMLINK_FOLLOW) names the open file; CPython calls
            # plain link() (which would link the /proc symlink) unless a
            # dir_fd is given, so give the folder's.
            dirfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.link(f"/proc/self/fd/{self.fd}", os.path.basename(tmp), dst_dir_fd=dirfd, follow_symlinks=True)
            finally:
                os.close(dirfd)
            self.tmp = tmp
        os.close(self.fd)
        self.fd = None
        os.replace(self.tmp, self.path)
        self.tmp = None
        dirfd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)

    def abort(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except FileNotFoundError:
                pass
            self.tmp = None


def write_atomic(path, data: bytes) -> None:
    """Write `data` to `path` through an AtomicFile."""
    f = AtomicFile(path)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(f.fd, view):]
        f.commit()
    except BaseException:
        f.abort()
        raise


class Writer:
    """Write one safetensors file: `with Writer(path, entries, metadata) as w:`
    then `w.write_rows(entry, first_row, rows, fill)` for every part of every
    tensor; leaving the block without an exception commits the file."""

    def __init__(self, path, entries: list[Entry], metadata: dict | None = None):
        self.path = os.fspath(path)
        self.entries = entries
        self.header = layout(entries, metadata)
        self.size = len(self.header) + sum(e.nbytes for e in entries)
        self.file = None
        self.fd = None
        self._pending = None  # written bytes not yet advised: (lo, hi)

    def __enter__(self):
        self.file = AtomicFile(self.path)
        self.fd = self.file.fd
        try:
            os.ftruncate(self.fd, self.size)
            os.pwrite(self.fd, self.header, 0)
        except BaseException:
            self.file.abort()
            raise
        return self

    def write_rows(self, entry: Entry, first_row: int, rows: int, fill) -> None:
        """fill(view): a writable NumPy view of rows [first_row, first_row +
        rows) of `entry` (along its first dimension), mapped from the file for
        the call.  Afterwards the written range is advised POSIX_FADV_DONTNEED,
        which starts its writeback now (so the disk works while the next
        window is filled: 2.2 GB took 5.66 s against 7.25 s without, and dd's
        5.06 s) and keeps the page cache small."""
        row_bytes = entry.nbytes // entry.shape[0] if entry.shape and entry.shape[0] else entry.nbytes
        start = len(self.header) + entry.begin + first_row * row_bytes
        length = rows * row_bytes
        shape = ((rows,) + entry.shape[1:]) if entry.shape else ()
        if length == 0:
            fill(np.empty(shape, dtype=entry.dtype))
            return
        aligned = start - start % mmap.ALLOCATIONGRANULARITY
        m = mmap.mmap(self.fd, length + (start - aligned), offset=aligned)
        view = np.frombuffer(m, dtype=entry.dtype, count=length // entry.dtype.itemsize,
                             offset=start - aligned).reshape(shape)
        fill(view)  # on an exception the map closes when the traceback lets go of the view
        del view
        m.close()
        self._written(start, start + length)

    def _written(self, lo: int, hi: int) -> None:
        """Advise written bytes in contiguous runs of at least WINDOW bytes
        (many small advices made as many small writebacks)."""
        if self._pending is not None and self._pending[1] == lo:
            self._pending = (self._pending[0], hi)
        else:
            self._advise_pending()
            self._pending = (lo, hi)
        if self._pending[1] - self._pending[0] >= WINDOW:
            self._advise_pending()

    def _advise_pending(self) -> None:
        if self._pending is not None and hasattr(os, "posix_fadvise"):
            lo, hi = self._pending
            os.posix_fadvise(self.fd, lo, hi - lo, os.POSIX_FADV_DONTNEED)
        self._pending = None

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._advise_pending()
                self.file.commit()
        finally:
            self.file.abort()  # a no-op after a commit
        return False
