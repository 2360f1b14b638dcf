"""Settled claims written as Parquet: exact yuan, and a file that reads back as the Polars writer's."""

import json

import duckdb
import polars as pl
import pyarrow.parquet as pq

from fangpin.engine.settle import GROUP_ENUM
from fangpin.tabular.output import SETTLE_OUTPUT, money_for, write_settled

MONEY = [c for c in SETTLE_OUTPUT if c.endswith(("_pay", "_amt", "_sumamt"))]


def _settled(n: int = 5) -> pl.DataFrame:
    fen = [0, 1, 99, 123_456_789, 10**15 - 1][:n]
    return pl.DataFrame(
        {"setl_id": [f"S{i}" for i in range(n)], "psn_no": ["P1", "P2", "P1", "P3", "P2"][:n]}
        | {c: [f + j for f in fen] for j, c in enumerate(MONEY)}
        | {"group": pl.Series(["特困", None, "低保", None, "稳定脱贫"][:n], dtype=GROUP_ENUM)}
    ).select(SETTLE_OUTPUT)


def test_settled_parquet_reads_back_exactly_as_the_polars_writer_gives_it(tmp_path):
    settled = _settled()
    write_settled(settled, tmp_path / "new.parquet")
    money_for(settled, "x.parquet").write_parquet(tmp_path / "old.parquet")
    new, old = pl.read_parquet(tmp_path / "new.parquet"), pl.read_parquet(tmp_path / "old.parquet")
    assert new.schema == old.schema
    assert new.schema["group"] == GROUP_ENUM and new.schema["hifp_pay"] == pl.Decimal(18, 2)
    assert new.equals(old)
    assert [str(v) for v in new["hifp_pay"]] == [
        "0.00",
        "0.01",
        "0.99",
        "1234567.89",
        "9999999999999.99",
    ]
    assert new["group"].to_list() == ["特困", None, "低保", None, "稳定脱贫"]


def test_settled_parquet_stores_money_as_int64_decimals_that_other_readers_sum_exactly(tmp_path):
    write_settled(_settled(), tmp_path / "o.parquet")
    schema = pq.ParquetFile(tmp_path / "o.parquet").schema
    column = schema.column(schema.names.index("psn_part_amt"))
    assert column.physical_type == "INT64" and json.loads(column.logical_type.to_json()) == {
        "Type": "Decimal",
        "precision": 18,
        "scale": 2,
    }
    sql = f"SELECT sum(hifp_pay)::VARCHAR FROM '{tmp_path / 'o.parquet'}'"
    total = duckdb.connect().execute(sql).fetchone()[0]
    assert total == "10000001234568.88"  # 0.00 + 0.01 + 0.99 + 1234567.89 + 9999999999999.99


def test_money_with_a_null_falls_back_to_the_general_writer_and_keeps_the_null(tmp_path):
    settled = _settled().with_columns(pl.Series("oth_pay", [1, None, 3, 4, 5], dtype=pl.Int64))
    write_settled(settled, tmp_path / "o.parquet")
    back = pl.read_parquet(tmp_path / "o.parquet")
    assert back["oth_pay"].null_count() == 1 and back.schema["oth_pay"] == pl.Decimal(18, 2)


def test_settled_in_many_chunks_reads_back_as_in_one(tmp_path):
    # Claims read from Parquet come in chunks, the results in one: both kinds of column together.
    settled = _settled()
    parts = pl.concat([settled.slice(0, 2), settled.slice(2, 3)], rechunk=False)
    mixed = pl.DataFrame([parts["setl_id"], parts["psn_no"]] + settled.drop("setl_id", "psn_no").get_columns())
    assert mixed.columns == list(SETTLE_OUTPUT)
    assert mixed["setl_id"].n_chunks() == 2 and mixed["hifp_pay"].n_chunks() == 1
    write_settled(mixed, tmp_path / "chunked.parquet")
    write_settled(settled, tmp_path / "one.parquet")
    chunked, one = pl.read_parquet(tmp_path / "chunked.parquet"), pl.read_parquet(tmp_path / "one.parquet")
    assert chunked.schema == one.schema and chunked.equals(one)
