"""Serve the readiness form as a standalone page with Voila (code stripped, tracebacks hidden).

Bound to 127.0.0.1 unless told otherwise; a token is required (generated when not given) unless
explicitly disabled, and cannot be disabled on an address other people can reach. Each open page has
one kernel; jupyter_server's culler shuts down a kernel whose page is closed or unused for the idle
time, and :class:`.kernels.CappedKernelManager` refuses page loads beyond the kernel cap. Ctrl-C or
SIGTERM stop the server and its kernels (Voila's own handling)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from iwt_helpers import paths
from iwt_helpers.analysis.params import ReportParams
from iwt_helpers.data import datastore, geography
from iwt_helpers.errors import IwtError

from .readiness_app import DATA_ENV, ICB_ENV, IDLE_ENV

NOTEBOOK = Path(__file__).with_name("readiness.ipynb")
DEFAULT_PORT = 8866
DEFAULT_IDLE_MINUTES = 30.0     # a page unused this long (or closed) loses its kernel
CULL_INTERVAL_MAX_S = 10        # how often, at most, idle kernels are looked for
DEFAULT_MAX_KERNELS = 10        # pages open at once (one kernel each, about 220 MB)
CLOSED_PAGE_S = 15              # a kernel whose page was closed or reloaded goes after this (at most the idle time)


class AppError(IwtError, ValueError):
    """Settings the app refuses, with what was expected."""


def loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


def data_folder(data_dir: str | Path | None, option: str = "--data") -> Path | None:
    """The data folder whose ``readiness/`` receives rounds: None for the default (``data/readiness``), the
    project's own ``data/`` folder, or a folder iwt made (its ``datasets.json`` marks it, the check
    ``datastore`` makes of a data_dir); any other folder is refused with what to give instead."""
    if data_dir in (None, ""):
        return None
    folder = Path(str(data_dir)).expanduser()
    folder = (folder if folder.is_absolute() else Path.cwd() / folder).resolve()
    if folder == paths.DATA.resolve():
        return folder
    if not folder.is_dir():
        raise AppError(f"{option} {data_dir}: folder not found (give the project's data/ folder, the --out folder "
                       "of `iwt data build`, or leave it out for data/readiness)")
    try:
        datastore.open_dataset(folder)
    except datastore.NotADataFolderError:
        raise AppError(f"{option} {data_dir}: not a data folder made by iwt (no {datastore.MANIFEST} saying "
                       f"'{datastore.PROCESSED_MARK}'); give the project's data/ folder, the --out folder of "
                       "`iwt data build`, or leave it out for data/readiness") from None
    return folder


def culling(idle_minutes: float, max_kernels: int) -> list[str]:
    """jupyter_server's culling settings, and the kernel cap, as Voila arguments: a kernel idle for
    ``idle_minutes``, with its page open or closed, is shut down (one whose page was closed or reloaded
    after ``CLOSED_PAGE_S`` plus up to one ``cull_interval``); at most ``max_kernels`` run at once."""
    if not 0 < idle_minutes <= 24 * 60:
        raise AppError(f"--idle-minutes {idle_minutes:g}: expected minutes above 0 and at most 1440 (a day)")
    if not 1 <= max_kernels <= 1000:
        raise AppError(f"--max-kernels {max_kernels}: expected a whole number from 1 to 1000")
    idle_s = max(1, round(idle_minutes * 60))
    return ["--VoilaConfiguration.multi_kernel_manager_class=iwt_helpers.app.kernels.CappedKernelManager",
            f"--CappedKernelManager.max_kernels={max_kernels}",
            f"--CappedKernelManager.closed_timeout={min(CLOSED_PAGE_S, idle_s)}",
            f"--MappingKernelManager.cull_idle_timeout={idle_s}",
            f"--MappingKernelManager.cull_interval={max(1, min(CULL_INTERVAL_MAX_S, idle_s // 2))}",
            "--MappingKernelManager.cull_connected=True"]


def voila_argv(port: int, token: str, ip: str, idle_minutes: float = DEFAULT_IDLE_MINUTES,
               max_kernels: int = DEFAULT_MAX_KERNELS) -> list[str]:
    return [str(NOTEBOOK), f"--port={port}", f"--Voila.ip={ip}", "--Voila.port_retries=0", "--no-browser",
            f"--Voila.token={token}", "--strip_sources=True", "--show_tracebacks=False",
            "--VoilaConfiguration.file_allowlist=[]", *culling(idle_minutes, max_kernels)]


def settings(port: int = DEFAULT_PORT, token: str | None = None, no_token: bool = False, data_dir: str = "",
             icb: str = "", ip: str = "127.0.0.1", idle_minutes: float = DEFAULT_IDLE_MINUTES,
             max_kernels: int = DEFAULT_MAX_KERNELS) -> tuple[list[str], dict[str, str], str]:
    """Voila's arguments, the environment the page's kernel reads, and the URL to print."""
    if not 0 < port < 65536:
        raise AppError(f"--port {port}: expected a port number from 1 to 65535")
    if no_token and token:
        raise AppError("--token and --no-token together: choose one")
    if no_token and not loopback(ip):
        raise AppError(f"--no-token with --ip {ip}: anyone who can reach that address could save rounds; "
                       "keep a token, or bind to 127.0.0.1")
    folder = data_folder(data_dir)
    params = ReportParams.parse(icb_code=icb or geography.icb_codes()[0], data_dir=folder)   # clear message if wrong
    token = "" if no_token else (token or secrets.token_urlsafe(24))
    env = {DATA_ENV: str(params.data_dir or ""), ICB_ENV: params.icb_code, IDLE_ENV: f"{idle_minutes:g}"}
    host = f"[{ip}]" if ":" in ip else ip
    url = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    return voila_argv(port, token, ip, idle_minutes, max_kernels), env, url


def serve(port: int = DEFAULT_PORT, token: str | None = None, no_token: bool = False, data_dir: str = "",
          icb: str = "", ip: str = "127.0.0.1", idle_minutes: float = DEFAULT_IDLE_MINUTES,
          max_kernels: int = DEFAULT_MAX_KERNELS) -> int:
    """Run the app until Ctrl-C; 0 when stopped cleanly."""
    argv, env, url = settings(port, token, no_token, data_dir, icb, ip, idle_minutes, max_kernels)
    os.environ.update(env)                   # the page's kernel inherits them
    os.environ.pop("IWT_BATCH", None)        # the form is interactive by definition here
    from voila.app import Voila

    print(f"Readiness app: {url}", flush=True)
    print("Give partners this address (with its token); press Ctrl-C to stop.", flush=True)
    Voila.launch_instance(argv=argv)
    return 0
