"""Benchmark: end-to-end redraw time of every interactive control of every theme notebook, in a real
JupyterLab driven by headless Chromium (issue #29: goal 0.5 s from a control's change to the last
output redrawn).

Run: .venv/bin/python benchmarks/bench_controls.py [--moves 6] [--notebook 05_scenarios ...] [--json FILE]

Starts JupyterLab (the project's settings, jupyter_config/, as `make lab`) on copies of the theme
notebooks in a temporary folder, on a free loopback port with a random token, with the demo data and
each notebook's default ICB. Debian's Chromium (/usr/bin/chromium) opens each notebook, runs all its
cells, then moves every control (the ICB picker, the place, KPI and scenario pickers, each scenario
slider, the number of peers, and any further ICB picker on the page, such as the readiness form's)
``--moves`` times, each move to another value (the last move of each control returns it to its
starting value, so the next control is timed from the defaults).

One move is timed in the page, with the browser's clock: from the control's ``change`` event (a
dropdown) or the Enter typed into a slider's readout, to the last change to the notebook's DOM (any
element, attribute or text, and every chart image loaded) or the kernel's last "idle", whichever is
later. It is complete when the kernel has answered every message the page sent it since the change
(read from the page's websocket traffic), the explorer's status says this redraw is done
(``.iwt-redrawn[data-redraws=N]``; not for a picker outside the explorer), no image is still loading
and nothing has changed for ``--quiet`` ms. The in-kernel part (``Explorer.redraw``,
``explorer.last_redraw_s``) is read after each move through a second client on the notebook's kernel
(a silent request, no output).

Prints one row per control: median and range of the end-to-end times and of the in-kernel times,
the median of the kernel process's CPU time over a move (less sensitive than wall time to other work
on the machine) and of the end-to-end time less the in-kernel time (messages, widget updates, the
browser's rendering and layout). Also the time to run all cells of each notebook. Slowness is reported, never a failure: the exit code is 1 only when
something could not be run (JupyterLab or Chromium did not start, a cell or a redraw raised, a move
timed out), 0 otherwise. Scratch files go to a temporary folder (``--workdir`` to choose where),
removed at the end.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

from jupyter_client import BlockingKernelClient

from iwt_helpers import paths

sys.path.insert(0, str(paths.ROOT))
from tests import browser_servers as bs  # noqa: E402  (server start/stop and the Chromium launch, as the browser tests)

GOAL_S = 0.5
ICB_MOVES = ("QE1", "QHM", "QOC", "QT1", "QWE", "QKK", "QJK", "QHG", "QT6")     # other ICBs to move to, in turn
MOVE_TIMEOUT_MS = 180_000
RUN_TIMEOUT_MS = 600_000

# Added to the page before JupyterLab loads: the kernel messages on the page's websockets (both of
# Jupyter's websocket protocols), so that a move is complete when every request the page sent to the
# kernel since the move (a widget's comm message) has its "idle" status back. Only headers are
# decoded, and the content of status messages.
WIRE_JS = r"""(() => {
  const w = window.__iwtWire = {sent: {}, idle: {}};
  const dec = new TextDecoder();
  const parts = data => {
    if (typeof data === 'string') { const m = JSON.parse(data); return k => m[['channel', 'header', 'parent_header', 'metadata', 'content'][k]]; }
    if (!(data instanceof ArrayBuffer)) return null;
    const dv = new DataView(data);
    const off = i => Number(dv.getBigUint64(8 * (i + 1), true));
    return k => { const t = dec.decode(new Uint8Array(data, off(k), off(k + 1) - off(k))); return k ? JSON.parse(t) : t; };
  };
  const Base = window.WebSocket;
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => {
        try {
          const m = parts(e.data);
          if (!m || m(0) !== 'iopub' || m(1).msg_type !== 'status') return;
          const parent = m(2).msg_id;
          if (parent && m(4).execution_state === 'idle') w.idle[parent] = performance.now();
        } catch (err) { w.error = String(err); }
      });
    }
    send(data) {
      try {
        const m = parts(data);
        if (m && m(0) === 'shell') w.sent[m(1).msg_id] = {type: m(1).msg_type, at: performance.now()};
      } catch (err) { w.error = String(err); }
      return super.send(data);
    }
  };
})();"""

# Installed in the page once a notebook is open: the time of the last change under the notebook
# (DOM mutation or image loaded), the time the control changed (armed just before each move) and
# what the kernel still has to answer.
PROBE_JS = """() => {
  const nb = document.querySelector('.jp-Notebook');
  const w = window.__iwtWire;
  const s = window.__iwtBench = {last: performance.now(), t0: null, armed: false, since: 0, nb};
  s.requests = since => Object.entries(w.sent).filter(([, v]) => v.at >= since);
  s.pending = since => s.requests(since).filter(([id]) => !(id in w.idle)).length;
  s.lastIdle = since => Math.max(0, ...s.requests(since).map(([id]) => w.idle[id] || 0));
  s.images = () => [...nb.querySelectorAll('img')].every(i => i.complete);
  new MutationObserver(() => { s.last = performance.now(); })
    .observe(nb, {subtree: true, childList: true, attributes: true, characterData: true});
  nb.addEventListener('load', () => { s.last = performance.now(); }, true);
  const arm = () => { if (s.armed && s.t0 === null) { s.t0 = s.since = performance.now(); s.armed = false; } };
  document.addEventListener('change', arm, true);
  document.addEventListener('keydown', e => { if (e.key === 'Enter') arm(); }, true);
}"""

# Resolves to null until the move is complete, then to {e2e_ms} (or {error} when the redraw failed).
# Complete: the kernel has answered every request sent since the change (its "idle"), the explorer's
# status says this redraw is done (n; null for a picker outside the explorer), no image is loading and
# nothing under the notebook has changed for `quiet` ms. The end is the later of the last DOM change
# and the last "idle".
DONE_JS = """([n, quiet]) => {
  const s = window.__iwtBench;
  const failed = [...s.nb.querySelectorAll('.widget-html')].find(e => /could not redraw/.test(e.textContent));
  if (failed) return {error: failed.textContent};
  if (window.__iwtWire.error) return {error: 'reading kernel messages: ' + window.__iwtWire.error};
  if (s.t0 === null || !s.requests(s.t0).length || s.pending(s.t0)) return null;
  if (n !== null && !s.nb.querySelector(`.iwt-redrawn[data-redraws='${n}']`)) return null;
  if (!s.images()) return null;
  const end = Math.max(s.last > s.t0 ? s.last : 0, s.lastIdle(s.t0));
  if (performance.now() - end < quiet) return null;
  return {e2e_ms: end - s.t0};
}"""

SETTLED_JS = """(quiet) => { const s = window.__iwtBench;
  return !s.pending(s.since) && s.images() && performance.now() - Math.max(s.last, s.lastIdle(s.since)) >= quiet; }"""

RUN_DONE_JS = """(quiet) => {
  const s = window.__iwtBench;
  const prompts = [...s.nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
  if (!prompts.length || !prompts.every(p => /^\\[\\d+\\]:?$/.test(p))) return null;
  if (!s.requests(s.t0).length || s.pending(s.t0) || !s.images()) return null;
  if (performance.now() - Math.max(s.last, s.lastIdle(s.t0)) < quiet) return null;
  return {run_ms: Math.max(s.last, s.lastIdle(s.t0)) - s.t0};
}"""

# Evaluated in the kernel (silently, through a second client): the explorer's controls and their values.
CONTROLS_EXPR = """__import__('json').dumps([{
  'name': n, 'kind': type(explorer.widget(n)).__name__, 'description': explorer.widget(n).description,
  'value': explorer.widget(n).value,
  'options': [list(o) if isinstance(o, tuple) else [str(o), o] for o in getattr(explorer.widget(n), 'options', ())],
  'min': getattr(explorer.widget(n), 'min', None), 'max': getattr(explorer.widget(n), 'max', None),
  'step': getattr(explorer.widget(n), 'step', None)} for n in explorer.control_names()], default=str)"""
STATE_EXPR = "__import__('json').dumps({'redraws': explorer.redraws, 'last_redraw_s': explorer.last_redraw_s})"


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------------------- the kernel, from outside

class KernelProbe:
    """A second client on the notebook's kernel: silent requests whose user expressions read the explorer."""

    def __init__(self, url: str, token: str, runtime: Path, notebook: str):
        self.url, self.token = url, token
        sessions = self._api("GET", "/api/sessions")
        found = [s for s in sessions if Path(s["path"]).name == notebook]
        if len(found) != 1:
            raise BenchError(f"{notebook}: expected one kernel session, found {len(found)}")
        self.session_id = found[0]["id"]
        self.client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{found[0]['kernel']['id']}.json"))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.pid = self.json("__import__('json').dumps(__import__('os').getpid())")   # a local kernel: its CPU time

    def _api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def json(self, expr: str):
        msg_id = self.client.execute("", silent=True, store_history=False, user_expressions={"v": expr})
        while True:
            reply = self.client.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        got = reply["content"]["user_expressions"]["v"]
        if got.get("status") != "ok":
            raise BenchError(f"kernel expression failed: {got.get('ename')}: {got.get('evalue')}")
        return json.loads(ast.literal_eval(got["data"]["text/plain"]))

    def close(self, shutdown: bool = True) -> None:
        self.client.stop_channels()
        if shutdown:
            self._api("DELETE", f"/api/sessions/{self.session_id}")


# ---------------------------------------------------------------------------- moves

def slider_values(c: dict, n: int) -> list:
    """``n`` values for a slider, each unlike the one before, the last its starting value."""
    lo, hi, step, start = c["min"], c["max"], c["step"] or 1, c["value"]
    spots = [lo, hi, lo + (hi - lo) / 2, lo + (hi - lo) / 4, hi - (hi - lo) / 4, lo + (hi - lo) / 8, hi - (hi - lo) / 8]
    grid = []
    for v in spots:
        v = round(lo + round((v - lo) / step) * step, 10)
        v = int(v) if c["kind"] == "IntSlider" else v
        if v != start and v not in grid:
            grid.append(v)
    return _cycle(grid, n, start)


def dropdown_values(c: dict, n: int, prefer: tuple = ()) -> list:
    values = [v for _, v in c["options"]]
    others = [v for v in prefer if v in values and v != c["value"]] + [v for v in values if v != c["value"] and v not in prefer]
    return _cycle(others, n, c["value"])


def _cycle(others: list, n: int, start) -> list:
    if not others:
        return []
    return [*(others[i % len(others)] for i in range(n - 1)), start]


def _label(c: dict, value) -> str:
    return next(label for label, v in c["options"] if v == value)


def _readout_text(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:.10g}"


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a process so far (/proc), every thread counted."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def move(page, locator, kind: str, value, expect_redraw: int | None, quiet_ms: int, kernel_pid: int) -> tuple[float, float]:
    """Change one control in the page; the end-to-end seconds until the notebook has settled, and the
    kernel's CPU seconds meanwhile (less sensitive than wall time to other work on the machine)."""
    page.wait_for_function(SETTLED_JS, arg=quiet_ms, timeout=MOVE_TIMEOUT_MS, polling=50)
    cpu0 = cpu_seconds(kernel_pid)
    page.evaluate("() => { const s = window.__iwtBench; s.t0 = null; s.armed = true; }")
    if kind == "dropdown":
        locator.select_option(label=value, timeout=30_000)
    else:
        readout = locator.locator(".widget-readout")
        readout.click(timeout=30_000)
        page.keyboard.press("Control+A")
        page.keyboard.type(_readout_text(value))
        page.keyboard.press("Enter")
    got = page.wait_for_function(DONE_JS, arg=[expect_redraw, quiet_ms], timeout=MOVE_TIMEOUT_MS, polling=50).json_value()
    if "error" in got:
        raise BenchError(got["error"])
    return got["e2e_ms"] / 1000, cpu_seconds(kernel_pid) - cpu0


# ---------------------------------------------------------------------------- one notebook

def open_and_run(page, url: str, token: str, notebook: str, quiet_ms: int) -> float:
    """Open the notebook, run all its cells; the seconds from Run All to the last output."""
    page.add_init_script(WIRE_JS)
    # a workspace of its own per notebook, so that no other notebook's tab (and widgets) is restored beside it
    page.goto(f"{url}/lab/workspaces/bench-{notebook.split('_')[0]}/tree/{notebook}?reset&token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-StatusBar-Widget >> text=/Idle/", timeout=120_000)     # kernel up
    page.evaluate(PROBE_JS)
    page.evaluate("() => { const s = window.__iwtBench; s.t0 = s.since = performance.now(); }")
    page.get_by_role("menuitem", name="Run", exact=True).click(timeout=30_000)
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=30_000)
    got = page.wait_for_function(RUN_DONE_JS, arg=quiet_ms, timeout=RUN_TIMEOUT_MS, polling=100).json_value()
    tb = page.locator(".jp-OutputArea-output", has_text="Traceback (most recent call last)")
    if tb.count():
        raise BenchError(f"{notebook}: a cell raised:\n{tb.first.text_content()[-2000:]}")
    return got["run_ms"] / 1000


