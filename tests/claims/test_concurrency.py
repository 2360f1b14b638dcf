"""Fifty claims of one person settled at the same moment never break a cap, and the year sums
count each of them once (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

from tests.claims.conftest import claim, make_person
from tests.claims.yearsums import assert_kept_exact

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

N = 50


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def test_fifty_concurrent_settlements_of_one_person_hold_every_cap_exactly(api, policy):
    from fangpin.claims.ledger import claim_frame, identity_frame
    from fangpin.claims.models import Accumulator, Claim, Settlement
    from fangpin.claims.services import claim_dict, rebuild_accumulator
    from fangpin.engine import kernel as k
    from fangpin.engine.settle import settle_batch

    p = make_person([("低保对象", dt.date(2023, 1, 1), None)])
    bodies = [
        claim(
            f"C{i:03d}",
            p.id_no,
            date=f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}",
            total=f"{60000 + 997 * i}.{i:02d}",
        )
        for i in range(N)
    ]
    results: list = [None] * N
    barrier = threading.Barrier(N)

    def post(i: int) -> None:
        barrier.wait()  # every request leaves at once
        results[i] = api("POST", "/settlements", bodies[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None and r[0] == 201 for r in results), [
        r for r in results if r is None or r[0] != 201
    ][:3]

    # Every claim balances: fund + person + hospital = total.
    for _, b in results:
        assert fen(b["fund_pay_sumamt"]) + fen(b["psn_part_amt"]) + fen(b["hosp_part_amt"]) == fen(
            b["medfee_sumamt"]
        )

    online = {
        f: sum(fen(b[f]) for _, b in results)
        for f in ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt")
    }
    pol = policy.policy_at(dt.date(2023, 6, 1))
    assert online["hifp_pay"] == pol.basic.annual_cap  # 300,000 yuan, reached
    assert online["maf_pay"] == pol.assistance.schedules["低保"].cap  # 50,000 yuan, reached
    assert online["oth_pay"] == pol.reassistance.schedules["低保"].cap  # 30,000 yuan, reached

    # The batch engine on the same claims in (setl_date, setl_id) order pays the same per tier.
    claims = list(Claim.objects.filter(person_key=p.id_no).order_by("setl_date", "setl_id"))
    idents = identity_frame([(p.id_no, "低保对象", "低保", dt.date(2023, 1, 1), None)])
    batch = settle_batch(policy, claim_frame(claim_dict(c) for c in claims), idents)
    expected = {f: int(batch.claims[f].sum()) for f in online}
    assert online == expected

    # The stored accumulators are the batch's, and the sum of the claims' contributions.
    row = Accumulator.objects.get(person_key=p.id_no, year=2023)
    stored = [getattr(row, n) for n in k.ACC_NAMES]
    assert stored == list(batch.accumulators.select(k.ACC_NAMES).row(0))
    assert stored == list(rebuild_accumulator(p.id_no, 2023))
    assert Settlement.objects.count() == N

    # The year sums, written under the same lock, count every claim once with its amounts.
    kept = assert_kept_exact()
    assert kept[(p.id_no, 2023)]["n2"] == N
    assert kept[(p.id_no, 2023)]["maf_pay_2"] == online["maf_pay"]
