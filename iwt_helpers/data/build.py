"""``iwt data build`` and ``iwt data status``.

Build: find every file under the raw folder, recognise each by its content, load lookups
first (geography, organisations), then population, then the data sources; validate every
canonical table; write Parquet tables, ``datasets.json`` and ``build_report.json`` into a
temporary folder beside the output and swap it in only when everything succeeded, so a failed
build leaves the previous processed data set as it was. Building twice from the same inputs
gives byte-identical files (no timestamps; rows sorted; stable Parquet writer settings).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from iwt_helpers import atomic
from iwt_helpers.errors import IwtError

from . import population, schemas, sources
from .datastore import MANIFEST, PROCESSED_MARK
from .sources import BuildContext, LoadResult, SourceError
from .tables import SPECS

REPORT = "build_report.json"
# Lookups that place organisations in ICBs, most authoritative first.
# Published ICS codes first (sickness absence, turnover), then the ODS trust list (ICB of each
# trust's headquarters, closed trusts included), then older lookups.
ORG_LOOKUP_ORDER = ["nhs_sickness_absence", "nhs_workforce_turnover", "nhs_organisation_lookup", "ods_trusts",
                    "nhs_ccg_icb_lookup", "nhs_trust_icb_lookup"]
# Sources read once even if several files hold them (e.g. a workbook and a CSV made from it): one
# file per source and edition, where a source says which edition a file is (``edition(path)``,
# e.g. the year of a mid-year estimate), so the mid-2020 and mid-2024 estimates are both read.
SINGLE = {"ons_mye", "ons_snpp", "ons_snpp_2022", "nhs_hchs_workforce"}
# The order each table's rows are written in (tables.SPECS), so that a build is byte-identical.
SORT_KEYS = {s.name: list(s.sort_keys) for s in SPECS if s.sort_keys}


# Folders inside a processed folder that hold users' own records, not built tables: a rebuild
# carries them over unchanged (readiness self-assessments saved with --data DIR).
KEPT_FOLDERS = ("readiness",)


class BuildError(IwtError, ValueError):
    """The build stopped; the message names the file and what was wrong."""


@dataclass
class Found:
    path: Path
    source: type
    sha256: str


@dataclass
class BuildReport:
    files: list[dict] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    unplaced: list[dict] = field(default_factory=list)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def discover(raw: Path) -> tuple[list[Found], list[str]]:
    """Recognise every data file under ``raw``; documentation files are listed as ignored.
    A data file that matches no known source stops the build."""
    raw = Path(raw)
    if not raw.is_dir():
        raise BuildError(f"--raw {raw}: folder not found")
    found, ignored = [], []
    for p in sorted(x for x in raw.rglob("*") if x.is_file() and not x.name.startswith(".")):
        rel = str(p.relative_to(raw))
        if p.suffix.lower() in sources.IGNORED_SUFFIXES:
            ignored.append(rel)
            continue
        src = sources.recognise(p)
        if src is None:
            known = ", ".join(sorted({s.TITLE for s in sources.registry() if s.KIND != "provenance"}))
            raise BuildError(f"{p}: not a recognised source file (recognised by their columns or sheets: {known}). "
                             "Remove it from the raw folder, or add a loader in iwt_helpers/sources.")
        found.append(Found(p, src, _sha(p)))
    return found, ignored


def _same_bytes(found: list[Found], report: BuildReport, raw: Path) -> list[Found]:
    """A file with the same bytes as one already found is a duplicate copy: listed, not read."""
    seen: dict[str, str] = {}
    keep = []
    for f in found:
        rel = str(f.path.relative_to(raw))
        if f.sha256 in seen:
            report.duplicates.append(f"{rel}: duplicate file, the same bytes as {seen[f.sha256]} (read once)")
            continue
        seen[f.sha256] = rel
        keep.append(f)
    return keep


def _pick(found: list[Found], report: BuildReport, raw: Path) -> list[Found]:
    """Keep one file per SINGLE source and edition: the original publisher format first (lowest
    PREFERENCE)."""
    keep, seen = [], {}
    for f in sorted(found, key=lambda f: (f.source.PREFERENCE, f.path.suffix.lower() not in (".xlsx", ".xls"), str(f.path))):
        key = f.source.ID
        if key in SINGLE and hasattr(f.source, "edition"):
            try:
                key = (key, f.source.edition(f.path))
            except SourceError as exc:
                raise BuildError(str(exc)) from None
        if f.source.ID in SINGLE and key in seen:
            report.duplicates.append(f"{f.path.relative_to(raw)}: same source as {seen[key]} (kept that one)")
            continue
        seen.setdefault(key, str(f.path.relative_to(raw)))
        keep.append(f)
    return sorted(keep, key=lambda f: str(f.path))




def made_by_build(folder: Path) -> bool:
    """True when ``folder`` is a processed data folder that ``iwt data build`` wrote."""
    f = Path(folder) / MANIFEST
    try:
        return json.loads(f.read_text(encoding="utf-8")).get("dataset") == PROCESSED_MARK
    except (OSError, ValueError, AttributeError):
        return False


def shipped_files(out: Path) -> set[str]:
    """Files the project ships in an output folder (``data/processed/README.md``): a rebuild carries them over."""
    from iwt_helpers import paths
    return {"README.md"} if Path(out).resolve() == paths.PROCESSED.resolve() else set()


def foreign_files(out: Path) -> list[str]:
    """What a processed folder holds that iwt did not write there: anything but the files its
    ``datasets.json`` lists, the build or extract report, the records folder of an extract, the
    folders users save into (``readiness/``) and the project's own README of ``data/processed``."""
    out = Path(out)
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    made = {MANIFEST, REPORT, "extract_report.json", atomic.MARKER, *KEPT_FOLDERS, *shipped_files(out)}
    made |= {str(m.get("file")) for m in (manifest.get("tables") or {}).values() if isinstance(m, dict)}
    if isinstance(manifest.get("records"), dict):
        made.add(str(manifest["records"].get("file", "")).split("/")[0])
    return sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir() if p.name not in made)


