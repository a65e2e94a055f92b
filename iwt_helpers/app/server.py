"""Serve the readiness form as a standalone page with Voila (code stripped, tracebacks hidden).

Bound to 127.0.0.1 unless told otherwise; a token is required (generated when not given) unless
explicitly disabled, and cannot be disabled on an address other people can reach. Ctrl-C or SIGTERM
stop the server and its kernels (Voila's own handling)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from iwt_helpers.data import geography
from iwt_helpers.themes.params import ReportParams

from .readiness_app import DATA_ENV, ICB_ENV

NOTEBOOK = Path(__file__).with_name("readiness.ipynb")
DEFAULT_PORT = 8866


class AppError(ValueError):
    """Settings the app refuses, with what was expected."""


def loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


def voila_argv(port: int, token: str, ip: str) -> list[str]:
    return [str(NOTEBOOK), f"--port={port}", f"--Voila.ip={ip}", "--Voila.port_retries=0", "--no-browser",
            f"--Voila.token={token}", "--strip_sources=True", "--show_tracebacks=False",
            "--VoilaConfiguration.file_allowlist=[]"]


def settings(port: int = DEFAULT_PORT, token: str | None = None, no_token: bool = False, data_dir: str = "",
             icb: str = "", ip: str = "127.0.0.1") -> tuple[list[str], dict[str, str], str]:
    """Voila's arguments, the environment the page's kernel reads, and the URL to print."""
    if not 0 < port < 65536:
        raise AppError(f"--port {port}: expected a port number from 1 to 65535")
    if no_token and token:
        raise AppError("--token and --no-token together: choose one")
    if no_token and not loopback(ip):
        raise AppError(f"--no-token with --ip {ip}: anyone who can reach that address could save rounds; "
                       "keep a token, or bind to 127.0.0.1")
    params = ReportParams.parse(icb_code=icb or geography.icb_codes()[0], data_dir=data_dir)   # clear message if wrong
    token = "" if no_token else (token or secrets.token_urlsafe(24))
    env = {DATA_ENV: str(params.data_dir or ""), ICB_ENV: params.icb_code}
    host = f"[{ip}]" if ":" in ip else ip
    url = f"http://{host}:{port}/" + (f"?token={token}" if token else "")
    return voila_argv(port, token, ip), env, url


def serve(port: int = DEFAULT_PORT, token: str | None = None, no_token: bool = False, data_dir: str = "",
          icb: str = "", ip: str = "127.0.0.1") -> int:
    """Run the app until Ctrl-C; 0 when stopped cleanly."""
    argv, env, url = settings(port, token, no_token, data_dir, icb, ip)
    os.environ.update(env)                   # the page's kernel inherits them
    os.environ.pop("IWT_BATCH", None)        # the form is interactive by definition here
    from voila.app import Voila

    print(f"Readiness app: {url}", flush=True)
    print("Give partners this address (with its token); press Ctrl-C to stop.", flush=True)
    Voila.launch_instance(argv=argv)
    return 0
