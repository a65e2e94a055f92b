"""``iwt report``: every theme for one ICB, several, or all 42, in warm kernels.

For each (ICB, theme) the runner parameterises the theme notebook with papermill, runs it in a
warm kernel (engine.py), writes ``<out>/<ICB>/<theme>.ipynb`` and a self-contained ``.html``,
then per ICB ``tables.xlsx`` and ``index.html``, and for the run ``index.html`` and
``manifest.json``: each to a temporary name then renamed, by one thread beside the kernels. A
report whose notebook, parameters, inputs and package code are unchanged is reused unless
``force``. Heavy imports happen inside functions, while the kernels start.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from iwt_helpers import __version__, paths

from .kernel_setup import KERNEL_NAME

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

    @property
    def key(self) -> str:
        return f"{self.icb_code}/{self.theme}"


@dataclass
class RunSummary:
    records: list[dict]
    out_dir: Path
    seconds: float

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
    records: dict[str, dict]          # manifest record of each report, as it is known
    previous: dict[str, dict]         # the previous manifest's records
    common: dict                      # what every record of this run shares (inputs, versions, commit)
    found: dict[str, dict] = field(default_factory=dict)   # outputs.collect() of each report run now


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
    """SHA-256 of every data file a report can read: data_dir, demo set and reference tables."""
    return {shown(p): sha256(p) for folder in (data_dir, paths.DEMO, paths.REFERENCE) if folder is not None
            for p in sorted(Path(folder).rglob("*")) if p.is_file() and not p.name.startswith(".")}


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


def plan(icb: str, theme_spec: str, data_dir, out_dir, force: bool, notebooks_dir: Path | None) -> Plan:
    """Validate the request and decide which reports need running (the rest come from the cache)."""
    from papermill import execute  # noqa: F401 - imported here, in this thread, not on the event loop

    from iwt_helpers.data import datastore
    from iwt_helpers.themes.params import ReportParams

    from . import outputs, themes

    codes = resolve_icbs(icb)
    selected = themes.select(theme_spec, notebooks_dir)
    out_root = Path(out_dir).resolve() if out_dir else paths.REPORTS
    if out_root.exists() and not out_root.is_dir():
        raise NotADirectoryError(f"--out {out_root}: exists and is not a folder")
    # Validate the shared parameters once, before any report runs.
    data_path = ReportParams.parse(icb_code=codes[0], data_dir=data_dir or "").data_dir
    inputs = input_files(data_path)
    fingerprint = {"inputs": hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest(),
                   "code": code_hash(), "versions": versions()}
    previous = outputs.read_manifest(out_root / "manifest.json").get("reports", {})
    jobs = []
    for code in codes:
        if not paths.is_within(out_root / code, out_root):   # codes come from a closed list; belt and braces
            raise ValueError(f"refusing to write outside {out_root}: {out_root / code}")
        for theme, nb_path in selected.items():
            params = {"icb_code": code, "data_dir": str(data_path) if data_path else ""}
            key = json.dumps({"nb": sha256(nb_path), "params": params, **fingerprint}, sort_keys=True)
            jobs.append(Job(code, theme, nb_path, params, out_root / code, hashlib.sha256(key.encode()).hexdigest()))
    todo, records = [], {}
    for job in jobs:
        prev = previous.get(job.key, {})
        if (not force and prev.get("cache_key") == job.cache_key and prev.get("status") == "ok"
                and all((out_root / o).exists() for o in prev.get("outputs", []))):
            records[job.key] = {**prev, "cached": True}
        else:
            todo.append(job)
    # Longest first (by each theme's median time in the previous run, else the notebook's size),
    # so that the short reports fill in at the end and the kernels finish together.
    cost = {t: sorted(r["seconds_execute"] for r in previous.values() if r.get("theme") == t
                      and r.get("seconds_execute")) or [p.stat().st_size / 1e5] for t, p in selected.items()}
    todo.sort(key=lambda j: -cost[j.theme][len(cost[j.theme]) // 2])
    datastore.open_dataset(data_path)     # refuses a folder iwt did not build, before any kernel starts
    common = {"inputs": inputs, "input_hash": fingerprint["inputs"], "versions": fingerprint["versions"],
              "git": git_commit()}
    return Plan(codes, selected, out_root, jobs, todo, records, previous, common)


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
    """Write the executed notebook and its HTML (each atomically) and record the report."""
    import nbformat

    from iwt_helpers import atomic

    from . import export, outputs, themes

    t0 = time.perf_counter()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(job.out_dir / f"{job.theme}.ipynb", nbformat.writes(nb))
    found = p.found[job.key] = outputs.collect(nb)
    me = found["report"]                   # the ICB, region and synthetic status, as the notebook gave them
    nav = f'<a href="index.html">{me.get("icb_label", job.icb_code)} reports</a> &middot; <a href="../index.html">All ICBs</a>'
    page = export.to_html(nb, f"{themes.title(job.theme)}: {me.get('icb_label', job.icb_code)}",
                          error=None if res.ok else (res.error or "unknown error"), nav=nav)
    atomic.write_text(job.out_dir / f"{job.theme}.html", page)
    p.records[job.key] = {
        "icb_code": job.icb_code, "theme": job.theme, "parameters": job.parameters,
        "status": "ok" if res.ok else "failed", "error": res.error, "cache_key": job.cache_key,
        "notebook": shown(job.notebook), "started": started,
        "seconds_execute": round(res.seconds, 3), "seconds_export": round(time.perf_counter() - t0, 3),
        "kernel_reused": res.kernel_reused, "cached": False, "headlines": found["headlines"],
        "icb_label": me.get("icb_label"), "region": me.get("region"), "synthetic": me.get("synthetic"),
        "outputs": [f"{job.icb_code}/{job.theme}.ipynb", f"{job.icb_code}/{job.theme}.html"],
    }


def write_icb(p: Plan, code: str) -> None:
    """tables.xlsx and index.html for one ICB, from every theme's executed notebook."""
    import nbformat

    from iwt_helpers.present import xlsx

    from . import outputs, themes

    per_theme, entries = {}, []
    for theme in p.themes:
        key, nb_file = f"{code}/{theme}", p.out_root / code / f"{theme}.ipynb"
        found = p.found.get(key)
        if found is None:                              # reused from the cache: read it back
            found = outputs.collect(nbformat.read(nb_file, as_version=4)) if nb_file.exists() else {}
        per_theme[theme] = found
        entries.append({"theme": theme, "title": themes.title(theme), "status": p.records[key]["status"],
                        "error": p.records[key].get("error"), "headlines": found.get("headlines", [])})
    mine = [p.records[f"{code}/{t}"] for t in p.themes]
    xlsx.write_tables(p.out_root / code / "tables.xlsx", label(mine, code), per_theme)
    outputs.icb_index(p.out_root / code / "index.html", label(mine, code), entries, any(r.get("synthetic") for r in mine))


