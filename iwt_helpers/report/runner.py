"""``iwt report``: every theme for one ICB, several, or all 42, in warm kernels.

For each (ICB, theme) the runner parameterises the theme notebook with papermill, runs it in a warm kernel
(engine.py), writes ``<out>/<ICB>/<theme>.ipynb``, a self-contained ``.html`` and then the report's record
``<theme>.json`` (cache key, parameters, inputs, status, hashes of both outputs); then per ICB ``tables.xlsx``,
``measures.csv`` (every registered measure's figure shown, and where) and ``index.html``, and for the run
``index.html`` and ``manifest.json``, a summary of the records. Each file is written to a temporary name then
renamed, by one thread beside the kernels. Unless ``force``, a report is reused only if its own record has the
current cache key (notebook, parameters, inputs, package code) and its outputs are those recorded. The output
folder is checked and locked before any kernel starts; SIGINT and SIGTERM stop a run through its cleanup. Heavy
imports happen inside functions, while the kernels start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from iwt_helpers import __version__, atomic, paths
from iwt_helpers.errors import RefusedFolderError, UsageError, WriteError

from . import themes
from .kernel_setup import KERNEL_NAME

LOCK = ".iwt-report.lock"
PACKAGES = ("pandas", "numpy", "matplotlib", "seaborn", "pandera", "papermill", "nbclient",
            "nbconvert", "ipykernel", "openpyxl", "pyarrow")


@dataclass
class Job:
    icb_code: str
    theme: str
    notebook: Path
    parameters: dict
    out_dir: Path
    cache_key: str
    place: str = ""                     # ODS code of a place (sub-ICB location) the report is about; "" = the ICB

    @property
    def key(self) -> str:
        return f"{self.icb_code}/places/{self.place}/{self.theme}" if self.place else f"{self.icb_code}/{self.theme}"


PLACE_THEME = "data"                    # the theme a place report is made from (its `place` parameter)


@dataclass
class RunSummary:
    records: list[dict]
    out_dir: Path
    seconds: float
    notes: list[str] = field(default_factory=list)      # e.g. an ICB with one place gets no place report

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "ok"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass
class Plan:
    codes: list[str]
    themes: dict[str, Path]
    out_root: Path
    jobs: list[Job]
    todo: list[Job]
    records: dict[str, dict]          # record of each report, as it is known
    places: dict[str, list[str]]      # ICB -> ODS codes of the places that get a report of their own
    alive: set[str]                   # every theme that has a notebook (records of others are dropped)
    common: dict                      # what every record of this run shares (inputs, versions, commit)
    found: dict[str, dict] = field(default_factory=dict)   # outputs.collect() of each report run now
    run: dict = field(default_factory=dict)   # the run's footer: date, iwt version, git commit, data folder


def resolve_icbs(spec: str) -> list[str]:
    from iwt_helpers.data import geography
    if spec.strip().lower() == "all":
        return geography.icb_codes()
    codes = [geography.resolve_icb(s) for s in spec.split(",") if s.strip()]
    if not codes:
        raise geography.UnknownICBError("--icb: give an ICB code, a comma-separated list, or 'all'")
    return list(dict.fromkeys(codes))


def sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def input_files(data_dir: Path | None) -> dict[str, str]:
    """SHA-256 of every data file a report can read: data_dir, the readiness rounds (``DIR/readiness``,
    or ``data/readiness`` without a data folder, so a round saved or imported there is a new input),
    demo set and reference tables."""
    from iwt_helpers.data.readiness_store import readiness_dir

    folders = dict.fromkeys(Path(f).resolve() for f in (data_dir, readiness_dir(data_dir), paths.DEMO, paths.REFERENCE) if f is not None)
    files = {p for f in folders if f.is_dir() for p in f.rglob("*") if p.is_file() and not p.name.startswith(".")}
    return {shown(p): sha256(p) for p in sorted(files)}


def code_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((paths.ROOT / "iwt_helpers").rglob("*")):
        if p.is_file() and p.suffix in (".py", ".j2", ".json", ".css"):
            h.update(p.relative_to(paths.ROOT).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def git_commit() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD") or None, "dirty": git("status", "--porcelain", "--untracked-files=no") != ""}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def versions() -> dict:
    out = {"python": platform.python_version(), "iwt": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def shown(path: Path) -> str:
    return str(path.relative_to(paths.ROOT)) if paths.is_within(path, paths.ROOT) else str(path)


def label(records: list[dict], code: str) -> str:
    """The ICB's name as its notebooks reported it (the code alone if none ran)."""
    return next((r["icb_label"] for r in records if r.get("icb_label")), code)


