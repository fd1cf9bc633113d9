"""The chunk contract shared by every claims engine (in memory, streamed, Dask).

A **chunk** is a :class:`pandas.DataFrame` of claim lines that holds *every* line of each claim
that appears in it. Claim-level rules (multiple procedure reductions, bilateral RT/LT pairs,
status T bundling, OPPS packaging and J1, the ASC multiple-procedure discount) look only inside
a chunk, so a chunk that split a claim would price it wrongly; the engines guarantee the
contract, the pricing functions rely on it:

- in memory, the whole input is one chunk;
- streaming (:mod:`rvucalc.claims.stream`) hash-partitions lines by :func:`claim_partition`
  into temporary parts, prices each part as one chunk, and merges results back by
  :data:`LINE`;
- Dask shuffles on the same partition number, then prices each partition as one chunk.

A chunk's pricing function takes the user's columns (text, untouched) plus :data:`LINE`, and
returns the same rows in the same order with rvucalc's columns added; it never changes a user
column. Identical input gives identical output whichever engine delivered the chunk.

**Which lines form a claim.** Lines with the same claim id (compared after stripping blanks at
either end) are one claim. A line whose claim id is missing (empty, or one of
:data:`CLAIM_KEY_MISSING`) is a claim of its own, keyed by its line number: it is never
grouped with strangers. Within a claim, the date of service separates the groups the
multiple-procedure rules work on (CMS applies them per claim per day; see
:mod:`rvucalc.calc.policy`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .lines import arrow_text, text_bytes

#: The input line number (0-based, int64) that every engine adds on reading and that orders
#: the output. Not part of the user's columns; dropped before writing unless asked for.
LINE = "_line"

#: Claim id cells that mean "no claim id" (compared case-insensitively after stripping).
CLAIM_KEY_MISSING = frozenset({"", "na", "n/a", "#n/a", "null", "none", "nan", "nat", "<na>"})


def claim_keys(claim_id: pd.Series | np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(key, missing)``: an int64 claim key per line and whether its claim id was missing.

    Lines with equal stripped claim ids share a key; a line without a claim id gets a key of its
    own (distinct from every other line's). Keys are only comparable within one call (one chunk).
    """
    s = claim_id if isinstance(claim_id, pd.Series) else pd.Series(np.asarray(claim_id, dtype=object))
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    plain = _plain_ids(uniq) if len(uniq) else None
    if plain is not None:  # distinct ids without blanks at either end: already one key each
        ukey = np.append(np.arange(len(uniq), dtype=np.int64), -1)
        umiss = np.append(plain, True)
    elif len(uniq):
        u, miss_u = _stripped_ids(uniq)
        k2, _ = pd.factorize(u)  # " A1" and "A1" are one claim
        ukey = np.append(k2.astype(np.int64), -1)
        umiss = np.append(miss_u, True)
    else:
        ukey = np.array([-1], dtype=np.int64)
        umiss = np.array([True])
    key = ukey[codes]
    missing = umiss[codes]
    base = int(ukey.max()) + 1 if len(ukey) else 0
    line = np.asarray(line, dtype=np.int64)
    key = np.where(missing, base + (line - line.min() if len(line) else line), key)
    return key.astype(np.int64), missing


def _stripped_ids(uniq: object) -> tuple[np.ndarray, np.ndarray]:
    """Distinct claim id cells as text without blanks at either end, and whether each means
    "missing" (:data:`CLAIM_KEY_MISSING`); what :func:`claim_keys` and :func:`claim_partition`
    both compare, so they agree on which lines form a claim."""
    text = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype(str).str.strip()
    return text.to_numpy(dtype=object), text.str.lower().isin(CLAIM_KEY_MISSING).to_numpy(bool)


#: Bytes of claim ids that need no stripping: printable ASCII other than the space.
_PRINTABLE = np.zeros(256, dtype=bool)
_PRINTABLE[0x21:0x7F] = True


def _plain_ids(uniq: pd.Index) -> np.ndarray | None:
    """For distinct Arrow-backed claim ids made only of printable ASCII (nothing to strip, so
    they stay distinct): whether each means "missing" (:data:`CLAIM_KEY_MISSING`, at most four
    characters). ``None`` otherwise (the caller strips and compares them one by one)."""
    arr = arrow_text(uniq)
    tb = text_bytes(arr) if arr is not None else None
    if tb is None or not _PRINTABLE[tb[1]].all():
        return None
    short = np.flatnonzero(tb[0] <= max(map(len, CLAIM_KEY_MISSING)))
    miss = np.zeros(len(tb[0]), dtype=bool)
    if short.size:  # the few short ids, one by one
        vals = arr.take(pa.array(short)).to_pylist()
        miss[short] = [str(v).lower() in CLAIM_KEY_MISSING for v in vals]
    return miss


def claim_partition(claim_id: pd.Series | np.ndarray, line: np.ndarray, parts: int) -> np.ndarray:
    """Partition number (``0 <= p < parts``) per line, the same for every line of a claim.

    Stable across processes and machines (:func:`pandas.util.hash_array` with its fixed key), so
    streaming parts and Dask partitions agree. Lines without a claim id are spread by line number.
    The ids are stripped, checked and hashed once per distinct value, then spread to the lines.
    """
    s = claim_id if isinstance(claim_id, pd.Series) else pd.Series(np.asarray(claim_id, dtype=object))
    codes, uniq = pd.factorize(s, use_na_sentinel=True)  # a missing cell: code -1
    text, miss = _stripped_ids(uniq)
    miss_u = np.append(miss, True)
    hu = np.append(pd.util.hash_array(text, categorize=False), np.uint64(0))
    h = hu[codes]
    missing = miss_u[codes]
    if missing.any():
        hl = pd.util.hash_array(np.asarray(line, dtype=np.int64)[missing])
        h[missing] = hl
    return (h % np.uint64(max(int(parts), 1))).astype(np.int64)
