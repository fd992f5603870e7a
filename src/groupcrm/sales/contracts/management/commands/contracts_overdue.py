"""Run the overdue detection now (the nightly job does it at 06:10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from groupcrm.sales.contracts.services import overdue_detect


class Command(BaseCommand):
    help = "Mark instalments past their due date as overdue and remind their owners."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=dt.date.fromisoformat, help="YYYY-MM-DD (tests)")

    def handle(self, *args: Any, **options: Any) -> None:
        result = overdue_detect(today=options["today"])
        self.stdout.write(f"marked overdue: {result['marked']}, reminders: {result['reminded']}")
