"""Institutions and their API keys: `fangpin manage claims_institution add|key|revoke|list`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fangpin.claims.auth import issue_key, revoke_key
from fangpin.claims.models import ApiKey, Institution


class Command(BaseCommand):
    help = "add an institution, issue or revoke its API keys, list them"

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add")
        add.add_argument("code")
        add.add_argument("name")
        key = sub.add_parser("key", help="issue a key (printed once; only its hash is kept)")
        key.add_argument("code")
        key.add_argument("--label", default="")
        rev = sub.add_parser("revoke")
        rev.add_argument("prefix")
        sub.add_parser("list")

    def handle(self, *args, **o) -> None:
        action = o["action"]
        if action == "add":
            inst, created = Institution.objects.get_or_create(
                code=o["code"], defaults={"name": o["name"]}
            )
            self.stdout.write(f"{'added' if created else 'exists'}: {inst}")
        elif action == "key":
            inst = Institution.objects.filter(code=o["code"]).first()
            if inst is None:
                raise CommandError(f"unknown institution {o['code']!r}")
            self.stdout.write(issue_key(inst, o["label"]))
        elif action == "revoke":
            n = revoke_key(o["prefix"])
            if not n:
                raise CommandError(f"no active key starts with {o['prefix']!r}")
            self.stdout.write(f"revoked {n} key(s)")
        else:
            for k in ApiKey.objects.select_related("institution").order_by(
                "institution__code", "id"
            ):
                state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
                self.stdout.write(f"{k.institution.code}\t{k.prefix}…\t{k.label}\t{state}")
