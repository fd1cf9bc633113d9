"""Rounding money the way CMS does: once, at the end, to cents, half up."""

from __future__ import annotations

import numpy as np

# Binary floating point stores 4905.925 as 4905.92499999...; a nudge far below
# a cent (but far above float error at these magnitudes) keeps half-up exact.
_NUDGE = 1e-6


def round_cents(x: np.ndarray | float, out: np.ndarray | None = None) -> np.ndarray:
    """Round dollars to cents, half up (CMS's convention); NaN stays NaN.

    Works in place when *out* is given (used on whole fee schedules).
    """
    if out is None:
        return np.floor(np.asarray(x, dtype=float) * 100.0 + (0.5 + _NUDGE)) / 100.0
    a = np.multiply(x, 100.0, out=out)
    np.add(a, 0.5 + _NUDGE, out=a)
    np.floor(a, out=a)
    np.divide(a, 100.0, out=a)
    return a


def line_cents(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole cents per line, rounded half up once, and whether the line has an amount.

    ``(cents, ok)``: int64 cents (0 where *raw* is NaN) and the mask of lines with an amount.
    Claim totals are sums of these integers (:func:`claim_cents`), so the lines of a claim
    add up to its total exactly, as on CMS's remittance advice, where the claim payment is the
    sum of the service-line payments (ASC X12 835 balancing: CLP04 = sum of SVC03).
    """
    a = np.asarray(raw, dtype=float)
    ok = ~np.isnan(a)
    cents = np.floor(np.where(ok, a, 0.0) * 100.0 + (0.5 + _NUDGE)).astype(np.int64)
    return cents, ok


def claim_cents(key: np.ndarray, cents: np.ndarray, n_keys: int) -> np.ndarray:
    """Sum of *cents* per dense key ``0..n_keys-1`` (int64; exact below 2**53 cents)."""
    return np.bincount(key, weights=cents, minlength=n_keys).astype(np.int64)
