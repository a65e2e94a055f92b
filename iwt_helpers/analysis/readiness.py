"""Readiness self-assessment: the numbers, as pure functions of the responses and the item bank.

``responses`` has one row per partner x item x round (``data.readiness_store.COLUMNS``; a blank
score means not assessed). A round is an assessment date. Where a partner saved twice for the
same date, its later rows (lower in the file) count.

Definitions (also in docs/readiness.md):

- an item's **score** in a round is the mean of the partners' scores for it (not assessed left out);
- a **domain's score** is the mean of its items' scores, each item counting once;
- the **RAG** of an item comes from its score against ``rag`` in the item bank;
- partners **disagree** on an item when their highest and lowest scores in the latest round are
  ``disagreement_levels`` or more apart;
- an item's **weighted gap** is its weight x (target level - its score), and the action plan lists
  the items with a gap, largest weighted gap first.
"""

from __future__ import annotations

import pandas as pd

from iwt_helpers.data.readiness_store import ItemBank

NOT_ASSESSED = "not assessed"


def current(responses: pd.DataFrame) -> pd.DataFrame:
    """The responses that count: for each partner, item and round, the last saved."""
    return responses.drop_duplicates(["partner", "item_id", "assessment_date"], keep="last").reset_index(drop=True)


def rounds(responses: pd.DataFrame) -> list[pd.Timestamp]:
    """Assessment dates, oldest first."""
    return sorted(pd.to_datetime(responses["assessment_date"]).dropna().unique())


def latest_and_previous(responses: pd.DataFrame) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    r = rounds(responses)
    return (r[-1] if r else None), (r[-2] if len(r) > 1 else None)


def _round(responses: pd.DataFrame, when: pd.Timestamp | None) -> pd.DataFrame:
    if when is None:
        return responses.iloc[0:0]
    return current(responses[responses["assessment_date"] == when])


def item_scores(responses: pd.DataFrame, bank: ItemBank, when: pd.Timestamp | None) -> pd.DataFrame:
    """Per item (in bank order): partners scoring it, mean, lowest and highest score in a round."""
    r = _round(responses, when)
    r = r.assign(score=pd.to_numeric(r["score"], errors="coerce").astype(float))
    g = r.dropna(subset=["score"]).groupby("item_id")["score"]
    stats = pd.DataFrame({"partners_scored": g.count(), "score": g.mean(), "lowest": g.min(), "highest": g.max()})
    out = bank.items[["id", "domain", "domain_label", "text", "weight", "helps", "order"]].rename(columns={"id": "item_id"})
    out = out.merge(stats, left_on="item_id", right_index=True, how="left")
    out["partners_scored"] = out["partners_scored"].fillna(0).astype(int)
    return out.sort_values("order").reset_index(drop=True)


def rag(score: float, bank: ItemBank) -> str:
    if score is None or pd.isna(score):
        return NOT_ASSESSED
    return "red" if score < bank.red_below else ("green" if score >= bank.green_from else "amber")


