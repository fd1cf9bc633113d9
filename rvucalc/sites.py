"""Facility payment systems beside the PFS, and the site-of-service comparison.

* :class:`OPPSRates` - hospital outpatient (HOPD) payments from OPPS Addendum B
  (rules in :mod:`rvucalc.calc.opps`);
* :class:`ASCRates` - ambulatory surgical center payments from ASC Addenda AA/BB
  (rules in :mod:`rvucalc.calc.asc`);
* :func:`compare_sites` - what Medicare pays in the office (PFS non-facility),
  in a HOPD (PFS facility professional amount + OPPS facility payment) and in
  an ASC (PFS facility professional amount + ASC facility payment).

Beneficiary shares: the professional service's 20% Part B coinsurance
(42 CFR 410.152), plus the facility's copayment (OPPS, 42 CFR 419.41) or
coinsurance (ASC, 42 CFR 416.171(b)); the annual Part B deductible is not
applied. Every amount is rounded to cents, half up.
"""

from __future__ import annotations

import math
import os
import re
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from . import arguments, catalogue
from .calc import asc as asc_calc
from .calc import opps as opps_calc
from .calc import places
from .calc.money import round_cents
from .catalogue import Release
from .codes import fee_schedule_of, normalise_zip, split_code
from .errors import (
    ChecksumError,
    DownloadError,
    MissingFileError,
    UnknownCodeError,
    UnknownLocalityError,
)
from .fetch import locate
from .iotools import asc as asc_io
from .iotools import opps as opps_io
from .loading import device_portions, read_cached, wage_tables
from .loading import source_of as _source
from .models import LocalityInfo, Schedule, Source
from .reasons import Reason, explain, reason
from .whatif import WHAT_IF, parse_cf

PART_B_COINSURANCE = 0.20

NO_RELEASE = {
    "opps": reason("OPPS_RELEASE_MISSING",
                   "no OPPS Addendum B for this year is at hand, so the hospital outpatient payment is unknown",
                   "OPPS Addendum B is published quarterly by CMS (see the catalogue's page/url)"),
    "asc": reason("ASC_RELEASE_MISSING",
                  "no ASC Addendum AA/BB for this year is at hand, so the ASC payment is unknown",
                  "ASC Addenda AA/BB are published quarterly by CMS (see the catalogue's page/url)"),
}
NATIONAL_FACILITY = reason(
    "FACILITY_NATIONAL_RATE",
    "no CBSA, county or wage index given: the facility amount is the national (unadjusted) rate",
    "42 CFR 419.43 (OPPS) and 416.172 (ASC): facility rates are wage adjusted by the provider's wage index")
#: A facility placed by the claim's (or the caller's) ZIP code when no CBSA, county or wage index
#: is given (:func:`zip_wage_index`): notes, never the reason a line is not paid.
PLACED_BY_ZIP = reason(
    "FACILITY_PLACED_BY_ZIP",
    "placed by the ZIP code: ZIP -> PFS payment locality (CMS ZIP5 file) -> its counties (LOCCO) -> "
    "one CBSA (CMS county crosswalk), whose wage index was used",
    "42 CFR 419.43(c) (OPPS) and 416.172(c) (ASC): the facility's wage index is that of its area; "
    "CMS ZIP5 file, RVU file LOCCO, FY wage index county crosswalk")
ZIP_NOT_ONE_CBSA = reason(
    "FACILITY_ZIP_NOT_ONE_CBSA",
    "the ZIP code does not place the facility: its PFS payment locality's counties lie in several CBSAs "
    "(or are not all known, e.g. a locality across a state line), so rvucalc does not pick one: national "
    "rate; give a cbsa or county_fips column",
    "CMS ZIP5 file, RVU file LOCCO, FY wage index county crosswalk")
ZIP_UNKNOWN = reason(
    "FACILITY_ZIP_UNKNOWN",
    "the ZIP code is not in the year's ZIP5 file, so it does not place the facility: national rate; "
    "give a cbsa or county_fips column", "CMS ZIP5 file (ZIP code to carrier locality)")
ZIP_NO_FILES = reason(
    "FACILITY_ZIP_NO_FILES",
    "the year's ZIP5 file, LOCCO, county crosswalk or wage index table is not at hand, so the ZIP code "
    "does not place the facility (another year's is never used): national rate; give a cbsa or "
    "county_fips column", "CMS ZIP5 file, RVU file LOCCO, wage index tables")
ZIP_NO_WAGE_INDEX = reason(
    "FACILITY_ZIP_CBSA_NO_WAGE_INDEX",
    "the ZIP code's CBSA has no single wage index in the year's table, so the ZIP does not place the "
    "facility: national rate; give a cbsa, county_fips or wage_index column",
    "CMS wage index tables (42 CFR 419.43, 416.172)")
#: Every code :func:`zip_wage_index` gives, placed first.
ZIP_CODES = (PLACED_BY_ZIP.code, ZIP_NOT_ONE_CBSA.code, ZIP_UNKNOWN.code, ZIP_NO_FILES.code,
             ZIP_NO_WAGE_INDEX.code)
OFFICE_NO_FACILITY = reason("OFFICE_NO_FACILITY_FEE", "office: no separate facility payment",
                            "42 CFR 414.22(b)(5): the non-facility PE RVUs pay the practice's costs")


def _near(year: int, system: str, effective: str | None) -> list[Release]:
    """Releases of *system* for *year*, newest first, those effective by *effective* first."""
    rels = catalogue.for_year(system, year)
    if effective:
        rels = sorted(rels, key=lambda r: (str(r.effective or "") <= effective, r.order), reverse=True)
    return rels


def _load_table(fs: Schedule, rel: Release, table: str, reader: Any) -> tuple[pd.DataFrame, Source]:
    loc = locate(rel, table, mirror=fs.mirror, download=fs.download, progress=fs.progress)
    return read_cached(loc, reader), _source(loc)


_NAMES = {"opps": "OPPS Addendum B", "asc": "ASC Addenda AA and BB"}


def _plain_cause(errors: list[str]) -> str:
    """The download failure in plain words (no exception text)."""
    text = " ".join(errors)
    if not text:
        return ""
    if any(k in text for k in ("NameResolution", "Name or service not known", "Max retries",
                                "ConnectionError", "ConnectTimeout", "Temporary failure", "timed out",
                                "could not be reached")):
        return "CMS's site could not be reached"
    m = (re.search(r"\b(4\d\d|5\d\d) (?:Client|Server) Error", text)
         or re.search(r"answered HTTP (\d\d\d)", text))
    if m:
        return f"CMS's site answered HTTP {m.group(1)}"
    if "sha256" in text or "hash" in text.lower():
        return "the downloaded file did not match its checksum"
    return "the download failed"


def unavailable_reason(fs: Schedule, system: str, errors: list[str]) -> Reason:
    """One sentence: this year's facility file is not at hand, and how to get it."""
    base = NO_RELEASE[system]
    return Reason(code=base.code, message=unavailable_text(system, fs.year, fs.download, errors),
                  rule=base.rule)


def unavailable_text(system: str, year: int, download: bool, errors: list[str] | tuple[str, ...] = ()
                     ) -> str:
    """``CMS's CY2026 OPPS Addendum B is not at hand (...): download ... or run `rvucalc fetch ...`.``

    The one wording of a missing facility file (``rvucalc sites 20983`` and the per-claim
    comparison alike); *system* is ``"opps"`` or ``"asc"``, *download* whether downloads were on.
    """
    want = catalogue.for_year(system, year)
    if want:
        r = want[-1]  # the first quarter of the year
        where = r.url or r.page or "the CMS website"
        get = (f"download {where} into the folder named by RVUCALC_MIRROR"
               + (f" or run `rvucalc fetch {r.id}` where cms.gov can be reached" if r.url else ""))
    else:
        get = "CMS publishes it quarterly; it is not in rvucalc's release catalogue yet"
    cause = _plain_cause(list(errors))
    tried = ("not in the mirror or the cache, and downloads are off" if not download
             else f"not in the mirror or the cache, and {cause or 'the download failed'}")
    return f"CMS's CY{year} {_NAMES[system]} is not at hand ({tried}): {get}."


