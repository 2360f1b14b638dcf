"""Identities (人员身份) as departments name them, and the groups the rules use (RULES §1)."""

from __future__ import annotations

# identity -> (group, pushing department). Seeds 001 and 004 say who pushes which list.
IDENTITIES: dict[str, tuple[str, str]] = {
    "特困人员": ("特困", "民政"),
    "孤儿": ("特困", "民政"),
    "事实无人抚养儿童": ("特困", "民政"),
    "低保对象": ("低保", "民政"),
    "高龄低收入老年人": ("低保", "民政"),
    "低保边缘家庭成员": ("低保边缘", "民政"),
    "返贫致贫人口": ("返贫致贫", "乡村振兴"),
    "脱贫不稳定户": ("监测对象", "乡村振兴"),
    "边缘易致贫户": ("监测对象", "乡村振兴"),
    "突发严重困难户": ("监测对象", "乡村振兴"),
    "稳定脱贫人口": ("稳定脱贫", "乡村振兴"),
    "因病致贫重病患者": ("因病致贫", "民政"),
    "1-2级残疾人": ("重度残疾", "残联"),
    "严重精神障碍患者": ("严重精神障碍", "卫健"),
    "重点优抚对象": ("优抚", "退役军人事务"),
    "计划生育特殊困难家庭成员": ("计生特殊", "卫健"),
}

# The default order of groups (RULES §1); a pack's lists may order them differently.
DEFAULT_ORDER: tuple[str, ...] = (
    "特困",
    "低保",
    "返贫致贫",
    "监测对象",
    "低保边缘",
    "因病致贫",
    "重度残疾",
    "严重精神障碍",
    "优抚",
    "计生特殊",
    "稳定脱贫",
)

GROUPS: frozenset[str] = frozenset(DEFAULT_ORDER)

# Each group owns one bit, so the groups active for a claim fit in one small integer.
GROUP_BIT: dict[str, int] = {g: 1 << i for i, g in enumerate(DEFAULT_ORDER)}

DEPARTMENTS: tuple[str, ...] = ("民政", "乡村振兴", "残联", "卫健", "退役军人事务")

# Other names departments use for themselves.
DEPARTMENT_ALIASES: dict[str, str] = {
    "农业农村": "乡村振兴",
    "乡村振兴局": "乡村振兴",
    "农业农村局": "乡村振兴",
    "民政局": "民政",
    "残联": "残联",
    "残疾人联合会": "残联",
    "卫健委": "卫健",
    "卫生健康委": "卫健",
    "退役军人事务局": "退役军人事务",
    "退役军人": "退役军人事务",
}


def group_of(identity: str) -> str:
    """The group of a canonical identity name; KeyError for an unknown one."""
    return IDENTITIES[identity][0]


def groups_mask(groups: list[str] | tuple[str, ...] | frozenset[str]) -> int:
    mask = 0
    for g in groups:
        mask |= GROUP_BIT[g]
    return mask


def first_group(mask: int, order: tuple[str, ...]) -> str | None:
    """The first group of `order` whose bit is in `mask` (RULES §1), or None."""
    for g in order:
        if mask & GROUP_BIT[g]:
            return g
    return None
