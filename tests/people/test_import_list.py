"""Importing department lists into the people ledger (RULES §6), on PostgreSQL."""

import datetime as dt
import hashlib

import pytest
from python_calamine import CalamineWorkbook

from fangpin.people import services
from fangpin.people.models import Area, DepartmentUpload, Identity, Person, UploadReject
from fangpin.people.rejects import write_rejects_xlsx
from fangpin.people.services import ImportRefused, import_list, mark_tagged, overdue_uploads
from fangpin.tabular.ids import REASON_AS_NUMBER
from tests.people.factories import make_id, write_workbook, wrong_check

pytestmark = pytest.mark.django_db

HEADER = ["序号", "乡镇", "村", "姓名", "身份证号", "人员类别", "认定日期", "退出日期"]
A = make_id("19800101", 11, division="642127")
B = make_id("20010203", 22)
C = make_id("19751111", 33, division="642127")
D = make_id("19600505", 44, division="642127")
MARCH, APRIL = dt.date(2025, 3, 31), dt.date(2025, 4, 30)
RECEIVED = dt.datetime(2025, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def minzheng(path, rows, title=None):
    return write_workbook(path, HEADER, rows, title=title)


def row(name, id_no, identity, begin="2024-01-01", end=None, town="豫海镇", village="南关社区"):
    return [None, town, village, name, id_no, identity, begin, end]


def snapshot():
    """Everything an import can change, to compare before and after."""
    return (
        sorted(Person.objects.values_list("id_no", "name", "township_id", "village_id")),
        sorted(
            Identity.objects.values_list(
                "person__id_no", "name", "department", "begin", "end", "ended_by_id"
            )
        ),
        DepartmentUpload.objects.count(),
        UploadReject.objects.count(),
        Area.objects.count(),
    )


def test_a_messy_list_creates_persons_areas_and_identities_and_keeps_its_rejects(tmp_path):
    rows = [
        row("张三", A, "低保对象"),
        row(
            "李四",
            " " + B.replace("0", "０") + "  ",
            "特困人员",
            begin="2025-01-15",
            village="北关社区",
        ),
        None,
        row("王五", 6.40324197511110e17, "低保对象"),
        row("赵六", wrong_check(D), "低保对象"),
        row("张三", A, "低保对象"),
    ]
    path = minzheng(tmp_path / "民政_202503.xlsx", rows, title="同心县民政局2025年3月名单")
    result = import_list("民政局", path, MARCH, received_at=RECEIVED)
    up = result.upload
    assert not result.duplicate
    assert (up.department, up.list_date, up.header_row, up.rows_total) == ("民政", MARCH, 2, 5)
    assert (up.rows_new, up.rows_changed, up.rows_unchanged, up.rows_rejected) == (2, 0, 0, 3)
    assert up.persons_created == 2 and up.identities_ended == 0
    li = Person.objects.get(id_no=B)
    assert (li.name, li.sex, li.birth_date) == ("李四", "女", dt.date(2001, 2, 3))
    assert (li.township.name, li.village.name, li.village.parent_id) == (
        "豫海镇",
        "北关社区",
        li.township_id,
    )
    assert Area.objects.filter(level="township").count() == 1
    assert list(
        Identity.objects.filter(person=li).values_list(
            "name", "group", "department", "begin", "end"
        )
    ) == [("特困人员", "特困", "民政", dt.date(2025, 1, 15), None)]
    rejects = {r.row: r for r in up.rejects.filter(level="reject")}
    assert rejects[6].reason == REASON_AS_NUMBER and rejects[6].value == "6.40324E+17"
    assert rejects[6].column == "身份证号"
    assert "校验位错误" in rejects[7].reason
    assert rejects[8].reason == "重复：与第 3 行为同一人、同一人员类别"
    # The original file is kept under MEDIA_ROOT with its digest.
    assert up.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert up.file.read() == path.read_bytes()


def test_the_same_file_uploaded_again_changes_nothing_and_says_so(tmp_path):
    path = minzheng(
        tmp_path / "l.xlsx", [row("张三", A, "低保对象"), row("X", wrong_check(B), "低保对象")]
    )
    first = import_list("民政", path, MARCH)
    before = snapshot()
    again = import_list("民政", path, APRIL)
    assert again.duplicate and again.upload.pk == first.upload.pk
    assert "nothing changed" in again.message
    assert snapshot() == before


def test_the_same_rows_sent_again_in_a_new_file_change_no_person_or_identity(tmp_path):
    rows = [row("张三", A, "低保对象"), row("李四", B, "特困人员", begin="2025-01-15")]
    import_list("民政", minzheng(tmp_path / "3.xlsx", rows, title="三月名单"), MARCH)
    people_and_identities = snapshot()[:2]
    # Next month the office re-saves the same people under a new title: another file.
    again = import_list("民政", minzheng(tmp_path / "4.xlsx", rows, title="四月名单"), APRIL)
    up = again.upload
    assert not again.duplicate
    assert (up.rows_new, up.rows_changed, up.rows_unchanged, up.identities_ended) == (0, 0, 2, 0)
    assert up.persons_created == 0
    assert snapshot()[:2] == people_and_identities


def test_identities_a_department_no_longer_lists_end_on_the_lists_date_and_only_its_own(tmp_path):
    import_list(
        "民政",
        minzheng(tmp_path / "m3.xlsx", [row("张三", A, "低保对象"), row("李四", B, "特困人员")]),
        MARCH,
    )
    disabled = write_workbook(
        tmp_path / "c3.xlsx",
        ["证件号码", "姓名", "人员类别", "认定日期"],
        [[A, "张三", "1-2级残疾人", "2020-01-01"]],
    )
    import_list("残联", disabled, MARCH)
    april = import_list(
        "民政", minzheng(tmp_path / "m4.xlsx", [row("李四", B, "特困人员")]), APRIL
    ).upload
    assert (april.rows_unchanged, april.identities_ended) == (1, 1)
    ended = Identity.objects.get(person__id_no=A, name="低保对象")
    assert (ended.end, ended.ended_by_id) == (APRIL, april.pk)
    # The same person's identity from 残联 is untouched: 民政 does not push it.
    assert Identity.objects.get(person__id_no=A, name="1-2级残疾人").end is None
    assert Identity.objects.get(person__id_no=B).end is None


def test_one_person_listed_by_two_departments_is_one_person_with_both_identities(tmp_path):
    import_list("民政", minzheng(tmp_path / "m.xlsx", [row("张三", A, "低保对象")]), MARCH)
    rural = write_workbook(
        tmp_path / "r.xlsx", ["乡镇", "行政村", "姓名", "公民身份号码", "身份类别", "纳入时间"],
        [["豫海镇", "南关社区", "张三", A, "脱贫不稳定户", "2024-06-01"]],
    )  # fmt: skip
    up = import_list("农业农村", rural, MARCH).upload
    assert (up.persons_created, up.rows_new) == (0, 1)
    person = Person.objects.get(id_no=A)
    assert sorted(person.identities.values_list("department", "group")) == [
        ("乡村振兴", "监测对象"),
        ("民政", "低保"),
    ]


def test_a_person_whose_row_is_rejected_keeps_the_identity_until_a_good_list(tmp_path):
    import_list(
        "民政",
        minzheng(tmp_path / "m3.xlsx", [row("张三", A, "低保对象"), row("王五", C, "低保对象")]),
        MARCH,
    )
    # April: 张三's ID mistyped, 王五's ID stored as a number. Neither is ended.
    april = [
        row("张三", wrong_check(A), "低保对象"),
        row("王五", float(C[:15] + "000"), "低保对象"),
    ]
    up = import_list("民政", minzheng(tmp_path / "m4.xlsx", april), APRIL).upload
    assert (up.identities_ended, up.identities_held, up.rows_rejected) == (0, 2, 2)
    assert not Identity.objects.filter(end__isnull=False).exists()
    may = import_list(
        "民政", minzheng(tmp_path / "m5.xlsx", [row("张三", A, "低保对象")]), dt.date(2025, 5, 31)
    ).upload
    assert may.identities_ended == 1
    assert Identity.objects.get(person__id_no=C).end == dt.date(2025, 5, 31)


def test_a_person_listed_again_after_an_exit_starts_a_new_spell_and_changed_dates_are_changes(
    tmp_path,
):
    import_list(
        "民政",
        minzheng(
            tmp_path / "1.xlsx",
            [row("张三", A, "低保对象", end="2025-02-10"), row("李四", B, "低保对象")],
        ),
        MARCH,
    )
    up = import_list(
        "民政",
        minzheng(
            tmp_path / "2.xlsx",
            [
                row("张三", A, "低保对象", begin="2025-04-15"),
                row("李四", B, "低保对象", begin="2024-02-01"),
            ],
        ),
        APRIL,
    ).upload
    assert (up.rows_new, up.rows_changed) == (1, 1)
    spells = list(
        Identity.objects.filter(person__id_no=A).order_by("begin").values_list("begin", "end")
    )
    assert spells == [(dt.date(2024, 1, 1), dt.date(2025, 2, 10)), (dt.date(2025, 4, 15), None)]
    assert Identity.objects.get(person__id_no=B).begin == dt.date(2024, 2, 1)


def test_an_import_that_fails_half_way_leaves_the_database_and_the_files_as_they_were(
    tmp_path, monkeypatch, settings
):
    import_list("民政", minzheng(tmp_path / "1.xlsx", [row("张三", A, "低保对象")]), MARCH)
    before = snapshot()
    files_before = sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file())

    def boom(self, seen, person_of):
        # Persons, identities and rejects are written by now; the failure must undo them all.
        assert Person.objects.filter(id_no=B).exists()
        raise RuntimeError("disk full")

    monkeypatch.setattr(services._Merge, "_end_unlisted", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        import_list(
            "民政",
            minzheng(
                tmp_path / "2.xlsx",
                [row("李四", B, "特困人员", town="河西镇"), row("X", wrong_check(C), "低保对象")],
            ),
            APRIL,
        )
    assert snapshot() == before
    assert sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file()) == files_before


