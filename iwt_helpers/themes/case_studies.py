"""The case_studies theme (notebooks/04_case_studies.ipynb): the ICB's nearest peers on real context
indicators, a like-for-like comparison with them, the guide's four case-study systems and England,
and the case-study initiatives that best address the ICB's weakest readiness items.

Each ``*_section(ctx)`` returns a renderer ``icb_code -> list of items`` for
:class:`iwt_helpers.present.explorer.Explorer`. Peers come from ``analysis.peers`` (real reference
tables only); workforce figures from the model's inputs (``analysis.system_data``, as the data theme
reads them: real or synthetic, each labelled); readiness from the ICB's rounds
(``analysis.readiness_rounds``: saved rounds, or the demo rounds labelled synthetic).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iwt_helpers.analysis import carers, peers
from iwt_helpers.analysis import case_studies as cs
from iwt_helpers.analysis import primary_care as gp_analysis
from iwt_helpers.analysis import readiness as ra
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.analysis.readiness_rounds import ReadinessRounds
from iwt_helpers.analysis.system_data import SystemData
from iwt_helpers.data import population
from iwt_helpers.data.datastore import Dataset
from iwt_helpers.present import charts
from iwt_helpers.present.explorer import depends_on
from iwt_helpers.present.items import Figure, Headline, Provenance, Table, Text, compact_sources
from iwt_helpers.present.provenance import footer_text, provenance_of

from .wording import caveat, icb_name, readiness_rounds_caveat

K = 5                     # neighbours shown (the peer-count control's default)
MAX_PEERS = 15            # the most neighbours the peer-count control offers
WEAKEST = 5               # weakest readiness items the initiatives are matched against
DATA_TABLES = ("workforce", "vacancies", "flows", "kpi_observations", "gp_workforce")   # shown in the comparison
SHORT = {"population": "population", "share_65_plus": "share aged 65+", "share_85_plus": "share aged 85+",
         "growth_65_plus": "growth in 65+", "imd_score": "deprivation", "rural_share": "rural share"}
GUIDE_PERIOD = "October 2022 (the guide's good-practice chapter)"
READINESS_BANNER = "readiness self-assessment rounds (no rounds saved for this ICB)"    # as the readiness theme's banner


@dataclass
class CaseStudyContext:
    ds: Dataset
    params: ReportParams
    settings: peers.PeerSettings
    ind: pd.DataFrame
    systems: pd.DataFrame
    initiatives: pd.DataFrame
    data: SystemData
    readiness: ReadinessRounds
    peer_count: Callable[[], int] = lambda: K     # how many neighbours to show (an Explorer control's value)
    _neighbours: dict = field(default_factory=dict, repr=False)     # (ICB, count) -> nearest peers

    @classmethod
    def load(cls, ds: Dataset, params: ReportParams, peer_count: Callable[[], int] | None = None) -> CaseStudyContext:
        settings = peers.load_settings()
        ind = peers.load_indicators(ds, settings)
        systems, initiatives = cs.load_library()
        return cls(ds, params, settings, ind, systems, initiatives, SystemData.load(ds, params),
                   ReadinessRounds.load(ds, params), peer_count or (lambda: params.peer_count))

    @functools.cached_property
    def distances(self) -> pd.DataFrame:
        return peers.distance_matrix(self.ind, self.settings.weights)

    def neighbours(self, icb: str) -> pd.DataFrame:
        """The ICB's ``peer_count()`` nearest peers (worked out once for each ICB and count: never change it)."""
        key = (icb, int(self.peer_count()))
        if key not in self._neighbours:
            self._neighbours[key] = peers.nearest_peers(icb, key[1], ind=self.ind, weights=self.settings.weights)
        return self._neighbours[key]

    @functools.cached_property
    def projection(self) -> tuple[pd.DataFrame, np.ndarray]:
        """The 42 ICBs on the first two components of the standardised indicators (:func:`peers.projection_2d`)."""
        return peers.projection_2d(self.ind, self.settings.weights)

    @functools.cached_property
    def indicator_prov(self) -> Provenance:
        s = self.settings
        return Provenance(compact_sources(self.ind.attrs["sources"]),
                          f"population {s.base_year} and {s.base_year + s.growth_years}; IMD 2025; rural-urban 2011", "real")

    @functools.cached_property
    def library_prov(self) -> Provenance:
        return Provenance(self.systems.attrs["source"], GUIDE_PERIOD, "real")

    def synthetic_tables(self) -> list[str]:
        """The data tables this theme shows figures from that have synthetic rows."""
        return [t for t in DATA_TABLES if self.data.synthetic(t)]

    def synthetic(self, icb: str) -> bool:
        return bool(self.synthetic_tables()) or self.readiness.synthetic(icb)

    def banner_parts(self, icb: str) -> list[str]:
        return self.synthetic_tables() + ([READINESS_BANNER] if self.readiness.synthetic(icb) else [])


