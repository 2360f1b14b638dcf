"""User accounts: roles, areas, login with lockout and an optional second factor, access rules."""
