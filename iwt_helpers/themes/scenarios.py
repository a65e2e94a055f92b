"""The scenarios theme (notebooks/05_scenarios.ipynb): workforce supply against demand 5 to 15 years
ahead, per ICB, with Monte Carlo ranges, for the scenarios of ``data/reference/scenarios.yaml``.

Each ``*_section(ctx)`` returns a renderer ``icb_code -> list of items`` for
:class:`iwt_helpers.present.explorer.Explorer`. The base year comes from the model's inputs
(``analysis.system_data``: the data theme's snapshot of staff in post), so both themes start from the
same figures. The scenario
shown and the centres of the main assumptions are read through callables, so that the notebook's
controls can change them and every section redraws.
"""

from __future__ import annotations

import hashlib
import html
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from iwt_helpers import vocab
from iwt_helpers.analysis import kept, measures
from iwt_helpers.analysis import scenarios as sa
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.analysis.scenarios import config as sc_config
from iwt_helpers.analysis.scenarios import summary
from iwt_helpers.analysis.system_data import SystemData
from iwt_helpers.data.datastore import Dataset
from iwt_helpers.present import charts
from iwt_helpers.present.explorer import ICB as ICB_ONLY
from iwt_helpers.present.explorer import depends_on
from iwt_helpers.present.items import Figure, Headline, Provenance, Table, Text, compact_sources
from iwt_helpers.present.provenance import footer_text, provenance_of

from .wording import CARER_HOURS, caveat, icb_name, sector_words

# The assumptions the interactive notebook offers as sliders: (key, label, min, max, step).
SLIDERS = (("nhs_leaving_rate", "Leaving the NHS, rate a year", 0.05, 0.13, 0.005),
           ("leaving_rate_scale", "Social care leaving rates (x base year)", 0.6, 1.4, 0.05),
           ("health_international_growth", "NHS international recruits, change a year", -0.2, 0.1, 0.01),
           ("international_growth", "Social care international recruits, change a year", -0.3, 0.1, 0.01),
           ("newly_qualified_growth", "Newly qualified joiners, growth a year", -0.02, 0.08, 0.005))
FAMILY_LABELS = {"health": "Health (NHS trusts and general practice)", "social care": "Adult social care",
                 "all": "Whole system"}
INPUT_TABLES = ("workforce", "flows", "vacancies", "workforce_age", "pay", "population")
INPUT_LABELS = {"workforce": "staff in post", "flows": "leavers and joiners", "vacancies": "vacancies",
                "workforce_age": "staff ages", "pay": "pay", "population": "population"}
POPULATION_SOURCE = "ONS 2022-based subnational population projections (every age, by sub-ICB location)"
ENGLAND_RUNS = 200          # runs of the all-ICB baseline behind the validation and back-test sections
NEED_KEY = "need_growth_health"     # the assumption the headline's table holds at each end of its range
GP_BACKTEST_ROLES = {"gp_qualified": "fully qualified GPs", "admin": "admin staff"}


def _short_sources(rows: pd.DataFrame) -> str:
    """The publications real rows come from, by their short names (the first part of each source), so
    that a chart's source line has room to say which part is real and which synthetic."""
    real = rows[~rows["synthetic"].astype(bool)] if "synthetic" in rows else rows
    names = [compact_sources([str(x)]).split(";")[0].split(":")[0].strip() for x in real["source"].dropna().unique()]
    return "; ".join(dict.fromkeys(n for n in names if n and "SYNTHETIC" not in n))


def slider_defaults(file: sc_config.ScenarioFile, scenario: str = "baseline") -> dict[str, float]:
    """Each slider's starting value: the middle of its assumption's range in the scenario file."""
    a = file.get(scenario).assumptions
    return {key: round(a[key].mid, 4) for key, *_ in SLIDERS}


# What is the same for every ICB's report (the inputs of all 42 ICBs, the England baseline, the validation and
# back-test tables), kept across the contexts of one process: a warm kernel makes a new context for each report.
# Keyed by everything they depend on (ScenarioContext._shared_key); the last SHARED_KEPT keys are kept. What is kept
# is shared by every context that reads it: never change it.
SHARED_KEPT = 2
_SHARED = kept.Kept(SHARED_KEPT)


@dataclass
class ScenarioContext:
    """What the scenarios notebook reads, and what it works out once. Everything that does not depend on a
    control is kept for the life of the context (one data folder and scenario file): the inputs of all 42
    ICBs (each ICB's are its part of them), the England baseline, the validation and back-test tables (the same
    for every ICB, so kept across the contexts of one process too: ``shared``), each ICB's provenance, tornado
    (per scenario) and unpaid-care sensitivity. Runs are kept per ICB and slider position, every scenario of
    one projection sharing what they have in common (``analysis.scenarios``: the baseline runs first, a
    scenario projects again only the cells its levers reach), and every section of one redraw reads the same
    run; the last few projections are kept, not every one ever made."""
    ds: Dataset
    params: ReportParams
    data: SystemData
    file: sc_config.ScenarioFile
    scenario: Callable[[], str]
    centres: Callable[[], dict[str, float]]
    _inputs: dict = field(default_factory=dict)
    _memo: dict = field(default_factory=dict)
    _projections: OrderedDict = field(default_factory=OrderedDict)

    KEPT = 6        # projections (ICB x slider position) kept, the most recently used

    @classmethod
    def load(cls, ds: Dataset, params: ReportParams, scenario: Callable[[], str] | None = None,
             centres: Callable[[], dict[str, float]] | None = None) -> ScenarioContext:
        file = sc_config.load()
        file.get(params.scenario)
        return cls(ds, params, SystemData.load(ds, params), file,
                   scenario or (lambda: params.scenario), centres or (lambda: {}))

    def once(self, key: tuple, compute: Callable[[], object]):
        """``compute()`` once for this context (what does not depend on the controls, or depends on them
        only through ``key``). What it returns is shared: never change it."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def _shared_key(self) -> tuple:
        """Everything the England inputs, baseline, validation and back-test depend on: the data folder and the
        content version of every file the data set can read, the scenario file's content, the horizon, the runs
        of the England baseline (n_runs capped at ENGLAND_RUNS) and the seed."""
        def key() -> tuple:
            scenario_file = hashlib.sha256(Path(self.file.path).read_bytes()).hexdigest()
            return (*self.ds.version(), scenario_file, self.file.horizon_years, min(ENGLAND_RUNS, self.params.n_runs),
                    self.params.seed)
        return self.once(("shared_key",), key)

    def shared(self, key: tuple, compute: Callable[[], object]):
        """``compute()`` once for every context of this process over the same data, scenario file, horizon, runs
        and seed (``_shared_key``): what is the same for every ICB. What it returns is shared by every later
        report of the process: never change it. The tables the first computation read are recorded as read by
        this context's data set too, so that its provenance lists the same tables whether computed or kept."""
        return kept.once(self.ds, _SHARED.store(self._shared_key()), key, compute)

    def england_inputs(self) -> sa.inputs.Inputs:
        """The inputs of all 42 ICBs, built once (for every context over the same data: ``shared``)."""
        return self.shared(("inputs", "england"), lambda: sa.inputs.build(
            self.data.t, self.data.snapshot, self.file.horizon_years, ensure=self.file.receiving_cells(),
            leaving_rates=self.ds.optional_table("leaving_rates")))

    def inputs(self, icb: str) -> sa.inputs.Inputs:
        """The ICB's inputs: its part of all 42's (the same as building them alone), or built alone where its
        base year differs from England's."""
        if icb not in self._inputs:
            one = sa.inputs.part(self.england_inputs(), [icb], self.data.snapshot)
            self._inputs[icb] = one if one is not None else sa.inputs.build(
                self.data.t, self.data.snapshot, self.file.horizon_years, [icb], ensure=self.file.receiving_cells(),
                leaving_rates=self.ds.optional_table("leaving_rates"))
        return self._inputs[icb]

    def _moved(self) -> dict[str, float]:
        """Slider centres that differ from the file's (the rest leave the file's ranges alone)."""
        base = slider_defaults(self.file)
        return {k: float(v) for k, v in self.centres().items() if k in base and abs(float(v) - base[k]) > 1e-9}

    def england(self) -> sa.model.Run:
        """The baseline for all 42 ICBs (ENGLAND_RUNS runs), for the validation and the back-test (``shared``)."""
        return self.shared(("england",), lambda: sa.run(self.england_inputs(), self.file.get("baseline"),
                                                         min(ENGLAND_RUNS, self.params.n_runs), self.params.seed))

    def run(self, icb: str, name: str | None = None, flows: bool = True) -> sa.model.Run:
        """A scenario's runs for the ICB at the sliders' current positions (projected once, then kept);
        ``flows=False``: without the flows (the comparison of scenarios needs supply and demand only)."""
        name = name or self.scenario()
        centres = self._moved()
        runs = self._projection(icb)
        if name not in runs or (flows and not runs[name].flows):
            inp, sc = self.inputs(icb), self.file.get(name)
            base_name = next((n for n, s in self.file.scenarios.items() if not s.levers), None)
            if None not in runs:           # what the scenarios of this projection share, from the baseline's draws
                ref = self.file.get(base_name) if base_name else sc
                runs[None] = sa.model.Common.build(inp, ref, sc_config.draws(ref, self.params.n_runs, self.params.seed, centres))
            base = self.run(icb, base_name, flows) if base_name not in (None, name) and sc.levers else None
            runs[name] = sa.run(inp, sc, self.params.n_runs, self.params.seed, centres, common=runs[None], base=base,
                                flows=flows)
        return runs[name]

    def _projection(self, icb: str) -> dict:
        """The ICB's projection at the sliders' current positions: what is kept of it (scenario name -> run,
        None -> their common part, (name, what) -> :meth:`of_run`), new and empty the first time; the last
        KEPT projections are kept."""
        key = (icb, tuple(sorted(self._moved().items())))
        if key not in self._projections:
            self._projections[key] = {}
            while len(self._projections) > self.KEPT:
                self._projections.popitem(last=False)
        self._projections.move_to_end(key)
        return self._projections[key]

    def common(self, icb: str) -> sa.model.Common:
        """What the scenarios of the ICB's projection at the sliders' current positions share (built from the
        draws of the scenario with no lever: ``model.Common``)."""
        self.run(icb)
        return self._projection(icb)[None]

    def horizons(self, icb: str) -> tuple[int, ...]:
        h = self.inputs(icb).horizon
        return tuple(y for y in self.params.projection_years if y <= h) or (h,)

    def of_run(self, icb: str, what: str, compute: Callable[[sa.model.Run], object], name: str | None = None):
        """``compute(run)`` of the scenario's run at the sliders' current positions, once: every section and
        redraw reading it shares it (kept with the run). Never change what it returns."""
        run = self.run(icb, name)
        runs = self._projection(icb)
        key = (name or self.scenario(), what)
        if key not in runs:
            runs[key] = compute(run)
        return runs[key]

    def prov(self, icb: str) -> Provenance:
        """Provenance of a projection: each input table named with its status, and the scenario file (once per ICB)."""
        return self.once(("prov", icb), lambda: self._prov(icb))

    def input_parts(self, icb: str | None) -> tuple[list[str], list[str], list[str]]:
        """The projection's inputs for the ICB (None: all 42) as words: (real, synthetic, sources), each input
        table split by sector where some of its sectors are real and others synthetic."""
        real, synthetic, sources = [], [], []
        for name in INPUT_TABLES:
            df = self.data.snapshot if name == "workforce" else self.data.t[name]
            rows = df[df["icb_code"] == icb] if "icb_code" in df and icb is not None else df
            syn = rows["synthetic"].astype(bool) if "synthetic" in rows else pd.Series(False, index=rows.index)
            label = INPUT_LABELS[name]
            if syn.any() and not syn.all() and "sector" in rows:
                real.append(f"{label} ({sector_words(rows.loc[~syn, 'sector'])})")
                synthetic.append(f"{label} ({sector_words(rows.loc[syn, 'sector'])})")
            else:
                (synthetic if syn.any() else real).append(label)
            if not syn.all():
                sources.append(POPULATION_SOURCE if name == "population" else _short_sources(rows))
        return real, synthetic, sources

    def _prov(self, icb: str) -> Provenance:
        inp = self.inputs(icb)
        real, synthetic, sources = self.input_parts(icb)
        # A projection is iwt's model result: modelled from published inputs, or partly synthetic.
        status = "mixed" if real and synthetic else ("synthetic" if synthetic else "modelled")
        detail = f"real: {', '.join(real)}; synthetic: {', '.join(synthetic)}" if status == "mixed" else ""
        src = "; ".join(dict.fromkeys(x.strip() for x in "; ".join(["iwt scenario model (scenarios.yaml)", *sources]).split(";")
                                      if x.strip()))
        if synthetic:
            src += "; SYNTHETIC demo data (iwt)"
        return Provenance(src, f"base year {inp.base_year}, projected to {inp.base_year + inp.horizon}", status, detail)

    def synthetic(self, icb: str) -> bool:
        return self.prov(icb).synthetic

    def banner_parts(self, icb: str) -> list[str]:
        inp = self.inputs(icb)
        return [t for t in INPUT_TABLES if inp.synthetic.get(t)]

    def label(self, name: str | None = None) -> str:
        return self.file.get(name or self.scenario()).label


