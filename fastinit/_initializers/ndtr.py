"""The standard normal CDF, in decimal arithmetic, for truncation parameters.

The truncated normal's parameters Phi(alpha) and Phi(beta) - Phi(alpha) are
part of the stream: computed with libm's erf they could differ in the last
bit between C libraries.  Here they come from Python's `decimal` module at 60
significant digits (pure software, the same everywhere) and are rounded to
float64 once, correctly.
"""

from __future__ import annotations

import functools
from decimal import Decimal, localcontext

_PREC = 60
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899863")


def _lower_tail(x: Decimal) -> Decimal:
    """Phi(x) for x <= 0."""
    t = -x / Decimal(2).sqrt()  # Phi(x) = erfc(t) / 2, t >= 0
    if t <= 3:
        # erf by its Maclaurin series: 2/sqrt(pi) sum (-1)^n t^(2n+1) / (n! (2n+1))
        t2 = t * t
        term = t  # (-1)^n t^(2n+1) / n!
        total = t
        n = 0
        eps = Decimal(10) ** (-_PREC)
        while True:
            n += 1
            term = -term * t2 / n
            add = term / (2 * n + 1)
            total += add
            if abs(add) < eps:
                break
        erf = 2 * total / _PI.sqrt()
        return (1 - erf) / 2
    # erfc by its continued fraction, evaluated from the bottom:
    # erfc(t) = exp(-t^2) / sqrt(pi) / (t + (1/2) / (t + 1 / (t + (3/2) / (t + ...))))
    frac = t
    for k in range(400, 0, -1):
        frac = t + (Decimal(k) / 2) / frac
    return (-t * t).exp() / _PI.sqrt() / frac / 2


@functools.lru_cache(maxsize=1024)
def truncation(alpha: float, beta: float) -> tuple[float, float, bool]:
    """For a standard normal truncated to [alpha, beta] (alpha < beta):
    (Phi(lo), Phi(hi) - Phi(lo), flipped), each rounded once to float64, where
    [lo, hi] is [alpha, beta], or [-beta, -alpha] (flipped) when alpha > 0 so
    that both bounds of a one-sided upper tail become lower-tail bounds with
    small, precise probabilities."""
    flipped = alpha > 0
    lo, hi = (-beta, -alpha) if flipped else (alpha, beta)
    with localcontext() as ctx:
        ctx.prec = _PREC
        a, b = Decimal(lo), Decimal(hi)
        pa = _lower_tail(a)
        pb = _lower_tail(b) if b <= 0 else 1 - _lower_tail(-b)
        return float(pa), float(pb - pa), flipped


def ndtr(x: float) -> float:
    """Phi(x), correctly rounded to float64 (for tests and diagnostics)."""
    with localcontext() as ctx:
        ctx.prec = _PREC
        d = Decimal(x)
        return float(_lower_tail(d) if d <= 0 else 1 - _lower_tail(-d))
