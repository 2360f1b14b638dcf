"""The claims ledger's per person-year sums (`YearSum`), kept exact as the ledger is written.

A screening run sums every person's current amounts of the year per kind of claim; over a
county's millions of claims that sum is far slower than the screening itself, so the ledger
keeps it. Each row is a person-year: per kind k (0 general outpatient, 1 chronic, 2 inpatient)
the number of validly settled claims `n{k}` and the sums of SUM_AMOUNTS over their current
amounts (valid settlement plus adjustments, `sum_column`).

Every write that changes current amounts adds its change in the same transaction, through one
of three functions here, so the rule lives in one place:

* `add_settled` — claims given a valid settlement: each counts once, adds its amounts and its
  policy scope (online settlement and re-settlement, the monthly batch, claims paid elsewhere);
* `add_cancelled` — valid settlements cancelled with their current amounts: each counts once
  less and takes away what it added, adjustments included;
* `add_adjusted` — adjustments (补差): only the tier amounts change.

The changes are summed per person-year in Polars and written with one upsert (``INSERT … ON
CONFLICT DO UPDATE SET x = x + EXCLUDED.x``); on PostgreSQL, many rows reach it through COPY
into a temporary table. Writers hold the person-years' `Accumulator` locks, so two changes of
one person-year never interleave. `rebuild_year_sums` recomputes the table from settlements and
adjustments (`sums_sql`), for a database that predates it or a check.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence

import polars as pl
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from fangpin.claims.models import (
    SUM_AMOUNTS,
    SUM_KINDS,
    Adjustment,
    Claim,
    Settlement,
    YearSum,
    sum_column,
)

AMOUNTS: tuple[str, ...] = tuple(SUM_AMOUNTS)
KINDS: tuple[int, ...] = tuple(SUM_KINDS)
SCOPE = "inscp_scp_amt"  # kept on the claim, not on its settlement
TIERS: tuple[str, ...] = tuple(a for a in AMOUNTS if a != SCOPE)
# The table's count and sum columns, kind by kind: n0, psn_part_amt_0, …, n1, ….
COLUMNS: tuple[str, ...] = tuple(
    c for k in KINDS for c in (f"n{k}", *(sum_column(m, k) for m in AMOUNTS))
)
SMALL = 200  # person-years upserted with one VALUES list; more travel through COPY
_DELTA_TABLE = "fangpin_yearsum_delta"  # a temporary table of the session
_KIND_SQL = "CASE c.med_type WHEN 11 THEN 0 WHEN 14 THEN 1 ELSE 2 END"


def columns_of(measures: Sequence[str]) -> list[str]:
    """The columns holding these measures, kind by kind, each kind's count first."""
    return [c for k in KINDS for c in (f"n{k}", *(sum_column(m, k) for m in measures))]


# --- keeping the table -------------------------------------------------------------------


def add_settled(claims: pl.DataFrame, amounts: pl.DataFrame) -> int:
    """Count newly valid settlements. `claims`: person_key, setl_date, med_type, inscp_scp_amt,
    one row a claim; `amounts`: the same rows' settled TIERS. Returns person-years touched."""
    return _add(claims, amounts, sign=1, whole=True)


def add_cancelled(claims: pl.DataFrame, amounts: pl.DataFrame) -> int:
    """Take away cancelled settlements; `amounts` are their current amounts (with adjustments)."""
    return _add(claims, amounts, sign=-1, whole=True)


def add_adjusted(claims: pl.DataFrame, amounts: pl.DataFrame) -> int:
    """Add adjustments (`amounts`: each claim's difference per tier) to the claims' sums."""
    return _add(claims, amounts, sign=1, whole=False)


def claim_delta(claim: Claim, amounts: Mapping[str, int], *, sign: int = 1) -> list:
    """The change one claim's settlement (`sign` 1, `amounts` its settlement) or cancellation
    (-1, its current amounts) makes to its person-year's row: person_key, year, then COLUMNS."""
    kind = claim.kind  # the model's own 0/1/2 of RULES §3
    values = dict.fromkeys(COLUMNS, 0)
    values[f"n{kind}"] = sign
    values[sum_column(SCOPE, kind)] = sign * int(claim.inscp_scp_amt)
    for t in TIERS:
        values[sum_column(t, kind)] = sign * int(amounts[t])
    return [claim.person_key, claim.setl_date.year, *values.values()]