# --------------------------------------------------------------------------- 1. method and neighbours


def peers_section(ctx: CaseStudyContext):
    """The method, and each neighbour's distance and biggest differences."""
    @depends_on("icb_code", "peer_count")
    def render(icb: str) -> list:
        nb = ctx.neighbours(icb)
        prov = ctx.indicator_prov
        w = ctx.settings.weights
        used = ", ".join(f"{peers.label_of(c)} (weight {w.get(c, 0):g})" for c in ctx.ind.columns if w.get(c, 0) > 0)
        mine = pd.DataFrame({"indicator": [peers.label_of(c) for c in ctx.ind.columns],
                             "value": [peers.show(c, ctx.ind.at[icb, c]) for c in ctx.ind.columns],
                             "england_median": [peers.show(c, ctx.ind[c].median()) for c in ctx.ind.columns],
                             "weight": [w.get(c, 0.0) for c in ctx.ind.columns]})
        first = nb.iloc[0]
        return [
            Headline("Case studies: distance to the nearest peer ICB (standardised context indicators)", float(first["distance"]),
                     f"to {first['icb_name']}", "{:.2f}", provenance=prov),
            Text(f"**Method.** Each of the 42 ICBs is described by {used}. Each indicator is standardised over the 42 ICBs "
                 "(minus its mean, over its standard deviation) and the distance between two ICBs is the square root of the "
                 "weighted mean of their squared differences: 0 is identical, 1 is one standard deviation apart on average. "
                 "All indicators are real published figures; the weights are in data/reference/peer_indicators.yaml."),
            Table(nb, f"{icb_name(icb)}: its {len(nb)} nearest peers on context indicators; nearest is {first['icb_name']} "
                  f"(distance {first['distance']:.2f})",
                  {"rank": "Rank", "icb_code": "ICB", "icb_name": "Name", "distance": "Distance",
                   "biggest_differences": "Biggest differences (peer against this ICB)"},
                  {"distance": "{:.2f}"}, key="peer_neighbours", suppress=False, provenance=prov),
            Table(mine, f"{icb_name(icb)}: the context indicators against the median ICB",
                  {"indicator": "Indicator", "value": icb_name(icb), "england_median": "Median of 42 ICBs", "weight": "Weight"},
                  {"weight": "{:g}"}, suppress=False, provenance=prov),
        ]
    return render


# --------------------------------------------------------------------------- 2. like-for-like comparison


def _areas(ctx: CaseStudyContext, icb: str) -> pd.DataFrame:
    rows = [{"icb_code": icb, "role": "This ICB"}]
    rows += [{"icb_code": c, "role": f"Peer {r}"} for r, c in zip(ctx.neighbours(icb)["rank"], ctx.neighbours(icb)["icb_code"])]
    for r in ctx.systems.itertuples():
        rows.append({"icb_code": r.icb_code, "role": "Case study"})
    out = pd.DataFrame(rows).groupby("icb_code", sort=False)["role"].agg("; ".join).reset_index()
    out["area"] = out["icb_code"].map(icb_name)
    return out


