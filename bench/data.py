"""Synthetic claims and identities at benchmark scale, generated vectorised (no Python loops)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from fangpin.policy.groups import IDENTITIES

WEIGHTS = np.array([7, 8, 9, 10, 5, 8, 4, 2, 3, 2, 2, 4, 6, 3, 2, 1], dtype=float)


def person_numbers(n: int, rng: np.random.Generator) -> pl.Series:
    """18-character resident ID numbers with a valid check character (division 640324)."""
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 80, n).astype("timedelta64[D]")
    ymd = pl.Series(birth).dt.strftime("%Y%m%d")
    seq = pl.Series(np.arange(n) % 1000).cast(pl.String).str.zfill(3)
    body = pl.select(pl.concat_str(pl.lit("640324"), ymd, seq)).to_series()
    digits = np.frombuffer("".join(body.to_list()).encode(), dtype=np.uint8).reshape(n, 17) - 48
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    return pl.select(pl.concat_str(body, pl.Series(check))).to_series().alias("psn_no")


def make(n_claims: int, n_people: int, year: int = 2022, share_with_identity: float = 0.3, seed: int = 7):
    rng = np.random.default_rng(seed)
    people = person_numbers(n_people, rng)
    who = np.sort(rng.integers(0, n_people, n_claims))
    rng.shuffle(who)  # files arrive in settlement order, not by person
    kind = rng.choice(np.array([11, 14, 21], dtype=np.int16), n_claims, p=[0.62, 0.23, 0.15])
    lv = rng.choice(np.array([1, 2, 3, 4], dtype=np.int8), n_claims, p=[0.45, 0.35, 0.15, 0.05])
    scale = np.where(kind == 11, 150_00, np.where(kind == 14, 900_00, 12_000_00))
    medfee = (rng.lognormal(0.0, 1.0, n_claims) * scale).astype(np.int64) + 1000
    own = (medfee * rng.uniform(0, 0.2, n_claims)).astype(np.int64)
    over = (medfee * rng.uniform(0, 0.03, n_claims)).astype(np.int64)
    pre = (medfee * rng.uniform(0, 0.05, n_claims)).astype(np.int64)
    day = rng.integers(0, 365, n_claims)
    claims = pl.DataFrame(
        {
            "setl_id": pl.select(pl.format("S{}", pl.Series(np.arange(n_claims) + 10**10))).to_series(),
            "psn_no": people.gather(who),
            "setl_date": pl.Series(np.datetime64(f"{year}-01-01") + day.astype("timedelta64[D]")).cast(pl.Date),
            "med_type": kind,
            "hosp_lv": lv,
            "in_province": (rng.random(n_claims) < 0.93).astype(np.int8),
            "referral": (rng.random(n_claims) < 0.85).astype(np.int8),
        }
    ).with_columns(
        *(
            (pl.Series(name, fen).cast(pl.Decimal(38, 2)) / 100).cast(pl.Decimal(12, 2))
            for name, fen in (
                ("medfee_sumamt", medfee), ("fulamt_ownpay_amt", own),
                ("overlmt_selfpay", over), ("preselfpay_amt", pre),
            )
        )
    )
    holders = rng.choice(n_people, int(n_people * share_with_identity), replace=False)
    extra = rng.choice(holders, len(holders) // 4)  # a quarter hold a second identity
    psn = np.concatenate([holders, extra])
    names = np.array(list(IDENTITIES))
    begin = np.where(rng.random(len(psn)) < 0.9, -400, rng.integers(0, 330, len(psn)))
    identities = pl.DataFrame(
        {
            "psn_no": people.gather(psn),
            "psn_idet_type": names[rng.choice(len(names), len(psn), p=WEIGHTS / WEIGHTS.sum())],
            "begndate": pl.Series(np.datetime64(f"{year}-01-01") + begin.astype("timedelta64[D]")).cast(pl.Date),
            "enddate": pl.Series([None] * len(psn), dtype=pl.Date),
        }
    )
    return claims, identities


def write(out: Path, n_claims: int, n_people: int, year: int = 2022) -> tuple[Path, Path]:
    """Write the data once; a later run with the same sizes reuses the files."""
    out.mkdir(parents=True, exist_ok=True)
    cp, ip = out / f"claims_{n_claims}.parquet", out / f"identities_{n_people}.parquet"
    if cp.exists() and ip.exists():
        return cp, ip
    claims, identities = make(n_claims, n_people, year)
    claims.write_parquet(cp)
    identities.write_parquet(ip)
    return cp, ip
