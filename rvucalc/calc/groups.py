"""Group helpers for claim rules: per-claim flags and the "first in full, others at half" ranking.

Pure numpy over whole arrays; groups are integer keys per line (claim, or claim x date of
service). Used by the facility claim rules (:mod:`rvucalc.calc.opps_claims`,
:mod:`rvucalc.calc.asc_claims`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["any_in_group", "sum_in_group", "top_in_group", "first_full_rest_half"]


def any_in_group(key: np.ndarray, mask: np.ndarray, n_keys: int) -> np.ndarray:
    """Per line: whether any line with the same dense *key* (``0..n_keys-1``) has *mask*."""
    return np.bincount(key, weights=mask, minlength=n_keys)[key] > 0


def sum_in_group(key: np.ndarray, values: np.ndarray, n_keys: int) -> np.ndarray:
    """Per line: the sum of *values* over the lines with the same dense *key*."""
    return np.bincount(key, weights=values, minlength=n_keys)[key]


def top_in_group(group: np.ndarray, eligible: np.ndarray, value: np.ndarray, line: np.ndarray,
                 n_groups: int) -> np.ndarray:
    """Per line: it is the eligible line with the highest *value* in its dense *group*
    (``0..n_groups-1``), ties to the lowest *line*. One pass, no sort (``ufunc.at``)."""
    top = np.zeros(len(group), dtype=bool)
    idx = np.flatnonzero(eligible)
    if not idx.size:
        return top
    g, v, ln = group[idx], value[idx], line[idx]
    best = np.full(n_groups, -np.inf)
    np.maximum.at(best, g, v)
    cand = v >= best[g]
    first = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, g[cand], ln[cand])
    top[idx] = cand & (ln == first[g])
    return top


def first_full_rest_half(group: np.ndarray, eligible: np.ndarray, value: np.ndarray,
                         units: np.ndarray, line: np.ndarray, rest: float = 0.5,
                         n_groups: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multiple-procedure ranking: the first unit of the highest-*value* eligible line of each
    dense *group* in full, every other unit and line at *rest*.

    *value* is per unit; ties go to the lower *line*. Returns ``(factor, rank)``: the paid
    share of each line's units (1.0 where not eligible) and the rank (0: the top line,
    1: another eligible line, -1: not eligible).
    """
    n = len(group)
    if n_groups is None:
        n_groups = int(group.max()) + 1 if n else 0
    top = top_in_group(group, eligible, value, line, n_groups)
    u = units
    paid = np.where(top, 1.0 + rest * (u - 1.0), rest * u)
    factor = np.where(eligible, paid / u, 1.0)
    rank = np.where(eligible, np.where(top, 0, 1), -1).astype(np.int64)
    return factor, rank
