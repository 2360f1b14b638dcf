"""Small helpers to write engine tests as tables of yuan, the way the rules are worked by hand."""

from __future__ import annotations

import polars as pl

from fangpin.engine.settle import settle_batch
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import (
    CLAIM_COLUMNS,
    IDENTITY_COLUMNS,
    validate_claims,
    validate_identities,
)
from fangpin.units import fen_to_yuan

OUT = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt", "fund_pay_sumamt", "psn_part_amt")

CLAIM_DEFAULTS = {
    "psn_no": "P1",
    "med_type": "21",
    "hosp_lv": "2",
    "in_province": "1",
    "referral": "1",
    "fulamt_ownpay_amt": "0",
    "overlmt_selfpay": "0",
    "preselfpay_amt": "0",
}


def claims_frame(rows: list[dict]) -> pl.DataFrame:
    full = [{c: str({**CLAIM_DEFAULTS, **r}.get(c, "")) for c in CLAIM_COLUMNS} for r in rows]
    return pl.DataFrame(full, schema={c: pl.String for c in CLAIM_COLUMNS})


def identities_frame(rows: list[dict]) -> pl.DataFrame:
    full = [{c: str(r.get(c, "") or "") for c in IDENTITY_COLUMNS} for r in rows]
    return pl.DataFrame(full, schema={c: pl.String for c in IDENTITY_COLUMNS})


def settle_rows(pack_id: str, claims: list[dict], identities: list[dict] = ()) -> dict[str, dict]:
    """Settle claims given as dicts of text (yuan); returns {setl_id: {column: 'yuan', group}}.

    Claim keys: setl_id, setl_date, medfee_sumamt required; psn_no (P1), med_type (21),
    hosp_lv (2), in_province (1), referral (1), and the three self-pay amounts (0) default.
    Identity keys: psn_no, psn_idet_type, begndate, enddate (optional).
    """
    c = validate_claims(claims_frame(claims))
    i = validate_identities(identities_frame(list(identities)))
    assert c.rejects.height == 0, c.rejects.to_dicts()
    assert i.rejects.height == 0, i.rejects.to_dicts()
    settled = settle_batch(load_pack(pack_id), c.good, i.good).claims
    out = {}
    for row in settled.iter_rows(named=True):
        out[row["setl_id"]] = {k: fen_to_yuan(row[k]) for k in OUT} | {"group": row["group"]}
    return out
