"""The batch settlement on Apache Spark, for a province's claims (DESIGN §3).

A province settles hundreds of millions of claims a year, more than one machine holds. The
settlement is partitioned by person: a person's claims and identities decide their settlement
and nobody else's. So the claims and the identities travel together, tagged, hashed on
`psn_no` into the same partitions, and each partition is settled by `settle_batch` — the same
function, kernel and pack as the single-machine batch and the online claim — inside a Python
worker through `mapInArrow`. Nothing here restates a rule.

    from pyspark.sql import SparkSession
    from fangpin.engine.spark import settle_spark
    from fangpin.policy.registry import load_pack

    settled = settle_spark(load_pack("shanxi-linxian-2023"), claims_df, identities_df)
    settled.write.parquet("settled/")

`claims_df` holds validated claims (the columns `tabular.claims.validate_claims` gives:
setl_id, psn_no, setl_date, med_type, kind, hosp_lv, in_province, referral, the four amounts
and inscp_scp_amt in integer fen; `row` optional), `identities_df` validated identities
(psn_no, group_bit, begndate, enddate). The result is the claims with the seven result columns
in fen and `group` (the group's name, null when none), in no particular order. PySpark is an
optional dependency (`pip install 'fangpin[spark]'`); Spark runs the workers with the Python that
has fangpin installed (PYSPARK_PYTHON).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from fangpin.engine.settle import RESULT_COLUMNS, settle_batch
from fangpin.policy.registry import Pack
from fangpin.tabular.claims import CLAIM_SCHEMA, IDENTITY_SCHEMA

if TYPE_CHECKING:  # pyspark is optional: imported only where it is used
    from pyspark.sql import DataFrame

# The engine's columns and their types: tabular.claims' validated frames ("row" optional).
IDENTITY_COLUMNS = ("psn_no", "group_bit", "begndate", "enddate")
_TAG = "_fangpin_is_identity"  # which of the two inputs a row of the shuffled union came from


def settle_spark(
    pack: Pack, claims: DataFrame, identities: DataFrame, *, partitions: int | None = None
) -> DataFrame:
    """Settle `claims` with `identities` under `pack` on the cluster `claims` lives in
    (module docstring). `partitions`: how many person partitions (default: Spark's
    spark.sql.shuffle.partitions); each is settled whole in one worker, so it must fit there."""
    from pyspark.sql import functions as F

    missing = [c for c in CLAIM_SCHEMA if c != "row" and c not in claims.columns]
    missing += [f"identities.{c}" for c in IDENTITY_COLUMNS if c not in identities.columns]
    if missing:
        raise ValueError(f"settle_spark: missing columns {', '.join(missing)}")
    claim_cols = [c for c in CLAIM_SCHEMA if c in claims.columns]
    ident_cols = list(IDENTITY_COLUMNS[1:])
    both = claims.select(*claim_cols, F.lit(False).alias(_TAG)).unionByName(
        identities.select("psn_no", *ident_cols, F.lit(True).alias(_TAG)),
        allowMissingColumns=True,
    )
    shuffled = (
        both.repartition(partitions, "psn_no") if partitions else both.repartition("psn_no")
    )
    out_schema = _result_schema(claims.select(*claim_cols).schema)
    return shuffled.mapInArrow(_partition_settler(pack, claim_cols, ident_cols), out_schema)


def _result_schema(claim_schema: Any) -> Any:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    fields = list(claim_schema.fields)
    fields += [StructField(c, LongType(), False) for c in RESULT_COLUMNS if c != "group"]
    fields.append(StructField("group", StringType(), True))
    return StructType(fields)


def _partition_settler(pack: Pack, claim_cols: list[str], ident_cols: list[str]):
    """The function each worker runs over one partition's Arrow batches (pickled with `pack`).
    The claims go back as they came (same Arrow types), with the results appended."""

    def settle_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        batches = list(batches)
        if not batches:
            return
        table = pa.Table.from_batches(batches)
        tag = table.column(_TAG).fill_null(False)
        given = table.filter(pc.invert(tag)).select(claim_cols)
        if given.num_rows == 0:
            return
        claims = pl.from_arrow(given).select(pl.col(c).cast(CLAIM_SCHEMA[c]) for c in claim_cols)
        if "row" not in claims.columns:
            claims = claims.with_row_index("row")
        idents = pl.from_arrow(table.filter(tag).select(["psn_no", *ident_cols])).select(
            pl.col(c).cast(IDENTITY_SCHEMA[c]) for c in ("psn_no", *ident_cols)
        )
        settled = settle_batch(pack, claims, idents).claims  # in the order given
        text = given.schema.field("psn_no").type
        for name in RESULT_COLUMNS:
            column = settled[name].cast(pl.String) if name == "group" else settled[name]
            given = given.append_column(
                name, column.to_arrow().cast(text if name == "group" else pa.int64())
            )
        yield from given.to_batches()

    return settle_partition
