"""`fangpin serve [--host 127.0.0.1] [--port 8000]`: bring the database up to date, then run
the web application with Django's own server (static files included)."""

from __future__ import annotations

import argparse
import sys

from fangpin.people.bootstrap import setup_django


def register(sub) -> None:
    p = sub.add_parser(
        "serve", help="run the web application (migrates the database first if needed)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for the whole intranet)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--no-migrate", action="store_true", help="do not apply pending migrations")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from fangpin.cli import UsageError

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: not a port number")
    if setup_django(migrate=not args.no_migrate):
        print("数据库结构已更新。", flush=True)
    from django.conf import settings
    from django.core.management import call_command

    if (
        args.host not in ("127.0.0.1", "localhost", "0.0.0.0", "::")
        and args.host not in settings.ALLOWED_HOSTS
    ):
        print(
            f"注意：{args.host} 不在 FANGPIN_ALLOWED_HOSTS 中，按该地址访问会被拒绝。",
            file=sys.stderr,
        )
    print(
        f"fangpin 已启动：http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/  （Ctrl+C 停止）",
        flush=True,
    )
    # No autoreloader: it forks a second process that re-runs the command, which a bureau's
    # service manager would not expect. Static files come from the site's own URL route.
    address = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    call_command("runserver", address, use_reloader=False, skip_checks=False)
    return 0