def _first_available(fs: Schedule, system: str, tables: dict[str, Any]) -> tuple[Release, dict, list[Source]]:
    errors: list[str] = []
    for rel in _near(fs.year, system, fs.release.effective):
        try:
            got = {t: _load_table(fs, rel, t, rd) for t, rd in tables.items() if t in rel.files}
        except ChecksumError:
            raise  # a damaged or edited file is reported, never replaced by another quarter's
        except (MissingFileError, DownloadError) as exc:
            errors.append(str(exc))
            continue
        if got:
            return rel, {t: v[0] for t, v in got.items()}, [v[1] for v in got.values()]
    raise MissingFileError(unavailable_reason(fs, system, errors).message)


class FacilityRate(BaseModel):
    """The national facility rate of one code (OPPS or ASC)."""

    system: str
    hcpcs: str
    indicator: str  # OPPS status indicator or ASC payment indicator
    indicator_meaning: str
    apc: str = ""
    relative_weight: float | None
    payment_rate: float | None
    copay: float | None  # OPPS national unadjusted copayment / ASC coinsurance at wage index 1
    minimum_copay: float | None = None
    multiple_procedure_discount: bool | None = None
    reason: Reason | None
    source: Source | None  # None when the year's file is not at hand (reason says so)
    condition: str = ""  # when payment depends on other services on the claim (Q1-Q3, ASC integral items)

    def __str__(self) -> str:
        rate = "-" if self.payment_rate is None else f"${self.payment_rate:,.2f}"
        why = f" ({self.reason.message})" if self.reason else ""
        if self.source is None:
            return f"{self.system.upper()} {self.hcpcs}: no rate. {self.reason.message if self.reason else ''}"
        cond = f" [{self.condition}]" if self.condition else ""
        return (f"{self.system.upper()} {self.hcpcs}: {self.indicator} {self.indicator_meaning}"
                f"{', APC ' + self.apc if self.apc else ''}, national rate {rate}{cond}{why}\n"
                f"  source: {self.source}")


def payment_condition(system: str, indicator: str) -> str:
    """When a separately priced code is paid only depending on the rest of the claim, say so.

    OPPS status indicators Q1, Q2, Q3 and J2 are conditionally packaged (Addendum D1,
    :data:`rvucalc.calc.opps.STATUS_INDICATORS` ``conditional``); ASC payment indicators
    whose Addendum DD1 meaning says "paid separately when provided integral to a surgical
    procedure on ASC list" (Z2, Z3, H2, K2, S2 ...) are paid only with a covered surgical
    procedure, and N1 is packaged (no separate payment).
    """
    ind = str(indicator).strip().upper()
    if system == "opps":
        si = opps_calc.STATUS_INDICATORS.get(ind)
        if si is not None and si.conditional:
            return f"conditionally packaged (SI {ind}): {si.payment.lower()}"
        return ""
    pi = asc_calc.PAYMENT_INDICATORS.get(ind)
    if pi is None:
        return ""
    if ind == "N1":
        return "packaged (PI N1): no separate ASC payment"
    if "integral to a surgical procedure" in pi.meaning:
        return (f"conditional (PI {ind}): paid only when provided integral to a covered surgical "
                "procedure on the same claim")
    return ""


class UnavailableRates:
    """Stands in for :class:`OPPSRates` / :class:`ASCRates` when the year's file is not at hand.

    ``fs.opps.rate("20983")`` answers with no rate and :attr:`reason`, one sentence that
    says the file is not at hand and how to get it; :meth:`price` gives the codes asked
    with no payment and that reason. Any other attribute (``addendum_b`` ...) raises
    :class:`MissingFileError` with the same sentence. It is falsy.
    """

    available = False

    def __init__(self, fs: Schedule, system: str, reason: Reason) -> None:
        self.system, self.year, self.reason = system, fs.year, reason
        self.release = None
        self.sources: list[Source] = []

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<{self.system.upper()} CY{self.year} unavailable: {self.reason.message}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise MissingFileError(self.reason.message)

    def rate(self, hcpcs: str) -> FacilityRate:
        """No rate, with the reason the file is missing."""
        return FacilityRate(system=self.system, hcpcs=str(hcpcs).strip().upper(), indicator="",
                            indicator_meaning="", relative_weight=None, payment_rate=None, copay=None,
                            reason=self.reason, source=None)

    def price(self, wage_index: float | np.ndarray | pd.Series = 1.0, codes: list[str] | None = None) -> pd.DataFrame:
        """The *codes* asked, with no payment (NaN) and the reason code; raises without *codes*."""
        if codes is None:
            raise MissingFileError(self.reason.message)
        return pd.DataFrame({"hcpcs": [str(c).strip().upper() for c in codes], "payment": np.nan,
                             "reason": self.reason.code, "reason_text": self.reason.message})


def rates_or_unavailable(fs: Schedule, system: str) -> OPPSRates | ASCRates | UnavailableRates:
    """``fs.opps`` / ``fs.asc``: the year's rates, or :class:`UnavailableRates` saying why not."""
    try:
        return OPPSRates(fs) if system == "opps" else ASCRates(fs)
    except (MissingFileError, ChecksumError) as exc:  # a damaged file is said, never replaced
        base = NO_RELEASE[system]
        return UnavailableRates(fs, system, Reason(code=base.code, message=str(exc), rule=base.rule))


def _text(v: Any) -> str:
    """A text cell as text: ``""`` when missing (None, NaN, ``pd.NA``), never ``"<NA>"``."""
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _num(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) else float(v)


class OPPSRates:
    """OPPS Addendum B of the fee schedule's year (``fs.opps``)."""

    def __init__(self, fs: Schedule) -> None:
        self.release, tables, self.sources = _first_available(fs, "opps", {"addendum_b": opps_io.read_addendum_b})
        self.addendum_b: pd.DataFrame = tables["addendum_b"]
        self.year = self.release.year

    def rate(self, hcpcs: str) -> FacilityRate:
        """SI, APC, national payment rate and copayments of one code (unadjusted)."""
        d = opps_calc.national_rate(self.addendum_b, hcpcs)
        return FacilityRate(system="opps", hcpcs=d["hcpcs"], indicator=d["status_indicator"],
                            indicator_meaning=d["si_meaning"], apc=d["apc"] or "",
                            relative_weight=d["relative_weight"], payment_rate=d["payment_rate"],
                            copay=d["national_copay"], minimum_copay=d["minimum_copay"],
                            reason=explain(d["reason"]), source=self.sources[0],
                            condition=payment_condition("opps", d["status_indicator"]))

    def price(self, wage_index: float | np.ndarray | pd.Series = 1.0, codes: list[str] | None = None) -> pd.DataFrame:
        """The whole addendum (or *codes*) priced for a wage index, in one expression."""
        b = self.addendum_b if codes is None else self.addendum_b[self.addendum_b["hcpcs"].isin(codes)]
        return opps_calc.opps_payment(b, wage_index, year=self.year)