def _labelled(page, widget: str, label: str):
    """The widgets of a kind (``.widget-dropdown``, ``.widget-slider``) whose label is exactly ``label``."""
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    return page.locator(widget).filter(has=page.locator(".widget-label", has_text=exact))


def bench_notebook(browser, url, token, runtime: Path, notebook: str, moves: int, quiet_ms: int, shots: Path | None) -> dict:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    probe = None
    try:
        result = {"notebook": notebook, "run_all_s": open_and_run(page, url, token, notebook, quiet_ms), "controls": []}
        probe = KernelProbe(url, token, runtime, notebook)
        controls = probe.json(CONTROLS_EXPR)
        icb = next(c for c in controls if c["name"] == "icb_code")
        ordered = [c for c in controls if c["name"] != "icb_code"] + [icb]       # the ICB last: others at its default
        icb_pickers = _labelled(page, ".widget-dropdown", "ICB:")
        for c in ordered:
            if c["name"] == "icb_code":
                locator, kind = icb_pickers.first.locator("select"), "dropdown"
                values = dropdown_values(c, moves, prefer=ICB_MOVES)
            elif c["kind"] == "Dropdown":
                locator = _labelled(page, ".widget-dropdown", c["description"]).first.locator("select")
                kind, values = "dropdown", dropdown_values(c, moves)
            else:
                locator = _labelled(page, ".widget-slider", c["description"]).first
                kind, values = "slider", slider_values(c, moves)
            if not values:
                print(f"  {notebook:26s} {c['name']:28s} has one value only: not moved", flush=True)
                continue
            state = probe.json(STATE_EXPR)
            e2e, kernel, cpu = [], [], []
            for v in values:
                shown = _label(c, v) if kind == "dropdown" else v
                took, used = move(page, locator, kind, shown, state["redraws"] + 1, quiet_ms, probe.pid)
                e2e.append(took)
                cpu.append(used)
                after = probe.json(STATE_EXPR)
                if after["redraws"] != state["redraws"] + 1:
                    raise BenchError(f"{notebook} {c['name']} -> {v!r}: {after['redraws'] - state['redraws']} redraws, expected 1")
                kernel.append(after["last_redraw_s"])
                state = after
            result["controls"].append({"control": c["name"], "values": values, "e2e_s": e2e, "kernel_s": kernel,
                                       "kernel_cpu_s": cpu})
            print(f"  {notebook:26s} {c['name']:28s} " + " ".join(f"{t:.2f}" for t in e2e) + " s", flush=True)
        # ICB pickers outside the explorer (the readiness form's): no explorer redraw, no in-kernel figure
        if icb_pickers.count() > 1:
            locator = icb_pickers.nth(1).locator("select")
            values = dropdown_values(icb, moves, prefer=ICB_MOVES)
            moved = [move(page, locator, "dropdown", _label(icb, v), None, quiet_ms, probe.pid) for v in values]
            e2e, cpu = [m[0] for m in moved], [m[1] for m in moved]
            result["controls"].append({"control": "form icb_code (no redraw)", "values": values, "e2e_s": e2e, "kernel_s": [],
                                       "kernel_cpu_s": cpu})
            print(f"  {notebook:26s} {'form icb_code':28s} " + " ".join(f"{t:.2f}" for t in e2e) + " s", flush=True)
    except Exception:
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"bench-controls-{notebook.removesuffix('.ipynb')}-failure.png"))
        raise
    finally:
        if probe is not None:
            probe.close()
        page.close()
    return result