def _fte(v: float) -> str:
    return f"{v:,.0f}"


def _finding(ctx: ScenarioContext, icb: str, run: sa.model.Run, h: int, series: pd.DataFrame) -> tuple[str, float, float, float]:
    """The headline sentence from the whole-system percentiles by year (``summary.icb_series``)."""
    g = series[(series["measure"] == "gap") & (series["year"] == run.inputs.base_year + h)].iloc[0]
    d = series[(series["measure"] == "demand") & (series["year"] == run.inputs.base_year + h)].iloc[0]
    p50 = g["p50"]
    pct = measures.gap_pct_of_posts(run, icb, h).value       # the one figure every table gives
    what = "short of the posts it needs by" if p50 > 0 else "above the posts it needs by"
    text = (f"In the <strong>{html.escape(ctx.label())}</strong> scenario, {html.escape(icb_name(icb))}'s workforce in "
            f"{run.inputs.base_year + h} would be {what} <strong>{_fte(abs(p50))} FTE</strong> (median of {run.n_runs:,} runs; "
            f"10th to 90th percentile {_fte(g['p10'])} to {_fte(g['p90'])}), {pct:.1f}% of the "
            f"{_fte(d['p50'])} FTE of posts needed.")
    return text, float(g["p10"]), float(p50), float(g["p90"])


def _synthetic_sectors(ctx: ScenarioContext, icb: str) -> dict[str, bool]:
    """Per sector: whether its staff in post or leaving and joining rates are synthetic (vacancy rates are
    said separately: no published source gives them by ICB for the NHS). Once per ICB (the inputs do not
    change with the controls); a new dict each call."""
    def compute() -> dict[str, bool]:
        c = ctx.inputs(icb).cells
        flags = c[["stock_synthetic", "rates_synthetic"]].astype(bool).any(axis=1)
        return flags.groupby(c["sector"]).any().to_dict()
    return dict(ctx.once(("synthetic_sectors", icb), compute))


def _and(words: str) -> str:
    """'a, b, c' as 'a, b and c'."""
    head, _, last = words.rpartition(", ")
    return f"{head} and {last}" if head else words


def _pct(v: float) -> str:
    return f"{100 * v:.1f}".rstrip("0").rstrip(".") + "%"


def _need_range(ctx: ScenarioContext):
    """The scenario's range of health need beyond demography, or None where it has no range."""
    a = ctx.file.get(ctx.scenario()).assumptions.get(NEED_KEY)
    return a if isinstance(a, sc_config.Range) and a.high > a.low else None


def _need_held(ctx: ScenarioContext, icb: str) -> pd.DataFrame | None:
    """The ICB's gap at the horizon (whole system and health) with health need beyond demography held at
    none and at the low end, middle and high end of its range in every run, the other assumptions drawn
    as in the scenario's runs (``sensitivity.held_at``); None where the scenario gives it no range."""
    a = _need_range(ctx)
    if a is None:
        return None
    inp = ctx.inputs(icb)
    c = inp.cells
    m = (c["icb_code"] == icb).to_numpy()
    masks = {"all": m, "health": m & (c["family"] == "health").to_numpy()}
    values = {**({"none": 0.0} if a.low > 0 else {}), "low": a.low, "middle": a.mid, "high": a.high}
    sc = ctx.file.get(ctx.scenario())
    return ctx.of_run(icb, "need_held", lambda r: sa.sensitivity.held_at(
        inp, sc, NEED_KEY, values, masks, r.n_runs, ctx.params.seed, ctx._moved(), common=ctx.common(icb)))


def _vacant_floor(run: sa.model.Run, icb: str, sectors: list[str]) -> float:
    """Median over runs of the posts left vacant at the base year's vacancy rate at the horizon, summed
    over ``sectors`` (the part of the gap that rests on the base year's vacancy rates)."""
    c = run.inputs.cells
    m = ((c["icb_code"] == icb) & c["sector"].isin(sectors)).to_numpy()
    demand = run.demand[:, m, -1].astype(float)
    return float(np.median((demand * (1 - 1 / c.loc[m, "posts_per_filled"].to_numpy()[None, :])).sum(axis=1)))


def _real_basis(ctx: ScenarioContext, icb: str, real: list[str]) -> str:
    """What the projection of the sectors with published staff in post rests on, in words: the published staff
    in post, the synthetic vacancy rates that set their base-year posts (where they are synthetic) and the assumed
    growth in need beyond demography (where the scenario gives health need a range above none)."""
    c = ctx.inputs(icb).cells
    mine = c[(c["icb_code"] == icb) & c["sector"].isin(real)]
    parts = ["published staff in post"]
    if bool(mine["vacancies_synthetic"].astype(bool).any()):
        parts.append("synthetic vacancy rates setting the base-year posts")
    a = _need_range(ctx)
    if a is not None and a.high > 0 and "health" in set(mine["family"]):
        parts.append("assumed growth in need beyond demography")
    return _and(", ".join(parts))


def _health_sum(w: pd.DataFrame, year: int, vac_synthetic: bool) -> str:
    """One sentence adding up the health gap of the waterfall's median run from its parts: posts vacant in the
    base year + need beyond demography + population change (+ levers) + net staff flows = the gap."""
    pv = w.set_index("part")["fte"]
    flows = float(pv[["leavers", "leaving_avoided", "joiners", "joiners_new_roles", "moves"]].sum())
    terms = [(pv["base_gap"], f"posts vacant in the base year{' at the synthetic vacancy rates' if vac_synthetic else ''}"),
             (pv["demand_need"], "assumed growth in need beyond demography"),
             (pv["demand_population"], "population change")]
    if abs(pv["demand_levers"]) >= 0.5:
        terms.append((pv["demand_levers"], "levers on demand"))
    terms.append((flows, "staff flows: leaving, less joining and movers in"))
    total = float(sum(v for v, _ in terms))
    text = f"{_fte(terms[0][0])} ({terms[0][1]})"
    for v, words in terms[1:]:
        text += f" {'−' if v < 0 else '+'} {_fte(abs(v))} ({words})"
    return (f"In the run at the median whole-system gap (section 3), their gap in {year} adds up as {text} = "
            f"<strong>{_fte(total)} FTE</strong> (FTE, each rounded)" + (": the staff flows narrow the gap rather than open it" if flows < 0 else "")
            + ".")


