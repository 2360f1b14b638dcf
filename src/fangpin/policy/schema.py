"""The effective policy of a region on a date, as typed values checked hard.

`build_policy` walks the merged tree of a pack (see `source.py`) and turns it into frozen
dataclasses: money in integer fen, ratios over RATIO_ONE. Anything wrong — an unknown key, a
missing value, a ratio outside 0..1, bands out of order, an unknown group — raises `PackError`
naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fangpin.policy.groups import GROUPS
from fangpin.policy.source import PackError, Value
from fangpin.units import UnitError, parse_ratio, yuan_to_fen

HOSP_LEVELS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Band:
    upto: int | None  # fen above the deductible where the band ends; None = no end
    ratio: int


@dataclass(frozen=True)
class Schedule:
    """An annual function F of a cumulative base (RULES §3): deductible, bands, cap."""

    deductible: int
    bands: tuple[Band, ...]
    cap: int | None  # None = no annual cap


@dataclass(frozen=True)
class Basic:
    inpatient_deductible: dict[int, int]
    inpatient_ratio: dict[int, int]
    chronic_deductible: int
    chronic_ratio: int
    annual_cap: int
    outpatient_ratio: int
    outpatient_cap: int


@dataclass(frozen=True)
class Tilt:
    groups: tuple[str, ...]
    schedule: Schedule  # the tilted schedule, already applied


@dataclass(frozen=True)
class Critical:
    schedule: Schedule
    tilt: Tilt | None


@dataclass(frozen=True)
class GroupTier:
    """A tier paid per group in order (assistance, tilted re-assistance)."""

    order: tuple[str, ...]
    schedules: dict[str, Schedule]
    require_in_province: bool = False
    require_referral: bool = False


@dataclass(frozen=True)
class OutOfCatalogue:
    groups: tuple[str, ...]
    limits: dict[int, int]


@dataclass(frozen=True)
class SubsidyRule:
    kind: str  # full | fixed | percent
    amount: dict[str, int] = field(default_factory=dict)  # fen per contribution tier (fixed)
    ratio: int = 0  # percent of C (percent)


@dataclass(frozen=True)
class Enrollment:
    contribution: dict[str, int]  # contribution tier name -> fen; the first is the default
    subsidy_order: tuple[str, ...]
    subsidies: dict[str, SubsidyRule]
    newborn_window_days: int


@dataclass(frozen=True)
class Level:
    name: str
    above: int | None  # absolute bound in fen, or
    income_multiple: int | None  # a multiple (over RATIO_ONE) of last year's reference income
    deadline_days: int
    working_days: bool


@dataclass(frozen=True)
class WarningRule:
    id: str
    name: str
    measure: str  # psn_part_amt | inscp_selfpay
    med_types: tuple[int, ...]
    population: str  # all | in | not_in | any_identity
    groups: tuple[str, ...]
    levels: tuple[Level, ...]


@dataclass(frozen=True)
class Warnings:
    income_name: str
    reference_income: dict[int, int]
    rules: tuple[WarningRule, ...]


@dataclass(frozen=True)
class Exchange:
    push_before_day: int
    tagging_working_days: int


@dataclass(frozen=True)
class Policy:
    pack_id: str
    name: str
    groups_order: tuple[str, ...]
    basic: Basic
    critical: Critical
    assistance: GroupTier
    reassistance: GroupTier | None
    out_of_catalogue: OutOfCatalogue | None
    enrollment: Enrollment
    warnings: Warnings
    missed_notice_threshold: int
    exchange: Exchange


# --- reading helpers -------------------------------------------------------------------


class Node:
    """A mapping of the merged tree; reading keys records them so unknown ones are caught."""

    def __init__(self, data: Any, path: str, file: str):
        if not isinstance(data, dict):
            where = data.file if isinstance(data, Value) else file
            raise PackError(where, path, "expected a mapping of keys")
        self.data, self.path, self.file, self.used = data, path, file, set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def node(self, key: str) -> Node:
        self.used.add(key)
        if self.data.get(key) is None:
            raise PackError(self.file, self._key(key), "missing")
        return Node(self.data[key], self._key(key), self.file)

    def get(self, key: str, parse: Callable[[Value, str], Any], default: Any = ...) -> Any:
        self.used.add(key)
        v = self.data.get(key)
        if v is None:
            if default is ...:
                raise PackError(self.file, self._key(key), "missing value")
            return default
        if not isinstance(v, Value):
            raise PackError(self.file, self._key(key), "expected one value marked !seed or !assumed")
        try:
            return parse(v, self._key(key))
        except UnitError as exc:
            raise PackError(v.file, self._key(key), str(exc)) from None

    def items(self) -> list[tuple[str, Any]]:
        self.used.update(self.data)
        return list(self.data.items())

    def finish(self) -> None:
        for key in self.data:
            if key not in self.used:
                v = self.data[key]
                raise PackError(v.file if isinstance(v, Value) else self.file, self._key(key), "unknown key")


def money(v: Value, key: str) -> int:
    return yuan_to_fen(v.raw)


def money_or_none(v: Value, key: str) -> int | None:
    if str(v.raw).strip().lower() in ("none", "null", "无"):
        return None
    return yuan_to_fen(v.raw)


def ratio(v: Value, key: str) -> int:
    return parse_ratio(v.raw)


def whole(v: Value, key: str) -> int:
    try:
        n = int(str(v.raw))
    except ValueError:
        raise PackError(v.file, key, f"not a whole number: {v.raw!r}") from None
    if n < 0:
        raise PackError(v.file, key, f"negative: {n}")
    return n


def text(v: Value, key: str) -> str:
    if not isinstance(v.raw, str) or not v.raw.strip():
        raise PackError(v.file, key, "expected text")
    return v.raw.strip()


def flag(v: Value, key: str) -> bool:
    s = str(v.raw).strip().lower()
    if s in ("true", "yes", "1"):
        return True
    if s in ("false", "no", "0"):
        return False
    raise PackError(v.file, key, f"expected true or false, got {v.raw!r}")


def group_list(v: Value, key: str) -> tuple[str, ...]:
    if not isinstance(v.raw, list):
        raise PackError(v.file, key, "expected a list of groups")
    for g in v.raw:
        if g not in GROUPS:
            raise PackError(v.file, key, f"unknown group {g!r}")
    if len(set(v.raw)) != len(v.raw):
        raise PackError(v.file, key, "a group is listed twice")
    return tuple(v.raw)


def by_level(parse_one: Callable[[str], int]) -> Callable[[Value, str], dict[int, int]]:
    def parse(v: Value, key: str) -> dict[int, int]:
        if not isinstance(v.raw, dict):
            raise PackError(v.file, key, "expected a mapping by hospital level 1..4")
        out = {}
        for k, x in v.raw.items():
            if k not in ("1", "2", "3", "4"):
                raise PackError(v.file, f"{key}.{k}", "unknown hospital level (1..4)")
            out[int(k)] = parse_one(x)
        missing = [lv for lv in HOSP_LEVELS if lv not in out]
        if missing:
            raise PackError(v.file, key, f"missing hospital level {missing[0]}")
        return out

    return parse


def bands(v: Value, key: str) -> tuple[Band, ...]:
    if not isinstance(v.raw, list) or not v.raw:
        raise PackError(v.file, key, "expected a list of bands")
    out: list[Band] = []
    for i, b in enumerate(v.raw):
        if not isinstance(b, dict) or set(b) - {"upto", "ratio"} or "ratio" not in b:
            raise PackError(v.file, f"{key}[{i}]", "a band is {upto: amount or none, ratio: r}")
        upto = b.get("upto")
        upto_fen = None if upto in (None, "none", "null", "") else yuan_to_fen(upto)
        if out and (out[-1].upto is None or (upto_fen is not None and upto_fen <= out[-1].upto)):
            raise PackError(v.file, f"{key}[{i}]", "bands out of order")
        out.append(Band(upto_fen, parse_ratio(b["ratio"])))
    return tuple(out)
