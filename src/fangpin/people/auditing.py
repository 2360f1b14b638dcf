"""Audit entries for the ledger's verbs (DESIGN §5): every change and every export is recorded.

Commands run without a logged-in user; their entries name the operating-system account
instead, so a batch import is still traceable to whoever ran it.
"""

from __future__ import annotations

import getpass
from typing import Any

CHANGE = "change"
EXPORT = "export"


def audit(who: Any, action: str, obj_type: str, obj_id: Any, summary: str) -> None:
    """Record one entry if the audit app is installed (summaries never carry whole ID numbers)."""
    from django.apps import apps

    if not apps.is_installed("fangpin.audit"):
        return
    from fangpin import audit as trail

    extra = {}
    if who is None:
        try:
            extra["username"] = f"命令行:{getpass.getuser()}"
        except (KeyError, OSError):  # no passwd entry, e.g. in a container
            extra["username"] = "命令行"
    trail.record(who, action, obj_type, obj_id, summary, **extra)
