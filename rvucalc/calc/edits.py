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

from collections.abc import Callable
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


#: Evaluation and management codes: CPT 99202-99499, and G0463 (the OPPS clinic visit).
EM_CODES = frozenset({str(c) for c in range(99202, 99500)} | {"G0463"})


def is_em_code(codes: np.ndarray) -> np.ndarray:
    """Per code: an evaluation and management code (:data:`EM_CODES`), on which modifiers 24,
    25, 27 and 57 belong."""
    return pd.Index(np.asarray(codes, dtype=object)).isin(EM_CODES)


# ---------------------------------------------------------------------------------------------
# lines of one claim, date and code


@dataclass(frozen=True)
class ClaimBlocks:
    """Lines grouped by claim: their positions (``lines``), each claim's lines together and in
    line order, and a block number per position (0, 1, ... one per claim)."""

    lines: np.ndarray  # int64
    block: np.ndarray  # int64, non-decreasing

    def subset(self, mask: np.ndarray) -> ClaimBlocks:
        """The lines of *mask* (a mask over all lines), blocks numbered again."""
        keep = np.asarray(mask, dtype=bool)[self.lines]
        if keep.all():
            return self
        b = self.block[keep]
        if len(b):
            new = np.empty(len(b), dtype=np.int64)
            new[0] = 0
            np.not_equal(b[1:], b[:-1], out=new[1:])
            b = np.cumsum(new, out=new)
        return ClaimBlocks(self.lines[keep], b)


def claim_blocks(claim: np.ndarray, mask: np.ndarray) -> ClaimBlocks:
    """:class:`ClaimBlocks` of the lines of *mask* by their integer *claim* keys. Claim files nearly
    always list a claim's lines together: then the lines keep their order and nothing is sorted;
    otherwise one stable sort by claim."""
    idx = np.flatnonzero(mask)
    c = np.asarray(claim)[idx]
    change = np.flatnonzero(c[1:] != c[:-1]) + 1
    pos, k = G.positions(c)
    if len(change) + 1 != np.count_nonzero(np.bincount(pos, minlength=k)) and len(c):  # a claim's lines apart
        o = np.argsort(c, kind="stable")
        idx, c = idx[o], c[o]
        change = np.flatnonzero(c[1:] != c[:-1]) + 1
    block = np.zeros(len(idx), dtype=np.int64)
    block[change] = 1
    return ClaimBlocks(idx, np.cumsum(block))


@dataclass(frozen=True)
class SameKey:
    """The lines that share their claim, date of service and code with another line (of a set of
    claim blocks): their positions (increasing) and a dense id of their ``(claim, date, code)``,
    numbered in order of first appearance. Every other line of the set is alone with its key."""

    lines: np.ndarray  # int64 line positions
    ids: np.ndarray  # int64, one per position of ``lines``
    n_ids: int


def same_key(blocks: ClaimBlocks, day: np.ndarray, code: np.ndarray) -> SameKey:
    """:class:`SameKey` of the lines of *blocks* (*day* of service and *code* id per line).

    Within each claim the lines are ordered by date and code: one sort of a key that is already
    in claim order (each claim's few lines to put in place), then equal neighbours."""
    empty = SameKey(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0)
    lines = blocks.lines
    if len(lines) < 2:
        return empty
    dd = np.asarray(day)[lines].astype(np.int64)
    cc = np.asarray(code)[lines].astype(np.int64)
    d0, c0 = int(dd.min()), int(cc.min())
    sd, sc = int(dd.max()) - d0 + 1, int(cc.max()) - c0 + 1
    if float(blocks.block[-1] + 1) * sd * sc < 2.0 ** 62:
        k = (blocks.block * sd + (dd - d0)) * sc + (cc - c0)
    else:  # keys too wide to pack: the same grouping by hashing
        k = G.dense_ids(blocks.block, dd, cc)[0]
    o = np.argsort(k, kind="stable")
    ks = k[o]
    eq = ks[1:] == ks[:-1]
    run = np.r_[False, eq] | np.r_[eq, False]
    if not run.any():
        return empty
    starts = np.r_[True, ~eq]
    rid = np.cumsum(starts)[run] - 1  # run number of each position in a run of two or more
    found = lines[o[run]]
    back = np.argsort(found, kind="stable")  # the few shared lines, back in line order
    ids = pd.factorize(rid[back])[0].astype(np.int64)
    return SameKey(found[back], ids, int(ids.max()) + 1)


# ---------------------------------------------------------------------------------------------
# duplicate lines


