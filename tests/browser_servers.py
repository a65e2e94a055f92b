"""Servers for the browser tests (JupyterLab, the readiness app): started on a free loopback port with
a random token, ready when their own log line says so (no sleeps), stopped with every process they
started, even when a test fails. Also the Chromium launch (Debian's /usr/bin/chromium, never a
downloaded browser) and where screenshots go."""

from __future__ import annotations

import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from iwt_helpers import paths

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("IWT_TEST_ARTIFACTS") or paths.ROOT / "tests" / "artifacts")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def need_browser() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (apt-get install chromium) - browser test skipped")
    pytest.importorskip("playwright.sync_api", reason="playwright not installed")


def screenshot(page, name: str, show=None) -> Path:
    """Save a screenshot; ``show`` (a locator) is scrolled into view and awaited as visible first, and two
    animation frames are awaited so that JupyterLab's windowed notebook has painted the cells in view."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if show is not None:
        show.scroll_into_view_if_needed()
        show.wait_for(state="visible", timeout=30_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(path), full_page=False)
    print(f"\nscreenshot: {path}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token() -> str:
    return secrets.token_urlsafe(24)


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc), whatever session it put itself in."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextmanager
def server(argv: list[str], ready: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 90):
    """Run ``argv`` in its own process group until ``ready`` appears in its log; yield the process;
    afterwards stop it (SIGTERM, then SIGKILL) and everything it started."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
                            start_new_session=True)
    log: list[str] = []
    kids: set[int] = set()
    try:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            got, _, _ = select.select([proc.stdout], [], [], max(0.0, left))
            line = proc.stdout.readline() if got else ""
            log.append(line)
            if ready in line:
                break
            if not got or (not line and proc.poll() is not None):
                raise RuntimeError(f"{argv[2] if len(argv) > 2 else argv[0]} did not start within {timeout:.0f} s:\n"
                                   + "".join(log[-30:]))
        threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True).start()   # keep draining its log
        proc.log = log
        yield proc
    finally:
        kids = descendants(proc.pid)
        stop(proc, kids)


def stop(proc: subprocess.Popen, kids: set[int], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for pid in kids:                          # kernels run in sessions of their own
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