class ASCRates:
    """ASC Addenda AA and BB of the fee schedule's year (``fs.asc``)."""

    def __init__(self, fs: Schedule) -> None:
        self.release, tables, self.sources = _first_available(
            fs, "asc", {"addendum_aa": asc_io.read_addendum_aa, "addendum_bb": asc_io.read_addendum_bb})
        self.addendum_aa: pd.DataFrame = tables["addendum_aa"]
        self.addendum_bb: pd.DataFrame | None = tables.get("addendum_bb")
        self.year = self.release.year
        self.conversion_factor = asc_calc.asc_conversion_factor(self.year)
        # the quarter the rates were set for (the parsed-table cache keeps no attrs): a what-if CF
        # scales them from the release's own CF
        quarter = self.release.id.split("-", 1)[-1]
        for t in (self.addendum_aa, self.addendum_bb):
            if t is not None:
                t.attrs["quarter"] = quarter
        #: Addendum FF's device portions (national dollars per code), or None when not at hand:
        #: J8 rates then carry them as ``device_portion`` (42 CFR 416.171-416.172)
        got = device_portions(self.release, None if fs.mirror is None else os.fspath(fs.mirror),
                              fs.download, fs.progress)
        self.device_portions: pd.Series | None = None
        if got is not None:
            self.device_portions, src = got
            j8 = self.addendum_aa["payment_indicator"].astype(str).str.strip().str.upper() == "J8"
            dev = self.addendum_aa["hcpcs"].astype(str).map(self.device_portions)
            self.addendum_aa["device_portion"] = dev.where(j8).astype("float64")
            self.sources = [*self.sources, src]

    def _rows(self, hcpcs: str) -> tuple[pd.DataFrame, Source]:
        code = str(hcpcs).strip().upper()
        rows = self.addendum_aa[self.addendum_aa["hcpcs"] == code]
        if not rows.empty:
            return rows.head(1), self.sources[0]
        if self.addendum_bb is not None:
            rows = self.addendum_bb[self.addendum_bb["hcpcs"] == code]
            if not rows.empty:
                return rows.head(1), self.sources[1]
        raise UnknownCodeError(f"{code} is not on ASC Addendum AA or BB of {self.release.label}")

    def rate(self, hcpcs: str) -> FacilityRate:
        """Payment indicator, weight, national rate and discounting flag of one code."""
        rows, src = self._rows(hcpcs)
        p = asc_calc.asc_payment(rows, 1.0).iloc[0]
        return FacilityRate(system="asc", hcpcs=p["hcpcs"], indicator=p["payment_indicator"],
                            indicator_meaning=p["pi_meaning"], relative_weight=_num(p["relative_weight"]),
                            payment_rate=_num(p["payment_rate"]), copay=_num(p["coinsurance"]),
                            multiple_procedure_discount=bool(p.get("multiple_procedure_discount", False)),
                            reason=explain(p["reason"]), source=src,
                            condition=payment_condition("asc", p["payment_indicator"]))

    def price(self, wage_index: float | np.ndarray | pd.Series = 1.0, codes: list[str] | None = None,
              *, conversion_factor: float | None = None) -> pd.DataFrame:
        """Addendum AA (or *codes* from AA and BB) priced for a wage index, in one expression.

        *conversion_factor*: a what-if ASC CF, scaling the CF-based rates from the release's
        own CF (:func:`rvucalc.calc.asc.asc_payment`; a J8 device portion is not scaled).
        """
        rel_cf = self.conversion_factor.value
        conversion_factor = arguments.conversion_factor(conversion_factor)
        if codes is None:
            return asc_calc.asc_payment(self.addendum_aa, wage_index, conversion_factor=conversion_factor,
                                        release_conversion_factor=rel_cf)
        both = pd.concat([self.addendum_aa, self.addendum_bb], ignore_index=True) \
            if self.addendum_bb is not None else self.addendum_aa
        return asc_calc.asc_price_codes(codes, both, wage_index, conversion_factor=conversion_factor,
                                        release_conversion_factor=rel_cf)


class WageIndexChoice(BaseModel):
    value: float | None
    cbsa: str = ""
    cbsa_name: str = ""
    reasons: list[Reason] = []
    user_supplied: bool = False
    sources: list[Source] = []
    placement: str = ""  # where the facility was placed: CBSA or county, its name, the value and its file


class SiteRow(BaseModel):
    """One place of service in a comparison. Amounts in dollars, rounded to cents."""

    site: str  # office | hopd | asc
    label: str
    professional: float | None
    facility: float | None
    total: float | None
    medicare: float | None
    beneficiary: float | None
    indicator: str = ""
    wage_index: float | None = None
    reasons: list[Reason] = []
    sources: list[Source] = []
    condition: str = ""  # payment depends on the rest of the claim (see payment_condition)


class SiteComparison(BaseModel):
    hcpcs: str
    year: int
    locality: str | None
    rows: list[SiteRow]
    wage_index: dict[str, WageIndexChoice]
    locality_name: str = ""
    pfs_placement: str = ""  # how the physician's locality was found (ZIP, county, id) or "national"
    conversion_factor: float | None = None  # the PFS CF the physician amounts were priced at
    conversion_factor_kind: str = ""
    notes: list[str] = []  # said on every output: a what-if CF and what it does not scale

    @property
    def heading(self) -> str:
        """``20983, CY2026: PFS amounts for 01182-18 LOS ANGELES ... (ZIP 90012)``."""
        where = "national (GPCIs 1.000)" if self.locality is None else f"{self.locality} {self.locality_name}"
        how = f" ({self.pfs_placement})" if self.pfs_placement else ""
        return f"{self.hcpcs}, CY{self.year}: PFS amounts for {where}{how}"

    def to_frame(self) -> pd.DataFrame:
        """One row per site with the amounts, the reasons (codes and words) and the sources."""
        recs = []
        for r in self.rows:
            recs.append({
                "hcpcs": self.hcpcs, "year": self.year, "locality_id": self.locality or "national",
                "site": r.site, "label": r.label, "indicator": r.indicator,
                "professional": r.professional, "facility": r.facility, "total": r.total,
                "medicare": r.medicare, "beneficiary": r.beneficiary, "wage_index": r.wage_index,
                "condition": r.condition,
                "conversion_factor": self.conversion_factor, "conversion_factor_kind": self.conversion_factor_kind,
                "facility_placement": self.wage_index[r.site].placement if r.site in self.wage_index else "",
                "reason": "|".join(x.code for x in r.reasons),
                "reason_text": "; ".join(x.message for x in r.reasons),
                "sources": "; ".join(f"{s.release}:{s.file}" for s in r.sources),
            })
        df = pd.DataFrame(recs)
        for c in ("professional", "facility", "total", "medicare", "beneficiary", "wage_index",
                  "conversion_factor"):
            df[c] = df[c].astype(float)  # missing amounts are NaN, never None
        from .export import provenance_of

        srcs = list({str(s): s for r in self.rows for s in r.sources}.values())
        df.attrs["rvucalc.provenance"] = provenance_of(*srcs)
        if self.notes:
            df.attrs["rvucalc.notes"] = list(self.notes)
        df.attrs["rvucalc.summary"] = {"index": ["hcpcs", "site"], "columns": [],
                                       "values": ["professional", "facility", "total", "medicare", "beneficiary"],
                                       "chart": True, "title": f"{self.hcpcs}: where it is done, what Medicare pays"}
        return df

    def render_items(self) -> list[Any]:
        """The heading, the sites table and the notes, for :func:`rvucalc.render.emit`."""
        from .render import Table, usd

        t = Table(["site", "physician", "facility", "total", "Medicare", "patient", "SI/PI"],
                  numeric=["physician", "facility", "total", "Medicare", "patient"])
        for r in self.rows:
            ind = r.indicator + (" *" if r.condition else "")
            t.rows.append([r.label, usd(r.professional), usd(r.facility), usd(r.total), usd(r.medicare),
                           usd(r.beneficiary), ind])
        items: list[Any] = [self.heading, *self.notes, t]
        items += [f"* {r.label}: {r.condition}" for r in self.rows if r.condition]
        for site, wi in self.wage_index.items():
            label = "Hospital outpatient" if site == "hopd" else "ASC"
            if wi.placement:
                items.append(f"{label} facility placed: {wi.placement}")
        seen_r: set[tuple[str, str]] = set()
        for r in self.rows:
            for x in r.reasons:
                if (r.label, x.code) not in seen_r:
                    seen_r.add((r.label, x.code))
                    items.append(f"{r.label}: {x.message} [{x.code}]")
        seen: dict[str, None] = {}
        for r in self.rows:
            for src in r.sources:
                seen.setdefault(str(src))
        items.append("sources:\n" + "\n".join(f"  {x}" for x in seen))
        return items

    def __str__(self) -> str:
        from .render import to_text

        return to_text(*self.render_items())




