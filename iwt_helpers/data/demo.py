"""The deterministic generator of the embedded demonstration data set (``iwt data demo``).

Real: ICB geography and population (from the committed reference tables). Synthetic:
everything else, calibrated so that national totals for the calibration year equal the
figures in ``data/reference/demo_calibration.yaml`` exactly, with plausible variation between
ICBs. The same inputs give the same bytes on every run: one seeded generator per ICB and
table (seeded from a CRC of the names, never from Python's salted ``hash``), fixed column
order, sorted rows and fixed number formats.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers import SYNTHETIC_LABEL, atomic, config, paths, vocab
from iwt_helpers.errors import RefusedFolderError

from . import geography, population, schemas, tables

# The tables the demo set holds (origin "demo" in tables.SPECS; build_tables makes exactly these).
# Population is real (committed reference table); the demo set does not copy it.
DEMO_TABLES = tables.made_in("demo")
MANIFEST = "datasets.json"
DEMO_MARK = "iwt embedded demonstration data"      # what datasets.json of a demo set says it is


def made_by_demo(folder: Path) -> bool:
    """True when ``folder`` holds a demo set ``iwt data demo`` wrote (its datasets.json says so)."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8")).get("dataset") == DEMO_MARK
    except (OSError, ValueError, AttributeError):
        return False


def calibration() -> dict:
    """``demo_calibration.yaml`` as written, validated first by its model (``config.DemoCalibration``:
    known sectors, staff groups and age bands, shares adding up to 1, a figure for every year used)."""
    return config.raw("demo_calibration.yaml")


def _rng(*parts: object) -> np.random.Generator:
    seed = zlib.crc32("|".join(str(p) for p in (calibration()["seed"], *parts)).encode())
    return np.random.default_rng(seed)


def _label() -> str:
    return calibration()["label"]


# --------------------------------------------------------------------------- ICB factors


def icb_factors() -> pd.DataFrame:
    """Per-ICB size and variation factors (deterministic)."""
    pop = population.reference_population()
    p20 = pop[pop["year"] == 2020]
    total = p20.groupby("icb_code")["population"].sum()
    old = population.share_65_plus(p20)
    t = geography.icbs().set_index("icb_code")[["region_code"]].join(total.rename("population"))
    t["share_65_plus"] = old
    rows = []
    for code, r in t.iterrows():
        g = _rng("factors", code)
        rows.append({
            "icb_code": code,
            "nhs_intensity": float(np.exp(g.normal(0, 0.10))) * (1.08 if r["region_code"] == "Y56" else 1.0),
            "pc_intensity": float(np.exp(g.normal(0, 0.07))),
            "asc_intensity": float((r["share_65_plus"] / old.mean()) ** 0.8 * np.exp(g.normal(0, 0.08))),
            "vacancy_nhs": float(np.exp(g.normal(0, 0.20))) * (1.25 if r["region_code"] == "Y56" else 1.0),
            "vacancy_asc": float(np.exp(g.normal(0, 0.22))),
            "turnover": float(np.exp(g.normal(0, 0.10))),
            "growth": float(g.normal(0, 0.6)),
            "pay_noise": float(np.exp(g.normal(0, 0.02))),
        })
    f = pd.DataFrame(rows).set_index("icb_code")
    return t.join(f)


def _allocate(total: float, weights: pd.Series) -> pd.Series:
    return total * weights / weights.sum()


# --------------------------------------------------------------------------- workforce


def _asc_shares() -> dict[str, dict[str, float]]:
    return calibration()["adult_social_care"]["staff_groups"]