MARK = "iwt report"         # what the marker of an output folder says (atomic.MARKER)


def foreign_outputs(out: Path) -> list[str]:
    """What an existing output folder holds that shows iwt report did not make it: nothing when it is
    empty, carries iwt report's marker (or, written before markers, its manifest), or is the project's
    own ``reports/`` with only its README."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir() if p.name not in (LOCK, atomic.MARKER)
                   and not p.name.startswith(".probe-")) if out.is_dir() else []
    if not names or atomic.folder_maker(out) == MARK:
        return []
    if out == paths.REPORTS.resolve() and names == ["README.md"]:
        return []
    from . import outputs
    old = outputs.read_json(out / "manifest.json") if (out / "manifest.json").is_file() else {}
    if str(old.get("tool", "")).startswith("iwt ") and isinstance(old.get("reports"), dict):
        return []
    return names


def check_parameters(codes: list[str], parameters: dict | None) -> None:
    """Values of -p NAME VALUE that the report parameter model knows (n_runs, peer_count, ...),
    validated by it before any kernel starts, so a bad one fails the command rather than its reports."""
    from iwt_helpers.analysis.params import ParameterError, ReportParams

    for key, value in (parameters or {}).items():
        name = key.rpartition(".")[2]
        if name in ReportParams.model_fields and name not in ("icb_code", "data_dir"):
            try:
                ReportParams.parse(icb_code=codes[0], **{name: value})
            except ParameterError as exc:
                why = str(exc).split("\n", 1)[-1].strip().removeprefix(f"{name}: ")
                raise ParameterError(f"-p {key}: {why}") from None


def request(icb: str, theme_spec: str, data_dir, out_dir, notebooks_dir: Path | None, parameters: dict | None = None) -> tuple:
    """Checked before any kernel starts: ICBs, themes, parameter values, the data folder (one iwt built; a
    build killed mid-swap is put right first), the output folder (refused, or made, probed and marked)."""
    from iwt_helpers.analysis.params import ReportParams
    from iwt_helpers.data import datastore

    codes, selected = resolve_icbs(icb), themes.select(theme_spec, notebooks_dir)
    check_parameters(codes, parameters)
    if data_dir:
        given = Path(str(data_dir)).expanduser()
        datastore.recover_interrupted_build(given if given.is_absolute() else paths.ROOT / given)
    data_path = ReportParams.parse(icb_code=codes[0], data_dir=data_dir or "").data_dir
    datastore.open_dataset(data_path)
    out = Path(out_dir).expanduser().resolve() if out_dir else paths.REPORTS
    inside = [(paths.DATA, "data/"), (paths.NOTEBOOKS, "notebooks/"), (paths.ROOT / "iwt_helpers", "iwt_helpers/"),
              (data_path, "the --data folder")]
    why = ("is the root folder" if out == Path(out.anchor) else "is your home folder" if out == Path.home().resolve()
           else "is the project folder" if out == paths.ROOT else "holds the project folder" if paths.is_within(paths.ROOT, out)
           else "is a file" if out.exists() and not out.is_dir()
           else next((f"is inside {w}, which iwt reads from" for d, w in inside if d is not None and paths.is_within(out, d)), None))
    if why:
        raise RefusedFolderError(f"--out {out}: {why}; give the reports a folder of their own")
    if foreign := foreign_outputs(out):
        raise RefusedFolderError(f"--out {out}: holds files iwt report did not make ({', '.join(foreign[:5])}"
                                 f"{f' and {len(foreign) - 5} more' if len(foreign) > 5 else ''}); give the reports a folder of "
                                 "their own (a new or empty one, or one an earlier iwt report wrote)")
    try:
        atomic.probe_folder(out)
        atomic.mark_folder(out, MARK)
    except OSError as exc:
        raise RefusedFolderError(f"--out {out}: cannot create or write this folder ({exc.strerror or exc})") from None
    return codes, selected, data_path, out


def resolve_places(codes: list[str], spec: str | None, selected: dict[str, Path]) -> tuple[dict[str, list[str]], list[str]]:
    """The places that get a report of their own, per ICB (ODS codes), and a note for each ICB with
    one place only (it gets none). ``spec``: 'all', or E38/ODS codes each of a place in one of the
    ICBs (an unknown code, or one in no ICB of the run, is refused naming the codes and listing places)."""
    if not spec:
        return {}, []
    from iwt_helpers.data import geography, places
    if PLACE_THEME not in selected:
        raise UsageError(f"--place: place reports are made by the {PLACE_THEME} theme; add it to --themes")
    out: dict[str, list[str]] = {}
    notes = []
    if spec.strip().lower() == "all":
        for code in codes:
            mine = places.places_of(code)
            if len(mine) < 2:
                notes.append(f"{geography.icb_name(code)} ({code}) has one sub-ICB location ({mine['sicb_ods'].iloc[0]}): "
                             "its place is the ICB, so no place report")
            else:
                out[code] = mine["sicb_ods"].tolist()
        return out, notes
    every = geography.sub_icbs()
    for given in (s.strip() for s in spec.split(",") if s.strip()):
        row = every[(every["sicb_code"] == given.upper()) | (every["sicb_ods"].str.upper() == given.upper())]
        owner = row["icb_code"].iloc[0] if len(row) else None
        if owner not in codes:                               # unknown, or in no ICB of the run: refused naming
            places.resolve_place(codes[0], given)            # both codes and listing the ICB's places
        out.setdefault(owner, []).append(row["sicb_ods"].iloc[0])
    return {c: list(dict.fromkeys(v)) for c, v in out.items()}, notes


def theme_parameters(selected: dict[str, Path], given: dict | None) -> dict[str, dict]:
    """Each theme's parameters besides the ICB and data folder: ``name`` for every theme in the run,
    ``theme.name`` for one. Every parameter passed must be one its notebook declares."""
    from papermill import inspect_notebook

    extra: dict[str, dict] = {t: {} for t in selected}
    for key, value in (given or {}).items():
        theme, _, name = key.rpartition(".")
        if theme not in ("", *selected) or name in ("icb_code", "data_dir"):
            raise UsageError(f"parameter {key!r}: " + (f"no theme {theme!r} in this run ({', '.join(selected)})" if name not in
                                                        ("icb_code", "data_dir") else "set by iwt report itself (--icb, --data)"))
        for t in [theme] if theme else selected:
            extra[t][name] = value
    for t, nb_path in selected.items():
        known = list(inspect_notebook(str(nb_path)))
        if unknown := [n for n in ("icb_code", "data_dir", *extra[t]) if n not in known]:
            raise UsageError(f"parameter {unknown[0]!r} is not a parameter of {nb_path.name}; its parameters: {', '.join(known) or '(none)'}")
    return extra


def plan(codes: list[str], selected: dict[str, Path], data_path: Path | None, out_root: Path, force: bool,
         parameters: dict | None, notebooks_dir: Path | None, places: dict[str, list[str]] | None = None) -> Plan:
    """Decide which reports need running: a report is reused if its own record matches."""
    from papermill import execute  # noqa: F401 - imported here, in this thread, not on the event loop

    from . import outputs

    extra = theme_parameters(selected, parameters)
    inputs = input_files(data_path)
    fingerprint = {"inputs": hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest(),
                   "code": code_hash(), "versions": versions()}
    jobs, todo, records, seen = [], [], {}, []

    def add(code: str, theme: str, out_dir: Path, place: str = "") -> None:
        params = {"icb_code": code, "data_dir": str(data_path) if data_path else "", **extra[theme],
                  **({"place": place} if place else {})}
        key = json.dumps({"nb": sha256(selected[theme]), "params": params, **fingerprint}, sort_keys=True)
        jobs.append(job := Job(code, theme, selected[theme], params, out_dir, hashlib.sha256(key.encode()).hexdigest(), place))
        seen.append(rec := outputs.read_json(job.out_dir / f"{theme}.json"))      # reused if the record matches, and its outputs
        if not force and rec.get("cache_key") == job.cache_key and rec.get("status") == "ok" and rec.get("outputs") and all(
                (out_root / f).is_file() and sha256(out_root / f) == h for f, h in rec["outputs"].items()):
            records[job.key] = {**rec, "cached": True}
        else:
            todo.append(job)

    for code in codes:
        if not paths.is_within(out_root / code, out_root):   # codes come from a closed list; belt and braces
            raise ValueError(f"refusing to write outside {out_root}: {out_root / code}")
        for theme in selected:
            add(code, theme, out_root / code)
        for ods in (places or {}).get(code, []):             # place reports: the data theme with its place parameter
            add(code, PLACE_THEME, out_root / code / "places" / ods, ods)
    need, free = 2 * len(todo), shutil.disk_usage(out_root).free / 1e6     # MB: a report's .ipynb and .html take ~1
    if free < need:
        raise RefusedFolderError(f"--out {out_root}: {free:.1f} MB free, about {need} MB needed for {len(todo)} report(s)")
    # Longest first (each theme's median time when last run, else its notebook's size): the kernels finish together.
    cost = {t: sorted(r["seconds_execute"] for r in seen if r.get("theme") == t
                      and r.get("seconds_execute")) or [p.stat().st_size / 1e5] for t, p in selected.items()}
    todo.sort(key=lambda j: -cost[j.theme][len(cost[j.theme]) // 2])
    common = {"inputs": inputs, "input_hash": fingerprint["inputs"], "versions": fingerprint["versions"], "git": git_commit()}
    commit = common["git"].get("commit")
    run = {"generated": now(), "version": __version__,
           "commit": (commit[:12] + (" (with uncommitted changes)" if common["git"].get("dirty") else "")) if commit else "not a git checkout",
           "data": shown(data_path) if data_path else "embedded demonstration set (data/demo)"}
    return Plan(codes, selected, out_root, jobs, todo, records, dict(places or {}), set(themes.discover(notebooks_dir)),
                common, run=run)


def prepare(job: Job):
    """The theme notebook with its parameters injected, and its metadata set, by papermill."""
    from papermill import execute, iorw, parameterize

    nb = parameterize.parameterize_notebook(iorw.load_notebook_node(str(job.notebook)), job.parameters,
                                            kernel_name=KERNEL_NAME, language="python")
    for cell in nb.cells:           # a stable id for the injected cell: same report, same bytes
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = "injected-parameters"
    nb = execute.prepare_notebook_metadata(nb, str(job.notebook), str(job.out_dir / f"{job.theme}.ipynb"))
    nb.metadata.papermill["engine"] = "iwt warm-kernel runner"
    return nb


def write_report(p: Plan, job: Job, nb, res, started: str) -> None:
    """Write the executed notebook and its HTML (each atomically), then the report's record."""
    import nbformat

    from . import export, outputs

    t0 = time.perf_counter()
    (job.out_dir / f"{job.theme}.json").unlink(missing_ok=True)    # first: a report half rewritten has no record, so is never reused
    atomic.write_text(job.out_dir / f"{job.theme}.ipynb", nbformat.writes(nb))
    found = p.found[job.key] = outputs.collect(nb)
    me = found["report"]                   # the ICB, region and synthetic status, as the notebook gave them
    nav = (f'<a href="index.html">{me.get("icb_label", job.icb_code)} reports</a> &middot; <a href="../../index.html">'
           f'{job.icb_code} reports</a> &middot; <a href="../../../index.html">All ICBs</a>' if job.place else
           f'<a href="index.html">{me.get("icb_label", job.icb_code)} reports</a> &middot; <a href="../index.html">All ICBs</a>')
    page = export.to_html(nb, f"{themes.title(job.theme)}: {me.get('icb_label', job.icb_code)}",
                          error=None if res.ok else (res.error or "unknown error"), nav=nav, run=p.run)
    atomic.write_text(job.out_dir / f"{job.theme}.html", page)
    p.records[job.key] = rec = {
        "icb_code": job.icb_code, "theme": job.theme, "parameters": job.parameters,
        "status": "ok" if res.ok else "failed", "error": res.error, "cache_key": job.cache_key,
        **({"place": job.place} if job.place else {}),
        "notebook": shown(job.notebook), "started": started,
        "seconds_execute": round(res.seconds, 3), "seconds_export": round(time.perf_counter() - t0, 3),
        "kernel_reused": res.kernel_reused, "cached": False, "headlines": found["headlines"],
        "icb_label": me.get("icb_label"), "region": me.get("region"), "synthetic": me.get("synthetic"),
        "synthetic_parts": me.get("synthetic_parts") or [],
        "outputs": {f: sha256(p.out_root / f) for f in (f"{job.key}.ipynb", f"{job.key}.html")}, **p.common}
    outputs.write_json(job.out_dir / f"{job.theme}.json", rec)


