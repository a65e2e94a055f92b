"""``iwt app ...``: standalone web apps (wired into ``iwt_helpers.cli`` with :func:`add_parser`)."""

from __future__ import annotations

import argparse
import sys

from .server import DEFAULT_IDLE_MINUTES, DEFAULT_MAX_KERNELS, DEFAULT_PORT


def _readiness(args: argparse.Namespace) -> int:
    from iwt_helpers.errors import IwtError

    from .server import serve

    try:
        return serve(port=args.port, token=args.token, no_token=args.no_token, data_dir=args.data or "",
                     icb=args.icb or "", ip=args.ip, idle_minutes=args.idle_minutes, max_kernels=args.max_kernels)
    except IwtError as err:       # settings the app refuses (AppError, ParameterError...): one line, exit 2
        print(f"iwt app readiness: error: {err}", file=sys.stderr)
        return 2


def add_parser(subparsers) -> None:
    app = subparsers.add_parser("app", help="standalone web apps for partners (no notebook, no code shown)")
    asub = app.add_subparsers(dest="app", required=True)
    s = asub.add_parser("readiness", help="serve the readiness checklist form as a web page (Voila)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    s.add_argument("--token", help="access token partners need in the address (default: a random one, printed)")
    s.add_argument("--no-token", action="store_true", help="no token (only with the default loopback address)")
    s.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    s.add_argument("--data", metavar="DIR", help="data folder made by iwt (the project's data/ or an `iwt data "
                   "build` output) whose readiness/ folder receives the rounds (default: data/readiness)")
    s.add_argument("--icb", help="ICB the form opens on (ODS or E54 code; partners can change it)")
    s.add_argument("--idle-minutes", type=float, default=DEFAULT_IDLE_MINUTES, metavar="MIN",
                   help=f"stop a page's kernel when the page is closed or unused this long (default {DEFAULT_IDLE_MINUTES:g})")
    s.add_argument("--max-kernels", type=int, default=DEFAULT_MAX_KERNELS, metavar="N",
                   help=f"most pages open at once (about 220 MB each); beyond it partners are asked to try again "
                   f"later (default {DEFAULT_MAX_KERNELS})")
    s.set_defaults(func=_readiness)
