"""Population need: older people now and projected, and people with care needs (prevalence
rates applied to the population by age band), for one ICB against England."""

from __future__ import annotations

import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.analysis import indicators
from iwt_helpers.data import geography
from iwt_helpers.data.population import BAND_EDGES, for_year

AGE_GROUPS = {"65+": 65, "75+": 75, "85+": 85}


def older_people(pop: pd.DataFrame, icb_code: str, base_year: int, horizons: tuple[int, ...]) -> pd.DataFrame:
    """People aged 65+, 75+ and 85+ in the base year and ``horizons`` years later, with growth
    against the base year, for the ICB and for England."""
    icb_code = geography.resolve_icb(icb_code)
    years = [base_year] + [base_year + h for h in horizons]
    missing = [y for y in years if y not in set(pop["year"])]
    if missing:
        raise ValueError(f"population: no figures for year(s) {missing}; available {pop['year'].min()}-{pop['year'].max()}")
    p = pd.concat([for_year(pop, y) for y in years], ignore_index=True)
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


def need_projection(pop: pd.DataFrame, prevalence: pd.DataFrame, icb_code: str, years: list[int]) -> pd.DataFrame:
    """POPPI/PANSI-style need: prevalence rates by age band applied to the ICB's population."""
    icb_code = geography.resolve_icb(icb_code)
    mine = pop[pop["icb_code"] == icb_code]
    need = indicators.need_estimates(pd.concat([for_year(mine, y) for y in years]), prevalence, by=["year"])
    labels = prevalence.drop_duplicates("condition").set_index("condition")
    need["condition_label"] = need["condition"].map(labels["condition_label"])
    need["rate_source"] = need["condition"].map(labels["source"])
    need["rate_status"] = need["condition"].map(labels["status"])
    base = need[need["year"] == min(years)].set_index("condition")["people_with_need"]
    need["growth_pct"] = indicators.growth_pct(need["people_with_need"], need["condition"].map(base))
    return need
