"""``iwt app ...``: standalone web apps (wired into ``iwt_helpers.cli`` with :func:`add_parser`)."""

from __future__ import annotations

import argparse

from .server import DEFAULT_PORT


def _readiness(args: argparse.Namespace) -> int:
    from iwt_helpers.themes.params import ParameterError

    from .server import AppError, serve

    try:
        return serve(port=args.port, token=args.token, no_token=args.no_token, data_dir=args.data or "",
                     icb=args.icb or "", ip=args.ip)
    except (AppError, ParameterError) as err:
        print(f"iwt app readiness: {err}")
        return 2


def add_parser(subparsers) -> None:
    app = subparsers.add_parser("app", help="standalone web apps for partners (no notebook, no code shown)")
    asub = app.add_subparsers(dest="app", required=True)
    s = asub.add_parser("readiness", help="serve the readiness checklist form as a web page (Voila)")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    s.add_argument("--token", help="access token partners need in the address (default: a random one, printed)")
    s.add_argument("--no-token", action="store_true", help="no token (only with the default loopback address)")
    s.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    s.add_argument("--data", metavar="DIR", help="data folder whose readiness/ folder receives the rounds "
                   "(default: data/readiness)")
    s.add_argument("--icb", help="ICB the form opens on (ODS or E54 code; partners can change it)")
    s.set_defaults(func=_readiness)
