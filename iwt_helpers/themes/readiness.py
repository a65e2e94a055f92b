"""The readiness theme (notebooks/02_readiness.ipynb): partners' self-assessment against the guide's
checklist of readiness and top tips, round by round.

Each ``*_section(ctx)`` returns a renderer ``icb_code -> list of items`` for
:class:`iwt_helpers.present.explorer.Explorer`. An ICB's responses come from its saved rounds
(``<data>/readiness/<ICB>.csv``, real) or, where nothing has been saved for it, from the demo set's
synthetic rounds (``data/demo/readiness_responses.csv``, read through the datastore so that it is
listed, labelled synthetic, among the data used; :mod:`iwt_helpers.analysis.readiness_rounds`).
:class:`ReadinessForm` (:mod:`iwt_helpers.present.readiness_form`, named here for the notebook) is the
JupyterLab form partners fill in (not shown under the report runner).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from iwt_helpers.analysis import readiness as ra
from iwt_helpers.analysis.readiness_rounds import ReadinessRounds, Responses
from iwt_helpers.data import readiness_store as store
from iwt_helpers.present import charts
from iwt_helpers.present.explorer import data_changed, depends_on
from iwt_helpers.present.items import Figure, Headline, Provenance, Table, Text
from iwt_helpers.present.provenance import footer_text, provenance_of
from iwt_helpers.present.readiness_form import ReadinessForm as ReadinessForm

from .wording import caveat, icb_name, readiness_rounds_caveat

RAG_TEXT = {"red": "Red", "amber": "Amber", "green": "Green", ra.NOT_ASSESSED: "Not assessed"}


class ReadinessContext(ReadinessRounds):
    """The readiness theme's view of an ICB's rounds (:class:`ReadinessRounds`): the same responses,
    and their provenance."""

    def forget(self, icb: str) -> None:
        """Read the ICB's responses again next time (after a round has been saved), and tell the
        explorers that what they kept of any ICB is out of date."""
        super().forget(icb)
        data_changed()

    def prov(self, resp: Responses, periods: list[pd.Period] | None = None) -> Provenance:
        """Provenance of the assessments of some periods (default every one); it names their dates."""
        return provenance_of(*self.assessed(resp, periods))


def _when(p: pd.Period | pd.Timestamp | None, bank: store.ItemBank | None = None) -> str:
    """A period (or the period of a date) in words ('January-March 2025'; 'no earlier period')."""
    return ra.period_label(p, bank)


def _held(ctx: ReadinessContext, resp: Responses, p: pd.Period | None) -> str:
    """A period with the assessment dates it holds: 'January-March 2025 (assessed 3 and 17 March 2025)'."""
    if p is None:
        return _when(p, ctx.bank)
    return f"{_when(p, ctx.bank)} (assessed {ra.dates_text(ra.period_dates(resp.df, p, ctx.bank))})"


def _none_saved(icb: str) -> list:
    return [Text(f"No readiness responses for {icb_name(icb)}: nothing saved and no demonstration rounds.")]


def _rounds(ctx: ReadinessContext, icb: str, with_previous: bool = False):
    """The ICB's responses, its latest and previous period (the ICB view groups each partner's
    latest assessment in a period: ``bank.period``, a quarter unless set), and the provenance of
    the period(s) a section shows (the previous one too with ``with_previous``); None when nothing is saved."""
    resp = ctx.responses(icb)
    if resp.df.empty:
        return None
    latest, previous = resp.scoring(ctx.bank).latest_and_previous()
    shown = [d for d in (latest, previous if with_previous else None) if d is not None]
    return resp, latest, previous, ctx.prov(resp, shown)


def summary_section(ctx: ReadinessContext):
    """System readiness by domain in the latest period against the previous one, each partner's
    latest assessment against its previous one, and the dates each period holds."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        got = _rounds(ctx, icb, with_previous=True)
        if got is None:
            return _none_saved(icb)
        resp, latest, previous, prov = got
        bank = ctx.bank
        sc = resp.scoring(bank)
        dom = sc.domain_scores()
        now, before = sc.system_score(latest), sc.system_score(previous)
        n_partners = sc.in_period(latest)["partner"].nunique()
        best = dom.loc[dom["score"].idxmax(), "domain_label"] if dom["score"].notna().any() else "none"
        worst = dom.loc[dom["score"].idxmin(), "domain_label"] if dom["score"].notna().any() else "none"
        change = "" if np.isnan(before) else f", {'up' if now > before else 'down' if now < before else 'no change'} " \
                                               f"{abs(now - before):.1f} since {_when(previous, ctx.bank)}"
        title = (f"{icb_name(icb)}: system readiness {now:.1f} of {bank.target} in {_when(latest, ctx.bank)}{change}; "
                 f"strongest domain {best}, weakest {worst}")
        bars = pd.concat([dom.assign(round=_when(latest, ctx.bank), value=dom["score"])] +
                         ([dom.assign(round=_when(previous, ctx.bank), value=dom["previous_score"])] if previous is not None else []))
        fig = charts.grouped_bars(bars, "domain_label", "round", "value", f"Score (0 {bank.scale[0].lower()} to "
                                  f"{bank.target} {bank.scale[bank.target].lower()})", footer_text(prov), prov.stamp, title,
                                  ylim=(0, bank.target + 0.4))
        heads = [Headline(f"Readiness self-assessment: system score ({_when(latest, ctx.bank)}, {n_partners} partners)", now,
                          f"of {bank.target}", "{:.1f}", provenance=prov)]
        if not np.isnan(before):
            heads.append(Headline(f"Readiness: change in system score since {_when(previous, ctx.bank)}", now - before, "levels",
                                  "{:+.1f}", provenance=prov))
        every = ctx.prov(resp)
        per = ra.period_table(resp.df, bank)
        mine = ra.partner_changes(resp.df, bank)
        return [
            *heads,
            Text(f"{n_partners} partners scored {len(bank.items)} items in {_held(ctx, resp, latest)}"
                 f"{', compared with ' + _held(ctx, resp, previous) if previous is not None else ': the first period, no change to show yet'}. "
                 f"The system view groups assessments by {bank.period}: each partner counts once in a {bank.period}, with its "
                 f"latest assessment in it. Scale: {bank.scale_text()}. A domain's score is the mean of its items' scores; an "
                 "item's score is the mean of the partners who scored it."),
            Figure(fig, prov),
            Table(dom, f"{icb_name(icb)}: readiness by domain, {_when(latest, ctx.bank)} against {_when(previous, ctx.bank)}",
                  {"domain_label": "Domain", "items": "Items", "items_scored": "Items scored", "score": "Score",
                   "previous_score": "Previous period", "change": "Change"},
                  {"score": "{:.1f}", "previous_score": "{:.1f}", "change": "{:+.1f}"}, key="readiness_domains",
                  suppress=False, provenance=prov),
            Table(mine, f"{icb_name(icb)}: each partner's latest assessment against its own previous one (score: the mean of "
                  "its domain scores)",
                  {"partner": "Partner", "latest_date": "Latest assessment", "score": "Score", "items_scored": "Items scored",
                   "previous_date": "Previous assessment", "previous_score": "Previous score", "change": "Change"},
                  {"latest_date": "{:%d %b %Y}", "previous_date": "{:%d %b %Y}", "score": "{:.1f}", "previous_score": "{:.1f}",
                   "change": "{:+.1f}"}, key="readiness_partners", suppress=False, provenance=every),
            Table(per, f"{icb_name(icb)}: the assessments each {bank.period} holds (the system view counts each partner's latest "
                  f"in a {bank.period})",
                  {"period": bank.period.capitalize(), "dates": "Assessment dates", "partners": "Partners",
                   "partner_names": "Who"}, key="readiness_periods", suppress=False, provenance=every),
        ]
    return render


