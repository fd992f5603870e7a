"""`groupcrm audit verify`: check the hash chain of the change records."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from groupcrm.audit.services import audit_verify


class Command(BaseCommand):
    help = (
        "Audit trail tools. `audit verify` checks the hash chain and names the first broken record."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken, why = audit_verify()
        if broken is not None:
            raise CommandError(
                f"audit chain BROKEN at change record #{broken.pk} "
                f"({broken.object_type}#{broken.object_id}, {broken.at.isoformat()}): {why}. "
                f"{checked} record(s) before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} record(s) verified"))