def workforce_calibration_year() -> pd.DataFrame:
    """FTE and headcount by ICB, sector and staff group for the calibration year."""
    cal, f = calibration(), icb_factors()
    registered = dict(zip(vocab.staff_groups()["code"], vocab.staff_groups()["registered"]))
    rows = []
    for sector in ("nhs_trust", "primary_care"):
        sc = cal["sectors"][sector]
        intensity = f["nhs_intensity" if sector == "nhs_trust" else "pc_intensity"]
        by_icb = _allocate(sc["total_fte"], f["population"] * intensity)
        for group, share in sc["staff_groups"].items():
            for code, fte in by_icb.items():
                noise = float(np.exp(_rng("mix", sector, group, code).normal(0, 0.05)))
                rows.append((code, sector, group, fte * share * noise, sc["fte_per_head"]))
    asc = cal["adult_social_care"]
    asc_by_icb = _allocate(asc["total_filled_posts"], f["population"] * f["asc_intensity"])
    for sector, shares in _asc_shares().items():
        sector_share = cal["sectors"][sector]["share_of_asc_filled_posts"]
        for group, share in shares.items():
            for code, posts in asc_by_icb.items():
                noise = float(np.exp(_rng("mix", sector, group, code).normal(0, 0.06)))
                # For adult social care the stock is filled posts; FTE = posts x FTE per post.
                rows.append((code, sector, group, posts * sector_share * share * noise * asc["fte_per_filled_post"],
                             asc["fte_per_filled_post"]))
    df = pd.DataFrame(rows, columns=["icb_code", "sector", "staff_group", "fte", "fte_per_head"])
    # Rescale so each sector family meets its national total exactly.
    for sectors, target, col in (
        (["nhs_trust"], cal["sectors"]["nhs_trust"]["total_fte"], "fte"),
        (["primary_care"], cal["sectors"]["primary_care"]["total_fte"], "fte"),
        (list(_asc_shares()), asc["total_filled_posts"] * asc["fte_per_filled_post"], "fte"),
    ):
        m = df["sector"].isin(sectors)
        df.loc[m, col] *= target / df.loc[m, col].sum()
    df["headcount"] = df["fte"] / df["fte_per_head"]
    df["registered"] = df["staff_group"].map(registered)
    return df.drop(columns="fte_per_head")


def _growth_pct(sector: str) -> float:
    cal = calibration()
    if sector.startswith("asc_"):
        return cal["adult_social_care"]["growth_pct_per_year"]
    return cal["sectors"][sector]["growth_pct_per_year"]


def make_workforce() -> pd.DataFrame:
    cal, f = calibration(), icb_factors()
    base = workforce_calibration_year()
    out = []
    for year in cal["years"]:
        d = base.copy()
        k = year - cal["calibration_year"]
        growth = d["sector"].map(_growth_pct) + d["icb_code"].map(f["growth"])
        factor = (1 + growth / 100) ** k
        d["fte"] = d["fte"] * factor
        d["headcount"] = d["headcount"] * factor
        d["period"] = pd.Timestamp(year=year, month=cal["snapshot_month"], day=1)
        out.append(d)
    df = pd.concat(out, ignore_index=True)
    df["headcount"] = df["headcount"].round(0)
    df["fte"] = df["fte"].round(1)
    df["source"] = _label()
    return _order(df, ["period", "icb_code", "sector", "staff_group", "registered", "headcount", "fte", "source"])


def make_vacancies(workforce: pd.DataFrame) -> pd.DataFrame:
    """Vacancies against filled posts (FTE for the NHS, filled posts for adult social care)."""
    cal, f = calibration(), icb_factors()
    w = workforce.copy()
    w["filled_posts"] = np.where(w["sector"].str.startswith("asc_"), w["headcount"], w["fte"])
    nhs_w = cal["sectors"]["nhs_trust"]["vacancy_weights"]
    asc = cal["adult_social_care"]

    def raw_weight(r) -> float:
        if r.sector == "nhs_trust":
            return nhs_w[r.staff_group] * f.at[r.icb_code, "vacancy_nhs"]
        if r.sector == "primary_care":
            return f.at[r.icb_code, "vacancy_nhs"]
        return (asc["vacancy_weights"][r.staff_group] * cal["sectors"][r.sector]["vacancy_sector_weight"]
                * f.at[r.icb_code, "vacancy_asc"])

    w["weight"] = [raw_weight(r) for r in w.itertuples()]
    w["vacancies"] = 0.0
    cy = w["period"].dt.year == cal["calibration_year"]
    groups = {
        "nhs_trust": w["sector"].eq("nhs_trust"),
        "asc": w["sector"].str.startswith("asc_"),
        "primary_care": w["sector"].eq("primary_care"),
    }
    for name, m in groups.items():
        # In the calibration year, vacancies / (filled + vacancies) is set by a vacancy ratio per
        # row; the ratio's scale is solved so national vacancies meet the calibrated total.
        if name == "primary_care":
            rate = cal["sectors"]["primary_care"]["vacancy_rate_pct"] / 100
            target = (w.loc[m & cy, "filled_posts"] * rate / (1 - rate)).sum()
        else:
            target = cal["sectors"]["nhs_trust"]["vacancies"] if name == "nhs_trust" else asc["vacancies"]
        base = (w.loc[m & cy, "filled_posts"] * w.loc[m & cy, "weight"]).sum()
        scale = target / base
        yf = w.loc[m, "period"].dt.year.map(cal["vacancy_year_factor"])
        w.loc[m, "vacancies"] = w.loc[m, "filled_posts"] * w.loc[m, "weight"] * scale * yf
    w["vacancies"] = w["vacancies"].round(0)
    w["filled_posts"] = w["filled_posts"].round(1)
    w["source"] = _label()
    return _order(w, ["period", "icb_code", "sector", "staff_group", "vacancies", "filled_posts", "source"])