def write_run(p: Plan) -> None:
    """The run's index page and manifest (previous entries for other reports are kept)."""

    from . import outputs

    for rec in p.records.values():
        rec.update(p.common)
    merged = {**p.previous, **p.records}
    rows = [{"icb_code": code, "name": label(mine, code), "region": next((r["region"] for r in mine if r.get("region")), ""),
             "themes": len(mine), "failed": sum(r["status"] != "ok" for r in mine)}
            for code in sorted({r["icb_code"] for r in merged.values()})
            for mine in [[r for r in merged.values() if r["icb_code"] == code]]]
    outputs.top_index(p.out_root / "index.html", rows, any(r.get("synthetic") for r in merged.values()))
    outputs.write_manifest(p.out_root / "manifest.json", {"generated": now(), "tool": f"iwt {__version__}",
                                                           "reports": merged})


async def run_reports_async(icb: str = "QOP", theme_spec: str = "all", data_dir: str | Path | None = None,
                            out_dir: str | Path | None = None, jobs: int = 2, force: bool = False,
                            fresh_kernels: bool = False, progress: bool = True,
                            notebooks_dir: Path | None = None) -> RunSummary:
    """Run the reports in ``jobs`` warm kernels (``fresh_kernels``: a new kernel for each report)."""
    from . import engine

    t_start = time.perf_counter()
    cwd = Path(notebooks_dir or paths.NOTEBOOKS)
    workers = [engine.Worker(fresh=fresh_kernels) for _ in range(max(1, jobs))]
    for w in workers:                                   # the kernels start while we plan
        w.starting = asyncio.create_task(w.start(cwd))
    try:
        p = await asyncio.to_thread(plan, icb, theme_spec, data_dir, out_dir, force, notebooks_dir)
    except BaseException:
        await asyncio.gather(*(w.stop() for w in workers))
        raise
    used = workers[:len(p.todo)]
    spare = [asyncio.create_task(w.stop()) for w in workers[len(used):]]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(p.jobs), initial=len(p.jobs) - len(p.todo), desc="iwt report", unit="report", file=sys.stderr)
    left = {code: sum(j.icb_code == code for j in p.todo) for code in p.codes}
    cached = [code for code in p.codes if not left[code]]          # every theme came from the cache
    loop = asyncio.get_running_loop()
    writes: list = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="iwt-write") as writer:

        def write(fn, *args) -> None:                   # one at a time, in the order given
            writes.append(loop.run_in_executor(writer, fn, *args))

        async def run_one(worker, job: Job) -> None:
            nb = prepare(job)
            started = nb.metadata.papermill["start_time"] = now()
            res = await worker.run(nb, job.notebook.parent)
            nb.metadata.papermill.update({"end_time": now(), "duration": round(res.seconds, 3),
                                          "exception": not res.ok})
            write(write_report, p, job, nb, res, started)
            if bar is not None:
                write(bar.update, 1)
            left[job.icb_code] -= 1
            if left[job.icb_code] == 0:                 # the ICB's last report: its xlsx and index now
                write(write_icb, p, job.icb_code)

        try:
            await engine.run_all(p.todo, used, run_one)
        finally:
            await asyncio.gather(*writes, *spare, return_exceptions=True)
        for code in cached:
            write(write_icb, p, code)
        write(write_run, p)
        for w in writes:
            await w                                     # a failure to write is not hidden
    if bar is not None:
        bar.close()
    return RunSummary([p.records[j.key] for j in p.jobs], p.out_root, time.perf_counter() - t_start)


def run_reports(**kwargs) -> RunSummary:
    """Synchronous entry point; see :func:`run_reports_async` for the arguments."""
    return asyncio.run(run_reports_async(**kwargs))


def print_summary(summary: RunSummary, stream=sys.stdout) -> None:
    n = len(summary.records)
    cached = sum(r.get("cached", False) for r in summary.records)
    print(f"iwt report: {n} report(s), {n - len(summary.failed)} ok, {len(summary.failed)} failed, "
          f"{cached} reused from cache, {summary.seconds:.1f} s; outputs in {summary.out_dir}", file=stream)
    for r in summary.failed:
        print(f"  FAILED {r['icb_code']}/{r['theme']}: {r.get('error')}", file=stream)