def _wage_index(fs: Schedule, setting: str, cbsa: str | None, county_fips: str | None,
                wage_index: float | None, zip: str | None = None) -> WageIndexChoice:
    """The facility's wage index: the one given, else the CBSA's or county's, else the ZIP's
    when it lies in one CBSA (:func:`zip_wage_index`), else none (the national rate)."""
    if wage_index is not None:
        return WageIndexChoice(value=float(wage_index), user_supplied=True,
                               placement=f"wage index {float(wage_index):.4f} given by the user")
    if cbsa is None and county_fips is None and zip is not None:
        got, srcs = zip_wage_index(fs, setting, [normalise_zip(zip)])
        r = got.iloc[0]
        if r["reason"] == PLACED_BY_ZIP.code:
            notes = [x for x in (explain(str(r["wi_reason"])),) if x is not None]
            return WageIndexChoice(value=float(r["wage_index"]), cbsa=str(r["cbsa"]),
                                   cbsa_name=str(r["cbsa_name"]), sources=srcs,
                                   reasons=[PLACED_BY_ZIP, *notes], placement=str(r["placement"]))
        return WageIndexChoice(value=None, reasons=[NATIONAL_FACILITY, explain(str(r["reason"]))],  # type: ignore[list-item]
                               sources=srcs, placement=f"national rate ({r['placement']})")
    if cbsa is None and county_fips is None:
        return WageIndexChoice(value=None, reasons=[NATIONAL_FACILITY],
                               placement="national rate (no CBSA, county or wage index given)")
    got = wage_tables(fs.year, setting, None if fs.mirror is None else os.fspath(fs.mirror), fs.download)
    if got is None:
        return WageIndexChoice(value=None, reasons=[reason(
            "WI_RELEASE_MISSING", "no wage index file for this year is at hand",
            "see data/wage_index in the catalogue")])
    table, src, county_src = got
    res = table.lookup(cbsa=cbsa, county_fips=county_fips, setting=setting)
    if res.county_fips:  # the crosswalk placed the county: it is a source of the amount too
        src = [*src, *county_src]
    reasons = [r for r in (explain(c) for c in res.reasons) if r is not None]
    value = None if math.isnan(res.value) else res.value
    what = f"CBSA {res.cbsa}" + (f" {res.cbsa_name}" if res.cbsa_name else "")
    if res.county_fips:
        hit = table.counties[table.counties["fips"] == res.county_fips] if table.counties is not None else None
        cname = "" if hit is None or hit.empty else f" {str(hit['county_name'].iloc[0]).title()}, {hit['state'].iloc[0]}"
        what = f"county {res.county_fips}{cname} -> {what}"
    val = "no single value" if value is None else f"{value:.4f}"
    placement = f"{what}: wage index {val} ({src[0].file}, {src[0].release})"
    return WageIndexChoice(value=value, cbsa=res.cbsa, cbsa_name=res.cbsa_name, sources=src,
                           reasons=reasons, placement=placement)


_ZIP_TABLES: weakref.WeakKeyDictionary[Any, tuple[places.ZipTable | None, list[Source], str]] = \
    weakref.WeakKeyDictionary()
_ZIP_LOCK = threading.Lock()


def _zip_table(fs: Schedule, setting: str) -> tuple[places.ZipTable | None, list[Source], str]:
    """The ZIP -> CBSA table of *fs*'s year (built once per loaded schedule), its files (ZIP5,
    LOCCO, county crosswalk) and, when there is none, why (``""`` otherwise). The ZIP5 file and
    LOCCO must be of the schedule's year: another year's are never used."""
    with _ZIP_LOCK:
        got = _ZIP_TABLES.get(fs)
        if got is not None:
            return got
        out: tuple[places.ZipTable | None, list[Source], str]
        try:
            z = fs.zip5  # type: ignore[attr-defined]
            loc = fs.localities  # type: ignore[attr-defined]
            wt = wage_tables(fs.year, setting, None if fs.mirror is None else os.fspath(fs.mirror), fs.download)
        except (MissingFileError, DownloadError) as exc:
            out = (None, [], f"not at hand: {exc}")
        else:
            zsrc, lsrc = fs.sources.get("zip5"), fs.sources.get("locco")
            counties = None if wt is None else wt[0].counties
            if zsrc is None or catalogue.get(zsrc.release).year != fs.year:
                out = (None, [], f"no CY{fs.year} ZIP5 file at hand" + (f" ({zsrc.file} is not of CY{fs.year})"
                                                                        if zsrc is not None else ""))
            elif lsrc is None or catalogue.get(lsrc.release).year != fs.year:
                out = (None, [], f"no CY{fs.year} LOCCO (counties of each locality) at hand")
            elif counties is None or wt is None:
                out = (None, [], f"no county crosswalk or CY{fs.year} wage index table at hand")
            else:
                out = (places.zip_table(z, loc, counties), [zsrc, lsrc, *wt[2]], "")
        _ZIP_TABLES[fs] = out
        return out


def zip_wage_index(fs: Schedule, setting: str, zips: Any) -> tuple[pd.DataFrame, list[Source]]:
    """The facility's wage index from ZIP codes (5-digit text; pass distinct ones), for a place
    given no CBSA, county or wage index: the one rule of :func:`compare_sites`, the per-claim
    comparison and the facility claims (:func:`rvucalc.claims.facility.wage_index`).

    ZIP -> PFS payment locality (ZIP5) -> its counties (LOCCO) -> one CBSA (county crosswalk)
    (:mod:`rvucalc.calc.places`) -> that CBSA's wage index in *fs*'s year's table (*setting*
    ``"opps"``/``"asc"``; 42 CFR 419.43(c), 416.172(c)). Returns one row per ZIP: ``zip``,
    ``cbsa``, ``cbsa_name``, ``wage_index`` (NaN when the ZIP does not place the facility),
    ``reason`` (:data:`PLACED_BY_ZIP` or why not: :data:`ZIP_NOT_ONE_CBSA`, :data:`ZIP_UNKNOWN`,
    :data:`ZIP_NO_FILES`, :data:`ZIP_NO_WAGE_INDEX`), ``wi_reason`` (a note on the value used:
    ``WI_APPROX_OPPS`` ...), ``placement`` (the chain, or why not) - and the files used.
    """
    zs = pd.Series(np.asarray(zips, dtype=object)).astype(str)
    n = len(zs)
    out = pd.DataFrame({"zip": zs.to_numpy(), "cbsa": "", "cbsa_name": "", "wage_index": np.nan,
                        "reason": ZIP_NO_FILES.code, "wi_reason": "", "placement": ""})
    if not n:
        return out, []
    table, srcs, missing = _zip_table(fs, setting)
    if table is None:
        out["placement"] = f"the ZIP does not place the facility: {missing}"
        return out, []
    got = places.place_zips(table, zs.to_numpy())
    why = {places.PLACED: PLACED_BY_ZIP.code, places.NOT_IN_ZIP5: ZIP_UNKNOWN.code}
    out["reason"] = got["status"].map(why).fillna(ZIP_NOT_ONE_CBSA.code).to_numpy()
    out["placement"] = got["text"].to_numpy()
    ok = (got["status"] == places.PLACED).to_numpy()
    used = list(srcs)
    if ok.any():
        wt = wage_tables(fs.year, setting, None if fs.mirror is None else os.fspath(fs.mirror), fs.download)
        assert wt is not None  # _zip_table had it
        res = wt[0].lookup_many(cbsa=list(got.loc[ok, "cbsa"]), setting=setting)
        val = res["wage_index"].to_numpy(float)
        has = ~np.isnan(val)
        idx = np.flatnonzero(ok)
        out.loc[idx, "cbsa"] = got.loc[ok, "cbsa"].to_numpy()
        out.loc[idx, "cbsa_name"] = res["cbsa_name"].to_numpy()
        out.loc[idx, "wage_index"] = val
        out.loc[idx, "wi_reason"] = np.where(has, res["reason"].to_numpy(dtype=object), "")
        out.loc[idx[~has], "reason"] = ZIP_NO_WAGE_INDEX.code
        text = out.loc[idx, "placement"].to_numpy(dtype=object)
        file = f"{wt[1][0].file}, {wt[1][0].release}"
        words = [f"{t}: wage index {v:.4f} ({file})" if h else
                 f"{t}, but CBSA {c} has no single wage index in {file} ({r})"
                 for t, v, h, c, r in zip(text, val, has, got.loc[ok, "cbsa"], res["reason"], strict=True)]
        out.loc[idx, "placement"] = words  # the placed ZIPs: a few distinct values
        if has.any():
            used += wt[1]
    return out, used