HEAT_COLOURS = ("#DA291C", "#ED8B00", "#FFB81C", "#78BE20", "#009639")    # 0 .. 4, NHS red to green


def heatmap_figure(piv: pd.DataFrame, bank: store.ItemBank, title: str, source: str, synthetic: bool | str):
    """Partner x item scores as coloured cells labelled with the score (blank: not assessed)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(list(HEAT_COLOURS[: len(bank.scale)])).with_extremes(bad=charts.NHS["pale_grey"])
    norm = BoundaryNorm(np.arange(-0.5, len(bank.scale)), cmap.N)
    fig, ax = plt.subplots(figsize=(11, 1.6 + 0.42 * len(piv)))
    ax.imshow(np.ma.masked_invalid(piv.to_numpy(dtype=float)), cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(piv.shape[1]), piv.columns, fontsize=8)
    ax.set_yticks(range(piv.shape[0]), piv.index, fontsize=9)
    ax.grid(False)
    for (y, x), v in np.ndenumerate(piv.to_numpy(dtype=float)):
        ax.text(x, y, "" if np.isnan(v) else f"{v:.0f}", ha="center", va="center", fontsize=8,
                color="white" if not np.isnan(v) and v in (0, len(bank.scale) - 1) else charts.NHS["black"])
    domains = bank.items["domain_label"].tolist()
    for x in range(1, len(domains)):
        if domains[x] != domains[x - 1]:
            ax.axvline(x - 0.5, color="white", linewidth=2.5)
    ax.set_xlabel("Item (grey: not assessed); " + bank.scale_text())
    return charts.finish(fig, title, source, synthetic)


def heatmap_section(ctx: ReadinessContext):
    """Each partner's score on each item in the latest period, and each item's RAG status and change."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        got = _rounds(ctx, icb, with_previous=True)
        if got is None:
            return _none_saved(icb)
        resp, latest, previous, prov = got
        bank = ctx.bank
        piv = resp.scoring(bank).heatmap()
        st = resp.scoring(bank).item_status()
        counts = st["rag"].value_counts()
        title = (f"{icb_name(icb)}, {_when(latest, ctx.bank)}: {counts.get('green', 0)} items green, {counts.get('amber', 0)} amber and "
                 f"{counts.get('red', 0)} red across {len(piv)} partners")
        st_shown = st.assign(rag=st["rag"].map(RAG_TEXT))
        return [
            Figure(heatmap_figure(piv, bank, title, footer_text(ctx.prov(resp, [latest])), prov.stamp), ctx.prov(resp, [latest])),
            Table(st_shown, f"{icb_name(icb)}: RAG status of each item ({_held(ctx, resp, latest)}: red below {bank.red_below:g}, "
                  f"green from {bank.green_from:g}) and change since {_when(previous, ctx.bank)}",
                  {"item_id": "Item", "domain_label": "Domain", "text": "What ready looks like", "partners_scored": "Partners scoring",
                   "score": "Score", "lowest": "Lowest", "highest": "Highest", "previous_score": "Previous period",
                   "change": "Change", "rag": "RAG"},
                  {"score": "{:.1f}", "lowest": "{:.0f}", "highest": "{:.0f}", "previous_score": "{:.1f}", "change": "{:+.1f}"},
                  key="readiness_items", suppress=False, provenance=prov),
        ]
    return render