def duplicate_lines(same: SameKey, modifiers: np.ndarray, place: np.ndarray, repeat: np.ndarray,
                    n: int) -> np.ndarray:
    """Lines denied as duplicates (Pub. 100-04 ch.1 s.120), as a mask over *n* lines.

    *same*: the eligible lines that share claim, date of service and code (:func:`same_key`);
    *modifiers* (an integer id of a line's set of modifiers), *place* (an id of its place of
    service: the POS code, and where the lines give them the ZIP code and locality) and *repeat*
    (a repeat modifier: 76, 77, 91) are given for those lines only, in the same order. A line is a
    duplicate when an earlier one of them has the same key, modifiers and place; lines with a
    repeat modifier are never duplicates.
    """
    denied = np.zeros(n, dtype=bool)
    keep = ~np.asarray(repeat, dtype=bool)
    if keep.sum() < 2:
        return denied
    lines = same.lines[keep]
    ids, _ = G.dense_ids(same.ids[keep], np.asarray(modifiers)[keep], np.asarray(place)[keep])
    denied[lines[~G.first_of_id(ids)]] = True
    return denied


# ---------------------------------------------------------------------------------------------
# NCCI procedure-to-procedure edits


@dataclass(frozen=True)
class PtpTable:
    """A PTP edit table shaped for lookups: every code of the table (either column) numbered
    (``codes``), the edits keyed by ``column_one_id * len(codes) + column_two_id`` (sorted) with
    their first and last day in effect and modifier indicator, and one bit per unordered pair of
    codes with an edit in either direction (``pair_bits``: bits ``a * len(codes) + b`` and
    ``b * len(codes) + a`` for an edit of ``a`` and ``b``), a quick test before the exact lookup."""

    codes: pd.Index
    key: np.ndarray  # int64, sorted
    first_day: np.ndarray  # int32 days since 1970-01-01
    last_day: np.ndarray  # int32, NO_END without a deletion date
    indicator: np.ndarray  # int8: 0 or 1 (9 is dropped: the edit does not apply)
    pair_bits: np.ndarray  # uint8

    @property
    def pairs(self) -> int:
        return len(self.key)


def _bits(keys: np.ndarray, size: int) -> np.ndarray:
    """A bitmap of *size* bits with the bits of the sorted *keys* set."""
    out = np.zeros((max(size, 1) + 7) // 8, dtype=np.uint8)
    if len(keys):
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]  # distinct, so the bits of a byte add up
        byte = keys >> 3
        starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        out[byte[starts]] = np.add.reduceat(np.left_shift(1, keys & 7), starts).astype(np.uint8)
    return out


def ptp_table(column_one: np.ndarray, column_two: np.ndarray, first_day: np.ndarray,
              last_day: np.ndarray, indicator: np.ndarray, *, window: tuple[int, int] | None = None
              ) -> PtpTable:
    """Build a :class:`PtpTable` from the columns of CMS's PTP files.

    *first_day* / *last_day*: the effective and deletion dates as days since 1970-01-01 (a
    negative *last_day*: no deletion date). Edits with modifier indicator 9 never apply and are
    left out; with *window* ``(first, last)`` (days), so are edits not in effect on any day of it
    (the quarter a release serves), which keeps the table to the edits that matter.
    """
    f = np.asarray(first_day, dtype=np.int64)
    last = np.asarray(last_day, dtype=np.int64)
    last = np.where(last < 0, NO_END, last)
    ind = np.asarray(indicator, dtype=np.int64)
    keep = (ind == 0) | (ind == 1)
    if window is not None:
        keep &= (f <= window[1]) & (last >= window[0])
    c1 = np.asarray(column_one, dtype=object)[keep]
    c2 = np.asarray(column_two, dtype=object)[keep]
    f, last, ind = f[keep], last[keep], ind[keep]
    ids, codes = pd.factorize(np.concatenate([c1, c2]))
    n = max(len(codes), 1)
    i1, i2 = ids[:len(c1)].astype(np.int64), ids[len(c1):].astype(np.int64)
    key = i1 * n + i2
    order = np.argsort(key, kind="stable")
    pair = np.sort(np.concatenate([key, i2 * n + i1]))  # both ways: one test per pair of lines
    return PtpTable(pd.Index(codes), key[order], f[order].astype(np.int32), last[order].astype(np.int32),
                    ind[order].astype(np.int8), _bits(pair, n * n))


