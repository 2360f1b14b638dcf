"""The Django project runs on the real PostgreSQL server the test session started."""

import pytest
from django.db import connection

from fangpin.site.dburl import ConfigError, parse_database_url


@pytest.mark.django_db
def test_the_test_database_is_a_real_postgresql_server():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        assert cur.fetchone()[0].startswith("15")


@pytest.mark.django_db
def test_healthz_answers_with_the_database_vendor(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "postgresql"}


def test_database_urls_for_postgresql_and_sqlite_are_understood(tmp_path):
    pg = parse_database_url("postgresql://u:p%40ss@db.local:5433/fp?sslmode=require", tmp_path / "x")
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == ("fp", "u", "p@ss", "db.local", "5433")
    assert pg["OPTIONS"] == {"sslmode": "require"}
    lite = parse_database_url("", tmp_path / "d.sqlite3")
    assert lite["ENGINE"].endswith("sqlite3") and lite["NAME"] == str(tmp_path / "d.sqlite3")


def test_an_unknown_database_scheme_fails_loudly(tmp_path):
    with pytest.raises(ConfigError, match="unknown scheme 'mysql'"):
        parse_database_url("mysql://x/y", tmp_path / "x")


def test_a_sqlite_connection_keeps_wal_durability_with_a_larger_cache_and_memory_temp(tmp_path):
    import sqlite3

    config = parse_database_url("", tmp_path / "d.sqlite3")
    con = sqlite3.connect(config["NAME"])
    con.executescript(config["OPTIONS"]["init_command"])
    pragmas = {p: con.execute(f"PRAGMA {p}").fetchone()[0] for p in
               ("journal_mode", "synchronous", "foreign_keys", "cache_size", "temp_store")}  # fmt: skip
    con.close()
    # synchronous 1 = NORMAL, temp_store 2 = MEMORY; a negative cache size is in KiB
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1,
                       "cache_size": -131072, "temp_store": 2}  # fmt: skip
