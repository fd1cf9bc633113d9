"""A plain per-claim reference pricer for facility claims (OPPS and ASC), written as a loop.

It restates the claim rules of :mod:`rvucalc.claims.opps` and :mod:`rvucalc.claims.asc`
one claim at a time, with dicts and lists, to check the vectorised path line for line (and to
time it against). It reads the same prepared per-code tables (the per-code rules of
:mod:`rvucalc.calc.opps` / :mod:`rvucalc.calc.asc`), but none of the claim-rule code.
"""

from __future__ import annotations

import math
from collections import defaultdict

NEW_TECH = [(1491, 1599), (1901, 1908)]
EXCL_ORDER = ["F", "G", "H", "L", "U", "NOPAIN", "NEWTECH", "C9399", "PREVENTIVE"]


def cents(x: float) -> int:
    return math.floor(x * 100.0 + 0.5 + 1e-6)


def opps_rows(table) -> dict:  # type: ignore[no-untyped-def]
    """code -> dict of the prepared Addendum B fields."""
    from rvucalc.claims.opps import SI_CODES

    out = {}
    for i, hc in enumerate(table.hcpcs):
        si = SI_CODES[table.si[i]] if table.si[i] >= 0 else "?"
        rid = table.reason[i]
        out[hc] = {"si": si, "rate": float(table.rate[i]),
                   "copay": float(table.copay[i]), "wadj": bool(table.wage_adjusted[i]),
                   "reason": table.reason_labels[rid] if rid >= 0 else "",
                   "excl": int(table.exclusion[i])}
    return out


