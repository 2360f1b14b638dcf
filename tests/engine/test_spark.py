"""The batch settlement on Spark (local mode) settles exactly as `settle_batch` on one machine:
each person's claims and identities meet in one partition whatever the partitioning, and the
results (every amount in fen, and the group) are the same claim for claim."""

import datetime as dt
import os
import sys

import numpy as np
import polars as pl
import pytest
from pyspark.sql import SparkSession

from fangpin.engine.settle import RESULT_COLUMNS, settle_batch
from fangpin.engine.spark import settle_spark
from fangpin.policy.groups import IDENTITIES
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import validate_claims, validate_identities
from tests.engine.helpers import claims_frame, identities_frame

PACK = "shanxi-linxian-2023"


@pytest.fixture(scope="module")
def spark():
    # The workers run this interpreter, the one with fangpin installed.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("fangpin-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "3")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def county(n_people: int = 300, n_claims: int = 2500, seed: int = 5):
    """Validated claims of 2023 in random order, and identities: a third of the people hold
    one, some from mid-year, some ended mid-year, a few two at once."""
    rng = np.random.default_rng(seed)
    who = rng.integers(0, n_people, n_claims)
    med = rng.choice(["11", "14", "21"], n_claims, p=[0.6, 0.25, 0.15])
    scale = np.where(med == "11", 200, np.where(med == "14", 1500, 30000))
    fee = (rng.lognormal(0, 1, n_claims) * scale * 100).astype(np.int64) + 100
    own = (fee * rng.uniform(0, 0.15, n_claims)).astype(np.int64)
    day = rng.integers(0, 365, n_claims)
    claims = claims_frame(
        [
            {
                "setl_id": f"S{i:06d}",
                "psn_no": f"P{who[i]:04d}",
                "setl_date": (dt.date(2023, 1, 1) + dt.timedelta(days=int(day[i]))).isoformat(),
                "med_type": med[i],
                "hosp_lv": str(rng.integers(1, 5)),
                "referral": str(int(rng.random() < 0.9)),
                "medfee_sumamt": f"{fee[i] // 100}.{fee[i] % 100:02d}",
                "fulamt_ownpay_amt": f"{own[i] // 100}.{own[i] % 100:02d}",
            }
            for i in range(n_claims)
        ]
    )
    names = list(IDENTITIES)
    rows = []
    for p in range(0, n_people, 3):
        begin = dt.date(2022, 6, 1) if p % 2 else dt.date(2023, 1, 1) + dt.timedelta(days=p % 200)
        end = dt.date(2023, 8, 31) if p % 7 == 0 else None
        rows.append({"psn_no": f"P{p:04d}", "psn_idet_type": names[p % len(names)],
                     "begndate": begin.isoformat(), "enddate": end and end.isoformat()})  # fmt: skip
        if p % 9 == 0:
            rows.append({"psn_no": f"P{p:04d}", "psn_idet_type": names[(p + 5) % len(names)],
                         "begndate": "2023-04-01"})  # fmt: skip
    c, i = validate_claims(claims), validate_identities(identities_frame(rows))
    assert c.rejects.height == 0 and i.rejects.height == 0
    # Spark has no unsigned integers: the row numbers travel as longs.
    return c.good.with_columns(pl.col("row").cast(pl.Int64)), i.good


def test_spark_settles_every_claim_as_the_single_machine_batch_does(spark):
    claims, identities = county()
    pack = load_pack(PACK)
    want = settle_batch(pack, claims, identities).claims
    idents = identities.select("psn_no", "group_bit", "begndate", "enddate")
    out = settle_spark(
        pack,
        spark.createDataFrame(claims.drop("row").to_arrow()),
        spark.createDataFrame(idents.to_arrow()),
        partitions=4,
    )
    got = pl.from_arrow(out.toArrow())
    assert got.height == claims.height
    cols = ["setl_id", "psn_no", *RESULT_COLUMNS]
    expected = want.select(*cols).with_columns(pl.col("group").cast(pl.String)).sort("setl_id")
    assert got.select(cols).sort("setl_id").equals(expected)
    # The data does reach caps and tilts: a test of zeros would prove nothing.
    assert expected["hifmi_pay"].sum() > 0 and expected["maf_pay"].sum() > 0
    assert expected["group"].drop_nulls().n_unique() >= 3


def test_one_partition_or_many_give_the_same_settlement(spark):
    claims, identities = county(n_people=120, n_claims=900, seed=9)
    pack = load_pack(PACK)
    idents = spark.createDataFrame(
        identities.select("psn_no", "group_bit", "begndate", "enddate").to_arrow()
    )
    frames = spark.createDataFrame(claims.to_arrow())
    one, many = (
        pl.from_arrow(settle_spark(pack, frames, idents, partitions=n).toArrow()).sort("setl_id")
        for n in (1, 7)
    )
    assert one.equals(many) and one.height == claims.height


def test_missing_columns_are_named(spark):
    claims, identities = county(n_people=10, n_claims=20)
    frame = spark.createDataFrame(claims.drop("kind").to_arrow())
    idents = spark.createDataFrame(identities.select("psn_no", "begndate").to_arrow())
    with pytest.raises(ValueError, match="kind, identities.group_bit, identities.enddate"):
        settle_spark(load_pack(PACK), frame, idents)
