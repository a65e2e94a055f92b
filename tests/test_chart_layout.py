"""Every chart lays out cleanly: no label, legend or title outside the figure, no legend over the
data or the tick labels, no two category labels touching, and gap axes that start from zero.

Measured on the rendered figure through matplotlib's public API (``get_window_extent`` with the
canvas renderer), on small representative tables with the long names the real data carries.
"""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from iwt_helpers import vocab  # noqa: E402
from iwt_helpers.present import charts  # noqa: E402

pytestmark = pytest.mark.unit

ICB = "Bath and North East Somerset, Swindon and Wiltshire"      # the longest ICB name
SOURCE = ("iwt scenario model (scenarios.yaml); ONS 2022-based subnational population projections (every age, by "
          "sub-ICB location); SYNTHETIC demo data (iwt) (base year 2024, projected to 2039)")


def _texts(fig) -> tuple[list, list, list, list]:
    """(tick labels per axis, axis labels, titles and figure texts, legends) that are shown."""
    shown = lambda t: t.get_visible() and t.get_text().strip()            # noqa: E731
    ticks, labels, titles = [], [], [c for c in fig.get_children() if isinstance(c, Text) and shown(c)]
    for ax in fig.axes:
        for axis, i in ((ax.xaxis, 0), (ax.yaxis, 1)):       # only the ticks inside the view limits are drawn
            lo, hi = sorted(axis.get_view_interval())
            ticks.append([t for t in axis.get_ticklabels() if shown(t) and lo <= t.get_position()[i] <= hi])
        labels += [t for t in (ax.xaxis.label, ax.yaxis.label) if shown(t)]
        titles += [c for c in ax.get_children() if isinstance(c, Text) and c not in ax.texts and shown(c)
                   and c not in (ax.xaxis.label, ax.yaxis.label)]
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    return ticks, labels, titles, legends


def layout_problems(fig) -> list[str]:
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    page = fig.bbox
    ticks, labels, titles, legends = _texts(fig)
    box = lambda a: a.get_window_extent(r)                                  # noqa: E731
    name = lambda a: repr(a.get_text()[:40]) if isinstance(a, Text) else "legend"   # noqa: E731
    out = []
    for a in [*itertools.chain(*ticks), *labels, *titles, *legends]:
        b = box(a)
        if b.x0 < page.x0 - 1 or b.y0 < page.y0 - 1 or b.x1 > page.x1 + 1 or b.y1 > page.y1 + 1:
            out.append(f"{name(a)} lies outside the figure")
    all_ticks = list(itertools.chain(*ticks))
    for leg in legends:
        for ax in fig.axes:
            if box(leg).overlaps(ax.bbox):
                out.append("the legend covers the axes' data area")
        out += [f"the legend covers tick label {name(t)}" for t in all_ticks if box(leg).overlaps(box(t))]
        out += [f"the legend covers {name(t)}" for t in [*labels, *titles] if box(leg).overlaps(box(t))]
    for axis_ticks in ticks:
        out += [f"tick labels {name(a)} and {name(b)} touch" for a, b in itertools.combinations(axis_ticks, 2)
                if box(a).overlaps(box(b))]
    for lab in labels:
        out += [f"axis label {name(lab)} runs into {name(t)}" for t in [*titles, *all_ticks] if box(lab).overlaps(box(t))]
    for t in all_ticks:
        out += [f"tick label {name(t)} runs into {name(f)}" for f in titles if box(t).overlaps(box(f))]
    return out


# ---------------------------------------------------------------------- representative tables

def _staff_groups() -> list[str]:
    return list(vocab.staff_group_labels().values())


def _fan_series() -> pd.DataFrame:
    years = np.arange(2024, 2040)
    rows = []
    for measure, start, slope in (("demand", 130_000, 3_000), ("supply", 122_000, 1_200)):
        for i, y in enumerate(years):
            mid = start + slope * i
            rows.append({"measure": measure, "year": y, "p10": mid - 400 * i, "p50": mid, "p90": mid + 600 * i})
    return pd.DataFrame(rows)


def _gap_series() -> pd.DataFrame:
    rows = []
    for g, slope in (("health", 1_200), ("social_care", 600)):
        for i, y in enumerate(range(2024, 2040)):
            mid = 4_000 + slope * i
            rows.append({"group": g, "measure": "gap", "year": y, "p10": mid - 300 * i, "p50": mid, "p90": mid + 700 * i})
    return pd.DataFrame(rows)


