"""`fangpin demo`: a small synthetic county's year built through the real services.

The year is built once for the module on the test PostgreSQL server (the database a bureau
runs), inside one transaction that is rolled back at the end so no other test sees it. The
command itself, on its default embedded SQLite file, is run once in a subprocess.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction

from fangpin.accounts.roles import ALL_ROLES, Role
from fangpin.audit.models import AuditEntry
from fangpin.claims.models import Claim, Notice, ResettleRun, Settlement
from fangpin.demo.casework import CaseWork, work_cases
from fangpin.demo.cycle import MARK, build_demo
from fangpin.enrollment.models import (
    EnrollmentImport,
    EnrollmentRecord,
    ReconciliationRun,
    UnenrolledItem,
)
from fangpin.people.models import Area, DepartmentUpload, Identity, Person, UploadReject
from fangpin.warnings.models import Case, CaseEvent, Feedback, Measure, ScreeningRun, State, Visit

# Every test here reads the database the module's demo was built in (the marker also makes
# pytest-django set up the test database before the module fixture opens its transaction).
pytestmark = pytest.mark.django_db

PEOPLE = 1500
WZ = "ningxia-wuzhong-2025"
# Rows a re-run must leave exactly as they were (runs themselves may be recorded again).
KEPT = (
    Person, Identity, DepartmentUpload, UploadReject, EnrollmentImport, EnrollmentRecord,
    UnenrolledItem, Claim, Settlement, Case, Visit, Measure, Feedback, Notice,
)  # fmt: skip


def _counts() -> dict[str, int]:
    counts = {m.__name__: m.objects.count() for m in KEPT}
    counts["users"] = get_user_model().objects.count()
    return counts


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    with django_db_blocker.unblock(), transaction.atomic():
        first = build_demo(people=PEOPLE, year=2025, pack_id=WZ, work_dir=work, seed=1)
        after_first = _counts()
        again = build_demo(people=PEOPLE, year=2025, pack_id=WZ, work_dir=work, seed=1)
        after_again = _counts()
        yield {"first": first, "again": again, "counts": (after_first, after_again), "work": work}
        transaction.set_rollback(True)


def test_the_departments_lists_are_imported_every_month_with_dirty_rows_rejected_and_kept(demo):
    assert demo["first"].refused == []
    uploads = DepartmentUpload.objects.all()
    assert uploads.count() == 60
    assert {u.list_date.month for u in uploads} == set(range(1, 13))
    assert uploads.filter(rows_rejected__gt=0).count() > 10
    assert UploadReject.objects.filter(level=UploadReject.Level.REJECT).count() >= sum(
        u.rows_rejected for u in uploads
    )
    # Most lists are tagged by the bureau; a few are left for the overdue list.
    assert 0 < uploads.filter(tagged_at__isnull=True).count() < 5


def test_the_ledger_holds_the_special_population_with_identities_and_townships(demo):
    assert Identity.objects.count() > 300
    special = Person.objects.filter(identities__isnull=False).distinct()
    assert special.filter(township__isnull=False).count() == special.count()
    assert Person.objects.filter(township__code="640324100").exists()
    # Everyone else takes the place they are enrolled in: a warning of anyone in the county
    # reaches a township (only people never enrolled here, such as babies, have none).
    placed = Person.objects.filter(township__isnull=False).count()
    assert placed >= 0.97 * Person.objects.count()
    assert Case.objects.filter(township__isnull=True).count() <= 0.03 * Case.objects.count()


def test_enrollment_is_imported_reconciled_monthly_and_subsidised(demo):
    assert EnrollmentImport.objects.filter(year=2025).count() >= 6
    runs = ReconciliationRun.objects.filter(year=2025)
    assert runs.count() == 12
    assert UnenrolledItem.objects.filter(year=2025).exists()
    assert EnrollmentRecord.objects.filter(year=2025, subsidy__gt=0).count() > 100
    assert demo["first"].summary.enrollment_rate >= 0.99


def test_every_claim_of_the_year_is_settled_once_and_missed_benefits_are_run(demo):
    claims = Claim.objects.filter(setl_date__year=2025)
    assert claims.count() > 3000
    assert Settlement.objects.filter(kind=Settlement.Kind.SETTLE).count() == claims.count()
    assert not claims.filter(settlements__isnull=True).exists()
    assert ResettleRun.objects.filter(year=2025).count() == 1
    ratio = demo["first"].summary.poor_ratio
    assert 0.80 <= ratio <= 0.92


def test_screening_runs_monthly_and_townships_work_the_cases(demo):
    assert ScreeningRun.objects.filter(year=2025).count() == 12
    cases = Case.objects.filter(year=2025)
    assert cases.count() > 10
    assert Visit.objects.exists() and Measure.objects.exists() and Feedback.objects.exists()
    closed = cases.filter(state=State.CLOSED)
    assert closed.count() > cases.count() / 2
    s = demo["first"].summary
    assert s.closed == closed.count() and 0 < s.overdue < cases.count() / 3
    assert s.red_persons / s.special < 0.03
    # The township's own officer closed the cases of the township that has one.
    officer = next(a for a in demo["first"].accounts if a.role == Role.TOWNSHIP)
    theirs = closed.filter(township__code__endswith=officer.username[2:])
    closers = set(
        CaseEvent.objects.filter(case__in=theirs, to_state=State.CLOSED).values_list(
            "user__username", flat=True
        )
    )
    assert closers <= {officer.username}
    others = CaseEvent.objects.filter(case__in=closed.exclude(pk__in=theirs), to_state=State.CLOSED)
    assert set(others.values_list("user__username", flat=True)) == {"jingban"}


def test_working_the_cases_again_at_the_years_end_records_nothing_new(demo):
    users = {u.username: u for u in get_user_model().objects.all()}
    officer = next(a for a in demo["first"].accounts if a.role == Role.TOWNSHIP).username
    township = Area.objects.get(code=users[officer].profile.area_code).pk
    before, events = _counts(), CaseEvent.objects.count()
    with transaction.atomic():
        again = work_cases(
            dt.date(2025, 12, 31), 1, {township: users[officer]}, users["jingban"], dt.date.today()
        )
        assert again == CaseWork()
        assert _counts() == before and CaseEvent.objects.count() == events
        transaction.set_rollback(True)


def test_one_account_per_role_is_made_with_a_password_that_logs_in(demo):
    accounts = demo["first"].accounts
    assert sorted(a.role for a in accounts) == sorted(ALL_ROLES)
    for a in accounts:
        assert a.password, a.username
        user = authenticate(username=a.username, password=a.password)
        assert user is not None and user.profile.role == a.role


def test_a_second_run_reuses_the_finished_demo_and_changes_nothing(demo):
    again = demo["again"]
    assert again.reused and again.months == 0
    assert all(a.password is None for a in again.accounts)
    assert sorted(a.username for a in again.accounts) == sorted(
        a.username for a in demo["first"].accounts
    )
    first, second = demo["counts"]
    assert first == second
    assert again.summary.lines() == demo["first"].summary.lines()


def test_an_interrupted_demo_is_resumed_without_duplicating_anything(demo):
    before = _counts()
    with transaction.atomic():
        AuditEntry.objects.filter(obj_type=MARK).delete()  # as if it had stopped before the end
        resumed = build_demo(people=PEOPLE, year=2025, pack_id=WZ, work_dir=demo["work"], seed=1)
        assert not resumed.reused and resumed.months == 12
        assert _counts() == before
        assert resumed.summary.lines() == demo["first"].summary.lines()
        transaction.set_rollback(True)


def test_the_command_builds_on_the_embedded_sqlite_file_and_a_rerun_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FANGPIN_"))}
    env["FANGPIN_HOME"] = str(tmp_path)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "fangpin.cli", "demo", "--people", "300", "--no-serve"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fangpin.sqlite3").exists()
    assert "2025-12 完成" in done.stderr
    for username in ("admin", "jingban", "minzheng", "lingdao"):
        line = next(x for x in done.stdout.splitlines() if x.strip().startswith(username + " "))
        assert len(line.split()[-1]) == 14  # the generated password
    assert "特殊人群参保率" in done.stdout
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "已有演示数据" in rerun.stdout and "（已存在）" in rerun.stdout
