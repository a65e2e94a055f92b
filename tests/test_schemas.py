import pandas as pd
import pytest

from iwt_helpers.data import build, datastore, schemas, tables

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


def test_every_declared_table_has_a_schema():
    assert set(schemas.TABLES) == set(schemas.schemas())


# Each table is declared once (tables.SPECS); every list of tables derives from the declarations.

def test_each_table_is_declared_once():
    names = [s.name for s in tables.SPECS]
    assert len(names) == len(set(names))
    assert set(schemas.TABLES) == {s.name for s in tables.SPECS if s.columns is not None}


def test_sort_keys_key_split_and_measures_are_columns_of_the_tables_schema():
    for s in tables.SPECS:
        schema = schemas.schemas()[s.schema_of or s.name] if (s.columns or s.schema_of) else None
        if schema is None:
            continue
        for what in ("sort_keys", "key", "measures"):
            assert set(getattr(s, what)) <= set(schema.columns), (s.name, what)
        assert s.split_by is None or s.split_by in schema.columns, s.name


def test_the_schema_enforces_the_specs_key_and_plausibility_rules():
    for s in tables.SPECS:
        if s.columns is None:
            continue
        schema = schemas.schemas()[s.name]
        assert list(schema.unique or []) == list(s.key), s.name
        assert [c.error for c in schema.checks] == [r.description for r in s.rules], s.name


def test_every_table_a_data_folder_holds_has_sort_keys_and_the_build_sorts_by_them():
    built = tables.made_in("data_dir")
    assert all(tables.BY_NAME[n].sort_keys for n in built)
    assert build.SORT_KEYS == {n: list(tables.BY_NAME[n].sort_keys) for n in built}


def test_a_table_split_by_a_column_comes_from_both_a_data_folder_and_the_demo():
    assert tables.SPLIT_BY
    for name in tables.SPLIT_BY:
        assert {"data_dir", "demo"} <= set(tables.BY_NAME[name].origins), name


def test_a_table_checked_against_another_schema_names_a_table_with_its_own():
    for s in tables.SPECS:
        if s.schema_of:
            assert s.schema_of in schemas.TABLES and s.schema_of != s.name
            assert datastore.SCHEMA_OF[s.name] == s.schema_of


def test_measures_derive_from_the_specs():
    assert schemas.MEASURES == {s.name: list(s.measures) for s in tables.SPECS if s.measures}


@pytest.mark.parametrize("bad", [dict(origins=("somewhere",)), dict(origins=("reference",)),
                                 dict(origins=("demo",), reference_file="x.csv"),
                                 dict(origins=("demo",), key=("icb_code",))])
def test_an_inconsistent_declaration_is_refused(bad):
    with pytest.raises(ValueError, match="table 'new_table'"):
        tables.TableSpec("new_table", "A new table", **bad)
