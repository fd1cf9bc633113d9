"""rvucalc.schedules: the quarter's CLFS / ASP / DMEPOS tables chosen by date of service, loaded through
the catalogue (fetch.locate, checksums) and read_cached; another quarter of the same year with a
note, never another year; a file that is not CMS's refused; the rural ZIP file used when at hand.

Downloads are off in tests (conftest sets RVUCALC_OFFLINE), so only the mirror and temporary
folders written by the tests are searched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rvucalc import catalogue
from rvucalc.errors import ChecksumError, MissingFileError
from rvucalc.schedules import _load, asp, clfs, dmepos

MIRROR = Path(os.environ.get("RVUCALC_MIRROR", ""))
ASP_JAN26 = "section 508 version of January 2026 Medicare Part B Payment Limit File 121725.csv"
ASP_JAN25 = "section 508 version of Jan 2025 ASP Pricing File 121924.csv"


@pytest.fixture(autouse=True)
def _fresh():
    _load.clear_cache()
    yield
    _load.clear_cache()


def test_catalogue_entries() -> None:
    assert [r.id for r in catalogue.releases("asp")] == [
        "asp-2024-01", "asp-2024-04", "asp-2024-07", "asp-2024-10", "asp-2025-01", "asp-2025-04",
        "asp-2025-07", "asp-2025-10", "asp-2026-01"]
    for r in (*catalogue.releases("asp"), *catalogue.releases("clfs"), *catalogue.releases("dmepos")):
        assert r.url and r.url.startswith("https://www.cms.gov/files/zip/") and r.page and r.effective
    c = catalogue.get("clfs-2026-01").file("clfs")
    assert c.sha256 is None and c.mirror_sha256  # re-saved copy: used, reported unverified
    assert "RE-SAVED" in catalogue.get("clfs-2026-01").extra["note"]
    d = catalogue.get("dmepos-2026-01")
    assert set(d.files) == {"dmepos", "pen", "rural_zip"} and d.file("rural_zip").sha256 is None


def test_clfs_for_date_and_source(mirror) -> None:
    mirror("clfs/2026-01/CLFS_2026_Q1V1.xlsx")
    rates = clfs.for_date("2026-03-10")
    assert rates.release.id == "clfs-2026-01" and rates.note == ""
    src = rates.sources[0]
    assert src.verified is False and src.file == "CLFS_2026_Q1V1.xlsx"
    out = rates.price(["80053", "36415"])
    assert out["allowed"].tolist() == [10.56, 9.34] and (out["release"] == "clfs-2026-01").all()
    assert clfs.load(2026, 1) is rates  # loaded once per process


def test_asp_each_quarter_by_date(mirror) -> None:
    mirror(f"asp/2026-01/{ASP_JAN26}")
    # J9271 limits per quarter from asp/SOURCES.md; the date picks its own quarter's file
    dates = ["2024-02-15", "2024-05-01", "2024-08-31", "2024-12-31", "2025-01-01", "2025-06-30",
             "2025-07-04", "2025-11-11", "2026-03-10"]
    out = asp.price_lines(dates, ["J9271"] * 9, units=1)
    assert out["payment_limit"].tolist() == [55.730, 57.307, 56.658, 58.216, 57.603, 59.349, 58.562, 60.291,
                                             59.726]
    assert out["release"].tolist() == [f"asp-{y}" for y in ("2024-01", "2024-04", "2024-07", "2024-10",
                                                             "2025-01", "2025-04", "2025-07", "2025-10",
                                                             "2026-01")]
    assert (out["release_note"] == "").all() and (out["reason"] == "").all()


def test_another_quarter_of_the_same_year_with_a_note_never_another_year(mirror) -> None:
    mirror(f"asp/2026-01/{ASP_JAN26}")
    out = asp.price_lines(["2026-05-01", "2023-06-01", None, "2026-01-02"], ["J9271"] * 4, units=[200, 1, 1, 200])
    # April 2026 is not catalogued: January 2026's file is used, and the line says so
    assert out["release"].iloc[0] == "asp-2026-01" and out["allowed"].iloc[0] == 11945.20
    assert "April 2026 (Q2) is not at hand" in out["release_note"].iloc[0]
    assert "asp-2026-01" in out["release_note"].iloc[0] and "same year" in out["release_note"].iloc[0]
    # 2023: no release of that year; another year's limits are never used
    assert out["reason"].iloc[1] == "ASP_RELEASE_MISSING" and np.isnan(out["allowed"].iloc[1])
    assert "another year's is never used" in out["reason_text"].iloc[1]
    assert out["reason"].iloc[2] == "FEE_BAD_DATE" and out["fee_schedule"].iloc[2] == "asp"
    assert out["release_note"].iloc[3] == ""
    with pytest.raises(MissingFileError, match="2023"):
        asp.load(2023, 2)
    assert not asp.rates_or_unavailable(2023, 2)


def test_quarter_not_at_hand_falls_back_within_the_year(tmp_path) -> None:
    # a mirror with only January 2025: an April 2025 date is priced on January with a note saying why
    (tmp_path / "asp").mkdir()
    shutil.copy(MIRROR / "asp" / "2025-01" / ASP_JAN25, tmp_path / "asp" / ASP_JAN25)
    rates = asp.for_date("2025-05-20", mirror=tmp_path)
    assert rates.release.id == "asp-2025-01"
    assert "April 2025 (Q2) is not at hand (its file could not be had)" in rates.note
    with pytest.raises(MissingFileError) as exc:
        asp.load(2024, 4, mirror=tmp_path)
    msg = str(exc.value)
    assert "October 2024 (Q4) is not at hand" in msg and "downloads are off" in msg
    assert "https://www.cms.gov/files/zip/october-2024-asp-pricing-file.zip" in msg and "rvucalc fetch asp-2024-10" in msg


def test_file_that_is_not_cms_is_refused_not_replaced(tmp_path) -> None:
    bad = tmp_path / "asp-2026-01"
    bad.mkdir()
    data = (MIRROR / "asp" / "2026-01" / ASP_JAN26).read_bytes().replace(b"59.726", b"69.726")
    (bad / ASP_JAN26).write_bytes(data)
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        asp.load(2026, 1, mirror=tmp_path)
    u = asp.rates_or_unavailable(2026, 1, mirror=tmp_path)
    assert not u and "checksum mismatch" in u.reason.message
    out = u.price(["J9271"], units=[200])
    assert out["reason"].tolist() == ["ASP_RELEASE_MISSING"] and np.isnan(out["allowed"].iloc[0])


def test_dmepos_without_rural_zip_file(mirror) -> None:
    mirror("dmepos/2026-01/DMEPOS26_JAN.xlsx")
    rates = dmepos.for_date("2026-03-10")
    assert rates.rural_zip is None and "rural_zip" in rates.missing
    assert "rural_zip" in rates.note and rates.limit_violations.empty
    assert set(rates.table["schedule"]) == {"dmepos", "pen"}
    out = rates.price(["E0601", "E0601", "E0601"], ["RR"] * 3, state="CA", rural=["N", None, None],
                      zip=[None, "90012", None])
    # rural N given: $50.44; ZIP given but no rural ZIP file: unknown, never assumed non-rural
    assert out["allowed"].iloc[0] == 50.44
    assert out["reason"].tolist()[1:] == ["DMEPOS_RURAL_UNKNOWN"] * 2
    assert "DME Rural ZIP Code Quarter 1 2026.csv" in out["reason_text"].iloc[1]
    assert "rural value (Y or N)" in out["reason_text"].iloc[1]


def test_dmepos_with_a_rural_zip_file(tmp_path) -> None:
    # CMS's documented layout (STATE, DMEPOS RURAL ZIP CODE, YEAR/QTR), written here; the fee files
    # come from the project's mirror (two folders, searched in order)
    (tmp_path / "DME Rural ZIP Code Quarter 1 2026.csv").write_bytes(
        b"STATE,DMEPOS RURAL ZIP CODE,YEAR/QTR\r\nCA,93514,20261\r\nTX,79848,20261\r\n")
    both = os.pathsep.join([str(tmp_path), str(MIRROR)])
    rates = dmepos.load(2026, 1, mirror=both)
    assert rates.rural_zip is not None and "rural_zip" not in rates.missing
    src = {s.table: s for s in rates.sources}
    assert src["rural_zip"].verified is False and src["dmepos"].verified is True
    out = rates.price(["E0601"] * 5, "RR", state=["CA", "CA", "TX", "TX", "CA"],
                      zip=["93514", "90012", "79848-0001", "75201", "9001x"], rural=[None, None, None, None, None])
    # E0601 RR (row 756): CA (NR) 50.44, CA (R) 93.04; TX (NR) 50.91, TX (R) 91.52
    assert out["allowed"].tolist()[:4] == [93.04, 50.44, 91.52, 50.91]
    assert out["area"].tolist()[:4] == ["rural", "non-rural", "rural", "non-rural"]
    assert out["reason"].iloc[4] == "DMEPOS_RURAL_UNKNOWN"  # a malformed ZIP is not "non-rural"
    # a rural value on the line wins over the ZIP
    assert rates.price(["E0601"], "RR", state="CA", zip=["93514"], rural=["N"])["allowed"].iloc[0] == 50.44


def test_price_lines_dmepos_mixed_years(mirror) -> None:
    mirror("dmepos/2026-01/DMEPOS26_JAN.xlsx")
    out = dmepos.price_lines(["2026-02-01", "2025-02-01"], ["E0601", "E0601"], "RR", state="TX", rural="N")
    assert out["allowed"].iloc[0] == 50.91 and out["release"].iloc[0] == "dmepos-2026-01"
    assert out["reason"].iloc[1] == "DMEPOS_RELEASE_MISSING"
    assert "no DMEPOS fee schedule release of 2025 is in rvucalc's catalogue" in out["reason_text"].iloc[1]


def test_quarter_of() -> None:
    assert _load.quarter_of("2026-03-31") == (2026, 1) and _load.quarter_of("2026-04-01") == (2026, 2)
    with pytest.raises(ValueError):
        _load.quarter_of("")
    with pytest.raises(ValueError, match="quarter must be 1 to 4"):
        asp.load(2026, 5)