def _hospital_wage_index(ccn: str | None, table2: str | os.PathLike[str] | None) -> tuple[float, list[Source]]:
    """The hospital's OPPS wage index from CMS's IPPS Table 2 (42 CFR 419.43(c): the IPPS wage index)."""
    from pathlib import Path

    from .fetch import sha256_file

    if ccn is None or table2 is None:
        raise UnknownLocalityError("give both hospital_ccn and ipps_table2 (the path of CMS's IPPS Table 2)")
    path = Path(table2)
    t2 = opps_io.read_ipps_table2(path)
    key = re.sub(r"\D", "", str(ccn)).zfill(6)
    hit = t2.loc[t2["ccn"] == key, "wage_index"]
    if hit.empty or pd.isna(hit.iloc[0]):
        raise UnknownLocalityError(f"hospital CCN {key} has no wage index in {path.name}")
    src = Source(release="user", release_label="IPPS Table 2 supplied by the user", table="ipps_table2",
                 file=path.name, sha256=sha256_file(path), origin="user", verified=False,
                 note=f"CCN {key}, column {t2.attrs.get('wage_index_column', 'wage index')}")
    return float(hit.iloc[0]), [src]


def _split(total: float | None, bene: float | None) -> tuple[float | None, float | None]:
    if total is None or bene is None:
        return None, None
    b = float(round_cents(bene))
    return float(round_cents(total - b)), b


def compare_sites(
    fs: Schedule,
    hcpcs: str,
    *,
    locality: str | None = None,
    zip: str | None = None,
    cbsa: str | None = None,
    county_fips: str | None = None,
    wage_index: float | None = None,
    opps_wage_index: float | None = None,
    hospital_ccn: str | None = None,
    ipps_table2: str | os.PathLike[str] | None = None,
    conversion_factor: float | str | None = None,
    asc_conversion_factor: float | str | None = None,
) -> SiteComparison:
    """Office vs hospital outpatient vs ASC for one code.

    *locality*/*zip* place the physician (PFS GPCIs). *cbsa*, *county_fips* or
    *wage_index* place the facility (wage index); *opps_wage_index* is the
    hospital's own IPPS wage index (Table 2), which OPPS really uses; without
    it a CBSA-based value is used and flagged as an approximation. Instead of
    the number, give *hospital_ccn* and *ipps_table2* (the path of CMS's IPPS
    Table 2 for the year) to look the hospital's wage index up. With none of
    them, a *zip* places the facility where its PFS locality lies in one CBSA
    (:func:`zip_wage_index`: ZIP5 -> LOCCO -> county crosswalk, ``FACILITY_PLACED_BY_ZIP``);
    else the facility amounts are national (with the reason the ZIP did not place
    it). A site that cannot be paid keeps its row, with reasons and no amounts.

    *conversion_factor* (or a what-if CF the schedule was loaded with): a
    what-if PFS conversion factor (:mod:`rvucalc.whatif`; dollars or a percent
    of the year's own CF). It prices the physician (PFS) amounts only: OPPS and
    ASC facility rates are set from their own conversion factors (42 CFR
    419.32, 416.171), which a PFS what-if does not move. The comparison's
    ``notes`` say so on every output (table, JSON, CSV, workbook).
    *asc_conversion_factor*: a what-if ASC CF asked for on its own (dollars, or a percent
    of the ASC release's CF), scaling the ASC facility rate as :meth:`ASCRates.price` does
    (a J8 code's device portion is not scaled); OPPS has no what-if.
    """
    table2_src: list[Source] = []
    if hospital_ccn is not None or ipps_table2 is not None:
        opps_wage_index, table2_src = _hospital_wage_index(hospital_ccn, ipps_table2)
    by_county = county_fips is not None and locality is None and zip is None
    pfs = _physician(fs, hcpcs, locality=locality, zip=zip, county=county_fips if by_county else None,
                     conversion_factor=conversion_factor)
    if pfs.locality is None:
        pfs_how = "no ZIP, locality or county given"
    elif zip is not None:
        pfs_how = f"ZIP {pfs.zip}"
    elif by_county:
        pfs_how = pfs.placed
    else:
        pfs_how = "locality given"
    rows: list[SiteRow] = []
    prof_src = pfs.sources
    # office
    nf_amount, nf_reason = pfs.amount["nonfacility"], pfs.reason["nonfacility"]
    reasons = [nf_reason] if nf_reason else []
    med, ben = _split(nf_amount, None if nf_amount is None else nf_amount * PART_B_COINSURANCE)
    rows.append(SiteRow(site="office", label="Office (PFS non-facility)", professional=nf_amount, facility=0.0
                        if nf_amount is not None else None, total=nf_amount, medicare=med, beneficiary=ben,
                        reasons=reasons + [OFFICE_NO_FACILITY], sources=prof_src))
    prof, fac_why = pfs.amount["facility"], pfs.reason["facility"]
    prof_reason = [fac_why] if fac_why else []
    if prof is None and fac_why is not None and set(fac_why.code.split("|")) & facility_bills():
        # the facility bills this service, not the physician (a code of another fee schedule, a
        # status-X code such as G0463, NA in a facility): the physician's part is $0.00, as in
        # compare_sites_claims, and the site's total is the facility's payment
        prof = 0.0
    prof_bene = None if prof is None else prof * PART_B_COINSURANCE
    wis: dict[str, WageIndexChoice] = {}
    for site, label in (("hopd", "Hospital outpatient"), ("asc", "ASC")):
        system = "opps" if site == "hopd" else "asc"
        rates = fs.opps if system == "opps" else fs.asc
        if isinstance(rates, UnavailableRates):
            why = rates.reason
            rows.append(SiteRow(site=site, label=label, professional=prof, facility=None, total=None,
                                medicare=None, beneficiary=None, reasons=prof_reason + [why], sources=prof_src))
            continue
        if system == "opps":
            wi = _wage_index(fs, "opps", cbsa, county_fips, opps_wage_index if opps_wage_index is not None
                             else wage_index, zip)
            wi.sources.extend(table2_src)
        else:
            wi = _wage_index(fs, "asc", cbsa, county_fips, wage_index, zip)
        wis[site] = wi
        # national only when no place was given (NATIONAL_FACILITY says so); a CBSA or county
        # whose wage index is ambiguous, unknown or not at hand gives no wage-adjusted amount
        # (NaN -> OPPS_NO_WAGE_INDEX / ASC_NO_WAGE_INDEX), never the national rate in its place
        w = wi.value if wi.value is not None else (1.0 if NATIONAL_FACILITY in wi.reasons else float("nan"))
        code = pfs.hcpcs
        try:
            if system == "opps":
                priced = rates.price(w, [code])
                if priced.empty:
                    raise UnknownCodeError(code)
                p = priced.iloc[0]
                fac, fac_bene, ind = _num(p["payment"]), _num(p["copay"]), _text(p["status_indicator"])
            else:
                priced = rates.price(w, [code], conversion_factor=_asc_cf(rates, asc_conversion_factor))
                p = priced.iloc[0]
                fac, fac_bene, ind = _num(p["payment"]), _num(p["coinsurance"]), _text(p["payment_indicator"])
            fac_reason = [r for r in [explain(str(p["reason"])),
                                      explain(str(p.get("approximate", "") or ""))] if r is not None]
        except UnknownCodeError:
            fac, fac_bene, ind = None, None, ""
            fac_reason = [reason(f"{system.upper()}_CODE_ABSENT",
                                 f"not listed in {system.upper()} {rates.release.label}",
                                 f"{system.upper()} addendum of the quarter")]
        total = None if prof is None or fac is None else float(round_cents(prof + fac))
        bene = None if prof_bene is None or fac_bene is None else prof_bene + fac_bene
        med, ben = _split(total, bene)
        if prof is not None and fac is not None:
            ben = float(round_cents(float(round_cents(prof_bene)) + fac_bene))
            med = float(round_cents(total - ben))
        rows.append(SiteRow(site=site, label=label, professional=prof, facility=fac, total=total, medicare=med,
                            beneficiary=ben, indicator=ind, wage_index=wi.value,
                            reasons=prof_reason + fac_reason + wi.reasons,
                            sources=prof_src + rates.sources + wi.sources,
                            condition=payment_condition(system, ind) if fac is not None else ""))
    return SiteComparison(hcpcs=pfs.code, year=fs.year,
                          locality=pfs.locality.locality_id if pfs.locality else None, rows=rows, wage_index=wis,
                          locality_name=pfs.locality.name if pfs.locality else "", pfs_placement=pfs_how,
                          conversion_factor=pfs.conversion_factor, conversion_factor_kind=pfs.conversion_factor_kind,
                          notes=what_if_notes(pfs.conversion_factor, pfs.conversion_factor_kind,
                                              _asc_words(fs, asc_conversion_factor)))


