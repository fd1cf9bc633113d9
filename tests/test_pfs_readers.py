"""PFS readers on the real CMS files in the mirror, and on synthetic files in CMS's layouts."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from rvucalc.errors import CMSFileError
from rvucalc.iotools.anes import read_anes
from rvucalc.iotools.gpci import read_gpci
from rvucalc.iotools.locco import read_locco
from rvucalc.iotools.oppscap import read_oppscap
from rvucalc.iotools.pprrvu import FIXED_WIDTH, read_pprrvu
from rvucalc.iotools.zip5 import read_zip5


def _count_data_rows(path, first_cell_len=5):
    """Independent count: rows whose first cell is a 5-character code."""
    with open(path, newline="", encoding="latin-1") as fh:
        return sum(1 for row in csv.reader(fh) if row and len(row[0].strip()) == first_cell_len
                   and row[0].strip().isalnum() and row[0].strip() != "HCPCS")


@pytest.mark.parametrize("rel, cols, cf", [
    ("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv", 32, 33.4009),
    ("pfs/rvu25d/PPRRVU2025_Oct.csv", 31, 32.3465),
])
def test_pprrvu_loads_every_row(mirror, rel, cols, cf):
    path = mirror(rel)
    df = read_pprrvu(path)
    assert len(df) == _count_data_rows(path)
    assert (df["conversion_factor"] == cf).all()
    # totals are the sums of the components (CMS: within a cent)
    assert np.allclose(df.work_rvu + df.pe_nonfacility + df.mp_rvu, df.total_nonfacility, atol=0.011)
    assert np.allclose(df.work_rvu + df.pe_facility + df.mp_rvu, df.total_facility, atol=0.011)
    assert df["pricing_ind"].ne("").any() == (cols == 32)


def test_pprrvu_2026_seed_row(mirror):
    df = read_pprrvu(mirror("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"))
    r = df[(df.hcpcs == "20983") & (df.modifier == "")].iloc[0]
    assert (r.status, r.work_rvu, r.pe_nonfacility, r.pe_facility, r.mp_rvu) == ("A", 6.71, 139.34, 1.52, 0.83)
    assert (r.total_nonfacility, r.total_facility, r.global_days) == (146.88, 9.06, "000")
    assert (r.mult_proc, r.bilat_surg, r.asst_surg, r.co_surg, r.team_surg) == ("2", "1", "1", "0", "0")
    tc = df[(df.hcpcs == "71046") & (df.modifier == "TC")].iloc[0]
    assert (tc.na_facility, tc.imaging_family, tc.opps_pe_facility, tc.opps_mp) == ("NA", "99", 2.62, 0.04)


def _synthetic_pprrvu_csv(rows):
    """A small PPRRVU CSV in CMS's layout (preamble + stacked 5-row header). Not CMS data."""
    pre = [",,Synthetic Relative Value File,", ",,not CMS data", "", ",,RELEASED 01/01/2099"]
    hdr = [
        ",,,,,,,,,,,,,,,,,,,,,,,,,,,,,NON-FACILITY,FACILITY,",
        ",,,,NOT USED,,,,,,,,,,,,,,,,,,,,,,PHYSICIAN,,DIAGNOSTIC,PE USED,PE USED,MP USED",
        ",,,,FOR,,,NON-FAC,,FACILITY,,,,,,,,,,,,,,,,,SUPERVISION OF,,IMAGING,FOR OPPS,FOR OPPS,FOR OPPS",
        ",,,STATUS,MEDICARE,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE,INTRA,POST,MULT,"
        "BILAT,ASST,CO-,TEAM,PRIC,ENDO,CONV,DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,PAYMENT,PAYMENT",
        "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,IND,DAYS,OP,OP,"
        "OP,PROC,SURG,SURG,SURG,SURG,IND,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,AMOUNT,AMOUNT",
    ]
    return ("\r\n".join(pre + hdr + rows) + "\r\n").encode("cp1252")


ROW_A = "AAAA1,,Synthetic code one,A,,1.00,2.00,,0.50,,0.10,3.10,1.60,0,010,0.10,0.80,0.10,2,1,0,0,0,9,,30.0000,09,0,99,0.00,0.00,0.00"
ROW_B = "AAAA2,,Synthetic code two,B,,0.00,0.00,,0.00,,0.00,0.00,0.00,9,XXX,0.00,0.00,0.00,9,9,9,9,9,9,,30.0000,09,0,99,0.00,0.00,0.00"


def test_pprrvu_synthetic_layout_and_fixed_width(tmp_path):
    p = tmp_path / "PPRRVU2099.csv"
    p.write_bytes(_synthetic_pprrvu_csv([ROW_A, ROW_B]))
    df = read_pprrvu(p)
    assert list(df.hcpcs) == ["AAAA1", "AAAA2"] and df.global_days.iloc[0] == "010"
    # the same two rows written in the fixed-width layout of the RVU file documentation
    recs = ["HDR  synthetic header record"]
    for _, r in df.iterrows():
        line = [" "] * 200
        for col, (a, b) in FIXED_WIDTH.items():
            v = r[col]
            txt = f"{v:.2f}" if isinstance(v, float) else str(v)
            if col == "conversion_factor":
                txt = f"{v:.4f}"
            txt = txt.rjust(b - a + 1) if isinstance(v, float) else txt.ljust(b - a + 1)
            line[a - 1:b] = list(txt[: b - a + 1])
        recs.append("".join(line))
    fw = tmp_path / "PPRRVU2099.txt"
    fw.write_text("\r\n".join(recs) + "\r\n", encoding="cp1252")
    df2 = read_pprrvu(fw)
    cols = ["hcpcs", "status", "work_rvu", "pe_nonfacility", "global_days", "conversion_factor", "mult_proc"]
    pd.testing.assert_frame_equal(df2[cols], df[cols], check_dtype=False)


