"""fastinit.Generator: a NumPy-style Generator over counter-based Philox.

State and how it advances
-------------------------
A Generator holds a key (two uint32 words from its SeedSequence) and a
position: the next unused Philox block of stream 0.  A draw without
``stream=`` takes the elements that start at that block and moves the
position past every block it used (a float32 draw of n elements uses
ceil(n / 4) blocks, a float64 draw ceil(n / 2)), so successive draws never
share a word.  The reservation is atomic: Python threads sharing a
Generator get disjoint words.

A draw with ``stream=`` (an int or a tensor name) and/or ``start=`` is a
pure function of (key, stream, element index): it takes elements
[start, start + size) of that stream (defaults 0 and 0) and does not move the
position.  ``random_raw`` is pure as well: it returns words of any stream
from any start, as the stream contract defines them.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .. import _backends
from . import draws as _draws
from .draws import RAW_WORDS, FillTarget
from .methods import DETERMINISTIC_INITIALIZERS, ONE_VALUE_EACH, InitializerMethods
from .. import _validate as V

_BLOCKS_PER_STREAM = 1 << 62  # element indices of a float32 draw stay below 2**64


class Generator(InitializerMethods):
    """Random values for weight buffers from Philox4x32-10.

    Create one with :func:`fastinit.default_rng`.  Methods mirror
    ``numpy.random.Generator`` (``size``, ``dtype``, ``out``), default to
    float64 as NumPy does, and take the dtype of ``out`` when it is given.
    """

    def __init__(self, seed_seq: np.random.SeedSequence):
        if not isinstance(seed_seq, np.random.SeedSequence):
            raise TypeError("Generator(seed_seq) takes a numpy.random.SeedSequence; use fastinit.default_rng(seed)")
        self._seed_seq = seed_seq
        k = seed_seq.generate_state(2, np.uint32)
        self._key = (int(k[0]), int(k[1]))
        self._block = 0
        self._lock = threading.Lock()

    @classmethod
    def _from_key(cls, key) -> Generator:
        """A Generator with a given Philox key (no SeedSequence: no spawn)."""
        g = cls.__new__(cls)
        g._seed_seq = None
        g._key = (int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF)
        g._block = 0
        g._lock = threading.Lock()
        return g

    # ------------------------------------------------------------ identity

    @property
    def key(self) -> np.ndarray:
        """The Philox key: two uint32 words (a copy)."""
        return np.array(self._key, dtype=np.uint32)

    @property
    def seed_seq(self) -> np.random.SeedSequence:
        return self._seed_seq

    @property
    def position(self) -> int:
        """The next unused Philox block of stream 0."""
        return self._block

    def __repr__(self) -> str:
        return f"fastinit.Generator(key=[{self._key[0]:#010x}, {self._key[1]:#010x}], position={self._block})"

    def __reduce__(self):
        return (_restore, (self._seed_seq, self._key, self._block))

    def spawn(self, n_children: int) -> list[Generator]:
        """n independent child Generators (keys from SeedSequence.spawn)."""
        n = V.check_nonnegative_int(n_children, "n_children")
        if self._seed_seq is None:
            raise TypeError("spawn: this Generator was made from a bare key and has no SeedSequence")
        return [Generator(s) for s in self._seed_seq.spawn(n)]

    # ------------------------------------------------------------ raw words

    def random_raw(self, size, *, stream=0, start: int = 0) -> np.ndarray:
        """uint32 words [start, start + size) of a stream (pure: no advance);
        stream=None is stream 0.

        Word w of (key, stream s) is lane w % 4 of Philox4x32-10 of the
        counter (b & 0xffffffff, b >> 32, s & 0xffffffff, s >> 32), b = w // 4.
        """
        shape = V.check_size(size)
        if shape is None:
            raise TypeError("random_raw: size is required")
        s = V.check_stream(stream) if stream is not None else 0
        n = V.check_nbytes(shape, 4)
        first = V.check_start(start, n)
        out = np.empty(shape, dtype=np.uint32)
        return _backends.fill(FillTarget(out, self._key, s, first), RAW_WORDS)

    # -------------------------------------------------------- distributions

    def random(self, size=None, dtype=None, out=None, *, stream=None, start=None):
        """Floats in [0, 1): float32 from a word's top 24 bits, float64 from
        the top 53 bits of two words (NumPy's conventions)."""
        dt, shape, addr = self._request("random", size, dtype, out, stream, start)
        return self._draw(_draws.uniform(0.0, 1.0, dt), dt, shape, out, addr)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=None, out=None, *, stream=None, start=None):
        """Floats in [low, high): low + (high - low) * random(), rounded in
        the output dtype and kept inside [low, high).  low and high may be
        arrays, broadcast against each other and `size` as in NumPy.  A bound
        that is NaN or infinite is an OverflowError, as in NumPy."""
        if np.ndim(low) or np.ndim(high):
            return self._broadcast("uniform", low, high, size, dtype, out, stream, start)
        low, high = _finite_range(low, high)
        dt, shape, addr = self._request("uniform", size, dtype, out, stream, start)
        return self._draw(_draws.uniform(low, high, dt), dt, shape, out, addr)

    def standard_normal(self, size=None, dtype=None, out=None, *, stream=None, start=None):
        """Standard normal floats by Box-Muller (one word per float32, two per
        float64; no rejection)."""
        dt, shape, addr = self._request("standard_normal", size, dtype, out, stream, start)
        return self._draw(_draws.normal(0.0, 1.0, dt), dt, shape, out, addr)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=None, out=None, *, stream=None, start=None):
        """Normal floats: loc + scale * standard_normal(), computed in the
        output's compute type (float32 for 16- and 32-bit outputs).  loc and
        scale may be arrays, broadcast against each other and `size` as in
        NumPy.  Unlike NumPy, a NaN or infinite loc or scale is a ValueError."""
        if np.ndim(loc) or np.ndim(scale):
            return self._broadcast("normal", loc, scale, size, dtype, out, stream, start)
        loc = V.check_real(loc, "loc")
        scale = V.check_nonnegative(scale, "scale")
        dt, shape, addr = self._request("normal", size, dtype, out, stream, start)
        return self._draw(_draws.normal(loc, scale, dt), dt, shape, out, addr)

    def _broadcast(self, method, p0, p1, size, dtype, out, stream, start):
        """uniform/normal with array parameters: element i takes its word(s)
        as always (a standard draw of the broadcast shape), then its own
        parameters, with the same operations in the same compute type as a
        scalar call, so equal parameters give equal bits."""
        names = ("low", "high") if method == "uniform" else ("loc", "scale")
        a, b = (V.check_real_array(p, n) for p, n in zip((p0, p1), names))
        dt, shape, addr = self._request(method, size, dtype, out, stream, start)
        try:
            full = np.broadcast_shapes(a.shape, b.shape) if shape is None else \
                np.broadcast_shapes(tuple(shape), a.shape, b.shape)
        except ValueError as exc:
            raise ValueError(f"{method}: shape mismatch: {names[0]} {a.shape}, {names[1]} {b.shape}"
                             + ("" if shape is None else f" and size {tuple(shape)}")
                             + f" cannot be broadcast to one shape ({exc})") from None
        if shape is not None and full != tuple(shape):
            raise ValueError(f"{method}: shape mismatch: {names[0]} {a.shape} and {names[1]} {b.shape} do not "
                             f"broadcast to size {tuple(shape)}")
        a, b = np.broadcast_to(a, full), np.broadcast_to(b, full)
        if method == "uniform":
            if not (np.isfinite(a).all() and np.isfinite(b).all()):
                raise OverflowError("uniform: low and high must be finite (high - low range exceeds valid bounds)")
            if (a > b).any():
                raise ValueError("uniform: low must not exceed high (high - low < 0)")
            values = _draws.uniform_array(a, b, dt)
            standard = _draws.uniform(0.0, 1.0, np.dtype(_draws.compute_type(dt)))
        else:
            if not (np.isfinite(a).all() and np.isfinite(b).all()):
                raise ValueError("normal: loc and scale must be finite")
            if (b < 0).any():
                raise ValueError("normal: scale must be non-negative (scale < 0)")
            values = _draws.normal_array(a, b, dt)
            standard = _draws.normal(0.0, 1.0, np.dtype(_draws.compute_type(dt)))
        # 16-bit outputs take the same word per element as float32: the
        # standard draw is made in the compute type, then rounded once
        ct = np.dtype(_draws.compute_type(dt))
        z = np.empty(full, dtype=ct)
        self._draw(standard, ct, full, z, addr)
        res = values(z)
        if out is None:
            return res if full else res[()]
        out[...] = res
        return out

    # deterministic initializers, for rng.zeros(...) and the like
    zeros = staticmethod(DETERMINISTIC_INITIALIZERS["zeros"])
    ones = staticmethod(DETERMINISTIC_INITIALIZERS["ones"])
    constant = staticmethod(DETERMINISTIC_INITIALIZERS["constant"])
    eye = staticmethod(DETERMINISTIC_INITIALIZERS["eye"])
    identity = staticmethod(DETERMINISTIC_INITIALIZERS["identity"])
    dirac = staticmethod(DETERMINISTIC_INITIALIZERS["dirac"])

    # ------------------------------------------------------------ internals

    @staticmethod
    def _request(method, size, dtype, out, stream, start, default=np.float64, size_name="size"):
        """Validate the arguments every fill method shares.  Returns the
        dtype, the shape (None for a scalar) and the address: None for a
        sequential draw, else (stream id, first element)."""
        dt, shape = V.check_target(method, size, out, dtype, default, size_name)
        if stream is None and start is None:
            return dt, shape, None
        s = V.check_stream(stream) if stream is not None else 0
        return dt, shape, (s, V.check_start(start if start is not None else 0, math.prod(shape or ())))

    def _reserve_blocks(self, blocks: int) -> int:
        """Take `blocks` Philox blocks of stream 0 in one atomic step; return
        the first."""
        with self._lock:
            first = self._block
            if first + blocks > _BLOCKS_PER_STREAM:
                raise OverflowError("this Generator has used up stream 0; spawn() a child")
            self._block = first + blocks
        return first

    def _draw(self, request, dt, shape, out, address, shard=None):
        """Fill out (or a new array of shape) with the request's values:
        sequentially from the position (address None) or at (stream, first
        element).  shard = (global size, offset, global strides) makes out
        the part full[index] of a global tensor whose element 0 is the first
        element; a sequential draw then takes the blocks of the whole global
        tensor."""
        scalar = out is None and shape is None
        if out is None:
            out = np.empty(() if shape is None else shape, dtype=dt)
        n = shard[0] if shard else out.size
        if address is None:
            stream, first = 0, ONE_VALUE_EACH.reserve(self, n, dt)
        else:
            stream, first = address
        if shard:
            target = FillTarget(out, self._key, stream, first + shard[1], shard[2])
        else:
            target = FillTarget(out, self._key, stream, first)
        _backends.fill(target, request)
        return out.item() if scalar else out