def check_output(raw: Path, out: Path) -> None:
    """Refuse an output folder the build must not replace: the raw folder itself, a folder inside
    it or containing it, the project's committed data, any existing folder holding files that the
    build did not make (the swap would delete them), or a folder of the swap's temporary name
    ``.<out>.old`` that the build did not make. ``data/processed`` holding only its README counts as the
    build's own (the README is carried over)."""
    raw, out = Path(raw).resolve(), Path(out).resolve()
    from iwt_helpers import paths
    if out == raw or raw in out.parents or out in raw.parents:
        raise BuildError(f"--out {out}: is, contains or sits inside the raw folder {raw}; "
                         "choose a separate folder such as data/processed")
    for keep in (paths.ROOT, paths.DATA, paths.REFERENCE, paths.DEMO, paths.RAW, Path.home().resolve()):
        if out == keep.resolve():
            raise BuildError(f"--out {out}: would replace {keep}; choose a folder of its own such as data/processed")
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out}: is a file, not a folder; choose a new or empty folder such as data/processed")
    if out.exists():
        names = {p.name for p in out.iterdir()}
        extra = foreign_files(out) if made_by_build(out) else sorted(names - shipped_files(out))
        if extra:
            shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
            raise BuildError(f"--out {out}: holds files that iwt data build did not make ({shown}); the build replaces "
                             "its output folder whole, so it will not touch this one. Move them out, or choose a new or "
                             "empty folder or a folder an earlier build made (its readiness/ rounds are kept).")
    old = out.with_name(f".{out.name}.old")
    if (old.exists() or old.is_symlink()) and not (old.is_dir() and not old.is_symlink() and made_by_build(old)):
        raise BuildError(f"--out {out}: {old} is in the way (the build uses that name for a moment while it swaps the "
                         "new folder in) and iwt did not make it; move or rename it, then build again")


