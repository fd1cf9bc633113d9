"""The ASC release catalogue matches the mirror's files and the readers' view of them."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RELEASES = sorted((ROOT / "data" / "asc").glob("*/release.toml"))


def test_every_mirror_quarter_catalogued() -> None:
    assert [p.parent.name for p in RELEASES] == [
        "2024-01", "2024-04", "2024-07", "2024-10", "2025-01",
        "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07",
    ]


@pytest.mark.parametrize("path", RELEASES, ids=lambda p: p.parent.name)
def test_release_toml_matches_mirror(mirror, path: Path) -> None:
    rel = tomllib.loads(path.read_text(encoding="utf-8"))
    q = path.parent.name
    assert rel["id"] == f"asc-{q}"
    assert rel["system"] == "asc"
    assert rel["year"] == int(q[:4])
    assert rel["quarter"] == (int(q[5:]) - 1) // 3 + 1
    assert rel["page"].startswith("https://www.cms.gov/")
    assert "url" not in rel and rel["note"]
    # CY2026 on: the final-rule addenda EE (exclusions) and FF (device offsets) too
    assert set(rel["files"]) == ({"addendum_aa", "addendum_bb", "addendum_ee", "addendum_ff"}
                                 if q >= "2026" else {"addendum_aa", "addendum_bb"})
    for table in rel["files"].values():
        assert table["format"] in ("csv", "txt")
        assert table["name"].endswith("." + table["format"])
        data = mirror(f"asc/{q}/{table['name']}").read_bytes()
        assert hashlib.sha256(data).hexdigest() == table["mirror_sha256"]