def _real_and_synthetic_gap(ctx: ScenarioContext, icb: str, run: sa.model.Run, h: int) -> str:
    """Sentences saying how much of the gap lies in sectors projected from synthetic inputs, and how much of
    the rest rests on assumptions rather than published data: the growth in need beyond demography (its part
    of the waterfall, section 3, and the gap without it) and the posts vacant at synthetic vacancy rates
    (empty when the inputs are all real or all synthetic)."""
    flags = _synthetic_sectors(ctx, icb)
    if all(flags.values()) or not any(flags.values()):
        return ""
    syn = [s for s, f in flags.items() if f]
    real = [s for s, f in flags.items() if not f]
    real_words = _and(sector_words(real))
    year = run.inputs.base_year + h            # each part summed within each run, then its median (as the tables' families)
    real_gap = summary.sectors_gap(run, icb, real, year)
    out = (f"Of that gap, about {_fte(summary.sectors_gap(run, icb, syn, year))} FTE lies in {_and(sector_words(syn))}, projected from "
           f"synthetic demonstration inputs: an illustration, not a figure for this ICB. About {_fte(real_gap)} FTE lies "
           f"in {real_words}, projected from {_real_basis(ctx, icb, real)}")
    c = run.inputs.cells
    real_families = set(c.loc[c["sector"].isin(real), "family"])
    a = _need_range(ctx)
    if a is None or real_families != {"health"} or h != run.inputs.horizon:
        return out + "."
    w = ctx.of_run(icb, "waterfall_health", lambda r: summary.waterfall(measures.median_runs(r, icb), icb, "health"))
    need = float(w.set_index("part").at["demand_need", "fte"])
    vac_sectors = [s for s in real if bool(c.loc[(c["icb_code"] == icb) & (c["sector"] == s), "vacancies_synthetic"].any())]
    held = _need_held(ctx, icb)
    none = held[(held["name"] == "none") & (held["part"] == "health")] if held is not None else held
    out += (f"; {'most' if need >= real_gap / 2 else 'part'} of it rests on the assumptions"
            f"{' and synthetic vacancy rates' if vac_sectors else ''} rather than on the published staff in post. "
            f"Growth in need beyond demography, an assumed {_pct(a.low)} to {_pct(a.high)} a year (derived from published "
            f"national activity growth, not measured for this ICB), adds about {_fte(need)} FTE to their posts needed by "
            f"{run.inputs.base_year + h} (section 3, the median run)")
    if vac_sectors:
        out += (f"; about {_fte(_vacant_floor(run, icb, vac_sectors))} FTE of their gap are posts left vacant at the base "
                f"year's vacancy rates of {_and(sector_words(vac_sectors))}, which are synthetic (section 2)")
    out += "."
    if none is not None and len(none):
        v = float(none["p50"].iloc[0])
        out += (f" With no growth in need beyond demography, their gap in {run.inputs.base_year + h} would be about "
                f"{_fte(v)} FTE{' of staff above the posts needed' if v < 0 else ''} (median; the table below gives it at "
                "each end of the range).")
    out += " " + _health_sum(w, run.inputs.base_year + h, bool(vac_sectors))
    return out


def _freeze_local(ctx: ScenarioContext, icb: str) -> str:
    """The ICB's own measured change in NHS trust staff over the latest months the data give, like for like
    (``measures.nhs_fte_bridge``, the data page's bridge), to set beside the 2025 hiring freeze; '' without it."""
    b = ctx.once(("nhs_fte_bridge", icb), lambda: measures.nhs_fte_bridge(ctx.data, icb))
    if b is None or pd.isna(b.attrs.get("like_for_like_pct")):
        return ""
    a = b.attrs
    return (f" Over the latest months the data give, {html.escape(icb_name(icb))}'s own NHS trust staff other than doctors "
            f"went from {_fte(a['other_from'])} to {_fte(a['other_to'])} FTE, {a['like_for_like_pct']:+.1f}%, between "
            f"{a['from']:%B %Y} and {a['to']:%B %Y} (like for like: the data page's bridge between the file with resident "
            "doctors and the one without).")


def _backtest_line(ctx: ScenarioContext, icb: str) -> str:
    """One sentence on how the supply method did in its back-test (section 7): ICBs under-projected, England's
    error, MAPE, the share of ICBs inside their range, and this ICB's own error and whether it fell inside."""
    from iwt_helpers.analysis.scenarios import backtest
    parts = []
    for label, (table, meta) in ctx.shared(("backtest",), lambda: _backtests(ctx, backtest)):
        if table.empty:
            continue
        groups = [("", table)] if "role" not in table else [
            (GP_BACKTEST_ROLES.get(r, r), table[table["role"] == r]) for r in dict.fromkeys(table["role"])]
        for role, t in groups:
            parts.append((label, role, t, meta))
    if not parts:
        return ""
    label, _, t, meta = parts[0]
    under = int((t["error_pct"] < 0).sum())
    england = 100 * (t["projected_p50"].sum() / t["published_fte"].sum() - 1)
    inside = 100 * t["within_range"].mean()
    band = round(100 * (summary.QUANTILES[-1] - summary.QUANTILES[0]))
    base = t["base"].iloc[0] if "base" in t else meta["base"]
    text = (f"Back-test (section 7): run from {base} to {meta['end']} by the same method, the supply side projected staff "
            f"in {label.split(',')[0]} below what was published in {under} of {len(t)} ICBs (England {abs(england):.1f}% "
            f"{'below' if england < 0 else 'above'}; median absolute error across ICBs "
            f"{backtest.mape(t):.1f}%), and {inside:.0f}% of ICBs' published figures fell inside their 10th to 90th "
            f"percentile range (a range that fits holds {band}%)")
    mine = t[t["icb_code"] == icb]
    if len(mine):
        e = float(mine["error_pct"].iloc[0])
        text += (f"; {html.escape(icb_name(icb))}'s was {abs(e):.1f}% {'below' if e < 0 else 'above'}, "
                 f"{'inside' if bool(mine['within_range'].iloc[0]) else 'outside'} its range")
    others = []
    for lab, role, tt, _ in parts[1:]:
        mm = tt[tt["icb_code"] == icb]
        if len(mm):
            e = float(mm["error_pct"].iloc[0])
            others.append(f"{role or lab} {abs(e):.1f}% {'below' if e < 0 else 'above'} "
                          f"({'inside' if bool(mm['within_range'].iloc[0]) else 'outside'} its range; median absolute error "
                          f"across ICBs {backtest.mape(tt):.1f}%)")
    if others:
        text += f"; in general practice, {html.escape(icb_name(icb))}'s {', and its '.join(others)}"
    if (t["rates_synthetic"].any()):
        text += ". Its rates are the demonstration data's: a test of the method, not of the rates"
    elif under > len(t) / 2:
        text += ". If the method fell short in the same way again, staff in post would be projected too low and the gap too high"
    return text + "."


def _statuses(ctx: ScenarioContext, icb: str, by: str = "sector") -> str:
    """Where some parts (sectors, or sector families with ``by='family'``) are projected from published staff
    in post and rates and others from synthetic inputs: words saying which is which, for a chart title that
    must not rank one against the other ('' where all are alike)."""
    flags = _synthetic_sectors(ctx, icb)
    if all(flags.values()) or not any(flags.values()):
        return ""
    real = [s for s, f in flags.items() if not f]
    syn = [s for s, f in flags.items() if f]
    if by == "family":
        fam = ctx.inputs(icb).cells.drop_duplicates("sector").set_index("sector")["family"]
        name = lambda ss: _and(", ".join(dict.fromkeys(FAMILY_LABELS.get(fam[s], fam[s]).split(" (")[0].lower()  # noqa: E731
                                                       for s in ss)))
    else:
        name = lambda ss: _and(sector_words(ss))                                                # noqa: E731
    return (f"{name(real)}: {_real_basis(ctx, icb, real)}; {name(syn)}: synthetic demonstration inputs, an illustration")


def _need_table(ctx: ScenarioContext, icb: str, held: pd.DataFrame, year: int, n_runs: int, prov: Provenance) -> Table:
    """The gap at the horizon with health need beyond demography held at none and at each end and the middle
    of its range: how much of the headline rests on that one assumption."""
    names = {"none": "none", "low": "low end of the range", "middle": "middle of the range", "high": "high end of the range"}
    rows = []
    for name, d in held.groupby("name", sort=False):
        q = d.set_index("part")
        rows.append({"need": f"{_pct(float(d['value'].iloc[0]))} a year ({names.get(name, name)})",
                     "health_p50": q.at["health", "p50"],
                     "health_range": f"{_fte(q.at['health', 'p10'])} to {_fte(q.at['health', 'p90'])}",
                     "all_p50": q.at["all", "p50"],
                     "all_range": f"{_fte(q.at['all', 'p10'])} to {_fte(q.at['all', 'p90'])}"})
    return Table(pd.DataFrame(rows),
                 f"{icb_name(icb)}: the gap in {year} with growth in NHS and general practice need beyond demography held "
                 f"at one value in every run ({ctx.label()} scenario; FTE; median and 10th to 90th percentile of {n_runs:,} "
                 "runs, every other assumption drawn as in the headline's runs)",
                 columns={"need": "Need beyond demography (NHS and general practice)",
                          "health_p50": "Gap, NHS trusts and general practice (median)",
                          "health_range": "NHS trusts and general practice, 10th to 90th percentile",
                          "all_p50": "Gap, whole system (median)", "all_range": "Whole system, 10th to 90th percentile"},
                 formats={"health_p50": "{:,.0f}", "all_p50": "{:,.0f}"}, key="gap_by_need_growth", suppress=False,
                 provenance=prov)


