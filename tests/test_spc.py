"""Making Data Count XmR rules on hand-made series (each test: one behaviour)."""

import numpy as np
import pandas as pd
import pytest

from iwt_helpers.analysis import spc

pytestmark = pytest.mark.unit


def chart(values, improvement="increase", **kw):
    df = pd.DataFrame({"period": pd.date_range("2021-01-01", periods=len(values), freq="MS"),
                       "value": np.asarray(values, dtype=float)})
    return spc.xmr(df, improvement=improvement, **kw)


BASE = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10, 11, 9]     # mean 10, mean mR 2


def test_limits_are_mean_plus_minus_2_66_mean_moving_range():
    r = chart(BASE)
    mr = np.abs(np.diff(BASE)).mean()
    assert r["mean"].iloc[0] == pytest.approx(10.0)
    assert r["upl"].iloc[0] == pytest.approx(10 + 2.66 * mr)
    assert r["lpl"].iloc[0] == pytest.approx(10 - 2.66 * mr)
    assert r["nupl"].iloc[0] == pytest.approx(10 + 2.66 * mr * 2 / 3)


def test_common_cause_series_has_no_special_cause():
    assert (chart(BASE)["point_type"] == "common_cause").all()


def test_point_outside_limits_is_special_cause_with_direction():
    r = chart(BASE + [30], improvement="increase")
    assert r["rule"].iloc[-1] == "outside_limits"
    assert r["point_type"].iloc[-1] == "special_cause_improvement"
    r = chart(BASE + [30], improvement="decrease")
    assert r["point_type"].iloc[-1] == "special_cause_concern"


def test_screening_drops_moving_ranges_at_least_3_267_times_the_mean():
    values = BASE + [40] + BASE
    screened, raw = chart(values), chart(values, screen_outliers=False)
    mr = np.abs(np.diff(values))
    kept = mr[mr < 3.267 * mr.mean()]
    assert screened["amr"].iloc[0] == pytest.approx(kept.mean())
    assert raw["amr"].iloc[0] == pytest.approx(mr.mean())
    assert screened["upl"].iloc[0] < raw["upl"].iloc[0]


def test_trend_of_seven_rising_points_flags_every_point_of_the_run():
    values = [10, 11, 9, 10, 9.5, 9.6, 9.7, 9.8, 9.9, 10.0, 10.1, 9, 11]
    r = chart(values)
    assert r.loc[4:10, "rule"].eq("trend").all()
    assert not r.loc[[0, 1, 2, 3, 11, 12], "rule"].eq("trend").any()
    assert r.loc[4:10, "point_type"].eq("special_cause_improvement").all()


def test_six_rising_points_are_not_a_trend():
    values = [10, 11, 9, 10, 9.5, 9.6, 9.7, 9.8, 9.9, 10.0, 9, 11]
    assert not chart(values)["trend"].any()


def test_falling_trend_is_concern_when_higher_is_better():
    values = [10, 9, 11, 10, 10.6, 10.5, 10.4, 10.3, 10.2, 10.1, 10.0, 11, 9]
    r = chart(values, improvement="increase")
    assert r.loc[4:10, "point_type"].eq("special_cause_concern").all()


def test_equal_consecutive_values_break_a_trend():
    values = [10, 11, 9, 10, 9.5, 9.6, 9.7, 9.7, 9.9, 10.0, 10.1, 9, 11]
    assert not chart(values)["trend"].any()


def test_two_of_three_beyond_near_limits_flags_those_points():
    # mean 10, mR 2 -> near upper 13.55, upper 15.32 (before the test points change them little)
    values = BASE + [14.5, 10.5, 14.2] + BASE
    r = chart(values)
    i = len(BASE)
    assert r["close_to_limits"].iloc[i] and r["close_to_limits"].iloc[i + 2]
    assert r["rule"].iloc[i] == "two_in_three" and r["rule"].iloc[i + 2] == "two_in_three"
    assert r["rule"].iloc[i + 1] == ""          # the middle point is not beyond the near limit


def test_two_of_three_needs_all_three_on_the_same_side_of_the_mean():
    values = BASE + [14.5, 9.0, 14.2] + BASE
    r = chart(values)
    assert not r["two_in_three"].any()


def test_shift_of_seven_on_one_side_flags_every_point():
    values = BASE + [10.5, 10.8, 10.4, 10.6, 10.9, 10.3, 10.7] + BASE
    r = chart(values)
    i = len(BASE)
    seg = r.iloc[i:i + 7]
    assert seg["shift"].all() and seg["rule"].eq("shift").all()
    assert seg["point_type"].eq("special_cause_improvement").all()


def test_six_on_one_side_is_not_a_shift():
    values = BASE + [10.5, 10.8, 10.4, 10.6, 10.9, 10.3] + BASE
    assert not chart(values)["shift"].any()


def test_points_on_the_mean_break_a_shift():
    r = chart([12, 12, 12, 10, 12, 12, 12, 8, 8, 8, 10, 8, 8, 8])     # mean exactly 10
    assert r["mean"].iloc[0] == pytest.approx(10)
    assert r["relative_to_mean"].iloc[3] == 0
    assert not r["shift"].any()
    # the same series without the two points on the mean is a shift on both sides
    assert chart([12] * 7 + [8] * 7)["shift"].all()


def test_outside_limits_takes_priority_over_other_rules():
    values = BASE + [10.5, 10.8, 10.4, 10.6, 10.9, 10.3, 30]
    r = chart(values)
    assert r["rule"].iloc[-1] == "outside_limits"


