"""The demo county's area tree and its accounts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from django.contrib.auth import get_user_model
from django.db import transaction

from fangpin import audit
from fangpin.accounts.roles import Role
from fangpin.accounts.services import create_user
from fangpin.commands.users import generate_password
from fangpin.people.models import Area

LEVELS = {
    "county": Area.Level.COUNTY,
    "township": Area.Level.TOWNSHIP,
    "village": Area.Level.VILLAGE,
}


def load_area_tree(areas_csv: Path, user=None) -> int:
    """Create the county, its townships and villages from the generator's areas.csv (code,
    name, level, parent_code); areas already present (same code) are kept. Returns how many
    were created. One transaction, one audit entry."""
    rows = pl.read_csv(areas_csv, infer_schema_length=0).fill_null("")
    with transaction.atomic():
        known = {a.code: a for a in Area.objects.filter(code__in=rows["code"].to_list())}
        created = 0
        for code, name, level, parent_code in rows.select(
            "code", "name", "level", "parent_code"
        ).iter_rows():
            if code in known:
                continue
            parent = known.get(parent_code) if parent_code else None
            known[code] = Area.objects.create(
                code=code, name=name, level=LEVELS[level], parent=parent
            )
            created += 1
        if created:
            county = rows.filter(pl.col("level") == "county").row(0, named=True)
            audit.record(
                user,
                audit.CHANGE,
                "area",
                known[county["code"]].pk,
                f"建立区划 {county['name']}（{county['code']}）：新增 {created} 个区划（演示数据）",
                username=None if user else "fangpin demo",
            )
    return created


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    where: str
    password: str | None  # None when the account existed already (its password is not known)


def _ensure(username: str, role: str, where: str, **kwargs) -> Account:
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return Account(username, role, where, None)
    password = generate_password()
    create_user(username, password, role, **kwargs)
    return Account(username, role, where, password)


def ensure_accounts(main_township: Area) -> list[Account]:
    """One account per role; existing accounts are kept as they are. (Each password is hashed
    with Argon2, about a second apiece on a small server, so the demo makes no more than these.)"""
    return [
        _ensure("admin", Role.ADMIN, "全县", full_name="系统管理员"),
        _ensure("jingban", Role.COUNTY, "全县", full_name="县医保局经办"),
        _ensure(
            f"zg{main_township.code[-3:]}",
            Role.TOWNSHIP,
            main_township.name,
            area_code=main_township.code,
            full_name=f"{main_township.name}专干",
        ),
        _ensure("minzheng", Role.LIAISON, "民政", department="民政", full_name="民政局联络员"),
        _ensure("lingdao", Role.LEADER, "全县", full_name="分管领导"),
    ]
