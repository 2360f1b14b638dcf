"""Filters and tags for the pages: money, rates and ID numbers as each user may see them.

{% load fangpin_tags %}
{{ record.subsidy|yuan }}         integer fen -> "1,234.50"
{{ row.rate|percent }}            0.98765 -> "98.77%"
{% shown_id person.id_no %}       whole or masked, by the logged-in user's role
{{ row|get_item:"已参保(居民)" }}   a dict value whose key a template cannot spell
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template

from fangpin.accounts.access import mask_id
from fangpin.units import fen_to_yuan

register = template.Library()


@register.filter
def yuan(fen: Any) -> str:
    """Integer fen as yuan with two decimals and thousands separators; empty for no value.
    Amounts stay integers all the way here, so the page shows exactly what was computed."""
    if fen is None or fen == "":
        return ""
    try:
        text = fen_to_yuan(int(fen))
    except (TypeError, ValueError):
        return ""
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, cents = text.split(".")
    return f"{sign}{int(whole):,}.{cents}"


@register.filter
def percent(ratio: Any, digits: int = 2) -> str:
    """A ratio (0.98765) as a percentage ("98.77%"), rounded half-up; "—" when there is none
    (a township with nobody to enrol has no rate, which is not the same as 0%)."""
    if ratio is None or ratio == "":
        return "—"
    try:
        value = Decimal(str(ratio)) * 100
    except ArithmeticError:
        return "—"
    quantum = Decimal(1).scaleb(-int(digits))
    return f"{value.quantize(quantum, rounding=ROUND_HALF_UP)}%"


@register.simple_tag(takes_context=True)
def shown_id(context: template.Context, id_no: Any) -> str:
    """The ID number as the logged-in user may see it in a list (masked unless the role needs
    the whole number)."""
    request = context.get("request")
    return mask_id(id_no, getattr(request, "user", None))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """mapping[key], or "" when absent: status names such as 已参保(居民) are not valid
    template variable names."""
    getter = getattr(mapping, "get", None)
    return getter(key, "") if getter is not None else ""
