"""fastinit: fast, reproducible weight initialization.

Counter-based Philox4x32-10 random numbers, SIMD kernels and OpenMP threads
behind a NumPy-style API.  Every value is a pure function of (seed, stream,
global element index, distribution, dtype): the same bits on any number of
threads, any SIMD path and any split of the work.
"""

from ._core import STREAM_VERSION
from ._config import show_config
from ._generator import Generator, default_rng
from ._threads import get_num_threads, set_num_threads

__version__ = "0.1.0"

__all__ = [
    "STREAM_VERSION",
    "Generator",
    "default_rng",
    "get_num_threads",
    "set_num_threads",
    "show_config",
    "__version__",
]
