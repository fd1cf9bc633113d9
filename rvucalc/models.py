"""Result objects (pydantic): what a quote says, and where each number came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    rvus: RVUs
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
                "code": self.code, "hcpcs": self.hcpcs, "modifier": self.modifier,
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
                "release": self.release, "sources": "; ".join(f"{x.release}:{x.file}" for x in self.sources),
            })
        return pd.DataFrame(recs)

    def __str__(self) -> str:
        code = self.code
        lines = [
            f"{code}  {self.description}".rstrip(),
            f"  status {self.status}, global {self.global_days}, PC/TC {self.pctc}",
            f"  where: {self.where}",
            f"  RVUs: work {self.rvus.work:.2f}, PE non-facility {self.rvus.pe_nonfacility:.2f}, "
            f"PE facility {self.rvus.pe_facility:.2f}, MP {self.rvus.mp:.2f} "
            f"(totals {self.rvus.total_nonfacility:.2f} / {self.rvus.total_facility:.2f})",
        ]
        if self.locality is not None:
            g = self.locality
            wg = g.work_gpci if self.work_gpci_floor else g.work_gpci_no_floor
            lines.append(f"  GPCIs: work {wg:.3f}, PE {g.pe_gpci:.3f}, MP {g.mp_gpci:.3f}")
        lines.append(f"  conversion factor: ${self.conversion_factor:.4f} ({self.conversion_factor_kind})")
        lines.append(f"  {'setting':<13}{'amount':>12}{'non-par':>12}{'limiting':>12}")
        for s in (self.nonfacility, self.facility):
            label = "office" if s.setting == "nonfacility" else "facility"
            if s.amount is None:
                why = s.reason.message if s.reason else "no amount"
                lines.append(f"  {label:<13}{'-':>12}  {why} [{s.reason.code if s.reason else ''}]")
            else:
                cap = "  (OPPS cap)" if s.opps_capped else ""
                lines.append(f"  {label:<13}{_usd(s.amount):>12}{_usd(s.nonpar_amount):>12}"
                             f"{_usd(s.limiting_charge):>12}{cap}")
        lines.extend(f"  note: {n.message}" for n in self.notes)
        lines.append("  sources:")
        lines.extend(f"    {src}" for src in self.sources)
        return "\n".join(lines)


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"
