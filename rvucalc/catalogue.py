"""The release catalogue: which CMS releases exist, where CMS publishes them,
which member file holds which table, and their checksums.

The catalogue is the ``data/`` folder of the repository (installed inside the
wheel as ``rvucalc/_catalogue``): one folder per release with a
``release.toml``; see ``data/README.md``. Nothing downloaded is stored there.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ReleaseNotFoundError

LETTERS = "ABCD"


@dataclass(frozen=True)
class FileSpec:
    """One member file of a release (one table)."""

    table: str
    name: str
    aliases: tuple[str, ...] = ()
    sha256: str | None = None  # of the member exactly as CMS ships it
    mirror_sha256: tuple[str, ...] = ()  # of known third-party copies (re-saved, not CMS's bytes)
    format: str | None = None
    note: str | None = None
    url: str | None = None  # the zip holding this member, where it is not the release's (NCCI parts)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Release:
    """A CMS release: a zip on CMS's site and the tables inside it."""

    id: str
    system: str
    year: int
    label: str
    folder: Path
    quarter: int | None = None
    letter: str | None = None
    effective: str | None = None
    page: str | None = None
    url: str | None = None
    sha256: str | None = None  # of the zip (release.toml: zip_sha256)
    files: dict[str, FileSpec] = field(default_factory=dict)
    conversion_factors: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def file(self, table: str) -> FileSpec:
        try:
            return self.files[table]
        except KeyError:
            raise ReleaseNotFoundError(
                f"release {self.id} has no table {table!r} (it has: {', '.join(self.files)})"
            ) from None

    @property
    def order(self) -> tuple[int, int, str]:
        """Sort key: year, then quarter/letter, then id (AR corrections after A)."""
        q = self.quarter or (LETTERS.index(self.letter[0]) + 1 if self.letter else 0)
        return (self.year, q, self.id)


def catalogue_dir() -> Path:
    """The folder holding the release catalogue (installed or in a source checkout)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "_catalogue", here.parent / "data"):
        if cand.is_dir():
            return cand
    raise ReleaseNotFoundError(f"release catalogue not found next to {here}")


def _parse(path: Path) -> Release:
    with path.open("rb") as fh:
        d = tomllib.load(fh)
    files = {
        k: FileSpec(table=k, name=v["name"], aliases=tuple(v.get("aliases", ())),
                    sha256=v.get("sha256"), format=v.get("format"), note=v.get("note"), url=v.get("url"),
                    mirror_sha256=tuple([v["mirror_sha256"]] if isinstance(v.get("mirror_sha256"), str)
                                        else v.get("mirror_sha256", ())))
        for k, v in d.get("files", {}).items()
    }
    known = {"id", "system", "year", "label", "quarter", "letter", "effective", "page", "url",
             "sha256", "zip_sha256", "files", "conversion_factors"}
    return Release(
        id=d["id"], system=d["system"], year=int(d["year"]), label=d.get("label", d["id"]),
        folder=path.parent, quarter=d.get("quarter"), letter=d.get("letter"),
        effective=str(d["effective"]) if d.get("effective") else None, page=d.get("page"),
        url=d.get("url"), sha256=d.get("sha256") or d.get("zip_sha256"), files=files,
        conversion_factors={k: float(v) for k, v in d.get("conversion_factors", {}).items()
                            if isinstance(v, (int, float))},
        extra={k: v for k, v in d.items() if k not in known},
    )


@functools.cache
def releases(system: str | None = None) -> tuple[Release, ...]:
    """All catalogued releases (of one *system*: pfs, opps, asc, wage_index, zip5), oldest first."""
    out = [_parse(p) for p in sorted(catalogue_dir().rglob("release.toml"))]
    if system is not None:
        out = [r for r in out if r.system == system]
    return tuple(sorted(out, key=lambda r: r.order))


def get(release_id: str) -> Release:
    """The release with this id (e.g. ``"rvu26c"``, ``"opps-2025-01"``)."""
    rid = release_id.lower()
    for r in releases():
        if r.id.lower() == rid:
            return r
    ids = ", ".join(r.id for r in releases())
    raise ReleaseNotFoundError(f"no release {release_id!r} in the catalogue (known: {ids})")


def for_year(system: str, year: int) -> list[Release]:
    """Releases of *system* for calendar year *year*, newest first."""
    return sorted((r for r in releases(system) if r.year == year), key=lambda r: r.order, reverse=True)