def _load_sources(found: list[Found], ctx: BuildContext, raw: Path) -> tuple[list[tuple[Found, LoadResult]], list]:
    """Read every file in the order the sources need each other: (file, result) of each file, and
    (files, result) of each source that combines several files."""
    results: list[tuple[Found, LoadResult]] = []

    def run(f: Found) -> LoadResult:
        try:
            return f.source.load(f.path, ctx)
        except SourceError as exc:
            raise BuildError(str(exc)) from None
        except (KeyError, ValueError) as exc:
            raise BuildError(f"{f.path}: could not be read as {f.source.TITLE}: {exc}") from None

    # 1. Organisation lookups, most authoritative first: data files that give each organisation's
    #    host ICS (current sickness absence and turnover files), then the lookups; then geography.
    for sid in ORG_LOOKUP_ORDER:
        for f in (x for x in found if x.source.ID == sid):
            if f.source.KIND == "data":
                n = ctx.add_orgs(f.source.org_lookup(f.path), f.path.name)
                ctx.notes.append(f"{f.path.name}: {n} organisations placed by their ICS code")
            else:
                results.append((f, run(f)))
    for f in (x for x in found if x.source.KIND in ("lookup", "provenance") and x.source.ID not in ORG_LOOKUP_ORDER):
        results.append((f, run(f)))
    # 2. What other files need first (e.g. practice -> ICB), 3. population (sets LAD populations
    #    used to weight local-authority sources), 4. data, 5. sources that combine several files.
    for f in (x for x in found if hasattr(x.source, "prepare")):
        try:
            f.source.prepare(f.path, ctx)
        except SourceError as exc:
            raise BuildError(str(exc)) from None
    population_ids = ("ons_mye", "ons_snpp", "ons_snpp_2022")
    for f in sorted((x for x in found if x.source.ID in population_ids), key=lambda x: (x.source.ID, str(x.path))):
        results.append((f, run(f)))
    for f in (x for x in found if x.source.KIND == "data" and x.source.ID not in population_ids):
        results.append((f, run(f)))
    combined_by: dict = {}
    for f in (x for x in found if hasattr(x.source, "finalise")):
        combined_by.setdefault(f.source.finalise, []).append(str(f.path.relative_to(raw)))
    finals = []
    for fin, files in combined_by.items():
        try:
            finals.append((files, fin(ctx)))
        except SourceError as exc:
            raise BuildError(str(exc)) from None
    return results, finals


def build(raw: Path, out: Path) -> BuildReport:
    raw, out = Path(raw).resolve(), Path(out).resolve()
    atomic.recover_swap(out, made_by_build)
    check_output(raw, out)
    report = BuildReport()
    found, report.ignored = discover(raw)
    found = _same_bytes(found, report, raw)
    found = _pick(found, report, raw)
    ctx = BuildContext()
    results, finals = _load_sources(found, ctx, raw)

    tables: dict[str, list[pd.DataFrame]] = {}
    table_files: dict[str, list[str]] = {}
    unmapped = []
    for files, res in [([str(f.path.relative_to(raw))], res) for f, res in results] + finals:
        for name, df in res.tables.items():
            tables.setdefault(name, []).append(df)
            table_files.setdefault(name, []).extend(files)
        if res.unmapped is not None and len(res.unmapped):
            unmapped.append(res.unmapped if "file" in res.unmapped else res.unmapped.assign(file=Path(files[0]).name))
        report.notes.extend(res.notes)
    for f, res in results:
        report.files.append({"file": str(f.path.relative_to(raw)), "source": f.source.ID, "title": f.source.TITLE,
                             "publisher": f.source.PUBLISHER, "sha256": f.sha256, "covers": res.period})
    report.notes = ctx.notes + report.notes
    combined = {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}
    try:
        combined.update(population.tables_from_build(ctx))
    except ValueError as exc:
        raise BuildError(f"population: {exc}") from None
    if unmapped:
        combined["unmapped_organisations"] = pd.concat(unmapped, ignore_index=True)
    for name in ("unmapped_organisations", "source_totals"):      # mixed periods (months, years): as text
        if name in combined:
            combined[name]["period"] = combined[name]["period"].map(
                lambda v: f"{v:%Y-%m}" if isinstance(v, pd.Timestamp) else str(v))

    report.unplaced = unplaced_summary(combined.get("unmapped_organisations"), combined.get("source_totals"))
    _validate_and_sort(combined, table_files, raw)
    _write(out, combined, report, raw)
    return report


def _validate_and_sort(combined: dict[str, pd.DataFrame], table_files: dict[str, list[str]], raw: Path) -> None:
    """Validate each table that has a schema (naming the files it came from) and sort each by its
    SORT_KEYS, in place."""
    for name, df in combined.items():
        if name in schemas.schemas():
            files = sorted(set(table_files.get(name, [])))
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            try:
                combined[name] = schemas.validate(name, df, file=f"built from {raw}: {shown or 'ONS population files'}")
            except schemas.TableValidationError as exc:
                raise BuildError(str(exc)) from None
        keys = [k for k in SORT_KEYS.get(name, []) if k in df.columns]
        combined[name] = combined[name].sort_values(keys, kind="mergesort").reset_index(drop=True) if keys else combined[name]


