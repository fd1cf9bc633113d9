"""Issue 20, "Files that must not be believed" (first bullet) and the new quarters of the mirror.

* Every OPPS, ASC and wage index file is checked against the sha256 the catalogue records, as
  PPRRVU is: a changed copy of the 2025 OPPS Addendum B was used silently (20983 paid $7,943.73)
  and shown UNVERIFIED exactly like the genuine copy. Now any file under a catalogued name whose
  bytes are not the recorded ones is a checksum mismatch naming the file, never used, and never
  replaced by another quarter or year.
* The new quarters (OPPS July and October 2025, ASC July 2026, the ASC EE/FF addenda of 2026) are
  catalogued with the sha256, row counts and row values their SOURCES.md records, read, and
  chosen by date of service.

Facts used below, from the mirror's SOURCES.md files (and checked against the files here):
OPPS 2025-07: 18,704 codes; 2025-10: 18,798 codes; 20983 J1 / APC 5114 / 80.1145 / $7,143.73 in
both (80.1145 x CY2025 CF $89.169 = 7,143.730); ASC 2026-07: AA 4,833, BB 2,547, EE 1,559, FF 4,834
codes, 20983 J8 93.6462 $5,274.34 (93.6462 x $56.322 = 5,274.3413), BB J9271 K2 $60.645; FF 20983
J8, APC 5114, 20.74%, $6,878.60, 49.60%, $3,411.79 (every 2026 quarter); EE 2026-01 1,557 codes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import MIRROR

import rvucalc
from rvucalc import catalogue
from rvucalc.errors import ChecksumError
from rvucalc.fetch import _index, locate

#: where each catalogued OPPS / ASC / wage index release keeps its files in the mirror
_FOLDER = {"opps": "opps/{q}", "asc": "asc/{q}", "wage_index": "wage_index/{id}"}


def _mirror_files() -> list[tuple[str, str, str]]:
    """(release id, table, mirror path) of every OPPS, ASC and wage index file the catalogue records
    a checksum for and the mirror holds (member name and aliases)."""
    out = []
    for system in ("opps", "asc", "wage_index"):
        for r in catalogue.releases(system):
            folder = _FOLDER[system].format(q=r.id.split("-", 1)[-1], id=r.id)
            for table, spec in r.files.items():
                if not (spec.sha256 or spec.mirror_sha256):
                    continue
                for name in spec.names:
                    if (MIRROR / folder / name).is_file():
                        out.append((r.id, table, f"{folder}/{name}"))
    return out


FILES = _mirror_files()


def test_every_mirror_file_of_the_three_systems_is_recorded() -> None:
    """The sweep below covers every OPPS, ASC and wage index file of the mirror (ADD_B.csv, the
    2024 OPPS copy under its alias, included)."""
    on_disk = {str(p.relative_to(MIRROR)) for sub in ("opps", "asc", "wage_index")
               for p in (MIRROR / sub).rglob("*") if p.is_file() and p.name != "SOURCES.md"
               and not p.name.endswith((".zip", ".xlsx"))}
    covered = {rel for _, _, rel in FILES}
    assert on_disk - covered == set(), on_disk - covered
    assert len(FILES) >= 40


@pytest.mark.parametrize("rid,table,rel", FILES, ids=[f"{r}:{t}:{Path(p).name}" for r, t, p in FILES])
def test_a_changed_copy_is_a_checksum_mismatch_naming_the_file(tmp_path: Path, mirror, rid: str,
                                                                table: str, rel: str) -> None:
    good = mirror(rel).read_bytes()
    # the genuine copy is found and its sha256 is one the catalogue records
    spec = catalogue.get(rid).files[table]
    assert hashlib.sha256(good).hexdigest() in {spec.sha256, *spec.mirror_sha256}
    # one byte changed in the middle of the file
    i = len(good) // 2
    bad = good[:i] + (b"7" if good[i:i + 1] != b"7" else b"8") + good[i + 1:]
    p = tmp_path / "m" / rel
    p.parent.mkdir(parents=True)
    p.write_bytes(bad)
    _index.cache_clear()
    with pytest.raises(ChecksumError) as e:
        locate(catalogue.get(rid), table, mirror=tmp_path / "m", download=False)
    msg = str(e.value)
    assert "checksum mismatch" in msg and Path(rel).name in msg and "\n" not in msg
    assert hashlib.sha256(bad).hexdigest() in msg


# --------------------------------------------------------------------------------------------
# the same, end to end: a linked copy of the mirror with one file changed

ADDB_2025_01 = "opps/2025-01/January 2025 Web Addendum B.12.31.24.csv"
ADDB_2025_10 = "opps/2025-10/508 version of October 2025 Web Addendum B.10.31.25.csv"


def _linked(tmp_path: Path, rel: str, old: bytes, new: bytes) -> Path:
    """The mirror as symlinks, with *rel* replaced by a copy in which *old* became *new* (once)."""
    root = tmp_path / "mirror"
    for dirpath, _dirs, files in os.walk(MIRROR):
        for f in files:
            src = Path(dirpath) / f
            dst = root / src.relative_to(MIRROR)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if str(src.relative_to(MIRROR)) == rel:
                data = src.read_bytes()
                assert data.count(old) == 1, (rel, old)
                dst.write_bytes(data.replace(old, new))
            else:
                dst.symlink_to(src)
    _index.cache_clear()
    return root


@pytest.fixture
def clean_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from rvucalc.claims import pipeline

    monkeypatch.setenv("RVUCALC_CACHE", str(tmp_path / "cache"))
    pipeline.clear_cache()
    yield
    pipeline.clear_cache()


def test_changed_opps_2025_addendum_b_costs_its_quarter_never_another(tmp_path: Path, mirror,
                                                                      clean_caches) -> None:
    # the copy: 20983 $7,143.73 -> $7,943.73 in the January 2025 file (a bare number there)
    root = _linked(tmp_path, ADDB_2025_01, b"20983,Ablate bone tumor(s) perq,J1,5114,80.1145,7143.73,",
                   b"20983,Ablate bone tumor(s) perq,J1,5114,80.1145,7943.73,")
    lines = pd.DataFrame({"claim_id": ["a", "b"], "hcpcs": ["20983", "20983"],
                          "date_of_service": ["2025-03-10", "2025-08-04"]})
    out = rvucalc.reprice_opps(lines, mirror=root)
    # the March line: no amount, the checksum mismatch naming the file, no other quarter instead
    assert out["release"][0] == "" and pd.isna(out["facility_payment"][0])
    assert "FACILITY_NO_RELEASE" in str(out["reason"][0])
    note = str(out["release_note"][0])
    assert "checksum mismatch" in note and "January 2025 Web Addendum B.12.31.24.csv" in note
    # the August line is priced from the genuine July 2025 file: 80.1145 x $89.169 = $7,143.73
    assert out["release"][1] == "opps-2025-07" and out["facility_payment"][1] == 7143.73


def test_changed_opps_file_in_the_site_comparison_names_it(tmp_path: Path, mirror, clean_caches) -> None:
    # RVU25D (October 2025) takes the October addendum; $7,143.730 -> $7,943.730 in it
    root = _linked(tmp_path, ADDB_2025_10, b'20983,Ablate bone tumor(s) perq,J1,5114,80.1145,"$7,143.730"',
                   b'20983,Ablate bone tumor(s) perq,J1,5114,80.1145,"$7,943.730"')
    fs = rvucalc.load(release="rvu25d", mirror=root, download=False)
    assert not fs.opps and "checksum mismatch" in fs.opps.reason.message
    hopd = next(r for r in fs.compare_sites("20983").rows if r.site == "hopd")
    assert hopd.facility is None and hopd.total is None
    assert any("508 version of October 2025 Web Addendum B.10.31.25.csv" in x.message for x in hopd.reasons)


def test_changed_asc_wage_index_is_an_error_naming_it(tmp_path: Path, mirror, clean_caches) -> None:
    # asc-cy2026 wage_index.csv: Los Angeles 31084 1.2699 -> 1.3699
    root = _linked(tmp_path, "wage_index/asc-cy2026/wage_index.csv", b"1.2699", b"1.3699")
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["29881"], "date_of_service": ["2026-03-10"],
                          "cbsa": ["31084"]})
    with pytest.raises(ChecksumError, match="wage_index.csv"):
        rvucalc.reprice_asc(lines, mirror=root)
    fs = rvucalc.load(2026, mirror=root, download=False)
    with pytest.raises(ChecksumError, match="wage_index.csv"):
        fs.compare_sites("29881", cbsa="31084")


def test_changed_asc_ff_is_never_read(tmp_path: Path, mirror, clean_caches) -> None:
    root = _linked(tmp_path, "asc/2026-07/FF.csv", b",3411.79", b",1411.79")
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["20983"], "date_of_service": ["2026-08-03"],
                          "wage_index": ["1.2699"]})
    out = rvucalc.reprice_asc(lines, mirror=root)
    assert pd.isna(out["facility_payment"][0]) and "FACILITY_NO_RELEASE" in str(out["reason"][0])
    assert "checksum mismatch" in str(out["release_note"][0]) and "FF.csv" in str(out["release_note"][0])


# --------------------------------------------------------------------------------------------
# the new quarters: catalogued, verified, read, chosen by date of service

NEW = [("opps-2025-07", "addendum_b", "opps/2025-07/Section 508 of July 2025 Web Addendum B.07.25.25.csv",
        18704),
       ("opps-2025-10", "addendum_b", ADDB_2025_10, 18798),
       ("asc-2026-07", "addendum_aa", "asc/2026-07/AA.csv", 4833),
       ("asc-2026-07", "addendum_bb", "asc/2026-07/BB.csv", 2547),
       ("asc-2026-07", "addendum_ee", "asc/2026-07/EE.csv", 1559),
       ("asc-2026-07", "addendum_ff", "asc/2026-07/FF.csv", 4834),
       ("asc-2026-01", "addendum_ee", "asc/2026-01/EE.csv", 1557),
       ("asc-2026-01", "addendum_ff", "asc/2026-01/FF.csv", 4821),
       ("asc-2026-04", "addendum_ee", "asc/2026-04/EE.csv", 1559),
       ("asc-2026-04", "addendum_ff", "asc/2026-04/FF.csv", 4832)]

#: sha256 of each file as its folder's SOURCES.md records it
SOURCES_SHA = {
    "opps/2025-07/Section 508 of July 2025 Web Addendum B.07.25.25.csv":
        "145b93c10d5cbe653bea7a04522710f5a8d5cf62a02c9be446517c5fc3b2e898",
    ADDB_2025_10: "6105ee8cb54bc19f8d09c96050696eb61fb80d43361f613f4aedce4ba7f77672",
    "asc/2026-07/AA.csv": "6d830f4c2eba2a195620bd8fb76762a1c09a50fd78e5ccb408feb405244d5ed4",
    "asc/2026-07/BB.csv": "5543e40d2e8bd3062143d393606ce457e3f4d567a52c39e4cfd97e7ad4b02111",
    "asc/2026-07/EE.csv": "c7bdee470bc51057f61bfea85ec96c97712f7c8485290e5a76baee1c7a02d575",
    "asc/2026-07/FF.csv": "31b6362786b45e8c066d49797f03027a294c331912833b6abacc54ecddb2f601",
    "asc/2026-01/EE.csv": "894ebf3757327839bae83e846ec0c18cd89cb6569e1a31be7013d6ab6e2d5c71",
    "asc/2026-01/FF.csv": "251a9e8a86831f0e27760d01aff8e43f49abb8f61fe7c054ef846e943df4a362",
    "asc/2026-04/EE.csv": "81b8c6bc6c3457a52b82b4de51cba875b47d94b092875403083a48cd62ef742e",
    "asc/2026-04/FF.csv": "7cab3e7bdc5ee31885461f0fa6e7ebbca2c5f88efe5fffc257881405881771cc",
}


@pytest.mark.parametrize("rid,table,rel,rows", NEW, ids=[f"{r}:{t}" for r, t, _, _ in NEW])
def test_new_files_catalogued_and_read_with_every_row(mirror, rid: str, table: str, rel: str,
                                                       rows: int) -> None:
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
    from rvucalc.iotools.asc_final_rule import read_addendum_ee, read_addendum_ff
    from rvucalc.iotools.opps import read_addendum_b

    spec = catalogue.get(rid).files[table]
    assert spec.mirror_sha256 == (SOURCES_SHA[rel],) and spec.sha256 is None  # known copies
    assert hashlib.sha256(mirror(rel).read_bytes()).hexdigest() == SOURCES_SHA[rel]
    loc = locate(catalogue.get(rid), table, mirror=MIRROR, download=False)
    assert str(loc.path).endswith(rel) and not loc.verified
    reader = {"addendum_b": read_addendum_b, "addendum_aa": read_addendum_aa,
              "addendum_bb": read_addendum_bb, "addendum_ee": read_addendum_ee,
              "addendum_ff": read_addendum_ff}[table]
    df = reader(mirror(rel))
    assert len(df) == rows == df["hcpcs"].nunique()


def test_new_quarters_row_values(mirror) -> None:
    from rvucalc.iotools.asc import read_addendum_aa, read_addendum_bb
    from rvucalc.iotools.asc_final_rule import read_addendum_ff
    from rvucalc.iotools.opps import read_addendum_b

    for rel in ("opps/2025-07/Section 508 of July 2025 Web Addendum B.07.25.25.csv", ADDB_2025_10):
        b = read_addendum_b(mirror(rel)).set_index("hcpcs")
        assert (b.loc["20983", "status_indicator"], b.loc["20983", "apc"]) == ("J1", "5114")
        assert b.loc["20983", "relative_weight"] == 80.1145 and b.loc["20983", "payment_rate"] == 7143.73
        assert round(80.1145 * 89.169, 2) == 7143.73
    aa = read_addendum_aa(mirror("asc/2026-07/AA.csv"))  # re-saved: BOM, bare numbers
    assert aa.attrs["quarter"] == "2026-07"
    r = aa.set_index("hcpcs").loc["20983"]
    assert (r["payment_indicator"], r["relative_weight"], r["payment_rate"]) == ("J8", 93.6462, 5274.34)
    assert round(93.6462 * 56.322, 2) == 5274.34
    bb = read_addendum_bb(mirror("asc/2026-07/BB.csv"))  # empty trailing cells trimmed by the re-save
    j = bb.set_index("hcpcs").loc["J9271"]
    assert (j["payment_indicator"], j["payment_rate"]) == ("K2", 60.645) and pd.isna(j["relative_weight"])
    assert bb.set_index("hcpcs").loc["90684", "payment_indicator"] == "L1"  # a row of 5 cells
    for q in ("2026-01", "2026-04", "2026-07"):  # CMS formatting ($, %) and the re-saved fractions
        f = read_addendum_ff(mirror(f"asc/{q}/FF.csv")).set_index("hcpcs").loc["20983"]
        assert (f["payment_indicator"], f["apc"]) == ("J8", "5114")
        assert (f["apc_device_offset_pct"], f["opps_payment_rate"]) == (0.2074, 6878.60)
        assert (f["device_offset_pct"], f["device_portion"]) == (0.496, 3411.79)


def test_a_cut_short_row_of_a_full_width_file_is_still_refused(tmp_path: Path, mirror) -> None:
    """Padding is for exports that trimmed every row's empty tail; in CMS's full-width CSV a row
    with fewer cells than the header is cut short and refused, naming the line."""
    from rvucalc.errors import CMSFileError
    from rvucalc.iotools.asc import read_addendum_bb

    text = mirror("asc/2026-01/BB.csv").read_bytes().decode("cp1252")
    lines = text.split("\r\n")
    i = next(k for k, x in enumerate(lines) if x.startswith("0331T,"))
    lines[i] = ",".join(lines[i].split(",")[:5])  # code, marker, descriptor, expiry, indicator
    p = tmp_path / "BB.csv"
    p.write_bytes("\r\n".join(lines).encode("cp1252"))
    line = "\r\n".join(lines[:i]).count("\n") + 2  # as an editor counts (the title holds a break)
    with pytest.raises(CMSFileError, match=f"line {line}: expected 8 fields"):
        read_addendum_bb(p)


@pytest.mark.parametrize("date,system,rid", [
    ("2025-03-10", "hopd", "opps-2025-01"), ("2025-06-30", "hopd", "opps-2025-01"),
    ("2025-07-01", "hopd", "opps-2025-07"), ("2025-09-30", "hopd", "opps-2025-07"),
    ("2025-10-01", "hopd", "opps-2025-10"), ("2025-12-31", "hopd", "opps-2025-10"),
    ("2026-06-30", "asc", "asc-2026-04"), ("2026-07-01", "asc", "asc-2026-07"),
    ("2026-12-31", "asc", "asc-2026-07")])
def test_new_quarters_chosen_by_date_of_service(date: str, system: str, rid: str) -> None:
    lines = pd.DataFrame({"claim_id": ["a"], "hcpcs": ["20983"], "date_of_service": [date]})
    f = rvucalc.reprice_opps if system == "hopd" else rvucalc.reprice_asc
    out = f(lines)
    assert out["release"][0] == rid
    # no April 2025 OPPS and no October 2026 ASC addendum is at hand: the newest earlier quarter of
    # the same year, with a note; never another year
    if date in ("2025-06-30", "2026-12-31"):
        assert "FACILITY_RELEASE_OTHER_QUARTER" in str(out["reason"][0])
    else:
        assert "FACILITY_RELEASE_OTHER_QUARTER" not in str(out["reason"][0])
    assert out["facility_payment"][0] == (7143.73 if system == "hopd" else 5274.34)
