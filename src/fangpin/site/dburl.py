"""FANGPIN_DATABASE_URL to a Django DATABASES entry; anything unrecognised fails loudly."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse


class ConfigError(RuntimeError):
    pass


def parse_database_url(url: str, default_sqlite: Path) -> dict:
    if not url:
        return sqlite_config(default_sqlite)
    parts = urlparse(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise ConfigError(f"FANGPIN_DATABASE_URL {url!r}: no SQLite file path")
        return sqlite_config(Path(path))
    if scheme in ("postgres", "postgresql", "pgsql"):
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ConfigError(f"FANGPIN_DATABASE_URL {url!r}: no database name")
        host = unquote(parts.hostname or "") or query.pop("host", "")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": host,
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "OPTIONS": query,
        }
    raise ConfigError(f"FANGPIN_DATABASE_URL {url!r}: unknown scheme {scheme!r} (use sqlite or postgresql)")


def sqlite_config(path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # WAL lets the web app read while a batch writes; IMMEDIATE avoids lock upgrades.
            # Up to 128 MiB of pages per connection (the default is 2 MiB: a month's import
            # spills its changed pages to the WAL before it commits), and sorts and temporary
            # tables in memory. Durability is as before (synchronous NORMAL).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }
