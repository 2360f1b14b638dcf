"""Resident ID numbers (公民身份号码, GB 11643-1999) for synthetic people.

An ID is 6 digits of administrative division, 8 digits of birth date, a 3-digit
sequence (odd for men, even for women) and an ISO 7064 MOD 11-2 check character.

The division code is the one valid *in the birth year*: people born before 1998 in
同心县 carry 642127 (银南地区同心县), later ones 640324. python-stdnum checks this too,
so using the historical code keeps every generated ID valid there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Weights of the first 17 digits: 2**(17 - i) mod 11 for positions i = 0..16.
_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
# Check value v = (12 - sum mod 11) mod 11, written as a digit or "X" for 10.
_CHECK_CHARS = np.array(list("0123456789X"))


@dataclass(frozen=True)
class Place:
    """A county whose division code changed over time: (first birth year, code) pairs."""

    name: str
    codes: tuple[tuple[int, str], ...]  # sorted by first year; the first entry covers all before

    def code_for_years(self, years: np.ndarray) -> np.ndarray:
        """Division code (as int) valid for each birth year."""
        firsts = np.array([y for y, _ in self.codes], dtype=np.int64)
        values = np.array([int(c) for _, c in self.codes], dtype=np.int64)
        idx = np.searchsorted(firsts, years, side="right") - 1
        return values[np.clip(idx, 0, len(values) - 1)]


# Home county codes by birth year. Year ranges follow the national division code history
# (the same table python-stdnum ships): a code renamed in year Y is valid for both
# codes in Y, so switching at Y is safe.
HOME_PLACES: dict[str, Place] = {
    "同心县": Place("同心县", ((0, "642127"), (1998, "640324"))),
    "盐池县": Place("盐池县", ((0, "642126"), (1998, "640323"))),
}

# Where people who married or moved into the county were born (neighbouring counties
# of Ningxia and Gansu). Used for a few percent of IDs.
OTHER_PLACES: tuple[Place, ...] = (
    Place("利通区", ((0, "642121"), (1983, "642101"), (1998, "640302"))),
    Place("青铜峡市", ((0, "642122"), (1984, "642102"), (1998, "640381"))),
    Place("海原县", ((0, "642222"), (2001, "640421"), (2003, "640522"))),
    Place("西吉县", ((0, "642223"), (2001, "640422"))),
    Place("盐池县", ((0, "642126"), (1998, "640323"))),
    Place("靖远县", ((0, "622422"), (1985, "620421"))),
    Place("会宁县", ((0, "622423"), (1985, "620422"))),
)


def check_char(body17: str) -> str:
    """Check character for the first 17 digits of an ID (scalar version)."""
    total = sum(int(d) * int(w) for d, w in zip(body17, _WEIGHTS, strict=True))
    return str(_CHECK_CHARS[(12 - total % 11) % 11])


def check_chars(bodies: np.ndarray) -> np.ndarray:
    """Check characters for an int64 array of 17-digit ID bodies (vectorised)."""
    bodies = np.asarray(bodies, dtype=np.int64)
    total = np.zeros(len(bodies), dtype=np.int64)
    rest = bodies.copy()
    # Peel digits from the right: position 16 first.
    for i in range(16, -1, -1):
        total += (rest % 10) * _WEIGHTS[i]
        rest //= 10
    return _CHECK_CHARS[(12 - total % 11) % 11]


def unique_sequences(
    rng: np.random.Generator, division: np.ndarray, birth_ymd: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """3-digit sequence codes, odd for men and even for women, unique per division and date.

    People sharing division, birth date and sex get consecutive slots after a random
    start, so no two IDs collide (500 slots per sex and day is far more than a county
    ever needs).
    """
    n = len(division)
    key = (division.astype(np.int64) * 100_000_000 + birth_ymd.astype(np.int64)) * 2 + male
    order = np.lexsort((rng.random(n), key))
    sorted_key = key[order]
    starts = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    group_start_pos = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    rank = np.arange(n) - group_start_pos
    offset = rng.integers(0, 500, size=n)[group_start_pos]  # one random start per group
    slot = np.empty(n, dtype=np.int64)
    slot[order] = (offset + rank) % 500
    if n and rank.max() >= 500:
        raise ValueError("more than 500 people of one sex born on one day in one division")
    return slot * 2 + male.astype(np.int64)


def make_ids(division: np.ndarray, birth_ymd: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """18-character ID strings from division codes, yyyymmdd ints and sequence codes."""
    body = (
        division.astype(np.int64) * 10**11
        + birth_ymd.astype(np.int64) * 1000
        + sequence.astype(np.int64)
    )
    # Every division code starts with a non-zero digit, so str(body) has 17 digits.
    return np.char.add(body.astype(str), check_chars(body)).astype(object)


# --- deliberate damage, as seen in department spreadsheets ----------------------------

_FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def to_fullwidth(id_no: str) -> str:
    """Full-width digits, as typed with a Chinese input method in full-width mode."""
    return id_no.translate(_FULLWIDTH)


def with_wrong_check(id_no: str, bump: int) -> str:
    """Same ID with a different (wrong) check character; bump in 1..10 picks which."""
    good = int(_index_of_check(id_no[17]))
    return id_no[:17] + str(_CHECK_CHARS[(good + bump) % 11])


def excel_number(id_no: str) -> float:
    """The value Excel keeps when an ID is typed into a number cell: 15 significant digits."""
    return float(id_no[:15] + "000")


def _index_of_check(ch: str) -> int:
    return 10 if ch == "X" else int(ch)
