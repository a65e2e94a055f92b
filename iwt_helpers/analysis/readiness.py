"""Readiness self-assessment: the numbers, as pure functions of the responses and the item bank.

``responses`` has one row per partner x item x assessment (``data.readiness_store.COLUMNS``; a
blank score means not assessed). A **round** is one partner's assessment on one date: partners
need not share a date, and several partners and dates in a month are ordinary. Where a partner
saved twice for the same date, its later rows (lower in the file) count.

The ICB view groups assessments by a **period** (the item bank's ``period``: a quarter unless set
otherwise; month, quarter, year or financial year): in a period each partner counts once, with its
latest assessment in that period. "Latest" and "previous" are the latest period with an assessment
and the one before it that has one; :func:`period_table` says which dates each period holds. Each
partner's own latest assessment is compared with its previous one by :func:`partner_changes`.

Definitions (also in docs/readiness.md):

- an item's **score** in a period is the mean of the partners' scores for it (not assessed left out);
- a **domain's score** is the mean of its items' scores, each item counting once;
- the **RAG** of an item comes from its score against ``rag`` in the item bank;
- partners **disagree** on an item when their highest and lowest scores in the latest period are
  ``disagreement_levels`` or more apart;
- an item's **weighted gap** is its weight x (target level - its score), and the action plan lists
  the items with a gap, largest weighted gap first.
"""

from __future__ import annotations

import pandas as pd

from iwt_helpers.data.readiness_store import ItemBank, item_bank

NOT_ASSESSED = "not assessed"
When = pd.Period | pd.Timestamp | None


def current(responses: pd.DataFrame) -> pd.DataFrame:
    """The responses that count: for each partner, item and assessment date, the last saved."""
    return responses.drop_duplicates(["partner", "item_id", "assessment_date"], keep="last").reset_index(drop=True)


def rounds(responses: pd.DataFrame) -> list[pd.Timestamp]:
    """Assessment dates (of any partner), oldest first."""
    return sorted(pd.to_datetime(responses["assessment_date"]).dropna().unique())


def period_of(when, bank: ItemBank | None = None) -> pd.Period | None:
    """The period (of the bank's kind) a date falls in; a period is returned as it is."""
    if when is None or (not isinstance(when, pd.Period) and pd.isna(when)):
        return None
    return when if isinstance(when, pd.Period) else pd.Timestamp(when).to_period((bank or item_bank()).freq)


def periods(responses: pd.DataFrame, bank: ItemBank | None = None) -> list[pd.Period]:
    """The periods holding at least one assessment, oldest first."""
    return sorted({period_of(d, bank) for d in rounds(responses)})


def latest_and_previous(responses: pd.DataFrame, bank: ItemBank | None = None) -> tuple[pd.Period | None, pd.Period | None]:
    """The latest period with an assessment and the one before it that has one."""
    r = periods(responses, bank)
    return (r[-1] if r else None), (r[-2] if len(r) > 1 else None)


def in_period(responses: pd.DataFrame, when: When, bank: ItemBank | None = None) -> pd.DataFrame:
    """The responses that count for a period: each partner's latest assessment in it (its last save
    for that date); none for ``None``."""
    p = period_of(when, bank)
    if p is None or responses.empty:
        return responses.iloc[0:0]
    dates = pd.to_datetime(responses["assessment_date"])
    r = responses[(dates >= p.start_time) & (dates <= p.end_time)]
    last = r.groupby("partner", sort=False)["assessment_date"].transform("max")
    return current(r[r["assessment_date"] == last])


def period_dates(responses: pd.DataFrame, when: When, bank: ItemBank | None = None) -> list[pd.Timestamp]:
    """Every assessment date in a period (of any partner, each partner's earlier ones too)."""
    p = period_of(when, bank)
    return [] if p is None else [d for d in rounds(responses) if p.start_time <= d <= p.end_time]


def period_label(when: When, bank: ItemBank | None = None) -> str:
    """A period in words: 'March 2025', 'January-March 2025', '2025' or '2024/25'."""
    p = period_of(when, bank)
    if p is None:
        return "no earlier period"
    start, end = p.start_time, p.end_time
    if p.freqstr.startswith("M"):
        return f"{start:%B %Y}"
    if p.freqstr.startswith("Q"):
        return f"{start:%B}-{end:%B %Y}"
    if start.month == 1:
        return f"{start:%Y}"
    return f"{start:%Y}/{end:%y}" if end.year == start.year + 1 else f"{start:%B %Y}-{end:%B %Y}"


