"""Physician fee schedule payment-policy rules for claim lines, vectorised.

Each rule is a small function over whole arrays (one element per claim line)
and cites the CMS text it implements. The main source is CMS, *National
Physician Fee Schedule Relative Value File, Calendar Year 2026* (the RVU26A
documentation shipped in ``RVU26A.zip``): the record layout's fields
"Percentage Multiple Procedure (Modifier 51)", "Bilateral Surgery
(Modifier 50)", "Assistant at Surgery", "Co-surgeons (Modifier -62)", "Team
Surgery (Modifier -66)", "Endoscopic Base Code", "Diagnostic Imaging Family
Indicator" and Attachment A (status and PC/TC indicators). Place of service
comes from 42 CFR 414.22(b)(5)(i) and the Medicare Claims Processing Manual
(Pub. 100-04), chapter 12, section 20.4.2 "Site of Service Payment
Differential".

Nothing here rounds: the repricer (:mod:`rvucalc.reprice`) multiplies the
factors returned here into the fee schedule amount and rounds once, at the
end. Grouping is by an integer key per line (the claim and date of service,
built by the repricer); nothing loops over lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..reasons import reason
from .groups import dense_ids, positions

FLOAT = np.float64

# ---------------------------------------------------------------------------
# reasons
_DOC = "CMS RVU file documentation (RVU26A)"
BAD_DATE = reason("REPRICE_BAD_DATE", "date of service missing or not a date", "claim line input")
NO_RELEASE = reason("REPRICE_NO_RELEASE",
                    "no PFS release for the date of service's year is at hand (mirror, cache or download)",
                    f"{_DOC}, Update Schedule (RVUyyA-D releases per quarter)")
RELEASE_FALLBACK = reason("REPRICE_RELEASE_FALLBACK",
                          "the newest release for the date's quarter is not at hand; another release "
                          "of the same year was used (see the release_note column)",
                          f"{_DOC}, Update Schedule")
NO_LOCALITY = reason("REPRICE_NO_LOCALITY", "ZIP code or locality missing or not found in the ZIP5/GPCI files",
                     "42 CFR 414.26 (locality of the service); CMS ZIP5 file")
BAD_POS = reason("REPRICE_BAD_POS",
                 "place-of-service code missing, unknown, or without a facility/non-facility designation",
                 "Medicare Claims Processing Manual ch.12 s.20.4.2; 42 CFR 414.22(b)(5)(i)")
BAD_UNITS = reason("REPRICE_BAD_UNITS", "units missing or not a whole number from 1 to 9,999 (fractions, 0, negatives, text refused)", "claim line input")
UNKNOWN_CODE = reason("REPRICE_UNKNOWN_CODE", "HCPCS code not in the release's PPRRVU file",
                      f"{_DOC}, HCPCS Code")
PCTC_NOT_ALLOWED = reason("MOD_PCTC_NOT_ALLOWED",
                          "modifier 26 or TC on a code without that component row (PC/TC indicator "
                          "does not allow it)", f"{_DOC}, Attachment A, PC/TC indicator")
PCTC_BOTH = reason("MOD_PCTC_BOTH", "modifiers 26 and TC on one line: bill the global code instead",
                   f"{_DOC}, Attachment A, PC/TC indicator 1")
MOD53_BY_REPORT = reason("MOD53_BY_REPORT",
                         "modifier 53 on a code without a -53 row: carrier medical review, priced by "
                         "individual consideration", f"{_DOC}, Modifier field (-53)")
BILAT_NA = reason("BILAT_NOT_APPLICABLE", "modifier 50 on a code where the bilateral concept does not apply "
                  "(bilateral indicator 9)", f"{_DOC}, Bilateral Surgery indicator 9")
BILAT_100 = reason("BILAT_0_100PCT", "modifier 50 on bilateral indicator 0: paid at 100% of one side",
                   f"{_DOC}, Bilateral Surgery indicator 0")
BILAT_UNITS = reason("BILAT_BY_UNITS", "two units of a bilateral-indicator 1/2 code priced as one bilateral "
                     "procedure", f"{_DOC}, Bilateral Surgery indicators 1 and 2 ('a 2 in the units field')")
BILAT_PAIR = reason("BILAT_RT_LT", "RT and LT lines of a bilateral-indicator 1/2 code priced together as one "
                    "bilateral procedure (each line carries half)", f"{_DOC}, Bilateral Surgery indicators 1, 2")
BILAT_50_UNITS = reason("BILAT_50_UNITS", "modifier 50 with more than one unit: one bilateral procedure priced",
                        f"{_DOC}, Bilateral Surgery (Modifier 50)")
MPPR_SURG = reason("MPPR_SURGERY", "multiple surgery: ranked by fee, 100% for the highest, 50% for the others",
                   f"{_DOC}, Multiple Procedure indicator 2")
MPPR_ENDO = reason("MPPR_ENDOSCOPY", "multiple endoscopy in one family: highest in full, others minus the "
                   "base endoscopy's value", f"{_DOC}, Multiple Procedure indicator 3 / Endoscopic Base Code")
ENDO_BASE = reason("ENDO_BASE_INCLUDED", "base endoscopy billed with another endoscopy of its family: "
                   "not paid separately (allowed 0)", f"{_DOC}, Multiple Procedure indicator 3")
MPPR_BY_REPORT = reason("MPPR_BY_REPORT", "sixth or later procedure: CMS says 'by report'; priced at 50% here",
                        f"{_DOC}, Multiple Procedure indicator 2")
MPPR_IMAGING = reason("MPPR_IMAGING", "multiple diagnostic imaging in one family: TC 50%, PC 95% for later "
                      "procedures", f"{_DOC}, Multiple Procedure indicator 4 / imaging family 88")
MPPR_THERAPY = reason("MPPR_THERAPY", "therapy multiple procedure payment reduction: 50% of the PE for later "
                      "units and procedures", f"{_DOC}, Multiple Procedure indicator 5")
MPPR_CARDIO = reason("MPPR_CARDIOVASCULAR", "multiple diagnostic cardiovascular services: TC reduced 25% for "
                     "later procedures", f"{_DOC}, Multiple Procedure indicator 6")
MPPR_OPHTH = reason("MPPR_OPHTHALMOLOGY", "multiple diagnostic ophthalmology services: TC reduced 20% for "
                    "later procedures", f"{_DOC}, Multiple Procedure indicator 7")
COSURG_NA = reason("COSURG_NOT_ALLOWED", "modifier 62 on a code whose co-surgery indicator is 0 or 9",
                   f"{_DOC}, Co-surgeons indicator 0/9")
COSURG_DOC = reason("COSURG_DOC_REQUIRED", "co-surgery paid (62.5%) but documentation of medical necessity is "
                    "required (indicator 1)", f"{_DOC}, Co-surgeons indicator 1")
TEAM_BY_REPORT = reason("TEAM_BY_REPORT", "team surgery: carrier-priced by report",
                        f"{_DOC}, Team Surgery indicators 1/2")
TEAM_NA = reason("TEAM_NOT_ALLOWED", "modifier 66 on a code whose team-surgery indicator is 0 or 9",
                 f"{_DOC}, Team Surgery indicator 0/9")
ASST_NA = reason("ASST_NOT_ALLOWED", "assistant at surgery not paid for this code (indicator 1: statutory "
                 "restriction; 9: concept does not apply)", f"{_DOC}, Assistant at Surgery indicator 1/9")
ASST_DOC = reason("ASST_DOC_REQUIRED", "assistant at surgery priced but payable only with documentation of "
                  "medical necessity (indicator 0)", f"{_DOC}, Assistant at Surgery indicator 0")
STATUS_T = reason("STATUS_T_BUNDLED", "status T injection billed with another payable PFS service on the same "
                  "date: bundled (allowed 0)", f"{_DOC}, Attachment A, status T")
CHARGE_LOWER = reason("CHARGE_LOWER", "the actual charge is lower than the fee schedule amount and is allowed",
                      "42 CFR 414.20; SSA s.1848(a)(1) (lower of actual charge or fee schedule amount)")
NONPAR = reason("NONPAR_95", "non-participating: 95% of the fee schedule amount",
                f"{_DOC}, limiting charge paragraph; SSA s.1848(a)(3)")

#: Codes that mean "no amount" (allowed is NaN). Every other code is informational.
REFUSING = frozenset({
    BAD_DATE.code, NO_RELEASE.code, NO_LOCALITY.code, BAD_POS.code, BAD_UNITS.code, UNKNOWN_CODE.code,
    PCTC_NOT_ALLOWED.code, PCTC_BOTH.code, MOD53_BY_REPORT.code, BILAT_NA.code, COSURG_NA.code,
    TEAM_BY_REPORT.code, TEAM_NA.code, ASST_NA.code,
})

# ---------------------------------------------------------------------------
# place of service

#: Facility-rate places of service: Pub. 100-04 ch.12 s.20.4.2 (02 telehealth
#: other than the home, 19 off-campus and 22 on-campus outpatient hospital,
#: 21 inpatient hospital, 23 emergency room, 24 ASC, 26 military treatment
#: facility, 31 SNF Part A, 34 hospice, 41/42 ambulance, 51 inpatient
#: psychiatric, 52 partial hospitalization, 53 CMHC, 56 psychiatric
#: residential treatment, 61 comprehensive inpatient rehabilitation). These are
#: the settings 42 CFR 414.22(b)(5)(i) names for facility PE RVUs (hospital,
#: SNF, CMHC, ASC) plus those the manual assigns to them.
FACILITY_POS = frozenset({"02", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42",
                          "51", "52", "53", "56", "61"})
#: Non-facility-rate places of service (same section): office, home, assisted
#: living, clinics, FQHC/RHC, independent lab, "other place of service"...
#: POS 10 (telehealth in the patient's home) is non-facility from 1 January 2024
#: (CY2024 PFS final rule) and facility before (see :func:`setting_from_pos`).
NONFACILITY_POS = frozenset({"01", "03", "04", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18",
                             "20", "25", "32", "33", "49", "50", "54", "55", "57", "58", "60", "62", "65",
                             "71", "72", "81", "99"})
SETTING_NAMES = np.array(["nonfacility", "facility", ""], dtype=object)


def normalise_pos(values: pd.Series) -> np.ndarray:
    """Two-digit POS text per line ("11", "02"); "" where not a 1-2 digit number.

    Works on the distinct values only (factorize), so 1 M lines cost little.
    """
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    out_u = np.empty(len(uniq) + 1, dtype=object)
    for i, v in enumerate(uniq):  # distinct values, not lines
        s = str(v).strip()
        if s.endswith(".0"):
            s = s[:-2]
        out_u[i] = s.zfill(2) if s.isdigit() and 1 <= len(s) <= 2 else ""
    out_u[-1] = ""
    return out_u[codes]


def setting_from_pos(pos: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Setting index per line: 0 non-facility, 1 facility, 2 unknown (reason BAD_POS).

    Source: 42 CFR 414.22(b)(5)(i) (facility PE RVUs for services in a
    hospital, SNF, CMHC or ASC; non-facility PE RVUs elsewhere) and Pub. 100-04
    ch.12 s.20.4.2, whose lists are :data:`FACILITY_POS` and
    :data:`NONFACILITY_POS`. POS 10 is facility before CY2024.
    """
    out = np.full(len(pos), 2, dtype=np.int8)
    out[np.isin(pos, list(NONFACILITY_POS))] = 0
    out[np.isin(pos, list(FACILITY_POS))] = 1
    out[(pos == "10") & (year < 2024)] = 1
    return out


