"""Anesthesia pricing: (base units + time units) x the locality's anesthesia CF, by hand from ANES2026."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

import rvucalc
from rvucalc.calc.anesthesia import anesthesia_amount, time_units
from rvucalc.iotools.anes_base import read_anes_base


def _anes_row(mirror, mac: str, loc: str) -> list[str]:
    with mirror("pfs/rvu26a/ANES2026.csv").open(newline="") as fh:
        for row in csv.reader(fh):
            if row and row[0].strip() == mac and row[1].strip() == loc:
                return [c.strip() for c in row]
    raise AssertionError(f"{mac}-{loc} not in ANES2026.csv")


def test_los_angeles_by_hand_from_anes2026(fs26, mirror):
    row = _anes_row(mirror, "01182", "18")
    qp_cf, cf = float(row[3]), float(row[4])  # columns: QP CF, non-QP CF
    assert (qp_cf, cf) == (21.36, 21.26)
    # 7 base units + 90 min / 15 = 6.0 time units = 13 units; 13 x 21.26 = 276.38
    q = fs26.anesthesia("00400", minutes=90, base_units=7, zip="90012")
    assert q.locality.locality_id == "01182-18" and q.time_units == 6.0 and q.total_units == 13.0
    assert q.conversion_factor == cf and q.amount == 276.38 == round(13 * 21.26, 2)
    assert q.base_units_from == "user" and any(s.file == "ANES2026.csv" for s in q.sources)
    # QP: 13 x 21.36 = 277.68
    assert fs26.anesthesia("00400", 90, base_units=7, locality="01182-18", qp=True).amount == 277.68


@pytest.mark.parametrize("modifier, expected", [
    ("AA", 276.38),   # personally performed: 100%
    ("QZ", 276.38),   # CRNA without medical direction: 100%
    ("QK", 138.19),   # medical direction of 2-4 procedures: 50% of 276.38
    ("QY", 138.19),   # medical direction of one CRNA: 50%
    ("QX", 138.19),   # CRNA with medical direction: 50%
    ("AD", 63.78),    # medical supervision: 3 base units x 21.26, no time units
])
def test_modifiers(fs26, modifier, expected):
    q = fs26.anesthesia(f"00400-{modifier}", minutes=90, base_units=7, locality="01182-18")
    assert q.amount == expected


def test_ad_present_at_induction_and_no_time_codes(fs26):
    # AD + induction: (3 + 1) x 21.26 = 85.04
    assert fs26.anesthesia("00400", 90, base_units=7, modifier="AD", locality="01182-18",
                           present_at_induction=True).amount == 85.04
    # 01996: no time units recognised (ch.12 s.50): 3 x 21.26 = 63.78
    q = fs26.anesthesia("01996", 300, base_units=3, locality="01182-18")
    assert q.time_units == 0 and q.amount == 63.78
    assert q.reasons[0].code == "ANES_NO_TIME_UNITS"


def test_fractional_time_units_one_decimal_half_up():
    # ch.12 s.50: divide minutes by 15, round to one decimal place
    assert list(time_units([90, 37, 8, 0, 61, 52.5])) == [6.0, 2.5, 0.5, 0.0, 4.1, 3.5]
    # 37 min: (7 + 2.5) x 21.26 = 201.97
    out = anesthesia_amount(["00400"], [7], [37], [21.26])
    assert out["amount"].iloc[0] == 201.97


def test_national_cf_from_the_catalogue(fs26):
    # RVU26 national non-QP anesthesia CF 20.49754 (ANES2026 header): 13 x 20.49754 = 266.468 -> 266.47
    q = fs26.anesthesia("00400", 90, base_units=7)
    assert q.locality is None and q.amount == 266.47


def test_vectorised_reasons():
    out = anesthesia_amount(["00400", "00400", "00400"], [7, np.nan, 7], [90, 90, 90], [21.26, 21.26, np.nan],
                            ["ZZ", "", ""])
    assert list(out["reason"]) == ["ANES_MODIFIER_UNKNOWN", "ANES_NO_BASE_UNITS", "ANES_NO_CF"]
    assert out["amount"].isna().all()


def test_base_units_missing_says_how_to_give_them(fs26):
    with pytest.raises(rvucalc.MissingFileError, match="give base units"):
        fs26.anesthesia("00400", 90, locality="01182-18")


def test_base_units_from_cms_file_layout(fs26, tmp_path, monkeypatch):
    # a small file written by us in the layout of CMS's "Anesthesia Base Units by CPT Code" workbook
    p = tmp_path / "base.xlsx"
    rows = [["CY 2026 ANESTHESIA BASE UNITS BY CPT CODE", None], [None, None],
            ["CPT codes and descriptions only are copyright AMA", None],
            ["CPT Code", "Base Unit"], ["00100", 5], [100 + 2, 6], ["00400", 3], ["01996", 3]]
    pd.DataFrame(rows).to_excel(p, header=False, index=False)
    t = read_anes_base(p)
    assert t.to_dict("list") == {"hcpcs": ["00100", "00102", "00400", "01996"], "base_units": [5.0, 6.0, 3.0, 3.0]}
    import rvucalc.anesthesia as an
    from rvucalc.models import Source

    src = Source(release="test", release_label="test", table="anes_base", file="base.xlsx", sha256="0",
                 origin="user", verified=False)
    monkeypatch.setattr(an, "base_units_table", lambda year, **where: (t, src))
    q = fs26.anesthesia("00400", 90, locality="01182-18")  # (3 + 6) x 21.26 = 191.34
    assert q.base_units == 3 and q.amount == 191.34 and q.base_units_from == "base.xlsx"


def test_base_unit_file_errors_name_the_line(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("Anesthesia base units\n\nCPT Code,Base Unit\n00100,5\n00102,x\n")
    with pytest.raises(rvucalc.CMSFileError, match=r"b\.csv, line 5, column 'base_units'"):
        read_anes_base(p)


def test_non_anesthesia_codes_are_refused(fs26):
    with pytest.raises(rvucalc.UnsupportedModifierError, match="not an anesthesia code"):
        fs26.anesthesia("99213", 30, base_units=1)
    with pytest.raises(rvucalc.UnsupportedModifierError, match="AA, QZ, QK, QY, QX or AD"):
        fs26.anesthesia("00400-26", 30, base_units=1)


def test_quote_of_an_anesthesia_code_points_to_anesthesia(fs26):
    q = fs26.quote("00400")
    assert q.nonfacility.amount is None and q.notes[0].code == "ANES_PRICED_BY_UNITS"