def ref_opps(rows: dict, lines: list[dict], deductible: float) -> list[dict]:
    """Price *lines* (dicts: line, claim, date, hcpcs, units, wi) claim by claim."""
    claims: dict[object, list[dict]] = defaultdict(list)
    for ln in lines:
        claims[ln["claim"]].append(ln)
    out: dict[int, dict] = {}
    for _claim, cl in claims.items():
        info = []
        for ln in cl:
            r = rows.get(ln["hcpcs"].strip().upper())
            reasons = set()
            if r is None:
                reasons.add("OPPS_CODE_NOT_IN_ADDENDUM_B")
                info.append((ln, None, False, reasons))
                continue
            if r["reason"]:
                reasons.add(r["reason"])
            payable = r["reason"] == ""
            if payable and r["wadj"] and math.isnan(ln["wi"]):
                reasons.add("OPPS_NO_WAGE_INDEX")
                payable = False
            info.append((ln, r, payable, reasons))
        sis = [r["si"] if r else None for _, r, _, _ in info]
        j1 = [(i, x) for i, x in enumerate(info) if x[2] and x[1]["si"] == "J1"]
        primary = None
        if j1:
            primary = sorted(j1, key=lambda p: (-p[1][1]["rate"], p[1][0]["line"]))[0][0]
        j1_units = sum(x[0]["units"] for _, x in j1)
        has_stv = any(s in ("S", "T", "V", "J2") for s in sis)
        has_t = any(s == "T" for s in sis)
        has_q4trig = any(s in ("J1", "J2", "S", "T", "V", "Q1", "Q2", "Q3") for s in sis)
        res = []
        for i, (ln, r, payable, reasons) in enumerate(info):
            state = "not paid"
            units_paid = 0.0
            if r is not None:
                si = r["si"]
                packaged = si == "N"
                if j1:
                    if payable and si == "J1" and i != primary:
                        packaged = True
                        reasons.add("OPPS_J1_SECONDARY")
                    elif (payable or si in ("N", "Q4")) and si != "J1" and r["excl"] < 0:
                        packaged = True
                        if si != "N":
                            reasons.add("OPPS_J1_PACKAGED")
                    elif payable and si != "J1" and r["excl"] >= 0:
                        reasons.add("OPPS_CAPC_EXCLUDED_" + EXCL_ORDER[r["excl"]])
                else:
                    if payable and si == "Q1" and has_stv:
                        packaged = True
                        reasons.add("OPPS_Q1_PACKAGED")
                    if payable and si == "Q2" and has_t:
                        packaged = True
                        reasons.add("OPPS_Q2_PACKAGED")
                    if si == "Q4" and has_q4trig:
                        packaged = True
                        reasons.add("OPPS_Q4_PACKAGED")
                if packaged:
                    state = "packaged"
                elif payable:
                    state = "paid"
                    units_paid = ln["units"]
                    if i == primary:
                        units_paid = 1.0
                        if ln["units"] > 1:
                            reasons.add("OPPS_J1_ONCE_PER_CLAIM")
                        if j1_units > 1:
                            reasons.add("OPPS_J1_COMPLEXITY_NOT_ASSESSED")
                    if si == "Q3":
                        reasons.add("OPPS_Q3_COMPOSITE_NOT_ASSESSED")
                    if si == "J2":
                        reasons.add("OPPS_J2_NOT_ASSESSED")
            res.append([ln, r, state, units_paid, reasons])
        # T discount per date of service
        by_date: dict[object, list] = defaultdict(list)
        for x in res:
            if x[2] == "paid" and x[1]["si"] == "T":
                by_date[x[0]["date"]].append(x)
        below_top = set()
        for ts in by_date.values():
            ts.sort(key=lambda x: (-x[1]["rate"], x[0]["line"]))
            for k, x in enumerate(ts):
                u = x[0]["units"]
                paid = 1.0 + 0.5 * (u - 1.0) if k == 0 else 0.5 * u
                if paid < u:
                    x[4].add("OPPS_T_DISCOUNT")
                    x[2] = "discounted"
                x[3] = u * (paid / u)
                if k > 0:
                    below_top.add(x[0]["line"])
        # modifiers 73/52 (50%, once; 25% below the top T procedure) and 74 on procedures
        for x in res:
            ln, r, state = x[0], x[1], x[2]
            mods = ln.get("mods", set())
            if state not in ("paid", "discounted"):
                continue
            procedure = r["si"] in ("J1", "J2", "Q1", "Q2", "Q3", "S", "T", "V")
            if mods & {"73", "52"} and procedure:
                x[3] = 0.25 if ln["line"] in below_top else 0.5
                x[2] = "discounted"
                x[4].add("OPPS_MOD73_50PCT" if "73" in mods else "OPPS_MOD52_50PCT")
            elif mods & {"73", "52"}:
                x[4].add("OPPS_MOD_NOT_A_PROCEDURE")
            elif "74" in mods and procedure:
                x[4].add("OPPS_MOD74_FULL")
        total = 0
        unknown = False
        for ln, r, state, up, reasons in res:
            pay = cop = None
            unknown = unknown or (state == "not paid" and bool(
                reasons & {"OPPS_NO_WAGE_INDEX", "OPPS_NO_RATE", "OPPS_ZERO_RATE", "OPPS_SI_UNKNOWN"}))
            if state in ("paid", "discounted"):
                wf = 0.6 * ln["wi"] + 0.4 if r["wadj"] else 1.0
                p = r["rate"] * wf * up
                c = r["copay"] * wf * up
                if c > deductible:
                    c = deductible
                    reasons.add("OPPS_COPAY_CAPPED")
                pay, cop = cents(p), cents(c)
            elif state == "packaged":
                pay, cop = 0, 0
            total += pay or 0
            out[ln["line"]] = {"status": state, "payment": pay, "copay": cop, "reasons": reasons}
        for ln in cl:
            out[ln["line"]]["claim_total"] = None if unknown else total
    return [out[i] for i in sorted(out)]


def asc_rows(table) -> dict:  # type: ignore[no-untyped-def]
    out = {}
    for i, hc in enumerate(table.hcpcs):
        rid = table.reason[i]
        out[hc] = {"pi": table.pi_labels[table.pi[i]], "rate": float(table.rate[i]),
                   "wadj": bool(table.wage_adjusted[i]),
                   "reason": table.reason_labels[rid] if rid >= 0 else "",
                   "surgical": bool(table.surgical[i]), "mpd": bool(table.subject_mpd[i]),
                   "prev": bool(table.preventive[i]), "ira": float(table.ira_copay[i])}
    return out


