"""Reading and writing many rows at once (people.bulk), against the ORM's own answers."""

import datetime as dt

import polars as pl
import pytest
from django.db import connection
from django.utils import timezone

from fangpin.enrollment.models import EnrollmentImport, EnrollmentRecord
from fangpin.people.bulk import frame_schema, read_frame, select_in, update_rows
from fangpin.people.models import Household, Identity, Person
from fangpin.people.services import _Households

pytestmark = pytest.mark.django_db


def people(n: int) -> list[Person]:
    return Person.objects.bulk_create(
        Person(id_no=f"6403241980{i:08d}", name=f"人{i}") for i in range(n)
    )


def identities(persons: list[Person]) -> None:
    rows = []
    for i, p in enumerate(persons):
        begin = dt.date(2020, 1, 1) + dt.timedelta(days=i % 400)
        end = None if i % 3 else begin + dt.timedelta(days=30)
        rows.append(Identity(person=p, name="低保对象", group="低保" if i % 2 else "",
                             department="民政", begin=begin, end=end))  # fmt: skip
    Identity.objects.bulk_create(rows)


def test_read_frame_gives_the_orm_values_with_dates_nulls_and_empty_text_kept_apart():
    identities(people(30))
    fields = ("id", "person", "name", "group", "begin", "end")
    frame = read_frame(Identity, fields, "{department} = %s", ["民政"], order_by=("begin", "id"))
    assert frame.schema == pl.Schema(frame_schema(Identity, fields))
    assert frame.schema["begin"] == pl.Date and frame.schema["person"] == pl.Int64
    expected = list(
        Identity.objects.filter(department="民政")
        .order_by("begin", "id")
        .values_list("id", "person_id", "name", "group", "begin", "end")
    )
    assert frame.rows() == expected
    assert frame["end"].null_count() == 20 and (frame["group"] == "").sum() == 15


def test_read_frame_with_a_date_condition_and_distinct_pairs():
    identities(people(30))
    on = dt.date(2020, 1, 20)
    frame = read_frame(
        Identity,
        ("person", "group"),
        "{begin} <= %s AND ({end} IS NULL OR {end} >= %s)",
        [on, on],
        distinct=True,
    )
    active = Identity.objects.filter(begin__lte=on).exclude(end__lt=on)
    assert sorted(frame.rows()) == sorted(set(active.values_list("person_id", "group")))
    assert frame.height == active.count() > 0


def test_keys_beyond_one_statements_placeholders_are_looked_up_in_one_call():
    persons = people(12_000)
    wanted = [p.id_no for p in persons[::2]] + ["640324000000000000"]  # one unknown
    rows = select_in(Person, "id_no", wanted, ("id", "name"))
    assert sorted(rows) == sorted((p.id_no, p.pk, p.name) for p in persons[::2])
    by_pk = read_frame(Person, ("id", "id_no"), key="id", values=[p.pk for p in persons[:7000]])
    assert sorted(by_pk["id"].to_list()) == [p.pk for p in persons[:7000]]
    assert read_frame(Person, ("id",), key="id", values=[]).height == 0


def test_select_in_adds_a_condition_to_the_keys():
    persons = people(4)
    batch = EnrollmentImport.objects.create(year=2025, original_name="x", sha256="0" * 64)
    for year in (2024, 2025):
        for p in persons:
            EnrollmentRecord.objects.create(
                person=p, year=year, insutype="居民", row_key=f"居民|{year}", source=batch
            )
    got = select_in(EnrollmentRecord, "person", [p.pk for p in persons[:3]], ("year",),
                    where="{year} = %s", params=[2025])  # fmt: skip
    assert sorted(got) == [(p.pk, 2025) for p in persons[:3]]


def test_update_rows_sets_dates_foreign_keys_timestamps_and_nulls_by_id():
    persons = people(3)
    identities(persons)
    spells = list(Identity.objects.order_by("id"))
    hh = Household.objects.create(number="H1")
    now = timezone.now()
    n = update_rows(
        Identity,
        ("end", "ended_by", "updated_at"),
        [(spells[0].pk, dt.date(2025, 3, 31), None, now), (spells[1].pk, None, None, now)],
    )
    update_rows(Person, ("household", "updated_at"), [(persons[2].pk, hh.pk, now)])
    assert n == 2 and update_rows(Person, ("name",), []) == 0
    first, second, third = Identity.objects.order_by("id")
    assert first.end == dt.date(2025, 3, 31) and second.end is None
    assert abs((first.updated_at - now).total_seconds()) < 1
    assert third.end == spells[2].end and third.updated_at == spells[2].updated_at
    assert Person.objects.get(pk=persons[2].pk).household_id == hh.pk
    assert Person.objects.get(pk=persons[0].pk).household_id is None


def test_households_are_found_or_created_once_each_whatever_the_spacing_of_their_numbers():
    known = Household.objects.create(number="H-1")
    got = _Households(None).get_many([("H-1 ", None, None), ("H-2", None, None), (" H-2", 9, 9)])
    assert got["H-1 "] == known.pk and got["H-2"] == got[" H-2"] != known.pk
    assert sorted(Household.objects.values_list("number", flat=True)) == ["H-1", "H-2"]
    assert Household.objects.get(number="H-2").township_id is None  # the first mention's places


def test_the_database_in_use_is_postgresql_so_the_copy_paths_are_the_ones_tested():
    assert connection.vendor == "postgresql"
