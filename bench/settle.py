"""Benchmark: batch settlement of N claims, Parquet in and out, against DuckDB SQL.

    python -m bench.settle [--claims 10000000] [--people 1000000]

Prints fangpin's end-to-end wall time (read, validate, settle, write), the kernel's claims/s,
peak memory, then the same baseline rules formulated in DuckDB SQL (window sums over the
person-year) on the same files in the same process, the ratio, and whether both agree. Each
contender's CPU seconds are printed too: on a machine shared with other work the wall times
swing widely, the CPU seconds much less.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import resource
import tempfile
import time
from pathlib import Path

import fangpin  # noqa: F401 -- before Polars loads: it sets up Polars' allocator (see there)

# isort: split
import numpy as np
import polars as pl

from bench.data import write
from fangpin.engine.settle import settle_batch
from fangpin.engine.warm import compiled_versions
from fangpin.policy.groups import GROUP_BIT, IDENTITIES
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import read_inputs
from fangpin.tabular.output import write_settled

PACK = "anhui-huaibei-2022"  # the shared baseline with the seed's tilt and assistance


def cpu_seconds() -> float:
    """User and system CPU time of this process so far (all threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_fangpin(claims_path: Path, ids_path: Path, out: Path) -> dict:
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    claims, ids = read_inputs(claims_path, ids_path)
    stages["read+validate"] = time.perf_counter() - t0
    result = settle_batch(load_pack(PACK), claims.good, ids.good, timings=stages)
    t1 = time.perf_counter()
    write_settled(result.claims, out, claims.source)
    stages["write"] = time.perf_counter() - t1
    wall = time.perf_counter() - t0
    return {"wall": wall, "cpu": cpu_seconds() - c0, "stages": stages, "rows": result.claims.height}


def _f(x: str, ded: int, bands: list[tuple[int | None, int]]) -> str:
    """F(x) of a schedule as SQL: bands above the deductible, half-up rounding once."""
    terms, lo = [], 0
    for upto, ratio in bands:
        top = f"({x} - {ded})" if upto is None else f"least({x} - {ded}, {upto})"
        terms.append(f"greatest({top} - {lo}, 0) * {ratio}")
        lo = upto if upto is not None else lo
    return f"(({' + '.join(terms)} + 5000) // 10000)"


def duckdb_sql(claims_path: Path, ids_path: Path, out: Path) -> str:
    pol = load_pack(PACK).policy_at(dt.date(2022, 1, 1))
    b, crit, tilt, asst = pol.basic, pol.critical.schedule, pol.critical.tilt, pol.assistance
    bits = " ".join(f"WHEN '{name}' THEN {GROUP_BIT[g]}" for name, (g, _) in IDENTITIES.items())
    lv_d = " ".join(f"WHEN {lv} THEN {b.inpatient_deductible[lv]}" for lv in (1, 2, 3, 4))
    lv_r = " ".join(f"WHEN {lv} THEN {b.inpatient_ratio[lv]}" for lv in (1, 2, 3, 4))
    tilt_mask = sum(GROUP_BIT[g] for g in tilt.groups)
    cb = [(x.upto, x.ratio) for x in crit.bands]
    tb = [(x.upto, x.ratio) for x in tilt.schedule.bands]
    f2 = lambda x: f"CASE WHEN mask & {tilt_mask} <> 0 THEN {_f(x, tilt.schedule.deductible, tb)} ELSE least({_f(x, crit.deductible, cb)}, {crit.cap}) END"  # noqa: E731
    a_case = lambda field: "CASE " + " ".join(  # noqa: E731
        f"WHEN mask & {GROUP_BIT[g]} <> 0 THEN {getattr(asst.schedules[g], field) if field != 'ratio' else asst.schedules[g].bands[0].ratio}"
        for g in asst.order
    ) + " ELSE NULL END"
    f3 = lambda x: f"least(((greatest({x} - a_ded, 0) * a_ratio + 5000) // 10000), a_cap)"  # noqa: E731
    w = "PARTITION BY psn_no, yr, kind = 11 ORDER BY setl_date, setl_id ROWS UNBOUNDED PRECEDING"
    return f"""
    COPY (
    WITH ids AS (
        SELECT psn_no, begndate, enddate, CASE psn_idet_type {bits} END AS bit FROM read_parquet('{ids_path}')
    ),
    c AS (
        SELECT setl_id, psn_no, setl_date, year(setl_date) AS yr,
               CASE WHEN med_type IN (23, 24, 52) THEN 21 ELSE med_type END AS kind, hosp_lv,
               CAST(medfee_sumamt * 100 AS BIGINT) AS medfee,
               CAST((medfee_sumamt - fulamt_ownpay_amt - overlmt_selfpay - preselfpay_amt) * 100 AS BIGINT) AS inscp
        FROM read_parquet('{claims_path}')
    ),
    m AS (
        SELECT c.setl_id, bit_or(ids.bit) AS mask FROM c JOIN ids ON c.psn_no = ids.psn_no
         AND ids.begndate <= c.setl_date AND (ids.enddate IS NULL OR c.setl_date <= ids.enddate)
        GROUP BY c.setl_id
    ),
    t1 AS (
        SELECT c.*, coalesce(m.mask, 0) AS mask,
               CASE kind WHEN 11 THEN (inscp * {b.outpatient_ratio} + 5000) // 10000
                         WHEN 14 THEN (greatest(inscp - {b.chronic_deductible}, 0) * {b.chronic_ratio} + 5000) // 10000
                         ELSE (greatest(inscp - CASE hosp_lv {lv_d} END, 0) * CASE hosp_lv {lv_r} END + 5000) // 10000 END AS raw
        FROM c LEFT JOIN m USING (setl_id)
    ),
    t1c AS (
        SELECT *, sum(raw) OVER ({w}) AS cumraw,
               CASE WHEN kind = 11 THEN {b.outpatient_cap} ELSE {b.annual_cap} END AS cap1 FROM t1
    ),
    t2 AS (
        SELECT *, least(cumraw, cap1) - least(cumraw - raw, cap1) AS hifp FROM t1c
    ),
    t2c AS (
        SELECT *, CASE WHEN kind = 11 THEN 0 ELSE inscp - hifp END AS b2 FROM t2
    ),
    t2d AS (SELECT *, sum(b2) OVER ({w}) AS cum2 FROM t2c),
    t3 AS (
        SELECT *, CASE WHEN kind = 11 THEN 0 ELSE {f2('cum2')} - {f2('(cum2 - b2)')} END AS hifmi,
               {a_case('deductible')} AS a_ded, {a_case('ratio')} AS a_ratio, {a_case('cap')} AS a_cap
        FROM t2d
    ),
    t3c AS (SELECT *, b2 - hifmi AS b3 FROM t3),
    t3d AS (SELECT *, sum(b3) OVER ({w}) AS cum3 FROM t3c),
    t4 AS (
        SELECT *, CASE WHEN kind = 11 OR a_ded IS NULL THEN 0 ELSE {f3('cum3')} - {f3('(cum3 - b3)')} END AS maf FROM t3d
    )
    SELECT setl_id, psn_no,
           CAST(hifp AS DECIMAL(18, 2)) / 100 AS hifp_pay, CAST(hifmi AS DECIMAL(18, 2)) / 100 AS hifmi_pay,
           CAST(maf AS DECIMAL(18, 2)) / 100 AS maf_pay,
           CAST(hifp + hifmi + maf AS DECIMAL(18, 2)) / 100 AS fund_pay_sumamt,
           CAST(medfee - hifp - hifmi - maf AS DECIMAL(18, 2)) / 100 AS psn_part_amt
    FROM t4
    ) TO '{out}' (FORMAT parquet)
    """


def run_duckdb(claims_path: Path, ids_path: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the DuckDB statement."""
    import duckdb

    con = duckdb.connect()
    sql = duckdb_sql(claims_path, ids_path, out)
    c0 = cpu_seconds()
    t0 = time.perf_counter()
    con.execute(sql)
    return time.perf_counter() - t0, cpu_seconds() - c0


def compare(ours: Path, theirs: Path) -> tuple[int, int]:
    a = pl.read_parquet(ours).select("setl_id", "hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt")
    b = pl.read_parquet(theirs).select("setl_id", "hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt")
    j = a.join(b, on="setl_id", suffix="_d")
    same = pl.all_horizontal(
        pl.col(c).cast(pl.Float64) == pl.col(f"{c}_d").cast(pl.Float64)
        for c in ("hifp_pay", "hifmi_pay", "maf_pay", "psn_part_amt")
    )
    return j.filter(same).height, j.height


def warm_memory(gib: int) -> None:
    """Touch memory so the contender about to run does not pay the machine's first-touch cost.

    On this virtual machine the first write to a page is far slower than later ones, and memory
    freed for a few seconds goes back to the host and is slow again: whichever tool ran after
    the other's freed memory had cooled would pay for it. So each run, of either contender,
    starts right after the same touch.
    """
    block = np.ones((gib, 1 << 27), dtype=np.int64)  # gib × 1 GiB
    del block


def peak_reset() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak resident size (VmHWM)


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=10_000_000)
    ap.add_argument("--people", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2, help="runs of each contender; the best counts")
    ap.add_argument("--warm-gib", type=int, default=8)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="fangpin-bench-"))
    t = time.perf_counter()
    cp, ip = write(work, args.claims, args.people)
    print(f"data: {args.claims:,} claims, {args.people:,} people, 30% with identities ({time.perf_counter() - t:.1f} s to prepare)")
    # A small run first, through the same paths (the copied columns need row groups of 16 Ki
    # rows or more): numba's compiling (also cached on disk) and Python's first imports are not
    # part of the measurement.
    warm = work / "warm"
    (warm / "o.parquet").unlink(missing_ok=True)
    run_fangpin(*write(warm, 50_000, 5_000), warm / "o.parquet")
    compiled_before = compiled_versions()
    ours, duck = [], []
    print(f"load average before the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(args.rounds):
        # Each contender writes a new file: replacing one is another cost (the file system
        # first writes out the data of a file renamed over or truncated).
        for old in ("fangpin.parquet", "duckdb.parquet"):
            (work / old).unlink(missing_ok=True)
        warm_memory(args.warm_gib)
        peak_reset()
        r = run_fangpin(cp, ip, work / "fangpin.parquet")
        r["peak"] = peak_mib()
        ours.append(r)
        warm_memory(args.warm_gib)
        duck.append(run_duckdb(cp, ip, work / "duckdb.parquet"))
    best = min(ours, key=lambda r: r["wall"])
    kernel = best["stages"]["kernel"]
    walls = ", ".join(f"{r['wall']:.2f}" for r in ours)
    print(f"fangpin: {best['wall']:.2f} s end to end (best of {args.rounds}: {walls}), "
          f"{best['rows'] / best['wall'] / 1e6:.2f} M claims/s")
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in best["stages"].items()))
    print(f"  kernel: {kernel:.3f} s = {best['rows'] / kernel / 1e6:.1f} M claims/s")
    print(f"  peak memory (resident): {best['peak']:,.0f} MiB")
    cpus = ", ".join(f"{r['cpu']:.2f}" for r in ours)
    print(f"  CPU seconds (user + system, all threads): {cpus}")
    grown = compiled_versions() - compiled_before
    print("  numba: nothing compiled during the measured runs" if grown == 0 else
          f"  numba: {grown} functions compiled during the measured runs (their time is counted)")
    dwall = min(d for d, _ in duck)
    dwalls = ", ".join(f"{d:.2f}" for d, _ in duck)
    print(f"duckdb:  {dwall:.2f} s end to end (best of {args.rounds}: {dwalls}; same files, same process, {duckdb_threads()} threads)")
    dcpus = ", ".join(f"{c:.2f}" for _, c in duck)
    print(f"  CPU seconds (user + system, all threads): {dcpus}")
    print(f"ratio:   fangpin is {dwall / best['wall']:.1f}x faster than DuckDB end to end "
          f"({min(c for _, c in duck) / min(r['cpu'] for r in ours):.1f}x in CPU seconds)")
    same, total = compare(work / "fangpin.parquet", work / "duckdb.parquet")
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"agreement: {same:,} of {total:,} claims identical ({100 * same / total:.3f}%); "
          "the rest belong to person-years whose group changes mid-year, which a window sum cannot express")


def duckdb_threads() -> int:
    import duckdb

    return int(duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0])


if __name__ == "__main__":
    main()
