"""The worklist, the case page with its forms, and the runs page: who sees what, who may write."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fangpin.audit.models import AuditEntry
from fangpin.warnings.models import Case, State
from fangpin.warnings.services import run_screening
from tests.warnings.helpers import D, inpatient, person, settled

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


@pytest.fixture
def cases(users, areas):
    """A red case in 豫海镇 and one in 河西镇 (2025-09-26, deadline 10 Oct)."""
    yuhai, hexi = person("马豫海", township="豫海镇"), person("张河西", township="河西镇")
    claims = settled(
        "ningxia-shizuishan-2025",
        [inpatient(yuhai, "2025-03-01", "150000.00"), inpatient(hexi, "2025-03-01", "150000.00")],
    )
    run_screening(D(2025, 9, 26), "ningxia-shizuishan-2025", claims=claims)
    return Case.objects.get(person=yuhai), Case.objects.get(person=hexi)


def test_a_township_cadre_sees_only_their_townships_cases_with_masked_ids(cases, users, client_for):
    mine, theirs = cases
    page = client_for(users.cadre).get("/warnings/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "马豫海" in html and "张河西" not in html
    assert mine.person.id_no not in html and mine.person.id_no[:6] + "********" in html
    assert "超期" in html  # the deadline of 16 Oct 2025 is long past
    assert client_for(users.cadre).get(f"/warnings/cases/{theirs.pk}/").status_code == 404
    assert client_for(users.county).get(f"/warnings/cases/{theirs.pk}/").status_code == 200
    assert client_for(users.liaison).get("/warnings/").status_code == 403


def test_the_case_page_records_a_visit_with_its_photo_and_refuses_a_skipped_step(
    cases, users, client_for
):
    mine, _ = cases
    c = client_for(users.cadre)
    refused = c.post(f"/warnings/cases/{mine.pk}/", {"action": "close", "feedback": "已处理"})
    assert refused.status_code == 200 and "逐步办理" in refused.content.decode()
    photo = SimpleUploadedFile("表.jpg", JPEG, content_type="image/jpeg")
    done = c.post(
        f"/warnings/cases/{mine.pk}/",
        {
            "action": "visit",
            "date": "2025-09-29",
            "finding": "有风险",
            "visitor": "李专干",
            "photo": photo,
        },
    )
    assert done.status_code == 302
    mine.refresh_from_db()
    assert mine.state == State.VERIFIED
    visit = mine.visits.get()
    shown = c.get(f"/warnings/cases/{mine.pk}/visits/{visit.pk}/photo")
    assert shown.status_code == 200 and b"".join(shown.streaming_content) == JPEG
    c.post(
        f"/warnings/cases/{mine.pk}/",
        {"action": "measure", "kind": "医疗救助", "date": "2025-09-30", "amount": "1234.50"},
    )
    mine.refresh_from_db()
    assert mine.state == State.ASSISTING and mine.measures.get().amount == 123450
    page = c.get(f"/warnings/cases/{mine.pk}/").content.decode()
    assert "1234.50" in page and "待核查 → 已核查" in page
    assert AuditEntry.objects.filter(
        action="view", obj_type="warning_case", obj_id=str(mine.pk)
    ).exists()


def test_read_only_users_cannot_write(cases, users, client_for):
    mine, _ = cases
    assert client_for(users.colleague).get(f"/warnings/cases/{mine.pk}/").status_code == 200
    r = client_for(users.colleague).post(
        f"/warnings/cases/{mine.pk}/",
        {"action": "visit", "date": "2025-09-29", "finding": "无风险"},
    )
    assert r.status_code == 403
    assert (
        client_for(users.leader)
        .post(f"/warnings/cases/{mine.pk}/", {"action": "visit"})
        .status_code
        == 403
    )
    assert not mine.visits.exists()


def test_county_officers_download_a_runs_lists_and_townships_cannot(cases, users, client_for):
    run = cases[0].opened_run
    page = client_for(users.county).get("/warnings/runs/")
    assert page.status_code == 200 and "推送名单" in page.content.decode()
    xlsx = client_for(users.county).get(f"/warnings/runs/{run.pk}/民政.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client_for(users.cadre).get(f"/warnings/runs/{run.pk}/民政.xlsx").status_code == 403
    assert client_for(users.county).get(f"/warnings/runs/{run.pk}/财政.xlsx").status_code == 404
