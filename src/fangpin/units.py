"""Exact money and ratio arithmetic shared by every layer.

Money is integer fen (分). Ratios are integers over RATIO_ONE (four decimal places, enough for
every ratio in the documents: 0.65, 0.05 percentage points, a 2x income multiple). Parsing goes
through Decimal so a value like "0.1" never passes through a binary float.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

RATIO_ONE = 10_000


class UnitError(ValueError):
    """A value that is not a valid amount or ratio; the message says why."""


def _decimal(text: str | int | Decimal) -> Decimal:
    if isinstance(text, bool):
        raise UnitError(f"not a number: {text!r}")
    if isinstance(text, int | Decimal):
        return Decimal(text)
    cleaned = str(text).strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise UnitError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise UnitError(f"not a finite number: {text!r}")
    return value


def yuan_to_fen(text: str | int | Decimal, *, allow_negative: bool = False) -> int:
    """Parse a yuan amount with at most two decimals into integer fen, exactly."""
    value = _decimal(text)
    if value < 0 and not allow_negative:
        raise UnitError(f"negative amount: {text!r}")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise UnitError(f"more than 2 decimals: {text!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """Integer fen as a yuan string with exactly two decimals."""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def parse_ratio(text: str | int | Decimal, *, low: int = 0, high: int | None = RATIO_ONE) -> int:
    """Parse a ratio such as 0.65 into an integer over RATIO_ONE, checking its range."""
    value = _decimal(text)
    scaled = value * RATIO_ONE
    if scaled != scaled.to_integral_value():
        raise UnitError(f"more than 4 decimals: {text!r}")
    result = int(scaled)
    if result < low or (high is not None and result > high):
        hi = "" if high is None else f"..{Decimal(high) / RATIO_ONE}"
        raise UnitError(f"ratio {text} outside {Decimal(low) / RATIO_ONE}{hi}")
    return result


def ratio_text(ratio: int) -> str:
    """A ratio over RATIO_ONE as a percentage for people: 6500 -> '65%'."""
    pct = Decimal(ratio) * 100 / RATIO_ONE
    return f"{pct.normalize():f}%"


def mul_ratio(amount: int, ratio: int) -> int:
    """amount × ratio rounded half-up to the fen (amount ≥ 0)."""
    return (amount * ratio + RATIO_ONE // 2) // RATIO_ONE
