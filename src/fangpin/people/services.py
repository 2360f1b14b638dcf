"""Verbs on the people ledger: importing a department's list, marking an upload tagged.

`import_list` (RULES §6) keeps the original file, checks every row, creates the persons it
does not know, opens, changes or confirms the department's identities, ends the department's
identities it no longer lists on the list's date, and records the upload with its counts and
rejected rows — all in one transaction, so a failure half-way leaves the database as it was.
The same file uploaded twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from fangpin.engine.workdays import add_working_days_or_weekdays as add_working_days
from fangpin.people.areas import AreaResolver
from fangpin.people.auditing import CHANGE, audit
from fangpin.people.bulk import insert_rows, read_frame, select_in, select_rows, update_rows
from fangpin.people.models import DepartmentUpload, Household, Identity, Person, UploadReject
from fangpin.tabular.deptlist import DeptList, canonical_department, read_dept_list

BATCH = 2_000
CHUNK = 5_000  # ids per IN (...) query, well below SQLite's and PostgreSQL's limits
DEFAULT_TAGGING_DAYS = 5  # seed 001: the bureau tags pushed people within 5 working days
# Ending more than this share of a department's open identities at once looks like a wrong
# file (another department's list, last year's list) rather than a month's changes.
MASS_END_SHARE = 0.5
MASS_END_MIN = 20


class ImportRefused(Exception):
    """The list was not imported; the message says why and what to do. Nothing was changed."""


@dataclass
class ImportResult:
    upload: DepartmentUpload
    duplicate: bool  # the same file was imported before: nothing changed
    message: str


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_list(
    dept: str,
    path: str | Path,
    list_date: dt.date | None = None,
    user: Any = None,
    *,
    tagging_working_days: int = DEFAULT_TAGGING_DAYS,
    force: bool = False,
    received_at: dt.datetime | None = None,
) -> ImportResult:
    """Import one department list; see the module's docstring. Raises ImportRefused or TableError."""
    path = Path(path)
    try:
        dept = canonical_department(dept)
    except ValueError as exc:
        raise ImportRefused(str(exc)) from None
    received_at = received_at or timezone.now()
    list_date = list_date or timezone.localdate(received_at)
    sha = file_sha256(path)
    earlier = DepartmentUpload.objects.filter(sha256=sha).first()
    if earlier is not None:
        return ImportResult(earlier, True, _same_file_message(earlier))
    checked = read_dept_list(path, dept)
    stored: list[str] = []
    try:
        with transaction.atomic():
            upload = _new_upload(
                dept, path, sha, list_date, user, received_at, tagging_working_days, checked, stored
            )
            _Merge(upload, checked, force=force).run()
            audit(user, CHANGE, "department_upload", upload.pk, summary(upload))
    except BaseException:
        # The file was stored before the failure; the row that named it is gone, so is it.
        for name in stored:
            DepartmentUpload._meta.get_field("file").storage.delete(name)
        raise
    return ImportResult(upload, False, summary(upload))


def _same_file_message(upload: DepartmentUpload) -> str:
    when = timezone.localtime(upload.received_at).strftime("%Y-%m-%d %H:%M")
    return (
        f"same file as upload #{upload.pk} ({upload.department}, {upload.original_name}, "
        f"imported {when}): nothing changed"
    )


def summary(upload: DepartmentUpload) -> str:
    return (
        f"{upload.department} list of {upload.list_date} (upload #{upload.pk}): "
        f"{upload.rows_total} rows — {upload.rows_new} new, {upload.rows_changed} changed, "
        f"{upload.rows_unchanged} unchanged, {upload.rows_rejected} rejected, "
        f"{upload.rows_warned} with warnings; {upload.identities_ended} identities ended"
        + (
            f", {upload.identities_held} kept because their row was rejected"
            if upload.identities_held
            else ""
        )
        + f"; {upload.persons_created} new persons; tag by {upload.tagging_deadline}"
    )


