from django import template

from fangpin.units import fen_to_yuan

register = template.Library()


@register.filter
def yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals (money is integer fen inside)."""
    return "" if fen is None else fen_to_yuan(int(fen))
