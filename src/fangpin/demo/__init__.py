"""`fangpin demo`: a synthetic county's year on the configured database (see cycle.py)."""
