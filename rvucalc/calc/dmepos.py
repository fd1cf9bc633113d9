"""DMEPOS (and PEN) fee schedule payment rules, vectorised over claim lines.

Rules, and where they come from
-------------------------------
* **Fee** (Social Security Act §1834(a), (h), (i); 42 CFR 414 subpart D, 414.210): durable medical
  equipment, prosthetics, orthotics, surgical dressings and supplies are paid from a fee schedule
  by the beneficiary's state, as CMS's quarterly DMEPOS file gives it: one row per code and
  *pricing modifiers* (NU new purchase, RR rental, UE used purchase, KE, KU, KF, BA ... as the
  file keys them in ``Mod``/``Mod2``), one non-rural ``(NR)`` and one rural ``(R)`` fee per state.
  The line takes the row whose modifiers are exactly the line's pricing modifiers (the line's
  modifiers the file uses with that code); other modifiers (KX, LT, RT, GA ...) do not select it.
  Parenteral and enteral nutrition (PEN) items come from the PEN file, in the same layout.
* **Rural or not** (42 CFR 414.202 "rural area"; 414.210(g) adjusted fees for rural areas): the
  rural fee applies where the beneficiary's ZIP code is on CMS's DMEPOS rural ZIP code file. A
  rural fee of 0.00 means the item has no separate rural fee (CMS's DMEREAD: such codes "will only
  have fee schedule amounts in the non-rural (NR) columns"): the non-rural fee applies everywhere
  in the state. **Rural status is never assumed**: where it is unknown and the two fees differ,
  the line gets no amount and a reason saying how to supply it (a ``rural`` value on the line, or
  the ZIP code with the rural ZIP file at hand). Where they do not differ, the fee is that one.
* **Ceiling and floor** (SSA §1834(a) and (h): the national limited payment amounts bound each
  state's fee): the file's fees already have them applied; each fee used is *checked* to lie between
  the row's ``Floor`` and ``Ceiling`` (not clamped): a fee outside them gets no amount and a
  reason (the file would be damaged). Rows with ceiling and floor 0 are not priced with them
  (e.g. inherent reasonableness, competitive-bidding-based fees), and the file's title block
  marks the non-continental areas (AK, HI, PR, VI) "Not subject to ceiling and floor".
* **Allowed amount** = fee x units, rounded to the cent once (half up). **Beneficiary share**:
  Medicare pays 80% of the fee schedule amount (§1834(a)(1)(A); 42 CFR 414.210(a)): the 20%
  coinsurance is rounded to the cent, ``medicare`` = ``allowed`` - ``beneficiary``. The actual
  charge (Medicare pays on the lower of charge and fee) and the Part B deductible are not applied.
* A fee of 0.00 (or blank) in the chosen column means the file gives no fee there (the DME MAC
  prices the item): no amount, with a reason.

Not modelled (the lines are priced as above; callers should know): the fee schedules for former
competitive bidding areas (CMS's "Former CBA" files, which apply to competitively bid items
furnished to beneficiaries whose ZIP code is in a former CBA), rental month limits and the
purchase option of capped rental items, and the KU/KE-style payment adjustments beyond choosing
the file's row.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..reasons import reason
from . import _lines
from .money import round_cents

__all__ = ["COINSURANCE", "FEE_SCHEDULE", "NON_CONTINENTAL", "dmepos_payment", "limit_violations",
           "rural_from_zip", "rural_values", "states_of"]

FEE_SCHEDULE = "dmepos"
#: Part B coinsurance on DMEPOS: Medicare pays 80% (SSA §1834(a)(1)(A); 42 CFR 414.210(a)).
COINSURANCE = 0.20
#: Areas the DMEPOS file marks "*** Non-continental areas *** (Not subject to ceiling and floor)"
#: (January 2026: the AK, HI, PR and VI columns), and the other territories for the same reason.
NON_CONTINENTAL = frozenset({"AK", "HI", "PR", "VI", "GU", "AS", "MP"})

_RULE = "42 CFR 414 subpart D (414.210): DMEPOS fee schedule by state; CMS DMEPOS fee schedule file"
_RURAL_RULE = ("42 CFR 414.202 (rural area: a ZIP code on CMS's DMEPOS rural ZIP code file) and 414.210(g) "
               "(rural fees)")

CODE_ABSENT = reason("DMEPOS_CODE_ABSENT", "the code is not on this quarter's DMEPOS or PEN fee schedule file",
                     _RULE)
MODIFIER_NEEDED = reason(
    "DMEPOS_MODIFIER_NEEDED",
    "the DMEPOS fee of this code depends on a pricing modifier the line does not carry (such as NU new "
    "purchase, RR rental, UE used purchase, as the file keys the code): add it to the line", _RULE)
MODIFIER_ABSENT = reason("DMEPOS_MODIFIER_ABSENT",
                         "the DMEPOS file has no fee for this code with the line's pricing modifiers", _RULE)
NO_STATE = reason("DMEPOS_NO_STATE",
                  "no state for the beneficiary: DMEPOS fees are set by state; give the state (or the ZIP code)",
                  _RULE)
STATE_ABSENT = reason("DMEPOS_STATE_ABSENT", "the DMEPOS file has no fees for this state or territory", _RULE)
RURAL_UNKNOWN = reason(
    "DMEPOS_RURAL_UNKNOWN",
    "whether the beneficiary's ZIP code is rural is not known, and this item's rural and non-rural fees "
    "differ: give the line a rural value (Y or N), or its ZIP code with CMS's DMEPOS rural ZIP code file at "
    "hand (in the quarter's DMEPOS zip; `rvucalc fetch dmepos-<year>-<month>`); rural is never assumed",
    _RURAL_RULE)
RURAL_UNREADABLE = reason(
    "DMEPOS_RURAL_UNREADABLE",
    "the line's rural value is not understood (give Y/N, R/NR, rural/non-rural, true/false or 1/0)",
    _RURAL_RULE)
NO_FEE = reason("DMEPOS_NO_FEE",
                "the DMEPOS file gives no fee for this item in this state and area (0.00): the DME MAC prices it",
                _RULE)
OUTSIDE_LIMITS = reason(
    "DMEPOS_OUTSIDE_LIMITS",
    "the file's fee lies outside its own floor and ceiling, so the file may be damaged: no amount is given "
    "(fees are checked, never clamped)",
    "SSA §1834(a) and (h) (national limited payment amounts: ceilings and floors); CMS DMEPOS fee schedule file")

_YES = {"Y", "YES", "R", "RURAL", "TRUE", "T", "1", "1.0"}
_NO = {"N", "NO", "NR", "NONRURAL", "NON-RURAL", "NON RURAL", "URBAN", "FALSE", "F", "0", "0.0"}
_UNKNOWN = {"", "NAN", "NONE", "<NA>", "U", "UNKNOWN", "?"}


def states_of(table: pd.DataFrame) -> list[str]:
    """The states (upper case) with ``<st>_nr`` and ``<st>_r`` fee columns in *table*, in order."""
    nr = [str(c)[:-3] for c in table.columns if re.fullmatch(r"[a-z]{2}_nr", str(c))]
    return [s.upper() for s in nr if f"{s}_r" in table.columns]


def rural_values(values: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rural, unreadable)``: 1.0 rural, 0.0 non-rural, NaN unknown, per line.

    Understood: booleans, 1/0, Y/N, YES/NO, R/NR, RURAL/NON-RURAL/URBAN, TRUE/FALSE; blank, None,
    NaN, U and UNKNOWN are unknown. Anything else is unknown *and* flagged ``unreadable``.
    """
    if values is None:
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    arr = np.asarray(values, dtype=object).reshape(-1)
    if arr.size == 1 and n != 1:
        arr = np.repeat(arr, n)
    if arr.size != n:
        raise ValueError(f"rural: {arr.size} values for {n} lines")
    inv, s = _lines._factorize(arr)
    text = s.astype(str).str.strip().str.upper().where(s.notna(), "")
    yes, no, unk = text.isin(_YES).to_numpy(), text.isin(_NO).to_numpy(), text.isin(_UNKNOWN).to_numpy()
    out = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    if not len(out):
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    return out[inv], (~(yes | no | unk))[inv]


