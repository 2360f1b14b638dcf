"""Benchmark: the database screening run end to end at county scale, on PostgreSQL.

    python -m bench.screen_db [--people 500000] [--claims 5000000] [--pack ningxia-wuzhong-2025]
                              [--date 2025-10-31] [--keep] [--runs-only]
    FANGPIN_DATABASE_URL=<url printed by --keep> python -m bench.screen_db   # screen it again

Starts a throw-away PostgreSQL server (tests/pgserver.py; FANGPIN_DATABASE_URL may name another),
writes N people (30% with an identity) into the people ledger and M year-to-date claims with
their settlements (settled by `settle_batch`) into the claims ledger's own tables with COPY, and
fills the ledger's year sums (`claims.sums.rebuild_year_sums`) — all outside the timing — then
times `warnings.services.run_screening` end to end: the year sums and identities read from the
database, `engine.screen.screen`, cases opened with their events and
flags. A second run on the same data (nothing to change) is timed too. The peer figure is
PostgreSQL's own GROUP BY of the year's burden per person over the same tables, timed in the same
process: what summing the claims at screening time would take in the database alone. The sums'
reads on earlier dates (claims dated after them taken away) are timed as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import tempfile
import time

import numpy as np
import polars as pl

TOWNSHIPS = (
    "豫海镇",
    "河西镇",
    "丁塘镇",
    "韦州镇",
    "下马关镇",
    "预旺镇",
    "王团镇",
    "田老庄乡",
    "马高庄乡",
    "张家塬乡",
    "兴隆乡",
)
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def id_numbers(n: int) -> pl.Series:
    """n distinct valid resident IDs of 同心县: person i is born on day i mod 29,200 after
    1 Jan 1940 with sequence number i div 29,200, so no two coincide."""
    i = np.arange(n)
    birth = np.datetime64("1940-01-01") + (i % 29_200).astype("timedelta64[D]")
    ymd = pl.Series(birth).dt.strftime("%Y%m%d")
    seq = pl.Series(i // 29_200).cast(pl.String).str.zfill(3)
    body = pl.select(pl.concat_str(pl.lit("640324"), ymd, seq)).to_series()
    digits = np.frombuffer("".join(body.to_list()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    check = np.array(list("10X98765432"))[(digits * WEIGHTS).sum(axis=1) % 11]
    return pl.select(pl.concat_str(body, pl.Series(check))).to_series()


def copy_frame(cur, table: str, frame: pl.DataFrame) -> None:
    """COPY a frame into `table` (columns by name) as CSV."""
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="")
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    data = buf.getvalue()
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
        for i in range(0, len(data), 1 << 22):
            copy.write(data[i : i + (1 << 22)])


def fill_defaults(model, frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """Every other NOT NULL column of `model` at its default, so the load follows the model."""
    from django.db import models

    now = dt.datetime.now(dt.UTC).isoformat()
    extra = {}
    for f in model._meta.concrete_fields:
        if f.column in frame.columns or f.null or f.primary_key:
            continue
        if isinstance(f, models.DateTimeField):
            value = now
        elif isinstance(f, models.JSONField):
            value = "[]"
        elif f.has_default() and not callable(f.default):
            value = f.default
        else:
            value = ""
        extra[f.column] = pl.repeat(value, n, eager=True)
    return frame.with_columns(**extra) if extra else frame


def load(args, pack) -> dict:
    """Write people, identities, claims and settlements; returns sizes."""
    from django.db import connection

    from fangpin.claims.ledger import CLAIM_SCHEMA
    from fangpin.claims.models import Claim, Settlement
    from fangpin.engine.settle import settle_batch
    from fangpin.people.areas import AreaResolver
    from fangpin.people.models import Identity, Person
    from fangpin.policy.groups import GROUP_BIT, IDENTITIES

    rng = np.random.default_rng(11)
    n, m = args.people, args.claims
    date = dt.date.fromisoformat(args.date)
    areas = AreaResolver()
    villages = []
    for t in TOWNSHIPS:
        town = areas.township(t)
        villages += [(town.pk, areas.village(town, f"{k}村").pk) for k in range(1, 11)]
    where = np.array(villages)[rng.integers(0, len(villages), n)]
    ids = id_numbers(n)
    person_pk = np.arange(1, n + 1)
    people = pl.DataFrame({"id": person_pk, "id_no": ids, "name": pl.repeat("某某", n, eager=True),
                           "township_id": where[:, 0], "village_id": where[:, 1]})  # fmt: skip
    holders = rng.choice(n, int(n * 0.3), replace=False)
    names = np.array(list(IDENTITIES))
    pick = names[
        rng.choice(
            len(names),
            len(holders),
            p=np.array([7, 8, 9, 10, 5, 8, 4, 2, 3, 2, 2, 4, 6, 3, 2, 1]) / 76,
        )
    ]
    idents = pl.DataFrame({"person_id": person_pk[holders], "name": pick,
                           "group": [IDENTITIES[x][0] for x in pick], "department": [IDENTITIES[x][1] for x in pick],
                           "begin": pl.repeat(dt.date(date.year - 1, 1, 1), len(holders), eager=True)})  # fmt: skip
    who = rng.integers(0, n, m)
    kind = rng.choice(np.array([11, 14, 21], dtype=np.int16), m, p=[0.80, 0.17, 0.03])
    # About 0.3 admissions a person-year and a few chronic visits: a few percent of people
    # end above the lowest warning bound, as in the seeds (吴忠: 10,431 warned in a city).
    scale = np.where(kind == 11, 100_00, np.where(kind == 14, 500_00, 8_000_00))
    medfee = (rng.lognormal(0.0, 1.0, m) * scale).astype(np.int64) + 1000
    own = (medfee * rng.uniform(0, 0.2, m)).astype(np.int64)
    days = (date - dt.date(date.year, 1, 1)).days + 1
    claims = pl.DataFrame(
        {
            "row": np.arange(m, dtype=np.uint32),
            "setl_id": pl.select(pl.format("S{}", pl.Series(np.arange(m) + 10**10))).to_series(),
            "psn_no": ids.gather(who),
            "setl_date": pl.Series(np.datetime64(f"{date.year}-01-01") + rng.integers(0, days, m).astype("timedelta64[D]")).cast(pl.Date),
            "med_type": kind,
            "hosp_lv": rng.choice(np.array([1, 2, 3, 4], dtype=np.int16), m, p=[0.45, 0.35, 0.15, 0.05]),
            "in_province": (rng.random(m) < 0.93).astype(np.int16),
            "referral": (rng.random(m) < 0.85).astype(np.int16),
            "medfee_sumamt": medfee,
            "fulamt_ownpay_amt": own,
            "overlmt_selfpay": np.zeros(m, dtype=np.int64),
            "preselfpay_amt": np.zeros(m, dtype=np.int64),
            "kind": np.where(kind == 11, 0, np.where(kind == 14, 1, 2)).astype(np.int8),
            "inscp_scp_amt": medfee - own,
        }
    ).cast(CLAIM_SCHEMA)  # fmt: skip
    id_frame = idents.select(
        ids.gather(idents["person_id"] - 1).alias("psn_no"),
        pl.col("group").replace_strict(GROUP_BIT, return_dtype=pl.Int64).alias("group_bit"),
        pl.col("begin").alias("begndate"),
        pl.lit(None, dtype=pl.Date).alias("enddate"),
    )
    settled = settle_batch(pack, claims, id_frame).claims
    claim_rows = claims.select(
        pl.int_range(1, m + 1, dtype=pl.Int64).alias("id"), "setl_id", "psn_no", pl.col("psn_no").alias("person_key"),
        pl.Series("person_id", who + 1), "setl_date", "med_type", "hosp_lv",
        (pl.col("in_province") == 1).alias("in_province"), (pl.col("referral") == 1).alias("referral"),
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
        pl.lit("import").alias("source"), pl.lit(pack.id).alias("pack_id"),
    )  # fmt: skip
    settle_rows = settled.select(
        pl.int_range(1, m + 1, dtype=pl.Int64).alias("id"), pl.int_range(1, m + 1, dtype=pl.Int64).alias("claim_id"),
        pl.lit("settle").alias("kind"), pl.lit("batch").alias("source"),
        "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt", "fund_pay_sumamt", "psn_part_amt",
        pl.col("group").cast(pl.String).fill_null("").alias("group"), pl.lit(pack.id).alias("pack_id"),
    )  # fmt: skip
    with connection.cursor() as c:
        cur = c.cursor
        copy_frame(cur, Person._meta.db_table, fill_defaults(Person, people, n))
        copy_frame(cur, Identity._meta.db_table, fill_defaults(Identity, idents, idents.height))
        copy_frame(cur, Claim._meta.db_table, fill_defaults(Claim, claim_rows, m))
        copy_frame(cur, Settlement._meta.db_table, fill_defaults(Settlement, settle_rows, m))
        for model in (Person, Claim, Settlement):
            t = model._meta.db_table
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
            )
    with connection.cursor() as c:
        for model in (Person, Identity, Claim, Settlement):
            c.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return {"people": n, "identities": idents.height, "claims": m}


def fill_sums() -> tuple[int, float]:
    """The ledger's year sums for the claims written by COPY (the services keep them as they
    write; a COPY load bypasses them), as `rebuild_year_sums` recomputes them."""
    from django.db import connection

    from fangpin.claims.models import YearSum
    from fangpin.claims.sums import rebuild_year_sums

    t = time.perf_counter()
    rows = rebuild_year_sums()
    with connection.cursor() as c:
        c.execute(f"VACUUM ANALYZE {YearSum._meta.db_table}")
    return rows, time.perf_counter() - t


def peer_sql(date: dt.date) -> str:
    from fangpin.claims.models import Claim, Settlement

    c, s = Claim._meta.db_table, Settlement._meta.db_table
    return (
        f"SELECT c.person_key, SUM(s.psn_part_amt) FROM {c} c JOIN {s} s ON s.claim_id = c.id AND s.kind = 'settle' "
        f"WHERE c.setl_date BETWEEN '{date.year}-01-01' AND '{date.isoformat()}' "
        f"AND NOT EXISTS (SELECT 1 FROM {s} x WHERE x.cancels_id = s.id) "
        f"GROUP BY c.person_key HAVING SUM(s.psn_part_amt) > 500000"
    )


def sums_reads(date: dt.date) -> None:
    """How long the screening's sums take to read on the date and on earlier dates (claims
    dated after them taken away, or the claims up to them summed when those are fewer)."""
    from fangpin.warnings.sources import screening_sums_wide

    for label, day in (
        ("on the date", date),
        ("a month before", date - dt.timedelta(days=30)),
        ("at the end of January", dt.date(date.year, 1, 31)),
    ):
        t = time.perf_counter()
        wide, how = screening_sums_wide(date.year, day, ("psn_part_amt",))
        print(
            f"sums {label} ({day}): {time.perf_counter() - t:.2f} s, {how}, {wide.height:,} people"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=500_000)
    ap.add_argument("--claims", type=int, default=5_000_000)
    ap.add_argument("--pack", default="ningxia-wuzhong-2025")
    ap.add_argument("--date", default="2025-10-31")
    ap.add_argument(
        "--keep", action="store_true", help="leave the PostgreSQL server running (prints its URL)"
    )
    ap.add_argument(
        "--runs-only",
        action="store_true",
        help="time the two runs only (no earlier-date sums, no peer figure)",
    )
    args = ap.parse_args()
    os.environ.setdefault("FANGPIN_HOME", tempfile.mkdtemp(prefix="fangpin-bench-home-"))
    server = None
    if not os.environ.get("FANGPIN_DATABASE_URL"):
        from tests.pgserver import PostgresServer

        server = PostgresServer().start()
        os.environ["FANGPIN_DATABASE_URL"] = server.url("postgres")
    from fangpin.people.bootstrap import setup_django

    setup_django()
    from django.db import connection

    from fangpin.policy.registry import load_pack
    from fangpin.warnings.models import Case, CaseEvent, RunFlag
    from fangpin.warnings.services import run_screening

    pack = load_pack(args.pack)
    date = dt.date.fromisoformat(args.date)
    t = time.perf_counter()
    from fangpin.claims.models import Claim

    if Claim.objects.exists():
        # A database loaded by an earlier run (--keep): screen it again from no cases.
        with connection.cursor() as c:
            c.execute("TRUNCATE warnings_runflag, warnings_caseevent, warnings_visit, warnings_measure, "
                      "warnings_feedback, warnings_case, warnings_screeningrun")  # fmt: skip
        print(
            f"data: reusing the {Claim.objects.count():,} claims already in {os.environ['FANGPIN_DATABASE_URL']}"
        )
    else:
        sizes = load(args, pack)
        print(
            f"data: {sizes['people']:,} people, {sizes['identities']:,} identities, {sizes['claims']:,} claims with "
            f"their settlements in PostgreSQL, {pack.id}, screening on {date} "
            f"({time.perf_counter() - t:.1f} s to generate, settle and COPY in)"
        )
    from fangpin.claims.models import YearSum

    if not YearSum.objects.exists():
        rows, took = fill_sums()
        print(f"year sums: {rows:,} person-years rebuilt from the ledger in {took:.1f} s (untimed)")
    # Warm the server's and the machine's caches the way a second monthly run would find them,
    # with the load's dirty pages written out (a checkpoint): a run scheduled in a month meets a
    # settled database, not one still writing out five million rows it was just handed.
    with connection.cursor() as c:
        c.execute("CHECKPOINT")
        c.execute(peer_sql(date))
        c.fetchall()
    rounds = []
    for label in ("first run (opens every case)", "re-run (changes nothing)"):
        timings: dict[str, float] = {}
        t = time.perf_counter()
        out = run_screening(date, pack.id, timings=timings)
        total = time.perf_counter() - t
        rounds.append(total)
        r = out.run
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items() if "." not in k)
        print(f"{label}: {total:.2f} s end to end ({parts}); flagged {r.flagged:,}, new {r.new_cases:,}, "
              f"escalated {r.escalated:,}, unchanged {r.unchanged:,}, claims {r.claims:,}")  # fmt: skip
        details = ", ".join(f"{k} {v:.2f}" for k, v in timings.items() if "." in k)
        print(f"  stages in seconds: {details}")
    print(
        f"cases {Case.objects.count():,}, events {CaseEvent.objects.count():,}, flags {RunFlag.objects.count():,}"
    )
    if args.keep and server is not None:
        print(f"server left running: {server.url('postgres')}")
        import atexit

        atexit.unregister(server.stop)
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.runs_only:
        print(f"machine: {os.cpu_count()} CPUs, load average {load_avg}")
        return
    sums_reads(date)
    best = []
    for _ in range(3):
        t = time.perf_counter()
        with connection.cursor() as c:
            c.execute(peer_sql(date))
            c.fetchall()
        best.append(time.perf_counter() - t)
    peer = min(best)
    print(f"peer: PostgreSQL GROUP BY of the year's burden per person, {peer:.2f} s best of 3")
    print(
        f"ratio: the whole run (first) takes {rounds[0] / peer:.2f}x the database's own sum; re-run {rounds[1] / peer:.2f}x"
    )
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load_avg}")


if __name__ == "__main__":
    main()