def dates_text(dates: list) -> str:
    """Dates in words, a month named once: '3 and 17 March 2025', '10 December 2024 and 3 March 2025'."""
    dates = sorted(pd.Timestamp(d) for d in dates)
    if not dates:
        return ""
    groups: list[list[pd.Timestamp]] = []
    for d in dates:
        if groups and (groups[-1][0].year, groups[-1][0].month) == (d.year, d.month):
            groups[-1].append(d)
        else:
            groups.append([d])
    parts = [f"{', '.join(str(d.day) for d in g[:-1])}{' and ' if len(g) > 1 else ''}{g[-1].day} {g[0]:%B %Y}" for g in groups]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def period_table(responses: pd.DataFrame, bank: ItemBank | None = None) -> pd.DataFrame:
    """Each period with an assessment, oldest first: its label, the dates it holds, how many
    partners it counts (each with its latest assessment in the period), and who."""
    rows = []
    for p in periods(responses, bank):
        r = in_period(responses, p, bank)
        names = list(dict.fromkeys(r["partner"]))
        rows.append({"period": period_label(p, bank), "dates": dates_text(period_dates(responses, p, bank)),
                     "partners": len(names), "partner_names": "; ".join(names)})
    return pd.DataFrame(rows, columns=["period", "dates", "partners", "partner_names"])


