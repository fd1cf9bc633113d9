"""The contract file's shape, validated with pydantic, and the contract as rvucalc prices it.

A contract file (YAML, read by :mod:`rvucalc.contracts.source`) looks like::

    name: acme-ppo-2026
    payer: Acme Health              # optional
    base: medicare                  # Medicare of each line's date of service; "medicare 2025" freezes a year
    lesser_of_charge: true          # never more than the billed charge
    effective: 2026-01-01           # optional: no amount for lines served before (or after `end`)
    escalator: {percent: 3, start: 2026-01-01}   # optional: dollar rates +3% at each anniversary
    fallback:                       # optional: lines a percent-of-Medicare term cannot price
      name: no Medicare rate
      pay: {percent_of_charge: 45}
    terms:                          # first match wins
      - name: surgery
        match: {fee_schedule: pfs, codes: ["10004-69990"]}
        pay: {percent_of_medicare: 135}
      - name: knee case rate
        match: {codes: ["27447"], setting: hopd}
        pay: {per_claim: 25000.00}
      - name: all other
        pay: {percent_of_charge: 45}

**match** (every key given must hold; a term without ``match`` takes every line):
``fee_schedule`` (``pfs``, ``clfs``, ``asp``, ``dmepos``, ``opps``, ``asc``, ``ambulance``...),
``setting`` (``office`` = PFS non-facility, ``facility`` = PFS facility rate, ``hopd``, ``asc``),
``codes`` (codes and ranges: ``"99213"``, ``"10004-69990"``, ``"J0120-J9999"``; a range holds the
codes with its letters in the same places), ``not_codes`` (the same, excluded), ``modifiers``
(the line carries any of them), ``pos`` (place of service codes).

**pay** (one method): ``percent_of_medicare``, ``percent_of_charge``, ``per_unit`` (a fixed fee
per unit), ``per_claim`` (a case rate per claim, shared among the lines it covers in proportion
to their Medicare amounts; ``covers: claim`` makes it cover every line of a claim that has a
matching line, not only the matching ones), ``fee_schedule_file`` (a CSV or .xlsx of the payer's
own rates: ``code``, optional ``modifier``, ``amount`` per unit; the term matches only the codes
the file lists, so other lines go on to the next term). A term may set ``lesser_of_charge``.

**versions**: dated versions of the contract, each in force from its ``effective`` date to the
next one's (the last to ``end``); a version gives its own ``terms``, and may give ``base``,
``lesser_of_charge``, ``fallback`` and ``escalator``; what it does not give is the contract's.

**escalator**: ``percent`` (a year), ``start`` (default: the version's or contract's effective
date), ``compound`` (default true), ``applies_to`` (default the dollar methods ``per_unit``,
``per_claim``, ``fee_schedule_file``; add ``percent_of_medicare`` / ``percent_of_charge`` to raise
percentages too). A rate raised by the escalator is rounded as a rate table prints it: dollars to
the cent, percentages to four decimals, half up.

Every value is read as the text the analyst wrote (``00100`` stays a code) and checked here;
an error names the file and the line.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from ..calc.contracts import MAX_PERCENT
from .fees import _money
from .source import ContractFileError, Located, read_yaml

#: Fee schedules a term can match (the key a line's ``fee_schedule`` holds).
FEE_SCHEDULES = ("pfs", "clfs", "asp", "dmepos", "opps", "asc", "ambulance", "anesthesia", "not_medicare",
                 "measure", "dental")
#: Settings a term can match, and the words read as each.
SETTINGS = ("office", "facility", "hopd", "asc")
SETTING_WORDS = {"office": "office", "nonfacility": "office", "non-facility": "office", "non_facility": "office",
                 "facility": "facility", "hopd": "hopd", "opps": "hopd", "hospital outpatient": "hopd",
                 "asc": "asc"}
#: Methods of payment (the keys of ``pay``).
METHODS = ("percent_of_medicare", "percent_of_charge", "per_unit", "per_claim", "fee_schedule_file")
DOLLAR_METHODS = ("per_unit", "per_claim", "fee_schedule_file")

_CODE = re.compile(r"[A-Z0-9]{5}")
_BASE = re.compile(r"medicare(?:[\s_-]+(\d{4}))?", re.IGNORECASE)


def _listed(v: Any) -> Any:
    """A single value where a list is expected is a list of one (``codes: "99213"``)."""
    if v is None or isinstance(v, list):
        return v
    return [v]


def _percent(v: Any) -> Decimal:
    s = str(v).strip().rstrip("%").strip()
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"expected a percentage such as 120 or 112.5, found {v!r}") from None
    if not d.is_finite() or d < 0 or d > MAX_PERCENT:
        raise ValueError(f"expected a percentage from 0 to {MAX_PERCENT:,}, found {v!r}")
    if d != d.quantize(Decimal("0.0001")):
        raise ValueError(f"a percentage has at most four decimals, found {v!r}")
    return d


def _code_spec(v: Any) -> str:
    s = str(v).strip().upper()
    parts = [p.strip() for p in s.split("-")] if "-" in s else [s]
    if len(parts) == 1 and _CODE.fullmatch(parts[0]):
        return parts[0]
    if len(parts) == 2 and all(_CODE.fullmatch(p) for p in parts):
        lo, hi = parts
        letters = [(a, b) for a, b in zip(lo, hi) if not (a.isdigit() and b.isdigit())]
        if any(a != b for a, b in letters):
            raise ValueError(f"a code range keeps its letters in the same places (J0120-J9999, 0001T-0999T), "
                             f"found {v!r}")
        if lo > hi:
            raise ValueError(f"a code range goes from the lower code to the higher, found {v!r}")
        return f"{lo}-{hi}"
    raise ValueError(f"expected a HCPCS code (five letters or digits, e.g. 99213) or a range "
                     f"(10004-69990), found {v!r}")


def _modifier(v: Any) -> str:
    s = str(v).strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{2}", s):
        raise ValueError(f"expected a two-character modifier (26, TC, 50, LT...), found {v!r}")
    return s


def _pos(v: Any) -> str:
    s = str(v).strip()
    if not re.fullmatch(r"\d{1,2}", s):
        raise ValueError(f"expected a place of service code (11, 22, 24...), found {v!r}")
    return s.zfill(2)


def _fee_schedule(v: Any) -> str:
    s = str(v).strip().lower()
    if s not in FEE_SCHEDULES:
        raise ValueError(f"expected a fee schedule ({', '.join(FEE_SCHEDULES)}), found {v!r}")
    return s


def _setting(v: Any) -> str:
    s = " ".join(str(v).strip().lower().split())
    if s not in SETTING_WORDS:
        raise ValueError(f"expected a setting ({', '.join(SETTINGS)}), found {v!r}")
    return SETTING_WORDS[s]


def _date(v: Any) -> Any:
    if isinstance(v, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.strip()):
        raise ValueError(f"expected a date written YYYY-MM-DD (2026-01-01), found {v!r}")
    return v


Percent = Annotated[Decimal, BeforeValidator(_percent)]
Money = Annotated[Decimal, BeforeValidator(_money)]
CodeSpec = Annotated[str, BeforeValidator(_code_spec)]
Modifier = Annotated[str, BeforeValidator(_modifier)]
Pos = Annotated[str, BeforeValidator(_pos)]
FeeScheduleKey = Annotated[str, BeforeValidator(_fee_schedule)]
SettingKey = Annotated[str, BeforeValidator(_setting)]
Date = Annotated[dt.date, BeforeValidator(_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchSpec(_Strict):
    """Which lines a term takes (every key given must hold)."""

    fee_schedule: Annotated[list[FeeScheduleKey] | None, BeforeValidator(_listed)] = None
    setting: Annotated[list[SettingKey] | None, BeforeValidator(_listed)] = None
    codes: Annotated[list[CodeSpec] | None, BeforeValidator(_listed)] = None
    not_codes: Annotated[list[CodeSpec] | None, BeforeValidator(_listed)] = None
    modifiers: Annotated[list[Modifier] | None, BeforeValidator(_listed)] = None
    pos: Annotated[list[Pos] | None, BeforeValidator(_listed)] = None


class PaySpec(_Strict):
    """How a term pays (one method)."""

    percent_of_medicare: Percent | None = None
    percent_of_charge: Percent | None = None
    per_unit: Money | None = None
    per_claim: Money | None = None
    fee_schedule_file: str | None = None
    covers: Literal["lines", "claim"] | None = None

    @model_validator(mode="after")
    def _one_method(self) -> PaySpec:
        given = [m for m in METHODS if getattr(self, m) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one way to pay ({', '.join(METHODS)}); "
                             + (f"found {', '.join(given)}" if given else "found none"))
        if self.covers is not None and given[0] != "per_claim":
            raise ValueError("'covers' goes with per_claim (a case rate), not with " + given[0])
        return self

    @property
    def method(self) -> str:
        return next(m for m in METHODS if getattr(self, m) is not None)


class TermSpec(_Strict):
    name: str | None = None
    match: MatchSpec = MatchSpec()
    pay: PaySpec
    lesser_of_charge: bool | None = None


class FallbackSpec(_Strict):
    name: str = "no Medicare rate"
    pay: PaySpec
    lesser_of_charge: bool | None = None

    @field_validator("pay")
    @classmethod
    def _not_medicare(cls, v: PaySpec) -> PaySpec:
        if v.method in ("percent_of_medicare", "per_claim"):
            raise ValueError(f"the fallback prices lines that have no Medicare amount: it cannot pay "
                             f"{v.method} (use percent_of_charge, per_unit or fee_schedule_file)")
        return v


class EscalatorSpec(_Strict):
    percent: Percent
    start: Date | None = None
    compound: bool = True
    applies_to: Annotated[list[Literal["percent_of_medicare", "percent_of_charge", "per_unit", "per_claim",
                                       "fee_schedule_file"]], BeforeValidator(_listed)] = list(DOLLAR_METHODS)

    @field_validator("percent")
    @classmethod
    def _yearly(cls, v: Decimal) -> Decimal:
        if v > 100:
            raise ValueError(f"a yearly escalator is a percentage from 0 to 100, found {v}")
        return v


def _base(v: Any) -> Any:
    m = _BASE.fullmatch(str(v).strip()) if v is not None else None
    if m is None:
        raise ValueError(f"expected 'medicare' (Medicare of the date of service) or 'medicare YYYY' "
                         f"(a frozen year, e.g. medicare 2025), found {v!r}")
    year = int(m.group(1)) if m.group(1) else None
    if year is not None and not 2000 <= year <= 2100:
        raise ValueError(f"the base year {year} is not a fee schedule year")
    return "medicare" if year is None else f"medicare {year}"


Base = Annotated[str, BeforeValidator(_base)]


class VersionSpec(_Strict):
    effective: Date
    base: Base | None = None
    lesser_of_charge: bool | None = None
    terms: list[TermSpec] | None = None
    fallback: FallbackSpec | None = None
    escalator: EscalatorSpec | None = None


class ContractSpec(_Strict):
    """The whole contract file."""

    name: str
    payer: str | None = None
    description: str | None = None
    base: Base = "medicare"
    lesser_of_charge: bool = False
    effective: Date | None = None
    end: Date | None = None
    terms: list[TermSpec] | None = None
    fallback: FallbackSpec | None = None
    escalator: EscalatorSpec | None = None
    versions: list[VersionSpec] | None = None

    @field_validator("name")
    @classmethod
    def _named(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("the contract needs a name (it heads its columns in the workbook)")
        return v.strip()

    @model_validator(mode="after")
    def _terms_somewhere(self) -> ContractSpec:
        if not self.terms and not self.versions:
            raise ValueError("the contract has no terms: give 'terms' (a list, first match wins) or "
                             "'versions' (each with its terms)")
        if self.versions:
            days = [v.effective for v in self.versions]
            if any(b <= a for a, b in zip(days, days[1:])):
                raise ValueError("versions go in order of their effective dates, each later than the one "
                                 f"before (found {', '.join(map(str, days))})")
            if not self.terms and any(v.terms is None for v in self.versions):
                raise ValueError("a version without terms takes the contract's, and the contract has none")
            if self.effective is not None and days[0] != self.effective:
                raise ValueError(f"with versions, the contract starts with its first version: its "
                                 f"'effective' ({self.effective}) is not the first version's ({days[0]}); "
                                 "drop it or make them equal")
        if self.end is not None:
            first = self.effective or (self.versions[0].effective if self.versions else None)
            if first is not None and self.end < first:
                raise ValueError(f"the contract ends ({self.end}) before it starts ({first})")
        return self


# ---------------------------------------------------------------------------
# The contract as priced: versions resolved, files read


@dataclass(frozen=True)
class Term:
    """One term of a contract version, as priced."""

    name: str
    match: MatchSpec
    method: str
    value: Decimal | None  # the percentage or dollar amount (None for a fee schedule file)
    lesser_of_charge: bool
    covers: str = "lines"
    fee_table: Any = None  # a rvucalc.contracts.fees.FeeTable for fee_schedule_file
    fallback: bool = False
    line: int | None = None  # where the term is written in the contract file


@dataclass(frozen=True)
class Escalator:
    percent: Decimal
    start: dt.date
    compound: bool
    applies_to: tuple[str, ...]


@dataclass(frozen=True)
class Version:
    """The contract as in force from *effective* (None: from the start) to the next version."""

    effective: dt.date | None
    base_year: int | None  # None: Medicare of each line's date of service
    terms: tuple[Term, ...]
    fallback: Term | None
    escalator: Escalator | None

    @property
    def base(self) -> str:
        return "medicare" if self.base_year is None else f"medicare {self.base_year}"


@dataclass
class Contract:
    """A payer contract read from its file (:func:`load`), ready to price claim lines."""

    name: str
    versions: tuple[Version, ...]
    end: dt.date | None = None
    payer: str | None = None
    description: str | None = None
    file: Path | None = None
    sha256: str = ""
    #: files the contract names (fee schedules): ``{"file": ..., "sha256": ...}`` each
    files: list[dict[str, str]] = field(default_factory=list)

    @property
    def base_years(self) -> tuple[int | None, ...]:
        """The Medicare bases its versions use (None: the date of service's)."""
        return tuple(dict.fromkeys(v.base_year for v in self.versions))

    def sources(self) -> list[dict[str, Any]]:
        """Provenance: the contract file and the files it names, with sha256."""
        out = []
        if self.file is not None:
            out.append({"release": self.name, "release_label": f"contract {self.name}", "table": "contract",
                        "file": str(self.file), "sha256": self.sha256, "origin": "contract file",
                        "verified": False, "note": "the analyst's contract file (sha256 of its bytes)"})
        for f in self.files:
            out.append({"release": self.name, "release_label": f"contract {self.name}",
                        "table": "contract fee schedule", "file": f["file"], "sha256": f["sha256"],
                        "origin": "contract file", "verified": False,
                        "note": "fee schedule named by the contract (sha256 of its bytes)"})
        return out

    def provenance(self) -> dict[str, Any]:
        """``{"sources": [...], "parameters": {...}}`` for :mod:`rvucalc.export`."""
        params: dict[str, Any] = {}
        for v in self.versions:
            when = f" from {v.effective}" if v.effective else ""
            params[f"contract {self.name}{when}"] = (
                f"base {v.base}; " + "; ".join(f"{t.name}: {describe(t)}" for t in v.terms)
                + (f"; fallback {v.fallback.name}: {describe(v.fallback)}" if v.fallback else "")
                + (f"; escalator {v.escalator.percent}% a year from {v.escalator.start}" if v.escalator else ""))
        return {"sources": self.sources(), "parameters": params}

    def __repr__(self) -> str:
        return f"Contract({self.name!r}, {len(self.versions)} version(s), file={str(self.file)!r})"


def describe(t: Term) -> str:
    """``"135% of Medicare"``, ``"$25,000.00 per claim"``... (lesser of charge said)."""
    v = t.value
    text = {
        "percent_of_medicare": lambda: f"{v.normalize():f}% of Medicare",  # type: ignore[union-attr]
        "percent_of_charge": lambda: f"{v.normalize():f}% of charge",  # type: ignore[union-attr]
        "per_unit": lambda: f"${v:,.2f} per unit",
        "per_claim": lambda: f"${v:,.2f} per claim" + (" (whole claim)" if t.covers == "claim" else ""),
        "fee_schedule_file": lambda: f"fee schedule {Path(t.fee_table.file).name}" if t.fee_table else "fee schedule",
    }[t.method]()
    return text + (", lesser of charge" if t.lesser_of_charge else "")


def _messages(exc: ValidationError, src: Located) -> list[tuple[int | None, str]]:
    out = []
    for e in exc.errors(include_url=False):
        loc = tuple(e.get("loc", ()))
        msg = str(e.get("msg", ""))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        kind = e.get("type", "")
        where = ".".join(str(x) for x in loc if not isinstance(x, int)) or "the contract"
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else ""
            allowed = _allowed_keys(loc[:-1], src)
            near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            msg = f"unknown key {key!r}" + (f"; did you mean {near[0]!r}?" if near else "") + (
                f" (keys here: {', '.join(allowed)})" if allowed else "")
        elif kind == "missing":
            msg = f"{loc[-1]!r} is missing" if loc else "a value is missing"
            loc = loc[:-1]
        elif kind in ("bool_parsing", "bool_type"):
            msg = f"{where}: expected true or false, found {e.get('input')!r}"
        elif kind.startswith("date"):
            msg = f"{where}: expected a date written YYYY-MM-DD, found {e.get('input')!r}"
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            msg = f"{where}: expected a block of 'key: value' lines, found {e.get('input')!r}"
        elif kind == "list_type":
            msg = f"{where}: expected a list, found {e.get('input')!r}"
        elif kind == "literal_error":
            msg = f"{where}: {msg}, found {e.get('input')!r}"
        elif kind in ("string_type",):
            msg = f"{where}: expected text, found {e.get('input')!r}"
        else:
            msg = f"{where}: {msg}"
        out.append((src.line_of(loc), msg))
    return out


_KEYS: dict[str, tuple[str, ...]] = {
    "": tuple(ContractSpec.model_fields), "terms": tuple(TermSpec.model_fields),
    "match": tuple(MatchSpec.model_fields), "pay": tuple(PaySpec.model_fields),
    "fallback": tuple(FallbackSpec.model_fields), "escalator": tuple(EscalatorSpec.model_fields),
    "versions": tuple(VersionSpec.model_fields),
}


def _allowed_keys(loc: tuple[Any, ...], src: Located) -> list[str]:
    names = [x for x in loc if not isinstance(x, int)]
    return list(_KEYS.get(str(names[-1]) if names else "", ()))


def load(path: str | Path) -> Contract:
    """Read and check a contract file (YAML); see the module docstring for its shape.

    Raises :class:`rvucalc.contracts.ContractFileError` naming the file and line of every problem
    found (an unknown key with the nearest known one, a percentage that is not a number, two
    methods in one ``pay``, a code range with mixed letters, a fee schedule file that cannot be
    read...).
    """
    from .fees import read_fee_table

    src = read_yaml(path)
    if not isinstance(src.data, dict):
        raise src.error((), "expected a contract: 'name:', 'base:', 'terms:' ... lines, "
                            f"found {type(src.data).__name__}")
    try:
        spec = ContractSpec.model_validate(src.data)
    except ValidationError as exc:
        msgs = _messages(exc, src)
        line = msgs[0][0]
        if len(msgs) == 1:
            raise ContractFileError(src.file, msgs[0][1], line=line) from None
        listing = "; ".join(f"line {ln}: {m}" if ln else m for ln, m in msgs)
        raise ContractFileError(src.file, f"{len(msgs)} problems: {listing}", line=line) from None

    folder = src.file.parent
    files: dict[str, Any] = {}

    def term(t: TermSpec | FallbackSpec, where: tuple[Any, ...], lesser: bool, i: int,
             fallback: bool = False) -> Term:
        pay = t.pay
        method = pay.method
        table = None
        if method == "fee_schedule_file":
            rel = Path(str(pay.fee_schedule_file))
            p = rel if rel.is_absolute() else folder / rel
            key = str(p.resolve())
            if key not in files:
                try:
                    files[key] = read_fee_table(p)
                except ContractFileError as exc:
                    raise ContractFileError(src.file, f"the fee schedule file of this term: {exc}",
                                            line=src.line_of((*where, "pay", "fee_schedule_file"))) from None
            table = files[key]
        name = t.name if t.name else f"term {i + 1}"
        return Term(name=name, match=getattr(t, "match", MatchSpec()), method=method,
                    value=getattr(pay, method) if method != "fee_schedule_file" else None,
                    lesser_of_charge=lesser if t.lesser_of_charge is None else t.lesser_of_charge,
                    covers=pay.covers or "lines", fee_table=table, fallback=fallback,
                    line=src.line_of(where))

    def escalator(e: EscalatorSpec | None, start: dt.date | None, where: tuple[Any, ...]) -> Escalator | None:
        if e is None:
            return None
        s = e.start or start
        if s is None:
            raise src.error((*where, "escalator"), "the escalator needs a 'start' date (or the contract an "
                            "'effective' date) to count its years from")
        return Escalator(e.percent, s, e.compound, tuple(e.applies_to))

    def base_year(b: str) -> int | None:
        return None if b == "medicare" else int(b.split()[1])

    versions: list[Version] = []
    if spec.versions:
        for j, v in enumerate(spec.versions):
            where = ("versions", j)
            lesser = spec.lesser_of_charge if v.lesser_of_charge is None else v.lesser_of_charge
            if v.terms is not None:
                terms = tuple(term(t, (*where, "terms", i), lesser, i) for i, t in enumerate(v.terms))
            else:
                terms = tuple(term(t, ("terms", i), lesser, i) for i, t in enumerate(spec.terms or []))
            fb_spec = v.fallback if v.fallback is not None else spec.fallback
            fb_where = (*where, "fallback") if v.fallback is not None else ("fallback",)
            fb = term(fb_spec, fb_where, lesser, 0, fallback=True) if fb_spec else None
            esc = escalator(v.escalator, v.effective, where) if v.escalator is not None else \
                escalator(spec.escalator, spec.effective or v.effective, ())
            versions.append(Version(v.effective, base_year(v.base or spec.base), terms, fb, esc))
    else:
        terms = tuple(term(t, ("terms", i), spec.lesser_of_charge, i) for i, t in enumerate(spec.terms or []))
        fb = term(spec.fallback, ("fallback",), spec.lesser_of_charge, 0, fallback=True) \
            if spec.fallback else None
        versions.append(Version(spec.effective, base_year(spec.base), terms, fb,
                                escalator(spec.escalator, spec.effective, ())))
    if spec.effective is not None and versions[0].effective is None:
        versions[0] = Version(spec.effective, versions[0].base_year, versions[0].terms, versions[0].fallback,
                              versions[0].escalator)
    if sum(len(v.terms) + 1 for v in versions) > 30_000:
        raise src.error(("terms",), "more than 30,000 terms: a payer's own rates belong in a "
                        "fee_schedule_file, one term")
    for v in versions:
        names = [t.name for t in v.terms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise src.error(("terms",), f"two terms are named {dup[0]!r}: give each term its own name (it "
                            "labels the lines it prices)")
    return Contract(name=spec.name, versions=tuple(versions), end=spec.end, payer=spec.payer,
                    description=spec.description, file=src.file, sha256=src.sha256,
                    files=[{"file": str(t.file), "sha256": t.sha256} for t in files.values()])


__all__ = ["DOLLAR_METHODS", "FEE_SCHEDULES", "METHODS", "SETTINGS", "Contract", "ContractFileError",
           "ContractSpec", "Escalator", "Term", "Version", "describe", "load"]
