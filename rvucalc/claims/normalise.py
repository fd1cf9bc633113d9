"""The normalise stage: the columns rvucalc prices from, parsed into typed arrays.

Shared by every payment system (PFS, OPPS, ASC). The user's columns are read, never written:
each parsed value lives in a new array of :class:`Lines`. Parsing works on the *distinct*
values of a column (a few thousand at most), so a million lines cost little. A value that
cannot be parsed costs its line a reason (the line is then not priced), never the run.

Conventions (documented for users in README, "Repricing claim lines"):

- **claim_id**: lines with the same id (blanks at either end ignored) are one claim. A missing
  id (empty, ``NA``, ``N/A``, ``null``, ``None``...; see
  :data:`rvucalc.claims.contract.CLAIM_KEY_MISSING`) makes the line a claim of its own, with the
  note ``CLAIM_ID_MISSING``: it is never grouped with other lines.
- **hcpcs**: a five-character code, optionally followed by modifiers (``20983-50``), read by
  :func:`rvucalc.codes.parse_code`, the same parser ``quote`` uses. Modifiers found there are
  added to those of the ``modifiers`` column. An empty cell or text that is no code (``9921``)
  is refused (``REPRICE_BAD_CODE``); a well-formed code a release does not list is that
  system's "unknown code" reason.
- **units**: a whole number from 1 to :data:`MAX_UNITS` (``2``, ``2.0``, ``1,000``). Fractions, zero,
  negatives, non-numbers, infinities, exponents (``1e2``) and commas other than thousands
  separators (``1,5`` is not 15) are refused (``REPRICE_BAD_UNITS``): Medicare bills
  fee-schedule services in whole units (CMS-1500/837P units of service; Pub. 100-04 ch.26
  s.10.4, item 24G). A missing ``units`` column means one unit per line.
- **charge**: money as people type it: ``100``, ``100.5``, ``$1,000.00``, `` 1000 ``. Empty
  means no charge given. Negative, non-numeric or absurd (over :data:`MAX_CHARGE`) charges are
  refused (``REPRICE_BAD_CHARGE``).
- **date_of_service**: one convention per file. ISO ``2026-03-08`` (a time and a time-zone
  suffix such as ``T10:00:00Z`` or ``+02:00`` are allowed; the date is taken as written),
  ``20260308``, or slashed ``03/08/2026`` (or ``03-08-2026``), read month first (US) unless ``dayfirst=True``
  (``--dayfirst``). Date and datetime objects (Excel, pandas) are used as they are. A value that
  is not a date under the file's convention (``13/08/2026`` read month first) refuses its line
  (``REPRICE_BAD_DATE``); the other lines are priced.
- **zip / locality**: the ZIP code of the place of service decides the locality, as CMS's
  contractors do (CMS ZIP5 file); a ``locality`` column is used where the ZIP is empty. When
  both are given and disagree, the ZIP wins and the line says so (``LOCALITY_ZIP_CONFLICT``).
- **pos**: CMS place-of-service code (``11``, ``22``; ``2`` and ``2.0`` read as ``02``).
- **error values**: a spreadsheet error (``#N/A``, ``#REF!``...) in a column the system prices
  from refuses the line (``REPRICE_ERROR_CELL``, :mod:`rvucalc.claims.cells`), never read as empty.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..calc import groups as G
from ..calc import policy as P
from ..codes import PRICED, QUIET, parse_code, split_modifiers
from ..reasons import reason
from .cells import ERROR_CELL, PRICED_COLUMNS, error_cells
from .contract import LINE, claim_keys
from .lines import ReasonBits, arrow_text, byte_table, only_bytes, text_bytes

#: Most units accepted on one line; more is taken as a typing error (no fee-schedule service is
#: billed ten thousand times on one line).
MAX_UNITS = 9_999
#: Largest charge accepted on one line, in dollars.
MAX_CHARGE = 100_000_000.0

CLAIM_ID_MISSING = reason(
    "CLAIM_ID_MISSING", "no claim id: the line is priced as a claim of its own (never grouped with other "
    "lines for multiple-procedure, bilateral or bundling rules)", "claim line input")
BAD_CHARGE = reason(
    "REPRICE_BAD_CHARGE", f"charge not a dollar amount (e.g. 100, 1,000.00, $250), negative, or above "
    f"${MAX_CHARGE:,.0f}", "claim line input")
BAD_PARTICIPATING = reason(
    "REPRICE_BAD_PARTICIPATING", "participating not understood: expected yes/no, y/n, true/false, 1/0, "
    "par/nonpar (empty: participating); the line is not priced rather than guessed at 100% or 95%",
    "claim line input; SSA s.1848(a)(3) (non-participating 95%)")
BAD_CODE = reason(
    "REPRICE_BAD_CODE", "hcpcs empty or not a code: expected five letters or digits (99213, J1100, "
    "0001U), optionally followed by modifiers (20983-50)", "claim line input; HCPCS Level I and II codes")
MOD_NOT_PRICED = reason(
    "MOD_NOT_PRICED", "the line carries a modifier rvucalc does not apply (see rvucalc.codes): the amount "
    "is the amount without it", "Pub. 100-04 ch.12 (modifiers); rvucalc.codes")
LOCALITY_ZIP_CONFLICT = reason(
    "LOCALITY_ZIP_CONFLICT", "the line's ZIP code and locality disagree: the ZIP code's locality was used",
    "CMS ZIP5 file (the ZIP code of the place of service decides the locality)")

#: Input reasons that leave a line without an amount.
REFUSING = frozenset({BAD_CHARGE.code, P.BAD_UNITS.code, P.BAD_DATE.code, BAD_CODE.code, ERROR_CELL.code})

#: Integer type of the per-line codes into distinct values (-1: missing); only ever an index.
CODE = np.int32

#: Modifier flags kept per line (PRICED, in a fixed order).
MODIFIER_FLAGS = tuple(sorted(PRICED))
_FLAG_BITS = np.uint16 if len(MODIFIER_FLAGS) <= 16 else np.uint32  # one bit per flag


class ModifierFlags(Mapping[str, np.ndarray]):
    """Modifier -> bool per line, for :data:`MODIFIER_FLAGS`, read from one integer of bits per
    line (bit *j*: ``MODIFIER_FLAGS[j]``); each flag is made when asked for, so a chunk holds two
    bytes per line instead of a bool array per modifier."""

    def __init__(self, bits: np.ndarray) -> None:
        self.bits = bits

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            j = MODIFIER_FLAGS.index(key)
        except ValueError:
            raise KeyError(key) from None
        return (self.bits & self.bits.dtype.type(1 << j)) != 0

    def __iter__(self) -> Iterator[str]:
        return iter(MODIFIER_FLAGS)

    def __len__(self) -> int:
        return len(MODIFIER_FLAGS)


@dataclass
class Lines:
    """One chunk's claim lines, parsed. Every array has one element per line, in input order."""

    n: int
    line: np.ndarray  # int64 input line numbers
    #: ``(claim, missing)`` from :func:`rvucalc.claims.contract.claim_keys`, or a future of them
    #: while a helper thread computes them (read :attr:`claim` and :attr:`group`)
    keys: Any
    day_number: np.ndarray  # int64 per line: its distinct day, numbered in line order
    hcpcs_codes: np.ndarray  # CODE index into hcpcs_uniq (-1: missing)
    hcpcs_uniq: np.ndarray  # normalised distinct codes ("" where not a code)
    mods: Mapping[str, np.ndarray]  # modifier -> bool per line, for MODIFIER_FLAGS
    units: np.ndarray  # float, 1.0 where refused
    bad_units: np.ndarray
    date_codes: np.ndarray  # CODE index into the distinct date cells (parse_dates_coded)
    #: ``(day, year, quarter)`` per distinct date cell (day = days since 1970-01-01; -1 where
    #: refused), the last for a missing cell; per line: the properties :attr:`day`...
    date_table: tuple[np.ndarray, np.ndarray, np.ndarray]
    pos_codes: np.ndarray  # CODE index into pos_uniq
    pos_uniq: np.ndarray  # two-digit POS text ("" where not a POS code), last: missing
    zip_codes: np.ndarray
    zip_uniq: np.ndarray
    loc_codes: np.ndarray
    loc_uniq: np.ndarray
    charge: np.ndarray  # float dollars, NaN where none
    participating: np.ndarray  # bool
    #: the ``participating`` cell is neither a yes nor a no (:data:`PARTICIPATING_YES`, ``_NO``);
    #: the PFS refuses the line (:data:`BAD_PARTICIPATING`); other systems do not read the column
    bad_participating: np.ndarray  # bool
    reasons: ReasonBits
    #: Every modifier as written, per line, for systems that apply other modifiers than the PFS
    #: (the facility systems): ``((codes, lists), ...)`` for the HCPCS cell and the modifiers
    #: column, the line's list being ``lists[codes]`` (code -1: the last, empty, list).
    modifier_lists: tuple = ()
    _group_ids: np.ndarray | None = None
    _claim: np.ndarray | None = None
    _group: np.ndarray | None = None

    @property
    def claim(self) -> np.ndarray:
        """int64 claim key per line (:func:`rvucalc.claims.contract.claim_keys`); waits for the
        helper thread if it is still hashing the claim ids."""
        self._settle()
        return self._claim  # type: ignore[return-value]

    @property
    def group(self) -> np.ndarray:
        """int64 claim x date-of-service key per line."""
        self._settle()
        return self._group  # type: ignore[return-value]

    def claim_keys(self) -> np.ndarray:
        """:attr:`claim`, read without settling it: for another thread while the lines are being
        priced (waits for the helper thread if it is still hashing)."""
        got = self._claim
        if got is not None:
            return got
        return (self.keys.result() if isinstance(self.keys, Future) else self.keys)[0]

    def _settle(self) -> None:
        if self._claim is None:
            claim = (self.keys.result() if isinstance(self.keys, Future) else self.keys)[0]
            day = self.day_number
            self._claim = claim
            self._group = claim * (int(day.max()) + 1 if self.n else 1) + day

    def group_ids(self) -> np.ndarray:
        """:attr:`group` as small non-negative integers (array positions for ``np.bincount``):
        lines share one exactly when they share :attr:`group`. Computed once per chunk: the claim
        key itself when every claim has a single date of service, else a dense renumbering."""
        if self._group_ids is None:
            claim, cell = self.claim, self.date_codes
            small = self.n > 0 and claim.min() >= 0 and claim.max() < 4 * self.n + 16
            if small:  # every line of each claim has the same date cell (so the same day)?
                count = np.bincount(claim)
                mean_cell = np.bincount(claim, weights=cell)[claim] / count[claim]
                small = bool(np.all(cell == mean_cell))  # exact: whole numbers, sums far below 2**53
            self._group_ids = claim if small else G.dense_ids(self.group)[0]
        return self._group_ids

    def after_lookup(self) -> Lines:
        """These lines without what only the release choice and the lookup read (line numbers,
        claim keys, date cells, code/POS/ZIP/locality indices); :meth:`group_ids` is kept. For
        stages after the lookup, so a chunk's peak memory does not carry them."""
        none = np.zeros(0, dtype=CODE)
        g = self.group_ids()
        return replace(self, line=none, keys=None, day_number=none, _claim=none, _group=none,
                       hcpcs_codes=none, date_codes=none, pos_codes=none, zip_codes=none,
                       loc_codes=none, _group_ids=g)

    def year_quarters(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, values)``: ``year * 10 + quarter`` per line (-1 without a date) as
        ``pd.factorize`` gives it (distinct values in order of first appearance)."""
        if _every_cell(self.date_codes):
            _, year_u, q_u = self.date_table
            codes, uniq = pd.factorize(np.where(year_u >= 0, year_u * 10 + q_u, -1)[:-1])
            return codes.astype(np.int64)[self.date_codes], uniq
        return pd.factorize(np.where(self.year >= 0, self.year * 10 + self.quarter, -1))

    @property
    def day(self) -> np.ndarray:
        """Days since 1970-01-01 per line, -1 where refused."""
        return self.date_table[0][self.date_codes]

    @property
    def year(self) -> np.ndarray:
        return self.date_table[1][self.date_codes]

    @property
    def quarter(self) -> np.ndarray:
        return self.date_table[2][self.date_codes]

    @property
    def pos(self) -> np.ndarray:
        """Two-digit POS text per line ("" where not a POS code)."""
        return self.pos_uniq[self.pos_codes]

    def code(self) -> np.ndarray:
        """The normalised HCPCS code per line ("" where missing or not a code)."""
        return self.hcpcs_uniq[self.hcpcs_codes]


def _every_cell(codes: np.ndarray) -> bool:
    """No line has a missing cell (code -1): the distinct cells' order of first appearance is
    then that of the values derived from them."""
    return bool(len(codes)) and int(codes.min()) >= 0


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(CODE), np.asarray(uniq, dtype=object)


def _column(df: pd.DataFrame, name: str) -> pd.Series | None:
    return df[name] if name in df.columns else None


# ---------------------------------------------------------------------------
# units and charges


#: Units as a count is written: digits, commas only between groups of three, an optional
#: decimal part (``2.0``; the value must still be whole).
_COUNT = re.compile(r"[+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?")


def parse_units(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(units, bad)`` per line: whole numbers 1..MAX_UNITS; 1.0 and bad=True elsewhere."""
    codes, uniq = _factorize(values)
    text = pd.Series(uniq, dtype=object).map(_text).astype(object)
    # a count as written (``2``, ``2.0``, ``1,000``): a comma only as a thousands separator, so
    # ``1,5`` (a decimal comma) is refused, never read as 15; no exponent (``1e2``)
    form = text.str.fullmatch(_COUNT.pattern).fillna(False).to_numpy(dtype=bool) if len(uniq) else np.zeros(0, bool)
    num = pd.to_numeric(text.str.replace(",", "", regex=False).where(form, ""),
                        errors="coerce").to_numpy(dtype=float) if len(uniq) else np.zeros(0)
    ok = np.isfinite(num) & (num >= 1) & (num <= MAX_UNITS) & (np.floor(num) == num)
    u = np.append(np.where(ok, num, 1.0), 1.0)
    bad = np.append(~ok, True)
    return u[codes], bad[codes]