def comparison_section(ctx: CaseStudyContext):
    """The ICB beside its peers, the case-study systems and England on key indicators."""
    t = ctx.data.t
    pop, uc, gp = t["population"], t["unpaid_care"], ctx.data.gp

    def figures(code: str, fy) -> tuple[dict, dict]:
        """An area's unpaid carers and GP figures, and England's beside them; each area worked out once for the
        tables (the peer-count control, the ICB picker and every later report ask for the same areas again and
        again: :meth:`SystemData.memo`, which also keeps the region's and England's GP tables)."""
        return ctx.data.memo(("peer_comparison_figures", code, fy), lambda: _area_figures(uc, gp, code, fy, ctx.data.memo))

    @depends_on("icb_code", "peer_count")
    def render(icb: str) -> list:
        areas = _areas(ctx, icb)
        s = ctx.settings
        base, end = s.base_year, s.base_year + s.growth_years
        # one basis per year, as the ICBs' rows (peers.indicator_table): a folder may hold estimates and older bases too
        p = pd.concat([population.for_year(pop, y) for y in (base, end)], ignore_index=True)
        p = p.assign(lower=p["age_band"].str.extract(r"^(\d+)")[0].astype(int))
        eng_tot = p[p["year"] == base]["population"].sum()
        eng65 = p[(p["lower"] >= 65)].groupby("year")["population"].sum()
        england = {"icb_code": "ENG", "role": "England", "area": "England",
                   "share_65_plus": 100 * eng65[base] / eng_tot, "growth_65_plus": 100 * (eng65[end] / eng65[base] - 1)}
        funnels = {label: table for label, table, _, _ in ctx.data.funnels}
        vac, tur, sick = (funnels["Social care vacancy rate"], funnels["Social care turnover"], funnels["NHS sickness absence"])
        fy = gp["financial_year"].max() if len(gp) else None
        rows = []
        for a in areas.itertuples():
            mine, eng = figures(a.icb_code, fy)
            rows.append({"icb_code": a.icb_code, "role": a.role, "area": a.area,
                         "share_65_plus": ctx.ind.at[a.icb_code, "share_65_plus"],
                         "growth_65_plus": ctx.ind.at[a.icb_code, "growth_65_plus"], **mine,
                         "nhs_sickness_pct": vac_rate(sick, a.icb_code),
                         "asc_vacancy_pct": vac_rate(vac, a.icb_code),
                         "asc_turnover_pct": vac_rate(tur, a.icb_code)})
            if a.Index == 0:
                england.update(eng)
        sized_by_synthetic = ctx.data.memo(("asc_vacancy_sized_by_synthetic",), lambda: _sized_by_synthetic(ctx.data))
        england.update(nhs_sickness_pct=sick.attrs["overall_pct"],
                       asc_vacancy_pct=np.nan if sized_by_synthetic else vac.attrs["overall_pct"],
                       asc_turnover_pct=tur.attrs["overall_pct"])
        table = pd.DataFrame(rows + [england])

        funnel_rows = ctx.data.funnel_rows
        parts = {
            "Residents aged 65+ (%) and their growth": provenance_of(p.assign(synthetic=False), f"{base} and {end}"),
            "Unpaid carers per 100 residents 5+": provenance_of(uc, "Census day, 21 March 2021"),
            "Qualified GP FTE per 10,000 patients": provenance_of(gp[gp["financial_year"] == fy]) if fy is not None
            else Provenance("", "", "missing"),
            "NHS sickness absence (%)": provenance_of(funnel_rows["NHS sickness absence"]),
            "Social care vacancy rate (%)": provenance_of(_rates_rows(funnel_rows["Social care vacancy rate"])),
            "Social care turnover (%)": provenance_of(funnel_rows["Social care turnover"]),
        }
        measures = pd.DataFrame([{"measure": m, "source": pr.source, "period": pr.period, "status": pr.status_text()}
                                 for m, pr in parts.items()])
        prov = Provenance.combine(list(parts.values()))
        syn = [m for m, pr in parts.items() if pr.synthetic]
        me = table.iloc[0]
        return [
            Text("Like for like: the ICB, its nearest peers, the guide's four case-study systems and England. "
                 + (f"Synthetic (demonstration) figures in this table: {', '.join(syn)}; the rest are real."
                    if syn else "Every figure in this table is real.")),
            Table(table, f"{icb_name(icb)} beside its peers, the case-study systems and England: {me['share_65_plus']:.1f}% of "
                  f"residents are 65+ (England {england['share_65_plus']:.1f}%), growing {me['growth_65_plus']:.1f}% by {end}",
                  {"role": "Role", "icb_code": "ICB", "area": "Area", "share_65_plus": f"Aged 65+ (%, {base})",
                   "growth_65_plus": f"65+ growth {base}-{end} (%)", "carers_per_100": "Unpaid carers per 100 (2021)",
                   "gp_fte_per_10k": f"Qualified GP FTE per 10,000 patients ({fy})", "nhs_sickness_pct": "NHS sickness (%)",
                   "asc_vacancy_pct": "Social care vacancy (%)", "asc_turnover_pct": "Social care turnover (%)"},
                  {"share_65_plus": "{:.1f}", "growth_65_plus": "{:.1f}", "carers_per_100": "{:.1f}", "gp_fte_per_10k": "{:.2f}",
                   "nhs_sickness_pct": "{:.2f}", "asc_vacancy_pct": "{:.1f}", "asc_turnover_pct": "{:.1f}"},
                  key="peer_comparison", suppress=False, provenance=prov,
                  # each area's rates are the registry's figures (analysis.measures), as its own reports show them
                  measures={"nhs_sickness_pct": [ctx.data.measure("nhs_sickness_rate_12m", c) for c in areas["icb_code"]],
                            "asc_vacancy_pct": [ctx.data.measure("asc_vacancy_rate", c) for c in areas["icb_code"]]}),
            Table(measures, "Where each measure comes from, and whether it is real or synthetic",
                  {"measure": "Measure", "source": "Source", "period": "Period", "status": "Status"},
                  key="peer_measures", suppress=False, provenance=prov),
        ]
    return render


