"""`fangpin subsidy`: categorized enrollment subsidies (RULES §2).

With --identities it is file in, file out (no database): one row per person of the identities
file, columns psn_no, group, subsidy, personal_pay (yuan, 2 decimals); rejected identity rows go
to OUT.rejects.csv; exit 0 when every row was used, 1 when some were rejected, 2 on a usage error.
Without --identities it works on the database: the year's subsidies are stored on the resident
enrollment records and --out (.xlsx) is the list for the tax bureau.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fangpin.cli import EXIT_OK, EXIT_REJECTS, UsageError


def register(sub) -> None:
    p = sub.add_parser(
        "subsidy", help="categorized enrollment subsidy per person (file or database)"
    )
    p.add_argument("--policy", required=True, help="region pack id (see: fangpin policy list)")
    p.add_argument("--year", type=int, required=True)
    p.add_argument(
        "--identities",
        type=Path,
        help="identities file (.csv or .parquet): psn_no, psn_idet_type, begndate, enddate[, tier]",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output (.csv/.parquet with --identities; .xlsx tax list otherwise)",
    )
    p.add_argument(
        "--date", type=dt.date.fromisoformat, help="reference date (default 1 January of the year)"
    )
    p.set_defaults(handler=cmd_subsidy)


def cmd_subsidy(args: argparse.Namespace) -> int:
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    try:
        policy = load_pack(args.policy).policy_at(dt.date(args.year, 1, 1))
    except PackError as exc:
        raise UsageError(str(exc)) from None
    if args.identities is not None:
        return _from_file(args, policy)
    return _from_database(args, policy)


def _from_file(args: argparse.Namespace, policy) -> int:
    import polars as pl

    from fangpin.engine.subsidy import OUTPUT, SubsidyError, subsidies
    from fangpin.tabular.claims import validate_identities
    from fangpin.tabular.io import (
        TableError,
        first_data_row,
        read_table,
        rejects_path,
        table_format,
        write_table,
    )
    from fangpin.tabular.output import money_for

    try:
        table_format(args.out)
        raw = read_table(args.identities)
        ids = validate_identities(raw, str(args.identities), first_data_row(args.identities))
    except TableError as exc:
        raise UsageError(str(exc)) from None
    tiers = None
    if "tier" in raw.columns:
        tiers = raw.select(
            pl.col("psn_no").cast(pl.String).str.strip_chars(), pl.col("tier").cast(pl.String)
        )
    # One row per person of the file, even one whose every row was rejected (no group, no subsidy).
    people = raw.select(pl.col("psn_no").cast(pl.String).str.strip_chars()).filter(
        pl.col("psn_no") != ""
    )["psn_no"]
    try:
        out = subsidies(
            policy, ids.good, args.year, tiers=tiers, reference_date=args.date, people=people
        )
    except SubsidyError as exc:
        raise UsageError(str(exc)) from None
    write_table(money_for(out.select(OUTPUT), args.out), args.out)
    write_table(ids.rejects, rejects_path(args.out))
    subsidised = out.filter(pl.col("subsidy") > 0)
    print(
        f"subsidies {args.year} with {policy.pack_id}: {out.height} people, {subsidised.height} subsidised, "
        f"{_yuan(int(out['subsidy'].sum()))} yuan in all -> {args.out}; rejected {ids.rejects.height} identity rows"
        + (f" (reasons in {rejects_path(args.out)})" if ids.rejects.height else "")
    )
    return EXIT_REJECTS if ids.rejects.height else EXIT_OK


def _from_database(args: argparse.Namespace, policy) -> int:
    if args.out.suffix.lower() != ".xlsx":
        raise UsageError("without --identities, --out is the tax bureau's list and must be .xlsx")
    from fangpin.people.bootstrap import setup_django

    setup_django()
    from fangpin.engine.subsidy import SubsidyError
    from fangpin.enrollment.subsidies import compute_subsidies, write_tax_list

    try:
        result = compute_subsidies(args.year, policy)
    except SubsidyError as exc:
        raise UsageError(str(exc)) from None
    n = write_tax_list(args.year, args.out, policy)
    print(
        f"subsidies {args.year} with {policy.pack_id}: {result.persons} resident enrollees, "
        f"{result.subsidised} subsidised, {_yuan(result.total)} yuan in all; {result.changed} records updated; "
        f"tax bureau list ({n} rows) -> {args.out}"
    )
    return EXIT_OK


def _yuan(fen: int) -> str:
    from fangpin.units import fen_to_yuan

    return fen_to_yuan(fen)
