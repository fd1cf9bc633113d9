"""Small array helpers shared by the claims stages: reasons as bits, categorical text outputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..calc.money import claim_cents, line_cents
from ..reasons import reason


def arrow_text(values: object) -> pa.ChunkedArray | None:
    """The Arrow strings behind a pandas text column or index (``str`` dtype, pyarrow storage),
    without copying; ``None`` for anything else (object columns, numbers, Python storage)."""
    dtype = getattr(values, "dtype", None)
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return None
    arr = pa.chunked_array(pa.array(getattr(values, "array", values)))
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


def text_bytes(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lengths, data)``: each string's length in bytes and all their bytes, concatenated (uint8).

    For whole-column checks of the characters used (e.g. "only ASCII digits") without a Python
    loop; ``None`` when the array has nulls (callers then take their general path).
    """
    if arr.null_count:
        return None
    lengths, data = [], []
    for chunk in arr.chunks:
        bufs = chunk.buffers()
        width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        off = np.frombuffer(bufs[1], dtype=width)[chunk.offset:chunk.offset + len(chunk) + 1] \
            if bufs[1] is not None and len(chunk) else np.zeros(1, dtype=width)
        lengths.append(np.diff(off).astype(np.int64))
        raw = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        data.append(raw[int(off[0]):int(off[-1])])
    if not lengths:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    return np.concatenate(lengths), np.concatenate(data) if len(data) > 1 else data[0]


def few_distinct_codes(values: np.ndarray, block: int = 1 << 16) -> tuple[np.ndarray, list]:
    """``pd.factorize`` for a long array of few distinct values (codes in order of first
    appearance, the same as ``pd.factorize`` gives), a block at a time: the hash table stays the
    size of a block (factorizing a million values at once allocates about 30 MB for it)."""
    n = len(values)
    if n <= block:
        codes, uniq = pd.factorize(values)
        return codes, list(uniq)
    codes = np.empty(n, dtype=np.int32)
    seen: dict = {}
    for a in range(0, n, block):  # blocks, not values
        k, u = pd.factorize(values[a:a + block])
        remap = np.array([seen.setdefault(x, len(seen)) for x in u.tolist()], dtype=np.int32)
        codes[a:a + block] = remap[k]
    return codes, list(seen)


