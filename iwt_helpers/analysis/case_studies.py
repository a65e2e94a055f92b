"""The case-study library (``data/reference/case_studies.yaml``): checked on loading, and its
initiatives ranked by how well they address an ICB's weakest readiness items.

An initiative's **score** for an ICB is the sum of the weighted gaps (readiness action plan:
weight x (target - score)) of the readiness items it is tagged with; items at the target level or
not assessed count 0. Ties are broken by the number of the ICB's weakest items it addresses, then
by library order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from iwt_helpers import paths
from iwt_helpers.data import geography

LIBRARY_FILE = "case_studies.yaml"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


class LibraryError(ValueError):
    """A case-study library that cannot be used; the message names the file and the entry."""


def load_library(path: str | Path | None = None, item_ids: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(systems, initiatives) of the library, checked: known ICB codes, unique ids, at least one
    valid readiness item per initiative, known themes and no e-mail addresses."""
    p = Path(path) if path else paths.reference(LIBRARY_FILE)
    text = p.read_text(encoding="utf-8")
    if _EMAIL.search(text):
        raise LibraryError(f"{p}: contains an e-mail address ({_EMAIL.search(text).group(0)}); the library holds no contact details")
    raw = yaml.safe_load(text) or {}
    if item_ids is None:
        from iwt_helpers.data.readiness_store import item_bank
        item_ids = item_bank().ids
    known_items, themes = set(item_ids), set(raw.get("themes") or [])
    systems, initiatives, seen = [], [], set()
    for s in raw.get("systems") or []:
        sid = s.get("id")
        try:
            code = geography.resolve_icb(s.get("icb_code"))
        except ValueError as err:
            raise LibraryError(f"{p}: systems.{sid}.icb_code: {err}") from None
        systems.append({"system_id": sid, "icb_code": code, "name": s["name"], "summary": s["summary"],
                        "facts": list(s.get("facts") or [])})
        for i in s.get("initiatives") or []:
            iid = i.get("id")
            where = f"{p}: systems.{sid}.initiatives.{iid}"
            if not iid or iid in seen:
                raise LibraryError(f"{where}: missing or repeated initiative id")
            seen.add(iid)
            tags = list(i.get("readiness") or [])
            bad = [t for t in tags if t not in known_items]
            if not tags or bad:
                raise LibraryError(f"{where}.readiness: {bad or 'none given'} - expected one or more item ids of "
                                   "data/reference/readiness_items.yaml")
            bad_themes = [t for t in i.get("themes") or [] if t not in themes]
            if not i.get("themes") or bad_themes:
                raise LibraryError(f"{where}.themes: {bad_themes or 'none given'} - expected some of {sorted(themes)}")
            initiatives.append({"initiative_id": iid, "system_id": sid, "icb_code": code, "system": s["name"],
                                "title": i["title"], "what": i["what"], "readiness": tags, "themes": list(i["themes"]),
                                "order": len(initiatives)})
    if not systems:
        raise LibraryError(f"{p}: no systems")
    out_s, out_i = pd.DataFrame(systems), pd.DataFrame(initiatives)
    out_s.attrs["source"] = out_i.attrs["source"] = raw.get("source", "")
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
