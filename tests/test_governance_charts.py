"""The governance charts: XmR panels only where SPC applies, run charts otherwise, synthetic KPIs
apart and stating no finding, and every label readable (inside the figure, overlapping nothing)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from iwt_helpers.analysis import kpis  # noqa: E402
from iwt_helpers.present import charts  # noqa: E402

pytestmark = pytest.mark.unit
PAGE_PX = 1280


def series(values, kpi, periods):
    return pd.DataFrame({"icb_code": "QOP", "kpi_id": kpi, "period": list(periods), "value": values,
                         "target": float("nan"), "source": "test", "synthetic": False})


def months(start, n):
    return pd.date_range(start, periods=n, freq="MS")


def real_data_like():
    """What a real-data run holds: one stale annual point, three annual points, 12 months and 83 months."""
    years = [pd.Timestamp(y) for y in ("2020-03-01", "2021-03-01", "2025-03-01")]
    noise = [0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.4, -0.3, 0.2, 0.1, -0.2]
    return pd.concat([
        series([4.77], "sickness_days_asc", [pd.Timestamp("2020-03-01")]),
        series([19.8], "turnover_asc", [pd.Timestamp("2020-03-01")]),
        series([6.9, 5.5, 5.4], "vacancy_rate_asc", years),
        series([5.7 + x for x in noise], "sickness_absence_nhs", months("2024-04-01", 12)),
        series([0.3 + noise[i % 12] for i in range(83)], "nhs_trust_staff_mom_pct", months("2018-05-01", 83)),
    ], ignore_index=True)


def texts_of(fig):
    """Every visible, non-empty text of a drawn figure with its box in pixels (tick labels only of
    the ticks inside the axis range, the ones matplotlib draws)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    undrawn = set()
    for ax in fig.axes:
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            ticks = axis.get_major_ticks()
            locs = list(axis.get_majorticklocs())
            for i, tick in enumerate(ticks):
                if i >= len(locs) or not min(lo, hi) <= locs[i] <= max(lo, hi):
                    undrawn.update({id(tick.label1), id(tick.label2)})
    out = []
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text().strip() and id(t) not in undrawn:
            out.append((t, t.get_window_extent(r)))
    return out


def assert_readable(fig):
    """No text outside the figure, no two texts overlapping, no legend over an axes, and the figure
    no wider than a 1280 px page."""
    width, height = fig.get_size_inches() * fig.dpi
    assert fig.get_size_inches()[0] * 96 <= PAGE_PX - 100           # shown at 96 px an inch, with page margins
    boxes = texts_of(fig)
    for t, b in boxes:
        assert b.x0 >= -1 and b.y0 >= -1 and b.x1 <= width + 1 and b.y1 <= height + 1, f"clipped: {t.get_text()!r}"
    xy = np.array([[b.x0, b.y0, b.x1, b.y1] for _, b in boxes])
    x0, y0, x1, y1 = (xy[:, [i]] for i in range(4))
    overlap = ((np.minimum(x1, x1.T) - np.maximum(x0, x0.T) > 1) & (np.minimum(y1, y1.T) - np.maximum(y0, y0.T) > 1))
    pairs = [(i, j) for i, j in zip(*np.nonzero(np.triu(overlap, 1)))]
    assert not pairs, "; ".join(f"{boxes[i][0].get_text()!r} overlaps {boxes[j][0].get_text()!r}" for i, j in pairs[:5])
    r = fig.canvas.get_renderer()
    axes = [ax.get_window_extent(r) for ax in fig.axes if ax.get_visible()]
    for leg in fig.legends:
        lb = leg.get_window_extent(r)
        assert not any(lb.overlaps(a) for a in axes), "legend over a chart"
    for t, b in boxes:                                   # value labels sit inside their own panel
        if isinstance(t, matplotlib.text.Annotation) and t.axes is not None and t.xycoords == "data":
            a = t.axes.get_window_extent(r)
            assert a.x0 <= b.x0 and b.x1 <= a.x1 and a.y0 <= b.y0 and b.y1 <= a.y1, f"{t.get_text()!r} outside its panel"


def grid(obs, icb="QOP", ncols=2):
    chart, summary = kpis.read(obs, icb)
    with plt.rc_context():
        charts.use_style()                                     # the report's style (nb.setup)
        fig = charts.xmr_grid(chart, summary, "Greater Manchester", "test source", False, ncols=ncols)
    return chart, summary, fig


def test_run_chart_panels_have_no_mean_or_limits_and_say_why():
    chart, summary, fig = grid(real_data_like())
    panels = dict(zip(summary["kpi_id"], [ax for ax in fig.axes if ax.get_visible()]))
    for kpi, ax in panels.items():
        kind = summary.set_index("kpi_id").at[kpi, "chart"]
        dashed_grey = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--" and ln.get_color() == "#7B7D7D"]
        assert (len(dashed_grey) == 0) == (kind == "run"), kpi        # process limits only on XmR panels
    vac = panels["vacancy_rate_asc"]
    assert {t.get_text() for t in vac.texts} >= {"6.9%", "5.5%", "5.4%", "only 3 points: run chart, too few for SPC limits"}
    assert panels["nhs_trust_staff_mom_pct"].get_lines()[1].get_ydata().size == 83      # the mean over all 83 months
    plt.close(fig)


