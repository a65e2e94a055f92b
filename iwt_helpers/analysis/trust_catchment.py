"""NHS trusts that serve several ICBs: attributing NHS trust staff to the ICBs they serve.

Published NHS trust staff in post count each trust wholly in the ICB it sits in (its host), so an
ICB hosting an ambulance trust or a regional specialist centre looks well staffed per head and its
neighbours under-staffed. Three rules (report parameter ``regional_trusts``):

* ``apportion`` (the default): acute and specialist trusts are split between ICBs by their shares
  of admissions (OHID catchments, 2022), ambulance trusts by the population of the part of each ICB
  they serve (``data/reference/ambulance_trusts.yaml``); mental health, community and other trusts
  stay with their host;
* ``exclude``: ambulance trusts, and acute or specialist trusts with less than half their admissions
  from their host ICB (:data:`HOST_MAJORITY`), are left out of per-head comparisons everywhere
  (England included); other trusts stay with their host;
* ``host``: as published, every trust in its host ICB.

Organisation-level FTE come from ``nhs_staff_monthly`` (NHS Workforce Statistics, by organisation
and month) at its latest month: each trust's share of its host ICB's trust FTE that month. The
resulting host -> ICB shares (:func:`icb_attribution`) are applied to whatever ICB totals a
comparison uses (November 2025 staff in post from the turnover benchmarking files on the shared real
data): the mix of trusts within each ICB is assumed to be that of the organisation month.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from iwt_helpers.errors import UsageError

RULES = ("apportion", "exclude", "host")
DEFAULT_RULE = "apportion"
HOST_MAJORITY = 0.5
KINDS = ("acute_specialist", "ambulance", "host")   # how a trust is attributed (themes.wording.TRUST_KIND says it in words)


@dataclass(frozen=True)
class Attribution:
    """The rule applied, organisation weights, the host -> ICB shares and a sentence saying which."""
    rule: str                       # the rule asked for
    applied: str                    # the rule applied ("host" when the organisation table is missing)
    weights: pd.DataFrame | None    # one row per organisation x ICB served (see :func:`organisation_weights`)
    shares: pd.DataFrame | None     # host_icb_code, icb_code, share (see :func:`icb_attribution`)
    period: pd.Timestamp | None     # the month of the organisation FTE
    text: str                       # what a reader needs to know, in a sentence or two


def organisation_fte(monthly: pd.DataFrame | None) -> pd.DataFrame | None:
    """NHS trusts' FTE at the latest month of ``nhs_staff_monthly`` (org_type ``trust``): org_code,
    org_name, host_icb_code, fte, period. None when the table has no organisations (the committed ICB
    totals ``nhs_staff_monthly_icb`` have none)."""
    if monthly is None or "org_code" not in monthly or "org_type" not in monthly:
        return None
    t = monthly[monthly["org_type"] == "trust"]
    t = t[t["period"] == t["period"].max()]
    out = t.groupby(["org_code", "org_name", "icb_code", "period"], as_index=False)["fte"].sum()
    return out.rename(columns={"icb_code": "host_icb_code"})


def organisation_weights(orgs: pd.DataFrame, catchment: pd.DataFrame, rule: str = DEFAULT_RULE) -> pd.DataFrame:
    """Each organisation's FTE split between ICBs under ``rule``: one row per organisation and ICB
    served with ``weight`` (share of the organisation attributed to the ICB; for ``exclude`` the
    weights of a left-out trust are 0) and ``share_of_host_pct`` (its share of its host ICB's FTE).

    ``orgs``: org_code, org_name, host_icb_code, fte; ``catchment``: org_code, kind, icb_code, share
    (shares of each organisation are rescaled to add to 1, so rounding in the file loses no staff).
    """
    if rule not in RULES:
        raise UsageError(f"regional_trusts {rule!r}: expected one of {', '.join(RULES)}")
    o = orgs.copy()
    o["share_of_host_pct"] = 100 * o["fte"] / o.groupby("host_icb_code")["fte"].transform("sum")
    c = catchment[catchment["org_code"].isin(o["org_code"])][["org_code", "kind", "icb_code", "share"]]
    c = c.assign(share=c["share"] / c.groupby("org_code")["share"].transform("sum"))
    kind = c.drop_duplicates("org_code").set_index("org_code")["kind"]
    o["kind"] = o["org_code"].map(kind).fillna("host")
    host_share = c.merge(o[["org_code", "host_icb_code"]], on="org_code")
    host_share = host_share[host_share["icb_code"] == host_share["host_icb_code"]].set_index("org_code")["share"]
    o["host_admissions_share"] = o["org_code"].map(host_share).fillna(0.0).where(o["kind"] != "host", 1.0)
    at_host = o.assign(icb_code=o["host_icb_code"], weight=1.0)
    if rule == "host":
        return at_host.reset_index(drop=True)
    if rule == "apportion":
        split = o[o["kind"] != "host"].merge(c[["org_code", "icb_code", "share"]], on="org_code").rename(columns={"share": "weight"})
        return pd.concat([at_host[at_host["kind"] == "host"], split], ignore_index=True)
    regional = (o["kind"] == "ambulance") | ((o["kind"] == "acute_specialist") & (o["host_admissions_share"] < HOST_MAJORITY))
    return at_host.assign(weight=at_host["weight"].where(~regional, 0.0)).reset_index(drop=True)


def icb_attribution(weights: pd.DataFrame) -> pd.DataFrame:
    """Share of each host ICB's NHS trust FTE attributed to each ICB: host_icb_code, icb_code, share
    (a host's shares add to 1 under ``apportion`` and ``host``, to less under ``exclude``)."""
    w = weights.assign(part=weights["weight"] * weights["share_of_host_pct"] / 100)
    return w.groupby(["host_icb_code", "icb_code"], as_index=False)["part"].sum().rename(columns={"part": "share"})


def apportion(workforce: pd.DataFrame, shares: pd.DataFrame | None, sector: str = "nhs_trust") -> pd.DataFrame:
    """``workforce`` with the FTE and headcount of ``sector`` moved from each host ICB to the ICBs it
    serves (``shares`` from :func:`icb_attribution`); ICBs without shares keep their own; other
    sectors unchanged. None: returned as it is."""
    if shares is None:
        return workforce
    mine = workforce[workforce["sector"] == sector]
    rest = workforce[workforce["sector"] != sector]
    known = set(shares["host_icb_code"])
    keep = mine[~mine["icb_code"].isin(known)]
    moved = mine[mine["icb_code"].isin(known)].merge(shares.rename(columns={"icb_code": "to_icb"}),
                                                     left_on="icb_code", right_on="host_icb_code")
    moved = moved.assign(icb_code=moved["to_icb"], fte=moved["fte"] * moved["share"],
                         headcount=moved["headcount"] * moved["share"]).drop(columns=["to_icb", "host_icb_code", "share"])
    keys = [c for c in mine.columns if c not in ("fte", "headcount")]
    moved = moved.groupby(keys, as_index=False, dropna=False, sort=False)[["fte", "headcount"]].sum(min_count=1)
    return pd.concat([rest, keep, moved[mine.columns]], ignore_index=True)


def describe(rule: str, applied: str, period: pd.Timestamp | None) -> str:
    """The sentence a per-head figure carries about NHS trusts that serve several ICBs."""
    month = f"{period:%B %Y}" if period is not None else ""
    if applied == "apportion":
        return (f"NHS trusts apportioned to the ICBs they serve: acute and specialist trusts by their shares of "
                f"admissions (OHID catchments, 2022), the ten ambulance trusts by the population of each ICB in their "
                f"area; mental health, community and other trusts stay with their host ICB. Each trust's share of its "
                f"host ICB's FTE is from {month} (NHS Workforce Statistics by organisation), applied to the ICB totals shown")
    if applied == "exclude":
        return (f"Ambulance trusts, and acute or specialist trusts with less than half their admissions from their host "
                f"ICB, are left out of per-head figures (England's included), using each trust's share of its host ICB's "
                f"FTE in {month}; other trusts count in their host ICB")
    if rule != "host":
        return ("NHS trusts counted wholly in the ICB they sit in (host): apportioning them to the ICBs they serve needs "
                "the NHS Workforce Statistics file by organisation (nhs_staff_monthly), not in this data folder")
    return "NHS trusts counted wholly in the ICB they sit in (host), as published"


def attribute(monthly: pd.DataFrame | None, catchment: pd.DataFrame, rule: str = DEFAULT_RULE) -> Attribution:
    """The attribution of NHS trust staff under ``rule`` from the organisation table ``monthly``
    (``nhs_staff_monthly``); without organisations, host attribution, said so."""
    if rule not in RULES:
        raise UsageError(f"regional_trusts {rule!r}: expected one of {', '.join(RULES)}")
    orgs = organisation_fte(monthly)
    if orgs is None or orgs.empty:
        return Attribution(rule, "host", None, None, None, describe(rule, "host", None))
    w = organisation_weights(orgs, catchment, rule)
    period = orgs["period"].max()
    return Attribution(rule, rule, w, icb_attribution(w), period, describe(rule, rule, period))


def organisations_for(weights: pd.DataFrame, icb_code: str) -> pd.DataFrame:
    """The organisations behind an ICB's NHS trust figures: those it hosts and those hosted elsewhere
    that serve it, with each one's FTE, its share of its host ICB's FTE, the share of it attributed
    to this ICB and those FTE (``fte_to_icb``). Largest contribution first."""
    w = weights[(weights["host_icb_code"] == icb_code) | (weights["icb_code"] == icb_code)]
    hosted = w[w["host_icb_code"] == icb_code].drop_duplicates("org_code").assign(weight=0.0, icb_code=icb_code)
    mine = w[w["icb_code"] == icb_code]
    rows = pd.concat([mine, hosted[~hosted["org_code"].isin(mine["org_code"])]], ignore_index=True)
    out = rows[["org_code", "org_name", "host_icb_code", "kind", "fte", "share_of_host_pct", "weight"]].copy()
    out["hosted_here"] = out["host_icb_code"] == icb_code
    out["share_to_icb_pct"] = 100 * out["weight"]
    out["fte_to_icb"] = out["fte"] * out["weight"]
    out = out.drop(columns="weight")
    return out.sort_values(["hosted_here", "fte_to_icb", "fte"], ascending=[False, False, False]).reset_index(drop=True)


def attributed_totals(orgs: pd.DataFrame) -> dict:
    """What :func:`organisations_for` adds up to: the trusts the ICB hosts and their FTE, the FTE of
    them that count in it, and the trusts hosted elsewhere with FTE attributed to it and those FTE."""
    here = orgs[orgs["hosted_here"]]
    away = orgs[~orgs["hosted_here"] & (orgs["fte_to_icb"] > 0)]
    return {"hosted": len(here), "hosted_fte": here["fte"].sum(), "kept_fte": here["fte_to_icb"].sum(),
            "from_elsewhere": len(away), "from_elsewhere_fte": away["fte_to_icb"].sum()}
