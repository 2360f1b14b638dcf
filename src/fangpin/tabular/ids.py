"""Resident ID numbers (公民身份号码, GB 11643): normalising, checking, and spotting Excel damage.

An ID has 18 characters: a 6-digit division code, the birth date YYYYMMDD, a 3-digit sequence
(odd for men) and an ISO 7064 MOD 11-2 check character (0-9 or X). RULES §1: the check
character and a real birth date are required; a division code that did not exist in the birth
year is only a warning (people born before a county was renamed keep the old code, and the
national table lags behind new divisions), so `stdnum.cn.ric.is_valid` — which rejects such
codes — is not used as the test, only its table for the warning.

Spreadsheets damage IDs in two ways that matter: typed with a Chinese input method they come out
in full-width characters or with stray spaces (repaired here), and typed into a number cell Excel
keeps only 15 significant digits (6.40324E+17) — the last digits are gone for good, so such a row
is rejected with a reason that tells the clerk what happened.

The checks are vectorised over Polars columns; `check_id` is the one-value form of the same code.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import polars as pl

# Full-width digits and Latin letters (U+FF10.., U+FF21.., U+FF41..) to their ASCII forms.
_FULLWIDTH = [chr(0xFF10 + i) for i in range(10)] + [chr(0xFF21 + i) for i in range(26)]
_FULLWIDTH += [chr(0xFF41 + i) for i in range(26)]
_HALFWIDTH = [chr(0x30 + i) for i in range(10)] + [chr(0x41 + i) for i in range(26)]
_HALFWIDTH += [chr(0x61 + i) for i in range(26)]
# Whitespace of every kind (Rust's \s is Unicode-aware: ideographic space U+3000, NBSP), plus
# zero-width characters and the quote Excel users type to force text, none of which belong in an ID.
_JUNK = r"[\s\u200b\u200c\u200d\ufeff'\"`]"

# Weights 2^(17-i) mod 11 of the first 17 characters, and the check character for sum mod 11.
WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_FOR_SUM = "10X98765432"

# Text that is a number Excel wrote in scientific notation, or a float printed with ".0".
_SCIENTIFIC = r"^\d(\.\d+)?[Ee]\+?\d{1,2}$"
_FLOAT_TEXT = r"^\d{15,18}\.0*$"

EARLIEST_BIRTH = dt.date(1880, 1, 1)

REASON_EMPTY = "身份证号为空"
REASON_AS_NUMBER = (
    "身份证号被存成了数字，Excel 只保留 15 位有效数字，后几位已丢失"
    "（如 6.40324E+17）；请将该列设为文本格式后重新录入身份证号"
)


class IdCheck(NamedTuple):
    """One ID after checking: the normalised text, an error (None if valid), a warning."""

    id_no: str
    error: str | None
    warning: str | None


def normalize_expr(col: pl.Expr) -> pl.Expr:
    """Full-width to half-width, every space and stray quote removed, lower-case x to X."""
    s = col.cast(pl.String).str.replace_many(_FULLWIDTH, _HALFWIDTH)
    return s.str.replace_all(_JUNK, "").str.to_uppercase()


_TO_HALF = str.maketrans(dict(zip(_FULLWIDTH, _HALFWIDTH, strict=True)))
_JUNK_RE = re.compile(_JUNK)


def normalize_id(text: str) -> str:
    """The scalar form of `normalize_expr`."""
    return _JUNK_RE.sub("", text.translate(_TO_HALF)).upper()


def check_char_expr(id_no: pl.Expr) -> pl.Expr:
    """The check character the first 17 characters call for (a character that is not a digit,
    or missing, counts as 0); `check_chars` is the faster form for a whole column."""
    total = pl.sum_horizontal(
        [id_no.str.slice(i, 1).cast(pl.Int64, strict=False) * w for i, w in enumerate(WEIGHTS)]
    )
    index = (total % 11).cast(pl.Int64)
    return index.replace_strict(
        dict(enumerate(CHECK_FOR_SUM)), default=None, return_dtype=pl.String
    )


_WEIGHT_VECTOR = np.array(WEIGHTS, dtype=np.int64)
_CHECK_SERIES = pl.Series(list(CHECK_FOR_SUM), dtype=pl.String)


def check_chars(id_no: pl.Series) -> pl.Series:
    """`check_char_expr` over a column, as one weighted sum over a matrix of digit bytes."""
    if id_no.len() == 0:
        return pl.Series("expected", [], dtype=pl.String)
    # The first 17 characters, each that is not an ASCII digit as 0: 17 ASCII bytes per ID.
    body = id_no.fill_null("").str.slice(0, 17).str.replace_all("[^0-9]", "0")
    body = body.str.pad_end(17, "0")
    digits = np.frombuffer(body.str.join("").item().encode("ascii"), dtype=np.uint8)
    index = ((digits.reshape(-1, 17).astype(np.int64) - 48) @ _WEIGHT_VECTOR) % 11
    return _CHECK_SERIES.gather(index).alias("expected")


def check_char(body17: str) -> str:
    """The check character of the first 17 digits of an ID."""
    return CHECK_FOR_SUM[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


def looks_excel_mangled(normalised: pl.Expr) -> pl.Expr:
    """An ID that went through a number cell: 6.40324E+17, '…000.0', or 15 good digits then zeros."""
    digits_then_zeros = normalised.str.contains(r"^\d{15}0{1,3}$")
    return (
        normalised.str.contains(_SCIENTIFIC)
        | normalised.str.contains(_FLOAT_TEXT)
        | (digits_then_zeros & normalised.str.len_chars().is_between(16, 18))
    )


def check_ids(
    raw: pl.Series, *, as_number: pl.Series | None = None, today: dt.date | None = None
) -> pl.DataFrame:
    """Check a column of IDs; returns `id_no` (normalised), `error` and `warning` per value.

    `as_number` marks values that came from number cells of a spreadsheet: they are rejected
    whatever they look like, since Excel cannot hold 18 digits in a number.
    """
    today = today or dt.date.today()
    df = pl.DataFrame({"raw": raw.cast(pl.String)})
    if as_number is None:
        as_number = pl.Series([False] * df.height, dtype=pl.Boolean)
    df = df.with_columns(as_number.alias("as_number").fill_null(False))
    s = normalize_expr(pl.col("raw"))
    df = df.select(s.fill_null("").alias("id_no"), "as_number")
    df = df.with_columns(check_chars(df["id_no"]))
    id_no = pl.col("id_no")
    length = id_no.str.len_chars()
    shape_ok = id_no.str.contains(r"^\d{17}[\dX]$")
    birth = id_no.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    date_ok = birth.is_not_null() & (birth >= EARLIEST_BIRTH) & (birth <= pl.lit(today))
    expected = pl.col("expected")
    check_ok = expected == id_no.str.slice(17, 1)
    mangled = pl.col("as_number") | looks_excel_mangled(id_no)
    error = (
        pl.when(id_no == "")
        .then(pl.lit(REASON_EMPTY))
        # A damaged number with a valid check is a real ID that happens to end in zeros.
        .when(mangled & ~(pl.col("as_number").not_() & shape_ok & check_ok.fill_null(False)))
        .then(pl.lit(REASON_AS_NUMBER))
        .when(length != 18)
        .then(pl.format("身份证号应为 18 位，此处为 {} 位", length))
        .when(~shape_ok)
        .then(pl.lit("身份证号前 17 位应为数字，最后一位为数字或 X"))
        .when(~date_ok)
        .then(pl.format("身份证号中的出生日期 {} 不是有效日期", id_no.str.slice(6, 8)))
        .when(~check_ok)
        .then(
            pl.format(
                "身份证号校验位错误（按前 17 位应为 {}，实为 {}），可能有录入错误",
                expected,
                id_no.str.slice(17, 1),
            )
        )
    )
    # Every test passed (none of them null) means no error: the reasons, whose texts cost more
    # than the tests, are then built only for the other rows (few, in a department's list).
    valid = (
        (id_no != "")
        & ~pl.col("as_number")
        & (length == 18)
        & shape_ok
        & date_ok
        & check_ok
        & ~looks_excel_mangled(id_no).fill_null(True)
    ).fill_null(False)
    df = df.with_columns(valid.alias("valid"))
    doubtful = df.with_row_index("i").filter(~pl.col("valid"))
    reasons = doubtful.select("i", error.alias("error"))
    errors = pl.repeat(None, df.height, dtype=pl.String, eager=True).alias("error")
    if reasons.height:
        errors = errors.scatter(reasons["i"], reasons["error"])
    out = df.select("id_no").with_columns(errors)
    return out.with_columns(_division_warnings(out))


def _division_warnings(checked: pl.DataFrame) -> pl.Series:
    """A warning where the division code did not exist in the birth year (valid IDs only)."""
    valid = checked.filter(pl.col("error").is_null())
    pairs = valid.select(
        pl.col("id_no").str.slice(0, 6).alias("code"),
        pl.col("id_no").str.slice(6, 4).alias("year"),
    )
    unique = pairs.unique()
    known = {
        (c, y): _division_known(c, int(y))
        for c, y in zip(unique["code"].to_list(), unique["year"].to_list(), strict=True)
    }
    unknown = {k for k, ok in known.items() if not ok}
    if not unknown:
        return pl.Series("warning", [None] * checked.height, dtype=pl.String)
    code = pl.col("id_no").str.slice(0, 6)
    year = pl.col("id_no").str.slice(6, 4)
    key = pl.concat_str(code, pl.lit("|"), year)
    flagged = pl.Series([f"{c}|{y}" for c, y in unknown], dtype=pl.String)
    warn = pl.when(pl.col("error").is_null() & key.is_in(flagged.implode())).then(
        pl.format(
            "行政区划代码 {} 在出生年份 {} 未见于国家代码表（仅提示，不影响使用）", code, year
        )
    )
    return checked.select(warn.alias("warning")).to_series()


@lru_cache(maxsize=65_536)
def _division_known(code: str, year: int) -> bool:
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    try:
        ric.get_birth_place(f"{code}{year:04d}0101" + "0000")
    except (ValidationError, KeyError):  # KeyError: a prefecture code with no county part
        return False
    return True


def check_id(text: str | float | int | None, *, today: dt.date | None = None) -> IdCheck:
    """Check one ID (a number, as a spreadsheet cell may hold it, counts as damaged)."""
    as_number = isinstance(text, float | int) and not isinstance(text, bool)
    raw = "" if text is None else (excel_general(text) if as_number else str(text))
    out = check_ids(pl.Series([raw]), as_number=pl.Series([as_number]), today=today).row(0)
    return IdCheck(*out)


def excel_general(value: float | int) -> str:
    """A number as Excel's General format shows it in a narrow cell: 6.40324E+17."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) < 10**11:
        return str(value)
    if isinstance(value, float) and abs(value) < 10**11:
        return repr(value)
    mantissa, exponent = f"{value:.5E}".split("E")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}E+{int(exponent):02d}"


def birth_date(id_no: str) -> dt.date:
    """The birth date of a checked ID."""
    return dt.date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))


def sex(id_no: str) -> str:
    """男 for an odd sequence digit (the 17th character), 女 for an even one."""
    return "男" if int(id_no[16]) % 2 else "女"


def birth_expr(id_no: pl.Expr) -> pl.Expr:
    return id_no.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)


def sex_expr(id_no: pl.Expr) -> pl.Expr:
    odd = id_no.str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1
    return pl.when(odd).then(pl.lit("男")).otherwise(pl.lit("女"))
