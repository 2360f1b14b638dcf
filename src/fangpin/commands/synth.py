"""`fangpin synth --people N --year Y --policy PACK --out DIR [--seed S] [--county NAME]`.

Writes a synthetic county (fangpin.synth.generate): areas, people, identities, enrollment,
births, claims and the departments' monthly lists, with a manifest. No database. The same
arguments give byte-identical files.

The region pack chooses the county: the first built-in county its region names (the Wuzhong
pack names 同心县 and 盐池县, so 同心县). A pack whose region has no built-in county gets 同心县's
townships as the geography, and says so; the pack's rules apply when the files are settled,
screened or loaded (`fangpin demo`), not when they are written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fangpin.cli import EXIT_OK, UsageError

DEFAULT_COUNTY = "同心县"


def register(sub) -> None:
    p = sub.add_parser(
        "synth", help="write a synthetic county (people, identities, enrollment, claims, lists)"
    )
    p.add_argument("--people", type=int, required=True, help="number of residents (at least 10)")
    p.add_argument("--year", type=int, required=True, help="the year the files describe")
    p.add_argument(
        "--policy", required=True, help="region pack id; chooses the county (see module help)"
    )
    p.add_argument("--out", type=Path, required=True, help="directory to write (created if needed)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--county", help="a built-in county (同心县, 盐池县); default: from the pack")
    p.set_defaults(handler=cmd_synth)


def choose_county(pack_id: str, year: int, county: str | None) -> tuple[str, str]:
    """(county, note) for a pack and year; UsageError for an unknown pack or county, or a year
    before the pack is in force. `note` says why the county was chosen when that is not obvious."""
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError
    from fangpin.synth.areas import COUNTIES, county_in_region

    try:
        pack = load_pack(pack_id)
    except PackError as exc:
        raise UsageError(str(exc)) from None
    if year < pack.effective_from.year:
        raise UsageError(
            f"--year {year}: pack {pack.id} is in force from {pack.effective_from.isoformat()}"
        )
    if county is not None:
        if county not in COUNTIES:
            raise UsageError(f"--county {county}: known counties are {'、'.join(COUNTIES)}")
        return county, ""
    found = county_in_region(pack.region)
    if found is not None:
        return found, ""
    return DEFAULT_COUNTY, (
        f"pack {pack.id} ({pack.region}) has no built-in county; using {DEFAULT_COUNTY}'s "
        "townships as the geography"
    )


def cmd_synth(args: argparse.Namespace) -> int:
    if args.people < 10:
        raise UsageError("--people must be at least 10")
    if not 1900 < args.year < 2100:
        raise UsageError(f"--year {args.year}: not a plausible year")
    county, note = choose_county(args.policy, args.year, args.county)
    if note:
        print(f"note: {note}", file=sys.stderr)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: not a directory")
    from fangpin.synth import generate

    started = time.perf_counter()
    result = generate(args.out, people=args.people, year=args.year, seed=args.seed, county=county)
    seconds = time.perf_counter() - started
    c = result["counts"]
    print(
        f"{county} ({result['county_code']}) {args.year}, seed {args.seed}: {c['people']} people in "
        f"{c['households']} households, {c['special_persons']} special persons, {c['identities']} "
        f"identities, {c['enrollment']} enrollment records, {c['births']} births, {c['claims']} "
        f"claims, {c['dept_files']} department lists ({c['dept_rows']} rows, {c['dirty_rows']} "
        f"deliberately dirty) in {seconds:.1f} s"
    )
    for name, path in result["files"].items():
        if not name.startswith("dept/") or name == "dept/_dirty.csv":
            print(f"  {path}")
    print(f"  {Path(result['out_dir']) / 'dept'}/  ({c['dept_files']} .xlsx and _dirty.csv)")
    return EXIT_OK
