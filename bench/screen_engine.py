"""Benchmark: high-cost screening of already-settled claims, against DuckDB SQL.

    python -m bench.screen_engine [--claims 5000000] [--people 500000] [--pack shanxi-linxian-2023]

Generates claims and identities (bench.data), settles them with `settle_batch` outside the timing,
then times `screen(...)` on one date and the same screening written as DuckDB SQL (a GROUP BY
person over the same settled frame, the identities active on the date joined for the rules'
populations, the levels as a CASE) in the same process. Prints both times, the ratio, and
whether both flag the same people at the same levels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

from bench.data import make
from fangpin.engine.screen import level_bounds, screen
from fangpin.engine.settle import settle_batch
from fangpin.engine.workdays import deadline
from fangpin.policy.groups import groups_mask
from fangpin.policy.registry import Pack, load_pack
from fangpin.policy.schema import WarningRule
from fangpin.tabular.claims import validate_claims, validate_identities

KINDS = {11: 0, 14: 1, 21: 2}


def _population_sql(rule: WarningRule) -> str:
    if rule.population == "all":
        return "TRUE"
    if rule.population == "any_identity":
        return "mask <> 0"
    wanted = groups_mask(rule.groups)
    return f"mask & {wanted} {'<>' if rule.population == 'in' else '='} 0"


def duckdb_sql(pack: Pack, date: dt.date) -> str:
    """The pack's warning rules on `date` as one SQL statement over tables `claims` and `ids`."""
    warnings = pack.policy_at(date).warnings
    parts = []
    for rule in warnings.rules:
        measure = (
            "psn_part_amt"
            if rule.measure == "psn_part_amt"
            else "inscp_scp_amt - hifp_pay - hifmi_pay - maf_pay - oth_pay"
        )
        kinds = ", ".join(str(KINDS[m]) for m in rule.med_types)
        bounds = level_bounds(pack.id, warnings, rule, date)
        case = " ".join(
            f"WHEN amount > {b} THEN '{lv.name}'"
            for b, lv in reversed(list(zip(bounds, rule.levels, strict=True)))
        )
        dl = " ".join(
            f"WHEN '{lv.name}' THEN DATE '{deadline(date, lv).isoformat()}'" for lv in rule.levels
        )
        parts.append(f"""
        SELECT psn_no, '{rule.id}' AS rule, lvl AS level, amount, CASE lvl {dl} END AS deadline FROM (
            SELECT s.psn_no, s.amount, CASE {case} END AS lvl, coalesce(m.mask, 0) AS mask
            FROM (SELECT psn_no, sum(CASE WHEN kind IN ({kinds}) THEN {measure} ELSE 0 END)::BIGINT AS amount
                  FROM claims WHERE setl_date BETWEEN DATE '{date.year}-01-01' AND DATE '{date.isoformat()}'
                  GROUP BY psn_no) s
            LEFT JOIN masks m USING (psn_no)
        ) WHERE lvl IS NOT NULL AND {_population_sql(rule)}""")
    masks = f"""masks AS (SELECT psn_no, bit_or(group_bit) AS mask FROM ids
                WHERE begndate <= DATE '{date.isoformat()}' AND (enddate IS NULL OR enddate >= DATE '{date.isoformat()}')
                GROUP BY psn_no)"""
    return f"WITH {masks} " + " UNION ALL ".join(parts)


def best_of(fn, runs: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), times, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=5_000_000)
    ap.add_argument("--people", type=int, default=500_000)
    ap.add_argument("--pack", default="shanxi-linxian-2023")
    ap.add_argument(
        "--date", default=None, help="screening date (default: 31 October of the pack's year)"
    )
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import duckdb

    pack = load_pack(args.pack)
    year = pack.effective_from.year
    date = dt.date.fromisoformat(args.date) if args.date else dt.date(year, 10, 31)
    t = time.perf_counter()
    raw_claims, raw_ids = make(args.claims, args.people, year=year)
    claims, ids = validate_claims(raw_claims).good, validate_identities(raw_ids).good
    settled = settle_batch(pack, claims, ids).claims
    print(
        f"data: {settled.height:,} settled claims, {args.people:,} people, {ids.height:,} identity rows, "
        f"{pack.id}, screening on {date} ({time.perf_counter() - t:.1f} s to generate, validate and settle)"
    )
    screen(pack, settled.head(1000), ids, date)  # first call builds the holiday table
    ours_best, ours_all, result = best_of(lambda: screen(pack, settled, ids, date), args.runs)
    con = duckdb.connect()
    # Hand DuckDB Arrow tables built outside the timing, so both sides start from memory.
    con.register(
        "claims",
        settled.select(
            "psn_no",
            "setl_date",
            "kind",
            "psn_part_amt",
            "inscp_scp_amt",
            "hifp_pay",
            "hifmi_pay",
            "maf_pay",
            "oth_pay",
        ).to_arrow(),
    )
    con.register("ids", ids.select("psn_no", "group_bit", "begndate", "enddate").to_arrow())
    sql = duckdb_sql(pack, date)
    duck_best, duck_all, theirs = best_of(lambda: con.sql(sql).pl(), args.runs)
    print(
        f"fangpin screen: {ours_best:.3f} s best of {args.runs} ({', '.join(f'{x:.3f}' for x in ours_all)}), "
        f"{settled.height / ours_best / 1e6:.1f} M claims/s"
    )
    print(
        f"duckdb SQL:     {duck_best:.3f} s best of {args.runs} ({', '.join(f'{x:.3f}' for x in duck_all)})"
    )
    print(f"ratio:          fangpin is {duck_best / ours_best:.2f}x the speed of DuckDB")
    key = ["rule", "psn_no"]
    a = result.sort(key)
    b = theirs.select(a.columns).cast(a.schema).sort(key)
    flagged = a.group_by("rule", "level").len().sort("rule", "level")
    print("flagged: " + ", ".join(f"{r}/{lv} {n:,}" for r, lv, n in flagged.iter_rows()))
    print(
        f"agreement: {'identical' if a.equals(b) else 'DIFFERENT'} ({a.height:,} rows vs {b.height:,})"
    )
    # Timings on a shared machine mean little without its load.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}")


if __name__ == "__main__":
    main()
