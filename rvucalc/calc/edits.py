"""Claim edits applied before any payment rule: duplicate lines, NCCI procedure-to-procedure
(PTP) edits and medically unlikely edits (MUEs).

Pure functions on whole arrays (one element per claim line of a chunk); no loop over lines.
Each returns which lines the edit *denies*: a denied line keeps its place and is priced at no
amount with the edit's reason (:data:`EDIT_DUPLICATE`, :data:`EDIT_NCCI_PTP`,
:data:`EDIT_MUE`). Lines are compared within a claim (an integer key per line) and date of
service (days since 1970-01-01); rvucalc sees one claim at a time, where CMS compares the same
provider's lines for the beneficiary across claims.

CMS's rules:

- **Duplicate lines**: Medicare Claims Processing Manual (Pub. 100-04), Chapter 1, section 120
  "Detection of Duplicate Claims" (CR 8121): exact duplicate claims and claim lines are denied
  (professional) or rejected (institutional) by the claims systems, and cannot be overridden;
  modifiers that show a line is not a duplicate (76 and 77 repeat procedure, 91 repeat laboratory
  test) keep it from being one. Lines of one claim with the same code, modifiers, date of service
  and place of service (the POS code, and the ZIP code or locality where the lines give them) are
  duplicates: the first is priced, the others denied. Units are not part of the comparison (the
  units of a service go on one line: a second line of the same service is a duplicate whatever
  its units). Institutional (OPPS) claims: the same section (the outpatient claim system's
  duplicate check, FISS reason code 38037, skips a line with modifier 91).
- **NCCI PTP edits**: NCCI Policy Manual for Medicare Services, Chapter I (General Correct Coding
  Policies), section E "Modifiers and Modifier Indicators": when the two codes of an edit are
  reported for the same beneficiary on the same date of service, the column one code is eligible
  for payment and the column two code is denied, unless the edit's modifier indicator is 1 and an
  NCCI-associated modifier (:data:`NCCI_MODIFIERS`) is on the column two line. Indicator 0: no
  modifier bypasses the edit; indicator 9: the edit does not apply (deleted retroactively). An
  edit applies to dates of service from its effective date through its deletion date (CMS's PTP
  files, "Effective Date" and "Deletion Date"; ``*`` for none).
- **MUEs**: NCCI Policy Manual, Chapter I, section "Medically Unlikely Edits (MUEs)", and CMS's
  MUE FAQ (questions.cms.gov, FAQ 11344): an MUE with adjudication indicator (MAI) 1 is a claim
  line edit (units on a line above the MUE value deny all units of that line); MAI 2 (policy)
  and 3 (clinical) are date of service edits (the units of the code on that date are summed; above
  the MUE value, all units of the code on that date are denied). CMS denies the line(s), not only
  the excess units: the excess is paid only on appeal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..reasons import reason
from . import groups as G

EDIT_DUPLICATE = reason(
    "EDIT_DUPLICATE", "duplicate line: the claim has an earlier line with the same code, modifiers, date of "
    "service and place of service, which is priced; this one is denied (76, 77 or 91 mark a repeat, "
    "not a duplicate)",
    "Medicare Claims Processing Manual (Pub. 100-04) ch.1 s.120 (detection of duplicate claims)")
EDIT_NCCI_PTP = reason(
    "EDIT_NCCI_PTP", "NCCI procedure-to-procedure edit: column two code reported with its column one code "
    "on the same date of service; denied (edit_note names the column one code)",
    "NCCI Policy Manual for Medicare Services ch.I s.E (modifiers and modifier indicators); CMS NCCI PTP "
    "edit files")
EDIT_MUE = reason(
    "EDIT_MUE", "medically unlikely edit: units above the code's MUE value (per line, MAI 1; per date of "
    "service, MAI 2 or 3); the line is denied (edit_note gives the limit)",
    "NCCI Policy Manual for Medicare Services ch.I (medically unlikely edits); CMS MUE FAQ 11344; CMS MUE "
    "files")

#: The edits' reason codes: each denies the line it is on.
DENYING = frozenset({EDIT_DUPLICATE.code, EDIT_NCCI_PTP.code, EDIT_MUE.code})

#: NCCI-associated modifiers (NCCI Policy Manual ch.I s.E): anatomic, global surgery and others.
ANATOMIC_MODIFIERS = frozenset({"E1", "E2", "E3", "E4", "FA", *(f"F{i}" for i in range(1, 10)), "TA",
                                *(f"T{i}" for i in range(1, 10)), "LT", "RT", "LC", "LD", "RC", "LM", "RI"})
#: Of the NCCI-associated modifiers, those that belong on an evaluation and management code
#: (24, 25, 57, and 27 for hospital outpatient E&M encounters): they bypass an edit only when the
#: column two code is an E&M code (:func:`is_em_code`).
EM_MODIFIERS = frozenset({"24", "25", "57", "27"})
NCCI_MODIFIERS = ANATOMIC_MODIFIERS | EM_MODIFIERS | frozenset({"58", "78", "79", "59", "91", "XE", "XS",
                                                                 "XP", "XU"})
#: Modifiers that mark a repeated service, never a duplicate line (Pub. 100-04 ch.1 s.120).
REPEAT_MODIFIERS = frozenset({"76", "77", "91"})

#: MUE adjudication indicators.
MAI_LINE, MAI_POLICY, MAI_CLINICAL = 1, 2, 3

#: Last day of an edit without a deletion date (days since 1970-01-01: 9999-12-31).
NO_END = 2_932_896


def is_em_code(codes: np.ndarray) -> np.ndarray:
    """Per code: an evaluation and management code (CPT 99202-99499, and G0463, the OPPS clinic
    visit), on which modifiers 24, 25, 27 and 57 belong."""
    s = pd.Series(np.asarray(codes, dtype=object), dtype=object).astype(str)
    num = pd.to_numeric(s.where(s.str.fullmatch(r"\d{5}").fillna(False), ""), errors="coerce").to_numpy()
    return ((num >= 99202) & (num <= 99499)) | (s == "G0463").to_numpy()


# ---------------------------------------------------------------------------------------------
# shared keys


def shared_key(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per line: it is in *mask* and another line of *mask* has the same ``(a, b)`` (integer keys,
    e.g. the claim-and-date group and the code).

    A hash of each pair into a table of buckets finds the few lines that can share a key (a
    bucket with two lines or more); only those are compared exactly, so a million lines cost a
    pass of counting, not a hash table of a million keys.
    """
    n = len(a)
    out = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(mask)
    if idx.size < 2:
        return out
    a_, b_ = np.asarray(a, dtype=np.int64)[idx], np.asarray(b, dtype=np.int64)[idx]
    lo_b = int(b_.min())
    span_b = int(b_.max()) - lo_b + 1
    lo_a = int(a_.min())
    if (float(a_.max()) - lo_a + 1) * span_b < 2.0 ** 62:
        k = (a_ - lo_a) * span_b + (b_ - lo_b)
    else:
        k = G.dense_ids(a_, b_)[0]
    bits = int(min(24, max(10, int(np.ceil(np.log2(idx.size))) + 2)))
    h = (k.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)
    cand = np.bincount(h.astype(np.intp), minlength=1 << bits)[h.astype(np.intp)] >= 2
    if not cand.any():
        return out
    ids, m = pd.factorize(k[cand])
    many = np.bincount(ids, minlength=len(m))[ids] >= 2
    out[idx[np.flatnonzero(cand)[many]]] = True
    return out


