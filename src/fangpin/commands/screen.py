"""`fangpin screen`: settle a file of claims, then screen for high-cost warnings on a date."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import polars as pl

from fangpin.cli import EXIT_OK, EXIT_REJECTS, UsageError
from fangpin.policy.registry import load_pack
from fangpin.policy.source import PackError
from fangpin.tabular.claims import read_claims, read_identities
from fangpin.tabular.io import TableError, rejects_path, table_format, write_table
from fangpin.tabular.output import money_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "screen",
        help="high-cost early warning: settle claims, then list who crosses a level on a date",
        description=(
            "Settles the claims with the region pack, sums each person's burden from 1 January to "
            "the screening date, and writes one row per person and warning rule that flags: "
            "psn_no, rule, level, amount (yuan), deadline."
        ),
    )
    p.add_argument("--policy", required=True, help="region pack id (see: fangpin policy list)")
    p.add_argument("--claims", required=True, type=Path, help="claims file (.csv or .parquet)")
    p.add_argument(
        "--identities", required=True, type=Path, help="identities file (.csv or .parquet)"
    )
    p.add_argument("--date", required=True, help="screening date, YYYY-MM-DD")
    p.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    p.set_defaults(handler=cmd_screen)


def _date(text: str) -> dt.date:
    # Parsed here rather than by argparse so a bad date is a usage error like any other (exit 2).
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--date: not a date (YYYY-MM-DD): {text!r}") from None


def cmd_screen(args: argparse.Namespace) -> int:
    from fangpin.engine.screen import ScreenError, counts, screen
    from fangpin.engine.settle import settle_batch
    from fangpin.engine.workdays import CalendarRangeError

    date = _date(args.date)
    try:
        table_format(args.out)
        pack = load_pack(args.policy)
        claims = read_claims(args.claims)
        identities = read_identities(args.identities)
    except (TableError, PackError) as exc:
        raise UsageError(str(exc)) from None
    settled = settle_batch(pack, claims.good, identities.good).claims
    try:
        flagged = screen(pack, settled, identities.good, date)
    except (ScreenError, CalendarRangeError) as exc:
        # Nothing is written: a screening without its bounds or deadlines would mislead.
        raise UsageError(str(exc)) from None
    write_table(money_for(flagged, args.out, frozenset({"amount"})), args.out)
    rejects = pl.concat([claims.rejects, identities.rejects])
    write_table(rejects, rejects_path(args.out))
    people = flagged["psn_no"].n_unique()
    print(
        f"screened {settled.height} claims on {date.isoformat()} with {pack.id} -> {args.out}: "
        f"{flagged.height} warnings for {people} people; rejected {claims.rejects.height} claim rows and "
        f"{identities.rejects.height} identity rows"
        + (f" (reasons in {rejects_path(args.out)})" if rejects.height else "")
    )
    for rule, levels in counts(flagged, pack, date):
        print(f"  {rule.id} ({rule.name}): " + ", ".join(f"{name} {n}" for name, n in levels))
    return EXIT_REJECTS if rejects.height else EXIT_OK
