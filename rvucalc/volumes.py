"""Price a volume table (code, modifier, place, setting, count) with the PFS: revenue models.

``fs.price_volumes(df)``: every row comes back in order with the user's columns
as given, plus the locality used, the PFS setting, the amount, the revenue and
the reason. Distinct codes, places and settings are resolved once each; the
amounts come from one :meth:`~rvucalc.FeeSchedule.price_matrix` call and are
picked per row with array indexing (no loop over rows).
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Any

import numpy as np
import pandas as pd

from . import arguments
from .calc import pfs as pfs_calc
from .calc.money import round_cents
from .codes import (
    MODIFIER_NOTE,
    NOT_IN_RELEASE,
    POLICY_MODIFIER,
    modifier_effect,
    not_on_pfs_reason,
    split_code,
)
from .errors import InvalidArgumentError, RvucalcError
from .reasons import reason

BAD_LOCALITY = reason("BAD_LOCALITY", "the locality or ZIP code could not be found",
                      "CMS ZIP5 file and GPCI file (payment localities)")
BAD_SETTING = reason("BAD_SETTING", "the setting is not office/nonfacility or facility",
                     "CMS RVU file documentation: non-facility and facility amounts")
BAD_COUNT = reason("BAD_COUNT", "the count is not a number of services (0 or more)", "the volume table given")
BAD_CODE = reason("BAD_CODE", "not a HCPCS code (five letters or digits)", "HCPCS code set")
NO_COUNT = reason("VOL_NO_COUNT", "the volume table has no count column: the amount is priced, the revenue "
                  "(amount x count) is not", "the volume table given")
NATIONAL = reason("VOL_NATIONAL", "no ZIP code or locality on this row: priced at the national amount "
                  "(GPCIs 1.0); write 'national' in the locality column to say so, or give the place",
                  "CMS PFS: the national amount is the RVUs x the conversion factor, GPCIs 1.0")
OFFICE = reason("VOL_SETTING_OFFICE", "no setting on this row: priced in the office (non-facility)",
                "CMS RVU file documentation: non-facility and facility amounts")

#: The settings a volume table's setting column may hold (case and spaces ignored), and the PFS
#: setting each means. "hospital" is not one: a physician's service in a hospital is paid the
#: facility amount, and the hospital's own payment is the OPPS (fs.compare_sites, reprice_opps).
SETTINGS = {"office": "nonfacility", "nonfacility": "nonfacility", "non-facility": "nonfacility",
            "non facility": "nonfacility", "nf": "nonfacility", "facility": "facility", "fac": "facility",
            "f": "facility"}
#: The columns price_volumes adds; a volume table that already has one is refused (its data
#: would be overwritten).
ADDED = ("locality_id", "pfs_setting", "amount", "revenue", "reason", "note", "release", "fee_schedule")


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str).str.strip()


def price_volumes(volumes: pd.DataFrame, *, known_codes: Set[str], pairs: Set[tuple[str, str]],
                  resolve_locality: Callable[..., str | None], price_matrix: Callable[..., Any],
                  release: str, code: str = "hcpcs", modifier: str = "modifier",
                  locality: str = "locality", zip: str = "zip", setting: str = "setting", count: str = "count",
                  conversion_factor: float | None = None, qp: bool | None = None,
                  price_other: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    """Price a volume table (see :meth:`rvucalc.FeeSchedule.price_volumes`, which passes its own).

    *price_other* (optional) prices the rows of lab, drug and DME codes the PFS does not pay: it
    gets a frame of ``hcpcs, modifier, reason, amount, locality_id, zip, release`` per row and
    returns it with those rows' ``amount``, ``reason`` and ``release`` replaced and a
    ``fee_schedule`` column (:func:`rvucalc.schedules.surface.fill_rows`).

    *known_codes* are the release's PFS codes and *pairs* its (code, modifier) rows;
    *resolve_locality* turns a locality id or ``zip=`` into a locality id; *price_matrix* is
    called once per place kind with ``(codes, localities, national=, conversion_factor=, qp=)``
    as :meth:`rvucalc.FeeSchedule.price_matrix`; *release* is the release id written per row.
    """
    arguments.frame(volumes, "volumes", what="volumes (hcpcs, modifier, locality or zip, setting, count)")
    if code not in volumes:
        raise RvucalcError(f"the volume table has no {code!r} column (columns: {', '.join(map(str, volumes))})")
    _check_columns(volumes, {"modifier": (modifier, "modifier"), "locality": (locality, "locality"),
                             "zip": (zip, "zip"), "setting": (setting, "setting"), "count": (count, "count")})
    n = len(volumes)
    out = volumes.copy()
    codes_in = _text(volumes[code]).str.upper()
    mods_in = _text(volumes[modifier]).str.upper() if modifier in volumes else pd.Series([""] * n, index=volumes.index)
    mods_in = mods_in.str.replace(r"\.0$", "", regex=True)
    # -- codes: distinct (code, modifier) values
    pair = codes_in + "|" + mods_in
    keys, uniq = pd.factorize(pair)
    key_code, key_mod, key_rowmod, key_reason, key_note = [], [], [], [], []
    for v in uniq:  # distinct values, not rows
        c, m = str(v).split("|", 1)
        try:
            cc, mm = split_code(c)
            mm = m or mm
        except RvucalcError:
            key_code.append(c), key_mod.append(m), key_rowmod.append(""), key_reason.append(BAD_CODE.code)
            key_note.append("")
            continue
        eff = modifier_effect(mm)
        rowmod = mm if eff == "row" else ""
        why, note = "", ""
        if cc not in known_codes:  # as schedule() says it: first that the PFS has no such code
            why = not_on_pfs_reason(cc).code
        elif eff == "policy":
            why = POLICY_MODIFIER.code
        elif (cc, rowmod) not in pairs:
            why = NOT_IN_RELEASE.code
        elif eff == "none":
            note = MODIFIER_NOTE.code
        key_code.append(cc), key_mod.append(mm), key_rowmod.append(rowmod), key_reason.append(why)
        key_note.append(note)
    # -- places: distinct locality ids and ZIP codes
    loc_in = _text(volumes[locality]) if locality in volumes else pd.Series([""] * n, index=volumes.index)
    zip_in = _text(volumes[zip]).str.replace(r"\.0$", "", regex=True) if zip in volumes \
        else pd.Series([""] * n, index=volumes.index)
    place = np.where(zip_in != "", "Z" + zip_in, np.where(loc_in != "", "L" + loc_in, "N"))
    national_default = place == "N"  # neither given on the row: national, with a note
    pkeys, puniq = pd.factorize(pd.Series(place))
    place_id: list[str] = []
    for v in puniq:
        try:
            lid = (resolve_locality(zip=v[1:]) if v[0] == "Z" else
                   resolve_locality(v[1:]) if v[0] == "L" else None)
            place_id.append(lid or "national")
        except RvucalcError:
            place_id.append("")
    lids = np.array(place_id, dtype=object)[pkeys]
    # -- settings and counts
    set_in = _text(volumes[setting]).str.lower() if setting in volumes else pd.Series([""] * n, index=volumes.index)
    pfs_setting = _settings(set_in, setting)
    office_default = (set_in == "").to_numpy()
    has_count = count in volumes
    if has_count:
        cnt = pd.to_numeric(volumes[count], errors="coerce").to_numpy(dtype=float)
    else:
        cnt = np.full(n, np.nan)
    # -- price the distinct codes in the distinct places, then pick per row
    ok_keys = [i for i, r in enumerate(key_reason) if not r]
    want = sorted({key_code[i] + (f"-{key_rowmod[i]}" if key_rowmod[i] else "") for i in ok_keys})
    real = sorted({x for x in place_id if x and x != "national"})
    amount = np.full(n, np.nan)
    reasons = np.array(key_reason, dtype=object)[keys] if n else np.array([], dtype=object)
    if want:
        rowpos = np.full(len(uniq), -1)
        for part, ids in (("local", real), ("national", ["national"] if "national" in place_id else [])):
            if not ids:
                continue
            pm = price_matrix(want, None if part == "national" else ids, national=part == "national",
                                 conversion_factor=conversion_factor, qp=qp)
            idx = pd.Series(np.arange(len(pm.rvus)),
                            index=pm.rvus["hcpcs"].astype(str) + "|" + pm.rvus["modifier"].astype(str))
            for i in ok_keys:
                rowpos[i] = int(idx[f"{key_code[i]}|{key_rowmod[i]}"])
            col = pd.Series(np.arange(len(ids)), index=ids)
            sel = np.isin(lids, ids) & (rowpos[keys] >= 0)
            r_i = rowpos[keys][sel]
            c_i = col.reindex(lids[sel]).to_numpy(dtype=int)
            for s in ("nonfacility", "facility"):
                m = pfs_setting[sel] == s
                vals = np.where(m, pm.amount[s][r_i, c_i], np.nan)
                amount[np.flatnonzero(sel)[m]] = vals[m]
                rs = pfs_calc.with_other_schedule(pm.rvus["hcpcs"], pm.rvus["status"],
                                                  pm.reason[s])[r_i]
                reasons[np.flatnonzero(sel)[m]] = rs[m]
    rel_col: Any = release
    fee: Any = "pfs"
    unit_rate = np.full(n, np.nan)
    if price_other is not None and n:
        tmp = price_other(pd.DataFrame({
            "hcpcs": np.array(key_code, dtype=object)[keys], "modifier": np.array(key_mod, dtype=object)[keys],
            "reason": reasons, "amount": amount, "locality_id": lids, "zip": zip_in.to_numpy(dtype=object),
            "release": np.full(n, release, dtype=object)}))
        amount = tmp["amount"].to_numpy(dtype=float)
        reasons = tmp["reason"].astype(object).to_numpy(dtype=object)
        rel_col = tmp["release"].to_numpy(dtype=object)
        fee = tmp["fee_schedule"].astype(str).to_numpy(dtype=object)
        if "unit_rate" in tmp:  # lab, drug, DME rows: rate per unit x count, rounded once (ASP 59.726 x 200)
            unit_rate = tmp["unit_rate"].to_numpy(dtype=float)
    bad_place = lids == ""
    bad_setting = pfs_setting == ""
    bad_count = np.isnan(cnt) | (cnt < 0)
    count_why = BAD_COUNT.code if has_count else NO_COUNT.code
    reasons = np.where(reasons != "", reasons, np.where(bad_place, BAD_LOCALITY.code,
                       np.where(bad_setting, BAD_SETTING.code, np.where(bad_count, count_why, ""))))
    amount = np.where(bad_place | bad_setting, np.nan, amount)
    out["locality_id"] = lids
    out["pfs_setting"] = pfs_setting
    out["amount"] = amount
    per_unit = np.where(np.isnan(unit_rate) | np.isnan(amount), amount, unit_rate)
    out["revenue"] = np.where(bad_count, np.nan, round_cents(per_unit * np.where(bad_count, 0, cnt)))
    out["reason"] = reasons.astype(str)
    notes = pd.Series(np.array(key_note, dtype=object)[keys] if n else np.array([], dtype=object), dtype=object)
    for flag, why in ((national_default, NATIONAL.code), (office_default, OFFICE.code)):
        notes = notes.where(~flag, notes + np.where(notes != "", "|", "") + why)
    out["note"] = notes.astype(str).to_numpy()
    out["release"] = rel_col
    out["fee_schedule"] = fee
    return out


def _check_columns(volumes: pd.DataFrame, named: dict[str, tuple[str, str]]) -> None:
    """Refuse a column name given as a keyword that the table lacks (``setting="facility"`` names
    a column, not a setting), and a table that already has a column price_volumes adds."""
    for default, (given, kw) in named.items():
        if given != default and given not in volumes:
            hint = (f"; {kw}= names the column that holds each row's setting ({', '.join(SETTINGS)})"
                    if kw == "setting" else "")
            raise InvalidArgumentError(f"{kw}={given!r}: the volume table has no column {given!r} (columns: "
                                       f"{', '.join(map(str, volumes))}){hint}")
    clash = [c for c in ADDED if c in volumes.columns]
    if clash:
        raise InvalidArgumentError(f"the volume table already has column(s) {', '.join(clash)}, which "
                                   "price_volumes adds: rename them")


def _settings(set_in: pd.Series, column: str) -> np.ndarray:
    """The PFS setting of each row (blank: office); a word not in :data:`SETTINGS` refuses the table,
    naming the words and where they are."""
    keys, uniq = pd.factorize(set_in)
    known = pd.Series(list(uniq), dtype=object).map({**SETTINGS, "": "nonfacility"})
    bad = [str(u) for u, k in zip(uniq, known, strict=True) if pd.isna(k)]
    if bad:
        pos = {b: np.flatnonzero(set_in.to_numpy() == b) for b in bad[:5]}
        where = "; ".join(f"{b!r} at row {', '.join(map(str, p[:3]))}{' ...' if len(p) > 3 else ''}"
                          for b, p in pos.items())
        hint = (" ('hospital': the physician's service in a hospital is the PFS 'facility' amount; the "
                "hospital's own payment is fs.compare_sites or rvucalc.reprice_opps)"
                if "hospital" in bad else "")
        raise InvalidArgumentError(f"the {column!r} column holds setting(s) rvucalc does not read: {where} "
                                   f"(rows counted from 0); accepted: {', '.join(SETTINGS)}, or blank for "
                                   f"office{hint}")
    return known.to_numpy(dtype=object)[keys] if len(set_in) else np.array([], dtype=object)


__all__ = ["ADDED", "BAD_CODE", "BAD_COUNT", "BAD_LOCALITY", "BAD_SETTING", "NATIONAL", "NO_COUNT", "OFFICE",
           "SETTINGS", "price_volumes"]