def make_flows(workforce: pd.DataFrame) -> pd.DataFrame:
    """Joiners and leavers over each financial year (``year`` = the year it starts in April)."""
    cal, f = calibration(), icb_factors()
    asc = cal["adult_social_care"]
    w = workforce.copy()
    w["year"] = w["period"].dt.year
    rows = []
    for r in w.itertuples():
        g = _rng("flows", r.icb_code, r.sector, r.staff_group, r.year)
        if r.sector.startswith("asc_"):
            rate = asc["turnover_pct"] * asc["turnover_weights"][r.staff_group]
            to_other = asc["to_nhs_pct_of_leavers"].get(r.staff_group, asc["to_nhs_pct_of_leavers"]["default"])
        else:
            sc = cal["sectors"][r.sector]
            rate = sc["leaver_rate_pct"] * sc.get("leaver_weights", {}).get(r.staff_group, 1.0)
            to_other = sc["to_other_sector_pct_of_leavers"]
        rate *= f.at[r.icb_code, "turnover"] * float(np.exp(g.normal(0, 0.04)))
        staff = r.headcount
        leavers = staff * rate / 100
        joiners = leavers + staff * _growth_pct(r.sector) / 100
        rows.append((r.year, r.icb_code, r.sector, r.staff_group, staff, joiners, leavers,
                     leavers * to_other / 100 * float(np.exp(g.normal(0, 0.1)))))
    df = pd.DataFrame(rows, columns=["year", "icb_code", "sector", "staff_group", "staff_in_post",
                                     "joiners", "leavers", "leavers_to_other_sector"])
    # Exact national calibration of the two headline rates in the calibration year.
    cy = df["year"] == cal["calibration_year"]
    for m, target in ((df["sector"].str.startswith("asc_"), asc["turnover_pct"]),
                      (df["sector"].eq("nhs_trust"), cal["sectors"]["nhs_trust"]["leaver_rate_pct"])):
        achieved = 100 * df.loc[m & cy, "leavers"].sum() / df.loc[m & cy, "staff_in_post"].sum()
        for col in ("leavers", "leavers_to_other_sector"):
            df.loc[m, col] *= target / achieved
        df.loc[m, "joiners"] = df.loc[m, "leavers"] + df.loc[m, "staff_in_post"] * df.loc[m, "sector"].map(_growth_pct) / 100
    for col in ("staff_in_post", "joiners", "leavers", "leavers_to_other_sector"):
        df[col] = df[col].round(0)
    df["leavers_to_other_sector"] = np.minimum(df["leavers_to_other_sector"], df["leavers"])
    df["source"] = _label()
    return _order(df, ["year", "icb_code", "sector", "staff_group", "staff_in_post", "joiners",
                       "leavers", "leavers_to_other_sector", "source"])


