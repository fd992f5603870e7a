from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from groupcrm.customers.demo import load_customers
from groupcrm.integration.demo import load_imports
from groupcrm.org.demo import build_demo, demo_exists
from groupcrm.sales.conflicts.demo import load_conflicts
from groupcrm.sales.contracts.demo import load_contracts
from groupcrm.sales.demo import load_pipeline
from groupcrm.sales.forecast.demo import load_forecast
from groupcrm.sales.leads.demo import load_leads
from groupcrm.sales.quotes.demo import load_quotes


class Command(BaseCommand):
    help = (
        "Create the demo group 华夏控股集团 (units, roles, ~30 users) and about 2,000 demo "
        "customers with contacts and follow-ups, a year of sales (leads, opportunities, "
        "referrals, conflicts, quotes, contracts and payments, quotas), and an old CRM's "
        "export imported and checked for duplicates, all through the services."
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
            # The rest of sales builds on the pipeline; the forecast comes last, so that its
            # figures include the referrals won and the contracts signed before it.
            sales = {
                "leads": load_leads(),
                "conflicts": load_conflicts(),
                "quotes": load_quotes(),
                "contracts": load_contracts(),
                "forecast": load_forecast(),
            }
            # Last: the dedup run looks at every customer the demo made.
            imports = load_imports()
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
        for part, figures in [*sales.items(), ("imports", imports)]:
            listed = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in figures.items())
            self.stdout.write(self.style.SUCCESS(f"demo {part}: {listed}"))
