"""The governance KPI framework (``data/reference/kpis.yaml``) and its SPC reading per ICB."""

from __future__ import annotations

import pandas as pd

from iwt_helpers import config
from iwt_helpers.data import geography
from iwt_helpers.errors import UsageError

from . import spc

_DEFINITIONS: list = [None, None]         # the framework last tabulated, and its table


def definitions(framework: config.KpiFramework | None = None) -> pd.DataFrame:
    """KPI definitions (``kpis.yaml``, checked by its config model), one row per KPI in the file's order;
    ``rebase`` a list of dates (empty when none). Tabulated once per framework object."""
    framework = config.kpis() if framework is None else framework
    if _DEFINITIONS[0] is not framework:
        _DEFINITIONS[:] = [framework, pd.DataFrame([k.model_dump(exclude={"demo"}) for k in framework.kpis])]
    return _DEFINITIONS[1].copy()


def min_points(framework: config.KpiFramework | None = None) -> int:
    """Observations a KPI needs before its icons are shown (``min_points`` in kpis.yaml)."""
    n = (config.kpis() if framework is None else framework).min_points
    return spc.MIN_POINTS_ADVISED if n is None else n


def stale_after_months(framework: config.KpiFramework | None = None) -> int:
    """Months a KPI's latest point may lag the newest month in the data before it is flagged as stale
    (``stale_after_months`` in kpis.yaml)."""
    return (config.kpis() if framework is None else framework).stale_after_months


def newest_period(observations: pd.DataFrame) -> pd.Timestamp | None:
    """The newest month in the KPI observations of the report's data, the reference a KPI's age is
    measured against: of the real rows where there are any (demo rows filling in for KPIs a data
    folder lacks must not make its real figures look old), else of all rows."""
    obs = observations[observations["value"].notna()] if "value" in observations else observations
    if "synthetic" in obs and (~obs["synthetic"].astype(bool)).any():
        obs = obs[~obs["synthetic"].astype(bool)]
    return None if obs.empty else pd.Timestamp(obs["period"].max())


def months_between(earlier: pd.Timestamp, later: pd.Timestamp) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def targets(icb_code: str, framework: config.KpiFramework | None = None,
            overrides: config.KpiTargets | None = None) -> dict[str, float]:
    """Targets for one ICB: the defaults, overridden by ``kpi_targets.yaml`` (its ICB codes and KPI ids
    checked by its config model)."""
    defs = definitions(framework)
    out = dict(zip(defs["id"], defs["target"]))
    out.update(own_targets(icb_code, overrides))
    return out


def own_targets(icb_code: str, overrides: config.KpiTargets | None = None) -> dict[str, float]:
    """The targets an ICB has set itself in ``kpi_targets.yaml`` (KPI id -> target); every other KPI's target
    is the default of ``kpis.yaml``."""
    return (config.kpi_targets() if overrides is None else overrides).for_icb(geography.resolve_icb(icb_code))


