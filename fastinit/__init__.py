"""fastinit: fast, reproducible weight initialization.

Counter-based Philox4x32-10 random numbers, SIMD kernels and OpenMP threads
behind a NumPy-style API.  Every value is a pure function of (seed, stream,
global element index, distribution, dtype): the same bits on any number of
threads, any SIMD path and any split of the work.
"""

try:
    from ._core import STREAM_VERSION
except ImportError as exc:  # pragma: no cover - depends on how Python was started
    import os as _os
    import sys as _sys

    if not any(f.startswith("_core.") for f in _os.listdir(_os.path.dirname(__file__))):
        _how = {"-m": "python -m puts the current folder first on sys.path",
                "-c": "python -c puts the current folder first on sys.path",
                "": "an interactive python puts the current folder first on sys.path"}.get(
            _sys.argv[0] if _sys.argv else "", "the current or the script's folder comes first on sys.path")
        raise ImportError(
            f"fastinit was imported from {_os.path.dirname(__file__)}, a source folder without the "
            f"compiled core ({_how}). Install fastinit and run from another folder, or use the "
            "`fastinit` command."
        ) from exc
    raise
from ._api import *  # noqa: F403 - the initializers
from ._api import __all__ as _initializers
from ._config import show_config
from ._generator import Generator, default_rng
from ._threads import get_num_threads, set_num_threads
from .model import init_model

__version__ = "0.1.0"

__all__ = [
    *_initializers,
    "STREAM_VERSION",
    "Generator",
    "default_rng",
    "init_model",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "__version__",
]