def make_pay() -> pd.DataFrame:
    cal, f = calibration(), icb_factors()
    p = cal["pay"]
    care_avg = dict(p["care_worker_average"])
    care_avg[p["calibration_year"]] = p["nhs_hca_new_to_role"][p["calibration_year"]] - p["care_worker_gap_gbp"]
    # Each ICB's pay varies around the national figure; re-centre so the national mean (outside
    # London, where no uplift applies) equals the calibrated figure exactly.
    noise = f["pay_noise"] / f.loc[f["region_code"] != "Y56", "pay_noise"].mean()
    outside = noise[f["region_code"] != "Y56"].to_numpy()
    rows = []
    for year in cal["years"]:
        hca, nlw = p["nhs_hca_new_to_role"][year], p["national_living_wage"][year]
        cw = _level_for_mean(care_avg[year], outside, nlw)
        for code, r in f.iterrows():
            london = r["region_code"] == "Y56"
            nhs_up = p["london_uplift"]["nhs"] if london else 1.0
            asc_up = (p["london_uplift"]["asc"] if london else 1.0) * noise[code]
            for group, rel in p["relative_to_nhs_hca"].items():
                # Agenda for Change is national: NHS pay varies by London weighting only.
                rows.append((year, code, "nhs_trust", group, "all", hca * rel * nhs_up))
            rows.append((year, code, "nhs_trust", "support_to_clinical", "new_to_role", hca * nhs_up))
            for sector in _asc_shares():
                care = max(cw * asc_up, nlw)          # no care worker average below the NLW
                rows.append((year, code, sector, "care_worker", "all", care))
                rows.append((year, code, sector, "care_worker", "new_to_role", max(nlw, care * 0.97)))
                for group, rel in p["relative_to_care_worker"].items():
                    if group in _asc_shares()[sector]:
                        rows.append((year, code, sector, group, "all", care * rel))
    df = pd.DataFrame(rows, columns=["year", "icb_code", "sector", "staff_group", "experience", "pay_gbp_per_hour"])
    df["pay_gbp_per_hour"] = df["pay_gbp_per_hour"].round(2)
    df["source"] = _label()
    return _order(df, ["year", "icb_code", "sector", "staff_group", "experience", "pay_gbp_per_hour", "source"])


def _level_for_mean(target: float, factors: np.ndarray, floor: float) -> float:
    """Level L such that mean(max(L x factor, floor)) == target (bisection; the NLW floor
    would otherwise lift the average above the calibrated figure)."""
    if target <= floor:
        return floor
    lo, hi = floor / factors.max() / 2, target * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.maximum(mid * factors, floor).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _family(sector: str) -> str:
    return "social_care" if sector.startswith("asc_") else sector


def make_workforce_age(workforce: pd.DataFrame) -> pd.DataFrame:
    cal = calibration()
    latest = workforce[workforce["period"] == workforce["period"].max()]
    bands = vocab.workforce_age_bands()
    rows = []
    for r in latest.itertuples():
        prof = np.array([cal["age_profile"][_family(r.sector)][b] for b in bands])
        mix = _rng("age", r.icb_code, r.sector, r.staff_group).dirichlet(prof * 400)
        counts = np.round(mix * r.headcount)
        for b, c in zip(bands, counts):
            rows.append((r.period.year, r.icb_code, r.sector, r.staff_group, b, float(c)))
    df = pd.DataFrame(rows, columns=["year", "icb_code", "sector", "staff_group", "age_band", "headcount"])
    df["source"] = _label()
    return _order(df, ["year", "icb_code", "sector", "staff_group", "age_band", "headcount", "source"])


GP_ROLES = {"doctor": [("gp_qualified", "doctor", "qualified_gp_share_of_doctors"), ("gp_trainee_locum", "doctor", None)],
            "registered_nurse": [("nurse", "registered_nurse", None)],
            "ahp": [("direct_patient_care", "support_to_clinical", None)],
            "scientific_technical": [("direct_patient_care", "support_to_clinical", None)],
            "support_to_clinical": [("direct_patient_care", "support_to_clinical", None)],
            "infrastructure_admin": [("admin", "infrastructure_admin", None)]}