def summary_section(ctx: ScenarioContext):
    """The gap at the horizon in words, headline figures, and supply against demand by year."""
    def render(icb: str) -> list:
        run = ctx.run(icb)
        inp = run.inputs
        prov = ctx.prov(icb)
        h = max(ctx.horizons(icb))
        whole = ctx.of_run(icb, "series", lambda r: summary.icb_series(r, icb))
        fam = ctx.of_run(icb, "series_family", lambda r: summary.icb_series(r, icb, "family"))
        text, p10, p50, p90 = _finding(ctx, icb, run, h, whole)
        gaps = {yh: measures.gap(run, icb, yh, prov.status) for yh in ctx.horizons(icb)}   # the registry's gap: the median
        pcts = {yh: measures.gap_pct_of_posts(run, icb, yh, prov.status) for yh in ctx.horizons(icb)}
        split = _real_and_synthetic_gap(ctx, icb, run, h)
        tested = _backtest_line(ctx, icb)
        driver = _driver_line(ctx, icb, inp.base_year + h) if h == inp.horizon else ""
        items: list = [Text(f'<p class="iwt-headline" data-gap="{p50:.0f}">{text}</p>'
                            + (f"<p>{driver}</p>" if driver else "")
                            + (f"<p>{split}</p>" if split else "")
                            + (f"<p>{tested}</p>" if tested else "")
                            + "<p><em>A projection, not a forecast: what follows if the assumptions in section 9 hold. The "
                              "ranges come from those assumptions alone. Supply without action recruits NHS staff at the "
                              "pace of the three years before the base year, when posts were funded, not at the pace of the "
                              "2025 hiring freeze (section 6 shows England's gap at that pace)."
                            + _freeze_local(ctx, icb) + "</em></p>"),
                       # A gap resting partly on synthetic inputs is an illustration of the method, and says so.
                       Headline(f"{'Illustrative gap' if prov.synthetic else 'Gap'} in {inp.base_year + h}, FTE "
                                f"({ctx.label()}, median{'; partly synthetic inputs' if prov.synthetic else ''})", p50, "FTE",
                                provenance=prov, measure=gaps[h]),
                       Headline(f"{'Illustrative gap' if prov.synthetic else 'Gap'} in {inp.base_year + h}, FTE, 10th to 90th "
                                "percentile", f"{_fte(p10)} to {_fte(p90)}",
                                provenance=prov)]
        charts_at_end = _summary_charts(ctx, icb, run, whole, fam, prov, h, p50, gaps[h])   # first: drawn beside
        held = _need_held(ctx, icb) if h == inp.horizon else None
        if held is not None:
            items.append(_need_table(ctx, icb, held, inp.base_year + h, run.n_runs, prov))
        rows = []
        for s in (whole, fam):
            for yh in ctx.horizons(icb):
                y = inp.base_year + yh
                for g in dict.fromkeys(s["group"]):
                    q = s[(s["group"] == g) & (s["year"] == y)].set_index("measure")
                    rows.append({"part": FAMILY_LABELS.get(g, g), "year": y, "demand_p50": q.at["demand", "p50"],
                                 "supply_p50": q.at["supply", "p50"], "gap_p10": q.at["gap", "p10"], "gap_p50": q.at["gap", "p50"],
                                 "gap_p90": q.at["gap", "p90"],
                                 # the whole system's: the registered figure (median gap over median posts)
                                 "gap_pct": pcts[yh].value if s is whole else
                                 100 * q.at["gap", "p50"] / q.at["demand", "p50"] if q.at["demand", "p50"] else np.nan})
        t = pd.DataFrame(rows)
        items.append(Table(t, f"{icb_name(icb)}: posts needed, staff in post and the gap, {ctx.label()} scenario (FTE; "
                              f"{run.n_runs:,} runs)",
                           columns={"part": "Part of the system", "year": "Year", "demand_p50": "Posts needed (median)",
                                    "supply_p50": "Staff in post (median)", "gap_p10": "Gap, 10th percentile",
                                    "gap_p50": "Gap, median", "gap_p90": "Gap, 90th percentile", "gap_pct": "Gap, % of posts"},
                           formats={"year": "{:d}", "demand_p50": "{:,.0f}", "supply_p50": "{:,.0f}", "gap_p10": "{:,.0f}",
                                    "gap_p50": "{:,.0f}", "gap_p90": "{:,.0f}", "gap_pct": "{:.1f}"},
                           key="gap", suppress=False, provenance=prov,
                           measures={"gap_p50": list(gaps.values()), "gap_pct": list(pcts.values())}))
        return items + charts_at_end
    return render


def _summary_charts(ctx: ScenarioContext, icb: str, run: sa.model.Run, whole: pd.DataFrame, fam: pd.DataFrame,
                    prov: Provenance, h: int, p50: float, gap: measures.Value) -> list:
    """The summary's two charts: supply against demand by year, and the gap by part of the system. Built
    before the section's tables, so that in a redraw they are drawn beside the kernel while it works out
    the tables (``present.beside``)."""
    year = run.inputs.base_year + h
    trend = "widens" if p50 > whole[(whole["measure"] == "gap") & (whole["year"] == run.inputs.base_year)]["p50"].iloc[0] else "narrows"
    fan = Figure(charts.supply_demand_fan(
        whole, footer_text(prov), prov.stamp,
        f"{icb_name(icb)}: the gap between posts needed and staff in post {trend} to {_fte(p50)} FTE by "
        f"{year} ({ctx.label()})"), prov, [gap])
    last = fam[(fam["measure"] == "gap") & (fam["year"] == year)].set_index("group")["p50"]
    worst = last.idxmax() if len(last) else "all"
    mixed = _statuses(ctx, icb, "family")
    title = (f"Gap by part of the system to {year} ({mixed})" if mixed else
             f"{FAMILY_LABELS.get(worst, worst)} carries the larger gap in {year}: "
             f"{_fte(last.get(worst, np.nan))} FTE (median)")
    return [fan, Figure(charts.gap_bands(fam, FAMILY_LABELS, footer_text(prov), prov.stamp, title), prov)]


def sector_section(ctx: ScenarioContext):
    """The gap at each horizon by sector and staff group, with its range."""
    def render(icb: str) -> list:
        run = ctx.run(icb)
        inp = run.inputs
        prov = ctx.prov(icb)
        p = _percentiles(ctx, icb, ("staff_group", "sector"))
        p = p[(p["icb_code"] == icb) & (p["measure"] == "gap") & p["year"].isin([inp.base_year + h for h in ctx.horizons(icb)])]
        p = p.assign(sector_label=p["sector"].map(vocab.sector_labels()),
                     group_label=vocab.staff_group_names(p["sector"], p["staff_group"], {"all": "All staff groups"}))
        if _residents_excluded(ctx, icb):       # NHS trust doctors named as the data page names them
            p.loc[(p["sector"] == "nhs_trust") & (p["staff_group"] == "doctor"), "group_label"] = measures.DOCTORS_EXCLUDING_RESIDENTS
        order_s = {c: i for i, c in enumerate(vocab.sector_codes())}
        order_g = {c: i for i, c in enumerate(["all"] + vocab.staff_group_codes())}
        p = p.sort_values(["sector", "staff_group", "year"], key=lambda c: c.map(order_s) if c.name == "sector" else (
            c.map(order_g) if c.name == "staff_group" else c))
        h = max(ctx.horizons(icb))
        sectors = p[p["staff_group"] == "all"][["sector_label", "year", "p10", "p50", "p90"]].reset_index(drop=True)
        groups = p[(p["staff_group"] != "all") & (p["year"] == inp.base_year + h)]
        groups = groups[["sector_label", "group_label", "p10", "p50", "p90"]]
        groups = groups[groups[["p10", "p50", "p90"]].abs().max(axis=1) >= 0.5].reset_index(drop=True)   # no empty groups
        bars = p[(p["staff_group"] == "all") & (p["year"] == inp.base_year + h)]
        biggest = bars.sort_values("p50").iloc[-1] if len(bars) else None
        mixed = _statuses(ctx, icb)          # no ranking of sectors from published inputs against synthetic ones
        title = (f"Gap by sector in {inp.base_year + h} ({mixed})" if mixed and biggest is not None else
                 f"{biggest['sector_label']} has the largest gap in {inp.base_year + h}: {_fte(biggest['p50'])} FTE (median)"
                 if biggest is not None else "No sector has a figure")
        items: list = [Figure(charts.range_bars(
            bars.assign(label=bars["sector_label"]), "label", footer_text(prov), prov.stamp,
            title, "Gap in FTE: median, with 10th to 90th percentile"), prov)]
        cols = {"sector_label": "Sector", "group_label": "Staff group", "year": "Year",
                "p10": "Gap, 10th percentile", "p50": "Gap, median", "p90": "Gap, 90th percentile"}
        fmts = {"year": "{:d}", "p10": "{:,.0f}", "p50": "{:,.0f}", "p90": "{:,.0f}"}
        items.append(Table(sectors, f"{icb_name(icb)}: gap by sector, {ctx.label()} scenario (FTE)", columns=cols, formats=fmts,
                           key="gap_by_sector", suppress=False, provenance=prov))
        items.append(Table(_gap_parts(run, icb), f"{icb_name(icb)}, {inp.base_year + inp.horizon}: how much of each sector's gap is "
                           "the base year's share of posts vacant carried forward, and how much is too few recruits (medians, "
                           "FTE). A sector's row adds up its staff groups: some groups are short of recruits while the routes "
                           "bring others (or the same groups in other years) more than their posts need, and employers take on no "
                           "one beyond the posts, so one row "
                           "can show both; those spare recruits do not fill the other groups' posts",
                           columns={"sector": "Sector", "gap": "Gap", "vacancy_floor": "Vacant at the base year's rate",
                                    "short_of_recruits": "Too few recruits", "spare": "Recruits the routes bring beyond the posts, over the period"},
                           formats={"gap": "{:,.0f}", "vacancy_floor": "{:,.0f}", "short_of_recruits": "{:,.0f}", "spare": "{:,.0f}"},
                           key="gap_parts", suppress=False, provenance=prov))
        items.append(Table(groups, f"{icb_name(icb)}: gap by sector and staff group in {inp.base_year + h}, {ctx.label()} "
                                   "scenario (FTE)", columns=cols, formats=fmts,
                           key="gap_by_group", suppress=False, provenance=prov))
        return items
    return render


def _percentiles(ctx: ScenarioContext, icb: str, levels: tuple[str, ...] = ("staff_group", "sector", "icb")) -> pd.DataFrame:
    """``summary.percentiles`` of the run at the sliders' current positions at ``levels``: the percentiles of
    every level worked out once per run (``of_run``), each table framed from them (the same table)."""
    q = ctx.of_run(icb, "percentile_arrays", summary.percentile_arrays)
    return summary.Percentiles(q.run, {k: q.labels[k] for k in levels}, q.q).frame()


def _residents_excluded(ctx: ScenarioContext, icb: str) -> bool:
    """Whether the ICB's NHS trust staff in post leave resident doctors out (the turnover benchmarking files).
    Once per ICB (the data do not change with the controls)."""
    def compute() -> bool:
        wf = ctx.data.snapshot
        src = wf.loc[(wf["icb_code"] == icb) & (wf["sector"] == "nhs_trust"), "source"].astype(str)
        return bool(src.str.contains(measures.RESIDENT_DOCTORS_EXCLUDED).any())
    return ctx.once(("residents_excluded", icb), compute)


