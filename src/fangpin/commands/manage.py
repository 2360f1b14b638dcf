"""`fangpin manage ...`: Django's management commands (migrate, runserver, ...)."""

from __future__ import annotations

import argparse
import os


def register(sub) -> None:
    p = sub.add_parser("manage", help="run a Django management command (migrate, runserver, ...)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(handler=cmd_manage)


def cmd_manage(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangpin.site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangpin manage", *args.args])
    return 0
