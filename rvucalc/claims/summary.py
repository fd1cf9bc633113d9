"""Per-claim totals of priced claim lines: :func:`summarise_claims`.

Where the rounding happens: every line amount is rounded to cents once, by the pricing stage
(CMS pays and reports each line in cents). A claim's total is the **sum of its lines' rounded
amounts**, added in whole cents (integers), so the lines always add up exactly to the claim
total, and nothing is rounded twice. (Rounding an unrounded claim total instead would let the
lines and the total disagree by a cent, e.g. three lines of $10.005.)

Besides the amounts, each claim's row says when and where it was served, read from the user's
columns as pricing read them (:mod:`rvucalc.claims.normalise`): its first and last date of
service, its place of service (the POS its lines give, or ``mixed``) and its total charges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import arguments
from . import columns as K
from .contract import LINE, claim_keys

#: Money columns summed per claim, when the priced frame has them.
MONEY = ("allowed", "medicare_payment", "beneficiary_share", "sequestration", "charge_amount",
         "facility_payment", "beneficiary_copay")


#: What :func:`summarise_claims`' numeric columns hold (workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`).
KINDS = {"lines": "count", "lines_paid": "count", "lines_unpaid": "count", "total_charges": "money",
         **dict.fromkeys(MONEY, "money")}
#: A claim whose lines give more than one place of service.
MIXED = "mixed"


def _cents(s: pd.Series) -> np.ndarray:
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(x), 0, np.rint(x * 100)).astype(np.int64)


def summarise_claims(priced: pd.DataFrame, *, columns: K.Given | dict[str, str] | str | None = None,
                     dayfirst: bool | None = None) -> pd.DataFrame:
    """One row per claim: when and where it was served, lines paid and unpaid, total charges,
    allowed, Medicare payment, beneficiary share and the distinct reasons of its lines.

    Claims are formed as the repricer forms them (:mod:`rvucalc.claims.contract`): lines without
    a claim id are claims of their own (the claim id shown as given, e.g. empty, under the
    user's own header: ``claim_id``, or ``CLM_ID`` when read from that column). The beneficiary
    share is allowed minus Medicare's payment per line (coinsurance, and sequestration is
    Medicare's). Rows follow the first appearance of each claim. For facility (OPPS, ASC) lines,
    a claim's ``facility_payment``, ``beneficiary_copay`` and ``medicare_payment`` exist exactly
    when its lines' ``claim_total`` does, and ``facility_payment`` equals it.

    Also per claim: ``first_date_of_service`` and ``last_date_of_service`` (of the lines whose
    date can be read; NaT when none), ``place_of_service`` (when the lines have a POS column: the
    two-digit POS its lines give, ``"mixed"`` when they give more than one, ``""`` when none)
    and ``total_charges`` (when they have a charge column: the sum of the lines' charges, NaN
    when a line has no charge or one that cannot be read: a total of some lines is not the
    claim's). *columns* / *dayfirst*: how the lines were read (default: as the pricing recorded
    in ``priced.attrs``, see :mod:`rvucalc.claims.columns`).
    """
    arguments.frame(priced, "priced", what="priced claim lines (the result of rvucalc.reprice)")
    n = len(priced)
    names = K.of(priced, columns)
    first_day = dayfirst if dayfirst is not None else bool(priced.attrs.get(K.DAYFIRST, False))
    claim_col = K.header(names, "claim_id")
    line = priced[LINE].to_numpy(dtype=np.int64) if LINE in priced.columns else np.arange(n, dtype=np.int64)
    key, _ = claim_keys(priced[claim_col].to_numpy(dtype=object), line)
    k, first = pd.factorize(key)
    paid = priced["payable"].to_numpy(dtype=bool) if "payable" in priced.columns else np.ones(n, dtype=bool)
    cols: dict[str, object] = {}
    order = pd.Series(np.arange(n)).groupby(k).min().to_numpy()
    cols[claim_col] = priced[claim_col].to_numpy(dtype=object)[order]
    cols.update(when_where(priced, names, k, len(first), first_day))
    cols["lines"] = np.bincount(k, minlength=len(first))
    cols["lines_paid"] = np.bincount(k, weights=paid, minlength=len(first)).astype(np.int64)
    cols["lines_unpaid"] = cols["lines"] - cols["lines_paid"]  # type: ignore[operator]
    sums: dict[str, np.ndarray] = {}
    for c in ("allowed", "medicare_payment", "sequestration", "facility_payment", "beneficiary_copay"):
        if c in priced.columns:
            sums[c] = np.bincount(k, weights=_cents(priced[c]), minlength=len(first)).astype(np.int64)
    if "charge" in names:
        cols["total_charges"] = total_charges(priced[names["charge"]], k, len(first))
    if "allowed" in sums and "medicare_payment" in sums:
        sums["beneficiary_share"] = sums["allowed"] - sums["medicare_payment"] - sums.get(
            "sequestration", np.zeros(len(first), dtype=np.int64))
    none_paid = cols["lines_paid"] == 0  # type: ignore[operator]
    for c, v in sums.items():
        cols[c] = np.where(none_paid, np.nan, v / 100.0)  # no amount, not $0, when nothing was paid
    if "claim_total" in priced.columns:  # facility claims: the same total as each line's claim_total
        known = ~np.isnan(pd.to_numeric(priced["claim_total"], errors="coerce").to_numpy(float)[order])
        for c in ("facility_payment", "beneficiary_copay", "medicare_payment"):
            if c in sums:  # a stated zero (packaged, not paid by rule) counts; an unknown line does not
                cols[c] = np.where(known, sums[c] / 100.0, np.nan)
    if "reason" in priced.columns:
        cols["reasons"] = _claim_reasons(priced["reason"], k, len(first))
    out = pd.DataFrame(cols)
    out.attrs["rvucalc.kinds"] = {c: KINDS[c] for c in out.columns if c in KINDS}
    # no summary pivot guessed for a workbook of these rows (place_of_service would be taken for
    # a site dimension): a table of claims, as before it had that column
    out.attrs["rvucalc.summary"] = {}
    return out


def when_where(priced: pd.DataFrame, names: dict[str, str], k: np.ndarray, claims: int,
               dayfirst: bool) -> dict[str, object]:
    """First and last date of service and the place of service of each claim (see
    :func:`summarise_claims`), from the columns pricing read (each parsed on its distinct values)."""
    from ..calc.policy import normalise_pos
    from .normalise import parse_dates

    day = parse_dates(priced[names["date_of_service"]], dayfirst=dayfirst)[0] \
        if "date_of_service" in names else None
    pos = None
    if "pos" in names:
        codes, uniq = pd.factorize(priced[names["pos"]], use_na_sentinel=True)
        text = np.append(normalise_pos(pd.Series(np.asarray(uniq, dtype=object), dtype=object)), "")
        pos = (codes, text)
    return when_where_parsed(day, pos, k, claims)


def when_where_parsed(day: np.ndarray | None, pos: tuple[np.ndarray, np.ndarray] | None, k: np.ndarray,
                      claims: int) -> dict[str, object]:
    """:func:`when_where` from the parsed lines: *day* per line (days since 1970-01-01, -1 where
    not a date; None: no date column) and *pos* ``(codes, text)``, the line's two-digit POS being
    ``text[codes]`` (code -1: the last, a missing cell; ``""`` where not a POS; None: no POS
    column), as :mod:`rvucalc.claims.normalise` parses them."""
    out: dict[str, object] = {}
    if day is not None:
        kd, dd = _where_given(k, day, day >= 0)
        lo = np.full(claims, np.iinfo(np.int64).max, dtype=np.int64)
        hi = np.full(claims, -1, dtype=np.int64)
        np.minimum.at(lo, kd, dd)
        np.maximum.at(hi, kd, dd)
        none = hi < 0
        for col, d in (("first_date_of_service", lo), ("last_date_of_service", hi)):
            days = np.where(none, 0, d).astype("datetime64[D]").astype("datetime64[ms]")  # as Parquet stores it
            out[col] = pd.Series(days).where(~none)  # NaT for a claim without a date
    if pos is not None:
        codes, text = pos
        tc, tu = pd.factorize(np.asarray(text, dtype=object))  # distinct cells -> distinct POS texts
        tu = np.asarray(tu, dtype=object)
        pc = tc.astype(np.int64)[codes]  # code -1 takes the last cell's (missing: "")
        given = (tu != "")[pc]
        kp, pp = _where_given(k, pc, given)
        lo = np.full(claims, len(tu), dtype=np.int64)
        hi = np.full(claims, -1, dtype=np.int64)
        np.minimum.at(lo, kp, pp)
        np.maximum.at(hi, kp, pp)
        label = np.append(tu, "")
        one = np.where(hi < 0, len(tu), hi)
        out["place_of_service"] = np.where((hi >= 0) & (lo != hi), MIXED, label[one]).astype(object)
    return out


def _where_given(k: np.ndarray, values: np.ndarray, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(k[given], values[given])``, made once (and not at all when every line has a value)."""
    if given.all():
        return k, values
    return k[given], values[given]


def total_charges(charge: pd.Series, k: np.ndarray, claims: int) -> np.ndarray:
    """Sum of each claim's line charges in whole cents; NaN when a line has none or a bad one."""
    from .normalise import parse_charge

    x, bad = parse_charge(charge)
    return charges_parsed(np.where(bad, np.nan, x), k, claims)


def charges_parsed(charge: np.ndarray, k: np.ndarray, claims: int) -> np.ndarray:
    """:func:`total_charges` from the parsed charges (dollars, NaN where none or unreadable, as
    :attr:`rvucalc.claims.normalise.Lines.charge` holds them)."""
    missing = np.isnan(charge)
    cents = np.where(missing, 0, np.rint(np.nan_to_num(charge) * 100)).astype(np.int64)
    total = np.bincount(k, weights=cents, minlength=claims)
    unknown = np.bincount(k, weights=missing, minlength=claims) > 0
    return np.where(unknown, np.nan, total / 100.0)


def _claim_reasons(reason: pd.Series, k: np.ndarray, claims: int) -> np.ndarray:
    """The distinct reason codes of each claim's lines, "|"-joined, as bit sets (no loop over claims)."""
    rc, ru = pd.factorize(reason.astype(str))
    # sorted: a claim's reasons do not depend on which other claims share its chunk
    codes: list[str] = sorted({c for u in ru for c in str(u).split("|") if c})
    if not codes:
        return np.full(claims, "", dtype=object)
    bit = {c: j for j, c in enumerate(codes)}
    words = (len(codes) + 63) // 64
    ubits = np.zeros((len(ru), words), dtype=np.uint64)
    for i, u in enumerate(ru):  # distinct reason strings
        for c in str(u).split("|"):
            if c:
                ubits[i, bit[c] // 64] |= np.uint64(1) << np.uint64(bit[c] % 64)
    per = np.zeros((claims, words), dtype=np.uint64)
    for w in range(words):
        np.bitwise_or.at(per[:, w], k, ubits[rc, w])
    inv, uniq = pd.factorize(pd.Series([tuple(r) for r in per]) if words > 1 else pd.Series(per[:, 0]))
    text = []
    for u in uniq:  # distinct reason sets
        ws = u if isinstance(u, tuple) else (u,)
        text.append("|".join(c for j, c in enumerate(codes) if int(ws[j // 64]) >> (j % 64) & 1))
    return np.asarray(text, dtype=object)[inv]
