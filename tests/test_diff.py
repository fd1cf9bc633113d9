"""Release diffs: RVU25D (October 2025) vs RVU26C (July 2026), and a synthetic edit.

Expected values are hand arithmetic from the CMS rows quoted in comments
(PPRRVU2025_Oct.csv, PPRRVU2026_Jul_nonQPP.csv, GPCI2025.csv, GPCI2026.csv).
"""

from __future__ import annotations

import copy
import math
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from rvucalc.diff import diff, pct_change, summarize
from rvucalc.export import to_excel


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-6) / 100


# 20983 RVU25D: work 6.88, PE nf 137.69, PE f 2.51, MP 0.80, totals 145.37 / 10.19, CF 32.3465
# 20983 RVU26C: work 6.71, PE nf 139.34, PE f 1.52, MP 0.83, totals 146.88 / 9.06,  CF 33.4009
OLD_NF = half_up(145.37 * 32.3465)
NEW_NF = half_up(146.88 * 33.4009)
OLD_F = half_up(10.19 * 32.3465)
NEW_F = half_up(9.06 * 33.4009)


@pytest.fixture(scope="module")
def d(fs25, fs26):
    return diff(fs25, fs26)


def test_seed_20983(d):
    assert (OLD_NF, NEW_NF) == (4702.21, 4905.92)
    r = d[(d.hcpcs == "20983") & (d.modifier == "")]
    assert len(r) == 1
    r = r.iloc[0]
    assert r["locality_id"] == "national"
    assert r["change"] == "changed"
    assert r["nonfacility_old"] == OLD_NF and r["nonfacility_new"] == NEW_NF
    assert r["nonfacility_diff"] == half_up(NEW_NF - OLD_NF) == 203.71
    assert r["nonfacility_pct"] == round((NEW_NF - OLD_NF) / OLD_NF * 100, 2) == 4.33
    assert r["facility_old"] == OLD_F and r["facility_new"] == NEW_F
    assert r["facility_diff"] == -round(OLD_F - NEW_F, 2)
    assert (r["work_rvu_old"], r["work_rvu_new"]) == (6.88, 6.71)
    assert r["work_rvu_pct"] == round((6.71 - 6.88) / 6.88 * 100, 2)
    fields = r["changed_fields"].split(", ")
    for f in ("work_rvu", "pe_nonfacility", "pe_facility", "mp_rvu", "nonfacility", "facility"):
        assert f in fields
    assert "status" not in fields and "global_days" not in fields
    # RVU25D's file has no pricing-indicator column: not compared, and said so
    assert "pricing_ind" not in fields
    assert d.attrs["rvucalc.skipped_fields"] == ["pricing_ind"]


def test_added_deleted_unchanged(d, mirror):
    old_text = mirror("pfs/rvu25d/PPRRVU2025_Oct.csv").read_text(encoding="latin-1")
    new_text = mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv").read_text(encoding="latin-1")
    # 0988T is only in the 2026 file, 0042T only in the 2025 file
    assert "\n0988T," not in old_text and "\n0988T," in new_text
    assert "\n0042T," in old_text and "\n0042T," not in new_text
    row = d.set_index(["hcpcs", "modifier"])
    assert row.loc[("0988T", ""), "change"] == "added"
    assert math.isnan(row.loc[("0988T", ""), "nonfacility_old"])
    assert row.loc[("0042T", ""), "change"] == "deleted"
    # 0001F: status I with all-zero RVUs in both files, same indicators -> unchanged
    assert row.loc[("0001F", ""), "change"] == "unchanged"
    assert row.loc[("0001F", ""), "nonfacility_reason_new"] == "PFS_STATUS_I"
    counts = summarize(d).set_index("locality_id").loc["national"]
    code_line = re.compile(r"^(?!HCPCS,)[A-Z0-9]{5},")  # data rows, not the header line
    n_old = sum(1 for ln in old_text.splitlines() if code_line.match(ln))
    n_new = sum(1 for ln in new_text.splitlines() if code_line.match(ln))
    assert counts["deleted"] + counts["changed"] + counts["unchanged"] == n_old
    assert counts["added"] + counts["changed"] + counts["unchanged"] == n_new
    assert set(d["change"]) == {"added", "deleted", "changed", "unchanged"}


