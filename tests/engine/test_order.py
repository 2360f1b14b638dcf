"""Settlement order: by person, then (setl_date, setl_id), whatever path builds it."""

import numpy as np
import polars as pl

from fangpin.engine import order as o


def _random_claims(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    psn = pl.Series([f"P{x:03d}" for x in rng.integers(0, 40, n)])
    days = rng.integers(19000, 19010, n).astype(np.int32)  # ten days: many same-day claims
    sid = pl.Series([f"S{x:05d}" for x in rng.permutation(n)])
    return psn, days, sid


def _expected(psn, days, sid):
    frame = pl.DataFrame({"p": psn, "d": days, "s": sid}).with_row_index("i").sort("p", "d", "s")
    return frame["i"].to_numpy()


def test_hashed_order_equals_the_exact_text_order():
    psn, days, sid = _random_claims(3000)
    got = o.settlement_order(psn, days, sid)
    exact = _expected(psn, days, sid)
    # people may come in another order, but each person's claims must be in the exact order
    by_person = {}
    for i in got.perm:
        by_person.setdefault(psn[int(i)], []).append(int(i))
    for p, idx in by_person.items():
        assert idx == [int(i) for i in exact if psn[int(i)] == p], p
    assert len(got.seg_starts) == psn.n_unique()


def test_people_sharing_the_first_hash_are_still_told_apart(monkeypatch):
    psn, days, sid = _random_claims(500)
    real = o.person_hash

    def colliding(series, seed=o.SEED_A):
        return np.zeros(len(series), dtype=np.uint64) if seed == o.SEED_A else real(series, seed)

    monkeypatch.setattr(o, "person_hash", colliding)
    got = o.settlement_order(psn, days, sid)
    exact = _expected(psn, days, sid)
    for p in psn.unique():
        mine = [int(i) for i in got.perm if psn[int(i)] == p]
        assert mine == [int(i) for i in exact if psn[int(i)] == p]
    assert len(got.seg_starts) == psn.n_unique()


def test_person_years_are_cut_at_new_year():
    psn = pl.Series(["A", "A", "A"])
    days = np.array([19357, 19358, 19357 + 400], dtype=np.int32)  # 2022-12-31, 2023-01-01, 2024
    got = o.settlement_order(psn, days, pl.Series(["1", "2", "3"]))
    assert got.seg_of.tolist() == [0, 1, 2]
    assert got.years.tolist() == [2022, 2023, 2024]


def test_records_given_to_the_order_come_out_in_settlement_order():
    psn, days, sid = _random_claims(2000, seed=5)
    records = np.zeros((len(psn), o.ORDER_COLS + 2), dtype=np.int64)
    records[:, o.ORDER_COLS] = np.arange(len(psn)) * 7
    records[:, o.ORDER_COLS + 1] = days
    got = o.settlement_order(psn, days, sid, records)
    assert np.array_equal(got.records[:, o.ORDER_COLS], got.perm * 7)
    assert np.array_equal(got.records[:, o.ORDER_COLS + 1], days[got.perm])
    assert np.array_equal(got.days, days[got.perm])


def test_the_text_sort_and_the_hashed_sort_cut_the_same_person_years(monkeypatch):
    psn, days, sid = _random_claims(1500, seed=9)
    days = days + np.where(np.arange(len(days)) % 3 == 0, 365, 0).astype(np.int32)  # two years
    hashed = o.settlement_order(psn, days, sid)
    monkeypatch.setattr(o, "MIN_HASH_BITS", 65)  # no key is wide enough: the text sort
    exact = o.settlement_order(psn, days, sid)
    assert exact.top_shift == 0 and hashed.top_shift > 0

    def person_years(order):
        cuts = np.append(order.seg_starts, len(order.perm))
        return sorted(
            tuple(order.perm[a:b].tolist()) for a, b in zip(cuts[:-1], cuts[1:], strict=True)
        )

    assert person_years(hashed) == person_years(exact)
    assert sorted(hashed.seg_years.tolist()) == sorted(exact.seg_years.tolist())
