"""What the build under test must have.

A build without OpenMP, or without a SIMD path (AVX2, AVX-512 on x86-64;
NEON, SVE on aarch64), or on a CPU without it, passes the suite with those
tests skipped.  CI names what it requires: ``FASTINIT_REQUIRE=openmp,avx2,avx512``
(any subset of FEATURES, comma separated) turns each of those skips into a
failure.  Tests that skip for a
missing feature call ``require_or_skip(feature, reason)`` (or ``need``)
instead of ``pytest.skip``.
"""

from __future__ import annotations

import os

import pytest

FEATURES = ("openmp", "avx2", "avx512", "neon", "sve")


def required() -> set[str]:
    """The features FASTINIT_REQUIRE names (lower case); an unknown name is
    an error, so that a misspelt requirement cannot pass silently."""
    names = {n.strip().lower() for n in os.environ.get("FASTINIT_REQUIRE", "").split(",") if n.strip()}
    unknown = sorted(names - set(FEATURES))
    if unknown:
        raise ValueError(f"FASTINIT_REQUIRE: unknown feature(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(FEATURES)}")
    return names


def have(feature: str) -> bool:
    """Whether this build (and, for a SIMD path, this CPU) has the feature."""
    from fastinit._backends import simd as _simd
    from fastinit import _core

    if feature == "openmp":
        return bool(_core.openmp_version())
    if feature in _simd.NAMES:  # a SIMD path ("generic" too, which every build has)
        return feature in _simd.available()
    raise ValueError(f"unknown feature {feature!r}; choose from openmp, {', '.join(_simd.NAMES)}")


def require_or_skip(feature: str, reason: str):
    """Skip the calling test for lack of `feature`, or fail it where
    FASTINIT_REQUIRE requires the feature."""
    if feature in required():
        pytest.fail(f"FASTINIT_REQUIRE requires {feature}, but: {reason}", pytrace=False)
    pytest.skip(reason)


def need(feature: str, reason: str | None = None) -> None:
    """Go on where the feature is there; else require_or_skip."""
    if not have(feature):
        require_or_skip(feature, reason or f"this build or CPU lacks {feature}")
