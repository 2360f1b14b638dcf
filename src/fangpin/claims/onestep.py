"""The online settlement on PostgreSQL in two statements: read, then write if nothing moved.

A discharge desk waits on every settlement, and a settlement's cost is almost all database
round trips: the person, the locked accumulators, the claim, the settlement row, the updated
accumulators, the begin and the commit. Here it is two:

1. **Read** (`read`): the person, their identities and the person-year's accumulators, one
   SELECT without any lock.
2. **Write** (`write`): one statement, in autocommit, whose common table expressions update the
   accumulator row *only where it still holds the values read* (or insert it where there was
   none), and insert the claim, its settlement and its change to the person-year's `YearSum`
   (`sums.claim_delta`) only when that update took place. A single statement is atomic: all of
   it is written or none.

If another settlement of the same person-year committed in between, the accumulators no longer
hold the values read, the statement writes nothing and returns no row, and the caller settles
the claim again under the person-year's lock (`services.settle_online`'s locked path). The
check is on the values themselves: a settlement's result depends on nothing else of the row, so
a claim settled on values still current is settled exactly as under the lock. A `setl_id` seen
before fails the claim's unique constraint, the statement writes nothing, and the caller
answers with the first result, as under the lock.

SQLite has no data-modifying common table expressions; there the locked path is the only one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.db import connection, models
from django.db.models import Field, Model
from django.utils import timezone

from fangpin.claims import sums
from fangpin.claims.models import Accumulator, Claim, Settlement, YearSum
from fangpin.engine import kernel as k
from fangpin.engine.settle import Accumulators
from fangpin.people.models import Identity, Person

IdentityRow = tuple[str, str, str, dt.date, dt.date | None]
PREPARE_AFTER = 2  # runs of a statement on a connection before psycopg prepares it


def available() -> bool:
    return connection.vendor == "postgresql"


def _cursor():
    """A cursor binding parameters on the server and preparing its statements, wrapped as Django
    wraps its own (so query logging and capture see it).

    The site's cursors bind on the client, which re-parses these long statements on every call,
    and Django opens its connections with psycopg's preparing switched off (`prepare_threshold`
    None; its own cursors never prepare anyway). Here the connection is switched on the first
    time: psycopg then prepares each of these statements once the connection has run it
    `PREPARE_AFTER` times, and PostgreSQL parses and plans it once per connection instead of on
    every settlement (about a third of the database's work for a settlement). The statements
    are written with PostgreSQL's own placeholders ($1, $2 ...; see `_numbered`), which psycopg
    sends as they are: it would otherwise convert every call's text again, as it caches the
    conversion of short statements with few parameters only."""
    import psycopg

    connection.ensure_connection()
    pg = connection.connection
    if pg.prepare_threshold is None:
        pg.prepare_threshold = PREPARE_AFTER
    with connection.wrap_database_errors:
        return connection._prepare_cursor(psycopg.RawCursor(pg))


def _numbered(sql: str) -> str:
    """The statement with its `%s` placeholders numbered as PostgreSQL's $1, $2 ..."""
    parts = sql.split("%s")
    if any("%" in p or "$" in p for p in parts):
        raise ValueError("a statement for _numbered has no % or $ but its placeholders")
    return "".join(f"{p}${i}" for i, p in enumerate(parts[:-1], 1)) + parts[-1]


@dataclass
class Read:
    """What the read statement found: the ledger person (None when unknown), the key of their
    accumulators, their identities, and the accumulators (None when the year has no row)."""

    person: Person | None
    key: str
    identities: list[IdentityRow]
    acc: Accumulators | None


@cache
def _read_sql() -> str:
    qn = connection.ops.quote_name
    acc_cols = ", ".join(f"a.{qn(n)}" for n in k.ACC_NAMES)
    # A constant row on the left: the accumulators are found even when no person is.
    return _numbered(
        f"SELECT p.id, p.psn_no, p.id_no, i.name, i.{qn('group')}, i.begin, i.{qn('end')}, "
        f"a.id, {acc_cols} "
        f"FROM (SELECT 1) AS one "
        f"LEFT JOIN {Person._meta.db_table} p ON p.psn_no = %s OR p.id_no = %s "
        f"LEFT JOIN {Identity._meta.db_table} i ON i.person_id = p.id "
        f"LEFT JOIN {Accumulator._meta.db_table} a "
        f"ON a.person_key = COALESCE(p.psn_no, p.id_no, %s) AND a.year = %s "
        f"ORDER BY p.id"
    )


def read(psn_no: str, year: int) -> Read:
    with _cursor() as cur:
        cur.execute(_read_sql(), [psn_no, psn_no, psn_no, year])
        rows = cur.fetchall()
    first = rows[0]
    pk = first[0]
    if pk is None:
        person, key, idents = None, psn_no, []
    else:
        rows = [r for r in rows if r[0] == pk]  # two persons matching: the first, as find_person
        key = first[1] or first[2]
        person = Person(pk=pk, psn_no=first[1], id_no=first[2])
        idents = [(key, *r[3:7]) for r in rows if r[3] is not None]
    acc = (
        None if first[7] is None else Accumulators(**dict(zip(k.ACC_NAMES, first[8:], strict=True)))
    )
    return Read(person, key, idents, acc)


def _columns(model: type[Model]) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@cache
def _savers(model: type[Model], skip: tuple[str, ...]) -> list[tuple[str, Callable | None, Field]]:
    """Per column written: the attribute, and how its value becomes a parameter. Whole numbers,
    yes/no and plain text are made ints, bool and str, as their fields' `get_db_prep_save` makes
    them; dates, times, keys, choices and JSON (None here) go through the field's own. PostgreSQL
    only (the psycopg 3 backend's integer types)."""
    out: list[tuple[str, Callable | None, Field]] = []
    for f in _columns(model):
        if f.attname in skip:
            continue
        if isinstance(f, models.BooleanField):
            simple = bool
        elif isinstance(f, models.IntegerField):
            # Django's PostgreSQL backend gives each whole number its column's width (Int2,
            # Int4, Int8), which keeps a prepared statement's parameter types the same.
            simple = connection.ops.integerfield_type_map[f.get_internal_type()]
        elif isinstance(f, models.CharField) and not f.choices:
            simple = str
        else:
            simple = None
        out.append((f.attname, simple, f))
    return out


def _values(obj: Model, skip: tuple[str, ...] = ()) -> list:
    out = []
    for name, simple, f in _savers(type(obj), skip):
        value = getattr(obj, name)
        if value is None:
            out.append(None)
        elif simple is not None:
            out.append(simple(value))
        else:
            out.append(f.get_db_prep_save(value, connection))
    return out


@cache
def _write_sql(first_of_year: bool) -> str:
    qn = connection.ops.quote_name
    acc = Accumulator._meta.db_table
    names = ", ".join(qn(n) for n in k.ACC_NAMES)
    marks = ", ".join(["%s"] * len(k.ACC_NAMES))
    if first_of_year:
        acc_cte = (
            f"INSERT INTO {acc} (person_key, year, {names}, updated_at) "
            f"VALUES (%s, %s, {marks}, %s) ON CONFLICT (person_key, year) DO NOTHING RETURNING id"
        )
    else:
        sets = ", ".join(f"{qn(n)} = %s" for n in k.ACC_NAMES)
        same = " AND ".join(f"{qn(n)} = %s" for n in k.ACC_NAMES)
        acc_cte = (
            f"UPDATE {acc} SET {sets}, updated_at = %s "
            f"WHERE person_key = %s AND year = %s AND {same} RETURNING id"
        )
    claim_cols = [f.column for f in _columns(Claim)]
    settle_cols = [f.column for f in _columns(Settlement) if f.attname != "claim_id"]
    sum_cols = ", ".join(qn(c) for c in ("person_key", "year", *sums.COLUMNS))
    return _numbered(
        f"WITH a AS ({acc_cte}), "
        f"c AS (INSERT INTO {Claim._meta.db_table} ({', '.join(map(qn, claim_cols))}) "
        f"SELECT {', '.join(['%s'] * len(claim_cols))} FROM a RETURNING id), "
        f"s AS (INSERT INTO {Settlement._meta.db_table} "
        f"(claim_id, {', '.join(map(qn, settle_cols))}) "
        f"SELECT c.id, {', '.join(['%s'] * len(settle_cols))} FROM c RETURNING id, claim_id), "
        f"y AS (INSERT INTO {YearSum._meta.db_table} ({sum_cols}) "
        f"SELECT {', '.join(['%s'] * len(sums.COLUMNS) + ['%s', '%s'])} FROM s {sums.upsert_clause()}) "
        f"SELECT claim_id, id FROM s"
    )


def write(
    key: str,
    year: int,
    before: Accumulators | None,
    after: Accumulators,
    claim: Claim,
    s: Settlement,
) -> bool:
    """Store the claim, its settlement and the accumulators after it, if the person-year still
    holds `before` (None: has no row yet). True when written (claim and s get their ids);
    False when another settlement came first and nothing was written. A used setl_id raises
    IntegrityError with nothing written."""
    now = timezone.now()
    new = [int(x) for x in after.as_array()]
    if before is None:
        params: list = [key, year, *new, now]
    else:
        params = [*new, now, key, year, *(int(x) for x in before.as_array())]
    params += _values(claim)
    params += _values(s, skip=("claim_id",))
    params += sums.claim_delta(claim, s.amounts())
    with _cursor() as cur:
        cur.execute(_write_sql(before is None), params)
        row = cur.fetchone()
    if row is None:
        return False
    claim.pk, s.pk = row
    s.claim = claim
    return True
