"""Chinese personal names and village names for synthetic people and places.

The character lists are written for this generator. Surname weights lean towards the
Hui surnames common in southern Ningxia (马, 杨, 丁, 海, 金, 田, 白 …), since most of
同心县's population is Hui. Given names mix older and newer character fashions so that
a child and a grandparent of one household read differently.
"""

from __future__ import annotations

import numpy as np

# (surname, relative weight)
_SURNAMES: tuple[tuple[str, float], ...] = (
    ("马", 30), ("杨", 8), ("李", 6), ("王", 6), ("丁", 5), ("张", 4), ("海", 3),
    ("金", 3), ("田", 3), ("白", 3), ("刘", 3), ("何", 2), ("周", 2), ("韩", 2),
    ("穆", 1.5), ("苏", 1.5), ("冯", 1.5), ("陈", 1.5), ("赵", 1.5), ("锁", 1),
    ("撒", 1), ("纳", 1), ("哈", 1), ("虎", 1), ("米", 1), ("沙", 1), ("黑", 1),
    ("敏", 1), ("魏", 1), ("罗", 1), ("吴", 1), ("拜", 0.5), ("者", 0.5), ("妥", 0.5),
    ("摆", 0.5), ("保", 0.5), ("兰", 0.5), ("康", 0.5), ("余", 0.5), ("蒋", 0.5),
    ("喜", 0.3), ("洪", 0.3), ("高", 0.8), ("郭", 0.6), ("孙", 0.5), ("朱", 0.4),
)  # fmt: skip

# Given-name characters: (older fashion, newer fashion) per sex.
_MALE_OLD = "国建军平华明强伟勇学文成忠德福贵海山林龙虎义宝俊志荣兵亮宏正祥有生青彦存占维良新春万永登金银尔萨努穆哈仁孝廷富"
_MALE_NEW = "浩宇轩杰涛鹏飞斌刚峰博文泽睿航晨阳子梓皓瑞奕铭辰安然嘉豪逸凯锐鑫宁磊翔昊哲轩晓"
_FEMALE_OLD = "秀兰英花梅芳霞红丽娟燕琴凤玲萍艳桂珍彩翠菊月云香莲梨玉素叶巧春金凤银芝"
_FEMALE_NEW = "静慧敏婷雪丹佳欣悦娜蕊瑞晶倩璐涵怡萱彤琪雅思梦诗瑶颖琳妍钰菲可馨悦雨若"

# Village names: a first part and a landform ending, as in the loess hills of the county.
_VILLAGE_FIRST = (
    "马家", "杨家", "李家", "丁家", "田家", "金家", "海家", "白家", "周家", "韩家",
    "红", "新", "上", "下", "东", "西", "南", "北", "大", "小", "高", "老", "黑",
    "白杨", "清水", "红城", "石", "沙", "羊", "杏", "梨", "柳", "榆树", "泉", "井",
    "河", "窑", "团结", "和平", "兴旺", "碱", "苦水", "甜水", "双", "三", "五",
)  # fmt: skip
_VILLAGE_LAST = "塬庄湾沟岔洼滩堡渠梁岘套圈口台井山坪沿"
_COMMUNITY_FIRST = (
    "新华", "民主", "文化", "城东", "城西", "南关", "北关", "阳光", "和谐", "振兴",
    "复兴", "东方", "西苑", "清河", "团结", "幸福",
)  # fmt: skip


def _pool(chars: str) -> np.ndarray:
    return np.array(list(dict.fromkeys(chars)))  # dedupe, keep order


_POOLS = {
    (True, False): _pool(_MALE_OLD),
    (True, True): _pool(_MALE_NEW),
    (False, False): _pool(_FEMALE_OLD),
    (False, True): _pool(_FEMALE_NEW),
}


def surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """n surnames drawn with the county's weights."""
    chars = np.array([s for s, _ in _SURNAMES])
    weights = np.array([w for _, w in _SURNAMES], dtype=float)
    return chars[rng.choice(len(chars), size=n, p=weights / weights.sum())]


def given_names(rng: np.random.Generator, male: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """Given names of one or two characters, in the fashion of each person's birth cohort."""
    n = len(male)
    # Newer characters become likelier for people born from the 1990s on.
    p_new = np.clip((birth_year - 1985) / 25, 0.05, 0.9)
    new = rng.random(n) < p_new
    two_chars = rng.random(n) < np.where(new, 0.85, 0.7)
    first = np.empty(n, dtype=object)
    second = np.full(n, "", dtype=object)
    for (is_male, is_new), pool in _POOLS.items():
        sel = (male == is_male) & (new == is_new)
        k = int(sel.sum())
        first[sel] = pool[rng.integers(0, len(pool), size=k)]
        idx2 = rng.integers(0, len(pool), size=k)
        second[sel] = np.where(two_chars[sel], pool[idx2], "")
    return first + second


def person_names(
    rng: np.random.Generator, family: np.ndarray, male: np.ndarray, birth_year: np.ndarray
) -> np.ndarray:
    """Full names: the given family surname (children take the father's) plus a given name."""
    return family + given_names(rng, male, birth_year)


def village_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """n distinct village names ending in 村, none of them already in ``taken``."""
    out: list[str] = []
    while len(out) < n:
        first = _VILLAGE_FIRST[int(rng.integers(0, len(_VILLAGE_FIRST)))]
        last = _VILLAGE_LAST[int(rng.integers(0, len(_VILLAGE_LAST)))]
        name = f"{first}{last}村"
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def community_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """n distinct urban community (社区) names for a county seat."""
    firsts = [f for f in _COMMUNITY_FIRST if f"{f}社区" not in taken]
    if n > len(firsts):
        raise ValueError(f"only {len(firsts)} community names available, {n} asked")
    picked = [firsts[i] + "社区" for i in rng.permutation(len(firsts))[:n]]
    taken.update(picked)
    return picked
