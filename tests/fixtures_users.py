"""Users of every role for any app's tests.

    def test_a_cadre_of_another_township_gets_404(users, client_for, person_in_yuhai):
        response = client_for(users.outsider).get(f"/people/{person_in_yuhai.pk}/")
        assert response.status_code == 404

The county is 同心县 (640324); `cadre` and `colleague` (read-only) work in 豫海镇, `outsider`
in 河西镇. When the people ledger is installed, `areas` holds those Area rows so an app's test
can put its records in the same townships the users are scoped to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from fangpin.accounts.roles import Role
from fangpin.accounts.services import create_user

TEST_PASSWORD = "Tongxin-2025-test"
COUNTY = ("640324", "同心县")
YUHAI = ("640324100", "豫海镇")
HEXI = ("640324101", "河西镇")


@dataclass(frozen=True)
class Users:
    admin: Any  # 系统管理员
    county: Any  # 县级经办
    cadre: Any  # 乡镇专干, 豫海镇
    colleague: Any  # 乡镇专干, 豫海镇, read-only
    outsider: Any  # 乡镇专干, 河西镇
    leader: Any  # 领导 (read-only by role)
    liaison: Any  # 部门联络员, 民政

    def all(self) -> list[Any]:
        return [
            self.admin,
            self.county,
            self.cadre,
            self.colleague,
            self.outsider,
            self.leader,
            self.liaison,
        ]


@pytest.fixture
def areas(db) -> dict[str, Any]:
    """The county and its two townships as people.Area rows, by name (empty without the app)."""
    if not apps.is_installed("fangpin.people"):
        return {}
    Area = apps.get_model("people", "Area")
    county, _ = Area.objects.get_or_create(
        code=COUNTY[0], defaults={"name": COUNTY[1], "level": "county"}
    )
    out = {COUNTY[1]: county}
    for code, name in (YUHAI, HEXI):
        out[name], _ = Area.objects.get_or_create(
            code=code, defaults={"name": name, "level": "township", "parent": county}
        )
    return out


@pytest.fixture
def users(db, areas) -> Users:
    def make(username: str, role: str, **kw: Any) -> Any:
        return create_user(username, TEST_PASSWORD, role, **kw)

    return Users(
        admin=make("admin", Role.ADMIN, full_name="管理员"),
        county=make("county", Role.COUNTY, full_name="马县经办"),
        cadre=make(
            "yuhai", Role.TOWNSHIP, area_code=YUHAI[0], area_name=YUHAI[1], full_name="李专干"
        ),
        colleague=make(
            "yuhai-ro",
            Role.TOWNSHIP,
            area_code=YUHAI[0],
            area_name=YUHAI[1],
            read_only=True,
            full_name="王只读",
        ),
        outsider=make(
            "hexi", Role.TOWNSHIP, area_code=HEXI[0], area_name=HEXI[1], full_name="张河西"
        ),
        leader=make("leader", Role.LEADER, full_name="杨局长"),
        liaison=make("minzheng", Role.LIAISON, department="民政", full_name="周民政"),
    )


@pytest.fixture
def client_for(db):
    """A function giving a test client logged in as a user (one client per user)."""
    clients: dict[int, Client] = {}

    def get(user: Any) -> Client:
        if user.pk not in clients:
            c = Client()
            c.force_login(user)
            clients[user.pk] = c
        return clients[user.pk]

    return get
