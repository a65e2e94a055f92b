import pandas as pd
import pytest

from iwt_helpers.data import geography

pytestmark = pytest.mark.unit


def test_there_are_42_icbs_with_unique_codes_and_seven_regions():
    t = geography.icbs()
    assert len(t) == 42
    assert t["icb_code"].is_unique and t["icb_code_ons"].is_unique
    assert t["icb_code"].str.fullmatch(r"Q[A-Z0-9]{2}").all()
    assert t["icb_code_ons"].str.fullmatch(r"E54\d{6}").all()
    assert t["region_code"].nunique() == 7


@pytest.mark.parametrize("given", ["QOP", "qop", " QoP ", "E54000057", "e54000057"])
def test_resolve_icb_accepts_ods_or_e54_in_any_case(given):
    assert geography.resolve_icb(given) == "QOP"


def test_resolve_icb_accepts_the_2022_e54_code_of_a_recoded_icb():
    # Surrey Heartlands was E54000052 before its 2024 boundary change.
    assert geography.resolve_icb("E54000052") == geography.resolve_icb("E54000063")


@pytest.mark.parametrize("bad", ["XYZ", "../x", "", None, "QOP/../../etc"])
def test_unknown_icb_fails_and_says_how_to_list_valid_codes(bad):
    with pytest.raises(geography.UnknownICBError, match="iwt list-icbs"):
        geography.resolve_icb(bad)


def test_lad_shares_sum_to_one_per_authority_and_vintage():
    lk = geography.lad_icb()
    sums = lk.groupby(["lad_vintage", "lad_code"])["share"].sum()
    assert ((sums - 1).abs() < 1e-4).all()
    assert lk.groupby("lad_vintage")["lad_code"].nunique().to_dict() == {2022: 309, 2024: 296}


def test_authorities_split_across_icbs_are_listed_with_partial_shares():
    lk = geography.lad_icb()
    split = lk[lk["share"] < 1]
    assert split.groupby("lad_vintage")["lad_code"].nunique().min() >= 10


def test_retired_codes_follow_to_their_successors():
    s = pd.Series(["E07000150", "E07000049", "E06000001"])
    assert geography.map_retired_lads(s).tolist() == ["E06000061", "E06000059", "E06000001"]


def test_apportion_splits_a_split_authority_by_share():
    lk = geography.lad_icb().query("lad_vintage == 2022")
    lad = lk[lk["share"] < 1]["lad_code"].iloc[0]
    shares = lk[lk["lad_code"] == lad].set_index("icb_code")["share"]
    out = geography.apportion_to_icb(pd.DataFrame({"lad_code": [lad], "n": [1000.0]}), ["n"], vintage=2022)
    got = out.set_index("icb_code")["n"]
    assert got.sum() == pytest.approx(1000.0, rel=1e-4)
    for icb, share in shares.items():
        assert got[icb] == pytest.approx(1000 * share)