def _gap_parts(run: sa.model.Run, icb: str) -> pd.DataFrame:
    """Per sector at the horizon: the gap, the part that is the base year's vacancy share carried forward
    (employers never fill those posts in the model), the rest (recruits too few), and the joiners the
    routes would bring beyond the posts over the period. Medians over runs."""
    c = run.inputs.cells
    rows = []
    for sector in dict.fromkeys(c.loc[c["icb_code"] == icb, "sector"]):
        m = ((c["icb_code"] == icb) & (c["sector"] == sector)).to_numpy()
        demand = run.demand[:, m, -1].astype(float)
        floor = (demand * (1 - 1 / c.loc[m, "posts_per_filled"].to_numpy()[None, :])).sum(axis=1)
        gap = demand.sum(axis=1) - run.supply[:, m, -1].sum(axis=1, dtype=float)
        rows.append({"sector": vocab.sector_labels()[sector], "gap": np.median(gap), "vacancy_floor": np.median(floor),
                     "short_of_recruits": np.median(gap - floor), "spare": np.median(run.flows["joiners_not_needed"][:, m].sum(axis=1))})
    return pd.DataFrame(rows)


def drivers_section(ctx: ScenarioContext):
    """A waterfall of what moves the gap from the base year to the horizon."""
    def render(icb: str) -> list:
        run = ctx.run(icb)
        inp = run.inputs
        prov = ctx.prov(icb)
        # the run(s) at the median gap: their parts add up to the median, the one gap every section quotes
        mid, gapv = measures.median_runs(run, icb), measures.gap(run, icb, None, prov.status)
        w = summary.waterfall(mid, icb)
        w.loc[w["part"] == "horizon_gap", "fte"] = gapv.value        # the median itself (the parts: within float rounding)
        start, end = w["fte"].iloc[0], w["fte"].iloc[-1]
        pv = w.set_index("part")["fte"]
        net_flows = pv[["leavers", "leaving_avoided", "joiners", "joiners_new_roles", "moves"]].sum()
        net = pv["leavers"] + pv["joiners"] + pv["moves"]
        chart = pd.DataFrame([
            {"label": "Gap in the base year (vacant posts)", "fte": pv["base_gap"]},
            {"label": "Demand: population change", "fte": pv["demand_population"]},
            {"label": "Demand: need beyond demography", "fte": pv["demand_need"]},
            {"label": "Demand: levers", "fte": pv["demand_levers"]},
            {"label": "Leaving the sector less joiners and movers in, at base-year rates", "fte": net},
            {"label": "Leaving avoided by levers", "fte": pv["leaving_avoided"]},
            {"label": "Joiners to new roles", "fte": pv["joiners_new_roles"]},
            {"label": "Gap at the horizon", "fte": pv["horizon_gap"]}])
        shown = chart[(chart["fte"].abs() >= 0.5) | (chart.index.isin([0, len(chart) - 1]))]
        items: list = [Figure(charts.waterfall(
            shown, footer_text(prov), prov.stamp,
            f"{icb_name(icb)}: the gap {'grows' if end > start else 'shrinks'} from {_fte(start)} to {_fte(end)} FTE by "
            f"{inp.base_year + inp.horizon}; population change adds {pv['demand_population']:+,.0f} and staff flows "
            f"{net_flows:+,.0f} ({ctx.label()}; the median run)"), prov, [gapv])]
        fams = [summary.waterfall(mid, icb, f).set_index("part")["fte"].rename(f) for f in ("health", "social care")]
        whose = "those runs'" if mid.n_runs > 1 else "that run's"
        t = pd.concat([w.set_index("part")[["label", "fte"]].rename(columns={"fte": "all"})] + fams, axis=1).reset_index(drop=True)
        items.append(Table(t, f"{icb_name(icb)}: what moves the gap, {inp.base_year} to {inp.base_year + inp.horizon} "
                              f"(FTE; the run{'s' if mid.n_runs > 1 else ''} at the median whole-system gap of {run.n_runs:,} "
                              "runs, so that the parts add up to the median; the health and adult social care columns are "
                              f"{whose} parts, not each "
                              "part's own median in sections "
                              "1 and 2)",
                           columns={"label": "Part", "all": "Whole system", "health": "Health", "social care": "Adult social care"},
                           formats={"all": "{:,.0f}", "health": "{:,.0f}", "social care": "{:,.0f}"},
                           key="waterfall", suppress=False, provenance=prov, measures={"all": gapv}))
        return items
    return render


