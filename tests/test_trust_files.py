"""Issue 9, files on disk: the parsed-table cache, tampered or special mirror files, a named
release, and what loading a release raises.

Expected amounts are CMS's rows times the conversion factor, worked in the tests:
20983 (RVU26C): total non-facility RVUs 146.88 x CF 33.4009 = $4,905.92;
95829-TC (RVU26C): 48.98 x 33.4009 = 1,635.976... = $1,635.98.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import rvucalc
from rvucalc import catalogue, facade, fetch
from rvucalc.cli import main
from rvucalc.errors import (
    ChecksumError,
    CMSFileError,
    FileAccessError,
    MissingFileError,
    ReleaseUnavailableError,
    RvucalcError,
)
from rvucalc.iotools.pprrvu import read_pprrvu

PPRRVU26C = "pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv"
OFFICE_20983 = round(146.88 * 33.4009 + 1e-9, 2)  # 4905.92
OFFICE_95829_TC = 1635.98  # 48.98 x 33.4009 = 1635.976


def test_hand_arithmetic() -> None:
    assert OFFICE_20983 == 4905.92
    assert round(48.98 * 33.4009, 2) == OFFICE_95829_TC


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    c = tmp_path / "cache"
    monkeypatch.setenv("RVUCALC_CACHE", str(c))
    return c


def _linked_mirror(tmp_path: Path, mirror, skip: tuple[str, ...] = ()) -> Path:
    """A mirror folder of symlinks to the real PFS 2025/2026 files, minus *skip*."""
    root = tmp_path / "mirror"
    for rel in ("pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv", "pfs/rvu26c/GPCI2026.csv", "pfs/rvu26a/GPCI2026.csv",
                "pfs/rvu26a/26LOCCO.csv", "pfs/rvu26a/ANES2026.csv", "pfs/rvu25d/PPRRVU2025_Oct.csv",
                "pfs/rvu25d/GPCI2025.csv", "pfs/rvu25d/25LOCCO.csv", "pfs/zip5_jan2026/ZIP5_JAN2026.xlsx"):
        if rel in skip:
            continue
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.symlink_to(mirror(rel))
    return root


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# --------------------------------------------------------------------------- 1. parsed-table cache


def _parquet(cache: Path) -> Path:
    (pq,) = [p for p in (cache / "parsed").glob("*-pprrvu-*.parquet")]
    return pq


def _quote_tc(mirror_root: Path | None = None) -> float:
    fs = rvucalc.load(release="rvu26c", mirror=mirror_root)
    return fs.quote("95829-TC").nonfacility.amount


def test_cache_bit_flips_are_detected_and_rebuilt(fresh_cache: Path, fs26) -> None:
    """Issue 9: 23 of 40 single-bit flips in the cached PPRRVU parquet were read back as changed
    RVUs ($1,673.05 for 95829-TC, 'sha256 verified'). Every flip must be caught and the table
    parsed again from the (verified) source."""
    loc = fetch.locate(catalogue.get("rvu26c"), "pprrvu", download=False)
    table = fs26.rvus
    calls: list[int] = []

    def reader(path: Path, name: str) -> pd.DataFrame:  # stands in for read_pprrvu (same table)
        calls.append(1)
        return table.copy()

    pd.testing.assert_frame_equal(facade.read_cached(loc, reader), table)
    assert len(calls) == 1
    good = _parquet(fresh_cache).read_bytes()
    n = len(good)
    for k in range(40):
        pos = (k * 7919 + 13) % n
        bad = bytearray(good)
        bad[pos] ^= 1 << (k % 8)
        _parquet(fresh_cache).write_bytes(bytes(bad))
        pd.testing.assert_frame_equal(facade.read_cached(loc, reader), table)
        assert len(calls) == k + 2, f"bit flip at byte {pos} was not noticed"
        assert _parquet(fresh_cache).read_bytes() == good  # rebuilt
    pd.testing.assert_frame_equal(facade.read_cached(loc, reader), table)
    assert len(calls) == 41  # an intact copy is used as it is


def test_cache_bit_flip_end_to_end(fresh_cache: Path) -> None:
    assert _quote_tc() == OFFICE_95829_TC
    pq = _parquet(fresh_cache)
    data = bytearray(pq.read_bytes())
    data[len(data) // 3] ^= 0x10
    pq.write_bytes(bytes(data))
    fs = rvucalc.load(release="rvu26c")
    assert fs.quote("95829-TC").nonfacility.amount == OFFICE_95829_TC
    assert fs.sources["pprrvu"].verified


@pytest.mark.parametrize("damage", ["truncate", "empty", "other-table", "wrong-columns", "renamed-valid"])
def test_cache_damage_gives_correct_amounts_no_traceback(fresh_cache: Path, damage: str) -> None:
    assert _quote_tc() == OFFICE_95829_TC
    pq = _parquet(fresh_cache)
    data = pq.read_bytes()
    if damage == "truncate":
        pq.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        pq.write_bytes(b"")
    elif damage == "other-table":
        (g,) = list((fresh_cache / "parsed").glob("*-gpci-*.parquet"))
        pq.write_bytes(g.read_bytes())
    elif damage == "wrong-columns":
        pd.DataFrame({"x": [1, 2]}).to_parquet(pq)
    else:  # a wrong-shaped parquet whose name carries its own (correct) sha256
        pq.unlink()
        tmp = pq.parent / "x.parquet"
        pd.DataFrame({"hcpcs": ["95829"], "x": [1.0]}).to_parquet(tmp)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        tmp.rename(pq.parent / (pq.name.rsplit("-", 1)[0] + f"-{digest}.parquet"))
    assert _quote_tc() == OFFICE_95829_TC


def test_cache_is_keyed_by_the_source_sha(fresh_cache: Path) -> None:
    _quote_tc()
    pq = _parquet(fresh_cache)
    src = hashlib.sha256(Path(rvucalc.load(release="rvu26c").sources["pprrvu"].file).name.encode()).hexdigest()
    assert src not in pq.name  # (sanity: the key is the file's bytes, not its name)
    want = catalogue.get("rvu26c").files["pprrvu"].sha256
    assert pq.name.startswith(f"{want}-pprrvu-v")
    assert pq.name.endswith(f"-{hashlib.sha256(pq.read_bytes()).hexdigest()}.parquet")


# --------------------------------------------------------------------------- 2. tampered mirror file


def _tampered(tmp_path: Path, mirror, name: str = "PPRRVU2026_Jul_nonQPP.csv",
              old: bytes = b"20983,,Ablate bone tumor(s) perq,A,,6.71,",
              new: bytes = b"20983,,Ablate bone tumor(s) perq,A,,7.71,") -> Path:
    root = _linked_mirror(tmp_path, mirror, skip=(PPRRVU26C,))
    data = mirror(PPRRVU26C).read_bytes()
    assert data.count(old) == 1
    p = root / "pfs" / "rvu26c" / name
    p.write_bytes(data.replace(old, new))
    return root


@pytest.mark.parametrize("name", ["PPRRVU2026_Jul_nonQPP.csv", "PPRRVU2026_Jul_nonQPP.txt"])
def test_tampered_pprrvu_is_a_checksum_mismatch_not_another_year(tmp_path: Path, mirror, capsys,
                                                                  fresh_cache: Path, name: str) -> None:
    """Issue 9: one changed value made `quote 20983` fall back to CY2025 ($4,702.21, exit 0); under the
    .txt alias it was used ($5,239.93). Both: a checksum mismatch naming the file, exit 2."""
    root = _tampered(tmp_path, mirror, name)
    for argv in (["quote", "20983"], ["quote", "20983", "--year", "2026"],
                 ["quote", "20983", "--release", "rvu26c"]):
        rc, out, err = _run(capsys, *argv, "--mirror", str(root))
        assert rc == 2 and out == "", (argv, out)
        assert "checksum mismatch" in err and name in err, err
        assert "Traceback" not in err and err.count("\n") == 1
    with pytest.raises(ChecksumError, match=name):
        rvucalc.load(mirror=root)


def test_total_rvus_must_add_up(tmp_path: Path, mirror) -> None:
    """CMS's layout: total = work + PE + MP. A row edited in one place (work 6.71 -> 7.71) is refused
    naming the file, line and column, even where no checksum is known."""
    data = mirror(PPRRVU26C).read_bytes().replace(b"20983,,Ablate bone tumor(s) perq,A,,6.71,",
                                                  b"20983,,Ablate bone tumor(s) perq,A,,7.71,")
    with pytest.raises(CMSFileError) as e:
        read_pprrvu(data, name="PPRRVU2026_Jul_nonQPP.csv")
    msg = str(e.value)
    assert "PPRRVU2026_Jul_nonQPP.csv, line 1773, column 'total_nonfacility'" in msg
    assert "20983" in msg and "146.88" in msg and "147.88" in msg


@pytest.mark.parametrize("rel", [PPRRVU26C, "pfs/rvu25d/PPRRVU2025_Oct.csv"])
def test_every_row_of_the_mirror_pprrvu_adds_up(mirror, rel: str) -> None:
    """The totals check holds on every row of both real files (read with the csv module)."""
    import csv

    text = mirror(rel).read_text(encoding="cp1252")
    rows = [r for r in csv.reader(text.splitlines()) if r and len(r[0]) == 5 and r[0].isalnum()
            and len(r) > 12 and r[5].replace(".", "").isdigit()]
    assert len(rows) > 19000
    worst = max(max(abs(float(r[5]) + float(r[6]) + float(r[10]) - float(r[11])),
                    abs(float(r[5]) + float(r[8]) + float(r[10]) - float(r[12]))) for r in rows)
    assert worst < 1e-9
    assert len(read_pprrvu(mirror(rel))) == len(rows)


def test_total_check_allows_a_rounding_hundredth() -> None:
    hdr = ("HCPCS,MOD,DESCRIPTION,STATUS CODE,NOT USED FOR MEDICARE PAYMENT,WORK RVU,NON-FAC PE RVU,"
           "NON-FAC NA INDICATOR,FACILITY PE RVU,FACILITY NA INDICATOR,MP RVU,NON-FACILITY TOTAL,"
           "FACILITY TOTAL,PCTC IND,GLOB DAYS,PRE OP,INTRA OP,POST OP,MULT PROC,BILAT SURG,ASST SURG,"
           "CO SURG,TEAM SURG,ENDO BASE,CONV FACTOR,PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES,"
           "CALCULATION FLAG,DIAGNOSTIC IMAGING FAMILY INDICATOR,NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT,"
           "FACILITY PE USED FOR OPPS PAYMENT AMOUNT,MP USED FOR OPPS PAYMENT AMOUNT\n")
    row = "AAAA1,,x,A,,1.00,2.00,,1.00,,0.50,{nf},2.50,0,000,0,0,0,0,0,0,0,0,,33.4009,09,,99,0,0,0\n"
    assert len(read_pprrvu((hdr + row.format(nf="3.51")).encode())) == 1  # 3.50 + 0.01 rounding
    with pytest.raises(CMSFileError, match="total_nonfacility"):
        read_pprrvu((hdr + row.format(nf="3.52")).encode())


# --------------------------------------------------------------------------- 3. a named release


def test_named_release_is_used_or_refused_never_swapped(capsys) -> None:
    """Issue 9: `--release rvu26a` was priced with RVU26C's PPRRVU. RVU26A's PPRRVU is not in the
    mirror: refused, saying which file is missing and where to get it."""
    rc, out, err = _run(capsys, "quote", "20983", "--release", "rvu26a", "--offline")
    assert rc == 2 and out == ""
    assert "PPRRVU2026_Jan_nonQPP.csv" in err and "RVU26A" in err
    assert "https://www.cms.gov/files/zip/rvu26a-updated-12-29-2025.zip" in err
    with pytest.raises(MissingFileError, match="PPRRVU2026_Jan_nonQPP.csv"):
        rvucalc.load(release="rvu26a", download=False)


def test_named_release_with_its_files_is_used(fs26) -> None:
    fs = rvucalc.load(release="rvu26c")
    assert fs.release.id == "rvu26c" and fs.sources["pprrvu"].release == "rvu26c"
    assert fs.sources["gpci"].release == "rvu26c"
    assert fs.quote("20983").nonfacility.amount == OFFICE_20983


def test_amount_tables_never_come_from_another_release(tmp_path: Path, mirror) -> None:
    """Without RVU26C's GPCI2026.csv, RVU26C is refused rather than priced with RVU26A's GPCIs
    (same file name, other bytes: 8 columns, another floor)."""
    root = _linked_mirror(tmp_path, mirror, skip=("pfs/rvu26c/GPCI2026.csv",))
    with pytest.raises(MissingFileError, match="GPCI2026.csv") as e:
        rvucalc.load(release="rvu26c", mirror=root, download=False)
    assert "rvu26a's file" in str(e.value)


def test_release_year_mismatch_and_non_pfs_release_are_refused() -> None:
    with pytest.raises(RvucalcError, match="CY2025 release, not CY2026"):
        rvucalc.load(2026, release="rvu25d")
    with pytest.raises(RvucalcError, match="not a physician fee schedule"):
        rvucalc.load(release="asc-2026-01")


def test_unverified_same_name_file_in_another_release_folder_is_not_used(tmp_path: Path, mirror) -> None:
    """RVU24D's OPPSCAP_Oct.csv has no catalogued sha256; the mirror's OPPSCAP_Oct.csv is RVU25D's
    (verified by its sha256): a 2024 release must not read 2025's file."""
    rel = catalogue.get("rvu24d")
    with pytest.raises(MissingFileError, match="rvu25d"):
        fetch.locate(rel, "oppscap", download=False)
    # and a copy in a folder named for RVU25D, with no checksum to tell them apart:
    root = tmp_path / "m"
    (root / "rvu25d").mkdir(parents=True)
    (root / "rvu25d" / "OPPSCAP_Oct.csv").write_bytes(b"not a known copy")
    with pytest.raises(MissingFileError, match="rvu25d's folder"):
        fetch.locate(rel, "oppscap", mirror=root, download=False)


