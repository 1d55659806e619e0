"""Command line: `fastinit <command>` (or `python -m fastinit <command>`).

Commands:
  bench        fastinit against NumPy (and torch, if installed) on one buffer
  init-model   initialize a whole model into safetensors (fastinit init-model -h)
  diagnose     activation statistics through a deep network (fastinit diagnose -h)
  config       print fastinit.show_config()

Options: -h/--help, -V/--version; `fastinit <command> -h` describes a command.
"""

from __future__ import annotations

import sys

COMMANDS = ("bench", "init-model", "diagnose", "config")
_USAGE = "usage: fastinit {" + ",".join(COMMANDS) + "} ... (fastinit -h lists them)"


# -- argument types shared by the commands' parsers: a bad value is argparse's
#    own error, `fastinit <cmd>: error: argument --flag: ...`, exit status 2

def int_at_least(low: int, why: str = ""):
    """An argparse type: an integer of at least `low` (`why` says why)."""
    import argparse

    def check(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}{why}, got {n}")
        return n

    check.__name__ = f"int_at_least_{low}"
    return check


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def check_output_file(parser, path, flag: str) -> None:
    """Refuse, through parser.error, an output file the command could not
    write (no folder, a folder, not writable); a device or FIFO is fine,
    as for a shell redirect (these outputs are written with a plain open)."""
    from ._io.safetensors import check_destination

    try:
        check_destination(path, flag)
    except ValueError:
        pass
    except OSError as exc:
        parser.error(str(exc))


def check_figure_file(parser, path, flag: str = "--plot") -> None:
    """Refuse, through parser.error, a figure the command could not write:
    check_output_file's cases, no matplotlib, or a file extension
    matplotlib has no writer for.  Run before the work the figure shows."""
    import os

    check_output_file(parser, path, flag)
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        parser.error(f"argument {flag}: needs matplotlib (pip install matplotlib)")
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if not ext:
        parser.error(f"argument {flag}: {path!r} has no extension; name a format, e.g. {path}.png")
    if ext not in formats:
        parser.error(f"argument {flag}: matplotlib {matplotlib.__version__} cannot write .{ext} files "
                     f"(it writes {', '.join(sorted(formats))})")


def save_figure(fig, path: str, **kw) -> None:
    """fig.savefig to path through a temporary file beside it, renamed into
    place once whole: a failed or interrupted write leaves no partial file
    (and an existing file unchanged)."""
    import os
    import tempfile

    folder, name = os.path.split(os.path.abspath(path))
    ext = os.path.splitext(name)[1]
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=ext, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=ext.lstrip(".").lower() or None, **kw)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def file_name(text: str) -> str:
    """An argparse type: the name of a file to write (not empty, not a folder)."""
    import argparse
    import os

    if not text.strip():
        raise argparse.ArgumentTypeError("needs a file name, got an empty one")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name in it")
    return text


def seconds(text: str, most: float = 3600.0) -> float:
    """An argparse type: a finite number of seconds, 0 to `most`."""
    import argparse
    import math

    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(x) or not 0.0 <= x <= most:
        raise argparse.ArgumentTypeError(f"must be a number of seconds from 0 to {most:g}, got {text!r}")
    return x


def physical_memory() -> int | None:
    """Bytes of memory of this machine, None where unknown."""
    import os

    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _run(cmd: str, rest: list) -> int:
    if cmd == "bench":
        from ._tools.bench import main as bench

        return bench(rest)
    if cmd == "init-model":
        from ._tools.cli_model import main as init_model

        return init_model(rest)
    if cmd == "diagnose":
        from .diagnostics import main as diagnose

        return diagnose(rest)
    import argparse

    from ._tools.config import show_config

    argparse.ArgumentParser(prog="fastinit config",
                            description="Print the version, stream version, compiler, OpenMP runtime, "
                                        "threads and SIMD path of this installation.").parse_args(rest)
    show_config()
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if not argv:
        print(f"{_USAGE}\nfastinit: error: a command is required: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    if argv[0] in ("-V", "--version"):
        from . import STREAM_VERSION, __version__

        print(f"fastinit {__version__} (stream version {STREAM_VERSION})")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        what = "option" if cmd.startswith("-") else "command"
        print(f"{_USAGE}\nfastinit: error: unknown {what} {cmd!r} (choose from {', '.join(COMMANDS)})",
              file=sys.stderr)
        return 2
    try:
        return _run(cmd, rest)
    except MemoryError as exc:
        # the last resort: a command that ran out of memory says so in one line
        # (the commands check their sizes first; this catches what slips past)
        detail = f": {exc}" if str(exc) else ""
        print(f"fastinit {cmd}: error: out of memory{detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