def make_gp_workforce(workforce: pd.DataFrame) -> pd.DataFrame:
    """General practice by role and financial year (synthetic), from the demo's primary care staff
    at each September: doctors split into qualified GPs and trainees/locums, the clinical groups
    other than nurses counted as direct patient care, partners a share of qualified GPs;
    registered patients are the ICB's population times the list inflation in the calibration."""
    cal = calibration()["primary_care_practices"]
    pc = workforce[workforce["sector"] == "primary_care"]
    pop = population.reference_population()
    rows = []
    for (period, code), d in pc.groupby(["period", "icb_code"]):
        fy = f"{period.year}/{(period.year + 1) % 100:02d}"
        year = min(pop["year"].unique(), key=lambda y: abs(y - period.year))
        patients = round(population.for_year(pop[pop["icb_code"] == code], year)["population"].sum() * cal["list_inflation"])
        roles: dict[tuple[str, str], list[float]] = {}
        for r in d.itertuples():
            for role, group, _ in GP_ROLES.get(r.staff_group, []):
                share = 1.0
                if r.staff_group == "doctor":
                    share = cal["qualified_gp_share_of_doctors"] if role == "gp_qualified" else 1 - cal["qualified_gp_share_of_doctors"]
                acc = roles.setdefault((role, group), [0.0, 0.0])
                acc[0] += r.fte * share
                acc[1] += r.headcount * share
        qualified = roles[("gp_qualified", "doctor")]
        roles[("gp_partner", "doctor")] = [qualified[0] * cal["partner_share_of_qualified_gps"],
                                           qualified[1] * cal["partner_share_of_qualified_gps"]]
        n_practices = max(1, round(patients / cal["patients_per_practice"]))
        for (role, group), (fte, hc) in roles.items():
            rows.append((fy, code, role, group, role != "gp_partner", round(fte, 1), float(round(hc)),
                         float(n_practices), float(patients)))
    df = pd.DataFrame(rows, columns=["financial_year", "icb_code", "role", "staff_group", "in_total", "fte", "headcount",
                                     "practices", "registered_patients"])
    df["source"] = _label()
    return df.sort_values(["financial_year", "icb_code", "role"], kind="mergesort").reset_index(drop=True)


def census_resident_shares() -> pd.DataFrame:
    """Share of each ICB's residents in each ethnic group: Census 2021 (the committed
    residents_ethnicity reference table, real); one row per ICB, one column per group."""
    res = pd.read_csv(paths.reference("residents_ethnicity.csv"))
    piv = res.pivot_table(index="icb_code", columns="ethnic_group", values="people", aggfunc="sum")
    return piv.div(piv.sum(axis=1), axis=0)


def make_ethnicity(workforce: pd.DataFrame) -> pd.DataFrame:
    """Workforce ethnicity by sector (synthetic): each ICB's ethnic minority share is its
    residents' share in Census 2021 times a sector multiplier, with noise, split between the
    minority groups as its residents are. Residents' ethnicity
    itself is real (the residents_ethnicity reference table), so the demo holds no resident rows."""
    cal, f = calibration(), icb_factors()
    e = cal["ethnicity"]
    latest = workforce[workforce["period"] == workforce["period"].max()]
    year = int(latest["period"].dt.year.iloc[0])
    shares = census_resident_shares()
    minority = ["asian", "black", "mixed", "other"]
    rows = []
    for code in f.index:
        g = _rng("ethnicity", code)
        res_nw = float(shares.loc[code, minority].sum())
        split = shares.loc[code, minority].to_numpy() / res_nw
        for sector in vocab.sector_codes():
            total = latest.loc[(latest["icb_code"] == code) & (latest["sector"] == sector), "headcount"].sum()
            fam = _family(sector)
            nw = min(0.85, res_nw * e["workforce_multiplier"][fam] * float(np.exp(g.normal(0, 0.1))))
            unknown = e["unknown_share"][fam] * float(np.exp(g.normal(0, 0.3)))
            known = total * (1 - unknown)
            parts = {"white": known * (1 - nw)}
            parts.update(dict(zip(("asian", "black", "mixed", "other"), known * nw * split)))
            parts["unknown"] = total * unknown
            for eg in vocab.ethnic_groups():
                rows.append((year, code, "workforce", sector, eg, float(round(parts[eg]))))
    df = pd.DataFrame(rows, columns=["year", "icb_code", "group", "sector", "ethnic_group", "people"])
    df["source"] = _label() + " (workforce shares scaled from Census 2021 residents of each ICB)"
    return _order(df, ["year", "icb_code", "group", "sector", "ethnic_group", "people", "source"])


def kpi_definitions() -> list[dict]:
    return vocab.load_yaml("kpis.yaml")["kpis"]


def kpi_target(kpi: dict, icb_code: str) -> float | None:
    overrides = vocab.load_yaml("kpi_targets.yaml") or {}
    return (overrides.get(icb_code) or {}).get(kpi["id"], kpi.get("target"))


