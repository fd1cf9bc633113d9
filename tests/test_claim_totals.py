"""Issue 20: ``claim_total`` was 0.00 for facility claims never priced (every 2026 HOPD claim, no
2026 Addendum B being at hand; an unknown CBSA), and the partial sum of the others when one line
was unpriced for missing data, while ``--claims-out`` gave the same claims no amount.

Now a claim total exists only when every line has an amount or a stated zero (packaged; not paid
by a payment rule: its status or payment indicator, a code not on the addendum, an ancillary
without a procedure); a line whose amount is unknown for want of data (no addendum for the
date, a line that cannot be read, no wage index, no device portion) leaves the claim with no
total (NaN), and the per-claim totals say the same.

CMS figures (national, wage index 1.0): CY2025 Addendum B 11042 T $399.53, 11043 T $612.13,
20983 J1 $7,143.73 with 77013 N (packaged), 99213 B (not paid under OPPS); CY2025 ASC AA
(2025-01) 29881 A2 $1,579.16, 20983 J8 $4,911.21; 99213 is not on the ASC lists.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

import rvucalc
from rvucalc.cli import main


def _lines(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["claim_id", "hcpcs", "units", "date_of_service", "cbsa",
                                       "wage_index"])


HOPD = [
    ("priced", "11042", "1", "2025-03-10", "", ""),
    ("priced", "11043", "1", "2025-03-10", "", ""),
    ("zero by rule", "11042", "1", "2025-03-10", "", ""),
    ("zero by rule", "99213", "1", "2025-03-10", "", ""),  # SI B: not paid under OPPS, a rule
    ("zero by rule", "ZZZZ9", "1", "2025-03-10", "", ""),  # not in Addendum B
    ("packaged", "20983", "1", "2025-03-10", "", ""),
    ("packaged", "77013", "1", "2025-03-10", "", ""),
    ("never priced 2026", "20983", "1", "2026-03-10", "", ""),  # no 2026 Addendum B at hand
    ("unknown cbsa", "11042", "1", "2025-03-10", "99999", ""),
    ("partial", "11042", "1", "2025-03-10", "", "1.0"),
    ("partial", "11043", "1", "2025-03-10", "99999", ""),  # no wage index for this line
    ("bad line", "11042", "1", "2025-03-10", "", ""),
    ("bad line", "11043", "0.5", "2025-03-10", "", ""),  # units refused: the line cannot be read
]


def test_hopd_claim_totals() -> None:
    out = rvucalc.reprice_opps(_lines(HOPD))
    tot = out.groupby("claim_id", sort=False)["claim_total"].agg(["first", "nunique"])
    assert (tot["nunique"] <= 1).all()  # one total per claim (NaN counts as none)
    t = tot["first"]
    assert t["priced"] == round(612.13 + 399.53 * 0.5 + 1e-9, 2) == 811.90  # T discount on 11042
    assert t["zero by rule"] == 399.53
    assert t["packaged"] == 7143.73
    for claim in ("never priced 2026", "unknown cbsa", "partial", "bad line"):
        assert math.isnan(t[claim]), (claim, t[claim])
    # the lines that have an amount keep it: only the total is withheld
    partial = out[out["claim_id"] == "partial"]
    assert partial["facility_payment"].iloc[0] == 399.53 and np.isnan(partial["facility_payment"].iloc[1])


def test_asc_claim_totals() -> None:
    rows = [("priced", "29881", "1", "2025-03-10", "", ""),
            ("zero by rule", "29881", "1", "2025-03-10", "", ""),
            ("zero by rule", "99213", "1", "2025-03-10", "", ""),  # not covered in an ASC
            ("no device portion", "29881", "1", "2025-03-10", "", ""),
            ("no device portion", "20983-FB", "1", "2025-03-10", "", ""),  # no CY2025 FF at hand
            ("never priced 2023", "29881", "1", "2023-03-10", "", "")]
    out = rvucalc.reprice_asc(_lines(rows))
    t = out.groupby("claim_id", sort=False)["claim_total"].first()
    assert t["priced"] == 1579.16 and t["zero by rule"] == 1579.16
    assert math.isnan(t["no device portion"]) and math.isnan(t["never priced 2023"])


def test_claims_out_agrees_with_claim_total(tmp_path: Path, capsys) -> None:
    src = tmp_path / "claims.csv"
    _lines(HOPD).to_csv(src, index=False)
    out, tot = tmp_path / "lines.csv", tmp_path / "totals.csv"
    assert main(["reprice", str(src), "--setting", "hopd", "-o", str(out), "--claims-out", str(tot)]) == 0
    capsys.readouterr()
    lines = pd.read_csv(out, dtype={"claim_id": str})
    totals = pd.read_csv(tot, dtype={"claim_id": str}).set_index("claim_id")
    per = lines.groupby("claim_id", sort=False)["claim_total"].first()
    assert list(totals.index) == list(per.index)
    for claim, total in per.items():
        got = totals.loc[claim, "facility_payment"]
        assert (math.isnan(total) and math.isnan(got)) or got == total, (claim, got, total)
        # the patient's and Medicare's shares exist exactly when the total does
        assert math.isnan(totals.loc[claim, "beneficiary_copay"]) == math.isnan(total)
        assert math.isnan(totals.loc[claim, "medicare_payment"]) == math.isnan(total)
    assert totals.loc["zero by rule", "facility_payment"] == 399.53
    assert math.isnan(totals.loc["never priced 2026", "facility_payment"])


def test_summarise_claims_agrees_in_memory() -> None:
    out = rvucalc.reprice_opps(_lines(HOPD))
    s = rvucalc.summarise_claims(out).set_index("claim_id")
    per = out.groupby("claim_id", sort=False)["claim_total"].first()
    np.testing.assert_array_equal(s.loc[per.index, "facility_payment"].to_numpy(), per.to_numpy())


def test_a_line_an_edit_denied_is_a_stated_zero() -> None:
    """A duplicate line denied by the claim edits (issue 22) has no amount and its own reason; it is
    a stated outcome, so the claim keeps its total (CY2025 national: 11042 T $399.53, one line paid;
    ASC 29881 A2 $1,579.16), never ``FACILITY_LINE_NOT_PRICED`` or a withheld total."""
    rows = [("dup", "11042", "1", "2025-03-10", "", ""), ("dup", "11042", "1", "2025-03-10", "", "")]
    out = rvucalc.reprice_opps(_lines(rows))
    assert list(out["claim_total"]) == [399.53, 399.53]
    assert math.isnan(out["facility_payment"].iloc[1])
    assert "EDIT_DUPLICATE" in out["reason"].iloc[1]
    assert "FACILITY_LINE_NOT_PRICED" not in "|".join(out["reason"].astype(str))
    rows = [("dup", "29881", "1", "2025-03-10", "", ""), ("dup", "29881", "1", "2025-03-10", "", "")]
    out = rvucalc.reprice_asc(_lines(rows))
    assert list(out["claim_total"]) == [1579.16, 1579.16]
    assert "FACILITY_LINE_NOT_PRICED" not in "|".join(out["reason"].astype(str))