def _area_figures(uc: pd.DataFrame, gp: pd.DataFrame, code: str, fy, once) -> tuple[dict, dict]:
    """An area's unpaid carers per 100 residents and qualified GP FTE per 10,000 patients, and England's."""
    c = carers.carers_per_100(uc, code)
    g = gp_analysis.per_10k_patients(gp, code, fy, once=once) if fy is not None else pd.DataFrame()
    g = g[(g["role"] == "gp_qualified")] if len(g) else g
    ce = c[(c["area"] == "England") & (c["hours_band"] == "all")]
    ge = g[g["area"] == "England"] if len(g) else g
    return ({"carers_per_100": float(c.loc[(c["area"] == c["area"].iloc[0]) & (c["hours_band"] == "all"),
                                           "carers_per_100_residents"].iloc[0]),
             "gp_fte_per_10k": float(g["fte_per_10k_patients"].iloc[0]) if len(g) else np.nan},
            {"carers_per_100": float(ce["carers_per_100_residents"].iloc[0]),
             "gp_fte_per_10k": float(ge["fte_per_10k_patients"].iloc[0]) if len(ge) else np.nan})


def _sized_by_synthetic(data: SystemData) -> bool:
    """Whether England's social care vacancy rate would weight published rates by synthetic posts: it is then
    no published figure (the data page's funnel leaves it out too)."""
    rows = data.funnel_rows["Social care vacancy rate"]
    return provenance_of(rows).synthetic and not provenance_of(_rates_rows(rows)).synthetic


def _rates_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a funnel's rates come from: the published rates where it has them (its sizes, which only
    set the funnel's limits, may be synthetic)."""
    return rows[rows["kpi_id"].notna()] if "kpi_id" in rows and rows["kpi_id"].notna().any() else rows