# ---------------------------------------------------------------------------------------------
# duplicate lines


def duplicate_lines(claim: np.ndarray, day: np.ndarray, code: np.ndarray, modifiers: np.ndarray,
                    place: np.ndarray, eligible: np.ndarray, repeat: np.ndarray) -> np.ndarray:
    """Lines denied as duplicates (Pub. 100-04 ch.1 s.120): per line, an earlier *eligible* line
    (lower position) has the same *claim*, date of service (*day*), *code*, *modifiers* (an
    integer id of the line's set of modifiers) and *place* (an id of the place of service: the POS
    code, and where the lines give them the ZIP code and locality). Lines with a repeat modifier
    (*repeat*: 76, 77, 91) are never duplicates, nor are lines not *eligible*.
    """
    n = len(claim)
    denied = np.zeros(n, dtype=bool)
    cand = np.asarray(eligible, dtype=bool) & ~np.asarray(repeat, dtype=bool)
    cand = shared_key(claim, code, cand)
    idx = np.flatnonzero(cand)
    if idx.size < 2:
        return denied
    ids, _ = G.dense_ids(claim[idx], day[idx], code[idx], modifiers[idx], place[idx])
    denied[idx[~G.first_of_id(ids)]] = True
    return denied


# ---------------------------------------------------------------------------------------------
# NCCI procedure-to-procedure edits


