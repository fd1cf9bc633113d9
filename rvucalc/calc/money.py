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