def disagreement_section(ctx: ReadinessContext):
    """Items where partners' scores are the bank's disagreement_levels or more apart."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        got = _rounds(ctx, icb)
        if got is None:
            return _none_saved(icb)
        resp, latest, _, prov = got
        bank = ctx.bank
        dis = resp.scoring(bank).disagreements()
        items = [Headline(f"Readiness: items where partners disagree by {bank.disagreement_levels}+ levels ({_when(latest, ctx.bank)})",
                          len(dis), "items", provenance=prov)]
        if dis.empty:
            return items + [Text(f"No item has partners {bank.disagreement_levels} or more levels apart in "
                                 f"{_held(ctx, resp, latest)}.")]
        return items + [Table(dis, f"{icb_name(icb)}: {len(dis)} items where partners' scores are {bank.disagreement_levels} or "
                              f"more levels apart ({_held(ctx, resp, latest)}), widest first, with the evidence each side gave",
                              {"item_id": "Item", "domain_label": "Domain", "text": "What ready looks like", "spread": "Levels apart",
                               "lowest": "Lowest", "lowest_partners": "Scored lowest by", "lowest_evidence": "Evidence (lowest)",
                               "highest": "Highest", "highest_partners": "Scored highest by", "highest_evidence": "Evidence (highest)"},
                              key="readiness_disagreements", suppress=False, provenance=prov)]
    return render


def action_plan_section(ctx: ReadinessContext):
    """Gaps to the target level, largest weighted gap first, with the tip, owner and due date."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        got = _rounds(ctx, icb)
        if got is None:
            return _none_saved(icb)
        resp, latest, _, prov = got
        bank = ctx.bank
        plan = resp.scoring(bank).action_plan()
        plan = plan.assign(due_date=plan["due_date"].map(lambda d: "not set" if pd.isna(d) else f"{d:%Y-%m-%d}"),
                           rag=plan["rag"].map(RAG_TEXT))
        unassessed = resp.scoring(bank).not_assessed()
        top = plan.iloc[0] if len(plan) else None
        out = [Headline(f"Readiness: items below {bank.scale[bank.target].lower()} ({_when(latest, ctx.bank)})", len(plan), "items",
                        provenance=prov)]
        if top is not None:
            out.append(Text(f"The largest weighted gap is **{top['item_id']}** ({top['domain_label']}): "
                            f"score {top['score']:.1f} of {bank.target}, weight {top['weight']:g}. What helps: {top['helps']}"))
        out.append(Table(plan, f"{icb_name(icb)}: action plan, {_when(latest, ctx.bank)} - gaps to level {bank.target} "
                         f"({bank.scale[bank.target].lower()}) by weighted gap (weight x gap), largest first",
                         {"rank": "Rank", "item_id": "Item", "domain_label": "Domain", "text": "What ready looks like",
                          "score": "Score", "weight": "Weight", "weighted_gap": "Weighted gap", "helps": "Tip or resource that helps",
                          "owner": "Owner (partner)", "due_date": "Due date", "furthest_behind": "Partner(s) furthest behind",
                          "rag": "RAG"},
                         {"score": "{:.1f}", "weight": "{:g}", "weighted_gap": "{:.2f}"}, key="readiness_action_plan",
                         suppress=False, provenance=prov))
        if unassessed:
            out.append(Text(f"Not assessed by any partner in {_when(latest, ctx.bank)}, so not in the plan: {', '.join(unassessed)}."))
        return out
    return render


