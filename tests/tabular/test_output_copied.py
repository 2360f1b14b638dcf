"""Settled Parquet whose setl_id and psn_no are the claims file's own pages, copied as they are.

The copy must read back exactly as the file written afresh does, in Polars, pyarrow and DuckDB,
and must only happen when the settled rows are every row of that file, in its order, and the
file is still the one that was read.
"""

import os

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangpin.engine.radix import repeated_values
from fangpin.engine.settle import settle_batch
from fangpin.policy.registry import load_pack
from fangpin.tabular import pqjoin
from fangpin.tabular.claims import read_claims, read_identities, read_inputs
from fangpin.tabular.io import TableError
from fangpin.tabular.output import SETTLE_OUTPUT, write_settled

PACK = "anhui-huaibei-2022"
N = 50_000  # three row groups of 20 000, 20 000 and 10 000 rows


def _claims(n: int = N, seed: int = 4) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    people = np.array([f"64032419{i:010d}" for i in range(n // 6)])
    kind = rng.choice(np.array([11, 14, 21], dtype=np.int16), n, p=[0.6, 0.25, 0.15])
    fee = (rng.lognormal(0, 1, n) * np.where(kind == 21, 800_000, 20_000)).astype(np.int64) + 100
    own = (fee * rng.uniform(0, 0.2, n)).astype(np.int64)
    return pl.DataFrame(
        {
            "setl_id": [f"S{i:09d}" for i in range(n)],
            "psn_no": people[rng.integers(0, len(people), n)],
            "setl_date": pl.date_range(pl.date(2022, 1, 1), pl.date(2022, 12, 31), eager=True)
            .sample(n, with_replacement=True, seed=seed),
            "med_type": kind,
            "hosp_lv": rng.integers(1, 5, n).astype(np.int8),
            "in_province": np.ones(n, dtype=np.int8),
            "referral": np.ones(n, dtype=np.int8),
        }
    ).with_columns(
        (pl.Series(name, v).cast(pl.Decimal(38, 2)) / 100).cast(pl.Decimal(12, 2))
        for name, v in (
            ("medfee_sumamt", fee),
            ("fulamt_ownpay_amt", own),
            ("overlmt_selfpay", np.zeros(n, dtype=np.int64)),
            ("preselfpay_amt", np.zeros(n, dtype=np.int64)),
        )
    )


def _identities(claims: pl.DataFrame) -> pl.DataFrame:
    who = claims["psn_no"].unique().sort()[::3]
    return pl.DataFrame(
        {
            "psn_no": who,
            "psn_idet_type": ["特困人员"] * len(who),
            "begndate": ["2021-01-01"] * len(who),
            "enddate": [None] * len(who),
        }
    )


def _files(tmp_path, claims: pl.DataFrame, write=None):
    cp, ip = tmp_path / "claims.parquet", tmp_path / "ids.csv"
    if write is None:
        claims.write_parquet(cp, row_group_size=20_000)
    else:
        write(claims, cp)
    _identities(claims).write_csv(ip)
    return cp, ip


def _settle(cp, ip):
    claims, ids = read_inputs(cp, ip)
    return claims, settle_batch(load_pack(PACK), claims.good, ids.good).claims


def _same_everywhere(a, b) -> None:
    pa_a, pa_b = pl.read_parquet(a), pl.read_parquet(b)
    assert pa_a.schema == pa_b.schema and pa_a.equals(pa_b)
    # Nullability may differ: a claims file's required columns stay required when copied.
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.cast(tb.schema).equals(tb)
    q = "SELECT * FROM '{}' ORDER BY setl_id"
    con = duckdb.connect()
    assert con.execute(q.format(a)).fetchall() == con.execute(q.format(b)).fetchall()


def _codecs(path) -> set[str]:
    meta = pq.ParquetFile(path).metadata
    return {meta.row_group(g).column(0).compression for g in range(meta.num_row_groups)}


def test_copied_columns_read_back_as_the_file_written_afresh(tmp_path):
    cp, ip = _files(tmp_path, _claims())
    claims, settled = _settle(cp, ip)
    assert claims.source is not None and claims.source.group_rows == [20_000, 20_000, 10_000]
    write_settled(settled, tmp_path / "copied.parquet", claims.source)
    write_settled(settled, tmp_path / "fresh.parquet")
    _same_everywhere(tmp_path / "copied.parquet", tmp_path / "fresh.parquet")
    # The text pages are the claims file's own (Polars writes ZSTD, the settled writer LZ4),
    # and the row groups are its row groups.
    assert _codecs(tmp_path / "copied.parquet") == {"ZSTD"}
    assert _codecs(tmp_path / "fresh.parquet") == {"LZ4"}
    meta = pq.ParquetFile(tmp_path / "copied.parquet").metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [20_000, 20_000, 10_000]
    assert meta.schema.names == list(SETTLE_OUTPUT)
    # Every amount the engine computed is in the file, exactly.
    back = pl.read_parquet(tmp_path / "copied.parquet")
    assert back["setl_id"].to_list() == settled["setl_id"].to_list()
    fen = (back["psn_part_amt"].cast(pl.Decimal(20, 2)) * 100).cast(pl.Int64)
    assert fen.to_list() == settled["psn_part_amt"].to_list()
    assert back["group"].drop_nulls().len() > N // 10  # the identities did count


@pytest.mark.parametrize("layout", ["dictionary", "required", "uncompressed"])
def test_claims_files_from_other_writers_are_copied_too(tmp_path, layout):
    def write(df, path):
        table = df.to_arrow()
        if layout == "required":
            table = table.cast(pa.schema([f.with_nullable(False) for f in table.schema]))
        pq.write_table(
            table,
            path,
            row_group_size=20_000,
            use_dictionary=layout == "dictionary",
            compression="none" if layout == "uncompressed" else "snappy",
        )

    cp, ip = _files(tmp_path, _claims(), write)
    claims, settled = _settle(cp, ip)
    assert claims.source is not None
    write_settled(settled, tmp_path / "copied.parquet", claims.source)
    write_settled(settled, tmp_path / "fresh.parquet")
    _same_everywhere(tmp_path / "copied.parquet", tmp_path / "fresh.parquet")
    assert _codecs(tmp_path / "copied.parquet") == {"UNCOMPRESSED" if layout == "uncompressed" else "SNAPPY"}
    nullable = pq.read_schema(tmp_path / "copied.parquet").field("psn_no").nullable
    assert nullable == (layout != "required")


def test_a_file_with_rejected_rows_is_written_afresh(tmp_path):
    df = _claims().with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit("")).otherwise("psn_no").alias("psn_no")
    )
    cp, ip = _files(tmp_path, df)
    claims, settled = _settle(cp, ip)
    assert claims.rejects.height == 1 and claims.source is None
    write_settled(settled, tmp_path / "o.parquet", claims.source)
    assert pl.read_parquet(tmp_path / "o.parquet").height == N - 1


def test_rows_that_are_not_the_whole_file_in_order_are_written_afresh(tmp_path):
    cp, ip = _files(tmp_path, _claims())
    claims, settled = _settle(cp, ip)
    reordered = settled.reverse()
    write_settled(reordered, tmp_path / "o.parquet", claims.source)
    back = pl.read_parquet(tmp_path / "o.parquet")
    assert back["setl_id"].to_list() == reordered["setl_id"].to_list()
    assert _codecs(tmp_path / "o.parquet") == {"LZ4"}
    # A subset is refused by the joiner itself, whoever calls it.
    with pytest.raises(ValueError, match="cannot be copied"):
        pqjoin.write_with_copied(
            pa.table({"x": pa.array(np.arange(10))}), tmp_path / "x.parquet", claims.source,
            ("setl_id", "psn_no", "x"), {"setl_id": pa.string_view(), "psn_no": pa.string_view()},
        )
    assert not (tmp_path / "x.parquet").exists()


def test_a_claims_file_changed_after_it_was_read_is_not_copied_from(tmp_path):
    cp, ip = _files(tmp_path, _claims())
    claims, settled = _settle(cp, ip)
    st = os.stat(cp)
    os.utime(cp, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    write_settled(settled, tmp_path / "o.parquet", claims.source)
    assert _codecs(tmp_path / "o.parquet") == {"LZ4"}
    assert pl.read_parquet(tmp_path / "o.parquet")["setl_id"].to_list() == settled["setl_id"].to_list()


def test_small_row_groups_text_columns_and_nested_files_are_not_copied(tmp_path):
    _claims(2000).write_parquet(tmp_path / "small.parquet", row_group_size=500)
    assert not pqjoin.SourceText(tmp_path / "small.parquet", ("setl_id",)).usable
    pl.DataFrame({"setl_id": np.arange(40_000)}).write_parquet(tmp_path / "ints.parquet")
    src = pqjoin.SourceText(tmp_path / "ints.parquet", ("setl_id",))
    assert not src.usable and "not a plain text column" in src.why
    nested = pl.DataFrame({"setl_id": [{"a": "x"}] * 40_000})
    nested.write_parquet(tmp_path / "nested.parquet")
    assert not pqjoin.SourceText(tmp_path / "nested.parquet", ("setl_id",)).usable
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    assert not pqjoin.SourceText(tmp_path / "junk.parquet", ("setl_id",)).usable


def test_csv_claims_and_csv_output_never_copy(tmp_path):
    df = _claims(3000)
    df.with_columns(pl.col(pl.Decimal).cast(pl.String)).write_csv(tmp_path / "c.csv")
    _identities(df).write_csv(tmp_path / "i.csv")
    claims = read_claims(tmp_path / "c.csv")
    assert claims.source is None
    cp, ip = _files(tmp_path, _claims())
    claims, settled = _settle(cp, ip)
    write_settled(settled, tmp_path / "o.csv", claims.source)
    assert pl.read_csv(tmp_path / "o.csv", infer_schema=False)["hifp_pay"].str.contains(r"^\d+\.\d\d$").all()


def test_inputs_read_side_by_side_raise_as_each_reader_would(tmp_path):
    cp, ip = _files(tmp_path, _claims(3000))
    claims, ids = read_inputs(cp, ip)
    assert claims.good.height == 3000 and ids.good.height == read_identities(ip).good.height
    with pytest.raises(TableError, match="no such file"):
        read_inputs(tmp_path / "missing.parquet", ip)
    with pytest.raises(TableError, match="no such file"):
        read_inputs(cp, tmp_path / "missing.csv")


def test_repeated_values_are_found_exactly():
    rng = np.random.default_rng(11)
    for n in (0, 1, 2, 3, 1000, 200_000):
        h = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
        if n >= 3:
            h[rng.integers(0, n, n // 50 + 1)] = h[0]  # one value many times
            h[-1] = h[1]
        values, counts = np.unique(h, return_counts=True)
        assert np.array_equal(np.sort(repeated_values(h)), values[counts > 1])
    few = rng.integers(0, 40, 50_000).astype(np.int64)  # every value repeated, buckets lopsided
    assert np.array_equal(np.sort(repeated_values(few)), np.unique(few))


def test_computed_pages_that_outgrow_their_buffer_are_written_all_the_same(tmp_path, monkeypatch):
    cp, ip = _files(tmp_path, _claims())
    claims, settled = _settle(cp, ip)
    write_settled(settled, tmp_path / "fresh.parquet")
    real = pa.allocate_buffer
    monkeypatch.setattr(pa, "allocate_buffer", lambda size: real(64))  # far below any bound
    write_settled(settled, tmp_path / "copied.parquet", claims.source)
    _same_everywhere(tmp_path / "copied.parquet", tmp_path / "fresh.parquet")
    assert _codecs(tmp_path / "copied.parquet") == {"ZSTD"}
