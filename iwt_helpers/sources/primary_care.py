"""GP workforce indicators by ICB: FTE per 10,000 registered patients by deprivation quintile
(Health Equity Evidence Centre data pack, built from NHS Digital's GP workforce statistics)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import geography
from . import BuildContext, LoadResult
from ._read import head_columns, read_csv, to_number

WORKFORCE_INDICATORS = {"TOTAL_GP_EXTGL_FTE": "GPs (excl. locums and trainees)", "TOTAL_NURSES_FTE": "Practice nurses",
                        "TOTAL_DPC_FTE": "Direct patient care", "TOTAL_ADMIN_FTE": "Admin and non-clinical",
                        "TOTAL_LOCUUM_TRN_FTE": "Locums and GP trainees"}


class GpWorkforceIndicators:
    ID, KIND, PREFERENCE = "gp_workforce_icb", "data", 10
    TITLE, PUBLISHER = "GP workforce FTE per 10,000 patients by ICB and deprivation quintile", "HEEC from NHS Digital"

    @staticmethod
    def recognise(path: Path) -> bool:
        cols = set(head_columns(path) or [])
        return {"Year", "Indicator", "ICB.NAME", "quin_1", "avg"} <= cols

    @classmethod
    def load(cls, path: Path, ctx: BuildContext) -> LoadResult:
        df = read_csv(path)
        df = df[df["Indicator"].isin(WORKFORCE_INDICATORS)].copy()
        names = {n.lower(): c for n, c in zip(geography.icbs()["icb_short_name"], geography.icbs()["icb_code"])}
        df["icb_code"] = df["ICB.NAME"].str.strip().str.lower().map(names)
        unplaced = sorted(df.loc[df["icb_code"].isna(), "ICB.NAME"].unique())
        df = df.dropna(subset=["icb_code"])
        quint = [c for c in ("quin_1", "quin_2", "quin_3", "quin_4_5") if c in df]
        for c in quint + ["avg"]:
            df[c], _ = to_number(df[c], path, c)
        year, _ = to_number(df["Year"], path, "Year")
        out = pd.DataFrame({"icb_code": df["icb_code"], "year": year.astype(int), "indicator": df["Indicator"],
                            "indicator_label": df["Indicator"].map(WORKFORCE_INDICATORS),
                            **{f"per_10k_{c}": df[c] for c in quint},
                            "per_10k_mean_of_quintiles": df[quint].mean(axis=1),
                            "per_10k_england": df["avg"],
                            "source": f"{cls.TITLE}, {path.name}; {cls.PUBLISHER}"})
        res = LoadResult(tables={"gp_indicators": out}, period=", ".join(str(y) for y in sorted(out["year"].unique())))
        res.notes.append(f"{path.name}: {out['icb_code'].nunique()} ICBs; rows not for an ICB left out: "
                         f"{', '.join(unplaced)}; the ICB figure is the unweighted mean of its quintiles")
        return res


SOURCES = [GpWorkforceIndicators]