def read(observations: pd.DataFrame, icb_code: str, kpi_ids: list[str] | tuple[str, ...] = (),
         newest: pd.Timestamp | None = None, framework: config.KpiFramework | None = None
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SPC chart data and a one-row-per-KPI summary for one ICB.

    Targets come from the observations where given, otherwise from the framework (with ICB
    overrides). Only a KPI that is not rolling and has at least ``min_points`` observations is read
    with SPC (``chart == "xmr"``); the others are run charts (``chart == "run"``): no mean, limits,
    special causes or icons. A synthetic KPI gets no variation or assurance reading, and beside measured
    KPIs it is a run chart too. Each KPI's
    latest point is dated against ``newest`` (default: :func:`newest_period` of ``observations``,
    every ICB's): ``months_behind`` and ``stale``. Returns (chart rows, summary joined to the KPI
    definitions). ``framework`` defaults to ``kpis.yaml``.
    """
    icb_code = geography.resolve_icb(icb_code)
    defs = definitions(framework).set_index("id")
    newest = newest_period(observations) if newest is None else pd.Timestamp(newest)
    obs = observations[observations["icb_code"] == icb_code].copy()
    obs = obs[obs["kpi_id"].isin(defs.index)]
    # Beside measured KPIs, a synthetic one is a run chart: limits and coloured points on made-up
    # figures would read as signals. A wholly synthetic run (the demo) keeps SPC to show the method.
    # Judged over all the ICB's KPIs, so that one KPI picked out is charted as it is among the others.
    syn = obs.groupby("kpi_id")["synthetic"].any() if "synthetic" in obs else pd.Series(dtype=bool)
    apart = set(syn[syn].index) if len(syn) and not syn.all() else set()
    if kpi_ids:
        unknown = [k for k in kpi_ids if k not in defs.index]
        if unknown:
            raise UsageError(f"unknown KPI id(s) {', '.join(unknown)}; known: {', '.join(defs.index)}")
        obs = obs[obs["kpi_id"].isin(kpi_ids)]
    tg = targets(icb_code, framework)
    if "target" not in obs:
        obs["target"] = float("nan")
    obs["target"] = obs["target"].fillna(obs["kpi_id"].map(tg))
    improvement = defs["improvement"].to_dict()
    rebase = {k: [pd.Timestamp(d) for d in dates] for k, dates in defs["rebase"].items() if dates}
    n = min_points(framework)
    points = obs[obs["value"].notna()].groupby("kpi_id").size()
    rolling = defs["rolling"]
    spc_ids = [k for k in points.index if points[k] >= n and not rolling.get(k, 0) and k not in apart]
    chart = spc.xmr(obs[obs["kpi_id"].isin(spc_ids)], by=["kpi_id"], improvement=improvement, rebase=rebase or None)
    both = pd.concat([chart, _run_rows(obs[~obs["kpi_id"].isin(spc_ids)])], ignore_index=True)
    summ = spc.summary(both, ["kpi_id"], improvement, min_points=n)
    summ["chart"] = summ["kpi_id"].map(lambda k: "xmr" if k in spc_ids else "run")
    summ["rolling"] = summ["kpi_id"].map(rolling).astype(int)
    summ.loc[(summ["rolling"] > 0) & ~summ["few_points"], ["variation", "assurance"]] = "rolling"
    summ["months_behind"] = [months_between(p, newest) if newest is not None else 0 for p in summ["latest_period"]]
    summ["stale"] = summ["months_behind"] > stale_after_months(framework)
    if "synthetic" in obs:
        summ["synthetic"] = summ["kpi_id"].map(syn).fillna(True).astype(bool)
        summ.loc[summ["synthetic"], ["variation", "assurance"]] = "synthetic"
    summ = summ.merge(defs[["name", "unit", "owner_role", "source", "frequency", "seasonal"]], left_on="kpi_id", right_index=True)
    shift = spc.sustained_shift_since(chart, ["kpi_id"]) if len(chart) else pd.Series(dtype="datetime64[ns]")
    summ["note"] = [_note(r, shift.get(r.kpi_id), newest, n) for r in summ.itertuples()]
    order = {k: i for i, k in enumerate(defs.index)}
    summ = summ.sort_values("kpi_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return both.sort_values(["kpi_id", "period"], kind="mergesort").reset_index(drop=True), summ


# The chart columns of ``spc.xmr`` as a run chart has them, in their order.
RUN_COLUMNS = {**dict.fromkeys(("mean", "amr", "lpl", "upl", "nlpl", "nupl", "relative_to_mean", "mr", "segment_position"),
                               float("nan")),
               **dict.fromkeys(("outside_limits", "close_to_limits", "trend", "two_in_three", "shift", "special_cause"), False),
               "rule": "", "segment": 0}


def _run_rows(obs: pd.DataFrame) -> pd.DataFrame:
    """Run-chart rows: the values by period with the chart columns of ``spc.xmr`` present but empty
    (no mean, limits or special causes); a missing value is a ``missing`` point, an observed one a
    ``run`` point."""
    d = obs.sort_values(["kpi_id", "period"], kind="mergesort").reset_index(drop=True)
    blank = pd.DataFrame({**RUN_COLUMNS, "point_type": d["value"].notna().map({True: "run", False: "missing"})},
                         index=d.index)
    return pd.concat([d.drop(columns=[c for c in blank if c in d]), blank], axis=1)   # one join, not a column at a time


VARIATION_TEXT = {
    "common_cause": "Common cause: no significant change",
    "improvement_high": "Special cause: improvement (higher)",
    "improvement_low": "Special cause: improvement (lower)",
    "concern_high": "Special cause: concern (higher)",
    "concern_low": "Special cause: concern (lower)",
    "neutral_high": "Special cause: neutral (higher)",
    "neutral_low": "Special cause: neutral (lower)",
    "too_few_points": "Too few points to judge",
    "rolling": "Rolling series: no SPC (its values overlap)",
    "synthetic": "Synthetic: no reading",
}
ASSURANCE_TEXT = {
    "consistent_pass": "Will consistently meet the target",
    "consistent_fail": "Will consistently miss the target without change",
    "inconsistent": "Hit and miss: will sometimes meet the target",
    "none": "No target assurance",
    "too_few_points": "Too few points to judge",
    "rolling": "Rolling series: no SPC (its values overlap)",
    "synthetic": "Synthetic: no reading",
}
CHART_TEXT = {"xmr": "XmR chart (SPC)", "run": "Run chart (no SPC limits)"}


def stale_text(r) -> str:
    """How old a stale latest point is, against the newest month in the data ('' when not stale)."""
    if not r.stale:
        return ""
    years = r.months_behind / 12
    age = f"{years:.0f} years" if r.months_behind >= 24 else f"{r.months_behind} months"
    return f"latest point {r.latest_period:%b %Y} is {age} older than the newest data"


def _note(r, shift_since, newest: pd.Timestamp | None, n: int) -> str:
    """What a board should bear in mind reading a KPI's icons."""
    notes = []
    if r.stale:
        notes.append(f"{stale_text(r)} ({newest:%b %Y}): read it as out of date")
    if r.rolling and not r.few_points:
        notes.append(f"{r.rolling}-month rolling: consecutive values overlap, so no SPC; shown as a run chart")
    if r.few_points:
        notes.append(f"only {r.points} point{'s' if r.points != 1 else ''}: too few for SPC (at least {n} needed), "
                     "so a run chart and no icons")
    if r.seasonal and r.chart == "xmr":
        notes.append("seasonal (higher in winter): a winter special cause may be the season")
    if shift_since is not None and not pd.isna(shift_since) and not getattr(r, "synthetic", False):
        notes.append(f"sustained shift since {shift_since:%b %Y}: if the process changed then, record the date as a "
                     "rebase in kpis.yaml so that its limits are recalculated")
    return "; ".join(notes)


# The KPI summary as a board and tables.xlsx show it: readable headers, icons in words.
SUMMARY_COLUMNS = {"kpi_id": "KPI id", "name": "KPI", "unit": "Unit", "latest_period": "Latest month",
                   "latest_value": "Latest value", "target": "Target", "variation": "Variation", "assurance": "Assurance",
                   "mean": "Mean", "lpl": "Lower process limit", "upl": "Upper process limit", "improvement": "Better when",
                   "points": "Points", "chart": "Chart", "months_behind": "Months older than the newest data",
                   "stale": "Stale", "note": "Note", "owner_role": "Owner", "frequency": "Frequency",
                   "synthetic": "Synthetic"}


def board_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with readable headers and the variation and assurance readings in words."""
    out = summary.assign(variation=summary["variation"].map(VARIATION_TEXT), assurance=summary["assurance"].map(ASSURANCE_TEXT),
                         chart=summary["chart"].map(CHART_TEXT),
                         improvement=summary["improvement"].map({"increase": "higher", "decrease": "lower", "neutral": "neither"}))
    return out[[c for c in SUMMARY_COLUMNS if c in out]].rename(columns=SUMMARY_COLUMNS)


RULE_TEXT = {"outside_limits": "Outside the process limits", "trend": "Run of 7 rising or falling",
             "two_in_three": "2 of 3 near a process limit", "shift": "7 in a row on one side of the mean"}
READING_TEXT = {"special_cause_improvement": "Improvement", "special_cause_concern": "Concern",
                "special_cause_neutral_high": "Neutral (higher)", "special_cause_neutral_low": "Neutral (lower)"}


def recent_signals(chart: pd.DataFrame, summary: pd.DataFrame, months: int = 12, latest_only: bool = False) -> pd.DataFrame:
    """Special-cause points in the last ``months`` months, with the rule that fired, per KPI; with
    ``latest_only``, each KPI's latest signal and how many it had (what a board needs first)."""
    latest, every = signal_tables(chart, summary, months)
    return latest if latest_only else every


def signal_tables(chart: pd.DataFrame, summary: pd.DataFrame, months: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables of :func:`recent_signals` from one pass: (each KPI's latest signal, every signal)."""
    last = chart["period"].max()
    since = last - pd.DateOffset(months=months - 1)
    d = chart[(chart["period"] >= since) & chart["special_cause"]]
    d = d.merge(summary[["kpi_id", "name"]], on="kpi_id")
    if d.empty:
        empty = pd.DataFrame(columns=["name", "period", "value", "rule", "point_type", "signals"])
        return empty, empty.copy()
    d = d.assign(signals=d.groupby("kpi_id")["period"].transform("size")).sort_values(["name", "period"])
    return _signal_rows(d.groupby("kpi_id", sort=False).tail(1)), _signal_rows(d)


def _signal_rows(d: pd.DataFrame) -> pd.DataFrame:
    out = d[["name", "period", "value", "rule", "point_type", "signals"]].copy()
    out["rule"] = out["rule"].map(RULE_TEXT)
    out["point_type"] = out["point_type"].map(READING_TEXT)
    return out.reset_index(drop=True)
