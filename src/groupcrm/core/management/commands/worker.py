"""The background worker: Huey's consumer with the project's settings."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker (jobs, periodic tasks, event delivery)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workers", type=int, default=None, help="worker threads")

    def handle(self, *args: Any, **options: Any) -> None:
        extra = {"workers": options["workers"]} if options["workers"] else {}
        call_command("run_huey", **extra)
