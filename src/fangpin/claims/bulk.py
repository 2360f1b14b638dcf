"""Reading and writing the claims ledger in bulk, for the monthly batch and missed benefits.

A county's month is tens of thousands of claims; building a model instance for each claim
read and each settlement written cost more than a hundred times the settlement itself, and so
did Django's `__in` lookups (every value prepared on its own) and its per-value converters.
Here every read is one SQL statement whose rows become a Polars frame (`query_frame`: COPY …
TO STDOUT on PostgreSQL; on SQLite dates come as text and are parsed by Polars), and a long
list of keys travels as one parameter (one JSON array on SQLite, one array on PostgreSQL).

Writes take frames too. New claims and settlements go in with one COPY (PostgreSQL) or one
`executemany` of the frame's plain tuples (SQLite), their dates and timestamps turned into the
text Django stores beforehand. New claims' ids are not read back by setl_id: on PostgreSQL they
are taken from the sequence first; on SQLite the rows of one writer's insert get consecutive
rowids, so they are the range ending at `last_insert_rowid()` (checked, with a read-back if the
check fails). Accumulators are set with one prepared UPDATE (SQLite; a month's new person-years
inserted once with their values) or COPY into a temporary table and one UPDATE … FROM it.

The person-year accumulators are still locked the way the online path expects
(`SELECT ... FOR UPDATE`, in person-key order); only their values are read, not model rows.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from fangpin.claims.models import (
    CLAIM_AMOUNTS,
    RESULT_FIELDS,
    Accumulator,
    Adjustment,
    Claim,
    Settlement,
)
from fangpin.engine import kernel as k
from fangpin.people.models import Identity
from fangpin.warnings.bulk import copy_frame, next_ids, update_columns

# The claim columns the engine and the ledger need, as `read_unsettled` and `read_valid` read.
CLAIM_COLUMNS: tuple[str, ...] = (
    "id",
    "setl_id",
    "person_key",
    "person_id",
    "setl_date",
    "med_type",
    "hosp_lv",
    "in_province",
    "referral",
    *CLAIM_AMOUNTS,
    "inscp_scp_amt",
)
_CLAIM_TYPES = {
    "id": pl.Int64,
    "setl_id": pl.String,
    "person_key": pl.String,
    "person_id": pl.Int64,
    "setl_date": pl.Date,
    "med_type": pl.Int16,
    "hosp_lv": pl.Int16,
    "in_province": pl.Boolean,
    "referral": pl.Boolean,
    **{a: pl.Int64 for a in (*CLAIM_AMOUNTS, "inscp_scp_amt")},
}
SETTLEMENT_FIELDS: tuple[str, ...] = (
    "claim",
    "kind",
    "source",
    *RESULT_FIELDS,
    "group",
    "group_mask",
    "identities",
    "acc_before",
    "pack_id",
    "reason",
    "created_at",
)
IDENTITY_TYPES = {
    "person_id": pl.Int64,
    "name": pl.String,
    "group": pl.String,
    "begin": pl.Date,
    "end": pl.Date,
}
ACC_TYPES = {"person_key": pl.String, "id": pl.Int64, **{n: pl.Int64 for n in k.ACC_NAMES}}


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _qn(model._meta.db_table)


def _col(model, field: str, alias: str = "") -> str:
    """The quoted column of a model field (a foreign key's attname works too)."""
    column = _qn(model._meta.get_field(field).column)
    return f"{alias}.{column}" if alias else column


# --- reading -----------------------------------------------------------------------------


def picked(expr: str, dtype: pl.DataType) -> str:
    """How to select a column so that `query_frame` can type it: SQLite's dates as text (not
    through a converter per value), PostgreSQL's booleans as integers (COPY writes t/f)."""
    if dtype == pl.Date and not _postgres():
        return f"CAST({expr} AS TEXT)"
    if dtype == pl.Boolean and _postgres():
        return f"CAST({expr} AS INTEGER)"
    return expr


def in_list(expr: str, values: Sequence[Any], *, integers: bool = False) -> tuple[str, list]:
    """A condition `expr` is among `values` with one parameter: a JSON array read by
    json_each (SQLite) or an array (PostgreSQL)."""
    if _postgres():
        return f"{expr} = ANY(CAST(%s AS {'bigint' if integers else 'text'}[]))", [list(values)]
    return f"{expr} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]


def _pg_literal(value: Any) -> str:
    from psycopg import sql as pgsql

    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        # psycopg would pick the array's type from its values; integers are written out.
        return "'{" + ",".join(str(int(v)) for v in value) + "}'"
    return pgsql.Literal(value).as_string(connection.connection)


def query_frame(sql: str, params: Sequence[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The rows of a SELECT as a frame of `schema` (its columns in the SELECT's order, each
    selected through `picked`). PostgreSQL sends them with COPY … TO STDOUT, parsed by Polars
    in one go (COPY takes no bound parameters: each is written as a literal)."""
    if _postgres():
        text = sql % tuple(_pg_literal(p) for p in params)
        buf = io.BytesIO()
        with (
            connection.cursor() as cur,
            cur.cursor.copy(f"COPY ({text}) TO STDOUT WITH (FORMAT csv)") as copy,
        ):
            for chunk in copy:
                buf.write(chunk)
        if buf.tell() == 0:
            return pl.DataFrame(schema=schema)
        raw = {c: (pl.Int64 if t == pl.Boolean else t) for c, t in schema.items()}
        buf.seek(0)
        frame = pl.read_csv(buf, has_header=False, new_columns=list(schema), schema=raw)
    else:
        args = [connection.ops.adapt_datefield_value(p) if isinstance(p, dt.date) else p
                for p in params]  # fmt: skip
        with connection.cursor() as cur:
            cur.execute(sql, args)
            rows = cur.fetchall()
        raw = {
            c: pl.String if t == pl.Date else pl.Int64 if t == pl.Boolean else t
            for c, t in schema.items()
        }
        frame = pl.DataFrame(rows, schema=raw, orient="row")
    return frame.with_columns(
        pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d")
        if t == pl.Date and frame.schema[c] == pl.String
        else pl.col(c).cast(t)
        for c, t in schema.items()
        if frame.schema[c] != t
    )


def _claim_columns(alias: str) -> str:
    return ", ".join(picked(_col(Claim, c, alias), t) for c, t in _CLAIM_TYPES.items())


def _unsettled(alias: str = "c") -> str:
    s = _table(Settlement)
    return f"NOT EXISTS (SELECT 1 FROM {s} s WHERE s.{_col(Settlement, 'claim')} = {alias}.id)"


def _dated(alias: str = "c") -> str:
    return f"{_col(Claim, 'setl_date', alias)} >= %s AND {_col(Claim, 'setl_date', alias)} <= %s"


def count_unsettled(first: dt.date, last: dt.date) -> int:
    """Claims dated from `first` to `last` without any settlement row."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COUNT(*) FROM {_table(Claim)} c WHERE {_dated()} AND {_unsettled()}",
            [first, last],
        )
        return int(cur.fetchone()[0])


def unsettled_keys(first: dt.date, last: dt.date) -> list[str]:
    """The person keys of the claims dated from `first` to `last` without a settlement, sorted."""
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT DISTINCT {_col(Claim, 'person_key', 'c')} FROM {_table(Claim)} c "
            f"WHERE {_dated()} AND {_unsettled()}",
            [first, last],
        )
        return sorted(r[0] for r in cur.fetchall())


def read_unsettled(
    first: dt.date, last: dt.date, keys: Sequence[str] | None = None
) -> pl.DataFrame:
    """The claims (CLAIM_COLUMNS) dated from `first` to `last` without any settlement row (of
    these person keys, or everyone's), in id order."""
    sql = f"SELECT {_claim_columns('c')} FROM {_table(Claim)} c WHERE {_dated()} AND {_unsettled()}"
    params: list[Any] = [first, last]
    if keys is not None:
        cond, extra = in_list(_col(Claim, "person_key", "c"), keys)
        sql, params = f"{sql} AND {cond}", [*params, *extra]
    return query_frame(sql + " ORDER BY c.id", params, _CLAIM_TYPES)


def read_identities(person_ids: Sequence[int]) -> pl.DataFrame:
    """Every identity of these people (IDENTITY_TYPES: person_id, name, group, begin, end)."""
    if not len(person_ids):
        return pl.DataFrame(schema=IDENTITY_TYPES)
    cols = ", ".join(picked(_col(Identity, f), t) for f, t in IDENTITY_TYPES.items())
    cond, params = in_list(_col(Identity, "person_id"), person_ids, integers=True)
    return query_frame(
        f"SELECT {cols} FROM {_table(Identity)} WHERE {cond}", params, IDENTITY_TYPES
    )


def person_identities(table: pl.DataFrame) -> pl.DataFrame:
    """The identities of the claims' people (`table`: person_id, person_key), keyed by person
    key: person_key, name, group, begin, end. A person id seen under two keys counts under the
    last one, as a dict built from the rows would."""
    key_of = (
        table.select("person_id", "person_key")
        .drop_nulls("person_id")
        .unique(subset="person_id", keep="last", maintain_order=True)
    )
    idents = read_identities(key_of["person_id"].to_list())
    return idents.join(key_of, on="person_id", how="inner").select(
        "person_key", "name", "group", "begin", "end"
    )


MANY_KEYS = 1_000


def read_valid(keys: Sequence[str], first: dt.date, last: dt.date) -> pl.DataFrame:
    """The valid settlements (settle rows no cancel row points at) of these person keys' claims
    dated from `first` to `last`, in settlement id order: `sid`, RESULT_FIELDS, CLAIM_COLUMNS."""
    schema = {"sid": pl.Int64, **{f: pl.Int64 for f in RESULT_FIELDS}, **_CLAIM_TYPES}
    s = _table(Settlement)
    cols = ", ".join(
        ["s.id", *(_col(Settlement, f, "s") for f in RESULT_FIELDS), _claim_columns("c")]
    )
    key = _col(Claim, "person_key", "c")
    if not _postgres() and len(keys) > MANY_KEYS:
        # Many people (a county's missed benefits): SQLite's planner would look each key up in
        # the person index and each claim's settlement in turn; reading the settlements in
        # order and their claims by rowid is twice as fast. (A unary plus keeps the index out.)
        key = f"+{key}"
    cond, params = in_list(key, keys)
    sql = (
        f"SELECT {cols} FROM {s} s JOIN {_table(Claim)} c ON c.id = s.{_col(Settlement, 'claim')} "
        f"WHERE s.{_qn('kind')} = %s AND {_dated()} AND {cond} AND NOT EXISTS "
        f"(SELECT 1 FROM {s} x WHERE x.{_col(Settlement, 'cancels')} = s.id) ORDER BY s.id"
    )
    return query_frame(sql, [Settlement.Kind.SETTLE.value, first, last, *params], schema)


def adjustment_sums(keys: Sequence[str], first: dt.date, last: dt.date) -> pl.DataFrame:
    """Σ adjustments per settlement (`sid`, RESULT_FIELDS) of these keys' claims in the dates."""
    schema = {"sid": pl.Int64, **{f: pl.Int64 for f in RESULT_FIELDS}}
    sums = ", ".join(f"SUM({_col(Adjustment, f, 'a')})" for f in RESULT_FIELDS)
    sid = _col(Adjustment, "settlement", "a")
    cond, params = in_list(_col(Claim, "person_key", "c"), keys)
    sql = (
        f"SELECT {sid}, {sums} FROM {_table(Adjustment)} a JOIN {_table(Claim)} c "
        f"ON c.id = {_col(Adjustment, 'claim', 'a')} WHERE {_dated()} AND {cond} GROUP BY {sid}"
    )
    return query_frame(sql, [first, last, *params], schema)


# --- the person-year locks ---------------------------------------------------------------


def lock_years(keys: Sequence[str], year: int, *, create: bool = True) -> pl.DataFrame:
    """Lock the person-years' accumulator rows (created when missing), in key order, and return
    them (ACC_TYPES: person_key, id, ACC_NAMES), sorted by person key. Call inside a
    transaction. (SQLite takes the database's write lock when the transaction begins.)

    With `create` False a missing row is not made now but comes back with a null id and zeros,
    for `store_years` to insert with its values: only where nobody else can write meanwhile
    (SQLite's write-locked transaction); it saves writing the row twice."""
    keys = sorted(set(keys))
    if not keys:
        return pl.DataFrame(schema=ACC_TYPES)
    found = _select_locked(keys, year)
    if found.height < len(keys):
        missing = sorted(set(keys) - set(found["person_key"].to_list()))
        if create:
            # A concurrent run may have created some meanwhile: those are kept (no conflict
            # raised), then every missing row is locked like the others.
            _insert_missing(missing, year)
            extra = _select_locked(missing, year)
        else:
            extra = pl.DataFrame({"person_key": missing}).select(
                "person_key",
                pl.lit(None, pl.Int64).alias("id"),
                *(pl.lit(0, pl.Int64).alias(n) for n in k.ACC_NAMES),
            )
        found = pl.concat([found, extra])
    return found.sort("person_key")


def read_years(keys: Sequence[str], year: int) -> pl.DataFrame:
    """The person-years' accumulator rows (ACC_TYPES) as they are, without locking them (for a
    caller that holds the locks already)."""
    return _select_locked(sorted(set(keys)), year, lock=False).sort("person_key")


def _select_locked(keys: list[str], year: int, *, lock: bool = True) -> pl.DataFrame:
    cols = ", ".join(_qn(c) for c in ("person_key", "id", *k.ACC_NAMES))
    cond, params = in_list(_qn("person_key"), keys)
    sql = f"SELECT {cols} FROM {_table(Accumulator)} WHERE {_qn('year')} = %s AND {cond}"
    if _postgres() and lock:
        sql += f" ORDER BY {_qn('person_key')} FOR UPDATE"
    return query_frame(sql, [year, *params], ACC_TYPES)


def _insert_missing(keys: list[str], year: int) -> None:
    """New zero rows for these person-years; rows another transaction made are left alone."""
    meta = Accumulator._meta
    fields = ["person_key", "year", *k.ACC_NAMES, "updated_at"]
    cols = ", ".join(_qn(meta.get_field(f).column) for f in fields)
    now = timezone.now()
    zeros = [0] * len(k.ACC_NAMES)
    with connection.cursor() as cur:
        if _postgres():
            # In key order, one array parameter: the rows' other values are the same for all.
            cur.execute(
                f"INSERT INTO {_table(Accumulator)} ({cols}) "
                f"SELECT u.key, %s, {', '.join(['0'] * len(zeros))}, %s "
                "FROM unnest(CAST(%s AS text[])) AS u(key) ORDER BY u.key ON CONFLICT DO NOTHING",
                [year, now, keys],
            )
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(
                f"INSERT INTO {_table(Accumulator)} ({cols}) VALUES ({marks}) "
                "ON CONFLICT DO NOTHING",
                [(key, year, *zeros, stamp) for key in keys],
            )


def store_years(frame: pl.DataFrame, year: int | None = None) -> int:
    """Set the accumulators of many locked rows from a frame of id and ACC_NAMES; rows with a
    null id (`lock_years` without `create`) are inserted for `year` (the frame then has
    person_key too). On PostgreSQL many rows go through COPY into a temporary table and one
    UPDATE … FROM it."""
    now = timezone.now()
    new = frame.filter(pl.col("id").is_null())
    if new.height:
        if year is None:
            raise ValueError("new accumulator rows need their year")
        _insert_years(new, year, now)
        frame = frame.filter(pl.col("id").is_not_null())
    if not _postgres() or frame.height <= SMALL:
        return new.height + update_columns(
            Accumulator,
            [*k.ACC_NAMES, "updated_at"],
            [(*row, now) for row in frame.select("id", *k.ACC_NAMES).iter_rows()],
        )
    names = ["id", *k.ACC_NAMES]
    sets = ", ".join(f"{_qn(n)} = u.{_qn(n)}" for n in k.ACC_NAMES)
    buf = io.BytesIO()
    frame.select(names).write_csv(buf, include_header=False)
    # Inside a transaction of its own (a savepoint in the caller's): the temporary table's
    # rows live until the commit.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_YEARS_TABLE} "
            f"({', '.join(f'{_qn(n)} bigint' for n in names)}) ON COMMIT DELETE ROWS"
        )
        cur.execute(f"DELETE FROM {_YEARS_TABLE}")
        with cur.cursor.copy(f"COPY {_YEARS_TABLE} FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cur.execute(
            f"UPDATE {_table(Accumulator)} a SET {sets}, {_qn('updated_at')} = %s "
            f"FROM {_YEARS_TABLE} u WHERE a.id = u.id",
            [now],
        )
    return new.height + frame.height


