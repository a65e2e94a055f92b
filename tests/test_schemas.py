import pandas as pd
import pytest

from iwt_helpers.data import demo, schemas

pytestmark = pytest.mark.unit


def _workforce(**overrides):
    row = {"period": "2024-09-01", "icb_code": "QOP", "sector": "nhs_trust", "staff_group": "doctor",
           "registered": True, "headcount": 100.0, "fte": 90.0, "source": "test"}
    rows = [dict(row), dict(row, staff_group="registered_nurse")]
    for i, changes in overrides.items():
        rows[int(i)].update(changes)
    return pd.DataFrame(rows).assign(period=lambda d: pd.to_datetime(d["period"]))


def test_a_valid_table_passes():
    out = schemas.validate("workforce", _workforce())
    assert len(out) == 2


def test_negative_fte_is_rejected_naming_table_column_rule_and_row():
    bad = _workforce(**{"1": {"fte": -5.0}})
    with pytest.raises(schemas.TableValidationError) as e:
        schemas.validate("workforce", bad, file="wf.csv")
    msg = str(e.value)
    assert "table 'workforce' in wf.csv" in msg
    assert "column 'fte'" in msg and "zero or more" in msg
    assert "row 1:" in msg and "fte=-5.0" in msg


def test_unknown_icb_is_rejected_with_the_offending_value():
    bad = _workforce(**{"0": {"icb_code": "QZZ"}})
    with pytest.raises(schemas.TableValidationError) as e:
        schemas.validate("workforce", bad)
    assert "column 'icb_code'" in str(e.value)
    assert "one of the 42 ICB ODS codes" in str(e.value)
    assert "icb_code='QZZ'" in str(e.value)
    assert e.value.problems[0][2] == [0]


def test_missing_column_is_named():
    with pytest.raises(schemas.TableValidationError, match="missing column.*fte"):
        schemas.validate("workforce", _workforce().drop(columns="fte"))


def test_fte_far_above_headcount_is_rejected():
    with pytest.raises(schemas.TableValidationError, match="1.2 x headcount"):
        schemas.validate("workforce", _workforce(**{"0": {"fte": 500.0}}))


def test_nothing_is_written_when_a_generated_table_fails(monkeypatch, tmp_path):
    good = demo.build_tables()
    broken = dict(good)
    broken["workforce"] = good["workforce"].copy()
    broken["workforce"].loc[3, "fte"] = -1.0
    monkeypatch.setattr(demo, "build_tables", lambda: broken)
    with pytest.raises(schemas.TableValidationError, match="table 'workforce'"):
        demo.write_demo(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_every_declared_table_has_a_schema():
    assert set(schemas.TABLES) == set(schemas.schemas())