def answers_section(ctx: ReadinessContext):
    """Every partner's answers in the latest period (its latest assessment in it), with the date,
    evidence, owner and due date."""
    @depends_on("icb_code")
    def render(icb: str) -> list:
        got = _rounds(ctx, icb)
        if got is None:
            return _none_saved(icb)
        resp, latest, _, prov = got
        r = resp.scoring(ctx.bank).in_period(latest)
        r = r.assign(assessed=r["assessment_date"].map(lambda d: f"{d:%Y-%m-%d}"), score=pd.to_numeric(r["score"], errors="coerce").astype(float).map(
                         lambda s: "not assessed" if pd.isna(s) else f"{s:.0f}"),
                     evidence=r["evidence"].fillna(""), owner=r["owner"].fillna(""),
                     due_date=pd.to_datetime(r["due_date"]).map(lambda d: "" if pd.isna(d) else f"{d:%Y-%m-%d}"))
        return [Table(r, f"{icb_name(icb)}: every partner's answers in {_held(ctx, resp, latest)}", {
            "partner": "Partner", "assessed": "Assessed on", "item_id": "Item", "score": "Score", "evidence": "Evidence", "owner": "Owner",
            "due_date": "Due date"}, key="readiness_answers", suppress=False, provenance=prov)]
    return render


def banner_parts(ctx: ReadinessContext, icb: str) -> list[str]:
    return ["readiness self-assessment rounds (no rounds saved for this ICB)"] if ctx.synthetic(icb) else []


def caveats(ctx: ReadinessContext, icb: str) -> list[str]:
    resp, bank = ctx.responses(icb), ctx.bank
    return [readiness_rounds_caveat(resp.saved, resp.file), caveat("A32", scale=bank.scale_text()),
            caveat("A33", period=bank.period), caveat("A34", target=bank.target)]

