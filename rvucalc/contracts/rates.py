"""Rate sheets for negotiations: each contract's rate per code beside Medicare's.

:func:`rate_sheet` prices one line per code (a claim of its own: no multiple-procedure or case
rate sharing between codes; one unit; no charge, so no lesser-of-charge) in one place, setting
and date, under each contract, and returns one row per code: Medicare's allowed amount, then per
contract its rate, its percent of Medicare, the term that priced it and, when it has no rate,
the reason.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..export.formats import declare_kinds
from .model import Contract
from .price import as_contracts, price_contracts

PCT = "percent of Medicare"


def rate_sheet(
    contracts: Contract | str | os.PathLike[str] | Iterable[Contract | str | os.PathLike[str]],
    codes: Sequence[str],
    *,
    zip: str | None = None,  # noqa: A002 - the option people type
    locality: str | None = None,
    pos: str = "11",
    date: dt.date | str | None = None,
    setting: str = "pfs",
    releases: Any = None,
    mirror: str | os.PathLike[str] | None = None,
    wage_index: float | None = None,
) -> pd.DataFrame:
    """One row per code: Medicare's allowed amount and each contract's rate beside it.

    *date* is the date of service priced (default today; the sheet's ``attrs`` and the
    provenance say which). Percentages are percent points (120.0 is 120%; declared, so a workbook
    shows them as percentages).
    """
    if not codes:
        raise ValueError("give the codes to quote (e.g. --codes 99213 99214 20983)")
    if setting == "pfs" and zip is None and locality is None:
        raise ValueError("give the place: a ZIP code (--zip 90012) or a locality (--locality 01182-18, or "
                         "national)")
    when = (dt.date.fromisoformat(date) if isinstance(date, str) else date) or dt.date.today()
    n = len(codes)
    lines = pd.DataFrame({"claim_id": [f"rate-{i}" for i in range(n)], "hcpcs": [str(c) for c in codes],
                          "units": ["1"] * n, "pos": [str(pos)] * n,
                          "date_of_service": [when.isoformat()] * n})
    if zip is not None:
        lines["zip"] = str(zip)
    if locality is not None:
        lines["locality"] = str(locality)
    cs = as_contracts(contracts)
    priced = price_contracts(lines, cs, setting=setting, releases=releases, mirror=mirror,
                             wage_index=wage_index, columns=["hcpcs"])
    first = priced.iloc[:n]
    out = pd.DataFrame({"code": first["hcpcs"].to_numpy(), "fee_schedule": first["fee_schedule"].astype(str).to_numpy(),
                        "Medicare allowed": first["medicare_allowed"].to_numpy(),
                        "Medicare release": first["medicare_release"].astype(str).to_numpy()})
    for j, c in enumerate(cs):
        rows = priced.iloc[j * n:(j + 1) * n]
        out[f"{c.name}"] = rows["contract_allowed"].to_numpy()
        out[f"{c.name} {PCT}"] = rows["percent_of_medicare"].to_numpy()
        out[f"{c.name} term"] = rows["term"].astype(str).to_numpy()
        # why there is no rate (the notes of a priced code, e.g. no charge to compare, are left out)
        out[f"{c.name} reason"] = np.where(rows["contract_allowed"].isna(), rows["reason"].astype(str), "")
    place = f"ZIP {zip}" if zip is not None else f"locality {locality}" if locality else "national"
    declare_kinds(out, {"Medicare allowed": "money", **{c.name: "money" for c in cs},
                        **{f"{c.name} {PCT}": "percent_points" for c in cs}})
    out.attrs["rvucalc.provenance"] = {**(priced.attrs.get("rvucalc.provenance") or {})}
    prov = out.attrs["rvucalc.provenance"]
    prov["parameters"] = {**prov.get("parameters", {}), "date of service": when.isoformat(), "place": place,
                          "place of service": str(pos)}
    out.attrs["rvucalc.title"] = (f"Contract rates beside Medicare: {place}, POS {pos}, date of service "
                                  f"{when.isoformat()}")
    out.attrs["rvucalc.summary"] = {"index": ["code"], "values": ["Medicare allowed", *[c.name for c in cs]],
                                    "agg": "first", "chart": True, "title": out.attrs["rvucalc.title"]}
    out.attrs["rvucalc.contracts"] = [c.name for c in cs]
    return out


def as_text_table(sheet: pd.DataFrame) -> tuple[list[str], list[list[str]], list[str]]:
    """Columns, rows of text and the numeric columns, for the terminal (:mod:`rvucalc.render`)."""
    from ..render import usd

    names = sheet.attrs.get("rvucalc.contracts", [])
    cols = ["code", "Medicare"]
    for nm in names:
        cols += [nm, f"{nm} %"]
    rows = []
    for r in sheet.itertuples(index=False):
        d = dict(zip(sheet.columns, r))
        row = [str(d["code"]), usd(d["Medicare allowed"])]
        for nm in names:
            pct = d[f"{nm} {PCT}"]
            amount = d[nm]
            row += [usd(amount) if amount == amount else f"- ({str(d[f'{nm} reason']).split('|')[0]})",
                    f"{pct:.2f}%" if pct == pct and not np.isinf(pct) else "-"]
        rows.append(row)
    return cols, rows, [c for c in cols if c != "code"]


__all__ = ["as_text_table", "rate_sheet"]