def facility_bills() -> frozenset[str]:
    """PFS reasons that, in a HOPD or ASC, mean the facility bills the service, not the physician:
    NA in the facility setting, status X (not a physician service, e.g. G0463, the hospital clinic
    visit), or a code of another fee schedule (a device such as C2618, a drug, a supply ...).
    The physician's part of such a line is $0.00 there (RVU file documentation, Attachment A;
    42 CFR 414.22(b)(5)); the facility's own payment decides the site's total. One definition for
    :func:`compare_sites` and :func:`rvucalc.compare_sites_claims`."""
    from .calc.pfs import NA_REASONS, STATUS_REASONS
    from .codes import REASONS

    return frozenset({NA_REASONS["facility"].code, STATUS_REASONS["X"].code} | {r.code for r in REASONS.values()})


class _Physician(BaseModel):
    """The physician's side of a comparison: the PFS quote's amounts, or none for a code of
    another fee schedule (with the reason that says which)."""

    code: str
    hcpcs: str
    locality: LocalityInfo | None
    zip: str | None
    placed: str
    amount: dict[str, float | None]
    reason: dict[str, Reason | None]
    sources: list[Source]
    conversion_factor: float | None = None
    conversion_factor_kind: str = ""


def _physician(fs: Schedule, hcpcs: str, *, locality: str | None, zip: str | None,
               county: str | None, conversion_factor: float | str | None = None) -> _Physician:
    """The PFS quote of *hcpcs*; for a code not on the PFS that another fee schedule pays
    (C2618, a device: OPPS), no PFS amount and that schedule's reason, so the facility rows are
    still priced. A code that is merely unknown raises :class:`UnknownCodeError` as the quote does."""
    try:
        q = fs.quote(hcpcs, locality=locality, zip=zip, county=county, conversion_factor=conversion_factor)
    except UnknownCodeError:
        code, mod = split_code(hcpcs)
        other = fee_schedule_of(code)
        if other is None or mod:
            raise
        lid = fs.resolve_locality(locality, zip, county=county)
        info = None if lid is None else fs.locality_info(lid)
        placed = fs.county_locality(county)[1] if county is not None and lid is not None else ""
        srcs = [fs.sources["pprrvu"]] + ([fs.sources["gpci"]] if lid else []) + (
            [fs.sources["zip5"]] if zip is not None else [])
        why = Reason(code=other.reason.code, message=f"{code} is not on the physician fee schedule: it is "
                     f"{other.hint.split(';')[0]}", rule=other.reason.rule)
        return _Physician(code=code, hcpcs=code, locality=info, zip=None if zip is None else arguments.zip_code(zip),
                          placed=placed, amount={"nonfacility": None, "facility": None},
                          reason={"nonfacility": why, "facility": why}, sources=srcs)
    return _Physician(code=q.code, hcpcs=q.hcpcs, locality=q.locality, zip=q.zip, placed=q.placed,
                      amount={"nonfacility": q.nonfacility.amount, "facility": q.facility.amount},
                      reason={"nonfacility": q.nonfacility.reason, "facility": q.facility.reason},
                      sources=q.sources, conversion_factor=q.conversion_factor,
                      conversion_factor_kind=q.conversion_factor_kind)


def _asc_cf(rates: Any, given: float | str | None) -> float | None:
    """A what-if ASC CF in dollars (a percent is of the ASC release's own CF), or None."""
    w = parse_cf(given)
    return None if w is None or isinstance(rates, UnavailableRates) else w.value(rates.conversion_factor.value)


def _asc_words(fs: Schedule, given: float | str | None) -> str:
    """``$55.1234 (what-if (user): 98% of $56.2490)`` for a what-if ASC CF, else ``""``."""
    w = parse_cf(given)
    rates = fs.asc if w is not None else None
    if w is None or isinstance(rates, UnavailableRates) or rates is None:
        return ""
    own = rates.conversion_factor.value
    return f"${w.value(own):.4f} ({w.kind(own, 'the ASC release')})"


def what_if_notes(cf: float | None, kind: str, asc: str = "") -> list[str]:
    """The sentences a site comparison carries when its PFS CF (or an ASC CF) is a what-if (else none)."""
    out = []
    if cf is not None and kind.startswith(WHAT_IF):
        facility = ("the hospital outpatient (OPPS) facility amounts are the release's own rates, not scaled; "
                    f"the ASC facility amounts are at the what-if ASC CF asked for on its own, {asc}") if asc \
            else ("the facility amounts (OPPS hospital outpatient, ASC) are the releases' own rates, not "
                  "scaled (their conversion factors are set separately: 42 CFR 419.32, 416.171)")
        out.append(f"What-if PFS conversion factor ${cf:.4f} ({kind}): it prices the physician (PFS) amounts "
                   f"only; {facility}")
    elif asc:
        out.append(f"What-if ASC conversion factor {asc}: it prices the ASC facility amounts only (a J8 "
                   "code's device portion is not scaled); the physician (PFS) and hospital outpatient (OPPS) "
                   "amounts are the releases' own")
    return out


