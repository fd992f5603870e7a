"""`groupcrm keys generate|rotate|check`: the keys that encrypt personal data (PII) fields.

See docs/configuration.md, "Rotating PII keys", for the whole procedure.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from groupcrm.core import pii


def _plain(text: str) -> str:
    return text


class Command(BaseCommand):
    help = (
        "Field encryption keys. `keys generate` prints a new key; `keys rotate` re-encrypts "
        "stored personal data with the first key of GROUPCRM_FIELD_KEYS; `keys check` "
        "decrypts every stored value and fails if any cannot be decrypted."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["generate", "rotate", "check"])
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="rows per transaction (rotate, check)"
        )
        parser.add_argument(
            "--strict",
            action="store_true",
            help="check: also fail while values still need a key other than the first",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        try:
            getattr(self, f"_{options['action']}")(**options)
        except (ImproperlyConfigured, pii.DecryptionError) as exc:
            raise CommandError(str(exc)) from exc

    def _generate(self, **options: Any) -> None:
        # The key alone on stdout (`KEY=$(groupcrm keys generate)`), the advice on stderr.
        self.stdout.write(pii.generate_key())
        lines = [
            _("A new field encryption key is printed above. To start using it:"),
            _(
                "  1. Put it first in GROUPCRM_FIELD_KEYS and keep the current keys after it: "
                "GROUPCRM_FIELD_KEYS=<new key>,<current keys>"
            ),
            _("  2. Restart the web server and the worker."),
            _("  3. Run `groupcrm keys rotate`, then `groupcrm keys check`."),
            _("  4. Only then remove the old key from the list, and restart again."),
            _(
                "Back up every key: data encrypted with a lost key cannot be recovered, and "
                "database backups made before a rotation still need the old key."
            ),
        ]
        dev_key = settings.VAR_DIR / "field_keys"
        if not settings.GROUPCRM_FIELD_KEYS and dev_key.exists():
            lines.append(
                _(
                    "GROUPCRM_FIELD_KEYS is empty now: stored values are encrypted with the "
                    "generated key in %(path)s. Put that key after the new one."
                )
                % {"path": dev_key}
            )
        self.stderr.write("\n".join(lines), style_func=_plain)

    def _rotate(self, **options: Any) -> None:
        counts = pii.rotate_all(batch_size=options["batch_size"])
        if not counts:
            self.stdout.write(_("No model has encrypted fields: nothing to rotate."))
            return
        for label, count in counts.items():
            self.stdout.write(
                _("%(model)s: %(count)d value(s) re-encrypted") % {"model": label, "count": count}
            )
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Rotation done: %(count)d value(s) re-encrypted with the first key. "
                    "Run `groupcrm keys check` before removing an old key."
                )
                % {"count": sum(counts.values())}
            )
        )

    def _check(self, **options: Any) -> None:
        results = pii.check_all(batch_size=options["batch_size"])
        if not results:
            self.stdout.write(_("No model has encrypted fields: nothing to check."))
            return
        for label, result in results.items():
            self.stdout.write(
                _(
                    "%(model)s: %(values)d value(s) checked, %(failed)d cannot be decrypted, "
                    "%(older)d still need an older key"
                )
                % {
                    "model": label,
                    "values": result.values,
                    "failed": result.failed,
                    "older": result.older_key,
                }
            )
        values = sum(result.values for result in results.values())
        failed = sum(result.failed for result in results.values())
        older = sum(result.older_key for result in results.values())
        if failed:
            raise CommandError(
                _(
                    "%(failed)d of %(values)d value(s) cannot be decrypted with the configured "
                    "keys. Do not remove any key; put back the key these values were "
                    "encrypted with."
                )
                % {"failed": failed, "values": values}
            )
        if older:
            message = _(
                "%(older)d of %(values)d value(s) still need a key other than the first: "
                "run `groupcrm keys rotate` before removing it."
            ) % {"older": older, "values": values}
            if options["strict"]:
                raise CommandError(message)
            self.stdout.write(self.style.WARNING(message))
            return
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "All %(values)d value(s) decrypt with the first key: "
                    "the other keys are no longer needed by the database."
                )
                % {"values": values}
            )
        )
