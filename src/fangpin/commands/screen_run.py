"""`fangpin screen-run`: the monthly high-cost screening on the database (RULES §4).

Loads the year's settled claims up to the date from the claims ledger and the identities from
the people ledger, screens them with the region pack, opens and escalates warning cases, and
prints what it did. Safe to re-run: a second run on the same data opens and changes nothing.
With --lists DIR it also writes the run's lists for 民政 and 乡村振兴 (xlsx).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fangpin.cli import EXIT_OK, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "screen-run",
        help="high-cost early warning on the database: open and escalate cases (monthly)",
        description=(
            "Screens the settled claims of the year up to --date, opens a warning case for each "
            "newly flagged person and rule, escalates open cases that reached a higher level, and "
            "records the run with its counts. Re-running changes nothing."
        ),
    )
    p.add_argument("--date", required=True, help="screening date, YYYY-MM-DD")
    p.add_argument(
        "--policy", help="region pack id (default: FANGPIN_POLICY, else the shared baseline)"
    )
    p.add_argument(
        "--lists",
        type=Path,
        metavar="DIR",
        help="also write the run's lists for 民政 and 乡村振兴 here",
    )
    p.set_defaults(handler=cmd_screen_run)


def cmd_screen_run(args: argparse.Namespace) -> int:
    try:
        date = dt.date.fromisoformat(args.date)
    except ValueError:
        raise UsageError(f"--date: not a date (YYYY-MM-DD): {args.date!r}") from None
    from fangpin.people.bootstrap import default_pack_id, setup_django
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    pack_id = args.policy or default_pack_id()
    try:
        load_pack(pack_id)
    except PackError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from fangpin.engine.screen import ScreenError
    from fangpin.engine.workdays import CalendarRangeError
    from fangpin.warnings import lists, services
    from fangpin.warnings.sources import ClaimsUnavailable

    try:
        outcome = services.run_screening(date, pack_id)
    except (ClaimsUnavailable, ScreenError, CalendarRangeError) as exc:
        # Nothing was written: a run without claims, bounds or deadlines would mislead.
        raise UsageError(str(exc)) from None
    for line in outcome.lines():
        print(line)
    if args.lists is not None:
        for path in lists.write_lists(outcome.run, args.lists):
            print(f"名单：{path}")
    return EXIT_OK