# ---------------------------------------------------------------------------
# Many codes in many places
# ---------------------------------------------------------------------------
class Place(BaseModel):
    """Where a service is done, for :func:`compare_sites_many`: as :func:`compare_sites` takes it.

    *zip*, *locality* or *county* place the physician (PFS locality); *cbsa*, *county* or
    *wage_index* / *opps_wage_index* place the facility; *county* alone places both; a *zip*
    places the facility too when its locality lies in one CBSA (:func:`zip_wage_index`). With
    none, the place is national. *label* names the place in the frame (default
    ``ZIP 90012``, ``county 06037``, ``locality 01182-18``, ``national``).
    """

    zip: str | None = None
    locality: str | None = None
    county: str | None = None
    cbsa: str | None = None
    wage_index: float | None = None
    opps_wage_index: float | None = None
    label: str = ""

    def model_post_init(self, _: Any) -> None:
        if not self.label:
            parts = [f"ZIP {self.zip}" if self.zip else "", f"locality {self.locality}" if self.locality else "",
                     f"county {self.county}" if self.county else "", f"CBSA {self.cbsa}" if self.cbsa else "",
                     f"wage index {self.wage_index:g}" if self.wage_index is not None else "",
                     f"OPPS wage index {self.opps_wage_index:g}" if self.opps_wage_index is not None else ""]
            self.label = ", ".join(p for p in parts if p) or "national"


def as_place(p: Place | Mapping[str, Any] | str) -> Place:
    """A :class:`Place` from a Place, a dict (``{"zip": "90012"}``) or text: ``"zip:90012"``,
    ``"county:06037"``, ``"locality:01182-18"``, ``"cbsa:31084"``, ``"national"``."""
    if isinstance(p, Place):
        return p
    if isinstance(p, Mapping):
        d = {("county" if k == "county_fips" else k): v for k, v in p.items() if v is not None}
        for k in ("zip", "locality", "county", "cbsa"):
            if k in d:
                d[k] = str(d[k])
        return Place(**d)
    text = str(p).strip()
    if text.lower() == "national":
        return Place()
    kind, sep, value = text.partition(":")
    if not sep or kind.strip().lower() not in ("zip", "locality", "county", "cbsa") or not value.strip():
        raise UnknownLocalityError(f"place {text!r}: give 'zip:90012', 'county:06037', 'locality:01182-18', "
                                   "'cbsa:31084' or 'national' (or a dict such as {'zip': '90012'})")
    return Place(**{kind.strip().lower(): value.strip()})


SITES = (("office", "Office (PFS non-facility)"), ("hopd", "Hospital outpatient"), ("asc", "ASC"))


def _place_pfs(fs: Schedule, place: Place) -> tuple[str | None, str, str, list[Source]]:
    """(locality id or None, its name, how it was placed, PFS sources), as :meth:`quote` says them."""
    by_county = place.county is not None and place.locality is None and place.zip is None
    lid = fs.resolve_locality(place.locality, place.zip, county=place.county if by_county else None)
    srcs = [fs.sources["pprrvu"]] + ([fs.sources["gpci"]] if lid else [])
    if lid and not fs.work_floor and "gpci_no_floor" in fs.sources:
        srcs.append(fs.sources["gpci_no_floor"])
    if lid is None:
        how = "no ZIP, locality or county given"
    elif place.zip is not None:
        how = f"ZIP {normalise_zip(place.zip)}"
        srcs.append(fs.sources["zip5"])
    elif by_county:
        how = fs.county_locality(place.county)[1]
        srcs += [fs.sources[k] for k in ("county", "locco") if k in fs.sources]
    else:
        how = "locality given"
    name = fs.locality_info(lid).name if lid else ""
    return lid, name, how, srcs


def _joined(parts: list[pd.Series], sep: str) -> pd.Series:
    """Element-wise join of text Series, skipping empty pieces."""
    out = parts[0].astype(str)
    for p in parts[1:]:
        p = p.astype(str)
        out = out + np.where((out != "") & (p != ""), sep, "") + p
    return out


