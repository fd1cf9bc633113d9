"""Plot helpers return Axes with the bars the data asks for (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from rvucalc.errors import RvucalcError  # noqa: E402
from rvucalc.export import compare  # noqa: E402
from rvucalc.plot import plot_localities, plot_sites  # noqa: E402


def half_up(x: float) -> float:
    return math.floor(x * 100 + 0.5 + 1e-6) / 100


def test_plot_localities_all(fs26, mirror):
    import matplotlib.pyplot as plt

    df = compare(fs26, ["20983"])  # all localities + national
    ax = plot_localities(df, "20983")
    bars = ax.patches
    text = mirror("pfs/rvu26c/GPCI2026.csv").read_text(encoding="latin-1")
    n_loc = sum(1 for ln in text.splitlines() if ln[:5].isdigit() and ln.count(",") >= 6)
    assert len(bars) == n_loc == 109
    heights = [b.get_width() for b in bars]
    assert heights == sorted(heights, reverse=True)
    # LA 01182-18 (GPCI2026 1.041 / 1.183 / 0.664) is among the bars with its hand-computed amount
    la = half_up((6.71 * 1.041 + 139.34 * 1.183 + 0.83 * 0.664) * 33.4009)
    assert la in heights
    # the national reference line: 146.88 x 33.4009
    assert ax.lines and ax.lines[0].get_xdata()[0] == half_up(146.88 * 33.4009)
    # the axis says what is plotted
    assert ax.get_xlabel() == "PFS office (non-facility) allowed amount ($)"
    assert ax.get_ylabel() == "Locality"
    plt.close("all")


def test_plot_localities_schedule_frame(fs26):
    import matplotlib.pyplot as plt

    df = fs26.schedule(["20983"], ["01182-18", "05302-99", "10112-00"])
    ax = plot_localities(df, "20983", setting="facility", top=2)
    assert len(ax.patches) == 2
    plt.close("all")
    with pytest.raises(RvucalcError):
        plot_localities(df, "99999")


def test_plot_sites_generic():
    import matplotlib.pyplot as plt

    df = pd.DataFrame({"hcpcs": ["20983"] * 3 + ["77013"] * 3,
                       "site": ["office", "hospital outpatient", "ASC"] * 2,
                       "amount": [100.0, 250.0, 180.0, 10.0, 20.0, float("nan")]})
    ax = plot_sites(df)
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["office", "hospital outpatient", "ASC"]
    assert sorted(p.get_height() for p in ax.patches)[-1] == 250.0
    assert ax.get_ylabel() == "Allowed amount ($)" and ax.get_xlabel() == "HCPCS code"
    plt.close("all")


def test_plot_sites_compare_frame(fs26):
    import matplotlib.pyplot as plt

    df = compare(fs26, ["20983"], ["01182-18", "05302-99"])
    ax = plot_sites(df)  # groups: national + 2 localities; bars: office, facility
    assert len(ax.patches) == 6
    plt.close("all")