def _insert_years(frame: pl.DataFrame, year: int, now: dt.datetime) -> None:
    rows = frame.select(
        "person_key",
        pl.lit(year, pl.Int64).alias("year"),
        *k.ACC_NAMES,
        pl.lit(stamp(now)).alias("updated_at"),
    )
    insert_frame(Accumulator, rows)


SMALL = 200  # accumulator rows set with one UPDATE over arrays; more through COPY
_YEARS_TABLE = "fangpin_accumulator_new"  # a temporary table of the session


# --- writing ---------------------------------------------------------------------------

SQLITE_CACHE_KIB = 65_536


def roomy_cache() -> None:
    """SQLite: let the connection keep 64 MiB of database pages (the default is 2 MiB). A
    month's claims go into six indexes at scattered places; with the small cache most of those
    pages are fetched from the file again for each row (measured: about 40 % less CPU for the
    claims' insert). The setting lasts as long as the connection."""
    if connection.vendor == "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        size = int(cur.fetchone()[0])
        if size >= 0:  # pages rather than KiB
            cur.execute("PRAGMA page_size")
            size = -size * int(cur.fetchone()[0]) // 1024
        if -size < SQLITE_CACHE_KIB:
            cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


def stamp(moment: dt.datetime) -> str:
    """A timestamp as the text a frame column carries it into the database."""
    if _postgres():
        return moment.isoformat()
    return connection.ops.adapt_datetimefield_value(moment)