_DIGITS_DOT = byte_table("0123456789.")
_MONEY = re.compile(r"\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\$?\s*\.\d+")


def parse_charge(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(charge, bad)`` per line. Empty cells are no charge (NaN, not bad). Vectorised on distinct values."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        x = values.to_numpy(dtype=float, na_value=np.nan)  # numbers, nullable or Arrow-backed too
        given = ~np.isnan(x)
        bad = given & ~(np.isfinite(x) & (x >= 0) & (x <= MAX_CHARGE))
        return np.where(given & ~bad, x, np.nan), bad
    if isinstance(values.dtype, pd.StringDtype):  # text as a CSV is read: Arrow string kernels, no loop
        return _parse_charge_text(values)
    codes, uniq = _factorize(values)
    u = pd.Series(uniq, dtype=object)
    num = u.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
    num = num.to_numpy(dtype=bool) if len(u) else np.zeros(0, dtype=bool)
    text = u.map(_text).astype(object)
    text[num] = [repr(float(v)) for v in u[num]]  # numbers in an object column (Excel, mixed)
    empty = (text == "").to_numpy(dtype=bool) | (text == "nan").to_numpy(dtype=bool)
    ok = text.str.fullmatch(_MONEY.pattern).fillna(False).to_numpy(dtype=bool) | (num & ~empty)
    val = pd.to_numeric(text.str.replace(r"[$, ]", "", regex=True), errors="coerce").to_numpy(dtype=float) \
        if len(u) else np.zeros(0)
    good = ok & np.isfinite(val) & (val >= 0) & (val <= MAX_CHARGE)
    out = np.append(np.where(good & ~empty, val, np.nan), np.nan)
    bad = np.append(~good & ~empty, False)
    return out[codes], bad[codes]


def _parse_charge_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_charge` for a text column: the same rules, on every line at once (Arrow kernels)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arrow_text(values)
    tb = text_bytes(arr) if arr is not None else None
    if tb is not None and len(tb[0]) and tb[0].min() > 0 and _DIGITS_DOT[tb[1]].all():
        # the usual CSV: plain numbers ("1250", "99.5") on every line, no blanks: these all match
        # _MONEY, so one cast gives the same values; anything else ("1.2.3") takes the path below
        try:
            val = pc.cast(arr, pa.float64()).to_numpy()
        except pa.ArrowInvalid:
            val = None
        if val is not None:
            good = val <= MAX_CHARGE  # digits and a dot: never negative, NaN or -inf
            return np.where(good, val, np.nan), ~good
    text = pc.fill_null(pc.utf8_trim_whitespace(pa.array(values, type=pa.string())), "")
    empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
    ok = pc.match_substring_regex(text, f"^(?:{_MONEY.pattern})$")
    digits = pc.replace_substring_regex(text, r"[$, ]", "")
    digits = pc.if_else(pc.match_substring_regex(digits, r"\.$"), pc.binary_join_element_wise(
        digits, "0", ""), digits)  # "5." reads as 5.0
    val = pc.cast(pc.if_else(ok, digits, pa.scalar(None, pa.string())), pa.float64())
    val = val.to_numpy(zero_copy_only=False)
    okn = ok.to_numpy(zero_copy_only=False)
    good = okn & np.isfinite(val) & (val >= 0) & (val <= MAX_CHARGE)
    return np.where(good & ~empty, val, np.nan), ~good & ~empty


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return str(v).strip()


# ---------------------------------------------------------------------------
# dates

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                  r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SLASH = re.compile(r"(\d{1,2})([/-])(\d{1,2})\2(\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?")


def parse_dates(values: pd.Series, *, dayfirst: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(day, year, quarter)`` per line (day = days since 1970-01-01); -1 where not a date.

    One convention for the whole column (see the module docstring): slashed dates are month
    first unless *dayfirst*.
    """
    codes, day, year, q = parse_dates_coded(values, dayfirst=dayfirst)
    return day[codes], year[codes], q[codes]


def parse_dates_coded(values: pd.Series, *, dayfirst: bool = False
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`parse_dates` per distinct value: ``(codes, day, year, quarter)``, the line's values
    being ``day[codes]``...; the distinct values are numbered in order of first appearance and
    the last element is a missing cell's (code -1)."""
    codes, uniq = _factorize(values)
    ymd = np.full((len(uniq), 3), -1, dtype=np.int64)
    for i, v in enumerate(uniq):  # distinct values, not lines
        if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
            if not pd.isna(v):
                ymd[i] = (v.year, v.month, v.day)
            continue
        if isinstance(v, np.datetime64):
            t = pd.Timestamp(v)
            if not pd.isna(t):
                ymd[i] = (t.year, t.month, t.day)
            continue
        s = _text(v)
        m = _ISO.fullmatch(s) or _COMPACT.fullmatch(s)
        if m:
            ymd[i] = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
            continue
        m = _SLASH.fullmatch(s)
        if m:
            a, b = int(m.group(1)), int(m.group(3))
            mo, d = (b, a) if dayfirst else (a, b)
            ymd[i] = (int(m.group(4)), mo, d)
    day = np.full(len(uniq) + 1, -1, dtype=np.int64)
    year = np.full(len(uniq) + 1, -1, dtype=np.int64)
    q = np.full(len(uniq) + 1, -1, dtype=np.int64)
    if len(uniq):
        cand = pd.to_datetime(pd.DataFrame({"year": ymd[:, 0], "month": ymd[:, 1], "day": ymd[:, 2]}),
                              errors="coerce")
        ok = cand.notna().to_numpy() & (ymd[:, 0] >= 1900) & (ymd[:, 0] <= 2100)
        if ok.any():
            c = cand[ok]
            day[:-1][ok] = (c - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
            year[:-1][ok] = ymd[ok, 0]
            q[:-1][ok] = (ymd[ok, 1] - 1) // 3 + 1
    return codes, day, year, q


# ---------------------------------------------------------------------------
# codes, modifiers, places


def _modifier_table(texts: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct modifier list: flags for :data:`MODIFIER_FLAGS`, and whether any is not priced."""
    where = {k: j for j, k in enumerate(MODIFIER_FLAGS)}
    flags = np.zeros((len(texts) + 1, len(MODIFIER_FLAGS)), dtype=bool)
    unpriced = np.zeros(len(texts) + 1, dtype=bool)
    for i, mods in enumerate(texts):  # distinct values, not lines
        for m in mods:
            j = where.get(m)
            if j is not None:
                flags[i, j] = True
            elif m not in QUIET:  # informational and anatomic modifiers: no note
                unpriced[i] = True
    return flags, unpriced


def _codes_and_modifiers(hcpcs: pd.Series, modifiers: pd.Series | None, n: int, rb: ReasonBits
                         ) -> tuple[np.ndarray, np.ndarray, ModifierFlags, tuple]:
    """HCPCS code index per line and modifier flags from both columns (each parsed on its distinct values)."""
    h_codes, h_index = pd.factorize(hcpcs, use_na_sentinel=True)
    h_codes, h_uniq = h_codes.astype(CODE), np.asarray(h_index, dtype=object)
    plain = _plain_codes(h_index)  # five letters/digits: the code itself, upper-cased (parse_code)
    parsed = [(v.upper(), ()) if p else parse_code(v) or ("", ()) for v, p in zip(h_uniq, plain)]
    code_u = np.array([p[0] for p in parsed] + [""], dtype=object)
    h_flags, h_unpriced = _modifier_table([p[1] for p in parsed])
    m_lists: list[tuple[str, ...]] = []
    if modifiers is not None:
        m_codes, m_uniq = _factorize(modifiers)
        m_lists = [split_modifiers(v) for v in m_uniq]
        m_flags, m_unpriced = _modifier_table(m_lists)
    else:
        m_codes = np.full(n, -1, dtype=CODE)
        m_flags, m_unpriced = np.zeros((1, len(MODIFIER_FLAGS)), dtype=bool), np.zeros(1, dtype=bool)
    c_codes, c_uniq = pd.factorize(code_u)
    hc = c_codes.astype(CODE)[h_codes]
    rb.add(BAD_CODE.code, (code_u == "")[h_codes])  # an empty cell, or text that is no code
    rb.add(MOD_NOT_PRICED.code, h_unpriced[h_codes] | m_unpriced[m_codes])
    # the flags of both columns as the bits of one integer per line: two lookups, not 2 x 12
    weight = np.left_shift(1, np.arange(len(MODIFIER_FLAGS), dtype=np.int64))
    mods = ModifierFlags((h_flags @ weight).astype(_FLAG_BITS)[h_codes]
                         | (m_flags @ weight).astype(_FLAG_BITS)[m_codes])
    lists = ((h_codes, [p[1] for p in parsed] + [()]), (m_codes, m_lists + [()]))
    return hc, np.asarray(c_uniq, dtype=object), mods, lists


_ALNUM = byte_table("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _plain_codes(uniq: pd.Index) -> np.ndarray:
    """Per distinct Arrow-backed HCPCS cell: exactly five ASCII letters/digits (what
    :func:`rvucalc.codes.parse_code` reads as the code alone). All False for other input."""
    arr = arrow_text(uniq)
    tb = text_bytes(arr) if arr is not None else None
    if tb is None:
        return np.zeros(len(uniq), dtype=bool)
    lengths, data = tb
    return (lengths == 5) & only_bytes(lengths, data, _ALNUM)


def pricing_modifier(mods: dict[str, np.ndarray]) -> np.ndarray:
    """Index of the PPRRVU row modifier per line: 0 "", 1 "26", 2 "TC", 3 "53" (see policy)."""
    n = len(next(iter(mods.values())))
    out = np.zeros(n, dtype=np.int8)
    out[mods["53"]] = 3
    out[mods["TC"]] = 2
    out[mods["26"]] = 1
    return out


_DIGITS = byte_table("0123456789")


def _norm_zips_text(uniq: pd.Index) -> np.ndarray | None:
    """:func:`_norm_zips` for distinct Arrow-backed text: the all-digit values (nearly all ZIP
    columns) by their length, the others by :func:`_norm_zips`. ``None`` for other input."""
    arr = arrow_text(uniq)
    tb = text_bytes(arr) if arr is not None else None
    if tb is None:
        return None
    lengths, data = tb
    digits = only_bytes(lengths, data, _DIGITS)
    vals = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)
    out = np.full(len(vals), "", dtype=object)
    five = digits & (lengths == 5)  # "12345"
    out[five] = vals[five]
    nine = digits & (lengths == 9)  # ZIP+4 written without a separator
    out[nine] = [v[:5] for v in vals[nine]]  # distinct values, not lines
    short = digits & (lengths >= 1) & (lengths <= 4)  # leading zeros lost ("2134")
    out[short] = [v.zfill(5) for v in vals[short]]
    if not digits.all():
        out[~digits] = _norm_zips(vals[~digits])
    return out


def _norm_zips(uniq: np.ndarray) -> np.ndarray:
    s = pd.Series(np.asarray(uniq, dtype=object)).map(_text).str.replace(r"\.0$", "", regex=True)
    full = s.str.fullmatch(r"\d{5}(?:[- ]?\d{4})?").fillna(False).to_numpy(bool)
    short = s.str.fullmatch(r"\d{1,4}").fillna(False).to_numpy(bool)
    out = np.full(len(s), "", dtype=object)
    out[full] = s[full].str.slice(0, 5).to_numpy(dtype=object)
    out[short] = s[short].str.zfill(5).to_numpy(dtype=object)
    return out


_LOC = re.compile(r"(\d{4,5})\D*(\d{1,2})")


def _norm_locality(v: object) -> str:
    s = _text(v)
    if s.lower() in ("national", "us"):
        return "national"
    m = _LOC.fullmatch(s)
    return f"{m.group(1).zfill(5)}-{m.group(2).zfill(2)}" if m else ""


#: ``participating`` cells read as participating / non-participating (lower case, blanks and
#: hyphens read as one space). An empty cell is "not given": participating, as with no column.
PARTICIPATING_YES = frozenset({"", "1", "1.0", "true", "t", "y", "yes", "par", "participating"})
PARTICIPATING_NO = frozenset({"0", "0.0", "false", "f", "n", "no", "np", "nonpar", "non par",
                              "nonparticipating", "non participating"})


def _participation(v: object) -> int:
    """1 participating, 0 not, -1 a value neither set holds (the line is refused, never guessed)."""
    s = " ".join(_text(v).lower().replace("-", " ").replace("_", " ").split())
    return 1 if s in PARTICIPATING_YES else 0 if s in PARTICIPATING_NO else -1


def _mapped(values: pd.Series | None, n: int, fn, missing: object) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """``(codes, normalised distinct values)``; code -1 (the last element) means missing."""
    if values is None:
        return np.full(n, -1, dtype=CODE), np.array([missing], dtype=object)
    codes, index = pd.factorize(values, use_na_sentinel=True)
    codes = codes.astype(CODE)
    fast = _norm_zips_text(index) if fn is _norm_zips and len(index) else None
    uniq = np.asarray(index, dtype=object)
    out = np.empty(len(uniq) + 1, dtype=object)
    if fast is not None:
        out[:-1] = fast
    elif fn is _norm_zips:
        out[:-1] = _norm_zips(uniq)
    else:
        for i, v in enumerate(uniq):  # distinct values, not lines
            out[i] = fn(v)
    out[-1] = missing
    return codes, out


# ---------------------------------------------------------------------------


REQUIRED = ("claim_id", "hcpcs", "pos", "date_of_service")


def require(lines: pd.DataFrame, place: tuple[str, ...] = ("zip", "locality"),
            required: tuple[str, ...] | None = None) -> None:
    """Raise ValueError naming the missing columns (the only error that stops a whole run).

    *required*: the system's required columns (default :data:`REQUIRED`).
    """
    missing = [c for c in (REQUIRED if required is None else required) if c not in lines.columns]
    if place and not any(c in lines.columns for c in place):
        missing.append(" or ".join(place))
    if missing:
        raise ValueError(f"claim lines need the column(s) {', '.join(missing)}; "
                         f"have {', '.join(str(c) for c in lines.columns if c != LINE)}")


#: The reasons :func:`normalise` gives, registered in this order before it looks at a line, so a
#: line's reason text lists them in this order whichever is found first.
_REASONS = (CLAIM_ID_MISSING.code, ERROR_CELL.code, P.BAD_DATE.code, P.BAD_UNITS.code, BAD_CHARGE.code, BAD_CODE.code,
            MOD_NOT_PRICED.code)

#: Chunks of at least this many lines hash their claim ids on a second thread (below it, the
#: thread costs more than it saves).
BACKGROUND_LINES = 100_000

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:
    """In a forked child the helper thread is gone: start a new one on first use (else the
    child would wait for ever on work no thread takes)."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _background(fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
    """*fn(*args)* started on rvucalc's helper thread, or ``None`` on a single core (the caller
    then calls it itself)."""
    global _POOL
    if (os.cpu_count() or 1) < 2:
        return None
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rvucalc-normalise")
    return _POOL.submit(fn, *args)


def normalise(chunk: pd.DataFrame, *, dayfirst: bool = False,
              error_columns: tuple[str, ...] = PRICED_COLUMNS["pfs"]) -> Lines:
    """Parse a chunk's pricing columns (see the module docstring for each convention).

    Hashing the claim ids is the largest single cost (a million lines hold hundreds of
    thousands of distinct ids); on a chunk of :data:`BACKGROUND_LINES` or more it runs on a
    second thread while this one parses the other columns and the stages that need no claim
    (release choice, lookup) go on (Arrow and NumPy release the GIL). :attr:`Lines.claim`,
    :attr:`Lines.group` and the reasons' bits wait for it when first read; an error on that
    thread is raised there. A spreadsheet error value in one of *error_columns* (the columns
    the payment system prices from) refuses its line (:mod:`rvucalc.claims.cells`).
    """
    n = len(chunk)
    rb = ReasonBits(n)
    for code in _REASONS:
        rb.order(code)
    line = chunk[LINE].to_numpy(dtype=np.int64) if LINE in chunk.columns else np.arange(n, dtype=np.int64)
    keys = _background(claim_keys, chunk["claim_id"], line) if n >= BACKGROUND_LINES else None
    if keys is None:
        keys = claim_keys(chunk["claim_id"], line)
    rb.later(CLAIM_ID_MISSING.code, lambda: (keys.result() if isinstance(keys, Future) else keys)[1])
    rb.add(ERROR_CELL.code, error_cells(chunk, error_columns))
    d_codes, day_u, year_u, q_u = parse_dates_coded(chunk["date_of_service"], dayfirst=dayfirst)
    rb.add(P.BAD_DATE.code, (year_u < 0)[d_codes])
    if _every_cell(d_codes):  # distinct days numbered in line order, from the distinct cells
        dcode = pd.factorize(day_u[:-1])[0].astype(np.int64)[d_codes]
    else:
        dcode = pd.factorize(day_u[d_codes])[0].astype(np.int64)
    if "units" in chunk.columns:
        units, bad_units = parse_units(chunk["units"])
    else:
        units, bad_units = np.ones(n), np.zeros(n, dtype=bool)
    rb.add(P.BAD_UNITS.code, bad_units)
    if "charge" in chunk.columns:
        charge, bad_charge = parse_charge(chunk["charge"])
        rb.add(BAD_CHARGE.code, bad_charge)
    else:
        charge = np.full(n, np.nan)
    hc_codes, hc_uniq, mods, mod_lists = _codes_and_modifiers(chunk["hcpcs"], _column(chunk, "modifiers"),
                                                              n, rb)
    if "pos" in chunk.columns:  # normalised once per distinct value
        p_codes, p_index = pd.factorize(chunk["pos"], use_na_sentinel=True)
        pos_codes = p_codes.astype(CODE)
        pos_uniq = np.append(P.normalise_pos(pd.Series(np.asarray(p_index, dtype=object), dtype=object)), "")
    else:
        pos_codes, pos_uniq = np.full(n, -1, dtype=CODE), np.array([""], dtype=object)
    zip_codes, zip_u = _mapped(_column(chunk, "zip"), n, _norm_zips, "")
    loc_codes, loc_u = _mapped(_column(chunk, "locality"), n, _norm_locality, "")
    part_s = _column(chunk, "participating")
    if part_s is not None:
        pc, pu = _mapped(part_s, n, _participation, 1)
        flag = pu.astype(np.int8)
        participating, bad_participating = (flag != 0)[pc], (flag < 0)[pc]
    else:
        participating, bad_participating = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    return Lines(n=n, line=line, keys=keys, day_number=dcode, hcpcs_codes=hc_codes, hcpcs_uniq=hc_uniq,
                 mods=mods, units=units, bad_units=bad_units, date_codes=d_codes,
                 date_table=(day_u, year_u, q_u),
                 pos_codes=pos_codes, pos_uniq=pos_uniq, zip_codes=zip_codes, zip_uniq=zip_u,
                 loc_codes=loc_codes, loc_uniq=loc_u, charge=charge, participating=participating,
                 bad_participating=bad_participating,
                 reasons=rb, modifier_lists=mod_lists)
