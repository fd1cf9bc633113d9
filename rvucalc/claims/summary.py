"""Per-claim totals of priced claim lines: :func:`summarise_claims`.

Where the rounding happens: every line amount is rounded to cents once, by the pricing stage
(CMS pays and reports each line in cents). A claim's total is the **sum of its lines' rounded
amounts**, added in whole cents (integers), so the lines always add up exactly to the claim
total, and nothing is rounded twice. (Rounding an unrounded claim total instead would let the
lines and the total disagree by a cent, e.g. three lines of $10.005.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import arguments
from .contract import LINE, claim_keys

#: Money columns summed per claim, when the priced frame has them.
MONEY = ("allowed", "medicare_payment", "beneficiary_share", "sequestration", "charge_amount",
         "facility_payment", "beneficiary_copay")


#: What :func:`summarise_claims`' numeric columns hold (workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`).
KINDS = {"lines": "count", "lines_paid": "count", "lines_unpaid": "count",
         **dict.fromkeys(MONEY, "money")}


def _cents(s: pd.Series) -> np.ndarray:
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(x), 0, np.rint(x * 100)).astype(np.int64)


def summarise_claims(priced: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: lines, lines paid and unpaid, allowed, Medicare payment, beneficiary share
    and the distinct reasons of its lines.

    Claims are formed as the repricer forms them (:mod:`rvucalc.claims.contract`): lines without
    a claim id are claims of their own (``claim_id`` shown as given, e.g. empty). The beneficiary
    share is allowed minus Medicare's payment per line (coinsurance, and sequestration is
    Medicare's). Rows follow the first appearance of each claim. For facility (OPPS, ASC) lines,
    a claim's ``facility_payment``, ``beneficiary_copay`` and ``medicare_payment`` exist exactly
    when its lines' ``claim_total`` does, and ``facility_payment`` equals it.
    """
    arguments.frame(priced, "priced", what="priced claim lines (the result of rvucalc.reprice)")
    n = len(priced)
    line = priced[LINE].to_numpy(dtype=np.int64) if LINE in priced.columns else np.arange(n, dtype=np.int64)
    key, _ = claim_keys(priced["claim_id"].to_numpy(dtype=object), line)
    k, first = pd.factorize(key)
    paid = priced["payable"].to_numpy(dtype=bool) if "payable" in priced.columns else np.ones(n, dtype=bool)
    cols: dict[str, object] = {}
    order = pd.Series(np.arange(n)).groupby(k).min().to_numpy()
    cols["claim_id"] = priced["claim_id"].to_numpy(dtype=object)[order]
    cols["lines"] = np.bincount(k, minlength=len(first))
    cols["lines_paid"] = np.bincount(k, weights=paid, minlength=len(first)).astype(np.int64)
    cols["lines_unpaid"] = cols["lines"] - cols["lines_paid"]  # type: ignore[operator]
    sums: dict[str, np.ndarray] = {}
    for c in ("allowed", "medicare_payment", "sequestration", "facility_payment", "beneficiary_copay"):
        if c in priced.columns:
            sums[c] = np.bincount(k, weights=_cents(priced[c]), minlength=len(first)).astype(np.int64)
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
    return out


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
