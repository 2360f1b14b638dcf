"""`fangpin policy list` and `fangpin policy show PACK [--date D] [--json]`."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from fangpin.cli import UsageError
from fangpin.policy.registry import flatten, list_packs, load_pack
from fangpin.policy.source import PackError


def register(sub) -> None:
    p = sub.add_parser("policy", help="list region packs or show a pack's effective values")
    ps = p.add_subparsers(dest="policy_command", metavar="list|show")
    ps.required = True
    lp = ps.add_parser("list", help="list the region packs")
    lp.set_defaults(handler=cmd_list)
    sp = ps.add_parser("show", help="show a pack's values in force on a date")
    sp.add_argument("pack")
    sp.add_argument("--date", type=dt.date.fromisoformat, help="YYYY-MM-DD (default: today)")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(handler=cmd_show)


def cmd_list(args: argparse.Namespace) -> int:
    try:
        packs = list_packs()
    except PackError as exc:
        raise UsageError(str(exc)) from None
    width = max(len(p.id) for p in packs)
    for p in packs:
        seed = p.seed or "-"
        print(f"{p.id:<{width}}  {p.effective_from}  {p.name}  (seed {seed})")
    return 0


def _display(raw) -> str:
    if isinstance(raw, dict):
        return "{" + ", ".join(f"{k}: {_display(v)}" for k, v in raw.items()) + "}"
    if isinstance(raw, list):
        return "[" + ", ".join(_display(v) for v in raw) + "]"
    return str(raw)


def cmd_show(args: argparse.Namespace) -> int:
    try:
        pack = load_pack(args.pack)
    except PackError as exc:
        raise UsageError(str(exc)) from None
    date = args.date or dt.date.today()
    values = flatten(pack.tree_at(date))
    if args.json:
        doc = {
            "pack": pack.id,
            "name": pack.name,
            "region": pack.region,
            "date": date.isoformat(),
            "seed": pack.seed,
            "values": {
                key: {"value": v.raw, "source": v.source, "seed": v.seed} for key, v in values
            },
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0
    print(f"{pack.id}  {pack.name}  ({pack.region})")
    print(f"values in force on {date}; ● = stated by the seed document, ○ = assumed")
    width = max(len(k) for k, _ in values)
    for key, v in values:
        print(f"  {key:<{width}}  {_display(v.raw):<40}  {v.mark}")
    return 0