def _figures():
    groups = _staff_groups()
    sectors = [*vocab.sector_codes(), "whole_system"]
    labels = {**vocab.sector_labels(), "whole_system": "Whole system"}
    profile = pd.DataFrame([{"staff_group_label": g, "sector": s, "fte": 500.0 + 97 * i + 31 * j}
                            for i, g in enumerate(groups) for j, s in enumerate(sectors) if s != "whole_system"])
    by_sector = pd.DataFrame({"sector": sectors, "sector_label": [labels[s] for s in sectors],
                              "fte": [40_000.0, 9_000, 6_000, 30_000, 5_000, 90_000],
                              "family": ["health", "health", "social care", "social care", "social care", "whole system"],
                              "share_of_fte_pct": [44.0, 10, 7, 33, 6, 100]})
    age = pd.DataFrame({"staff_group_label": groups, "share_55_plus_pct": np.linspace(18, 31, len(groups))})
    pg = pd.DataFrame({"staff_group_label": groups * 2, "family": ["health"] * len(groups) + ["social care"] * len(groups),
                       "vacancy_rate_pct": np.linspace(3, 12, 2 * len(groups)),
                       "turnover_rate_pct": np.linspace(8, 30, 2 * len(groups))})
    trend = pd.DataFrame({"year": [2021, 2022, 2023], "nhs_hca_new_gbp": [10.4, 11.4, 11.9],
                          "care_worker_gbp": [9.5, 10.1, 11.0], "gap_gbp_per_hour": [0.9, 1.3, 0.9],
                          "gap_pct": [9.0, 11, 8]})
    eth = pd.DataFrame([{"who": w, "ethnic_group": g, "share_of_known_pct": p, "share_of_all_pct": p * 0.9, "people": p * 100}
                        for w in ("Workforce (health)", "Workforce (social care)", "Residents")
                        for g, p in (("white", 70.0), ("asian", 15), ("black", 7), ("mixed", 4), ("other", 4), ("unknown", 8))])
    older = pd.DataFrame([{"year": y, "age_group": a, "area": area, "growth_pct": (y - 2024) * k}
                          for y in (2024, 2029, 2034, 2039) for a, k in (("65+", 1.5), ("85+", 3.0))
                          for area in ("icb", "England")])
    comp = pd.DataFrame([{"area": a, "measure": m, "fte_per_1000_population": v}
                         for a, base in ((ICB, 30.0), ("South West", 32), ("England", 33))
                         for m, v in (("Health", base), ("Social care", base * 0.7), ("Whole system", base * 1.7))])
    domains = ["Vision", "People involved", "The plan", "Governance", "Culture", "Communication", "Data"]
    bars = pd.DataFrame([{"domain_label": d, "round": r, "value": 1.5 + 0.1 * i}
                         for r in ("January-March 2024", "January-March 2023") for i, d in enumerate(domains)])
    parts = pd.DataFrame({"label": ["Gap in the base year (vacant posts)", "Demand: population change",
                                    "Demand: need beyond demography", "Leaving the sector less joiners and movers in, at base-year rates",
                                    "Gap at the horizon"], "fte": [8_134.0, 20_111, 22_800, -16_676, 34_369]})
    ranges = pd.DataFrame({"sector": [labels[s] for s in sectors[:5]], "p10": [9_000.0, 5_000, 900, 800, 500],
                           "p50": [19_756.0, 9_734, 1_962, 1_708, 972], "p90": [31_000.0, 13_000, 3_100, 2_300, 1_300]})
    trend_areas = pd.DataFrame([{"financial_year": f"20{y}/{y + 1}", "area": a, "fte_per_10k_patients": v + y / 10}
                                for y in range(15, 24) for a, v in ((ICB, 9.0), ("South West", 9.5), ("England", 10))])
    return {
        "fte_by_sector": charts.fte_by_sector(by_sector, ICB, SOURCE, True),
        # the board paper on real data: NHS trusts published, the largest bar (independent care) synthetic
        "fte_by_sector (mixed)": charts.fte_by_sector(
            by_sector.assign(status=["real", "real", "synthetic", "synthetic", "synthetic", "real and synthetic parts"],
                             fte=[40_000.0, 9_000, 6_000, 60_000, 5_000, 120_000]), ICB, SOURCE, "mixed"),
        "staff_groups_by_sector": charts.staff_groups_by_sector(profile, ICB, SOURCE, True),
        "per_capita_bars": charts.per_capita_bars(comp, "fte_per_1000_population", "FTE per 1,000 population", SOURCE,
                                                  True, "FTE per 1,000 population"),
        "rates_by_group": charts.rates_by_group(pg, ICB, SOURCE, True),
        "pay_gap_chart": charts.pay_gap_chart(trend, ICB, SOURCE, True),
        "retirement_risk": charts.retirement_risk(age, ICB, SOURCE, True),
        "ethnicity_chart": charts.ethnicity_chart(eth, ICB, SOURCE, True),
        "population_growth": charts.population_growth(older, ICB, SOURCE, False),
        "trend_lines": charts.trend_lines(trend_areas, "financial_year", "fte_per_10k_patients", "FTE per 10,000 patients",
                                          "Financial year", ICB, SOURCE, True, "GP staff per 10,000 patients"),
        "grouped_bars (readiness domains)": charts.grouped_bars(
            bars, "domain_label", "round", "value", "Score (0 not started to 4 embedded)", SOURCE, True,
            f"{ICB}: system readiness 2.1 of 4 in January-March 2024, up 0.4 since January-March 2023; "
            "strongest domain The plan, weakest People involved"),
        "supply_demand_fan": charts.supply_demand_fan(_fan_series(), SOURCE, "mixed", "The gap widens"),
        "gap_bands": charts.gap_bands(_gap_series(), {"health": "Health (NHS trusts and general practice)",
                                                      "social_care": "Adult social care"}, SOURCE, "mixed", "Health gap"),
        "waterfall": charts.waterfall(parts, SOURCE, "mixed", "The gap grows"),
        "range_bars": charts.range_bars(ranges, "sector", SOURCE, "mixed", "NHS trusts has the largest gap",
                                        "Gap in FTE: median, with 10th to 90th percentile"),
    }


