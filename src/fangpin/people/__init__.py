"""People: the county's area tree, households and persons (一户一档), dated identities, and the
departments' monthly lists that keep the identities up to date (RULES §1, §6)."""
