import json

import pandas as pd
import pytest

from iwt_helpers import paths
from iwt_helpers.data import datastore

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
    (tmp_path / "datasets.json").write_text(json.dumps({"tables": {"workforce": {"synthetic": False, "source": "test"}}}))
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