def test_neutral_direction_gives_neutral_high_and_low():
    r = chart(BASE + [30, 10, -10], improvement="neutral")
    assert r["point_type"].iloc[-3] == "special_cause_neutral_high"
    assert r["point_type"].iloc[-1] == "special_cause_neutral_low"


def test_fix_after_n_points_uses_only_the_first_n_for_limits():
    values = BASE + [20, 21, 22, 23]
    r = chart(values, fix_after_n=12)
    assert r["mean"].iloc[-1] == pytest.approx(10.0)
    assert r["rule"].iloc[-1] == "outside_limits"


def test_rebase_recomputes_everything_per_segment():
    values = BASE + [x + 20 for x in BASE]
    r = chart(values, rebase=["2022-01-01"])
    assert r["segment"].tolist() == [0] * 12 + [1] * 12
    assert r["mean"].iloc[0] == pytest.approx(10) and r["mean"].iloc[-1] == pytest.approx(30)
    assert (r["point_type"] == "common_cause").all()
    # without the rebase, the step is a run of special causes
    assert (chart(values)["point_type"] != "common_cause").any()


def test_trend_does_not_run_across_a_rebase():
    values = [1, 2, 3, 4, 5, 6, 7]
    r = chart(values, rebase=["2021-05-01"])
    assert not r["trend"].any()


def test_fewer_than_seven_points_cannot_show_runs():
    r = chart([1, 2, 3, 4, 5, 6])
    assert not r["trend"].any() and not r["shift"].any()


def test_constant_series_has_limits_equal_to_the_mean_and_no_special_cause():
    r = chart([5.0] * 15)
    assert r["upl"].eq(5).all() and r["lpl"].eq(5).all()
    assert (r["point_type"] == "common_cause").all()


def test_missing_months_are_returned_as_missing_and_do_not_break_the_calculation():
    values = BASE[:6] + [np.nan] + BASE[6:]
    r = chart(values)
    assert r["point_type"].iloc[6] == "missing"
    assert r["mean"].iloc[0] == pytest.approx(10.0)
    assert not np.isnan(r["upl"].iloc[6])
    assert (r.drop(index=6)["point_type"] == "common_cause").all()


def test_many_series_are_computed_independently():
    a = pd.DataFrame({"kpi": "a", "period": pd.date_range("2021-01-01", periods=12, freq="MS"), "value": BASE})
    b = a.assign(kpi="b", value=[v * 10 for v in BASE])
    r = spc.xmr(pd.concat([b, a]), by=["kpi"], improvement={"a": "increase", "b": "decrease"})
    assert r.groupby("kpi")["mean"].first().to_dict() == pytest.approx({"a": 10.0, "b": 100.0})


@pytest.mark.parametrize("target,improvement,expected", [
    (30, "increase", "consistent_fail"), (30, "decrease", "consistent_pass"),
    (-5, "increase", "consistent_pass"), (-5, "decrease", "consistent_fail"),
    (10, "increase", "inconsistent"), (None, "increase", "none"), (30, "neutral", "none"),
])
def test_assurance_from_target_against_latest_limits(target, improvement, expected):
    r = chart(BASE, improvement=improvement)
    assert spc.assurance(target, r["lpl"].iloc[-1], r["upl"].iloc[-1], improvement) == expected


def test_assurance_uses_the_latest_segment_after_a_rebase():
    r = chart(BASE + [x + 20 for x in BASE], rebase=["2022-01-01"])
    assert spc.assurance(25, r["lpl"].iloc[-1], r["upl"].iloc[-1], "increase") == "consistent_pass"


def test_variation_icon_of_latest_point():
    assert spc.variation("common_cause", 1) == "common_cause"
    assert spc.variation("special_cause_improvement", 1) == "improvement_high"
    assert spc.variation("special_cause_concern", -1) == "concern_low"
    assert spc.variation("special_cause_neutral_low", -1) == "neutral_low"


def test_summary_gives_one_row_per_series_with_icons():
    a = pd.DataFrame({"kpi": "a", "period": pd.date_range("2021-01-01", periods=13, freq="MS"),
                      "value": BASE + [30], "target": 5.0})
    r = spc.xmr(a, by=["kpi"], improvement={"a": "increase"})
    s = spc.summary(r, ["kpi"], {"a": "increase"})
    row = s.iloc[0]
    assert row["variation"] == "improvement_high" and row["assurance"] == "consistent_pass"
    assert row["points"] == 13 and not row["few_points"]


def test_a_trend_point_before_a_flat_step_reads_as_decreasing_as_plot_the_dots_does():
    # two rising 7-point runs meeting at a flat step: 1..7, 7, 8..13
    y = [1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12, 13]
    df = pd.DataFrame({"period": pd.date_range("2023-01-01", periods=len(y), freq="MS"), "value": [float(v) for v in y]})
    out = spc.xmr(df, improvement="increase")
    flagged = out[out["special_cause"]]
    assert (flagged["point_type"] != "common_cause").all()          # never a special cause read as common cause
    last_of_first_run = out.iloc[6]
    assert last_of_first_run["trend"] and last_of_first_run["point_type"] == "special_cause_concern"


def test_xmr_recomputes_a_result_column_the_input_already_has_where_it_stands():
    df = pd.DataFrame({"period": pd.date_range("2021-01-01", periods=len(BASE), freq="MS"),
                       "mean": -1.0, "value": np.asarray(BASE, dtype=float)})
    out = spc.xmr(df, improvement="increase")
    assert list(out.columns[:3]) == ["period", "mean", "value"] and out.columns.is_unique
    assert out["mean"].iloc[0] == pytest.approx(10.0)
