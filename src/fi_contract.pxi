# Generated from fastinit/_contract/stream.toml by fastinit/_contract/generate.py: do not edit.

cdef extern from "fi_contract.h" nogil:
    enum:
        FI_STREAM_VERSION
        FI_MAXDIM
        FI_BLOCK
        FI_DT_U32
        FI_DT_F32
        FI_DT_F64
        FI_DT_F16
        FI_DT_BF16
        FI_KIND_RAW
        FI_KIND_CONST
        FI_KIND_UNIFORM
        FI_KIND_NORMAL
        FI_KIND_TRUNCNORM
        FI_KIND_TRUNCNORM_F64

STREAM_VERSION = FI_STREAM_VERSION
MAX_RANK = FI_MAXDIM
ENGINE_BLOCK = FI_BLOCK
DTYPES = {"u32": FI_DT_U32, "f32": FI_DT_F32, "f64": FI_DT_F64, "f16": FI_DT_F16, "bf16": FI_DT_BF16}
KINDS = {"raw": FI_KIND_RAW, "const": FI_KIND_CONST, "uniform": FI_KIND_UNIFORM, "normal": FI_KIND_NORMAL, "truncnorm": FI_KIND_TRUNCNORM, "truncnorm_f64": FI_KIND_TRUNCNORM_F64}