def ref_asc(rows: dict, lines: list[dict]) -> list[dict]:
    """Price ASC *lines* (dicts: line, claim, date, hcpcs, units, wi, mods: set) claim by claim."""
    claims: dict[object, list[dict]] = defaultdict(list)
    for ln in lines:
        claims[ln["claim"]].append(ln)
    out: dict[int, dict] = {}
    for cl in claims.values():
        res = []
        for ln in cl:
            r = rows.get(ln["hcpcs"].strip().upper())
            reasons: set[str] = set()
            state = "not paid"
            if r is None:
                reasons.add("ASC_NOT_COVERED")
            else:
                if r["reason"]:
                    reasons.add(r["reason"])
                if r["pi"] == "N1":
                    state = "packaged"
                elif r["reason"] == "":
                    if r["wadj"] and math.isnan(ln["wi"]):
                        reasons.add("ASC_NO_WAGE_INDEX")
                    else:
                        state = "paid"
            res.append([ln, r, state, reasons, 0.0, 1.0])
        has_surg = any(x[2] == "paid" and x[1]["surgical"] for x in res)
        for x in res:
            ln, r, state, reasons = x[0], x[1], x[2], x[3]
            if state != "paid":
                continue
            if not r["surgical"] and not has_surg:
                reasons.add("ASC_ANCILLARY_WITHOUT_PROCEDURE")
                x[2] = "not paid"
                continue
            mods = ln["mods"]
            j8 = r["pi"] == "J8"
            if j8 and ("73" in mods or "FB" in mods or "FC" in mods):
                reasons.add("ASC_DEVICE_OFFSET_NOT_AT_HAND")
                x[2] = "not paid"
                continue
            if ("FB" in mods or "FC" in mods) and not j8:
                reasons.add("ASC_DEVICE_CREDIT_NOT_DEVICE_INTENSIVE")
            f = 1.0
            if "73" in mods:
                f = 0.5
                reasons.add("ASC_MOD73_50PCT")
            elif "52" in mods:
                f = 0.5
                reasons.add("ASC_MOD52_50PCT")
            elif "74" in mods:
                reasons.add("ASC_MOD74_FULL")
            wf = 0.5 * ln["wi"] + 0.5 if r["wadj"] else 1.0
            if j8 and ln["wi"] != 1.0:
                reasons.add("ASC_J8_WAGE_WHOLE_RATE")
            x[4] = r["rate"] * wf * f  # per unit
            x[5] = f
        by_date: dict[object, list] = defaultdict(list)
        for x in res:
            if x[2] == "paid" and x[1]["mpd"]:
                by_date[x[0]["date"]].append(x)
        mpd: dict[int, float] = {}
        for ms in by_date.values():
            ms.sort(key=lambda x: (-x[4], x[0]["line"]))
            for k, x in enumerate(ms):
                u = x[0]["units"]
                paid = 1.0 + 0.5 * (u - 1.0) if k == 0 else 0.5 * u
                mpd[x[0]["line"]] = paid / u
                if paid < u:
                    x[3].add("ASC_MULT_PROC_50")
        total = 0
        unknown = False
        for ln, r, state, reasons, unit_amt, f in res:
            pay = coi = None
            if state == "paid":
                mf = mpd.get(ln["line"], 1.0)
                up = ln["units"] * mf
                p = unit_amt * up
                if r["prev"]:
                    c = 0.0
                    reasons.add("ASC_PREVENTIVE")
                elif not math.isnan(r["ira"]):
                    c = r["ira"] * up
                    reasons.add("ASC_IRA_COPAYMENT")
                else:
                    c = 0.2 * p
                c = min(c, p)
                pay, coi = cents(p), cents(c)
                if mf < 1 or f < 1:
                    state = "discounted"
            elif state == "packaged":
                pay, coi = 0, 0
            total += pay or 0
            # an amount unknown for want of data (not a rule): the claim has no total
            unknown = unknown or (pay is None and bool(reasons & {
                "ASC_NO_WAGE_INDEX", "ASC_DEVICE_OFFSET_NOT_AT_HAND", "ASC_NO_RATE", "ASC_ZERO_RATE",
                "ASC_PI_UNKNOWN"}))
            out[ln["line"]] = {"status": state, "payment": pay, "copay": coi, "reasons": reasons}
        for ln in cl:
            out[ln["line"]]["claim_total"] = None if unknown else total
    return [out[i] for i in sorted(out)]
