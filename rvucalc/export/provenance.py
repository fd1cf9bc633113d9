"""What a result came from: the CMS files (with sha256) and the parameters behind it.

:func:`provenance_of` turns FeeSchedules, Quotes, Sources, frames (their
``attrs["rvucalc.provenance"]`` and ``release``/``conversion_factor``
columns), objects with a ``provenance()`` method and plain dicts into plain
data ``{"sources": [...], "parameters": {...}}`` that the Provenance sheet of a
workbook lists row by row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class Provenance:
    """Files and parameters behind a result (what the provenance sheet lists)."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    def add_source(self, s: Mapping[str, Any]) -> None:
        row = {k: s.get(k, "") for k in ("release", "release_label", "table", "file", "sha256", "origin",
                                          "verified", "note")}
        key = (row["release"], row["table"], row["file"], row["sha256"])
        if all((r["release"], r["table"], r["file"], r["sha256"]) != key for r in self.sources):
            self.sources.append(row)

    def add_parameter(self, name: str, value: Any) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        old = self.parameters.get(name)
        if old is None:
            self.parameters[name] = value
        elif old != value:
            olds = old if isinstance(old, list) else [old]
            if value not in olds:
                self.parameters[name] = olds + [value]

    def as_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "parameters": dict(self.parameters)}


def _is_source(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("release", "file", "sha256")) and not hasattr(obj, "rvus")


def _source_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return {k: getattr(obj, k, "") for k in ("release", "release_label", "table", "file", "sha256",
                                              "origin", "verified", "note")}


def collect(obj: Any, prov: Provenance, depth: int = 0) -> None:
    if obj is None or depth > 6:
        return
    from ..models import Quote  # local: models imports pydantic only

    if isinstance(obj, Provenance):
        for s in obj.sources:
            prov.add_source(s)
        for k, v in obj.parameters.items():
            prov.add_parameter(k, v)
        return
    if isinstance(obj, pd.DataFrame):
        collect(obj.attrs.get("rvucalc.provenance"), prov, depth + 1)
        if "release" in obj.columns:  # each release id once; lines of no release have none
            for rid in pd.unique(obj["release"].astype(object).dropna().astype(str)):
                if rid.strip():
                    prov.add_parameter("releases in the data", rid)
        if "conversion_factor" in obj.columns:
            cfs = sorted(set(float(x) for x in pd.unique(obj["conversion_factor"].dropna())))
            if cfs:
                prov.add_parameter("conversion factors in the data", ", ".join(f"{x:.4f}" for x in cfs))
        return
    if isinstance(obj, Quote):
        for s in obj.sources:
            prov.add_source(_source_dict(s))
        prov.add_parameter(f"conversion factor ({obj.release})", obj.conversion_factor)
        prov.add_parameter(f"conversion factor kind ({obj.release})", obj.conversion_factor_kind)
        prov.add_parameter("work GPCI 1.0 floor", obj.work_gpci_floor)
        return
    if _is_source(obj):
        prov.add_source(_source_dict(obj))
        return
    hook = getattr(obj, "provenance", None)
    if hook is not None and not isinstance(obj, Mapping | str):
        collect(hook() if callable(hook) else hook, prov, depth + 1)
        return
    if isinstance(obj, Mapping):
        if "sha256" in obj and "file" in obj:
            prov.add_source(obj)
        elif "sources" in obj or "parameters" in obj:
            collect(list(obj.get("sources", []) or []), prov, depth + 1)
            for k, v in (obj.get("parameters") or {}).items():
                prov.add_parameter(str(k), v)
            for k, v in obj.items():
                if k not in ("sources", "parameters"):
                    prov.add_parameter(str(k), v)
        elif obj and all(_is_source(v) or (isinstance(v, Mapping) and "sha256" in v) for v in obj.values()):
            for v in obj.values():
                prov.add_source(_source_dict(v))
        else:
            for k, v in obj.items():
                if isinstance(v, Mapping) and "sha256" in v:
                    prov.add_source(v)
                else:
                    prov.add_parameter(str(k), v)
        return
    if isinstance(obj, list | tuple | set | frozenset):
        for x in obj:
            collect(x, prov, depth + 1)
        return
    sources = getattr(obj, "sources", None)
    if sources is not None:  # a FeeSchedule or another calculator
        collect(list(sources.values()) if isinstance(sources, Mapping) else list(sources), prov, depth + 1)
        rel = getattr(obj, "release", None)
        rid = getattr(rel, "id", rel)
        if rel is not None and hasattr(rel, "label"):
            prov.add_parameter(f"release {rid}", rel.label)
        for attr, label in (("conversion_factor", "conversion factor"),
                            ("conversion_factor_kind", "conversion factor kind"),
                            ("work_floor", "work GPCI 1.0 floor"), ("wage_index", "wage index"),
                            ("options", "options")):
            v = getattr(obj, attr, None)
            if v is not None and not callable(v):
                prov.add_parameter(f"{label} ({rid})" if rid and attr.startswith("conversion") else label,
                                   v if isinstance(v, str | int | float | bool) else str(v))
        return
    prov.add_parameter("note", str(obj))


def provenance_of(*objs: Any) -> dict[str, Any]:
    """``{"sources": [...], "parameters": {...}}`` for FeeSchedules, Quotes, Sources, frames or dicts.

    Plain data (no library objects), so it can be kept in ``DataFrame.attrs``.
    """
    prov = Provenance()
    for o in objs:
        collect(o, prov)
    return prov.as_dict()



__all__ = ["Provenance", "collect", "provenance_of"]
