"""The thin facade for notebooks and scripts: ``rvucalc.load(2026).quote("20983")``.

It picks a release from the catalogue, finds its files (mirror, cache or
download), reads them with :mod:`rvucalc.iotools` (caching the parsed tables
as parquet keyed by the file's sha256, each parquet checked against its own
sha256 before use) and hands the tables to the pure functions in
:mod:`rvucalc.calc`. Every result names its sources.

A release named by the caller is used or refused, never swapped for another;
the automatic choice (a year, or nothing) picks the newest release whose files
are at hand, and never moves to another year because a file is damaged.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import catalogue, sites
from .calc import pfs as pfs_calc
from .catalogue import Release
from .errors import (
    ChecksumError,
    DownloadError,
    MissingFileError,
    ReleaseNotFoundError,
    UnknownCodeError,
    UnknownLocalityError,
)
from .fetch import Located, cache_dir, locate, offline
from .iotools.anes import read_anes
from .iotools.gpci import read_gpci
from .iotools.locco import read_locco
from .iotools.oppscap import read_oppscap
from .iotools.pprrvu import read_pprrvu
from .iotools.zip5 import read_zip5
from .models import LocalityInfo, Quote, RVUs, SettingAmount, Source
from .reasons import explain
from .schemas import conform

#: Bump when a reader's output changes, so cached parquet files are not reused.
PARSER_VERSION = "2"

READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "pprrvu": read_pprrvu, "pprrvu_qp": read_pprrvu, "gpci": read_gpci, "locco": read_locco,
    "anes": read_anes, "oppscap": read_oppscap, "zip5": read_zip5,
}


#: Tables that carry no amounts (county names of each locality) and so may come from another
#: release of the same year when the release's own copy is not at hand; the source says so.
#: Every other table comes from the release being used, or the load is refused.
SUBSTITUTABLE = frozenset({"locco"})


def _parsed_path(loc: Located) -> Path:
    return cache_dir() / "parsed" / f"{loc.sha256}-{loc.table}-v{PARSER_VERSION}"


def read_cached(loc: Located, reader: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """Read *loc* with *reader*, through a parquet copy in the cache keyed by the source's sha256.

    The parquet copy is trusted only if it is exactly what was written: its
    file name ends with the sha256 of its own bytes (``<source sha256>-<table>
    -v<parser>-<parquet sha256>.parquet``, written to a temporary file and
    renamed, so name and bytes appear together). On reading, the bytes are
    hashed again; a copy whose hash differs (bit rot, an edit, a truncation),
    that cannot be read, or whose columns are not the table's schema is
    deleted and the table is parsed again from the source file, which
    :func:`rvucalc.fetch.locate` has just checked. If the cache is not
    writable the table is simply parsed each time.
    """
    stem = _parsed_path(loc)
    folder = stem.parent
    try:
        found = sorted(folder.glob(stem.name + "-*.parquet")) if folder.is_dir() else []
    except OSError:
        found = []
    for pq in found:
        df = _read_verified_parquet(pq, loc)
        if df is not None:
            return df
        try:
            pq.unlink(missing_ok=True)
        except OSError:
            pass
    df = conform(reader(loc.path, name=loc.path.name), loc.table, loc.path.name)
    df.attrs.clear()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{stem.name}.tmp{os.getpid()}"
        try:
            df.to_parquet(tmp, index=False)
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
            os.replace(tmp, folder / f"{stem.name}-{digest}.parquet")
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ValueError, ImportError):
        pass
    return df


def _read_verified_parquet(pq: Path, loc: Located) -> pd.DataFrame | None:
    """The table in *pq* if its bytes hash to the sha256 in its name and it has the table's schema."""
    import io

    want = pq.name[:-len(".parquet")].rsplit("-", 1)[-1]
    try:
        st = pq.lstat()
        if not pq.is_file() or pq.is_symlink() or st.st_size > (1 << 31):
            return None
        data = pq.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != want:
        return None
    try:
        df = pd.read_parquet(io.BytesIO(data))
        return conform(df, loc.table, loc.path.name)
    except Exception:  # unreadable or wrong-shaped: parse the source again
        return None


