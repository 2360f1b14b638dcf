"""`fangpin missed-benefits --year Y`: find benefits due or overpaid (应享未享 / 应退, RULES §7)."""

from __future__ import annotations

import argparse

from fangpin.cli import EXIT_OK, UsageError

SHOW = 20


def register(sub) -> None:
    p = sub.add_parser(
        "missed-benefits",
        help="re-settle the year's affected person-years with the identities as now known; "
        "due amounts above the notice threshold go to the townships",
    )
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--policy", help="region pack (default: FANGPIN_POLICY or baseline)")
    p.set_defaults(handler=cmd_missed_benefits)


def cmd_missed_benefits(args: argparse.Namespace) -> int:
    from fangpin.people.bootstrap import default_pack_id, setup_django
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError
    from fangpin.units import fen_to_yuan

    try:
        pack = load_pack(args.policy or default_pack_id())
    except PackError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from fangpin.claims.resettle import missed_benefits

    s = missed_benefits(pack, args.year)
    r = s.run
    print(
        f"{args.year} with {pack.id}: {r.person_years} person-years, {r.claims} claims re-settled; "
        f"{r.adjustments} adjustments; due {fen_to_yuan(r.due_total)} yuan, overpaid "
        f"{fen_to_yuan(r.overpaid_total)} yuan; {r.notices} new township notices"
    )
    for n in s.notices[:SHOW]:
        township = n.township.name if n.township_id else "(township unknown)"
        print(
            f"  notice {n.pk}: {n.person_key} {township} due {fen_to_yuan(n.amount)} yuan [{n.state}]"
        )
    for o in s.overpaid[:SHOW]:
        print(f"  overpaid for review: {o.person_key} {fen_to_yuan(o.amount)} yuan")
    return EXIT_OK
