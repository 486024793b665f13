"""Drift statistics in plain Python (no scipy): PSI, chi-square and two-sample KS.

The p-values use the textbook algorithms: the regularised upper incomplete gamma function
(series / continued fraction, as in Numerical Recipes) for chi-square, and the asymptotic
Kolmogorov distribution with Stephens' small-sample correction for KS.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

PSI_EPSILON = 1e-4  # stands in for an empty bin, so a label seen on one side only is finite


def psi(reference: Counter, current: Counter) -> float:
    """Population stability index: sum of (p_cur - p_ref) * ln(p_cur / p_ref) over categories."""
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    if not n_ref or not n_cur:
        raise ValueError("both distributions need at least one observation")
    total = 0.0
    for key in set(reference) | set(current):
        p_ref = max(reference[key] / n_ref, PSI_EPSILON)
        p_cur = max(current[key] / n_cur, PSI_EPSILON)
        total += (p_cur - p_ref) * math.log(p_cur / p_ref)
    return total


def chi_square(reference: Counter, current: Counter) -> tuple[float, int, float]:
    """Chi-square test of homogeneity on a 2 x k table: (statistic, df, p-value)."""
    keys = sorted(k for k in set(reference) | set(current) if reference[k] + current[k] > 0)
    n_ref, n_cur = sum(reference[k] for k in keys), sum(current[k] for k in keys)
    if len(keys) < 2 or not n_ref or not n_cur:
        return 0.0, 0, 1.0
    n = n_ref + n_cur
    stat = 0.0
    for key in keys:
        column = reference[key] + current[key]
        for observed, row_total in ((reference[key], n_ref), (current[key], n_cur)):
            expected = row_total * column / n
            stat += (observed - expected) ** 2 / expected
    df = len(keys) - 1
    return stat, df, chi2_sf(stat, df)


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for X ~ chi-square(df)."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if x <= 0:
        return 1.0
    return gammaincc(df / 2, x / 2)


def gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x)."""
    if x < a + 1:
        return max(0.0, 1.0 - _gamma_series(a, x))
    return min(1.0, _gamma_continued_fraction(a, x))


def _gamma_series(a: float, x: float) -> float:
    """P(a, x) by its power series; converges fast for x < a + 1."""
    term = total = 1.0 / a
    denominator = a
    for _ in range(10_000):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_continued_fraction(a: float, x: float) -> float:
    """Q(a, x) by Lentz's continued fraction; converges fast for x >= a + 1."""
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov D: the largest gap between the empirical CDFs."""
    if not a or not b:
        raise ValueError("both samples need at least one value")
    xs, ys = sorted(a), sorted(b)
    i = j = 0
    d = 0.0
    while i < len(xs) and j < len(ys):
        value = min(xs[i], ys[j])
        while i < len(xs) and xs[i] == value:  # step over ties together
            i += 1
        while j < len(ys) and ys[j] == value:
            j += 1
        d = max(d, abs(i / len(xs) - j / len(ys)))
    return d


def kolmogorov_sf(lam: float) -> float:
    """P(K > lam) for the Kolmogorov distribution: 2 * sum (-1)^(k-1) exp(-2 k^2 lam^2)."""
    if lam < 0.2:  # the series converges too slowly here, and the value is 1 to 1e-9 anyway
        return 1.0
    total, sign = 0.0, 1.0
    for k in range(1, 101):
        term = sign * math.exp(-2 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
        sign = -sign
    return min(1.0, max(0.0, 2 * total))


def ks_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(D, asymptotic p-value) with Stephens' correction for the effective sample size."""
    d = ks_statistic(a, b)
    effective = math.sqrt(len(a) * len(b) / (len(a) + len(b)))
    return d, kolmogorov_sf((effective + 0.12 + 0.11 / effective) * d)
