"""Unpaid carers (Census 2021): carers per 100 residents aged 5 and over, all and by hours a
week, for an ICB against its NHS England region and England."""

from __future__ import annotations

import pandas as pd

from iwt_helpers.data import geography

from . import indicators

HOURS_BANDS = ("19h_or_less", "20_49h", "50h_plus")     # Census 2021 hours of unpaid care a week, fewest first


def carers_per_100(unpaid_care: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """Carers and carers per 100 residents aged 5+ by hours band (``hours_band``: a code of
    :data:`HOURS_BANDS`, then ``all``), for the ICB, its region and England (latest census year)."""
    icb_code = geography.resolve_icb(icb_code)
    d = unpaid_care[unpaid_care["year"] == unpaid_care["year"].max()]
    region = d["icb_code"].map(geography.region_of) == geography.region_of(icb_code)
    areas = {geography.icb_name(icb_code): d[d["icb_code"] == icb_code],
             f"{geography.region_name(icb_code)} region": d[region], "England": d}
    rows = []
    for area, a in areas.items():
        residents = a.drop_duplicates("icb_code")["residents_5plus"].sum()
        bands = a.groupby("hours_band")["carers"].sum().reindex(list(HOURS_BANDS))
        for band, n in [*bands.items(), ("all", bands.sum())]:
            rows.append({"area": area, "hours_band": band, "carers": n, "residents_5plus": residents,
                         "carers_per_100_residents": indicators.rate_pct(n, residents)})
    out = pd.DataFrame(rows)
    out.attrs["year"] = int(d["year"].max())
    return out