def vac_rate(table: pd.DataFrame, icb: str) -> float:
    """An ICB's rate from a funnel table (NaN where it has none)."""
    return float(table.at[icb, "rate_pct"]) if icb in table.index else np.nan


# --------------------------------------------------------------------------- 3. what could we adopt


def adopt_section(ctx: CaseStudyContext):
    """Library initiatives ranked by how well they address the ICB's weakest readiness items."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        resp = ctx.readiness.responses(icb)
        if resp.df.empty:
            return [Text(f"No readiness responses for {icb_name(icb)}, so initiatives cannot be matched to its weakest items.")]
        bank = ctx.readiness.bank
        latest, _ = ra.latest_and_previous(resp.df)
        plan = resp.scoring(bank).action_plan()
        ranked = cs.rank_initiatives(ctx.initiatives, plan, WEAKEST, icb_code=icb)
        own = ctx.initiatives[ctx.initiatives["icb_code"] == icb]
        rprov = provenance_of(*ctx.readiness.assessed(resp, [latest]))
        prov = Provenance.combine([rprov, ctx.library_prov])
        weakest = plan.head(WEAKEST)
        kind = "saved (real) round" if resp.saved else "demonstration round (synthetic: no rounds saved for this ICB)"
        caveat = ("" if resp.saved else " This ranking rests on synthetic demonstration rounds, not on this ICB's own "
                  "assessment: it shows how the matching works, not what the ICB should adopt.")
        if len(own):
            caveat += (f" {icb_name(icb)}'s own initiatives in the library ({', '.join(own['title'])}) are left out: they "
                       "are what it already does.")
        top = ranked.iloc[0]
        shown = ranked.assign(case_study=ranked["system"] + " (" + ranked["icb_code"] + ")")
        return [
            Headline(f"Case studies: initiatives addressing at least one of the {WEAKEST} weakest readiness items",
                     int((ranked["n_weak"] > 0).sum()), f"of {len(ranked)}", provenance=prov),
            Text(f"Weakest readiness items of {icb_name(icb)} in its {ra.period_label(latest)} {kind}, by weighted gap: "
                 + "; ".join(f"**{r.item_id}** {r.text} (weighted gap {r.weighted_gap:.2f})" for r in weakest.itertuples())
                 + f". Best match: **{top['title']}** ({top['system']})." + caveat),
            Table(shown, (f"{icb_name(icb)}: what could we adopt - case-study initiatives of other systems ranked by the summed "
                          f"weighted gap of the readiness items they address; best match {top['title']} ({top['system']})")
                  if resp.saved else (f"{icb_name(icb)}: case-study initiatives of other systems ranked against the synthetic "
                                      "demonstration rounds (an illustration of the matching, not a recommendation)"),
                  {"rank": "Rank", "title": "Initiative", "case_study": "Case study", "what": "What it is",
                   "weakest_addressed": f"Of the {WEAKEST} weakest items, addresses", "addresses": "Items addressed (weighted gap)",
                   "score": "Score"},
                  {"score": "{:.2f}"}, key="adoptable_initiatives", suppress=False, provenance=prov),
        ]
    return render


# --------------------------------------------------------------------------- 4. similarity scatter


def similarity_figure(ctx: CaseStudyContext, icb: str):
    import matplotlib.pyplot as plt

    pts, share = ctx.projection
    load = pts.attrs["loadings"]
    nb = ctx.neighbours(icb)
    case = [c for c in ctx.systems["icb_code"] if c != icb]
    d = ctx.distances[icb]
    nearest_case = min(case, key=lambda c: (d[c], c)) if case else None
    fig, ax = plt.subplots(figsize=(10, 7))
    others = pts.drop(index=[icb, *nb["icb_code"], *case], errors="ignore")
    ax.scatter(others["pc1"], others["pc2"], s=30, color=charts.NHS["mid_grey"], alpha=0.6, label="Other ICBs")
    ax.scatter(pts.loc[nb["icb_code"], "pc1"], pts.loc[nb["icb_code"], "pc2"], s=70, color=charts.NHS["bright_blue"],
               label=f"{len(nb)} nearest peers")
    ax.scatter(pts.loc[case, "pc1"], pts.loc[case, "pc2"], s=90, marker="D", facecolors="none",
               edgecolors=charts.NHS["orange"], linewidths=2, label="Case-study systems")
    ax.scatter([pts.at[icb, "pc1"]], [pts.at[icb, "pc2"]], s=160, marker="*", color=charts.NHS["dark_red"], label=icb_name(icb))
    named = list(dict.fromkeys([icb, *nb["icb_code"], *case]))      # only these are named, nudged apart below
    ax.set_title(f"Similarity of the {len(pts)} ICBs on context indicators (a scatter, not a map)", fontsize=10, loc="left")

    def axis_label(i: int) -> str:
        top = load.iloc[:, i].abs().sort_values(ascending=False).index[:2]
        words = " and ".join(f"{'higher' if load.at[t, load.columns[i]] > 0 else 'lower'} {SHORT[t]}" for t in top)
        return f"Component {i + 1} ({share[i]:.0%} of variation)\ntowards {words}"
    ax.set_xlabel(axis_label(0), fontsize=9)
    ax.set_ylabel(axis_label(1), fontsize=9)
    ax.margins(x=0.18, y=0.08)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    first = nb.iloc[0]
    title = (f"{icb_name(icb)} is most like {first['icb_name']} (distance {first['distance']:.2f})"
             + (f"; of the {'other ' if icb in set(ctx.systems['icb_code']) else ''}case-study systems, "
                f"{icb_name(nearest_case)} is nearest ({d[nearest_case]:.2f})" if nearest_case else ""))
    prov = ctx.indicator_prov
    charts.finish(fig, title, footer_text(prov), False, right_in=0.8 + charts._text_width_in([icb_name(icb), "Case-study systems"], 8))
    charts.label_points(ax, [(pts.at[c, "pc1"], pts.at[c, "pc2"], icb_name(c)) for c in named],
                        others=list(zip(others["pc1"], others["pc2"])))
    return fig, prov


def similarity_section(ctx: CaseStudyContext):
    """A scatter of the 42 ICBs on the first two components of the standardised indicators (not a map),
    with the ICB, its peers and the case studies named."""
    @depends_on("icb_code", "peer_count")
    def render(icb: str) -> list:
        fig, prov = similarity_figure(ctx, icb)
        return [Figure(fig, prov),
                Text("The scatter (not a map: position is similarity, not geography) plots the first two principal "
                     "components of the weighted standardised context indicators (numpy SVD); ICBs close on it are close "
                     "in distance, but the distances in the tables use every indicator.")]
    return render


# --------------------------------------------------------------------------- 5. the library


def library_section(ctx: CaseStudyContext):
    """The four case-study systems: what they did, the facts the guide gives, and how far each is from the ICB."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        d = ctx.distances[icb]
        s = ctx.systems.assign(distance=ctx.systems["icb_code"].map(d), area=ctx.systems["icb_code"].map(icb_name),
                               facts=ctx.systems["facts"].map(" | ".join),
                               initiatives=ctx.systems["system_id"].map(
                                   ctx.initiatives.groupby("system_id")["title"].agg("; ".join)))
        return [Table(s, "The guide's case-study systems, their initiatives and their distance from " + icb_name(icb),
                      {"name": "System", "icb_code": "ICB", "distance": f"Distance from {icb_name(icb)}", "summary": "What it did",
                       "facts": "Facts the guide gives", "initiatives": "Initiatives"},
                      {"distance": "{:.2f}"}, key="case_study_library", suppress=False, provenance=ctx.library_prov)]
    return render


def caveats(ctx: CaseStudyContext, icb: str) -> list[str]:
    """Peers, the case-study library and whose readiness rounds the matching uses (data/reference/caveats.yaml)."""
    resp = ctx.readiness.responses(icb)
    return [caveat("A20"), caveat("A20.sources"), caveat("A37"), readiness_rounds_caveat(resp.saved, resp.file)]
