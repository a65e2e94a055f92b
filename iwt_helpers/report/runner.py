"""``iwt report``: every theme for one ICB, several, or all 42, in warm kernels.

For each (ICB, theme) the runner parameterises the theme notebook as papermill does, runs it
in a warm kernel, writes ``<out>/<ICB>/<theme>.ipynb`` and a self-contained ``<theme>.html``,
then per ICB ``tables.xlsx`` and ``index.html``, and for the run ``index.html`` and
``manifest.json``. Every file is written to a temporary name and renamed. A report whose
notebook, parameters, inputs and package code are unchanged is reused unless ``force``.
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
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from .. import __version__, atomic, datastore, demo, geography, paths
from ..params import ReportParams
from . import engine, export, outputs, themes

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
    record: dict = field(default_factory=dict)

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


def resolve_icbs(spec: str) -> list[str]:
    if spec.strip().lower() == "all":
        return geography.icb_codes()
    codes = [geography.resolve_icb(s) for s in spec.split(",") if s.strip()]
    if not codes:
        raise geography.UnknownICBError("--icb: give an ICB code, a comma-separated list, or 'all'")
    return list(dict.fromkeys(codes))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def input_files(data_dir: Path | None) -> dict[str, str]:
    """SHA-256 of every data file a report can read: data_dir, demo set and reference tables."""
    folders = [f for f in (data_dir, paths.DEMO, paths.REFERENCE) if f is not None]
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                rel = str(p.relative_to(paths.ROOT)) if paths.is_within(p, paths.ROOT) else str(p)
                out[rel] = _sha256(p)
    return out


def code_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((paths.ROOT / "iwt_helpers").rglob("*.py")):
        h.update(p.relative_to(paths.ROOT).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def git_commit() -> dict:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=paths.ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip() != ""
        return {"commit": head or None, "dirty": dirty}
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


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _prepare(job: Job) -> nbformat.NotebookNode:
    nb = load_notebook_node(str(job.notebook))       # papermill's loader: adds the metadata it expects
    nb = parameterize_notebook(nb, job.parameters, kernel_name=engine.KERNEL_NAME, language="python")
    nb.metadata.papermill.update({
        "input_path": _shown(job.notebook),
        "output_path": str(job.out_dir / f"{job.theme}.ipynb"),
        "default_parameters": {},
        "environment_variables": {},
        "version": metadata.version("papermill"),
        "engine": "iwt warm-kernel runner",
    })
    return nb


def _shown(path: Path) -> str:
    return str(path.relative_to(paths.ROOT)) if paths.is_within(path, paths.ROOT) else str(path)


def _icb_label(code: str) -> str:
    return f"{geography.icb_name(code)} ({code})"


async def _run_one(worker: engine.Worker, job: Job, progress) -> dict:
    started = _now()
    nb = _prepare(job)
    nb.metadata.papermill["start_time"] = started
    res = await worker.run(nb, job.notebook.parent)
    nb.metadata.papermill.update({"end_time": _now(), "duration": round(res.seconds, 3),
                                  "exception": not res.ok})
    t0 = time.perf_counter()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(job.out_dir / f"{job.theme}.ipynb", nbformat.writes(nb))
    nav = f'<a href="index.html">{geography.icb_name(job.icb_code)} reports</a> &middot; <a href="../index.html">All ICBs</a>'
    page = export.to_html(nb, f"{themes.title(job.theme)}: {_icb_label(job.icb_code)}",
                          error=None if res.ok else (res.error or "unknown error"), nav=nav)
    atomic.write_text(job.out_dir / f"{job.theme}.html", page)
    export_s = time.perf_counter() - t0
    found = outputs.collect(nb)
    progress.update(1)
    return {
        "icb_code": job.icb_code, "theme": job.theme, "parameters": job.parameters,
        "status": "ok" if res.ok else "failed", "error": res.error, "cache_key": job.cache_key,
        "notebook": _shown(job.notebook), "started": started,
        "seconds_execute": round(res.seconds, 3), "seconds_export": round(export_s, 3),
        "kernel_reused": res.kernel_reused, "cached": False,
        "headlines": found["headlines"],
        "outputs": [f"{job.icb_code}/{job.theme}.ipynb", f"{job.icb_code}/{job.theme}.html"],
    }


def run_reports(icb: str = "QOP", theme_spec: str = "all", data_dir: str | Path | None = None,
                out_dir: str | Path | None = None, jobs: int = 2, force: bool = False,
                fresh_kernels: bool = False, progress: bool = True,
                notebooks_dir: Path | None = None) -> RunSummary:
    t_start = time.perf_counter()
    codes = resolve_icbs(icb)
    selected = themes.select(theme_spec, notebooks_dir)
    out_root = Path(out_dir).resolve() if out_dir else paths.REPORTS
    if out_root.exists() and not out_root.is_dir():
        raise NotADirectoryError(f"--out {out_root}: exists and is not a folder")
    # Validate the shared parameters once, before any kernel starts.
    checked = ReportParams.parse(icb_code=codes[0], data_dir=data_dir or "")
    data_path = checked.data_dir
    inputs = input_files(data_path)
    input_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    chash = code_hash()
    manifest_path = out_root / "manifest.json"
    manifest = outputs.read_manifest(manifest_path)
    previous = manifest.get("reports", {})

    all_jobs: list[Job] = []
    for code in codes:
        dest = out_root / code
        if not paths.is_within(dest, out_root):       # codes come from a closed list; belt and braces
            raise ValueError(f"refusing to write outside {out_root}: {dest}")
        for theme, nb_path in selected.items():
            params = {"icb_code": code, "data_dir": str(data_path) if data_path else ""}
            key = hashlib.sha256(json.dumps({"nb": _sha256(nb_path), "params": params, "inputs": input_hash,
                                             "code": chash, "versions": versions()}, sort_keys=True).encode()).hexdigest()
            all_jobs.append(Job(code, theme, nb_path, params, dest, key))

    todo, records = [], {}
    for job in all_jobs:
        prev = previous.get(job.key)
        done = (prev and prev.get("cache_key") == job.cache_key and prev.get("status") == "ok"
                and all((out_root / o).exists() for o in prev.get("outputs", [])))
        if done and not force:
            records[job.key] = {**prev, "cached": True}
        else:
            todo.append(job)

    from tqdm.auto import tqdm
    bar = tqdm(total=len(all_jobs), initial=len(all_jobs) - len(todo), desc="iwt report", unit="report",
               disable=not progress, file=sys.stderr)

    async def go() -> list:
        return await engine.run_all(todo, jobs, lambda w, j: _run_one(w, j, bar), fresh=fresh_kernels)

    for rec in asyncio.run(go()) if todo else []:
        records[f"{rec['icb_code']}/{rec['theme']}"] = rec
    bar.close()

    common = {"inputs": inputs, "input_hash": input_hash, "versions": versions(), "git": git_commit()}
    for rec in records.values():
        rec.update(common)
    ds = datastore.open_dataset(data_path)
    synthetic = any(ds.info(t).synthetic for t in demo.DEMO_TABLES)
    # Per-ICB outputs: tables.xlsx and index.html, from every theme's executed notebook.
    for code in codes:
        dest = out_root / code
        per_theme, entries = {}, []
        for theme in selected:
            rec = records[f"{code}/{theme}"]
            nb_file = dest / f"{theme}.ipynb"
            found = outputs.collect(nbformat.read(nb_file, as_version=4)) if nb_file.exists() else {}
            per_theme[theme] = found
            entries.append({"theme": theme, "title": themes.title(theme), "status": rec["status"],
                            "error": rec.get("error"), "headlines": found.get("headlines", [])})
        outputs.write_tables_xlsx(dest / "tables.xlsx", _icb_label(code), per_theme, synthetic)
        outputs.icb_index(dest / "index.html", _icb_label(code), entries, synthetic)

    merged = {**previous, **records}
    icbs_t = geography.icbs().set_index("icb_code")
    rows = []
    for code in sorted({r["icb_code"] for r in merged.values()}):
        mine = [r for r in merged.values() if r["icb_code"] == code]
        rows.append({"icb_code": code, "name": icbs_t.at[code, "icb_short_name"], "region": icbs_t.at[code, "region_name"],
                     "themes": len(mine), "failed": sum(r["status"] != "ok" for r in mine)})
    outputs.top_index(out_root / "index.html", rows, synthetic)
    manifest = {"generated": _now(), "tool": f"iwt {__version__}", "reports": merged}
    outputs.write_manifest(manifest_path, manifest)
    return RunSummary(list(records.values()), out_root, time.perf_counter() - t_start)


def print_summary(summary: RunSummary, stream=sys.stdout) -> None:
    n = len(summary.records)
    cached = sum(r.get("cached", False) for r in summary.records)
    print(f"iwt report: {n} report(s), {n - len(summary.failed)} ok, {len(summary.failed)} failed, "
          f"{cached} reused from cache, {summary.seconds:.1f} s; outputs in {summary.out_dir}", file=stream)
    for r in summary.failed:
        print(f"  FAILED {r['icb_code']}/{r['theme']}: {r.get('error')}", file=stream)
