"""Reading and writing the claims ledger in bulk, for the monthly batch and missed benefits.

A county's month is tens of thousands of claims; building a model instance for each claim
read and each settlement written cost more than a hundred times the settlement itself. Here
rows travel as plain tuples and Polars frames: claims are read with `values_list`, settlements
and claims written through `warnings.bulk.copy_rows` (COPY on PostgreSQL, one prepared INSERT
on SQLite), accumulators updated with `warnings.bulk.update_columns`.

The person-year accumulators are still locked the way the online path expects
(`SELECT ... FOR UPDATE`, in person-key order); only their values are read, not model rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import polars as pl
from django.db import connection
from django.utils import timezone

from fangpin.claims.models import CLAIM_AMOUNTS, RESULT_FIELDS, Accumulator, Claim, Settlement
from fangpin.engine import kernel as k
from fangpin.warnings.bulk import copy_rows, update_columns

# The claim columns the engine and the ledger need, as read by `read_claims`.
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


def claims_table(rows: Sequence[Sequence]) -> pl.DataFrame:
    """Rows of CLAIM_COLUMNS (as `values_list` gives them) as a typed frame."""
    return pl.DataFrame(rows, schema=_CLAIM_TYPES, orient="row")


def read_claims(queryset) -> pl.DataFrame:
    """The queryset's claims (CLAIM_COLUMNS), without building a model instance each."""
    return claims_table(list(queryset.values_list(*CLAIM_COLUMNS)))


def lock_person_years(keys: Sequence[str], year: int) -> dict[str, tuple[int, np.ndarray]]:
    """Lock the person-years' accumulator rows (created when missing), in key order, and return
    person key -> (row id, values in ACC_NAMES order). Call inside a transaction."""
    keys = sorted(set(keys))
    out = _select_locked(keys, year)
    missing = [key for key in keys if key not in out]
    if missing:
        # A concurrent run may have created some meanwhile: those are kept (no conflict raised),
        # then every missing row is locked like the others.
        _insert_missing(missing, year)
        out.update(_select_locked(missing, year))
    return out


def _select_locked(keys: list[str], year: int) -> dict[str, tuple[int, np.ndarray]]:
    out: dict[str, tuple[int, np.ndarray]] = {}
    for i in range(0, len(keys), 5_000):
        rows = (
            Accumulator.objects.select_for_update()
            .filter(person_key__in=keys[i : i + 5_000], year=year)
            .order_by("person_key")
            .values_list("person_key", "id", *k.ACC_NAMES)
        )
        for key, pk, *values in rows:
            out[key] = (pk, np.array(values, dtype=np.int64))
    return out


def _insert_missing(keys: list[str], year: int) -> None:
    """New zero rows for these person-years; rows another transaction made are left alone."""
    meta = Accumulator._meta
    qn = connection.ops.quote_name
    fields = ["person_key", "year", *k.ACC_NAMES, "updated_at"]
    cols = ", ".join(qn(meta.get_field(f).column) for f in fields)
    now = timezone.now()
    zeros = [0] * len(k.ACC_NAMES)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            types = ["text", "bigint", *["bigint"] * len(k.ACC_NAMES), "timestamptz"]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            n = len(keys)
            cur.execute(
                f"INSERT INTO {qn(meta.db_table)} ({cols}) SELECT * FROM unnest({arrays}) "
                "ON CONFLICT DO NOTHING",
                [keys, [year] * n, *([0] * n for _ in k.ACC_NAMES), [now] * n],
            )
        else:
            stamp = connection.ops.adapt_datetimefield_value(now)
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(
                f"INSERT INTO {qn(meta.db_table)} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING",
                [[key, year, *zeros, stamp] for key in keys],
            )


def store_person_years(rows: Sequence[tuple[int, np.ndarray]]) -> int:
    """Set the accumulators of many locked rows: (row id, values in ACC_NAMES order) each."""
    now = timezone.now()
    return update_columns(
        Accumulator,
        [*k.ACC_NAMES, "updated_at"],
        [(pk, *(int(v) for v in values), now) for pk, values in rows],
    )


def insert_claims(frame: pl.DataFrame, fields: Sequence[str]) -> dict[str, int]:
    """Insert the frame's claims (its columns named as `fields`; foreign keys as ids) and
    return setl_id -> the new row's id."""
    copy_rows(Claim, fields, frame.select(fields).iter_rows())
    return claim_ids(frame["setl_id"].to_list())


def claim_ids(setl_ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in range(0, len(setl_ids), 5_000):
        out.update(
            Claim.objects.filter(setl_id__in=setl_ids[i : i + 5_000]).values_list("setl_id", "id")
        )
    return out


def insert_settlements(rows: Sequence[Sequence]) -> int:
    """Insert settlement rows, each holding SETTLEMENT_FIELDS' values in order (JSON fields
    already as text: `json_text`)."""
    return copy_rows(Settlement, SETTLEMENT_FIELDS, rows)


def json_text(value) -> str | None:
    """A JSON field's value as Django stores it (None is SQL NULL)."""
    return None if value is None else json.dumps(value)
