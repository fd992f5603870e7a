from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from groupcrm.customers.demo import load_customers
from groupcrm.org.demo import build_demo, demo_exists
from groupcrm.sales.demo import load_pipeline


class Command(BaseCommand):
    help = (
        "Create the demo group 华夏控股集团 (units, roles, ~30 users) and about 2,000 demo "
        "customers with contacts and follow-ups, all through the services."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true", help="do nothing if any unit exists")

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_exists():
            if options["if_empty"]:
                self.stdout.write("demo: data already present, nothing to do")
                return
            raise CommandError(
                "The database already has business units; the demo needs an empty one."
            )
        with transaction.atomic():
            counts = build_demo()
            customers = load_customers()
            pipeline = load_pipeline()
        self.stdout.write(
            self.style.SUCCESS(
                f"demo group created: {counts['units']} units, {counts['roles']} roles, "
                f"{counts['users']} users; password for all: {settings.DEMO_PASSWORD}"
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"demo customers: {customers['customers']} customers "
                f"({customers['groups']} groups), {customers['relationships']} relationships "
                f"({customers['pool']} in public pools), {customers['contacts']} contacts, "
                f"{customers['followups']} follow-ups"
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"demo pipeline: {pipeline['opportunities']} opportunities "
                f"({pipeline['won']} won, {pipeline['lost']} lost)"
            )
        )