def kpi_anchors(vacancies: pd.DataFrame, flows: pd.DataFrame) -> dict[str, tuple[pd.Timestamp, pd.Series]]:
    """KPIs the data theme also shows, with the month both themes share and each ICB's value there,
    computed from the demo tables as the data theme computes it (one truth per measure): vacancy
    rates at the latest snapshot; leaver and turnover rates over the latest financial year, read at
    its last month."""
    snap = vacancies["period"].max()
    v = vacancies[vacancies["period"] == snap]
    year = int(flows["year"].max())
    f = flows[flows["year"] == year]
    fy_end = pd.Timestamp(f"{year + 1}-03-01")

    def vac(sel):
        g = v[sel].groupby("icb_code")[["vacancies", "filled_posts"]].sum()
        return 100 * g["vacancies"] / (g["vacancies"] + g["filled_posts"])

    def turn(sel):
        g = f[sel].groupby("icb_code")[["leavers", "staff_in_post"]].sum()
        return 100 * g["leavers"] / g["staff_in_post"]

    return {"vacancy_rate_nhs": (snap, vac(v["sector"] == "nhs_trust")),
            "vacancy_rate_asc": (snap, vac(v["sector"].str.startswith("asc_"))),
            "leaver_rate_nhs": (fy_end, turn(f["sector"] == "nhs_trust")),
            "turnover_asc": (fy_end, turn(f["sector"].str.startswith("asc_")))}


def make_kpi_observations(anchors: dict[str, tuple[pd.Timestamp, pd.Series]] | None = None) -> pd.DataFrame:
    """Monthly (or annual) KPI series per ICB; a KPI in ``anchors`` is moved as a whole so that its
    value in the shared month equals the demo tables' figure for that ICB."""
    cal = calibration()
    anchors = anchors or {}
    months = pd.date_range(cal["kpi_months"]["start"], cal["kpi_months"]["end"], freq="MS")
    rows = []
    for kpi in kpi_definitions():
        if "demo" not in kpi:         # a KPI read from real published series only (e.g. nhs_trust_staff_mom_pct)
            continue
        d = kpi["demo"]
        annual = kpi.get("frequency") == "annual"
        periods = months[months.month == 10] if annual else months
        for code in geography.icb_codes():
            g = _rng("kpi", kpi["id"], code)
            level = d["level"] * float(np.exp(g.normal(0, 0.12)))
            t = np.arange(len(periods)) / (1 if annual else 12)
            noise = np.zeros(len(periods))
            e = g.normal(0, d["sd"], len(periods))
            for i in range(len(periods)):          # mild autocorrelation, as real monthly series have
                noise[i] = e[i] + (0.3 * noise[i - 1] if i else 0)
            values = level + d["trend"] * t + noise
            if d.get("seasonal"):
                values += d["seasonal"] * np.cos(2 * np.pi * (periods.month.to_numpy() - 1) / 12)
            if not annual and g.random() < 0.3:    # a sustained shift in some systems
                at = int(g.integers(12, len(periods) - 8))
                values[at:] += g.choice([-1, 1]) * 2.5 * d["sd"]
            if kpi["id"] in anchors:
                when, value = anchors[kpi["id"]]
                values += float(value[code]) - values[list(periods).index(when)]
            values = np.maximum(values, 0)
            if kpi["unit"] == "staff":
                values = np.round(values)
            target = kpi_target(kpi, code)
            for p, v in zip(periods, values):
                rows.append((code, kpi["id"], p, round(float(v), 2), target))
    df = pd.DataFrame(rows, columns=["icb_code", "kpi_id", "period", "value", "target"])
    df["source"] = _label()
    return _order(df, ["icb_code", "kpi_id", "period", "value", "target", "source"])


# Demo partners of each ICB's readiness self-assessment (kinds of organisation, never names), and
# the role that owns the next step on an item in each domain.
READINESS_PARTNERS = ("ICB", "NHS trusts", "Local authorities", "Voluntary and community sector")
READINESS_OWNERS = {"vision": "ICS workforce lead", "people": "Chief people officer", "plan": "ICS workforce lead",
                    "governance": "Board secretary", "culture": "Organisational development lead",
                    "communication": "Communications lead", "data": "Workforce intelligence lead"}


