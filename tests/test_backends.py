"""The backend seam: one fill(target, request) per buffer type.

A FillRequest carries the contract's parameter slots in the contract's
order; a backend is found by the buffer's type (subclasses included) and
a new backend is one module with a fill(); an unknown buffer is a
TypeError, never a silent fallback.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import fastinit
from fastinit import _backends
from fastinit._contract import constants as C
from fastinit._initializers import draws
from fastinit._initializers.draws import FillRequest, FillTarget


def test_a_request_holds_the_contracts_slots_in_order():
    assert FillRequest._fields == ("kind", *C.PARAM_SLOTS)
    r = draws.truncated_normal(0.0, 1.0, -2.0, 2.0, np.dtype(np.float32))
    assert r.kind == C.TRUNCNORM and r.lo == np.float32(-2.0) and r.hi == np.float32(2.0)
    assert 0 < r.c < 0.5 and 0 < r.d < 1  # Phi(-2) and Phi(2) - Phi(-2), rounded to float32
    with pytest.raises(AttributeError):
        r.a = 1.0


def test_ndarrays_and_their_subclasses_go_to_the_cpu_backend(tmp_path):
    from fastinit._backends import cpu

    m = np.memmap(tmp_path / "w.bin", dtype=np.float32, mode="w+", shape=(8, 4))
    assert _backends.backend_for(np.zeros(3)) is cpu
    assert _backends.backend_for(m) is cpu
    fastinit.he_normal(out=m, rng=3)
    np.testing.assert_array_equal(np.asarray(m), fastinit.he_normal((8, 4), rng=3))


def test_an_unknown_buffer_is_a_type_error():
    with pytest.raises(TypeError, match="no fastinit backend fills a list"):
        _backends.fill(FillTarget([0.0] * 4, (0, 0)), FillRequest(C.CONST, 1.0))


class _Buffer:
    """A buffer of a backend that exists only in this test."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.size = int(np.prod(shape))
        self.nbytes, self.ndim = self.size * self.dtype.itemsize, len(shape)
        self.strides = tuple(int(s) for s in np.empty(shape, dtype).strides)
        self.flags = types.SimpleNamespace(writeable=True)
        self.host = np.empty(shape, dtype)


def test_a_new_backend_is_one_module(monkeypatch):
    """A module with fill(target, request) and its buffer type in BACKENDS:
    the initializers reach it with the same request and target the cpu
    backend gets, so it can compute the same values."""
    seen = []
    module = types.ModuleType("fastinit._backends.fake")

    def fill(target, request):
        seen.append((target, request))
        host = FillTarget(target.out.host, target.key, target.stream, target.start, target.gstrides)
        _backends.fill(host, request)  # here: the cpu backend computes it

    module.fill = fill
    monkeypatch.setitem(sys.modules, "fastinit._backends.fake", module)
    monkeypatch.setattr(_backends, "BACKENDS", dict(_backends.BACKENDS))  # put back after the test
    monkeypatch.setattr(_backends, "BUFFER_TYPES", _backends.BUFFER_TYPES)
    monkeypatch.setattr(_backends, "_BY_TYPE", {})
    _backends.register(_Buffer, "fake")
    buf = _Buffer((64, 32), np.float32)
    g = fastinit.default_rng(5)
    g.he_normal(out=buf, stream="layer.0", global_shape=(128, 32), index=(slice(64, 128),))
    (target, request), = seen
    assert request.kind == C.NORMAL and target.out is buf and target.start == 64 * 32
    full = fastinit.default_rng(5).he_normal((128, 32), stream="layer.0")
    np.testing.assert_array_equal(buf.host, full[64:])


def test_the_cpu_backend_hands_the_core_each_slot_in_place(monkeypatch):
    """The request's slots reach _core.fill as its a, b, c, d, lo, hi."""
    from fastinit import _core

    seen = []
    real = _core.fill
    monkeypatch.setattr(_core, "fill", lambda *args: (seen.append(args), real(*args))[1])
    r = FillRequest(C.TRUNCNORM, 0.5, 2.0, 0.25, 0.5, -1.0, 3.0)
    out = np.empty(16, np.float32)
    _backends.fill(FillTarget(out, (7, 9), stream=11, start=13), r)
    (args,) = seen
    assert args[1:3] == (C.TRUNCNORM, C.DT_F32)
    assert args[3:9] == (0.5, 2.0, 0.25, 0.5, -1.0, 3.0)
    assert args[9:13] == (7, 9, 11, 13)
