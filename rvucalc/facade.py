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
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from . import anesthesia, arguments, catalogue, diff, sites
from . import volumes as volumes_mod
from .calc import pfs as pfs_calc
from .calc import places
from .catalogue import Release
from .codes import (
    MODIFIER_NOTE,
    NOT_IN_RELEASE,
    POLICY_MODIFIER,
    fee_schedule_of,
    modifier_effect,
    normalise_zip,
    not_on_pfs_reason,
    split_code,
)
from .errors import (
    ChecksumError,
    DownloadError,
    InvalidArgumentError,
    MissingFileError,
    ReleaseNotFoundError,
    UnknownCodeError,
    UnknownLocalityError,
    UnsupportedModifierError,
)
from .fetch import Located, locate
from .iotools.anes import read_anes
from .iotools.gpci import read_gpci
from .iotools.locco import read_locco
from .iotools.oppscap import read_oppscap
from .iotools.pprrvu import read_pprrvu
from .iotools.wage_index import read_wage_index_county
from .iotools.zip5 import read_zip5
from .loading import offline, read_cached, source_of
from .models import LocalityInfo, Quote, RVUs, SettingAmount, Source
from .reasons import Reason, explain
from .schedules import surface as fee_surface
from .whatif import WhatIfCF, parse_cf, what_if_note

#: Tables that carry no amounts (county names of each locality) and so may come from another
#: release of the same year when the release's own copy is not at hand; the source says so.
#: For a release the caller named, every other table comes from that release, or the load is
#: refused (see :meth:`FeeSchedule._locate`).
SUBSTITUTABLE = frozenset({"locco"})

READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "pprrvu": read_pprrvu, "pprrvu_qp": read_pprrvu, "gpci": read_gpci, "locco": read_locco,
    "anes": read_anes, "oppscap": read_oppscap, "zip5": read_zip5,
}

