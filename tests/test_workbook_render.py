"""Render a small workbook with LibreOffice (headless) to an image, as a person would open it.

LibreOffice and poppler come from Debian's packages (.ci/run installs them). Under CI a missing
``soffice`` fails the test; on a developer's machine without LibreOffice it is skipped
(``apt-get install --no-install-recommends libreoffice-calc poppler-utils fonts-dejavu-core``).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rvucalc.export import compare, to_excel


def _tools() -> tuple[str, str]:
    soffice, pdftoppm = shutil.which("soffice"), shutil.which("pdftoppm")
    if soffice is None or pdftoppm is None:
        msg = "LibreOffice (soffice) and poppler (pdftoppm) are needed to render workbooks"
        if os.environ.get("CI"):
            pytest.fail(msg + "; .ci/run installs them")
        pytest.skip(msg)
    return soffice, pdftoppm


def test_compare_workbook_renders(fs26, tmp_path):
    from PIL import Image

    soffice, pdftoppm = _tools()
    df = compare(fs26, ["20983", "99213"], ["01182-18", "05302-99"])
    xlsx = to_excel(df, tmp_path / "rates.xlsx", provenance=fs26)
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(xlsx)], check=True, timeout=240,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pdf = tmp_path / "rates.pdf"
    assert pdf.exists() and pdf.stat().st_size > 5_000
    subprocess.run([pdftoppm, "-r", "60", "-f", "1", "-l", "1", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    png = next(tmp_path.glob("page*.png"))
    im = Image.open(png).convert("RGB")
    w, h = im.size
    assert w > 300 and h > 300
    # the summary page holds the table and the charts: the header fill and the office bars are
    # dark blue (#1F4E78), the facility bars orange (#C55A11)
    colours = im.getcolors(maxcolors=w * h)
    assert colours is not None

    def near(rgb: tuple[int, int, int], target: tuple[int, int, int]) -> bool:
        return all(abs(a - b) < 40 for a, b in zip(rgb, target))

    blue = sum(n for n, c in colours if near(c, (0x1F, 0x4E, 0x78)))
    orange = sum(n for n, c in colours if near(c, (0xC5, 0x5A, 0x11)))
    assert blue > 200 and orange > 20, (blue, orange)
