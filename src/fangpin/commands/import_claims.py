"""`fangpin import-claims FILE`: record a month's claims file in the claims ledger."""

from __future__ import annotations

import argparse
from pathlib import Path

from fangpin.cli import EXIT_OK, EXIT_REJECTS, UsageError

SHOW_REJECTS = 10


def register(sub) -> None:
    p = sub.add_parser(
        "import-claims",
        help="import a claims file (.csv/.parquet); with hifp_pay..psn_part_amt columns they are recorded as paid elsewhere",
    )
    p.add_argument("file", type=Path, help="claims file with the settlement columns of RULES §3")
    p.add_argument(
        "--institution", help="code of the institution that sent the file (must be known)"
    )
    p.add_argument("--policy", help="region pack (default: FANGPIN_POLICY or baseline)")
    p.set_defaults(handler=cmd_import_claims)


def cmd_import_claims(args: argparse.Namespace) -> int:
    from fangpin.people.bootstrap import default_pack_id, setup_django
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError
    from fangpin.tabular.io import TableError

    if not args.file.exists():
        raise UsageError(f"no such file: {args.file}")
    try:
        pack = load_pack(args.policy or default_pack_id())
    except PackError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from fangpin.claims.batch import import_claims
    from fangpin.claims.models import Institution

    institution = None
    if args.institution:
        institution = Institution.objects.filter(code=args.institution).first()
        if institution is None:
            raise UsageError(
                f"unknown institution {args.institution!r} (add it with: fangpin manage claims_institution add)"
            )
    try:
        outcome = import_claims(args.file, pack, institution)
    except TableError as exc:
        raise UsageError(str(exc)) from None
    ci = outcome.claim_import
    if outcome.duplicate:
        print(
            f"{args.file.name}: the same file was imported on {ci.received_at:%Y-%m-%d %H:%M}; nothing changed"
        )
        return EXIT_OK
    paid = (
        "recorded as paid elsewhere" if ci.with_payments else "to settle with: fangpin settle-month"
    )
    print(
        f"{args.file.name}: {ci.rows_total} rows, {ci.rows_new} new claims ({paid}), "
        f"{ci.rows_known} already recorded, {ci.rows_rejected} rejected"
    )
    for r in ci.rejects.all()[:SHOW_REJECTS]:
        print(f"  row {r.row} {r.setl_id}: {r.reason}")
    if ci.rows_rejected > SHOW_REJECTS:
        print(f"  … {ci.rows_rejected - SHOW_REJECTS} more rejected rows")
    return EXIT_REJECTS if ci.rows_rejected else EXIT_OK
