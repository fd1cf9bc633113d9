"""Charts an analyst would otherwise write by hand each time (matplotlib, imported lazily).

Each helper takes a result frame, draws on *ax* (or a new figure) and returns
the :class:`matplotlib.axes.Axes`. Amounts are plotted as they are in the
frame (cent-rounded by the calculators); rows without an amount (a reason
code) are left out and counted in the title.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import RvucalcError

_AXIS_NAMES = {"hcpcs": "HCPCS code", "modifier": "modifier", "locality_id": "Locality", "state": "state",
               "locality_name": "name", "site": "Site of service", "setting": "Setting"}


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size)
    return ax


def _dollars(ax: Any, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: f"${v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _locality_amounts(df: pd.DataFrame, code: str, setting: str) -> pd.DataFrame:
    hc, _, mod = str(code).strip().upper().replace(" ", "-").partition("-")
    sub = df[df["hcpcs"].astype(str) == hc]
    if "modifier" in sub.columns:
        sub = sub[sub["modifier"].astype(str) == mod]
    if sub.empty:
        raise RvucalcError(f"{code} is not in this frame (codes: {', '.join(map(str, pd.unique(df['hcpcs'])[:10]))})")
    if "setting" in sub.columns and "amount" in sub.columns:  # a schedule (long) frame
        sub = sub[sub["setting"].astype(str) == setting]
        amount = sub["amount"]
    elif setting in sub.columns:  # a compare() frame
        amount = sub[setting]
    else:
        raise RvucalcError(f"no {setting!r} amounts in this frame (columns: {', '.join(map(str, df.columns))})")
    out = pd.DataFrame({"locality_id": sub["locality_id"].astype(str).to_numpy(),
                        "amount": amount.to_numpy(dtype=float)})
    for c in ("state", "locality_name"):
        out[c] = sub[c].astype(str).to_numpy() if c in sub.columns else ""
    return out[out["locality_id"] != "national"]


def plot_localities(
    schedule_df: pd.DataFrame,
    code: str,
    setting: str = "nonfacility",
    *,
    ax: Any = None,
    top: int | None = None,
    national: float | None = None,
    title: str | None = None,
) -> Any:
    """Ranked horizontal bar chart of one code's payment in every locality of the frame.

    Parameters
    ----------
    schedule_df:
        A :meth:`FeeSchedule.schedule` frame (long: ``setting``, ``amount``) or a
        :func:`rvucalc.export.compare` frame (``nonfacility``/``facility`` columns).
    code:
        HCPCS code, with modifier as ``"71046-26"``.
    setting:
        ``"nonfacility"`` (office) or ``"facility"``.
    top:
        Only the *top* highest-paid localities (default: all).
    national:
        Draw a reference line at this amount (e.g. the national amount).
        For a compare frame with a ``national`` row it is drawn by default.
    """
    data = _locality_amounts(schedule_df, code, setting)
    if national is None and "locality_id" in schedule_df.columns and setting in schedule_df.columns:
        nat = schedule_df[(schedule_df["locality_id"].astype(str) == "national")
                          & (schedule_df["hcpcs"].astype(str) == str(code).upper()[:5])]
        if len(nat):
            v = float(nat[setting].iloc[0])
            national = None if np.isnan(v) else v
    missing = int(data["amount"].isna().sum())
    data = data.dropna(subset=["amount"]).sort_values("amount", ascending=False, kind="stable")
    if top is not None:
        data = data.head(top)
    labels = [f"{s} {n}".strip() if n else lid for lid, s, n in
              zip(data["locality_id"], data["state"], data["locality_name"])]
    labels = [lab if len(lab) <= 40 else lab[:38] + "…" for lab in labels]
    ax = _axes(ax, (8.0, max(3.0, 0.16 * len(data) + 1.2)))
    y = np.arange(len(data))
    ax.barh(y, data["amount"].to_numpy(), color="#1F4E78")
    ax.set_yticks(y, labels, fontsize=6 if len(data) > 40 else 8)
    ax.invert_yaxis()
    ax.set_ylim(len(data) - 0.5, -0.5)
    if national is not None:
        ax.axvline(national, color="#C00000", lw=1, ls="--", label=f"national ${national:,.2f}")
        ax.legend(loc="lower right", fontsize=8)
    _dollars(ax, "x")
    label = "office (non-facility)" if setting == "nonfacility" else setting
    extra = f"; {missing} without an amount" if missing else ""
    ax.set_title(title or f"{code}: PFS {label} amount by locality ({len(data)} localities{extra})", fontsize=10)
    ax.set_xlabel(f"PFS {label} allowed amount ($)")
    ax.set_ylabel("Locality")
    ax.margins(y=0.01)
    return ax


def plot_sites(comparison_df: pd.DataFrame, *, ax: Any = None, title: str | None = None) -> Any:
    """Grouped bar chart of a site-of-service or office/facility comparison.

    Uses the summary layout of :func:`rvucalc.export.summary_spec` (the frame's
    ``attrs["rvucalc.summary"]`` or the guess from its columns): groups are the
    summary rows (codes, or localities), bars the summary columns (sites or
    settings). A frame with ``site`` + an amount column, a schedule frame
    (``setting`` + ``amount``) and a :func:`compare` frame all work.
    """
    from .export import pivot, summary_spec

    spec = summary_spec(comparison_df)
    if spec is None:
        raise RvucalcError("cannot tell the sites and amounts of this frame; it needs e.g. "
                           "'hcpcs', 'site' and 'amount' columns, or attrs['rvucalc.summary']")
    table, labels = pivot(comparison_df, spec)
    if len(table) > 60:
        raise RvucalcError(f"{len(table)} groups are too many for a grouped bar chart; "
                           "select fewer codes/localities, or use plot_localities()")
    cats = [" ".join(str(v) for v in row if str(v) not in ("", "nan")) for row in
            table[list(spec.index)].itertuples(index=False, name=None)]
    series = list(labels)
    ax = _axes(ax, (max(6.0, 0.9 * len(cats) * max(1, len(series)) ** 0.5 + 2), 4.5))
    x = np.arange(len(cats))
    width = 0.8 / max(len(series), 1)
    for i, s in enumerate(series):
        vals = table[s].to_numpy(dtype=float)
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, np.nan_to_num(vals), width, label=s)
        if len(cats) * len(series) <= 24:
            ax.bar_label(bars, labels=["" if np.isnan(v) else f"${v:,.0f}" for v in vals], fontsize=7,
                         padding=2)
    ax.set_xticks(x, cats, rotation=30 if len(cats) > 4 else 0, ha="right" if len(cats) > 4 else "center",
                  fontsize=8)
    _dollars(ax, "y")
    ax.set_ylabel("Allowed amount ($)")
    ax.set_xlabel(" / ".join(_AXIS_NAMES.get(c, c.replace("_", " ")) for c in spec.index))
    ax.legend(fontsize=8)
    ax.set_title(title or spec.title or "Payment by site of service", fontsize=10)
    return ax


__all__ = ["plot_localities", "plot_sites"]