def only_bytes(lengths: np.ndarray, data: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per string of :func:`text_bytes` ``(lengths, data)``: every byte of it is one *table*
    (:func:`byte_table`) allows (True for an empty string)."""
    outside = np.concatenate([[0], np.cumsum(~table[data])])  # bytes not allowed, so far
    ends = np.cumsum(lengths)
    return outside[ends] == outside[ends - lengths]


def byte_table(chars: str) -> np.ndarray:
    """A 256-entry lookup table: True for the bytes of the ASCII *chars*."""
    t = np.zeros(256, dtype=bool)
    t[np.frombuffer(chars.encode("ascii"), dtype=np.uint8)] = True
    return t


def categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """Text column as a categorical from integer codes; code -1 gives "" (never NaN)."""
    cats = [str(c) for c in categories]
    uniq = list(dict.fromkeys([*cats, ""]))
    where = {c: i for i, c in enumerate(uniq)}
    small = np.int8 if len(uniq) < 127 else np.int16 if len(uniq) < 32_000 else np.int64
    remap = np.array([where[c] for c in cats] + [where[""]], dtype=small)  # distinct categories
    codes = np.asarray(codes)
    if codes.size and codes.min() < -1:
        codes = np.where(codes >= 0, codes, -1)
    return pd.Categorical.from_codes(remap[codes],  # code -1: the last entry, ""
                                     categories=pd.Index(uniq, dtype=object),
                                     validate=False)  # every code is a position in uniq (remap)


class ReasonBits:
    """Reason codes per line as bits of a uint64; turned into "A|B" strings at the end.

    A code takes a bit when a line is first given it (at most 64 distinct codes in a chunk);
    the order codes are written in is fixed apart from that: :meth:`order` places a code among
    the others without spending a bit on it (a stage states every code it may give, so a line's
    text never depends on the other lines of its chunk), and a code never placed so takes its
    place when it takes its bit.
    """

    def __init__(self, n: int) -> None:
        self._bits = np.zeros(n, dtype=np.uint64)
        self.codes: list[str] = []
        self._rank: dict[str, int] = {}
        self._later: list[tuple[str, Callable[[], np.ndarray]]] = []

    def order(self, code: str) -> None:
        """Place *code* after the codes placed so far (its bit is taken when it is first used)."""
        self._rank.setdefault(code, len(self._rank))

    def ordered(self, value: int) -> list[str]:
        """The codes of the bits *value*, in their written order."""
        got = [c for j, c in enumerate(self.codes) if value >> j & 1]
        return sorted(got, key=self._rank.__getitem__) if len(got) > 1 else got

    @property
    def bits(self) -> np.ndarray:
        """The bits per line, with every reason :meth:`later` was given added."""
        while self._later:
            code, mask = self._later.pop(0)
            self.add(code, mask())
        return self._bits

    @bits.setter
    def bits(self, value: np.ndarray) -> None:
        self._bits = value

    def later(self, code: str, mask: Callable[[], np.ndarray]) -> None:
        """Add *code* where ``mask()`` is True, when the bits are first read (a mask still being
        computed on another thread). The code takes its place in the order now."""
        self.bit(code)
        self._later.append((code, mask))

    def bit(self, code: str) -> np.uint64:
        if code not in self.codes:
            if len(self.codes) >= 64:
                raise RuntimeError(f"more than 64 distinct reason codes in one chunk of claim lines "
                                   f"({', '.join(self.codes)}, {code})")
            self.codes.append(code)
            self.order(code)
        return np.uint64(1) << np.uint64(self.codes.index(code))

    def add(self, code: str, mask: np.ndarray, idx: np.ndarray | slice | None = None) -> None:
        """Give *code* to the lines where *mask* (over every line, or over the lines *idx*: an
        array of line numbers or a slice)."""
        if isinstance(idx, slice):
            idx = None if idx == slice(None) else np.arange(len(self._bits))[idx]
        hits = np.count_nonzero(mask)
        if not hits:
            return
        b = self.bit(code)
        bits = self._bits  # adding needs no pending reason: OR-ing commutes
        if idx is None and hits * 64 < len(mask):  # a few lines
            np.bitwise_or(bits, b, out=bits, where=mask)
        elif idx is None:  # many lines: the bit shifted into place on every line, no branching
            shift = np.uint64(self.codes.index(code))
            np.bitwise_or(bits, np.asarray(mask, dtype=bool).view(np.uint8).astype(np.uint64) << shift,
                          out=bits)
        else:
            bits[idx[mask]] |= b

    def add_codes(self, codes: np.ndarray, idx: np.ndarray) -> None:
        """Add a code per element of *idx* ("" for none), e.g. PFS status/NA reasons."""
        k, uniq = pd.factorize(codes)
        for j, c in enumerate(uniq):  # distinct codes, not lines
            if c:
                self.add(str(c), k == j, idx)

    def add_coded(self, codes: np.ndarray, labels: list, idx: np.ndarray) -> None:
        """:meth:`add_codes` with the codes given as indices into *labels* (added in the order
        the labels first appear among the lines, as :meth:`add_codes` does)."""
        present = np.flatnonzero(np.bincount(codes, minlength=len(labels)))
        first = {int(c): int(np.argmax(codes == c)) for c in present if labels[c]}  # distinct codes
        for c in sorted(first, key=first.__getitem__):
            self.add(str(labels[c]), codes == c, idx)

    def any_of(self, codes: Iterable[str]) -> np.ndarray:
        m = np.uint64(0)
        for c in codes:
            if c in self.codes:
                m |= self.bit(c)
        return (self.bits & m) != 0

    def categorical(self) -> pd.Categorical:
        """The "A|B" reason strings as a categorical (codes hashed once, text built per distinct set)."""
        inv, uniq = few_distinct_codes(self.bits)
        text = ["|".join(self.ordered(int(u))) for u in uniq]
        return categorical(inv, text)


# ---------------------------------------------------------------------------------------------
# Line outcomes and arrays shared by the facility systems (rvucalc.claims.opps, rvucalc.claims.asc)

#: Outcome of a line: paid as billed, paid at a reduced share, packaged (no separate payment,
#: 0.00), or not paid (no amount, with the reason). ``payable`` is True for the first three.
LINE_STATUS = ("paid", "discounted", "packaged", "not paid")
PAID, DISCOUNTED, PACKAGED, NOT_PAID = range(4)

LINE_REFUSED = reason("FACILITY_LINE_NOT_PRICED", "The line could not be read (see its other "
                      "reasons), so no facility amount is computed", "claim line input")


def _cat(codes: np.ndarray, labels: tuple[str, ...] | list[str]) -> pd.Categorical:
    """Categorical from integer codes; -1 becomes ""."""
    labs = list(dict.fromkeys([*labels, ""]))
    where = {c: i for i, c in enumerate(labs)}
    remap = np.array([where[c] for c in labels] + [where[""]], dtype=np.int64)
    c = np.asarray(codes, dtype=np.int64)
    return pd.Categorical.from_codes(remap[np.where(c >= 0, c, len(labels))],
                                     categories=pd.Index(labs, dtype=object))


def _dollars(cents: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return np.where(ok, cents / 100.0, np.nan)


# ---------------------------------------------------------------------------------------------
# OPPS


def _ids(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer ids of text values and their labels (``""`` gets an id too)."""
    k, uniq = pd.factorize(pd.Series(values, dtype=object))
    return k.astype(np.int32), [str(u) for u in uniq]


def _sentinel(arr: np.ndarray, fill: object) -> np.ndarray:
    """*arr* with one more element, *fill*, at the end: what code -1 (not listed) reads."""
    return np.append(arr, np.array([fill], dtype=arr.dtype))


def code_index(table_hcpcs: pd.Index, hcpcs: pd.Series | np.ndarray) -> np.ndarray:
    """Row of each line's HCPCS code in a prepared table (-1 when absent); works on the
    distinct codes only."""
    codes, uniq = pd.factorize(pd.Series(np.asarray(hcpcs, dtype=object), dtype=object),
                               use_na_sentinel=True)
    norm = pd.Series(uniq, dtype=object).astype(str).str.strip().str.upper().to_numpy(dtype=object)
    at = np.append(table_hcpcs.get_indexer(norm), -1).astype(np.int64)
    return at[codes]


def _add_ids(rb: ReasonBits, ids: np.ndarray, labels: list[str], idx: np.ndarray) -> None:
    """Add, for each line of *idx*, the reason code ``labels[id]`` (id -1: none)."""
    present = np.unique(ids)
    lut = np.zeros(len(labels) + 1, dtype=np.uint64)  # last: the -1 sentinel
    for k in present:  # distinct codes, not lines
        if k >= 0 and labels[k]:
            lut[k] = rb.bit(labels[k])
    rb.bits[idx] |= lut[ids]


def _relabel(labels: list[str], table_labels: list[str] | tuple[str, ...], ids: np.ndarray) -> np.ndarray:
    """*ids* into *table_labels* as ids into *labels*, after appending *table_labels* to it
    (lines of several releases share one label list; -1 stays -1)."""
    off = len(labels)
    labels.extend(table_labels)
    return np.where(ids >= 0, ids + off, -1)


def _rule_inputs(claim: np.ndarray, session: np.ndarray, line: np.ndarray, units: np.ndarray,
                 wage_index: np.ndarray, refused: np.ndarray | None) -> tuple[Any, ...]:
    """The claim rules' common inputs as typed arrays: ``(n, claim, session, line, n_claims,
    n_sessions, units, wage_index, refused)``."""
    n = len(claim)
    claim = np.asarray(claim, dtype=np.int64)
    session = np.asarray(session, dtype=np.int64)
    n_claims = int(claim.max()) + 1 if n else 0
    n_sessions = int(session.max()) + 1 if n else 0
    return (n, claim, session, np.asarray(line, dtype=np.int64), n_claims, n_sessions,
            np.asarray(units, dtype=float), np.asarray(wage_index, dtype=float),
            np.zeros(n, dtype=bool) if refused is None else np.asarray(refused, dtype=bool))


def _money(claim: np.ndarray, n_claims: int, pay_raw: np.ndarray, copay_raw: np.ndarray, *,
           paid: np.ndarray, packaged: np.ndarray, reduced: np.ndarray, paid_units: np.ndarray,
           factor: np.ndarray, wage_index: np.ndarray, rb: ReasonBits,
           unknown: np.ndarray | None = None) -> dict[str, object]:
    """The money stage shared by OPPS and ASC lines: each line rounded to cents once
    (:func:`rvucalc.calc.money.line_cents`), the claim total the sum of its lines' cents, the
    beneficiary's copayment/coinsurance and Medicare's payment (the payment less it).

    The claim total is an amount only when every line of the claim has one or a stated zero
    (packaged, or not paid by a payment rule: a status or payment indicator that is not paid, a
    code not on the addendum, an ancillary without a procedure). *unknown* marks the lines whose
    amount is not known for want of data (no release for the date, a line that could not be
    read, no wage index, no rate or device portion in the file): a claim with one such line
    has no total (NaN), never the partial sum of the others.
    """
    pay_c, ok = line_cents(pay_raw)
    cop_c, _ = line_cents(copay_raw)
    total = claim_cents(claim, pay_c, n_claims)[claim] if len(claim) else pay_c
    if unknown is not None and len(claim):
        total = np.where(np.bincount(claim, weights=unknown, minlength=n_claims)[claim] > 0,
                         np.nan, total)
    status = np.where(paid, np.where(paid & reduced, DISCOUNTED, PAID),
                      np.where(packaged, PACKAGED, NOT_PAID))
    return {
        "line_status": _cat(status, LINE_STATUS),
        "payable": ok,
        "paid_units": np.where(ok, paid_units, np.nan),
        "discount_factor": np.where(ok & paid, factor, np.where(ok, 0.0, np.nan)),
        "facility_wage_index": wage_index,
        "facility_payment": _dollars(pay_c, ok),
        "beneficiary_copay": _dollars(cop_c, ok),
        "medicare_payment": _dollars(pay_c - cop_c, ok),
        "claim_total": total / 100.0,
        "reason": rb.categorical(),
    }