_source = source_of  # the name older code imports




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
        conversion_factor: float | str | WhatIfCF | None = None,
        work_floor: bool = True,
        download: bool | None = None,
        progress: bool = True,
        automatic: bool = False,
    ) -> None:
        self.release = release
        self.year = release.year
        self.mirror = mirror
        #: the release was chosen by rvucalc (a year or nothing was asked), not named by the caller
        self.automatic = automatic
        self.download = (not offline()) if download is None else download
        self.progress = progress
        self.work_floor = work_floor
        self.sources: dict[str, Source] = {}
        self.rvus = self._table("pprrvu")
        file_cf = float(self.rvus["conversion_factor"].iloc[0])
        cfs = release.conversion_factors
        what_if = parse_cf(conversion_factor)  # refused before anything is priced when not > 0
        if qp and (what_if is None or what_if.relative):
            if "qp" not in cfs:
                raise ReleaseNotFoundError(f"{release.id}: the catalogue has no QP conversion factor")
            self.conversion_factor, self.conversion_factor_kind = cfs["qp"], "QP (qualifying APM participant)"
        else:
            self.conversion_factor = file_cf
            self.conversion_factor_kind = "non-QP, from the PPRRVU file" if "qp" in cfs else "from the PPRRVU file"
        #: the release's own CF (QP or not) before any what-if
        self.own_conversion_factor = self.conversion_factor
        self.own_conversion_factor_kind = self.conversion_factor_kind
        #: the what-if asked (:class:`rvucalc.whatif.WhatIfCF`), or None
        self.what_if = what_if
        if what_if is not None:
            self.conversion_factor, self.conversion_factor_kind = (
                what_if.value(self.conversion_factor), what_if.kind(self.conversion_factor, self.conversion_factor_kind))
        self.gpci = self._table("gpci")
        if not work_floor:
            self.gpci = self.gpci_for(False)  # resolved (or refused) at load, for every consumer

    # -- tables -------------------------------------------------------------
    def _locate(self, table: str, release: Release | None = None) -> tuple[Located, str]:
        """Locate *table* in this release.

        A release named by the caller is used or refused: only a table in
        :data:`SUBSTITUTABLE` (no amounts) may come from another release of the
        same year when its own copy is not at hand. When rvucalc chose the
        release (``automatic``), any table but PPRRVU may, as before. Either way
        the source's note says so. Otherwise the error says what is missing and
        how to get it. A checksum mismatch is never passed over.
        """
        rel = release or self.release
        swap = table in SUBSTITUTABLE or (self.automatic and table not in ("pprrvu", "pprrvu_qp"))
        others = [r for r in catalogue.for_year(rel.system, rel.year) if r.id != rel.id] if swap else []
        first: Exception | None = None
        # a table without amounts (SUBSTITUTABLE) is taken from a copy at hand before any download
        # is tried; every other table is the release's own copy, downloaded if need be, first
        passes = [(r, False) for r in [rel, *others]] if table in SUBSTITUTABLE else []
        passes += [(r, self.download) for r in [rel, *others]]
        for r, download in passes:
            if table not in r.files:
                continue
            try:
                loc = locate(r, table, mirror=self.mirror, download=download, progress=self.progress)
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

    def gpci_for(self, work_floor: bool) -> pd.DataFrame:
        """The GPCI table whose ``work_gpci_no_floor`` really is the work GPCI without the floor.

        CMS's 7-column Addendum E (e.g. RVU26C's GPCI2026.csv, the 1.0 floor extended to
        2027) prints only the floored work GPCI. For ``work_floor=False`` the no-floor
        values then come from another release of the same year whose GPCI file has both
        columns (RVU26A's 8-column GPCI2026.csv), and only if its floored, PE and MP GPCIs
        equal this release's in every locality; ``sources["gpci_no_floor"]`` names that
        file. Otherwise :class:`MissingFileError` says what is missing: the floored values
        are never returned in place of the no-floor ones.
        """
        if work_floor or bool(self.gpci["has_floor_variants"].all()):
            return self.gpci
        return self._gpci_no_floor

    @functools.cached_property
    def _gpci_no_floor(self) -> pd.DataFrame:
        own = self.gpci.set_index("locality_id")
        tried: list[str] = []
        found: list[tuple[Release, Located, pd.DataFrame]] = []
        for r in catalogue.for_year(self.release.system, self.year):
            if r.id == self.release.id or "gpci" not in r.files:
                continue
            try:
                loc = locate(r, "gpci", mirror=self.mirror, download=self.download, progress=self.progress)
            except (MissingFileError, DownloadError):
                tried.append(f"{r.id}'s is not at hand")
                continue
            other = read_cached(loc, read_gpci).set_index("locality_id")
            if not bool(other["has_floor_variants"].all()):
                tried.append(f"{r.id}: {loc.path.name} has only the floored work GPCI too")
                continue
            same = other.index.sort_values().equals(own.index.sort_values()) and all(
                np.array_equal(other.loc[own.index, c].to_numpy(float), own[c].to_numpy(float))
                for c in ("work_gpci", "pe_gpci", "mp_gpci"))
            if not same:
                tried.append(f"{r.id}: {loc.path.name} has other localities or GPCIs than "
                             f"{self.sources['gpci'].file}")
                continue
            found.append((r, loc, other))
        if found:  # a file whose checksum matched CMS's first
            r, loc, other = sorted(found, key=lambda f: not f[1].verified)[0]
            out = self.gpci.copy()
            out["work_gpci_no_floor"] = other.loc[out["locality_id"], "work_gpci_no_floor"].to_numpy(float)
            out["has_floor_variants"] = True
            self.sources["gpci_no_floor"] = _source(
                loc, f"work GPCI without the 1.0 floor taken from {r.id}'s {loc.path.name}: "
                     f"{self.release.id}'s {self.sources['gpci'].file} has only the floored column; "
                     f"its floored, PE and MP GPCIs equal {r.id}'s in every locality")
            return out
        raise MissingFileError(
            f"work_floor=False: {self.release.label}'s {self.sources['gpci'].file} has only the work "
            f"GPCI with the 1.0 floor, and no other CY{self.year} GPCI file with the no-floor column "
            "is at hand (" + ("; ".join(tried) or "none in the catalogue") + "). Put that year's "
            "8-column GPCI file (Addendum E with a 'without 1.0 Floor' column, e.g. RVU26A's "
            "GPCI2026.csv for CY2026) in RVUCALC_MIRROR or allow downloads, or price with the floor")

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
    def opps(self) -> sites.OPPSRates | sites.UnavailableRates:
        """OPPS Addendum B of this year (newest quarter at hand, effective by this release's date).

        When no Addendum B of this year is at hand (and it cannot be downloaded),
        this is a :class:`rvucalc.sites.UnavailableRates` whose ``reason`` says so
        in one sentence with where to get the file; its ``rate(code)`` answers
        with that reason and no amount. Another year's file is never used.
        """
        return sites.rates_or_unavailable(self, "opps")

    @functools.cached_property
    def asc(self) -> sites.ASCRates | sites.UnavailableRates:
        """ASC Addenda AA/BB of this year (newest quarter at hand, effective by this release's date);
        :class:`rvucalc.sites.UnavailableRates` when none is at hand (see :attr:`opps`)."""
        return sites.rates_or_unavailable(self, "asc")

    def compare_sites(self, hcpcs: str, *, locality: str | None = None, zip: str | int | None = None,
                      county: str | int | None = None, cbsa: str | None = None,
                      wage_index: float | None = None, opps_wage_index: float | None = None,
                      hospital_ccn: str | None = None,
                      ipps_table2: str | os.PathLike[str] | None = None,
                      county_fips: str | int | None = None,
                      conversion_factor: float | str | WhatIfCF | None = None,
                      asc_conversion_factor: float | str | WhatIfCF | None = None) -> sites.SiteComparison:
        """Office vs hospital outpatient vs ASC for one code; see :func:`rvucalc.sites.compare_sites`.

        *locality*, *zip* or *county* (FIPS, as :meth:`quote` takes it) place the physician;
        *cbsa*, *county* or *wage_index* place the facility (*county* alone places both);
        *opps_wage_index*, or *hospital_ccn* with *ipps_table2* (CMS's IPPS Table 2), give the
        hospital's own wage index. *county_fips* is another name for *county*.
        *conversion_factor*: a what-if PFS CF (dollars or ``"98.8%"``) for the physician amounts;
        *asc_conversion_factor*: a what-if ASC CF for the ASC facility amounts.
        """
        if county is not None and county_fips is not None and str(county) != str(county_fips):
            raise InvalidArgumentError(f"county={county!r} and county_fips={county_fips!r} are two counties: "
                                       "give one (county= and county_fips= are the same argument)")
        wage_index = arguments.wage_index(wage_index)
        opps_wage_index = arguments.wage_index(opps_wage_index, "opps_wage_index")
        return sites.compare_sites(
            self, hcpcs, locality=locality, zip=None if zip is None else str(zip), cbsa=cbsa,
            county_fips=None if (county if county is not None else county_fips) is None
            else str(county if county is not None else county_fips),
            wage_index=wage_index, opps_wage_index=opps_wage_index, hospital_ccn=hospital_ccn,
            ipps_table2=ipps_table2, conversion_factor=conversion_factor,
            asc_conversion_factor=asc_conversion_factor)

    def compare_sites_many(self, codes: Sequence[str] | str,
                           places: Sequence[sites.Place | Mapping[str, Any] | str] | None = None, *,
                           conversion_factor: float | str | WhatIfCF | None = None,
                           asc_conversion_factor: float | str | WhatIfCF | None = None) -> pd.DataFrame:
        """Office vs hospital outpatient vs ASC for many codes in many places, one tidy frame
        (code x place x setting); see :func:`rvucalc.sites.compare_sites_many`.

        *places*: ``[{"zip": "90012"}, {"county": "06037"}, "zip:10001", "national"]``.
        ``rvucalc.export.to_excel(frame, "sites.xlsx")`` writes a sheet per place and a chart per code.
        """
        return sites.compare_sites_many(self, codes, list(places) if places is not None else None,
                                        conversion_factor=conversion_factor,
                                        asc_conversion_factor=asc_conversion_factor)

    def diff(self, newer: FeeSchedule, *, localities: Iterable[str] | str | None = None,
             codes: Sequence[str] | None = None, changed_only: bool = False) -> pd.DataFrame:
        """Codes added, deleted and changed from this release to *newer*, each change split into
        its causes; see :func:`rvucalc.diff.diff`."""
        return diff.diff(self, newer, localities=localities, codes=codes, changed_only=changed_only)

    def diff_volumes(self, newer: FeeSchedule, volumes: pd.DataFrame, *, code: str = "hcpcs",
                     modifier: str = "modifier", locality: str = "locality", zip: str = "zip",
                     setting: str = "setting", count: str = "count") -> pd.DataFrame:
        """A volume table's revenue change from this release to *newer*, by cause; see
        :func:`rvucalc.diff.diff_volumes` (and :func:`rvucalc.diff.book_causes` for the totals)."""
        return diff.diff_volumes(self, newer, volumes, code=code, modifier=modifier, locality=locality,
                                 zip=zip, setting=setting, count=count)

    def compare(self, codes: Sequence[str] | str, localities: Iterable[str] | str | None = None, *,
                state: str | Iterable[str] | None = None, national: bool = True,
                rural: bool | str | None = None) -> pd.DataFrame:
        """Codes × localities comparison frame (Excel-ready); see :func:`rvucalc.export.compare`
        (*rural*: Y/N for DME codes, never assumed)."""
        from .export import compare

        return compare(self, codes, localities, state=state, national=national, rural=rural)

    @functools.cached_property
    def anes(self) -> pd.DataFrame:
        """Anesthesia conversion factors by locality."""
        return self._table("anes")

    def anesthesia(self, hcpcs: str, minutes: float | None = None, *,
                   base_units: float | Mapping[str, float] | None = None,
                   modifier: str | None = None, locality: str | None = None, zip: str | int | None = None,
                   county: str | int | None = None, qp: bool | None = None,
                   present_at_induction: bool = False) -> anesthesia.AnesthesiaQuote:
        """Price an anesthesia service: (base units + time units) × the locality's anesthesia CF.

        See :func:`rvucalc.calc.anesthesia.anesthesia_amount` for the rules (time units = minutes / 15 rounded
        to one decimal; AA/QZ 100%, QK/QX/QY 50%; AD 3 base units). *base_units* given by the
        user are used as given; otherwise they come from CMS's anesthesia base-unit file.
        Without a locality/ZIP/county the national anesthesia CF is used.
        """
        code, mod = anesthesia.check_code(hcpcs, modifier)
        minutes = arguments.non_negative_number(minutes, "minutes", "anesthesia time in minutes (0 or more)")
        lid = self.resolve_locality(locality, zip, county=county)
        sources: list[Source] = []
        if isinstance(base_units, Mapping):
            base_units = base_units.get(code)
        base_units = arguments.non_negative_number(base_units, "base_units",
                                                   "the code's base units (0 or more), e.g. 7")
        if base_units is not None:
            bu, bu_from = float(base_units), "user"
        else:
            tab, src = anesthesia.base_units_table(self.year, mirror=self.mirror, download=self.download,
                                                   progress=self.progress)
            hit = tab.loc[tab["hcpcs"] == code, "base_units"]
            bu, bu_from = (float(hit.iloc[0]) if not hit.empty else None), src.file
            sources.append(src)
        cf, kind = anesthesia.conversion_factor(
            lid, qp, release=self.release, anes=None if lid is None else self.anes,
            anes_file="" if lid is None else self.sources["anes"].file)
        sources += ([self.sources["anes"]] if lid is not None else []) + (
            [self.sources["zip5"]] if zip is not None else [])
        return anesthesia.quote(code, mod, minutes, base_units=bu, base_units_from=bu_from,
                                conversion_factor=cf, conversion_factor_kind=kind,
                                locality=None if lid is None else self.locality_info(lid),
                                release=self.release.id, sources=sources,
                                present_at_induction=present_at_induction)

    # -- lookups ------------------------------------------------------------
    def code_rows(self, hcpcs: str, modifier: str | None = None) -> pd.DataFrame:
        """The PPRRVU row(s) of a code with modifier 26/TC/53 (or none); raises for others."""
        code, mod = split_code(hcpcs, modifier)
        rows = self.rvus[(self.rvus["hcpcs"] == code) & (self.rvus["modifier"] == mod)]
        if rows.empty:
            self._unknown(code, mod)
        return rows

    def _priced_row(self, code: str, mod: str) -> tuple[pd.DataFrame, list[Reason]]:
        """(PPRRVU row, notes) for code + modifier, by what the modifier does to the amount."""
        effect = modifier_effect(mod)
        if effect == "policy":
            raise UnsupportedModifierError(
                f"{code}-{mod}: modifier {mod} changes the payment under CMS's payment-policy rules, "
                "which a quote (the fee schedule amount) does not apply; price it as a claim line with "
                "rvucalc.reprice / `rvucalc reprice` (50, 51, 62, 66, 80-82, AS ...)"
                + (" or, for anesthesia modifiers, fs.anesthesia / `rvucalc anes`"
                   if mod in anesthesia.MODIFIERS else ""))
        notes: list[Reason] = []
        if effect == "none":
            notes.append(Reason(code=MODIFIER_NOTE.code, rule=MODIFIER_NOTE.rule,
                                message=f"modifier {mod} does not change the fee schedule amount; "
                                        f"priced from {code}'s own row"))
            mod = ""
        return self.code_rows(code, mod), notes

    def _unknown(self, code: str, mod: str) -> None:
        if mod and (self.rvus["hcpcs"] == code).any():
            mods = sorted(set(self.rvus.loc[self.rvus["hcpcs"] == code, "modifier"]))
            shown = ", ".join(m or "(none)" for m in mods)
            raise UnknownCodeError(f"{code} has no row with modifier {mod} in {self.release.id} "
                                   f"(rows exist for modifiers: {shown}); other modifiers are "
                                   "priced from the code's own row with payment-policy rules")
        where = f"{self.release.label} ({self.sources['pprrvu'].file})"
        other = fee_schedule_of(code)
        if other is not None:
            raise UnknownCodeError(f"{code} is not on the physician fee schedule ({where}): it is "
                                   f"{other.hint}")
        near = difflib.get_close_matches(code, self._codes, n=5, cutoff=0.6)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UnknownCodeError(f"{code} is not in {where}{hint}")

    @functools.cached_property
    def _codes(self) -> list[str]:
        return sorted(set(self.rvus["hcpcs"]))

    def resolve_locality(self, locality: str | None = None, zip: str | int | None = None, *,
                         county: str | int | None = None) -> str | None:
        """Locality id (``"01182-18"``) from a locality id in any common form, a ZIP code
        (int or text, padded to five digits) or a county FIPS code.

        ``None`` for none of them (national). A MAC + locality that CMS lists under a
        second MAC of the same state (California's 01112/01182) resolves to the
        GPCI row with the same state and locality number. A county is placed by
        :meth:`county_locality`. Two of them at once are refused
        (:func:`rvucalc.arguments.one_place`): rvucalc never picks one place for the caller.
        """
        arguments.one_place(locality=locality, zip=zip, county=county)
        if zip is not None:
            z = normalise_zip(zip)
            hit = self.zip5.loc[self.zip5["zip"] == z, "locality_id"]
            if hit.empty:
                raise UnknownLocalityError(f"ZIP {z} is not in {self.sources['zip5'].file}")
            return self._canonical_locality(str(hit.iloc[0]))
        if county is not None:
            return self.county_locality(county)[0]
        if locality is None or str(locality).strip().lower() in ("", "national", "us"):
            return None
        m = re.fullmatch(r"\s*(\d{4,5})\D*(\d{1,2})\s*", str(locality))
        if not m:
            raise UnknownLocalityError(
                f"{locality!r} is not a locality id; use MAC-locality like '01182-18' "
                "(see rvucalc localities), or a ZIP code")
        return self._canonical_locality(f"{m.group(1).zfill(5)}-{m.group(2).zfill(2)}")

    @functools.cached_property
    def counties(self) -> pd.DataFrame:
        """CMS's county crosswalk (FIPS -> county name, state, CBSA) from the newest wage index
        release that has one; its source is ``sources['county']``."""
        errors: list[str] = []
        for r in reversed(catalogue.releases("wage_index")):
            if "county" not in r.files:
                continue
            try:
                loc = locate(r, "county", mirror=self.mirror, download=self.download, progress=self.progress)
            except ChecksumError:
                raise
            except (MissingFileError, DownloadError) as exc:
                errors.append(str(exc))
                continue
            self.sources["county"] = _source(loc, "county names and states only (FIPS -> county)")
            return read_cached(loc, read_wage_index_county)
        raise MissingFileError("no county crosswalk (FIPS -> county) is at hand: " + " | ".join(errors[:1]))

    def county_locality(self, fips: str | int) -> tuple[str, str]:
        """(locality id, how it was placed) for a 5-digit county FIPS code.

        The county's name and state come from CMS's county crosswalk
        (:attr:`counties`); the locality is the one whose LOCCO county list names
        it (spelling slips in CMS's list, e.g. ``ORAGNGE``, are matched at 85%
        similarity), else the state's only locality, else the state's ``ALL OTHER
        COUNTIES`` locality when no other locality of the state names a county
        like it. Anything else raises :class:`UnknownLocalityError` asking for a
        ZIP code or locality id: a county is never placed by guess.
        """
        s = re.sub(r"\D", "", str(fips))
        if not s or len(s) > 5:
            raise UnknownLocalityError(f"{fips!r} is not a county FIPS code (five digits, e.g. 06037)")
        s = s.zfill(5)
        ct = self.counties
        hit = ct[ct["fips"] == s]
        if hit.empty:
            raise UnknownLocalityError(f"county {s} is not in {self.sources['county'].file}")
        name, st = str(hit["county_name"].iloc[0]).strip().upper(), str(hit["state"].iloc[0]).strip().upper()
        label = f"county {s} {name.title()}, {st}"
        p = places.place_county(name, st, self.localities)
        if p.locality_id is not None:
            return p.locality_id, f"{label} {p.how}"
        if p.problem == "no_locality":
            raise UnknownLocalityError(f"{label}: no payment locality of state {st} in {self.sources['gpci'].file}")
        if p.problem == "several":
            raise UnknownLocalityError(f"{label} matches several localities ({', '.join(p.candidates)});"
                                       " give the ZIP code or the locality id")
        raise UnknownLocalityError(f"{label} could not be placed in a payment locality from "
                                   f"{self.sources.get('locco', self.sources['gpci']).file}; give the ZIP code "
                                   "or the locality id")

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

    def _gpci_rows(self, localities: Iterable[str] | None, work_floor: bool = True) -> pd.DataFrame:
        gt = self.gpci_for(work_floor)
        asked = arguments.localities(localities)
        if asked is None:
            return gt
        ids = [self.resolve_locality(x) for x in asked]
        if None in ids:
            raise UnknownLocalityError("localities lists 'national', which is not a payment locality: for "
                                       "national amounts (GPCIs 1.0) pass national=True")
        arguments.distinct_localities(asked, ids)
        return gt.set_index("locality_id").loc[ids].reset_index()

    def locality_info(self, locality_id: str) -> LocalityInfo:
        """The locality's MAC, number, state, name, counties and GPCIs (from the GPCI and LOCCO
        files of this release)."""
        row = self.localities.loc[self.localities["locality_id"] == locality_id].iloc[0]
        return LocalityInfo(
            locality_id=locality_id, mac=row["mac"], locality=row["locality"], state=row["state"],
            name=row["locality_name"], counties=row.get("counties", "") or "",
            work_gpci=row["work_gpci"], work_gpci_no_floor=row["work_gpci_no_floor"],
            pe_gpci=row["pe_gpci"], mp_gpci=row["mp_gpci"])

    # -- pricing ------------------------------------------------------------
    def _cf(self, conversion_factor: float | str | WhatIfCF | None, qp: bool | None) -> tuple[float, str]:
        w = parse_cf(conversion_factor)
        if w is not None:  # a percent is of the release's own CF (QP when asked)
            own, own_kind = self._own_cf(qp)
            return w.value(own), w.kind(own, own_kind)
        if qp is None or (qp is False and "nonqp" not in self.release.conversion_factors):
            return self.conversion_factor, self.conversion_factor_kind
        return self._own_cf(qp)

    def _own_cf(self, qp: bool | None) -> tuple[float, str]:
        """The release's own CF, before any what-if: QP (*qp* True), non-QP (False) or as loaded."""
        if qp is True:
            cf = self.release.conversion_factors.get("qp")
            if cf is None:
                raise ReleaseNotFoundError(f"{self.release.id}: no QP conversion factor in the catalogue")
            return cf, "QP (qualifying APM participant)"
        if qp is False and "nonqp" in self.release.conversion_factors:
            return self.release.conversion_factors["nonqp"], "non-QP"
        return self.own_conversion_factor, self.own_conversion_factor_kind

    def quote(
        self,
        hcpcs: str,
        modifier: str | None = None,
        *,
        locality: str | None = None,
        zip: str | int | None = None,
        county: str | int | None = None,
        conversion_factor: float | str | WhatIfCF | None = None,
        qp: bool | None = None,
        work_floor: bool | None = None,
        rural: bool | str | None = None,
    ) -> Quote:
        """Price one code nationally or in one locality (given as a locality id, a ZIP code or a
        county FIPS code).

        A lab test, drug or DME item the PFS does not pay (80053, J9271, E0601-RR) is priced per
        unit from its own schedule (CLFS, ASP, DMEPOS) for this release's quarter, and
        ``fee_schedule`` says which (:mod:`rvucalc.schedules.surface`); DME takes the state of
        the ZIP code or locality and *rural* (``"Y"``/``"N"``; never assumed). Where that
        schedule's file of the year is not at hand, the PFS's answer stands (``NOT_PFS_CLFS`` ...).

        Modifiers 26/TC/53 are priced from their own rows; modifiers that do not change
        the fee schedule amount (25, 59, LT/RT, XU, 95 ...) are priced from the code's own
        row with a note in ``notes``; payment-policy modifiers (50, 62, 80 ...) raise
        :class:`~rvucalc.errors.UnsupportedModifierError` pointing to :func:`rvucalc.reprice`.
        Amounts are rounded to cents, half up, once at the end (see
        :mod:`rvucalc.calc.pfs`). A setting with no amount carries its reason.
        """
        code, mod = split_code(hcpcs, modifier)
        key = "" if mod and modifier_effect(mod) == "row" else self._fee_key(code)  # 80053-26: the PFS's answer
        if key:
            fq = self._fee_quote(key, code, mod, locality=locality, zip=zip, county=county, rural=rural)
            if fq is not None:
                return fq
        rows, notes = self._priced_row(code, mod)
        lid = self.resolve_locality(locality, zip, county=county)
        floor = self.work_floor if work_floor is None else work_floor
        cf, kind = self._cf(conversion_factor, qp)
        gt = self.gpci_for(floor)
        g = None if lid is None else gt[gt["locality_id"] == lid]
        # the -26 row is needed for the global row's OPPS cap
        fam = self.rvus[self.rvus["hcpcs"] == code]
        pm = pfs_calc.price_matrix(fam, g, cf, work_floor=floor)
        i = int(np.flatnonzero((fam["modifier"] == rows["modifier"].iloc[0]).to_numpy())[0])
        r = fam.iloc[i]
        amounts = {}
        for s in pfs_calc.SETTINGS:
            # the status reason with the fee schedule that pays the code, as every surface says it
            why = pfs_calc.with_other_schedule(fam["hcpcs"], fam["status"], pm.reason[s])[i]
            a = float(pm.amount[s][i, 0])
            cap_rows, caps = pm.opps_cap[s]
            cap = float(caps[list(cap_rows).index(i), 0]) if i in cap_rows else None
            ok = not np.isnan(a)
            amounts[s] = SettingAmount(
                setting=s, amount=a if ok else None,
                nonpar_amount=float(pfs_calc.nonpar(a)) if ok else None,
                limiting_charge=float(pfs_calc.limiting_charge(a)) if ok else None,
                opps_capped=bool(pm.capped[s][i, 0]), opps_cap=cap,
                reason=explain(str(why)))
        if str(r["status"]) == "J":
            notes.append(anesthesia.ANES_HINT)
        said = what_if_note(cf, kind)  # the CSV and JSON say the what-if too, not only the heading
        if said is not None:
            notes.append(said)
        srcs = [self.sources["pprrvu"]] + ([self.sources["gpci"]] if lid else [])
        if lid and not floor and "gpci_no_floor" in self.sources:
            srcs.append(self.sources["gpci_no_floor"])
        z = None if zip is None else normalise_zip(zip)
        if z is not None:
            srcs.append(self.sources["zip5"])
        placed = ""
        if county is not None and zip is None and locality is None:
            placed = self.county_locality(county)[1]
            srcs += [self.sources[k] for k in ("county", "locco") if k in self.sources]
        return Quote(
            hcpcs=r["hcpcs"], modifier=r["modifier"], asked=code + (f"-{mod}" if mod else ""),
            description=r["description"], status=r["status"],
            global_days=r["global_days"], pctc=r["pctc"],
            indicators={k: str(r[k]) for k in ("mult_proc", "bilat_surg", "asst_surg", "co_surg",
                                               "team_surg", "endo_base", "imaging_family", "pricing_ind")},
            rvus=RVUs(work=r["work_rvu"], pe_nonfacility=r["pe_nonfacility"], pe_facility=r["pe_facility"],
                      mp=r["mp_rvu"], total_nonfacility=r["total_nonfacility"],
                      total_facility=r["total_facility"]),
            locality=None if lid is None else self.locality_info(lid).model_copy(update={
                "work_gpci_no_floor": float(gt.loc[gt["locality_id"] == lid, "work_gpci_no_floor"].iloc[0])}), zip=z, placed=placed,
            conversion_factor=cf, conversion_factor_kind=kind, work_gpci_floor=floor,
            nonfacility=amounts["nonfacility"], facility=amounts["facility"], notes=notes,
            release=self.release.id, sources=srcs)

    # -- lab, drug and DME codes (issue 21) ------------------------------------
    def _fee_key(self, code: str) -> str:
        """``clfs``/``asp``/``dmepos`` for a code of that schedule the PFS does not pay (not in
        the PPRRVU file, or no row of a payable status), else ``""``."""
        other = fee_schedule_of(code)
        if other is None or other.key not in fee_surface.KEYS:
            return ""
        if code not in self._codes_set:
            return other.key
        status = set(self.rvus.loc[self.rvus["hcpcs"] == code, "status"].astype(str))
        return "" if status & (set(pfs_calc.PAYABLE_STATUS) | {"J"}) else other.key

    def _state_of(self, lid: str | None, zip: str | int | None) -> str:
        """The state of a ZIP code (ZIP5 file), else of a locality; ``""`` when neither is known."""
        if zip is not None:
            z = self.zip5
            hit = z.loc[z["zip"] == normalise_zip(zip), "state"]
            if len(hit):
                return str(hit.iloc[0])
        return self.locality_info(lid).state if lid else ""

    def _fee_quote(self, key: str, code: str, mod: str, *, locality: str | None, zip: str | int | None,
                   county: str | int | None, rural: bool | str | None) -> Quote | None:
        """A quote of one unit from the code's own schedule, or None when its file is not at hand."""
        y, q = fee_surface.release_quarter(self.release)
        lid = self.resolve_locality(locality, zip, county=county)
        state = self._state_of(lid, zip) if key == "dmepos" else None
        r = None if rural is None else ("Y" if rural is True else "N" if rural is False else str(rural))
        z = None if zip is None else normalise_zip(zip)
        res = fee_surface.price_codes([key], [code], [mod], y, q, state=[state], rural=[r], zip=[z],
                                      mirror=self.mirror)
        row = res.iloc[0]
        if not bool(row["priced"]):
            return None
        amount = None if np.isnan(row["amount"]) else float(row["amount"])
        why = explain(str(row["reason"])) if row["reason"] else None
        amounts = {s: SettingAmount(setting=s, amount=amount, nonpar_amount=None, limiting_charge=None,
                                    reason=why) for s in pfs_calc.SETTINGS}
        srcs = list(res.attrs.get("sources", []))
        if z is not None and key == "dmepos":
            srcs.append(self.sources["zip5"])
        return Quote(
            hcpcs=code, modifier=mod, asked=code + (f"-{mod}" if mod else ""), description=str(row["description"]),
            status="", global_days="", pctc="", indicators={}, rvus=None,
            locality=None if lid is None else self.locality_info(lid), zip=z,
            conversion_factor=self.conversion_factor, conversion_factor_kind=self.conversion_factor_kind,
            work_gpci_floor=self.work_floor, nonfacility=amounts["nonfacility"], facility=amounts["facility"],
            notes=[], release=self.release.id, sources=srcs, fee_schedule=key, fee_release=str(row["release"]),
            fee_release_note=str(row["release_note"]))

    def _fee_rows(self, out: pd.DataFrame, *, rural: Any = None, zips: Any = None,
                  rate_column: str | None = None, base_release: str = "", copy: bool = True) -> pd.DataFrame:
        """:func:`rvucalc.schedules.surface.fill_rows` for rows with ``locality_id`` (the state of
        DME rows: their ZIP code's in the ZIP5 file where *zips* gives one, else the locality's)."""
        y, q = fee_surface.release_quarter(self.release)
        states = None
        if "dmepos" in set(fee_surface.schedule_column(out["reason"]).categories):
            st = self.localities.set_index("locality_id")["state"].astype(str)
            loc = pd.Categorical(out["locality_id"])  # per distinct locality, not per row
            per_loc = [st.get(str(c), "") for c in loc.categories] + [""]
            names = list(dict.fromkeys(per_loc))
            remap = np.array([names.index(x) for x in per_loc], dtype=np.int64)
            lc = np.asarray(loc.codes)
            states = pd.Categorical.from_codes(remap[np.where(lc >= 0, lc, len(per_loc) - 1)], categories=names)
            if zips is not None:
                z = self.zip5.drop_duplicates("zip").set_index("zip")["state"].astype(str)
                by_zip = pd.Series(np.asarray(zips, dtype=object)).map(z).fillna("").to_numpy(dtype=object)
                states = np.where(by_zip != "", by_zip, np.asarray(states, dtype=object))
        return fee_surface.fill_rows(out, year=y, quarter=q, states=states, rural=rural, mirror=self.mirror,
                                     amount_columns=("amount",),
                                     blank_columns=("nonpar_amount", "limiting_charge"), rate_column=rate_column,
                                     base_release=base_release or self.release.id, copy=copy)

    def price_matrix(
        self,
        codes: Sequence[str] | None = None,
        localities: Iterable[str] | None = None,
        *,
        conversion_factor: float | str | WhatIfCF | None = None,
        qp: bool | None = None,
        work_floor: bool | None = None,
        national: bool = False,
    ) -> pfs_calc.PriceMatrix:
        """Amounts as arrays (RVU rows × localities) per setting: the fast path.

        With *codes*, the -26 rows of the selected PC/TC codes are priced too
        (their work RVU sets the global's OPPS cap); ``pm.rvus`` lists the rows.
        Unknown codes raise :class:`UnknownCodeError`.
        """
        return self._priced(codes, localities, conversion_factor, qp, work_floor, national)[1]

    def _priced(self, codes: Sequence[str] | None, localities: Iterable[str] | None,
                conversion_factor: float | str | WhatIfCF | None, qp: bool | None, work_floor: bool | None,
                national: bool, errors: str = "raise") -> tuple[np.ndarray, pfs_calc.PriceMatrix]:
        """(rows asked for, price matrix) shared by :meth:`price_matrix` and :meth:`schedule`."""
        codes = arguments.names(codes, "codes", example="['99213', '20983']")
        rv = self._select(codes, errors)
        asked = rv["_asked"].to_numpy() if "_asked" in rv else np.ones(len(rv), dtype=bool)
        cf, _ = self._cf(conversion_factor, qp)
        floor = self.work_floor if work_floor is None else work_floor
        g = None if national else self._gpci_rows(localities, floor)
        pm = pfs_calc.price_matrix(rv.drop(columns="_asked", errors="ignore"), g, cf, work_floor=floor)
        return asked, pm

    @functools.cached_property
    def _pairs(self) -> set[tuple[str, str]]:
        return set(zip(self.rvus["hcpcs"].astype(str), self.rvus["modifier"].astype(str), strict=True))

    def _wanted(self, codes: Sequence[str] | str, errors: str) -> list[tuple[str, str, str, Reason | None]]:
        """Per distinct code asked, in order: (asked code, code, PPRRVU modifier, reason).

        *reason* is None for a code priced from a PPRRVU row, else why it is not on the
        PFS (``errors="keep"``); ``errors="raise"`` raises instead.
        """
        out: list[tuple[str, str, str, Reason | None]] = []
        for c in dict.fromkeys([codes] if isinstance(codes, str) else codes):
            try:
                code, mod = split_code(c)
            except UnknownCodeError:
                if errors == "raise":
                    raise
                out.append((str(c).strip().upper(), str(c).strip().upper(), "", NOT_IN_RELEASE))
                continue
            asked = code + (f"-{mod}" if mod else "")
            effect = modifier_effect(mod)
            row_mod = mod if effect == "row" else ""
            if effect == "policy" or (code, row_mod) not in self._pairs:
                if errors == "raise":
                    self._priced_row(code, mod)
                why = (not_on_pfs_reason(code) if code not in self._codes_set
                       else NOT_IN_RELEASE if effect != "policy" else POLICY_MODIFIER)
                out.append((asked, code, mod, why))
                continue
            out.append((asked, code, row_mod, None))
        return out

    @functools.cached_property
    def _codes_set(self) -> set[str]:
        return set(self._codes)

    def _select(self, codes: Sequence[str] | None, errors: str = "raise") -> pd.DataFrame:
        if codes is None:
            return self.rvus
        ok = [(c, m) for _, c, m, why in self._wanted(codes, errors) if why is None]
        plain = {c for c, m in ok if not m}
        pairs = {(c, m) for c, m in ok if m}
        mask = self.rvus["hcpcs"].isin(plain) | pd.Series(
            list(zip(self.rvus["hcpcs"], self.rvus["modifier"])), index=self.rvus.index).isin(pairs)
        found = set(self.rvus.loc[mask, "hcpcs"])
        # keep the -26 rows of selected PC/TC codes: their work RVU sets the global's OPPS cap
        fam = self.rvus["hcpcs"].isin(found)
        return self.rvus[mask | (fam & (self.rvus["modifier"] == "26"))].assign(
            _asked=mask[mask | (fam & (self.rvus["modifier"] == "26"))])

    def schedule(
        self,
        codes: Sequence[str] | None = None,
        localities: Iterable[str] | None = None,
        *,
        conversion_factor: float | str | WhatIfCF | None = None,
        qp: bool | None = None,
        work_floor: bool | None = None,
        national: bool = False,
        errors: str = "keep",
        rural: bool | str | None = None,
    ) -> pd.DataFrame:
        """Long table: one row per code (+modifier) × locality × setting.

        ``fee_schedule`` says which schedule prices each row: ``pfs``, or for a lab test, drug or
        DME item the PFS does not pay, ``clfs``/``asp``/``dmepos``, priced per unit from that
        schedule's file of this release's quarter (``release`` then names that file's release;
        DME by the locality's state and *rural*, never assumed). Where no such file of the year
        is at hand the row keeps no amount and ``NOT_PFS_CLFS`` ... .

        Columns: hcpcs, modifier, locality_id, setting, amount, nonpar_amount,
        limiting_charge, opps_capped, reason (code; see :func:`rvucalc.explain`),
        status, global_days, conversion_factor, release. ``national=True`` prices
        with all GPCIs 1 (``locality_id`` ``"national"``).

        With *codes*, rows come in the order the codes were asked. Rows asked for
        are never dropped: an unpayable code has a reason, and a code that is not
        on the PFS at all (``0001U``, ``J9271``, a typo) keeps its rows with no
        amount and a reason saying which fee schedule pays it (``NOT_PFS_CLFS``,
        ``NOT_PFS_ASP`` ..., or ``PFS_CODE_ABSENT``); ``errors="raise"`` raises
        :class:`UnknownCodeError` instead. A modifier with no price effect (25,
        59 ...) is priced from the code's own row and keeps the modifier asked.
        Missing amounts are NaN; reason and other text columns are ``""`` when
        empty (never NaN/None).
        """
        if errors not in ("keep", "raise"):
            raise InvalidArgumentError(f"errors must be 'keep' or 'raise', not {errors!r}")
        asked, pm = self._priced(codes, localities, conversion_factor, qp, work_floor, national, errors)
        out = pfs_calc.to_long(pm)
        if not asked.all():
            k = len(pm.locality_ids)
            keep = np.tile(np.repeat(asked, k), len(pm.amount))
            out = out[keep].reset_index(drop=True)
        if codes is not None:
            out = self._in_asked_order(out, codes, pm.locality_ids, list(pm.amount), errors)
        out["conversion_factor"] = pm.conversion_factor
        return self._fee_rows(out, rural=rural, base_release=self.release.id, copy=False)  # + release, fee_schedule

    def _in_asked_order(self, out: pd.DataFrame, codes: Sequence[str] | str, locality_ids: np.ndarray,
                        settings: list[str], errors: str) -> pd.DataFrame:
        """Reorder *out* to the codes' asked order and add the rows of codes not on the PFS.

        Works on blocks (one PPRRVU row × setting = the localities' rows) and takes the
        long rows by position, so thousands of codes reorder in one numpy sort.
        """
        wanted = self._wanted(codes, errors)
        bad: list[tuple[str, str, str, int]] = []
        by_code: dict[str, int] = {}  # a code asked without modifier: all its rows (global, 26, TC ...)
        by_row: dict[str, int] = {}  # a code asked with 26/TC/53: that row
        shared: list[tuple[int, str, str]] = []  # 99213-25: a copy of the code's own row
        for o, (asked_code, code, mod, why) in enumerate(wanted):
            if why is not None:
                bad.append((code, mod, why.code, o))
            elif asked_code == code:
                by_code.setdefault(code, o)
            elif split_code(asked_code)[1] == mod:
                by_row.setdefault(asked_code, o)
            else:
                shared.append((o, code, split_code(asked_code)[1]))
        k = len(locality_ids)
        first = np.arange(len(out) // k) * k  # first long row of each block
        hc = out["hcpcs"].to_numpy()[first].astype(str)
        md = out["modifier"].to_numpy()[first].astype(str)
        key = np.char.add(hc, np.where(md != "", np.char.add("-", md), ""))
        sb = out["setting"].cat.codes.to_numpy()[first]
        ob = pd.Series(key).map(by_row).fillna(pd.Series(hc).map(by_code)).to_numpy(dtype=float)  # no block: empty
        real = np.flatnonzero(~np.isnan(ob))
        blk, order, sett, mods = [real], [ob[real]], [sb[real]], [np.full(len(real), None, dtype=object)]
        for o, code, asked_mod in shared:  # only codes asked with a modifier of no price effect
            hit = np.flatnonzero(key == code)
            blk.append(hit), order.append(np.full(len(hit), o)), sett.append(sb[hit])
            mods.append(np.full(len(hit), asked_mod, dtype=object))
        bk, od, st, mo = (np.concatenate(x) for x in (blk, order, sett, mods))
        nreal = len(bk)
        bad_s = np.repeat(np.arange(len(settings)), len(bad))
        bad_o = np.tile([b[3] for b in bad], len(settings)) if bad else np.zeros(0)
        perm = np.lexsort((np.concatenate([od, bad_o]), np.concatenate([st, bad_s])))
        if not shared and not bad:
            rows = (bk[perm][:, None] * k + np.arange(k)).ravel()
            return out.iloc[rows].reset_index(drop=True)
        # the final blocks in order: real ones (a block of *out*) and rows of codes not on the PFS
        nb = len(perm)
        src = np.full((nb, k), -1, dtype=np.int64)
        is_real = perm < nreal
        src[is_real] = bk[perm[is_real]][:, None] * k + np.arange(k)
        src = src.ravel()
        have = src >= 0
        m = len(settings)
        bad_idx = np.zeros(nb, dtype=int)  # position in *bad* of each bad block
        bad_idx[~is_real] = (perm[~is_real] - nreal) % max(len(bad), 1)
        bad_rows = np.repeat(bad_idx, k)[~have]
        cols: dict[str, Any] = {}
        for c in out.columns:
            col = out[c]
            if isinstance(col.dtype, pd.CategoricalDtype):
                if c == "hcpcs":
                    extra = np.array([b[0] for b in bad], dtype=object)[bad_rows]
                elif c == "modifier":
                    extra = np.array([b[1] for b in bad], dtype=object)[bad_rows]
                elif c == "reason":
                    extra = np.array([b[2] for b in bad], dtype=object)[bad_rows]
                elif c == "locality_id":
                    extra = np.tile(np.asarray(locality_ids, dtype=object), int((~is_real).sum()))
                elif c == "setting":
                    extra = np.repeat(np.asarray(settings, dtype=object)[np.repeat(
                        np.arange(m), len(bad))[perm[~is_real] - nreal]], k) if bad else np.zeros(0, object)
                else:
                    extra = np.full(int((~have).sum()), "", dtype=object)
                over = mo[perm[is_real]] if c == "modifier" else None  # per real block
                asked_mods = [] if over is None else [v for v in dict.fromkeys(over) if v is not None]
                known = set(col.cat.categories.astype(str))
                cats = pd.Index(col.cat.categories.astype(str)).append(pd.Index(
                    [x for x in dict.fromkeys([*map(str, extra), *asked_mods]) if x not in known],
                    dtype=object)).astype(str)
                codes = np.empty(len(src), dtype=np.int64)
                codes[have] = col.cat.codes.to_numpy()[src[have]]
                if over is not None and asked_mods:
                    blk_codes = pd.Series(over, dtype=object).map(
                        {v: cats.get_loc(v) for v in asked_mods}).fillna(-1).to_numpy(dtype=np.int64)
                    o_codes = np.repeat(blk_codes, k)
                    codes[have] = np.where(o_codes >= 0, o_codes, codes[have])
                codes[~have] = cats.get_indexer(extra.astype(str)) if len(extra) else []
                cols[c] = pd.Categorical.from_codes(codes, categories=cats)
            else:
                vals = col.to_numpy()
                fill = np.nan if vals.dtype.kind == "f" else (False if vals.dtype.kind == "b" else "")
                arr = np.empty(len(src), dtype=vals.dtype if vals.dtype.kind in "fb" else object)
                arr[have] = vals[src[have]]
                arr[~have] = fill
                cols[c] = arr
        return pd.DataFrame(cols)

    def price_volumes(self, volumes: pd.DataFrame, *, code: str = "hcpcs", modifier: str = "modifier",
                      locality: str = "locality", zip: str = "zip", setting: str = "setting",
                      count: str = "count", conversion_factor: float | str | WhatIfCF | None = None,
                      qp: bool | None = None, rural: str = "rural") -> pd.DataFrame:
        """Price a volume table: one PFS amount and revenue per row, vectorised.

        *volumes* has a code column (``hcpcs``, may hold ``"99213-26"``), optional
        ``modifier``, ``locality`` (id, or ``national``) and/or ``zip``, optional ``setting``
        (``office``/``nonfacility`` or ``facility``) and ``count``. Column names can be
        renamed with the keyword arguments (a name the table lacks is refused). Every row
        comes back, in order, with the user's columns exactly as given and new columns
        ``locality_id``, ``pfs_setting``, ``amount`` (cents, half up; NaN when not payable),
        ``revenue`` (amount × count, rounded to cents; NaN with the amount or the count),
        ``reason`` (``""`` when paid; a code for :func:`rvucalc.explain` otherwise, e.g.
        ``NOT_PFS_CLFS`` for a lab code, ``BAD_LOCALITY`` / ``BAD_COUNT`` for a value that
        could not be read, ``VOL_NO_COUNT`` when the table has no count column: no revenue,
        never one service each) and ``note`` (pipe-separated codes: ``VOL_NATIONAL`` for a
        row with no ZIP or locality, priced nationally; ``VOL_SETTING_OFFICE`` for a row with
        no setting, priced in the office; ``MOD_NO_PRICE_EFFECT``). A setting word other than
        those of :data:`rvucalc.volumes.SETTINGS` (``hospital``, ``lab``) refuses the table
        with :class:`~rvucalc.errors.InvalidArgumentError` listing the accepted words; so does
        a table that already has one of the columns added. Also added: ``release`` and
        ``fee_schedule``.

        A lab test, drug or DME item the PFS does not pay is priced per unit from its own
        schedule (``fee_schedule`` ``clfs``/``asp``/``dmepos``; ``release`` that schedule's, of
        this release's quarter); DME by the state of the ZIP code or locality and the *rural*
        column (Y/N) where the table has one (never assumed: ``DMEPOS_RURAL_UNKNOWN``).
        """
        return volumes_mod.price_volumes(volumes, known_codes=self._codes_set, pairs=self._pairs,
                                         resolve_locality=self.resolve_locality,
                                         price_matrix=self.price_matrix, release=self.release.id,
                                         code=code, modifier=modifier, locality=locality,
                                         zip=zip, setting=setting, count=count,
                                         conversion_factor=conversion_factor, qp=qp,
                                         price_other=lambda t: self._fee_rows(
                                             t, zips=t["zip"], rate_column="unit_rate",
                                             rural=volumes[rural].to_numpy(dtype=object)
                                             if rural in volumes else None))

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
    downloaded (without *year*, the first year from the newest back that has
    either). A PPRRVU file at hand that fails its checksum raises
    :class:`ChecksumError` naming it: the choice never moves on to an older
    release or another year because of it.
    """
    year = arguments.year(year)
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
    known = sorted({r.year for r in catalogue.releases("pfs")})
    span = f"{known[0]}-{known[-1]}" if known else "none"
    if year is not None and year not in known:
        raise MissingFileError(f"rvucalc's catalogue has no PFS release for CY{year} (catalogued years: {span}); "
                               "choose another --year, or add the release to the catalogue (data/README.md)")
    where = "in the mirror or cache"
    if dl:
        raise MissingFileError(f"no PFS release for {year or 'any year'} is {where}, and none of its catalogued "
                               "releases has a download address; set RVUCALC_MIRROR to a folder holding the "
                               "CMS files")
    raise MissingFileError(f"no PFS release for {year or 'any year'} is {where} and downloads are off "
                           "(RVUCALC_OFFLINE or --offline); set RVUCALC_MIRROR to a folder holding the CMS files, "
                           "or allow downloads")


def load(
    year: int | None = None,
    release: str | None = None,
    *,
    mirror: str | os.PathLike[str] | None = None,
    qp: bool = False,
    conversion_factor: float | str | WhatIfCF | None = None,
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
        A what-if CF (:mod:`rvucalc.whatif`): dollars per RVU (``34.0``) or a percent of the
        release's own CF (``"98.8%"``, the same meaning in every year); refused unless > 0.
    work_floor:
        Use the work GPCI with the 1.0 floor (default) where the GPCI file has both.
    download:
        Allow downloads from CMS (default: yes unless ``$RVUCALC_OFFLINE`` is set).
    """
    year = arguments.year(year)
    parse_cf(conversion_factor)  # a what-if CF (dollars or a percent) refused before any file is read
    rel = choose_release(year, release, mirror=mirror, download=download)
    return FeeSchedule(rel, mirror=mirror, qp=qp, conversion_factor=conversion_factor,
                       work_floor=work_floor, download=download, progress=progress,
                       automatic=release is None)


__all__ = ["FeeSchedule", "load", "choose_release", "split_code"]