#: Lines of one claim above which the lines of each code and date are tested once, not one by one.
BIG_CLAIM = 64
#: Pairs of lines tested at once (bounds the memory of a chunk holding very large claims).
PAIR_BATCH = 1 << 23


def _one_per_code(order: np.ndarray, block: np.ndarray, day: np.ndarray, cid: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """In claims of more than :data:`BIG_CLAIM` lines, keep one line per code and date (the first):
    an edit between two codes is the same for every line of them. Returns the kept positions of
    *order* with their blocks, and for each line of *order* the kept position standing for it
    (``rep``, into the kept arrays)."""
    size = np.bincount(block)
    if size.max() <= BIG_CLAIM:  # nearly always: every line is tested
        return np.arange(len(order)), block, np.arange(len(order)), order
    keep = np.ones(len(order), dtype=bool)
    rep_of = np.arange(len(order))
    bi = np.flatnonzero((size > BIG_CLAIM)[block])
    ids, _ = G.dense_ids(block[bi], day[order[bi]], cid[order[bi]])
    head = G.first_of_id(ids)
    first_of = np.empty(int(ids.max()) + 1, dtype=np.int64)
    first_of[ids[head]] = bi[head]
    rep_of[bi] = first_of[ids]
    keep[bi] = head
    kept = np.flatnonzero(keep)
    new_index = np.cumsum(keep) - 1
    return kept, block[kept], new_index[rep_of], order


def ptp_denials(blocks: ClaimBlocks, day: np.ndarray, code_id: np.ndarray,
                bypass: np.ndarray | Callable[[np.ndarray], np.ndarray], table: PtpTable, n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Column two lines denied by a PTP edit, and per line (of *n*) the line holding its column
    one code.

    *blocks*: the lines that take part, by claim (:func:`claim_blocks`; the lines priced so far:
    a denied duplicate neither is denied again nor denies another); *code_id*: per line, the
    position of its code among ``table.codes`` (-1: in no edit); *day*: date of service (days
    since 1970-01-01); *bypass*: an NCCI-associated
    modifier that applies is on the line (a mask, or a function giving it for an array of line
    positions, asked only for lines an edit with indicator 1 hits). A line is denied when an
    line of its claim and *day* has a code that is column one of an edit with the
    line's code in column two, in effect on the date of service, and either the edit's modifier
    indicator is 0 or the line has no bypassing modifier. Returns ``(denied, col1_line)``:
    ``col1_line`` is the first such column one line (-1 where not denied).

    Each unordered pair of lines of a claim is tested once against ``table.pair_bits`` (in
    batches of :data:`PAIR_BATCH` pairs); the few pairs with an edit either way are then looked
    up exactly, both ways.
    """
    denied = np.zeros(n, dtype=bool)
    col1_line = np.full(n, -1, dtype=np.int64)
    cid = np.asarray(code_id)
    d = np.asarray(day)
    blocks = blocks.subset(cid >= 0)
    order, block = blocks.lines, blocks.block
    if len(order) < 2:
        return denied, col1_line
    kept, kblock, rep, _ = _one_per_code(order, block, d, cid)
    lines = order[kept] if len(kept) < len(order) else order  # the lines tested, block by block
    m = len(lines)
    first_pos = np.flatnonzero(np.r_[True, kblock[1:] != kblock[:-1]])
    size = np.diff(np.r_[first_pos, m])
    later = np.repeat(first_pos + size, size) - np.arange(m) - 1  # later positions of its block
    ends = np.cumsum(later)
    nc = max(len(table.codes), 1)
    u = cid[lines].astype(np.int32 if nc * nc < 2**31 else np.int64)
    hits_a: list[np.ndarray] = []
    hits_b: list[np.ndarray] = []
    cuts = np.searchsorted(ends, np.arange(PAIR_BATCH, int(ends[-1]) if m else 0, PAIR_BATCH), "left")
    for p0, p1 in zip(np.r_[0, cuts], np.r_[cuts, m]):  # batches of positions, not lines one by one
        cnt = later[p0:p1]
        total = int(cnt.sum())
        if not total:
            continue
        it = np.int32 if max(total, m) < 2**31 else np.int64
        e = np.cumsum(cnt)
        # the pair's second position: its place among its first line's pairs, after that line
        right = np.arange(total, dtype=it)
        right += np.repeat((np.arange(p0 + 1, p1 + 1) - (e - cnt)).astype(it), cnt)
        k = np.repeat(u[p0:p1] * u.dtype.type(nc), cnt)  # the first line's code, spread to its pairs
        k += u[right]
        hit = np.flatnonzero((table.pair_bits[k >> 3] >> (k & 7).astype(np.uint8)) & 1)
        hits_a.append(np.searchsorted(e, hit, "right").astype(np.int64) + p0)  # the first line of each hit
        hits_b.append(right[hit].astype(np.int64))
    if not hits_a:
        return denied, col1_line
    a, b = lines[np.concatenate(hits_a)], lines[np.concatenate(hits_b)]
    same = d[a] == d[b]
    a, b = a[same], b[same]
    # both ways: (column one line, column two line)
    c1l, c2l = np.concatenate([a, b]), np.concatenate([b, a])
    key = cid[c1l].astype(np.int64) * nc + cid[c2l]
    o = np.argsort(key, kind="stable")  # sorted keys: a quick search of the sorted table
    key, c1l, c2l = key[o], c1l[o], c2l[o]
    lo = np.searchsorted(table.key, key, "left")
    hi = np.searchsorted(table.key, key, "right")
    cnt = hi - lo  # edits of the pair that way (nearly always one or none)
    pl = np.repeat(c2l, cnt)
    pr = np.repeat(c1l, cnt)
    row = np.repeat(lo, cnt) + (np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    if m < len(order):  # the other lines of a kept line's code and date (large claims)
        pos = np.full(n, -1, dtype=np.int64)
        pos[lines] = np.arange(m)
        members = np.argsort(rep, kind="stable")
        mcount = np.bincount(rep, minlength=m)
        mstart = np.cumsum(mcount) - mcount
        c = mcount[pos[pl]]
        w = np.repeat(mstart[pos[pl]], c) + (np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c))
        pl, pr, row = order[members[w]], np.repeat(pr, c), np.repeat(row, c)
    dd = d[pl].astype(np.int64)
    active = (table.first_day[row] <= dd) & (dd <= table.last_day[row])
    must = active & (table.indicator[row] == 0)
    maybe = np.flatnonzero(active & ~must)
    if maybe.size:  # indicator 1: denied unless the line has a bypassing modifier
        bp = bypass(pl[maybe]) if callable(bypass) else np.asarray(bypass, dtype=bool)[pl[maybe]]
        must[maybe[~np.asarray(bp, dtype=bool)]] = True
    if not must.any():
        return denied, col1_line
    pl, pr = pl[must], pr[must]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, pl, pr)
    denied[pl] = True
    col1_line[denied] = first[denied]
    return denied, col1_line


# ---------------------------------------------------------------------------------------------
# medically unlikely edits


def mue_denials(units: np.ndarray, mue: np.ndarray, mai: np.ndarray, eligible: np.ndarray,
                same: SameKey) -> tuple[np.ndarray, np.ndarray]:
    """Lines denied by an MUE, and per line the units compared with the MUE value.

    *mue*: the code's MUE value per line (NaN: none); *mai*: its adjudication indicator (0: none);
    *same*: lines sharing claim, date of service and code with another (:func:`same_key` of
    claim blocks holding the *eligible* lines). MAI 1: the line's own units; MAI 2 and 3: the units of every
    *eligible* line of the same claim, date of service and code with that MAI, summed; above the
    MUE value the line (MAI 1) or every such line of the date (MAI 2, 3) is denied. Returns
    ``(denied, units compared)`` (NaN where no MUE applies).
    """
    el = np.asarray(eligible, dtype=bool) & ~np.isnan(mue)
    u = np.asarray(units, dtype=float)
    compared = np.where(el, u, np.nan)
    dos = el & ((mai == MAI_POLICY) | (mai == MAI_CLINICAL))
    if same.lines.size:
        on = dos[same.lines]
        sums = np.bincount(same.ids, weights=np.where(on, u[same.lines], 0.0), minlength=same.n_ids)
        compared[same.lines[on]] = sums[same.ids[on]]
    denied = el & ((mai == MAI_LINE) | dos) & (compared > mue)
    return denied, compared


__all__ = ["ANATOMIC_MODIFIERS", "DENYING", "EDIT_DUPLICATE", "EDIT_MUE", "EDIT_NCCI_PTP", "EM_MODIFIERS",
           "MAI_CLINICAL", "MAI_LINE", "MAI_POLICY", "NCCI_MODIFIERS", "NO_END", "PtpTable",
           "REPEAT_MODIFIERS", "ClaimBlocks", "SameKey", "claim_blocks", "duplicate_lines", "is_em_code",
           "mue_denials", "ptp_denials", "ptp_table", "same_key"]