def test_a_stale_latest_point_is_flagged_on_its_panel_and_in_the_title():
    _, summary, fig = grid(real_data_like())
    ax = [a for a in fig.axes if a.get_visible()][list(summary["kpi_id"]).index("sickness_days_asc")]
    sub = " ".join(t.get_text() for t in ax.texts)
    assert "OUT OF DATE: latest Mar 2020, 5 years older than the newest data" in sub.replace("\n", " ")
    assert "2 out of date" in fig.get_suptitle().replace("\n", " ")
    plt.close(fig)


def test_the_real_grid_title_counts_only_kpis_read_with_spc():
    _, summary, fig = grid(real_data_like())
    title = fig.get_suptitle().replace("\n", " ")
    judged = int((summary["chart"] == "xmr").sum())
    assert judged == 2 and f"of {judged} KPIs read with SPC" in title
    assert "3 KPIs shown as run charts" in title
    plt.close(fig)


def test_synthetic_panels_say_so_and_their_grid_title_states_no_finding():
    obs = real_data_like().assign(synthetic=True)
    chart, summary = kpis.read(obs, "QOP")
    fig = charts.xmr_grid(chart, summary, "Greater Manchester", "test source", True)
    titles = [ax.get_title(loc="left").replace("\n", " ") for ax in fig.axes if ax.get_visible()]
    assert all(t.endswith("(synthetic)") for t in titles)
    title = fig.get_suptitle().replace("\n", " ")
    assert title.startswith("Synthetic demonstration KPIs for Greater Manchester")
    assert not any(word in title for word in ("concern", "miss", "improv", "target"))
    assert not any(ch.isdigit() for ch in title)
    plt.close(fig)


@pytest.mark.parametrize("ncols", [1, 2])
def test_the_real_data_like_grid_is_readable(ncols):
    *_, fig = grid(real_data_like(), ncols=ncols)
    assert_readable(fig)
    plt.close(fig)


def _funnel_panel(label, rates):
    codes = ["QOP"] + [f"Q{i:02d}" for i in range(len(rates) - 1)]
    table = pd.DataFrame({"denominator": np.linspace(1e3, 1e5, len(rates)), "rate_pct": rates,
                          "position": "within"}, index=pd.Index(codes, name="icb_code"))
    table.attrs["overall_pct"] = float(np.mean(rates))
    d = np.geomspace(1e3, 1e5, 20)
    curve = pd.DataFrame({"denominator": d, "hi998": 8.0, "lo998": 2.0, "hi95": 7.0, "lo95": 3.0})
    return (label, table, curve, "Posts")


def test_a_ranked_funnel_panel_draws_no_limits_and_no_england_line_and_says_so():
    """A published rate on synthetic sizes (data theme's social care vacancy rate) is drawn ranked, not
    placed against limits that stand on the synthetic sizes; the other panels keep their funnels."""
    panels = [_funnel_panel("Rate A", [5.4, 4.0, 6.0, 7.5, 3.9]), _funnel_panel("Rate B", [5.0, 4.0, 6.0, 5.5, 4.5])]
    fig = charts.funnel_panels(panels, "QOP", "Greater Manchester", "Source: test", False, set(), "A title",
                               {"Rate A": "real rate, synthetic size"}, ranked_panels={"Rate A"})
    ranked, funnel = fig.axes[0], fig.axes[1]
    assert not ranked.lines                                  # no limit curves or England line on the ranked panel
    assert "ranked, no limits" in ranked.get_title(loc="left")
    assert list(ranked.collections[1].get_offsets()[:, 0]) == [3.0]   # QOP's 5.4% is third lowest of five
    assert len(funnel.lines) == 5                            # two 99.8% and two 95% limits, and England
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "95% limits" in legend and len(legend) == len(set(legend))
    plt.close(fig)


def test_the_spc_headline_period_gives_each_kpi_its_own_span_and_points():
    """The index card of KPIs read with SPC names each KPI's months: one span over all would hide that
    sickness absence has 12 points where staff in post has 83."""
    from iwt_helpers.themes.governance_metrics import spc_spans
    chart = pd.concat([series(np.ones(83), "nhs_fte_mom", months("2018-05-01", 83)),
                       series(np.ones(12), "sickness_absence_nhs", months("2024-04-01", 12))])
    summary = pd.DataFrame({"kpi_id": ["nhs_fte_mom", "sickness_absence_nhs"],
                            "name": ["NHS trust staff in post, month-on-month change (FTE)", "NHS sickness absence rate"]})
    text = spc_spans(chart, summary)
    assert "NHS sickness absence rate: Apr 2024 to Mar 2025, 12 points" in text
    assert "NHS trust staff in post, month-on-month change (FTE): May 2018 to Mar 2025, 83 points" in text