def write_icb(p: Plan, code: str) -> None:
    """tables.xlsx, measures.csv and index.html for one ICB, from each finished theme's executed notebook."""
    import nbformat

    from iwt_helpers.present import xlsx

    from . import outputs

    per_theme, entries = {}, []
    done = [t for t in p.themes if f"{code}/{t}" in p.records]          # all of them unless the run was stopped
    for theme in done:
        key, nb_file = f"{code}/{theme}", p.out_root / code / f"{theme}.ipynb"
        found = p.found.get(key) or (                  # reused from the cache: read it back
            outputs.collect(nbformat.read(nb_file, as_version=4)) if nb_file.exists() else {})
        per_theme[theme] = found
        entries.append({"theme": theme, "title": themes.title(theme), "status": p.records[key]["status"],
                        "error": p.records[key].get("error"), "headlines": found.get("headlines", [])})
    mine = [p.records[f"{code}/{t}"] for t in done]
    place_links = []
    for ods in p.places.get(code, []):
        key = f"{code}/places/{ods}/{PLACE_THEME}"
        if key not in p.records:
            continue
        folder = p.out_root / code / "places" / ods
        nb_file = folder / f"{PLACE_THEME}.ipynb"
        found = p.found.get(key) or (outputs.collect(nbformat.read(nb_file, as_version=4)) if nb_file.exists() else {})
        rec = p.records[key]
        entry = {"theme": PLACE_THEME, "title": themes.title(PLACE_THEME), "status": rec["status"], "error": rec.get("error"),
                 "headlines": found.get("headlines", [])}
        place_measures = outputs.measure_rows({PLACE_THEME: found}, xlsx.sheet_names({PLACE_THEME: found}))
        outputs.write_measures(folder / "measures.csv", place_measures)
        xlsx.write_tables(folder / "tables.xlsx", rec.get("icb_label") or ods, {PLACE_THEME: found}, p.run, place_measures)
        outputs.icb_index(folder / "index.html", rec.get("icb_label") or ods, [entry], bool(rec.get("synthetic")), run=p.run,
                          up=f'<a href="../../index.html">{html.escape(label(mine, code))} reports</a> &middot; '
                             '<a href="../../../index.html">All ICBs</a>')
        place_links.append((f"places/{ods}/index.html", rec.get("icb_label") or ods, rec["status"]))
    shown = outputs.measure_rows(per_theme, xlsx.sheet_names(per_theme))      # every registered figure, and where
    outputs.write_measures(p.out_root / code / "measures.csv", shown)
    xlsx.write_tables(p.out_root / code / "tables.xlsx", label(mine, code), per_theme, p.run, shown)
    outputs.icb_index(p.out_root / code / "index.html", label(mine, code), entries, any(r.get("synthetic") for r in mine),
                      run=p.run, places=place_links)