def _new_upload(
    dept, path, sha, list_date, user, received_at, days, checked: DeptList, stored
) -> DepartmentUpload:
    later = (
        DepartmentUpload.objects.filter(department=dept, list_date__gt=list_date)
        .order_by("-list_date")
        .first()
    )
    if later is not None:
        raise ImportRefused(
            f"a newer {dept} list (of {later.list_date}, upload #{later.pk}) is already imported; "
            f"importing the list of {list_date} after it would undo its changes"
        )
    upload = DepartmentUpload(
        department=dept,
        uploaded_by=user if getattr(user, "pk", None) else None,
        received_at=received_at,
        list_date=list_date,
        original_name=path.name[:255],
        sha256=sha,
        size=path.stat().st_size,
        sheet=checked.sheet[:64],
        header_row=checked.header_row,
        rows_total=checked.data_rows,
        rows_rejected=checked.rejected_rows,
        rows_warned=checked.warnings["row"].n_unique(),
        tagging_deadline=add_working_days(timezone.localdate(received_at), days),
    )
    with open(path, "rb") as f:
        upload.file.save(f"{sha[:12]}{path.suffix.lower()}", File(f), save=False)
    stored.append(upload.file.name)
    upload.save()
    # Thousands of problem rows in a county's list: plain tuples (bulk.insert_rows), cut to
    # the columns' lengths in Polars.
    problems = pl.concat(
        [
            frame.select(
                pl.lit(upload.pk, dtype=pl.Int64).alias("upload"),
                pl.col("row").cast(pl.Int64),
                pl.col("column").str.slice(0, 64),
                pl.col("value").fill_null("").str.slice(0, 255),
                pl.col("reason").str.slice(0, 255),
                pl.lit(level.value).alias("level"),
            )
            for frame, level in (
                (checked.rejects, UploadReject.Level.REJECT),
                (checked.warnings, UploadReject.Level.WARNING),
            )
        ]
    )
    insert_rows(UploadReject, problems.columns, problems.iter_rows())
    return upload


def persons_by_id(ids: list[str]) -> dict[str, tuple]:
    """id_no -> (pk, name, township_id, village_id, household_id) for the ids in the ledger."""
    rows = select_in(Person, "id_no", ids, ("id", "name", "township", "village", "household"))
    return {id_no: tuple(rest) for id_no, *rest in rows}


class _Households:
    """Household files (一户一档) by number, created when a list first names one."""

    def __init__(self, areas: AreaResolver) -> None:
        self.areas = areas
        self.known: dict[str, int] = {}

    def get(self, number: str, township_id: int | None, village_id: int | None) -> int:
        number = number.strip()[:32]
        pk = self.known.get(number)
        if pk is None:
            hh, _ = Household.objects.get_or_create(
                number=number, defaults={"township_id": township_id, "village_id": village_id}
            )
            pk = self.known[number] = hh.pk
        return pk

    def get_many(self, wanted: list[tuple[str, int | None, int | None]]) -> dict[str, int]:
        """number -> pk for (number, township id, village id) triples: the known ones read in
        one query, the others created (the first triple of a number gives its places)."""
        places: dict[str, tuple[int | None, int | None]] = {}
        for number, t, v in wanted:
            places.setdefault(number.strip()[:32], (t, v))
        missing = [n for n in places if n not in self.known]
        self.known.update(select_in(Household, "number", missing, ("id",)))
        new = [n for n in missing if n not in self.known]
        if new:
            Household.objects.bulk_create(
                [
                    Household(number=n, township_id=places[n][0], village_id=places[n][1])
                    for n in new
                ],
                batch_size=BATCH,
            )
            self.known.update(select_in(Household, "number", new, ("id",)))
        return {number: self.known[number.strip()[:32]] for number, _t, _v in wanted}


PERSON_FIELDS = (
    "id_no",
    "name",
    "sex",
    "birth_date",
    "township",
    "village",
    "household",
    "relation",
    "source",
    "created_at",
    "updated_at",
)


