"""`fangpin import-list`: import a department's monthly list into the people ledger (RULES §6)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fangpin.cli import EXIT_OK, EXIT_REJECTS, UsageError

SHOW_REJECTS = 10


def register(sub) -> None:
    p = sub.add_parser(
        "import-list", help="import a department's list (xlsx/csv) into the people ledger"
    )
    p.add_argument(
        "file", type=Path, help="the list as the department sent it (.xlsx, .xls or .csv)"
    )
    p.add_argument(
        "--dept", required=True, help="pushing department: 民政, 乡村振兴, 残联, 卫健, 退役军人事务"
    )
    p.add_argument(
        "--date", type=dt.date.fromisoformat, help="the list's date (YYYY-MM-DD; default today)"
    )
    p.add_argument(
        "--policy",
        help="region pack for the tagging deadline (default: FANGPIN_POLICY or baseline)",
    )
    p.add_argument(
        "--rejects", type=Path, help="write the rejected rows to this .xlsx for the department"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="import even if it ends most of the department's identities",
    )
    p.set_defaults(handler=cmd_import_list)


def cmd_import_list(args: argparse.Namespace) -> int:
    from fangpin.people.bootstrap import default_pack_id, setup_django
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError
    from fangpin.tabular.io import TableError

    if args.rejects is not None and args.rejects.suffix.lower() != ".xlsx":
        raise UsageError("--rejects must name an .xlsx file")
    if not args.file.exists():
        raise UsageError(f"no such file: {args.file}")
    try:
        policy = load_pack(args.policy or default_pack_id()).policy_at(args.date or dt.date.today())
    except PackError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from fangpin.people.rejects import write_rejects_xlsx
    from fangpin.people.services import ImportRefused, import_list

    try:
        result = import_list(
            args.dept,
            args.file,
            args.date,
            tagging_working_days=policy.exchange.tagging_working_days,
            force=args.force,
        )
    except (ImportRefused, TableError) as exc:
        raise UsageError(str(exc)) from None
    upload = result.upload
    print(result.message)
    rejects = upload.rejects.filter(level="reject").order_by("row", "id")
    for r in rejects[:SHOW_REJECTS]:
        print(f"  row {r.row} {r.column} {r.value!r}: {r.reason}")
    if upload.rows_rejected > SHOW_REJECTS:
        print(f"  … {upload.rows_rejected - SHOW_REJECTS} more rejected rows")
    if args.rejects is not None:
        n = write_rejects_xlsx(upload, args.rejects)
        print(f"{n} problem rows -> {args.rejects}")
    return EXIT_REJECTS if upload.rows_rejected else EXIT_OK
