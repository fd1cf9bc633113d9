"""Payer contract arithmetic on whole arrays, in whole cents (no Python loop over lines).

Commercial contracts are written against Medicare ("120% of the Medicare fee schedule"), against
the billed charge ("45% of charges"), as fixed fees per unit, as case rates per claim, or as a
fee schedule of their own. These functions do the arithmetic of each method exactly:

- amounts are whole cents (int64); a percentage is held as an integer number of ten-thousandths
  of a percent (``120`` -> ``1_200_000``; at most four decimals, as contracts print them), so a
  percent of an amount is one integer product and one integer division, rounded half up to the
  cent per line (the convention of CMS's own amounts, :mod:`rvucalc.calc.money`), never a float
  rounding of 7772.625 to 7772.62;
- a case rate is allocated to the claim's lines in proportion to a weight per line (their
  Medicare amounts), in whole cents that add up to the case rate exactly: each line gets the
  floor of its share and the cents left over go one each to the lines with the largest
  remainders (largest remainder method; ties to the earlier line);
- a yearly escalator raises a rate by a percentage at each anniversary of its start date,
  compounded (or not), and the raised rate is rounded as a contract's rate table prints it: to
  the cent for a dollar amount, to four decimals for a percentage.

The rules are the contract's own (the analyst's contract file); nothing here is a CMS rule.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from ..reasons import reason

# -- reasons a contract line has the amount it has, or none (``rvucalc.explain``) --------------
# Defined here, with the arithmetic, so that ``import rvucalc`` registers them (the contracts
# package itself is loaded on first use).

NO_PRICER = reason(
    "CONTRACT_NO_MEDICARE_PRICER",
    "rvucalc does not price this line's fee schedule yet: no Medicare amount (give the lines a "
    "medicare_allowed column with that schedule's amounts, or register a pricer)",
    "rvucalc.contracts.medicare")
NOT_GIVEN = reason(
    "CONTRACT_MEDICARE_BLANK", "the lines were given with Medicare amounts and this line's is blank",
    "the claim lines given")
BAD_AMOUNT = reason(
    "CONTRACT_MEDICARE_NOT_A_NUMBER", "the line's Medicare amount is not a dollar amount",
    "the claim lines given")

NO_TERM = reason("CONTRACT_NO_TERM", "no term of the contract matches the line (the contract does not say "
                 "how to pay it)", "the payer contract")
NOT_IN_FORCE = reason("CONTRACT_NOT_IN_FORCE", "the contract is not in force on the line's date of service "
                      "(before its first effective date or after its end)", "the payer contract")
NO_MEDICARE = reason("CONTRACT_NO_MEDICARE", "percent of Medicare on a line with no Medicare amount, and no "
                     "fallback term for it: no amount (Medicare's reason follows)", "the payer contract")
FALLBACK = reason("CONTRACT_FALLBACK", "Medicare has no rate for this service: priced by the contract's "
                  "fallback term", "the payer contract")
NO_CHARGE = reason("CONTRACT_NO_CHARGE", "percent of charge on a line with no charge: no amount",
                   "the payer contract")
CHARGE_LOWER = reason("CONTRACT_CHARGE_LOWER", "lesser of charge: the charge is lower than the contract "
                      "amount and is paid instead", "the payer contract")
NO_CHARGE_TO_COMPARE = reason("CONTRACT_NO_CHARGE_TO_COMPARE", "lesser of charge: the line has no charge "
                              "to compare with; the contract amount is paid", "the payer contract")
BAD_LINE = reason("CONTRACT_BAD_LINE", "the line's input could not be read (its reason follows): no contract "
                  "prices it", "claim line input")
NOT_IN_FEE_FILE = reason("CONTRACT_NOT_IN_FEE_FILE", "the fallback's fee schedule file has no rate for the "
                         "line's code", "the payer contract")
CASE_EQUAL = reason("CONTRACT_CASE_RATE_EQUAL_SHARES", "case rate shared equally among the claim's lines: "
                    "none of them has a Medicare amount to share it by", "the payer contract")
CASE_NO_WEIGHT = reason("CONTRACT_CASE_RATE_NO_SHARE", "the line has no Medicare amount, so it gets no share "
                        "of the claim's case rate (the other lines carry it)", "the payer contract")

#: A percentage is held as ten-thousandths of a percent (four decimals).
PERCENT_SCALE = 10_000
#: Largest percentage a contract may state (a thousand times Medicare or the charge).
MAX_PERCENT = Decimal(100_000)
_INT_SAFE = 2**62


def percent_units(percent: Decimal | int | float | str) -> int:
    """``Decimal("112.5")`` -> ``1_125_000`` (ten-thousandths of a percent); more than four
    decimals is an error (a contract's percentage is never finer)."""
    d = Decimal(str(percent))
    q = d * PERCENT_SCALE
    if q != q.to_integral_value():
        raise ValueError(f"{percent}: a percentage has at most four decimals")
    return int(q)


def percent_of(cents: np.ndarray, units: np.ndarray | int) -> np.ndarray:
    """*units* ten-thousandths of a percent of *cents*, rounded half up to the cent (int64).

    ``percent_of(14889, 1_200_000)`` is 17867 (120% of $148.89 = $178.668 -> $178.67);
    ``percent_of(575750, 1_350_000)`` is 777263 ($7,772.625 -> $7,772.63). Exact: integer
    arithmetic throughout (amounts up to $100 M times percentages up to 100,000%).
    """
    c = np.asarray(cents, dtype=np.int64)
    u = np.asarray(units, dtype=np.int64)
    den = 100 * PERCENT_SCALE
    out = np.multiply(c, 2 * u)  # (2 c u + den) // (2 den), in one array (the same integers)
    out += den
    out //= 2 * den
    return out


def per_unit(rate_cents: np.ndarray | int, units: np.ndarray) -> np.ndarray:
    """A fixed fee per unit: rate x units, in cents (exact)."""
    return np.asarray(rate_cents, dtype=np.int64) * np.asarray(units, dtype=np.int64)


def lesser_of(amount: np.ndarray, charge: np.ndarray, has_charge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(amount, lowered)``: the lesser of *amount* and the charge where a charge is given (cents)."""
    lowered = charge < amount
    lowered &= has_charge
    return np.where(lowered, charge, amount), lowered


def allocate(group: np.ndarray, weight: np.ndarray, total: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share each group's *total* among its lines in proportion to *weight*, in whole cents.

    Parameters
    ----------
    group:
        Dense group number per line, ``0 .. len(total) - 1`` (a claim's lines under one case-rate
        term).
    weight:
        Non-negative whole cents per line (the lines' Medicare amounts; 0 where a line has none).
    total:
        Cents to share per group.

    Returns ``(cents per line, equal)``: the shares add up to *total* exactly per group (floor of
    each proportional share, then one cent more for each of the lines with the largest remainders,
    ties to the earlier line); where every weight of a group is 0 the group is shared equally
    (``equal`` True for its lines).
    """
    group = np.asarray(group, dtype=np.int64)
    w = np.asarray(weight, dtype=np.int64)
    tot = np.asarray(total, dtype=np.int64)
    n_groups = len(tot)
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    wsum = _group_sum(group, w, n_groups)
    equal = wsum[group] == 0
    if equal.any():
        w = np.where(equal, 1, w)
        wsum = _group_sum(group, w, n_groups)
    t = tot[group]
    d = wsum[group]
    if n and int(t.max(initial=0)) * int(w.max(initial=0)) >= _INT_SAFE:  # pragma: no cover - $1e8 x $1e8
        num = t.astype(object) * w.astype(object)
        share = (num // d.astype(object)).astype(np.int64)
        rem = (num - share.astype(object) * d.astype(object)).astype(float) / d
    else:
        num = t * w
        share = num // d
        rem = (num - share * d).astype(float) / d  # comparable within a group (same denominator)
    short = tot - _group_sum(group, share, n_groups)  # cents left over per group (< its lines)
    order = np.lexsort((np.arange(n), -rem, group))  # group, then largest remainder, then line
    g_sorted = group[order]
    starts = np.searchsorted(g_sorted, np.arange(n_groups))
    rank = np.arange(n) - starts[g_sorted]
    extra = rank < short[g_sorted]
    share[order[extra]] += 1
    return share, equal


def small_unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for integers of a small range (days, years),
    by counting instead of sorting (a million values in a few milliseconds). The inverse is
    int32 for int32 values, else int64."""
    v = np.asarray(values)
    small = v.dtype == np.int32  # 32-bit values keep 32-bit positions (half the memory)
    if not small:
        v = v.astype(np.int64, copy=False)
    if not len(v):
        return v.astype(np.int64), np.zeros(0, dtype=np.int32 if small else np.int64)
    lo, hi = int(v.min()), int(v.max())
    if hi - lo > 50_000_000:  # pragma: no cover - not a small range
        u, inv = np.unique(v, return_inverse=True)
        return u.astype(np.int64), inv.astype(np.int32 if small else np.int64)
    off = v - lo if lo else v  # one array of offsets, made once
    present = np.bincount(off, minlength=hi - lo + 1) > 0
    u = np.flatnonzero(present) + lo
    where = (np.cumsum(present) - 1).astype(np.int32 if small else np.int64, copy=False)  # the range's size
    return u, where[off]


def _group_sum(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros(n_groups, dtype=np.int64)
    np.add.at(out, group, values)
    return out


def group_sum(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of int64 *values* per dense group (exact)."""
    return _group_sum(np.asarray(group, dtype=np.int64), np.asarray(values, dtype=np.int64), n_groups)


def anniversaries(day: np.ndarray, start_day: int) -> np.ndarray:
    """Whole years from *start_day* to each *day* (days since 1970-01-01): the number of
    anniversaries of the start on or before the day (0 before the first; -1 days give 0).

    A start on 29 February has its anniversary on 28 February in other years.
    """
    d = np.asarray(day, dtype=np.int64)
    out = np.zeros(len(d), dtype=np.int64)
    ok = d >= start_day
    if not ok.any():
        return out
    u, inv = small_unique(d[ok])  # distinct days
    t = pd.DatetimeIndex(u.astype("datetime64[D]"))
    s = pd.Timestamp(np.datetime64(int(start_day), "D"))
    sday = np.where((s.month == 2) & (s.day == 29) & ~t.is_leap_year, 28, s.day)
    before = (t.month.to_numpy() < s.month) | ((t.month.to_numpy() == s.month) & (t.day.to_numpy() < sday))
    years = t.year.to_numpy().astype(np.int64) - s.year - before.astype(np.int64)
    out[ok] = np.maximum(years, 0)[inv]
    return out


def escalate(value: Decimal, percent: Decimal, years: int, *, compound: bool = True,
             quantum: Decimal = Decimal("0.01")) -> Decimal:
    """*value* raised by *percent* for each of *years* (compounded, or simple), rounded half up to
    *quantum* (a cent for dollars, ``Decimal("0.0001")`` for a percentage)."""
    if years <= 0 or percent == 0:
        return value
    p = Decimal(percent) / Decimal(100)
    factor = (Decimal(1) + p) ** years if compound else Decimal(1) + p * years
    return (Decimal(value) * factor).quantize(quantum, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> int:
    """A dollar Decimal (two decimals at most) as whole cents."""
    return int((Decimal(value) * 100).to_integral_value(rounding=ROUND_HALF_UP))


__all__ = ["MAX_PERCENT", "PERCENT_SCALE", "allocate", "anniversaries", "cents", "escalate", "group_sum",
           "lesser_of", "small_unique", "per_unit", "percent_of", "percent_units"]
