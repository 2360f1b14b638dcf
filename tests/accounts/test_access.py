"""The access framework: area scope, read-only writes, ID masking, the role decorator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from fangpin.accounts.access import (
    area_scope,
    department_scope,
    get_in_scope_or_404,
    is_read_only,
    mask_id,
    require_write,
    role_required,
    scope_queryset,
)
from fangpin.accounts.services import AccountError, create_user
from fangpin.audit.models import AuditEntry
from fangpin.people.models import Area

ID = "640324199001011234"


@pytest.mark.django_db
def test_township_cadres_are_scoped_to_their_township_and_county_roles_to_nothing(users):
    assert area_scope(users.cadre) == area_scope(users.colleague) == "640324100"
    assert area_scope(users.outsider) == "640324101"
    for user in (users.admin, users.county, users.leader, users.liaison):
        assert area_scope(user) is None
    assert department_scope(users.liaison) == "民政" and department_scope(users.county) is None


@pytest.mark.django_db
def test_a_user_without_a_role_has_no_scope_at_all_rather_than_the_whole_county():
    norole = User.objects.create_user("norole", password="x")
    for user in (norole, AnonymousUser()):
        with pytest.raises(PermissionDenied):
            area_scope(user)
        with pytest.raises(PermissionDenied):
            require_write(user)


@pytest.mark.django_db
def test_read_only_accounts_and_leaders_may_not_write(users):
    for user in (users.colleague, users.leader):
        assert is_read_only(user)
        with pytest.raises(PermissionDenied):
            require_write(user)
    for user in (users.admin, users.county, users.cadre, users.outsider, users.liaison):
        require_write(user)


@pytest.mark.django_db
def test_scoped_lookups_find_rows_in_the_area_and_404_elsewhere(users, areas):
    townships = Area.objects.filter(level="township")
    yuhai, hexi = areas["豫海镇"], areas["河西镇"]
    assert list(scope_queryset(townships, users.cadre, "code")) == [yuhai]
    assert set(scope_queryset(townships, users.county, "code")) == {yuhai, hexi}
    assert get_in_scope_or_404(townships, users.cadre, yuhai.pk, "code") == yuhai
    assert get_in_scope_or_404(townships, users.county, hexi.pk, "code") == hexi
    for pk in (hexi.pk, 999_999, "not-a-number"):
        with pytest.raises(Http404):
            get_in_scope_or_404(townships, users.cadre, pk, "code")


@pytest.mark.django_db
def test_id_numbers_are_masked_except_for_roles_that_need_them(users):
    assert mask_id(ID) == "640324********1234"
    assert mask_id(ID, users.cadre) == "640324********1234"
    assert mask_id(ID, users.leader) == "640324********1234"
    assert mask_id(ID, users.county) == ID
    assert mask_id("", users.county) == "" and mask_id(None) == ""
    assert mask_id("12345") == "*****"
    assert mask_id("640324199001011") == "640324*****1011"


@pytest.mark.django_db
def test_the_role_decorator_sends_anonymous_users_to_login_and_refuses_other_roles(users):
    @role_required("县级经办", "领导")
    def view(request):
        return HttpResponse("ok")

    rf = RequestFactory()
    request = rf.get("/x/")
    request.user = AnonymousUser()
    assert view(request).status_code == 302
    for user, allowed in (
        (users.county, True),
        (users.leader, True),
        (users.cadre, False),
        (users.admin, False),
    ):
        request = rf.get("/x/")
        request.user = user
        if allowed:
            assert view(request).status_code == 200
        else:
            with pytest.raises(PermissionDenied):
                view(request)


@pytest.mark.django_db
def test_the_role_decorator_refuses_writes_from_read_only_users(users):
    @role_required()
    def view(request):
        return HttpResponse("ok")

    rf = RequestFactory()
    for method in ("post", "put", "patch", "delete"):
        request = getattr(rf, method)("/x/")
        request.user = users.leader
        with pytest.raises(PermissionDenied):
            view(request)
    request = rf.get("/x/")
    request.user = users.leader
    assert view(request).status_code == 200


def test_the_role_decorator_refuses_unknown_role_names():
    with pytest.raises(ValueError, match="unknown roles"):
        role_required("县长")


@pytest.mark.django_db
def test_creating_users_checks_role_area_and_department_and_is_audited(areas):
    with pytest.raises(AccountError, match="未知角色"):
        create_user("a", "Pass-word-2025", "县长")
    with pytest.raises(AccountError, match="区划代码"):
        create_user("a", "Pass-word-2025", "乡镇专干")
    with pytest.raises(AccountError, match="部门"):
        create_user("a", "Pass-word-2025", "部门联络员")
    user = create_user("a", "Pass-word-2025", "乡镇专干", area_code="640324100")
    assert user.profile.area_name == "豫海镇"  # looked up in the people ledger
    with pytest.raises(AccountError, match="已存在"):
        create_user("a", "Pass-word-2025", "县级经办")
    entry = AuditEntry.objects.get(action="change", obj_type="user")
    assert (
        entry.obj_id == str(user.pk)
        and "创建用户 a" in entry.summary
        and entry.username == "(命令行)"
    )


# --- the same rules over HTTP, through a miniature app view (tests/accounts/scoped_urls.py) ---

scoped = pytest.mark.urls("tests.accounts.scoped_urls")


@scoped
@pytest.mark.django_db
def test_a_cadre_of_another_township_gets_404_for_a_record_outside_her_area(
    users, areas, client_for
):
    yuhai = areas["豫海镇"]
    assert client_for(users.outsider).get(f"/scoped/{yuhai.pk}/").status_code == 404
    assert client_for(users.outsider).post(f"/scoped/{yuhai.pk}/", {"name": "x"}).status_code == 404
    assert client_for(users.outsider).get("/scoped/").content.decode() == "河西镇"
    assert not AuditEntry.objects.filter(obj_type="area").exists()


@scoped
@pytest.mark.django_db
def test_a_cadre_sees_her_own_townships_record_and_the_view_is_audited(users, areas, client_for):
    yuhai = areas["豫海镇"]
    response = client_for(users.cadre).get(f"/scoped/{yuhai.pk}/")
    assert response.status_code == 200 and response.content.decode() == "豫海镇"
    entry = AuditEntry.objects.get(action="view", obj_type="area")
    assert (entry.user, entry.obj_id) == (users.cadre, str(yuhai.pk))


@scoped
@pytest.mark.django_db
def test_a_read_only_colleague_in_the_same_township_gets_403_when_writing(users, areas, client_for):
    yuhai = areas["豫海镇"]
    assert client_for(users.colleague).get(f"/scoped/{yuhai.pk}/").status_code == 200
    response = client_for(users.colleague).post(f"/scoped/{yuhai.pk}/", {"name": "改名"})
    assert response.status_code == 403 and "无权操作" in response.content.decode()
    assert (
        client_for(users.leader).post(f"/scoped/{yuhai.pk}/", {"name": "改名"}).status_code == 403
    )
    yuhai.refresh_from_db()
    assert yuhai.name == "豫海镇"


@scoped
@pytest.mark.django_db
def test_a_cadre_changes_her_own_townships_record_and_the_change_is_audited(
    users, areas, client_for
):
    yuhai = areas["豫海镇"]
    assert (
        client_for(users.cadre).post(f"/scoped/{yuhai.pk}/", {"name": "豫海镇新"}).status_code
        == 200
    )
    entry = AuditEntry.objects.get(action="change", obj_type="area")
    assert entry.user == users.cadre and entry.summary == "改名为 豫海镇新"