def test_pprrvu_bad_number_names_line_and_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(_synthetic_pprrvu_csv([ROW_A, ROW_B.replace(",0.00,0.00,,0.00,,", ",abc,0.00,,0.00,,", 1)]))
    with pytest.raises(CMSFileError) as e:
        read_pprrvu(p)
    assert e.value.line == 11 and e.value.column == "work_rvu" and "bad.csv" in str(e.value)


def test_pprrvu_conflicting_duplicate_and_missing_column(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_bytes(_synthetic_pprrvu_csv([ROW_A, ROW_A.replace("1.00,2.00", "1.50,2.00")]))
    with pytest.raises(CMSFileError, match="one row per HCPCS"):
        read_pprrvu(p)
    p.write_bytes(_synthetic_pprrvu_csv([ROW_A, ROW_A]))  # exact duplicate: kept once
    assert len(read_pprrvu(p)) == 1
    p.write_bytes(_synthetic_pprrvu_csv([ROW_A]).replace(b"WORK,", b"WURK,"))
    with pytest.raises(CMSFileError, match="work_rvu"):
        read_pprrvu(p)


@pytest.mark.parametrize("rel, floor_variants", [
    ("pfs/rvu26a/GPCI2026.csv", True), ("pfs/rvu26c/GPCI2026.csv", False), ("pfs/rvu25d/GPCI2025.csv", False)])
def test_gpci_variants(mirror, rel, floor_variants):
    g = read_gpci(mirror(rel))
    assert len(g) == 109 and g.locality_id.is_unique
    assert bool(g.has_floor_variants.iloc[0]) is floor_variants
    ak = g.set_index("locality_id").loc["02102-01"]
    assert ak.work_gpci == 1.5 and ak.locality_name == "ALASKA"
    if floor_variants:
        al = g.set_index("locality_id").loc["10112-00"]
        assert (al.work_gpci_no_floor, al.work_gpci) == (0.988, 1.0)


def test_locco_fills_state_and_pads_ids(mirror):
    lc = read_locco(mirror("pfs/rvu25d/25LOCCO.csv"))
    assert lc.locality_id.iloc[1] == "02102-01"  # '2102,1' in the file
    la = lc[lc.locality_id == "01182-18"].iloc[0]
    assert la.state == "CALIFORNIA"
    marin = lc[lc.locality_id == "01112-52"].iloc[0]
    assert marin.state == "CALIFORNIA" and marin.counties == "MARIN"  # state filled down


def test_anes_two_cf_columns(mirror):
    a = read_anes(mirror("pfs/rvu26a/ANES2026.csv"))
    assert len(a) == 109 and a.attrs["national_cf"] == 20.49754 and a.attrs["national_cf_qp"] == 20.599835
    al = a.set_index("locality_id").loc["10112-00"]
    assert (al.anes_cf, al.anes_cf_qp) == (19.53, 19.63)


def test_zip5_fixed_width_and_xlsx_agree(mirror):
    t = read_zip5(mirror("pfs/zip5_oct2025/ZIP5_OCT2025.txt"))
    x = read_zip5(mirror("pfs/zip5_jan2026/ZIP5_JAN2026.xlsx"))
    assert len(t) == len(x) == 42956
    for z, lid in [("90210", "01182-18"), ("10001", "13202-01"), ("60611", "06102-16"),
                   ("99501", "02102-01"), ("77030", "04412-18"), ("90012", "01182-18")]:
        assert t.set_index("zip").loc[z, "locality_id"] == lid
    assert set(t.year_qtr) == {"20254"} and set(x.year_qtr) == {"20261"}


def test_zip5_bad_record(tmp_path):
    p = tmp_path / "ZIP5_BAD.txt"
    p.write_text("CA900120118218 Z9   0 A" + " " * 52 + "20254\r\nCA9001X0118218\r\n")
    with pytest.raises(CMSFileError) as e:
        read_zip5(p)
    assert e.value.line == 2


def test_oppscap_reads(mirror):
    c = read_oppscap(mirror("pfs/rvu25d/OPPSCAP_Oct.csv"))
    assert len(c) == 16100 and set(c.status) == {"A", "C"}


def test_reader_errors_are_cmsfileerrors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    for f in (empty, binary, tmp_path / "missing.csv"):
        with pytest.raises(CMSFileError):
            read_gpci(f)


def test_pprrvu_xlsx_same_as_csv(tmp_path):
    """CMS also ships the PPRRVU rows as a workbook; the same synthetic rows read the same."""
    import openpyxl

    p = tmp_path / "PPRRVU2099.csv"
    p.write_bytes(_synthetic_pprrvu_csv([ROW_A, ROW_B]))
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in csv.reader(p.read_text(encoding="cp1252").splitlines()):
        ws.append([float(c) if c.replace(".", "", 1).isdigit() and "." in c else c for c in row])
    x = tmp_path / "PPRRVU2099.xlsx"
    wb.save(x)
    a, b = read_pprrvu(p), read_pprrvu(x)
    cols = ["hcpcs", "status", "work_rvu", "pe_nonfacility", "mp_rvu", "global_days", "conversion_factor"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_dtype=False)
