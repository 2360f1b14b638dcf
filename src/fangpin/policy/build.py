"""Build a `Policy` from a pack's merged tree of values (see schema.py for the types)."""

from __future__ import annotations

from fangpin.policy.groups import DEFAULT_ORDER, GROUPS
from fangpin.policy.schema import (
    Band,
    Basic,
    Critical,
    Enrollment,
    Exchange,
    GroupTier,
    Level,
    Node,
    OutOfCatalogue,
    Policy,
    Schedule,
    SubsidyRule,
    Tilt,
    WarningRule,
    Warnings,
    bands,
    by_level,
    flag,
    group_list,
    money,
    money_or_none,
    ratio,
    text,
    whole,
)
from fangpin.policy.source import PackError, Value
from fangpin.units import RATIO_ONE, parse_ratio, yuan_to_fen

MEASURES = ("psn_part_amt", "inscp_selfpay")
MED_TYPES = (11, 14, 21)


def build_policy(pack_id: str, name: str, tree: dict, file: str) -> Policy:
    root = Node(tree, "", file)
    groups_order = root.get("groups_order", group_list, DEFAULT_ORDER)
    policy = Policy(
        pack_id=pack_id,
        name=name,
        groups_order=groups_order,
        basic=_basic(root.node("basic")),
        critical=_critical(root.node("critical")),
        assistance=_group_tier(root.node("assistance"), "deductible"),
        reassistance=_group_tier(root.node("reassistance"), "threshold") if root.has("reassistance") else None,
        out_of_catalogue=_ooc(root.node("out_of_catalogue")) if root.has("out_of_catalogue") else None,
        enrollment=_enrollment(root.node("enrollment"), groups_order),
        warnings=_warnings(root.node("warnings")),
        missed_notice_threshold=_missed(root.node("missed_benefits")),
        exchange=_exchange(root.node("exchange")),
    )
    root.used.update({"reassistance", "out_of_catalogue"})
    root.finish()
    return policy


def _missed(n: Node) -> int:
    threshold = n.get("notice_threshold", money)
    n.finish()
    return threshold


def value_node(v: Value | dict, key: str, file: str) -> Node:
    """A mapping given either as one tagged value or as structure with tagged leaves."""
    if isinstance(v, Value):
        if not isinstance(v.raw, dict):
            raise PackError(v.file, key, "expected a mapping")
        return Node({k: Value(x, v.source, v.file, v.seed) for k, x in v.raw.items()}, key, v.file)
    return Node(v, key, file)


def _basic(n: Node) -> Basic:
    out = Basic(
        inpatient_deductible=n.get("inpatient_deductible", by_level(yuan_to_fen)),
        inpatient_ratio=n.get("inpatient_ratio", by_level(parse_ratio)),
        chronic_deductible=n.get("chronic_deductible", money, 0),
        chronic_ratio=n.get("chronic_ratio", ratio),
        annual_cap=n.get("annual_cap", money),
        outpatient_ratio=n.get("outpatient_ratio", ratio),
        outpatient_cap=n.get("outpatient_cap", money),
    )
    n.finish()
    return out