class Scoring:
    """The figures of one set of responses, each worked out once: a report shows the item scores,
    status and rounds in several sections. What its methods return is shared: never change it (the
    module's functions of the same names return a copy of their own)."""

    def __init__(self, responses: pd.DataFrame, bank: ItemBank):
        self.responses, self.bank = responses, bank
        self._memo: dict = {}

    def _once(self, key, work):
        if key not in self._memo:
            self._memo[key] = work()
        return self._memo[key]

    def latest_and_previous(self) -> tuple[pd.Period | None, pd.Period | None]:
        return self._once("latest_and_previous", lambda: latest_and_previous(self.responses, self.bank))

    def in_period(self, when: When) -> pd.DataFrame:
        return self._once(("in_period", period_of(when, self.bank)), lambda: in_period(self.responses, when, self.bank))

    def item_scores(self, when: When) -> pd.DataFrame:
        """Per item (in bank order): partners scoring it, mean, lowest and highest score in a period."""
        def work() -> pd.DataFrame:
            r = self.in_period(when)
            r = r.assign(score=pd.to_numeric(r["score"], errors="coerce").astype(float))
            g = r.dropna(subset=["score"]).groupby("item_id")["score"]
            stats = pd.DataFrame({"partners_scored": g.count(), "score": g.mean(), "lowest": g.min(), "highest": g.max()})
            out = self.bank.items[["id", "domain", "domain_label", "text", "weight", "helps", "order"]] \
                .rename(columns={"id": "item_id"})
            out = out.merge(stats, left_on="item_id", right_index=True, how="left")
            out["partners_scored"] = out["partners_scored"].fillna(0).astype(int)
            return out.sort_values("order").reset_index(drop=True)
        return self._once(("item_scores", period_of(when, self.bank)), work)

    def item_status(self) -> pd.DataFrame:
        """Per item: score in the latest and previous periods, the change, and the RAG status."""
        def work() -> pd.DataFrame:
            latest, previous = self.latest_and_previous()
            now = self.item_scores(latest).copy()
            before = self.item_scores(previous).set_index("item_id")["score"]
            now["previous_score"] = now["item_id"].map(before)
            now["change"] = now["score"] - now["previous_score"]
            now["rag"] = now["score"].map(lambda s: rag(s, self.bank))
            return now
        return self._once("item_status", work)

    def domain_scores(self) -> pd.DataFrame:
        """Per domain (in bank order): the system score in the latest and previous periods and the change."""
        def work() -> pd.DataFrame:
            g = self.item_status().groupby("domain", sort=False)
            out = pd.DataFrame({"domain_label": g["domain_label"].first(), "items": g.size(),
                                "items_scored": g["score"].count(), "score": g["score"].mean(),
                                "previous_score": g["previous_score"].mean()}).reset_index()
            out["change"] = out["score"] - out["previous_score"]
            return out
        return self._once("domain_scores", work)

    def system_score(self, when: When) -> float:
        """The mean of the domain scores in a period (each domain counting once); NaN if none."""
        if when is None:
            return float("nan")
        return float(self.item_scores(when).groupby("domain", sort=False)["score"].mean().mean())

    def heatmap(self, when: When = None) -> pd.DataFrame:
        """Partner x item scores in a period (default the latest): partners as rows (in order of first
        appearance), items as columns in bank order; NaN where not assessed."""
        when = when if when is not None else self.latest_and_previous()[0]
        r = self.in_period(when)
        order = list(dict.fromkeys(r["partner"]))
        piv = r.pivot(index="partner", columns="item_id", values="score")
        return piv.reindex(index=order, columns=self.bank.ids).apply(pd.to_numeric, errors="coerce").astype(float)

    def latest_scored(self) -> pd.DataFrame:
        """The latest period's responses with numeric scores (not assessed: NaN)."""
        return self._once("latest_scored", lambda: self.in_period(self.latest_and_previous()[0]).pipe(
            lambda r: r.assign(score=pd.to_numeric(r["score"], errors="coerce").astype(float))))

    def disagreements(self, levels: int | None = None) -> pd.DataFrame:
        """Items where partners' scores in the latest period are ``levels`` or more apart (default the
        bank's ``disagreement_levels``), widest spread first, with who scored lowest and highest."""
        levels = self.bank.disagreement_levels if levels is None else levels
        r = self.latest_scored().dropna(subset=["score"])
        items = self.bank.items.set_index("id")
        rows = [_disagreement(item_id, g, items) for item_id, g in r.groupby("item_id", sort=False)
                if len(g) >= 2 and g["score"].max() - g["score"].min() >= levels]
        cols = ["item_id", "domain_label", "text", "spread", "lowest", "lowest_partners", "highest", "highest_partners",
                "lowest_evidence", "highest_evidence"]
        if not rows:
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(rows).sort_values(["spread", "order"], ascending=[False, True], kind="mergesort")[cols] \
            .reset_index(drop=True)

    def action_plan(self) -> pd.DataFrame:
        """Items below the target level in the latest period, largest weighted gap first (then bank
        order), with the tip that helps, the owners named, the earliest due date and who is furthest behind."""
        st = self.item_status().copy()
        st["gap"] = self.bank.target - st["score"]
        st["weighted_gap"] = st["weight"] * st["gap"]
        plan = st[st["gap"] > 0].copy()
        owners, due, behind = _plan_notes(self.latest_scored())
        plan["owner"] = plan["item_id"].map(owners).replace("", "not named")
        plan["due_date"] = pd.to_datetime(plan["item_id"].map(due))
        plan["furthest_behind"] = plan["item_id"].map(behind)
        plan = plan.sort_values(["weighted_gap", "order"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
        plan.insert(0, "rank", range(1, len(plan) + 1))
        return plan[["rank", "item_id", "domain_label", "text", "score", "weight", "weighted_gap", "helps", "owner",
                     "due_date", "furthest_behind", "rag"]]

    def not_assessed(self) -> list[str]:
        """Items no partner scored in the latest period."""
        st = self.item_status()
        return st.loc[st["partners_scored"] == 0, "item_id"].tolist()


def _disagreement(item_id: str, g: pd.DataFrame, items: pd.DataFrame) -> dict:
    """One item's disagreement row: its spread, who scored lowest and highest, and their evidence."""
    low, high = g[g["score"] == g["score"].min()], g[g["score"] == g["score"].max()]
    return {"item_id": item_id, "domain_label": items.at[item_id, "domain_label"], "text": items.at[item_id, "text"],
            "spread": int(g["score"].max() - g["score"].min()), "lowest": int(low["score"].iloc[0]),
            "lowest_partners": "; ".join(low["partner"]), "highest": int(high["score"].iloc[0]),
            "highest_partners": "; ".join(high["partner"]),
            "lowest_evidence": " | ".join(e for e in low["evidence"].fillna("") if e),
            "highest_evidence": " | ".join(e for e in high["evidence"].fillna("") if e),
            "order": items.at[item_id, "order"]}


def _plan_notes(r: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per item of the latest period's responses: the owners partners named (with the partner), the
    earliest due date, and the partner(s) with the lowest score ('' where none)."""
    items = pd.Index(r["item_id"].unique())
    named = r[r["owner"].fillna("").str.strip() != ""]
    owner_of = pd.Series([f"{o} ({p})" for o, p in zip(named["owner"], named["partner"])], index=named.index, dtype=object)
    owners = owner_of.groupby(named["item_id"], sort=False).agg(lambda s: "; ".join(dict.fromkeys(s)))
    due = pd.to_datetime(r["due_date"]).groupby(r["item_id"], sort=False).min()
    scored = r.dropna(subset=["score"])
    lowest = scored[scored["score"] == scored.groupby("item_id", sort=False)["score"].transform("min")]
    behind = lowest.groupby("item_id", sort=False)["partner"].agg(lambda s: "; ".join(s))
    return (owners.reindex(items, fill_value="").astype(object), due.reindex(items),
            behind.reindex(items, fill_value="").astype(object))


def item_scores(responses: pd.DataFrame, bank: ItemBank, when: pd.Timestamp | None) -> pd.DataFrame:
    """Per item (in bank order): partners scoring it, mean, lowest and highest score in a period
    (a date stands for its period)."""
    return Scoring(responses, bank).item_scores(when)


def rag(score: float, bank: ItemBank) -> str:
    if score is None or pd.isna(score):
        return NOT_ASSESSED
    return "red" if score < bank.red_below else ("green" if score >= bank.green_from else "amber")


def item_status(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Per item: score in the latest and previous periods, the change, and the RAG status."""
    return Scoring(responses, bank).item_status()


def domain_scores(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Per domain (in bank order): the system score in the latest and previous periods and the change."""
    return Scoring(responses, bank).domain_scores()


def system_score(responses: pd.DataFrame, bank: ItemBank, when: When) -> float:
    """The mean of the domain scores in a period (each domain counting once); NaN if none."""
    return Scoring(responses, bank).system_score(when)


def heatmap(responses: pd.DataFrame, bank: ItemBank, when: When = None) -> pd.DataFrame:
    """Partner x item scores in a period (default the latest; each partner's latest assessment in
    it): partners as rows (in order of first appearance), items as columns in bank order; NaN where
    not assessed."""
    return Scoring(responses, bank).heatmap(when)


def disagreements(responses: pd.DataFrame, bank: ItemBank, levels: int | None = None) -> pd.DataFrame:
    """Items where partners' scores in the latest period are ``levels`` or more apart (default the
    bank's ``disagreement_levels``), widest spread first: who scored lowest and highest, and their evidence."""
    return Scoring(responses, bank).disagreements(levels)


def action_plan(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Items below the target level in the latest period, largest weighted gap first (then bank
    order): the tip that helps, the owners partners named (with the partner) and the earliest due
    date they gave. Items no partner assessed are left out (see :func:`item_status`)."""
    return Scoring(responses, bank).action_plan()


def not_assessed(responses: pd.DataFrame, bank: ItemBank) -> list[str]:
    """Items no partner scored in the latest period."""
    return Scoring(responses, bank).not_assessed()


def _own_score(rows: pd.DataFrame, bank: ItemBank) -> tuple[float, int]:
    """One partner's score in one assessment (the mean of its domain scores) and items it scored."""
    r = rows.assign(score=pd.to_numeric(rows["score"], errors="coerce").astype(float)).dropna(subset=["score"])
    dom = r["score"].groupby(r["item_id"].map(bank.domain_of)).mean()     # items not in the bank left out
    return (float(dom.mean()) if len(dom) else float("nan")), int(r["item_id"].nunique())


def partner_changes(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Each partner's latest assessment against its own previous one (in order of first appearance):
    dates, its score in each (the mean of its domain scores), the change and items it scored."""
    cols = ["partner", "latest_date", "score", "items_scored", "previous_date", "previous_score", "change"]
    rows = []
    for partner, g in responses.groupby("partner", sort=False):
        dates = rounds(g)
        latest = dates[-1]
        score, scored = _own_score(current(g[g["assessment_date"] == latest]), bank)
        prev = dates[-2] if len(dates) > 1 else pd.NaT
        before = _own_score(current(g[g["assessment_date"] == prev]), bank)[0] if len(dates) > 1 else float("nan")
        rows.append({"partner": partner, "latest_date": latest, "score": score, "items_scored": scored,
                     "previous_date": prev, "previous_score": before, "change": score - before})
    return pd.DataFrame(rows, columns=cols)