def rural_from_zip(zips: Any, rural_zip: pd.DataFrame | None, n: int) -> np.ndarray:
    """1.0 where the ZIP code is on CMS's DMEPOS rural ZIP file, 0.0 where it is not, NaN where the
    ZIP is missing or malformed or no rural ZIP file is given (never assumed non-rural).

    *zips*: 5-digit ZIPs or ZIP+4 (``90012``, ``90012-3456``, ``900123456``); a number that lost its
    leading zeros (``1001``) is padded. *rural_zip*: :func:`rvucalc.iotools.dmepos.read_rural_zip`.
    """
    if zips is None or rural_zip is None:
        return np.full(n, np.nan)
    arr = np.asarray(zips, dtype=object).reshape(-1)
    if arr.size != n:
        raise ValueError(f"zip: {arr.size} values for {n} lines")
    inv, uz = _lines._factorize(arr)
    z = uz.astype(str).str.strip().str.replace(r"\.0$", "", regex=True).where(uz.notna(), "")
    z = z.str.replace(r"^(\d{5})-?\d{4}$", r"\1", regex=True)
    z = z.where(~z.str.fullmatch(r"\d{3,4}"), z.str.zfill(5))
    valid = z.str.fullmatch(r"\d{5}").to_numpy(dtype=bool)
    listed = z.isin(set(rural_zip["zip"].astype(str))).to_numpy()
    out = np.where(valid, np.where(listed, 1.0, 0.0), np.nan)
    return out[inv] if len(out) else np.full(n, np.nan)


