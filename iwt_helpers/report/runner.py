"""``iwt report``: every theme for one ICB, several, or all 42, in warm kernels.

For each (ICB, theme) the runner parameterises the theme notebook as papermill does, runs it
in a warm kernel, writes ``<out>/<ICB>/<theme>.ipynb`` and a self-contained ``<theme>.html``,
then per ICB ``tables.xlsx`` and ``index.html``, and for the run ``index.html`` and
``manifest.json``. Every file is written to a temporary name and renamed. A report whose
notebook, parameters, inputs and package code are unchanged is reused unless ``force``.

Start-up is overlapped: the kernels start and import the notebooks' modules while this
process imports its own (nbconvert, papermill, pandas) and plans the run, so heavy imports
happen inside functions here rather than at the top of the module.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from iwt_helpers import __version__, paths

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
    selected: dict[str, Path]
    out_root: Path
    data_path: Path | None
    jobs: list[Job]
    todo: list[Job]
    records: dict[str, dict]
    previous: dict[str, dict]
    common: dict
    synthetic: bool
    found: dict[str, dict] = field(default_factory=dict)   # outputs.collect() of each report run now


def resolve_icbs(spec: str) -> list[str]:
    from iwt_helpers.data import geography
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
                out[_shown(p)] = _sha256(p)
    return out


def code_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((paths.ROOT / "iwt_helpers").rglob("*")):
        if p.is_file() and p.suffix in (".py", ".j2", ".json", ".css"):
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
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _shown(path: Path) -> str:
    return str(path.relative_to(paths.ROOT)) if paths.is_within(path, paths.ROOT) else str(path)


def _icb_label(code: str) -> str:
    from iwt_helpers.data import geography
    return f"{geography.icb_name(code)} ({code})"


def plan(icb: str, theme_spec: str, data_dir, out_dir, force: bool, notebooks_dir: Path | None) -> Plan:
    """Validate the request and decide which reports need running (the rest come from the cache)."""
    from iwt_helpers.data import datastore, demo
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
    input_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    chash, pkg_versions = code_hash(), versions()
    previous = outputs.read_manifest(out_root / "manifest.json").get("reports", {})

    jobs: list[Job] = []
    for code in codes:
        dest = out_root / code
        if not paths.is_within(dest, out_root):       # codes come from a closed list; belt and braces
            raise ValueError(f"refusing to write outside {out_root}: {dest}")
        for theme, nb_path in selected.items():
            params = {"icb_code": code, "data_dir": str(data_path) if data_path else ""}
            key = hashlib.sha256(json.dumps({"nb": _sha256(nb_path), "params": params, "inputs": input_hash,
                                             "code": chash, "versions": pkg_versions},
                                            sort_keys=True).encode()).hexdigest()
            jobs.append(Job(code, theme, nb_path, params, dest, key))

    todo, records = [], {}
    for job in jobs:
        prev = previous.get(job.key)
        done = (prev and prev.get("cache_key") == job.cache_key and prev.get("status") == "ok"
                and all((out_root / o).exists() for o in prev.get("outputs", [])))
        if done and not force:
            records[job.key] = {**prev, "cached": True}
        else:
            todo.append(job)
    # Longest first (by each theme's time in the previous run, else the notebook's size), so the
    # short reports fill in at the end and the kernels finish together.
    cost: dict[str, list[float]] = {}
    for r in previous.values():
        if r.get("seconds_execute"):
            cost.setdefault(r["theme"], []).append(r["seconds_execute"])
    size = {t: p.stat().st_size / 1e5 for t, p in selected.items()}
    expected = {t: (sorted(v)[len(v) // 2] if (v := cost.get(t)) else size[t]) for t in selected}
    todo.sort(key=lambda j: -expected[j.theme])
    ds = datastore.open_dataset(data_path)
    synthetic = any(ds.info(t).synthetic for t in demo.DEMO_TABLES)
    common = {"inputs": inputs, "input_hash": input_hash, "versions": pkg_versions, "git": git_commit()}
    # Import and compile what exporting needs now, in this thread, while the kernels start
    # (rather than on the event loop, or in the first export while the kernels are busy).
    from . import export
    export.warm_up()
    outputs.warm_up()
    return Plan(codes, selected, out_root, data_path, jobs, todo, records, previous, common, synthetic)


def inject_parameters(nb, parameters: dict):
    """Insert the parameters cell after the cell tagged ``parameters``, as papermill does.

    Same result as ``papermill.parameterize.parameterize_notebook`` for Python kernels (a cell
    tagged ``injected-parameters`` with ``name = repr`` lines, and
    ``metadata.papermill.parameters``; tests/test_report_runner.py compares the two), without
    importing papermill's I/O stack in the runner.
    """
    import nbformat

    lines = ["# Parameters"] + [f"{k} = {_py_literal(v)}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell(source="\n".join(lines) + "\n")
    cell.metadata["tags"] = ["injected-parameters"]
    cell.pop("id", None)
    cell["id"] = "injected-parameters"
    for c in nb.cells:
        c.metadata.setdefault("tags", [])
        c.metadata.setdefault("papermill", {})
    cells = [c for c in nb.cells if "injected-parameters" not in c.metadata["tags"]]
    at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.metadata["tags"]), 0)
    nb.cells = cells[:at] + [cell] + cells[at:]
    nb.metadata.setdefault("papermill", {})
    nb.metadata.papermill["parameters"] = dict(parameters)
    return nb


def _py_literal(value) -> str:
    """A Python literal written the way papermill's Python translator writes it."""
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode("utf-8").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py_literal(k)}: {_py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _prepare(job: Job):
    import nbformat

    nb = inject_parameters(nbformat.read(job.notebook, as_version=4), job.parameters)
    nb.metadata.papermill.update({
        "input_path": _shown(job.notebook),
        "output_path": str(job.out_dir / f"{job.theme}.ipynb"),
        "default_parameters": {},
        "environment_variables": {},
        "version": metadata.version("papermill"),
        "engine": "iwt warm-kernel runner",
    })
    return nb


def _write_outputs(job: Job, nb, res, started: str, found_by_key: dict) -> dict:
    """Write the executed notebook and its HTML (each atomically); return the manifest record."""
    import nbformat

    from iwt_helpers import atomic
    from iwt_helpers.data import geography

    from . import export, outputs, themes

    t0 = time.perf_counter()
    job.out_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_text(job.out_dir / f"{job.theme}.ipynb", nbformat.writes(nb))
    nav = f'<a href="index.html">{geography.icb_name(job.icb_code)} reports</a> &middot; <a href="../index.html">All ICBs</a>'
    page = export.to_html(nb, f"{themes.title(job.theme)}: {_icb_label(job.icb_code)}",
                          error=None if res.ok else (res.error or "unknown error"), nav=nav)
    atomic.write_text(job.out_dir / f"{job.theme}.html", page)
    found = outputs.collect(nb)
    found_by_key[job.key] = found
    return {
        "icb_code": job.icb_code, "theme": job.theme, "parameters": job.parameters,
        "status": "ok" if res.ok else "failed", "error": res.error, "cache_key": job.cache_key,
        "notebook": _shown(job.notebook), "started": started,
        "seconds_execute": round(res.seconds, 3), "seconds_export": round(time.perf_counter() - t0, 3),
        "kernel_reused": res.kernel_reused, "kernel_forked": res.kernel_forked, "cached": False,
        "headlines": found["headlines"],
        "outputs": [f"{job.icb_code}/{job.theme}.ipynb", f"{job.icb_code}/{job.theme}.html"],
    }


class _ParentWork:
    """This process's share of a run (each report's .ipynb and .html, each ICB's tables.xlsx and
    index page), done one piece at a time in a thread, preferably on a free core.

    While every core has a busy kernel, the pieces wait (up to ``bound`` of them), so they do
    not slow the kernels down; they run as soon as a core is free (a kernel between reports, or
    the end of the run, when kernels finish at different times) or the backlog is full. In a
    long run the backlog stays at the bound and the work keeps pace with the kernels; in a
    short one it fills the idle tail.
    """

    def __init__(self, cores: int, bound: int):
        self.cores, self.bound = max(1, cores), max(1, bound)
        self.busy = 0
        self.queue: list = []
        self.closed = False
        self.cond = asyncio.Condition()

    async def _notify(self) -> None:
        async with self.cond:
            self.cond.notify_all()

    async def kernel(self, delta: int) -> None:
        self.busy += delta
        await self._notify()

    async def submit(self, fn) -> None:
        self.queue.append(fn)
        await self._notify()

    async def close(self) -> None:
        self.closed = True
        await self._notify()

    def _ready(self) -> bool:
        return bool(self.queue) and (self.closed or self.busy < self.cores or len(self.queue) > self.bound)

    async def run(self) -> None:
        while True:
            async with self.cond:
                await self.cond.wait_for(lambda: self._ready() or (self.closed and not self.queue))
                if not self.queue:
                    return
                fn = self.queue.pop(0)
            await fn()


async def _run_one(worker, job: Job, work: _ParentWork, finish) -> None:
    """Execute in the worker's kernel; its outputs are written by ``work`` (see _ParentWork)."""
    started = _now()
    nb = _prepare(job)
    nb.metadata.papermill["start_time"] = started
    await work.kernel(+1)
    try:
        res = await worker.run(nb, job.notebook.parent)
    finally:
        await work.kernel(-1)
    nb.metadata.papermill.update({"end_time": _now(), "duration": round(res.seconds, 3),
                                  "exception": not res.ok})
    await work.submit(lambda: finish(job, nb, res, started))


def _icb_outputs(p: Plan, code: str) -> None:
    """tables.xlsx and index.html for one ICB, from every theme's executed notebook."""
    import nbformat

    from . import outputs, themes

    dest = p.out_root / code
    per_theme, entries = {}, []
    for theme in p.selected:
        rec = p.records[f"{code}/{theme}"]
        nb_file = dest / f"{theme}.ipynb"
        found = p.found.get(f"{code}/{theme}")
        if found is None:                              # reused from the cache: read it back
            found = outputs.collect(nbformat.read(nb_file, as_version=4)) if nb_file.exists() else {}
        per_theme[theme] = found
        entries.append({"theme": theme, "title": themes.title(theme), "status": rec["status"],
                        "error": rec.get("error"), "headlines": found.get("headlines", [])})
    outputs.write_tables_xlsx(dest / "tables.xlsx", _icb_label(code), per_theme, p.synthetic)
    outputs.icb_index(dest / "index.html", _icb_label(code), entries, p.synthetic)


def _finish_run(p: Plan) -> None:
    """The run's index page and manifest (previous entries for other reports are kept)."""
    from iwt_helpers.data import geography

    from . import outputs

    for rec in p.records.values():
        rec.update(p.common)
    merged = {**p.previous, **p.records}
    icbs_t = geography.icbs().set_index("icb_code")
    rows = []
    for code in sorted({r["icb_code"] for r in merged.values()}):
        mine = [r for r in merged.values() if r["icb_code"] == code]
        rows.append({"icb_code": code, "name": icbs_t.at[code, "icb_short_name"], "region": icbs_t.at[code, "region_name"],
                     "themes": len(mine), "failed": sum(r["status"] != "ok" for r in mine)})
    outputs.top_index(p.out_root / "index.html", rows, p.synthetic)
    outputs.write_manifest(p.out_root / "manifest.json", {"generated": _now(), "tool": f"iwt {__version__}",
                                                           "reports": merged})


async def run_reports_async(icb: str = "QOP", theme_spec: str = "all", data_dir: str | Path | None = None,
                            out_dir: str | Path | None = None, jobs: int = 2, force: bool = False,
                            fresh_kernels: bool = False, progress: bool = True,
                            notebooks_dir: Path | None = None, fork_server=None) -> RunSummary:
    """Run the reports. ``fork_server``: a launched :class:`forkserver.ForkServer` to use (and
    stop); by default one is launched here unless ``fresh_kernels``."""
    t_start = time.perf_counter()
    cwd = Path(notebooks_dir or paths.NOTEBOOKS)
    if fork_server is None and not fresh_kernels:
        fork_server = _launch_fork_server(cwd)
    from . import engine
    server = asyncio.create_task(_started(fork_server)) if fork_server is not None else None
    workers = [engine.Worker(fresh=fresh_kernels, server=server) for _ in range(max(1, jobs))]
    for w in workers:                                   # kernels boot while we plan
        w.start_soon(cwd)
    try:
        try:
            p = await asyncio.to_thread(plan, icb, theme_spec, data_dir, out_dir, force, notebooks_dir)
        except BaseException:
            for w in workers:                           # stop the kernels we started
                await w.abort()
            raise
        return await _execute(p, workers, progress, t_start)
    finally:
        if fork_server is not None:
            if server is not None:
                await asyncio.gather(server, return_exceptions=True)
            await fork_server.stop()


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _launch_fork_server(cwd: Path):
    """Launch the kernel fork server where it is available (see forkserver.py); it imports the
    kernels' modules while this process imports its own and plans the run."""
    from . import forkserver, kernel_setup
    if not forkserver.available():
        return None
    try:
        interpreter = forkserver.interpreter_of(kernel_setup.KERNEL_NAME)
        if not interpreter:
            return None
        srv = forkserver.ForkServer(kernel_setup.WARM_IMPORTS, str(cwd), kernel_setup.kernel_env(), interpreter)
        srv.launch()
        return srv
    except Exception as exc:  # noqa: BLE001 - kernels then start the usual way
        _no_fork_server(exc)
        return None


def _no_fork_server(exc: Exception) -> None:
    print(f"iwt report: starting kernels without the fork server ({exc})", file=sys.stderr)


async def _started(srv):
    try:
        await srv.start()
    except Exception as exc:
        _no_fork_server(exc)
        raise
    return srv


async def _execute(p: Plan, workers: list, progress: bool, t_start: float) -> RunSummary:
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(p.jobs), initial=len(p.jobs) - len(p.todo), desc="iwt report", unit="report",
                   file=sys.stderr)
    else:
        bar = _NoProgress()
    remaining = {code: sum(j.icb_code == code for j in p.todo) for code in p.codes}
    used = workers[: max(1, min(len(workers), len(p.todo)))] if p.todo else []
    work = _ParentWork(cores=os.cpu_count() or 1, bound=2 * len(used))

    async def finish(job: Job, nb, res, started: str) -> None:
        rec = await asyncio.to_thread(_write_outputs, job, nb, res, started, p.found)
        bar.update(1)
        p.records[job.key] = rec
        remaining[job.icb_code] -= 1
        if remaining[job.icb_code] == 0:          # the ICB's last theme: its xlsx and index now
            await asyncio.to_thread(_icb_outputs, p, job.icb_code)

    for w in workers:
        if w not in used:                               # nothing (or less) to run: stop spare kernels
            await w.abort()
    from . import engine
    stopping: list = []
    writer = asyncio.create_task(work.run())
    try:
        if used:
            await engine.run_all(p.todo, used, lambda w, j: _run_one(w, j, work, finish), stopping)
        await work.close()
        await writer
        bar.close()
        for code in p.codes:
            if not any(j.icb_code == code for j in p.todo):
                await asyncio.to_thread(_icb_outputs, p, code)     # every theme came from the cache
        await asyncio.to_thread(_finish_run, p)
    finally:
        if not writer.done():
            await work.close()
            await asyncio.gather(writer, return_exceptions=True)
        await asyncio.gather(*stopping)                # kernels shut down while the above ran
    return RunSummary([p.records[j.key] for j in p.jobs], p.out_root, time.perf_counter() - t_start)


def run_reports(**kwargs) -> RunSummary:
    """Synchronous entry point; see :func:`run_reports_async` for the arguments.

    The kernel fork server is launched first of all, before this process imports nbformat,
    nbclient and jupyter_client, so that its imports and ours overlap."""
    if not kwargs.get("fresh_kernels") and kwargs.get("fork_server") is None:
        kwargs["fork_server"] = _launch_fork_server(Path(kwargs.get("notebooks_dir") or paths.NOTEBOOKS))
    return asyncio.run(run_reports_async(**kwargs))


def print_summary(summary: RunSummary, stream=sys.stdout) -> None:
    n = len(summary.records)
    cached = sum(r.get("cached", False) for r in summary.records)
    print(f"iwt report: {n} report(s), {n - len(summary.failed)} ok, {len(summary.failed)} failed, "
          f"{cached} reused from cache, {summary.seconds:.1f} s; outputs in {summary.out_dir}", file=stream)
    for r in summary.failed:
        print(f"  FAILED {r['icb_code']}/{r['theme']}: {r.get('error')}", file=stream)