# ---------------------------------------------------------------------------
# modifiers

#: Modifiers read by the repricer; any other modifier (51, 59, XU, GA...) is
#: informational and does not change the price.
KNOWN = ("26", "TC", "53", "50", "LT", "RT", "62", "66", "80", "81", "82", "AS")


def parse_modifiers(values: pd.Series | None, n: int) -> pd.DataFrame:
    """One boolean column per modifier in :data:`KNOWN` (``m26``, ``mTC``...).

    Modifiers may be separated by spaces, commas, semicolons, slashes or
    hyphens, in any case: ``"51 LT"``, ``"50,lt"``, ``"26"``. Parsed on the
    distinct values only.
    """
    if values is None:
        return pd.DataFrame({f"m{k}": np.zeros(n, dtype=bool) for k in KNOWN})
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    table = np.zeros((len(uniq) + 1, len(KNOWN)), dtype=bool)
    pos = {k: j for j, k in enumerate(KNOWN)}
    for i, v in enumerate(uniq):  # distinct values, not lines
        s = str(v).upper()
        for sep in ",;/-|":
            s = s.replace(sep, " ")
        for tok in s.split():
            if tok.endswith(".0"):
                tok = tok[:-2]
            j = pos.get(tok)
            if j is not None:
                table[i, j] = True
    rows = table[codes]
    return pd.DataFrame({f"m{k}": rows[:, j] for j, k in enumerate(KNOWN)})


