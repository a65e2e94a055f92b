import pytest

from iwt_helpers import paths
from iwt_helpers.themes.params import ParameterError, ReportParams

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("code", ["QOP", "qop", "E54000057", "e54000057"])
def test_icb_code_is_normalised_to_ods(code):
    assert ReportParams.parse(icb_code=code).icb_code == "QOP"


def test_unknown_icb_fails_at_once_naming_list_icbs():
    with pytest.raises(ParameterError, match=r"icb_code: Unknown ICB code 'XYZ'.*iwt list-icbs"):
        ReportParams.parse(icb_code="XYZ")


@pytest.mark.parametrize("code", ["../x", "../../etc/passwd", "QOP/..", "/tmp/QOP"])
def test_path_like_icb_codes_are_refused(code):
    with pytest.raises(ParameterError, match="Unknown ICB code"):
        ReportParams.parse(icb_code=code)


def test_empty_data_dir_means_demo_data():
    assert ReportParams.parse(icb_code="QOP", data_dir="").data_dir is None


def test_missing_data_dir_is_reported(tmp_path):
    with pytest.raises(ParameterError, match="data_dir.*folder not found"):
        ReportParams.parse(icb_code="QOP", data_dir=str(tmp_path / "nope"))


def test_relative_data_dir_is_anchored_at_the_project_root():
    p = ReportParams.parse(icb_code="QOP", data_dir="data/demo")
    assert p.data_dir == paths.DEMO


def test_unknown_parameter_is_refused_not_ignored():
    with pytest.raises(ParameterError, match="icb: unknown parameter"):
        ReportParams.parse(icb_code="QOP", icb="QOP")


def test_projection_years_are_checked():
    assert ReportParams.parse(icb_code="QOP", projection_years=[15, 5]).projection_years == (5, 15)
    with pytest.raises(ParameterError, match="projection_years"):
        ReportParams.parse(icb_code="QOP", projection_years=[0])


def test_scenario_runs_and_peer_count_are_checked():
    p = ReportParams.parse(icb_code="QOP", scenario="retention", n_runs=200, peer_count=8)
    assert (p.scenario, p.n_runs, p.peer_count) == ("retention", 200, 8)
    with pytest.raises(ParameterError, match="scenario: .*unknown scenario 'utopia'; scenarios in the file: baseline"):
        ReportParams.parse(icb_code="QOP", scenario="utopia")
    for bad in (0, -5, 2.5, "many", True, 100_001):
        with pytest.raises(ParameterError, match="n_runs"):
            ReportParams.parse(icb_code="QOP", n_runs=bad)
    for bad in (0, 16, 1.5):
        with pytest.raises(ParameterError, match="peer_count"):
            ReportParams.parse(icb_code="QOP", peer_count=bad)
