"""Shared test fixtures.

Real CMS files come from the read-only local mirror beside the project
(``../shared/cms``, or ``$RVUCALC_MIRROR``). A test that needs a mirror file and
does not find it FAILS (never skips): CI must notice a missing file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("RVUCALC_MIRROR", ROOT.parent / "shared" / "cms")).resolve()


def mirror_path(rel: str) -> Path:
    """Path of a real CMS file in the mirror; fails the test if it is missing."""
    p = MIRROR / rel
    if not p.is_file():
        pytest.fail(f"CMS mirror file missing: {p} (set RVUCALC_MIRROR or place the mirror at {MIRROR})")
    return p


@pytest.fixture(scope="session")
def mirror():
    """``mirror('pfs/rvu26c/PPRRVU2026_Jul_nonQPP.csv')`` -> Path (fails if missing)."""
    if not MIRROR.is_dir():
        pytest.fail(f"CMS mirror folder missing: {MIRROR}")
    return mirror_path
