"""Population need: older people now and projected, and people with care needs (prevalence
rates applied to the population by age band), for one ICB against England."""

from __future__ import annotations

import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.analysis import indicators
from iwt_helpers.data import geography, population
from iwt_helpers.data.population import BAND_EDGES, for_year
from iwt_helpers.errors import MissingDataError

AGE_GROUPS = {"65+": 65, "75+": 75, "85+": 85}


def older_people(pop: pd.DataFrame, icb_code: str, base_year: int, horizons: tuple[int, ...],
                 year_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """People aged 65+, 75+ and 85+ in the base year and ``horizons`` years later, with growth
    against the base year, for the ICB and for England. ``year_rows``: :func:`population_rows` of ``pop``
    for those years, where the caller has them (the same whatever the ICB)."""
    icb_code = geography.resolve_icb(icb_code)
    years = [base_year] + [base_year + h for h in horizons]
    have = set(pop["year"].unique())
    missing = [y for y in years if y not in have]
    if missing:
        raise MissingDataError(f"population: no figures for year(s) {missing}; available {pop['year'].min()}-{pop['year'].max()}")
    p = (population_rows(pop, years) if year_rows is None else year_rows)[["icb_code", "year", "age_band", "population"]]
    lower = {b: lo for (lo, _), b in zip(BAND_EDGES, vocab.population_age_bands())}
    p["lower"] = p["age_band"].map(lower)
    rows = []
    for area, sel in (("icb", p["icb_code"] == icb_code), ("England", p["icb_code"].notna())):
        sub = p[sel]
        for label, age in AGE_GROUPS.items():
            n = sub[sub["lower"] >= age].groupby("year")["population"].sum().reindex(years, fill_value=0.0)
            rows += [{"area": area, "age_group": label, "year": y, "people": float(v)} for y, v in n.items()]
    out = pd.DataFrame(rows)
    base = out[out["year"] == base_year].set_index(["area", "age_group"])["people"]
    out["growth_pct"] = indicators.growth_pct(out["people"].to_numpy(),
                                              base.reindex(pd.MultiIndex.from_frame(out[["area", "age_group"]])).to_numpy())
    return out


def need_projection(pop: pd.DataFrame, prevalence: pd.DataFrame, icb_code: str, years: list[int],
                    sex_shares: pd.DataFrame | None = None, year_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """POPPI/PANSI-style need: prevalence rates by age band (and by sex where the source gives
    them) applied to the ICB's population, with the rates' 95% interval where they have one.

    Rates by sex are applied to the population of each sex: each age band's share of women in each
    year is the ONS 2022-based projection's (``population.sex_shares``; assumption A19). ``year_rows``:
    the ICB's :func:`population_rows` for ``years``, where the caller has them.
    """
    icb_code = geography.resolve_icb(icb_code)
    mine = population_rows(pop[pop["icb_code"] == icb_code], years) if year_rows is None else year_rows
    sex = prevalence["sex"] if "sex" in prevalence else pd.Series("persons", index=prevalence.index)
    parts = []
    persons = prevalence[sex == "persons"]
    if len(persons):
        parts.append(indicators.need_estimates(mine, persons, by=["year"]))
    by_sex = prevalence[sex != "persons"]
    if len(by_sex):
        shares = population.sex_shares() if sex_shares is None else sex_shares
        shares = shares.loc[shares["icb_code"] == icb_code]
        on = ["age_band"]
        if "year" in shares:        # each year's own split; years outside the projection take its nearest
            lo, hi = shares["year"].min(), shares["year"].max()
            mine = mine.assign(share_year=mine["year"].clip(lo, hi))
            shares = shares.rename(columns={"year": "share_year"})
            on = ["share_year", "age_band"]
        s = mine.merge(shares[[*on, "female_share"]], on=on, how="inner")
        split = pd.concat([s.assign(sex="female", population=s["population"] * s["female_share"]),
                           s.assign(sex="male", population=s["population"] * (1 - s["female_share"]))], ignore_index=True)
        parts.append(indicators.need_estimates(split, by_sex, by=["year"], on=["sex"]))
    need = pd.concat(parts, ignore_index=True)
    labels = prevalence.drop_duplicates("condition").set_index("condition")
    need["condition_label"] = need["condition"].map(labels["condition_label"])
    need["rate_source"] = need["condition"].map(labels["source"])
    need["rate_status"] = need["condition"].map(labels["status"])
    base = need[need["year"] == min(years)].set_index("condition")["people_with_need"]
    need["growth_pct"] = indicators.growth_pct(need["people_with_need"], need["condition"].map(base))
    return need


def population_rows(pop: pd.DataFrame, years) -> pd.DataFrame:
    """The population rows figures of these years are built from: one basis a year
    (:func:`iwt_helpers.data.population.for_year`)."""
    basis = population.preferred_basis(pop)
    return pd.concat([for_year(pop, y, basis) for y in years])