def _lower_first(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, unless its first word is a name or an
    abbreviation (England's, NHS, ICB's, GPs)."""
    word = label.split(" ", 1)[0]
    if word.startswith("England") or any(ch.isupper() for ch in word[1:]):
        return label
    return label[:1].lower() + label[1:]


def _tornado(ctx: ScenarioContext, icb: str) -> tuple[pd.DataFrame, pd.DataFrame, measures.Value]:
    """The one-way sensitivity of the ICB's gap at the horizon (``sensitivity.tornado``) centred on the median
    of the runs (the registered gap): (the rows with a swing, largest first; the rows without one, such as the
    assumptions held at 0 by design; the median gap)."""
    from iwt_helpers.analysis.scenarios import sensitivity
    inp = ctx.inputs(icb)
    sc = ctx.file.get(ctx.scenario())
    t = ctx.once(("tornado", icb, sc.name),          # the file's ranges: the sliders do not move it
                 lambda: sensitivity.tornado(inp, sc, (inp.cells["icb_code"] == icb).to_numpy(), ctx.params.seed))
    gapv = measures.gap(ctx.run(icb), icb, None, ctx.prov(icb).status)
    t = measures.recentre_on_median(t, gapv.value)
    flat = (t["swing"] < 0.5) | t["key"].isin(sensitivity.HELD_AT_ZERO)
    return t[~flat].reset_index(drop=True), t[flat].reset_index(drop=True), gapv


def _held_words(flat: pd.DataFrame) -> str:
    """Words for the tornado rows not drawn: those held at 0 by design, and those that do not move the gap."""
    from iwt_helpers.analysis.scenarios import sensitivity
    held = flat[flat["key"].isin(sensitivity.HELD_AT_ZERO)]
    other = flat[~flat["key"].isin(sensitivity.HELD_AT_ZERO)]
    out = []
    if len(held):
        out.append(f"{_and(', '.join(held['label']))} {'is' if len(held) == 1 else 'are'} held at 0, {'its' if len(held) == 1 else 'their'} "
                   "median, in every run of this chart, so it has no bar: it widens the range of the runs, not the middle")
    if len(other):
        out.append(f"{_and(', '.join(other['label']))} {'does' if len(other) == 1 else 'do'} not move this ICB's gap (no bar)")
    return "; ".join(out)


def _driver_line(ctx: ScenarioContext, icb: str, year: int) -> str:
    """One sentence beside the headline: the assumption with the largest swing in the tornado (section 5)."""
    t, _, _ = _tornado(ctx, icb)
    if t.empty:
        return ""
    top = t.iloc[0]
    return (f"The range is widest for {html.escape(_lower_first(str(top['label'])))} ({top['low']} to {top['high']}): on its "
            f"own it moves the gap in {year} from {_fte(top['gap_low'])} to {_fte(top['gap_high'])} FTE, a swing of "
            f"{_fte(top['swing'])} FTE, the largest of any assumption (section 5, the others at the middle of their ranges).")


def tornado_section(ctx: ScenarioContext):
    """What drives the range: the gap at the horizon with each assumption at its low and high end, the
    others at their middles (one-way sensitivity), as a chart and a key table."""
    def render(icb: str) -> list:
        inp = ctx.inputs(icb)
        prov = ctx.prov(icb)
        year = inp.base_year + inp.horizon
        # centred on the median of the runs, the one gap every section quotes; each bar the assumption's own change
        t, flat, gapv = _tornado(ctx, icb)
        if t.empty:
            return [Text("No assumption of this scenario moves the gap on its own.")]
        top = t.iloc[0]
        held = _held_words(flat)
        items: list = [Figure(charts.tornado(
            t, footer_text(prov), prov.stamp,
            f"{icb_name(icb)}: {_lower_first(top['label'].split(',')[0])} moves the gap in {year} most, from "
            f"{_fte(top['gap_low'])} to {_fte(top['gap_high'])} FTE ({ctx.label()}; the others at the middle of their ranges)",
            f"Gap in {year}, FTE (line: median of {ctx.params.n_runs:,} runs, {_fte(gapv.value)}; each bar: the median plus "
            "the change one assumption makes)"), prov, [gapv])]
        if held:
            items.append(Text(f"<p>{html.escape(held)}.</p>"))
        items.append(Table(t[["label", "low", "high", "gap_low", "gap_high", "swing"]],
                           f"{icb_name(icb)}: the gap in {year} with each assumption at the low and the high end of its range, "
                           f"the others at their middles ({ctx.label()} scenario; FTE: the median gap of the runs, "
                           f"{_fte(gapv.value)}, plus the change each end makes in one run)"
                           + (f". Not shown: {held}" if held else ""),
                           columns={"label": "Assumption", "low": "Low end", "high": "High end",
                                    "gap_low": "Gap at the low end", "gap_high": "Gap at the high end", "swing": "Swing"},
                           formats={"gap_low": "{:,.0f}", "gap_high": "{:,.0f}", "swing": "{:,.0f}"},
                           key="tornado", suppress=False, provenance=prov))
        return items
    return render


def _england_prov(ctx: ScenarioContext, what: str) -> Provenance:
    run = ctx.england()
    real, syn, _ = ctx.once(("input_parts", None), lambda: ctx.input_parts(None))      # by sector, all 42 ICBs
    status = "mixed" if syn and real else ("synthetic" if syn else "modelled")
    detail = f"real: {', '.join(real)}, for all 42 ICBs; synthetic: {', '.join(syn)}" if status == "mixed" else ""
    src = f"iwt scenario model, all 42 ICBs ({run.n_runs:,} runs); {what}"
    return Provenance(src + ("; SYNTHETIC demo data (iwt)" if syn else ""), f"base year {run.inputs.base_year}", status, detail)


def validation_section(ctx: ScenarioContext):
    """England totals of the baseline against published national projections (the same for every ICB)."""
    from iwt_helpers.analysis.scenarios import validation

    @depends_on(ICB_ONLY)       # the England baseline: no slider or scenario reaches it
    def render(icb: str) -> list:
        run = ctx.england()
        v = ctx.shared(("validation",), lambda: validation.compare(run, ctx.data.t["population"], ctx.ds.table("prevalence")))
        pub = "; ".join(dict.fromkeys(v["source"]))
        prov = _england_prov(ctx, f"published figures: {pub} (data/reference/{validation.FILE})")
        v = v.assign(iwt=[(f"{a:,.0f}" if abs(a - c) < 0.5 else f"{b:,.0f} ({a:,.0f} to {c:,.0f})") if pd.notna(b) else "not available"
                          for a, b, c in zip(v["iwt_p10"], v["iwt_p50"], v["iwt_p90"])])
        text = ("<p>iwt's England totals beside published national projections. Each differs in period and scope, "
                "as the table says; iwt's side is computed from the baseline for all 42 ICBs "
                f"({run.n_runs:,} runs) and iwt's need estimates, the published side is read from "
                f"<code>data/reference/{validation.FILE}</code> with its source. The baseline's supply without action "
                "recruits NHS staff at the pace of the three years before the base year, when posts were funded; the line "
                "'with NHS hiring held at the base year's pace' runs the same baseline with NHS trusts recruiting at the "
                "pace of the base year's own turnover files (in 2025, a hiring freeze)." + _freeze_local(ctx, icb) + "</p>")
        return [Text(text), Table(v[["measure", "value", "unit", "period", "iwt", "iwt_period", "difference_pct", "scope", "iwt_scope",
                                      "differs", "source"]],
                                  "England: iwt against published national projections (iwt: median, with the 10th to 90th "
                                  "percentile where it is a range)",
                                  columns={"measure": "Measure", "value": "Published", "unit": "Unit", "period": "Published period",
                                           "iwt": "iwt", "iwt_period": "iwt period", "difference_pct": "iwt median against published, %",
                                           "scope": "Published scope", "iwt_scope": "iwt scope", "differs": "What else differs",
                                           "source": "Published source"},
                                  formats={"value": "{:,.0f}", "difference_pct": "{:+.0f}"}, key="validation", suppress=False,
                                  provenance=prov)]
    return render


def backtest_section(ctx: ScenarioContext):
    """The supply model run from a past base to the latest published staff in post, by ICB."""
    from iwt_helpers.analysis.scenarios import backtest

    @depends_on(ICB_ONLY)       # the baseline's rates and draws from a past base: no slider or scenario reaches it
    def render(icb: str) -> list:
        items: list = []
        rows, by_icb = [], []
        for label, (table, meta) in ctx.shared(("backtest",), lambda: _backtests(ctx, backtest)):
            if table.empty:
                items.append(Text(f"<p>{label}: {meta['note']}; needs a data folder built from published files.</p>"))
                continue
            parts = [("", table)] if "role" not in table else [
                (f", {'fully qualified GPs' if r == 'gp_qualified' else 'admin staff'}", table[table["role"] == r])
                for r in dict.fromkeys(table["role"])]
            for suffix, t in parts:
                rates_syn = bool(t["rates_synthetic"].any())
                stocks_syn = bool(meta.get("stocks_synthetic"))
                mine = t[t["icb_code"] == icb]
                base = t["base"].iloc[0] if "base" in t else meta["base"]
                rows.append({"part": label + suffix, "period": f"{base} to {meta['end']}",
                             "base": t["base_fte"].sum(), "published": t["published_fte"].sum(),
                             "projected": t["projected_p50"].sum(), "mape": backtest.mape(t),
                             "within": 100 * t["within_range"].mean(),
                             "icb_error": float(mine["error_pct"].iloc[0]) if len(mine) else np.nan,
                             # synthetic: the ICBs' pattern of rates is the demo's (the level is published)
                             "rates": "synthetic" if rates_syn else "published basis",
                             "basis": t["rates_basis"].iloc[0], "staff": "synthetic" if stocks_syn else "real"})
                by_icb.append(t.assign(part=label + suffix, rates=rows[-1]["rates"]))
        if rows:
            t = pd.DataFrame(rows)
            syn = t["rates"].eq("synthetic").any() or t["staff"].eq("synthetic").any()
            real = (~t["rates"].eq("synthetic")).any() or (~t["staff"].eq("synthetic")).any()
            status = "mixed" if syn and real else ("synthetic" if syn else "modelled")
            prov = Provenance("NHS England, NHS Workforce Statistics (monthly, by organisation); NHS England, General Practice "
                              "Workforce (practice files); iwt scenario model (baseline rates and draws)"
                              + ("; SYNTHETIC demo data (iwt)" if syn else ""),
                              "; ".join(t["period"].unique()), status,
                              "rates or staff marked synthetic in the table" if status == "mixed" else "")
            items.insert(0, Text(
                "<p>The supply model run forward from a past base to the latest published staff in post, with the rates "
                "of its own base year, as a projection made then would have had them (the published basis of the "
                "projection: leaving at the published rate of the period, joiners keeping up the growth of the years "
                "before the base, routes on their published paths; GPs from training acceptances), the baseline's draws "
                "and no posts to cap recruitment. The error is the projected median against the published figure; MAPE "
                "is its median absolute value across ICBs. The ICBs' pattern of NHS leaving comes from the turnover "
                "files, which exclude resident doctors; it is applied to all HCHS staff. Rows whose rates are marked "
                "synthetic take that pattern from the demonstration data: they test the method, not the rates.</p>"))
            items.append(Table(t, f"Back-test by ICB: staff in post projected from a past base against published (England totals; "
                                  f"MAPE across ICBs; {icb_name(icb)}'s own error)",
                               columns={"part": "Part", "period": "Period", "base": "Base (FTE)", "published": "Published at the end (FTE)",
                                        "projected": "Projected, median (FTE)", "mape": "MAPE across ICBs, %",
                                        "within": "ICBs within the 10th-90th percentile, %", "icb_error": f"{icb_name(icb)}: error, %",
                                        "rates": "Rates", "basis": "How the rates are set", "staff": "Published staff"},
                               formats={"base": "{:,.0f}", "published": "{:,.0f}", "projected": "{:,.0f}", "mape": "{:.1f}",
                                        "within": "{:.0f}", "icb_error": "{:+.1f}"},
                               key="backtest", suppress=False, provenance=prov))
            every = pd.concat(by_icb, ignore_index=True)
            every = every.assign(icb=every["icb_code"].map(icb_name),
                                 range=[f"{a:,.0f} to {b:,.0f}" for a, b in zip(every["projected_p10"], every["projected_p90"])],
                                 inside=np.where(every["within_range"], "yes", "no"))
            items.append(Table(every[["part", "icb_code", "icb", "base_fte", "published_fte", "projected_p50", "range", "error_pct",
                                      "inside", "rates"]],
                               "Back-test for every ICB: staff in post projected from the past base against published (FTE)",
                               columns={"part": "Part", "icb_code": "ICB code", "icb": "ICB", "base_fte": "Base (FTE)",
                                        "published_fte": "Published at the end (FTE)", "projected_p50": "Projected, median",
                                        "range": "Projected, 10th to 90th percentile", "error_pct": "Error, %",
                                        "inside": "Published inside the range", "rates": "Rates"},
                               formats={"base_fte": "{:,.0f}", "published_fte": "{:,.0f}", "projected_p50": "{:,.0f}",
                                        "error_pct": "{:+.1f}"},
                               key="backtest_by_icb", suppress=False, provenance=prov))
        return items
    return render


def _backtests(ctx: ScenarioContext, backtest) -> list[tuple[str, tuple[pd.DataFrame, dict]]]:
    """The back-test of NHS trusts and of general practice (the same for every ICB: worked out once)."""
    run = ctx.england()
    sc = ctx.file.get("baseline")
    d = sc_config.draws(sc, run.n_runs, ctx.params.seed)
    tables = {n: ctx.ds.optional_table(n) for n in ("nhs_staff_monthly", "nhs_staff_monthly_icb", "gp_workforce")}
    return [("NHS trusts, all HCHS staff", backtest.nhs(tables, run.inputs, sc, d)),
            ("General practice", backtest.gp(tables, run.inputs, sc, d))]


def _range_words(r) -> str:
    fmt = (lambda v: f"{100 * v:g}%") if r.kind == "rate" else (lambda v: f"{v:g}")
    return f"{fmt(r.low)} to {fmt(r.high)}"


def _definitions(ctx: ScenarioContext) -> pd.DataFrame:
    rows = []
    for sc in ctx.file.scenarios.values():
        # each lever's sentence is declared with it (analysis.scenarios.levers), its ranges filled in
        parts = [sa.levers.REGISTRY[name].description.format(**{k: _range_words(r) for k, r in lever.ranges.items()})
                 for name, lever in sc.levers.items()]
        rows.append({"label": sc.label, "description": sc.description, "levers": ". ".join(parts) or "none"})
    return pd.DataFrame(rows)


def _lever_inputs(ctx: ScenarioContext, icb: str, name: str) -> str:
    """'synthetic' where a scenario's levers act only through synthetic inputs for the ICB (the synthetic pay
    table, or cells whose staff in post or rates are synthetic), 'partly' where some of them do, '' where none
    does or the ICB's inputs are all synthetic (the whole page says so then). Once per ICB and scenario."""
    return ctx.once(("lever_inputs", icb, name), lambda: _lever_inputs_of(ctx, icb, name))


def _lever_inputs_of(ctx: ScenarioContext, icb: str, name: str) -> str:
    flags = _synthetic_sectors(ctx, icb)
    sc = ctx.file.get(name)
    if not sc.levers or all(flags.values()) or not any(flags.values()):
        return ""
    inp = ctx.inputs(icb)
    c = inp.cells[inp.cells["icb_code"] == icb]
    syn_cell = c["stock_synthetic"].astype(bool) | c["rates_synthetic"].astype(bool)
    kinds = []
    for lname, setting in sc.levers.items():
        lever = sa.levers.REGISTRY[lname]
        pairs = set().union(*(setting.pairs(p) for p in ("", "from_", "to_")))
        named = c[[(a, b) in pairs for a, b in zip(c["sector"], c["staff_group"])]]
        syn = syn_cell[named.index]
        on_pay = lever.pay_gap is not None and bool(inp.synthetic.get("pay"))
        kinds.append("synthetic" if (on_pay or (len(syn) and syn.all())) else ("partly" if syn.any() else ""))
    if all(k == "synthetic" for k in kinds):
        return "synthetic"
    return "partly" if any(kinds) else ""


