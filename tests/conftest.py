"""Fixtures shared by every test package."""

# Users of every role and area, for any app's view and access tests (see fixtures_users.py).
pytest_plugins = ["tests.fixtures_users"]
