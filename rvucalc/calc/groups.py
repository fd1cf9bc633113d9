"""Group helpers for claim rules: per-claim flags and the "first in full, others at half" ranking.

Pure numpy over whole arrays; groups are integer keys per line (claim, or claim x date of
service). Used by the facility claim rules (:mod:`rvucalc.claims.opps`,
:mod:`rvucalc.claims.asc`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["any_in_group", "dense_ids", "first_of_id", "positions", "sum_in_group", "top_in_group",
           "first_full_rest_half"]


def dense_ids(*keys: np.ndarray) -> tuple[np.ndarray, int]:
    """``(ids, k)``: ids ``0..k-1`` for the distinct tuples of integer *keys* (one element per
    line), numbered in order of first appearance, as ``groupby(sort=False).ngroup()`` numbers
    them. One hash pass over a combined key (several when the keys' ranges do not fit one int64)."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0
    cols = [np.asarray(k, dtype=np.int64) for k in keys]
    spans = [(int(c.min()), int(c.max()) - int(c.min()) + 1) for c in cols]
    if np.prod([float(w) for _, w in spans]) < 2.0 ** 62:
        combined = cols[0] - spans[0][0]
        for c, (lo, w) in zip(cols[1:], spans[1:]):
            combined = combined * w + (c - lo)
    else:  # pairwise, each step renumbered
        combined = pd.factorize(cols[0])[0].astype(np.int64)
        for c in cols[1:]:
            cc = pd.factorize(c)[0].astype(np.int64)
            combined = pd.factorize(combined * (int(cc.max()) + 1) + cc)[0].astype(np.int64)
    ids, uniq = pd.factorize(combined)
    return ids.astype(np.int64), len(uniq)


def positions(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """``(pos, k)``: integer keys usable as array positions ``0..k-1`` (for ``np.bincount``): as
    they are when already small and non-negative, else :func:`dense_ids`."""
    keys = np.asarray(keys, dtype=np.int64)
    if not len(keys):
        return keys, 0
    if keys.min() >= 0 and keys.max() < 4 * len(keys) + 16:
        return keys, int(keys.max()) + 1
    return dense_ids(keys)


def first_of_id(ids: np.ndarray) -> np.ndarray:
    """Per element: it is the first with its id, for ids numbered in order of first appearance
    (:func:`dense_ids`): exactly where the running maximum grows."""
    first = np.ones(len(ids), dtype=bool)
    if len(ids) > 1:
        top = np.maximum.accumulate(ids)
        first[1:] = top[1:] > top[:-1]
    return first


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