def _source(loc: Located, note: str = "") -> Source:
    notes = [note] if note else []
    if loc.tofu:
        notes.append(f"unverified: CMS publishes no checksum for it; sha256 recorded at its first download"
                     f"{' on ' + loc.tofu_date if loc.tofu_date else ''} and unchanged since "
                     "(trust on first use)")
    elif not loc.verified:
        notes.append("unverified: the catalogue has no CMS checksum for this file")
    return Source(release=loc.release.id, release_label=loc.release.label, table=loc.table,
                  file=loc.path.name, sha256=loc.sha256, origin=loc.origin, verified=loc.verified,
                  note="; ".join(notes))


def split_code(code: str, modifier: str | None = None) -> tuple[str, str]:
    """``"71046-26"`` / ``"71046 26"`` / ``("71046", "26")`` -> ``("71046", "26")``."""
    c = str(code).strip().upper()
    m = re.fullmatch(r"([A-Z0-9]{5})(?:[\s\-_:]+([A-Z0-9]{2}))?", c)
    if not m:
        raise UnknownCodeError(f"{code!r} is not a HCPCS code (five letters/digits, e.g. 20983 or G0463)")
    mod = (modifier or m.group(2) or "").strip().upper()
    return m.group(1), mod


class FeeSchedule:
    """One PFS release with its GPCIs, localities and conversion factor.

    Create with :func:`load`. Tables (canonical columns): :attr:`rvus`,
    :attr:`gpci`, :attr:`localities`, :attr:`zip5`, :attr:`anes`.
    """

    def __init__(
        self,
        release: Release,
        *,
        mirror: str | os.PathLike[str] | None = None,
        qp: bool = False,
        conversion_factor: float | None = None,
        work_floor: bool = True,
        download: bool | None = None,
        progress: bool = True,
    ) -> None:
        self.release = release
        self.year = release.year
        self.mirror = mirror
        self.download = (not offline()) if download is None else download
        self.progress = progress
        self.work_floor = work_floor
        self.sources: dict[str, Source] = {}
        self.rvus = self._table("pprrvu")
        file_cf = float(self.rvus["conversion_factor"].iloc[0])
        cfs = release.conversion_factors
        if conversion_factor is not None:
            self.conversion_factor, self.conversion_factor_kind = float(conversion_factor), "what-if (user)"
        elif qp:
            if "qp" not in cfs:
                raise ReleaseNotFoundError(f"{release.id}: the catalogue has no QP conversion factor")
            self.conversion_factor, self.conversion_factor_kind = cfs["qp"], "QP (qualifying APM participant)"
        else:
            self.conversion_factor = file_cf
            self.conversion_factor_kind = "non-QP, from the PPRRVU file" if "qp" in cfs else "from the PPRRVU file"
        self.gpci = self._table("gpci")

    # -- tables -------------------------------------------------------------
    def _locate(self, table: str, release: Release | None = None) -> tuple[Located, str]:
        """Locate *table* in this release.

        Only a table in :data:`SUBSTITUTABLE` (no amounts) may come from
        another release of the same year when this release's copy is not at
        hand, and the note says so; any other table is this release's or the
        error says what is missing and how to get it. A checksum mismatch is
        never passed over.
        """
        rel = release or self.release
        others = [r for r in catalogue.for_year(rel.system, rel.year) if r.id != rel.id] \
            if table in SUBSTITUTABLE else []
        first: Exception | None = None
        for r in [rel, *others]:
            if table not in r.files:
                continue
            try:
                loc = locate(r, table, mirror=self.mirror, download=self.download, progress=self.progress)
            except ChecksumError:
                raise
            except (MissingFileError, DownloadError) as exc:
                first = first or exc
                continue
            note = "" if r.id == rel.id else f"used in place of {rel.id}'s copy, which was not available"
            return loc, note
        if first is not None:
            raise first
        raise MissingFileError(f"{rel.label} has no {table!r} table in the catalogue")

    def _table(self, table: str) -> pd.DataFrame:
        loc, note = self._locate(table)
        self.sources[table] = _source(loc, note)
        return read_cached(loc, READERS[table])

    @functools.cached_property
    def localities(self) -> pd.DataFrame:
        """The payment localities: GPCIs plus state name and counties from LOCCO."""
        loc = self.gpci.copy()
        try:
            lc = self._table("locco")
        except MissingFileError:
            loc["state_name"], loc["counties"] = "", ""
            return loc
        agg = lc.groupby("locality_id", sort=False).agg(
            state_name=("state", "first"), area_name=("area_name", "first"),
            counties=("counties", lambda s: "; ".join(dict.fromkeys(x for x in s if x))))
        return loc.merge(agg, how="left", left_on="locality_id", right_index=True).fillna(
            {"state_name": "", "counties": "", "area_name": ""})

    @functools.cached_property
    def zip5(self) -> pd.DataFrame:
        """ZIP code -> carrier locality: the newest ZIP5 file effective by this release's date.

        Files at hand (mirror or cache) of the release's year come first; only
        when there is none is a download tried. The source notes a newer
        quarter that was not used.
        """
        rels = catalogue.releases("zip5")
        eff = self.release.effective or f"{self.year}-12-31"
        ordered = sorted(rels, key=lambda r: (str(r.effective or "") <= eff, r.effective or ""), reverse=True)
        passes = [False, True] if self.download else [False]
        errors: list[str] = []
        for download in passes:
            skipped: list[str] = []
            for r in ordered:
                if not download and r.year != self.year and any(x.year == self.year for x in ordered):
                    continue  # at hand but another year: try a download of this year's first
                try:
                    loc = locate(r, "zip5", mirror=self.mirror, download=download, progress=self.progress)
                except ChecksumError:
                    raise
                except (MissingFileError, DownloadError) as exc:
                    errors.append(str(exc))
                    skipped.append(r.id)
                    continue
                note = f"newer {', '.join(skipped)} not at hand" if skipped else ""
                self.sources["zip5"] = _source(loc, note)
                return read_cached(loc, read_zip5)
        raise MissingFileError("no ZIP5 file available: " + " | ".join(errors[:2]))

    @functools.cached_property
    def opps(self) -> sites.OPPSRates:
        """OPPS Addendum B of this year (newest quarter at hand, effective by this release's date).

        Raises :class:`MissingFileError` (saying where CMS publishes it) when no
        Addendum B of this year is at hand: another year's is never used silently.
        """
        return sites.OPPSRates(self)

    @functools.cached_property
    def asc(self) -> sites.ASCRates:
        """ASC Addenda AA/BB of this year (newest quarter at hand, effective by this release's date)."""
        return sites.ASCRates(self)

    def compare_sites(self, hcpcs: str, **kwargs: Any) -> sites.SiteComparison:
        """Office vs hospital outpatient vs ASC; see :func:`rvucalc.sites.compare_sites`."""
        return sites.compare_sites(self, hcpcs, **kwargs)

    def diff(self, newer: FeeSchedule, **kwargs: Any) -> pd.DataFrame:
        """Codes added, deleted and changed from this release to *newer*; see :func:`rvucalc.diff.diff`."""
        from .diff import diff

        return diff(self, newer, **kwargs)

    def compare(self, codes: Sequence[str], localities: Iterable[str] | str | None = None,
                **kwargs: Any) -> pd.DataFrame:
        """Codes × localities comparison frame (Excel-ready); see :func:`rvucalc.export.compare`."""
        from .export import compare

        return compare(self, codes, localities, **kwargs)

    @functools.cached_property
    def anes(self) -> pd.DataFrame:
        """Anesthesia conversion factors by locality."""
        return self._table("anes")

    # -- lookups ------------------------------------------------------------
    def code_rows(self, hcpcs: str, modifier: str | None = None) -> pd.DataFrame:
        code, mod = split_code(hcpcs, modifier)
        rows = self.rvus[(self.rvus["hcpcs"] == code) & (self.rvus["modifier"] == mod)]
        if rows.empty:
            self._unknown(code, mod)
        return rows

    def _unknown(self, code: str, mod: str) -> None:
        if mod and (self.rvus["hcpcs"] == code).any():
            mods = sorted(set(self.rvus.loc[self.rvus["hcpcs"] == code, "modifier"]))
            shown = ", ".join(m or "(none)" for m in mods)
            raise UnknownCodeError(f"{code} has no row with modifier {mod} in {self.release.id} "
                                   f"(rows exist for modifiers: {shown}); other modifiers are "
                                   "priced from the code's own row with payment-policy rules")
        near = difflib.get_close_matches(code, self._codes, n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UnknownCodeError(f"{code} is not in {self.release.label} ({self.sources['pprrvu'].file}){hint}")

    @functools.cached_property
    def _codes(self) -> list[str]:
        return sorted(set(self.rvus["hcpcs"]))

    def resolve_locality(self, locality: str | None = None, zip: str | None = None) -> str | None:
        """Locality id (``"01182-18"``) from a locality id in any common form or a ZIP code.

        ``None`` for neither (national). A MAC + locality that CMS lists under a
        second MAC of the same state (California's 01112/01182) resolves to the
        GPCI row with the same state and locality number.
        """
        if zip is not None:
            z = re.sub(r"\D", "", str(zip))[:5]
            if len(z) != 5:
                raise UnknownLocalityError(f"{zip!r} is not a 5-digit ZIP code")
            hit = self.zip5.loc[self.zip5["zip"] == z, "locality_id"]
            if hit.empty:
                raise UnknownLocalityError(f"ZIP {z} is not in {self.sources['zip5'].file}")
            return self._canonical_locality(str(hit.iloc[0]))
        if locality is None or str(locality).strip().lower() in ("", "national", "us"):
            return None
        m = re.fullmatch(r"\s*(\d{4,5})\D*(\d{1,2})\s*", str(locality))
        if not m:
            raise UnknownLocalityError(
                f"{locality!r} is not a locality id; use MAC-locality like '01182-18' "
                "(see rvucalc localities), or a ZIP code")
        return self._canonical_locality(f"{m.group(1).zfill(5)}-{m.group(2).zfill(2)}")

    def _canonical_locality(self, lid: str) -> str:
        ids = self.gpci["locality_id"]
        if (ids == lid).any():
            return lid
        mac, num = lid.split("-")
        state = self.gpci.loc[self.gpci["mac"] == mac, "state"]
        if not state.empty:
            alt = self.gpci.loc[(self.gpci["state"] == state.iloc[0]) & (self.gpci["locality"] == num), "locality_id"]
            if len(alt) == 1:
                return str(alt.iloc[0])
        raise UnknownLocalityError(f"locality {lid} is not in {self.sources['gpci'].file}")

    def _gpci_rows(self, localities: Iterable[str] | None) -> pd.DataFrame:
        if localities is None:
            return self.gpci
        ids = [self.resolve_locality(x) for x in localities]
        return self.gpci.set_index("locality_id").loc[ids].reset_index()

    def locality_info(self, locality_id: str) -> LocalityInfo:
        row = self.localities.loc[self.localities["locality_id"] == locality_id].iloc[0]
        return LocalityInfo(
            locality_id=locality_id, mac=row["mac"], locality=row["locality"], state=row["state"],
            name=row["locality_name"], counties=row.get("counties", "") or "",
            work_gpci=row["work_gpci"], work_gpci_no_floor=row["work_gpci_no_floor"],
            pe_gpci=row["pe_gpci"], mp_gpci=row["mp_gpci"])

    # -- pricing ------------------------------------------------------------
    def _cf(self, conversion_factor: float | None, qp: bool | None) -> tuple[float, str]:
        if conversion_factor is not None:
            return float(conversion_factor), "what-if (user)"
        if qp is True:
            cf = self.release.conversion_factors.get("qp")
            if cf is None:
                raise ReleaseNotFoundError(f"{self.release.id}: no QP conversion factor in the catalogue")
            return cf, "QP (qualifying APM participant)"
        if qp is False and "nonqp" in self.release.conversion_factors:
            return self.release.conversion_factors["nonqp"], "non-QP"
        return self.conversion_factor, self.conversion_factor_kind

    def quote(
        self,
        hcpcs: str,
        modifier: str | None = None,
        *,
        locality: str | None = None,
        zip: str | None = None,
        conversion_factor: float | None = None,
        qp: bool | None = None,
        work_floor: bool | None = None,
    ) -> Quote:
        """Price one code (with modifier 26/TC/53 from its own row) nationally or in one locality.

        Amounts are rounded to cents, half up, once at the end (see
        :mod:`rvucalc.calc.pfs`). A setting with no amount carries its reason.
        """
        rows = self.code_rows(hcpcs, modifier)
        lid = self.resolve_locality(locality, zip)
        floor = self.work_floor if work_floor is None else work_floor
        cf, kind = self._cf(conversion_factor, qp)
        g = None if lid is None else self.gpci[self.gpci["locality_id"] == lid]
        # the -26 row is needed for the global row's OPPS cap
        code = rows["hcpcs"].iloc[0]
        fam = self.rvus[self.rvus["hcpcs"] == code]
        pm = pfs_calc.price_matrix(fam, g, cf, work_floor=floor)
        i = int(np.flatnonzero((fam["modifier"] == rows["modifier"].iloc[0]).to_numpy())[0])
        r = fam.iloc[i]
        amounts = {}
        for s in pfs_calc.SETTINGS:
            a = float(pm.amount[s][i, 0])
            cap_rows, caps = pm.opps_cap[s]
            cap = float(caps[list(cap_rows).index(i), 0]) if i in cap_rows else None
            ok = not np.isnan(a)
            amounts[s] = SettingAmount(
                setting=s, amount=a if ok else None,
                nonpar_amount=float(pfs_calc.nonpar(a)) if ok else None,
                limiting_charge=float(pfs_calc.limiting_charge(a)) if ok else None,
                opps_capped=bool(pm.capped[s][i, 0]), opps_cap=cap,
                reason=explain(str(pm.reason[s][i])))
        srcs = [self.sources["pprrvu"]] + ([self.sources["gpci"]] if lid else [])
        if zip is not None:
            srcs.append(self.sources["zip5"])
        return Quote(
            hcpcs=r["hcpcs"], modifier=r["modifier"], description=r["description"], status=r["status"],
            global_days=r["global_days"], pctc=r["pctc"],
            indicators={k: str(r[k]) for k in ("mult_proc", "bilat_surg", "asst_surg", "co_surg",
                                               "team_surg", "endo_base", "imaging_family", "pricing_ind")},
            rvus=RVUs(work=r["work_rvu"], pe_nonfacility=r["pe_nonfacility"], pe_facility=r["pe_facility"],
                      mp=r["mp_rvu"], total_nonfacility=r["total_nonfacility"],
                      total_facility=r["total_facility"]),
            locality=None if lid is None else self.locality_info(lid), zip=zip,
            conversion_factor=cf, conversion_factor_kind=kind, work_gpci_floor=floor,
            nonfacility=amounts["nonfacility"], facility=amounts["facility"],
            release=self.release.id, sources=srcs)

    def price_matrix(
        self,
        codes: Sequence[str] | None = None,
        localities: Iterable[str] | None = None,
        *,
        conversion_factor: float | None = None,
        qp: bool | None = None,
        work_floor: bool | None = None,
        national: bool = False,
    ) -> pfs_calc.PriceMatrix:
        """Amounts as arrays (RVU rows × localities) per setting: the fast path.

        With *codes*, the -26 rows of the selected PC/TC codes are priced too
        (their work RVU sets the global's OPPS cap); ``pm.rvus`` lists the rows.
        """
        return self._priced(codes, localities, conversion_factor, qp, work_floor, national)[1]

    def _priced(self, codes: Sequence[str] | None, localities: Iterable[str] | None,
                conversion_factor: float | None, qp: bool | None, work_floor: bool | None,
                national: bool) -> tuple[np.ndarray, pfs_calc.PriceMatrix]:
        """(rows asked for, price matrix) shared by :meth:`price_matrix` and :meth:`schedule`."""
        rv = self._select(codes)
        asked = rv["_asked"].to_numpy() if "_asked" in rv else np.ones(len(rv), dtype=bool)
        cf, _ = self._cf(conversion_factor, qp)
        g = None if national else self._gpci_rows(localities)
        pm = pfs_calc.price_matrix(rv.drop(columns="_asked", errors="ignore"), g, cf,
                                   work_floor=self.work_floor if work_floor is None else work_floor)
        return asked, pm

    def _select(self, codes: Sequence[str] | None) -> pd.DataFrame:
        if codes is None:
            return self.rvus
        if isinstance(codes, str):
            codes = [codes]
        wanted = [split_code(c) for c in codes]
        plain = {c for c, m in wanted if not m}
        pairs = {(c, m) for c, m in wanted if m}
        mask = self.rvus["hcpcs"].isin(plain) | pd.Series(
            list(zip(self.rvus["hcpcs"], self.rvus["modifier"])), index=self.rvus.index).isin(pairs)
        found = set(self.rvus.loc[mask, "hcpcs"])
        for c, m in wanted:
            if c not in found:
                self._unknown(c, m)
        # keep the -26 rows of selected PC/TC codes: their work RVU sets the global's OPPS cap
        fam = self.rvus["hcpcs"].isin(found)
        return self.rvus[mask | (fam & (self.rvus["modifier"] == "26"))].assign(
            _asked=mask[mask | (fam & (self.rvus["modifier"] == "26"))])

    def schedule(
        self,
        codes: Sequence[str] | None = None,
        localities: Iterable[str] | None = None,
        *,
        conversion_factor: float | None = None,
        qp: bool | None = None,
        work_floor: bool | None = None,
        national: bool = False,
    ) -> pd.DataFrame:
        """Long table: one row per code (+modifier) × locality × setting.

        Columns: hcpcs, modifier, locality_id, setting, amount, nonpar_amount,
        limiting_charge, opps_capped, reason (code; see :func:`rvucalc.explain`),
        status, global_days, release. ``national=True`` prices with all GPCIs 1.
        Rows asked for are never dropped: an unpayable one has a reason.
        """
        asked, pm = self._priced(codes, localities, conversion_factor, qp, work_floor, national)
        out = pfs_calc.to_long(pm)
        if not asked.all():
            k = len(pm.locality_ids)
            keep = np.tile(np.repeat(asked, k), len(pm.amount))
            out = out[keep].reset_index(drop=True)
        out["conversion_factor"] = pm.conversion_factor
        out["release"] = self.release.id
        return out

    def __repr__(self) -> str:
        return (f"<FeeSchedule {self.release.id} ({self.release.label}): {len(self.rvus)} RVU rows, "
                f"{len(self.gpci)} localities, CF ${self.conversion_factor:.4f}>")


def _has_local(rel: Release, table: str, mirror: str | os.PathLike[str] | None) -> bool:
    """Is *table* of *rel* at hand (mirror or cache)? A checksum mismatch is raised, not skipped."""
    try:
        locate(rel, table, mirror=mirror, download=False)
        return True
    except ChecksumError:
        raise
    except (MissingFileError, DownloadError):
        return False


def choose_release(year: int | None = None, release: str | None = None, *,
                   mirror: str | os.PathLike[str] | None = None, download: bool | None = None) -> Release:
    """The PFS release to use.

    A *release* named by id is returned as it is (loading it then uses its own
    files or refuses, saying what is missing). Otherwise, the newest release
    of *year* (default: the newest year with a release at hand) whose PPRRVU
    file is at hand (mirror or cache), else the newest of *year* that can be
    downloaded. A PPRRVU file at hand that fails its checksum raises
    :class:`ChecksumError` naming it: the choice never moves on to an older
    release or another year because of it.
    """
    if release is not None:
        rel = catalogue.get(release)
        if rel.system != "pfs" or "pprrvu" not in rel.files:
            raise ReleaseNotFoundError(f"{rel.id} is not a physician fee schedule (PFS) release with a PPRRVU "
                                       "file; see 'rvucalc releases --system pfs'")
        if year is not None and rel.year != year:
            raise ReleaseNotFoundError(f"{rel.id} is a CY{rel.year} release, not CY{year}; give one or the other")
        return rel
    years = [year] if year is not None else sorted({r.year for r in catalogue.releases("pfs")
                                                    if r.year <= date.today().year}, reverse=True)
    dl = (not offline()) if download is None else (download and not offline())
    for y in years:
        rels = catalogue.for_year("pfs", y)
        for r in rels:
            if "pprrvu" in r.files and _has_local(r, "pprrvu", mirror):
                return r
        if dl:
            for r in rels:
                if "pprrvu" in r.files and r.url:
                    return r
    raise MissingFileError(
        f"no PFS release for {year or 'any year'} is in the mirror or cache"
        + ("" if dl else " and downloads are off (RVUCALC_OFFLINE or --offline)")
        + "; set RVUCALC_MIRROR to a folder holding the CMS files, or allow downloads")


def load(
    year: int | None = None,
    release: str | None = None,
    *,
    mirror: str | os.PathLike[str] | None = None,
    qp: bool = False,
    conversion_factor: float | None = None,
    work_floor: bool = True,
    download: bool | None = None,
    progress: bool = True,
) -> FeeSchedule:
    """Load a PFS release: ``load(2026)`` is the newest CY2026 release at hand.

    Parameters
    ----------
    year, release:
        Calendar year, or a release id from the catalogue (``"rvu25d"``).
    mirror:
        Folder of CMS files (default ``$RVUCALC_MIRROR``); files are found by name.
    qp:
        Use the qualifying APM participant conversion factor (CY2026: $33.5675)
        instead of the non-QP one in the file ($33.4009).
    conversion_factor:
        Any CF, for what-if pricing.
    work_floor:
        Use the work GPCI with the 1.0 floor (default) where the GPCI file has both.
    download:
        Allow downloads from CMS (default: yes unless ``$RVUCALC_OFFLINE`` is set).
    """
    rel = choose_release(year, release, mirror=mirror, download=download)
    return FeeSchedule(rel, mirror=mirror, qp=qp, conversion_factor=conversion_factor,
                       work_floor=work_floor, download=download, progress=progress)


__all__ = ["FeeSchedule", "load", "choose_release", "split_code"]
