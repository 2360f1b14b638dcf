"""A Parquet file written in parts on several threads reads as the file written in one go."""

import decimal

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangpin.tabular import pqjoin

OPTIONS = {
    "compression": "lz4",
    "use_dictionary": ["group"],
    "write_statistics": ["psn_no", "amount", "group"],
    "store_decimal_as_integer": True,
}


def _table(n: int) -> pa.Table:
    fen = pa.array([(i * 7919) % 100_003 for i in range(n)], pa.int64())
    return pa.table(
        {
            "setl_id": pa.array([f"S{i:06d}" for i in range(n)]),
            "psn_no": pa.array([f"P{i % 7}" for i in range(n)]),
            "amount": pa.Array.from_buffers(pa.decimal64(18, 2), n, [None, fen.buffers()[1]]),
            "group": pa.array([["特困", "低保", None][i % 3] for i in range(n)]).dictionary_encode(),
            "ratio": pa.array([i / 8 for i in range(n)], pa.float64()),
            "flag": pa.array([i % 2 == 0 for i in range(n)]),
        }
    )


def test_footers_read_and_written_again_are_the_same_bytes(tmp_path):
    pq.write_table(_table(50), tmp_path / "a.parquet", row_group_size=8, **OPTIONS)
    pl.DataFrame({"x": [1, 2], "s": ["a", None]}).write_parquet(tmp_path / "b.parquet")
    for name in ("a.parquet", "b.parquet"):
        with open(tmp_path / name, "rb") as f:
            _, footer = pqjoin.footer_of(f)
        out = bytearray()
        pqjoin._write_struct(pqjoin._Reader(footer).struct(), out)
        assert bytes(out) == footer


@pytest.mark.parametrize(("n", "parts"), [(26, 3), (26, 2), (8, 2), (3, 4), (0, 2)])
def test_parts_joined_read_back_as_one_file(tmp_path, n, parts):
    table = _table(n)
    pqjoin.write_in_parts(table, tmp_path / "parts.parquet", row_group_rows=4, parts=parts, **OPTIONS)
    pqjoin.write_in_parts(table, tmp_path / "one.parquet", row_group_rows=4, parts=1, **OPTIONS)
    joined, one = pq.ParquetFile(tmp_path / "parts.parquet"), pq.ParquetFile(tmp_path / "one.parquet")
    assert joined.metadata.num_rows == n
    assert [joined.metadata.row_group(i).num_rows for i in range(joined.metadata.num_row_groups)] == [
        one.metadata.row_group(i).num_rows for i in range(one.metadata.num_row_groups)
    ]
    assert joined.read().equals(one.read())
    back = pl.read_parquet(tmp_path / "parts.parquet")
    assert back.equals(pl.read_parquet(tmp_path / "one.parquet"))
    assert back["setl_id"].to_list() == [f"S{i:06d}" for i in range(n)]
    # Another reader finds every row group through the moved offsets, statistics included.
    total = duckdb.connect().execute(
        f"SELECT count(*), sum(amount), max(psn_no) FROM '{tmp_path / 'parts.parquet'}' WHERE amount >= 0"
    ).fetchone()
    assert total[0] == n and total[1] == (sum((i * 7919) % 100_003 for i in range(n)) / decimal.Decimal(100) if n else None)
    if n:
        last = joined.metadata.row_group(joined.metadata.num_row_groups - 1).column(2).statistics
        tail = [(i * 7919) % 100_003 for i in range((n - 1) // 4 * 4, n)]
        assert (last.min, last.max) == (decimal.Decimal(min(tail)) / 100, decimal.Decimal(max(tail)) / 100)


def test_a_part_that_fails_leaves_no_file_behind(tmp_path):
    with pytest.raises(pa.ArrowException):
        pqjoin.write_in_parts(_table(26), tmp_path / "o.parquet", row_group_rows=4, parts=3, compression="no-such-codec")
    assert list(tmp_path.iterdir()) == []


def test_not_a_parquet_file_is_refused(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really PAR1")
    with open(tmp_path / "x.parquet", "rb") as f, pytest.raises(ValueError):
        pqjoin.footer_of(f)
