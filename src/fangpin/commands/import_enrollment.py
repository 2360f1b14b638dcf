"""`fangpin import-enrollment`: import a year's enrollment records (RULES §5)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fangpin.cli import EXIT_OK, EXIT_REJECTS, UsageError


def register(sub) -> None:
    p = sub.add_parser("import-enrollment", help="import enrollment records (csv/xlsx) for a year")
    p.add_argument(
        "file",
        type=Path,
        help="columns: psn_no or 身份证号, name, year, insutype, tier, paid_date, stop_reason",
    )
    p.add_argument("--year", type=int, required=True)
    p.add_argument(
        "--rejects",
        type=Path,
        help="write rejected rows here (.csv; default FILE.rejects.csv next to FILE)",
    )
    p.set_defaults(handler=cmd_import_enrollment)


def cmd_import_enrollment(args: argparse.Namespace) -> int:
    from fangpin.people.bootstrap import setup_django
    from fangpin.tabular.io import TableError, rejects_path, write_table

    if not args.file.exists():
        raise UsageError(f"no such file: {args.file}")
    setup_django()
    from fangpin.enrollment.services import import_enrollment

    try:
        result = import_enrollment(args.file, args.year)
    except TableError as exc:
        raise UsageError(str(exc)) from None
    print(result.message)
    if result.rejects.height:
        out = args.rejects or rejects_path(args.file.with_suffix(".csv"))
        write_table(result.rejects, out)
        print(f"{result.rejects['row'].n_unique()} rejected rows, reasons in {out}")
        return EXIT_REJECTS
    return EXIT_OK
