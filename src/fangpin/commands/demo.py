"""`fangpin demo [--people N] [--no-serve] [--year Y] [--policy PACK] [--port P]`.

Builds a synthetic county on the database FANGPIN_DATABASE_URL names (default the SQLite file
under FANGPIN_HOME), takes it through a year of monthly work (fangpin.demo.cycle), prints the
accounts it made with their passwords and a summary, then serves the web application on
http://127.0.0.1:PORT unless --no-serve.

On a database that already holds a finished demo nothing is built again: the accounts (without
passwords, which are only shown when made) and the figures are printed and the site is served.
A demo that was interrupted is resumed where it stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from fangpin.cli import EXIT_OK, UsageError

DEFAULT_PACK = "ningxia-wuzhong-2025"
# `fangpin demo --no-serve --people 10000` took 43 s on a shared 2-core machine; 20 000 took
# 66-92 s there (bench.demo), over the minute the demo is meant to take.
DEFAULT_PEOPLE = 10_000
DEFAULT_YEAR = 2025


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="build a synthetic county's year on the database, print accounts, serve the site",
    )
    p.add_argument(
        "--people",
        type=int,
        default=DEFAULT_PEOPLE,
        help=f"residents of the county (default {DEFAULT_PEOPLE})",
    )
    p.add_argument("--year", type=int, default=DEFAULT_YEAR, help=f"year (default {DEFAULT_YEAR})")
    p.add_argument("--policy", help=f"region pack (default: FANGPIN_POLICY, else {DEFAULT_PACK})")
    p.add_argument("--seed", type=int, default=1, help="random seed of the county (default 1)")
    p.add_argument("--county", help="built-in county (default: the one the pack's region names)")
    p.add_argument("--port", type=int, default=8000, help="port to serve on (default 8000)")
    p.add_argument("--no-serve", action="store_true", help="only build; do not start the site")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from fangpin.commands.synth import choose_county

    if args.people < 10:
        raise UsageError("--people must be at least 10")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: not a port number")
    pack_id = args.policy or os.environ.get("FANGPIN_POLICY", "").strip() or DEFAULT_PACK
    county, note = choose_county(pack_id, args.year, args.county)
    import datetime as dt

    if dt.date(args.year, 1, 31) >= dt.date.today():
        raise UsageError(f"--year {args.year}: the demo needs at least one finished month")
    if note:
        print(f"注意：{note}", file=sys.stderr)
    # The site served afterwards works with the same pack.
    os.environ["FANGPIN_POLICY"] = pack_id
    from fangpin.people.bootstrap import setup_django

    started = time.perf_counter()
    setup_django()
    from django.conf import settings
    from django.db import connection

    from fangpin.demo.cycle import build_demo

    where = connection.settings_dict["NAME"]
    print(f"数据库：{connection.vendor} {where}", file=sys.stderr, flush=True)
    result = build_demo(
        people=args.people,
        year=args.year,
        pack_id=pack_id,
        work_dir=settings.HOME / "demo",
        seed=args.seed,
        county=county,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    seconds = time.perf_counter() - started
    _print(result, seconds)
    if args.no_serve:
        return EXIT_OK
    from fangpin.commands.serve import cmd_serve

    return cmd_serve(argparse.Namespace(host="127.0.0.1", port=args.port, no_migrate=True))


def _print(result, seconds: float) -> None:
    if result.reused:
        print(
            f"数据库中已有演示数据（{result.year} 年），未重复生成；"
            "账户密码只在首次生成时显示，遗失可用 fangpin manage changepassword 用户名 重设。"
        )
    else:
        print(
            f"演示数据已生成：{result.county} {result.year} 年 {result.months} 个月，政策包 "
            f"{result.pack_id}，用时 {seconds:.1f} 秒。"
        )
    for line in result.refused:
        print(f"  未导入的名单：{line}")
    print("账户（用户名 / 角色 / 范围 / 初始密码）：")
    for a in result.accounts:
        print(f"  {a.username:<10} {a.role:<6} {a.where:<8} {a.password or '（已存在）'}")
    print("概况：")
    for line in result.summary.lines():
        print(f"  {line}")
