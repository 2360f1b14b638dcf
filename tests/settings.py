"""Test settings: the project's settings on a real PostgreSQL server started for the session.

FANGPIN_TEST_DATABASE_URL may name an existing server instead (e.g. a developer's own).
"""

import os
import tempfile

os.environ.setdefault("FANGPIN_HOME", tempfile.mkdtemp(prefix="fangpin-test-home-"))

if not os.environ.get("FANGPIN_TEST_DATABASE_URL"):
    from tests.pgserver import PostgresServer

    _server = PostgresServer().start()
    os.environ["FANGPIN_TEST_DATABASE_URL"] = _server.url("fangpin")
os.environ["FANGPIN_DATABASE_URL"] = os.environ["FANGPIN_TEST_DATABASE_URL"]

from fangpin.site.settings import *  # noqa: E402,F403

# Fast hashing in tests only; production keeps Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
