"""Site of service per claim: each claim priced in the office, a hospital outpatient department
and an ASC, and a book of claims summed by setting.

:func:`compare_sites_claims` prices each claim three ways - office (PFS non-facility), HOPD
(PFS facility + OPPS facility, :mod:`rvucalc.claims.opps`) and ASC (PFS facility + ASC
facility, :mod:`rvucalc.claims.asc`) - through the claims pipeline
(:func:`rvucalc.claims.pipeline.price_frame`), and :func:`summarise_sites` sums a book of
claims by setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .. import arguments
from ..reasons import reason
from . import columns as K
from . import pipeline
from .contract import LINE, claim_keys

__all__ = ["compare_sites_claims", "summarise_sites", "book_notes", "not_priced", "not_priced_notes",
           "sites_workbook", "SITES", "SITE_COLUMNS"]


def _price_pfs(lines: pd.DataFrame, releases: Any, mirror: Any, dayfirst: bool) -> pd.DataFrame:
    """PFS claim lines priced in memory (as :func:`rvucalc.reprice`)."""
    opts = pipeline.options("pfs", releases=releases, mirror=mirror, dayfirst=dayfirst)
    return pipeline.price_frame(lines, opts, schedules=pipeline.schedules_of(releases))


# ---------------------------------------------------------------------------------------------
# site of service per claim

#: The settings compared, with the PFS place of service each is priced at.
SITES = {"office": ("Office (PFS non-facility)", "11"),
         "hopd": ("Hospital outpatient (PFS facility + OPPS)", "22"),
         "asc": ("ASC (PFS facility + ASC)", "24")}
#: The setting a claim was served in, by its place of service (CMS place of service codes:
#: 11 office; 22 on-campus and 19 off-campus outpatient hospital; 24 ASC); any other POS is
#: ``"other"``, several ``"mixed"``, none ``""``.
ACTUAL_SETTING = {"11": "office", "22": "hopd", "19": "hopd", "24": "asc"}
#: Amount columns per setting in :func:`compare_sites_claims`.
SITE_COLUMNS = ("professional", "facility", "total", "medicare", "beneficiary", "lines_unpaid",
                "reason")
#: What each of :data:`SITE_COLUMNS` holds (workbook number formats; see
#: :func:`rvucalc.export.formats.declare_kinds`).
SITE_KINDS = {"professional": "money", "facility": "money", "total": "money", "medicare": "money",
              "beneficiary": "money", "lines_unpaid": "count", "reason": "text"}
#: What the columns of :func:`compare_sites_claims` (per claim) and :func:`summarise_sites` (the
#: book by setting) hold.
CLAIM_KINDS = {"lines": "count", "total_charges": "money",
               **{f"{site}_{c}": k for site in SITES for c, k in SITE_KINDS.items()},
               **{f"{site}_note": "text" for site in SITES}, "hopd_clinic_visit": "money",
               "hopd_minus_office": "money", "asc_minus_office": "money", "asc_minus_hopd": "money"}
BOOK_KINDS = {"claims": "count", "claims_billable": "count", "claims_priced": "count",
              "claims_not_priced": "count", "claims_not_billable": "count", "coverage_percent": "percent_points",
              "lines": "count", "lines_priced": "count",
              **{c: k for c, k in SITE_KINDS.items() if k == "money"},
              "like_for_like_claims": "count", "like_for_like_total": "money",
              "like_for_like_medicare": "money", "like_for_like_beneficiary": "money",
              "minus_office": "money", "minus_hopd": "money"}


def _pfs(lines: pd.DataFrame, pos: str, professional_component: bool, releases: Any,
         mirror: Any, dayfirst: bool) -> pd.DataFrame:
    """PFS amounts per line at place of service *pos*.

    In a facility the physician bills only the professional component of a service that has
    one (PC/TC indicator 1: the -26 row), the facility the rest (42 CFR 414.22(b)(5)(i); RVU
    file documentation, PC/TC indicator): lines without 26/TC are priced with -26 where the
    code's -26 row is payable, else as billed.
    """

    base = lines.assign(pos=pos)
    out = _price_pfs(base, releases, mirror, dayfirst)
    if not professional_component:
        return out
    mods = base["modifiers"].fillna("").astype(str) if "modifiers" in base else pd.Series(
        "", index=base.index)
    code_mods = base["hcpcs"].fillna("").astype(str).str.strip().str.slice(5)
    has_pctc = (mods + " " + code_mods).str.upper().str.contains(r"(?:^|[^A-Z0-9])(?:26|TC)(?:$|[^A-Z0-9])",
                                                                regex=True)
    with26 = base.assign(modifiers=(mods + " 26").str.strip())
    pc = _price_pfs(with26, releases, mirror, dayfirst)
    use = (~has_pctc).to_numpy() & pc["payable"].to_numpy(dtype=bool)
    from .pfs import OUTPUT_COLUMNS

    for c in OUTPUT_COLUMNS:  # rvucalc's columns from the -26 pricing; the user's stay as given
        a, b = out[c], pc[c]
        if isinstance(a.dtype, pd.CategoricalDtype):
            a, b = a.astype(object), b.astype(object)
        out[c] = pd.Series(np.where(use, b.to_numpy(dtype=object), a.to_numpy(dtype=object)),
                           index=out.index).astype(out[c].dtype if not isinstance(
                               out[c].dtype, pd.CategoricalDtype) else object)
    return out


#: PFS reasons of a line that is $0.00 on the physician's side, not unknown: bundled (status B),
#: reporting only (status M, Category II measure codes). RVU file documentation, Attachment A.
PFS_ZERO = frozenset({"PFS_STATUS_B", "PFS_STATUS_M", "NOT_PFS_MEASURE"})

# ---------------------------------------------------------------------------------------------
# what each setting bills: lines "not billed there" ($0.00, named) and claims that cannot be
# billed there at all (no total; left out of that setting's coverage)

_OPPS_RULE = ("CY 2014 OPPS/ASC final rule with comment period (CMS-1601-FC, 78 FR 74826, "
              "December 10, 2013), hospital outpatient visits: G0463 replaces CPT 99201-99205 and "
              "99211-99215 for the hospital's clinic visit; OPPS Addendum B status indicator B")
NOT_BILLED_OFFICE = reason(
    "SITE_NOT_BILLED_OFFICE", "a hospital-only code (the hospital's own visit, device or supply code, "
    "e.g. G0463, C codes): not billed in an office, counted as $0.00 there",
    "HCPCS Level II C codes (OPPS only); " + _OPPS_RULE)
NOT_BILLED_ASC = reason(
    "SITE_NOT_BILLED_ASC", "not on the ASC covered procedures or covered ancillary services lists and "
    "not a surgical procedure: an ASC bills no facility fee for it, counted as $0.00 there",
    "42 CFR 416.164-416.166 (ASC covered surgical procedures and covered ancillary services); ASC "
    "Addenda AA and BB")
VISIT_REPLACED = reason(
    "SITE_VISIT_BY_G0463", "an E/M office or outpatient visit: the hospital bills its clinic visit as "
    "G0463 (added to the claim by rvucalc), not this code; its facility part is $0.00", _OPPS_RULE)
OWN_SCHEDULE = reason(
    "SITE_OWN_SCHEDULE", "paid under its own fee schedule in this setting (the PFS non-facility rate, the CLFS, "
    "ASP or DMEPOS amount, as in the office): a hospital service of status A, M or Y or a Q4 laboratory test "
    "not packaged, or a lab test, drug or DME item on neither ASC list",
    "OPPS Addendum B status indicators A, M, Y and Q4 (Addendum D1); 42 CFR 419.2(b), 419.22; the CLFS, "
    "ASP and DMEPOS fee schedules")
#: OPPS status indicators of services paid under another fee schedule in a HOPD (Addendum D1).
OWN_SCHEDULE_SI = frozenset({"OPPS_SI_A", "OPPS_SI_M", "OPPS_SI_Y", "OPPS_SI_Q4"})
CLINIC_VISIT = reason(
    "SITE_CLINIC_VISIT_ADDED", "G0463 (hospital outpatient clinic visit) added by rvucalc to a claim "
    "with an E/M visit moved to the hospital: one per claim and date of service without one",
    _OPPS_RULE)
NOT_BILLABLE = {
    "office": reason("SITE_NOT_BILLABLE_OFFICE", "the claim cannot be billed in an office: a service "
                     "not paid in the non-facility setting (NA) or only hospital codes",
                     "RVU file documentation, non-facility NA indicator; HCPCS C codes"),
    "hopd": reason("SITE_NOT_BILLABLE_HOPD", "the claim cannot be billed as hospital outpatient: an "
                   "inpatient-only procedure (OPPS status indicator C)",
                   "42 CFR 419.22(n); OPPS Addendum B status indicator C"),
    "asc": reason("SITE_NOT_BILLABLE_ASC", "the claim cannot be billed in an ASC: a surgical procedure "
                  "not on the ASC covered procedures list, or no service an ASC bills",
                  "42 CFR 416.166 (ASC covered surgical procedures); ASC Addendum AA"),
}

#: CPT E/M office or other outpatient visit codes; the hospital bills G0463 for its clinic visit.
EM_VISITS = frozenset({"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"})
#: The hospital outpatient clinic visit code (CY 2014 on).
G0463 = "G0463"


def _code5(hcpcs: pd.Series) -> np.ndarray:
    return hcpcs.astype(object).fillna("").astype(str).str.strip().str.upper().str.slice(0, 5).to_numpy(
        dtype=object)


def _hospital_only(code5: np.ndarray) -> np.ndarray:
    """Codes only a hospital bills: HCPCS C codes (OPPS only) and G0463, its clinic visit."""
    c = pd.Series(code5, dtype=object)
    return (c.str.startswith("C") & (c.str.len() == 5) | (c == G0463)).to_numpy(bool)


def _surgical(code5: np.ndarray) -> np.ndarray:
    """CPT surgery (10004-69990) and Category III (nnnnT) codes: procedures an ASC may perform
    only when they are on its covered procedures list (42 CFR 416.166)."""
    c = pd.Series(code5, dtype=object)
    num = pd.to_numeric(c.where(c.str.isdigit(), ""), errors="coerce").to_numpy(float)
    cat3 = (c.str.len() == 5) & c.str.slice(0, 4).str.isdigit() & c.str.endswith("T")
    return ((num >= 10004) & (num <= 69990)) | cat3.to_numpy(bool)


def _facility_bills() -> frozenset[str]:
    """PFS reasons that, in a HOPD or ASC, mean the facility bills the line, not the physician:
    NA in the facility setting, status X (G0463 ...), or a code of another fee schedule (a device,
    drug, supply...); the one definition is :func:`rvucalc.sites.facility_bills`."""
    from ..sites import facility_bills

    return facility_bills()


def _first_codes(reason: pd.Series, setting: str) -> np.ndarray:
    """The refusing reason code of each line (:mod:`rvucalc.claims.tally`'s rule), per distinct text."""
    from .tally import _primary, refusing_for

    refusing = refusing_for(setting)
    codes, uniq = pd.factorize(reason.astype(object).fillna(""), use_na_sentinel=False)
    table = np.array([_primary(str(u), refusing) for u in uniq] + [""], dtype=object)
    return table[codes]


def _claim_part(key: np.ndarray, order: np.ndarray, amount: pd.Series | np.ndarray, medicare: pd.Series | np.ndarray,
                bad: np.ndarray) -> pd.DataFrame:
    """Per claim: amount and Medicare sums in whole cents (lines not priced add nothing), and
    whether any line of the claim is not priced (``bad``)."""
    cents = np.nan_to_num(np.round(np.asarray(amount, dtype=float) * 100))
    med = np.nan_to_num(np.round(np.asarray(medicare, dtype=float) * 100))
    df = pd.DataFrame({"k": key, "a": cents, "m": med, "bad": bad})
    return df.groupby("k", sort=False).agg(a=("a", "sum"), m=("m", "sum"), bad=("bad", "any")
                                           ).reindex(order)


def _line_states(site: str, prof: pd.DataFrame, fac: pd.DataFrame | None, code5: np.ndarray,
                 clinic_visit: bool, office: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Which lines of a setting have no amount, the refusing code of each, which are not billed
    there (counted $0.00, with a note code) and which the setting cannot bill at all; and the
    amounts each part counts (``p_pay``/``p_med``, ``f_pay``/``f_med``, dollars per line).

    A professional line with no amount is not priced unless its reason says the amount is $0.00
    (:data:`PFS_ZERO`) or, in a facility, that the facility bills it (NA facility, a code of
    another fee schedule, a hospital-only code): then it counts 0.00 on the physician's side. A
    facility line with no amount is not priced (no release, no wage index...), except where the
    setting does not bill it: an E/M visit in a HOPD when the clinic visit G0463 is added
    (:data:`VISIT_REPLACED`), a non-surgical code not on the ASC lists in an ASC
    (:data:`NOT_BILLED_ASC`); in an office, a hospital-only code (:data:`NOT_BILLED_OFFICE`).
    A line paid under another schedule in that setting is its amount there, from the office
    pricing (*office*, :data:`OWN_SCHEDULE`): in a HOPD a status A, M or Y line or a Q4 test not
    packaged (OPPS Addendum B, status indicators), in an ASC a lab test, drug or DME item on
    neither ASC list. A line a claim edit denied (``EDIT_*``) is a stated $0.00 in every part.
    A line the setting cannot bill (office: NA in the non-facility setting; HOPD: inpatient only,
    status C; ASC: a surgical procedure not on its list; an ancillary without a procedure) makes
    its claim not billable there.
    """
    from ..calc.edits import DENYING

    n = len(code5)
    hosp = _hospital_only(code5)
    p_pay = prof["allowed"].to_numpy(float).copy()
    p_med = prof["medicare_payment"].to_numpy(float).copy()
    p_code = _first_codes(prof["reason"], "pfs")
    note = np.full(n, "", dtype=object)
    denied = _has_any(prof["reason"], DENYING)
    excused = np.isin(p_code, list(PFS_ZERO | (_facility_bills() if fac is not None else set()))) | denied
    if fac is not None:  # the hospital's own code, or a code of another schedule (a lab test, a drug
        excused |= hosp | _has_any(prof["reason"], _facility_bills())  # ...): the facility bills it
    p_bad = np.isnan(p_pay) & ~excused
    if fac is None:  # the office
        not_billed = hosp & np.isnan(p_pay)
        p_bad &= ~not_billed
        note[not_billed] = NOT_BILLED_OFFICE.code
        cannot = p_code == "PFS_NA_NONFACILITY"
        return {"p_bad": p_bad | cannot, "f_bad": np.zeros(n, dtype=bool), "note": note,
                "code": np.where(p_bad | cannot, p_code, ""), "cannot": cannot, "billed": ~not_billed,
                "p_pay": p_pay, "p_med": p_med, "f_pay": np.zeros(n), "f_med": np.zeros(n)}
    f_pay = fac["facility_payment"].to_numpy(float)[:n].copy()
    f_med = fac["medicare_payment"].to_numpy(float)[:n].copy()
    f_bad = np.isnan(f_pay) & ~denied & ~_has_any(fac["reason"].iloc[:n], DENYING)
    f_code = _first_codes(fac["reason"].iloc[:n], "facility")
    o_pay = office["allowed"].to_numpy(float) if office is not None else np.full(n, np.nan)
    o_med = office["medicare_payment"].to_numpy(float) if office is not None else np.full(n, np.nan)
    o_sched = office["fee_schedule"].astype(object).fillna("").astype(str).to_numpy() \
        if office is not None and "fee_schedule" in office.columns else np.full(n, "pfs", dtype=object)
    o_code = _first_codes(office["reason"], "pfs") if office is not None else np.full(n, "", dtype=object)
    if site == "hopd":
        replaced = f_bad & (f_code == "OPPS_SI_B") & np.isin(code5, list(EM_VISITS)) & clinic_visit
        note[replaced] = VISIT_REPLACED.code
        f_bad &= ~replaced
        own = f_bad & np.isin(f_code, list(OWN_SCHEDULE_SI))
        cannot = f_code == "OPPS_SI_C"
        billed = np.ones(n, dtype=bool)
    else:
        not_covered = f_code == "ASC_NOT_COVERED"
        cannot = not_covered & _surgical(code5)
        own = not_covered & ~cannot & np.isin(o_sched, ["clfs", "asp", "dmepos"])
        not_billed = not_covered & ~cannot & ~own
        note[not_billed] = NOT_BILLED_ASC.code
        f_bad &= ~not_billed
        # a service of the ASC's own is needed: an ancillary alone is no ASC claim
        billed = ~not_covered
        cannot |= _has_any(fac["reason"].iloc[:n], frozenset({"ASC_ANCILLARY_WITHOUT_PROCEDURE"}))
    # paid under its own schedule in this setting: the office pricing's amount (or its reason)
    f_pay[own], f_med[own] = o_pay[own], o_med[own]
    p_pay[own], p_med[own] = 0.0, 0.0  # billed by the facility or supplier: nothing on the physician's side
    p_bad &= ~own
    note[own] = OWN_SCHEDULE.code
    f_bad = np.where(own, np.isnan(o_pay), f_bad)
    f_code = np.where(own & np.isnan(o_pay), o_code, f_code)
    code = np.where(f_bad, f_code, np.where(p_bad, p_code, ""))
    return {"p_bad": p_bad, "f_bad": f_bad, "code": code, "note": note, "cannot": cannot, "billed": billed,
            "p_pay": p_pay, "p_med": p_med, "f_pay": f_pay, "f_med": f_med}


def _has_any(reason: pd.Series, codes: frozenset[str]) -> np.ndarray:
    """Whether each line's reason cell holds any of *codes* (per distinct cell)."""
    c, uniq = pd.factorize(reason.astype(object).fillna(""), use_na_sentinel=False)
    table = np.array([bool(set(str(u).split("|")) & codes) for u in uniq] + [False], dtype=bool)
    return table[c]


def _claim_notes(k: np.ndarray, order: np.ndarray, note: np.ndarray) -> np.ndarray:
    """Per claim: the distinct note codes of its lines, in line order, joined with ``|``."""
    has = note != ""
    out = np.full(len(order), "", dtype=object)
    if not has.any():
        return out
    df = pd.DataFrame({"k": k[has], "c": note[has]}).drop_duplicates()
    joined = df.groupby("k", sort=False)["c"].agg("|".join)
    return joined.reindex(order, fill_value="").to_numpy(dtype=object)


def _clinic_visits(base: pd.DataFrame, key: np.ndarray, code5: np.ndarray,
                   day: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """One G0463 line per claim and date of service with an E/M visit and no G0463 of its own:
    the hospital's clinic visit when the visit moves to a HOPD (:data:`CLINIC_VISIT`). The new
    lines copy the claim's first visit line (its date, place and ids), 1 unit, no modifier, no
    charge, and are numbered after the claim's lines (:data:`LINE`). Returns them and the
    positions in *base* of the lines they copy."""
    df = pd.DataFrame({"k": key, "d": np.asarray(day), "visit": np.isin(code5, list(EM_VISITS)),
                       "g": code5 == G0463})
    has_g = df.groupby(["k", "d"], sort=False)["g"].transform("any").to_numpy(bool)
    want = df["visit"].to_numpy(bool) & ~has_g
    rows = np.flatnonzero(want)
    if not len(rows):
        return base.iloc[0:0].copy(), np.zeros(0, dtype=np.int64)
    first = pd.Series(rows).groupby([key[rows], np.asarray(day)[rows]], sort=False).first().to_numpy()
    first = np.sort(first)
    added = base.iloc[first].copy()
    added["hcpcs"] = G0463
    for c, v in (("modifiers", ""), ("units", "1"), ("charge", "")):
        if c in added.columns:
            added[c] = v
    added[LINE] = int(base[LINE].max()) + 1 + np.arange(len(added), dtype=np.int64)
    return added, first


def _no_amount_text(site: str, fac: pd.DataFrame | None, rows: np.ndarray, year: np.ndarray) -> str:
    """Plain words for facility lines refused with ``FACILITY_NO_RELEASE``: the sentence
    ``rvucalc sites CODE`` gives for the missing file (:func:`rvucalc.sites.unavailable_text`),
    or the release note when a file was found but could not be read."""
    from ..fetch import offline
    from ..sites import unavailable_text

    system = "opps" if site == "hopd" else "asc"
    notes = fac["release_note"].astype(object).fillna("").to_numpy()[rows] if fac is not None \
        and "release_note" in fac.columns else np.full(len(rows), "", dtype=object)
    said: dict[str, None] = {}
    for y, note in sorted(set(zip(year[rows].tolist(), notes.tolist(), strict=True))):
        if str(note).startswith("no CY") and str(note).endswith("at hand") or not note:  # a file missing
            if y > 0:
                said.setdefault(unavailable_text(system, int(y), not offline()))
        else:
            said.setdefault(str(note))
    return " ".join(said)


def compare_sites_claims(lines: pd.DataFrame, *, pfs_releases: Any = None,
                         opps_releases: Iterable[str] | None = None,
                         asc_releases: Iterable[str] | None = None,
                         mirror: str | os.PathLike[str] | None = None,
                         opps_wage_index: float | None = None, asc_wage_index: float | None = None,
                         ipps_table2: str | os.PathLike[str] | None = None,
                         dayfirst: bool = False, clinic_visit: bool = True,
                         columns: Any = None, keep_lines: bool = True,
                         progress: bool | None = False) -> pd.DataFrame:
    """Each claim priced in the office, a hospital outpatient department and an ASC.

    - **office**: PFS non-facility amounts (place of service 11); no facility payment
      (42 CFR 414.22(b)(5): the non-facility PE pays the practice's costs);
    - **hopd**: PFS facility amounts (place of service 22; professional component where the
      code has one) plus the OPPS claim (:func:`rvucalc.reprice_opps`);
    - **asc**: PFS facility amounts (place of service 24) plus the ASC claim
      (:func:`rvucalc.reprice_asc`).

    *lines*: the columns of :func:`rvucalc.reprice` (``pos`` is set per setting; the one given
    is ignored) plus the facility's place (``wage_index``, ``cbsa``, ``county_fips``, ``ccn``;
    or *opps_wage_index* / *asc_wage_index* for all; none: national). *columns*: the headers of
    those columns when they are named otherwise (as for :func:`rvucalc.reprice`; headers are
    also matched ignoring case, spaces and underscores, :mod:`rvucalc.claims.columns`).

    Returns one row per claim (in order of first appearance): the claim id (under the user's
    header: ``claim_id``, or e.g. ``CLM_ID``), ``first_date_of_service`` and
    ``last_date_of_service``, ``place_of_service`` (the claim's own POS as given, ``"mixed"``
    when its lines give several) and ``actual_setting`` (where it was served, from that POS:
    ``office`` 11, ``hopd`` 22 or 19, ``asc`` 24; ``other``, ``mixed`` or ``""``), ``lines``,
    ``total_charges`` (with a charge column; NaN when a line has no charge), and for
    each setting ``<site>_professional``, ``<site>_facility``, ``<site>_total``,
    ``<site>_medicare``, ``<site>_beneficiary`` (Part B coinsurance of the professional
    service, 42 CFR 410.152, plus the facility copayment/coinsurance), ``<site>_lines_unpaid``
    and ``<site>_reason``, then the differences ``hopd_minus_office``, ``asc_minus_office``,
    ``asc_minus_hopd`` (totals). Amounts are sums of line amounts rounded once, so they add up.

    **Missing data is never $0.00.** A line is *not priced* in a setting when its facility
    part has no amount (no OPPS/ASC release for the date's year, no wage index, a code not
    payable in that setting: ASC not covered, OPPS inpatient only...), or its professional
    part has none (no PFS amount: carrier priced, not on the PFS in the office...) - except
    where the reason means $0.00 (bundled status B, reporting-only codes) or, in a HOPD or
    ASC, that the facility bills the line (NA facility, a device or drug code) and the
    facility priced it. Packaged facility lines are $0.00 and priced. A claim with a line not
    priced in a setting has NaN for that setting's total, Medicare and beneficiary amounts and
    for the differences that use them (and NaN professional or facility amount when that part
    is the one missing); ``<site>_lines_unpaid`` counts the claim's lines not priced in the
    setting (a line once, whichever part is missing) and ``<site>_reason`` is the refusing
    reason code of its first such line (``""`` when priced; plain words:
    :func:`rvucalc.explain`). ``attrs["rvucalc.reason_text"]`` holds, per setting, the words
    of reasons that say more than their code, e.g. which CMS file is missing and how to get
    it (:func:`not_priced`). The line results are in ``attrs["lines"]`` (one frame per setting
    and part; ``keep_lines=False`` keeps none of them, for a book's per-claim figures in a
    fraction of the memory), ``attrs["rvucalc.releases"]`` the releases priced with.
    *progress*: a bar on standard error over the pricing steps (``None``: on a terminal only).
    """
    from .normalise import parse_dates
    from .summary import total_charges, when_where

    arguments.frame(lines, "lines", what="claim lines")
    opps_wage_index = arguments.wage_index(opps_wage_index, "opps_wage_index")
    asc_wage_index = arguments.wage_index(asc_wage_index, "asc_wage_index")
    mapping = K.resolve(lines.columns, columns)
    K.require(mapping, lines.columns, ("claim_id", "hcpcs", "date_of_service"))
    claim_col = mapping["claim_id"]
    had = LINE in lines.columns
    user = lines if had else lines.assign(**{LINE: range(len(lines))})
    # priced through a view under rvucalc's names; the line results get the user's headers back
    base = K.pricing_view(user, mapping)
    ck, _missing = claim_keys(base["claim_id"], base[LINE].to_numpy())
    key = pd.Series(ck, index=base.index)
    import sys

    from tqdm.auto import tqdm

    steps = tqdm(total=4, desc="sites (office, HOPD prof, HOPD facility, ASC)", unit=" step", file=sys.stderr,
                 disable=not (sys.stderr.isatty() if progress is None else progress), dynamic_ncols=True)
    used: set[str] = set()  # releases priced with (the workbook's provenance)
    provs: list[Any] = []

    def kept(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
        """The frame as it is (*keep_lines*), else only the columns the per-claim figures read."""
        if "release" in frame.columns:
            used.update(str(r) for r in pd.unique(frame["release"].astype(object).fillna("")) if r)
        if frame.attrs.get("rvucalc.provenance"):  # the files behind it (wage index files too)
            provs.append(frame.attrs["rvucalc.provenance"])
        steps.update(1)
        if keep_lines:
            return frame
        return frame[[c for c in (*cols, "reason", "release", "release_note", LINE) if c in frame.columns]]

    office = kept(_pfs(base, "11", False, pfs_releases, mirror, dayfirst), "allowed", "medicare_payment",
                  "fee_schedule")
    # the physician in a HOPD and in an ASC: the same PFS facility amounts (both are facility
    # places of service: 42 CFR 414.22(b)(5)(i)), priced once; the ASC lines say POS 24
    prof_h = kept(_pfs(base, "22", True, pfs_releases, mirror, dayfirst), "allowed", "medicare_payment")
    prof_a = prof_h.assign(pos="24") if keep_lines and "pos" in prof_h.columns else prof_h
    fac_lines = base.drop(columns=[c for c in ("pos",) if c in base.columns])
    code5 = _code5(base["hcpcs"])
    day, year, _q = parse_dates(base["date_of_service"], dayfirst=dayfirst)  # once: visits and notes
    added, copied = _clinic_visits(fac_lines, ck, code5, day) if clinic_visit else (
        fac_lines.iloc[0:0], np.zeros(0, dtype=np.int64))
    n_lines = len(base)
    hopd = pipeline.price_frame(pd.concat([fac_lines, added], ignore_index=True) if len(added) else fac_lines,
                                pipeline.facility_options("hopd", opps_releases, mirror, dayfirst, opps_wage_index,
                                                          ipps_table2))
    if len(added):
        hopd["added_by_rvucalc"] = np.where(np.arange(len(hopd)) >= n_lines, CLINIC_VISIT.code, "")
    hopd = kept(hopd, "facility_payment", "medicare_payment")
    added_key = np.asarray(ck)[copied]
    asc = kept(pipeline.price_frame(fac_lines, pipeline.facility_options(
        "asc", asc_releases, mirror, dayfirst, asc_wage_index, None)), "facility_payment", "medicare_payment")
    steps.close()
    k = key.to_numpy()
    order = pd.unique(k)
    first = pd.Series(np.arange(len(key))).groupby(k).first().reindex(order)
    out = pd.DataFrame({claim_col: base["claim_id"].to_numpy(dtype=object)[first.to_numpy()]})
    dense = pd.factorize(k)[0]  # claims numbered in order of first line, as ``order``
    found = {c: c for c in mapping}  # the view's names
    for c, v in when_where(base, found, dense, len(order), dayfirst).items():
        out[c] = v
    if "place_of_service" in out.columns:
        pc, pu = pd.factorize(out["place_of_service"].to_numpy(dtype=object))
        setting_u = np.array([ACTUAL_SETTING.get(p, p if p in ("", "mixed") else "other") for p in pu]
                             + [""], dtype=object)  # distinct POS values, not claims
        out["actual_setting"] = setting_u[pc]
    out["lines"] = key.value_counts().reindex(order).to_numpy()
    if "charge" in mapping:
        out["total_charges"] = total_charges(base["charge"], dense, len(order))
    texts: dict[str, dict[str, str]] = {}
    parts = {"office": (office, None), "hopd": (prof_h, hopd), "asc": (prof_a, asc)}
    n = len(k)
    for site, (prof, fac) in parts.items():
        st = _line_states(site, prof, fac, code5, clinic_visit, office)
        p = _claim_part(k, order, st["p_pay"], st["p_med"], st["p_bad"])
        prof_c, prof_m = p["a"].to_numpy(float), p["m"].to_numpy(float)
        p_bad = p["bad"].to_numpy(bool)
        extra_bad = np.zeros(len(order), dtype=bool)
        if fac is None:
            fac_c, fac_m, f_bad = np.zeros(len(order)), np.zeros(len(order)), np.zeros(len(order), bool)
        else:
            fk, fb, fp, fm = k, st["f_bad"], st["f_pay"], st["f_med"]
            if len(fac) > n:  # the clinic visits added: priced with the claim, part of its facility amount
                add_pay = fac["facility_payment"].to_numpy(float)[n:]
                add_bad = np.isnan(add_pay)
                fk, fb = np.concatenate([k, added_key]), np.concatenate([fb, add_bad])
                fp = np.concatenate([fp, add_pay])
                fm = np.concatenate([fm, fac["medicare_payment"].to_numpy(float)[n:]])
                extra_bad = pd.Series(add_bad).groupby(added_key).any().reindex(order, fill_value=False
                                                                                ).to_numpy(bool)
            f = _claim_part(fk, order, fp, fm, fb)
            fac_c, fac_m, f_bad = f["a"].to_numpy(float), f["m"].to_numpy(float), f["bad"].to_numpy(bool)
        per_claim = {name: pd.Series(st[name]).groupby(k).any().reindex(order).to_numpy(bool)
                     for name in ("cannot", "billed")}
        billable = ~per_claim["cannot"] & per_claim["billed"]
        bad = p_bad | f_bad | ~billable
        total = np.where(bad, np.nan, prof_c + fac_c)
        med = np.where(bad, np.nan, prof_m + fac_m)
        out[f"{site}_professional"] = np.where(p_bad, np.nan, prof_c) / 100
        out[f"{site}_facility"] = np.where(f_bad, np.nan, fac_c) / 100
        out[f"{site}_total"] = total / 100
        out[f"{site}_medicare"] = med / 100
        out[f"{site}_beneficiary"] = (total - med) / 100
        line_bad = st["p_bad"] | st["f_bad"]
        out[f"{site}_lines_unpaid"] = pd.Series(line_bad).groupby(k).sum().reindex(
            order).to_numpy().astype(np.int64)
        # the refusing code of each claim's first line not priced (in line order)
        pos = np.where(line_bad, np.arange(n), n)
        first_bad = pd.Series(pos).groupby(k).min().reindex(order).to_numpy()
        codes = np.append(st["code"].astype(object), "")
        claim_code = codes[first_bad]
        if fac is not None and len(fac) > n:  # an added visit not priced (no release...): its reason
            add_code = _first_codes(fac["reason"].iloc[n:], "facility")
            by_claim = pd.Series(np.where(np.isnan(fac["facility_payment"].to_numpy(float)[n:]), add_code, ""),
                                 dtype=object).groupby(added_key).max().reindex(order, fill_value="").to_numpy()
            claim_code = np.where((claim_code == "") & extra_bad, by_claim, claim_code)
        claim_code = np.where(billable, claim_code, NOT_BILLABLE[site].code)
        out[f"{site}_reason"] = pd.Series(claim_code, dtype="str")
        out[f"{site}_billable"] = billable
        notes = _claim_notes(k, order, st["note"])
        if site == "hopd":
            has_visit = np.isin(order, added_key)
            notes = np.where(has_visit, np.where(notes == "", CLINIC_VISIT.code, CLINIC_VISIT.code + "|" + notes),
                             notes)
            vis = np.zeros(len(order))
            if len(added_key):
                vis = pd.Series(np.round(fac["facility_payment"].to_numpy(float)[n:] * 100)).groupby(
                    added_key).sum(min_count=1).reindex(order).to_numpy(float)
            out["hopd_clinic_visit"] = np.where(has_visit, vis, np.nan) / 100
        out[f"{site}_note"] = pd.Series(notes, dtype="str")
        rows = first_bad[(first_bad < n) & billable]
        no_rel = rows[codes[rows] == "FACILITY_NO_RELEASE"]
        if len(no_rel):
            texts.setdefault(site, {})["FACILITY_NO_RELEASE"] = _no_amount_text(site, fac, no_rel, year)
    for a, b in (("hopd", "office"), ("asc", "office"), ("asc", "hopd")):
        out[f"{a}_minus_{b}"] = (np.round(out[f"{a}_total"] * 100) - np.round(out[f"{b}_total"] * 100)) / 100
    drop = [] if had else [LINE]
    out.attrs["lines"] = {
        "office_professional": K.user_frame(office.drop(columns=drop), mapping, user),
        "hopd_professional": K.user_frame(prof_h.drop(columns=drop), mapping, user),
        # the added clinic visits (after the user's lines) copy the user's cells of the line they copy
        "hopd_facility": K.user_frame(hopd.drop(columns=drop), mapping,
                                      pd.concat([user, user.iloc[copied]], ignore_index=True) if len(added) else user),
        "asc_professional": K.user_frame(prof_a.drop(columns=drop), mapping, user),
        "asc_facility": K.user_frame(asc.drop(columns=drop), mapping, user),
    } if keep_lines else {}
    out.attrs["rvucalc.releases"] = sorted(used)
    from ..export import provenance_of

    out.attrs["rvucalc.provenance"] = provenance_of(*provs)
    out.attrs[K.ATTR] = dict(mapping)
    out.attrs["rvucalc.reason_text"] = texts
    out.attrs["rvucalc.summary"] = {
        "index": [claim_col], "columns": [],
        "values": ["office_total", "hopd_total", "asc_total"], "chart": True,
        "title": "Each claim in the office, a hospital outpatient department and an ASC",
    }
    return out


def not_priced(per_claim: pd.DataFrame) -> pd.DataFrame:
    """The claims each setting could not price, by reason: one row per setting and reason code
    with ``site``, ``label``, ``reason``, ``claims`` and ``message`` (plain words: the specific
    sentence of ``attrs["rvucalc.reason_text"]``, e.g. which CMS file is missing and how to
    get it, else :func:`rvucalc.explain`). Empty when every claim was priced everywhere.
    """
    from ..reasons import explain

    texts = per_claim.attrs.get("rvucalc.reason_text") or {}
    rows = []
    for site, (label, _pos) in SITES.items():
        col = f"{site}_reason"
        if col not in per_claim.columns:
            continue
        r = per_claim[col].astype(object).fillna("").astype(str)
        counts = r[r != ""].value_counts(sort=True)
        for code, n in counts.items():
            msg = texts.get(site, {}).get(str(code))
            if not msg:
                try:
                    x = explain(str(code))
                except KeyError:
                    x = None
                msg = x.message if x is not None else str(code)
            rows.append({"site": site, "label": label, "reason": str(code), "claims": int(n),
                         "message": msg})
    return pd.DataFrame(rows, columns=["site", "label", "reason", "claims", "message"])


def not_priced_notes(per_claim: pd.DataFrame) -> list[str]:
    """One sentence per setting and reason: ``Hospital outpatient (PFS facility + OPPS): not
    priced for 2 of 2 claims (no total): CMS's CY2026 OPPS Addendum B is not at hand ...
    [FACILITY_NO_RELEASE]`` (for the CLI and the workbook's Summary sheet)."""
    n = len(per_claim)
    return [f"{r.label}: {r.claims:,} of {n:,} claims cannot be billed there: {r.message.rstrip()} [{r.reason}]"
            if r.reason.startswith("SITE_NOT_BILLABLE_") else
            f"{r.label}: not priced for {r.claims:,} of {n:,} claims (no total): {r.message.rstrip()}"
            f" [{r.reason}]" for r in not_priced(per_claim).itertuples()]


def summarise_sites(per_claim: pd.DataFrame) -> pd.DataFrame:
    """A book of claims by setting: one row per setting with its coverage, its totals over the
    claims it priced, and the like-for-like totals over the claims every setting priced.

    *per_claim*: :func:`compare_sites_claims`. Sums are exact (whole cents). **Book totals are
    never blank**: a missing amount is never counted as $0.00, so each setting's
    ``professional``, ``facility``, ``total``, ``medicare`` and ``beneficiary`` are sums over the
    claims that setting priced (``claims_priced``), and the settings are compared on the same
    claims: ``like_for_like_claims`` (priced in every setting), ``like_for_like_total``,
    ``like_for_like_medicare`` and ``like_for_like_beneficiary``; ``minus_office`` and
    ``minus_hopd`` are differences of the like-for-like totals.

    Coverage: ``claims_billable`` (claims the setting can bill at all; the others,
    ``claims_not_billable``, e.g. an inpatient-only procedure in a HOPD, are left out),
    ``claims_priced`` and ``claims_not_priced`` (billable, not priced: no release, no wage
    index, a line without an amount), ``coverage_percent`` (priced of billable), ``lines`` and
    ``lines_priced`` (the lines of the claims priced), and ``not_priced_reason`` (the refusing
    codes with their claim counts, ``FACILITY_NO_RELEASE 2``; words: :func:`not_priced`).
    ``attrs["rvucalc.notes"]``: the three numbers and the coverage line (:func:`book_notes`),
    then a sentence per reason (:func:`not_priced_notes`).
    """
    lines = per_claim["lines"].to_numpy(np.int64) if "lines" in per_claim.columns else np.ones(len(per_claim),
                                                                                               np.int64)
    totals = {site: per_claim[f"{site}_total"].to_numpy(float) for site in SITES}
    every = np.logical_and.reduce([~np.isnan(t) for t in totals.values()]) if len(per_claim) else \
        np.zeros(0, dtype=bool)

    def cents(v: np.ndarray, where: np.ndarray) -> float:
        return int(np.round(np.nan_to_num(v[where]) * 100).sum()) / 100

    rows = []
    for site, (label, _pos) in SITES.items():
        priced = ~np.isnan(totals[site])
        billable = per_claim[f"{site}_billable"].to_numpy(bool) if f"{site}_billable" in per_claim.columns \
            else np.ones(len(per_claim), dtype=bool)
        c = {k: cents(per_claim[f"{site}_{k}"].to_numpy(float), priced)
             for k in ("professional", "facility", "total", "medicare", "beneficiary")}
        reasons = per_claim.get(f"{site}_reason", pd.Series("", index=per_claim.index))
        r = reasons.astype(object).fillna("").astype(str)
        counts = r[(r != "") & billable].value_counts(sort=True)
        nb, npr = int(billable.sum()), int(priced.sum())
        rows.append({"site": site, "label": label, "claims": len(per_claim), "claims_billable": nb,
                     "claims_priced": npr, "claims_not_priced": nb - npr,
                     "claims_not_billable": len(per_claim) - nb,
                     "coverage_percent": round(100.0 * npr / nb, 2) if nb else np.nan,
                     "lines": int(lines.sum()), "lines_priced": int(lines[priced].sum()),
                     "not_priced_reason": ", ".join(f"{k} {n}" for k, n in counts.items()),
                     **c,
                     "like_for_like_claims": int(every.sum()),
                     "like_for_like_total": cents(totals[site], every),
                     "like_for_like_medicare": cents(per_claim[f"{site}_medicare"].to_numpy(float), every),
                     "like_for_like_beneficiary": cents(per_claim[f"{site}_beneficiary"].to_numpy(float), every)})
    df = pd.DataFrame(rows)
    tot = np.round(df["like_for_like_total"] * 100)
    df["minus_office"] = (tot - tot.iloc[0]) / 100
    df["minus_hopd"] = (tot - tot.iloc[1]) / 100
    df.attrs["rvucalc.notes"] = [*book_notes(df), *not_priced_notes(per_claim)]
    df.attrs["rvucalc.summary"] = {"index": ["site"], "columns": [],
                                   "values": ["like_for_like_total", "total", "professional", "facility",
                                              "medicare", "beneficiary"],
                                   "chart": True, "title": "A book of claims by site of service"}
    return df


def book_notes(book: pd.DataFrame) -> list[str]:
    """What a CFO reads of :func:`summarise_sites`: the like-for-like totals (three numbers) and
    a coverage line per setting."""
    if not len(book):
        return []
    lfl = int(book["like_for_like_claims"].iloc[0])
    out = [f"Like for like, the {_n(lfl, 'claim')} priced in every setting: " + "; ".join(
        f"{_SHORT[r.site]} ${r.like_for_like_total:,.2f}" for r in book.itertuples())]
    for r in book.itertuples():
        cov = "-" if r.coverage_percent != r.coverage_percent else f"{r.coverage_percent:.1f}%"
        out.append(f"{_SHORT[r.site]}: ${r.total:,.2f} over the {_n(r.claims_priced, 'claim')} priced of "
                   f"{r.claims_billable:,} it can bill ({cov}; {r.lines_priced:,} of {_n(r.lines, 'line')})"
                   + (f"; {_n(r.claims_not_billable, 'claim')} it cannot bill" if r.claims_not_billable else "")
                   + (f"; not priced: {r.not_priced_reason}" if r.not_priced_reason else ""))
    return out


_SHORT = {"office": "Office", "hopd": "HOPD", "asc": "ASC"}


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def sites_workbook(per_claim: pd.DataFrame, path: str | os.PathLike[str], *,
                   title: str = "Site of service per claim", provenance: Any = None, lines: bool = False) -> Any:
    """Write the comparison as an analyst's workbook (:func:`rvucalc.export.to_excel`).

    Sheets: the book summary by setting (pivot and chart), one row per claim, with *lines* the
    line results of each setting and part (professional and facility; a book of 200,000 lines
    makes a million rows: on request only), then the reasons and provenance.
    """
    from ..export import to_excel
    from ..export.formats import declare_kinds

    views: dict[str, pd.DataFrame] = {
        "By setting": declare_kinds(summarise_sites(per_claim), BOOK_KINDS),
        # in place: a copy would deep-copy the line frames kept in its attrs
        "Claims": declare_kinds(per_claim, CLAIM_KINDS)}
    names = {"office_professional": "Office lines", "hopd_professional": "HOPD prof lines",
             "hopd_facility": "HOPD facility lines", "asc_professional": "ASC prof lines",
             "asc_facility": "ASC facility lines"}
    if lines:
        if not per_claim.attrs.get("lines"):
            raise ValueError("the line sheets were asked for, but the comparison kept no line results: "
                             "compare_sites_claims(..., keep_lines=True)")
        for k, v in per_claim.attrs["lines"].items():
            views[names.get(k, k)] = v.drop(columns=[c for c in (LINE,) if c in v.columns])
    if provenance is None:  # the CMS files of every release the comparison priced with
        from .pipeline import provenance as of_releases

        used = set(per_claim.attrs.get("rvucalc.releases") or ()) | {
            r for v in per_claim.attrs.get("lines", {}).values() if "release" in v.columns
            for r in v["release"].astype(str).unique()}
        from ..export import provenance_of

        provenance = provenance_of(of_releases(sorted(r for r in used if r and r != "nan")),
                                   per_claim.attrs.get("rvucalc.provenance")) or None
    # the other sheets are the book's details: the summary is the book's (summarise_sites)
    return to_excel(views, path, title=title, provenance=provenance, summaries=["By setting"])
