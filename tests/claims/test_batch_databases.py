"""The monthly batch writes the same ledger on SQLite as on PostgreSQL, in one part or many.

The batch takes different paths on the two databases (new claim ids from the sequence or from
the rowid range, COPY or one prepared INSERT, dates as text) and settles a month in parts of
CHUNK person-years. The world of tests/claims/batch_world.py is built on the test PostgreSQL
database and, in a child process, on an embedded SQLite file; every row must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from tests.claims.batch_world import as_json, build

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


def _on_sqlite(tmp_path: Path, chunk: int | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FANGPIN_"))}
    env["FANGPIN_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    out = tmp_path / "ledger.json"
    cmd = [sys.executable, "-m", "tests.claims.batch_world", str(out)]
    cmd += ["--chunk", str(chunk)] if chunk else []
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data.pop("vendor") == "sqlite"
    return data


def _has_every_kind_of_row(data: dict) -> None:
    sources = {row[2] for row in data["settlements"]}
    assert sources == {"batch", "external"}
    assert len(data["claims"]) == 18 and len(data["settlements"]) == 18
    assert data["adjustments"] and data["notices"] and data["rejects"]
    # The second missed-benefits run finds nothing.
    assert data["steps"][-1][3:5] == [0, 0]


def test_the_batch_leaves_the_same_ledger_on_sqlite_as_on_postgresql(tmp_path):
    from fangpin.claims.services import rebuild_accumulator
    from fangpin.engine import kernel as k
    from tests.claims.yearsums import assert_kept_exact

    here = as_json(build(tmp_path / "pg"))
    _has_every_kind_of_row(here)
    assert_kept_exact()
    for key, year, *values in here["accumulators"]:
        assert values == list(rebuild_accumulator(key, year)), key
    assert len(values) == k.N_ACC
    there = _on_sqlite(tmp_path / "sqlite")
    for name in here:
        assert there[name] == here[name], name


def test_a_month_in_parts_of_one_person_year_leaves_the_same_ledger_as_in_one(
    tmp_path, monkeypatch
):
    from fangpin.claims import batch, resettle

    with transaction.atomic():
        whole = as_json(build(tmp_path / "whole"))
        transaction.set_rollback(True)
    monkeypatch.setattr(batch, "CHUNK", 1)
    monkeypatch.setattr(resettle, "CHUNK", 1)
    parts = as_json(build(tmp_path / "parts"))
    _has_every_kind_of_row(parts)
    for name in whole:
        assert parts[name] == whole[name], name
    on_sqlite = _on_sqlite(tmp_path / "sqlite", chunk=1)
    for name in whole:
        assert on_sqlite[name] == whole[name], name