@dataclass(frozen=True)
class PtpTable:
    """A PTP edit table shaped for lookups: the edits keyed by ``col1_id * len(col2) + col2_id``
    (sorted), with their first and last day in effect and modifier indicator, and a bit per key
    (a quick "is there an edit for this pair" before the exact lookup)."""

    col1: pd.Index  # distinct column one codes
    col2: pd.Index  # distinct column two codes
    key: np.ndarray  # int64, sorted
    first_day: np.ndarray  # int32 days since 1970-01-01
    last_day: np.ndarray  # int32, NO_END without a deletion date
    indicator: np.ndarray  # int8: 0 or 1 (9 is dropped: the edit does not apply)
    bitmap: np.ndarray  # uint8, bit ``key`` set for every key

    @property
    def pairs(self) -> int:
        return len(self.key)


def ptp_table(column_one: np.ndarray, column_two: np.ndarray, first_day: np.ndarray,
              last_day: np.ndarray, indicator: np.ndarray, *, window: tuple[int, int] | None = None
              ) -> PtpTable:
    """Build a :class:`PtpTable` from the columns of CMS's PTP files.

    *first_day* / *last_day*: the effective and deletion dates as days since 1970-01-01 (a
    negative *last_day*: no deletion date). Edits with modifier indicator 9 never apply and are
    left out; with *window* ``(first, last)`` (days), so are edits not in effect on any day of it
    (the quarter a release serves), which keeps the table to the edits that matter.
    """
    c1 = np.asarray(column_one, dtype=object)
    c2 = np.asarray(column_two, dtype=object)
    f = np.asarray(first_day, dtype=np.int64)
    last = np.asarray(last_day, dtype=np.int64)
    last = np.where(last < 0, NO_END, last)
    ind = np.asarray(indicator, dtype=np.int64)
    keep = (ind == 0) | (ind == 1)
    if window is not None:
        keep &= (f <= window[1]) & (last >= window[0])
    c1, c2, f, last, ind = c1[keep], c2[keep], f[keep], last[keep], ind[keep]
    i1, u1 = pd.factorize(c1)
    i2, u2 = pd.factorize(c2)
    n2 = max(len(u2), 1)
    key = i1.astype(np.int64) * n2 + i2
    order = np.argsort(key, kind="stable")
    key = key[order]
    bitmap = np.zeros((max(len(u1), 1) * n2 + 7) // 8, dtype=np.uint8)
    if len(key):
        byte = key >> 3
        starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        ub = byte[starts]
        # distinct keys in one byte have distinct bits: their sum is their OR (equal keys: once)
        bit = (np.left_shift(1, key & 7)).astype(np.int64)
        distinct = np.r_[True, key[1:] != key[:-1]]
        bitmap[ub] = np.add.reduceat(np.where(distinct, bit, 0), starts).astype(np.uint8)
    return PtpTable(pd.Index(u1), pd.Index(u2), key, f[order].astype(np.int32),
                    last[order].astype(np.int32), ind[order].astype(np.int8), bitmap)


def _has_key(table: PtpTable, key: np.ndarray) -> np.ndarray:
    byte = table.bitmap[key >> 3]
    return ((byte >> (key & 7).astype(np.uint8)) & 1).astype(bool)


def _pairs_in_group(g: np.ndarray, b_idx: np.ndarray, a_idx: np.ndarray, k: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(b, a)`` with ``b`` in *b_idx* and ``a`` in *a_idx* in the same dense group *g*."""
    ga = g[a_idx]
    a_sorted = a_idx[np.argsort(ga, kind="stable")]
    a_cnt = np.bincount(ga, minlength=k)
    a_start = np.cumsum(a_cnt) - a_cnt
    cnt = a_cnt[g[b_idx]]
    total = int(cnt.sum())
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left = np.repeat(b_idx, cnt)
    ends = np.cumsum(cnt)
    within = np.arange(total, dtype=np.int64) - np.repeat(ends - cnt, cnt)
    right = a_sorted[np.repeat(a_start[g[b_idx]], cnt) + within]
    return left, right


def ptp_denials(claim: np.ndarray, day: np.ndarray, col1_id: np.ndarray, col2_id: np.ndarray,
                eligible: np.ndarray, bypass: np.ndarray, table: PtpTable
                ) -> tuple[np.ndarray, np.ndarray]:
    """Column two lines denied by a PTP edit, and per line the line holding its column one code.

    *col1_id* / *col2_id*: per line, the position of its code among the table's column one /
    column two codes (-1: none); *day*: date of service (days since 1970-01-01); *eligible*: lines
    that take part (priced so far; a denied duplicate neither is denied again nor denies
    another); *bypass*: an NCCI-associated modifier that applies is on the line. A line is denied
    when an eligible line of its *claim* and *day* has a code that is column one of an edit
    with the line's code in column two, in effect on the date of service, and either the edit's
    modifier indicator is 0 or the line has no bypassing modifier. Returns ``(denied, col1_line)``:
    ``col1_line`` is the first such column one line (-1 where not denied).
    """
    n = len(claim)
    denied = np.zeros(n, dtype=bool)
    col1_line = np.full(n, -1, dtype=np.int64)
    el = np.asarray(eligible, dtype=bool)
    is_a = el & (col1_id >= 0)
    is_b = el & (col2_id >= 0)
    if not is_a.any() or not is_b.any():
        return denied, col1_line
    g, k = G.positions(claim)  # pairs within a claim, then of the same date (nearly all are)
    both = (np.bincount(g[is_a], minlength=k) > 0) & (np.bincount(g[is_b], minlength=k) > 0)
    a_idx = np.flatnonzero(is_a & both[g])
    b_idx = np.flatnonzero(is_b & both[g])
    if not a_idx.size:
        return denied, col1_line
    left, right = _pairs_in_group(g, b_idx, a_idx, k)
    n2 = max(len(table.col2), 1)
    key = col1_id[right].astype(np.int64) * n2 + col2_id[left]
    day = np.asarray(day, dtype=np.int64)
    hit = _has_key(table, key) & (left != right) & (day[left] == day[right])
    key, left, right = key[hit], left[hit], right[hit]
    if not key.size:
        return denied, col1_line
    order = np.argsort(key, kind="stable")
    key, left, right = key[order], left[order], right[order]
    lo = np.searchsorted(table.key, key, "left")
    hi = np.searchsorted(table.key, key, "right")
    cnt = hi - lo  # edits of the pair (nearly always one)
    pl = np.repeat(left, cnt)
    pr = np.repeat(right, cnt)
    row = np.repeat(lo, cnt) + (np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    d = day[pl]
    active = (table.first_day[row] <= d) & (d <= table.last_day[row])
    deny = active & ((table.indicator[row] == 0) | ~np.asarray(bypass, dtype=bool)[pl])
    if not deny.any():
        return denied, col1_line
    pl, pr = pl[deny], pr[deny]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pl, pr)
    denied[pl] = True
    col1_line[denied] = first[denied]
    return denied, col1_line


# ---------------------------------------------------------------------------------------------
# medically unlikely edits


def mue_denials(claim: np.ndarray, day: np.ndarray, code: np.ndarray, units: np.ndarray,
                mue: np.ndarray, mai: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines denied by an MUE, and per line the units compared with the MUE value.

    *mue*: the code's MUE value per line (NaN: none); *mai*: its adjudication indicator (0: none).
    MAI 1: the line's own units; MAI 2 and 3: the units of every *eligible* line of the same
    *claim*, date of service (*day*) and *code* with that MAI, summed; above the MUE value the
    line (MAI 1) or every such line of the date (MAI 2, 3) is denied. Returns ``(denied, units
    compared)`` (NaN where no MUE applies).
    """
    el = np.asarray(eligible, dtype=bool) & ~np.isnan(mue)
    u = np.asarray(units, dtype=float)
    compared = np.where(el, u, np.nan)
    dos = el & ((mai == MAI_POLICY) | (mai == MAI_CLINICAL))
    shared = shared_key(claim, code, dos)
    idx = np.flatnonzero(shared)
    if idx.size:
        ids, m = G.dense_ids(claim[idx], day[idx], code[idx])
        compared[idx] = np.bincount(ids, weights=u[idx], minlength=m)[ids]
    denied = el & ((mai == MAI_LINE) | dos) & (compared > mue)
    return denied, compared


__all__ = ["ANATOMIC_MODIFIERS", "DENYING", "EDIT_DUPLICATE", "EDIT_MUE", "EDIT_NCCI_PTP", "EM_MODIFIERS",
           "MAI_CLINICAL", "MAI_LINE", "MAI_POLICY", "NCCI_MODIFIERS", "NO_END", "PtpTable",
           "REPEAT_MODIFIERS", "duplicate_lines", "is_em_code", "mue_denials", "ptp_denials",
           "ptp_table", "shared_key"]