def pricing_modifier(mods: pd.DataFrame) -> np.ndarray:
    """Index of the PPRRVU row modifier per line: 0 "", 1 "26", 2 "TC", 3 "53".

    Modifiers 26/TC/53 select their own PPRRVU rows (RVU file documentation,
    Modifier field). A line with both 26 and TC gets 1 (and reason
    :data:`PCTC_BOTH` from the repricer).
    """
    out = np.zeros(len(mods), dtype=np.int8)
    out[mods["m53"].to_numpy()] = 3
    out[mods["mTC"].to_numpy()] = 2
    out[mods["m26"].to_numpy()] = 1
    return out


# ---------------------------------------------------------------------------
# grouping helpers


def group_rank(key: np.ndarray, value: np.ndarray, tiebreak: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank within groups of *key* by *value* (highest first; ties by *tiebreak*).

    Returns ``(rank, order)``: 0-based rank per element and the sort order used.
    """
    if len(tiebreak) < 2 or bool(np.all(tiebreak[1:] > tiebreak[:-1])):
        order = np.lexsort((-value, key))  # lexsort is stable: ties keep the (increasing) tiebreak order
    else:
        order = np.lexsort((tiebreak, -value, key))
    ks = key[order]
    n = len(ks)
    start = np.ones(n, dtype=bool)
    if n:
        start[1:] = ks[1:] != ks[:-1]
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(start, idx, 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = idx - first
    return rank, order


def units_before(key: np.ndarray, order: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Units of the elements ranked above each element in its group (for positions)."""
    u = units[order]
    ks = key[order]
    cs = np.cumsum(u)
    n = len(ks)
    start = np.ones(n, dtype=bool)
    if n:
        start[1:] = ks[1:] != ks[:-1]
    idx = np.arange(n)
    first = np.maximum.accumulate(np.where(start, idx, 0))
    before = cs - u - (cs[first] - u[first])
    out = np.empty(n, dtype=FLOAT)
    out[order] = before
    return out


def _paid_units(rank: np.ndarray, units: np.ndarray, rate: float) -> np.ndarray:
    """Unit-equivalents paid: the first unit of the top-ranked element in full,
    every other unit at *rate*."""
    return np.where(rank == 0, 1.0 + rate * (units - 1.0), rate * units)


# ---------------------------------------------------------------------------
# bilateral


def bilateral(bilat_ind: np.ndarray, m50: np.ndarray, units: np.ndarray,
              pair_rt_lt: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Bilateral factor and the units that still multiply, per line.

    RVU file documentation, Bilateral Surgery (Modifier 50):

    * 1 - 150% of the fee schedule amount for a single code when billed with
      modifier 50, or twice by other means (RT and LT, or 2 units);
    * 2 - RVUs already bilateral: 100% of the single-code amount;
    * 3 - each side 100%: 200% of the single-code amount;
    * 0 - 150% does not apply: 100% of the single-code amount (flagged);
    * 9 - concept does not apply: modifier 50 is refused.

    With modifier 50 the line is one bilateral procedure, so its units do not
    multiply. *pair_rt_lt* marks lines of an RT/LT pair (indicators 1 and 2):
    each line carries half of the bilateral amount. Returns ``(factor,
    units_multiplier, flags)`` where flags maps reason codes to masks.
    """
    b = bilat_ind
    factor = np.ones(len(b), dtype=FLOAT)
    units_mult = units.astype(FLOAT).copy()
    factor[m50 & (b == 1)] = 1.5
    factor[m50 & (b == 3)] = 2.0
    units_mult[m50] = 1.0
    by_units = ~m50 & (units == 2) & ((b == 1) | (b == 2)) & ~pair_rt_lt
    factor[by_units & (b == 1)] = 1.5
    units_mult[by_units] = 1.0
    pair = pair_rt_lt & ~m50
    factor[pair & (b == 1)] = 0.75
    factor[pair & (b == 2)] = 0.5
    units_mult[pair] = 1.0
    flags = {
        BILAT_NA.code: m50 & ((b == 9) | (b < 0)),
        BILAT_100.code: m50 & (b == 0),
        BILAT_UNITS.code: by_units,
        BILAT_PAIR.code: pair,
        BILAT_50_UNITS.code: m50 & (units > 1),
    }
    return factor, units_mult, flags


def rt_lt_pairs(group: np.ndarray, hcpcs_code: np.ndarray, bilat_ind: np.ndarray, mrt: np.ndarray,
                mlt: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Lines that form an RT + LT pair of one bilateral indicator 1/2 code on one claim and date.

    RVU file documentation, Bilateral Surgery indicators 1 and 2: "reported
    twice on the same day by any other means (e.g., with RT and LT
    modifiers)". A pair is exactly one RT line and one LT line (one unit each).
    """
    cand = eligible & ((bilat_ind == 1) | (bilat_ind == 2)) & (mrt ^ mlt)
    if not cand.any():
        return np.zeros(len(group), dtype=bool)
    ids, k = dense_ids(group[cand], hcpcs_code[cand])
    n_rt = np.bincount(ids, weights=mrt[cand], minlength=k)[ids]
    n_lt = np.bincount(ids, weights=mlt[cand], minlength=k)[ids]
    ok = (n_rt == 1) & (n_lt == 1)
    out = np.zeros(len(group), dtype=bool)
    out[np.flatnonzero(cand)[ok]] = True
    return out


# ---------------------------------------------------------------------------
# multiple procedures


def surgery_mppr(group: np.ndarray, mult_proc: np.ndarray, fee: np.ndarray, units: np.ndarray,
                 hcpcs_code: np.ndarray, endo_base_code: np.ndarray, base_fee: np.ndarray,
                 entity: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Multiple surgery (indicators 1, 2, 3) with endoscopy families.

    RVU file documentation, Percentage Multiple Procedure (Modifier 51):

    * 2 - "rank the procedures by fee schedule amount and apply the
      appropriate reduction to this code (100%, 50%, 50%, 50%, 50% and by
      report)". Each unit counts as a procedure; the sixth and later are "by
      report" (flagged, priced at 50%).
    * 3 - "Apply the multiple endoscopy rules to a family before ranking the
      family with the other procedures"; the family (codes sharing an
      Endoscopic Base Code, plus the base code itself) is paid as the highest
      endoscopy in full plus, for each other one, its amount minus the base
      code's ("If an endoscopic procedure is reported with only its base
      procedure, do not pay separately for the base procedure").

    *group*: claim-and-date key (and role); *fee*: the line's fee schedule
    amount for one unit after the bilateral adjustment ("apply the bilateral
    adjustment before applying any multiple procedure rules"); *hcpcs_code*
    and *endo_base_code*: integer codes in one shared code space (-1 for no
    base); *base_fee*: the base code's amount for the line's setting and
    locality; *entity*: line ids, equal for lines priced as one procedure (an
    RT/LT pair). Returns ``(factor, rank, flags)``.
    """
    n = len(group)
    factor = np.ones(n, dtype=FLOAT)
    rank_out = np.full(n, -1, dtype=np.int64)
    flags: dict[str, np.ndarray] = {}
    sel = eligible & _one_of(mult_proc, 1, 2, 3)
    idx = np.flatnonzero(sel)
    if idx.size == 0:
        return factor, rank_out, flags
    k = idx.size
    g, n_g = positions(group[idx])
    mp, f, u = mult_proc[idx], fee[idx], units[idx]
    m3 = mp == 3
    # --- endoscopy families: key (group, base code); members are indicator 3 lines. Only groups
    # with an indicator 3 line can hold a family.
    in_family = np.zeros(k, dtype=bool)
    fam_id = np.full(k, -1, dtype=np.int64)
    has3 = np.zeros(n_g, dtype=bool)
    has3[g[m3]] = True
    sub = np.flatnonzero(has3[g])
    if sub.size:
        isub = idx[sub]
        fam_code = np.where(m3[sub], endo_base_code[isub], hcpcs_code[isub])
        fid, n_f = dense_ids(g[sub], fam_code)
        n_members = np.bincount(fid, weights=m3[sub], minlength=n_f)[fid]
        fam_units = np.bincount(fid, weights=u[sub], minlength=n_f)[fid]
        fam_id[sub] = fid
        in_family[sub] = (n_members >= 1) & (fam_units >= 2) & (fam_code >= 0)
        del isub, fam_code, fid, n_members, fam_units
    amount = f * u  # pre-ranking amount per line
    fi = np.flatnonzero(in_family)  # the family lines: bases and members
    endo_f = np.ones(fi.size, dtype=FLOAT)
    if fi.size:
        ff, uf, fid_f = f[fi], u[fi], fam_id[fi]
        is_base = mp[fi] != 3
        member = ~is_base
        # base fee per family: the base line's own fee if billed, else the looked-up one
        b = np.nan_to_num(np.where(is_base, ff, base_fee[idx[fi]]))
        mrank = np.zeros(fi.size, dtype=np.int64)
        mi = np.flatnonzero(member)
        mrank[mi], _ = group_rank(fid_f[mi], ff[mi], mi.astype(FLOAT))
        # a base line billed in the family sets the base value for all its members
        fam_b = np.full(int(fid_f.max()) + 1, np.nan)
        np.fmax.at(fam_b, fid_f[is_base], ff[is_base])
        b = np.where(np.isnan(fam_b[fid_f]), b, fam_b[fid_f])
        extra = np.maximum(ff - b, 0.0)
        mem_amt = np.where(mrank == 0, ff + extra * (uf - 1.0), extra * uf)
        amt_f = np.where(is_base, 0.0, np.where(member, mem_amt, amount[fi]))
        amount[fi] = amt_f
        with np.errstate(invalid="ignore", divide="ignore"):
            endo_f = np.where(ff * uf > 0, amt_f / (ff * uf), 0.0)
        flags[ENDO_BASE.code] = _scatter(n, idx[fi], is_base)
        flags[MPPR_ENDO.code] = _scatter(n, idx[fi], member & (endo_f < 1))
    # --- entities ranked within the group: a family, an RT/LT pair, or a line. Only family lines
    # and lines sharing an entity id can form an entity of several lines.
    ent = entity[idx]
    shared = ent != idx
    if shared.any():
        pointed = ent[shared]
        if ent.min() >= 0 and ent.max() < 4 * n + 16:
            mark = np.zeros(int(ent.max()) + 1, dtype=bool)
            mark[pointed] = True
            shared = mark[ent]
        else:
            shared = np.isin(ent, pointed)
    multi = np.flatnonzero(in_family | shared)
    del shared
    # a single line ranks on its per-unit fee and counts its units; a group ranks once on its total
    alone = np.ones(k, dtype=bool)
    value = f.copy()
    count = u.copy()
    head = np.ones(k, dtype=bool)
    ent_code = np.zeros(0, dtype=np.int64)
    if multi.size:
        ent_id = np.where(in_family[multi], -1 - fam_id[multi], ent[multi])
        e = pd.DataFrame({"g": g[multi], "e": ent_id, "a": amount[multi]})
        eg = e.groupby(["g", "e"], sort=False)
        e_sum = eg["a"].transform("sum").to_numpy()
        alone_m = (eg["a"].transform("size").to_numpy() == 1) & ~in_family[multi]
        alone[multi] = alone_m
        value[multi] = np.where(alone_m, f[multi], e_sum)
        count[multi] = np.where(alone_m, u[multi], 1.0)
        head[multi] = ~eg.cumcount().to_numpy().astype(bool)  # first line of each entity
        ent_code = eg.ngroup().to_numpy()
        del e, eg, e_sum, ent_id
    del ent, amount
    hidx = np.flatnonzero(head)
    hkey = g[hidx]
    rank = np.zeros(k, dtype=np.int64)
    before = np.zeros(k, dtype=FLOAT)
    ranked = np.flatnonzero(np.bincount(hkey, minlength=n_g)[hkey] >= 2)  # a lone entity ranks first
    if ranked.size:
        hr = hidx[ranked]
        rank_h, order_h = group_rank(hkey[ranked], value[hr], hr.astype(FLOAT))
        rank[hr] = rank_h
        before[hr] = units_before(hkey[ranked], order_h, count[hr])
    if multi.size:  # spread each entity's results from its first line to its other lines
        hm = head[multi]
        r_of = np.empty(int(ent_code.max()) + 1, dtype=np.int64)
        b_of = np.empty(int(ent_code.max()) + 1, dtype=FLOAT)
        r_of[ent_code[hm]] = rank[multi[hm]]
        b_of[ent_code[hm]] = before[multi[hm]]
        rank[multi] = r_of[ent_code]
        before[multi] = b_of[ent_code]
    line_rate = np.where(alone, _paid_units(rank, u, 0.5) / u, np.where(rank == 0, 1.0, 0.5))
    fac = line_rate.copy()
    fac[fi] = endo_f * line_rate[fi]  # other lines: endoscopy factor 1
    factor[idx] = fac
    rank_out[idx] = rank
    flags[MPPR_SURG.code] = _scatter(n, idx, line_rate < 1)
    flags[MPPR_BY_REPORT.code] = _scatter(n, idx, before + count > 5)
    return factor, rank_out, flags


def _one_of(a: np.ndarray, *values: int) -> np.ndarray:
    """``np.isin(a, values)`` for a few integers (one comparison each, no sort)."""
    out = a == values[0]
    for v in values[1:]:
        out |= a == v
    return out


def _scatter(n: int, idx: np.ndarray, sub: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[idx] = sub
    return out


#: Payment fraction of later procedures' components, by multiple procedure indicator.
TC_RATE = {4: 0.50, 6: 0.75, 7: 0.80}
PC_RATE = {4: 0.95}
_MPPR_FLAG = {4: MPPR_IMAGING.code, 6: MPPR_CARDIO.code, 7: MPPR_OPHTH.code}


def diagnostic_mppr(group: np.ndarray, mult_proc: np.ndarray, family: np.ndarray, base: np.ndarray,
                    tc_part: np.ndarray, pc_part: np.ndarray, units: np.ndarray,
                    eligible: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Diagnostic imaging (4), cardiovascular (6) and ophthalmology (7) reductions.

    RVU file documentation, Percentage Multiple Procedure:

    * 4 - procedures in the same session with the same Diagnostic Imaging
      Family Indicator ('88'): "rank the procedures by fee schedule amount for
      the TC. Pay 100% for the highest priced procedure, and 50% for each
      subsequent procedure" and "5% reduction of the PC of diagnostic imaging
      (effective for services January 1, 2017 and after)";
    * 6 - "25% reduction of the second highest and subsequent procedures to
      the TC of diagnostic cardiovascular services";
    * 7 - "20% reduction ... to the TC of diagnostic ophthalmology services".

    TC parts and PC parts are ranked separately (TC by TC amount, PC by PC
    amount), so a -26 line and a -TC line of one code each keep 100%. A global
    line's parts are its code's TC and -26 amounts. Each unit is a procedure.
    Returns ``(factor, tc_rank, flags)``; factor = (line amount - reductions)
    / line amount.
    """
    n = len(group)
    factor = np.ones(n, dtype=FLOAT)
    rank_out = np.full(n, -1, dtype=np.int64)
    flags: dict[str, np.ndarray] = {}
    red = np.zeros(n, dtype=FLOAT)
    for mp, tc_rate in TC_RATE.items():  # three rules, not lines
        sel = eligible & (mult_proc == mp)
        idx = np.flatnonzero(sel)
        if idx.size == 0:
            continue
        key = g = group[idx] * 128 + (family[idx] if mp == 4 else 0)
        u = units[idx]
        tc = np.nan_to_num(tc_part[idx])
        rt, _ = group_rank(np.where(tc > 0, key, -1 - np.arange(idx.size)), tc, idx.astype(FLOAT))
        r = tc * (u - _paid_units(rt, u, tc_rate))
        rank_out[idx] = rt
        if mp in PC_RATE:
            pc = np.nan_to_num(pc_part[idx])
            rp, _ = group_rank(np.where(pc > 0, g, -1 - np.arange(idx.size)), pc, idx.astype(FLOAT))
            r = r + pc * (u - _paid_units(rp, u, PC_RATE[mp]))
        red[idx] = r
        flags[_MPPR_FLAG[mp]] = _scatter(n, idx, r > 0)
    cut = np.flatnonzero(red > 0)  # the other lines keep 1.0
    total = base[cut] * units[cut]
    with np.errstate(invalid="ignore", divide="ignore"):
        factor[cut] = np.where(total > 0, (total - red[cut]) / total, 1.0)
    return factor, rank_out, flags


def therapy_mppr(group: np.ndarray, mult_proc: np.ndarray, base: np.ndarray, pe_amount: np.ndarray,
                 units: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Therapy multiple procedure payment reduction (indicator 5).

    RVU file documentation: "5 = Subject to 50% of the practice expense
    component for certain therapy services" and "Certain therapy codes will
    receive a 50 percent reduction to the PE". The unit with the highest PE
    amount on the claim and date is paid in full; every later unit and
    procedure gets 50% of its PE amount (work and MP are not reduced).
    *pe_amount*: PE RVU × PE GPCI × CF for one unit. Returns ``(factor, flags)``.
    """
    n = len(group)
    factor = np.ones(n, dtype=FLOAT)
    idx = np.flatnonzero(eligible & (mult_proc == 5))
    if idx.size == 0:
        return factor, {}
    pe = np.nan_to_num(pe_amount[idx])
    u = units[idx]
    rank, _ = group_rank(group[idx], pe, idx.astype(FLOAT))
    red = pe * (u - _paid_units(rank, u, 0.5))
    total = base[idx] * u
    with np.errstate(invalid="ignore", divide="ignore"):
        factor[idx] = np.where((red > 0) & (total > 0), (total - red) / total, 1.0)
    return factor, {MPPR_THERAPY.code: _scatter(n, idx, red > 0)}


# ---------------------------------------------------------------------------
# surgical roles


def cosurgery_factor(m62: np.ndarray) -> np.ndarray:
    """The factor of :func:`cosurgery`: 0.625 with modifier 62, else 1."""
    return np.where(m62, 0.625, 1.0)


def cosurgery(co_ind: np.ndarray, m62: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Modifier 62: each co-surgeon gets 62.5% of the (reduced) fee schedule amount.

    RVU file documentation, Co-surgeons (Modifier -62): 1 - "Co-surgeons
    could be paid, though supporting documentation is required"; 2 -
    "Co-surgeons permitted"; 0 - "not permitted"; 9 - "Concept does not
    apply". The 62.5% for each co-surgeon is Pub. 100-04 (Medicare Claims
    Processing Manual) ch.12 s.40.8.
    """
    return cosurgery_factor(m62), cosurgery_flags(co_ind, m62)


def cosurgery_flags(co_ind: np.ndarray, m62: np.ndarray) -> dict[str, np.ndarray]:
    """The reasons of :func:`cosurgery` (its rule), without the factor."""
    return {COSURG_NA.code: m62 & ~_one_of(co_ind, 1, 2), COSURG_DOC.code: m62 & (co_ind == 1)}


def team_factor(m66: np.ndarray) -> np.ndarray:
    """The factor of :func:`team`: NaN (by report) with modifier 66, else 1."""
    return np.where(m66, np.nan, 1.0)


def team(team_ind: np.ndarray, m66: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Modifier 66: team surgery is paid "by report" (carrier-priced) where the
    indicator is 1 or 2, and not at all where it is 0 or 9 (RVU file
    documentation, Team Surgery (Modifier -66)). Factor NaN where by report."""
    return team_factor(m66), team_flags(team_ind, m66)


def team_flags(team_ind: np.ndarray, m66: np.ndarray) -> dict[str, np.ndarray]:
    """The reasons of :func:`team` (its rule), without the factor."""
    return {TEAM_BY_REPORT.code: m66 & _one_of(team_ind, 1, 2), TEAM_NA.code: m66 & ~_one_of(team_ind, 1, 2)}


ASSISTANT_RATE = 0.16
NPP_ASSISTANT_SHARE = 0.85


def assistant_factor(m_md: np.ndarray, m_as: np.ndarray) -> np.ndarray:
    """The factor of :func:`assistant`: 13.6% with AS, 16% with 80/81/82, else 1."""
    return np.where(m_as, ASSISTANT_RATE * NPP_ASSISTANT_SHARE, np.where(m_md, ASSISTANT_RATE, 1.0))


def assistant(asst_ind: np.ndarray, m_md: np.ndarray, m_as: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Modifiers 80/81/82 (physician assistant at surgery) and AS (non-physician).

    RVU file documentation, Assistant at Surgery: 2 - "Assistant at surgery
    may be paid"; 0 - paid only with "supporting documentation ... to
    establish medical necessity" (priced, flagged); 1 - "Statutory payment
    restriction"; 9 - "Concept does not apply" (refused). Rates: 16% of the
    fee schedule amount (Pub. 100-04 ch.12 s.20.4.3) and, for a physician
    assistant, nurse practitioner or clinical nurse specialist assisting
    (modifier AS), 85% of that, i.e. 13.6% (SSA s.1833(a)(1)(O)).
    """
    return assistant_factor(m_md, m_as), assistant_flags(asst_ind, m_md, m_as)


def assistant_flags(asst_ind: np.ndarray, m_md: np.ndarray, m_as: np.ndarray) -> dict[str, np.ndarray]:
    """The reasons of :func:`assistant` (its rule), without the factor."""
    any_asst = m_md | m_as
    return {ASST_NA.code: any_asst & ~_one_of(asst_ind, 0, 2), ASST_DOC.code: any_asst & (asst_ind == 0)}


def status_t_bundled(group: np.ndarray, status_t: np.ndarray, payable_other: np.ndarray) -> np.ndarray:
    """Status T lines bundled because another payable PFS service is on the same claim and date.

    RVU file documentation, Attachment A, status T: "only paid if there are
    no other services payable under the physician fee schedule billed on the
    same date by the same provider".
    """
    if not status_t.any():
        return np.zeros(len(group), dtype=bool)
    pos, k = positions(group)
    others = np.bincount(pos[payable_other], minlength=k)
    return status_t & (others[pos] > 0)


NONPAR_FACTOR = 0.95
LIMITING_FACTOR = 1.0925
SEQUESTRATION_RATE = 0.02
COINSURANCE = 0.20


def lower_of_charge(amount: np.ndarray, charge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Allowed = lower of the actual charge and the fee schedule amount.

    RVU file documentation (Multiple Procedure indicators: "Base the payment
    on the lower of (a) the actual charge, or (b) the fee schedule amount");
    SSA s.1848(a)(1). A missing charge leaves the amount as is. Returns
    ``(allowed, charge_was_lower)``.
    """
    lower = ~np.isnan(charge) & ~np.isnan(amount) & (charge < amount)
    return np.where(lower, charge, amount), lower


__all__ = [
    "FACILITY_POS", "NONFACILITY_POS", "REFUSING", "KNOWN", "assistant", "assistant_factor",
    "assistant_flags", "bilateral", "cosurgery", "cosurgery_factor", "cosurgery_flags",
    "diagnostic_mppr", "group_rank", "lower_of_charge", "normalise_pos", "parse_modifiers",
    "pricing_modifier", "rt_lt_pairs", "setting_from_pos", "status_t_bundled", "surgery_mppr", "team",
    "team_factor", "team_flags", "therapy_mppr", "units_before",
]