@pytest.fixture(scope="module")
def figures():
    charts.use_style()
    figs = _figures()
    yield figs
    for f in figs.values():
        plt.close(f)


@pytest.mark.parametrize("chart", ["fte_by_sector", "fte_by_sector (mixed)", "staff_groups_by_sector", "per_capita_bars", "rates_by_group",
                                   "pay_gap_chart", "retirement_risk", "ethnicity_chart", "population_growth", "trend_lines",
                                   "grouped_bars (readiness domains)", "supply_demand_fan", "gap_bands", "waterfall",
                                   "range_bars"])
def test_labels_legends_and_titles_sit_inside_the_figure_and_clear_of_each_other(figures, chart):
    assert layout_problems(figures[chart]) == []


@pytest.mark.parametrize("chart", ["supply_demand_fan", "gap_bands", "waterfall"])
def test_gap_charts_start_their_value_axis_at_zero(figures, chart):
    assert figures[chart].axes[0].get_ylim()[0] <= 0


def test_synthetic_sectors_drawn_beside_real_ones_are_hatched_and_say_so(figures):
    def bars(fig):
        ax = fig.axes[0]
        values = [t.get_text() for t in ax.texts]
        return [(bool(b.get_hatch()), v.endswith(", synthetic")) for b, v in zip(ax.patches, values)]
    assert bars(figures["fte_by_sector (mixed)"]) == [(False, False)] * 2 + [(True, True)] * 3
    assert bars(figures["fte_by_sector"]) == [(False, False)] * 5       # all one status: the chart's label says it


def test_range_bars_include_zero_on_the_value_axis(figures):
    assert figures["range_bars"].axes[0].get_xlim()[0] <= 0


def test_the_check_finds_a_legend_over_the_data_and_touching_category_labels():
    """The check itself can fail: the layout the board member reported is caught."""
    charts.use_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(range(7), [2] * 7, label="January-March 2024")
    ax.set_xticks(range(7))
    ax.set_xticklabels(["Vision", "People involved", "The plan", "Governance", "Culture", "Communication", "Data"])
    ax.legend(loc="center")
    problems = layout_problems(fig)
    plt.close(fig)
    assert any("legend covers the axes" in p for p in problems)
    assert any("'Culture' and 'Communication' touch" in p for p in problems)