def item_status(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Per item: score in the latest and previous rounds, the change, and the RAG status."""
    latest, previous = latest_and_previous(responses)
    now = item_scores(responses, bank, latest)
    before = item_scores(responses, bank, previous).set_index("item_id")["score"]
    now["previous_score"] = now["item_id"].map(before)
    now["change"] = now["score"] - now["previous_score"]
    now["rag"] = now["score"].map(lambda s: rag(s, bank))
    return now


def domain_scores(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Per domain (in bank order): the system score in the latest and previous rounds and the change."""
    st = item_status(responses, bank)
    g = st.groupby("domain", sort=False)
    out = pd.DataFrame({"domain_label": g["domain_label"].first(), "items": g.size(),
                        "items_scored": g["score"].count(), "score": g["score"].mean(),
                        "previous_score": g["previous_score"].mean()}).reset_index()
    out["change"] = out["score"] - out["previous_score"]
    return out


def system_score(responses: pd.DataFrame, bank: ItemBank, when: pd.Timestamp | None) -> float:
    """The mean of the domain scores in a round (each domain counting once); NaN if none."""
    st = item_scores(responses, bank, when)
    return float(st.groupby("domain", sort=False)["score"].mean().mean()) if when is not None else float("nan")


def heatmap(responses: pd.DataFrame, bank: ItemBank, when: pd.Timestamp | None = None) -> pd.DataFrame:
    """Partner x item scores in a round (default the latest): partners as rows (in order of first
    appearance), items as columns in bank order; NaN where not assessed."""
    when = when if when is not None else latest_and_previous(responses)[0]
    r = _round(responses, when)
    order = list(dict.fromkeys(r["partner"]))
    piv = r.pivot(index="partner", columns="item_id", values="score")
    return piv.reindex(index=order, columns=bank.ids).apply(pd.to_numeric, errors="coerce").astype(float)


def disagreements(responses: pd.DataFrame, bank: ItemBank, levels: int | None = None) -> pd.DataFrame:
    """Items where partners' scores in the latest round are ``levels`` or more apart (default the
    bank's ``disagreement_levels``), widest spread first: who scored lowest and highest, and their evidence."""
    levels = bank.disagreement_levels if levels is None else levels
    latest, _ = latest_and_previous(responses)
    r = _round(responses, latest)
    r = r.assign(score=pd.to_numeric(r["score"], errors="coerce").astype(float)).dropna(subset=["score"])
    rows = []
    items = bank.items.set_index("id")
    for item_id, g in r.groupby("item_id", sort=False):
        spread = g["score"].max() - g["score"].min()
        if len(g) < 2 or spread < levels:
            continue
        low, high = g[g["score"] == g["score"].min()], g[g["score"] == g["score"].max()]
        rows.append({"item_id": item_id, "domain_label": items.at[item_id, "domain_label"], "text": items.at[item_id, "text"],
                     "spread": int(spread), "lowest": int(low["score"].iloc[0]), "lowest_partners": "; ".join(low["partner"]),
                     "highest": int(high["score"].iloc[0]), "highest_partners": "; ".join(high["partner"]),
                     "lowest_evidence": " | ".join(e for e in low["evidence"].fillna("") if e),
                     "highest_evidence": " | ".join(e for e in high["evidence"].fillna("") if e),
                     "order": items.at[item_id, "order"]})
    cols = ["item_id", "domain_label", "text", "spread", "lowest", "lowest_partners", "highest", "highest_partners",
            "lowest_evidence", "highest_evidence"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(rows).sort_values(["spread", "order"], ascending=[False, True], kind="mergesort")[cols] \
        .reset_index(drop=True)


def action_plan(responses: pd.DataFrame, bank: ItemBank) -> pd.DataFrame:
    """Items below the target level in the latest round, largest weighted gap first (then bank
    order): the tip that helps, the owners partners named (with the partner) and the earliest due
    date they gave. Items no partner assessed are left out (see :func:`item_status`)."""
    latest, _ = latest_and_previous(responses)
    st = item_status(responses, bank)
    st["gap"] = bank.target - st["score"]
    st["weighted_gap"] = st["weight"] * st["gap"]
    plan = st[st["gap"] > 0].copy()
    r = _round(responses, latest)
    r = r.assign(score=pd.to_numeric(r["score"], errors="coerce").astype(float))
    owners, due, behind = {}, {}, {}
    for item_id, g in r.groupby("item_id", sort=False):
        named = g[g["owner"].fillna("").str.strip() != ""]
        owners[item_id] = "; ".join(dict.fromkeys(f"{o} ({p})" for o, p in zip(named["owner"], named["partner"])))
        d = pd.to_datetime(g["due_date"]).dropna()
        due[item_id] = d.min() if len(d) else pd.NaT
        scored = g.dropna(subset=["score"])
        behind[item_id] = "; ".join(scored.loc[scored["score"] == scored["score"].min(), "partner"]) if len(scored) else ""
    plan["owner"] = plan["item_id"].map(owners).replace("", "not named")
    plan["due_date"] = pd.to_datetime(plan["item_id"].map(due))
    plan["furthest_behind"] = plan["item_id"].map(behind)
    plan = plan.sort_values(["weighted_gap", "order"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    plan.insert(0, "rank", range(1, len(plan) + 1))
    return plan[["rank", "item_id", "domain_label", "text", "score", "weight", "weighted_gap", "helps", "owner",
                 "due_date", "furthest_behind", "rag"]]


def not_assessed(responses: pd.DataFrame, bank: ItemBank) -> list[str]:
    """Items no partner scored in the latest round."""
    st = item_status(responses, bank)
    return st.loc[st["partners_scored"] == 0, "item_id"].tolist()
