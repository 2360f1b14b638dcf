"""Ledger persons found by the key their claims are filed under: the platform's person number,
or the ID number of a person who has none."""

import pytest

from fangpin.people.models import Person
from fangpin.warnings.sources import persons_by_key, persons_frame
from tests.people.factories import make_id
from tests.warnings.helpers import household, person

pytestmark = pytest.mark.django_db


def test_a_key_is_a_persons_number_first_and_an_id_number_only_without_one():
    home = household()
    plain = person(household=home)  # no platform number: keyed by the ID number
    numbered = person()
    numbered.psn_no = "64032400000000000001"
    numbered.save()
    # one person's platform number is another's ID number: the number names its holder
    shadow = person()
    Person.objects.filter(pk=numbered.pk).update(psn_no=shadow.id_no)
    keys = [plain.id_no, numbered.id_no, shadow.id_no, make_id("19800101", 999)]
    got = persons_by_key(keys)
    assert got == {
        plain.id_no: (plain.pk, home.pk, plain.township_id, plain.village_id),
        shadow.id_no: (numbered.pk, None, numbered.township_id, numbered.village_id),
    }
    frame = persons_frame(keys + [plain.id_no])
    assert frame.columns == ["psn_no", "person", "household", "township", "village"]
    assert frame.height == 2  # a key asked twice is one row; unknown keys give none


def test_many_keys_at_once_are_found_alike():
    people = [person() for _ in range(450)]  # more than one statement's worth on SQLite
    got = persons_frame([p.id_no for p in people] + ["NOT-A-KEY"])
    assert sorted(got["person"]) == sorted(p.pk for p in people)
    assert persons_frame([]).height == 0


def test_ids_taken_from_the_case_sequence_are_distinct_and_never_handed_out_again():
    from django.db import connection

    from fangpin.warnings.models import Case, ScreeningRun
    from fangpin.warnings.sources import take_ids

    if connection.vendor != "postgresql":
        pytest.skip("ids are taken ahead only on PostgreSQL")
    ids = take_ids(Case, 1_000)
    assert ids.len() == 1_000 and ids.n_unique() == 1_000
    from django.utils import timezone

    now = timezone.now()
    run = ScreeningRun.objects.create(date="2025-10-31", year=2025, pack_id="ningxia-wuzhong-2025",
                                      started_at=now, finished_at=now)  # fmt: skip
    later = Case.objects.create(
        psn_no="K1", rule="three-colour", rule_name="红橙黄三色预警", year=2025, level="黄色",
        level_rank=1, level_since="2025-10-31", amount_opened=1, amount_latest=1,
        amount_date="2025-10-31", deadline="2025-11-28", opened_run=run, opened_at=now,
    )  # fmt: skip
    assert later.pk > ids.max()
    assert take_ids(Case, 0).len() == 0
