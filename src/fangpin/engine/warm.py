"""Compile the engine's numba functions once, into numba's cache on disk.

numba compiles a function the first time it is called and keeps the machine code beside the
source (`__pycache__`), so every later process loads it in milliseconds. The first batch on a
fresh installation would otherwise spend some ten seconds compiling. The installation runs

    python -m fangpin.engine.warm

which settles a few claims the way every caller does (a claims file read and validated, the
batch, one online claim) and so compiles each function for the argument types it is given.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from fangpin.engine.settle import settle_batch, settle_one
from fangpin.policy.groups import IDENTITIES
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import read_inputs
from fangpin.tabular.output import write_settled

PACK = "anhui-huaibei-2022"


def _claims(n: int) -> pl.DataFrame:
    """n claims of n // 4 people over 2022, every kind and level; amounts in yuan."""
    i = np.arange(n)
    fen = pl.Series(i * 7919 % 500_000 + 100)
    return (
        pl.DataFrame(
            {
                "setl_id": [f"W{k}" for k in range(n)],
                "psn_no": [f"P{k % (n // 4)}" for k in range(n)],
                "setl_date": np.datetime64("2022-01-01") + (i % 365).astype("timedelta64[D]"),
                "med_type": np.array([11, 14, 21, 23], dtype=np.int16)[i % 4],
                "hosp_lv": (i % 4 + 1).astype(np.int8),
                "in_province": (i % 2).astype(np.int8),
                "referral": np.ones(n, dtype=np.int8),
            }
        )
        .with_columns(
            ((fen if c == "medfee_sumamt" else fen * 0).cast(pl.Decimal(38, 2)) / 100)
            .cast(pl.Decimal(12, 2))
            .alias(c)
            for c in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
        )
        .with_columns(pl.col("setl_date").cast(pl.Date))
    )


def warm_up(n: int = 40_000) -> float:
    """Settle n claims from a Parquet file and one online claim; returns the seconds it took."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fangpin-warm-") as tmp:
        claims = _claims(n)
        cp, ip = Path(tmp, "claims.parquet"), Path(tmp, "identities.csv")
        claims.write_parquet(cp)
        people = claims["psn_no"].unique().sort()
        pl.DataFrame(
            {
                "psn_no": people,
                "psn_idet_type": [
                    list(IDENTITIES)[k % len(IDENTITIES)] for k in range(len(people))
                ],
                "begndate": ["2022-03-01"] * len(people),
                "enddate": [""] * len(people),
            }
        ).write_csv(ip)
        c, ids = read_inputs(cp, ip)
        pack = load_pack(PACK)
        result = settle_batch(pack, c.good, ids.good)
        write_settled(result.claims, Path(tmp, "settled.parquet"), c.source)
        settle_one(
            pack,
            kind=2,
            hosp_lv=2,
            in_province=1,
            referral=1,
            inscp=500_000,
            medfee=600_000,
            fulamt=50_000,
            setl_date=dt.date(2022, 6, 1),
            group_mask=0,
        )
    return time.perf_counter() - t0


def compiled_versions() -> int:
    """How many compiled versions the engine's numba functions hold in this process (a number
    that grows means something was compiled)."""
    from numba.core.registry import CPUDispatcher

    from fangpin.engine import kernel, order, radix

    return sum(
        len(f.signatures)
        for m in (kernel, order, radix)
        for f in vars(m).values()
        if isinstance(f, CPUDispatcher)
    )


if __name__ == "__main__":
    print(f"fangpin: the engine compiled in {warm_up():.1f} s (numba's cache, beside the source)")
