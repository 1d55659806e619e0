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


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from . import STREAM_VERSION, __version__

        print(f"fastinit {__version__} (stream version {STREAM_VERSION})")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "bench":
        from ._bench import main as bench

        return bench(rest)
    if cmd == "init-model":
        from ._cli_model import main as init_model

        return init_model(rest)
    if cmd == "diagnose":
        from .diagnostics import main as diagnose

        return diagnose(rest)
    if cmd == "config":
        import argparse

        from ._config import show_config

        argparse.ArgumentParser(prog="fastinit config",
                                description="Print the version, stream version, compiler, OpenMP runtime, "
                                            "threads and SIMD path of this installation.").parse_args(rest)
        show_config()
        return 0
    print(f"fastinit: unknown command {cmd!r}\n\n{__doc__.strip()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
