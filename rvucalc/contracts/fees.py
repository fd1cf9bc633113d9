"""A payer's own fee schedule file, named by a contract term (``fee_schedule_file: acme_fees.csv``).

The file is a table with a header row: ``code`` (or ``hcpcs``), an optional ``modifier`` and
``amount`` (or ``rate``/``fee``), the payer's rate per unit in dollars. CSV (every cell read as
text, as written) or a workbook (.xlsx, first sheet). A code may be written with its modifier
(``71046-26``). A row with a modifier prices the lines of that code that carry the modifier; the
row without one prices the code's other lines. Every problem names the file and the line (the
CSV line, or the workbook row, as the editor or spreadsheet counts).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ..codes import parse_code, split_modifiers
from .source import ContractFileError

#: A dollar amount as a contract or fee file writes it: 25000, 25,000.00, $85.50 (cents at most).
_MONEY = re.compile(r"\$?\s*(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?")


def _money(v: Any) -> Decimal:
    s = str(v).strip()
    if not _MONEY.fullmatch(s):
        raise ValueError(f"expected a dollar amount such as 25000, 25,000.00 or $85.50 (cents at most), "
                         f"found {v!r}")
    d = Decimal(s.replace("$", "").replace(",", "").strip())
    if d > Decimal(100_000_000):
        raise ValueError(f"expected a dollar amount up to $100,000,000, found {v!r}")
    return d

CODE_COLUMNS = ("code", "hcpcs", "cpt", "hcpcs_code", "cpt/hcpcs")
MODIFIER_COLUMNS = ("modifier", "mod", "modifiers")
AMOUNT_COLUMNS = ("amount", "rate", "fee", "allowed", "price")


@dataclass(frozen=True)
class FeeTable:
    """Rates per ``(code, modifier)``, in whole cents."""

    file: Path
    sha256: str
    rates: dict[tuple[str, str], int]

    def lookup(self, code: str, modifiers: tuple[str, ...]) -> int:
        """Cents per unit for a line of *code* carrying *modifiers*; -1 when the file has no row."""
        for m in modifiers:
            r = self.rates.get((code, m))
            if r is not None:
                return r
        return self.rates.get((code, ""), -1)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(c for c, _ in self.rates)

    @property
    def modifier_codes(self) -> frozenset[str]:
        """The codes that have a row for a modifier."""
        return frozenset(c for c, m in self.rates if m)


def read_fee_table(path: str | Path) -> FeeTable:
    """Read and check a fee schedule file (see the module docstring)."""
    from ..calc.contracts import cents

    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ContractFileError(p, f"cannot read the fee schedule file ({exc.strerror or exc})") from None
    sha = hashlib.sha256(raw).hexdigest()
    xlsx = p.suffix.lower() in (".xlsx", ".xlsm")
    try:
        if xlsx:
            df = pd.read_excel(p, dtype=object, keep_default_na=False, na_values=[])
        else:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[], skipinitialspace=True)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ContractFileError(p, f"cannot read it as a {'workbook' if xlsx else 'CSV'} table ({exc})",
                                line=1) from None
    cols = {str(c).strip().lower(): c for c in df.columns}
    code_col = next((cols[c] for c in CODE_COLUMNS if c in cols), None)
    amt_col = next((cols[c] for c in AMOUNT_COLUMNS if c in cols), None)
    mod_col = next((cols[c] for c in MODIFIER_COLUMNS if c in cols), None)
    if code_col is None or amt_col is None:
        raise ContractFileError(p, "expected a header row with a 'code' column and an 'amount' column "
                                f"(and optionally 'modifier'), found {', '.join(map(str, df.columns))}", line=1)
    rates: dict[tuple[str, str], int] = {}
    where: dict[tuple[str, str], int] = {}
    first = 2  # the header is line 1
    for i, (c, a) in enumerate(zip(df[code_col].tolist(), df[amt_col].tolist())):  # the file's rows
        line = first + i
        if str(c).strip() == "" and str(a).strip() == "":
            continue
        got = parse_code(c)
        if got is None:
            raise ContractFileError(p, f"column {code_col!r}: expected a HCPCS code (99213, or 71046-26 with "
                                    f"its modifier), found {c!r}", line=line)
        code, mods = got
        if mod_col is not None:
            mods = (*mods, *split_modifiers(df[mod_col].iloc[i]))
        mods = tuple(dict.fromkeys(mods))
        if len(mods) > 1 or any(len(m) != 2 for m in mods):
            raise ContractFileError(p, f"expected at most one two-character modifier per row, found "
                                    f"{' '.join(mods)!r}", line=line)
        try:
            value = _money(a)
        except ValueError as exc:
            raise ContractFileError(p, f"column {amt_col!r}: {exc}", line=line) from None
        key = (code, mods[0] if mods else "")
        amount = cents(Decimal(value))
        if key in rates and rates[key] != amount:
            raise ContractFileError(p, f"{'-'.join(x for x in key if x)} is listed twice with different "
                                    f"amounts (lines {where[key]} and {line}); keep one", line=line)
        rates[key] = amount
        where.setdefault(key, line)
    if not rates:
        raise ContractFileError(p, "the fee schedule file lists no codes", line=1)
    return FeeTable(p.resolve(), sha, rates)


__all__ = ["FeeTable", "read_fee_table"]