# --------------------------------------------------------------------------- 4. special files


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "permission"])
def test_special_files_never_hang_and_the_next_copy_is_used(tmp_path: Path, mirror, kind: str,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            fresh_cache: Path) -> None:
    """Issue 9: a FIFO or /dev/zero under a CMS name hung forever; a permission-denied file gave a
    traceback instead of trying the next copy."""
    root = _linked_mirror(tmp_path, mirror)
    bad = root / "a-first" / "rvu26c" / "PPRRVU2026_Jul_nonQPP.csv"  # sorts before the real copy
    bad.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(bad)
    elif kind == "dev-zero":
        bad.symlink_to("/dev/zero")
    else:
        bad.write_bytes(b"secret")
        real_open = os.open

        def deny(path, *a, **k):  # noqa: ANN001, ANN202 - root can read anything, so simulate it
            if Path(path) == bad:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *a, **k)

        monkeypatch.setattr(os, "open", deny)
        fetch._sha256.cache_clear()

    def go() -> list[object]:
        res: list[object] = []
        t = threading.Thread(target=lambda: res.append(rvucalc.load(2026, mirror=root, download=False)),
                             daemon=True)
        t.start()
        t.join(60)
        assert not t.is_alive(), "hangs"
        return res

    (fs,) = go()
    assert fs.sources["pprrvu"].verified
    assert fs.quote("20983").nonfacility.amount == OFFICE_20983


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "permission", "folder", "missing"])
def test_only_copy_is_special_one_sentence_naming_it(tmp_path: Path, kind: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from rvucalc.iotools._common import read_bytes

    p = tmp_path / "GPCI2026.csv"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dev-zero":
        p.symlink_to("/dev/zero")
    elif kind == "folder":
        p.mkdir()
    elif kind == "permission":
        p.write_bytes(b"x")
        real_open = os.open
        monkeypatch.setattr(os, "open", lambda path, *a, **k: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if Path(path) == p else real_open(path, *a, **k))
    t0 = time.monotonic()
    with pytest.raises(FileAccessError) as e:
        read_bytes(p)
    assert time.monotonic() - t0 < 5
    msg = str(e.value)
    assert msg.startswith("GPCI2026.csv: expected a readable regular file") and "\n" not in msg
    with pytest.raises(FileAccessError):
        fetch.sha256_file(p)


def test_only_mirror_copy_is_a_fifo_loading_says_so(tmp_path: Path, mirror, capsys) -> None:
    root = _linked_mirror(tmp_path, mirror, skip=(PPRRVU26C,))
    os.mkfifo(root / "pfs" / "rvu26c" / "PPRRVU2026_Jul_nonQPP.csv")
    rc, out, err = _run(capsys, "quote", "20983", "--release", "rvu26c", "--mirror", str(root), "--offline")
    assert rc == 2 and "FIFO" in err and "PPRRVU2026_Jul_nonQPP.csv" in err and "Traceback" not in err


# --------------------------------------------------------------------------- 6. a release that cannot be had


def test_loading_a_release_that_cannot_be_had_raises_one_catchable_sentence(tmp_path: Path, mirror) -> None:
    """The repricer catches ReleaseUnavailableError per release (REPRICE_NO_RELEASE with its message)."""
    with pytest.raises(ReleaseUnavailableError) as e:
        facade.load(release="rvu24a", download=False)
    assert "\n" not in str(e.value) and "rvu24a" in str(e.value).lower()
    with pytest.raises(ReleaseUnavailableError):
        facade.load(mirror=_tampered(tmp_path, mirror))


def test_tampered_wage_index_file_is_reported_not_skipped(tmp_path: Path, mirror, fresh_cache: Path) -> None:
    """The same class in the facility rates: a wage index file with CMS's checksum in the catalogue,
    edited, is a checksum mismatch, never quietly another table (or no county lookup)."""
    root = _linked_mirror(tmp_path, mirror)
    src = Path(mirror("wage_index/snf-fy2026/FY2026-FR-WAGE-INDEX_CountyLevel_508.csv"))
    top = src.parents[2]
    for sub in ("wage_index/snf-fy2026", "wage_index/asc-cy2026", "asc/2026-01", "asc/2026-04"):
        for p in (top / sub).iterdir():
            if p.name != src.name:
                (root / sub).mkdir(parents=True, exist_ok=True)
                (root / sub / p.name).symlink_to(p)
    data = src.read_bytes()
    (root / "wage_index" / "snf-fy2026" / src.name).write_bytes(data[:-200] + data[-200:].replace(b"1", b"2"))
    fs = rvucalc.load(release="rvu26c", mirror=root, download=False)
    with pytest.raises(ChecksumError, match="CountyLevel"):
        fs.compare_sites("20983", county_fips="06037")


def test_reprice_with_a_tampered_pprrvu_says_so_on_its_lines(tmp_path: Path, mirror, fresh_cache: Path
                                                             ) -> None:
    """A claims run never prices a tampered release's quarter with another release quietly: the lines
    of that quarter carry REPRICE_NO_RELEASE with the checksum mismatch, other quarters are priced."""
    import pandas as pd

    from rvucalc.claims import pipeline

    root = _tampered(tmp_path, mirror)
    pipeline.clear_cache()
    try:
        lines = pd.DataFrame({"claim_id": ["a", "b"], "hcpcs": ["99213", "99213"], "pos": ["11", "11"],
                              "locality": ["national", "national"],
                              "date_of_service": ["2026-08-03", "2025-11-03"]})
        out = rvucalc.reprice(lines, mirror=root)
        assert out.reason[0] == "REPRICE_NO_RELEASE" and "checksum" in out.release_note[0]
        assert out.release[1] == "rvu25d" and out.payable[1]
    finally:
        pipeline.clear_cache()


def test_readme_quote_tries_no_download_when_the_files_are_at_hand(mirror, monkeypatch, fresh_cache: Path
                                                                    ) -> None:
    """The README demo (downloads allowed) takes RVU26A's LOCCO from the mirror (no amounts; the
    source says so) instead of first trying to download RVU26C's own copy."""
    from rvucalc import fetch

    def no_download(*a, **k):  # pragma: no cover - failing is the point
        raise AssertionError(f"download attempted: {a[:2]}")

    monkeypatch.setattr(fetch, "_download_member", no_download)
    fs = rvucalc.load(2026, download=True)
    q = fs.quote("20983", zip="90012")
    assert q.nonfacility.amount == 5757.50  # see test_reprice.test_los_angeles_by_zip
    assert "in place of rvu26c" in fs.sources["locco"].note
