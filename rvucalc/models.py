"""Result objects (pydantic): what a quote says, and where each number came from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from .reasons import Reason

if TYPE_CHECKING:
    import pandas as pd


class Source(BaseModel):
    """The CMS release and file a table (and so each number from it) came from."""

    model_config = ConfigDict(frozen=True)

    release: str
    release_label: str
    table: str
    file: str
    sha256: str
    origin: str  # mirror | cache | download | user
    verified: bool  # the catalogue's sha256 matched (else the note says why it is unverified)
    note: str = ""

    def __str__(self) -> str:
        v = "sha256 verified" if self.verified else "UNVERIFIED, sha256 " + self.sha256[:12]
        extra = f"; {self.note}" if self.note else ""
        return f"{self.release_label} ({self.release}): {self.file} [{v}, from {self.origin}{extra}]"


class LocalityInfo(BaseModel):
    """A Medicare payment locality and its GPCIs."""

    locality_id: str
    mac: str
    locality: str
    state: str
    name: str
    counties: str = ""
    work_gpci: float
    work_gpci_no_floor: float
    pe_gpci: float
    mp_gpci: float


class RVUs(BaseModel):
    work: float
    pe_nonfacility: float
    pe_facility: float
    mp: float
    total_nonfacility: float
    total_facility: float


class SettingAmount(BaseModel):
    """The amount for one setting; ``amount`` is None exactly when ``reason`` says why.

    Amounts are in dollars, rounded to cents (half up) once at the end.
    """

    setting: str
    amount: float | None
    nonpar_amount: float | None
    limiting_charge: float | None
    opps_capped: bool = False
    opps_cap: float | None = None
    reason: Reason | None = None


class Quote(BaseModel):
    """What Medicare's physician fee schedule pays for one HCPCS code in one place."""

    hcpcs: str
    modifier: str  # the PPRRVU row's modifier ("", 26, TC or 53)
    description: str
    status: str
    global_days: str
    pctc: str
    indicators: dict[str, str]
    rvus: RVUs | None  # None for a code of another fee schedule (fee_schedule not "pfs")
    locality: LocalityInfo | None  # None: national (all GPCIs 1.0)
    zip: str | None = None
    conversion_factor: float
    conversion_factor_kind: str
    work_gpci_floor: bool
    nonfacility: SettingAmount
    facility: SettingAmount
    release: str
    sources: list[Source]
    asked: str = ""  # the code as asked, e.g. "99213-25" (priced from 99213's row)
    placed: str = ""  # how a county was placed in its locality
    notes: list[Reason] = []  # e.g. a modifier with no price effect, the fee schedule of a status-X code
    #: which fee schedule priced the code: "pfs", or "clfs"/"asp"/"dmepos" for a lab test, drug or
    #: DME item the PFS does not pay (priced per unit from that schedule's file, issue 21)
    fee_schedule: str = "pfs"
    #: the release of that schedule (e.g. "clfs-2026-01") and how it was chosen, for such a code
    fee_release: str = ""
    fee_release_note: str = ""

    @property
    def code(self) -> str:
        """The code as asked (``"99213-25"``), else the row's code and modifier."""
        return self.asked or (self.hcpcs + (f"-{self.modifier}" if self.modifier else ""))

    @property
    def where(self) -> str:
        if self.locality is None:
            return "national (GPCIs 1.000)"
        loc = self.locality
        z = f"ZIP {self.zip} -> " if self.zip else (f"{self.placed}: " if self.placed else "")
        return f"{z}{loc.locality_id} {loc.name} ({loc.state})"

    def to_frame(self) -> pd.DataFrame:
        """One row per setting (nonfacility, facility): code as asked, locality, amounts,
        OPPS cap, conversion factor, reason and notes (codes and words), release and sources.

        Missing amounts are NaN; text columns are ``""`` when empty.
        """
        import pandas as pd

        recs = []
        for s in (self.nonfacility, self.facility):
            recs.append({
                "code": self.code, "fee_schedule": self.fee_schedule, "hcpcs": self.hcpcs,
                "modifier": self.modifier,
                "description": self.description, "status": self.status,
                "locality_id": self.locality.locality_id if self.locality else "national",
                "locality_name": self.locality.name if self.locality else "",
                "zip": self.zip or "", "setting": s.setting,
                "amount": _nan(s.amount), "nonpar_amount": _nan(s.nonpar_amount),
                "limiting_charge": _nan(s.limiting_charge), "opps_capped": s.opps_capped,
                "opps_cap": _nan(s.opps_cap), "conversion_factor": self.conversion_factor,
                "reason": s.reason.code if s.reason else "",
                "reason_text": s.reason.message if s.reason else "",
                "notes": "; ".join(n.message for n in self.notes),
                "release": self.fee_release or self.release, "sources": "; ".join(f"{x.release}:{x.file}" for x in self.sources),
            })
        return pd.DataFrame(recs)

    def __str__(self) -> str:
        from .render import to_text

        return to_text(*quote_items([self], self.release))