LEVER_INPUT_WORDS = {"synthetic": "synthetic-driven: its levers act through synthetic pay, staff or rates",
                     "partly": "partly synthetic-driven: some of its levers act through synthetic pay, staff or rates"}


def comparison_section(ctx: ScenarioContext):
    """Every scenario of the file on the same headline measures, for a board."""
    def render(icb: str) -> list:
        prov = ctx.prov(icb)
        runs = [ctx.run(icb, n, flows=False) for n in ctx.file.scenarios]    # supply and demand are what it compares
        comp = summary.comparison(runs, icb, ctx.horizons(icb))     # its gap_p50: the registry's median gap (measures.gap)
        by_name = {r.scenario.name: r for r in runs}
        driven = {n: _lever_inputs(ctx, icb, n) for n in ctx.file.scenarios}
        h = max(ctx.horizons(icb))
        at = comp[comp["years_ahead"] == h].rename(columns={"gap_p10": "p10", "gap_p50": "p50", "gap_p90": "p90"})
        best = at.sort_values("p50").iloc[0]
        base = at[at["scenario"] == "baseline"]["p50"]
        drop = f", against {_fte(base.iloc[0])} in the baseline" if len(base) and best["scenario"] != "baseline" else ""
        marked = {n: k for n, k in driven.items() if k}
        title = (f"Gap by scenario in {int(best['year'])} (a scenario marked synthetic changes the gap through synthetic "
                 "pay, staff or rates: an illustration)" if driven.get(best["scenario"]) else
                 f"{best['label']} leaves the smallest gap in {int(best['year'])}: {_fte(best['p50'])} FTE{drop}")
        bar_label = {n: ctx.file.get(n).label + {"synthetic": " (synthetic)", "partly": " (partly synthetic)"}.get(k, "")
                     for n, k in driven.items()}
        items: list = [Figure(charts.range_bars(
            at.assign(label=at["scenario"].map(bar_label)), "label", footer_text(prov), prov.stamp, title,
            "Gap in FTE: median, with 10th to 90th percentile" if marked else     # room for the longer labels
            "Gap in FTE at the horizon; bar: median, whisker: 10th to 90th percentile",
            highlight=bar_label.get(ctx.scenario(), ctx.label())), prov)]
        base_run = next((r for r in runs if r.scenario.name == "baseline"), None)
        if base_run is not None:
            m = (base_run.inputs.cells["icb_code"] == icb).to_numpy()
            base_gap = (base_run.demand[:, m, :].sum(axis=1, dtype=float) - base_run.supply[:, m, :].sum(axis=1, dtype=float))
            change, against = {}, {}
            for r in runs:
                g = r.demand[:, m, :].sum(axis=1, dtype=float) - r.supply[:, m, :].sum(axis=1, dtype=float)
                for yh in ctx.horizons(icb):
                    # the figure: the difference of the two medians (the bars'); the range: run by run (same draws)
                    against[(r.scenario.name, yh)] = measures.gap_against_baseline(r, base_run, icb, yh, prov.status)
                    change[(r.scenario.name, yh)] = np.quantile(g[:, yh] - base_gap[:, yh], (0.1, 0.9))
            comp["change_p50"] = [against[(n, y)].value for n, y in zip(comp["scenario"], comp["years_ahead"])]
            comp["change_range"] = [f"{change[(n, y)][0]:+,.0f} to {change[(n, y)][1]:+,.0f}" for n, y in zip(comp["scenario"], comp["years_ahead"])]
        else:
            against = {}
        items.append(Table(_definitions(ctx), "The scenarios: what each changes (ranges drawn in every run; sources in section 9 "
                           "and data/reference/scenarios.yaml)",
                           columns={"label": "Scenario", "description": "What it assumes", "levers": "Levers and their ranges"},
                           key="scenario_definitions", suppress=False,
                           provenance=Provenance(ctx.file.path.name, f"projection from {ctx.inputs(icb).base_year}", "assumption")))
        if marked:            # where a lever's effect comes from synthetic inputs, the row says so
            comp["inputs"] = comp["scenario"].map(lambda n: LEVER_INPUT_WORDS.get(driven[n]) or (
                "its levers act on published staff in post and rates" if ctx.file.get(n).levers else "no lever"))
        pcts = {(r.scenario.name, yh): measures.gap_pct_of_posts(r, icb, yh, prov.status) for r in runs
                for yh in ctx.horizons(icb) if yh <= r.inputs.horizon}
        items.append(Table(comp.drop(columns=["scenario"]), f"{icb_name(icb)}: scenarios compared (same {runs[0].n_runs:,} "
                           "draws of the shared assumptions in each, so differences come from the levers). Gap, % of posts: "
                           "the median gap over the median posts needed. Gap against baseline: the scenario's median gap "
                           "less the baseline's (the difference of the two medians, as the bars show it, not the median of "
                           "the run-by-run differences); its range: the 10th to 90th percentile of the run-by-run "
                           "differences",
                           columns={"label": "Scenario", "inputs": "What its change rests on", "years_ahead": "Years ahead",
                                    "year": "Year", "gap_p10": "Gap, 10th pct",
                                    "gap_p50": "Gap, median", "gap_p90": "Gap, 90th pct", "gap_pct_of_demand": "Gap, % of posts",
                                    "supply_change_pct": "Staff in post, change %", "demand_change_pct": "Posts needed, change %",
                                    "change_p50": "Gap against baseline (difference of medians)",
                                    "change_range": "Gap against baseline, 10th to 90th pct of the run-by-run differences"},
                           formats={"years_ahead": "{:d}", "year": "{:d}", "gap_p10": "{:,.0f}", "gap_p50": "{:,.0f}",
                                    "gap_p90": "{:,.0f}", "gap_pct_of_demand": "{:.1f}", "supply_change_pct": "{:+.1f}",
                                    "demand_change_pct": "{:+.1f}", "change_p50": "{:+,.0f}", "runs": "{:,d}"},
                           key="comparison", suppress=False, provenance=prov,
                           measures={"gap_p50": [measures.gap(by_name[ctx.scenario()], icb, y, prov.status)
                                                 for y in ctx.horizons(icb)] if ctx.scenario() in by_name else [],
                                     "gap_pct_of_demand": list(pcts.values()),
                                     "change_p50": list(against.values())}))
        return items
    return render


def carers_section(ctx: ScenarioContext):
    """Unpaid care as a sensitivity: what a fall in unpaid care hours would add to paid care demand."""
    @depends_on(ICB_ONLY)       # the scenario file's unpaid-care ranges: no slider or scenario reaches them
    def render(icb: str) -> list:
        sens = ctx.file.carers
        uc = ctx.data.t["unpaid_care"]
        rows = uc[uc["icb_code"] == icb]
        if sens is None or rows.empty:
            return [Text("No unpaid-care sensitivity: the scenario file has none, or the data have no Census unpaid care "
                         "for this ICB.")]
        res = ctx.once(("carers", icb), lambda: summary.carers_sensitivity(uc, icb, sens, ctx.params.n_runs, ctx.params.seed))
        census = provenance_of(rows)
        prov = Provenance(f"{census.source}; iwt unpaid-care sensitivity (scenarios.yaml)", f"Census {res['year']}",
                          "modelled" if census.status == "real" else census.status,
                          "carers: Census 2021; hours, share replaced and hours per FTE: assumptions in scenarios.yaml")
        inp = ctx.inputs(icb)
        c = inp.cells
        care = c[c["family"].eq("social care") & c["staff_group"].isin(["care_worker", "senior_care_worker"])]["demand0"].sum()
        f = res["fte"]
        share = 100 * f["p50"] / care if care else np.nan
        syn = " (a synthetic demonstration figure)" if bool(c[c["family"].eq("social care")]["stock_synthetic"].any()) else ""
        text = (f'<p class="iwt-headline">If the {res["carers"]:,.0f} unpaid carers in {html.escape(icb_name(icb))} '
                f"(Census {res['year']}) gave {100 * sens.fall:.0f}% fewer hours, paid care would need about "
                f"<strong>{_fte(f['p50'])} more FTE</strong> of care workers (10th to 90th percentile {_fte(f['p10'])} to "
                f"{_fte(f['p90'])}), {share:.1f}% of the {_fte(care)} FTE of care worker posts in {inp.base_year}{syn}.</p>")
        bands = pd.DataFrame([{"band": CARER_HOURS[b], "carers": res["carers_by_band"].get(b, np.nan),
                               "hours": f"{r.low:g} to {r.high:g}"} for b, r in sens.hours_a_week.items()])
        items: list = [Text(text), Headline(f"Unpaid care {100 * sens.fall:.0f}% lower: paid care FTE needed (median)", f["p50"],
                                            "FTE", provenance=prov)]
        items.append(Table(bands, f"{icb_name(icb)}: unpaid carers by hours a week (Census {res['year']}) and the hours "
                                  "assumed for each band",
                           columns={"band": "Hours of care a week (Census band)", "carers": "Carers",
                                    "hours": "Hours a week assumed (range)"},
                           formats={"carers": "{:,.0f}"}, key="carers_by_hours", provenance=prov))
        out = pd.DataFrame([{"measure": "Unpaid care hours a year", **res["hours_a_year"]},
                            {"measure": f"Hours lost if {100 * sens.fall:.0f}% fewer", **res["hours_lost"]},
                            {"measure": "Paid care needed (FTE)", **res["fte"]}])
        items.append(Table(out, f"{icb_name(icb)}: what a {100 * sens.fall:.0f}% fall in unpaid care would add to paid care "
                                f"({res['runs']:,} runs; {sens.replaced_share.low:.0%} to {sens.replaced_share.high:.0%} of "
                                f"the hours lost become paid care, {sens.hours_per_fte.low:,.0f} to {sens.hours_per_fte.high:,.0f} "
                                "hours a year per FTE)",
                           columns={"measure": "Measure", "p10": "10th percentile", "p50": "Median", "p90": "90th percentile"},
                           formats={"p10": "{:,.0f}", "p50": "{:,.0f}", "p90": "{:,.0f}"}, key="carers_sensitivity",
                           suppress=False, provenance=prov))
        return items
    return render