# ---------------------------------------------------------------------------- report

def _fmt_range(xs: list[float]) -> str:
    return f"{min(xs):.2f}-{max(xs):.2f}" if xs else "-"


def table(results: list[dict]) -> str:
    head = (f"{'notebook':22s} {'control':28s} {'n':>2s} {'end-to-end s':>12s} {'range':>11s} "
            f"{'in kernel s':>11s} {'range':>11s} {'kernel CPU s':>12s} {'rest s':>6s}  goal {GOAL_S} s")
    lines = [head, "-" * len(head)]
    for r in results:
        for c in r["controls"]:
            e2e, k, cpu = c["e2e_s"], c["kernel_s"], c["kernel_cpu_s"]
            rest = [a - b for a, b in zip(e2e, k)] if k else []
            lines.append(f"{r['notebook'].removesuffix('.ipynb'):22s} {c['control']:28s} {len(e2e):>2d} "
                         f"{statistics.median(e2e):>12.2f} {_fmt_range(e2e):>11s} "
                         f"{(f'{statistics.median(k):.2f}' if k else '-'):>11s} {_fmt_range(k):>11s} "
                         f"{statistics.median(cpu):>12.2f} {(f'{statistics.median(rest):.2f}' if rest else '-'):>6s}  "
                         f"{'over' if statistics.median(e2e) > GOAL_S else 'ok'}")
    lines += ["", "end-to-end: the control's change in the page to the last DOM change or kernel idle; in kernel: "
              "Explorer.redraw (explorer.last_redraw_s);",
              "kernel CPU: the kernel process's CPU time over the move; rest: end-to-end less in kernel (messages, "
              "widget updates, the browser's rendering). Medians.", ""]
    lines.append("run all cells (s): " + ", ".join(f"{r['notebook'].removesuffix('.ipynb')} {r['run_all_s']:.1f}" for r in results))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=6, help="moves of each control (at least 5; default 6)")
    ap.add_argument("--notebook", action="append", help="a theme notebook (e.g. 05_scenarios); default: all")
    ap.add_argument("--quiet", type=int, default=400, help="ms without a DOM change that mark a redraw complete (default 400)")
    ap.add_argument("--workdir", help="folder for the temporary JupyterLab root (default: the system's temporary folder)")
    ap.add_argument("--json", help="also write every time measured to this JSON file")
    ap.add_argument("--screenshots", type=Path, help="folder for a screenshot of each notebook whose benchmark failed")
    args = ap.parse_args(argv)
    if args.moves < 5:
        ap.error("--moves: at least 5")
    if not bs.CHROMIUM.exists():
        print(f"bench_controls: {bs.CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 1
    notebooks = sorted(p.name for p in paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.notebook:
        wanted = {n.removesuffix(".ipynb") for n in args.notebook}
        notebooks = [n for n in notebooks if n.removesuffix(".ipynb") in wanted]
        if len(notebooks) != len(wanted):
            ap.error(f"--notebook: unknown notebook among {sorted(wanted)}")
    notebooks = [n for n in notebooks if "Explorer(" in (paths.NOTEBOOKS / n).read_text()]

    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="iwt-bench-controls-", dir=args.workdir))
    results, failures = [], []
    t_start = time.perf_counter()
    try:
        for nb in notebooks:                                 # never touch the committed notebooks
            shutil.copy(paths.NOTEBOOKS / nb, root / nb)
        port, token = bs.free_port(), bs.token()
        runtime = root / ".runtime"
        env = {k: v for k, v in os.environ.items() if k != "IWT_BATCH"}
        env.update(JUPYTER_CONFIG_DIR=str(root / ".jupyter"), JUPYTER_RUNTIME_DIR=str(runtime),
                   JUPYTER_CONFIG_PATH=str(paths.ROOT / "jupyter_config"))   # the project's settings, as `make lab`
        url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0",
                "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root"]
        print(f"JupyterLab on {len(notebooks)} notebook(s), demo data, default ICB; {args.moves} moves per control; "
              f"load average {load_before[0]:.2f}, {os.cpu_count()} cores", flush=True)
        with bs.server(argv, ready=url, env=env, cwd=root, timeout=120) as proc, bs.chromium() as browser:
            for nb in notebooks:
                try:
                    results.append(bench_notebook(browser, url, token, runtime, nb, args.moves, args.quiet, args.screenshots))
                except Exception as err:                      # note it, go on with the next notebook
                    failures.append(f"{nb}: {type(err).__name__}: {err}")
                    traceback.print_exc()
                if proc.poll() is not None:
                    failures.append("JupyterLab stopped during the benchmark")
                    break
    except Exception as err:
        failures.append(f"could not run: {type(err).__name__}: {err}")
        traceback.print_exc()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    load_after = os.getloadavg()

    print()
    print(f"Redraw per control move, end to end in JupyterLab + Chromium (change event to last DOM change), demo data; "
          f"goal {GOAL_S} s")
    if results:
        print(table(results))
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} cores; "
          f"{time.perf_counter() - t_start:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_before": load_before, "load_after": load_after, "results": results}, indent=1))
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