def test_an_older_list_after_a_newer_one_is_refused(tmp_path):
    import_list("民政", minzheng(tmp_path / "4.xlsx", [row("张三", A, "低保对象")]), APRIL)
    before = snapshot()
    with pytest.raises(ImportRefused, match="newer 民政 list"):
        import_list("民政", minzheng(tmp_path / "3.xlsx", [row("李四", B, "低保对象")]), MARCH)
    assert snapshot() == before


def test_a_list_that_would_end_most_identities_needs_force(tmp_path):
    many = [row(f"人{i}", make_id("19700101", i), "低保对象") for i in range(30)]
    import_list("民政", minzheng(tmp_path / "3.xlsx", many), MARCH)
    wrong = minzheng(tmp_path / "4.xlsx", many[:5])
    with pytest.raises(ImportRefused, match="would end 25 of 民政's 30"):
        import_list("民政", wrong, APRIL)
    assert import_list("民政", wrong, APRIL, force=True).upload.identities_ended == 25


def test_a_list_with_no_usable_row_ends_nobody(tmp_path):
    import_list("民政", minzheng(tmp_path / "3.xlsx", [row("张三", A, "低保对象")]), MARCH)
    with pytest.raises(ImportRefused, match="no usable row"):
        import_list(
            "民政", minzheng(tmp_path / "4.xlsx", [row("张三", wrong_check(B), "低保")]), APRIL
        )
    assert Identity.objects.get(person__id_no=A).end is None


