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

Space is reserved before the first byte of data is written: the free space
of the filesystem is checked (``os.statvfs``), then the whole file is
allocated (``os.posix_fallocate``; zeros written where the platform has no
such call), so a full disk is an OSError(ENOSPC) naming the destination, not
a SIGBUS in the middle of a memory-mapped write.  A destination that exists
must be a regular file (or a symbolic link to one, which is followed as
``open(path, "w")`` follows it: the link stays and its target is replaced).
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import secrets
import stat

import numpy as np

from .._contract.constants import WINDOW_BYTES

DTYPE_NAMES = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16"}
WINDOW = WINDOW_BYTES  # bytes mapped at a time


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
    for e in entries:
        if e.name == "__metadata__":
            raise ValueError("tensor '__metadata__': the name is reserved by the safetensors format "
                             "(it holds the file's metadata); rename the tensor")
        if e.dtype.name not in DTYPE_NAMES:
            raise TypeError(f"tensor {e.name!r}: dtype {e.dtype} cannot be written; use {', '.join(DTYPE_NAMES)}")
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


_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def check_destination(path, what: str = "out") -> str:
    """The absolute destination, or an error naming it: its folder must
    exist (nothing is created), and if it exists it must be a regular file
    (never a folder, device, FIFO or socket, which a rename would replace).
    A symbolic link is followed, as open(path, "w") follows it: the
    destination is its target (checked the same way), and the link stays."""
    path = os.path.abspath(os.fspath(path))
    if os.path.islink(path):
        path = os.path.realpath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{what}: the folder {folder!r} does not exist (create it first)")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise type(exc)(f"{what}: cannot inspect {path!r}: {exc.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{what}: {path!r} is a folder; give a file name, e.g. "
                                f"{os.path.join(path, 'model.safetensors')!r}")
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = next((k for test, k in _KINDS if test(st.st_mode)), "not a regular file")
        raise ValueError(f"{what}: {path!r} exists and is {kind}, not a regular file; refusing to replace it "
                         "(give the path of a new or regular file)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{what}: the folder {folder!r} is not writable")
    return path


def free_bytes(folder) -> int | None:
    """Bytes an unprivileged writer may still use on folder's filesystem
    (None where the platform cannot tell)."""
    if not hasattr(os, "statvfs"):
        return None
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def no_space(path, what: str, needed: int, free: int | None) -> OSError:
    """OSError(ENOSPC) naming the destination and the bytes needed/free."""
    tail = f"; {free:,} are free" if free is not None else ""
    exc = OSError(f"{what}: not enough space on the disk for {path!r}: {needed:,} bytes needed{tail}")
    exc.errno = errno.ENOSPC
    return exc


def check_free_space(paths_and_sizes, what: str = "out") -> None:
    """Refuse, before anything is written, files that together do not fit in
    their filesystems' free space: [(path, bytes)], grouped by folder."""
    by_folder = {}
    for path, size in paths_and_sizes:
        folder = os.path.dirname(os.path.abspath(path))
        total, first = by_folder.get(folder, (0, path))
        by_folder[folder] = (total + size, first)
    for folder, (needed, path) in by_folder.items():
        free = free_bytes(folder)
        if free is not None and needed > free:
            raise no_space(path if len(paths_and_sizes) == 1 else folder, what, needed, free)


def reserve(fd: int, size: int, path, what: str = "out") -> None:
    """Allocate bytes [0, size) of the open file fd, so that writes through a
    memory map cannot fail for want of space (SIGBUS): posix_fallocate, else
    zeros written block by block.  ENOSPC (or EFBIG) becomes an OSError
    naming the destination."""
    if size <= 0:
        return
    try:
        if hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
                return
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, getattr(errno, "ENOSYS", -1)):
                    raise
        os.ftruncate(fd, 0)
        block = bytes(1 << 20)
        pos = 0
        while pos < size:
            pos += os.pwrite(fd, block[: min(len(block), size - pos)], pos)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise no_space(path, what, size, free_bytes(os.path.dirname(os.path.abspath(path)))) from None
        if exc.errno == errno.EFBIG:
            e = OSError(f"{what}: {path!r} would be {size:,} bytes, larger than this filesystem allows")
            e.errno = errno.EFBIG
            raise e from None
        raise


class folder_lock:
    """An exclusive flock on a folder while the block runs (where the
    platform and filesystem allow one; otherwise nothing), so that two
    writers publishing files into one folder take turns."""

    def __init__(self, folder):
        self.folder, self.fd = folder, None

    def __enter__(self):
        try:
            import fcntl

            self.fd = os.open(self.folder, os.O_RDONLY)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            if self.fd is not None:
                os.close(self.fd)
            self.fd = None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None
        return False


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
        self.sync()
        self.publish()

    def sync(self) -> None:
        """Flush the file's data to the disk (the slow half of commit)."""
        os.fsync(self.fd)

    def publish(self, sync_folder: bool = True) -> None:
        """Name the (synced) file at its destination, atomically."""
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
        if sync_folder:
            sync_dir(self.folder)

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


def sync_dir(folder) -> None:
    dirfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def write_atomic(path, data: bytes, publish: bool = True) -> AtomicFile:
    """Write `data` to `path` through an AtomicFile; publish=False leaves it
    synced but unnamed (the caller publishes or aborts it)."""
    f = AtomicFile(path)
    try:
        reserve(f.fd, len(data), f.path)
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            pos += os.pwrite(f.fd, view[pos:], pos)
        if publish:
            f.commit()
        else:
            f.sync()
    except BaseException:
        f.abort()
        raise
    return f


class Writer:
    """Write one safetensors file: `with Writer(path, entries, metadata) as w:`
    then `w.write_rows(entry, first_row, rows, fill)` for every part of every
    tensor; leaving the block without an exception commits the file (with
    publish=False: syncs it, and the caller names it with ``w.file.publish()``
    or drops it with ``w.file.abort()``, so a set of files can be committed
    together).  The space is reserved before any data is written."""

    def __init__(self, path, entries: list[Entry], metadata: dict | None = None, publish: bool = True):
        self.path = os.fspath(path)
        self.publish = publish
        self.entries = entries
        self.header = layout(entries, metadata)
        self.size = len(self.header) + sum(e.nbytes for e in entries)
        self.file = None
        self.fd = None
        self._pending = None  # written bytes not yet advised: (lo, hi)

    def __enter__(self):
        check_free_space([(self.path, self.size)])
        self.file = AtomicFile(self.path)
        self.fd = self.file.fd
        try:
            reserve(self.fd, self.size, self.file.path)
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
                if self.publish:
                    self.file.commit()
                else:
                    self.file.sync()
                    return False
        except BaseException:
            self.file.abort()
            raise
        self.file.abort()  # a no-op after a commit; drops the file after an exception
        return False
