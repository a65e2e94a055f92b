import json

import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.data import datastore, tables

pytestmark = pytest.mark.unit


def test_demo_tables_are_marked_synthetic_and_population_is_real():
    ds = datastore.open_dataset()
    wf = ds.table("workforce")
    pop = ds.table("population")
    assert wf.attrs["synthetic"] is True and ds.is_synthetic("workforce")
    assert pop.attrs["synthetic"] is False
    prov = ds.provenance().set_index("table")
    assert prov.loc["workforce", "origin"] == "demo" and prov.loc["population", "origin"] == "reference"
    assert ds.any_synthetic


def test_a_data_dir_table_is_used_and_missing_ones_fall_back_to_demo(tmp_path):
    wf = pd.read_csv(paths.DEMO / "workforce.csv").head(50)
    wf["source"] = "NHS Digital (test copy)"
    wf.to_csv(tmp_path / "workforce.csv", index=False)
    (tmp_path / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK,
                                                        "tables": {"workforce": {"synthetic": False, "source": "test"}}}))
    ds = datastore.open_dataset(tmp_path)
    assert len(ds.table("workforce")) == 50
    assert ds.is_synthetic("workforce") is False
    ds.table("vacancies")
    prov = ds.provenance().set_index("table")
    assert not prov.loc["workforce", "fell_back_to_demo"]
    assert prov.loc["vacancies", "fell_back_to_demo"] and prov.loc["vacancies", "synthetic"]


def test_a_missing_data_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="iwt data build"):
        datastore.open_dataset(tmp_path / "missing")


def test_period_columns_are_dates():
    assert datastore.open_dataset().table("workforce")["period"].dtype.kind == "M"


@pytest.mark.parametrize("manifest", [None, {"dataset": "iwt embedded demonstration data", "tables": {}}])
def test_a_folder_not_built_by_iwt_is_refused(tmp_path, manifest):
    (tmp_path / "workforce.csv").write_text("anything\n")
    if manifest:
        (tmp_path / "datasets.json").write_text(json.dumps(manifest))
    with pytest.raises(datastore.NotADataFolderError, match="not a folder built by `iwt data build`"):
        datastore.open_dataset(tmp_path)


def test_a_folder_left_mid_swap_is_recovered_on_open(tmp_path):
    old = tmp_path / ".processed.old"
    old.mkdir()
    (old / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {}}))
    ds = datastore.open_dataset(tmp_path / "processed")
    assert ds.data_dir.is_dir() and not old.exists()


def test_a_table_that_breaks_its_schema_stops_at_load_naming_table_file_column_and_row(tmp_path):
    wf = pd.read_csv(paths.DEMO / "workforce.csv").head(5)
    wf.loc[1, "fte"] = -5
    wf.loc[3, "icb_code"] = "ZZZ"
    wf.to_parquet(tmp_path / "workforce.parquet", index=False)
    (tmp_path / "datasets.json").write_text(json.dumps({"dataset": datastore.PROCESSED_MARK, "tables": {}}))
    from iwt_helpers.data.schemas import TableValidationError
    with pytest.raises(TableValidationError) as err:
        datastore.open_dataset(tmp_path).table("workforce")
    text = str(err.value)
    assert "table 'workforce' in " in text and "workforce.parquet" in text
    assert "column 'fte' breaks rule 'zero or more'" in text and "row 1:" in text
    assert "column 'icb_code' breaks rule 'one of the 42 ICB ODS codes'" in text and "row 3:" in text


def test_each_reference_table_of_the_spec_is_read_from_its_committed_file_and_passes_its_schema():
    ds = datastore.open_dataset()
    reference = tables.made_in("reference")
    assert datastore.REFERENCE_TABLES == {n: tables.BY_NAME[n].reference_file for n in reference}
    for name in reference:
        info = ds.info(name)
        assert (info.origin, info.synthetic) == ("reference", False), name
        assert info.path == paths.reference(tables.BY_NAME[name].reference_file)
        assert len(ds.table(name)) > 0, name

