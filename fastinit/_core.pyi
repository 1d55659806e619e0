"""Type stubs for fastinit._core, the compiled fill engine (src/_core.pyx)."""

from collections.abc import Sequence

import numpy as np

STREAM_VERSION: int
MAX_RANK: int
ENGINE_BLOCK: int
DTYPES: dict[str, int]
KINDS: dict[str, int]
ISA_NAMES: tuple[str, ...]

def fill(
    out: np.ndarray,
    kind: int,
    dtype: int,
    a: float,
    b: float,
    c: float,
    d: float,
    lo: float,
    hi: float,
    key0: int,
    key1: int,
    stream: int,
    gbase: int,
    gstrides: Sequence[int] | None,
    nthreads: int,
    isa: int,
    segment: int,
    flags: int = 0,
) -> None: ...
def philox(counter: Sequence[int], key: Sequence[int]) -> list[int]: ...
def advise_hugepages(address: int, nbytes: int) -> int: ...
def isa_compiled(isa: int) -> bool: ...
def isa_supported(isa: int) -> bool: ...
def isa_vector_bits(isa: int) -> int: ...
def threading() -> str: ...
def openmp_version() -> int: ...
def openmp_max_threads() -> int: ...
def openmp_set_threads(n: int) -> None: ...
def compiler() -> str: ...
