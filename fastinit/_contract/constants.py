"""Generated from fastinit/_contract/stream.toml by fastinit/_contract/generate.py: do not edit.

The stream contract's constants for the Python layer (the codes the
core takes).
"""

STREAM_VERSION = 2
MAX_RANK = 64
ENGINE_BLOCK = 16384
WINDOW_BYTES = 67108864
PHILOX_ROUNDS = 10
WORDS_PER_BLOCK = 4
PHILOX_MULTIPLIERS = (0xD2511F53, 0xCD9E8D57)
PHILOX_KEY_BUMPS = (0x9E3779B9, 0xBB67AE85)

DTYPES = ("u32", "f32", "f64", "f16", "bf16")
DT_U32 = 0
DT_F32 = 1
DT_F64 = 2
DT_F16 = 3
DT_BF16 = 4
ITEMSIZE = (4, 4, 8, 2, 2)
WORDS_PER_ELEMENT = (1, 1, 2, 1, 1)

KINDS = ("raw", "const", "uniform", "normal", "truncnorm", "truncnorm_f64")
RAW = 0
CONST = 1
UNIFORM = 2
NORMAL = 3
TRUNCNORM = 4
TRUNCNORM_F64 = 5

PARAM_SLOTS = ("a", "b", "c", "d", "lo", "hi")

TRUNCATED_STD = 0.8796256610342398
FLOAT32_TRUNCNORM_MASS = 0.0625
