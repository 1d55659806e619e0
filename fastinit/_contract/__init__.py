"""The stream contract: the one spec of what fastinit's values are.

stream.toml holds every constant (Philox, the kinds, dtypes and parameter
slots, the limits, each coefficient of the transforms); generate.py writes
the C header, the Cython declarations, constants.py and the Triton
constants from it.  Here: the contract's dtype codes of NumPy dtypes, which
every backend uses.
"""

from __future__ import annotations

import numpy as np

from .constants import DT_BF16, DT_F16, DT_F32, DT_F64, DT_U32, WORDS_PER_ELEMENT

# Keyed by dtype object: np.dtype.name is slow enough to show in a small fill.
_CODES = {np.dtype(np.uint32): DT_U32, np.dtype(np.float32): DT_F32, np.dtype(np.float64): DT_F64,
          np.dtype(np.float16): DT_F16}


def dtype_code(dt: np.dtype) -> int:
    """The contract's code of a (validated) output dtype."""
    code = _CODES.get(dt)
    if code is None and dt.name == "bfloat16":  # once: ml_dtypes' dtype joins the table
        code = _CODES[dt] = DT_BF16
    return code


def words_per_element(dt: np.dtype) -> int:
    """Philox words an element of dt takes: 2 for float64, else 1."""
    return WORDS_PER_ELEMENT[dtype_code(dt)]
