"""`make run`: the web server (gunicorn) and the worker together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from groupcrm.org.demo import DEMO_USERS


class Command(BaseCommand):
    help = "Serve groupcrm on http://127.0.0.1:$PORT with gunicorn and start the worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3"))
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        bin_dir = os.path.dirname(sys.executable)
        web = subprocess.Popen(
            [
                os.path.join(bin_dir, "gunicorn"),
                "groupcrm.wsgi",
                "--bind",
                bind,
                "--workers",
                str(options["web_workers"]),
                "--access-logfile",
                "-",
                "--timeout",
                "60",
            ]
        )
        worker = subprocess.Popen([os.path.join(bin_dir, "groupcrm"), "worker"])
        self._banner(options["port"])
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and web.poll() is None and worker.poll() is None:
                time.sleep(0.5)
        finally:
            for proc in (web, worker):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in (web, worker):
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.stdout.write("groupcrm stopped.")

    def _banner(self, port: int) -> None:
        lines = [
            "",
            f"groupcrm is running on http://127.0.0.1:{port}",
            "(Ctrl-C stops the web server and the worker)",
            f"Demo password for every demo user: {settings.DEMO_PASSWORD}",
            "Demo users:",
        ]
        lines += [f"  {u.username:<14} {u.name} · {u.role_label}" for u in DEMO_USERS[:12]]
        lines.append(f"  … {len(DEMO_USERS)} in all: see README.md")
        self.stdout.write("\n".join(lines) + "\n")