def _finite_range(low, high):
    """NumPy's checks of Generator.uniform's scalar bounds: NaN or infinite
    bounds (or a range beyond float64) are OverflowErrors, high < low a
    ValueError."""
    lo_, hi_ = (V.check_real_or_nonfinite(x, n) for x, n in ((low, "low"), (high, "high")))
    if not (math.isfinite(lo_) and math.isfinite(hi_)):
        raise OverflowError(f"uniform: high - low range exceeds valid bounds (low={lo_}, high={hi_})")
    return V.check_bounds(lo_, hi_)


def _restore(seed_seq, key, block):
    g = Generator(seed_seq) if seed_seq is not None else Generator._from_key(key)
    g._block = block
    return g


def default_rng(seed=None) -> Generator:
    """A Generator from a seed: None (fresh entropy), an int or a sequence of
    ints, a numpy.random.SeedSequence, or a fastinit.Generator (returned as is).

    The key is ``np.random.SeedSequence(seed).generate_state(2, np.uint32)``.
    """
    return _as_generator(seed, "default_rng: seed")


def as_generator(rng, name: str = "rng") -> Generator:
    """The Generator an ``rng=`` argument names (SPEC 7): None (fresh
    entropy), an int seed (or a sequence of ints), a SeedSequence or a
    fastinit.Generator; errors name the argument `name`."""
    return _as_generator(rng, name)


_ACCEPTED_SEEDS = "None, an int seed (or a sequence of ints), a numpy.random.SeedSequence or a fastinit.Generator"


def _as_generator(seed, name: str) -> Generator:
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return Generator(seed)
    if seed is None:
        return Generator(np.random.SeedSequence())
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
        raise TypeError(f"{name} must be {_ACCEPTED_SEEDS}, not a NumPy {type(seed).__name__} (fastinit draws "
                        "from its own Philox stream; pass an int seed)")
    if isinstance(seed, (bool, np.bool_, float, np.floating)):
        raise TypeError(f"{name} must be {_ACCEPTED_SEEDS}, got {V.describe(seed)}")
    try:
        seq = np.random.SeedSequence(seed)
    except Exception as exc:  # noqa: BLE001 - TypeError or ValueError from SeedSequence, or an object's own
        if isinstance(exc, ValueError):
            raise ValueError(f"{name} must be {_ACCEPTED_SEEDS}, got {V.describe(seed)} (seeds are "
                             "non-negative integers)") from None
        raise TypeError(f"{name} must be {_ACCEPTED_SEEDS}, got {V.describe(seed)}") from None
    return Generator(seq)
