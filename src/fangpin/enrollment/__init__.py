"""Enrollment: the year's enrollment records, reconciliation of the special population against
them with monthly zero-clearing, newborn screening, and categorized subsidies (RULES §2, §5)."""