def quote_items(quotes: Sequence[Quote], release_label: str = "",
                refused: Sequence[tuple[str, str, str]] = ()) -> list[Any]:
    """Lines and tables of one or more quotes (same place and CF), for :func:`rvucalc.render.emit`.

    *refused*: ``(code, reason code, sentence)`` of codes that could not be quoted: a row each in
    the amounts table (no amount, "not quoted") and their sentence in the notes."""
    from .render import Table, usd

    q0 = quotes[0]
    head = [f"{release_label}; conversion factor ${q0.conversion_factor:.4f} ({q0.conversion_factor_kind})",
            f"where: {q0.where}"]
    if q0.locality is not None:
        g = q0.locality
        wg = g.work_gpci if q0.work_gpci_floor else g.work_gpci_no_floor
        head.append(f"GPCIs: work {wg:.3f}, PE {g.pe_gpci:.3f}, MP {g.mp_gpci:.3f}")
    show_desc = any(q.description for q in quotes)
    other = any(q.fee_schedule != "pfs" for q in quotes)  # lab, drug, DME codes: say which schedule
    cols = ["code"] + (["description"] if show_desc else []) + (["schedule"] if other else []) + [
        "status", "office", "facility", "note"]
    amounts = Table(cols, numeric=["office", "facility"], title="fee schedule amounts")
    rvus = Table(["code", "work", "PE office", "PE facility", "MP", "total office", "total facility", "global"],
                 numeric=["work", "PE office", "PE facility", "MP", "total office", "total facility"],
                 title="RVUs")
    extra = Table(["code", "non-par office", "non-par facility", "limiting office", "limiting facility"],
                  numeric=["non-par office", "non-par facility", "limiting office", "limiting facility"],
                  title="non-participating amounts and limiting charges")
    notes: list[str] = []
    for q in quotes:
        nf, fa = q.nonfacility, q.facility
        note = ", ".join(x for x in ("OPPS cap" if nf.opps_capped or fa.opps_capped else "",
                                     "see notes" if q.notes or nf.reason or fa.reason else "") if x)
        amounts.rows.append([q.code] + ([q.description] if show_desc else []) + (
            [q.fee_schedule.upper() if q.fee_schedule != "pfs" else "PFS"] if other else []) + [
            q.status, usd(nf.amount), usd(fa.amount), note])
        r = q.rvus
        if r is not None:  # a PFS code
            rvus.rows.append([q.code, f"{r.work:.2f}", f"{r.pe_nonfacility:.2f}", f"{r.pe_facility:.2f}",
                              f"{r.mp:.2f}", f"{r.total_nonfacility:.2f}", f"{r.total_facility:.2f}",
                              q.global_days])
            extra.rows.append([q.code, usd(nf.nonpar_amount), usd(fa.nonpar_amount), usd(nf.limiting_charge),
                               usd(fa.limiting_charge)])
        if q.fee_release:
            notes.append(f"{q.code}: priced per unit from {q.fee_release}"
                         + (f" ({q.fee_release_note})" if q.fee_release_note else ""))
        for label, s in (("office", nf), ("facility", fa)):
            if s.reason:
                notes.append(f"{q.code} {label}: {s.reason.message} [{s.reason.code}]")
        notes += [f"{q.code}: {n.message} [{n.code}]" for n in q.notes]
    for code, why, words in refused:
        amounts.rows.append([code] + ([""] if show_desc else []) + ([""] if other else [])
                            + ["", usd(None), usd(None), "not quoted"])
        notes.append(f"{code}: not quoted: {words} [{why}]")
    seen: dict[str, None] = {}
    for q in quotes:
        for src in q.sources:
            seen.setdefault(str(src))
    tables = [t for t in (rvus, extra) if t.rows]
    return ["\n".join(head), amounts, *tables, *(["\n".join(notes)] if notes else []),
            "sources:\n" + "\n".join(f"  {x}" for x in seen)]


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"


@runtime_checkable
class Schedule(Protocol):
    """What :mod:`rvucalc.sites` uses of a loaded PFS release (its year, files and quote):
    :class:`rvucalc.FeeSchedule` is one.

    They take it as an argument and never import :mod:`rvucalc.facade`, so imports flow one way
    (the facade calls them, not the other way round).
    """

    year: int
    release: Any
    mirror: Any
    download: bool
    progress: bool
    sources: dict[str, Source]

    def quote(self, hcpcs: str, modifier: str | None = None, **kwargs: Any) -> Quote: ...

    def resolve_locality(self, locality: str | None = None, zip: str | int | None = None, *,
                         county: str | int | None = None) -> str | None: ...

    def locality_info(self, locality_id: str) -> LocalityInfo: ...

    def county_locality(self, fips: str | int) -> tuple[str, str]: ...