def _choice(v: Value, key: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    if not isinstance(v.raw, dict) or len(v.raw) != 1 or next(iter(v.raw)) not in allowed:
        raise PackError(v.file, key, f"expected one of {', '.join(allowed)}, e.g. {{{allowed[0]}: ...}}")
    k, x = next(iter(v.raw.items()))
    return k, x


def _critical(n: Node) -> Critical:
    base = Schedule(n.get("deductible", money), n.get("bands", bands), n.get("annual_cap", money_or_none))
    tilt = None
    if n.has("tilt"):
        t = n.node("tilt")
        groups = t.get("groups", group_list)
        how, amount = t.get("deductible", lambda v, k: _choice(v, k, ("cut", "fixed")))
        if how == "cut":
            cut = parse_ratio(amount)
            deductible = base.deductible - (base.deductible * cut + RATIO_ONE // 2) // RATIO_ONE
        else:
            deductible = yuan_to_fen(amount)
        how_r, r = t.get("ratio", lambda v, k: _choice(v, k, ("add", "set")))
        delta = parse_ratio(r)
        new_bands = []
        for b in base.bands:
            value = b.ratio + delta if how_r == "add" else delta
            if value > RATIO_ONE:
                raise PackError(t.file, f"{t.path}.ratio", f"tilted ratio {value / RATIO_ONE} above 1")
            new_bands.append(Band(b.upto, value))
        cap = t.get("annual_cap", money_or_none)
        t.finish()
        tilt = Tilt(groups, Schedule(deductible, tuple(new_bands), cap))
    n.finish()
    return Critical(base, tilt)


def _group_tier(n: Node, floor_key: str) -> GroupTier:
    order = n.get("order", group_list)
    shared_cap = n.get("annual_cap", money_or_none, None)
    g = n.node("groups")
    schedules: dict[str, Schedule] = {}
    for group, v in g.items():
        key = f"{g.path}.{group}"
        if group not in GROUPS:
            raise PackError(v.file if isinstance(v, Value) else g.file, key, f"unknown group {group!r}")
        if v is None or (isinstance(v, Value) and str(v.raw).strip() in ("none", "null")):
            continue
        sub = value_node(v, key, g.file)
        floor = sub.get(floor_key, money)
        r = sub.get("ratio", ratio)
        cap = sub.get("annual_cap", money_or_none, shared_cap)
        sub.finish()
        schedules[group] = Schedule(floor, (Band(None, r),), cap)
    missing = [x for x in order if x not in schedules]
    if missing:
        raise PackError(n.file, f"{n.path}.groups.{missing[0]}", "missing: the group is in the order")
    extra = [x for x in schedules if x not in order]
    if extra:
        raise PackError(n.file, f"{n.path}.order", f"group {extra[0]!r} has values but is not in the order")
    tier = GroupTier(
        order=order,
        schedules=schedules,
        require_in_province=n.get("require_in_province", flag, False),
        require_referral=n.get("require_referral", flag, False),
    )
    n.finish()
    return tier


def _ooc(n: Node) -> OutOfCatalogue:
    out = OutOfCatalogue(n.get("groups", group_list), n.get("limits", by_level(parse_ratio)))
    n.finish()
    return out


def _contribution(v: Value, key: str) -> dict[str, int]:
    if isinstance(v.raw, dict):
        if not v.raw:
            raise PackError(v.file, key, "no contribution tier")
        return {str(k): yuan_to_fen(x) for k, x in v.raw.items()}
    return {"一档": yuan_to_fen(v.raw)}


def _enrollment(n: Node, groups_order: tuple[str, ...]) -> Enrollment:
    contribution = n.get("contribution", _contribution)
    order = n.get("subsidy_order", group_list, groups_order)
    s = n.node("subsidies")
    rules: dict[str, SubsidyRule] = {}
    for group, v in s.items():
        key = f"{s.path}.{group}"
        if group not in GROUPS:
            raise PackError(v.file if isinstance(v, Value) else s.file, key, f"unknown group {group!r}")
        if v is None:
            continue
        if not isinstance(v, Value):
            raise PackError(s.file, key, "expected one value marked !seed or !assumed")
        rule = _subsidy_rule(v, key, contribution)
        if rule is not None:
            rules[group] = rule
    out = Enrollment(contribution, order, rules, n.get("newborn_window_days", whole, 30))
    n.finish()
    return out


def _subsidy_rule(v: Value, key: str, contribution: dict[str, int]) -> SubsidyRule | None:
    raw = v.raw
    if isinstance(raw, str):
        if raw.strip() in ("none", "null", "无"):
            return None
        if raw.strip() == "full":
            return SubsidyRule("full")
        raise PackError(v.file, key, f"expected full, none, {{percent: r}} or {{fixed: amount}}, got {raw!r}")
    how, x = _choice(v, key, ("percent", "fixed"))
    try:
        if how == "percent":
            return SubsidyRule("percent", ratio=parse_ratio(x))
        if isinstance(x, dict):
            unknown = [t for t in x if t not in contribution]
            if unknown:
                raise PackError(v.file, f"{key}.fixed.{unknown[0]}", "unknown contribution tier")
            return SubsidyRule("fixed", amount={t: yuan_to_fen(a) for t, a in x.items()})
        return SubsidyRule("fixed", amount=dict.fromkeys(contribution, yuan_to_fen(x)))
    except ValueError as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(v.file, key, str(exc)) from None


def _population(v: Value, key: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(v.raw, str) and v.raw in ("all", "any_identity"):
        return v.raw, ()
    kind, groups = _choice(v, key, ("in", "not_in"))
    return kind, group_list(Value(groups, v.source, v.file, v.seed), f"{key}.{kind}")


def _level(node: Node) -> Level:
    key, file = node.path, node.file
    name = node.get("name", text)
    above = node.get("above", money, None)
    multiple = node.get("above_income_multiple", lambda v, k: parse_ratio(v.raw, high=None), None)
    if (above is None) == (multiple is None):
        raise PackError(file, key, "give exactly one of above and above_income_multiple")
    kind, days = node.get("deadline", lambda v, k: _choice(v, k, ("working_days", "calendar_days")))
    node.finish()
    if not str(days).isdigit():
        raise PackError(file, f"{key}.deadline", f"not a whole number of days: {days!r}")
    return Level(name, above, multiple, int(days), kind == "working_days")


def _warnings(n: Node) -> Warnings:
    inc = n.node("reference_income")
    income_name = inc.get("name", text)
    by_year: dict[int, int] = {}
    if inc.has("by_year"):
        years = inc.node("by_year")
        for y, v in years.items():
            if not str(y).isdigit():
                raise PackError(years.file, f"{years.path}.{y}", "expected a year")
            by_year[int(y)] = money(v, f"{years.path}.{y}")
    inc.finish()
    rules_raw = n.data.get("rules")
    n.used.add("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise PackError(n.file, f"{n.path}.rules", "expected a list of warning rules")
    rules = []
    for i, r in enumerate(rules_raw):
        rn = Node(r, f"{n.path}.rules[{i}]", n.file)
        rid = rn.get("id", text)
        measure = rn.get("measure", text)
        if measure not in MEASURES:
            raise PackError(rn.file, f"{rn.path}.measure", f"unknown measure {measure!r} ({', '.join(MEASURES)})")
        med_types = rn.get("med_types", _med_types, MED_TYPES)
        population, groups = rn.get("population", _population)
        levels_raw = rn.data.get("levels")
        rn.used.add("levels")
        if not isinstance(levels_raw, list) or not levels_raw:
            raise PackError(rn.file, f"{rn.path}.levels", "expected a list of levels")
        levels = []
        for j, lv in enumerate(levels_raw):
            levels.append(_level(value_node(lv, f"{rn.path}.levels[{j}]", rn.file)))
        _check_levels(levels, rn)
        rules.append(WarningRule(rid, rn.get("name", text), measure, med_types, population, groups, tuple(levels)))
        rn.finish()
    if len({r.id for r in rules}) != len(rules):
        raise PackError(n.file, f"{n.path}.rules", "two rules with the same id")
    n.finish()
    return Warnings(income_name, by_year, tuple(rules))


def _med_types(v: Value, key: str) -> tuple[int, ...]:
    if not isinstance(v.raw, list) or not all(str(x) in ("11", "14", "21") for x in v.raw):
        raise PackError(v.file, key, "expected a list of med types among 11, 14, 21")
    return tuple(int(x) for x in v.raw)


def _check_levels(levels: list[Level], rn: Node) -> None:
    absolute = [lv.above for lv in levels if lv.above is not None]
    multiples = [lv.income_multiple for lv in levels if lv.income_multiple is not None]
    if absolute and multiples:
        raise PackError(rn.file, f"{rn.path}.levels", "levels mix absolute and income bounds")
    bounds = absolute or multiples
    if any(b >= c for b, c in zip(bounds, bounds[1:], strict=False)):
        raise PackError(rn.file, f"{rn.path}.levels", "levels out of order (each bound must be above the last)")


def _exchange(n: Node) -> Exchange:
    out = Exchange(n.get("push_before_day", whole), n.get("tagging_working_days", whole))
    n.finish()
    return out
