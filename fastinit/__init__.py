"""fastinit: fast, reproducible weight initialization.

Counter-based Philox4x32-10 random numbers, SIMD kernels and OpenMP threads
behind a NumPy-style API.  Every value is a pure function of (seed, stream,
global element index, distribution, dtype): the same bits on any number of
threads, any SIMD path and any split of the work.
"""

try:
    from ._core import STREAM_VERSION
except ImportError as exc:  # pragma: no cover - depends on how Python was started
    import importlib.machinery as _machinery
    import os as _os
    import sys as _sys

    # A compiled core is `_core` plus an extension suffix (`.cpython-311-x86_64-linux-gnu.so`,
    # `.abi3.so`, `.pyd`, ...); the type stub `_core.pyi` beside it is not one.
    _here = _os.path.dirname(__file__)
    if not any(_os.path.isfile(_os.path.join(_here, "_core" + s)) for s in _machinery.EXTENSION_SUFFIXES):
        _how = {"-m": "python -m puts the current folder first on sys.path",
                "-c": "python -c puts the current folder first on sys.path",
                "": "an interactive python puts the current folder first on sys.path"}.get(
            _sys.argv[0] if _sys.argv else "", "the current or the script's folder comes first on sys.path")
        raise ModuleNotFoundError(
            f"fastinit was imported from {_here}, a source folder without the "
            f"compiled core ({_how}). Install fastinit and run from another folder, or use the "
            "`fastinit` command.",
            name=__name__ + "._core",
        ) from exc
    raise
from ._initializers.functions import *  # noqa: F403 - the initializers
from ._initializers.functions import __all__ as _initializer_names
from ._tools.config import show_config
from ._initializers.generator import Generator, default_rng
from ._backends.threads import get_num_threads, set_num_threads
from .model import init_model

__version__ = "0.1.0"

__all__ = [
    *_initializer_names,
    "STREAM_VERSION",
    "Generator",
    "default_rng",
    "init_model",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "__version__",
]