def unplaced_summary(unmapped: pd.DataFrame | None, totals: pd.DataFrame | None, listed: int = 25) -> list[dict]:
    """Organisations no ICB could be found for, per source and period: how many, their FTE and its
    share of the file's total FTE for that period, and the largest of them by FTE."""
    if unmapped is None or unmapped.empty or "fte_unmapped" not in unmapped:
        return []
    fte_totals = {} if totals is None else {
        (s, str(p)): t for s, p, m, t in zip(totals["source"], totals["period"], totals["measure"], totals["file_total"])
        if m == "fte"}
    out = []
    for (source, period), g in unmapped.dropna(subset=["fte_unmapped"]).groupby(["source", "period"], sort=True):
        fte, total = float(g["fte_unmapped"].sum()), fte_totals.get((source, str(period)))
        top = g.sort_values("fte_unmapped", ascending=False).head(listed)
        out.append({"source": source, "period": str(period), "organisations": int(g["org_code"].nunique()),
                    "fte": round(fte, 1), "share_of_file_fte_pct": round(100 * fte / total, 2) if total else None,
                    "largest": [{"org_code": c, "org_name": str(n), "fte": round(float(f), 1)}
                                for c, n, f in zip(top["org_code"], top["org_name"], top["fte_unmapped"])]})
    return out


def _write(out: Path, tables: dict[str, pd.DataFrame], report: BuildReport, raw: Path) -> None:
    tmp = atomic.temporary_folder(out, "build")
    try:
        manifest = {"dataset": PROCESSED_MARK, "built_from": "raw folder (see build_report.json)",
                    "tables": {}}
        for name, df in sorted(tables.items()):
            df.to_parquet(tmp / f"{name}.parquet", index=False, engine="pyarrow", compression="zstd")
            srcs = sorted(set(df["source"])) if "source" in df else []
            report.tables[name] = len(df)
            manifest["tables"][name] = {"file": f"{name}.parquet", "rows": int(len(df)), "synthetic": False,
                                        "source": "; ".join(srcs)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for kept in KEPT_FOLDERS:               # what users saved in the folder survives a rebuild
            if (out / kept).is_dir():
                shutil.copytree(out / kept, tmp / kept)
        for kept in shipped_files(out):         # and the project's own README of data/processed
            if (out / kept).is_file():
                shutil.copy2(out / kept, tmp / kept)
        (tmp / REPORT).write_text(json.dumps({
            "files": report.files, "ignored": report.ignored, "duplicates": report.duplicates,
            "notes": report.notes, "tables": report.tables, "unplaced": report.unplaced}, indent=2, sort_keys=True) + "\n",
            encoding="utf-8")
        atomic.swap_directory(tmp, out, made_by_build)
    except OSError as exc:                      # a full disk, a folder made read-only meanwhile
        raise atomic.write_error(exc, out) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def status(data: Path) -> pd.DataFrame:
    """What each table of a processed folder covers: periods, ICBs, rows, share missing."""
    data = Path(data)
    if not (data / MANIFEST).exists():
        raise BuildError(f"--data {data}: no {MANIFEST}; build one with `iwt data build --raw DIR --out {data}`")
    manifest = json.loads((data / MANIFEST).read_text())
    rows = []
    for name, meta in sorted(manifest["tables"].items()):
        df = pd.read_parquet(data / meta["file"]) if meta["file"].endswith(".parquet") else pd.read_csv(data / meta["file"])
        tc = next((c for c in ("period", "year", "financial_year") if c in df), None)
        span = "–"
        if tc:
            lo, hi = df[tc].min(), df[tc].max()
            if df[tc].dtype.kind == "M":
                span = f"{lo:%Y-%m} to {hi:%Y-%m}"
            else:
                span = f"{lo} to {hi}"
        measures = [c for c in schemas.MEASURES.get(name, []) if c in df] or [c for c in df.columns if df[c].dtype.kind == "f"]
        missing = float(df[measures].isna().to_numpy().mean() * 100) if measures and len(df) else 0.0
        kpis = ", ".join(sorted(df["kpi_id"].unique())) if "kpi_id" in df else ""
        if "org_type" in df:                # nhs_staff_monthly: who employs the staff, kept apart
            n = df.groupby("org_type")["org_code"].nunique()
            kpis = (", ".join(f"{k}: {v} organisations" for k, v in n.items()) +
                    "; ICB-employed staff (org_type icb) kept apart from trusts and not in workforce")
        rows.append({"table": name, "rows": len(df), "icbs": int(df["icb_code"].nunique()) if "icb_code" in df else None,
                     "periods": span, "missing_pct": round(missing, 1), "synthetic": meta.get("synthetic", False),
                     "detail": kpis})
    return pd.DataFrame(rows)


__all__ = ["build", "status", "discover", "BuildError", "BuildReport"]