def make_readiness_responses() -> pd.DataFrame:
    """Two rounds of a four-partner self-assessment per ICB: partners differ around the system's
    maturity (so some disagree by two levels or more), mostly improve between rounds, and leave
    a few items not assessed; gaps below 'established' name an owner (a role) and a due date."""
    cal = calibration()
    bank = vocab.load_yaml("readiness_items.yaml")
    items = bank["items"]
    top = max(int(k) for k in bank["scale"])
    rows = []
    for code in geography.icb_codes():
        g = _rng("readiness", code)
        maturity = g.uniform(0.8, 2.4)
        offsets = g.normal(0, 0.4, len(READINESS_PARTNERS))
        prev = None
        for k, when in enumerate(cal["readiness_rounds"]):
            when = pd.Timestamp(when)
            shape = (len(READINESS_PARTNERS), len(items))
            raw = maturity + offsets[:, None] + k * g.uniform(0.2, 0.8) + g.normal(0, 0.5, shape)
            scores = np.clip(np.round(raw), 0, top)
            if prev is not None:
                scores = np.maximum(scores, prev - 1)
            prev = scores
            missing = g.random(shape) < 0.03
            for p, partner in enumerate(READINESS_PARTNERS):
                for i, item in enumerate(items):
                    s = None if missing[p, i] else int(scores[p, i])
                    gap = s is not None and s < 3
                    due = when + pd.DateOffset(months=int(g.integers(3, 13))) + pd.offsets.MonthEnd(0) if gap else pd.NaT
                    rows.append((code, when, partner, item["id"], s, "Synthetic" if s is not None else None,
                                 READINESS_OWNERS[item["domain"]] if gap else None, due))
    df = pd.DataFrame(rows, columns=["icb_code", "assessment_date", "partner", "item_id", "score", "evidence", "owner",
                                     "due_date"])
    df["score"] = df["score"].astype("Int64")
    df["source"] = _label()
    return df


def _order(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    keys = [c for c in ("period", "year", "icb_code", "kpi_id", "group", "sector", "staff_group",
                        "experience", "age_band", "ethnic_group") if c in cols]
    return df[cols].sort_values(keys, kind="mergesort").reset_index(drop=True)


def build_tables() -> dict[str, pd.DataFrame]:
    wf = make_workforce()
    vac, flows = make_vacancies(wf), make_flows(wf)
    return {
        "workforce": wf,
        "vacancies": vac,
        "flows": flows,
        "pay": make_pay(),
        "workforce_age": make_workforce_age(wf),
        "ethnicity": make_ethnicity(wf),
        "gp_workforce": make_gp_workforce(wf),
        "kpi_observations": make_kpi_observations(kpi_anchors(vac, flows)),
        "readiness_responses": make_readiness_responses(),
    }


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV: ISO dates, fixed line endings, shortest round-trip float repr."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "M":
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def manifest(tables: dict[str, pd.DataFrame]) -> dict:
    return {
        "dataset": DEMO_MARK,
        "label": SYNTHETIC_LABEL,
        "generator": "iwt data demo (iwt_helpers.data.demo)",
        "calibration": "data/reference/demo_calibration.yaml",
        "tables": {
            name: {
                "file": f"{name}.csv",
                "rows": int(len(df)),
                "synthetic": True,
                "source": df["source"].iloc[0],
            }
            for name, df in tables.items()
        },
    }


def write_demo(out_dir: Path | None = None) -> dict[str, Path]:
    """Generate, validate every table, then write all files (each atomically). A folder that holds
    files and is not a demo set (its ``datasets.json`` saying so) is refused: nothing in it is overwritten."""
    out_dir = Path(out_dir or paths.DEMO)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not made_by_demo(out_dir))):
        raise RefusedFolderError(f"--out {out_dir}: " + ("is a file" if not out_dir.is_dir() else
                                 f"holds files iwt data demo did not make (no {MANIFEST} of a demo set)") +
                                 "; it would overwrite them, so it will not write there. Choose a new or empty folder, "
                                 "or one iwt data demo made.")
    tables = build_tables()
    for name, df in tables.items():
        schemas.validate(name, df, file=f"{out_dir / (name + '.csv')} (generated)")
    written = {}
    for name, df in tables.items():
        written[name] = atomic.write_bytes(out_dir / f"{name}.csv", to_csv_bytes(df))
    text = json.dumps(manifest(tables), indent=2, sort_keys=True) + "\n"
    written["manifest"] = atomic.write_text(out_dir / MANIFEST, text)
    return written
