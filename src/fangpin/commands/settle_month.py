"""`fangpin settle-month --year Y --month M`: settle the month's unsettled claims (safe to re-run)."""

from __future__ import annotations

import argparse

from fangpin.cli import EXIT_OK, UsageError


def register(sub) -> None:
    p = sub.add_parser(
        "settle-month", help="settle a month's imported claims through the three tiers"
    )
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--month", type=int, required=True, choices=range(1, 13), metavar="M")
    p.add_argument("--policy", help="region pack (default: FANGPIN_POLICY or baseline)")
    p.set_defaults(handler=cmd_settle_month)


def cmd_settle_month(args: argparse.Namespace) -> int:
    from fangpin.people.bootstrap import default_pack_id, setup_django
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError
    from fangpin.units import fen_to_yuan

    try:
        pack = load_pack(args.policy or default_pack_id())
    except PackError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from fangpin.claims.batch import settle_month

    s = settle_month(pack, args.year, args.month)
    print(
        f"{args.year}-{args.month:02d} with {pack.id}: settled {s.claims} claims of {s.person_years} "
        f"person-years, fund {fen_to_yuan(s.fund)} yuan"
    )
    if s.earlier_unsettled:
        print(
            f"warning: {s.earlier_unsettled} claims of earlier months of {args.year} are still unsettled; "
            "settle those months too (their accumulators were not carried into this one)"
        )
    return EXIT_OK