def add_claim(claim: Claim, amounts: Mapping[str, int], *, cancelled: bool = False) -> int:
    """One online claim: settled (`amounts` its settlement) or cancelled (its current amounts)."""
    row = claim_delta(claim, amounts, sign=-1 if cancelled else 1)
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in ("person_key", "year", *COLUMNS))
    marks = ", ".join(["%s"] * len(row))
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {qn(YearSum._meta.db_table)} ({names}) VALUES ({marks}) {upsert_clause()}",
            row,
        )
    return 1


def upsert_clause() -> str:
    """What an INSERT of change rows (person_key, year, COLUMNS) into the table ends with: a
    person-year already there gets the change added."""
    qn = connection.ops.quote_name
    table = qn(YearSum._meta.db_table)
    sets = ", ".join(f"{qn(c)} = {table}.{qn(c)} + EXCLUDED.{qn(c)}" for c in COLUMNS)
    return f"ON CONFLICT ({qn('year')}, {qn('person_key')}) DO UPDATE SET {sets}"


def _add(claims: pl.DataFrame, amounts: pl.DataFrame, *, sign: int, whole: bool) -> int:
    """The one rule: a claim counts `sign` and adds `sign` × its tier amounts, and its scope when
    the whole settlement comes or goes (`whole`); summed per person-year and kind, then upserted."""
    if claims.height != amounts.height:
        raise ValueError("claims and amounts must have the same rows")
    if claims.height == 0:
        return 0
    med = pl.col("med_type")
    kind = pl.when(med == 11).then(0).when(med == 14).then(1).otherwise(2)
    rows = pl.concat(
        [
            claims.select(
                "person_key",
                pl.col("setl_date").dt.year().cast(pl.Int64).alias("year"),
                kind.alias("kind"),
                pl.lit(sign if whole else 0, dtype=pl.Int64).alias("n"),
                (pl.col(SCOPE).cast(pl.Int64) * (sign if whole else 0)).alias(SCOPE),
            ),
            amounts.select(pl.col(t).cast(pl.Int64) * sign for t in TIERS),
        ],
        how="horizontal",
    )
    per_kind = [
        pl.col(c).filter(pl.col("kind") == k).sum().alias(f"n{k}" if c == "n" else sum_column(c, k))
        for k in KINDS
        for c in ("n", *AMOUNTS)
    ]
    wide = rows.group_by("person_key", "year").agg(per_kind).select("person_key", "year", *COLUMNS)
    _upsert(wide.sort("year", "person_key"))
    return wide.height


def _upsert(wide: pl.DataFrame) -> None:
    """Add the rows' columns to the stored person-years (rows made when missing)."""
    if wide.height == 0:
        return
    qn = connection.ops.quote_name
    table = qn(YearSum._meta.db_table)
    cols = ["person_key", "year", *COLUMNS]
    names = ", ".join(qn(c) for c in cols)
    conflict = upsert_clause()
    one = "(" + ", ".join(["%s"] * len(cols)) + ")"
    # Inside a transaction of its own (a savepoint in the caller's): the temporary table's rows
    # live until the commit.
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor != "postgresql":
            cur.executemany(f"INSERT INTO {table} ({names}) VALUES {one} {conflict}", wide.rows())
        elif wide.height <= SMALL:
            params = [v for row in wide.iter_rows() for v in row]
            values = ", ".join([one] * wide.height)
            cur.execute(f"INSERT INTO {table} ({names}) VALUES {values} {conflict}", params)
        else:
            types = ", ".join(f"{qn(c)} {'text' if c == 'person_key' else 'bigint'}" for c in cols)
            cur.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {_DELTA_TABLE} ({types}) "
                "ON COMMIT DELETE ROWS"
            )
            cur.execute(f"DELETE FROM {_DELTA_TABLE}")
            buf = io.BytesIO()
            wide.write_csv(buf, include_header=False)
            data = buf.getvalue()
            with cur.cursor.copy(
                f"COPY {_DELTA_TABLE} ({names}) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                for i in range(0, len(data), 1 << 22):
                    copy.write(data[i : i + (1 << 22)])
            # Rows go in in (year, person_key) order, so concurrent upserts lock alike.
            cur.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {_DELTA_TABLE} "
                f"ORDER BY {qn('year')}, {qn('person_key')} {conflict}"
            )


# --- computing the sums from the ledger --------------------------------------------------