def _fee_matrices(table: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    states = states_of(table)
    nr = table[[f"{s.lower()}_nr" for s in states]].to_numpy(dtype=float)
    r = table[[f"{s.lower()}_r" for s in states]].to_numpy(dtype=float)
    return states, nr, r


def _limits(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(table)
    ceiling = table["ceiling"].to_numpy(dtype=float) if "ceiling" in table else np.full(n, np.nan)
    floor = table["floor"].to_numpy(dtype=float) if "floor" in table else np.full(n, np.nan)
    return ceiling, floor


def _outside(fee: np.ndarray, floor: np.ndarray, ceiling: np.ndarray, continental: np.ndarray) -> np.ndarray:
    """Fees that break their row's limits (only where limits apply: ceiling > 0, continental)."""
    applies = continental & (np.nan_to_num(ceiling) > 0) & (fee > 0)
    return applies & ((fee > ceiling + 1e-9) | (fee < np.nan_to_num(floor) - 1e-9))


def limit_violations(table: pd.DataFrame) -> pd.DataFrame:
    """Every fee of *table* that lies outside its row's floor and ceiling where those apply.

    Columns ``hcpcs, modifier, modifier2, state, area ("NR"/"R"), fee, floor, ceiling``. Empty for
    CMS's January 2026 file (checked against its 49 continental jurisdictions, NR and R fees).
    """
    states, nr, r = _fee_matrices(table)
    ceiling, floor = _limits(table)
    cont = np.array([s not in NON_CONTINENTAL for s in states], dtype=bool)[None, :]
    out = []
    for area, mat in (("NR", nr), ("R", r)):
        bad = _outside(mat, floor[:, None], ceiling[:, None], cont)
        i, j = np.nonzero(bad)
        out.append(pd.DataFrame({
            "hcpcs": table["hcpcs"].to_numpy(dtype=object)[i],
            "modifier": table["modifier"].to_numpy(dtype=object)[i],
            "modifier2": table["modifier2"].to_numpy(dtype=object)[i],
            "state": np.asarray(states, dtype=object)[j] if len(j) else np.zeros(0, dtype=object),
            "area": area, "fee": mat[i, j], "floor": floor[i], "ceiling": ceiling[i]}))
    return pd.concat(out, ignore_index=True)


def dmepos_payment(table: pd.DataFrame, hcpcs: Any, modifiers: Any = None, units: Any = None, *,
                   state: Any = None, rural: Any = None) -> pd.DataFrame:
    """Price DMEPOS (and PEN) lines by the beneficiary's state and rural status.

    Parameters
    ----------
    table : DataFrame
        :func:`rvucalc.iotools.dmepos.read_dmepos` of the quarter's DMEPOS file, optionally
        concatenated with its PEN file (the two key different code/modifier rows: E0776 NU is
        DMEPOS, E0776 NU BA is PEN). A ``schedule`` column, if present, is passed through.
    hcpcs, modifiers, units
        One code per line; None or one string/list of modifiers per line; None (1 each) or units.
    state : two-letter state or territory of the beneficiary, one per line (or one for all).
    rural : per line, whether the beneficiary's ZIP is rural (see :func:`rural_values`; derive it
        from a ZIP with :func:`rural_from_zip`); None = unknown.

    Returns
    -------
    DataFrame, one row per line in input order: ``hcpcs``, ``modifier``, ``modifier2`` (the row
    used), ``pricing_modifiers`` (the line's modifiers that selected it, joined with ``+``),
    ``state``, ``rural`` (1.0/0.0/NaN as given), ``area`` (``"rural"``, ``"non-rural"``, or
    ``"any"`` where rural is unknown but both fees agree), ``fee`` (the file's, NaN where none),
    ``floor``, ``ceiling``, ``units``, ``allowed`` (fee x units, rounded to the cent),
    ``beneficiary`` (20%, rounded), ``medicare`` (allowed - beneficiary), ``reason`` (``""``
    where payable), ``fee_schedule`` (``"dmepos"``) and ``schedule`` (``"dmepos"``/``"pen"``
    where the table says). Amounts are NaN where there is a reason.
    """
    code = _lines.codes(hcpcs)
    n = len(code)
    u, bad_units = _lines.units(units, n)
    rur, unreadable = rural_values(rural, n)
    if state is None:
        st = np.full(n, "", dtype=object)
    else:
        st = np.asarray(state, dtype=object).reshape(-1)
        if st.size == 1 and n != 1:
            st = np.repeat(st, n)
        if st.size != n:
            raise ValueError(f"state: {st.size} values for {n} lines")
        inv, sts = _lines._factorize(st)
        su = sts.astype(str).str.strip().str.upper().where(sts.notna(), "")
        su = su.where(~su.isin(["NAN", "NONE", "<NA>"]), "").to_numpy(dtype=object)
        st = su[inv] if len(su) else np.full(n, "", dtype=object)
    m = _lines.match_rows(table["hcpcs"].to_numpy(dtype=object),
                          [table["modifier"].to_numpy(dtype=object), table["modifier2"].to_numpy(dtype=object)],
                          code, modifiers)
    states, nr_mat, r_mat = _fee_matrices(table)
    sidx = pd.Index(states).get_indexer(pd.Series(st, dtype=object))
    have = (m.row >= 0) & (sidx >= 0)
    ri, si = np.where(have, m.row, 0), np.where(have, sidx, 0)
    fee_nr = np.where(have, nr_mat[ri, si] if nr_mat.size else np.nan, np.nan)
    fee_r = np.where(have, r_mat[ri, si] if r_mat.size else np.nan, np.nan)
    nr_ok = np.nan_to_num(fee_nr) > 0
    r_sep = np.nan_to_num(fee_r) > 0  # a separate rural fee
    differs = r_sep & (fee_r != np.where(nr_ok, fee_nr, 0.0))
    is_rural = rur == 1.0
    is_nonrural = rur == 0.0
    unknown = np.isnan(rur)
    fee = np.where(is_rural & r_sep, fee_r, fee_nr)
    fee = np.where(unknown & differs, np.nan, fee)
    area = np.where(is_rural, "rural", np.where(is_nonrural, "non-rural", np.where(differs, "", "any")))
    ceiling, floor = _limits(table)
    ceil_l, floor_l = _lines.take(ceiling, m.row), _lines.take(floor, m.row)
    cont = ~np.isin(st, np.array(sorted(NON_CONTINENTAL), dtype=object))
    outside = _outside(np.nan_to_num(fee), floor_l, ceil_l, cont)
    no_fee = have & ~(unknown & differs) & ~(np.nan_to_num(fee) > 0)
    why = _lines.first_reason(
        (~m.known, CODE_ABSENT.code),
        (m.known & (m.row < 0) & (m.key == ""), MODIFIER_NEEDED.code),
        (m.known & (m.row < 0), MODIFIER_ABSENT.code),
        (st == "", NO_STATE.code),
        (sidx < 0, STATE_ABSENT.code),
        (have & unreadable & differs, RURAL_UNREADABLE.code),
        (have & unknown & differs, RURAL_UNKNOWN.code),
        (no_fee, NO_FEE.code),
        (outside, OUTSIDE_LIMITS.code),
        (bad_units, _lines.BAD_UNITS.code), n=n)
    ok = why == ""
    allowed = np.where(ok, round_cents(np.where(ok, fee * u, 0.0)), np.nan)
    share = np.where(ok, round_cents(np.where(ok, allowed * COINSURANCE, 0.0)), np.nan)
    out = pd.DataFrame({
        "hcpcs": code,
        "modifier": _lines.take(table["modifier"].to_numpy(dtype=object), m.row, ""),
        "modifier2": _lines.take(table["modifier2"].to_numpy(dtype=object), m.row, ""),
        "pricing_modifiers": m.key, "state": st, "rural": rur, "area": np.where(have, area, ""),
        "fee": np.where(np.nan_to_num(fee) > 0, fee, np.nan), "floor": floor_l, "ceiling": ceil_l,
        "units": u, "allowed": allowed, "beneficiary": share, "medicare": np.round(allowed - share, 2),
        "reason": why, "fee_schedule": FEE_SCHEDULE,
    })
    if "schedule" in table:
        out["schedule"] = _lines.take(table["schedule"].to_numpy(dtype=object), m.row, "")
    return out
