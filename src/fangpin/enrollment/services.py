"""Verbs of enrollment monitoring: import records, reconcile a month, compute subsidies.

Each verb loads what it needs with a few bulk queries, computes on columns (the pure parts are
in `reconcile.py` and `fangpin.engine.subsidy`), and writes its results in one transaction.
Re-running any of them on the same data changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fangpin.enrollment import reconcile as rc
from fangpin.enrollment.files import Checked, read_births, read_enrollment
from fangpin.enrollment.models import (
    EnrollmentImport,
    EnrollmentRecord,
    ItemState,
    NewbornItem,
    ReconciliationRun,
    UnenrolledItem,
)
from fangpin.people.areas import AreaResolver
from fangpin.people.auditing import CHANGE, EXPORT, audit
from fangpin.people.bulk import insert_rows, read_frame, select_in, select_rows, update_rows
from fangpin.people.models import Area, Identity, Person
from fangpin.people.services import BATCH, CHUNK, create_persons, file_sha256, persons_by_id
from fangpin.policy.schema import Policy
from fangpin.tabular.ids import birth_date, check_ids, sex

# --- importing records ---------------------------------------------------------------------


@dataclass
class EnrollmentImportResult:
    batch: EnrollmentImport
    duplicate: bool
    rejects: pl.DataFrame
    message: str


def import_enrollment(path: str | Path, year: int, user: Any = None) -> EnrollmentImportResult:
    """Import an enrollment file for `year`: new records added, changed ones updated, persons
    the ledger does not know created from their ID. The same file twice changes nothing."""
    path = Path(path)
    sha = file_sha256(path)
    earlier = EnrollmentImport.objects.filter(year=year, sha256=sha).first()
    checked = read_enrollment(path, year)
    if earlier is not None:
        return EnrollmentImportResult(
            earlier, True, checked.rejects, f"same file as import #{earlier.pk}: nothing changed"
        )
    with transaction.atomic():
        batch = EnrollmentImport.objects.create(
            year=year, original_name=path.name[:255], sha256=sha, rows_total=checked.good.height + checked.rejected_rows,
            imported_by=user if getattr(user, "pk", None) else None,
        )  # fmt: skip
        rejects = _merge_records(batch, checked)
        audit(user, CHANGE, "enrollment_import", batch.pk, _import_message(batch))
    return EnrollmentImportResult(batch, False, rejects, _import_message(batch))


def _import_message(batch: EnrollmentImport) -> str:
    return (
        f"enrollment {batch.year} from {batch.original_name}: {batch.rows_total} rows — {batch.rows_new} new, "
        f"{batch.rows_changed} changed, {batch.rows_unchanged} unchanged, {batch.rows_rejected} rejected; "
        f"{batch.persons_created} new persons"
    )


def _areas_named(good: pl.DataFrame) -> dict[str, tuple[int | None, int | None]]:
    """person_key -> (township id, village id) as the file's first row naming a township for
    that person gives them (areas found by name or code, created under the county when new,
    as a department list's are)."""
    named = good.filter(pl.col("township") != "").unique(
        "person_key", keep="first", maintain_order=True
    )
    if named.height == 0:
        return {}
    areas, place = AreaResolver(), {}
    for town, village in named.select("township", "village").unique().iter_rows():
        t = areas.township(town)
        v = areas.village(t, village)
        place[(town, village)] = (t.pk if t else None, v.pk if v else None)
    return {
        key: place[(town, village)]
        for key, town, village in named.select("person_key", "township", "village").iter_rows()
    }


def _person_keys(good: pl.DataFrame, source: str) -> tuple[dict[str, int], int]:
    """person_key -> person pk: valid IDs found or created, other keys looked up as psn_no.
    A person created here, or known without a township, takes the township and village the
    file names for them; a known township is left as it is (the departments' lists and the
    household file know a person's home better than a payment record)."""
    keys, ids, names = good["person_key"].to_list(), good["id_no"].to_list(), good["name"].to_list()
    place = _areas_named(good)
    valid = sorted({i for i in ids if i})
    found = persons_by_id(valid)
    known = {k: v[0] for k, v in found.items()}
    name_of = dict(zip(ids, names, strict=True))
    now = timezone.now()
    # (id_no, name, sex, birth_date, township, village, household, relation, source, created, updated)
    new = [
        (i, (name_of.get(i) or "")[:64], sex(i), birth_date(i), *place.get(i, (None, None)), None,
         "", source[:64], now, now)
        for i in valid
        if i not in known
    ]  # fmt: skip
    known.update(create_persons(new))
    others = sorted({k for k, i in zip(keys, ids, strict=True) if not i and k})
    by_number = dict(select_in(Person, "psn_no", others, ("id",)))
    by_number.update(select_in(Person, "id_no", others, ("id",)))
    known.update(by_number)
    # Known persons with no township yet, the file naming one: those with a valid ID came with
    # their township above; those found by another number are read here.
    homeless = {pk for i, (pk, _n, town, *_rest) in found.items() if town is None and i in place}
    others_pks = sorted({pk for k, pk in by_number.items() if k in place})
    homeless |= {
        pk for (pk,) in select_in(Person, "id", others_pks, (), where="{township} IS NULL")
    }
    update_rows(
        Person,
        ("township", "village", "updated_at"),
        [(known[k], *place[k], now) for k in place if known.get(k) in homeless],
    )
    return known, len(new)


def _merge_records(batch: EnrollmentImport, checked: Checked) -> pl.DataFrame:
    good = checked.good
    pk_of, created = _person_keys(good, f"参保数据#{batch.pk}")
    # Only the records of the people this file names can match one of its rows.
    existing = {
        (person, key): (pk, tier, stop)
        for person, pk, key, tier, stop in select_in(
            EnrollmentRecord,
            "person",
            sorted(set(pk_of.values())),
            ("id", "row_key", "tier", "stop_reason"),
            where="{year} = %s",
            params=[batch.year],
        )
    }
    now = timezone.now()
    new, changed, unchanged, unknown = [], [], 0, []
    seen: set[tuple[int, str]] = set()
    for row, key, id_error, insutype, tier, paid, stop in good.select(
        "row", "person_key", "id_error", "insutype", "tier", "paid_date", "stop_reason"
    ).iter_rows():
        pk = pk_of.get(key)
        if pk is None:
            unknown.append(
                (row, "psn_no", key, id_error or "人员编号不在台账中，且不是有效的身份证号")
            )
            continue
        row_key = f"{insutype}|{paid.isoformat() if paid else ''}"
        if (pk, row_key) in seen:
            unchanged += 1  # the same record twice in one file
            continue
        seen.add((pk, row_key))
        rec = existing.get((pk, row_key))
        tier = tier[:16]
        if rec is None:
            new.append(
                (pk, batch.year, insutype, tier, paid, stop, row_key, 0, "", "", batch.pk, now, now)
            )
        elif (rec[1], rec[2]) != (tier, stop):
            changed.append((rec[0], tier, stop, now))
        else:
            unchanged += 1
    fields = (
        "person", "year", "insutype", "tier", "paid_date", "stop_reason", "row_key", "subsidy",
        "subsidy_group", "subsidy_pack", "source", "created_at", "updated_at",
    )  # fmt: skip
    insert_rows(EnrollmentRecord, fields, new)
    update_rows(EnrollmentRecord, ("tier", "stop_reason", "updated_at"), changed)
    more = pl.DataFrame(unknown, schema=checked.rejects.schema, orient="row")
    rejects = pl.concat([checked.rejects, more]).sort("row")
    batch.rows_new, batch.rows_changed, batch.rows_unchanged = len(new), len(changed), unchanged
    batch.rows_rejected = rejects["row"].n_unique()
    batch.persons_created = created
    batch.save()
    return rejects


# --- reconciliation --------------------------------------------------------------------------


@dataclass
class ReconcileResult:
    run: ReconciliationRun
    statuses: pl.DataFrame  # person, id_no, name, township, village, group, status
    by_township: pl.DataFrame
    by_group: pl.DataFrame
    unenrolled: pl.DataFrame  # the open items after the run (the list for the townships)
    newborns: pl.DataFrame
    opened: int = 0
    closed: int = 0
    newborns_opened: int = 0
    newborns_closed: int = 0
    births_rejected: pl.DataFrame = field(default_factory=pl.DataFrame)


IDENTITY_COLUMNS = ("person", "name", "group", "begin", "end")


def identities_frame(
    on: dt.date | None = None,
    *,
    year: int | None = None,
    fields: tuple[str, ...] = IDENTITY_COLUMNS,
    distinct: bool = False,
) -> pl.DataFrame:
    """All identities (person, name, group, begin, end — or the `fields` named), optionally
    only those touching a date or a year, as one frame (one query); `distinct` leaves out
    repeated rows."""
    where, params = [], []
    if on is not None:
        where.append("{begin} <= %s AND ({end} IS NULL OR {end} >= %s)")
        params += [on, on]
    if year is not None:
        where.append("{begin} <= %s AND ({end} IS NULL OR {end} >= %s)")
        params += [dt.date(year, 12, 31), dt.date(year, 1, 1)]
    return read_frame(Identity, fields, " AND ".join(where), params, distinct=distinct)


def _records_frame(year: int, persons: list[int]) -> pl.DataFrame:
    """person, insutype, stop_reason of the year's records of `persons`."""
    return read_frame(
        EnrollmentRecord,
        ("person", "insutype", "stop_reason"),
        "{year} = %s",
        [year],
        key="person",
        values=persons,
    )


def ledger_statuses(year: int, on: dt.date, order: tuple[str, ...]) -> pl.DataFrame:
    """The special population on `on` with each person's group and enrollment status."""
    # Only who holds which group on the day is needed: one row per (person, group).
    pairs = identities_frame(on, fields=("person", "group"), distinct=True)
    groups = rc.first_group(pairs, order)
    pks = groups["person"].to_list()
    ledger = read_frame(
        Person, ("id", "id_no", "name", "township", "village"), key="id", values=pks
    ).rename({"id": "person", "township": "township_id", "village": "village_id"})
    ok = check_ids(ledger["id_no"])["error"].is_null()
    ledger = ledger.with_columns(ok.alias("id_ok")).join(groups, on="person", how="left")
    area_names = dict(Area.objects.values_list("pk", "name"))
    st = rc.statuses(ledger, _records_frame(year, pks))
    return st.with_columns(
        pl.col("township_id")
        .replace_strict(area_names, default=None, return_dtype=pl.String)
        .alias("township"),
        pl.col("village_id")
        .replace_strict(area_names, default=None, return_dtype=pl.String)
        .alias("village"),
    ).sort("person")


def run_reconciliation(
    year: int,
    on: dt.date,
    policy: Policy | None = None,
    *,
    births: str | Path | None = None,
    user: Any = None,
) -> ReconcileResult:
    """Reconcile the special population on `on` against year `year`'s records (RULES §5).

    Un-enrolled people get an open item for their township (one per person and year); an open
    item closes when the person is found enrolled — or otherwise no longer needs enrolling
    (died, in prison, left the special population), the status found being kept. Re-running a
    month updates its run and changes no item unless the data changed.
    """
    order = policy.groups_order if policy else rc.DEFAULT_ORDER
    window = policy.enrollment.newborn_window_days if policy else 30
    st = ledger_statuses(year, on, order)
    born = read_births(births) if births else None
    month = on.replace(day=1)
    with transaction.atomic():
        run, created = ReconciliationRun.objects.select_for_update().get_or_create(
            year=year, month=month,
            defaults={"as_of": on, "run_at": timezone.now(), "pack": policy.pack_id if policy else "", "run_by": _user(user)},
        )  # fmt: skip
        if not created:
            run.as_of, run.run_at, run.runs = on, timezone.now(), run.runs + 1
        opened, closed = _zero_clearing(run, st, on)
        nb_opened, nb_closed = _newborns(run, born, on, window) if born is not None else (0, 0)
        run.persons = st.height
        run.counts = {s: int(n) for s, n in st.group_by("status").len().iter_rows()}
        run.items_opened = UnenrolledItem.objects.filter(opened_run=run).count()
        run.items_closed = UnenrolledItem.objects.filter(closed_run=run).count()
        run.newborns_opened = NewbornItem.objects.filter(opened_run=run).count()
        run.newborns_closed = NewbornItem.objects.filter(closed_run=run).count()
        run.save()
        audit(
            user,
            CHANGE,
            "reconciliation_run",
            run.pk,
            f"{year} {month:%Y-%m} 参保核对：{run.counts}",
        )
    return ReconcileResult(
        run=run,
        statuses=st,
        by_township=rc.summary(st, ["township"]),
        by_group=rc.summary(st, ["township", "group"]),
        unenrolled=open_items(year),
        newborns=open_newborns(),
        opened=opened,
        closed=closed,
        newborns_opened=nb_opened,
        newborns_closed=nb_closed,
        births_rejected=born.rejects if born is not None else pl.DataFrame(),
    )


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


ITEM_FIELDS = (
    "person", "year", "township", "group", "month", "opened_run", "state", "closed_on",
    "closed_run", "closed_status",
)  # fmt: skip


def _zero_clearing(run: ReconciliationRun, st: pl.DataFrame, on: dt.date) -> tuple[int, int]:
    status_of = dict(st.select("person", "status").iter_rows())
    open_items = dict(
        select_rows(
            UnenrolledItem, ("person", "id"), "{year} = %s AND {state} = %s",
            [run.year, ItemState.OPEN.value], order_by=("id",),
        )
    )  # fmt: skip
    new = [
        (
            person,
            run.year,
            town,
            group or "",
            run.month,
            run.pk,
            ItemState.OPEN.value,
            None,
            None,
            "",
        )
        for person, town, group in st.filter(pl.col("status") == "未参保")
        .select("person", "township_id", "group")
        .iter_rows()
        if person not in open_items
    ]
    insert_rows(UnenrolledItem, ITEM_FIELDS, new)
    closing = []
    for person, pk in open_items.items():
        status = status_of.get(person, "不在特殊人群")
        if status != "未参保":
            closing.append((pk, ItemState.CLOSED.value, on, run.pk, status))
    update_rows(UnenrolledItem, ("state", "closed_on", "closed_run", "closed_status"), closing)
    return len(new), len(closing)


def _newborns(run: ReconciliationRun, born: Checked, on: dt.date, window: int) -> tuple[int, int]:
    births = born.good
    keys = births["person_key"].to_list()
    enrolled: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        q = Q(person__id_no__in=chunk) | Q(person__psn_no__in=chunk)
        for id_no, psn_no in EnrollmentRecord.objects.filter(q, year__gte=run.year - 1).values_list(
            "person__id_no", "person__psn_no"
        ):
            enrolled.add(id_no)
            if psn_no:
                enrolled.add(psn_no)
    due = rc.newborns_due(births, enrolled, on, window)
    items = {n.id_no: n for n in NewbornItem.objects.filter(id_no__in=keys)} if keys else {}
    areas = AreaResolver()
    new = []
    for key, name, birth, town, due_date in due.select(
        "person_key", "name", "birth_date", "township", "due_date"
    ).iter_rows():
        if key in items:
            continue
        t = areas.township(town, create=False)
        new.append(NewbornItem(
            id_no=key, name=name, birth_date=birth, township=t, township_text=town[:64], due_date=due_date,
            month=run.month, opened_run=run,
        ))  # fmt: skip
    NewbornItem.objects.bulk_create(new, batch_size=BATCH)
    closing = [n for k, n in items.items() if n.state == ItemState.OPEN and k in enrolled]
    for n in closing:
        n.state, n.closed_on, n.closed_run = ItemState.CLOSED, on, run
    NewbornItem.objects.bulk_update(closing, ["state", "closed_on", "closed_run"], batch_size=BATCH)
    return len(new), len(closing)


def export_list(year: int, rows: int, user: Any = None) -> None:
    """Record that the un-enrolled list of `year` was exported."""
    audit(user, EXPORT, "unenrolled_list", year, f"导出 {year} 年度未参保名单 {rows} 行")


ITEM_COLUMNS = (
    "kind",
    "township",
    "village",
    "name",
    "id_no",
    "group",
    "status",
    "listed_month",
    "birth_date",
)


def open_items(year: int) -> pl.DataFrame:
    """The un-enrolled list: open items of the year, by township and village."""
    rows = UnenrolledItem.objects.filter(year=year, state=ItemState.OPEN).values_list(
        "township__name", "person__village__name", "person__name", "person__id_no", "group", "month"
    )
    df = pl.DataFrame(
        list(rows),
        schema={"township": pl.String, "village": pl.String, "name": pl.String, "id_no": pl.String,
                "group": pl.String, "listed_month": pl.Date},
        orient="row",
    )  # fmt: skip
    return df.select(
        pl.lit("未参保").alias("kind"), "township", "village", "name", "id_no", "group",
        pl.lit("未参保").alias("status"), pl.col("listed_month").dt.strftime("%Y-%m"),
        pl.lit(None, pl.Date).alias("birth_date"),
    ).sort("township", "village", "id_no", nulls_last=True)  # fmt: skip


def open_newborns() -> pl.DataFrame:
    rows = NewbornItem.objects.filter(state=ItemState.OPEN).values_list(
        "township__name", "township_text", "name", "id_no", "month", "birth_date"
    )
    df = pl.DataFrame(
        list(rows),
        schema={"township": pl.String, "township_text": pl.String, "name": pl.String, "id_no": pl.String,
                "listed_month": pl.Date, "birth_date": pl.Date},
        orient="row",
    )  # fmt: skip
    return df.select(
        pl.lit("新生儿").alias("kind"), pl.coalesce("township", "township_text").alias("township"),
        pl.lit(None, pl.String).alias("village"), "name", "id_no", pl.lit("").alias("group"),
        pl.lit("未参保").alias("status"), pl.col("listed_month").dt.strftime("%Y-%m"), "birth_date",
    ).sort("township", "id_no", nulls_last=True)  # fmt: skip
