"""Result objects (pydantic): what a quote says, and where each number came from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .reasons import Reason


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
    modifier: str
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

    @property
    def where(self) -> str:
        if self.locality is None:
            return "national (GPCIs 1.000)"
        loc = self.locality
        z = f"ZIP {self.zip} -> " if self.zip else ""
        return f"{z}{loc.locality_id} {loc.name} ({loc.state})"

    def __str__(self) -> str:
        code = self.hcpcs + (f"-{self.modifier}" if self.modifier else "")
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
        lines.append("  sources:")
        lines.extend(f"    {src}" for src in self.sources)
        return "\n".join(lines)


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"