def _reason_cols(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(codes, words) of a Series of ``|``-joined reason codes, via :func:`explain` per distinct cell."""
    uniq = pd.unique(codes.astype(str))
    words = {c: (explain(c).message if c and explain(c) is not None else "") for c in uniq}
    return codes.astype(str), codes.astype(str).map(words)


def compare_sites_many(
    fs: Schedule,
    codes: list[str] | tuple[str, ...] | str,
    places: list[Place | Mapping[str, Any] | str] | None = None,
    *,
    conversion_factor: float | str | None = None,
    asc_conversion_factor: float | str | None = None,
) -> pd.DataFrame:
    """Office vs hospital outpatient vs ASC for many codes in many places: one tidy frame.

    One row per code x place x setting (``office``, ``hopd``, ``asc``), in the order asked,
    with the amounts :func:`compare_sites` gives for that code and place (the same rules:
    PFS non-facility / facility professional amounts, OPPS and ASC facility payments wage
    adjusted for the place, 20% Part B coinsurance plus the facility's copayment or
    coinsurance, cents half up) - computed for all codes of a place at once. *places*: a
    list of :class:`Place`, dicts or ``"zip:90012"``-style text (default: national). Codes
    that are not on the PFS keep their rows with no professional amount and the reason.

    Columns: ``place, place_kind, hcpcs, year, locality_id, locality_name, pfs_placement,
    site, label, indicator, professional, facility, total, medicare, beneficiary,
    wage_index, condition, conversion_factor, conversion_factor_kind, facility_placement,
    reason, reason_text, sources``. ``attrs["rvucalc.provenance"]`` lists every file that
    produced a number (PFS, ZIP, county, OPPS/ASC addenda, wage index). *conversion_factor*
    and *asc_conversion_factor*: what-if CFs, as :func:`compare_sites` takes them.
    """
    from .export import provenance_of
    from .whatif import resolve_cf

    asked = list(dict.fromkeys(str(c).strip().upper() for c in ([codes] if isinstance(codes, str) else codes)))
    if not asked or any(not c for c in asked):
        raise UnknownCodeError("give one or more HCPCS codes to compare")
    plist = list({pl.label: pl for pl in (as_place(x) for x in (places or [Place()]))}.values())
    cf, kind = resolve_cf(conversion_factor, fs.own_conversion_factor, fs.own_conversion_factor_kind) \
        if conversion_factor is not None else (fs.conversion_factor, fs.conversion_factor_kind)
    placed = [_place_pfs(fs, pl) for pl in plist]  # a few places: one lookup each
    # PFS: every code in every locality at once (schedule keeps codes not on the PFS, with a reason)
    lids = list(dict.fromkeys(x[0] for x in placed if x[0]))
    parts = []
    if lids:
        parts.append(fs.schedule(asked, lids, conversion_factor=conversion_factor, errors="keep"))
    if any(x[0] is None for x in placed):
        parts.append(fs.schedule(asked, national=True, conversion_factor=conversion_factor, errors="keep"))
    sch = pd.concat(parts, ignore_index=True)
    mod = sch["modifier"].astype(str)
    key = (sch["hcpcs"].astype(str) + np.where(mod != "", "-" + mod, "") + "\x00"
           + sch["locality_id"].astype(str))
    by: dict[str, tuple[pd.Series, pd.Series]] = {}
    for s in ("nonfacility", "facility"):
        m = (sch["setting"] == s).to_numpy()
        by[s] = (pd.Series(sch["amount"].to_numpy(float)[m], index=key[m]),
                 pd.Series(sch["reason"].astype(str).to_numpy()[m], index=key[m]))
    fac_codes = []
    for c in asked:  # the facility files list the code without its modifier (as compare_sites looks it up)
        try:
            fac_codes.append(split_code(c)[0])
        except UnknownCodeError:
            fac_codes.append(c)
    n = len(asked)
    frames = []
    srcs: dict[str, Source] = {}
    for pi, (pl, (lid, lname, how, prof_src)) in enumerate(zip(plist, placed)):
        keys = pd.Index([f"{c}\x00{lid or 'national'}" for c in asked])
        for s_ in prof_src:
            srcs.setdefault(str(s_), s_)
        base = {"place": pl.label, "hcpcs": asked, "year": fs.year, "locality_id": lid or "national",
                "locality_name": lname, "pfs_placement": how}
        nf = by["nonfacility"][0].reindex(keys).to_numpy(float)
        nf_r = by["nonfacility"][1].reindex(keys).fillna("").reset_index(drop=True)
        fa = by["facility"][0].reindex(keys).to_numpy(float)
        fa_r = by["facility"][1].reindex(keys).fillna("").reset_index(drop=True)
        nf_code, nf_text = _reason_cols(nf_r)
        fa_code, fa_text = _reason_cols(fa_r)
        office_ben = round_cents(nf * PART_B_COINSURANCE)
        site_frames = [pd.DataFrame({**base, "site": "office", "label": SITES[0][1], "indicator": "",
                                     "professional": nf, "facility": np.where(np.isnan(nf), np.nan, 0.0),
                                     "total": nf, "medicare": round_cents(nf - office_ben),
                                     "beneficiary": office_ben, "wage_index": np.nan, "condition": "",
                                     "facility_placement": "",
                                     "reason": _joined([nf_code, pd.Series([OFFICE_NO_FACILITY.code] * n)], "|"),
                                     "reason_text": _joined([nf_text, pd.Series([OFFICE_NO_FACILITY.message] * n)],
                                                            "; "),
                                     "sources": "; ".join(f"{x.release}:{x.file}" for x in prof_src)})]
        # the facility bills it (another schedule's code, status X, NA in a facility): the
        # physician's part is $0.00 there, as compare_sites says (facility_bills)
        bills = facility_bills()
        fa_site = np.where(np.isnan(fa) & fa_r.map(lambda r, b=bills: bool(set(str(r).split("|")) & b)).to_numpy(bool),
                           0.0, fa)
        for site, label in SITES[1:]:
            system = "opps" if site == "hopd" else "asc"
            rates = fs.opps if system == "opps" else fs.asc
            frame = {**base, "site": site, "label": label, "professional": fa_site}
            if isinstance(rates, UnavailableRates):
                why = rates.reason
                site_frames.append(pd.DataFrame({
                    **frame, "indicator": "", "facility": np.nan, "total": np.nan, "medicare": np.nan,
                    "beneficiary": np.nan, "wage_index": np.nan, "condition": "", "facility_placement": "",
                    "reason": _joined([fa_code, pd.Series([why.code] * n)], "|"),
                    "reason_text": _joined([fa_text, pd.Series([why.message] * n)], "; "),
                    "sources": "; ".join(f"{x.release}:{x.file}" for x in prof_src)}))
                continue
            if system == "opps":
                wi = _wage_index(fs, "opps", pl.cbsa, pl.county, pl.opps_wage_index if pl.opps_wage_index
                                 is not None else pl.wage_index, pl.zip)
            else:
                wi = _wage_index(fs, "asc", pl.cbsa, pl.county, pl.wage_index, pl.zip)
            w = wi.value if wi.value is not None else (1.0 if NATIONAL_FACILITY in wi.reasons else float("nan"))
            if system == "opps":
                got = rates.price(w, list(dict.fromkeys(fac_codes))).drop_duplicates("hcpcs").set_index("hcpcs")
                p = got.reindex(fac_codes)
                listed = pd.Series(fac_codes).isin(got.index).to_numpy()
                fac, fac_bene = p["payment"].to_numpy(float), p["copay"].to_numpy(float)
                ind = p["status_indicator"]
            else:
                p = rates.price(w, fac_codes, conversion_factor=_asc_cf(rates, asc_conversion_factor))
                listed = np.ones(n, dtype=bool)
                fac, fac_bene = p["payment"].to_numpy(float), p["coinsurance"].to_numpy(float)
                ind = p["payment_indicator"]
            ind = pd.Series(ind.to_numpy(), dtype=object).where(listed, "").fillna("").astype(str)
            fr = pd.Series(p["reason"].to_numpy(), dtype=object).fillna("").astype(str)
            ap = (pd.Series(p["approximate"].to_numpy(), dtype=object).fillna("").astype(str)
                  if "approximate" in p.columns else pd.Series([""] * n))
            f_code, f_text = _reason_cols(_joined([fr, ap], "|"))
            if not listed.all():
                absent = reason(f"{system.upper()}_CODE_ABSENT", f"not listed in {system.upper()} {rates.release.label}",
                                f"{system.upper()} addendum of the quarter")
                f_code = f_code.where(listed, absent.code)
                f_text = f_text.where(listed, absent.message)
            wi_code = pd.Series(["|".join(x.code for x in wi.reasons)] * n)
            wi_text = pd.Series(["; ".join(x.message for x in wi.reasons)] * n)
            both = ~np.isnan(fa_site) & ~np.isnan(fac)
            total = np.where(both, round_cents(fa_site + fac), np.nan)
            ben = np.where(both, round_cents(round_cents(fa_site * PART_B_COINSURANCE) + fac_bene), np.nan)
            cond = ind.map({i: payment_condition(system, i) for i in pd.unique(ind)}).where(~np.isnan(fac), "")
            row_src = [*prof_src, *rates.sources, *wi.sources]
            for s_ in row_src:
                srcs.setdefault(str(s_), s_)
            site_frames.append(pd.DataFrame({
                **frame, "indicator": ind.to_numpy(), "facility": fac, "total": total,
                "medicare": np.where(both, round_cents(total - ben), np.nan), "beneficiary": ben,
                "wage_index": np.nan if wi.value is None else wi.value, "condition": cond.to_numpy(),
                "facility_placement": wi.placement,
                "reason": _joined([fa_code, f_code, wi_code], "|").to_numpy(),
                "reason_text": _joined([fa_text, f_text, wi_text], "; ").to_numpy(),
                "sources": "; ".join(f"{x.release}:{x.file}" for x in row_src)}))
        f = pd.concat(site_frames, ignore_index=True)
        f["_order"] = (np.tile(np.arange(n), 3) * len(plist) + pi) * 3 + np.repeat(np.arange(3), n)
        frames.append(f)
    df = pd.concat(frames, ignore_index=True).sort_values("_order", kind="stable").drop(columns="_order")
    df = df.reset_index(drop=True)
    df.insert(1, "place_kind", df["place"].map({pl.label: _kind(pl) for pl in plist}))
    df["conversion_factor"], df["conversion_factor_kind"] = float(cf), kind
    cols = ["place", "place_kind", "hcpcs", "year", "locality_id", "locality_name", "pfs_placement", "site",
            "label", "indicator", "professional", "facility", "total", "medicare", "beneficiary", "wage_index",
            "condition", "conversion_factor", "conversion_factor_kind", "facility_placement", "reason",
            "reason_text", "sources"]
    df = df[cols]
    for c in ("professional", "facility", "total", "medicare", "beneficiary", "wage_index", "conversion_factor"):
        df[c] = df[c].astype(float)
    prov = provenance_of(*srcs.values())
    prov["parameters"][f"conversion factor ({fs.release.id})"] = float(cf)
    prov["parameters"][f"conversion factor kind ({fs.release.id})"] = kind
    df.attrs["rvucalc.provenance"] = prov
    df.attrs["rvucalc.kind"] = "sites_many"
    notes = what_if_notes(float(cf), kind, _asc_words(fs, asc_conversion_factor))
    if notes:
        df.attrs["rvucalc.notes"] = notes
    df.attrs["rvucalc.summary"] = {"index": ["place", "hcpcs"], "columns": ["site"],
                                   "values": ["professional", "facility", "total", "beneficiary"],
                                   "chart": False, "title": "Where it is done, what Medicare pays"}
    return df


def _kind(pl: Place) -> str:
    """``zip``, ``locality``, ``county``, ``facility`` (a CBSA or wage index only) or ``national``."""
    for k in ("zip", "locality", "county"):
        if getattr(pl, k) is not None:
            return k
    return "facility" if (pl.cbsa or pl.wage_index is not None or pl.opps_wage_index is not None) else "national"