def test_localities(fs25, fs26):
    d = diff(fs25, fs26, localities=["01182-18"], codes=["20983"])
    assert list(d["locality_id"]) == ["national", "01182-18"]
    la = d.iloc[1]
    # GPCI2025 LA 01182-18: 1.042 / 1.194 / 0.690; GPCI2026: 1.041 / 1.183 / 0.664
    old = half_up((6.88 * 1.042 + 137.69 * 1.194 + 0.80 * 0.690) * 32.3465)
    new = half_up((6.71 * 1.041 + 139.34 * 1.183 + 0.83 * 0.664) * 33.4009)
    assert (la["nonfacility_old"], la["nonfacility_new"]) == (old, new)
    assert la["nonfacility_pct"] == round((new - old) / old * 100, 2)
    assert la["change"] == "changed"


def test_synthetic_edit(fs26):
    """A copy of RVU26C with one work RVU raised, one row removed and one added."""
    new = copy.copy(fs26)
    rv = fs26.rvus.copy()
    i = rv.index[(rv.hcpcs == "20983") & (rv.modifier == "")][0]
    rv.loc[i, "work_rvu"] += 1.0
    rv.loc[i, "total_nonfacility"] += 1.0
    added = rv.loc[[i]].assign(hcpcs="ZZ999")
    rv = pd.concat([rv[rv.hcpcs != "20982"], added], ignore_index=True)
    new.rvus = rv
    d = diff(fs26, new, changed_only=True)
    got = d.set_index(["hcpcs", "modifier"])
    r = got.loc[("20983", "")]
    assert r["changed_fields"] == "work_rvu, total_nonfacility, nonfacility, facility"
    # (6.71 + 1 + 139.34 + 0.83) x 33.4009 = 4939.325... -> 4939.33
    assert r["nonfacility_new"] == half_up(147.88 * 33.4009) == 4939.33
    assert got.loc[("ZZ999", ""), "change"] == "added"
    assert got.loc[("20982", ""), "change"] == "deleted"
    assert set(got["change"]) == {"changed", "added", "deleted"}
    assert len(d) == 3


def test_pct_change():
    assert list(pct_change([100.0, 0.0, float("nan")], [104.333, 5.0, 1.0])[:1]) == [4.33]
    assert all(math.isnan(x) for x in pct_change([0.0, float("nan")], [5.0, 1.0]))


def test_diff_to_excel(fs25, fs26, tmp_path):
    d = diff(fs25, fs26, codes=["20983", "20982", "0988T"])
    wb = load_workbook(to_excel(d, tmp_path / "diff.xlsx"))
    s = wb["Summary"]
    assert [c.value for c in s[3]] == ["change", "national (count)"]  # each figure says what it is
    counts = {s.cell(r, 1).value: s.cell(r, 2).value for r in range(4, s.max_row + 1)}
    assert counts == {"changed": 2, "added": 1}
    det = wb["Detail"]
    hdr = [c.value for c in det[1]]
    j = hdr.index("nonfacility_pct") + 1
    rows = {det.cell(r, 1).value: r for r in range(2, det.max_row + 1)}
    assert list(rows) == ["0988T", "20982", "20983"]  # sorted by code
    # a percentage is stored as a fraction under a percent format: (4905.92 - 4702.21) / 4702.21 = 4.33%
    assert det.cell(rows["20983"], j).value == 0.0433
    assert det.cell(rows["20983"], j).number_format == "0.00%"
    files = [c.value for c in wb["Provenance"]["D"]]
    assert "PPRRVU2025_Oct.csv" in files and "PPRRVU2026_Jul_nonQPP.csv" in files