def _as_stored(frame: pl.DataFrame) -> pl.DataFrame:
    """SQLite: dates as the text Django stores (timestamps must already be text: `stamp`)."""
    dates = [c for c, t in frame.schema.items() if t == pl.Date]
    return frame.with_columns(pl.col(c).cast(pl.String) for c in dates) if dates else frame


def _executemany(model, frame: pl.DataFrame) -> None:
    meta = model._meta
    cols = ", ".join(_qn(meta.get_field(f).column) for f in frame.columns)
    marks = ", ".join(["%s"] * frame.width)
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {_table(model)} ({cols}) VALUES ({marks})", _as_stored(frame).rows()
        )


def insert_frame(model, frame: pl.DataFrame) -> int:
    """Insert a frame's rows (columns named as `model`'s fields, foreign keys as ids, dates as
    dates, timestamps as `stamp` text); returns how many."""
    if frame.height == 0:
        return 0
    if _postgres():
        return copy_frame(model, frame)
    _executemany(model, frame)
    return frame.height


def insert_claim_frame(frame: pl.DataFrame) -> pl.Series:
    """Insert new claims (a frame as for `insert_frame`, no id column) and return their ids in
    the frame's row order."""
    n = frame.height
    if n == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    if _postgres():
        ids = next_ids(Claim, n)
        copy_frame(Claim, frame.select(ids.alias("id"), pl.all()))
        return ids
    table = _table(Claim)
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        before = int(cur.fetchone()[0])
        _executemany(Claim, frame)
        cur.execute("SELECT last_insert_rowid()")
        last = int(cur.fetchone()[0])
        first = last - n + 1
        # One writer holds the database: the rows got the ids first..last, in order. Checked:
        # the table holds exactly n rows above the earlier maximum, the first and last of them
        # ours.
        cur.execute(f"SELECT COUNT(*), MIN(id), MAX(id) FROM {table} WHERE id > %s", [before])
        count, low, high = cur.fetchone()
        cur.execute(f"SELECT id, {_qn('setl_id')} FROM {table} WHERE id IN (%s, %s)", [first, last])
        ends = dict(cur.fetchall())
    setl = frame["setl_id"]
    if (count, low, high) == (n, first, last) and ends == {first: setl[0], last: setl[-1]}:
        return pl.Series("id", np.arange(first, last + 1, dtype=np.int64))
    id_of = claim_ids(setl.to_list())
    return pl.Series("id", [id_of[s] for s in setl.to_list()], dtype=pl.Int64)


def claim_ids(setl_ids: Sequence[str]) -> dict[str, int]:
    from fangpin.people.bulk import select_in

    return {s: pk for s, pk in select_in(Claim, "setl_id", list(setl_ids), ("id",))}


def json_int_lists(columns: Sequence[str]) -> pl.Expr:
    """Per row, the list of these integer columns as JSON text, as `json.dumps` writes it."""
    return pl.format("[" + ", ".join(["{}"] * len(columns)) + "]", *columns)
