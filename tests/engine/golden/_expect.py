"""The expected figures of one settled claim, written the way they are worked by hand.

Amounts are yuan strings with two decimals; a tier left out is "0.00". `fund` and `psn` are
always given explicitly, so each test shows the whole bill: fund = hifp + hifmi + maf + oth and
psn = medfee − fund − hosp (RULES §3).
"""

from __future__ import annotations

from tests.engine.helpers import OUT


def bill(
    *,
    hifp: str = "0.00",
    hifmi: str = "0.00",
    maf: str = "0.00",
    oth: str = "0.00",
    hosp: str = "0.00",
    fund: str,
    psn: str,
) -> dict[str, str]:
    """The seven money columns of one claim, in the helper's names."""
    return dict(zip(OUT, (hifp, hifmi, maf, oth, hosp, fund, psn), strict=True))


def money(row: dict) -> dict[str, str]:
    """The money columns of a settled claim (its group is asserted on its own)."""
    return {k: row[k] for k in OUT}