def assumptions_section(ctx: ScenarioContext):
    """The assumptions behind the scenario, their ranges and sources; the base year's inputs."""
    def render(icb: str) -> list:
        sc = ctx.file.get(ctx.scenario())
        moved = ctx._moved()
        a = pd.DataFrame(sc_config.assumptions_table(sc))
        a["range"] = [("by age band, see the scenario file" if k == "profile" else
                       f"growth over the last {lo:g} to {hi:g} years, from the data" if k == "growth_window" else f"{lo:g} to {hi:g}")
                      for k, lo, hi in zip(a["kind"], a["low"], a["high"])]
        a["note"] = a["key"].map(lambda k: f"moved: centred on {moved[k]:g}" if k in moved else "")
        file_prov = Provenance(f"{ctx.file.path.name} (each assumption's own source in the table)",
                               f"projection from {ctx.inputs(icb).base_year}", "assumption")
        shown_cols = ["key", "kind", "range", "note", "source"] if moved else ["key", "kind", "range", "source"]
        items: list = [Table(a[shown_cols],
                             f"Assumptions of the {sc.label} scenario: each run draws every range once, uniformly",
                             columns={"key": "Assumption", "kind": "Kind", "range": "Range", "note": "Slider", "source": "Source or reasoning"},
                             key="assumptions", suppress=False, provenance=file_prov)]
        inp = ctx.inputs(icb)
        c = inp.cells
        central = ctx.once(("central_rates", icb, sc.name),   # NHS trusts and general practice: the published basis
                           lambda: sa.sensitivity.central_rates(inp, sc))
        g = c.assign(leavers=c["fte0"] * central["leave_rate"], joiners=c["fte0"] * central["join_rate"],
                     movers=c["fte0"] * central["move_rate"],        # as the model moves them (nhs_leavers_to_social_care)
                     local=(c["rate_from"] == "ICB") * c["fte0"]).groupby("sector", as_index=False)[
            ["fte0", "demand0", "leavers", "joiners", "movers", "local"]].sum()
        g["vacancy_pct"] = 100 * (1 - g["fte0"] / g["demand0"].where(g["demand0"] > 0))
        for col in ("leavers", "joiners", "movers"):
            g[f"{col}_pct"] = 100 * g[col] / g["fte0"].where(g["fte0"] > 0)
        g["local_pct"] = 100 * g["local"] / g["fte0"].where(g["fte0"] > 0)
        g["status"] = g["sector"].map(_base_year_status(c, inp))
        g["sector"] = g["sector"].map(vocab.sector_labels())
        items.append(Table(g[["sector", "fte0", "demand0", "vacancy_pct", "leavers_pct", "joiners_pct", "movers_pct", "local_pct", "status"]],
                           f"{icb_name(icb)}: the base year the projection starts from ({inp.base_year}); rates a year. NHS trusts "
                           "and general practice: leaving the sector at the published rate, joining to keep up the growth of the "
                           "years before the base year (GPs: training output), at the middle of each range; adult social care: "
                           f"the ICB's own counts where a group has at least {sa.inputs.MIN_STAFF_FOR_LOCAL_RATE} staff, "
                           "otherwise England's, leaving a job as the data count it (moves within the sector included, which "
                           "the model takes out of leavers and joiners alike). Moving to the other sector: those leaving the "
                           "sector who take a job in the other, as the model moves them at the middle of each range",
                           columns={"sector": "Sector", "fte0": "Staff in post (FTE)", "demand0": "Posts (FTE)",
                                    "vacancy_pct": "Vacant, %", "leavers_pct": "Leaving the sector, % a year", "joiners_pct": "Joining, % a year",
                                    "movers_pct": "Moving to the other sector, % a year", "local_pct": "FTE on the ICB's own rates, %",
                                    "status": "Real, synthetic or assumed, by part"},
                           formats={"fte0": "{:,.0f}", "demand0": "{:,.0f}", "vacancy_pct": "{:.1f}", "leavers_pct": "{:.1f}",
                                    "joiners_pct": "{:.1f}", "movers_pct": "{:.2f}", "local_pct": "{:.0f}"},
                           key="base_year", provenance=ctx.prov(icb), measures=_base_year_measures(ctx, icb)))
        curve, source = ctx.once(("service_use_curve",), sa.inputs.service_use_curve)
        labels = {b: b.replace("_plus", "+").replace("_", "-") for b in curve.index}
        items.append(Table(curve.rename("relative_use").rename(index=labels).reset_index(),
                           "Use of NHS services per person by age, relative to ages 25-34: how NHS and general practice demand "
                           "follows the population",
                           columns={"age_band": "Age band", "relative_use": "Relative use"}, formats={"relative_use": "{:.2f}"},
                           suppress=False, provenance=Provenance("; ".join(dict.fromkeys(x.strip() for x in source.split(";") if x.strip())),
                                                                 "OBR ratios as reported in 2017", "assumption")))
        return items
    return render


def _base_year_status(c: pd.DataFrame, inp: sa.inputs.Inputs) -> dict[str, str]:
    """Per sector, what each part of the base-year table is: staff in post, vacancy rate, leaving and joining,
    moves to the other sector (real, synthetic, or an assumption on a published basis)."""
    from iwt_helpers.analysis.scenarios import calibration
    published = pd.Series(calibration.published(c), index=c.index)
    out = {}
    for sector, d in c.groupby("sector", sort=False):
        yes = {col: bool(d[col].astype(bool).any()) for col in ("stock_synthetic", "vacancies_synthetic", "rates_synthetic")}.get
        rates = ("synthetic" if yes("rates_synthetic") else "real")
        if published[d.index].all():
            rates = "assumption on a published basis" + (", its pattern by ICB synthetic" if rates == "synthetic" else "")
        moves = ("assumption (a range)" if (d["family"] == "health").all() else
                 "synthetic" if yes("rates_synthetic") else "real")
        out[sector] = (f"staff in post {'synthetic' if yes('stock_synthetic') else 'real'}; "
                       f"vacancy rate {'synthetic' if yes('vacancies_synthetic') else 'real'}; "
                       f"leaving and joining {rates}; moving to the other sector {moves}")
    return out


def _base_year_measures(ctx: ScenarioContext, icb: str) -> dict:
    """The registered figures the base-year table shows (analysis.measures): NHS trust staff in post and
    vacancy rate, and the adult social care vacancy rate where it is the published one (the model's
    posts are set to these rates)."""
    asc = ctx.data.measure("asc_vacancy_rate", icb)
    return {"fte0": ctx.data.measure("nhs_trust_fte", icb),
            "vacancy_pct": [ctx.data.measure("nhs_vacancy_rate", icb)] + ([asc] if asc is not None and asc.status == "real" else [])}


def export_by_year(ctx: ScenarioContext, icb: str) -> None:
    """The whole projection for the ICB, every year, sector and staff group (with sector and
    whole-system totals), to tables.xlsx only: too long to read in the report."""
    from iwt_helpers.present import notebook
    run = ctx.run(icb)

    def by_year(r: sa.model.Run) -> pd.DataFrame:
        p = _percentiles(ctx, icb)
        p = p[p["icb_code"] == icb].drop(columns=["icb_code"])
        doctors = (p["sector"] == "nhs_trust") & (p["staff_group"] == "doctor") & _residents_excluded(ctx, icb)
        p["staff_group"] = vocab.staff_group_names(p["sector"], p["staff_group"], {"all": "All staff groups"})
        p["sector"] = p["sector"].map({**vocab.sector_labels(), "all": "All sectors"})
        p.loc[doctors, "staff_group"] = measures.DOCTORS_EXCLUDING_RESIDENTS
        p[["p10", "p50", "p90"]] = p[["p10", "p50", "p90"]].round(1)
        return p.reset_index(drop=True)
    notebook.key_table("by_year", ctx.of_run(icb, "by_year", by_year),
                       f"{icb_name(icb)}: supply, demand and gap (FTE) by year, sector and staff group, {ctx.label()} scenario, "
                       f"{run.n_runs:,} runs", ctx.prov(icb))


def caveats(ctx: ScenarioContext, icb: str) -> list[str]:
    """The projection's caveats (data/reference/caveats.yaml), those of its inputs first."""
    inp = ctx.inputs(icb)
    notes = [caveat(caveat_id, **values) for caveat_id, values in inp.notes]
    syn = [t for t in INPUT_TABLES if inp.synthetic.get(t)]
    flags = _synthetic_sectors(ctx, icb)
    if syn and any(flags.values()) and not all(flags.values()):       # which part of the gap is an illustration
        real = [s for s, f in flags.items() if not f]
        c = inp.cells
        vac = c[(c["icb_code"] == icb) & c["sector"].isin(real) & c["vacancies_synthetic"].astype(bool)]["sector"]
        notes.append(caveat("A8.scenarios_mixed", tables=", ".join(ctx.input_parts(icb)[1]),
                            synthetic_sectors=_and(sector_words(s for s, f in flags.items() if f)),
                            real_sectors=_and(sector_words(real)),
                            real_synthetic=(f", with synthetic vacancy rates setting the posts of {_and(sector_words(vac.unique()))} "
                                            "(section 2 gives the posts left vacant at those rates)") if len(vac) else ""))
    elif syn:
        notes.append(caveat("A8.scenarios", tables=", ".join(syn)))
    if _residents_excluded(ctx, icb):
        notes.append(caveat("A38"))
    return notes + [caveat("A25.export"), caveat("A25", runs=ctx.params.n_runs, seed=ctx.params.seed), caveat("A23"),
                    caveat("A22"), caveat("A23.not_in_data")]


__all__ = ["ScenarioContext", "SLIDERS", "slider_defaults", "summary_section", "sector_section", "drivers_section",
           "comparison_section", "tornado_section", "validation_section", "backtest_section", "carers_section",
           "assumptions_section", "export_by_year", "caveats"]
