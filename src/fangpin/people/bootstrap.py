"""Starting Django from a `fangpin` command: settings, then the schema brought up to date."""

from __future__ import annotations

import os


def setup_django(*, migrate: bool = True) -> bool:
    """Configure Django (fangpin.site.settings unless another module is named) and, so that a
    fresh machine just works, apply any migrations the database lacks; True if some were."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangpin.site.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    return migrate_if_needed() if migrate else False


def migrate_if_needed() -> bool:
    """Apply pending migrations quietly; True if there were any."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if not executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return False
    call_command("migrate", verbosity=0, interactive=False)
    return True


def default_pack_id() -> str:
    """The county's region pack: FANGPIN_POLICY, else the shared baseline."""
    return os.environ.get("FANGPIN_POLICY", "").strip() or "baseline"
