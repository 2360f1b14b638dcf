"""Home, navigation, the region pack viewer, account administration, static files, headers."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from fangpin.accounts.models import Profile
from fangpin.audit.models import AuditEntry
from fangpin.site import nav

pytestmark = pytest.mark.django_db


def chart_islands(body: str) -> dict[str, dict]:
    found = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', body, re.S)
    return {i: json.loads(text) for i, text in found}


def test_home_shows_the_users_name_role_and_area_and_the_pack_in_use(users, client_for):
    body = client_for(users.cadre).get("/").content.decode()
    assert "李专干" in body and "乡镇专干" in body and "豫海镇" in body
    assert "在用区域政策包" in body and "baseline" in body
    assert "本乡镇特殊人群在册" in body


def test_leaders_and_county_officers_get_the_county_dashboard_with_user_counts_and_charts(
    users, client_for
):
    for user in (users.leader, users.county):
        body = client_for(user).get("/").content.decode()
        assert "在用账户" in body and "全县参保率" in body
        charts = chart_islands(body)
        assert set(charts) == {"chart-users", "chart-logins", "chart-login-outcomes"}
        counts = dict(
            zip(
                charts["chart-users"]["labels"],
                charts["chart-users"]["series"][0]["values"],
                strict=True,
            )
        )
        assert counts == {"系统管理员": 1, "县级经办": 1, "乡镇专干": 3, "部门联络员": 1, "领导": 1}
        assert charts["chart-login-outcomes"]["type"] == "stacked"


def test_township_cadres_get_no_county_figures(users, client_for):
    body = client_for(users.cadre).get("/").content.decode()
    assert "在用账户" not in body and not chart_islands(body)


def test_the_dashboard_counts_logins_per_day(users):
    Client().post("/accounts/login/", {"username": "county", "password": "wrong-one-1"})
    Client().post("/accounts/login/", {"username": "county", "password": "Tongxin-2025-test"})
    from fangpin.reports.dashboard import login_activity

    labels, ok, failed = login_activity(days=3)
    today = timezone.localdate()
    assert labels[-1] == f"{today.month}/{today.day}" and (ok[-1], failed[-1]) == (1, 1)


def test_the_side_navigation_shows_only_existing_pages_the_role_may_open(users, client_for):
    admin_body = client_for(users.admin).get("/").content.decode()
    cadre_body = client_for(users.cadre).get("/").content.decode()
    assert "审计日志" in admin_body and "账户管理" in admin_body
    assert "审计日志" not in cadre_body and "区域政策包" in cadre_body
    nav.register("人员档案", "人员查询", "people:not-built-yet")
    try:
        assert "人员查询" not in client_for(users.county).get("/").content.decode()
    finally:
        nav.unregister("人员档案", "people:not-built-yet")


def test_the_navigation_registry_knows_only_the_nine_sections():
    assert nav.SECTIONS == (
        "首页",
        "部门数据",
        "人员档案",
        "参保监测",
        "结算",
        "预警",
        "统计",
        "政策",
        "审计",
    )
    with pytest.raises(ValueError, match="unknown section"):
        nav.register("杂项", "x", "home")
    menu = nav.menu("县级经办", "/policy/x/")
    sections = [s["section"] for s in menu]
    # Sections come in the registry's order; the audit section is the administrator's alone.
    assert sections == [s for s in nav.SECTIONS if s in sections]
    assert sections[0] == "首页" and "政策" in sections and "审计" not in sections
    by_section = {s["section"]: s for s in menu}
    assert by_section["政策"]["links"][0]["active"]
    assert not by_section["首页"]["links"][0]["active"]


def test_the_pack_list_shows_every_region_pack_and_marks_the_one_in_use(
    users, client_for, settings
):
    settings.FANGPIN_POLICY = "ningxia-wuzhong-2025"
    body = client_for(users.leader).get("/policy/").content.decode()
    for pack_id in (
        "anhui-huaibei-2022",
        "ningxia-wuzhong-2025",
        "shanxi-linxian-2023",
        "baseline",
    ):
        assert f'href="/policy/{pack_id}/"' in body
    assert re.search(r'ningxia-wuzhong-2025</a> <span class="tag">在用</span>', body)


def test_a_pack_shows_its_values_on_a_date_with_seed_and_assumed_marks(users, client_for):
    from fangpin.policy.registry import flatten, load_pack

    pack = load_pack("ningxia-wuzhong-2025")
    day = dt.date(2025, 6, 1)
    values = flatten(pack.tree_at(day))
    response = client_for(users.cadre).get("/policy/ningxia-wuzhong-2025/", {"date": "2025-06-01"})
    body = response.content.decode()
    assert response.status_code == 200 and "2025年6月1日" in body
    assert body.count('<td class="key">') == len(values)
    n_seed = sum(v.source == "seed" for _, v in values)
    assert f"● 种子文件规定 {n_seed} 项" in body and f"○ 假定值 {len(values) - n_seed} 项" in body
    assert (
        '<span class="dot seed">●</span>' in body
        and '<span class="dot assumed">○</span> 假定值' in body
    )


def test_a_pack_viewed_on_an_unreadable_date_says_so_and_shows_today(users, client_for):
    body = client_for(users.cadre).get("/policy/baseline/", {"date": "2025-13-45"}).content.decode()
    assert "无法识别" in body and timezone.localdate().strftime("%Y-%m-%d") in body


def test_unknown_packs_and_file_paths_are_not_found(users, client_for):
    client = client_for(users.county)
    for path in ("/policy/no-such-pack/", "/policy/..%2Fetc%2Fpasswd.yaml/", "/policy/Baseline/"):
        response = client.get(path)
        assert response.status_code == 404 and "未找到" in response.content.decode()


def test_read_only_users_posting_to_a_page_get_403_and_others_405(users, client_for):
    assert client_for(users.leader).post("/policy/").status_code == 403
    assert client_for(users.colleague).post("/").status_code == 403
    assert client_for(users.county).post("/policy/").status_code == 405


def test_a_logged_in_user_without_a_role_is_refused_every_page(db):
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.create_user("norole", password="x"))
    for path in ("/", "/policy/", "/audit/"):
        assert client.get(path).status_code == 403


def test_only_the_system_administrator_sees_the_accounts_page(users, client_for):
    assert client_for(users.admin).get("/accounts/users/").status_code == 200
    for user in (users.county, users.cadre, users.leader, users.liaison):
        assert client_for(user).get("/accounts/users/").status_code == 403


def test_the_administrator_unlocks_an_account_and_the_change_is_audited(users, client_for):
    Profile.objects.filter(user=users.cadre).update(
        locked_until=timezone.now() + dt.timedelta(minutes=10)
    )
    body = client_for(users.admin).get("/accounts/users/").content.decode()
    assert "锁定至" in body and "解除锁定" in body
    response = client_for(users.admin).post(f"/accounts/users/{users.cadre.pk}/unlock/")
    assert response.status_code == 302
    assert not Profile.objects.get(user=users.cadre).is_locked()
    entry = AuditEntry.objects.get(action="change", user=users.admin)
    assert entry.obj_id == str(users.cadre.pk) and entry.summary == "解除锁定 yuhai"


def test_a_read_only_administrator_cannot_unlock_and_others_are_refused(users, client_for):
    Profile.objects.filter(user=users.admin).update(read_only=True)
    assert (
        client_for(users.admin).post(f"/accounts/users/{users.cadre.pk}/unlock/").status_code == 403
    )
    assert (
        client_for(users.county).post(f"/accounts/users/{users.cadre.pk}/unlock/").status_code
        == 403
    )
    Profile.objects.filter(user=users.admin).update(read_only=False)
    assert client_for(users.admin).post("/accounts/users/999999/unlock/").status_code == 404


def test_static_files_are_served_with_debug_off_and_without_login(settings):
    assert settings.DEBUG is False
    client = Client()
    for path, kind in (
        ("/static/fangpin/chart.js", "javascript"),
        ("/static/fangpin/site.css", "text/css"),
    ):
        response = client.get(path)
        assert response.status_code == 200 and kind in response["Content-Type"]
    assert client.get("/static/fangpin/nothing.js").status_code == 404
    assert client.get("/static/../settings.py").status_code == 404


def test_pages_forbid_caching_framing_and_foreign_scripts(users, client_for):
    response = client_for(users.county).get("/")
    assert "no-store" in response["Cache-Control"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()  # no inline script, only JSON islands


def test_only_the_most_specific_link_is_marked_active_in_the_menu():
    menu = nav.menu("县级经办", "/claims/notices/12/")
    active = [link["label"] for s in menu for link in s["links"] if link["active"]]
    assert active == ["应享未享通知"]
    assert not any(link["active"] for s in nav.menu("县级经办", "/nowhere/") for link in s["links"])