def write_run(p: Plan, done: set[str]) -> None:
    """The pages of ICBs not written yet (all from the cache, or the run stopped before their last report), then the
    run's index and manifest: a summary of the records in the folder, but not of themes whose notebook or outputs are gone."""
    from . import outputs

    for code in p.codes:
        if code not in done and any(f"{code}/{t}" in p.records for t in p.themes):
            write_icb(p, code)
    reports = {}
    for f in report_records(p.out_root):
        rel = f.relative_to(p.out_root).with_suffix("")
        key = rel.as_posix()
        icb, place = rel.parts[0], (rel.parts[2] if len(rel.parts) == 4 else None)
        rec = p.records.get(key) or outputs.read_json(f)
        if (rec.get("icb_code"), rec.get("theme"), rec.get("place")) == (icb, f.stem, place) and f.stem in p.alive and rec.get(
                "outputs") and all((p.out_root / o).is_file() for o in rec["outputs"]):
            reports[key] = rec
    rows = [{"icb_code": code, "name": label(mine, code), "region": next((r["region"] for r in mine if r.get("region")), ""),
             "themes": len(mine), "failed": sum(r["status"] != "ok" for r in mine),
             "places": sum(1 for r in reports.values() if r["icb_code"] == code and r.get("place"))}
            for code in sorted({r["icb_code"] for r in reports.values()})
            for mine in [[r for r in reports.values() if r["icb_code"] == code and not r.get("place")]]]
    partly = bool(reports) and all(r.get("synthetic_parts") or not r.get("synthetic") for r in reports.values())
    outputs.top_index(p.out_root / "index.html", rows, any(r.get("synthetic") for r in reports.values()), run=p.run,
                      partly=partly)
    outputs.write_json(p.out_root / "manifest.json", {"generated": now(), "tool": f"iwt {__version__}", "reports": reports})