def test_a_name_differing_from_the_ledger_is_a_warning_and_the_ledger_keeps_its_name(tmp_path):
    import_list("民政", minzheng(tmp_path / "3.xlsx", [row("张三", A, "低保对象")]), MARCH)
    up = import_list(
        "民政", minzheng(tmp_path / "4.xlsx", [row("张叁", A, "低保对象")]), APRIL
    ).upload
    assert up.rows_warned == 1
    assert "台账为「张三」" in up.rejects.get(level="warning").reason
    assert Person.objects.get(id_no=A).name == "张三"


def test_the_tagging_deadline_counts_five_working_days_across_national_day():
    # Received 30 Sep 2025: 1–8 Oct are holidays, Sat 11 Oct is a working day.
    deadline = services.add_working_days(dt.date(2025, 9, 30), 5)
    assert deadline == dt.date(2025, 10, 14)


def test_uploads_are_overdue_until_tagged(tmp_path):
    received = dt.datetime(2025, 9, 30, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
    up = import_list(
        "民政",
        minzheng(tmp_path / "l.xlsx", [row("张三", A, "低保对象")]),
        dt.date(2025, 9, 30),
        received_at=received,
    ).upload
    assert up.tagging_deadline == dt.date(2025, 10, 14)
    assert list(overdue_uploads(dt.date(2025, 10, 14))) == []
    assert list(overdue_uploads(dt.date(2025, 10, 15))) == [up]
    mark_tagged(up)
    assert list(overdue_uploads(dt.date(2025, 10, 15))) == []


def test_the_rejected_rows_download_as_a_workbook_with_the_reasons(tmp_path):
    rows = [
        row("张三", A, "低保对象"),
        row("王五", 6.40324197511110e17, "低保对象"),
        row("赵六", C, "低保户"),
    ]
    up = import_list("民政", minzheng(tmp_path / "l.xlsx", rows, title="名单"), MARCH).upload
    out = tmp_path / "rejects.xlsx"
    assert write_rejects_xlsx(up, out) == 2 + up.rows_warned
    sheet = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    header = sheet[1]
    assert header[:3] == ["原行号", "类型", "序号"] and header[-2:] == ["问题列", "原因"]
    body = {int(r[0]): r for r in sheet[2:] if r[1] == "退回"}
    assert body[4][header.index("身份证号")] == "6.40324E+17"
    assert body[4][-1] == REASON_AS_NUMBER
    assert body[5][-2] == "人员类别" and "低保户" in body[5][-1]


def test_household_numbers_and_relations_in_a_list_make_household_files(tmp_path):
    header = [
        "乡镇",
        "行政村",
        "户编号",
        "姓名",
        "公民身份号码",
        "与户主关系",
        "身份类别",
        "纳入时间",
    ]
    rows = [
        ["王团镇", "一村", "6403241000010001", "马一", A, "户主", "脱贫不稳定户", "2024-01-01"],
        ["王团镇", "一村", "6403241000010001", "马二", B, "子女", "脱贫不稳定户", "2024-01-01"],
    ]
    import_list("乡村振兴", write_workbook(tmp_path / "r.xlsx", header, rows), MARCH)
    first, second = Person.objects.get(id_no=A), Person.objects.get(id_no=B)
    assert first.household_id == second.household_id is not None
    assert (first.household.number, first.household.township.name) == ("6403241000010001", "王团镇")
    assert (first.relation, second.relation) == ("户主", "子女")


def test_imports_and_exports_are_written_to_the_audit_trail(tmp_path):
    from fangpin.audit.models import AuditEntry

    up = import_list(
        "民政", minzheng(tmp_path / "l.xlsx", [row("张三", A, "低保对象")]), MARCH
    ).upload
    write_rejects_xlsx(up, tmp_path / "r.xlsx")
    entries = list(
        AuditEntry.objects.filter(obj_type="department_upload", obj_id=str(up.pk)).order_by("pk")
    )
    assert [e.action for e in entries] == ["change", "export"]
    assert entries[0].username.startswith("命令行")
    assert A not in entries[0].summary


def test_a_list_without_begin_dates_starts_spells_on_its_date_and_keeps_known_ones(tmp_path):
    header = ["身份证号", "姓名", "人员类别", "退出日期"]
    import_list(
        "民政",
        minzheng(tmp_path / "3.xlsx", [row("张三", A, "低保对象", begin="2020-05-01")]),
        MARCH,
    )
    plain = write_workbook(
        tmp_path / "4.xlsx",
        header,
        [[A, "张三", "低保对象", "2019-01-01"], [B, "李四", "低保对象", ""]],
    )
    up = import_list("民政", plain, APRIL).upload
    assert (up.rows_new, up.rows_changed, up.rows_unchanged) == (1, 0, 1)
    # 张三's exit before the ledger's begin cannot be right; his spell is left as it was.
    assert list(Identity.objects.filter(person__id_no=A).values_list("begin", "end")) == [
        (dt.date(2020, 5, 1), None)
    ]
    assert Identity.objects.get(person__id_no=B).begin == APRIL