def test_named_points_on_a_crowded_scatter_never_overlap_each_other_or_leave_the_axes():
    charts.use_style()
    rng = np.random.default_rng(4)
    xy = rng.normal(size=(42, 2))
    fig, ax = plt.subplots(figsize=(10, 7))
    ax.scatter(xy[:, 0], xy[:, 1])
    ax.margins(x=0.18, y=0.08)
    charts.finish(fig, "Similarity", SOURCE, False)
    near = np.argsort(np.hypot(*(xy - xy[0]).T))[:9]        # a tight cluster: the hardest case
    texts = charts.label_points(ax, [(xy[i, 0], xy[i, 1], f"Integrated care board number {i}") for i in near],
                                others=[tuple(p) for p in xy])
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in texts]
    frame = ax.get_window_extent(r)
    plt.close(fig)
    assert not [(a, b) for a, b in itertools.combinations(range(len(boxes)), 2) if boxes[a].overlaps(boxes[b])]
    assert all(frame.contains(b.x0, b.y0) and frame.contains(b.x1, b.y1) for b in boxes)


# ---------------------------------------------------------------------- funnel panels

PAGE_PX = 1280                  # the width the board reviews the reports at
CSS_PX_PER_IN = 96              # an SVG drawn N inches wide is N x 96 CSS pixels wide on the page
MIN_PANEL_PX = 200              # a funnel panel's plot on the page, at least (the board saw 40 px)


def _funnel_panel(offset: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    codes = [f"Q{i:02d}" for i in range(42)]
    size = np.geomspace(8_000, 120_000, 42)
    table = pd.DataFrame({"denominator": size, "rate_pct": 5 + offset + np.sin(np.arange(42)),
                          "position": ["within"] * 41 + ["above the upper 99.8%"]}, index=codes)
    table.attrs.update(overall_pct=5 + offset, overdispersion=True)
    x = np.geomspace(5_000, 150_000, 50)
    spread = 30 / np.sqrt(x)
    curve = pd.DataFrame({"denominator": x, "hi998": 5 + offset + 3 * spread, "lo998": 5 + offset - 3 * spread,
                          "hi95": 5 + offset + 2 * spread, "lo95": 5 + offset - 2 * spread})
    return table, curve


def _funnel(title: str | None = None, source: str = SOURCE) -> plt.Figure:
    labels = ("Social care vacancy rate", "Social care turnover", "NHS sickness absence")
    panels = [(lab, *_funnel_panel(i), "Staff in post") for i, lab in enumerate(labels)]
    return charts.funnel_panels(panels, "Q41", ICB, source, "mixed", synthetic_panels={"Social care turnover"},
                                title=title, panel_notes={"Social care vacancy rate": "real rate, synthetic size"})


LONG_TITLE = (f"{ICB} against all 42 ICBs: NHS sickness absence at the upper 95% limit (6.16% against 6.18%); "
              "social care vacancy rate 5.4% (published), the 6th lowest of 42 ICBs (not placed on the funnel: its "
              "sizes are synthetic) (1 synthetic measure: no finding)")
LONG_SOURCE = "; ".join([SOURCE] * 4)       # a source list that fills the footer's lines


@pytest.fixture(scope="module")
def funnels():
    charts.use_style()
    figs = {"short title": _funnel("Funnels"), "finding title": _funnel(),
            "long title and source": _funnel(LONG_TITLE, LONG_SOURCE)}
    yield figs
    for f in figs.values():
        plt.close(f)


@pytest.mark.parametrize("case", ["short title", "finding title", "long title and source"])
def test_funnel_panels_lay_out_cleanly(funnels, case):
    assert layout_problems(funnels[case]) == []


@pytest.mark.parametrize("case", ["short title", "finding title", "long title and source"])
def test_funnel_panels_keep_their_minimum_height_at_1280_px(funnels, case):
    """A long title or source makes the figure taller; it never squeezes the panels (they were 40 px)."""
    fig = funnels[case]
    width_in, height_in = fig.get_size_inches()
    scale = min(1.0, PAGE_PX / (width_in * CSS_PX_PER_IN))        # shown at its size, or shrunk to the page
    for ax in fig.axes:
        panel_in = ax.get_position().height * height_in
        assert panel_in >= charts.FUNNEL_MIN_PANEL_IN - 0.01, ax.get_title(loc="left")
        assert panel_in * CSS_PX_PER_IN * scale >= MIN_PANEL_PX, ax.get_title(loc="left")


def test_funnel_figure_grows_with_its_title_and_keeps_its_size_when_there_is_room(funnels):
    short, long = funnels["short title"].get_size_inches()[1], funnels["long title and source"].get_size_inches()[1]
    assert long > short >= charts.FUNNEL_HEIGHT_IN
    assert funnels["long title and source"].get_size_inches()[0] == funnels["short title"].get_size_inches()[0]