def report_records(out_root: Path) -> list[Path]:
    """Every report's own record in an output folder: ``<ICB>/<theme>.json`` and, for places,
    ``<ICB>/places/<ODS>/<theme>.json``."""
    return sorted([*out_root.glob("*/*.json"), *out_root.glob("*/places/*/*.json")])


def tidy_after_kill(out_root: Path, notebooks_dir: Path | None) -> None:
    """What a killed run (SIGKILL: no cleanup) left, put right under the lock before kernels start: kernel
    folders of processes that are gone are removed, and a manifest older than the newest report record
    (or missing) is rebuilt from the records, with the run's index page."""
    from . import engine

    engine.remove_dead_kernel_folders()
    records = [f.stat().st_mtime_ns for f in report_records(out_root)]
    manifest = out_root / "manifest.json"
    if records and (not manifest.is_file() or manifest.stat().st_mtime_ns < max(records)):
        write_run(Plan([], {}, out_root, [], [], {}, {}, set(themes.discover(notebooks_dir)), {}), set())


async def run_reports_async(icb: str = "QOP", theme_spec: str = "all", data_dir: str | Path | None = None, out_dir: str | Path | None = None,
                            jobs: int = 2, force: bool = False, fresh_kernels: bool = False, progress: bool = True,
                            notebooks_dir: Path | None = None, parameters: dict | None = None,
                            place: str | None = None) -> RunSummary:
    """Run the reports in up to ``jobs`` warm kernels (``fresh_kernels``: a new kernel for each report).
    ``parameters``: more notebook parameters, ``{"name": value}`` for every theme, ``"theme.name"`` for one."""
    from . import engine

    t_start = time.perf_counter()
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    cwd, main = Path(notebooks_dir or paths.NOTEBOOKS), asyncio.current_task()
    workers, left, done, p, bar = [], {}, set(), None, None

    async def run_one(worker, job: Job) -> None:
        nb = prepare(job)
        started = nb.metadata.papermill["start_time"] = now()
        res = await worker.run(nb, job.notebook.parent)
        nb.metadata.papermill.update({"end_time": now(), "duration": round(res.seconds, 3), "exception": not res.ok})
        write(write_report, p, job, nb, res, started)
        write(bar.update, 1)
        left[job.icb_code] -= 1
        if left[job.icb_code] == 0:             # the ICB's last report: its xlsx and index now
            done.add(job.icb_code)
            write(write_icb, p, job.icb_code)

    with atomic.cancel_on_signals(main) as got, atomic.Writer(main) as write:
        try:
            codes, selected, data_path, out_root = await asyncio.to_thread(request, icb, theme_spec, data_dir, out_dir, notebooks_dir,
                                                                                parameters)
            place_list, notes = resolve_places(codes, place, selected)
            with atomic.exclusive_lock(out_root / LOCK, busy=f"another iwt report is writing to {out_root} (pid {{pid}}); "
                                                             "wait for it or choose another --out"):
                await asyncio.to_thread(tidy_after_kill, out_root, notebooks_dir)
                workers += [engine.Worker(fresh=fresh_kernels) for _ in range(min(jobs, atomic.usable_cores(), len(codes) * len(selected)))]
                for w in workers:               # the kernels start while we plan
                    w.starting = asyncio.create_task(w.start(cwd))
                try:
                    p = await asyncio.to_thread(plan, codes, selected, data_path, out_root, force, parameters, notebooks_dir,
                                                place_list)
                    from tqdm.auto import tqdm
                    bar = tqdm(total=len(p.jobs), initial=len(p.jobs) - len(p.todo), desc="iwt report", unit="report",
                               file=sys.stderr, disable=not progress)
                    left.update({code: sum(j.icb_code == code for j in p.todo) for code in p.codes})
                    await engine.run_all(p.todo, workers, run_one)   # a kernel with no report left stops
                finally:                        # finished, or stopped by a signal or a failed write:
                    write.closing = True        # stop every kernel, then record what finished
                    await asyncio.gather(*(w.stop() for w in workers))
                    if p is not None:
                        write(write_run, p, done)
                        write(bar.close)
                    await write.drain()
        except asyncio.CancelledError:
            if not (write.errors or got):
                raise
    for exc in write.errors[:1]:                # a failed write, as a user should read it
        if not isinstance(exc, OSError) or p is None:
            raise exc
        where = os.path.relpath(exc.filename2 or exc.filename, p.out_root) if exc.filename2 or exc.filename else "the reports"
        raise WriteError(f"--out {p.out_root}: could not write {where} ({exc.strerror or exc}); the run was stopped")
    if got:
        raise atomic.Interrupted(got[0], p and f"; {sum(j.key in p.records for j in p.jobs)} of {len(p.jobs)} report(s) "
                                 f"complete, recorded in {p.out_root / 'manifest.json'}")
    return RunSummary([p.records[j.key] for j in p.jobs], p.out_root, time.perf_counter() - t_start, notes)


def run_reports(**kwargs) -> RunSummary:
    """Synchronous entry point; see :func:`run_reports_async` for the arguments."""
    return asyncio.run(run_reports_async(**kwargs))


def print_summary(summary: RunSummary, stream=sys.stdout) -> None:
    n = len(summary.records)
    cached = sum(r.get("cached", False) for r in summary.records)
    print(f"iwt report: {n} report(s), {n - len(summary.failed)} ok, {len(summary.failed)} failed, "
          f"{cached} reused from cache, {summary.seconds:.1f} s; outputs in {summary.out_dir}", file=stream)
    for note in summary.notes:
        print(f"  {note}", file=stream)
    for r in summary.failed:
        print(f"  FAILED {r['icb_code']}/{'places/' + r['place'] + '/' if r.get('place') else ''}{r['theme']}: "
              f"{r.get('error')}", file=stream)