def sums_sql(measures: Sequence[str]) -> str:
    """A SELECT of, per person key, for each kind of claim, the number of valid claims and the
    sums of `measures` over their current amounts, for claims dated between two bound dates
    (parameters: first, last, first, last). Columns: person_key, then `columns_of(measures)`;
    a kind without any settlement row in the range gives NULLs.

    No anti-join is needed: a cancellation is a row with the negated amounts, so adding every
    settlement row of a claim (settle and cancel alike) gives its valid settlement, or nothing
    when cancelled. The policy scope lives on the claim and is counted once per settle row,
    less once per cancel row. Adjustments count only against a settlement still valid (a
    cancel row negates the settlement's own amounts, not its adjustments).
    """
    unknown = set(measures) - set(AMOUNTS)
    if unknown:
        raise ValueError(f"unknown amount columns: {', '.join(sorted(unknown))}")
    claim = Claim._meta.db_table
    settlement = Settlement._meta.db_table
    adjustment = Adjustment._meta.db_table
    sign = "CASE WHEN s.kind = 'cancel' THEN -1 ELSE 1 END"
    # Columns are named in the first SELECT (not in a column list after the alias, which
    # SQLite does not accept), so the same text runs on both databases.
    from_settlements = ", ".join(
        (f"{sign} * c.{SCOPE}" if m == SCOPE else f"s.{m}") + f" AS v{i}"
        for i, m in enumerate(measures)
    )
    from_adjustments = ", ".join("0" if m == SCOPE else f"a.{m}" for m in measures)
    sums = ", ".join(
        f"SUM(n) FILTER (WHERE kind = {k}) AS n{k}"
        + "".join(
            f", SUM(v{i}) FILTER (WHERE kind = {k}) AS {sum_column(m, k)}"
            for i, m in enumerate(measures)
        )
        for k in KINDS
    )
    settled_part = (
        f"SELECT c.person_key AS person_key, {_KIND_SQL} AS kind, {sign} AS n"
        + (f", {from_settlements}" if measures else "")
        + f" FROM {claim} c JOIN {settlement} s ON s.claim_id = c.id "
        f"WHERE c.setl_date >= %s AND c.setl_date <= %s"
    )
    adjusted_part = (
        f"SELECT c.person_key, {_KIND_SQL}, 0"
        + (f", {from_adjustments}" if measures else "")
        + f" FROM {adjustment} a JOIN {claim} c ON c.id = a.claim_id "
        f"WHERE c.setl_date >= %s AND c.setl_date <= %s "
        f"AND NOT EXISTS (SELECT 1 FROM {settlement} x WHERE x.cancels_id = a.settlement_id)"
    )
    return (
        f"SELECT person_key, {sums} FROM ({settled_part} UNION ALL {adjusted_part}) AS t "
        "GROUP BY person_key"
    )


def _claim_years(cur) -> list[int]:
    cur.execute(f"SELECT MIN(setl_date), MAX(setl_date) FROM {Claim._meta.db_table}")
    low, high = cur.fetchone()
    if low is None:
        return []
    if isinstance(low, str):  # SQLite gives dates back as text
        low, high = dt.date.fromisoformat(low), dt.date.fromisoformat(high)
    return list(range(low.year, high.year + 1))


def rebuild_year_sums(year: int | None = None, using: str = DEFAULT_DB_ALIAS) -> int:
    """Recompute the table (one year, or every year the ledger has claims of) from settlements
    and adjustments; returns the rows written. On PostgreSQL the table is locked meanwhile, so
    a settlement written at the same time adds its change after the rebuild, on top of it."""
    conn = connections[using]
    qn = conn.ops.quote_name
    table = qn(YearSum._meta.db_table)
    names = ", ".join(qn(c) for c in ("person_key", "year", *COLUMNS))
    values = ", ".join(f"COALESCE(s.{c}, 0)" for c in COLUMNS)
    written = 0
    with transaction.atomic(using=using), conn.cursor() as cur:
        if conn.vendor == "postgresql":
            cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        if year is None:
            cur.execute(f"DELETE FROM {table}")
            years = _claim_years(cur)
        else:
            cur.execute(f"DELETE FROM {table} WHERE {qn('year')} = %s", [year])
            years = [year]
        for y in years:
            first, last = dt.date(y, 1, 1), dt.date(y, 12, 31)
            cur.execute(
                f"INSERT INTO {table} ({names}) SELECT s.person_key, %s, {values} "
                f"FROM ({sums_sql(AMOUNTS)}) s",
                [y, first, last, first, last],
            )
            written += cur.rowcount
    return written


__all__ = [
    "AMOUNTS",
    "COLUMNS",
    "KINDS",
    "add_adjusted",
    "add_cancelled",
    "add_claim",
    "claim_delta",
    "add_settled",
    "columns_of",
    "rebuild_year_sums",
    "sums_sql",
]
