"""The case-study library (``data/reference/case_studies.yaml``, checked by its config model) as
tables, and its initiatives ranked by how well they address an ICB's weakest readiness items.

An initiative's **score** for an ICB is the sum of the weighted gaps (readiness action plan:
weight x (target - score)) of the readiness items it is tagged with; items at the target level or
not assessed count 0. Ties are broken by the number of the ICB's weakest items it addresses, then
by library order.
"""

from __future__ import annotations

import pandas as pd

from iwt_helpers import config
from iwt_helpers.data import geography

LIBRARY_FILE = "case_studies.yaml"


def load_library(library: config.CaseStudyLibrary | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(systems, initiatives) of the library as tables: ``case_studies.yaml``, validated by its config
    model (known ICB codes, unique ids, at least one known readiness item and known themes per
    initiative, no e-mail addresses), unless ``library`` is given."""
    lib = config.case_studies() if library is None else library
    systems, initiatives = [], []
    for s in lib.systems:
        systems.append({"system_id": s.id, "icb_code": s.icb_code, "name": s.name, "summary": s.summary,
                        "facts": list(s.facts)})
        for i in s.initiatives:
            initiatives.append({"initiative_id": i.id, "system_id": s.id, "icb_code": s.icb_code, "system": s.name,
                                "title": i.title, "what": i.what, "readiness": list(i.readiness),
                                "themes": list(i.themes), "order": len(initiatives)})
    out_s, out_i = pd.DataFrame(systems), pd.DataFrame(initiatives)
    out_s.attrs["source"] = out_i.attrs["source"] = lib.source
    return out_s, out_i


def rank_initiatives(initiatives: pd.DataFrame, plan: pd.DataFrame, weakest_n: int = 5,
                     icb_code: str | None = None) -> pd.DataFrame:
    """Initiatives ranked by the summed weighted gap of the readiness items they address.

    ``plan`` is the readiness action plan (``item_id``, ``weighted_gap``, largest first); its first
    ``weakest_n`` items are the ICB's weakest. With ``icb_code``, the ICB's own initiatives are left
    out: a system is never told to adopt what it already does."""
    gaps = plan.set_index("item_id")["weighted_gap"].astype(float).to_dict()
    weakest = list(plan.sort_values("weighted_gap", ascending=False, kind="mergesort")["item_id"].head(weakest_n))
    out = initiatives.copy()
    if icb_code is not None:
        out = out[out["icb_code"] != geography.resolve_icb(icb_code)]
    out["score"] = out["readiness"].map(lambda tags: float(sum(gaps.get(t, 0.0) for t in tags)))
    out["weak_items"] = out["readiness"].map(lambda tags: [t for t in weakest if t in tags])
    out["n_weak"] = out["weak_items"].map(len)
    out = out.sort_values(["score", "n_weak", "order"], ascending=[False, False, True], kind="mergesort").reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    out["addresses"] = out["readiness"].map(lambda tags: ", ".join(f"{t} ({gaps[t]:.2f})" if t in gaps else f"{t} (no gap)"
                                                                    for t in tags))
    out["weakest_addressed"] = out["weak_items"].map(lambda w: ", ".join(w) or "none")
    return out