def create_persons(rows: list[tuple]) -> dict[str, int]:
    """Insert persons given as tuples in the order of PERSON_FIELDS (checked, not yet in the
    ledger); returns id_no -> pk."""
    if not rows:
        return {}
    # New rows get ids above the largest before; read those back rather than look each up.
    top = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    insert_rows(Person, PERSON_FIELDS, rows)
    wanted = {r[0] for r in rows}
    out = {
        id_no: pk
        for id_no, pk in select_rows(Person, ("id_no", "id"), "{id} > %s", [top])
        if id_no in wanted
    }
    if len(out) != len(wanted):
        raise RuntimeError("new persons were not found after they were inserted")
    return out


class _Merge:
    """Applies a checked list to the ledger inside the caller's transaction."""

    def __init__(self, upload: DepartmentUpload, checked: DeptList, *, force: bool):
        self.upload, self.checked, self.force = upload, checked, force
        self.dept, self.list_date = upload.department, upload.list_date
        self.warnings: list[UploadReject] = []

    def run(self) -> None:
        good = self.checked.good
        person_of = self._persons(good)
        seen = self._identities(good, person_of)
        self._end_unlisted(seen, person_of)
        if self.warnings:
            UploadReject.objects.bulk_create(self.warnings, batch_size=BATCH)
            warned = set(self.checked.warnings["row"].to_list()) | {w.row for w in self.warnings}
            self.upload.rows_warned = len(warned)
        self.upload.save()

    # --- persons -------------------------------------------------------------------------

    def _persons(self, good: pl.DataFrame) -> dict[str, int]:
        rows = good.unique("id_no", keep="first", maintain_order=True).select(
            "row", "id_no", "name", "sex", "birth_date", "township", "village", "relation",
            "household",
        )  # fmt: skip
        rows = self._places(rows)
        known = persons_by_id(rows["id_no"].to_list())
        ledger = pl.DataFrame(
            [(k, *v) for k, v in known.items()],
            schema={"id_no": pl.String, "pk": pl.Int64, "ledger_name": pl.String,
                    "town_id": pl.Int64, "village_id": pl.Int64, "hh_id": pl.Int64},
            orient="row",
        )  # fmt: skip
        rows = rows.join(ledger, on="id_no", how="left", maintain_order="left")
        now = timezone.now()
        source = f"{self.dept}名单#{self.upload.pk}"[:64]
        new = rows.filter(pl.col("pk").is_null()).select(
            "id_no", pl.col("name").str.slice(0, 64), "sex", "birth_date", "t", "v", "h",
            pl.col("relation").str.slice(0, 16), pl.lit(source).alias("source"),
            pl.lit(now).alias("created_at"), pl.lit(now).alias("updated_at"),
        )  # fmt: skip
        mine = rows.filter(pl.col("pk").is_not_null())
        column = self.checked.columns.get("name", "姓名")
        for row, name, ledger_name in (
            mine.filter(pl.col("ledger_name") != pl.col("name"))
            .select("row", "name", "ledger_name")
            .iter_rows()
        ):
            self.warnings.append(UploadReject(
                upload=self.upload, row=row, column=column, value=name,
                reason=f"姓名与台账不一致（台账为「{ledger_name}」），台账未改动",
                level=UploadReject.Level.WARNING,
            ))  # fmt: skip
        # Fill what the ledger lacks from the list; a differing township, village or
        # household is left for the bureau, since departments may disagree.
        town_fill = pl.col("town_id").is_null() & pl.col("t").is_not_null()
        village_fill = (
            pl.col("village_id").is_null()
            & pl.col("v").is_not_null()
            & (pl.col("town_id").is_null() | (pl.col("town_id") == pl.col("t")))
        )
        hh_fill = pl.col("hh_id").is_null() & pl.col("h").is_not_null()
        fill = [
            (pk, t, v, h, now)
            for pk, t, v, h in mine.filter(town_fill | village_fill | hh_fill)
            .select(
                "pk",
                pl.when(town_fill).then("t").otherwise("town_id"),
                pl.when(village_fill).then("v").otherwise("village_id"),
                pl.when(hh_fill).then("h").otherwise("hh_id"),
            )
            .iter_rows()
        ]
        out = dict(zip(mine["id_no"].to_list(), mine["pk"].to_list(), strict=True))
        out.update(create_persons(new.rows()))
        update_rows(Person, ("township", "village", "household", "updated_at"), fill)
        self.upload.persons_created = new.height
        return out

    def _places(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows with township, village and household ids (t, v, h). A county has a few
        hundred villages: each (township, village) pair and each household number is resolved
        once, then joined onto the rows."""
        areas = AreaResolver()
        households = _Households(areas)
        pairs = []
        for town, village in rows.select("township", "village").unique().iter_rows():
            t = areas.township(town) if town else None
            v = areas.village(t, village) if village else None
            pairs.append((town, village, t.pk if t else None, v.pk if v else None))
        place_schema = {"township": pl.String, "village": pl.String, "t": pl.Int64, "v": pl.Int64}
        rows = rows.join(
            pl.DataFrame(pairs, schema=place_schema, orient="row"),
            on=["township", "village"],
            how="left",
            maintain_order="left",
        )
        numbered = rows.filter(pl.col("household") != "").unique(
            "household", keep="first", maintain_order=True
        )
        hh = households.get_many(numbered.select("household", "t", "v").rows())
        return rows.join(
            pl.DataFrame(
                list(hh.items()), schema={"household": pl.String, "h": pl.Int64}, orient="row"
            ),
            on="household",
            how="left",
            maintain_order="left",
        )

    # --- identities ------------------------------------------------------------------------

    def _latest(self) -> pl.DataFrame:
        """person, name, pk, old_begin, old_end, ended_by: the latest spell of each (person,
        identity) this department pushes."""
        rows = read_frame(
            Identity,
            ("person", "name", "id", "begin", "end", "ended_by"),
            "{department} = %s",
            [self.dept],
            order_by=("begin", "id"),
        )
        return rows.rename({"id": "pk", "begin": "old_begin", "end": "old_end"}).unique(
            ["person", "name"], keep="last", maintain_order=True
        )

    def _identities(self, good: pl.DataFrame, person_of: dict[str, int]) -> set[tuple[int, str]]:
        persons = pl.DataFrame(
            {"id_no": list(person_of), "person": list(person_of.values())},
            schema={"id_no": pl.String, "person": pl.Int64},
        )
        rows = (
            good.join(persons, on="id_no", how="left", maintain_order="left")
            .select("person", pl.col("identity").alias("name"), "group", "begin", "end")
            .join(self._latest(), on=["person", "name"], how="left", maintain_order="left")
        )
        # A person listed again after an exit starts a new spell; otherwise the list's dates
        # are the department's current word on the spell.
        begin, end, old_end = pl.col("begin"), pl.col("end"), pl.col("old_end")
        fresh = pl.col("pk").is_null() | (
            old_end.is_not_null() & begin.is_not_null() & (begin > old_end)
        )
        # Without a begin column the list's date stands in (or the exit, if earlier).
        d = pl.lit(self.list_date, dtype=pl.Date)
        first = pl.coalesce(
            begin, pl.when(end.is_not_null()).then(pl.min_horizontal(d, end)).otherwise(d)
        )
        now = timezone.now()
        new = rows.filter(fresh).select(
            "person", "name", "group", pl.lit(self.dept).alias("department"),
            first.alias("begin"), "end", pl.lit(self.upload.pk).alias("source_upload"),
            pl.lit(now).alias("created_at"), pl.lit(now).alias("updated_at"),
        )  # fmt: skip
        spells = rows.filter(~fresh).with_columns(pl.coalesce(begin, "old_begin").alias("begin"))
        # Unchanged — or an exit before the ledger's begin, which a list without begin dates
        # cannot correct; the spell stays as it is for the bureau to look at.
        same = (
            (pl.col("old_begin") == begin) & old_end.eq_missing(end) & pl.col("ended_by").is_null()
        )
        backwards = (end < begin).fill_null(False)
        changed = spells.filter(~(same | backwards))
        fields = (
            "person",
            "name",
            "group",
            "department",
            "begin",
            "end",
            "source_upload",
            "created_at",
            "updated_at",
        )
        insert_rows(Identity, fields, new.rows())
        update_rows(
            Identity,
            ("begin", "end", "ended_by", "updated_at"),
            [
                (pk, b, e, None, now)
                for pk, b, e in changed.select("pk", "begin", "end").iter_rows()
            ],
        )
        self.upload.rows_new, self.upload.rows_changed, self.upload.rows_unchanged = (
            new.height,
            changed.height,
            spells.height - changed.height,
        )
        return set(zip(rows["person"].to_list(), rows["name"].to_list(), strict=True))

    def _end_unlisted(self, seen: set[tuple[int, str]], person_of: dict[str, int]) -> None:
        """Dynamic adjustment (动态调整): an open spell the department no longer lists ends on
        the list's date — unless the person's row was rejected, since a typo must not cost
        anyone their identity; that spell waits for the corrected list."""
        d = self.list_date
        open_spells = select_rows(
            Identity,
            ("id", "person", "name"),
            "{department} = %s AND {begin} <= %s AND ({end} IS NULL OR {end} > %s)",
            [self.dept, d, d],
        )
        total_open = len(open_spells)
        candidates = [
            (pk, person) for pk, person, name in open_spells if (person, name) not in seen
        ]
        held_people = self._held_people(person_of, {person for _pk, person in candidates})
        ending = [pk for pk, person in candidates if person not in held_people]
        if self.checked.good.height == 0 and ending and not self.force:
            raise ImportRefused(
                f"the list has no usable row and would end all {len(ending)} of {self.dept}'s open "
                "identities; nothing was imported (import with force if the department has nobody left)"
            )
        if (
            not self.force
            and len(ending) >= MASS_END_MIN
            and len(ending) > MASS_END_SHARE * total_open
        ):
            raise ImportRefused(
                f"this list would end {len(ending)} of {self.dept}'s {total_open} open identities; "
                "is it the right department's current list? (import with force to confirm)"
            )
        now = timezone.now()
        update_rows(
            Identity,
            ("end", "ended_by", "updated_at"),
            [(pk, d, self.upload.pk, now) for pk in ending],
        )
        self.upload.identities_ended = len(ending)
        self.upload.identities_held = len(candidates) - len(ending)

    def _held_people(self, person_of: dict[str, int], candidates: set[int]) -> set[int]:
        """Persons among `candidates` that a rejected row seems to mean: the same valid ID, or
        for an ID we could not read, the same name and the same division code and birth date."""
        held = self.checked.held
        if held is None or held.height == 0 or not candidates:
            return set()
        by_id: dict[str, int] = {}
        by_name: dict[str, list[tuple[int, str]]] = {}
        for pk, id_no, name in sorted(select_in(Person, "id", list(candidates), ("id_no", "name"))):
            by_id[id_no] = pk
            by_name.setdefault(name, []).append((pk, id_no))
        out: set[int] = set()
        for id_no, id_ok, digits, name in held.select(
            "id_no", "id_ok", "id_digits", "name"
        ).iter_rows():
            if id_ok:
                if id_no in by_id:
                    out.add(by_id[id_no])
                continue
            for pk, pid in by_name.get(name, ()):
                if len(digits) < 14 or pid[:14] == digits[:14]:
                    out.add(pk)
        return out


def mark_tagged(
    upload: DepartmentUpload, user: Any = None, when: dt.datetime | None = None
) -> DepartmentUpload:
    """Record that the bureau has tagged the upload's people in the insurance system."""
    with transaction.atomic():
        upload = DepartmentUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.tagged_at is None:
            upload.tagged_at = when or timezone.now()
            upload.tagged_by = user if getattr(user, "pk", None) else None
            upload.save(update_fields=["tagged_at", "tagged_by"])
            audit(
                user,
                CHANGE,
                "department_upload",
                upload.pk,
                f"{upload.department} {upload.list_date} 名单已标识",
            )
    return upload


def overdue_uploads(today: dt.date | None = None):
    """Uploads not tagged by their deadline (RULES §6: within 5 working days)."""
    today = today or timezone.localdate()
    return DepartmentUpload.objects.filter(tagged_at__isnull=True, tagging_deadline__lt=today)
